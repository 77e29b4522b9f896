//! Teardown (as root): complete, idempotent, working from the state dir alone after a crash.
//! The time a lab takes to come up and go down: `cargo bench -p halab --bench netns_up_down`.
//!
//! Input: labs brought up with the netns provider, then damaged (init killed, handle lost).
//! Output: no namespaces, processes or state dir left.

mod common;

use std::time::{Duration, Instant};

use common::init_cmd;
use common::plans::{assert_gone, assert_last_reaches_first, init_procs, many_nodes_plan};
use halab_netns::{self as netns, NetnsError, NetnsPlan};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

#[test]
fn teardown_leaves_nothing_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = many_nodes_plan(&dir, 3);
    let lab = netns::up(&plan, &init_cmd()).expect("up");
    let procs = init_procs(&lab);
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
    let plan = many_nodes_plan(&dir, 2);
    let lab = netns::up(&plan, &init_cmd()).expect("up");
    let procs = init_procs(&lab);
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
    let plan = many_nodes_plan(&dir, 2);
    let lab = netns::up(&plan, &init_cmd()).expect("up");
    let procs = init_procs(&lab);
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
    let plan = many_nodes_plan(&dir, 2);
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
    let plan = many_nodes_plan(&dir, 1);
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
    let first = many_nodes_plan(&dir1, 1);
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

/// Input: 52 nodes on one network, state dir on tmpfs. Output: the last node reaches the
/// first (the wiring is complete, not just started), and teardown leaves nothing. The time
/// it takes is in `cargo bench -p halab --bench netns_up_down`.
#[test]
fn fifty_two_nodes_are_wired_end_to_end_and_leave_nothing() {
    let dir = tempfile::tempdir_in("/dev/shm").expect("tempdir on /dev/shm");
    let plan = many_nodes_plan(&dir, 52);
    let lab = netns::up(&plan, &init_cmd()).expect("up");
    assert_last_reaches_first(&lab, 52);
    let procs = init_procs(&lab);
    lab.down().expect("down");
    assert_gone(&plan.lab, &plan.state_dir, &procs);
}
