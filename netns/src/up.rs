//! Bringing a lab's namespaces and links up.
//!
//! Order, chosen for few process spawns and for overlap: all node inits start at once (one
//! process each); while they set themselves up, one `ip -batch` creates the switch namespace
//! and one `ip -n SWITCH -batch` its bridges. Once every init says `ready`, one `ip -batch`
//! names their network namespaces, one `ip -n SWITCH -batch` creates every veth pair (the node
//! end straight into the node), then one `ip -n NODE -batch` per node, all in parallel, sets
//! addresses and links up. Sysctls are written from a thread inside each node's namespace. The
//! root namespace gets nothing but the `/run/netns` names.

use std::ffi::OsString;
use std::fs;
use std::io::{ErrorKind, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sched::{CloneFlags, unshare};

use super::down;
use super::enter::named_ns_inode;
use super::error::{NetnsError, Result, io_at};
use super::lab::{LabHandle, UpTimings};
use super::layout::{self, ETC, INIT_LOG};
use super::links::{attach, build_switch, wire};
use super::names;
use super::plan::{NetnsPlan, NodePlan};
use super::procfs::{ProcId, ns_inode};
use super::state::{LabState, NodeState};

/// How long a node's init may take to set itself up.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The program that becomes each node's init: halab itself with `__node-init`, or in tests a
/// binary that calls [`super::node_init_main`] the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitCommand {
    pub exe: PathBuf,
    pub args: Vec<OsString>,
}

impl InitCommand {
    /// `<this executable> __node-init`.
    pub fn current_exe() -> Result<InitCommand> {
        let exe = std::env::current_exe().map_err(io_at("/proc/self/exe"))?;
        Ok(InitCommand {
            exe,
            args: vec!["__node-init".into()],
        })
    }
}

/// Builds the lab's namespaces and links. On failure, whatever was built is torn down.
pub fn up(plan: &NetnsPlan, init: &InitCommand) -> Result<LabHandle> {
    let start = Instant::now();
    plan.validate()?;
    let dir = &plan.state_dir;
    if LabState::path(dir).exists() {
        return Err(NetnsError::AlreadyUp(dir.to_path_buf()));
    }
    let nodes = plan
        .nodes
        .iter()
        .map(|n| NodeState {
            name: n.name.clone(),
            netns: names::node_ns(&plan.lab, &n.name),
            netns_ino: None,
            init: None,
        })
        .collect();
    let mut state = LabState::new(&plan.lab, names::switch_ns(&plan.lab), nodes);
    // Teardown deletes the names in the state file: they must not be another lab's.
    if let Some((name, _)) = state
        .namespaces()
        .find(|(ns, _)| named_ns_inode(ns).is_some())
    {
        return Err(NetnsError::NameTaken {
            lab: plan.lab.clone(),
            name: name.to_owned(),
        });
    }
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    // Names first: a crash from here on leaves enough for teardown to find everything.
    state.save(dir)?;
    let mut children = Vec::new();
    match build(plan, init, &mut state, &mut children, start) {
        Ok(timings) => Ok(LabHandle::new(dir.clone(), state, children, Some(timings))),
        Err(e) => {
            let _ = down::down(dir);
            super::lab::reap(&mut children);
            Err(e)
        }
    }
}

fn build(
    plan: &NetnsPlan,
    init: &InitCommand,
    state: &mut LabState,
    children: &mut Vec<Child>,
    start: Instant,
) -> Result<UpTimings> {
    let mut pipes = Vec::new();
    for (node, node_state) in plan.nodes.iter().zip(&mut state.nodes) {
        let (child, pipe) = spawn_init(plan, node, init)?;
        node_state.init = u32_pid(child.id()).and_then(ProcId::of);
        children.push(child);
        pipes.push(pipe);
    }
    // Before waiting: from here a crash of halab leaves inits that teardown finds. (An init
    // whose `ready` finds the pipe closed, halab having died before, exits by itself.)
    state.save(&plan.state_dir)?;
    let spawned = start.elapsed();
    // Built while the inits set themselves up.
    build_switch(plan, &state.switch_ns)?;
    state.switch_ino = named_ns_inode(&state.switch_ns);
    wait_ready(plan, &mut pipes)?;
    let own_net = ns_inode("self", "net");
    for node in &state.nodes {
        let init = node
            .init
            .filter(ProcId::is_running)
            .ok_or_else(|| init_err(&node.name, "it exited right after setup"))?;
        // Never name or wire the root namespace: an init that failed to unshare would
        // otherwise get the host's links.
        let net = ns_inode(&init.pid.to_string(), "net");
        if net.is_none() || net == own_net {
            return Err(init_err(
                &node.name,
                "it is not in a network namespace of its own",
            ));
        }
    }
    let inits = start.elapsed();
    attach(state)?;
    state.save(&plan.state_dir)?;
    wire(plan, state)?;
    let total = start.elapsed();
    Ok(UpTimings {
        spawned,
        inits,
        links: total.saturating_sub(inits),
        total,
    })
}

fn u32_pid(pid: u32) -> Option<i32> {
    i32::try_from(pid).ok()
}

fn init_err(node: &str, reason: impl Into<String>) -> NetnsError {
    NetnsError::Init {
        node: node.to_owned(),
        reason: reason.into(),
    }
}

/// Writes the node's etc files and starts its init in a new PID namespace.
fn spawn_init(
    plan: &NetnsPlan,
    node: &NodePlan,
    init: &InitCommand,
) -> Result<(Child, ChildStdout)> {
    let root = layout::node_root(&plan.state_dir, &node.name);
    // A host-like node's hosts and hostname go into its /etc overlay's upper dir: there they
    // shadow the host's files yet stay ordinary files (a bind mount could not be replaced by
    // rename, as a provisioner writing /etc/hosts does).
    let etc = if node.host_like {
        layout::overlay_dir(&root, "/etc", "upper")
    } else {
        root.join(ETC)
    };
    fs::create_dir_all(&etc).map_err(io_at(&etc))?;
    let write =
        |name: &str, text: &str| fs::write(etc.join(name), text).map_err(io_at(etc.join(name)));
    write("hosts", &node.hosts_file)?;
    write("hostname", &format!("{}\n", node.hostname))?;
    let log_path = root.join(INIT_LOG);
    let log = fs::File::create(&log_path).map_err(io_at(&log_path))?;
    let mut cmd = Command::new(&init.exe);
    cmd.args(&init.args)
        .arg("--hostname")
        .arg(&node.hostname)
        .arg("--root-dir")
        .arg(&root)
        .args(node.host_like.then_some("--host-like"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        // Out of halab's process group: a Ctrl-C on halab must not kill the lab under it.
        .process_group(0);
    let desc = super::command::describe(&cmd);
    // The init is the first child of a thread that unshared its PID namespace for children,
    // so it is PID 1 of a new PID namespace: what `unshare --pid --fork` does, without two
    // more processes (`unshare` and its waiting parent) per node. The init unshares the other
    // namespaces itself, see init.rs. A thread per node: a thread can make only one.
    let spawned = std::thread::scope(|s| {
        s.spawn(|| {
            unshare(CloneFlags::CLONE_NEWPID)
                .map_err(|e| init_err(&node.name, format!("unshare a PID namespace: {e}")))?;
            cmd.spawn()
                .map_err(|source| NetnsError::Spawn { cmd: desc, source })
        })
        .join()
    });
    let mut child = match spawned {
        Ok(result) => result?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    let Some(pipe) = child.stdout.take() else {
        unreachable!("stdout was set to piped")
    };
    // Read without blocking: one slow init must not hide the failure of another.
    fcntl(&pipe, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .map_err(|e| init_err(&node.name, format!("set up its pipe: {e}")))?;
    Ok((child, pipe))
}

/// Waits until every init has printed `ready`; an init that exits instead fails the lab
/// with the error it logged.
fn wait_ready(plan: &NetnsPlan, pipes: &mut [ChildStdout]) -> Result<()> {
    let deadline = Instant::now() + INIT_TIMEOUT;
    let mut seen: Vec<Vec<u8>> = vec![Vec::new(); pipes.len()];
    let mut ready = vec![false; pipes.len()];
    while ready.iter().any(|r| !r) {
        for (i, pipe) in pipes.iter_mut().enumerate() {
            if ready[i] {
                continue;
            }
            let node = &plan.nodes[i].name;
            let mut buf = [0u8; 64];
            match pipe.read(&mut buf) {
                Ok(0) => {
                    let log = layout::node_root(&plan.state_dir, node).join(INIT_LOG);
                    let text = fs::read_to_string(&log).unwrap_or_default();
                    let reason = text.trim();
                    return Err(init_err(
                        node,
                        if reason.is_empty() {
                            "it exited without a word"
                        } else {
                            reason
                        },
                    ));
                }
                Ok(n) => {
                    seen[i].extend_from_slice(&buf[..n]);
                    ready[i] = seen[i].starts_with(b"ready\n");
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => return Err(init_err(node, format!("read its readiness: {e}"))),
            }
        }
        if Instant::now() >= deadline {
            let late: Vec<&str> = plan
                .nodes
                .iter()
                .zip(&ready)
                .filter(|(_, r)| !**r)
                .map(|(n, _)| n.name.as_str())
                .collect();
            return Err(init_err(
                &late.join(", "),
                format!("not ready within {INIT_TIMEOUT:?}"),
            ));
        }
        sleep(Duration::from_millis(1));
    }
    Ok(())
}
