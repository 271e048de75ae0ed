//! The session's one timer: it reads the clock for the core's deadlines
//! ([`proto::timers`](crate::proto::timers): keep-alive, the close timeout,
//! a client's wait for the server's end of TCP) and wakes whoever polls
//! the session when the next one comes.
//!
//! There is no task of its own. Every wait of the session (a read, a write
//! the transport cannot take yet, a flush, the close) polls this timer on
//! its way to `Pending`, with the fan-out waker, so the deadlines run while
//! some half of the socket is polled: a receive waiting for the next
//! message (as any read loop does) is enough. A socket that nobody polls
//! sends no pings; it could not read their pongs either.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::{EOF_GRACE, Ended, Session};
use crate::error::{Error, Result, TimeoutKind};
use crate::proto::timers::{Expired, Timers};
use crate::proto::{CloseFrame, Role};

/// The core's deadlines and the one sleep set for the next of them.
#[derive(Debug)]
pub(super) struct Clock {
    pub(super) timers: Timers,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The deadline `sleep` is set for.
    armed: Option<Instant>,
}

impl Clock {
    pub(super) fn new(timers: Timers) -> Box<Self> {
        Box::new(Clock {
            timers,
            sleep: None,
            armed: None,
        })
    }
}

impl Session {
    /// The core's deadlines, created on first use when keep-alive is off.
    fn clock(&mut self) -> &mut Clock {
        let keep_alive = self.opts.keep_alive();
        self.clock
            .get_or_insert_with(|| Clock::new(Timers::new(keep_alive, Instant::now())))
    }

    /// Queues our close frame, and from now the peer has the close timeout
    /// to answer it.
    pub(crate) fn queue_close(&mut self, frame: Option<&CloseFrame>) -> Result<()> {
        self.proto.encode_close(frame)?;
        if let Some(limit) = self.opts.close_timeout {
            self.clock()
                .timers
                .on_close_sent(Instant::now(), Some(limit));
        }
        Ok(())
    }

    /// The close handshake is done: a client now waits a little for the
    /// server to end TCP (RFC 6455 7.1.1), at most the close timeout.
    pub(super) fn handshake_done(&mut self) {
        let fin_wait = match self.proto.config().role {
            // Over HTTP/2 a client waits for nothing (see `poll_peer_eof`).
            Role::Client if self.io.is_http2() => None,
            Role::Client => Some(
                self.opts
                    .close_timeout
                    .map_or(EOF_GRACE, |l| l.min(EOF_GRACE)),
            ),
            Role::Server => None,
        };
        // A server waits for nothing: its clock, if it has one, only drops
        // the close timeout, and one that has none needs none made.
        if fin_wait.is_none() && self.clock.is_none() {
            return;
        }
        let now = Instant::now();
        let clock = self.clock();
        clock.timers.on_closed(now, fin_wait);
    }

    /// Polled by every wait of the session on its way to `Pending` (the
    /// caller's waker is registered already): does what the core's
    /// deadlines say is due, and sets the sleep for the next one.
    /// `Pending` when nothing was due; `Ready(Ok)` when something was (a
    /// ping queued, the wait for the peer's end of TCP over), so that the
    /// caller looks again at what it waits for; the session's error when a
    /// deadline ended it (an unanswered ping or close).
    pub(super) fn poll_clock(&mut self) -> Poll<Result<()>> {
        let Some(clock) = self.clock.as_mut() else {
            return Poll::Pending;
        };
        let Some(due) = clock.timers.poll_timeout() else {
            clock.sleep = None;
            clock.armed = None;
            return Poll::Pending;
        };
        if clock.armed != Some(due) {
            let deadline = tokio::time::Instant::from_std(due);
            match &mut clock.sleep {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => clock.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            clock.armed = Some(due);
        }
        let mut fcx = Context::from_waker(&self.fan);
        let fired = clock
            .sleep
            .as_mut()
            .is_some_and(|s| s.as_mut().poll(&mut fcx).is_ready());
        let now = Instant::now();
        if !fired && now < due {
            return Poll::Pending;
        }
        // The timer rounds up to its tick; once it fired, the deadline has
        // come whatever the finer clock says, so it is not set again for
        // the same moment.
        self.handle_clock(now.max(due))
    }

    /// A deadline came at `now`: what the core says is due, done.
    fn handle_clock(&mut self, now: Instant) -> Poll<Result<()>> {
        let Some(clock) = self.clock.as_mut() else {
            return Poll::Pending;
        };
        clock.armed = None;
        match clock.timers.handle_timeout(now, &mut self.proto) {
            Some(Expired::PongTimeout) => {
                self.end(Ended::KeepAlive);
                return Poll::Ready(Err(Error::Timeout(TimeoutKind::KeepAlive)));
            }
            Some(Expired::Close) => {
                self.end(Ended::CloseTimeout);
                self.proto.discard_output();
                return Poll::Ready(Err(Error::Timeout(TimeoutKind::Close)));
            }
            Some(Expired::PeerFin) => self.fin_wait_over = true,
            None => {}
        }
        // A ping or pong the core queued: out as far as the transport
        // takes it now; the caller's next write (or the reader's, which
        // writes what is owed before it reads) finishes it.
        self.write_now();
        Poll::Ready(Ok(()))
    }
}

/// The keep-alive deadlines of a session with these options, `None` when
/// keep-alive is off (the clock is then created at the first close).
pub(super) fn keep_alive_clock(
    config: crate::proto::keep_alive::KeepAliveConfig,
) -> Option<Box<Clock>> {
    let timers = Timers::new(config, Instant::now());
    timers.is_active().then(|| Clock::new(timers))
}
