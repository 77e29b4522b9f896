//! Benchmark: how long a bare halab-netns lab takes to come up (inits started, ready, links)
//! and to go down, for 5 and 52 nodes with the state dir on tmpfs, and 52 with it on disk.
//! Each run also checks the wiring (the last node reaches the first) and that teardown left
//! nothing. `cargo bench -p halab --bench netns_up_down [-- RUNS]` (root; default 5 runs).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::init_cmd;
use common::plans::{assert_gone, assert_last_reaches_first, init_procs, many_nodes_plan};
use halab_netns as netns;

struct Times {
    up: Duration,
    spawned: Duration,
    ready: Duration,
    links: Duration,
    down: Duration,
}

fn once(count: usize, on_tmpfs: bool) -> Times {
    let dir = if on_tmpfs {
        tempfile::tempdir_in("/dev/shm").expect("tempdir on /dev/shm")
    } else {
        tempfile::tempdir().expect("tempdir")
    };
    let plan = many_nodes_plan(&dir, count);
    let start = Instant::now();
    let lab = netns::up(&plan, &init_cmd()).expect("up");
    let up = start.elapsed();
    let t = lab.timings().expect("timings");
    assert_last_reaches_first(&lab, count);
    let procs = init_procs(&lab);
    let report = lab.down().expect("down");
    assert_gone(&plan.lab, &plan.state_dir, &procs);
    Times {
        up,
        spawned: t.spawned,
        ready: t.inits,
        links: t.links,
        down: report.elapsed,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    println!("halab-netns lab up and down, {runs} runs each, medians in ms");
    println!("| nodes | state dir | up | inits started | inits ready | links | down |");
    println!("|---|---|---|---|---|---|---|");
    for (count, on_tmpfs) in [(5, true), (52, true), (52, false)] {
        let all: Vec<Times> = (0..runs).map(|_| once(count, on_tmpfs)).collect();
        let m = |f: fn(&Times) -> Duration| ms(median(all.iter().map(f).collect()));
        println!(
            "| {count} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            if on_tmpfs { "tmpfs" } else { "disk" },
            m(|t| t.up),
            m(|t| t.spawned),
            m(|t| t.ready),
            m(|t| t.links),
            m(|t| t.down),
        );
    }
}
