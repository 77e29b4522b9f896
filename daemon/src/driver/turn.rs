//! What wakes the event loop: its alarm, a readable VRRP socket, an event from a task, a
//! status request. One poll function over the four, in a fixed order, instead of
//! `tokio::select!`: the macro built a future per source on every turn, drew a random number
//! for its start, and polled the sources through their futures' state machines. At N=1 each
//! advert is one turn, and that was about a quarter of halabd's instructions per advert
//! (callgrind, docs/halabd.md "Sixth change").
//!
//! The order: the alarm first (due work reads every socket before anything fires, see
//! `Daemon::due_work`), then the sockets and the event channel, taking turns at going
//! first so that a flood on either cannot hold up the other, then status requests.

use std::task::{Context, Poll};
use std::time::Instant;

use tokio::sync::mpsc::{Receiver, UnboundedReceiver};

use super::Event;
use super::receive::{self, SharedSocket, SocketKey};
use super::status::Request;
use super::wakeup::Wakeup;
use super::woken::Source;

/// Why the loop woke.
pub(super) enum Turn {
    /// The alarm: Ok(true) if it woke the loop, Ok(false) if its moment had passed already.
    Alarm(Instant, std::io::Result<bool>),
    /// A socket the runtime has seen readable.
    Socket(SocketKey),
    /// An event from the loop's tasks (None: every sender is gone).
    Event(Option<Event>),
    /// Someone asks for the status.
    Status(Request),
}

/// The wakers of the sources polled through one (woken.rs): a source nothing woke is not
/// polled. The sockets are polled directly (each read leaves them to be polled again).
#[derive(Default)]
pub(super) struct Woken {
    alarm: Source,
    events: Source,
    requests: Source,
}

/// The sources a turn looks at.
pub(super) struct Sources<'a> {
    pub(super) woken: &'a Woken,
    pub(super) wakeup: &'a Wakeup,
    pub(super) sockets: &'a super::keyhash::KeyMap<SocketKey, SharedSocket>,
    pub(super) events: &'a mut Receiver<Event>,
    pub(super) requests: &'a mut UnboundedReceiver<Request>,
}

impl Sources<'_> {
    /// The first source that is ready, looking at them in the module's order; `wake` is the
    /// alarm's moment, `turn` counts the loop's turns (who goes first among sockets and
    /// events, and which socket first).
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        wake: Option<Instant>,
        turn: usize,
    ) -> Poll<Turn> {
        let woken = self.woken;
        if let Poll::Ready(result) = self.wakeup.poll_until(cx, wake, &woken.alarm) {
            // The alarm is ready only with a moment.
            return Poll::Ready(Turn::Alarm(wake.unwrap_or_else(Instant::now), result));
        }
        if turn.is_multiple_of(2) {
            if let Poll::Ready(key) = receive::poll_readable(self.sockets, turn, cx) {
                return Poll::Ready(Turn::Socket(key));
            }
            if let Poll::Ready(event) = woken.events.poll(cx, |cx| self.events.poll_recv(cx)) {
                return Poll::Ready(Turn::Event(event));
            }
        } else {
            if let Poll::Ready(event) = woken.events.poll(cx, |cx| self.events.poll_recv(cx)) {
                return Poll::Ready(Turn::Event(event));
            }
            if let Poll::Ready(key) = receive::poll_readable(self.sockets, turn, cx) {
                return Poll::Ready(Turn::Socket(key));
            }
        }
        // The sender lives in the status cell as long as the loop serves it: never None.
        if let Poll::Ready(Some(request)) =
            woken.requests.poll(cx, |cx| self.requests.poll_recv(cx))
        {
            return Poll::Ready(Turn::Status(request));
        }
        Poll::Pending
    }
}
