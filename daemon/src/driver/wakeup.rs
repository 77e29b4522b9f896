//! The loop's alarm clock: a `timerfd` set to the earliest deadline, to the microsecond.
//!
//! tokio's timers round every deadline up to the next millisecond, which made each advert
//! about 1 ms late (11% slow at `advert_int 0.01`); a timerfd wakes the loop when asked.

use std::cell::Cell;
use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use super::woken::Source;

/// A one-shot monotonic alarm.
pub(super) struct Wakeup {
    timer: TimerFd,
    /// The deadline the timer is set to, so an unchanged one costs no system call.
    armed: Cell<Option<Instant>>,
    /// The same timer, registered with tokio's reactor. tokio only offers `AsyncFd` for
    /// arbitrary descriptors through an `unsafe` constructor; its `UdpSocket` is registered
    /// safely and only ever asked for readiness and `try_io` here, which are plain epoll
    /// operations that work on any descriptor.
    ready: UdpSocket,
}

impl Wakeup {
    pub(super) fn new() -> io::Result<Self> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        let dup = timer.as_fd().try_clone_to_owned()?;
        let ready = UdpSocket::from_std(std::net::UdpSocket::from(dup))?;
        Ok(Self {
            timer,
            armed: Cell::new(None),
            ready,
        })
    }

    /// Ready when `at` has come (at once if it has passed), or earlier: the caller checks
    /// what is due; never without an `at`. Ready(Ok(true)) if the alarm woke the loop,
    /// Ready(Ok(false)) if `at` had already passed. A poll, not a future: the loop polls its
    /// sources in one function each turn instead of building a future per source per turn.
    /// The timer's readiness is polled through `source` (woken.rs): not at all while
    /// nothing woke it.
    pub(super) fn poll_until(
        &self,
        cx: &mut Context<'_>,
        at: Option<Instant>,
        source: &Source,
    ) -> Poll<io::Result<bool>> {
        let Some(at) = at else {
            return Poll::Pending;
        };
        // Any change re-sets the timer: a backup's Master_Down_Timer, pushed back by each
        // advert, would otherwise fire early once every few adverts, and a wake-up (two
        // context switches and a few system calls) costs more than a `timerfd_settime`.
        // Once armed for `at`, only the timer's readiness says it is over: polled again after
        // the expiry, the clock alone would call it passed, not a wake-up by the alarm.
        if self.armed.get() != Some(at) {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Poll::Ready(Ok(false));
            }
            // A zero expiration would disarm the timer: at least 1 us.
            let left = left.max(Duration::from_micros(1));
            self.timer.set(
                Expiration::OneShot(TimeSpec::from_duration(left)),
                TimerSetTimeFlags::empty(),
            )?;
            self.armed.set(Some(at));
        }
        loop {
            if let Err(e) = std::task::ready!(source.poll(cx, |cx| self.ready.poll_recv_ready(cx)))
            {
                return Poll::Ready(Err(e));
            }
            // The expiry count is not read: every wait for a later deadline re-sets the timer,
            // which zeroes the count, and the runtime's edge-triggered poll reports the next
            // expiry whatever the count was. Saying WouldBlock clears the runtime's readiness
            // without a system call; the clock says whether this is the expiry or a stale one
            // (the timer fired for an earlier deadline before it was re-set).
            let _ = self.ready.try_io(Interest::READABLE, || {
                Err::<(), _>(io::ErrorKind::WouldBlock.into())
            });
            if Instant::now() >= at {
                self.armed.set(None);
                return Poll::Ready(Ok(true));
            }
        }
    }
}
