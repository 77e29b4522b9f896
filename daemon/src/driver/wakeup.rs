//! The loop's alarm clock: a `timerfd` set to the earliest deadline, to the microsecond.
//!
//! tokio's timers round every deadline up to the next millisecond, which made each advert
//! about 1 ms late (11% slow at `advert_int 0.01`); a timerfd wakes the loop when asked.

use std::cell::Cell;
use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::Interest;
use tokio::net::UdpSocket;

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

    /// Waits until `at` (at once if it has passed), or earlier: the caller checks what is due.
    pub(super) async fn until(&self, at: Instant) -> io::Result<()> {
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        // Only an earlier deadline re-sets the timer: a later one (a backup's Master_Down_Timer
        // pushed back by each advert) lets it fire early once, and the loop, finding nothing
        // due, asks again. One system call per few adverts instead of one per advert.
        if self.armed.get().is_none_or(|armed| at < armed) {
            // A zero expiration would disarm the timer: at least 1 us.
            let left = left.max(Duration::from_micros(1));
            self.timer.set(
                Expiration::OneShot(TimeSpec::from_duration(left)),
                TimerSetTimeFlags::empty(),
            )?;
            self.armed.set(Some(at));
        }
        loop {
            self.ready.readable().await?;
            // Reads the expiry count; EAGAIN (clearing tokio's readiness) until it fired.
            match self.ready.try_io(Interest::READABLE, || {
                self.timer.wait().map_err(io::Error::from)
            }) {
                Ok(()) => {
                    self.armed.set(None);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}
