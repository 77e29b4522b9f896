//! CPU starvation, detected instead of taken for a failure.
//!
//! A scenario's timings (failover within 1 s, the longest gap, master-down time) are only as
//! good as the machine's scheduling: on a loaded machine the probe, the monitor and the
//! daemons themselves can be kept off the CPU for hundreds of ms, and a timing that failed
//! then says more about the machine than about the lab. A canary thread asks to wake every
//! [`TICK`] and records each wake-up later than [`STALL`]: a stall. A failed scenario whose
//! failing step (or violation) overlaps a stall is marked starved, with the figures, and the
//! suite runs it again alone ([`super::suite`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::result::{Outcome, ScenarioResult};

/// How often the canary asks to wake.
pub const TICK: Duration = Duration::from_millis(10);
/// A wake-up this much later than asked is a stall: five probe periods, half a 0.1 s
/// advert. Measured on the seed matrix under load 10-20, failures missed at 100 ms were
/// gaps 30 ms over their bound.
pub const STALL: Duration = Duration::from_millis(50);
/// How long before a failing step a stall still counts: a daemon starved then may have
/// missed the adverts the step looks at.
pub const LEAD: Duration = Duration::from_millis(1000);
/// At most this many stalls are kept (the worst ones are reported anyway).
const MAX_STALLS: usize = 10_000;

/// A time the canary woke late: at `t_ms` since the scenario start, `late_ms` late.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stall {
    pub t_ms: u64,
    pub late_ms: u64,
}

/// The canary thread; [`Canary::stop`] returns its stalls.
pub struct Canary {
    stop: Arc<AtomicBool>,
    stalls: Arc<Mutex<Vec<Stall>>>,
    thread: Option<JoinHandle<()>>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Canary {
    pub fn start(t0: Instant) -> Canary {
        let stop = Arc::new(AtomicBool::new(false));
        let stalls = Arc::new(Mutex::new(Vec::new()));
        let (s, out) = (stop.clone(), stalls.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let asked = Instant::now();
                std::thread::sleep(TICK);
                let late = asked.elapsed().saturating_sub(TICK);
                if late >= STALL
                    && let Ok(mut v) = out.lock()
                    && v.len() < MAX_STALLS
                {
                    // Stamped at the start of the stall: that is when the machine stopped us.
                    v.push(Stall {
                        t_ms: ms(asked.saturating_duration_since(t0)),
                        late_ms: ms(late),
                    });
                }
            }
        });
        Canary {
            stop,
            stalls,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) -> Vec<Stall> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.stalls.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The worst stall in `[start_ms - LEAD, end_ms]`, if any.
fn worst_in(stalls: &[Stall], start_ms: u64, end_ms: u64) -> Option<Stall> {
    let from = start_ms.saturating_sub(ms(LEAD));
    stalls
        .iter()
        .filter(|s| s.t_ms <= end_ms && s.t_ms + s.late_ms >= from)
        .max_by_key(|s| s.late_ms)
        .copied()
}

/// Why a failed result cannot be trusted, if a stall overlaps what failed: a failed step or
/// an invariant violation. None for a passed result: a pass under load is still a pass.
pub fn verdict(r: &ScenarioResult, stalls: &[Stall]) -> Option<String> {
    if r.passed {
        return None;
    }
    let failing = r
        .steps
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Failed { .. }))
        .map(|s| {
            (
                format!("step {} `{}`", s.index + 1, s.description),
                s.start_ms,
                s.end_ms,
            )
        })
        .chain(
            r.violations
                .iter()
                .map(|v| (format!("invariant `{}`", v.what), v.start_ms, v.end_ms)),
        );
    let mut worst: Option<(String, Stall)> = None;
    for (what, start, end) in failing {
        if let Some(s) = worst_in(stalls, start, end)
            && worst.as_ref().is_none_or(|(_, w)| s.late_ms > w.late_ms)
        {
            worst = Some((what, s));
        }
    }
    worst.map(|(what, s)| {
        format!(
            "CPU starvation: halab's own {} ms timer woke {} ms late at {:.3}s, around {what}; that timing cannot be trusted",
            ms(TICK),
            s.late_ms,
            s.t_ms as f64 / 1000.0
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn a_stall_around_the_failing_step_makes_the_failure_starved() {
        // Input: the fixture's failed run (its failing step and violation) and stalls.
        // Output: a verdict naming the stall only when one overlaps what failed.
        let r = fixture::failover();
        assert!(!r.passed);
        let failing = r
            .steps
            .iter()
            .find(|s| matches!(s.outcome, Outcome::Failed { .. }))
            .expect("the fixture has a failed step");
        let inside = Stall {
            t_ms: failing.start_ms,
            late_ms: 400,
        };
        let v = verdict(&r, &[inside]).expect("starved");
        assert!(v.contains("400 ms late"), "{v}");
        let long_before = Stall {
            t_ms: 0,
            late_ms: 120,
        };
        let first_event = r
            .steps
            .iter()
            .map(|s| s.start_ms)
            .chain(r.violations.iter().map(|v| v.start_ms))
            .min()
            .unwrap_or(0);
        if first_event > ms(LEAD) + 120 {
            assert_eq!(verdict(&r, &[long_before]), None);
        }
        assert_eq!(verdict(&r, &[]), None);
    }

    #[test]
    fn a_passed_run_is_never_starved() {
        let mut r = fixture::failover();
        r.passed = true;
        let s = Stall {
            t_ms: 10,
            late_ms: 5000,
        };
        assert_eq!(verdict(&r, &[s]), None);
    }

    #[test]
    fn the_canary_sees_the_process_kept_off_the_cpu() {
        // Input: this whole process stopped for 400 ms (SIGSTOP, then SIGCONT from a child
        // shell), as a starved machine would. Output: a stall of about that length.
        let c = Canary::start(Instant::now());
        std::thread::sleep(Duration::from_millis(50));
        let pid = std::process::id();
        let status = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("(kill -STOP {pid}; sleep 0.4; kill -CONT {pid}) &"),
            ])
            .status()
            .expect("sh");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(600));
        let stalls = c.stop();
        let worst = stalls.iter().map(|s| s.late_ms).max().unwrap_or(0);
        assert!(worst >= 300, "{stalls:?}");
    }
}
