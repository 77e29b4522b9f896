//! Teardown (as root): complete, idempotent, working from the state dir alone after a crash,
//! and the time a lab takes to come up and go down.
//!
//! Input: labs brought up with the netns provider, then damaged (init killed, handle lost).
//! Output: no namespaces, processes or state dir left.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use halab_netns::{
    self as netns, IfPlan, InitCommand, NetPlan, NetnsError, NetnsPlan, NodePlan, ProcId,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_lab() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let r = RandomState::new().hash_one(n) & 0xffff;
    format!("d{}-{n}-{r:04x}", std::process::id())
}

fn init_cmd() -> InitCommand {
    InitCommand {
        exe: env!("CARGO_BIN_EXE_halab").into(),
        args: vec!["__node-init".into()],
    }
}

/// `count` nodes spread over networks of up to 200 nodes each.
fn plan(dir: &TempDir, count: usize) -> NetnsPlan {
    let networks: Vec<NetPlan> = (0..count.div_ceil(200))
        .map(|k| NetPlan {
            name: format!("net{k}"),
            cidr: format!("10.78.{k}.0/24").parse().expect("cidr"),
        })
        .collect();
    NetnsPlan {
        lab: unique_lab(),
        state_dir: dir.path().join("lab"),
        networks,
        nodes: (0..count)
            .map(|i| NodePlan {
                name: format!("n{i}"),
                hostname: format!("n{i}"),
                interfaces: vec![IfPlan {
                    network: format!("net{}", i / 200),
                    ifname: "eth0".into(),
                    addr: format!("10.78.{}.{}", i / 200, i % 200 + 2)
                        .parse()
                        .expect("addr"),
                    prefix: 24,
                }],
                sysctls: vec![("net.ipv4.ip_nonlocal_bind".into(), "1".into())],
                hosts_file: String::new(),
                host_like: false,
            })
            .collect(),
    }
}

fn inits(lab: &netns::LabHandle) -> Vec<ProcId> {
    lab.nodes()
        .iter()
        .map(|n| ProcId::of(n.init_pid()).expect("init is running"))
        .collect()
}

fn assert_gone(lab_name: &str, state_dir: &Path, inits: &[ProcId]) {
    let prefix = netns::names::switch_ns(lab_name);
    assert_eq!(
        netns::leftovers(&prefix),
        Vec::<String>::new(),
        "namespaces left"
    );
    assert!(
        !state_dir.exists(),
        "state dir left: {}",
        state_dir.display()
    );
    for p in inits {
        assert!(!p.is_running(), "init {} still runs", p.pid);
    }
}

#[test]
fn teardown_leaves_nothing_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(&dir, 3);
    let lab = netns::up(&plan, &init_cmd()).expect("up");
    let procs = inits(&lab);
    // A daemon in a node must go with it.
    let n0 = lab.node("n0").expect("n0");
    n0.spawn_daemon(
        &[
            "sh",
            "-c",
            "sleep 60 </dev/null >/dev/null 2>&1 & echo $! > /run/s.pid",
        ],
        "/run/s.pid",
    )
    .expect("daemon");
    let sleeper = n0.exec(&["sh", "-c", "echo $PPID"]).expect("exec");
    assert!(sleeper.success());
    let report = lab.down().expect("down");
    eprintln!("teardown of 3 nodes: {report:?}");
    assert_eq!(report.stopped, 3);
    assert_eq!(report.killed, 0);
    assert_eq!(report.namespaces.len(), 4, "3 nodes + the switch");
    assert_gone(&plan.lab, &plan.state_dir, &procs);
    // Again: nothing to do, no error.
    assert_eq!(
        netns::down(&plan.state_dir).expect("second down"),
        netns::DownReport::default()
    );
}

#[test]
fn teardown_after_sigkill_of_a_node_init() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(&dir, 2);
    let lab = netns::up(&plan, &init_cmd()).expect("up");
    let procs = inits(&lab);
    kill(Pid::from_raw(procs[0].pid), Signal::SIGKILL).expect("kill init");
    // SIGKILL is asynchronous: wait until the kernel has emptied the node's PID namespace.
    let deadline = Instant::now() + Duration::from_secs(2);
    while procs[0].is_running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let report = lab.down().expect("down");
    assert_eq!(report.stopped, 1, "{report:?}");
    assert_gone(&plan.lab, &plan.state_dir, &procs);
}

#[test]
fn teardown_from_the_state_dir_after_halab_crashed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(&dir, 2);
    let lab = netns::up(&plan, &init_cmd()).expect("up");
    let procs = inits(&lab);
    // halab "crashes": the handle is gone, only the state dir remains.
    drop(lab);
    let reopened = netns::LabHandle::open(&plan.state_dir).expect("open");
    assert!(
        reopened
            .node("n1")
            .expect("n1")
            .exec(&["true"])
            .expect("exec")
            .success()
    );
    netns::down(&plan.state_dir).expect("down");
    assert_gone(&plan.lab, &plan.state_dir, &procs);
}

#[test]
fn a_failing_init_fails_up_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(&dir, 2);
    // A rendered /etc entry that the host lacks cannot be mounted: the init must refuse.
    std::fs::create_dir_all(plan.state_dir.join("nodes/n1/etc/halab-no-such-dir")).expect("mkdir");
    let err = netns::up(&plan, &init_cmd()).expect_err("up must fail");
    let text = err.to_string();
    assert!(matches!(err, NetnsError::Init { .. }), "{text}");
    assert!(
        text.contains("/etc/halab-no-such-dir does not exist on this host"),
        "{text}"
    );
    assert_gone(&plan.lab, &plan.state_dir, &[]);
}

#[test]
fn a_lab_cannot_be_brought_up_twice_in_one_state_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(&dir, 1);
    let lab = netns::up(&plan, &init_cmd()).expect("up").into_guard();
    let err = netns::up(&plan, &init_cmd()).expect_err("second up");
    assert!(matches!(err, NetnsError::AlreadyUp(_)), "{err}");
    assert_eq!(lab.nodes().len(), 1);
}

#[test]
fn a_lab_name_in_use_is_refused_and_left_alone() {
    let (dir1, dir2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let first = plan(&dir1, 1);
    let lab = netns::up(&first, &init_cmd()).expect("up").into_guard();
    // The same lab name from another state dir: its teardown would delete the first's names.
    let second = NetnsPlan {
        state_dir: dir2.path().join("lab"),
        ..first.clone()
    };
    let err = netns::up(&second, &init_cmd()).expect_err("second up");
    assert!(matches!(err, NetnsError::NameTaken { .. }), "{err}");
    assert!(!second.state_dir.exists());
    assert!(
        lab.node("n0")
            .expect("n0")
            .exec(&["true"])
            .expect("exec")
            .success(),
        "the first lab still runs"
    );
    assert_eq!(
        netns::leftovers(&netns::names::switch_ns(&first.lab)).len(),
        2
    );
}

/// Brings up `count` nodes with the state dir on tmpfs (/dev/shm) or on the disk (/tmp),
/// checks the last node reaches the first, tears down, prints the times.
fn timed(count: usize, on_tmpfs: bool) {
    let dir = if on_tmpfs {
        tempfile::tempdir_in("/dev/shm").expect("tempdir on /dev/shm")
    } else {
        tempfile::tempdir().expect("tempdir")
    };
    let plan = plan(&dir, count);
    let start = Instant::now();
    let lab = netns::up(&plan, &init_cmd()).expect("up");
    let up = start.elapsed();
    let t = lab.timings().expect("timings");
    // The wiring is complete, not just started: the last node reaches the first.
    let first = lab.node("n0").expect("first node");
    let last = lab.node(&format!("n{}", count - 1)).expect("last node");
    let listener = first
        .in_netns(|| TcpListener::bind("10.78.0.2:7000"))
        .expect("enter first")
        .expect("listen");
    last.in_netns(|| {
        TcpStream::connect_timeout(
            &"10.78.0.2:7000".parse().expect("addr"),
            Duration::from_secs(2),
        )
    })
    .expect("enter last")
    .expect("last node reaches the first");
    drop(listener);
    let procs = inits(&lab);
    let report = lab.down().expect("down");
    let place = if on_tmpfs { "tmpfs" } else { "disk" };
    eprintln!(
        "{count} nodes, state dir on {place}: up {up:?} (inits started {:?}, ready {:?}, links {:?}); teardown {:?}",
        t.spawned, t.inits, t.links, report.elapsed
    );
    assert_gone(&plan.lab, &plan.state_dir, &procs);
}

#[test]
fn timing_5_nodes() {
    timed(5, true);
}

#[test]
fn timing_52_nodes() {
    timed(52, true);
}

#[test]
fn timing_52_nodes_state_dir_on_disk() {
    timed(52, false);
}
