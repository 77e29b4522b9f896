//! Benchmark: validate + render a lab with 2 LBs and N web nodes (default 200).
//! `cargo bench -p halab --bench render [-- N]` prints the median of 21 runs of each stage.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use halab::lab;
use halab::render::{self, Templates};

fn lab_text(webs: usize) -> String {
    let mut s =
        String::from("name: bench\nnetworks:\n  - { name: lan, cidr: 10.20.0.0/16 }\nnodes:\n");
    s.push_str("  - { name: lb1, role: lb, address: 10.20.0.11 }\n  - { name: lb2, role: lb, address: 10.20.0.12 }\n");
    for i in 0..webs {
        s.push_str(&format!(
            "  - {{ name: web{i}, role: web, address: 10.20.{}.{} }}\n",
            1 + i / 250,
            1 + i % 250
        ));
    }
    s.push_str("vrrp:\n  - { vrid: 51, vips: [10.20.0.10], auth: { pass: secret } }\n");
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let webs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let text = lab_text(webs);
    let env: HashMap<String, String> = HashMap::new();
    let t = Templates::embedded().expect("templates");
    let (mut parse, mut rend) = (Vec::new(), Vec::new());
    let mut files = 0;
    for _ in 0..21 {
        let start = Instant::now();
        let l = lab::parse(Path::new("bench.yaml"), &text, &env).expect("bench lab validates");
        parse.push(start.elapsed());
        let start = Instant::now();
        files = render::render(&l, &t).expect("render").len();
        rend.push(start.elapsed());
    }
    let (p, r) = (median(parse), median(rend));
    println!("render benchmark: {webs} web nodes + 2 LBs + client, {files} files");
    println!("  parse+validate  median {:>8.2} ms", p.as_secs_f64() * 1e3);
    println!("  render          median {:>8.2} ms", r.as_secs_f64() * 1e3);
    println!(
        "  total           median {:>8.2} ms",
        (p + r).as_secs_f64() * 1e3
    );
}
