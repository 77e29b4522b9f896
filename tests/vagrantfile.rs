//! The top-level Vagrantfile parses and defines exactly the lab's machines.
//!
//! Vagrant cannot run VMs on the build machine, so the Vagrantfile is loaded by plain Ruby
//! under a fake `Vagrant` module (tests/vagrant/harness.rb) that records what it defines.
//! Input: HALAB_LAB naming each lab in labs/ (and a lab written here).
//! Output: one machine per node with the node's hostname, and per address a private network
//! with the address, the network's netmask and an internal network named after lab and network;
//! a provisioner installing the role's Debian packages without starting them.
//!
//! Needs `ruby` (Debian package, installed by scripts/setup); without it these tests fail.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use halab::lab::model::Role;
use halab::lab::{self, Lab};
use halab_e2e::{labs, root};
use serde_json::Value;

fn ruby(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    let mut cmd = Command::new("ruby");
    cmd.args(args).current_dir(cwd);
    for var in ["HALAB_LAB", "HALAB_BOX", "HALAB_VM_MEMORY"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!(
                "ruby is not installed: run `bash scripts/setup` (it installs Debian's ruby), then rerun the tests"
            )
        }
        Err(e) => panic!("failed to run ruby: {e}"),
    }
}

fn harness() -> String {
    root()
        .join("tests/vagrant/harness.rb")
        .to_string_lossy()
        .to_string()
}

/// The machines the Vagrantfile defines for `HALAB_LAB=lab_arg`, as the harness prints them.
fn machines(lab_arg: &str, extra_env: &[(&str, &str)]) -> Value {
    let mut env = vec![("HALAB_LAB", lab_arg)];
    env.extend_from_slice(extra_env);
    let out = ruby(&[&harness()], &env, &root());
    assert!(
        out.status.success(),
        "HALAB_LAB={lab_arg}: the Vagrantfile failed to load:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "HALAB_LAB={lab_arg}: harness output is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The lab as halab validates it for `provider: vagrant` (no implicit client node: the
/// VMs are the nodes the file lists).
fn vagrant_lab(file: &Path) -> Lab {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("provider:"))
        .map(str::to_string)
        .collect();
    lines.push("provider: vagrant".to_string());
    let env: HashMap<String, String> = HashMap::new();
    lab::parse(file, &lines.join("\n"), &env).unwrap_or_else(|e| {
        panic!(
            "{} does not validate as a vagrant lab:\n{e}",
            file.display()
        )
    })
}

fn netmask(prefix: u8) -> String {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    };
    std::net::Ipv4Addr::from(mask).to_string()
}

/// Every difference between the machines and the lab's nodes.
fn compare(lab: &Lab, got: &Value, box_name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let empty = Vec::new();
    let ms = got["machines"].as_array().unwrap_or(&empty);
    let names: Vec<&str> = ms
        .iter()
        .map(|m| m["name"].as_str().unwrap_or("?"))
        .collect();
    let want: Vec<&str> = lab.nodes.iter().map(|n| n.name.as_str()).collect();
    if names != want {
        problems.push(format!("{}: machines {names:?}, nodes {want:?}", lab.name));
    }
    for (node, m) in lab.nodes.iter().zip(ms) {
        let at = format!("{} {}", lab.name, node.name);
        if m["hostname"] != node.hostname.as_str() {
            problems.push(format!(
                "{at}: hostname {}, want {}",
                m["hostname"], node.hostname
            ));
        }
        if m["box"] != box_name {
            problems.push(format!("{at}: box {}, want {box_name}", m["box"]));
        }
        if !m["providers"]["virtualbox"]["memory"].is_u64() {
            problems.push(format!("{at}: no virtualbox memory: {}", m["providers"]));
        }
        // The halab provider boots the node from the lab file: the file, absolute.
        let halab_lab = m["providers"]["halab"]["lab"].as_str().map(Path::new);
        if !halab_lab.is_some_and(|p| {
            p.is_absolute() && p.canonicalize().ok() == lab.file.canonicalize().ok()
        }) {
            problems.push(format!(
                "{at}: halab provider lab {}, want {}",
                m["providers"]["halab"],
                lab.file.display()
            ));
        }
        // The role's packages, installed by a shell provisioner (nginx on an LB that serves too).
        let inline = m["provisioners"][0]["options"]["inline"]
            .as_str()
            .unwrap_or("");
        let mut packages = match node.role {
            Role::Lb => vec!["haproxy", "keepalived"],
            Role::Web => vec!["nginx-light"],
            Role::Client => vec!["curl"],
        };
        if node.role == Role::Lb && node.web.is_some() {
            packages.push("nginx-light");
        }
        let install = inline
            .lines()
            .find(|l| l.starts_with("apt-get install"))
            .unwrap_or("");
        if packages
            .iter()
            .any(|p| !install.split_whitespace().any(|w| w == *p))
            || !inline.contains("policy-rc.d")
        {
            problems.push(format!(
                "{at}: provisioner does not install {packages:?} without starting them: {}",
                m["provisioners"]
            ));
        }
        let nets = m["networks"].as_array().unwrap_or(&empty);
        if nets.len() != node.interfaces.len() {
            problems.push(format!(
                "{at}: {} networks, want one per address: {:?}",
                nets.len(),
                node.interfaces
            ));
        }
        for (iface, net) in node.interfaces.iter().zip(nets) {
            let want = serde_json::json!({
                "type": "private_network",
                "ip": iface.address.to_string(),
                "options": { "netmask": netmask(iface.prefix), "virtualbox__intnet": format!("halab-{}-{}", lab.name, iface.network) },
            });
            if *net != want {
                problems.push(format!("{at}: network {net}, want {want}"));
            }
        }
    }
    problems
}

#[test]
fn vagrantfile_is_valid_ruby() {
    let out = ruby(&["-c", "Vagrantfile"], &[], &root());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("Syntax OK"),
        "ruby -c Vagrantfile: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn vagrantfile_defines_one_vm_per_node_of_every_lab() {
    let all = labs();
    assert!(
        all.len() >= 6,
        "expected labs/seed000..seed004 and labs/minimal, found {all:?}"
    );
    let mut problems = Vec::new();
    for dir in all {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        // As a user types it: relative to the repository, a directory.
        let got = machines(&format!("labs/{name}"), &[]);
        problems.extend(compare(
            &vagrant_lab(&dir.join("lab.yaml")),
            &got,
            "debian/bookworm64",
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn vagrantfile_reads_a_lab_file_with_hostnames_several_networks_and_a_box() {
    // Input: a lab file (not a directory) outside the repository, a /16 network, a node with
    // its own hostname and addresses on two networks; HALAB_BOX and HALAB_VM_MEMORY set.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("two-nets.yaml");
    std::fs::write(
        &file,
        "name: two-nets\nnetworks:\n  - { name: front, cidr: 10.20.0.0/16 }\n  - { name: back, cidr: 10.30.1.0/28 }\nnodes:\n\
         \x20 - { name: lb1, role: lb, hostname: lb1.example.test, addresses: [{ network: front, address: 10.20.3.1 }, { network: back, address: 10.30.1.2 }] }\n\
         \x20 - { name: lb2, role: lb, addresses: [{ network: front, address: 10.20.3.2 }, { network: back, address: 10.30.1.3 }] }\n\
         \x20 - { name: web1, role: web, addresses: [{ network: back, address: 10.30.1.11 }] }\n\
         \x20 - { name: probe, role: client, address: 10.20.9.9 }\n\
         vrrp:\n  - { vrid: 7, network: front, vips: [10.20.3.10] }\n",
    )
    .expect("write lab");
    let lab = vagrant_lab(&file);
    assert_eq!(lab.nodes.len(), 4);
    let got = machines(
        &file.to_string_lossy(),
        &[
            ("HALAB_BOX", "example/trixie64"),
            ("HALAB_BOX_URL", "file:///var/cache/halab/x.box"),
            ("HALAB_VM_MEMORY", "1024"),
        ],
    );
    // What `halab up` sets for the halab provider: vagrant adds the box from that file.
    assert_eq!(got["box_url"], "file:///var/cache/halab/x.box");
    let problems = compare(&lab, &got, "example/trixie64");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        got["machines"][0]["providers"]["virtualbox"]["memory"],
        1024
    );
    assert_eq!(
        got["machines"][0]["networks"][0]["options"]["netmask"],
        "255.255.0.0"
    );
}

#[test]
fn vagrantfile_aborts_with_a_message_without_a_lab() {
    // Input: HALAB_LAB unset, naming nothing, naming a file that is not a lab.
    // Output: a non-zero exit and a message saying what to set, before any machine is defined.
    let dir = tempfile::tempdir().expect("tempdir");
    let not_a_lab = dir.path().join("notes.yaml");
    std::fs::write(&not_a_lab, "just: a map\n").expect("write");
    let not_a_lab = not_a_lab.to_string_lossy().to_string();
    let cases: [(Option<&str>, &str); 4] = [
        (None, "HALAB_LAB is not set"),
        (Some(""), "HALAB_LAB is not set"),
        (Some("labs/no-such-lab"), "labs/no-such-lab not found"),
        (Some(&not_a_lab), "has no `networks` and `nodes` lists"),
    ];
    for (lab_arg, want) in cases {
        let env: Vec<(&str, &str)> = lab_arg.map(|l| ("HALAB_LAB", l)).into_iter().collect();
        let out = ruby(&[&harness()], &env, &root());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "HALAB_LAB={lab_arg:?}: expected the Vagrantfile to abort, it defined:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            stderr.contains(want) && stderr.contains("halab Vagrantfile:"),
            "HALAB_LAB={lab_arg:?}: expected {want:?} in:\n{stderr}"
        );
    }
}
