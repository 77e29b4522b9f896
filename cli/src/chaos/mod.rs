//! `halab chaos`: faults at random on a running lab, invariants checked the whole time, a
//! failing schedule shrunk to a scenario file (docs/chaos.md).
//!
//! `schedule` draws episodes from a seed; `bounds` gives the outage each fault may cause from
//! the lab's timers; `write` turns episodes into scenario steps (the scenario runner does the
//! faults, the probe, the invariant monitor and the assertions); `invariants` judges a result;
//! `run` drives a campaign on a `target` (the running lab: episodes, restores); `shrink`
//! makes a failing schedule small.

pub mod bounds;
pub mod differential;
pub mod invariants;
pub mod run;
pub mod schedule;
pub mod shrink;
pub mod target;
pub mod write;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("lab {0} has nothing chaos can break: no load balancer")]
    NothingToBreak(String),
    #[error("failed to build chaos scenario {name} (a bug in halab chaos):\n{errors}")]
    Scenario { name: String, errors: String },
    #[error("failed to write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to restore the lab between replays: {0}")]
    Restore(String),
}
