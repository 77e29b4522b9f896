//! End-to-end: an operator's own configs imported (labs/import/example: two LBs with their
//! keepalived.conf and haproxy.cfg, interface ens192) and the standard suite run on them
//! with keepalived, every scenario against the lab's own timers.
//!
//! Input: labs/import/example, imported. Output: every standard scenario passes (the
//! configuration does what its timers and priorities say), and the one flaw of the example is
//! found: haproxy dies on lb1, the VIP stays (weight -2 takes 110 to 108, not below 100),
//! measured as staying while the service is down.

mod common;

use common::{TestLab, heavy, labs_dir, options};
use halab::scenario::{run, session};
use halab::standard::plan::Outcome;

#[test]
fn an_imported_lab_passes_the_standard_suite_and_its_flaw_is_found() {
    let _g = heavy();
    let src = labs_dir().join("import/example");
    let dir = tempfile::tempdir().expect("tempdir");
    let imported =
        halab::import::import(&[src], "example", dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("lab.yaml");
    std::fs::write(&file, &imported.yaml).expect("write lab");
    let t = TestLab::up(&file, |_| {});
    let plan = halab::standard::plan(&t.lab);
    let flaw = plan
        .planned
        .iter()
        .find(|p| p.scenario.name == "VI_WWW-haproxy-dies")
        .expect("a haproxy-dies scenario");
    assert_eq!(flaw.expectation.outcome, Outcome::Stays);
    assert!(flaw.expectation.finding.is_some());
    let halabd = options(t.state_root.path())
        .halabd
        .to_string_lossy()
        .to_string();
    let fleet = t.fleet();
    let mut results = Vec::new();
    for (i, p) in plan.planned.iter().enumerate() {
        if i > 0 {
            session::restore(&t.lab, fleet.as_ref(), &halabd)
                .unwrap_or_else(|e| panic!("restore before {}: {e}", p.scenario.name));
        }
        results.push(run::run(
            &t.lab,
            &fleet,
            &p.scenario,
            "keepalived",
            &halabd,
            &mut |_| {},
        ));
    }
    let summary = halab::standard::report::summary(&plan, &results);
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            format!(
                "{}: {:?}",
                r.scenario,
                r.steps.iter().find(|s| !s.outcome.passed())
            )
        })
        .collect();
    assert!(failed.is_empty(), "{}\n{summary}", failed.join("\n"));
    assert!(
        summary.contains("haproxy dies on lb1: VIP stays on lb1 for"),
        "{summary}"
    );
    assert!(summary.contains("Findings:"), "{summary}");
    t.down();
}
