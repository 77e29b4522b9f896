//! Real labs (as root): isolation between nodes, between labs, and from the host.
//!
//! Input: small plans (one network, two or three nodes) brought up with the netns provider.
//! Output: what commands inside the nodes and the root namespace see.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{init_cmd, unique_lab};
use halab_netns::{self as netns, IfPlan, LabGuard, NetPlan, NetnsPlan, NodePlan};
use nix::sys::signal::Signal;
use tempfile::TempDir;

/// The lab is declared first, so it is torn down before its state dir's parent is removed.
struct Fixture {
    lab: LabGuard,
    _dir: TempDir,
}

fn plan(dir: &TempDir, subnet: &str, nodes: &[&str]) -> NetnsPlan {
    let addr = |i: usize| format!("{subnet}.{}", i + 2);
    let hosts: String = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{} {n}\n", addr(i)))
        .collect();
    NetnsPlan {
        lab: unique_lab("l"),
        state_dir: dir.path().join("lab"),
        networks: vec![NetPlan {
            name: "lan".into(),
            cidr: format!("{subnet}.0/24").parse().expect("cidr"),
        }],
        nodes: nodes
            .iter()
            .enumerate()
            .map(|(i, n)| NodePlan {
                name: (*n).into(),
                hostname: format!("{n}-host"),
                interfaces: vec![IfPlan {
                    network: "lan".into(),
                    ifname: "eth0".into(),
                    addr: addr(i).parse().expect("addr"),
                    prefix: 24,
                }],
                sysctls: vec![("net.ipv4.ip_nonlocal_bind".into(), "1".into())],
                hosts_file: format!("127.0.0.1 localhost\n# node {n}\n{hosts}"),
                host_like: false,
            })
            .collect(),
    }
}

fn lab(subnet: &str, nodes: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = netns::up(&plan(&dir, subnet, nodes), &init_cmd())
        .expect("lab up")
        .into_guard();
    Fixture { lab, _dir: dir }
}

fn sh(node: &netns::NodeHandle, script: &str) -> netns::ExecOutput {
    node.exec(&["sh", "-c", script]).expect("exec in node")
}

fn host(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("host command");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TCP listener inside `node` that answers each connection with `reply`, on its own thread.
fn serve(node: &netns::NodeHandle, addr: &str, reply: &'static str) -> std::thread::JoinHandle<()> {
    let addr = addr.to_owned();
    let listener = node
        .in_netns(move || TcpListener::bind(addr))
        .expect("enter node")
        .expect("bind in node");
    std::thread::spawn(move || {
        // Bounded: the test makes at most a few connections.
        for stream in listener.incoming().take(2) {
            let Ok(mut s) = stream else { return };
            let _ = s.write_all(reply.as_bytes());
        }
    })
}

fn fetch(node: &netns::NodeHandle, addr: &str) -> std::io::Result<String> {
    let addr = addr.to_owned();
    node.in_netns(move || {
        let mut s = TcpStream::connect_timeout(
            &addr.parse().expect("socket addr"),
            Duration::from_secs(2),
        )?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        Ok(text)
    })
    .expect("enter node")
}

#[test]
fn nodes_reach_each_other_and_nothing_else() {
    let f = lab("10.77.1", &["a", "b"]);
    let (a, b) = (f.lab.node("a").expect("a"), f.lab.node("b").expect("b"));
    let server = serve(&b, "10.77.1.3:7000", "hello from b");
    // From halab's own sockets inside a...
    assert_eq!(
        fetch(&a, "10.77.1.3:7000").expect("connect a -> b"),
        "hello from b"
    );
    // ...and from a shell inside a.
    let out = a
        .exec(&["bash", "-c", "exec 3<>/dev/tcp/10.77.1.3/7000 && cat <&3"])
        .expect("exec");
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout, "hello from b");
    server.join().expect("server");
    // No default route: anything outside the lab is unreachable from a node.
    let out = a.exec(&["ip", "route", "get", "192.0.2.1"]).expect("exec");
    assert!(
        !out.success(),
        "a node must have no route out of the lab: {out:?}"
    );
    let routes = a.exec(&["ip", "-o", "route"]).expect("exec").stdout;
    assert_eq!(routes.lines().count(), 1, "only the lab subnet: {routes}");
}

#[test]
fn pid_namespace_hides_other_nodes_processes() {
    let f = lab("10.77.2", &["a", "b"]);
    let (a, b) = (f.lab.node("a").expect("a"), f.lab.node("b").expect("b"));
    let out = sh(&b, "sleep 30 >/dev/null 2>&1 & echo $! > /run/sleep.pid");
    assert!(out.success(), "{out:?}");
    let in_b = b.exec(&["pidof", "sleep"]).expect("exec");
    assert!(in_b.success(), "b sees its own sleep: {in_b:?}");
    let in_a = a.exec(&["pidof", "sleep"]).expect("exec");
    assert!(!in_a.success(), "a must not see b's sleep: {in_a:?}");
    // The node's init is PID 1 and the node sees only its own few processes.
    let ps = b.exec(&["ps", "-eo", "pid=,comm="]).expect("exec").stdout;
    let pids: Vec<&str> = ps
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert!(pids.contains(&"1"), "{ps}");
    assert!(
        pids.len() <= 4,
        "only init, sleep and ps (and nsenter's child): {ps}"
    );
    assert!(b.pidfile_alive("/run/sleep.pid").expect("kill -0"));
    assert!(
        b.signal_pidfile("/run/sleep.pid", Signal::SIGTERM)
            .expect("kill")
    );
}

#[test]
fn killed_daemon_is_reaped_at_once() {
    let f = lab("10.77.3", &["a"]);
    let a = f.lab.node("a").expect("a");
    // A real daemon: forks, parent exits, the child is reparented to the node's init.
    let pid = a
        .spawn_daemon(
            &[
                "sh",
                "-c",
                "sleep 30 </dev/null >/dev/null 2>&1 & echo $! > /run/d.pid",
            ],
            "/run/d.pid",
        )
        .expect("spawn daemon");
    assert!(pid > 1, "node-local pid {pid}");
    assert!(a.pidfile_alive("/run/d.pid").expect("kill -0"));
    let start = Instant::now();
    assert!(
        a.signal_pidfile("/run/d.pid", Signal::SIGKILL)
            .expect("kill -9")
    );
    let mut gone_after = None;
    while start.elapsed() < Duration::from_secs(2) {
        if !a.pidfile_alive("/run/d.pid").expect("kill -0") {
            gone_after = Some(start.elapsed());
            break;
        }
    }
    let gone_after =
        gone_after.expect("the killed daemon still answers kill -0 after 2 s (a zombie?)");
    eprintln!("killed daemon gone (kill -0 fails) after {gone_after:?}");
    assert!(
        gone_after < Duration::from_millis(300),
        "took {gone_after:?}"
    );
    // Not even as a zombie in the node's process table.
    let ps = a.exec(&["ps", "-eo", "stat=,comm="]).expect("exec").stdout;
    assert!(!ps.lines().any(|l| l.starts_with('Z')), "zombie left: {ps}");
}

#[test]
fn exec_is_bounded() {
    let f = lab("10.77.7", &["a"]);
    let a = f.lab.node("a").expect("a");
    // A background child keeping stdout open must not hold exec up.
    let start = Instant::now();
    let out = sh(&a, "sleep 20 & echo started");
    assert_eq!(out.stdout, "started\n");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    // A command that runs too long is killed.
    let err = a
        .exec_timeout(&["sleep", "20"], Duration::from_millis(300))
        .expect_err("timeout");
    assert!(matches!(err, netns::NetnsError::Timeout { .. }), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    // SIGKILL is asynchronous: on a loaded machine the killed sleep may take a moment to go.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let ps = sh(&a, "ps -eo args=").stdout;
        if ps.lines().filter(|l| *l == "sleep 20").count() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the timed-out sleep must go, the background one stay: {ps}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn hostname_hosts_and_private_dirs_are_the_nodes_own() {
    let host_hosts = std::fs::read_to_string("/etc/hosts").expect("host /etc/hosts");
    let host_name = host(&["hostname"]);
    let host_mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let f = lab("10.77.4", &["a", "b"]);
    let (a, b) = (f.lab.node("a").expect("a"), f.lab.node("b").expect("b"));
    assert_eq!(sh(&a, "hostname").stdout.trim(), "a-host");
    assert_eq!(sh(&b, "hostname").stdout.trim(), "b-host");
    assert_eq!(sh(&a, "cat /etc/hostname").stdout.trim(), "a-host");
    let hosts_a = sh(&a, "cat /etc/hosts").stdout;
    assert!(
        hosts_a.contains("# node a") && hosts_a.contains("10.77.4.3 b"),
        "{hosts_a}"
    );
    assert!(sh(&b, "cat /etc/hosts").stdout.contains("# node b"));
    // /run, /tmp, /var/log are per node; files written inside show up under the state dir.
    assert!(
        sh(
            &a,
            "echo a > /run/mine && echo a > /tmp/mine && echo a > /var/log/mine"
        )
        .success()
    );
    assert!(
        !sh(
            &b,
            "test -e /run/mine || test -e /tmp/mine || test -e /var/log/mine"
        )
        .success()
    );
    assert_eq!(
        std::fs::read_to_string(a.host_path("/var/log/mine").expect("mapped")).expect("read"),
        "a\n"
    );
    // /sys is the node's: it lists the node's links, not the host's.
    assert!(
        sh(
            &a,
            "test -e /sys/class/net/eth0 && test -e /sys/class/net/lo"
        )
        .success()
    );
    let host_links = std::fs::read_dir("/sys/class/net").expect("sysfs").count();
    assert_eq!(
        sh(&a, "ls /sys/class/net | wc -l").stdout.trim(),
        "2",
        "host has {host_links}"
    );
    // The node holds no copy of the host's netns names (they would keep deleted labs alive).
    let mounts = sh(&a, "cat /proc/self/mountinfo").stdout;
    assert!(!mounts.contains("/run/netns"), "{mounts}");
    // The host is untouched.
    assert_eq!(
        std::fs::read_to_string("/etc/hosts").expect("host /etc/hosts"),
        host_hosts
    );
    assert_eq!(host(&["hostname"]), host_name);
    let state_dir = f.lab.state_dir().display().to_string();
    let now = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let new: Vec<&str> = now
        .lines()
        .filter(|l| !host_mounts.lines().any(|o| o == *l))
        .collect();
    // Only iproute2's netns names may appear in the host's mount table.
    for line in &new {
        assert!(
            line.contains(" /run/netns/") || line.contains(" /run/netns "),
            "new host mount: {line}"
        );
        assert!(
            !line.contains(&state_dir),
            "a node mount leaked to the host: {line}"
        );
    }
}

#[test]
fn root_namespace_gets_no_link_route_or_address() {
    let before = (
        host(&["ip", "-o", "link"]),
        host(&["ip", "route"]),
        host(&["ip", "-6", "route"]),
        host(&["ip", "-o", "addr"]),
    );
    let f = lab("10.77.5", &["a", "b", "c"]);
    let after = (
        host(&["ip", "-o", "link"]),
        host(&["ip", "route"]),
        host(&["ip", "-6", "route"]),
        host(&["ip", "-o", "addr"]),
    );
    assert_eq!(before, after, "the root namespace changed");
    // The lab's links are in the switch namespace instead.
    let sw = host(&["ip", "-n", f.lab.switch_ns(), "-o", "link"]);
    assert_eq!(sw.matches("master b0").count(), 3, "{sw}");
    let sysctl_a = sh(
        &f.lab.node("a").expect("a"),
        "cat /proc/sys/net/ipv4/ip_nonlocal_bind",
    )
    .stdout;
    assert_eq!(sysctl_a.trim(), "1");
    // The host's value is its own (not necessarily 0 on every machine, but not ours to set).
    let host_value =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_nonlocal_bind").expect("sysctl");
    let sw_value = host(&[
        "ip",
        "netns",
        "exec",
        f.lab.switch_ns(),
        "cat",
        "/proc/sys/net/ipv4/ip_nonlocal_bind",
    ]);
    assert_eq!(
        sw_value.trim(),
        "0",
        "the switch keeps the default; host has {}",
        host_value.trim()
    );
}

#[test]
fn two_labs_with_the_same_addresses_do_not_interfere() {
    let one = lab("10.77.6", &["a", "b"]);
    let two = lab("10.77.6", &["a", "b"]);
    let s1 = serve(&one.lab.node("b").expect("b"), "10.77.6.3:7000", "lab one");
    let s2 = serve(&two.lab.node("b").expect("b"), "10.77.6.3:7000", "lab two");
    assert_eq!(
        fetch(&one.lab.node("a").expect("a"), "10.77.6.3:7000").expect("one"),
        "lab one"
    );
    assert_eq!(
        fetch(&two.lab.node("a").expect("a"), "10.77.6.3:7000").expect("two"),
        "lab two"
    );
    assert_eq!(
        fetch(&one.lab.node("a").expect("a"), "10.77.6.3:7000").expect("one"),
        "lab one"
    );
    assert_eq!(
        fetch(&two.lab.node("a").expect("a"), "10.77.6.3:7000").expect("two"),
        "lab two"
    );
    s1.join().expect("s1");
    s2.join().expect("s2");
    assert_ne!(one.lab.switch_ns(), two.lab.switch_ns());
}
