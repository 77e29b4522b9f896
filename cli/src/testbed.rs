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

pub mod image;
pub mod nspawn;
pub mod qemu;
pub mod vagrant_vm;

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::exit_codes;
use crate::lab::Lab;
use crate::lab::model::Provider;
use crate::state::{state_dir, state_root};
use halab_netns::{
    self as netns, Cidr, IfPlan, InitCommand, LabHandle, NETNS_DIR, NetPlan, NetnsError, NetnsPlan,
    NodeHandle, NodePlan,
};

/// The node-local pidfile of each host's sshd (`testbed exec LAB NODE -- sh -c 'kill
/// $(cat /run/sshd.pid)'` stops it).
pub const SSHD_PIDFILE: &str = "/run/sshd.pid";
/// How long every sshd may take to answer once started.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// A systemd host boots first (about 1 s alone; several at once on two busy cores, more).
const SYSTEMD_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// `ssh-keygen -A` makes an RSA key: seconds when several nodes do it on two busy cores.
const KEYGEN_TIMEOUT: Duration = Duration::from_secs(120);

/// Fresh host keys (the overlay hides the host's), root's authorized_keys ($1), sshd's
/// privilege separation dir. `rm` in the overlay only leaves whiteouts: the host keeps its keys.
const PREPARE: &str = "set -e
rm -f /etc/ssh/ssh_host_*
ssh-keygen -A >/dev/null
umask 077
mkdir -p /root/.ssh
rm -f /root/.ssh/authorized_keys2
printf '%s\\n' \"$1\" >/root/.ssh/authorized_keys
umask 022
mkdir -p /run/sshd";

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

/// The test bed's nodes, checked: every problem at once.
/// Unless `kind` is host-like, the hosts' nodes only hold the network namespaces that their
/// containers join or their VMs' taps live in.
pub fn plan(lab: &Lab, state_root: &Path, kind: HostKind) -> Result<TestbedPlan, TestbedError> {
    let name = lab_name(&lab.name);
    let mut problems = Vec::new();
    // A vagrant lab's VMs (the halab Vagrant provider, `vagrant_vm.rs`): every node is a VM
    // host, reached as root at its first address.
    let vagrant = lab.provider == Provider::Vagrant && kind == HostKind::Vm;
    if lab.provider != Provider::Ssh && !vagrant {
        problems.push("its provider is not `ssh` (a test bed stands in for existing hosts)".into());
    }
    let networks: Vec<NetPlan> = lab
        .networks
        .iter()
        .map(|n| NetPlan {
            name: n.name.clone(),
            cidr: Cidr {
                addr: n.cidr.addr.into(),
                prefix: n.cidr.prefix,
            },
        })
        .collect();
    let mut nodes = Vec::new();
    let mut hosts = Vec::new();
    for node in &lab.nodes {
        let vagrant_ssh;
        let ssh = match &node.ssh {
            _ if vagrant => {
                vagrant_ssh = crate::lab::model::SshTarget {
                    host: node.address().to_string(),
                    user: "root".into(),
                    port: 22,
                    identity_file: None,
                    jump: None,
                };
                &vagrant_ssh
            }
            Some(ssh) => ssh,
            None => continue,
        };
        let n = &node.name;
        let own = |a: Ipv4Addr| node.interfaces.iter().any(|i| i.address == a);
        let address = match ssh.host.parse::<Ipv4Addr>() {
            Ok(a) if own(a) => Some(a),
            Ok(a) if lab.networks.iter().any(|net| net.cidr.contains(a)) => {
                problems.push(format!(
                    "node `{n}`: ssh.host {a} is not one of its own addresses (its sshd listens on those)"
                ));
                None
            }
            Ok(a) => {
                problems.push(format!(
                    "node `{n}`: ssh.host {a} lies in none of the lab's networks (the test bed never leaves them)"
                ));
                None
            }
            Err(_) => {
                problems.push(format!(
                    "node `{n}`: ssh.host `{}` is not an IPv4 address (the test bed needs the node's address, e.g. `ssh: {{host: {}}}`)",
                    ssh.host,
                    node.address()
                ));
                None
            }
        };
        if ssh.user != "root" {
            problems.push(format!(
                "node `{n}`: ssh.user is `{}`, but the test bed only authorizes root",
                ssh.user
            ));
        }
        let Some(address) = address else { continue };
        nodes.push(NodePlan {
            name: n.clone(),
            hostname: node.hostname.clone(),
            interfaces: node
                .interfaces
                .iter()
                .map(|i| IfPlan {
                    network: i.network.clone(),
                    ifname: i.name.clone(),
                    addr: i.address.into(),
                    prefix: i.prefix,
                })
                .collect(),
            sysctls: Vec::new(),
            // What a fresh Debian host has; halab's provisioning writes the lab's.
            hosts_file: format!(
                "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                node.hostname
            ),
            host_like: kind == HostKind::HostLike,
        });
        hosts.push(Host {
            name: n.clone(),
            address,
            port: ssh.port,
            netns: netns::names::node_ns(&name, n),
        });
    }
    if hosts.is_empty() && problems.is_empty() {
        problems.push("no node has an `ssh` section".into());
    }
    let control = control_name(lab);
    let used: BTreeSet<Ipv4Addr> =
        lab.nodes
            .iter()
            .flat_map(|n| n.interfaces.iter().map(|i| i.address))
            .chain(lab.vrrp.iter().flat_map(|v| v.vips.iter()).filter_map(
                |vip| match vip.address {
                    std::net::IpAddr::V4(a) => Some(a),
                    std::net::IpAddr::V6(_) => None,
                },
            ))
            .collect();
    let mut interfaces = Vec::new();
    for (k, net) in lab.networks.iter().enumerate() {
        let (first, last) = (
            u32::from(net.cidr.network()) + 1,
            u32::from(net.cidr.broadcast()),
        );
        match (first..last)
            .rev()
            .map(Ipv4Addr::from)
            .find(|a| !used.contains(a))
        {
            Some(addr) => interfaces.push(IfPlan {
                network: net.name.clone(),
                ifname: format!("eth{k}"),
                addr: addr.into(),
                prefix: net.cidr.prefix,
            }),
            None => problems.push(format!(
                "network `{}` has no free address for the control node",
                net.name
            )),
        }
    }
    if !problems.is_empty() {
        return Err(TestbedError::Lab {
            lab: lab.name.clone(),
            problems,
        });
    }
    let mut hosts_file = "127.0.0.1\tlocalhost\n".to_owned();
    for h in &hosts {
        hosts_file.push_str(&format!("{}\t{}\n", h.address, h.name));
    }
    nodes.push(NodePlan {
        name: control.into(),
        hostname: control.into(),
        interfaces,
        sysctls: Vec::new(),
        hosts_file,
        host_like: false,
    });
    Ok(TestbedPlan {
        netns: NetnsPlan {
            lab: name.clone(),
            state_dir: state_dir(state_root, &name),
            networks,
            nodes,
        },
        hosts,
        control: control.into(),
    })
}

/// The control node's name: `control`, or `halab-control` if the lab has a `control`.
pub(crate) fn control_name(lab: &Lab) -> &'static str {
    if lab.node("control").is_some() {
        "halab-control"
    } else {
        "control"
    }
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

/// The test bed's client key pair, made once per DIR; returns the public key's line.
pub(crate) fn ensure_key(identity: &Path) -> Result<String, TestbedError> {
    let public = identity.with_extension("pub");
    if !identity.exists() {
        let mut cmd = Command::new("ssh-keygen");
        cmd.args(["-q", "-t", "ed25519", "-N", "", "-C", "halab-testbed", "-f"])
            .arg(identity);
        let out = cmd.output().map_err(|e| TestbedError::Command {
            cmd: "ssh-keygen -t ed25519".into(),
            reason: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(TestbedError::Command {
                cmd: "ssh-keygen -t ed25519".into(),
                reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
    }
    let text = fs::read_to_string(&public).map_err(io_at(&public))?;
    Ok(text.trim().to_owned())
}

/// In every host at once: fresh host keys, authorized_keys, sshd. Then waits until each
/// sshd answers from the control node, and returns each host's ed25519 host key.
fn provision(
    handle: &LabHandle,
    plan: &TestbedPlan,
    public: &str,
) -> Result<Vec<String>, TestbedError> {
    let nodes = plan
        .hosts
        .iter()
        .map(|h| handle.node(&h.name))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = std::thread::scope(|s| {
        let workers: Vec<_> = plan
            .hosts
            .iter()
            .zip(&nodes)
            .map(|(host, node)| s.spawn(move || start_sshd(node, host, public)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let hosts = plan.hosts.clone();
    let waited = handle
        .node(&plan.control)?
        .in_netns(move || wait_sshd(&hosts, READY_TIMEOUT))?;
    waited.map(|()| keys)
}

/// One ed25519 host key per host (DIR/host-keys/NODE), root's authorized_keys, one
/// container per host booted in its node's network namespace (all at once, recorded in the
/// state dir as they come up); then waits until each sshd answers from the control node.
fn boot_hosts(
    handle: &LabHandle,
    plan: &TestbedPlan,
    rootfs: &Path,
    dir: &Path,
    public: &str,
) -> Result<Vec<String>, TestbedError> {
    let (authorized, keys) = host_keys(plan, dir, public)?;
    let mut boots = Vec::new();
    for h in &plan.hosts {
        let key = dir.join("host-keys").join(&h.name);
        let node = plan.netns.nodes.iter().find(|n| n.name == h.name);
        boots.push(nspawn::Boot {
            node: h.name.clone(),
            machine: h.netns.clone(),
            hostname: node.map_or_else(|| h.name.clone(), |n| n.hostname.clone()),
            rootfs: rootfs.to_path_buf(),
            netns: Path::new(NETNS_DIR).join(&h.netns),
            host_key: key,
            authorized_keys: authorized.clone(),
            log: handle.state_dir().join(format!("nspawn-{}.log", h.name)),
        });
    }
    let results: Vec<Result<nspawn::Container, nspawn::NspawnError>> = std::thread::scope(|s| {
        let workers: Vec<_> = boots
            .iter()
            .map(|b| s.spawn(move || nspawn::boot(b)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let booted: Vec<nspawn::Container> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    nspawn::write_record(handle.state_dir(), &booted)?;
    for r in results {
        r?;
    }
    std::thread::scope(|s| {
        let workers: Vec<_> = booted
            .iter()
            .zip(&boots)
            .map(|(c, b)| s.spawn(move || nspawn::wait_running(c, &b.log)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Result<Vec<()>, _>>()
    })?;
    let hosts = plan.hosts.clone();
    let waited = handle
        .node(&plan.control)?
        .in_netns(move || wait_sshd(&hosts, SYSTEMD_READY_TIMEOUT))?;
    waited.map(|()| keys)
}

/// DIR/authorized_keys (the bed's key) and a fresh ed25519 key pair per host
/// (DIR/host-keys/NODE); returns the first's path and each host's public key line.
fn host_keys(
    plan: &TestbedPlan,
    dir: &Path,
    public: &str,
) -> Result<(PathBuf, Vec<String>), TestbedError> {
    let keys_dir = dir.join("host-keys");
    fs::create_dir_all(&keys_dir).map_err(io_at(&keys_dir))?;
    let authorized = dir.join("authorized_keys");
    fs::write(&authorized, format!("{public}\n")).map_err(io_at(&authorized))?;
    let mut keys = Vec::new();
    for h in &plan.hosts {
        let key = keys_dir.join(&h.name);
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        keygen(&key, &format!("root@{}", h.name))?;
        let pub_path = key.with_extension("pub");
        let text = fs::read_to_string(&pub_path).map_err(io_at(&pub_path))?;
        keys.push(
            text.split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    Ok((authorized, keys))
}

/// One VM per host, each qemu in its node's network namespace (all at once, recorded in
/// the state dir as they start); then waits until each sshd answers from the control node.
fn boot_vms(
    handle: &LabHandle,
    plan: &TestbedPlan,
    image: &qemu::VmImage,
    dir: &Path,
    public: &str,
) -> Result<Vec<String>, TestbedError> {
    let (authorized, keys) = host_keys(plan, dir, public)?;
    let memory_mib = qemu::memory_mib();
    let mut vms = Vec::new();
    for h in &plan.hosts {
        let Some(node) = plan.netns.nodes.iter().find(|n| n.name == h.name) else {
            continue;
        };
        vms.push(qemu::Vm {
            node: h.name.clone(),
            hostname: node.hostname.clone(),
            netns: Path::new(NETNS_DIR).join(&h.netns),
            nics: node
                .interfaces
                .iter()
                .filter_map(|i| match i.addr {
                    std::net::IpAddr::V4(address) => Some(qemu::Nic {
                        ifname: i.ifname.clone(),
                        address,
                        prefix: i.prefix,
                    }),
                    std::net::IpAddr::V6(_) => None,
                })
                .collect(),
            memory_mib,
            host_key: dir.join("host-keys").join(&h.name),
            authorized_keys: authorized.clone(),
            dir: handle.state_dir().join(format!("vm-{}", h.name)),
        });
    }
    let mut running = Vec::new();
    let mut first_err = None;
    for vm in &vms {
        match qemu::boot(vm, image) {
            Ok(r) => running.push(r),
            Err(e) => {
                first_err = Some(e);
                break;
            }
        }
    }
    qemu::write_record(handle.state_dir(), &running)?;
    if let Some(e) = first_err {
        return Err(e.into());
    }
    let targets: Vec<(qemu::Running, SocketAddr)> = running
        .iter()
        .zip(&plan.hosts)
        .map(|(r, h)| (r.clone(), SocketAddr::from((h.address, h.port))))
        .collect();
    let dirs: Vec<(String, PathBuf)> = vms
        .iter()
        .map(|v| (v.node.clone(), v.dir.clone()))
        .collect();
    let waited = handle.node(&plan.control)?.in_netns(move || {
        qemu::wait_sshd(&targets, qemu::BOOT_TIMEOUT, |r| {
            dirs.iter()
                .find(|(n, _)| *n == r.node)
                .map(|(_, d)| d.join("qemu.log"))
                .unwrap_or_default()
        })
    })?;
    waited.map(|()| keys).map_err(TestbedError::from)
}

pub(crate) fn keygen(path: &Path, comment: &str) -> Result<(), TestbedError> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .map_err(|e| TestbedError::Command {
            cmd: "ssh-keygen -t ed25519".into(),
            reason: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TestbedError::Command {
            cmd: "ssh-keygen -t ed25519".into(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

fn start_sshd(node: &NodeHandle, host: &Host, public: &str) -> Result<String, TestbedError> {
    let sshd_err = |reason: String| TestbedError::Sshd {
        node: host.name.clone(),
        reason,
    };
    let out = node.exec_timeout(&["sh", "-c", PREPARE, "sh", public], KEYGEN_TIMEOUT)?;
    if !out.success() {
        return Err(sshd_err(format!(
            "prepare the host keys and authorized_keys: {}",
            out.stderr.trim()
        )));
    }
    let port = format!("Port={}", host.port);
    let pidfile = format!("PidFile={SSHD_PIDFILE}");
    // Command-line options win over sshd_config and its drop-ins (the host's).
    let argv = [
        "/usr/sbin/sshd",
        "-o",
        &port,
        "-o",
        &pidfile,
        "-o",
        "UseDNS=no",
        "-o",
        "PermitRootLogin=prohibit-password",
        "-o",
        "PasswordAuthentication=no",
        "-o",
        "AuthorizedKeysFile=.ssh/authorized_keys",
    ];
    node.spawn_daemon(&argv, SSHD_PIDFILE)?;
    let key_path = node
        .host_path("/etc/ssh/ssh_host_ed25519_key.pub")
        .ok_or_else(|| sshd_err("no path to its host key".into()))?;
    let text = fs::read_to_string(&key_path).map_err(io_at(&key_path))?;
    let key: Vec<&str> = text.split_whitespace().take(2).collect();
    match key.as_slice() {
        [kind, blob] => Ok(format!("{kind} {blob}")),
        _ => Err(sshd_err(format!("{} holds no key", key_path.display()))),
    }
}

/// Connects to every sshd (from the calling thread's network namespace) until it sends its
/// `SSH-` banner.
fn wait_sshd(hosts: &[Host], timeout: Duration) -> Result<(), TestbedError> {
    let deadline = Instant::now() + timeout;
    for host in hosts {
        let addr = SocketAddr::from((host.address, host.port));
        loop {
            let banner =
                TcpStream::connect_timeout(&addr, Duration::from_millis(500)).and_then(|mut s| {
                    s.set_read_timeout(Some(Duration::from_secs(2)))?;
                    let mut buf = [0u8; 4];
                    s.read_exact(&mut buf)?;
                    Ok(buf)
                });
            match banner {
                Ok(b) if &b == b"SSH-" => break,
                _ if Instant::now() < deadline => sleep(Duration::from_millis(20)),
                other => {
                    let seen = other.map_or_else(|e| e.to_string(), |b| format!("{b:?}"));
                    return Err(TestbedError::Sshd {
                        node: host.name.clone(),
                        reason: format!("no answer on {addr} within {timeout:?}: {seen}"),
                    });
                }
            }
        }
    }
    Ok(())
}

/// known_hosts, ssh_config, testbed.json.
fn write_files(info: &TestbedInfo, keys: &[String]) -> Result<(), TestbedError> {
    let write = |path: &Path, text: String| fs::write(path, text).map_err(io_at(path));
    write(&info.known_hosts, known_hosts(&info.hosts, keys))?;
    write(&info.ssh_config, ssh_config(info))?;
    let json = serde_json::to_string_pretty(info).unwrap_or_default();
    write(
        &info.known_hosts.with_file_name("testbed.json"),
        json + "\n",
    )
}

/// "ADDR,NAME KEY" per host (`[ADDR]:PORT,[NAME]:PORT KEY` off port 22).
pub fn known_hosts(hosts: &[Host], keys: &[String]) -> String {
    hosts
        .iter()
        .zip(keys)
        .map(|(h, key)| match h.port {
            22 => format!("{},{} {key}\n", h.address, h.name),
            p => format!("[{}]:{p},[{}]:{p} {key}\n", h.address, h.name),
        })
        .collect()
}

pub fn ssh_config(info: &TestbedInfo) -> String {
    let mut text = format!(
        "# Written by `halab testbed up` for the test bed {}: run ssh from the control node's\n\
         # network namespace, `nsenter --net={} ssh -F THIS_FILE NODE`.\n",
        info.lab,
        info.control_netns.display()
    );
    // The first value ssh finds wins: the per-node blocks come before `Host *`.
    for h in &info.hosts {
        text.push_str(&format!(
            "\nHost {}\n  HostName {}\n  Port {}\n",
            h.name, h.address, h.port
        ));
    }
    text.push_str(&format!(
        "\nHost *\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
         GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  UpdateHostKeys no\n  \
         BatchMode yes\n  ConnectTimeout 5\n",
        info.identity_file.display(),
        info.known_hosts.display()
    ));
    text
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

fn lab_error(e: impl std::fmt::Display) -> i32 {
    eprintln!("error: failed to {e}");
    exit_codes::LAB_ERROR
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lab(text: &str) -> Lab {
        crate::lab::parse(
            Path::new("ssh.yaml"),
            text,
            &HashMap::<String, String>::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    const LAB: &str = "name: tb
provider: ssh
networks: [{ name: lan, cidr: 10.9.0.0/24 }]
nodes:
  - { name: lb1, role: lb, address: 10.9.0.11, ssh: { host: 10.9.0.11 } }
  - { name: lb2, role: lb, address: 10.9.0.12, ssh: { host: 10.9.0.12 } }
  - { name: web1, role: web, address: 10.9.0.254, ssh: { host: 10.9.0.254, port: 2222 } }
vrrp:
  - { vrid: 51, vips: [10.9.0.253] }
";

    #[test]
    fn hosts_and_a_control_node_at_the_top_free_address() {
        let p = plan(&lab(LAB), Path::new("/run/x"), HostKind::HostLike).expect("plan");
        assert_eq!(p.netns.lab, "tb-tb");
        assert_eq!(p.netns.state_dir, Path::new("/run/x/tb-tb"));
        let names: Vec<&str> = p.netns.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["lb1", "lb2", "web1", "control"]);
        assert!(p.netns.nodes[0].host_like && !p.netns.nodes[3].host_like);
        // .254 is web1's, .253 the VIP.
        assert_eq!(
            p.netns.nodes[3].interfaces[0].addr.to_string(),
            "10.9.0.252"
        );
        assert_eq!(p.hosts[2].port, 2222);
        assert!(p.netns.validate().is_ok());
        let keys = ["ssh-ed25519 A".to_owned(), "ssh-ed25519 B".to_owned()];
        assert_eq!(
            known_hosts(&p.hosts[1..], &keys),
            "10.9.0.12,lb2 ssh-ed25519 A\n[10.9.0.254]:2222,[web1]:2222 ssh-ed25519 B\n"
        );
    }

    /// Input: labs/seed000/vm/lab.yaml (what scripts/vm-test boots). Output: four VM hosts,
    /// no client VM (the probe runs in the control node), and its failover scenario valid.
    #[test]
    fn the_seed000_vm_lab_is_four_hosts_and_its_failover_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/vm");
        let file = dir.join("lab.yaml");
        let text = fs::read_to_string(&file).expect("vm lab");
        let l = crate::lab::parse(&file, &text, &HashMap::<String, String>::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let p = plan(&l, Path::new("/run/x"), HostKind::Vm).expect("plan");
        let hosts: Vec<&str> = p.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(hosts, ["nginx1", "nginx2", "loadbalance1", "loadbalance2"]);
        assert!(p.netns.nodes.iter().all(|n| !n.host_like));
        assert_eq!(p.control, "control");
        let sc = crate::scenario::file::load(&dir.join("scenarios/failover.yaml"), &l);
        assert!(sc.is_ok(), "{:?}", sc.err());
    }

    #[test]
    fn ssh_hosts_must_be_the_nodes_own_addresses() {
        let text = LAB
            .replace("host: 10.9.0.11 }", "host: lb1.example.org }")
            .replace("host: 10.9.0.254,", "host: 10.9.0.12, user: admin,");
        // 10.9.0.12 is lb2's.
        let Err(TestbedError::Lab { problems, .. }) =
            plan(&lab(&text), Path::new("/run/x"), HostKind::HostLike)
        else {
            panic!("expected a lab error")
        };
        let text = problems.join("\n");
        assert!(
            text.contains("`lb1.example.org` is not an IPv4 address"),
            "{text}"
        );
        assert!(
            text.contains("10.9.0.12 is not one of its own addresses"),
            "{text}"
        );
        assert!(text.contains("only authorizes root"), "{text}");
    }
}
