//! Booting the test bed's hosts in their nodes: sshd in host-like nodes, systemd containers
//! (`nspawn.rs`) or VMs (`qemu.rs`); each then waited for from the control node.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::sshd::{host_keys, start_sshd, wait_sshd};
use super::{Host, TestbedError, TestbedPlan, nspawn, qemu};
use halab_netns::{LabHandle, NETNS_DIR};

const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// A systemd host boots first (about 1 s alone; several at once on two busy cores, more).
const SYSTEMD_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// In every host at once: fresh host keys, authorized_keys, sshd. Then waits until each
/// sshd answers from the control node, and returns each host's ed25519 host key.
pub(super) fn provision(
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
pub(super) fn boot_hosts(
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

/// One VM per host, each qemu in its node's network namespace (all at once, recorded in
/// the state dir as they start); then waits until each sshd answers from the control node.
pub(super) fn boot_vms(
    handle: &LabHandle,
    plan: &TestbedPlan,
    image: &qemu::VmImage,
    dir: &Path,
    public: &str,
) -> Result<Vec<String>, TestbedError> {
    let (authorized, keys) = host_keys(plan, dir, public)?;
    let vms: Vec<qemu::Vm> = plan
        .hosts
        .iter()
        .map(|h| {
            let key = dir.join("host-keys").join(&h.name);
            vm_of(plan, h, &key, &authorized, handle.state_dir())
        })
        .collect();
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

/// The VM of the plan's host `h`: its node's hostname and IPv4 interfaces (one qemu NIC
/// each), its host key and the bed's authorized_keys, its seed and console under `state`.
pub(super) fn vm_of(
    p: &TestbedPlan,
    h: &Host,
    host_key: &Path,
    authorized: &Path,
    state: &Path,
) -> qemu::Vm {
    let node = p.netns.nodes.iter().find(|n| n.name == h.name);
    qemu::Vm {
        node: h.name.clone(),
        hostname: node.map_or_else(|| h.name.clone(), |n| n.hostname.clone()),
        netns: Path::new(NETNS_DIR).join(&h.netns),
        nics: node
            .map(|n| {
                n.interfaces
                    .iter()
                    .filter_map(|i| match i.addr {
                        std::net::IpAddr::V4(address) => Some(qemu::Nic {
                            ifname: i.ifname.clone(),
                            address,
                            prefix: i.prefix,
                        }),
                        std::net::IpAddr::V6(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        memory_mib: qemu::memory_mib(),
        host_key: host_key.to_path_buf(),
        authorized_keys: authorized.to_path_buf(),
        dir: state.join(format!("vm-{}", h.name)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::testbed::{HostKind, plan};

    /// Input: a host on two networks. Output: its VM has one NIC per interface (name,
    /// address, prefix), its node's hostname and netns, its keys, and a dir under `state`.
    #[test]
    fn a_vm_has_a_nic_per_interface_of_its_node() {
        let text = "name: tb
provider: ssh
networks:
  - { name: lan, cidr: 10.9.0.0/24 }
  - { name: back, cidr: 10.8.0.0/16 }
nodes:
  - name: lb1
    role: lb
    hostname: lb-one
    addresses: [{ network: lan, address: 10.9.0.11 }, { network: back, address: 10.8.0.11 }]
    ssh: { host: 10.9.0.11 }
  - { name: lb2, role: lb, address: 10.9.0.12, ssh: { host: 10.9.0.12 } }
  - { name: web1, role: web, address: 10.9.0.21, ssh: { host: 10.9.0.21 } }
vrrp:
  - { vrid: 51, vips: [10.9.0.253] }
";
        let lab = crate::lab::parse(Path::new("ssh.yaml"), text, &HashMap::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let p = plan(&lab, Path::new("/run/x"), HostKind::Vm).expect("plan");
        let vm = vm_of(
            &p,
            &p.hosts[0],
            Path::new("/k/lb1"),
            Path::new("/k/auth"),
            Path::new("/s"),
        );
        let nics: Vec<(&str, String, u8)> = vm
            .nics
            .iter()
            .map(|n| (n.ifname.as_str(), n.address.to_string(), n.prefix))
            .collect();
        assert_eq!(
            nics,
            [
                ("eth0", "10.9.0.11".into(), 24),
                ("eth1", "10.8.0.11".into(), 16)
            ]
        );
        assert_eq!(vm.hostname, "lb-one");
        assert_eq!(vm.netns, Path::new("/run/netns/halab-tb-tb.lb1"));
        assert_eq!(
            (vm.host_key.as_path(), vm.authorized_keys.as_path()),
            (Path::new("/k/lb1"), Path::new("/k/auth"))
        );
        assert_eq!(vm.dir, Path::new("/s/vm-lb1"));
    }
}
