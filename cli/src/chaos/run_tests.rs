//! A campaign on a scripted target (no lab): what a restore failure and `--keep-going` do.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use super::*;

fn seed000() -> Lab {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/lab.yaml");
    crate::lab::load(&file).expect("seed000 validates")
}

fn passed(name: &str) -> ScenarioResult {
    ScenarioResult {
        lab: "seed000".into(),
        scenario: name.into(),
        description: None,
        engine: "keepalived".into(),
        started_unix_ms: 0,
        duration_ms: 1,
        passed: true,
        steps: vec![],
        samples: vec![],
        vip_timeline: vec![],
        faults: vec![],
        violations: vec![],
        error: None,
        stalls: vec![],
        starved: None,
        rerun_after: None,
    }
}

/// Every episode's checks pass; the restore after a run that held episode `bad` fails its
/// first `fails` tries (the client left on a stale ARP entry after the checks, say).
struct Scripted {
    bad: usize,
    fails: usize,
    /// The run's numbers of each scenario run, in order.
    runs: Vec<Vec<usize>>,
    restores: usize,
    failing_left: usize,
}

impl Scripted {
    fn new(bad: usize, fails: usize) -> Self {
        Scripted {
            bad,
            fails,
            runs: vec![],
            restores: 0,
            failing_left: 0,
        }
    }
}

impl Target for Scripted {
    fn episodes(
        &mut self,
        name: &str,
        c: &Candidate,
        _: &mut dyn FnMut(&Event),
    ) -> Result<(ScenarioResult, Vec<Finding>), ChaosError> {
        self.runs.push(c.numbers.clone());
        self.failing_left = if c.numbers.contains(&self.bad) {
            self.fails
        } else {
            0
        };
        Ok((passed(name), vec![]))
    }

    fn restore(&mut self) -> Result<(), String> {
        self.restores += 1;
        if self.failing_left > 0 {
            self.failing_left -= 1;
            return Err("no 200 through 192.168.0.130 within 12.2s".into());
        }
        Ok(())
    }

    fn settled_holders(&mut self) -> BTreeMap<IpAddr, Vec<String>> {
        BTreeMap::new()
    }
}

fn options(out: &Path, faults: usize, keep_going: bool) -> Options {
    Options {
        seed: 2026,
        limit: Limit::Faults(faults),
        keep_going,
        shrink_budget: 4,
        out_dir: out.to_path_buf(),
        replay_command: "halab chaos labs/seed000 --seed 2026".into(),
        halabd: "halabd".into(),
        engine: "keepalived".into(),
        differential: false,
    }
}

// Input: three episodes whose checks all pass; the restore after episode 1 fails once.
// Output: no lab error; the run stops at episode 1 with a "client served" finding naming the
// restore, its replay file written, and the shrink reproducing it with episode 1 alone.
#[test]
fn a_restore_failure_is_a_finding_of_the_episode_before() {
    let lab = seed000();
    let dir = tempfile::tempdir().expect("tmp");
    let mut t = Scripted::new(1, 1);
    let r = campaign(&lab, &mut t, &options(dir.path(), 3, false), &mut |_| {}).expect("run");
    assert_eq!(r.lab_error, None);
    assert_eq!(r.episodes.len(), 2, "stops at the finding");
    assert!(r.episodes[0].findings.is_empty());
    let f = &r.episodes[1].findings;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].invariant, Invariant::ClientServed);
    assert!(f[0].detail.contains("could not be restored"), "{f:?}");
    assert!(f[0].detail.contains("192.168.0.130"), "{f:?}");
    assert!(r.episodes[1].replay_file.as_ref().is_some_and(|p| p.is_file()));
    let s = r.shrink.as_ref().expect("shrunk");
    assert_eq!(s.invariant, Invariant::ClientServed);
    assert!(s.reproduced);
    assert_eq!(s.episodes, vec![1]);
    assert!(s.shrunk_file.is_file() && s.replay_file.is_file());
    assert_eq!(r.findings().len(), 1);
}

// Input: the restore after episode 1 never succeeds. Output: the finding recorded, then a
// lab error after RESTORE_TRIES tries, no shrink.
#[test]
fn a_lab_that_stays_broken_is_a_lab_error() {
    let lab = seed000();
    let dir = tempfile::tempdir().expect("tmp");
    let mut t = Scripted::new(1, usize::MAX);
    let r = campaign(&lab, &mut t, &options(dir.path(), 3, false), &mut |_| {}).expect("run");
    assert!(
        r.lab_error
            .as_deref()
            .is_some_and(|e| e.contains("after fault 1")),
        "{:?}",
        r.lab_error
    );
    assert_eq!(r.episodes.len(), 2);
    assert_eq!(r.episodes[1].findings[0].invariant, Invariant::ClientServed);
    assert!(r.shrink.is_none());
    assert_eq!(t.restores, 1 + RESTORE_TRIES);
}

// Input: four episodes with --keep-going, the restore after episode 2 failing once, a budget
// of 4 replays. Output: all four run; episode 2 alone has a finding, shrunk from itself alone
// (the lab was restored before it) within the budget; the others have no shrink.
#[test]
fn keep_going_shrinks_each_failing_episode() {
    let lab = seed000();
    let dir = tempfile::tempdir().expect("tmp");
    let mut t = Scripted::new(2, 1);
    let r = campaign(&lab, &mut t, &options(dir.path(), 4, true), &mut |_| {}).expect("run");
    assert_eq!(r.lab_error, None);
    assert_eq!(r.episodes.len(), 4);
    assert!(r.shrink.is_none());
    for e in &r.episodes {
        assert_eq!(e.shrink.is_some(), e.number == 2, "{e:?}");
    }
    let s = r.episodes[2].shrink.as_ref().expect("shrunk");
    assert!(s.reproduced);
    assert_eq!(s.episodes, vec![2]);
    assert!(s.replays >= 1 && s.replays <= 4, "{s:?}");
    assert!(s.shrunk_file.is_file());
    // The shrink's replays ran episode 2 alone, between episodes 2 and 3.
    let replays = &t.runs[3..3 + s.replays];
    assert!(replays.iter().all(|n| n == &vec![2]), "{:?}", t.runs);
    assert_eq!(t.runs.last(), Some(&vec![3]));
}
