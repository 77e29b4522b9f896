//! One machine of a vagrant lab: its VM started (the bed's namespaces made by the first,
//! under a lock), its state, destroyed (the bed removed with the last).

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::KNOWN_HOSTS;
use super::boxes::read_box;
use crate::lab::Lab;
use crate::state::state_dir;
use crate::testbed::boot::vm_of;
use crate::testbed::{
    HostKind, TestbedError, TestbedPlan, ensure_key, io_at, keygen, lab_name, plan, qemu,
};
use halab_netns::{self as netns, InitCommand, LabHandle};

/// The bed's plan and the node's host in it.
pub(super) fn bed(
    lab: &Lab,
    node: &str,
    state_root: &Path,
) -> Result<(TestbedPlan, usize), TestbedError> {
    let p = plan(lab, state_root, HostKind::Vm)?;
    let k = p
        .hosts
        .iter()
        .position(|h| h.name == node)
        .ok_or_else(|| TestbedError::Lab {
            lab: lab.name.clone(),
            problems: vec![format!(
                "it has no node `{node}` (its nodes: {})",
                p.hosts
                    .iter()
                    .map(|h| h.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
        })?;
    Ok((p, k))
}

/// Exclusive while it lives: one machine at a time makes or removes the bed.
fn lock(state_root: &Path, lab: &Lab) -> Result<nix::fcntl::Flock<fs::File>, TestbedError> {
    fs::create_dir_all(state_root).map_err(io_at(state_root))?;
    let path = state_root.join(format!("{}.lock", lab_name(&lab.name)));
    let file = fs::File::create(&path).map_err(io_at(&path))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
        TestbedError::Io {
            path,
            source: e.into(),
        }
    })
}

/// What [`vm_up`] did.
#[derive(Debug, Clone, Serialize)]
pub struct VmUp {
    pub node: String,
    /// Whether this call made the bed's namespaces (the first machine does).
    pub made_bed: bool,
    /// Whether this call started the VM (false: it was running).
    pub booted: bool,
    pub seconds: f64,
}

/// Starts `node`'s VM from the box in `box_dir` (the bed first, if no machine made it yet)
/// and waits until its sshd answers from the control node. Running already: only the wait.
pub fn vm_up(
    lab: &Lab,
    node: &str,
    dir: &Path,
    box_dir: &Path,
    state_root: &Path,
    init: &InitCommand,
) -> Result<VmUp, TestbedError> {
    let start = Instant::now();
    let (p, k) = bed(lab, node, state_root)?;
    let image = read_box(box_dir)?;
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let dir = &dir.canonicalize().map_err(io_at(dir))?;
    let (running, handle, made_bed, booted) = {
        let _lock = lock(state_root, lab)?;
        let public = ensure_key(&dir.join("id_ed25519"))?;
        let authorized = dir.join("authorized_keys");
        fs::write(&authorized, format!("{public}\n")).map_err(io_at(&authorized))?;
        let keys = dir.join("host-keys");
        fs::create_dir_all(&keys).map_err(io_at(&keys))?;
        let host_key = keys.join(node);
        if !host_key.exists() || !host_key.with_extension("pub").exists() {
            let _ = fs::remove_file(&host_key);
            let _ = fs::remove_file(host_key.with_extension("pub"));
            keygen(&host_key, &format!("root@{node}"))?;
        }
        write_known_hosts(&p, dir)?;
        let (handle, made_bed) = match LabHandle::open(&p.netns.state_dir) {
            Ok(h) => (h, false),
            Err(_) => (netns::up(&p.netns, init)?, true),
        };
        let mut record = qemu::read_record(handle.state_dir())?;
        let (running, booted) = match record.iter().find(|r| r.node == node && r.alive()) {
            Some(r) => (r.clone(), false),
            None => {
                let vm = vm_of(&p, &p.hosts[k], &host_key, &authorized, handle.state_dir());
                let r = qemu::boot(&vm, &image);
                let r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        if made_bed {
                            let _ = handle.down();
                        }
                        return Err(e.into());
                    }
                };
                record.retain(|x| x.node != node);
                record.push(r.clone());
                qemu::write_record(handle.state_dir(), &record)?;
                (r, true)
            }
        };
        (running, handle, made_bed, booted)
    };
    let addr = SocketAddr::from((p.hosts[k].address, p.hosts[k].port));
    let stderr = handle
        .state_dir()
        .join(format!("vm-{node}"))
        .join("qemu.log");
    handle.node(&p.control)?.in_netns(move || {
        qemu::wait_sshd(&[(running, addr)], qemu::BOOT_TIMEOUT, |_| stderr.clone())
    })??;
    Ok(VmUp {
        node: node.to_owned(),
        made_bed,
        booted,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// DIR/known_hosts: every VM's host key made so far (DIR/host-keys/NODE.pub), at its
/// address and name, so that halab's ssh checks host keys strictly ([`KNOWN_HOSTS`]).
fn write_known_hosts(p: &TestbedPlan, dir: &Path) -> Result<(), TestbedError> {
    let mut hosts = Vec::new();
    let mut keys = Vec::new();
    for h in &p.hosts {
        let path = dir.join("host-keys").join(&h.name).with_extension("pub");
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        hosts.push(h.clone());
        keys.push(
            text.split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    let path = dir.join(KNOWN_HOSTS);
    fs::write(&path, crate::testbed::known_hosts(&hosts, &keys)).map_err(io_at(&path))
}

/// A machine's state for vagrant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VmState {
    Running,
    /// Recorded, but its qemu is gone (`vagrant destroy` cleans up).
    Stopped,
    NotCreated,
}

impl VmState {
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Running => "running",
            VmState::Stopped => "stopped",
            VmState::NotCreated => "not_created",
        }
    }
}

pub fn vm_state(lab: &Lab, node: &str, state_root: &Path) -> Result<VmState, TestbedError> {
    let dir = state_dir(state_root, &lab_name(&lab.name));
    let record = qemu::read_record(&dir)?;
    Ok(match record.iter().find(|r| r.node == node) {
        Some(r) if r.alive() => VmState::Running,
        Some(_) => VmState::Stopped,
        None => VmState::NotCreated,
    })
}

/// What [`vm_destroy`] did.
#[derive(Debug, Clone, Serialize)]
pub struct VmDown {
    pub stopped: bool,
    /// The last machine removes the bed's namespaces.
    pub removed_bed: bool,
}

/// Stops `node`'s VM (by its recorded PID) and forgets it; with no VM left, the bed goes.
pub fn vm_destroy(lab: &Lab, node: &str, state_root: &Path) -> Result<VmDown, TestbedError> {
    let _lock = lock(state_root, lab)?;
    let dir = state_dir(state_root, &lab_name(&lab.name));
    let mut record = qemu::read_record(&dir)?;
    let mut stopped = false;
    if let Some(r) = record.iter().find(|r| r.node == node) {
        qemu::stop(r);
        stopped = true;
    }
    record.retain(|r| r.node != node);
    let _ = fs::remove_dir_all(dir.join(format!("vm-{node}")));
    if dir.exists() && record.is_empty() {
        let _ = fs::remove_file(dir.join(qemu::RECORD));
        crate::testbed::down(state_root, &lab.name)?;
        return Ok(VmDown {
            stopped,
            removed_bed: true,
        });
    }
    if dir.exists() {
        qemu::write_record(&dir, &record)?;
    }
    Ok(VmDown {
        stopped,
        removed_bed: false,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::seed000vg;
    use super::*;

    /// Input: host keys made for two of the five VMs. Output: known_hosts pins those two at
    /// their address and name, and only those.
    #[test]
    fn known_hosts_pins_each_vm_key_made_so_far() {
        let t = tempfile::tempdir().expect("tmp");
        let keys = t.path().join("host-keys");
        fs::create_dir(&keys).expect("mkdir");
        fs::write(keys.join("nginx1.pub"), "ssh-ed25519 AAAA1 root@nginx1\n").expect("w");
        fs::write(keys.join("client.pub"), "ssh-ed25519 AAAA2 root@client\n").expect("w");
        let p = plan(&seed000vg(), Path::new("/run/x"), HostKind::Vm).expect("plan");
        write_known_hosts(&p, t.path()).expect("known_hosts");
        assert_eq!(
            fs::read_to_string(t.path().join(KNOWN_HOSTS)).expect("read"),
            "192.168.0.131,nginx1 ssh-ed25519 AAAA1\n192.168.0.10,client ssh-ed25519 AAAA2\n"
        );
    }

    /// Input: a state dir with no bed, then a record holding a live process (this test's)
    /// as nginx1 and a dead one as nginx2. Output: not_created, running, stopped; destroying
    /// a node that has no VM stops nothing and keeps the others' record.
    #[test]
    fn machine_states_come_from_the_record_and_liveness() {
        let t = tempfile::tempdir().expect("tmp");
        let l = seed000vg();
        assert_eq!(
            vm_state(&l, "nginx1", t.path()).expect("state"),
            VmState::NotCreated
        );
        let me = i32::try_from(std::process::id()).expect("pid");
        let start = crate::testbed::nspawn::start_time(me).expect("own start time");
        let bed = t.path().join("tb-seed000vg");
        fs::create_dir(&bed).expect("mkdir");
        let running = |node: &str, pid, start| qemu::Running {
            node: node.into(),
            pid,
            start,
            log: PathBuf::from("/dev/null"),
        };
        qemu::write_record(
            &bed,
            &[
                running("nginx1", me, start),
                running("nginx2", me, start + 1),
            ],
        )
        .expect("record");
        assert_eq!(
            vm_state(&l, "nginx1", t.path()).expect("s").as_str(),
            "running"
        );
        assert_eq!(
            vm_state(&l, "nginx2", t.path()).expect("s").as_str(),
            "stopped"
        );
        assert_eq!(
            vm_state(&l, "client", t.path()).expect("s").as_str(),
            "not_created"
        );
        let d = vm_destroy(&l, "client", t.path()).expect("destroy");
        assert!(!d.stopped && !d.removed_bed);
        let left: Vec<String> = qemu::read_record(&bed)
            .expect("record")
            .into_iter()
            .map(|r| r.node)
            .collect();
        assert_eq!(left, ["nginx1", "nginx2"]);
    }
}
