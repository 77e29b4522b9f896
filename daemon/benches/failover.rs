//! Failover benchmark: halabd against keepalived 2.2.7, identical configurations, same run.
//!
//! For each daemon, a pair (master 150, backup 100) in fresh network namespaces; then the
//! master daemon is SIGKILLed (crash), SIGTERMed (clean stop) or SIGSTOPped (frozen host), and
//! we time until the VIP is on the backup. Medians over `--runs` runs. Then a pair idles for
//! `--idle` seconds and we read RSS and CPU time of each daemon (all its processes).
//!
//! ```text
//! cargo bench -p halabd --bench failover -- [--runs N] [--idle SECS] [--advert-int S] [--version 2|3]
//! ```
//!
//! Needs root (namespaces). Prints a Markdown table.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{Kind, Lab, VIP, instance_conf, master_down};

struct Args {
    runs: usize,
    idle: u64,
    advert_int: String,
    version: u8,
}

fn args() -> Args {
    let mut out = Args {
        runs: 5,
        idle: 60,
        advert_int: "1".into(),
        version: 2,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--runs" => out.runs = value.parse().unwrap_or(out.runs).max(1),
            "--idle" => out.idle = value.parse().unwrap_or(out.idle),
            "--advert-int" => out.advert_int = value,
            "--version" => out.version = value.parse().unwrap_or(out.version),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    Kill,
    Term,
    Stop,
}

impl Fault {
    fn signal(self) -> Signal {
        match self {
            Self::Kill => Signal::SIGKILL,
            Self::Term => Signal::SIGTERM,
            Self::Stop => Signal::SIGSTOP,
        }
    }
}

fn start(lab: &mut Lab, kind: Kind, node: &str, priority: u8, args: &Args) {
    let conf = instance_conf(priority, args.version, &args.advert_int, "");
    match kind {
        Kind::Halabd => lab.start_halabd(node, &conf),
        Kind::Keepalived => lab.start_keepalived(node, &conf),
    };
}

/// One failover: seconds from the signal to the VIP on the backup, if it happened.
fn failover(kind: Kind, fault: Fault, args: &Args, advert: f64) -> Option<f64> {
    let mut lab = Lab::new(&["a", "b"]);
    lab.halabd_log = "info";
    start(&mut lab, kind, "a", 150, args);
    start(&mut lab, kind, "b", 100, args);
    let converge = master_down(100, advert) * 4 + Duration::from_secs(5);
    if !lab.wait_single_holder("a", converge, Duration::from_secs_f64(advert * 3.0)) {
        eprintln!("{kind:?}: no convergence\n{}", lab.logs());
        return None;
    }
    // Land the fault at a random point of the advert cycle, as a real crash would.
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_micros() % 1000);
    std::thread::sleep(Duration::from_secs_f64(advert * f64::from(jitter) / 1000.0));
    let t0 = Instant::now();
    lab.daemons[0].signal(fault.signal());
    let took = lab.wait_until(
        master_down(100, advert) * 3 + Duration::from_secs(5),
        || lab.has_addr("b", VIP),
    );
    let took = took.map(|_| t0.elapsed().as_secs_f64());
    if fault == Fault::Stop {
        lab.daemons[0].signal(Signal::SIGCONT);
    }
    if took.is_none() {
        eprintln!("{kind:?}: no failover\n{}", lab.logs());
    }
    took
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

fn idle(kind: Kind, args: &Args) -> ((u64, u64), (u64, u64)) {
    let mut lab = Lab::new(&["a", "b"]);
    lab.halabd_log = "info";
    start(&mut lab, kind, "a", 150, args);
    start(&mut lab, kind, "b", 100, args);
    std::thread::sleep(Duration::from_secs(args.idle));
    (lab.daemons[0].rss_and_cpu(), lab.daemons[1].rss_and_cpu())
}

fn main() {
    let args = args();
    let advert: f64 = args.advert_int.parse().unwrap_or(1.0);
    let kinds = [Kind::Halabd, Kind::Keepalived];
    eprintln!(
        "failover benchmark: VRRPv{} advert_int {} s, {} run(s) each, {} s idle",
        args.version, args.advert_int, args.runs, args.idle
    );
    let faults = [
        (Fault::Kill, "SIGKILL master"),
        (Fault::Term, "SIGTERM master"),
        (Fault::Stop, "SIGSTOP master"),
    ];
    let mut times = vec![vec![Vec::new(); kinds.len()]; faults.len()];
    for run in 0..args.runs {
        for (f, (fault, label)) in faults.iter().enumerate() {
            // Daemons alternate run by run, so both see the same machine load.
            for (k, kind) in kinds.iter().enumerate() {
                if let Some(t) = failover(*kind, *fault, &args, advert) {
                    eprintln!("{label} {kind:?} run {run}: {t:.3} s");
                    times[f][k].push(t);
                }
            }
        }
    }
    let mut rows = Vec::new();
    for (f, (_, label)) in faults.iter().enumerate() {
        let mut cells = Vec::new();
        for values in times[f].clone() {
            let failed = args.runs - values.len();
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = values.iter().copied().fold(0.0, f64::max);
            cells.push(match median(values) {
                Some(m) if failed == 0 => format!("{m:.3} s ({lo:.3}–{hi:.3})"),
                Some(m) => format!("{m:.3} s ({failed} failed)"),
                None => "failed".into(),
            });
        }
        rows.push(((*label).to_owned(), cells));
    }
    let mut resources = Vec::new();
    for kind in kinds {
        let ((rss_m, cpu_m), (rss_b, cpu_b)) = idle(kind, &args);
        resources.push((kind, rss_m, cpu_m, rss_b, cpu_b));
    }
    println!(
        "\n| time until the VIP is on the backup (median, min–max) | halabd | keepalived 2.2.7 |"
    );
    println!("| --- | --- | --- |");
    for (label, cells) in rows {
        println!("| {label} | {} | {} |", cells[0], cells[1]);
    }
    println!(
        "\n| after {} s idle (all processes of the daemon) | halabd | keepalived 2.2.7 |",
        args.idle
    );
    println!("| --- | --- | --- |");
    let (h, k) = (&resources[0], &resources[1]);
    println!(
        "| RSS, master / backup | {} / {} KiB | {} / {} KiB |",
        h.1, h.3, k.1, k.3
    );
    println!(
        "| CPU time (user+sys), master / backup | {} / {} ms | {} / {} ms |",
        h.2, h.4, k.2, k.4
    );
}
