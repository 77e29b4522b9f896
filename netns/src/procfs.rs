//! What the host's /proc says about a process: enough to recognise our own processes again
//! after a crash, and never to signal a recycled PID.

use std::fs;
use std::os::unix::fs::MetadataExt;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// A process as the host sees it: PID plus start time (clock ticks since boot), which together
/// name one process for the life of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcId {
    pub pid: i32,
    pub start_time: u64,
}

/// Fields of /proc/PID/stat after the command name, which may itself hold spaces and `)`.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

impl ProcId {
    pub fn of(pid: i32) -> Option<ProcId> {
        // Field 22 of stat (starttime) is index 19 after the name (fields 3..).
        let start_time = stat_fields(pid)?.get(19)?.parse().ok()?;
        Some(ProcId { pid, start_time })
    }

    /// Still this very process, and not a zombie waiting for its parent.
    pub fn is_running(&self) -> bool {
        stat_fields(self.pid).is_some_and(|f| {
            f.first().is_some_and(|state| state != "Z" && state != "X")
                && f.get(19).and_then(|s| s.parse().ok()) == Some(self.start_time)
        })
    }

    /// Signals the process only if it is still the one recorded. Returns whether it was sent.
    pub fn signal(&self, signal: Signal) -> bool {
        self.is_running() && kill(Pid::from_raw(self.pid), signal).is_ok()
    }
}

/// The inode of a namespace of a process, e.g. `ns_inode("self", "net")`.
pub fn ns_inode(pid: &str, kind: &str) -> Option<u64> {
    fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .ok()
        .map(|m| m.ino())
}
