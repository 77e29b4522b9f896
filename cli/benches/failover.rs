//! Benchmark: what a client sees per fault, keepalived vs halabd, measured in the same run on
//! the same lab through the scenario runner (probe every 10 ms through the VIP from the client).
//!
//! `cargo bench -p halab --bench failover -- [--runs N] [--soak M]` (root)
//!   --runs N  runs per (fault, engine, timing) row, medians printed (default 3)
//!   --soak M  also run seed000's failover scenario M times per engine, count passes (default 0)
//!   --only S  only the fault rows whose name contains S (e.g. `split`)

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use common::options;
use halab::lab::{self, Lab};
use halab::provider;
use halab::scenario::result::ScenarioResult;
use halab::scenario::session::{self, EngineChoice};
use halab::scenario::{file, run};

/// Two LBs (priority 100 / 90), two webs, a weighted track script on haproxy (-20: a dead
/// haproxy drops lb1 to 80, below lb2), as the seeds write it.
fn lab(version: u8, advert: &str) -> Lab {
    let auth = if version == 2 {
        ", auth: { pass: bench }"
    } else {
        ""
    };
    let text = format!(
        "name: fo\nnetworks: [{{ name: lan, cidr: 10.40.0.0/24 }}]\nnodes:\n  - {{ name: lb1, role: lb, address: 10.40.0.11 }}\n  - {{ name: lb2, role: lb, address: 10.40.0.12 }}\n  - {{ name: web1, role: web, address: 10.40.0.21 }}\n  - {{ name: web2, role: web, address: 10.40.0.22 }}\nscripts:\n  chk: {{ script: \"killall -0 haproxy\", interval: 1, weight: -20, fall: 1, rise: 1 }}\nvrrp:\n  - {{ vrid: 51, version: {version}, advert_int: {advert}, vips: [10.40.0.10], track_scripts: [chk]{auth} }}\n"
    );
    lab::parse(
        Path::new("bench.yaml"),
        &text,
        &HashMap::<String, String>::new(),
    )
    .expect("bench lab")
}

/// (row name, scenario steps after the lab settled). Each ends measuring the outage.
const FAULTS: &[(&str, &str)] = &[
    (
        "master link cut",
        "  - link_down: { node: lb1 }\n  - outage: {}\n",
    ),
    (
        "master frozen (SIGSTOP vrrp+haproxy)",
        "  - freeze: { node: lb1, services: [vrrp, haproxy] }\n  - outage: {}\n",
    ),
    // The crashed daemon leaves its VIP on lb1 (still serving): the backup takes over after
    // master-down and its GARP moves the client. Waited for, then measured.
    (
        "VRRP daemon crash (SIGKILL)",
        "  - kill: { node: lb1, service: vrrp }\n  - wait: 5s\n  - outage: {}\n",
    ),
    (
        "VRRP daemon graceful stop",
        "  - stop: { node: lb1, service: vrrp }\n  - outage: {}\n",
    ),
    (
        "haproxy dies (weighted track script)",
        "  - kill: { node: lb1, service: haproxy }\n  - outage: {}\n",
    ),
    // After the heal the loser steps down within an advert interval; whether the client's ARP
    // entry follows depends on who heard whom first (random in a natural heal). The outage
    // window starts at the heal (the wait is the last action, right after it).
    (
        "split brain, then heal",
        "  - partition: { a: [lb1], b: [lb2], vrrp_only: true }\n  - wait: 4s\n  - heal: { arp_grace: 60s }\n  - wait: 6s\n  - outage: {}\n",
    ),
];

struct Row {
    to_backup_ms: Option<u64>,
    gap_ms: u64,
    failed: u64,
}

/// When lb2 first held the VIP after the fault step (after a heal: when exactly one node held
/// it and the client's ARP entry pointed at that node), and the outage the last step measured.
fn row(r: &ScenarioResult, fault_step: usize, heal: bool) -> Row {
    let from = r.steps.get(fault_step).map_or(0, |s| s.start_ms);
    let settled = |s: &&halab::scenario::result::VipSample| {
        if heal {
            s.holders.len() == 1 && s.client_arp.as_deref() == s.holders.first().map(String::as_str)
        } else {
            s.holders.iter().any(|h| h == "lb2")
        }
    };
    let to_backup_ms = r
        .vip_timeline
        .iter()
        .filter(|s| s.t_ms >= from)
        .find(settled)
        .map(|s| s.t_ms - from);
    let o = r
        .steps
        .last()
        .and_then(|s| s.outage)
        .unwrap_or_default_outage();
    Row {
        to_backup_ms,
        gap_ms: o.longest_gap_ms,
        failed: o.failed,
    }
}

trait DefaultOutage {
    fn unwrap_or_default_outage(self) -> halab::scenario::result::Outage;
}

impl DefaultOutage for Option<halab::scenario::result::Outage> {
    fn unwrap_or_default_outage(self) -> halab::scenario::result::Outage {
        self.unwrap_or(halab::scenario::result::Outage {
            window_ms: 0,
            requests: 0,
            failed: 0,
            longest_gap_ms: 0,
            vip: None,
        })
    }
}

fn median(mut v: Vec<u64>) -> Option<u64> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn fmt(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |x| format!("{:.2}s", x as f64 / 1000.0))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, d: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let runs = arg("--runs", 3);
    let soak = arg("--soak", 0);
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let root = tempfile::Builder::new()
        .prefix("halab-fo-")
        .tempdir_in("/run")
        .expect("state root");
    let started = Instant::now();
    println!(
        "failover benchmark: {runs} run(s) per row, medians; client probe every 10 ms through the VIP"
    );
    println!(
        "(→lb2: fault to the VIP on lb2; for the split brain: heal to one holder with the client's ARP on it)"
    );
    println!(
        "{:<40} {:<10} {:>10} {:>16} {:>10}   {:>10} {:>16} {:>10}",
        "fault (lb1 is master)",
        "timing",
        "kad→lb2",
        "kad gap [max]",
        "kad fail",
        "halabd→lb2",
        "halabd gap [max]",
        "halabd fail"
    );
    let timings: &[(u8, &str)] = if runs == 0 {
        &[]
    } else {
        &[(2, "1"), (3, "0.1")]
    };
    for &(version, advert) in timings {
        for (fi, (name, steps)) in FAULTS.iter().enumerate() {
            if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
                continue;
            }
            let mut cols = Vec::new();
            for choice in [EngineChoice::Keepalived, EngineChoice::Halabd] {
                let (mut tb, mut gap, mut fail) = (Vec::new(), Vec::new(), Vec::new());
                for k in 0..runs {
                    let mut l = lab(version, advert);
                    l.name = format!("fo{}{fi}{k}{version}", std::process::id() % 1000);
                    let engine = choice.apply(&mut l);
                    let sc = file::parse(Path::new("bench.yaml"), &format!("steps:\n{steps}"), &l)
                        .expect("bench scenario");
                    let mut o = options(root.path());
                    if let Err(e) = provider::up(&l, &mut o) {
                        eprintln!("up failed: {e}");
                        continue;
                    }
                    let h: std::sync::Arc<dyn halab::fleet::Fleet> = std::sync::Arc::new(
                        halab::provider::netns::NetnsFleet::open(&l, &root.path().join(&l.name))
                            .expect("handle"),
                    );
                    let halabd = o.halabd.to_string_lossy().to_string();
                    let r = run::run(&l, &h, &sc, &engine, &halabd, &mut |_| {});
                    let _ = provider::down(root.path(), &l.name, false);
                    let fault_step = if name.starts_with("split") { 2 } else { 0 };
                    let x = row(&r, fault_step, name.starts_with("split"));
                    if let Some(t) = x.to_backup_ms {
                        tb.push(t);
                    }
                    gap.push(x.gap_ms);
                    fail.push(x.failed);
                }
                let worst = gap.iter().copied().max();
                cols.push((median(tb), median(gap), median(fail), worst));
            }
            let timing = if version == 2 { "v2 1s" } else { "v3 0.1s" };
            // The gap column: median, and the worst run in brackets (a bad split-brain heal is
            // the exception a median hides).
            let gap = |c: &(Option<u64>, Option<u64>, Option<u64>, Option<u64>)| {
                format!("{} [{}]", fmt(c.1), fmt(c.3))
            };
            println!(
                "{:<40} {:<10} {:>10} {:>16} {:>10}   {:>10} {:>16} {:>10}",
                name,
                timing,
                fmt(cols[0].0),
                gap(&cols[0]),
                cols[0].2.map_or("-".into(), |f| f.to_string()),
                fmt(cols[1].0),
                gap(&cols[1]),
                cols[1].2.map_or("-".into(), |f| f.to_string())
            );
        }
    }
    if soak > 0 {
        let file_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/lab.yaml");
        for choice in [EngineChoice::Keepalived, EngineChoice::Halabd] {
            let mut l = lab::load(&file_path).expect("seed000");
            l.name = format!("soak{}", std::process::id() % 10_000);
            let engine = choice.apply(&mut l);
            let files =
                session::find(&file_path, &["failover".to_string()]).expect("failover.yaml");
            let scenarios = session::load_all(&files, &l).expect("valid");
            let mut o = options(root.path());
            let t = Instant::now();
            let mut passed = 0;
            for _ in 0..soak {
                let s = session::run_all(&l, &scenarios, &engine, &mut o, false, &mut |_| {});
                passed += s.results.iter().filter(|r| r.passed).count();
            }
            println!(
                "seed000 failover [{engine}]: {passed}/{soak} passed in {:.0}s",
                t.elapsed().as_secs_f64()
            );
        }
    }
    println!("total wall time {:.0}s", started.elapsed().as_secs_f64());
}
