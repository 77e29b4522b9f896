//! systemd hosts for the test bed: `systemd-nspawn --boot` of the cached image
//! ([`super::image`]), inside the network namespace of a test bed node, with systemd as the
//! container's PID 1.
//!
//! Without systemd on the machine there is no machined to register with nor a manager to ask
//! for a scope, so nspawn runs with `--register=no --keep-unit` in a cgroup of its own
//! (`halab/<machine>` in each hierarchy it uses), made here and removed when it stops: two
//! containers never share a cgroup. The image is shared read-only (`--volatile=overlay`, a
//! tmpfs over it per host), its host key and root's authorized_keys bound in read-only.
//! Containers run detached (their own process group, output to a log in the state dir) and
//! are recorded in `STATE/nspawn.json` with their start times, so `down` stops exactly them,
//! by PID, from the state dir alone.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// The record of a test bed's containers, in its state dir.
pub const RECORD: &str = "nspawn.json";
const LEADER_TIMEOUT: Duration = Duration::from_secs(15);
/// Boot to `running`; several hosts at once on two busy cores.
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
const POWEROFF_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum NspawnError {
    #[error("use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("boot host `{node}` with systemd-nspawn: {reason} (log: {log})")]
    Boot {
        node: String,
        reason: String,
        log: PathBuf,
    },
    #[error("read {path}: {reason}")]
    Record { path: PathBuf, reason: String },
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> NspawnError + '_ {
    move |source| NspawnError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What to boot for one host.
#[derive(Debug, Clone)]
pub struct Boot {
    pub node: String,
    /// nspawn's machine name: unique on the machine (the node's netns name).
    pub machine: String,
    pub hostname: String,
    pub rootfs: PathBuf,
    /// `/run/netns/...`: the container's network namespace.
    pub netns: PathBuf,
    /// The host's ed25519 key pair (`KEY`, `KEY.pub`).
    pub host_key: PathBuf,
    pub authorized_keys: PathBuf,
    pub log: PathBuf,
}

/// A running container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    pub node: String,
    pub machine: String,
    pub nspawn_pid: i32,
    pub nspawn_start: u64,
    /// The container's PID 1 (systemd), as seen here.
    pub leader: i32,
    pub leader_start: u64,
    /// The cgroup dirs made for it.
    pub cgroups: Vec<PathBuf>,
}

/// The cgroup hierarchies nspawn sees here: the unified one alone, or (hybrid, as on this
/// machine) the name=systemd v1 hierarchy and the unified one beside it.
pub fn cgroup_roots() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").exists() {
        return vec![base.to_path_buf()];
    }
    ["systemd", "unified"]
        .iter()
        .map(|h| base.join(h))
        .filter(|p| p.join("cgroup.procs").exists())
        .collect()
}

/// Field 22 of /proc/PID/stat: with the PID, names a process for good.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

fn alive(pid: i32, start: u64) -> bool {
    start_time(pid) == Some(start)
}

/// The nspawn argv for `b`.
pub fn argv(b: &Boot) -> Vec<String> {
    let bind = |src: &Path, dst: &str| format!("--bind-ro={}:{dst}", src.display());
    vec![
        "systemd-nspawn".into(),
        "--quiet".into(),
        "--boot".into(),
        format!("--directory={}", b.rootfs.display()),
        "--volatile=overlay".into(),
        format!("--network-namespace-path={}", b.netns.display()),
        "--register=no".into(),
        "--keep-unit".into(),
        "--link-journal=no".into(),
        "--console=passive".into(),
        // A host's own network: keepalived adds VIPs, halab writes net.* sysctls. The netns
        // is the lab's (nspawn grants this itself only for networks it makes).
        "--capability=CAP_NET_ADMIN".into(),
        format!("--machine={}", b.machine),
        format!("--hostname={}", b.hostname),
        bind(&b.host_key, "/etc/ssh/ssh_host_ed25519_key"),
        bind(
            &b.host_key.with_extension("pub"),
            "/etc/ssh/ssh_host_ed25519_key.pub",
        ),
        bind(&b.authorized_keys, "/root/.ssh/authorized_keys"),
    ]
}

/// Starts the container and waits for its PID 1 (not for its services).
pub fn boot(b: &Boot) -> Result<Container, NspawnError> {
    let fail = |reason: String| NspawnError::Boot {
        node: b.node.clone(),
        reason,
        log: b.log.clone(),
    };
    let mut cgroups = Vec::new();
    for root in cgroup_roots() {
        let dir = root.join("halab").join(&b.machine);
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        cgroups.push(dir);
    }
    if cgroups.is_empty() {
        return Err(fail(
            "no writable cgroup hierarchy under /sys/fs/cgroup (nspawn needs one)".into(),
        ));
    }
    let log = fs::File::create(&b.log).map_err(io_at(&b.log))?;
    let err = log.try_clone().map_err(io_at(&b.log))?;
    // The shell joins the cgroups, then becomes nspawn: the PID is nspawn's.
    let join: String = cgroups
        .iter()
        .map(|d| format!("echo $$ > '{}/cgroup.procs' && ", d.display()))
        .collect();
    let script = format!("{join}exec \"$@\"");
    let child = Command::new("sh")
        .args(["-c", &script, "sh"])
        .args(argv(b))
        // The image is shared read-only by every host.
        .env("SYSTEMD_NSPAWN_LOCK", "0")
        // /proc/sys/net writable (read-only by default with a network namespace nspawn did
        // not make): the host's sysctls are per namespace.
        .env("SYSTEMD_NSPAWN_API_VFS_WRITABLE", "network")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| fail(format!("run systemd-nspawn: {e}")))?;
    let pid = i32::try_from(child.id()).map_err(|e| fail(e.to_string()))?;
    // Not waited for: it outlives this process; `stop` reaps nothing, the init does.
    drop(child);
    let nspawn_start = start_time(pid).ok_or_else(|| fail("exited at once".into()))?;
    let mut c = Container {
        node: b.node.clone(),
        machine: b.machine.clone(),
        nspawn_pid: pid,
        nspawn_start,
        leader: 0,
        leader_start: 0,
        cgroups,
    };
    let deadline = Instant::now() + LEADER_TIMEOUT;
    loop {
        if let Some(leader) = leader_of(pid) {
            c.leader = leader;
            c.leader_start = start_time(leader).unwrap_or(0);
            return Ok(c);
        }
        if !alive(pid, nspawn_start) || Instant::now() > deadline {
            let text = fs::read_to_string(&b.log).unwrap_or_default();
            let _ = stop(&c);
            return Err(fail(format!(
                "no container init within {LEADER_TIMEOUT:?}: {}",
                text.trim()
            )));
        }
        sleep(Duration::from_millis(20));
    }
}

/// Waits until the container's systemd finished booting (`systemctl is-system-running
/// --wait`); a unit that failed (`degraded`) is an error naming it.
pub fn wait_running(c: &Container, log: &Path) -> Result<(), NspawnError> {
    let run = |args: &[&str]| {
        Command::new("timeout")
            .arg(BOOT_TIMEOUT.as_secs().to_string())
            .args(["nsenter", "--target", &c.leader.to_string(), "--all", "--"])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let fail = |reason: String| NspawnError::Boot {
        node: c.node.clone(),
        reason,
        log: log.to_path_buf(),
    };
    // `offline` until systemd listens on its private socket, early in its boot.
    let deadline = Instant::now() + BOOT_TIMEOUT;
    let state = loop {
        let state = run(&["systemctl", "is-system-running", "--wait"])
            .map_err(|e| fail(format!("run nsenter: {e}")))?;
        if state == "running" {
            return Ok(());
        }
        if !(state == "offline" || state.is_empty()) || Instant::now() > deadline {
            break state;
        }
        sleep(Duration::from_millis(100));
    };
    let failed = run(&["systemctl", "--failed", "--no-legend", "--plain"]).unwrap_or_default();
    Err(fail(format!(
        "systemd is `{state}` after booting (failed units: {})",
        if failed.is_empty() { "none" } else { &failed }
    )))
}

/// nspawn's child in another PID namespace: the container's init.
fn leader_of(pid: i32) -> Option<i32> {
    let own = fs::read_link("/proc/self/ns/pid").ok()?;
    let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|c| c.parse::<i32>().ok())
        .find(|c| fs::read_link(format!("/proc/{c}/ns/pid")).is_ok_and(|ns| ns != own))
}

/// Powers the container off (SIGTERM to nspawn: systemd shuts down), kills what is left
/// after [`POWEROFF_TIMEOUT`], removes its cgroups. Only the recorded processes are signalled.
pub fn stop(c: &Container) -> Result<(), NspawnError> {
    let nspawn = (c.nspawn_pid, c.nspawn_start);
    let leader = (c.leader, c.leader_start);
    let live = |(pid, start): (i32, u64)| pid > 0 && alive(pid, start);
    if live(nspawn) {
        let _ = kill(Pid::from_raw(nspawn.0), Signal::SIGTERM);
    }
    let gone = |d: Duration| {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if !live(nspawn) && !live(leader) {
                return true;
            }
            sleep(Duration::from_millis(20));
        }
        false
    };
    if !gone(POWEROFF_TIMEOUT) {
        for p in [leader, nspawn] {
            if live(p) {
                let _ = kill(Pid::from_raw(p.0), Signal::SIGKILL);
            }
        }
        gone(Duration::from_secs(3));
    }
    for dir in &c.cgroups {
        remove_cgroup(dir);
    }
    Ok(())
}

/// Removes a cgroup dir and the ones the container made below it, deepest first (cgroupfs
/// dirs go with rmdir, once empty of processes).
fn remove_cgroup(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup(&e.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

pub fn write_record(state_dir: &Path, containers: &[Container]) -> Result<(), NspawnError> {
    let path = state_dir.join(RECORD);
    let json = serde_json::to_string_pretty(containers).unwrap_or_default();
    fs::write(&path, json + "\n").map_err(io_at(&path))
}

/// The recorded containers; none when the bed has no systemd hosts.
pub fn read_record(state_dir: &Path) -> Result<Vec<Container>, NspawnError> {
    let path = state_dir.join(RECORD);
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| NspawnError::Record {
            path,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(NspawnError::Io { path, source: e }),
    }
}

/// Stops every recorded container, then forgets them.
pub fn stop_all(state_dir: &Path) -> Result<usize, NspawnError> {
    let containers = read_record(state_dir)?;
    std::thread::scope(|s| {
        for c in &containers {
            s.spawn(move || stop(c));
        }
    });
    let path = state_dir.join(RECORD);
    if path.exists() {
        fs::remove_file(&path).map_err(io_at(&path))?;
    }
    Ok(containers.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_boots_read_only_in_the_nodes_netns_without_machined() {
        let b = Boot {
            node: "lb1".into(),
            machine: "halab-tb-x.lb1".into(),
            hostname: "lb-1".into(),
            rootfs: "/var/cache/halab/images/k/rootfs".into(),
            netns: "/run/netns/halab-tb-x.lb1".into(),
            host_key: "/d/keys/lb1".into(),
            authorized_keys: "/d/authorized_keys".into(),
            log: "/run/halab/tb-x/lb1.log".into(),
        };
        let a = argv(&b).join(" ");
        for want in [
            "--boot",
            "--volatile=overlay",
            "--register=no --keep-unit",
            "--link-journal=no",
            "--capability=CAP_NET_ADMIN",
            "--network-namespace-path=/run/netns/halab-tb-x.lb1",
            "--hostname=lb-1",
            "--bind-ro=/d/keys/lb1.pub:/etc/ssh/ssh_host_ed25519_key.pub",
            "--bind-ro=/d/authorized_keys:/root/.ssh/authorized_keys",
        ] {
            assert!(a.contains(want), "{want} in {a}");
        }
        assert!(!a.contains("--network-veth") && !a.contains("--private-network"));
    }

    #[test]
    fn start_time_names_this_process_and_no_other() {
        let me = i32::try_from(std::process::id()).expect("pid");
        assert!(start_time(me).is_some());
        assert_eq!(start_time(i32::MAX), None);
    }
}
