//! End-to-end: the five seed deployments (labs/import/seed000..seed004), their configs copied
//! out of the seed documents, imported and run through the standard suite with keepalived.
//!
//! Input: labs/import/seedNNN (as written) and labs/import/seedNNN-fixed (the minimal fixes
//! each FIXES.md lists). Output: every as-written seed is refused before anything starts, by
//! the import (seed 002's machine-translated keywords) or by the real haproxy 2.6 and
//! keepalived 2.2 (naming the line); every fixed seed passes the whole standard suite with
//! keepalived, the five labs run at once (`--jobs 5`), and the suite states each seed's real
//! flaw: seed 001's check stops keepalived, seed 004's check can never succeed.

mod common;

use std::path::{Path, PathBuf};

use halab::scenario::session::EngineChoice;
use halab::scenario::suite;
use halab::standard::plan::Outcome;

const SEEDS: [&str; 5] = ["seed000", "seed001", "seed002", "seed003", "seed004"];

fn fixture(name: &str) -> PathBuf {
    common::labs_dir().join("import").join(name)
}

/// Imports `dir` into `out/lab.yaml` under `name` and loads it.
fn import(dir: &Path, name: &str, out: &Path) -> Result<(PathBuf, halab::lab::Lab), String> {
    let imported =
        halab::import::import(&[dir.to_path_buf()], name, out).map_err(|e| e.to_string())?;
    let file = out.join("lab.yaml");
    std::fs::write(&file, &imported.yaml).expect("write lab");
    let lab = halab::lab::load(&file).map_err(|e| e.to_string())?;
    Ok((file, lab))
}

/// What the real tools say about the lab's files, refusals only: "node path: message".
fn refusals(lab: &halab::lab::Lab) -> String {
    let t = halab::render::Templates::embedded().expect("templates");
    let artefacts = halab::render::render(lab, &t).expect("render");
    halab::check::check_all(lab, &artefacts, Path::new("/nonexistent/halabd"))
        .into_iter()
        .filter_map(|r| {
            r.result
                .err()
                .map(|e| format!("{} {}: {e}", r.node, r.path))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_seeds_as_written_are_refused_with_the_line_that_breaks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Seed 002's configs went through a machine translation: `Global_defs`, `StateMASTER`.
    let e = import(&fixture("seed002"), "s2", tmp.path()).expect_err("seed 002 refused");
    assert!(
        e.contains("seed002/master/keepalived.conf:2: unknown keyword `Global_defs`"),
        "{e}"
    );
    let expected: [(&str, &[&str]); 4] = [
        (
            "seed000",
            &[
                "haproxy.cfg:56] : please use the 'bind' keyword",
                "Invalid smtp server stmp@example.com",
            ],
        ),
        (
            "seed001",
            &[
                "track script check_haproxy not found, ignoring",
                "missing timeouts for frontend 'nginx'",
                "SECURITY VIOLATION",
            ],
        ),
        (
            "seed003",
            &["cannot find user id for 'ha'", "SECURITY VIOLATION"],
        ),
        ("seed004", &["SECURITY VIOLATION"]),
    ];
    for (seed, needles) in expected {
        let out = tmp.path().join(seed);
        std::fs::create_dir_all(&out).expect("dir");
        let (_, lab) = import(&fixture(seed), seed, &out).unwrap_or_else(|e| panic!("{e}"));
        let said = refusals(&lab);
        for n in needles {
            assert!(said.contains(n), "{seed}: `{n}` not in\n{said}");
        }
        // ...and the minimal fixes leave nothing for the tools to refuse.
        let fixed = format!("{seed}-fixed");
        let out = tmp.path().join(&fixed);
        std::fs::create_dir_all(&out).expect("dir");
        let (_, lab) = import(&fixture(&fixed), seed, &out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refusals(&lab), "", "{fixed}");
    }
}

#[test]
fn the_fixed_seeds_pass_the_standard_suite_and_their_flaws_are_found() {
    let _g = common::heavy();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut labs = Vec::new();
    for (i, seed) in SEEDS.iter().enumerate() {
        let out = tmp.path().join(seed);
        std::fs::create_dir_all(&out).expect("dir");
        // Short names: each instance adds the PID and its number.
        let (file, lab) = import(&fixture(&format!("{seed}-fixed")), &format!("sd{i}"), &out)
            .unwrap_or_else(|e| panic!("{seed}: {e}"));
        labs.push((file, lab));
    }
    let plans: Vec<_> = labs.iter().map(|(_, l)| halab::standard::plan(l)).collect();
    let dies = |k: usize| {
        plans[k]
            .planned
            .iter()
            .find(|p| p.scenario.name == "VI_1-haproxy-dies")
            .map(|p| p.expectation.clone())
            .expect("a haproxy-dies scenario")
    };
    // Seed 001: the check moves the VIP (weight 0: FAULT), but its script stops keepalived.
    let d1 = dies(1);
    assert!(matches!(d1.outcome, Outcome::Moves { .. }));
    let f1 = d1.finding.expect("seed 001's finding");
    assert!(
        f1.contains("stops keepalived when haproxy is gone (`systemctl stop keepalived`)"),
        "{f1}"
    );
    // Seed 002: weight 2 cannot move the VIP, but the script restarts haproxy.
    assert_eq!(dies(2).outcome, Outcome::Restarted);
    // Seed 004: the probe of 127.0.0.1:80 can never succeed, haproxy binds the VIP only.
    let d4 = dies(4);
    assert_eq!(d4.outcome, Outcome::Stays);
    let f4 = d4.finding.expect("seed 004's finding");
    assert!(
        f4.contains("can never succeed: it probes 127.0.0.1:80"),
        "{f4}"
    );
    assert!(f4.contains("192.168.64.200:80 (haproxy.cfg:"), "{f4}");
    // Seeds 000 and 003: haproxy's death moves the VIP, nothing to report.
    for k in [0, 3] {
        assert!(
            matches!(dies(k).outcome, Outcome::Moves { .. }),
            "{}",
            SEEDS[k]
        );
        assert!(
            plans[k]
                .planned
                .iter()
                .all(|p| p.expectation.finding.is_none())
        );
    }

    let units = suite::plan(&labs, &[EngineChoice::Keepalived], &|_, lab| {
        Ok(halab::standard::plan(lab)
            .planned
            .into_iter()
            .map(|p| p.scenario)
            .collect())
    })
    .expect("units");
    assert_eq!(units.len(), 5);
    let root = common::state_root("halab-seeds-");
    let options = || Ok(common::options(root.path()));
    let started = std::time::Instant::now();
    let outcomes = suite::run(&units, 5, &options, &suite::NoWatch);
    eprintln!(
        "five seeds, standard suite, --jobs 5: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut failed = Vec::new();
    for (k, o) in outcomes.iter().enumerate() {
        if let Some(e) = &o.lab_error {
            failed.push(format!("{}: {e}", SEEDS[k]));
        }
        assert_eq!(o.results.len(), plans[k].planned.len(), "{}", SEEDS[k]);
        for r in o.results.iter().filter(|r| !r.passed) {
            failed.push(format!(
                "{} {}: {:?}",
                SEEDS[k],
                r.scenario,
                r.steps.iter().find(|s| !s.outcome.passed())
            ));
        }
        let summary = halab::standard::report::summary(&plans[k], &o.results);
        eprintln!("{}:{summary}", SEEDS[k]);
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

// Input: two imported seeds given to `halab test A B standard --check`. Output: each lab's
// standard suite is planned (as the units `--jobs` runs), nothing runs, exit 0.
#[test]
fn several_labs_get_their_standard_suites_planned_by_the_cli() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for seed in ["seed001", "seed004"] {
        let out = tmp.path().join(seed);
        std::fs::create_dir_all(&out).expect("dir");
        let (file, _) = import(&fixture(&format!("{seed}-fixed")), seed, &out)
            .unwrap_or_else(|e| panic!("{e}"));
        files.push(file.to_string_lossy().to_string());
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_halab"))
        .args([
            "test",
            &files[0],
            &files[1],
            "standard",
            "--engine",
            "keepalived",
            "--check",
        ])
        .output()
        .expect("run halab");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in &files {
        for s in ["VI_1-haproxy-dies", "VI_1-split-brain", "both-lbs-down"] {
            assert!(out.contains(&format!("ok {f} {s}")), "{f} {s}:\n{out}");
        }
    }
}
