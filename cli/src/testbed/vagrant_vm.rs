//! The halab Vagrant provider's machine side (`halab testbed box`, `halab testbed vm ...`):
//! what `cli/src/provider/vagrant/plugin.rb` calls so that `vagrant up`, `vagrant
//! ssh-config`, `vagrant status` and `vagrant destroy -f` work on this machine with VMs
//! booted exactly as `testbed up --vm` boots them (`qemu.rs`: one qemu per node, TCG, inside
//! the node's network namespace of the lab's bed `tb-<lab>`). docs/vagrant.md.
//!
//! - The box: a Vagrant box file (`metadata.json` with `"provider": "halab"`, and
//!   `image.json` naming the cached VM disk, kernel and initramfs) made from the cached VM
//!   image (`image.rs`, built once from Debian packages); `vagrant up` adds it from its
//!   `file://` URL, nothing is downloaded.
//! - A machine: the bed's namespaces are made by the first machine that starts (under a
//!   lock: vagrant starts the machines in parallel) and removed with the last one; each VM
//!   is recorded in the bed's `qemu.json` and stopped by PID.
//! - ssh: as root with the lab's key (in vagrant's state dir for the lab), over a
//!   `ProxyCommand` that connects from the bed's control namespace (`nsenter --net=... socat`):
//!   nothing of the lab is reachable from, or added to, the root namespace.
//!
//! Modules: `boxes.rs` (the box), `machine.rs` (a machine up, its state, destroyed),
//! `ssh.rs` (how vagrant reaches it), `cmd.rs` (the commands).

mod boxes;
mod cmd;
mod machine;
mod ssh;

pub use boxes::{BoxBuilt, BoxImage, BoxRef, box_files, box_ref, ensure_box, read_box};
pub use cmd::{cmd_box, cmd_vm_destroy, cmd_vm_ssh_info, cmd_vm_state, cmd_vm_up};
pub use machine::{VmDown, VmState, VmUp, vm_destroy, vm_state, vm_up};
pub use ssh::{SshInfo, control_netns, ssh_info};

/// The box's name: one per image key, so a changed image is a new box.
pub const BOX_PREFIX: &str = "halab/bookworm-";
/// The provider's name in the Vagrantfile and the box's metadata.
pub const PROVIDER: &str = "halab";
/// In the lab's key dir: the VMs' host keys, for `UserKnownHostsFile`.
pub const KNOWN_HOSTS: &str = "known_hosts";

/// labs/seed000/vagrant, the vagrant lab the tests plan beds of.
#[cfg(test)]
fn seed000vg() -> crate::lab::Lab {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/vagrant/lab.yaml");
    let text = std::fs::read_to_string(&file).expect("vagrant lab");
    crate::lab::parse(
        &file,
        &text,
        &std::collections::HashMap::<String, String>::new(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::seed000vg;
    use crate::testbed::{HostKind, TestbedError, plan};

    /// Input: labs/seed000/vagrant (provider vagrant, no ssh sections). Output: every node,
    /// the client included, is a VM host reached as root on port 22 at its address, and the
    /// control node takes the top free address; a host-like bed of it is refused.
    #[test]
    fn every_node_of_a_vagrant_lab_is_a_vm_host() {
        let l = seed000vg();
        let p = plan(&l, Path::new("/run/x"), HostKind::Vm).expect("plan");
        let hosts: Vec<(&str, String, u16)> = p
            .hosts
            .iter()
            .map(|h| (h.name.as_str(), h.address.to_string(), h.port))
            .collect();
        assert_eq!(
            hosts,
            [
                ("nginx1", "192.168.0.131".into(), 22),
                ("nginx2", "192.168.0.132".into(), 22),
                ("loadbalance1", "192.168.0.141".into(), 22),
                ("loadbalance2", "192.168.0.142".into(), 22),
                ("client", "192.168.0.10".into(), 22),
            ]
        );
        assert_eq!(p.netns.lab, "tb-seed000vg");
        let control = p
            .netns
            .nodes
            .iter()
            .find(|n| n.name == "control")
            .expect("control");
        assert_eq!(control.interfaces[0].addr.to_string(), "192.168.0.254");
        assert!(p.netns.validate().is_ok());
        let Err(TestbedError::Lab { problems, .. }) =
            plan(&l, Path::new("/run/x"), HostKind::HostLike)
        else {
            panic!("a host-like bed of a vagrant lab must be refused")
        };
        assert!(
            problems[0].contains("provider is not `ssh`"),
            "{problems:?}"
        );
    }
}
