//! Failover benchmark: halabd against keepalived 2.2.7, identical configurations, same run.
//!
//! For each daemon, a pair (master 150, backup 100) in fresh network namespaces; then the
//! master daemon is SIGKILLed (crash), SIGTERMed (clean stop) or SIGSTOPped (frozen host), and
//! we time until the VIP is on the backup. Medians over `--runs` runs. Then a pair idles for
//! `--idle` seconds and we read RSS and CPU time of each daemon (all its processes).
//!
//! ```text
//! cargo bench -p halabd --bench failover -- [--runs N] [--idle SECS] [--advert-int S] [--version 2|3] [--families 4,6]
//! ```
//!
//! `--families 4,6` times IPv4 and IPv6 pairs in the same run (IPv6: VRRPv3 to ff02::12 from
//! link-local addresses, the VIP fd00:99::100/64; the IPv4 pairs then use `--version`, 3 for a
//! like-for-like comparison).
//!
//! Needs root (namespaces). Prints a Markdown table.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::ipv6::{conf_v6, dual_stack, has_vip6};
use support::{Kind, Lab, VIP, instance_conf, master_down};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Family {
    V4,
    V6,
}

struct Args {
    runs: usize,
    idle: u64,
    advert_int: String,
    version: u8,
    families: Vec<Family>,
}

fn args() -> Args {
    let mut out = Args {
        runs: 5,
        idle: 60,
        advert_int: "1".into(),
        version: 2,
        families: vec![Family::V4],
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
            "--families" => {
                let families: Vec<Family> = value
                    .split(',')
                    .filter_map(|f| match f.trim() {
                        "4" => Some(Family::V4),
                        "6" => Some(Family::V6),
                        _ => None,
                    })
                    .collect();
                if !families.is_empty() {
                    out.families = families;
                }
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

fn start(lab: &mut Lab, kind: Kind, node: &str, priority: u8, args: &Args, family: Family) {
    let conf = match family {
        Family::V4 => instance_conf(priority, args.version, &args.advert_int, ""),
        Family::V6 => conf_v6(priority, &args.advert_int),
    };
    match kind {
        Kind::Halabd => lab.start_halabd(node, &conf),
        Kind::Keepalived => lab.start_keepalived(node, &conf),
    };
}

/// One failover: seconds from the signal to the VIP on the backup, if it happened.
fn failover(kind: Kind, fault: Fault, args: &Args, advert: f64, family: Family) -> Option<f64> {
    let mut lab = Lab::new(&["a", "b"]);
    lab.halabd_log = "info";
    if family == Family::V6 {
        dual_stack(&lab, &["a", "b"]);
    }
    start(&mut lab, kind, "a", 150, args, family);
    start(&mut lab, kind, "b", 100, args, family);
    let converge = master_down(100, advert) * 4 + Duration::from_secs(5);
    let single = match family {
        Family::V4 => lab.wait_single_holder("a", converge, Duration::from_secs_f64(advert * 3.0)),
        Family::V6 => {
            let only_a = || has_vip6(&lab, "a") && !has_vip6(&lab, "b");
            lab.wait_until(converge, only_a).is_some() && {
                std::thread::sleep(Duration::from_secs_f64(advert * 3.0));
                only_a()
            }
        }
    };
    if !single {
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
        || match family {
            Family::V4 => lab.has_addr("b", VIP),
            Family::V6 => has_vip6(&lab, "b"),
        },
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
    start(&mut lab, kind, "a", 150, args, Family::V4);
    start(&mut lab, kind, "b", 100, args, Family::V4);
    std::thread::sleep(Duration::from_secs(args.idle));
    (lab.daemons[0].rss_and_cpu(), lab.daemons[1].rss_and_cpu())
}

fn main() {
    let args = args();
    let advert: f64 = args.advert_int.parse().unwrap_or(1.0);
    let kinds: Vec<(Family, Kind)> = args
        .families
        .iter()
        .flat_map(|f| [(*f, Kind::Halabd), (*f, Kind::Keepalived)])
        .collect();
    eprintln!(
        "failover benchmark: VRRPv{} advert_int {} s, {:?}, {} run(s) each, {} s idle",
        args.version, args.advert_int, args.families, args.runs, args.idle
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
            for (k, (family, kind)) in kinds.iter().enumerate() {
                if let Some(t) = failover(*kind, *fault, &args, advert, *family) {
                    eprintln!("{label} {kind:?} {family:?} run {run}: {t:.3} s");
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
    for kind in [Kind::Halabd, Kind::Keepalived] {
        let ((rss_m, cpu_m), (rss_b, cpu_b)) = idle(kind, &args);
        resources.push((kind, rss_m, cpu_m, rss_b, cpu_b));
    }
    let header: Vec<String> = kinds
        .iter()
        .map(|(family, kind)| {
            let daemon = match kind {
                Kind::Halabd => "halabd",
                Kind::Keepalived => "keepalived 2.2.7",
            };
            match (args.families.len(), family) {
                (1, _) => daemon.to_owned(),
                (_, Family::V4) => format!("{daemon} IPv4"),
                (_, Family::V6) => format!("{daemon} IPv6"),
            }
        })
        .collect();
    println!(
        "\n| time until the VIP is on the backup (median, min–max) | {} |",
        header.join(" | ")
    );
    println!("| --- |{}", " --- |".repeat(header.len()));
    for (label, cells) in rows {
        println!("| {label} | {} |", cells.join(" | "));
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
