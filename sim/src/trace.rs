//! A run as JSON lines: every input each instance got and the actions it returned, the faults
//! and the phases, in simulation time. The same seed writes the same trace, byte for byte.

use halab_vrrp::{Action, Input};
use serde::Serialize;

use crate::schedule::Fault;

/// One line.
#[derive(Debug, Clone, Serialize)]
pub struct TraceLine {
    /// Simulation time, µs.
    pub t: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<usize>,
    /// Index of the VRID in the schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrid: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TraceLine {
    fn at(t: u64) -> Self {
        Self {
            t,
            node: None,
            vrid: None,
            input: None,
            actions: Vec::new(),
            fault: None,
            note: None,
        }
    }

    pub fn input(t: u64, node: usize, vrid: usize, input: &Input) -> Self {
        Self {
            node: Some(node),
            vrid: Some(vrid),
            input: Some(input.clone()),
            ..Self::at(t)
        }
    }

    pub fn actions(t: u64, node: usize, vrid: usize, actions: &[Action]) -> Self {
        Self {
            node: Some(node),
            vrid: Some(vrid),
            actions: actions.to_vec(),
            ..Self::at(t)
        }
    }

    pub fn fault(t: u64, fault: &Fault) -> Self {
        Self {
            fault: Some(fault.clone()),
            ..Self::at(t)
        }
    }

    pub fn note(t: u64, note: &str) -> Self {
        Self {
            note: Some(note.to_string()),
            ..Self::at(t)
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub lines: Vec<TraceLine>,
}

impl Trace {
    /// JSON lines, one per trace line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            // Every field is plain data: serialisation cannot fail.
            out.push_str(&serde_json::to_string(line).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}
