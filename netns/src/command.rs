//! Running helper commands (ip, nsenter) with a deadline, several at once when they are
//! independent: process spawns are most of the cost of bringing a lab up.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::error::{NetnsError, Result};

/// What a finished command printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code, or 128 + the signal that ended the command (as a shell says it).
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .or_else(|| self.status.signal().map(|s| 128 + s))
            .unwrap_or(-1)
    }
}

pub(crate) fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A started command whose output is being collected.
pub(crate) struct Running {
    desc: String,
    child: Child,
    stdout: Collector,
    stderr: Collector,
}

/// How long output may still flow after the command exited. A daemon it left behind may hold
/// the pipe open for good; what the command itself wrote is in the pipe by then.
const DRAIN: Duration = Duration::from_millis(200);

/// Reads a pipe on a thread into a shared buffer, so a pipe that never closes (held by a
/// grandchild) cannot hold up the caller.
struct Collector {
    buf: Arc<Mutex<Vec<u8>>>,
    eof: mpsc::Receiver<()>,
}

impl Collector {
    fn start(mut pipe: impl Read + Send + 'static) -> Collector {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let (tx, eof) = mpsc::channel();
        let shared = Arc::clone(&buf);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                if let Ok(mut b) = shared.lock() {
                    b.extend_from_slice(&chunk[..n]);
                }
            }
            let _ = tx.send(());
        });
        Collector { buf, eof }
    }

    fn text(self, until: Instant) -> String {
        let _ = self
            .eof
            .recv_timeout(until.saturating_duration_since(Instant::now()));
        let bytes = self.buf.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Running {
    /// Starts `cmd` in its own process group (so a timeout can kill what it forked, e.g.
    /// nsenter's child in the node), feeding it `input` on stdin.
    pub(crate) fn start(mut cmd: Command, input: Option<Vec<u8>>) -> Result<Running> {
        let desc = describe(&cmd);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
        let mut child = cmd.spawn().map_err(|source| NetnsError::Spawn {
            cmd: desc.clone(),
            source,
        })?;
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            unreachable!("stdout and stderr were set to piped")
        };
        if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), input) {
            // A writer thread: a batch bigger than the pipe buffer must not block the reader.
            // A command that exits early closes the pipe; its status tells why.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        Ok(Running {
            desc,
            child,
            stdout: Collector::start(out),
            stderr: Collector::start(err),
        })
    }

    /// Waits for the command until `deadline`, then kills its process group.
    pub(crate) fn finish(mut self, deadline: Instant, timeout: Duration) -> Result<ExecOutput> {
        let mut pause = Duration::from_micros(200);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
                Ok(None) | Err(_) => {
                    if let Ok(pgid) = i32::try_from(self.child.id()) {
                        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                    }
                    let _ = self.child.wait();
                    return Err(NetnsError::Timeout {
                        cmd: self.desc,
                        timeout,
                    });
                }
            }
        };
        let until = Instant::now() + DRAIN;
        Ok(ExecOutput {
            status,
            stdout: self.stdout.text(until),
            stderr: self.stderr.text(until),
        })
    }

    /// Like [`Running::finish`], but a non-zero exit is an error carrying stderr.
    pub(crate) fn finish_ok(self, deadline: Instant, timeout: Duration) -> Result<ExecOutput> {
        let desc = self.desc.clone();
        let out = self.finish(deadline, timeout)?;
        if out.success() {
            Ok(out)
        } else {
            Err(NetnsError::Command {
                cmd: desc,
                status: out.status.to_string(),
                stderr: out.stderr.trim().to_owned(),
            })
        }
    }
}

/// Runs one command to completion within `timeout`.
pub(crate) fn run(cmd: Command, input: Option<Vec<u8>>, timeout: Duration) -> Result<ExecOutput> {
    let deadline = Instant::now() + timeout;
    Running::start(cmd, input)?.finish(deadline, timeout)
}

/// `ip [-n NETNS] -batch -` with one command per line: many link operations for one spawn.
pub(crate) fn ip_batch(netns: Option<&str>, lines: &[String]) -> Result<Running> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    cmd.args(["-batch", "-"]);
    let mut input = lines.join("\n");
    input.push('\n');
    Running::start(cmd, Some(input.into_bytes()))
}
