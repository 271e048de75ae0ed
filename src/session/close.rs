//! The one close every face of every socket runs (`close`, the `Sink`'s
//! close, the stream socket's `close`): the close handshake, a short wait
//! for a client's server to end TCP, then our end of TCP, under the close
//! timeout. While the other half of a split socket lives, the close is a
//! close of the output (.NET `CloseOutputAsync`): the data the peer sends
//! before its close reply is kept for that half, so nothing is lost.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Mutex;
use std::task::{Context, Poll, ready};

use super::{Ended, Session, Shared, Side};
use crate::error::{Error, Result};
use crate::proto::{CloseFrame, Event, State};

/// Data events that a closing writer half read off the connection, kept
/// in order for the reading half, which takes them before it reads on.
/// Bounded: past [`STASH_LIMIT`] bytes the writer stops reading and waits
/// for the reader to go on ([`Session::poll_close_handshake`]).
#[derive(Debug, Default)]
pub(crate) struct Stash {
    events: VecDeque<Event>,
    bytes: usize,
}

/// The most payload bytes a [`Stash`] takes before the writer stops reading.
const STASH_LIMIT: usize = 1 << 20;

impl Stash {
    fn has_room(&self) -> bool {
        self.bytes < STASH_LIMIT
    }

    fn push(&mut self, ev: Event) {
        if let Event::Data { payload, .. } = &ev {
            self.bytes += payload.len();
        }
        self.events.push_back(ev);
    }

    /// The oldest event kept, and whether the stash was full before it was
    /// taken (the writer may be waiting for room then).
    pub(crate) fn pop(&mut self) -> Option<(Event, bool)> {
        let full = !self.has_room();
        let ev = self.events.pop_front()?;
        if let Event::Data { payload, .. } = &ev {
            self.bytes -= payload.len();
        }
        Some((ev, full))
    }
}

fn lock(stash: &Mutex<Stash>) -> std::sync::MutexGuard<'_, Stash> {
    stash.lock().unwrap_or_else(|p| p.into_inner())
}

impl Session {
    /// The close handshake: queues this side's close frame (if not sent
    /// yet), writes it out, and reads until the peer's close. The data that
    /// arrives meanwhile goes to `keep` for the reading half when there is
    /// one, else it is dropped (the caller is the socket's last handle).
    /// When `keep` is full this stops reading and waits for the reader,
    /// which takes from it and decodes the peer's close itself, so the peer
    /// cannot grow it without bound. `Ok` once the handshake completed;
    /// the session's error if it ended otherwise.
    fn poll_close_handshake(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
        frame: Option<&CloseFrame>,
        keep: Option<&Mutex<Stash>>,
    ) -> Poll<Result<()>> {
        if self.proto.state() == State::Open {
            if let Some(e) = &self.ended {
                return Poll::Ready(Err(e.error()));
            }
            if let Err(e) = self.queue_close(frame) {
                return Poll::Ready(Err(e));
            }
        }
        ready!(self.poll_flush(cx, side))?;
        while self.proto.state() != State::Closed {
            if keep.is_some_and(|k| !lock(k).has_room()) {
                match &self.ended {
                    Some(Ended::Closed) => break,
                    Some(e) => return Poll::Ready(Err(e.error())),
                    None => {
                        // Registered under the lock the reader needs to
                        // take from the stash or decode the peer's close:
                        // its wake-up cannot come in between. The close
                        // timeout runs meanwhile.
                        self.wakers.register(side, cx.waker());
                        ready!(self.poll_clock())?;
                        continue;
                    }
                }
            }
            match ready!(self.poll_event(cx, side)) {
                Ok(ev @ Event::Data { .. }) => {
                    if let Some(k) = keep {
                        lock(k).push(ev);
                        // The reader may be waiting for the peer.
                        self.wakers.wake_all();
                    }
                }
                Ok(_) => {}
                Err(Error::ConnectionClosed) => break,
                Err(e) => {
                    self.wakers.wake_all();
                    return Poll::Ready(Err(e));
                }
            }
        }
        self.end(Ended::Closed);
        self.handshake_done();
        // A reading half reports the peer's close.
        self.wakers.wake_all();
        self.poll_flush(cx, side)
    }

    /// Wakes both halves: the reading half calls this when it saw the
    /// peer's close or the end of the session, or took from a full stash,
    /// for a half waiting in [`Session::poll_close_handshake`].
    pub(crate) fn wake_halves(&self) {
        self.wakers.wake_all();
    }
}

/// Where a close stands, for a face that polls it by hand (the `Sink`);
/// [`Shared::close`] keeps its own.
#[derive(Debug, Default)]
pub(crate) struct Closing {
    step: Step,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Step {
    #[default]
    Handshake,
    PeerEof,
    Finish,
    Done,
}

impl Shared {
    /// The close: the handshake, which the peer has the close timeout to
    /// answer (else `Timeout(Close)`, and the connection has failed), then
    /// a short wait for a client's server to end TCP (RFC 6455 7.1.1; not
    /// an error if it does not come), then our end of TCP
    /// ([`Session::poll_finish`]). Both deadlines are the core's
    /// ([`proto::timers`](crate::proto::timers)), run by the session's one
    /// timer. While another handle to the session lives, the data that
    /// comes before the peer's close goes to `keep` for it.
    pub(crate) async fn close(
        &self,
        side: Side,
        frame: Option<&CloseFrame>,
        keep: Option<&Mutex<Stash>>,
    ) -> Result<()> {
        let mut closing = Closing::default();
        poll_fn(|cx| self.poll_close(&mut closing, cx, side, frame, keep)).await
    }

    /// [`Shared::close`] in poll form, its progress kept in `closing`.
    pub(crate) fn poll_close(
        &self,
        closing: &mut Closing,
        cx: &mut Context<'_>,
        side: Side,
        frame: Option<&CloseFrame>,
        keep: Option<&Mutex<Stash>>,
    ) -> Poll<Result<()>> {
        loop {
            match closing.step {
                Step::Handshake => {
                    let keep = keep.filter(|_| !self.is_last());
                    let res = ready!(self.lock().poll_close_handshake(cx, side, frame, keep));
                    if let Err(e) = res {
                        // A close asked again starts over.
                        *closing = Closing::default();
                        return Poll::Ready(Err(e));
                    }
                    closing.step = Step::PeerEof;
                }
                Step::PeerEof => {
                    ready!(self.lock().poll_peer_eof(cx, side));
                    closing.step = Step::Finish;
                }
                Step::Finish => {
                    ready!(self.lock().poll_finish(cx, side));
                    closing.step = Step::Done;
                }
                Step::Done => return Poll::Ready(Ok(())),
            }
        }
    }
}
