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
    /// True if the loop slept and the alarm woke it, false if `at` had already passed.
    pub(super) async fn until(&self, at: Instant) -> io::Result<bool> {
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        // Any change re-sets the timer: a backup's Master_Down_Timer, pushed back by each
        // advert, would otherwise fire early once every few adverts, and a wake-up (two
        // context switches and a few system calls) costs more than a `timerfd_settime`.
        if self.armed.get() != Some(at) {
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
            let mut fired = false;
            // Reads the expiry count; EAGAIN (clearing tokio's readiness) until it fired.
            // Once read, the timer has nothing more to say until it is set again: saying
            // WouldBlock clears the readiness now instead of with one more `read` next time.
            let read = self.ready.try_io(Interest::READABLE, || {
                self.timer.wait().map_err(io::Error::from)?;
                fired = true;
                Err::<(), _>(io::ErrorKind::WouldBlock.into())
            });
            match read {
                _ if fired => {
                    self.armed.set(None);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
                Ok(()) => continue,
            }
        }
    }
}
