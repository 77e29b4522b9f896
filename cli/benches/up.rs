//! Benchmark: `halab up` until the first 200 through the VIP, and `halab down`, for the seed
//! lab (seed000 with VRRPv3 and 100 ms adverts) and a lab of 2 LBs + 50 web nodes.
//! `cargo bench -p halab --bench up [-- RUNS]` (root; default 5 runs) prints medians.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::options;
use halab::lab::{self, Lab};
use halab::provider;

fn fast_vrrp(l: &mut Lab) {
    for v in &mut l.vrrp {
        v.version = halab_vrrp::Version::V3;
        v.advert_int_cs = 10;
        v.auth = None;
    }
}

fn many_webs(n: usize) -> Lab {
    let mut s = String::from(
        "name: b50\nnetworks: [{ name: lan, cidr: 10.30.0.0/24 }]\nnodes:\n  - { name: lb1, role: lb, address: 10.30.0.11 }\n  - { name: lb2, role: lb, address: 10.30.0.12 }\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "  - {{ name: web{i}, role: web, address: 10.30.0.{} }}\n",
            100 + i
        ));
    }
    s.push_str("vrrp: [{ vrid: 51, version: 3, advert_int: 0.1, vips: [10.30.0.10] }]\n");
    lab::parse(
        Path::new("bench.yaml"),
        &s,
        &std::collections::HashMap::<String, String>::new(),
    )
    .expect("bench lab")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(label: &str, mut l: Lab, runs: usize) {
    let root = tempfile::Builder::new()
        .prefix("halab-bench-")
        .tempdir_in("/run")
        .expect("state root");
    let (mut ups, mut downs, mut readies) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        l.name = format!("bu{}{i}", std::process::id() % 10_000);
        let mut o = options(root.path());
        let t = Instant::now();
        let r = provider::up(&l, &mut o).expect("up");
        ups.push(t.elapsed());
        readies.push(
            r.stages
                .iter()
                .find(|s| s.0.starts_with("ready"))
                .map_or(Duration::ZERO, |s| s.1),
        );
        let t = Instant::now();
        provider::down(root.path(), &l.name, false).expect("down");
        downs.push(t.elapsed());
    }
    println!(
        "{label:<44} up (to first 200 via VIP) median {:>6.0} ms  [min {:>5.0}, max {:>5.0}]   of which VRRP+ready {:>5.0} ms   down median {:>5.0} ms",
        median(ups.clone()).as_secs_f64() * 1e3,
        ups.iter().min().copied().unwrap_or_default().as_secs_f64() * 1e3,
        ups.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3,
        median(readies).as_secs_f64() * 1e3,
        median(downs).as_secs_f64() * 1e3
    );
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs");
    let mut seed = lab::load(&labs.join("seed000/lab.yaml")).expect("seed000");
    println!(
        "halab up/down benchmark, {runs} runs each (netns provider, real haproxy/nginx/keepalived)"
    );
    bench(
        "seed000 as written (VRRPv2, advert 1 s)",
        seed.clone(),
        runs,
    );
    fast_vrrp(&mut seed);
    bench("seed000, VRRPv3, advert 100 ms", seed, runs);
    bench(
        "2 LBs + 50 web nodes, VRRPv3, advert 100 ms",
        many_webs(50),
        runs,
    );
}
