//! What a scenario run produces: the runner emits [`Event`]s while it runs and returns a
//! [`ScenarioResult`]; reporters (terminal, JSON, JUnit, HTML + SVG timeline) render them.
//! Times are milliseconds since the scenario started.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use super::starvation::Stall;
pub use crate::probe::sampling::{Sample, VipSample};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub lab: String,
    pub scenario: String,
    pub description: Option<String>,
    /// keepalived, halabd, or mixed.
    pub engine: String,
    /// Wall-clock start, Unix milliseconds.
    pub started_unix_ms: u64,
    pub duration_ms: u64,
    pub passed: bool,
    pub steps: Vec<StepResult>,
    /// The background probe: requests through the VIP every 10 ms.
    pub samples: Vec<Sample>,
    /// The invariant monitor: who held each VIP and where the client's ARP pointed.
    pub vip_timeline: Vec<VipSample>,
    /// Actions that injected a fault or repaired one, for the timeline's marks.
    pub faults: Vec<FaultMark>,
    /// Invariant violations (two holders, ARP pointing at a non-holder, beyond the grace).
    pub violations: Vec<Violation>,
    /// Set when the run could not complete (the lab failed, not an assertion).
    pub error: Option<String>,
    /// When halab's own timer woke late (CPU starvation), see `scenario::starvation`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stalls: Vec<Stall>,
    /// On a failed run whose failure overlaps a stall: why its timing cannot be trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starved: Option<String>,
    /// On a second run, made because the first was starved: the first run's `starved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResult {
    pub index: usize,
    /// The step's key in the scenario file: stop, kill, vip, distribution, ...
    pub kind: String,
    /// One line for people: "stop keepalived, haproxy on loadbalance1".
    pub description: String,
    pub assertion: bool,
    pub start_ms: u64,
    pub end_ms: u64,
    pub outcome: Outcome,
    /// For `outage` steps (and faults): what the probe saw.
    pub outage: Option<Outage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    Passed {
        detail: Option<String>,
    },
    Failed {
        expected: String,
        seen: String,
        last_samples: Vec<String>,
    },
    /// Not run: an earlier step failed.
    Skipped,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed { .. })
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outage {
    /// From the fault's action to the end of the measuring step.
    pub window_ms: u64,
    pub requests: u64,
    pub failed: u64,
    /// Longest time between two successful responses in the window.
    pub longest_gap_ms: u64,
    /// The VIP measured (the worst one when the step measured several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<IpAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FaultMark {
    pub t_ms: u64,
    pub description: String,
    /// true: injects a fault (stop, kill, partition, link down); false: repairs (start, heal).
    pub fault: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Violation {
    pub start_ms: u64,
    pub end_ms: u64,
    pub what: String,
}

/// Emitted while the scenario runs, for live views.
#[derive(Debug, Clone)]
pub enum Event {
    ScenarioStarted {
        lab: String,
        scenario: String,
        engine: String,
        steps: usize,
    },
    StepStarted {
        index: usize,
        description: String,
    },
    StepFinished(StepResult),
    ScenarioFinished {
        passed: bool,
        duration_ms: u64,
    },
}
