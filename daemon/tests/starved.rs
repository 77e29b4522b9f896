//! The starvation rerun of the timing tests (tests/support/starved.rs).

mod support;

use std::cell::Cell;
use std::time::Duration;

use support::starved::unless_starved;

/// Input: a run that fails the first time, with any lateness counting as a stall. Output: it
/// runs once more, and the second run's pass is the result.
#[test]
fn a_run_that_failed_while_starved_runs_once_more() {
    let runs = Cell::new(0);
    unless_starved(Duration::ZERO, || {
        runs.set(runs.get() + 1);
        std::thread::sleep(Duration::from_millis(30));
        assert!(runs.get() > 1, "first run fails");
    });
    assert_eq!(runs.get(), 2);
}

/// Input: a run that fails with no stall long enough to count. Output: the failure stands
/// and the run is not repeated.
#[test]
fn a_failure_without_a_stall_fails() {
    let runs = Cell::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        unless_starved(Duration::from_secs(3600), || {
            runs.set(runs.get() + 1);
            panic!("a real failure");
        });
    }));
    assert!(r.is_err());
    assert_eq!(runs.get(), 1);
}

/// Input: a run that fails both times although starved. Output: the second failure fails
/// the test.
#[test]
fn a_second_failure_fails() {
    let runs = Cell::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        unless_starved(Duration::ZERO, || {
            runs.set(runs.get() + 1);
            std::thread::sleep(Duration::from_millis(30));
            panic!("fails every time");
        });
    }));
    assert!(r.is_err());
    assert_eq!(runs.get(), 2);
}
