//! The standard suite's verdict in the operator's words: for each scenario, what the
//! configuration said would happen and what was measured, e.g. "haproxy dies on lb1: VIP stays
//! on lb1 for 5.6 s (track script chk interval 2, fall 2, weight 2: lb1 only drops from 103 to
//! 101, not below lb2's 102)".

use std::fmt::Write as _;

use super::plan::{Expectation, Outcome, Plan};
use crate::scenario::result::ScenarioResult;

/// What the run shows about the VIP after the first fault: when it left its holder, and the
/// longest gap between two answers the outage steps measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Measured {
    /// From the fault to the first sample where the holders changed (None: never).
    pub moved_after_ms: Option<u64>,
    /// From the fault to the end of the run.
    pub observed_ms: u64,
    /// The first outage step's longest gap (the fault's own outage).
    pub longest_gap_ms: Option<u64>,
}

pub fn measure(e: &Expectation, r: &ScenarioResult) -> Measured {
    let Some(fault) = r.faults.iter().find(|f| f.fault).map(|f| f.t_ms) else {
        return Measured::default();
    };
    // The scenario's first step saw the VIP on its holder (the monitor may not have sampled
    // before the fault came).
    let before = vec![e.holder.clone()];
    let mut moved = None;
    for s in r
        .vip_timeline
        .iter()
        .filter(|s| s.vip == e.vip && s.t_ms >= fault)
    {
        let mut h = s.holders.clone();
        h.sort();
        if !e.holder.is_empty() && before != h {
            moved = Some(s.t_ms - fault);
            break;
        }
    }
    let gap = r
        .steps
        .iter()
        .filter(|s| s.start_ms >= fault)
        .find_map(|s| s.outage.map(|o| o.longest_gap_ms));
    Measured {
        moved_after_ms: moved,
        observed_ms: r.duration_ms.saturating_sub(fault),
        longest_gap_ms: gap,
    }
}

fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// One line: the fault, what was measured, why (from the configuration), and the verdict.
pub fn line(e: &Expectation, r: &ScenarioResult) -> String {
    let m = measure(e, r);
    let gap = m
        .longest_gap_ms
        .map(|g| format!(", longest gap {}", secs(g)))
        .unwrap_or_default();
    let seen = match (&e.outcome, m.moved_after_ms) {
        (Outcome::Moves { to }, Some(t)) => {
            format!("VIP moves from {} to {to} after {}{gap}", e.holder, secs(t))
        }
        (Outcome::Moves { to }, None) => {
            format!("VIP was expected to move to {to}, it did not{gap}")
        }
        (Outcome::Stays, None) => {
            format!("VIP stays on {} for {}{gap}", e.holder, secs(m.observed_ms))
        }
        (Outcome::Stays, Some(t)) => format!("VIP left {} after {}{gap}", e.holder, secs(t)),
        (Outcome::Restarted, None) => format!("VIP stays on {}, service back{gap}", e.holder),
        (Outcome::Restarted, Some(t)) => format!("VIP left {} after {}{gap}", e.holder, secs(t)),
        (Outcome::Everywhere, Some(t)) => {
            format!("split brain after {}, healed to {}{gap}", secs(t), e.holder)
        }
        (Outcome::Everywhere, None) => format!("no split brain seen{gap}"),
        (Outcome::Down, _) => format!("service down, back on {}{gap}", e.holder),
        (Outcome::Rotation, _) => "out of rotation and back".to_string(),
    };
    let verdict = if r.passed {
        "as configured"
    } else {
        "NOT as configured"
    };
    format!("{}: {seen} ({}) [{verdict}]", e.fault, e.why)
}

/// The suite's summary: one line per scenario that ran, the findings, what was not derived.
pub fn summary(plan: &Plan, results: &[ScenarioResult]) -> String {
    let mut out = String::from("\nWhat your configuration does:\n");
    for p in &plan.planned {
        if let Some(r) = results.iter().find(|r| r.scenario == p.scenario.name) {
            let _ = writeln!(out, "  {}", line(&p.expectation, r));
        }
    }
    let findings: Vec<&String> = plan
        .planned
        .iter()
        .filter_map(|p| p.expectation.finding.as_ref())
        .collect();
    if !findings.is_empty() {
        out.push_str("Findings:\n");
        for f in findings {
            let _ = writeln!(out, "  - {f}");
        }
    }
    if !plan.skipped.is_empty() {
        out.push_str("Not tested:\n");
        for s in &plan.skipped {
            let _ = writeln!(out, "  - {s}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::result::{FaultMark, VipSample};

    fn result(timeline: &[(u64, &[&str])]) -> ScenarioResult {
        let vip = "10.0.0.10".parse().expect("ip");
        ScenarioResult {
            lab: "l".into(),
            scenario: "s".into(),
            description: None,
            engine: "keepalived".into(),
            started_unix_ms: 0,
            duration_ms: 9000,
            passed: true,
            steps: vec![],
            samples: vec![],
            vip_timeline: timeline
                .iter()
                .map(|(t, h)| VipSample {
                    t_ms: *t,
                    vip,
                    holders: h.iter().map(|s| (*s).to_string()).collect(),
                    client_arp: None,
                })
                .collect(),
            faults: vec![FaultMark {
                t_ms: 1000,
                description: "x".into(),
                fault: true,
            }],
            violations: vec![],
            error: None,
            stalls: vec![],
            starved: None,
            rerun_after: None,
        }
    }

    fn expectation(outcome: Outcome) -> Expectation {
        Expectation {
            fault: "haproxy dies on lb1".into(),
            vip: "10.0.0.10".parse().expect("ip"),
            holder: "lb1".into(),
            outcome,
            why: "why".into(),
            expected_ms: 3600,
            finding: None,
        }
    }

    // Input: the monitor's samples: lb1 until 4.6 s, lb2 after; the fault at 1 s.
    // Output: moved after 3.6 s. A VIP that never left: stays for the rest of the run.
    #[test]
    fn measures_when_the_vip_left_its_holder() {
        let r = result(&[(1050, &["lb1"]), (4550, &["lb1"]), (4600, &["lb2"])]);
        let e = expectation(Outcome::Moves { to: "lb2".into() });
        assert_eq!(measure(&e, &r).moved_after_ms, Some(3600));
        assert!(line(&e, &r).contains("VIP moves from lb1 to lb2 after 3.6 s"));
        let r = result(&[(1050, &["lb1"]), (8000, &["lb1"])]);
        let e = expectation(Outcome::Stays);
        assert_eq!(measure(&e, &r).moved_after_ms, None);
        assert_eq!(
            line(&e, &r),
            "haproxy dies on lb1: VIP stays on lb1 for 8.0 s (why) [as configured]"
        );
    }
}
