//! `halab __node-init`: PID 1 of a lab node.
//!
//! Started by [`super::up`] as `halab __node-init --hostname H --root-dir STATE/nodes/N
//! [--host-like]`, as
//! PID 1 of a new PID namespace (spawned from a thread that unshared one). It gives the node
//! its own host name and file system view, says `ready` on stdout, then reaps every orphan of
//! the node at once (a PID namespace's init must, or killed daemons linger as zombies that
//! still answer `kill -0`), until SIGTERM: then it stops everything in the node and exits, and
//! the kernel kills whatever is left in the PID namespace.
//!
//! It unshares the mount, UTS, network and IPC namespaces itself instead of trusting its
//! caller's flags: whatever it was started with, its mounts, host name and links can never
//! land in the namespaces it came from, i.e. the host's.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid, sethostname};

use super::node_fs::{self, NodeFsError};

/// How long daemons get to exit after SIGTERM before the init kills them. Teardown needs no
/// graceful exit (the namespaces go with the node), and keepalived spends about a second on
/// its priority-0 adverts: measured, a 1 s grace made `down` take 1.03 s for any lab.
const GRACE: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, clap::Args)]
pub struct NodeInitArgs {
    /// The node's host name.
    #[arg(long)]
    pub hostname: String,
    /// The node's root dir in the lab's state dir (STATE/nodes/NODE).
    #[arg(long)]
    pub root_dir: PathBuf,
    /// Overlays over /etc, /var and /root instead of the per-entry binds: a "real host"
    /// (see docs/netns.md).
    #[arg(long)]
    pub host_like: bool,
}

#[derive(Debug, thiserror::Error)]
enum InitError {
    #[error("run as a node init: this process is PID {0}, not PID 1 of a new PID namespace")]
    NotPid1(i32),
    #[error("unshare the node's namespaces: {0}")]
    Unshare(nix::Error),
    #[error(transparent)]
    Fs(#[from] NodeFsError),
    #[error("set the host name to `{name}`: {source}")]
    Hostname { name: String, source: nix::Error },
    #[error("block signals: {0}")]
    Signals(nix::Error),
    #[error("report readiness: {0}")]
    Ready(std::io::Error),
}

pub fn node_init_main(args: NodeInitArgs) -> ExitCode {
    let signals = handled_signals();
    match setup(&args, &signals) {
        Ok(()) => serve(&signals),
        Err(e) => {
            eprintln!("halab node init `{}`: failed to {e}", args.hostname);
            ExitCode::FAILURE
        }
    }
}

fn handled_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        set.add(s);
    }
    set
}

fn setup(args: &NodeInitArgs, signals: &SigSet) -> Result<(), InitError> {
    // Blocked first, so a SIGTERM during setup waits for the loop instead of being lost:
    // the kernel drops signals with default action sent to a namespace's init, but queues
    // blocked ones for sigwait.
    signals.thread_block().map_err(InitError::Signals)?;
    let pid = getpid().as_raw();
    if pid != 1 {
        return Err(InitError::NotPid1(pid));
    }
    let flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWIPC;
    unshare(flags).map_err(InitError::Unshare)?;
    node_fs::setup(&args.root_dir, args.host_like)?;
    sethostname(&args.hostname).map_err(|source| InitError::Hostname {
        name: args.hostname.clone(),
        source,
    })?;
    let mut out = std::io::stdout().lock();
    out.write_all(b"ready\n")
        .and_then(|()| out.flush())
        .map_err(InitError::Ready)?;
    drop(out);
    // Nobody reads stdout after `ready`: halab may exit and close the pipe at any time.
    if let Ok(null) = fs::File::options().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
    }
    Ok(())
}

/// The init's life after setup: reap, until told to stop.
fn serve(signals: &SigSet) -> ExitCode {
    loop {
        match signals.wait() {
            Ok(Signal::SIGCHLD) => reap(),
            Ok(Signal::SIGTERM | Signal::SIGINT) => return shutdown(),
            // SIGHUP: no terminal, nothing to reload; ignored like a real init.
            Ok(_) => {}
            // sigwait only fails on a bad set; do not spin if it ever does.
            Err(_) => sleep(Duration::from_millis(10)),
        }
    }
}

/// Reaps every child that has exited, without blocking.
fn reap() {
    while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

/// Processes of this PID namespace other than the init.
fn others_alive() -> bool {
    fs::read_dir("/proc").is_ok_and(|dir| {
        dir.filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .any(|pid| pid != 1)
    })
}

fn shutdown() -> ExitCode {
    // kill(-1) from a namespace's init reaches every process of the namespace but the init.
    let all = Pid::from_raw(-1);
    let _ = kill(all, Signal::SIGTERM);
    let deadline = Instant::now() + GRACE;
    loop {
        reap();
        if !others_alive() || Instant::now() >= deadline {
            break;
        }
        sleep(Duration::from_millis(5));
    }
    let _ = kill(all, Signal::SIGKILL);
    reap();
    ExitCode::SUCCESS
}
