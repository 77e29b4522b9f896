//! Split-brain heal benchmark: the longest client gap after the heal, halabd against
//! keepalived 2.2.7, for each heal order (`tests/heal_lab`), the same runs interleaved so both
//! see the same load.
//!
//! ```text
//! cargo bench -p halabd --bench heal -- [--runs N] [--jobs J] [--version 2|3]
//! ```
//!
//! Needs root (namespaces). Prints a Markdown table: median, min and max gap per order and
//! engine, and how many runs ended with the client on the winner. A gap of 10 s means the
//! client was not back within the 10 s watched.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/heal_lab/mod.rs"]
mod heal_lab;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use heal_lab::{Engine, Order, split_and_heal};

struct Args {
    runs: usize,
    jobs: usize,
    version: u8,
}

fn args() -> Args {
    let mut out = Args {
        runs: 10,
        jobs: 4,
        version: 2,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--runs" => out.runs = value.parse().unwrap_or(out.runs).max(1),
            "--jobs" => out.jobs = value.parse().unwrap_or(out.jobs).max(1),
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

type Results = Vec<(Order, Engine, Duration, bool)>;

fn main() {
    let args = args();
    let mut work = Vec::new();
    for run in 0..args.runs {
        for order in Order::ALL {
            for engine in [Engine::Halabd, Engine::Keepalived] {
                work.push((run, order, engine));
            }
        }
    }
    let total = work.len();
    let work = Arc::new(Mutex::new(work));
    let results: Arc<Mutex<Results>> = Arc::new(Mutex::new(Vec::new()));
    let version = args.version;
    let workers: Vec<_> = (0..args.jobs)
        .map(|_| {
            let work = Arc::clone(&work);
            let results = Arc::clone(&results);
            std::thread::spawn(move || {
                loop {
                    let next = work.lock().ok().and_then(|mut w| w.pop());
                    let Some((run, order, engine)) = next else {
                        return;
                    };
                    let outcome = split_and_heal(engine, engine, version, order);
                    eprintln!(
                        "run {run} {} {engine:?}: gap {:.3} s, client on winner {}",
                        order.label(),
                        outcome.gap.as_secs_f64(),
                        outcome.client_on_winner
                    );
                    if let Ok(mut r) = results.lock() {
                        r.push((order, engine, outcome.gap, outcome.client_on_winner));
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let results = results.lock().map(|r| r.clone()).unwrap_or_default();
    println!(
        "\nVRRPv{version}, advert_int 1, {} runs per cell ({total} runs, {} at a time)\n",
        args.runs, args.jobs
    );
    println!(
        "| heal order | halabd gap: median (min-max) | on winner | keepalived gap: median (min-max) | on winner |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for order in Order::ALL {
        let cell = |engine: Engine| {
            let mut gaps: Vec<f64> = results
                .iter()
                .filter(|(o, e, _, _)| *o == order && *e == engine)
                .map(|(_, _, gap, _)| gap.as_secs_f64())
                .collect();
            let on_winner = results
                .iter()
                .filter(|(o, e, _, ok)| *o == order && *e == engine && *ok)
                .count();
            gaps.sort_by(f64::total_cmp);
            let median = gaps.get(gaps.len() / 2).copied().unwrap_or(f64::NAN);
            let min = gaps.first().copied().unwrap_or(f64::NAN);
            let max = gaps.last().copied().unwrap_or(f64::NAN);
            (
                format!("{median:.3} s ({min:.3}-{max:.3})"),
                format!("{on_winner}/{}", gaps.len()),
            )
        };
        let (h, hw) = cell(Engine::Halabd);
        let (k, kw) = cell(Engine::Keepalived);
        println!("| {} | {h} | {hw} | {k} | {kw} |", order.label());
    }
}
