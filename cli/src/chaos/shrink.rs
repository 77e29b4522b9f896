//! Shrinking a failing schedule: drop episodes, drop the overlapping fault of an episode,
//! shorten the overlap delay (when the second fault starts) and the holds, keeping each
//! change only if the same invariant still breaks when the smaller schedule is replayed. Replays are real runs (tens of seconds each), so their
//! number is bounded; what is left when the budget runs out is the answer.

use super::invariants::{Finding, Invariant};
use super::schedule::Episode;

/// The shortest hold a shrink tries, ms.
pub const MIN_HOLD_MS: u64 = 500;

/// The next overlap delay a shrink tries: half, in 100 ms steps, then 0 (both faults at
/// once): 2,700 -> 1,300 -> 600 -> 300 -> 100 -> 0.
pub fn shorter_overlap(ms: u64) -> u64 {
    if ms <= 100 { 0 } else { (ms / 2) / 100 * 100 }
}

/// A schedule and the run's numbers of its episodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub episodes: Vec<Episode>,
    pub numbers: Vec<usize>,
}

/// What shrinking did.
#[derive(Debug, Clone)]
pub struct Shrunk {
    pub smallest: Candidate,
    /// Replays run (each a real run of the candidate).
    pub replays: usize,
    /// The first replay (the whole failing prefix) broke the invariant again.
    pub reproduced: bool,
}

/// Shrinks `start` (the episodes up to and including the failing one) while `replay` of a
/// candidate still breaks `invariant`, in at most `budget` replays.
pub fn shrink(
    start: Candidate,
    invariant: Invariant,
    budget: usize,
    replay: &mut dyn FnMut(&Candidate) -> Vec<Finding>,
) -> Shrunk {
    let mut replays = 0usize;
    let mut still = |c: &Candidate, replays: &mut usize| -> bool {
        *replays += 1;
        replay(c)
            .iter()
            .any(|f| f.invariant == invariant && f.starved.is_none())
    };
    let mut cur = start;
    let mut reproduced = false;
    // 1. The failing episode alone (the last one); else the whole prefix, then without each
    //    earlier episode in turn.
    if replays < budget && cur.episodes.len() > 1 {
        let last = Candidate {
            episodes: cur.episodes[cur.episodes.len() - 1..].to_vec(),
            numbers: cur.numbers[cur.numbers.len() - 1..].to_vec(),
        };
        if still(&last, &mut replays) {
            cur = last;
            reproduced = true;
        }
    }
    if !reproduced && replays < budget {
        reproduced = still(&cur, &mut replays);
        if !reproduced {
            return Shrunk {
                smallest: cur,
                replays,
                reproduced,
            };
        }
        let mut i = 0;
        while i + 1 < cur.episodes.len() && replays < budget {
            let mut c = cur.clone();
            c.episodes.remove(i);
            c.numbers.remove(i);
            if still(&c, &mut replays) {
                cur = c;
            } else {
                i += 1;
            }
        }
    }
    // 2. The overlapping fault of each episode, either one.
    for k in 0..cur.episodes.len() {
        for drop in [1usize, 0] {
            if replays >= budget || cur.episodes[k].faults.len() < 2 {
                break;
            }
            let mut c = cur.clone();
            c.episodes[k].faults.remove(drop);
            c.episodes[k].overlap_ms = 0;
            if still(&c, &mut replays) {
                cur = c;
            }
        }
    }
    // 3. Overlap delays (both faults kept), halved while it still breaks, down to both
    //    faults at once.
    for k in 0..cur.episodes.len() {
        while replays < budget && cur.episodes[k].faults.len() > 1 && cur.episodes[k].overlap_ms > 0
        {
            let mut c = cur.clone();
            c.episodes[k].overlap_ms = shorter_overlap(c.episodes[k].overlap_ms);
            if still(&c, &mut replays) {
                cur = c;
            } else {
                break;
            }
        }
    }
    // 4. Holds, halved while it still breaks.
    for k in 0..cur.episodes.len() {
        while replays < budget && cur.episodes[k].hold_ms / 2 >= MIN_HOLD_MS {
            let mut c = cur.clone();
            c.episodes[k].hold_ms = (c.episodes[k].hold_ms / 2) / 100 * 100;
            if still(&c, &mut replays) {
                cur = c;
            } else {
                break;
            }
        }
    }
    Shrunk {
        smallest: cur,
        replays,
        reproduced,
    }
}

#[cfg(test)]
mod tests {
    use super::super::schedule::{Fault, FaultKind};
    use super::*;

    fn fault(kind: FaultKind, node: &str) -> Fault {
        Fault {
            kind,
            node: Some(node.into()),
            percent: 0,
            vrrp_only: false,
            haproxy: false,
        }
    }

    fn episode(faults: Vec<Fault>, hold_ms: u64) -> Episode {
        Episode {
            overlap_ms: if faults.len() > 1 { 1_000 } else { 0 },
            faults,
            hold_ms,
        }
    }

    fn served(hit: bool) -> Vec<Finding> {
        if hit {
            vec![Finding {
                invariant: Invariant::ClientServed,
                detail: "gap".into(),
                starved: None,
            }]
        } else {
            vec![]
        }
    }

    // Input: three episodes; only a tracked kill on lb1 breaks "client served", whatever its
    // hold; it overlaps a backend down in the third. The failing episode alone does not break
    // it (the second episode's nginx stop must come first, say). Output: the second and third
    // episodes kept, the backend down dropped from the third, the third's hold halved to the
    // floor, within the budget.
    #[test]
    fn shrinks_to_the_faults_that_matter() {
        let kill = fault(FaultKind::TrackedKill, "lb1");
        let start = Candidate {
            episodes: vec![
                episode(vec![fault(FaultKind::Reload, "lb2")], 3_000),
                episode(vec![fault(FaultKind::BackendDown, "web1")], 3_000),
                episode(
                    vec![kill.clone(), fault(FaultKind::BackendDown, "web2")],
                    8_000,
                ),
            ],
            numbers: vec![4, 5, 6],
        };
        let mut calls = 0;
        let mut replay = |c: &Candidate| {
            calls += 1;
            let has_kill = c.episodes.iter().any(|e| e.faults.contains(&kill));
            let has_web1 = c
                .episodes
                .iter()
                .any(|e| e.faults.iter().any(|f| f.node.as_deref() == Some("web1")));
            served(has_kill && has_web1)
        };
        let s = shrink(start, Invariant::ClientServed, 30, &mut replay);
        assert!(s.reproduced);
        assert_eq!(s.smallest.numbers, vec![5, 6]);
        assert_eq!(s.smallest.episodes[1].faults, vec![kill]);
        assert_eq!(s.smallest.episodes[1].hold_ms, 500);
        assert_eq!(s.replays, calls);
        assert!(s.replays <= 30);
    }

    // Input: a crash overlapping a backend down 2.7 s later, which breaks "client served"
    // whenever both run, whatever the delay. Output: both faults kept, the delay shortened
    // 2,700 -> 1,300 -> 600 -> 300 -> 100 -> 0 (both faults at once), then the hold halved.
    #[test]
    fn the_overlap_delay_is_shortened_while_it_still_breaks() {
        let crash = fault(FaultKind::Crash, "lb1");
        let web = fault(FaultKind::BackendDown, "web1");
        let mut e = episode(vec![crash.clone(), web.clone()], 2_000);
        e.overlap_ms = 2_700;
        let start = Candidate {
            episodes: vec![e],
            numbers: vec![3],
        };
        let mut tried = vec![];
        let mut replay = |c: &Candidate| {
            let e = &c.episodes[0];
            if e.faults.len() == 2 {
                tried.push(e.overlap_ms);
            }
            served(e.faults.len() == 2)
        };
        let s = shrink(start, Invariant::ClientServed, 20, &mut replay);
        assert!(s.reproduced);
        let e = &s.smallest.episodes[0];
        assert_eq!(e.faults, vec![crash, web]);
        assert_eq!(e.overlap_ms, 0);
        assert_eq!(e.hold_ms, 500);
        assert_eq!(tried[..6], [2_700, 1_300, 600, 300, 100, 0]);
    }

    // Input: a delay that matters (only 2.7 s breaks it). Output: one shorter delay tried and
    // refused, 2.7 s kept.
    #[test]
    fn a_delay_that_matters_is_kept() {
        let mut e = episode(
            vec![fault(FaultKind::Crash, "lb1"), fault(FaultKind::BackendDown, "web1")],
            2_000,
        );
        e.overlap_ms = 2_700;
        let start = Candidate {
            episodes: vec![e],
            numbers: vec![0],
        };
        let s = shrink(start, Invariant::ClientServed, 20, &mut |c: &Candidate| {
            served(c.episodes[0].faults.len() == 2 && c.episodes[0].overlap_ms == 2_700)
        });
        assert_eq!(s.smallest.episodes[0].overlap_ms, 2_700);
    }

    // Input: 2.7 s, shortened again and again. Output: 100 ms steps down to 0, then nothing.
    #[test]
    fn overlaps_shorten_to_zero() {
        let mut seen = vec![2_700];
        while *seen.last().expect("one") > 0 {
            seen.push(shorter_overlap(*seen.last().expect("one")));
        }
        assert_eq!(seen, vec![2_700, 1_300, 600, 300, 100, 0]);
    }

    // Input: a failure that never happens again. Output: nothing dropped, `reproduced` false,
    // two replays (the episode alone, the prefix).
    #[test]
    fn a_failure_that_does_not_come_back_is_left_whole() {
        let start = Candidate {
            episodes: vec![
                episode(vec![fault(FaultKind::Crash, "lb1")], 3_000),
                episode(vec![fault(FaultKind::Stop, "lb2")], 3_000),
            ],
            numbers: vec![0, 1],
        };
        let s = shrink(start.clone(), Invariant::OneHolder, 10, &mut |_| {
            served(true)
        });
        assert!(!s.reproduced);
        assert_eq!(s.smallest, start);
        assert_eq!(s.replays, 2);
    }

    // Input: a budget of 3 replays. Output: at most 3 replays run.
    #[test]
    fn the_budget_bounds_the_replays() {
        let start = Candidate {
            episodes: (0..6)
                .map(|_| episode(vec![fault(FaultKind::Crash, "lb1")], 8_000))
                .collect(),
            numbers: (0..6).collect(),
        };
        let s = shrink(start, Invariant::ClientServed, 3, &mut |_| served(true));
        assert_eq!(s.replays, 3);
        assert_eq!(s.smallest.episodes.len(), 1);
    }
}
