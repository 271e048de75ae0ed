//! The reconnecting socket's state, published to a `watch` channel (the
//! latest state) and to streams of every change.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::error::Error;

/// Where a [`ReconnectingMessageWebSocket`](super::ReconnectingMessageWebSocket) is.
#[derive(Debug, Clone)]
pub enum ConnectionState {
    /// Making the first connection (or not started yet).
    Connecting,
    /// Connected, the on-connect hook done: sends go out.
    Connected,
    /// The connection was lost or an attempt failed; the next attempt
    /// comes after `next_delay`.
    Reconnecting {
        /// The attempt to come (from 1; counted since the last connection
        /// that stayed up the policy's `reset_after`).
        attempt: u32,
        /// Why the last connection or attempt ended.
        last_error: Arc<Error>,
        /// The wait before the attempt.
        next_delay: Duration,
    },
    /// For good; no state follows.
    Closed {
        /// Why.
        why: ClosedReason,
    },
}

impl ConnectionState {
    /// True for [`Connected`](Self::Connected).
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnectionState::Connected)
    }

    /// True for [`Closed`](Self::Closed).
    pub fn is_closed(&self) -> bool {
        matches!(self, ConnectionState::Closed { .. })
    }
}

/// Why a reconnecting socket closed.
#[derive(Debug, Clone)]
pub enum ClosedReason {
    /// The user closed it (`close`, on the socket or a sender), or dropped
    /// the socket.
    ByUser,
    /// The peer closed with a code the policy does not retry.
    PeerClosed {
        /// The close code.
        code: u16,
        /// The reason.
        reason: String,
    },
    /// An error the policy does not retry, or the attempts ran out.
    Failed {
        /// The error given up on.
        error: Arc<Error>,
        /// Attempts made in a row before giving up.
        attempts: u32,
    },
}

/// Where the state is published: one `watch` channel, and one queue per
/// [`ConnectionStates`] stream so that none misses a change.
#[derive(Debug)]
pub(crate) struct StateBoard {
    latest: watch::Sender<ConnectionState>,
    streams: Mutex<Vec<mpsc::UnboundedSender<ConnectionState>>>,
}

impl StateBoard {
    pub(crate) fn new() -> Self {
        StateBoard {
            latest: watch::Sender::new(ConnectionState::Connecting),
            streams: Mutex::new(Vec::new()),
        }
    }

    fn lock_streams(
        &self,
    ) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<ConnectionState>>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes `state`, unless the socket is closed already (closed is
    /// for good). After a close the streams end.
    pub(crate) fn publish(&self, state: ConnectionState) {
        let mut streams = self.lock_streams();
        if self.latest.borrow().is_closed() {
            return;
        }
        streams.retain(|s| s.send(state.clone()).is_ok());
        if state.is_closed() {
            streams.clear();
        }
        self.latest.send_replace(state);
    }

    pub(crate) fn current(&self) -> ConnectionState {
        self.latest.borrow().clone()
    }

    pub(crate) fn watch(&self) -> watch::Receiver<ConnectionState> {
        self.latest.subscribe()
    }

    /// A stream that starts with the current state.
    pub(crate) fn stream(&self) -> ConnectionStates {
        let (tx, rx) = mpsc::unbounded_channel();
        let streams = &mut *self.lock_streams();
        let current = self.latest.borrow().clone();
        let closed = current.is_closed();
        let _ = tx.send(current);
        if !closed {
            streams.push(tx);
        }
        ConnectionStates { rx }
    }
}

/// Every state change of a reconnecting socket, from the state it was in
/// when the stream was made; ends after [`ConnectionState::Closed`] (or
/// when the socket and its senders are gone).
///
/// Each stream has its own queue, so a slow reader misses no change; the
/// changes are few (at most one per attempt, and the attempts are paced
/// by the policy's delays), but a stream that is never read keeps them
/// all: drop it when it is not wanted.
#[derive(Debug)]
pub struct ConnectionStates {
    rx: mpsc::UnboundedReceiver<ConnectionState>,
}

impl futures_core::Stream for ConnectionStates {
    type Item = ConnectionState;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ConnectionState>> {
        self.get_mut().rx.poll_recv(cx)
    }
}
