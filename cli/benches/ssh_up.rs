//! Provisioning over ssh: `halab up` of seed000's ssh lab onto 5 fresh hosts (2 LBs, 3 web
//! servers; the probe runs on the machine running halab) from nothing, then a no-op re-run,
//! each from the test bed's control namespace; the netns `up` of the same lab in the same run
//! for scale. As root: `cargo bench -p halab --bench ssh_up -- [RUNS]` (default 3).
//!
//! Prints each run and the medians. Times include render and the local real-tool checks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_halab"))
}

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

/// Tears the test bed (and what was provisioned on it) down, also when a run panics.
struct Bed {
    state: PathBuf,
    file: PathBuf,
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = Command::new(exe())
            .env("HALAB_STATE_DIR", &self.state)
            .args(["testbed", "down"])
            .arg(&self.file)
            .output();
    }
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
        let name = format!("bs{}x{k}", std::process::id() % 100_000);
        let files = tempfile::tempdir().expect("tempdir");
        let state = tempfile::Builder::new()
            .prefix("halab-bench-")
            .tempdir_in("/run")
            .expect("state");
        // The client without an ssh section: the probe runs here, in the control namespace.
        let text = src
            .replace("name: seed000", &format!("name: {name}"))
            .replace(", ssh: { host: 192.168.0.10 }", "");
        let file = files.path().join("ssh.yaml");
        std::fs::write(&file, text).expect("lab file");
        let dir = files.path().join("bed");
        let halab = || {
            let mut c = Command::new(exe());
            c.env("HALAB_STATE_DIR", state.path());
            c
        };
        let bed = Bed {
            state: state.path().to_path_buf(),
            file: file.clone(),
        };
        let (_, out) = run(halab()
            .args(["testbed", "up"])
            .arg(&file)
            .arg("--dir")
            .arg(&dir));
        let netns_path = out.lines().last().unwrap_or_default().trim().to_string();
        let remote = |args: &[&str]| {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={netns_path}"))
                .arg(exe())
                .args(args)
                .env("HALAB_STATE_DIR", state.path())
                .env("HALAB_SSH_CONFIG", dir.join("ssh_config"));
            c
        };
        let f = file.to_string_lossy().to_string();
        let (t_fresh, _) = run(&mut remote(&["up", &f]));
        let (t_noop, out) = run(&mut remote(&["up", &f]));
        assert!(
            out.contains("0 changes"),
            "the re-run changed something:\n{out}"
        );
        let _ = run(&mut remote(&["down", &name, "--purge"]));
        drop(bed);
        // The same lab on the netns provider, for scale.
        let netns_file = files.path().join("lab.yaml");
        std::fs::write(
            &netns_file,
            std::fs::read_to_string(labs.join("lab.yaml"))
                .expect("lab.yaml")
                .replace("name: seed000", &format!("name: {name}n")),
        )
        .expect("lab file");
        let (t_netns, _) = run(halab().arg("up").arg(&netns_file));
        let _ = run(halab().args(["down", &format!("{name}n")]));
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
