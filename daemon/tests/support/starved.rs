//! A test's timings on a loaded machine: a run that failed while the machine kept this
//! process off the CPU is run once more, and says so.
//!
//! A canary thread asks to wake every 10 ms and keeps the latest wake-up it saw. The daemons
//! under test share the two cores with it: when the canary is held off for a good part of a
//! Master_Down_Interval, a daemon may have been too, and a backup that missed its master's
//! adverts then is the machine's doing (keepalived's timers fire before it reads what is
//! queued). Such a failure is printed with the stall and the scenario runs again; a failure
//! without a stall, or a second failure, fails the test.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(10);

/// The canary thread; [`Canary::stop`] returns its worst lateness.
struct Canary {
    stop: Arc<AtomicBool>,
    worst_us: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Canary {
    fn start() -> Canary {
        let stop = Arc::new(AtomicBool::new(false));
        let worst_us = Arc::new(AtomicU64::new(0));
        let (s, w) = (stop.clone(), worst_us.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let asked = Instant::now();
                std::thread::sleep(TICK);
                let late = asked.elapsed().saturating_sub(TICK);
                let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
                w.fetch_max(us, Ordering::SeqCst);
            }
        });
        Canary {
            stop,
            worst_us,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> Duration {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        Duration::from_micros(self.worst_us.load(Ordering::SeqCst))
    }
}

/// Runs `scenario`; if it fails and the canary was held off at least `stall` during the
/// run, prints so and runs it once more (its result is the test's).
pub fn unless_starved(stall: Duration, scenario: impl Fn()) {
    let canary = Canary::start();
    let first = catch_unwind(AssertUnwindSafe(&scenario));
    let worst = canary.stop();
    match first {
        Ok(()) => {}
        Err(e) if worst < stall => resume_unwind(e),
        Err(_) => {
            eprintln!(
                "starved: this run failed while the machine held a canary thread off the CPU \
                 for {worst:?} (>= {stall:?}); running it once more"
            );
            scenario();
        }
    }
}
