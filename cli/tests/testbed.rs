//! The test bed of "real hosts" for `provider: ssh` (`halab testbed`), as root.
//!
//! Input: a two-LB `provider: ssh` lab under a unique name, brought up with `halab testbed
//! up` in a private state root. Output: what ssh from the control namespace sees in the
//! hosts, what the host's own /etc and /root hold meanwhile, and what is left after `halab
//! testbed down`.

mod common;

use std::path::Path;

use common::bed::Bed;

/// A two-LB `provider: ssh` lab; its test bed is not up yet.
fn two_lbs() -> Bed {
    Bed::new("b", |lab| {
        format!(
            "name: {lab}
provider: ssh
networks: [{{ name: lan, cidr: 10.77.0.0/24 }}]
nodes:
  - {{ name: lb1, role: lb, address: 10.77.0.11, ssh: {{ host: 10.77.0.11 }} }}
  - {{ name: lb2, role: lb, address: 10.77.0.12, ssh: {{ host: 10.77.0.12 }} }}
vrrp:
  - {{ vrid: 51, vips: [10.77.0.10] }}
"
        )
    })
}

/// Input: labs/seed000/lab.yaml and ssh.yaml. Output: the same lab but for the provider and
/// the nodes' `ssh` sections, each node reached at its own address.
#[test]
fn seed000_ssh_lab_matches_its_netns_lab() {
    let env = std::collections::HashMap::<String, String>::new();
    let load = |f: &str| {
        let lab = halab::lab::load_with_env(&common::labs_dir().join("seed000").join(f), &env)
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        serde_json::to_value(&lab).expect("json")
    };
    let (mut netns, mut ssh) = (load("lab.yaml"), load("ssh.yaml"));
    assert_eq!(ssh["provider"], "ssh");
    for node in ssh["nodes"].as_array_mut().expect("nodes") {
        let host = node["ssh"]["host"].clone();
        assert_eq!(host, node["interfaces"][0]["address"], "{node}");
        node["ssh"] = serde_json::Value::Null;
    }
    for lab in [&mut netns, &mut ssh] {
        lab["provider"] = serde_json::Value::Null;
        lab["file"] = serde_json::Value::Null;
    }
    assert_eq!(
        netns, ssh,
        "labs/seed000/ssh.yaml is out of sync with lab.yaml"
    );
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_owned()
}

#[test]
fn hosts_are_separate_and_answer_ssh_from_the_control_node() {
    let _heavy = common::heavy();
    let mut bed = two_lbs();
    let host_root_keys = Path::new("/root/.ssh/authorized_keys").exists();
    let host_key = std::fs::read_to_string("/etc/ssh/ssh_host_ed25519_key.pub").unwrap_or_default();
    let up = bed.up();
    assert!(up.status.success(), "testbed up: {}", text(&up.stderr));
    let netns = bed.netns.clone();
    assert!(
        netns.starts_with(&format!("/run/netns/halab-tb-{}.", bed.lab)),
        "{netns}"
    );
    for f in [
        "id_ed25519",
        "id_ed25519.pub",
        "known_hosts",
        "ssh_config",
        "testbed.json",
    ] {
        assert!(bed.dir.join(f).is_file(), "DIR/{f} is missing");
    }
    let known = std::fs::read_to_string(bed.dir.join("known_hosts")).expect("known_hosts");
    assert!(known.contains("10.77.0.11,lb1 ssh-ed25519 "), "{known}");
    // Fresh host keys: not the host's.
    let host_blob = host_key.split_whitespace().nth(1).unwrap_or("none");
    assert!(
        !known.contains(host_blob),
        "a node kept the host's host key"
    );

    for node in ["lb1", "lb2"] {
        let out = bed.ssh(&[], node, "hostname");
        assert!(out.status.success(), "ssh {node}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), node);
    }

    // /etc is the node's own: a file written there is on neither the host nor the other node.
    let probe = format!("/etc/halab-testbed-probe-{}", bed.lab);
    let out = bed.ssh(&[], "lb1", &format!("touch {probe} && test -e {probe}"));
    assert!(out.status.success(), "touch in lb1: {}", text(&out.stderr));
    assert!(
        !Path::new(&probe).exists(),
        "{probe} reached the host's /etc"
    );
    let out = bed.ssh(&[], "lb2", &format!("test -e {probe}"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "lb2 sees lb1's {probe}: {}",
        text(&out.stderr)
    );
    // So are /root (the test bed's authorized_keys) and /var (the host's dpkg database below).
    assert_eq!(
        Path::new("/root/.ssh/authorized_keys").exists(),
        host_root_keys
    );
    let out = bed.ssh(&[], "lb2", "dpkg-query -W haproxy");
    assert!(out.status.success(), "dpkg-query: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("haproxy"),
        "{}",
        text(&out.stdout)
    );

    // An unknown host key is refused.
    let empty = ["-o", "UserKnownHostsFile=/dev/null"];
    let out = bed.ssh(&empty, "lb1", "true");
    assert!(!out.status.success(), "ssh accepted an unknown host key");
    assert!(
        text(&out.stderr).contains("Host key verification failed"),
        "{}",
        text(&out.stderr)
    );

    // `testbed exec` reaches a node: stop its sshd by the PID in its pidfile.
    let exec = |node: &str, argv: &[&str]| bed.exec(node, argv);
    let out = exec("lb1", &["hostname"]);
    assert_eq!(text(&out.stdout), "lb1", "{}", text(&out.stderr));
    let out = exec("lb1", &["sh", "-c", "kill $(cat /run/sshd.pid)"]);
    assert!(out.status.success(), "kill sshd: {}", text(&out.stderr));
    let out = bed.ssh(&[], "lb1", "true");
    assert!(!out.status.success(), "lb1 still answers ssh");
    let out = bed.ssh(&[], "lb2", "true");
    assert!(
        out.status.success(),
        "lb2 lost its sshd too: {}",
        text(&out.stderr)
    );

    let down = bed.halab(&["testbed", "down", &bed.file.to_string_lossy()]);
    assert!(
        down.status.success(),
        "testbed down: {}",
        text(&down.stderr)
    );
    let prefix = format!("tb-{}", bed.lab);
    let left: Vec<String> = common::netns_list()
        .into_iter()
        .filter(|n| n.contains(&prefix))
        .collect();
    assert!(left.is_empty(), "namespaces left: {left:?}");
    assert!(!bed.state_dir().exists(), "the state dir is left");
}
