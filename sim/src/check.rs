//! The properties every schedule must satisfy, and what a broken one reports.

use serde::Serialize;

/// A property of RFC 5798 (and keepalived's sync groups) that a run checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// After the faults stop and the settle time passes: exactly one master per VRID.
    OneMaster,
    /// ... and no preempting node has a higher effective priority (with every node
    /// preempting: it has the highest, a tie any of them).
    RightMaster,
    /// An address owner (priority 255) with `state MASTER` that starts, or leaves FAULT,
    /// becomes master at once (RFC 5798 6.4.1; keepalived wants `state MASTER` too).
    OwnerAtOnce,
    /// A backup with keepalived's `preempt_delay` preempts a live lower master only once the
    /// delay has passed since it first heard it.
    PreemptDelay,
    /// An advert carries the sender's effective priority (or 0 when it resigns).
    AdvertisedPriority,
    /// A master that stops gracefully (priority 0) is replaced by the best backup within that
    /// backup's Skew_Time (plus the link's delay), `nopreempt` or not.
    PriorityZeroHandover,
    /// Once settled, the client's ARP entry for each VIP points at its master (halabd's
    /// split-brain heal; checked when every node runs halabd).
    ClientOnMaster,
    /// The members of a sync group are all MASTER or all BACKUP once settled.
    SyncGroupTogether,
    /// The schedule gave a configuration the core refused (a bug in the simulator).
    Config,
}

/// One broken property.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub seed: u64,
    /// Simulation time, µs.
    pub at_us: u64,
    pub property: Property,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {}: {:?} at {:.6} s: {}\n  replay: cargo run -p halab-sim --release -- replay {} --trace seed-{}.jsonl",
            self.seed,
            self.property,
            self.at_us as f64 / 1e6,
            self.detail,
            self.seed,
            self.seed
        )
    }
}
