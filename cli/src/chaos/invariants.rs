//! The invariants a chaos run checks, read from an episode's scenario result (the runner's
//! assertions and the invariant monitor) and from the daemons left running afterwards:
//! - at most one VIP holder (and the client's ARP entry on it) once the timers allow;
//! - the client served within the bound the lab's timers give for the fault;
//! - after the repair: each preempting instance's VIP back on its top LB, every
//!   health-checked backend back in rotation;
//! - no daemon gone that no fault killed.
//!
//! A failure that CPU starvation can explain is starved: reported, not taken as a finding.
//! The scenario runner's verdict (`scenario::starvation`) calls a failure starved when any
//! stall of 50 ms touches the failing step; a chaos episode's steps last many seconds on a
//! shared machine, so that would excuse everything. Here the stalls in the failing step (and
//! the second before it) must add up to the excess: how far the outage went over its bound,
//! or [`STARVED_MS`] for the other invariants (a daemon kept off the CPU that long may miss
//! its adverts).

use serde::{Deserialize, Serialize};

use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::scenario::result::{Outcome, ScenarioResult, Stall};
use crate::scenario::starvation::LEAD;

/// Stalls adding up to this much excuse a failure that has no bound to exceed.
pub const STARVED_MS: u64 = 500;
use crate::services::{self, Service};

/// Which invariant broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// Two VIP holders, or the client's ARP entry on a node that does not hold the VIP.
    OneHolder,
    /// The client went unserved longer than the bound.
    ClientServed,
    /// After the repair, a preempting instance's VIP is not on its top LB.
    VipBack,
    /// After the repair, a health-checked backend is not UP on an LB.
    BackendBack,
    /// A daemon is gone that no fault killed (or an action found it gone).
    DaemonAlive,
}

impl Invariant {
    pub fn name(self) -> &'static str {
        match self {
            Invariant::OneHolder => "one VIP holder",
            Invariant::ClientServed => "client served",
            Invariant::VipBack => "VIP back on its master",
            Invariant::BackendBack => "backend back in rotation",
            Invariant::DaemonAlive => "no daemon gone",
        }
    }
}

/// A broken invariant in one episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub invariant: Invariant,
    /// Expected / seen, or the monitor's words.
    pub detail: String,
    /// Set when it overlapped a CPU stall: not a finding about the lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starved: Option<String>,
}

/// Stalls in `start - LEAD ..= end`, summed, and why they excuse a failure when they reach
/// `excess`.
fn starved(stalls: &[Stall], start: u64, end: u64, excess: u64) -> Option<String> {
    let lead = u64::try_from(LEAD.as_millis()).unwrap_or(1000);
    let inside: Vec<&Stall> = stalls
        .iter()
        .filter(|s| s.t_ms + lead >= start && s.t_ms <= end)
        .collect();
    let total: u64 = inside.iter().map(|s| s.late_ms).sum();
    (total > 0 && total >= excess).then(|| {
        format!(
            "CPU starvation: halab's own timer woke late {} times, {total} ms in all, between {:.1}s and {:.1}s (the failure is {excess} ms over)",
            inside.len(),
            start.saturating_sub(lead) as f64 / 1000.0,
            end as f64 / 1000.0
        )
    })
}

/// What an episode's scenario result says about the invariants. `outage_bounds_ms`: the
/// bound of each `outage` step, in order.
pub fn judge(r: &ScenarioResult, outage_bounds_ms: &[u64]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut outage_k = 0usize;
    for s in &r.steps {
        let bound = (s.kind == "outage").then(|| {
            outage_k += 1;
            outage_bounds_ms.get(outage_k - 1).copied()
        });
        let Outcome::Failed { expected, seen, .. } = &s.outcome else {
            continue;
        };
        let invariant = match s.kind.as_str() {
            "outage" | "http" => Invariant::ClientServed,
            "vip" => Invariant::VipBack,
            "stats" => Invariant::BackendBack,
            // An action that failed: a daemon it needed was gone (freeze, reload), or the
            // lab broke under it.
            _ => Invariant::DaemonAlive,
        };
        let gap = s
            .outage
            .map(|o| format!(" (longest gap {} ms)", o.longest_gap_ms))
            .unwrap_or_default();
        let excess = match (bound.flatten(), s.outage) {
            (Some(b), Some(o)) => o.longest_gap_ms.saturating_sub(b),
            _ => STARVED_MS,
        };
        out.push(Finding {
            invariant,
            detail: format!(
                "step {} `{}: {}`: expected {expected}, seen {seen}{gap}",
                s.index + 1,
                s.kind,
                s.description
            ),
            starved: starved(&r.stalls, s.start_ms, s.end_ms, excess),
        });
    }
    for v in &r.violations {
        out.push(Finding {
            invariant: Invariant::OneHolder,
            detail: format!("{} from {} ms to {} ms", v.what, v.start_ms, v.end_ms),
            starved: starved(&r.stalls, v.start_ms, v.end_ms, STARVED_MS),
        });
    }
    if let Some(e) = &r.error {
        out.push(Finding {
            invariant: Invariant::DaemonAlive,
            detail: e.clone(),
            starved: None,
        });
    }
    out
}

/// Every daemon of every node that should run and does not (after an episode's repairs
/// every fault is undone, so none may be missing).
pub fn daemons_gone(lab: &Lab, fleet: &dyn Fleet) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in &lab.nodes {
        let Ok(m) = fleet.machine(&n.name) else {
            out.push(Finding {
                invariant: Invariant::DaemonAlive,
                detail: format!("node {} cannot be reached", n.name),
                starved: None,
            });
            continue;
        };
        for s in Service::for_node(n) {
            if services::running_pid(m.as_ref(), s).is_none() {
                out.push(Finding {
                    invariant: Invariant::DaemonAlive,
                    detail: format!(
                        "{} on {} is gone and no fault left it down",
                        s.name(),
                        n.name
                    ),
                    starved: None,
                });
            }
        }
    }
    out
}

/// The lab could not be put back in its steady state after an episode whose own checks
/// passed (`reason`: the restore's words, e.g. no 200 through a VIP in time): the client lost
/// the VIP after the checks, which "client served" forbids.
pub fn restore_failed(reason: &str) -> Finding {
    Finding {
        invariant: Invariant::ClientServed,
        detail: format!(
            "after the episode's checks passed, the lab could not be restored: {reason}"
        ),
        starved: None,
    }
}

/// The findings that count: not starved.
pub fn real(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| f.starved.is_none()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::result::Stall;
    use crate::scenario::result::{Outage, StepResult, Violation};

    fn result(steps: Vec<StepResult>, violations: Vec<Violation>) -> ScenarioResult {
        ScenarioResult {
            lab: "l".into(),
            scenario: "s".into(),
            description: None,
            engine: "keepalived".into(),
            started_unix_ms: 0,
            duration_ms: 1,
            passed: false,
            steps,
            samples: vec![],
            vip_timeline: vec![],
            faults: vec![],
            violations,
            error: None,
            stalls: vec![],
            starved: None,
            rerun_after: None,
        }
    }

    fn step(kind: &str, outcome: Outcome, outage: Option<Outage>) -> StepResult {
        StepResult {
            index: 3,
            kind: kind.into(),
            description: "d".into(),
            assertion: true,
            start_ms: 0,
            end_ms: 1,
            outcome,
            outage,
        }
    }

    // Input: a failed outage step, a failed stats step, a passed vip step, and a split-brain
    // violation. Output: client served, backend back and one holder broken, in that order,
    // the outage naming its gap.
    #[test]
    fn failed_steps_and_violations_name_their_invariant() {
        let failed = || Outcome::Failed {
            expected: "e".into(),
            seen: "s".into(),
            last_samples: vec![],
        };
        let o = Outage {
            window_ms: 9000,
            requests: 10,
            failed: 5,
            longest_gap_ms: 8100,
            vip: None,
        };
        let r = result(
            vec![
                step("outage", failed(), Some(o)),
                step("stats", failed(), None),
                step("vip", Outcome::Passed { detail: None }, None),
            ],
            vec![Violation {
                start_ms: 1,
                end_ms: 3000,
                what: "VIP 10.0.0.1 held by a and b at once".into(),
            }],
        );
        let f = judge(&r, &[7000]);
        let kinds: Vec<Invariant> = f.iter().map(|f| f.invariant).collect();
        assert_eq!(
            kinds,
            vec![
                Invariant::ClientServed,
                Invariant::BackendBack,
                Invariant::OneHolder
            ]
        );
        assert!(f[0].detail.contains("8100 ms"), "{}", f[0].detail);
        assert_eq!(real(&f).len(), 3);
    }

    // Input: an outage 400 ms over its bound, with stalls of 87 ms, then 450 ms in all, then
    // 900 ms after the step. Output: starved only when the stalls in the step add up to the
    // excess.
    #[test]
    fn a_starved_failure_is_not_a_finding() {
        let mut r = result(
            vec![step(
                "outage",
                Outcome::Failed {
                    expected: "e".into(),
                    seen: "s".into(),
                    last_samples: vec![],
                },
                None,
            )],
            vec![],
        );
        r.steps[0].start_ms = 2_000;
        r.steps[0].end_ms = 12_000;
        r.steps[0].outage = Some(Outage {
            window_ms: 10_000,
            requests: 900,
            failed: 300,
            longest_gap_ms: 7_400,
            vip: None,
        });
        // 87 ms late in a 10 s step: the outage is 400 ms over its bound, not starved.
        r.stalls = vec![Stall {
            t_ms: 5_000,
            late_ms: 87,
        }];
        let f = judge(&r, &[7_000]);
        assert_eq!(real(&f).len(), 1, "{f:?}");
        // 450 ms of stalls (one a second before the step): starved.
        r.stalls.push(Stall {
            t_ms: 1_100,
            late_ms: 363,
        });
        let f = judge(&r, &[7_000]);
        assert!(real(&f).is_empty(), "{f:?}");
        assert!(
            f[0].starved
                .as_deref()
                .is_some_and(|s| s.contains("450 ms")),
            "{f:?}"
        );
        // Stalls after the step excuse nothing.
        r.stalls = vec![Stall {
            t_ms: 12_500,
            late_ms: 900,
        }];
        assert_eq!(real(&judge(&r, &[7_000])).len(), 1);
    }
}
