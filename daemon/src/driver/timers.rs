//! Timers: the core's deadlines and the gratuitous ARP bursts and refreshes, in one queue.
//!
//! A min-heap of (deadline, runner) entries, pushed whenever a runner's next wake-up changes
//! (each runner remembers the one it queued: one live entry per runner) and checked lazily
//! when popped: an entry whose runner no longer waits for that moment is skipped. A wake-up costs O(log N) instead of a scan of every instance, and everything due
//! at once is handled in one batch. The heap is rebuilt from the runners after a change of
//! configuration and whenever stale entries outnumber the runners (see [`SLACK`]). Nothing
//! wakes the loop for the heap's sake: a periodic rebuild used to cost one wake-up a second,
//! a tenth of an idle master's at `advert_int 0.1`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use halab_vrrp::{Action, Input, State};

use super::Daemon;

/// Stale entries beyond one per runner that the heap may hold before it is rebuilt. Stale
/// entries usually leave at once: a backup's superseded Master_Down_Timer lies before its new
/// one, so it reaches the top first and [`Daemon::next_wake`] drops it. Those that lie after a
/// live entry (a deadline brought forward) wait for their turn; this bounds them.
const SLACK: usize = 64;

/// Pending wake-ups.
#[derive(Default)]
pub(super) struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    /// The runners due in the batch being handled (kept: no allocation per batch).
    due: Vec<usize>,
}

impl Daemon {
    /// When the loop must wake next. Stale entries at the top are dropped first: a backup
    /// re-arms its Master_Down_Timer with every advert, and waking for each superseded
    /// deadline would double its wake-ups.
    pub(super) fn next_wake(&mut self) -> Option<Instant> {
        if self.timer_queue.heap.len() > 2 * self.runners.len() + SLACK {
            self.rebuild_timers();
        }
        let resume = self.sockets_resume_at();
        while let Some(&Reverse((at, index))) = self.timer_queue.heap.peek() {
            if self.live(at, index) {
                return Some(resume.map_or(at, |resume| resume.min(at)));
            }
            // Superseded (its runner's next wake-up is another entry) or gone.
            self.timer_queue.heap.pop();
        }
        resume
    }

    /// Whether the entry (at, index) is runner `index`'s live one; if its runner queued it
    /// but now waits for something else, that is queued instead.
    fn live(&mut self, at: Instant, index: usize) -> bool {
        let Some(runner) = self.runners.get_mut(index) else {
            return false;
        };
        if runner.queued != Some(at) {
            return false;
        }
        if runner.next_wakeup() == Some(at) {
            return true;
        }
        runner.queued = None;
        self.schedule(index);
        false
    }

    /// Runner `index` may wait for something new: queue it (unless it is queued already).
    pub(super) fn schedule(&mut self, index: usize) {
        let Some(runner) = self.runners.get_mut(index) else {
            return;
        };
        let next = runner.next_wakeup();
        if next == runner.queued {
            return;
        }
        runner.queued = next;
        if let Some(at) = next {
            self.timer_queue.heap.push(Reverse((at, index)));
        }
    }

    /// Forgets every entry and queues each runner's next wake-up (runner indices changed, or
    /// stale entries piled up).
    pub(super) fn rebuild_timers(&mut self) {
        self.timer_queue.heap.clear();
        for index in 0..self.runners.len() {
            self.runners[index].queued = None;
            self.schedule(index);
        }
    }

    /// Handles everything due, in one pass: first every due instance's protocol timer, whose
    /// adverts leave together (one `sendmmsg` per socket, outbox.rs); then the rest of their work (addresses, ARP, logs, notify
    /// scripts, sync groups) and the ARP bursts. At start (or after a partition) N instances
    /// become master in one wake-up: each one's advert must not wait for the others' VIPs to
    /// be added, or the peer's backups, hearing nothing, take over too.
    pub(super) async fn timers(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.timer_queue.due);
        while let Some(&Reverse((at, index))) = self.timer_queue.heap.peek() {
            if at > now {
                break;
            }
            self.timer_queue.heap.pop();
            // Stale entries (re-armed later, cancelled, runner gone) do nothing here.
            if self.live(at, index) {
                self.runners[index].queued = None;
                due.push(index);
            }
        }
        let ts = self.now_ts(now);
        let mut later = Vec::new();
        let mut actions = std::mem::take(&mut self.actions);
        self.hold_adverts();
        for &index in &due {
            let runner = &mut self.runners[index];
            let Some((timer, _)) = runner.deadline.filter(|&(_, at)| at <= now) else {
                continue;
            };
            runner.deadline = None;
            let Some(setup) = runner.setup.as_mut() else {
                continue;
            };
            setup
                .core
                .handle_into(ts, Input::TimerFired { timer }, &mut actions);
            if !actions.iter().all(urgent) {
                let rest: Vec<Action> = actions.extract_if(.., |a| !urgent(a)).collect();
                later.push((index, rest));
            }
            self.carry_out(index, &mut actions).await;
        }
        self.actions = actions;
        self.flush_adverts();
        for (index, mut rest) in later {
            self.apply(index, &mut rest).await;
        }
        for &index in &due {
            self.garp_timers(index, now);
            self.schedule(index);
        }
        due.clear();
        self.timer_queue.due = due;
    }

    /// Runner `index`'s due gratuitous ARP burst and refresh.
    fn garp_timers(&mut self, index: usize, now: Instant) {
        let runner = &mut self.runners[index];
        if runner.garp_burst_at.is_some_and(|at| at <= now) {
            runner.garp_burst_at = None;
            if runner.state() == State::Master {
                let repeat = runner.conf.garp_master_repeat;
                self.send_garps(index, repeat);
            }
        }
        let runner = &mut self.runners[index];
        if runner.refresh_at.is_some_and(|at| at <= now) {
            runner.refresh_at = None;
            if runner.state() == State::Master && runner.conf.garp_master_refresh_s > 0 {
                runner.refresh_at =
                    Some(now + Duration::from_secs(runner.conf.garp_master_refresh_s));
                let repeat = runner.conf.wire.garp_master_refresh_repeat.max(1);
                self.send_garps(index, repeat);
            }
        }
        let runner = &mut self.runners[index];
        if runner.lower_prio_burst_at.is_some_and(|at| at <= now) {
            runner.lower_prio_burst_at = None;
            if runner.state() == State::Master {
                let repeat = runner.conf.wire.garp_lower_prio_repeat.unwrap_or(0);
                self.send_garps(index, repeat);
            }
        }
    }
}

/// What a timer's actions must do before any other instance's slower work: the advert and
/// the next deadline. Neither moves a sync group, and their order against the rest does not
/// matter to the core (RFC 5798 6.4.2 sends the advert first anyway).
fn urgent(action: &Action) -> bool {
    matches!(
        action,
        Action::SendAdvert { .. } | Action::ArmTimer { .. } | Action::CancelTimer { .. }
    )
}
