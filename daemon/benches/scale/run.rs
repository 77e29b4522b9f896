//! The scale benchmark's work: one row is two LBs (priorities 101 / 100) in namespaces, each
//! running N VRRPv3 instances (VRIDs 1..=250 per interface, one /32 VIP each), started
//! together; then a steady window measured from outside: CPU and PSS of every process of each
//! daemon (/proc), the adverts captured on the bridges (tcpdump), and `ip monitor` for any VIP
//! on the backup. Shared by `benches/scale.rs` (the matrix) and `tests/scale_bench.rs` (the
//! quick form in CI).

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::support::{Kind, Lab};

/// Instances per interface (VRIDs 1..=250).
const PER_INTERFACE: usize = 250;

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub ns: Vec<usize>,
    pub adverts: Vec<f64>,
    /// Without (false) and/or with (true) two busy loops beside the daemons.
    pub loads: Vec<bool>,
    pub engines: Vec<Kind>,
    /// Steady window per row, seconds.
    pub secs: f64,
    /// Every instance tracks one shared `vrrp_script` (1 s interval): its runs per minute.
    pub script: bool,
    /// Every instance in one `vrrp_sync_group`.
    pub sync_group: bool,
    /// After the window: SIGHUP the master with one instance changed (flaps on the others).
    pub reload: bool,
    /// After that: freeze the master (SIGSTOP), time until the backup holds every VIP.
    pub outage: bool,
    /// The backup's `vrrp_startup_delay` in seconds, one row per value (0: none), both
    /// engines: the "backup VIPs at start" column with and without it in the same run.
    pub startup_delays: Vec<f64>,
}

impl Settings {
    /// The matrix: N = 1, 100, 1000; advert 1, 0.1, 0.01 s; with and without load.
    pub fn full() -> Self {
        Self {
            ns: vec![1, 100, 1000],
            adverts: vec![1.0, 0.1, 0.01],
            loads: vec![false, true],
            engines: vec![Kind::Halabd, Kind::Keepalived],
            secs: 60.0,
            script: false,
            sync_group: false,
            reload: false,
            outage: false,
            startup_delays: vec![0.0],
        }
    }

    /// One small row per engine, a 2 s window: checks the machinery, not the figures.
    pub fn quick() -> Self {
        Self {
            ns: vec![2],
            adverts: vec![0.1],
            loads: vec![false],
            engines: vec![Kind::Halabd, Kind::Keepalived],
            secs: 2.0,
            script: true,
            sync_group: false,
            reload: true,
            outage: true,
            startup_delays: vec![0.0],
        }
    }

    /// `--quick`, then `--n 1,100 --advert 1,0.1 --load off,on --engines halabd,keepalived
    /// --secs 60 --window 60 --startup-delay 0,5` override parts of the full matrix (or of the
    /// quick form);
    /// `--script`, `--sync-group`, `--reload`, `--outage` add those parts (`--all` all four).
    pub fn from_args(args: &[String]) -> Self {
        let mut out = if args.iter().any(|a| a == "--quick") {
            Self::quick()
        } else {
            Self::full()
        };
        let list = |v: &str| -> Vec<String> { v.split(',').map(str::to_owned).collect() };
        let mut i = 0;
        while i < args.len() {
            let value = args.get(i + 1).map(String::as_str).unwrap_or("");
            match args[i].as_str() {
                "--n" => out.ns = list(value).iter().filter_map(|v| v.parse().ok()).collect(),
                "--advert" => {
                    out.adverts = list(value).iter().filter_map(|v| v.parse().ok()).collect()
                }
                "--load" => {
                    out.loads = list(value)
                        .iter()
                        .map(|v| matches!(v.as_str(), "on" | "yes" | "1"))
                        .collect()
                }
                "--engines" => {
                    out.engines = list(value)
                        .iter()
                        .filter_map(|v| match v.as_str() {
                            "halabd" => Some(Kind::Halabd),
                            "keepalived" => Some(Kind::Keepalived),
                            _ => None,
                        })
                        .collect()
                }
                "--secs" | "--window" => out.secs = value.parse().unwrap_or(out.secs),
                "--startup-delay" => {
                    out.startup_delays = list(value).iter().filter_map(|v| v.parse().ok()).collect()
                }
                flag @ ("--script" | "--sync-group" | "--reload" | "--outage" | "--all") => {
                    let all = flag == "--all";
                    out.script |= all || flag == "--script";
                    out.sync_group |= all || flag == "--sync-group";
                    out.reload |= all || flag == "--reload";
                    out.outage |= all || flag == "--outage";
                    i += 1;
                    continue;
                }
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += 2;
        }
        out
    }
}

/// One measured row.
#[derive(Debug, Clone)]
pub struct Row {
    pub n: usize,
    pub advert: f64,
    pub load: bool,
    /// The backup's `vrrp_startup_delay`, seconds (0: none).
    pub startup_delay: f64,
    pub kind: Kind,
    /// CPU (user + system, all processes) per minute of the steady window: master, backup.
    pub cpu_ms_min: (f64, f64),
    /// Times the daemon's processes were put on a CPU, per second of the window: master,
    /// backup (its wake-ups: what batching timer work saves).
    pub wakeups_s: (f64, f64),
    /// PSS in KiB at the end of the window: master, backup.
    pub pss_kib: (u64, u64),
    /// Intervals between the master's adverts in the window (per VRID), in ms.
    pub intervals: Vec<f64>,
    /// Times a VIP was added on the backup during the steady window.
    pub false_failovers: usize,
    /// VIPs the backup added between start and convergence.
    pub start_backup_vips: usize,
    /// Start of both daemons to "the master holds every VIP, the backup none".
    pub converged: Option<Duration>,
    /// Start of both daemons to the first advert on the wire (either LB).
    pub first_advert: Option<Duration>,
    /// Runs of the shared `vrrp_script` per minute of the window: master, backup.
    pub script_runs_min: Option<(f64, f64)>,
    /// After SIGHUP of the master with one instance changed: VIPs of the other instances
    /// deleted on the master or added on the backup, and whether the changed one moved.
    pub reload_flaps: Option<(usize, bool)>,
    /// Master frozen (SIGSTOP) to the backup holding every VIP.
    pub outage: Option<Duration>,
}

impl Row {
    pub fn mean_interval_ms(&self) -> Option<f64> {
        (!self.intervals.is_empty())
            .then(|| self.intervals.iter().sum::<f64>() / self.intervals.len() as f64)
    }

    /// p50, p99 and max of |interval - configured| in ms.
    pub fn deviation_ms(&self) -> Option<(f64, f64, f64)> {
        let want = self.advert * 1000.0;
        let mut dev: Vec<f64> = self.intervals.iter().map(|i| (i - want).abs()).collect();
        if dev.is_empty() {
            return None;
        }
        dev.sort_by(f64::total_cmp);
        let at = |q: usize| dev[(dev.len() * q / 100).min(dev.len() - 1)];
        Some((at(50), at(99), dev[dev.len() - 1]))
    }
}

/// What goes into each LB's configuration besides the instances.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// A `vrrp_script` (this command, 1 s) tracked by every instance.
    pub script: Option<&'a str>,
    /// Every instance in one `vrrp_sync_group`.
    pub sync_group: bool,
    /// This instance gets priority 90 instead (the reload's one change).
    pub changed: Option<usize>,
    /// `vrrp_startup_delay` in global_defs, seconds.
    pub startup_delay: Option<f64>,
}

impl<'a> Extras<'a> {
    /// What `settings` ask for, with `script` as the script's command.
    fn of(settings: &Settings, script: &'a str, changed: Option<usize>) -> Self {
        Self {
            script: settings.script.then_some(script),
            sync_group: settings.sync_group,
            changed,
            startup_delay: None,
        }
    }
}

/// keepalived.conf for one LB: `n` instances over eth0..ethK.
pub fn config(router: &str, n: usize, priority: u8, advert: f64, extras: Extras) -> String {
    let delay = extras
        .startup_delay
        .map_or(String::new(), |d| format!("    vrrp_startup_delay {d}\n"));
    let mut out = format!("global_defs {{\n    router_id {router}\n{delay}}}\n");
    if let Some(command) = extras.script {
        out.push_str(&format!(
            "vrrp_script chk {{\n    script \"{command}\"\n    interval 1\n}}\n"
        ));
    }
    if extras.sync_group {
        out.push_str("vrrp_sync_group all {\n    group {\n");
        for i in 0..n {
            out.push_str(&format!("        VI_{i}\n"));
        }
        out.push_str("    }\n}\n");
    }
    let track = if extras.script.is_some() {
        "    track_script {\n        chk\n    }\n"
    } else {
        ""
    };
    for i in 0..n {
        let (iface, vrid) = (i / PER_INTERFACE, i % PER_INTERFACE + 1);
        let priority = if extras.changed == Some(i) {
            90
        } else {
            priority
        };
        out.push_str(&format!(
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth{iface}\n    virtual_router_id {vrid}\n    version 3\n    priority {priority}\n    advert_int {advert}\n    virtual_ipaddress {{\n        {} dev eth{iface}\n    }}\n{track}}}\n",
            vip(iface, vrid)
        ));
    }
    out
}

fn vip(iface: usize, vrid: usize) -> String {
    format!("10.{}.0.{vrid}/32", 200 + iface)
}

/// Two busy loops (`sh -c 'while :; do :; done'`) for the loaded rows; killed on drop.
struct Hogs(Vec<Child>);

impl Hogs {
    fn start(on: bool) -> Self {
        let count = if on { 2 } else { 0 };
        Self(
            (0..count)
                .filter_map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .stdin(Stdio::null())
                        .spawn()
                        .ok()
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A process we started inside a namespace (tcpdump, ip monitor); SIGTERM on drop.
struct Helper(Child);

impl Helper {
    fn start(ns: &str, argv: &[&str], out: &Path) -> Self {
        let file = std::fs::File::create(out).expect("helper output");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("start helper");
        Self(child)
    }

    fn stop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            if let Ok(pid) = i32::try_from(self.0.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let _ = self.0.wait();
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.stop();
    }
}

/// VIPs (10.200.0.0/14) on `node`.
fn vips_on(lab: &Lab, node: &str) -> usize {
    let out = lab.exec(node, &["ip", "-4", "-o", "addr", "show"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" inet 10.20"))
        .count()
}

/// VIP additions `ip monitor address` logged so far.
fn vip_adds(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("Deleted") && l.contains(" inet 10.20"))
        .count()
}

/// VIPs (`a.b.c.d/32`) `ip monitor address` logged as added (`deleted`: false) or deleted.
fn vip_events(path: &Path, deleted: bool) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("Deleted") == deleted && l.contains(" inet 10.20"))
        .filter_map(|l| {
            l.split_whitespace()
                .skip_while(|w| *w != "inet")
                .nth(1)
                .map(str::to_owned)
        })
        .collect()
}

/// CPU time in ns and times run (wake-ups), each summed over every thread of `pids`
/// (`/proc/PID/task/*/schedstat`: exact, where `/proc/PID/stat` counts 10 ms ticks).
fn cpu_ns(pids: &[i32]) -> (u64, u64) {
    let (mut total, mut runs) = (0, 0);
    for pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let path = task.path().join("schedstat");
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let mut fields = text
                .split_whitespace()
                .map(|f| f.parse::<u64>().unwrap_or(0));
            total += fields.next().unwrap_or(0);
            runs += fields.nth(1).unwrap_or(0);
        }
    }
    (total, runs)
}

/// Lines in `path` (script runs, one line each).
fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// PSS in KiB summed over `pids`.
fn pss_kib(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

fn unix_micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// One advert in a capture: (time in us since the Unix epoch, source, VRID).
type Seen = (u64, Ipv4Addr, u8);

/// The VRRP packets of a pcap file (Ethernet, microsecond timestamps).
fn read_pcap(path: &Path) -> Vec<Seen> {
    let data = std::fs::read(path).unwrap_or_default();
    let mut out = Vec::new();
    if data.len() < 24 || data[..4] != [0xd4, 0xc3, 0xb2, 0xa1] {
        return out;
    }
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let mut at = 24;
    while at + 16 <= data.len() {
        let sec = u64::from(u32_at(&data, at));
        let usec = u64::from(u32_at(&data, at + 4));
        let len = u32_at(&data, at + 8) as usize;
        let frame = &data[at + 16..(at + 16 + len).min(data.len())];
        at += 16 + len;
        // Ethernet II, IPv4, protocol 112.
        if frame.len() < 14 + 20 || frame[12..14] != [0x08, 0x00] || frame[14 + 9] != 112 {
            continue;
        }
        let ihl = usize::from(frame[14] & 0x0f) * 4;
        let src = Ipv4Addr::new(frame[26], frame[27], frame[28], frame[29]);
        if let Some(&vrid) = frame.get(14 + ihl + 1) {
            out.push((sec * 1_000_000 + usec, src, vrid));
        }
    }
    out
}

/// Intervals (ms) between consecutive adverts of each (source, VRID) sent by `master_host`
/// (the last octet of the master's addresses) within [from, to].
fn intervals(seen: &[Seen], master_host: u8, from: u64, to: u64) -> Vec<f64> {
    let mut last: std::collections::HashMap<(Ipv4Addr, u8), u64> = Default::default();
    let mut out = Vec::new();
    for &(t, src, vrid) in seen {
        if t < from || t > to || src.octets()[3] != master_host {
            continue;
        }
        if let Some(prev) = last.insert((src, vrid), t) {
            out.push((t - prev) as f64 / 1000.0);
        }
    }
    out
}

/// The shared `vrrp_script` of `--script`: appends a line to `runs` per run.
fn script_file(dir: &Path, node: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let runs = dir.join(format!("{node}-script-runs"));
    let script = dir.join(format!("{node}-chk.sh"));
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho run >> {}\n", runs.display()),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, runs)
}

/// Runs one row.
pub fn run_row(
    n: usize,
    advert: f64,
    load: bool,
    startup_delay: f64,
    kind: Kind,
    settings: &Settings,
) -> Row {
    let secs = settings.secs;
    let interfaces = n.div_ceil(PER_INTERFACE).max(1);
    let extra: Vec<(String, u8)> = (1..interfaces)
        .map(|k| (format!("eth{k}"), u8::try_from(100 + k).unwrap_or(199)))
        .collect();
    let extra: Vec<(&str, u8)> = extra.iter().map(|(d, n)| (d.as_str(), *n)).collect();
    let mut lab = Lab::with_networks(&["a", "b"], &extra);
    lab.halabd_log = "info";
    let dir = lab.dir.path().to_owned();
    let mut captures: Vec<(Helper, std::path::PathBuf)> = (0..interfaces)
        .map(|k| {
            let (bridge_ns, bridge) = lab.bridge(k);
            let file = dir.join(format!("{bridge}.pcap"));
            let argv = [
                "tcpdump",
                "-i",
                &bridge,
                "-w",
                file.to_str().expect("utf-8 path"),
                "-U",
                "-s",
                "64",
                "-B",
                "16384",
                "ip proto 112",
            ];
            (
                Helper::start(&bridge_ns, &argv, &dir.join(format!("{bridge}.out"))),
                file,
            )
        })
        .collect();
    let monitor_file = dir.join("b-monitor.txt");
    let mut monitor = Helper::start(&lab.ns("b"), &["ip", "monitor", "address"], &monitor_file);
    let monitor_a_file = dir.join("a-monitor.txt");
    let mut monitor_a = Helper::start(&lab.ns("a"), &["ip", "monitor", "address"], &monitor_a_file);
    // tcpdump and ip monitor need a moment before they see anything.
    std::thread::sleep(Duration::from_millis(500));
    let hogs = Hogs::start(load);
    let (script_a, runs_a) = script_file(&dir, "a");
    let (script_b, runs_b) = script_file(&dir, "b");
    let (script_a, script_b) = (
        script_a.to_str().expect("utf-8 path").to_owned(),
        script_b.to_str().expect("utf-8 path").to_owned(),
    );
    let extras = |script, changed| Extras::of(settings, script, changed);
    let extras_b = Extras {
        startup_delay: (startup_delay > 0.0).then_some(startup_delay),
        ..extras(&script_b, None)
    };
    let (conf_a, conf_b) = (
        config("lb-a", n, 101, advert, extras(&script_a, None)),
        config("lb-b", n, 100, advert, extras_b),
    );
    let t0 = Instant::now();
    let t0_unix = unix_micros(SystemTime::now());
    match kind {
        Kind::Halabd => {
            lab.start_halabd("a", &conf_a);
            lab.start_halabd("b", &conf_b);
        }
        Kind::Keepalived => {
            lab.start_keepalived("a", &conf_a);
            lab.start_keepalived("b", &conf_b);
        }
    }
    // Converged: every VIP on the master, none on the backup.
    let limit = Duration::from_secs_f64((advert * 40.0).max(20.0));
    let mut converged = None;
    while t0.elapsed() < limit {
        if vips_on(&lab, "a") == n && vips_on(&lab, "b") == 0 {
            converged = Some(t0.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let start_backup_vips = vip_adds(&monitor_file);
    // Settle, then the steady window.
    std::thread::sleep(Duration::from_secs_f64((advert * 3.0).max(1.0)));
    let adds_before = vip_adds(&monitor_file);
    let cpu0 = (
        cpu_ns(&lab.daemons[0].group_pids()),
        cpu_ns(&lab.daemons[1].group_pids()),
    );
    let runs0 = (lines_in(&runs_a), lines_in(&runs_b));
    let from = unix_micros(SystemTime::now());
    std::thread::sleep(Duration::from_secs_f64(secs));
    let to = unix_micros(SystemTime::now());
    let cpu1 = (
        cpu_ns(&lab.daemons[0].group_pids()),
        cpu_ns(&lab.daemons[1].group_pids()),
    );
    let runs1 = (lines_in(&runs_a), lines_in(&runs_b));
    let pss = (
        pss_kib(&lab.daemons[0].group_pids()),
        pss_kib(&lab.daemons[1].group_pids()),
    );
    let false_failovers = vip_adds(&monitor_file).saturating_sub(adds_before);
    let per_min = |a: u64, b: u64| b.saturating_sub(a) as f64 * 60.0 / secs;
    let script_runs_min = settings.script.then(|| {
        (
            per_min(runs0.0 as u64, runs1.0 as u64),
            per_min(runs0.1 as u64, runs1.1 as u64),
        )
    });
    // SIGHUP with one instance (the last: on the last interface) at priority 90 on the
    // master: it moves to the backup; nothing else may move.
    let reload_flaps = (settings.reload && n > 1).then(|| {
        let changed = n - 1;
        let changed_vip = vip(changed / PER_INTERFACE, changed % PER_INTERFACE + 1);
        let (added_b0, deleted_a0) = (
            vip_events(&monitor_file, false).len(),
            vip_events(&monitor_a_file, true).len(),
        );
        let conf = config("lb-a", n, 101, advert, extras(&script_a, Some(changed)));
        std::fs::write(&lab.daemons[0].conf, conf).expect("rewrite the master's config");
        lab.daemons[0].signal(Signal::SIGHUP);
        let deadline = Instant::now() + Duration::from_secs_f64((advert * 10.0).max(10.0));
        let mut moved = false;
        while Instant::now() < deadline {
            if vip_events(&monitor_file, false)[added_b0..].contains(&changed_vip) {
                moved = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Several intervals more: whatever the reload disturbed shows by then.
        std::thread::sleep(Duration::from_secs_f64((advert * 5.0).max(1.0)));
        let others = |list: &[String]| list.iter().filter(|v| **v != changed_vip).count();
        let flaps = others(&vip_events(&monitor_file, false)[added_b0..])
            + others(&vip_events(&monitor_a_file, true)[deleted_a0..]);
        (flaps, moved)
    });
    // Host loss: the master frozen; the backup must take every VIP.
    let outage = settings.outage.then(|| {
        let frozen = Instant::now();
        lab.daemons[0].signal(Signal::SIGSTOP);
        let limit = Duration::from_secs_f64((advert * 20.0).max(20.0));
        let mut took = None;
        while frozen.elapsed() < limit {
            if vips_on(&lab, "b") == n {
                took = Some(frozen.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        lab.daemons[0].signal(Signal::SIGCONT);
        took
    });
    drop(hogs);
    monitor.stop();
    monitor_a.stop();
    let mut seen = Vec::new();
    for (helper, file) in &mut captures {
        helper.stop();
        seen.extend(read_pcap(file));
    }
    let first_advert = seen
        .iter()
        .map(|&(t, _, _)| t)
        .filter(|&t| t >= t0_unix)
        .min()
        .map(|t| Duration::from_micros(t - t0_unix));
    let per_min_ms = |a: u64, b: u64| b.saturating_sub(a) as f64 / 1e6 * 60.0 / secs;
    Row {
        n,
        advert,
        load,
        startup_delay,
        kind,
        cpu_ms_min: (
            per_min_ms(cpu0.0.0, cpu1.0.0),
            per_min_ms(cpu0.1.0, cpu1.1.0),
        ),
        wakeups_s: (
            cpu1.0.1.saturating_sub(cpu0.0.1) as f64 / secs,
            cpu1.1.1.saturating_sub(cpu0.1.1) as f64 / secs,
        ),
        pss_kib: pss,
        intervals: intervals(&seen, 1, from, to),
        false_failovers,
        start_backup_vips,
        converged,
        first_advert,
        script_runs_min,
        reload_flaps,
        outage: outage.flatten(),
    }
}

/// The rows as a Markdown table, halabd and keepalived side by side per setting.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| N | advert s | load | backup startup delay s | engine | CPU ms/min master / backup | wake-ups/s master / backup | PSS MiB master / backup | mean interval ms | p50 / p99 / max deviation ms | false failovers | backup VIPs at start | first advert s | converged s | script runs/min | reload flaps | outage s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let secs = |d: Option<Duration>| d.map_or("-".into(), |c| format!("{:.3}", c.as_secs_f64()));
    for r in rows {
        let mean = r
            .mean_interval_ms()
            .map_or("-".into(), |m| format!("{m:.3}"));
        let dev = r.deviation_ms().map_or("-".into(), |(p50, p99, m)| {
            format!("{p50:.3} / {p99:.3} / {m:.3}")
        });
        let converged = r
            .converged
            .map_or("no".into(), |c| format!("{:.2}", c.as_secs_f64()));
        let script = r
            .script_runs_min
            .map_or("-".into(), |(a, b)| format!("{a:.0} / {b:.0}"));
        let reload = r.reload_flaps.map_or("-".into(), |(flaps, moved)| {
            format!("{flaps}{}", if moved { "" } else { " (not moved)" })
        });
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:?} | {:.0} / {:.0} | {:.0} / {:.0} | {:.1} / {:.1} | {mean} | {dev} | {} | {} | {} | {converged} | {script} | {reload} | {} |\n",
            r.n,
            r.advert,
            if r.load { "2 busy loops" } else { "idle" },
            r.startup_delay,
            r.kind,
            r.cpu_ms_min.0,
            r.cpu_ms_min.1,
            r.wakeups_s.0,
            r.wakeups_s.1,
            r.pss_kib.0 as f64 / 1024.0,
            r.pss_kib.1 as f64 / 1024.0,
            r.false_failovers,
            r.start_backup_vips,
            secs(r.first_advert),
            secs(r.outage),
        ));
    }
    out
}

/// Ratio rows: halabd's CPU over keepalived's, per setting (both LBs together).
pub fn ratios(rows: &[Row]) -> String {
    let mut out = String::from(
        "| N | advert s | load | backup startup delay s | CPU halabd / keepalived (master+backup) |\n| --- | --- | --- | --- | --- |\n",
    );
    for h in rows.iter().filter(|r| r.kind == Kind::Halabd) {
        if let Some(k) = rows.iter().find(|k| {
            k.kind == Kind::Keepalived
                && k.n == h.n
                && k.advert == h.advert
                && k.load == h.load
                && k.startup_delay == h.startup_delay
        }) {
            let (hs, ks) = (
                h.cpu_ms_min.0 + h.cpu_ms_min.1,
                k.cpu_ms_min.0 + k.cpu_ms_min.1,
            );
            let ratio = if ks > 0.0 {
                format!("{:.2}", hs / ks)
            } else {
                "-".into()
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {hs:.0} / {ks:.0} = {ratio} |\n",
                h.n,
                h.advert,
                if h.load { "2 busy loops" } else { "idle" },
                h.startup_delay,
            ));
        }
    }
    out
}

/// Runs every row of `settings`, engines alternating per setting so both see the same load.
pub fn run(settings: &Settings, mut progress: impl FnMut(&Row)) -> Vec<Row> {
    let mut rows = Vec::new();
    for &n in &settings.ns {
        for &advert in &settings.adverts {
            for &load in &settings.loads {
                for &delay in &settings.startup_delays {
                    for &kind in &settings.engines {
                        let row = run_row(n, advert, load, delay, kind, settings);
                        progress(&row);
                        rows.push(row);
                    }
                }
            }
        }
    }
    rows
}
