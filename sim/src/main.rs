//! `halab-sim`: run seeded schedules against the VRRP core, or replay one.
//!
//! ```text
//! halab-sim run [--from SEED] [--seeds N | --secs S]     # report failing seeds, schedules/s
//! halab-sim replay SEED [--trace FILE]                    # one seed: schedule, violations, trace
//! ```
//!
//! Exit codes: 0 no violation, 1 a violation, 2 bad usage or an unwritable trace file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use halab_sim::run_seed;
use halab_sim::schedule::Schedule;

#[derive(Parser)]
#[command(
    name = "halab-sim",
    about = "Deterministic simulation of halab's VRRP core"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run schedules from seed `--from` on, for `--seeds` seeds or `--secs` seconds.
    Run {
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long)]
        seeds: Option<u64>,
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
    },
    /// Run one seed and print its schedule and violations; write its trace as JSON lines.
    Replay {
        seed: u64,
        #[arg(long)]
        trace: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { from, seeds, secs } => run(from, seeds, secs),
        Command::Replay { seed, trace } => replay(seed, trace),
    }
}

fn run(from: u64, seeds: Option<u64>, secs: f64) -> ExitCode {
    let started = Instant::now();
    let budget = Duration::from_secs_f64(secs.max(0.0));
    let (mut done, mut events, mut failed) = (0u64, 0u64, 0u64);
    let mut seed = from;
    while seeds.map_or(started.elapsed() < budget, |n| done < n) {
        let run = run_seed(seed, false);
        events += run.events;
        if !run.violations.is_empty() {
            failed += 1;
            for v in &run.violations {
                println!("{v}");
            }
        }
        done += 1;
        seed += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{done} schedules (seeds {from}..{seed}), {events} events in {elapsed:.2} s: {:.0} schedules/s, {:.0} events/s; {failed} failing",
        done as f64 / elapsed,
        events as f64 / elapsed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn replay(seed: u64, trace: Option<PathBuf>) -> ExitCode {
    let schedule = Schedule::generate(seed);
    println!(
        "{}",
        serde_json::to_string_pretty(&schedule).unwrap_or_default()
    );
    let run = run_seed(seed, trace.is_some());
    if let (Some(path), Some(text)) = (&trace, &run.trace) {
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: failed to write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        println!("trace: {} ({} lines)", path.display(), text.lines().count());
    }
    for v in &run.violations {
        println!("{v}");
    }
    if run.violations.is_empty() {
        println!("seed {seed}: no violation ({} events)", run.events);
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
