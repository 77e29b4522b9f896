//! End-to-end: every lab's shipped scenarios (labs/*/scenarios/*.yaml) pass for real, with
//! keepalived and with halabd as the VRRP engine. Prints each outage measured, per engine.

mod common;

use common::{heavy, labs_dir, options, unique_lab};
use halab::lab;
use halab::scenario::result::Outcome;
use halab::scenario::session::{self, EngineChoice};

/// Every lab's scenarios (or `only` that lab's) with `choice` as the engines.
fn run_matrix(choice: EngineChoice, only: Option<&str>) {
    let _g = heavy();
    let mut labs: Vec<_> = std::fs::read_dir(labs_dir())
        .expect("labs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenarios").is_dir())
        .filter(|p| only.is_none_or(|o| p.file_name().is_some_and(|n| n == o)))
        .collect();
    labs.sort();
    assert!(!labs.is_empty(), "no lab ships scenarios");
    let mut failures = Vec::new();
    let (mut ran, mut expected) = (0, 0);
    for dir in labs {
        let file = dir.join("lab.yaml");
        let mut l = lab::load(&file).unwrap_or_else(|e| panic!("{e}"));
        l.name = unique_lab("s");
        let engine = choice.apply(&mut l);
        let files = session::find(&file, &[]).expect("scenario files");
        let scenarios = session::load_all(&files, &l).unwrap_or_else(|e| panic!("{e}"));
        expected += scenarios.len();
        let root = common::state_root("halab-scn-");
        let mut opts = options(root.path());
        let s = session::run_all(&l, &scenarios, &engine, &mut opts, false, &mut |_| {});
        if let Some(e) = &s.lab_error {
            failures.push(format!("{}: {e}", dir.display()));
        }
        for r in &s.results {
            ran += 1;
            for st in &r.steps {
                if let Some(o) = st.outage {
                    println!(
                        "{:<8} {:<10} {:<22} {:<40} failed {:>4}/{:<5} longest gap {:>6} ms",
                        engine,
                        dir.file_name()
                            .map(|n| n.to_string_lossy().to_string())
                            .unwrap_or_default(),
                        r.scenario,
                        st.description,
                        o.failed,
                        o.requests,
                        o.longest_gap_ms
                    );
                }
            }
            if !r.passed {
                let why: Vec<String> = r
                    .steps
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
                    .chain(r.violations.iter().map(|v| {
                        format!("  invariant: {} ({}..{} ms)", v.what, v.start_ms, v.end_ms)
                    }))
                    .collect();
                failures.push(format!(
                    "{}/{} [{engine}] failed:\n{}",
                    dir.display(),
                    r.scenario,
                    why.join("\n")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran > 0, "no scenario ran");
    assert_eq!(ran, expected, "every scenario loaded must have a result");
}

#[test]
fn every_seed_scenario_passes_with_keepalived() {
    run_matrix(EngineChoice::Keepalived, None);
}

#[test]
fn every_seed_scenario_passes_with_halabd() {
    run_matrix(EngineChoice::Halabd, None);
}

/// The active/active lab (two VIPs, each LB the MASTER of one) with keepalived on lb1 and
/// halabd on lb2: its scenario measures both VIPs across the engines' handover.
#[test]
fn the_active_active_lab_passes_with_mixed_engines() {
    run_matrix(EngineChoice::Mixed, Some("active-active"));
}
