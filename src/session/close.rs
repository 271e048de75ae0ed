//! The close of the output (.NET `CloseOutputAsync`): this side's close
//! frame goes out while another half goes on reading, so nothing the peer
//! sent before its close is lost.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Mutex;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use super::{EOF_GRACE, Ended, Session, Shared, Side};
use crate::error::{Error, Result, TimeoutKind};
use crate::proto::{CloseFrame, Event, State};

/// Data events that a closing writer half read off the connection, kept
/// in order for the reading half, which takes them before it reads on.
/// Bounded: past [`STASH_LIMIT`] bytes the writer stops reading and waits
/// for the reader to go on ([`Session::poll_close_output`]).
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
    /// Queues this side's close frame (if not sent yet), writes it out, and
    /// waits until the close handshake is over, without reading: the
    /// reading half decodes the peer's close and wakes this one
    /// ([`Session::wake_halves`]). `Ok` once the handshake completed; the
    /// session's error if it ended otherwise.
    pub(crate) fn poll_close_output(
        &mut self,
        cx: &mut Context<'_>,
        frame: Option<&CloseFrame>,
    ) -> Poll<Result<()>> {
        if self.proto.state() == State::Open {
            if let Some(e) = &self.ended {
                return Poll::Ready(Err(e.error()));
            }
            if let Err(e) = self.proto.encode_close(frame) {
                return Poll::Ready(Err(Error::Protocol(e)));
            }
        }
        ready!(self.poll_flush(cx, Side::Writer))?;
        match &self.ended {
            _ if self.proto.state() == State::Closed => Poll::Ready(Ok(())),
            Some(Ended::Closed) => Poll::Ready(Ok(())),
            Some(e) => Poll::Ready(Err(e.error())),
            None => {
                // Registered under the lock the reader needs to decode the
                // peer's close: its wake-up cannot come in between.
                self.wakers.register(Side::Writer, cx.waker());
                Poll::Pending
            }
        }
    }

    /// The close handshake of a writer half while the reading half lives:
    /// as [`Session::poll_close`], but the data that arrives before the
    /// peer's close goes to `stash` for the reader instead of being
    /// dropped. When the stash is full this waits for the reader instead
    /// ([`Session::poll_close_output`]), so the peer cannot grow it
    /// without bound.
    pub(crate) fn poll_close_keeping(
        &mut self,
        cx: &mut Context<'_>,
        frame: Option<&CloseFrame>,
        stash: &Mutex<Stash>,
    ) -> Poll<Result<()>> {
        if self.proto.state() == State::Open {
            if let Some(e) = &self.ended {
                return Poll::Ready(Err(e.error()));
            }
            if let Err(e) = self.proto.encode_close(frame) {
                return Poll::Ready(Err(Error::Protocol(e)));
            }
        }
        ready!(self.poll_flush(cx, Side::Writer))?;
        while self.proto.state() != State::Closed {
            if !lock(stash).has_room() {
                return self.poll_close_output(cx, frame);
            }
            match ready!(self.poll_event(cx, Side::Writer)) {
                Ok(ev @ Event::Data { .. }) => {
                    lock(stash).push(ev);
                    // The reader may be waiting for the peer.
                    self.wakers.wake_all();
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
        // The reader reports the peer's close.
        self.wakers.wake_all();
        self.poll_flush(cx, Side::Writer)
    }

    /// Wakes both halves: the reading half calls this when it saw the
    /// peer's close or the end of the session, for a half waiting in
    /// [`Session::poll_close_output`].
    pub(crate) fn wake_halves(&self) {
        self.wakers.wake_all();
    }
}

impl Shared {
    /// The writer's close while another half may read: as
    /// [`Shared::close`], but the handshake is
    /// [`Session::poll_close_keeping`], which keeps the peer's messages for
    /// the reader, until that half is dropped (then the messages go
    /// nowhere, as in [`Session::poll_close`]; the other half's drop wakes
    /// this one).
    pub(crate) async fn close_output(
        &self,
        frame: Option<&CloseFrame>,
        limit: Option<Duration>,
        stash: &Mutex<Stash>,
    ) -> Result<()> {
        self.run_timeout(limit, TimeoutKind::Close, |s, cx| {
            self.poll_close_output_step(s, cx, frame, stash)
        })
        .await?;
        // As in `close`: a short wait for the server's end of TCP, then ours.
        let mut eof = std::pin::pin!(self.run(|s, cx| s.poll_peer_eof(cx, Side::Writer)));
        if poll_fn(|cx| Poll::Ready(eof.as_mut().poll(cx)))
            .await
            .is_pending()
        {
            let grace = limit.map_or(EOF_GRACE, |l| l.min(EOF_GRACE));
            let _ = tokio::time::timeout(grace, eof).await;
        }
        self.run(|s, cx| s.poll_finish(cx, Side::Writer)).await;
        Ok(())
    }
}

impl Shared {
    /// One poll of the handshake of [`Shared::close_output`] (also the
    /// `Sink`'s close of a split sender).
    pub(crate) fn poll_close_output_step(
        &self,
        s: &mut Session,
        cx: &mut Context<'_>,
        frame: Option<&CloseFrame>,
        stash: &Mutex<Stash>,
    ) -> Poll<Result<()>> {
        if self.is_last() {
            s.poll_close(cx, Side::Writer, frame)
        } else {
            s.poll_close_keeping(cx, frame, stash)
        }
    }
}
