//! The `halab testbed up|down|exec` commands: what they print and their exit codes.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{HostKind, TestbedError, control_name, down, lab_name, nspawn, qemu, up};
use crate::exit_codes;
use crate::lab::Lab;
use crate::state::{state_dir, state_root};
use halab_netns::{self as netns, InitCommand, LabHandle, NETNS_DIR};

/// `halab testbed up LAB --dir DIR`: prints the control node's netns path on stdout.
pub fn cmd_up(lab: &Lab, dir: &Path, kind: HostKind) -> i32 {
    let init = match InitCommand::current_exe() {
        Ok(i) => i,
        Err(e) => return lab_error(e),
    };
    eprintln!(
        "halab testbed up {} ({} {}hosts + control)",
        lab_name(&lab.name),
        lab.nodes.iter().filter(|n| n.ssh.is_some()).count(),
        match kind {
            HostKind::HostLike => "",
            HostKind::Systemd => "systemd ",
            HostKind::Vm => "VM ",
        }
    );
    match up(lab, dir, &state_root(), &init, kind) {
        Ok(info) => {
            if let Some(img) = &info.image {
                eprintln!(
                    "image {} {} in {:.1} s",
                    img.rootfs.display(),
                    if img.built { "built" } else { "cached" },
                    img.seconds
                );
            }
            if let Some(vm) = &info.vm_image {
                eprintln!(
                    "VM disk {} {} in {:.1} s",
                    vm.disk.display(),
                    if vm.built { "made" } else { "cached" },
                    vm.seconds
                );
            }
            eprintln!(
                "test bed {} is up in {:.2} s; in {}: id_ed25519, known_hosts, ssh_config, testbed.json",
                info.lab,
                info.up_seconds,
                dir.display()
            );
            eprintln!(
                "provision it with: HALAB_SSH_CONFIG={} nsenter --net={} halab up LAB_FILE",
                info.ssh_config.display(),
                info.control_netns.display()
            );
            println!("{}", info.control_netns.display());
            exit_codes::OK
        }
        Err(e @ TestbedError::Lab { .. }) => {
            eprintln!("error: failed to {e}");
            exit_codes::BAD_INPUT
        }
        Err(e) => lab_error(e),
    }
}

pub fn cmd_down(lab: &str) -> i32 {
    match down(&state_root(), lab) {
        Ok(None) => {
            println!("test bed {} is not up (nothing to do)", lab_name(lab));
            exit_codes::OK
        }
        Ok(Some(r)) => {
            println!(
                "test bed {} is down in {:.2} s ({} namespaces removed)",
                lab_name(lab),
                r.elapsed.as_secs_f64(),
                r.namespaces.len()
            );
            exit_codes::OK
        }
        Err(e) => lab_error(e),
    }
}

/// `halab testbed exec LAB NODE -- CMD...`: the command's output and exit code.
pub fn cmd_exec(lab: &Lab, node: &str, argv: &[String]) -> i32 {
    let dir = state_dir(&state_root(), &lab_name(&lab.name));
    let Ok(handle) = LabHandle::open(&dir) else {
        eprintln!(
            "error: test bed {} is not up\n  hint: run `halab testbed up` with this lab file first",
            lab_name(&lab.name)
        );
        return exit_codes::LAB_ERROR;
    };
    let node = match handle.node(node) {
        Ok(n) => n,
        Err(e) => {
            let names: Vec<String> = handle.nodes().iter().map(|n| n.name().to_owned()).collect();
            eprintln!(
                "error: failed to {e}\n  hint: the test bed's nodes are {}",
                names.join(", ")
            );
            return exit_codes::BAD_INPUT;
        }
    };
    // A systemd host: the command runs in its container, not in the node holding its netns.
    if let Ok(containers) = nspawn::read_record(&dir)
        && let Some(c) = containers.iter().find(|c| c.node == node.name())
    {
        let out = Command::new("nsenter")
            .args(["--target", &c.leader.to_string(), "--all", "--"])
            .args(argv)
            .output();
        return match out {
            Ok(out) => {
                print!("{}", String::from_utf8_lossy(&out.stdout));
                eprint!("{}", String::from_utf8_lossy(&out.stderr));
                out.status.code().unwrap_or(exit_codes::LAB_ERROR)
            }
            Err(e) => lab_error(e),
        };
    }
    // A VM host: its node only holds the taps; the VM is reached over ssh.
    if let Ok(vms) = qemu::read_record(&dir)
        && vms.iter().any(|v| v.node == node.name())
    {
        eprintln!(
            "error: `{}` is a VM: testbed exec runs in namespaces, not in VMs\n  hint: nsenter --net={} ssh -F DIR/ssh_config {} -- CMD",
            node.name(),
            Path::new(NETNS_DIR)
                .join(netns::names::node_ns(
                    &lab_name(&lab.name),
                    control_name(lab)
                ))
                .display(),
            node.name()
        );
        return exit_codes::BAD_INPUT;
    }
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    match node.exec_timeout(&args, Duration::from_secs(600)) {
        Ok(out) => {
            print!("{}", out.stdout);
            eprint!("{}", out.stderr);
            out.code()
        }
        Err(e) => lab_error(e),
    }
}

pub(crate) fn lab_error(e: impl std::fmt::Display) -> i32 {
    eprintln!("error: failed to {e}");
    exit_codes::LAB_ERROR
}
