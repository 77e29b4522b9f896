//! Benchmark: the seed matrix (every shipped scenario, keepalived and halabd) through `halab
//! test labs --engine keepalived,halabd --jobs N`, for each N, RUNS times: wall time, failed
//! scenarios, and how many failures were starved (and rerun alone). Results must not change
//! with N: a failure at any N is a finding, printed with its scenario.
//!
//! As root: `cargo bench -p halab --bench suite -- [--runs R] [N...]` (default 1 run of
//! N = 1 2 4 8). The runs are interleaved: round k runs every N once (the order rotated by
//! one each round), so a change of the machine's load over the session falls on every N
//! alike. Each run is printed as it ends (a long session stopped early keeps its figures),
//! then the table. The load average is printed beside each run: the machine is shared. A run
//! with a failure keeps its JSON and stderr in the temp dir (printed), for the cause.

use std::process::Command;
use std::time::Instant;

use halab::scenario::result::ScenarioResult;

struct Run {
    wall_s: f64,
    results: usize,
    failed: Vec<String>,
    starved: usize,
    reruns: usize,
    load: String,
}

fn once(jobs: usize) -> Run {
    let labs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs");
    let state = tempfile::Builder::new()
        .prefix("halab-bench-")
        .tempdir_in("/run")
        .expect("state root");
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_halab"))
        .arg("test")
        .arg(&labs)
        .args(["--engine", "keepalived,halabd", "--json", "--jobs"])
        .arg(jobs.to_string())
        .env("HALAB_STATE_DIR", state.path())
        .output()
        .expect("run halab test");
    let wall_s = start.elapsed().as_secs_f64();
    keep_if_failed(jobs, &out);
    let results: Vec<ScenarioResult> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no results ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Run {
        wall_s,
        results: results.len(),
        failed: results
            .iter()
            .filter(|r| !r.passed)
            .map(|r| format!("{}/{} [{}]", r.lab, r.scenario, r.engine))
            .collect(),
        starved: results.iter().filter(|r| r.starved.is_some()).count(),
        reruns: results.iter().filter(|r| r.rerun_after.is_some()).count(),
        load: std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A run with a failure keeps its whole JSON (every step's detail and samples) and stderr in
/// the system's temp dir, named by N and time, and says where: the state dir goes with the
/// run, so without this the cause of a failed unit is lost.
fn keep_if_failed(jobs: usize, out: &std::process::Output) {
    if out.status.success() {
        return;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let base = std::env::temp_dir().join(format!("halab-suite-n{jobs}-{stamp}"));
    let json = base.with_extension("json");
    let err = base.with_extension("stderr");
    match std::fs::write(&json, &out.stdout).and_then(|()| std::fs::write(&err, &out.stderr)) {
        Ok(()) => eprintln!(
            "  failed run kept: {} and {}",
            json.display(),
            err.display()
        ),
        Err(e) => eprintln!("  failed run not kept ({}): {e}", json.display()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 1;
    let mut jobs = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--runs" {
            runs = it.next().and_then(|r| r.parse().ok()).unwrap_or(1);
        } else if let Ok(n) = a.parse::<usize>() {
            jobs.push(n);
        }
    }
    if jobs.is_empty() {
        jobs = vec![1, 2, 4, 8];
    }
    println!(
        "seed matrix via `halab test labs --engine keepalived,halabd --jobs N`, {runs} run(s) each, interleaved"
    );
    let mut all: Vec<(usize, Run)> = Vec::new();
    for round in 0..runs {
        for i in 0..jobs.len() {
            let n = jobs[(i + round) % jobs.len()];
            let r = once(n);
            println!(
                "run {}: N={n} wall {:.0} s, {} results, {} failed, {} starved, {} rerun, load after {}",
                round + 1,
                r.wall_s,
                r.results,
                r.failed.len(),
                r.starved,
                r.reruns,
                r.load
            );
            all.push((n, r));
        }
    }
    println!(
        "| N | wall (median) | walls | scenarios | failed (all runs) | starved | rerun | load after each run |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &n in &jobs {
        let mine: Vec<&Run> = all
            .iter()
            .filter(|(k, _)| *k == n)
            .map(|(_, r)| r)
            .collect();
        let mut walls: Vec<f64> = mine.iter().map(|r| r.wall_s).collect();
        walls.sort_by(f64::total_cmp);
        let failed: Vec<String> = mine.iter().flat_map(|r| r.failed.clone()).collect();
        println!(
            "| {n} | {:.0} s | {} | {} | {} | {} | {} | {} |",
            walls[walls.len() / 2],
            walls
                .iter()
                .map(|w| format!("{w:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            mine.first().map_or(0, |r| r.results),
            failed.len(),
            mine.iter().map(|r| r.starved).sum::<usize>(),
            mine.iter().map(|r| r.reruns).sum::<usize>(),
            mine.iter()
                .map(|r| r.load.clone())
                .collect::<Vec<_>>()
                .join("; ")
        );
        for f in failed {
            println!("  failed at N={n}: {f}");
        }
    }
}
