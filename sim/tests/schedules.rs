//! CI for the simulator: a fixed budget of seeded schedules against the real VRRP core, and
//! the determinism a replay relies on.
//!
//! Input: seeds 0.. for `BUDGET` (or `HALAB_SIM_SECS` seconds). Output: no violation; on one,
//! the failing seeds with their replay commands.

use std::time::{Duration, Instant};

use halab_sim::check::Property;
use halab_sim::run_seed;
use halab_sim::schedule::{Fault, Schedule};
use halab_sim::world::World;

const BUDGET: Duration = Duration::from_secs(20);

#[test]
fn seeded_schedules_hold_every_property() {
    let budget = std::env::var("HALAB_SIM_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or(BUDGET, Duration::from_secs_f64);
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut seed = 0;
    while started.elapsed() < budget || seed < 200 {
        let run = run_seed(seed, false);
        failures.extend(run.violations.iter().map(ToString::to_string));
        seed += 1;
    }
    eprintln!(
        "{seed} schedules in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    for seed in [0, 1, 17, 123_456] {
        let a = run_seed(seed, true).trace.expect("trace");
        let b = run_seed(seed, true).trace.expect("trace");
        assert!(
            a.lines().count() > 10,
            "seed {seed}: a trace of {} lines",
            a.lines().count()
        );
        assert_eq!(a, b, "seed {seed}");
    }
}

#[test]
fn a_partition_never_repaired_is_reported() {
    // Input: two routers cut apart at 6 s and never repaired (the checker's own check).
    // Output: two masters once the settle time has passed: a OneMaster violation.
    let mut schedule = Schedule::generate(3);
    schedule.nodes.truncate(2);
    schedule.vrids = vec![10];
    schedule.sync_group = false;
    schedule.faults = vec![(6_000_000, Fault::Partition { groups: vec![0, 1] })];
    schedule.faults_end_us = 7_000_000;
    schedule.repair = false;
    let outcome = World::new(schedule, false).run();
    assert!(
        outcome
            .violations
            .iter()
            .any(|v| v.property == Property::OneMaster),
        "{:?}",
        outcome.violations
    );
}
