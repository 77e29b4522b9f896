//! The invariants a chaos run checks, read from an episode's scenario result (the runner's
//! assertions and the invariant monitor) and from the daemons left running afterwards:
//! - at most one VIP holder (and the client's ARP entry on it) once the timers allow;
//! - the client served within the bound the lab's timers give for the fault;
//! - after the repair: each preempting instance's VIP back on its top LB, every
//!   health-checked backend back in rotation;
//! - no daemon gone that no fault killed.
//!
//! A failure that overlaps a CPU stall of halab's own (`scenario::starvation`) is starved:
//! reported, not taken as a finding.

use serde::{Deserialize, Serialize};

use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::scenario::result::{Outcome, ScenarioResult};
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

/// What an episode's scenario result says about the invariants.
pub fn judge(r: &ScenarioResult) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in &r.steps {
        let Outcome::Failed { expected, seen, .. } = &s.outcome else {
            continue;
        };
        let invariant = match s.kind.as_str() {
            "outage" => Invariant::ClientServed,
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
        out.push(Finding {
            invariant,
            detail: format!(
                "step {} `{}: {}`: expected {expected}, seen {seen}{gap}",
                s.index + 1,
                s.kind,
                s.description
            ),
            starved: r.starved.clone(),
        });
    }
    for v in &r.violations {
        out.push(Finding {
            invariant: Invariant::OneHolder,
            detail: format!("{} from {} ms to {} ms", v.what, v.start_ms, v.end_ms),
            starved: r.starved.clone(),
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

/// The findings that count: not starved.
pub fn real(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| f.starved.is_none()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let f = judge(&r);
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

    // Input: the same failure in a starved run. Output: a finding marked starved, not real.
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
        r.starved = Some("woke 600 ms late".into());
        let f = judge(&r);
        assert_eq!(f.len(), 1);
        assert!(real(&f).is_empty());
    }
}
