//! Teardown from the state dir alone: works after a crash of halab, of a daemon or of an init,
//! and is idempotent.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::command::run;
use super::enter::{NETNS_DIR, named_ns_inode};
use super::error::{NetnsError, Result, io_at};
use super::procfs::ProcId;
use super::state::LabState;

/// How long the inits get after SIGTERM (they give their daemons one second, then kill them).
const STOP_TIMEOUT: Duration = Duration::from_millis(2500);
const KILL_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    /// Inits that stopped on SIGTERM.
    pub stopped: usize,
    /// Inits that needed SIGKILL.
    pub killed: usize,
    /// Namespace names deleted.
    pub namespaces: Vec<String>,
    pub elapsed: Duration,
}

/// Stops the lab recorded in `state_dir`: SIGTERM to each node's init (the very process
/// recorded: PID and start time must match), SIGKILL after [`STOP_TIMEOUT`], `ip netns
/// delete` for every name the lab may have created, then removes the state dir. A missing
/// state dir is an already torn down lab.
pub fn down(state_dir: &Path) -> Result<DownReport> {
    let start = Instant::now();
    let mut report = DownReport::default();
    let state = match LabState::load(state_dir) {
        Ok(Some(state)) => state,
        Ok(None) if !state_dir.exists() => return Ok(report),
        Ok(None) => {
            // Claimed but never written (a crash within microseconds): only an empty dir is
            // ours to remove.
            return match fs::remove_dir(state_dir) {
                Ok(()) => Ok(report),
                Err(_) => Err(NetnsError::NotAStateDir(state_dir.to_path_buf())),
            };
        }
        Err(e) => return Err(e),
    };
    let inits = running_inits(&state);
    let mut pending: Vec<ProcId> = inits
        .into_iter()
        .filter(|p| p.signal(Signal::SIGTERM))
        .collect();
    let signalled = pending.len();
    wait_gone(&mut pending, STOP_TIMEOUT);
    report.stopped = signalled - pending.len();
    report.killed = pending.iter().filter(|p| p.signal(Signal::SIGKILL)).count();
    wait_gone(&mut pending, KILL_TIMEOUT);
    let unkillable = pending.first().map(|p| NetnsError::Unkillable {
        lab: state.lab.clone(),
        pid: p.pid,
    });
    report.namespaces = delete_namespaces(&state)?;
    if let Some(e) = unkillable {
        // The state dir stays: it is the only record of that process.
        return Err(e);
    }
    fs::remove_dir_all(state_dir).map_err(io_at(state_dir))?;
    report.elapsed = start.elapsed();
    Ok(report)
}

/// The recorded inits still alive.
fn running_inits(state: &LabState) -> Vec<ProcId> {
    state
        .nodes
        .iter()
        .filter_map(|n| n.init.filter(ProcId::is_running))
        .collect()
}

fn wait_gone(pending: &mut Vec<ProcId>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        pending.retain(ProcId::is_running);
        if pending.is_empty() || Instant::now() >= deadline {
            return;
        }
        sleep(Duration::from_millis(5));
    }
}

/// Deletes the lab's namespace names that still name the namespaces it made.
fn delete_namespaces(state: &LabState) -> Result<Vec<String>> {
    let present: Vec<String> = state
        .namespaces()
        .filter(|(ns, ino)| match (named_ns_inode(ns), ino) {
            (None, _) => false,
            (Some(now), Some(recorded)) => now == *recorded,
            // Not recorded (a crash during up): `up` checked the name was free before.
            (Some(_), None) => true,
        })
        .map(|(ns, _)| ns.to_owned())
        .collect();
    if present.is_empty() {
        return Ok(present);
    }
    let lines: Vec<String> = present
        .iter()
        .map(|ns| format!("netns delete {ns}"))
        .collect();
    let mut cmd = Command::new("ip");
    // -force: one name that vanished meanwhile must not keep the others.
    cmd.args(["-force", "-batch", "-"]);
    let out = run(
        cmd,
        Some(format!("{}\n", lines.join("\n")).into_bytes()),
        Duration::from_secs(10),
    )?;
    let left: Vec<&String> = present
        .iter()
        .filter(|ns| Path::new(NETNS_DIR).join(ns).exists())
        .collect();
    if !left.is_empty() {
        let names = left
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        return Err(NetnsError::Command {
            cmd: format!("ip netns delete {names}"),
            status: out.status.to_string(),
            stderr: out.stderr,
        });
    }
    Ok(present)
}

/// Names in /run/netns starting with `prefix`, sorted: halab namespaces still present
/// (`leftovers(names::PREFIX)` for all labs, for `halab doctor` and tests).
pub fn leftovers(prefix: &str) -> Vec<String> {
    let Ok(dir) = fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}
