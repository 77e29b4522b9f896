//! A running node: run commands and daemons in it, signal them by pidfile, open sockets in it.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::command::{self, ExecOutput, Running};
use super::enter;
use super::error::{NetnsError, Result, io_at};
use super::layout;

/// How long a command run by [`NodeHandle::exec`] may take.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a daemon may take to fork into the background and write its pidfile.
pub const DAEMON_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHandle {
    pub(crate) name: String,
    pub(crate) netns: String,
    pub(crate) init_pid: i32,
    pub(crate) root: PathBuf,
}

impl NodeHandle {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's network namespace name (`ip -n NAME ...`, `ip netns exec NAME ...`).
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The host PID of the node's init (`nsenter --target PID --all`).
    pub fn init_pid(&self) -> i32 {
        self.init_pid
    }

    /// The node's root dir on the host (STATE/nodes/NODE).
    pub fn root_dir(&self) -> &Path {
        &self.root
    }

    /// Where a path of the node (`/run/haproxy.pid`, `/etc/haproxy/haproxy.cfg`,
    /// `/var/log/nginx/error.log`) is reachable from the host; see [`layout::host_path`].
    pub fn host_path(&self, node_path: &str) -> Option<PathBuf> {
        layout::host_path(&self.root, self.init_pid, node_path)
    }

    /// A command line that runs `argv` inside the node: every namespace of its init.
    fn nsenter(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("--target")
            .arg(self.init_pid.to_string())
            .args(["--all", "--"])
            .args(argv);
        cmd
    }

    /// Runs `argv` in the node and returns its status and output; a non-zero exit is not an
    /// error here (callers assert on it). At most [`EXEC_TIMEOUT`].
    pub fn exec(&self, argv: &[&str]) -> Result<ExecOutput> {
        self.exec_timeout(argv, EXEC_TIMEOUT)
    }

    pub fn exec_timeout(&self, argv: &[&str], timeout: Duration) -> Result<ExecOutput> {
        command::run(self.nsenter(argv), None, timeout)
    }

    /// Starts a daemon that forks into the background (`haproxy -D -p /run/haproxy.pid ...`,
    /// `nginx`, `keepalived -p ...`): it is reparented to the node's init, which reaps it when
    /// it dies. Waits for `pidfile` (a node path) and returns the node-local PID in it. The
    /// daemon's early output goes to `STATE/nodes/NODE/spawn-<program>.log`.
    pub fn spawn_daemon(&self, argv: &[&str], pidfile: &str) -> Result<i32> {
        let pid_path = self.pidfile_path(pidfile)?;
        let pid_err = |reason: String| NetnsError::Pidfile {
            node: self.name.clone(),
            path: pidfile.to_owned(),
            reason,
        };
        // A stale pidfile would be taken for the new daemon's.
        match fs::remove_file(&pid_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(pid_err(format!("remove the stale one: {e}")));
            }
            _ => {}
        }
        let program = argv
            .first()
            .map_or("daemon", |p| p.rsplit('/').next().unwrap_or(p));
        let log_path = self.root.join(format!("spawn-{program}.log"));
        let log = fs::File::create(&log_path).map_err(io_at(&log_path))?;
        let log2 = log.try_clone().map_err(io_at(&log_path))?;
        let mut cmd = self.nsenter(argv);
        // A file, not a pipe: the daemon may keep its stdio open long after the launch.
        // Its own process group, so a timeout also kills nsenter's child in the node; the
        // daemon leaves the group anyway when it calls setsid.
        cmd.stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0);
        let desc = command::describe(&cmd);
        let deadline = Instant::now() + DAEMON_TIMEOUT;
        let mut child = cmd.spawn().map_err(|source| NetnsError::Spawn {
            cmd: desc.clone(),
            source,
        })?;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(2)),
                _ => {
                    if let Ok(pgid) = i32::try_from(child.id()) {
                        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                    }
                    let _ = child.wait();
                    return Err(NetnsError::Timeout {
                        cmd: desc,
                        timeout: DAEMON_TIMEOUT,
                    });
                }
            }
        };
        if !status.success() {
            let stderr = fs::read_to_string(&log_path)
                .unwrap_or_default()
                .trim()
                .to_owned();
            return Err(NetnsError::Command {
                cmd: desc,
                status: status.to_string(),
                stderr,
            });
        }
        // Some daemons (nginx) write the pidfile after the launcher has exited.
        loop {
            if let Some(pid) = read_pid(&pid_path) {
                return Ok(pid);
            }
            if Instant::now() >= deadline {
                return Err(pid_err(format!(
                    "the daemon did not write it within {DAEMON_TIMEOUT:?}"
                )));
            }
            sleep(Duration::from_millis(2));
        }
    }

    fn pidfile_path(&self, pidfile: &str) -> Result<PathBuf> {
        self.host_path(pidfile).ok_or_else(|| NetnsError::Pidfile {
            node: self.name.clone(),
            path: pidfile.to_owned(),
            reason: "it is not an absolute path without `..`".into(),
        })
    }

    /// The node-local PID recorded in `pidfile` (a node path), read from the host side.
    pub fn read_pidfile(&self, pidfile: &str) -> Result<i32> {
        let path = self.pidfile_path(pidfile)?;
        read_pid(&path).ok_or_else(|| NetnsError::Pidfile {
            node: self.name.clone(),
            path: pidfile.to_owned(),
            reason: "it is missing or holds no PID".into(),
        })
    }

    /// Sends `signal` to the process named by `pidfile`, from inside the node (the PID is
    /// node-local). Never by process name: another node's daemon of the same name is not
    /// ours. Returns false when no such process exists.
    pub fn signal_pidfile(&self, pidfile: &str, signal: Signal) -> Result<bool> {
        let pid = self.read_pidfile(pidfile)?;
        self.signal_pid(pid, Some(signal))
    }

    /// Whether the process named by `pidfile` is alive, as `kill -0` inside the node says.
    pub fn pidfile_alive(&self, pidfile: &str) -> Result<bool> {
        let pid = self.read_pidfile(pidfile)?;
        self.signal_pid(pid, None)
    }

    /// Sends `signal` to the node-local `pid` from inside the node; `None` only checks that
    /// the process exists (`kill -0`). Returns false when no such process exists.
    pub fn signal_pid(&self, pid: i32, signal: Option<Signal>) -> Result<bool> {
        let (sig, pid) = (
            format!("-{}", signal.map_or(0, |s| s as i32)),
            pid.to_string(),
        );
        let argv = ["kill", sig.as_str(), pid.as_str()];
        let out = self.exec(&argv)?;
        if out.success() {
            Ok(true)
        } else if out.stderr.contains("No such process") {
            Ok(false)
        } else {
            let cmd = format!("{} (in node `{}`)", argv.join(" "), self.name);
            Err(NetnsError::Command {
                cmd,
                status: out.status.to_string(),
                stderr: out.stderr.trim().to_owned(),
            })
        }
    }

    /// Runs `f` on a thread inside the node's network namespace; see [`enter::in_netns`].
    pub fn in_netns<T: Send, F: FnOnce() -> T + Send>(&self, f: F) -> Result<T> {
        enter::in_netns(&self.netns, f)
    }

    /// Starts `argv` in the node without waiting (several commands at once); finish with
    /// [`Pending::wait`].
    pub fn start(&self, argv: &[&str]) -> Result<Pending> {
        Ok(Pending(Running::start(self.nsenter(argv), None)?))
    }
}

/// A command started in a node by [`NodeHandle::start`].
pub struct Pending(Running);

impl Pending {
    pub fn wait(self, timeout: Duration) -> Result<ExecOutput> {
        self.0.finish(Instant::now() + timeout, timeout)
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().next()?.trim().parse().ok().filter(|p| *p > 0)
}
