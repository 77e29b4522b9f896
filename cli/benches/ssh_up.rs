//! Provisioning over ssh: `halab up` of seed000's ssh lab onto 5 fresh hosts (2 LBs, 3 web
//! servers; the probe runs on the machine running halab) from nothing, then a no-op re-run,
//! each from the test bed's control namespace; the netns `up` of the same lab in the same run
//! for scale. As root: `cargo bench -p halab --bench ssh_up -- [RUNS]` (default 3).
//!
//! Prints each run and the medians. Times include render and the local real-tool checks.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::bed::Bed;

/// (time, stdout); panics with the output if it failed.
fn run(cmd: &mut Command) -> (Duration, String) {
    let t = Instant::now();
    let out = cmd.output().expect("run halab");
    let took = t.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, stdout)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000");
    let src = std::fs::read_to_string(labs.join("ssh.yaml")).expect("ssh.yaml");
    let (mut fresh, mut noop, mut netns) = (Vec::new(), Vec::new(), Vec::new());
    println!("ssh provisioning, seed000 (5 hosts: 2 LB + 3 web), {runs} runs");
    for k in 0..runs {
        // The client without an ssh section: the probe runs here, in the control namespace.
        let mut bed = Bed::new("bs", |name| {
            src.replace("name: seed000", &format!("name: {name}"))
                .replace(", ssh: { host: 192.168.0.10 }", "")
        });
        let out = bed.up();
        assert!(
            out.status.success(),
            "testbed up: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let f = bed.file.to_string_lossy().to_string();
        let (t_fresh, _) = run(&mut bed.remote_command(None, &["up", &f]));
        let (t_noop, out) = run(&mut bed.remote_command(None, &["up", &f]));
        assert!(
            out.contains("0 changes"),
            "the re-run changed something:\n{out}"
        );
        let _ = run(&mut bed.remote_command(None, &["down", &bed.lab, "--purge"]));
        // The same lab on the netns provider, for scale.
        let netns_lab = format!("{}n", bed.lab);
        let netns_file = bed.files.path().join("lab.yaml");
        std::fs::write(
            &netns_file,
            std::fs::read_to_string(labs.join("lab.yaml"))
                .expect("lab.yaml")
                .replace("name: seed000", &format!("name: {netns_lab}")),
        )
        .expect("lab file");
        let halab = || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_halab"));
            c.env("HALAB_STATE_DIR", bed.state_root.path());
            c
        };
        let (t_netns, _) = run(halab().arg("up").arg(&netns_file));
        let _ = run(halab().args(["down", &netns_lab]));
        drop(bed);
        println!(
            "  run {k}: ssh from nothing {:.2} s, ssh no-op {:.2} s, netns up {:.2} s",
            t_fresh.as_secs_f64(),
            t_noop.as_secs_f64(),
            t_netns.as_secs_f64()
        );
        fresh.push(t_fresh.as_secs_f64());
        noop.push(t_noop.as_secs_f64());
        netns.push(t_netns.as_secs_f64());
    }
    let (f, n, u) = (median(&mut fresh), median(&mut noop), median(&mut netns));
    println!(
        "median: ssh from nothing {f:.2} s, ssh no-op re-run {n:.2} s; netns up of the same lab {u:.2} s (ssh/netns {:.1}x)",
        f / u
    );
}
