//! The `halab testbed box` and `halab testbed vm ...` commands: what they print and their
//! exit codes.

use std::path::Path;

use super::boxes::ensure_box;
use super::machine::{vm_destroy, vm_state, vm_up};
use super::ssh::ssh_info;
use crate::lab::Lab;
use crate::testbed::{TestbedError, image, lab_error, lab_name};
use halab_netns::InitCommand;

/// `halab testbed box`: the box's name and `file://` URL on stdout, as `NAME URL`.
pub fn cmd_box() -> i32 {
    match ensure_box(&image::cache_dir()) {
        Ok(b) => {
            eprintln!(
                "image {} {} in {:.1} s",
                b.image.rootfs.display(),
                if b.image.built { "built" } else { "cached" },
                b.image.seconds
            );
            eprintln!(
                "VM disk {} {} in {:.1} s",
                b.vm_image.disk.display(),
                if b.vm_image.built { "made" } else { "cached" },
                b.vm_image.seconds
            );
            eprintln!(
                "box {} {} in {:.1} s",
                b.box_ref.file.display(),
                if b.built { "made" } else { "cached" },
                b.seconds
            );
            println!("{} {}", b.box_ref.name, b.box_ref.url());
            crate::exit_codes::OK
        }
        Err(e) => lab_error(e),
    }
}

/// `halab testbed vm up LAB NODE --dir DIR --box BOX_DIR`.
pub fn cmd_vm_up(lab: &Lab, node: &str, dir: &Path, box_dir: &Path) -> i32 {
    let init = match InitCommand::current_exe() {
        Ok(i) => i,
        Err(e) => return lab_error(e),
    };
    match vm_up(lab, node, dir, box_dir, &crate::state::state_root(), &init) {
        Ok(r) => {
            eprintln!(
                "VM {node} of {} {} in {:.1} s{}",
                lab_name(&lab.name),
                if r.booted {
                    "booted to sshd"
                } else {
                    "was running"
                },
                r.seconds,
                if r.made_bed {
                    " (made the lab's namespaces)"
                } else {
                    ""
                }
            );
            crate::exit_codes::OK
        }
        Err(e @ TestbedError::Lab { .. }) => {
            eprintln!("error: failed to {e}");
            crate::exit_codes::BAD_INPUT
        }
        Err(e) => lab_error(e),
    }
}

/// `halab testbed vm state LAB NODE`: `running`, `stopped` or `not_created` on stdout.
pub fn cmd_vm_state(lab: &Lab, node: &str) -> i32 {
    match vm_state(lab, node, &crate::state::state_root()) {
        Ok(s) => {
            println!("{}", s.as_str());
            crate::exit_codes::OK
        }
        Err(e) => lab_error(e),
    }
}

/// `halab testbed vm ssh-info LAB NODE --dir DIR`: JSON on stdout.
pub fn cmd_vm_ssh_info(lab: &Lab, node: &str, dir: &Path) -> i32 {
    match ssh_info(lab, node, dir, &crate::state::state_root()) {
        Ok(i) => {
            println!("{}", serde_json::to_string(&i).unwrap_or_default());
            crate::exit_codes::OK
        }
        Err(e @ TestbedError::Lab { .. }) => {
            eprintln!("error: failed to {e}");
            crate::exit_codes::BAD_INPUT
        }
        Err(e) => lab_error(e),
    }
}

/// `halab testbed vm destroy LAB NODE`.
pub fn cmd_vm_destroy(lab: &Lab, node: &str) -> i32 {
    match vm_destroy(lab, node, &crate::state::state_root()) {
        Ok(r) => {
            eprintln!(
                "VM {node} of {} {}{}",
                lab_name(&lab.name),
                if r.stopped {
                    "stopped"
                } else {
                    "was not running"
                },
                if r.removed_bed {
                    "; the lab's namespaces removed (no VM left)"
                } else {
                    ""
                }
            );
            crate::exit_codes::OK
        }
        Err(e) => lab_error(e),
    }
}
