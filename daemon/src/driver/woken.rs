//! Which of the loop's sources woke it. The loop polls its sources in one function each turn
//! (turn.rs); a source that has not been woken since it last said Pending cannot be ready,
//! yet polling it (a channel's receiver, the alarm's readiness) still cost a few hundred
//! instructions each, twice per advert at N=1 (callgrind, docs/halabd.md "Seventh change").
//! Each source is polled with a waker of its own, which notes that it was woken and wakes
//! the loop; one not woken is skipped.
//!
//! A source stays registered with the waker it was last polled with until that waker is
//! woken (tokio's channels and I/O readiness keep it), so skipping it loses no wake-up. One
//! that was ready is polled again next turn: more may be queued, and it will not wake for
//! what it already holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// One source's waker and its note.
pub(super) struct Source {
    note: Arc<Note>,
    waker: Waker,
}

struct Note {
    /// Woken (or ready) since the source last said Pending; true at first, so the first poll
    /// registers the source.
    woken: AtomicBool,
    /// The loop's own waker, woken in turn (the one of the source's latest poll).
    parent: AtomicWaker,
}

impl Wake for Note {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.parent.wake();
    }
}

impl Default for Source {
    fn default() -> Self {
        let note = Arc::new(Note {
            woken: AtomicBool::new(true),
            parent: AtomicWaker::new(),
        });
        Self {
            waker: Waker::from(Arc::clone(&note)),
            note,
        }
    }
}

impl Source {
    /// `poll` with this source's waker if the source was woken since it last said Pending
    /// (or was ready then); Pending without polling it otherwise.
    pub(super) fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.note.parent.register(cx.waker());
        if !self.note.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let result = poll(&mut Context::from_waker(&self.waker));
        if result.is_ready() {
            self.note.woken.store(true, Ordering::Release);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Input: a channel polled through a source: empty, then again without a message, then
    /// after a send, then twice more with two messages queued. Output: polled at first (and
    /// Pending), skipped while nothing woke it (no poll), polled after the send woke the
    /// loop's waker, and polled again after each message it returned.
    #[test]
    fn a_source_is_polled_only_when_woken_or_ready() {
        let count = Arc::new(Count::default());
        let loop_waker = Waker::from(Arc::clone(&count));
        let mut cx = Context::from_waker(&loop_waker);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let source = Source::default();
        let mut polls = 0;
        let mut poll = |cx: &mut Context<'_>, polls: &mut usize| {
            source.poll(cx, |cx| {
                *polls += 1;
                rx.poll_recv(cx)
            })
        };
        assert!(poll(&mut cx, &mut polls).is_pending());
        assert!(poll(&mut cx, &mut polls).is_pending());
        assert_eq!(polls, 1);
        tx.send(1).expect("send");
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        tx.send(2).expect("send");
        assert_eq!(poll(&mut cx, &mut polls), Poll::Ready(Some(1)));
        assert_eq!(poll(&mut cx, &mut polls), Poll::Ready(Some(2)));
        assert!(poll(&mut cx, &mut polls).is_pending());
        assert!(poll(&mut cx, &mut polls).is_pending());
        assert_eq!(polls, 4);
    }
}
