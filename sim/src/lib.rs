//! halab-sim: a deterministic simulator of halab's VRRP core (`halab-vrrp`), in the manner of
//! FoundationDB's and TigerBeetle's simulation testing.
//!
//! A seed gives a [`schedule::Schedule`]: 2 to 4 routers with one or two VRIDs (a sync group
//! or not), random priorities (an address owner on some), `nopreempt` or `preempt_delay` on
//! some, VRRPv2 or v3 at various intervals, clock skew and drift per node, and faults: partitions, loss, duplication, reordering (jitter),
//! crashes, graceful stops, restarts, tracking changes (including FAULT). [`world::World`]
//! runs the real [`halab_vrrp::Instance`]s through it, the way halabd's driver does, and
//! checks the [`check::Property`]s. The same seed gives the same trace ([`trace::Trace`],
//! JSON lines), so a failure is replayed with `halab-sim replay SEED`.

pub mod check;
pub mod expect;
pub mod preempt;
pub mod rng;
pub mod schedule;
pub mod trace;
pub mod world;

use check::Violation;
use schedule::Schedule;
use world::World;

/// Result of one seed.
#[derive(Debug)]
pub struct Run {
    pub violations: Vec<Violation>,
    pub events: u64,
    /// JSON lines, when asked for.
    pub trace: Option<String>,
}

/// Runs the schedule of `seed`.
pub fn run_seed(seed: u64, traced: bool) -> Run {
    let outcome = World::new(Schedule::generate(seed), traced).run();
    Run {
        violations: outcome.violations,
        events: outcome.events,
        trace: outcome.trace.map(|t| t.to_jsonl()),
    }
}
