//! `halab testbed`: "real hosts" for the ssh provider's end-to-end tests, built with the netns
//! machinery (docs/netns.md, "Host-like nodes and the test bed").
//!
//! From a `provider: ssh` lab file, a netns lab `tb-<lab>`: each node with an `ssh` section
//! becomes a host-like node (overlays over /etc, /var, /root: its writes land in its root dir,
//! never on the host) running Debian's sshd with fresh host keys, and a plain `control` node
//! joins every lab network at its highest free address. halab then provisions the lab with
//! `provider: ssh` from the control node's network namespace, through the ssh_config written
//! here. Like any netns lab, nothing is connected to the host's network.
//!
//! With `--systemd`, each host is instead a Debian 12 container with systemd as PID 1
//! (`nspawn.rs`, booted from the cached `image.rs`) in its node's network namespace: the ssh
//! provider's systemd path (units, `systemctl`, journald, apt from a local repository) runs
//! for real. With `--vm`, each host is a VM booted by qemu inside its node's network
//! namespace from the same image with a kernel (`qemu.rs`; docs/vagrant.md).

//!
//! Modules: `plan.rs` (which nodes are hosts, the control node), `sshd.rs` (keys, sshd,
//! the ssh files), `boot.rs` (hosts, containers or VMs booted and waited for), `cmd.rs`
//! (the commands' output and exit codes).

mod boot;
mod cmd;
pub mod image;
pub mod nspawn;
mod plan;
pub mod qemu;
mod sshd;
pub mod vagrant_vm;

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::lab::Lab;
use crate::state::state_dir;
use halab_netns::{self as netns, InitCommand, NETNS_DIR, NetnsError, NetnsPlan};

use boot::{boot_hosts, boot_vms, provision};
pub(crate) use cmd::lab_error;
pub use cmd::{cmd_down, cmd_exec, cmd_up};
pub(crate) use plan::control_name;
pub use plan::plan;
use sshd::write_files;
pub use sshd::{SSHD_PIDFILE, known_hosts, ssh_config};
pub(crate) use sshd::{ensure_key, keygen};

#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    #[error("use lab `{lab}` as a test bed: {}", .problems.join("; "))]
    Lab { lab: String, problems: Vec<String> },
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error("use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("run `{cmd}`: {reason}")]
    Command { cmd: String, reason: String },
    #[error("start sshd on node `{node}`: {reason}")]
    Sshd { node: String, reason: String },
    #[error(transparent)]
    Image(#[from] image::ImageError),
    #[error(transparent)]
    Nspawn(#[from] nspawn::NspawnError),
    #[error(transparent)]
    Qemu(#[from] qemu::QemuError),
}

/// What the test bed's hosts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// Host-like netns nodes running the machine's own sshd.
    HostLike,
    /// Debian 12 containers with systemd as PID 1 (`--systemd`).
    Systemd,
    /// Debian 12 VMs, one qemu per host (`--vm`).
    Vm,
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> TestbedError + '_ {
    move |source| TestbedError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A node of the lab that the test bed runs as a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Host {
    pub name: String,
    /// Where sshd answers: the node's address named by `ssh.host`, and `ssh.port`.
    pub address: Ipv4Addr,
    pub port: u16,
    /// Its network namespace, `/run/netns/<netns>`.
    pub netns: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestbedPlan {
    pub netns: NetnsPlan,
    pub hosts: Vec<Host>,
    /// The control node's name (`control`, or `halab-control` if the lab has a `control`).
    pub control: String,
}

/// What `testbed up` made, as written to DIR/testbed.json.
#[derive(Debug, Clone, Serialize)]
pub struct TestbedInfo {
    pub lab: String,
    pub state_dir: PathBuf,
    pub control: String,
    /// `nsenter --net=THIS halab up lab.yaml` provisions the hosts.
    pub control_netns: PathBuf,
    pub ssh_config: PathBuf,
    pub known_hosts: PathBuf,
    pub identity_file: PathBuf,
    pub hosts: Vec<Host>,
    /// Hosts are systemd containers (`--systemd`), not host-like nodes.
    pub systemd: bool,
    /// Hosts are VMs (`--vm`).
    pub vm: bool,
    /// The systemd hosts' (or VMs') image, and whether this `up` built it.
    pub image: Option<image::Image>,
    /// The VMs' disk, kernel and initramfs, and whether this `up` made them.
    pub vm_image: Option<qemu::VmImage>,
    pub up_seconds: f64,
}

/// The netns lab behind the test bed of `lab`.
pub fn lab_name(lab: &str) -> String {
    format!("tb-{lab}")
}

/// Brings the test bed of `lab` up and writes DIR/{id_ed25519,known_hosts,ssh_config,
/// testbed.json}. On failure, whatever was built is torn down.
pub fn up(
    lab: &Lab,
    dir: &Path,
    state_root: &Path,
    init: &InitCommand,
    kind: HostKind,
) -> Result<TestbedInfo, TestbedError> {
    let start = Instant::now();
    let plan = plan(lab, state_root, kind)?;
    if kind == HostKind::Vm {
        let missing = qemu::missing_packages();
        if !missing.is_empty() {
            return Err(qemu::QemuError::Missing(missing).into());
        }
    }
    // Before any namespace: a first build takes a while and needs nothing of the bed.
    let image = match kind {
        HostKind::HostLike => None,
        HostKind::Systemd => Some(image::ensure(
            &image::cache_dir(),
            image::Flavor::Container,
        )?),
        HostKind::Vm => Some(image::ensure(&image::cache_dir(), image::Flavor::Vm)?),
    };
    let vm_image = match (&image, kind) {
        (Some(img), HostKind::Vm) => Some(qemu::ensure_disk(img)?),
        _ => None,
    };
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    // Absolute: ssh_config names these files wherever the caller runs ssh from.
    let dir = &dir.canonicalize().map_err(io_at(dir))?;
    let identity = dir.join("id_ed25519");
    let public = ensure_key(&identity)?;
    let handle = netns::up(&plan.netns, init)?;
    let provisioned = match (&image, &vm_image) {
        (_, Some(vm)) => boot_vms(&handle, &plan, vm, dir, &public),
        (Some(img), None) => boot_hosts(&handle, &plan, &img.rootfs, dir, &public),
        (None, None) => provision(&handle, &plan, &public),
    };
    match provisioned {
        Ok(keys) => {
            let info = TestbedInfo {
                lab: plan.netns.lab.clone(),
                state_dir: plan.netns.state_dir.clone(),
                control: plan.control.clone(),
                control_netns: Path::new(NETNS_DIR)
                    .join(netns::names::node_ns(&plan.netns.lab, &plan.control)),
                ssh_config: dir.join("ssh_config"),
                known_hosts: dir.join("known_hosts"),
                identity_file: identity,
                hosts: plan.hosts.clone(),
                systemd: kind == HostKind::Systemd,
                vm: kind == HostKind::Vm,
                image,
                vm_image,
                up_seconds: start.elapsed().as_secs_f64(),
            };
            write_files(&info, &keys)
                .inspect_err(|_| {
                    let _ = nspawn::stop_all(handle.state_dir());
                    let _ = qemu::stop_all(handle.state_dir());
                    let _ = handle.down();
                })
                .map(|()| info)
        }
        Err(e) => {
            let _ = nspawn::stop_all(handle.state_dir());
            let _ = qemu::stop_all(handle.state_dir());
            let _ = handle.down();
            Err(e)
        }
    }
}

/// Tears the test bed of `lab` down (`lab` is the lab file's name, without `tb-`). `None`
/// when it was not up.
pub fn down(state_root: &Path, lab: &str) -> Result<Option<netns::DownReport>, NetnsError> {
    let dir = state_dir(state_root, &lab_name(lab));
    if !dir.exists() {
        return Ok(None);
    }
    // The containers and VMs first: they live in the nodes' network namespaces.
    if let Err(e) = nspawn::stop_all(&dir) {
        eprintln!("warning: {e}");
    }
    if let Err(e) = qemu::stop_all(&dir) {
        eprintln!("warning: {e}");
    }
    netns::down(&dir).map(Some)
}
