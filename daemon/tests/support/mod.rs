//! Network namespaces for halabd's real tests and its benchmark.
//!
//! A [`Lab`] is a halab-netns lab (the machinery `halab up` uses): a switch namespace with a
//! bridge per network and one node per name, each with `eth0` and `10.99.0.<n>/24`. Nothing
//! is created in the root namespace, lab names are unique per process and lab
//! (`d<pid>x<n>`), there are no routes out. Daemons run with the node's network but the
//! host's files (`nsenter --net`), as children of the test in their own process group, so
//! the test can signal and wait for them. `Drop` kills them, then tears the lab down.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod ipv6;
pub mod starved;

use std::fmt::Write as _;
use std::net::IpAddr;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use halab_netns::{
    self as netns, DropRule, IfPlan, InitCommand, LabGuard, NetPlan, NetnsPlan, NodeHandle,
    NodePlan,
};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

static LABS: AtomicUsize = AtomicUsize::new(0);

/// The virtual address every test uses.
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 100);

/// Runs a command; panics with its output if it fails (lab setup is not the thing tested).
pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Which daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Halabd,
    Keepalived,
}

/// A daemon this lab started, in its own process group.
pub struct Daemon {
    pub kind: Kind,
    pub node: String,
    child: Child,
    pub log: PathBuf,
    pub conf: PathBuf,
}

impl Daemon {
    /// The process id (also its process group id).
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(0)
    }

    /// Sends `signal` to the daemon's process group (keepalived's children included).
    pub fn signal(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.pid()), signal);
    }

    /// Waits up to `timeout` for the daemon to exit; its exit code if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<Option<i32>> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Every process in the daemon's group, for RSS and CPU.
    pub fn group_pids(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return out;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                && let Some(fields) = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect::<Vec<_>>())
                // Fields after the command: state, ppid, pgrp, ...
                && fields.get(2).and_then(|p| p.parse::<i32>().ok()) == Some(self.pid())
                && fields.first() != Some(&"Z")
            {
                out.push(pid);
            }
        }
        out
    }

    /// (resident set in KiB, user+system CPU in ms) summed over the daemon's processes.
    pub fn rss_and_cpu(&self) -> (u64, u64) {
        let ticks_per_sec = 100; // sysconf(_SC_CLK_TCK) on Linux
        let mut rss = 0;
        let mut cpu_ticks = 0;
        for pid in self.group_pids() {
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                rss += status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                && let Some((_, rest)) = stat.rsplit_once(')')
            {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command.
                let t = |i: usize| {
                    fields
                        .get(i)
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                cpu_ticks += t(11) + t(12);
            }
        }
        (rss, cpu_ticks * 1000 / ticks_per_sec)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(Signal::SIGCONT);
            self.signal(Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// A halab-netns lab (the machinery `halab up` uses) and the daemons started in it.
/// Fields drop in order: the daemons, then the lab's namespaces, then the temp dir.
pub struct Lab {
    pub daemons: Vec<Daemon>,
    net: LabGuard,
    /// The nodes in plan order: node i has 10.99.0.(i+1)/24 on eth0.
    nodes: Vec<String>,
    /// Confs, logs and pidfiles of the daemons (host paths: daemons see the host's files).
    pub dir: tempfile::TempDir,
    _state: tempfile::TempDir,
    /// `HALABD_LOG` for the daemons started from now on.
    pub halabd_log: &'static str,
}

impl Lab {
    /// One network (`eth0`, 10.99.0.0/24) and one node per name; node i gets
    /// 10.99.0.(i+1)/24.
    pub fn new(nodes: &[&str]) -> Self {
        Self::with_networks(nodes, &[])
    }

    /// As [`Lab::new`], plus per `(dev, net)` a network that gives node i `dev` with
    /// 10.`net`.0.(i+1)/24.
    pub fn with_networks(nodes: &[&str], extra: &[(&str, u8)]) -> Self {
        let n = LABS.fetch_add(1, Ordering::SeqCst);
        // /run is tmpfs: the state dir tears down in ms.
        let state = tempfile::Builder::new()
            .prefix("halabd-test-")
            .tempdir_in("/run")
            .expect("state dir");
        let nets: Vec<(String, u8)> = std::iter::once(("eth0".to_owned(), 99))
            .chain(extra.iter().map(|(d, n)| ((*d).to_owned(), *n)))
            .collect();
        let plan = NetnsPlan {
            lab: format!("d{}x{n}", std::process::id() % 100_000),
            state_dir: state.path().join("lab"),
            networks: nets
                .iter()
                .map(|(dev, net)| NetPlan {
                    name: dev.clone(),
                    cidr: format!("10.{net}.0.0/24").parse().expect("cidr"),
                })
                .collect(),
            nodes: nodes
                .iter()
                .enumerate()
                .map(|(i, node)| NodePlan {
                    name: (*node).to_owned(),
                    hostname: (*node).to_owned(),
                    interfaces: nets
                        .iter()
                        .map(|(dev, net)| IfPlan {
                            network: dev.clone(),
                            ifname: dev.clone(),
                            addr: IpAddr::V4(Ipv4Addr::new(10, *net, 0, host_octet(i))),
                            prefix: 24,
                        })
                        .collect(),
                    sysctls: Vec::new(),
                    hosts_file: format!("127.0.0.1 localhost\n127.0.1.1 {node}\n"),
                    host_like: false,
                })
                .collect(),
        };
        let init = InitCommand {
            exe: PathBuf::from(env!("CARGO_BIN_EXE_halabd-node-init")),
            args: Vec::new(),
        };
        let net = netns::up(&plan, &init)
            .unwrap_or_else(|e| panic!("lab up: {e}"))
            .into_guard();
        Self {
            daemons: Vec::new(),
            net,
            nodes: nodes.iter().map(|n| (*n).to_owned()).collect(),
            dir: tempfile::tempdir().expect("tempdir"),
            _state: state,
            halabd_log: "debug",
        }
    }

    fn index(&self, node: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n == node)
            .unwrap_or_else(|| panic!("no node {node}"))
    }

    pub fn node(&self, node: &str) -> NodeHandle {
        self.net
            .node(node)
            .unwrap_or_else(|e| panic!("node {node}: {e}"))
    }

    /// The switch namespace and the bridge of network `index` (0: eth0, then the extra
    /// networks in order), for captures.
    pub fn bridge(&self, index: usize) -> (String, String) {
        (self.net.switch_ns().to_owned(), netns::names::bridge(index))
    }

    /// The node's network namespace name (`ip -n NS`, `ip netns exec NS`).
    pub fn ns(&self, node: &str) -> String {
        self.node(node).netns().to_owned()
    }

    pub fn addr(&self, node: &str) -> Ipv4Addr {
        Ipv4Addr::new(10, 99, 0, host_octet(self.index(node)))
    }

    /// Sets the switch side of `node`'s eth0 up or down (its carrier goes, as with a pulled
    /// cable).
    pub fn set_port(&self, node: &str, up: bool) {
        let port = netns::names::switch_port(self.index(node), 0);
        self.net
            .set_switch_port(&port, up)
            .unwrap_or_else(|e| panic!("port of {node}: {e}"));
    }

    /// Runs a command with `node`'s network (and the host's files).
    pub fn exec(&self, node: &str, args: &[&str]) -> std::process::Output {
        let (program, rest) = args.split_first().expect("a program");
        self.node(node)
            .netns_command(program)
            .args(rest)
            .stdin(Stdio::null())
            .output()
            .expect("nsenter")
    }

    /// Is `ip` on `node`'s eth0?
    pub fn has_addr(&self, node: &str, ip: Ipv4Addr) -> bool {
        let out = Command::new("ip")
            .args([
                "-n",
                &self.ns(node),
                "-4",
                "-o",
                "addr",
                "show",
                "dev",
                "eth0",
            ])
            .output();
        out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(" {ip}/")))
    }

    /// Drops VRRP arriving at `node` on `dev` (nftables in the node's namespace only).
    pub fn cut_vrrp(&self, node: &str, dev: &str) {
        let rule = DropRule {
            iifname: Some(dev),
            ip_protocol: Some(112),
            loss_percent: None,
        };
        self.node(node)
            .drop_input(&format!("cut_{dev}"), &rule)
            .unwrap_or_else(|e| panic!("cut VRRP on {node} {dev}: {e}"));
    }

    /// Undoes [`Lab::cut_vrrp`].
    pub fn heal_vrrp(&self, node: &str, dev: &str) {
        self.node(node)
            .remove_table(&format!("cut_{dev}"))
            .unwrap_or_else(|e| panic!("heal VRRP on {node} {dev}: {e}"));
    }

    /// Is `ip` on `node`'s `dev`?
    pub fn has_addr_on(&self, node: &str, dev: &str, ip: Ipv4Addr) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.ns(node), "-4", "-o", "addr", "show", "dev", dev])
            .output();
        out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(" {ip}/")))
    }

    /// The nodes holding the VIP now.
    pub fn holders(&self, ip: Ipv4Addr) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| self.has_addr(n, ip))
            .cloned()
            .collect()
    }

    /// Polls `check` every 10 ms until it holds or `timeout` passes; the time it took.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut check: impl FnMut() -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if check() {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Waits until exactly `node` holds the VIP, and still does `stable` later.
    pub fn wait_single_holder(&self, node: &str, timeout: Duration, stable: Duration) -> bool {
        let want = vec![node.to_owned()];
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self
                .wait_until(end.saturating_duration_since(Instant::now()), || {
                    self.holders(VIP) == want
                })
                .is_none()
            {
                return false;
            }
            let held = Instant::now();
            while held.elapsed() < stable && self.holders(VIP) == want {
                std::thread::sleep(Duration::from_millis(20));
            }
            if held.elapsed() >= stable {
                return true;
            }
        }
        false
    }

    fn write_conf(&self, node: &str, n: usize, text: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{node}-{n}.conf"));
        std::fs::write(&path, text).expect("write conf");
        path
    }

    /// Starts halabd on `node` with `conf` (API on the namespace's own 127.0.0.1:9406).
    pub fn start_halabd(&mut self, node: &str, conf: &str) -> usize {
        let n = self.daemons.len();
        let conf_path = self.write_conf(node, n, conf);
        let log = self.dir.path().join(format!("{node}-{n}-halabd.log"));
        let pid_file = self.dir.path().join(format!("{node}-{n}-halabd.pid"));
        let bin = halabd_bin();
        let args = [
            bin.to_str().expect("utf-8 path"),
            "-f",
            conf_path.to_str().expect("utf-8 path"),
            "--pid-file",
            pid_file.to_str().expect("utf-8 path"),
            "--api",
            "127.0.0.1:9406",
        ];
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.spawn(Kind::Halabd, node, &args, log, conf_path.clone())
    }

    /// Starts keepalived 2.2.7 (VRRP only, foreground) on `node` with `conf`.
    pub fn start_keepalived(&mut self, node: &str, conf: &str) -> usize {
        let n = self.daemons.len();
        let conf_path = self.write_conf(node, n, conf);
        let log = self.dir.path().join(format!("{node}-{n}-keepalived.log"));
        let d = self.dir.path();
        let pid = d.join(format!("{node}-{n}-keepalived.pid"));
        let vrrp_pid = d.join(format!("{node}-{n}-vrrp.pid"));
        let checkers_pid = d.join(format!("{node}-{n}-checkers.pid"));
        let bfd_pid = d.join(format!("{node}-{n}-bfd.pid"));
        let p = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
        let args = [
            "/usr/sbin/keepalived".to_owned(),
            "-n".into(),
            "-l".into(),
            "-D".into(),
            "-P".into(),
            "-f".into(),
            p(&conf_path),
            "-p".into(),
            p(&pid),
            "-r".into(),
            p(&vrrp_pid),
            "-c".into(),
            p(&checkers_pid),
            "-b".into(),
            p(&bfd_pid),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.spawn(Kind::Keepalived, node, &args, log, conf_path)
    }

    fn spawn(
        &mut self,
        kind: Kind,
        node: &str,
        args: &[&str],
        log: PathBuf,
        conf: PathBuf,
    ) -> usize {
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let (program, rest) = args.split_first().expect("a program");
        let mut command = self.node(node).netns_command(program);
        command
            .args(rest)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .env("HALABD_LOG", self.halabd_log)
            // Dump files (SIGUSR1/SIGUSR2) land in the lab's dir, not the shared /tmp.
            .env("TMPDIR", self.dir.path())
            // Its own process group: signals reach keepalived's children too, and nothing else.
            .process_group(0);
        let child = command.spawn().expect("spawn daemon");
        self.daemons.push(Daemon {
            kind,
            node: node.to_owned(),
            child,
            log,
            conf,
        });
        self.daemons.len() - 1
    }

    /// Every daemon's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for d in &self.daemons {
            let text = d.log_text();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            let _ = writeln!(
                out,
                "--- {:?} on {} ({}) ---",
                d.kind,
                d.node,
                d.log.display()
            );
            for line in tail.iter().rev() {
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }

    /// GET `path` from the halabd API inside `node`.
    pub fn api(&self, node: &str, path: &str) -> String {
        let url = format!("http://127.0.0.1:9406{path}");
        let out = self.exec(node, &["curl", "-s", "-m", "5", &url]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// GET /status as JSON.
    pub fn status(&self, node: &str) -> serde_json::Value {
        serde_json::from_str(&self.api(node, "/status")).unwrap_or(serde_json::Value::Null)
    }
}

/// `ip monitor address` in a node's namespace, logging to a file until dropped (SIGKILL by
/// its PID). Declare it after the [`Lab`] so it stops before the lab goes.
pub struct AddrMonitor {
    child: Child,
    file: PathBuf,
}

impl AddrMonitor {
    /// Starts watching `node`'s addresses; give it a moment before what it must see.
    pub fn start(lab: &Lab, node: &str) -> Self {
        let file = lab.dir.path().join(format!(
            "{node}-monitor-{}.txt",
            LABS.fetch_add(1, Ordering::SeqCst)
        ));
        let out = std::fs::File::create(&file).expect("monitor file");
        let child = Command::new("ip")
            .args(["-n", &lab.ns(node), "-4", "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .expect("start ip monitor");
        std::thread::sleep(Duration::from_millis(300));
        Self { child, file }
    }

    /// Times `ip` was added so far.
    pub fn added(&self, ip: Ipv4Addr) -> usize {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with("Deleted") && l.contains(&format!(" inet {ip}/")))
            .count()
    }

    /// Everything logged so far, for failure messages.
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.file).unwrap_or_default()
    }
}

impl Drop for AddrMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last octet of node i's addresses.
fn host_octet(i: usize) -> u8 {
    u8::try_from(i + 1).expect("fewer than 255 nodes")
}

/// The halabd under test: this build's, or `HALABD_BIN` (the benchmark compares builds).
pub fn halabd_bin() -> PathBuf {
    std::env::var_os("HALABD_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_halabd")),
        PathBuf::from,
    )
}

/// A keepalived.conf with one instance; `extra` goes inside the instance block.
pub fn instance_conf(priority: u8, version: u8, advert_int: &str, extra: &str) -> String {
    format!(
        "global_defs {{\n    router_id test\n}}\n\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    version {version}\n    priority {priority}\n    advert_int {advert_int}\n    virtual_ipaddress {{\n        {VIP}/24 dev eth0\n    }}\n{extra}}}\n"
    )
}

/// RFC 5798 Master_Down_Interval for a backup of `priority` at `advert_secs`.
pub fn master_down(priority: u8, advert_secs: f64) -> Duration {
    let skew = f64::from(256 - u16::from(priority)) / 256.0 * advert_secs;
    Duration::from_secs_f64(3.0 * advert_secs + skew)
}

/// RFC 5798 Skew_Time.
pub fn skew(priority: u8, advert_secs: f64) -> Duration {
    Duration::from_secs_f64(f64::from(256 - u16::from(priority)) / 256.0 * advert_secs)
}
