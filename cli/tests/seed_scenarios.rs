//! End-to-end: every lab's shipped scenarios (labs/*/scenarios/*.yaml) pass for real, with
//! keepalived and with halabd as the VRRP engine, run as CI runs them: one `halab test labs
//! --engine keepalived,halabd --jobs N --json` (N from `HALAB_TEST_JOBS`, else halab's
//! default), each (lab, engine) in a lab instance of its own. Prints each outage measured.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{heavy, labs_dir};
use halab::scenario::result::{Outcome, ScenarioResult};

/// (lab, scenario) of every shipped scenario file.
fn shipped() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for lab in std::fs::read_dir(labs_dir()).expect("labs/").flatten() {
        let dir = lab.path().join("scenarios");
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        let name = lab.file_name().to_string_lossy().to_string();
        for f in files.flatten() {
            let p = f.path();
            if p.extension().is_some_and(|x| x == "yaml") {
                let stem = p.file_stem().map(|s| s.to_string_lossy().to_string());
                out.insert((name.clone(), stem.unwrap_or_default()));
            }
        }
    }
    out
}

fn why(r: &ScenarioResult) -> String {
    r.steps
        .iter()
        .filter_map(|st| match &st.outcome {
            Outcome::Failed {
                expected,
                seen,
                last_samples,
            } => Some(format!(
                "  step {} `{}`: expected {expected}; seen {seen}\n    {}",
                st.index,
                st.description,
                last_samples.join("\n    ")
            )),
            _ => None,
        })
        .chain(
            r.violations
                .iter()
                .map(|v| format!("  invariant: {} ({}..{} ms)", v.what, v.start_ms, v.end_ms)),
        )
        .chain(r.starved.iter().map(|s| format!("  {s}")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A copy of the shipped lab dir `lab` (lab.yaml and scenarios/) whose lab has a name unique
/// to this test run: one lab and one engine run under the lab's own name, which namespaces
/// left by a killed earlier run (or a demo of the same lab) would hold already.
fn renamed_copy(lab: &Path, tag: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(lab.join("lab.yaml")).expect("lab.yaml");
    let name = common::unique_lab(tag);
    let renamed: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("name:") {
                format!("name: {name}")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(
        renamed.iter().any(|l| *l == format!("name: {name}")),
        "no top-level name: in {}",
        lab.display()
    );
    std::fs::write(dir.path().join("lab.yaml"), renamed.join("\n") + "\n").expect("write");
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).expect("mkdir");
    for f in std::fs::read_dir(lab.join("scenarios"))
        .expect("scenarios/")
        .flatten()
    {
        std::fs::copy(f.path(), scenarios.join(f.file_name())).expect("copy");
    }
    dir
}

/// `halab test LAB --engine ENGINES --json [--jobs N]`: the results, the exit code, stderr.
fn halab_test(lab: &Path, engines: &str) -> (Vec<ScenarioResult>, Option<i32>, String) {
    let state = common::state_root("halab-seed-");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_halab"));
    cmd.arg("test")
        .arg(lab)
        .args(["--engine", engines, "--json"])
        .env("HALAB_STATE_DIR", state.path());
    if let Ok(jobs) = std::env::var("HALAB_TEST_JOBS") {
        cmd.args(["--jobs", &jobs]);
    }
    let out = cmd.output().expect("run halab test");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let results: Vec<ScenarioResult> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("halab test --json printed no results ({e}):\n{stderr}"));
    (results, out.status.code(), stderr)
}

fn print_outages(results: &[ScenarioResult]) {
    for r in results {
        for st in &r.steps {
            if let Some(o) = st.outage {
                println!(
                    "{:<10} {:<8} {:<14} {:<40} failed {:>4}/{:<5} longest gap {:>6} ms",
                    r.engine,
                    r.lab,
                    r.scenario,
                    st.description,
                    o.failed,
                    o.requests,
                    o.longest_gap_ms
                );
            }
        }
    }
}

fn failures(results: &[ScenarioResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            format!(
                "{}/{} [{}] failed:\n{}",
                r.lab,
                r.scenario,
                r.engine,
                why(r)
            )
        })
        .collect()
}

#[test]
fn every_seed_scenario_passes_with_keepalived_and_with_halabd() {
    let _g = heavy();
    let (results, code, stderr) = halab_test(&labs_dir(), "keepalived,halabd");
    print_outages(&results);
    let failures = failures(&results);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(code, Some(0), "exit code; stderr:\n{stderr}");
    // Every shipped scenario ran once per engine, under its lab's own name.
    let want = shipped();
    assert!(!want.is_empty(), "no lab ships scenarios");
    for engine in ["keepalived", "halabd"] {
        let got: BTreeSet<(String, String)> = results
            .iter()
            .filter(|r| r.engine == engine)
            .map(|r| (r.lab.clone(), r.scenario.clone()))
            .collect();
        assert_eq!(got, want, "scenarios run with {engine}");
    }
    assert_eq!(
        results.len(),
        2 * want.len(),
        "each scenario once per engine"
    );
}

/// The active/active lab (two VIPs, each LB the MASTER of one) with keepalived on lb1 and
/// halabd on lb2: its scenario measures both VIPs across the engines' handover.
#[test]
fn the_active_active_lab_passes_with_mixed_engines() {
    let _g = heavy();
    let lab = renamed_copy(&labs_dir().join("active-active"), "aa");
    let (results, code, stderr) = halab_test(lab.path(), "mixed");
    print_outages(&results);
    let failures = failures(&results);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(code, Some(0), "exit code; stderr:\n{stderr}");
    assert!(!results.is_empty(), "no scenario ran");
    assert!(
        results.iter().all(|r| r.engine.starts_with("mixed")),
        "engines: {:?}",
        results.iter().map(|r| r.engine.clone()).collect::<Vec<_>>()
    );
}

/// The dual-stack lab (an IPv4 and an IPv6 instance, VRRPv3 both) with keepalived on
/// loadbalance1 and halabd on loadbalance2: both VIPs fail over and partition across the
/// engines, each measured from the client (keepalived and halabd alone run in the test above).
#[test]
fn the_dual_stack_lab_passes_with_mixed_engines() {
    let _g = heavy();
    let lab = renamed_copy(&labs_dir().join("seed000-v6"), "v6");
    let (results, code, stderr) = halab_test(lab.path(), "mixed");
    print_outages(&results);
    let failures = failures(&results);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(code, Some(0), "exit code; stderr:\n{stderr}");
    let ran: BTreeSet<String> = results.iter().map(|r| r.scenario.clone()).collect();
    assert_eq!(
        ran,
        BTreeSet::from(["failover".to_string(), "partition".to_string()]),
        "scenarios run"
    );
    assert!(
        results.iter().all(|r| r.engine.starts_with("mixed")),
        "engines: {:?}",
        results.iter().map(|r| r.engine.clone()).collect::<Vec<_>>()
    );
    // Both families were probed: the IPv6 VIP's requests are in the results.
    let v6 = results
        .iter()
        .flat_map(|r| r.samples.iter())
        .filter(|s| s.vip.is_some_and(|v| v.is_ipv6()))
        .count();
    assert!(v6 > 0, "no request went through the IPv6 VIP");
}
