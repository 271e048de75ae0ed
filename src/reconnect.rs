//! A message socket that reconnects by itself, and the loop form
//! ([`connections`]) for code that writes its own loop.
//!
//! ```no_run
//! use wsock::{Received, ReconnectingMessageWebSocket, ReconnectPolicy};
//!
//! # async fn demo() -> wsock::Result<()> {
//! let mut control = wsock::MessageWebSocketControl::default();
//! control.receive_timeout = None;
//! let mut ws = ReconnectingMessageWebSocket::new("ws://127.0.0.1:9001/feed", control, ReconnectPolicy::default())
//!     // After every connection, before anything else is sent.
//!     .on_connect(|mut ws| async move {
//!         ws.send_text("subscribe prices").await?;
//!         Ok(ws)
//!     });
//! let sender = ws.sender(); // for other tasks
//! tokio::spawn(async move { sender.send_text("hello").await });
//! loop {
//!     match ws.receive().await? {
//!         Received::Message(m) => println!("{}", m.as_text()?),
//!         Received::Closed { code, .. } => break println!("closed for good with {code}"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! There is no background task: the reconnection runs in
//! [`ReconnectingMessageWebSocket::receive`] (and in the socket's own
//! sends), as keep-alive runs in the socket's own polls. A read loop, as
//! every feed client has, is what keeps it connected; sends from other
//! tasks go through a [`ReconnectingMessageSender`], which waits for (or
//! fails during) the reconnection. Dropping the socket closes its
//! connection (1001, without waiting) and leaves nothing running.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::control::MessageWebSocketControl;
use crate::error::{Error, Result, TimeoutKind};
use crate::information::MessageWebSocketInformation;
use crate::message::{Message, MessageReceiver, MessageWebSocket, Received, user_close_frame};

mod backoff;
mod connector;
mod policy;
mod retry_after;
mod sender;
mod state;

pub use connector::{Connections, connections};
use connector::{Connector, gave_up};
pub use policy::{
    Delays, FailureStage, ReconnectPolicy, RetryContext, RetryDecision, RetryFilter,
    SendsWhileReconnecting,
};
pub use sender::ReconnectingMessageSender;
use sender::Shared;
pub use state::{ClosedReason, ConnectionState, ConnectionStates};

/// Where the socket is in its life.
#[derive(Debug)]
enum Phase {
    /// The next attempt is due at `at`.
    Pending { at: Instant },
    /// Connected: the current connection's receiving half (its sender is
    /// in the shared slot).
    Open {
        receiver: MessageReceiver,
        since: Instant,
    },
    /// For good: what `receive` reports once (the peer's close, or the
    /// error given up on), then [`Error::ConnectionClosed`].
    Done { report: Option<Result<Received>> },
}

/// Facts about a reconnecting socket: the current connection's, and the
/// reconnections so far.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReconnectingInformation {
    /// The current connection's information; `None` while not connected.
    pub connection: Option<MessageWebSocketInformation>,
    /// Connections made after the first.
    pub reconnects: u64,
    /// When the current connection was made (after its on-connect hook);
    /// `None` while not connected.
    pub connected_since: Option<Instant>,
}

/// A [`MessageWebSocket`] that reconnects by itself, made from a URL, a
/// [`MessageWebSocketControl`] (cloned for every connection) and a
/// [`ReconnectPolicy`].
///
/// Nothing connects until [`connect`](Self::connect),
/// [`receive`](Self::receive) or a send of the socket itself. The
/// connection is then made again, after the policy's delay, whenever it
/// ends in a way the policy retries; the optional
/// [`on_connect`](Self::on_connect) hook runs on each new connection before
/// it is used. [`state`](Self::state), [`watch_state`](Self::watch_state)
/// and [`states`](Self::states) tell where it is.
///
/// **`receive` drives it.** A lost connection is noticed, and the next one
/// made, inside `receive` (or a send of the socket itself); keep a read
/// loop running. Its receive timeout
/// ([`MessageWebSocketControl::receive_timeout`], 30 s by default) is
/// passed on as with [`MessageWebSocket::receive`] and keeps the
/// connection: to find a dead peer, use keep-alive
/// (`keep_alive_interval` with `keep_alive_timeout`), whose timeout ends
/// the connection and is retried.
///
/// Every method is cancel-safe: a `receive` dropped during a reconnection
/// resumes it at the next call (a wait keeps its deadline; an attempt in
/// progress is made again).
#[derive(Debug)]
pub struct ReconnectingMessageWebSocket {
    connector: Connector,
    shared: Arc<Shared>,
    phase: Phase,
    information: Option<MessageWebSocketInformation>,
    connections: u64,
}

impl ReconnectingMessageWebSocket {
    /// A socket for `url`; see the type's docs for when it connects.
    pub fn new(url: &str, control: MessageWebSocketControl, policy: ReconnectPolicy) -> Self {
        let shared = Shared::new(policy.sends_while_reconnecting, control.send_timeout);
        ReconnectingMessageWebSocket {
            connector: Connector::new(url, control, policy),
            shared: Arc::new(shared),
            phase: Phase::Pending { at: Instant::now() },
            information: None,
            connections: 0,
        }
    }

    /// Runs `hook` on every new connection (the first and each
    /// reconnection), on the whole socket, before anything else uses it:
    /// to subscribe again, authenticate, resend state. It hands the socket
    /// back; an error fails the attempt, which the policy retries (see
    /// [`ReconnectPolicy::default_decision`]).
    pub fn on_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: FnMut(MessageWebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = Result<MessageWebSocket>> + Send + 'static,
    {
        self.connector.hook = Some(connector::hook(hook));
        self
    }

    /// Connects (the first time, or again after a loss), retrying per the
    /// policy; returns at once when connected. Fails with
    /// [`Error::GaveUp`] when the policy stops, and with
    /// [`Error::ConnectionClosed`] after a close.
    pub async fn connect(&mut self) -> Result<()> {
        loop {
            match &mut self.phase {
                Phase::Open { .. } => return Ok(()),
                Phase::Done { report } => return Err(done_error(report)),
                Phase::Pending { at } => {
                    let at = *at;
                    self.attempt_at(at).await;
                }
            }
        }
    }

    /// The next message. A connection that ends in a way the policy
    /// retries is made again here, unseen by the caller (the states tell);
    /// one that is not ends the socket: `receive` then reports, once, the
    /// peer's close ([`Received::Closed`], such as 1000 by default) or the
    /// error ([`Error::GaveUp`], whose source is the last failure), and
    /// fails with [`Error::ConnectionClosed`] afterwards.
    ///
    /// A receive timeout is passed on and keeps the connection (see the
    /// type's docs).
    pub async fn receive(&mut self) -> Result<Received> {
        loop {
            let ended = match &mut self.phase {
                Phase::Open { receiver, .. } => match receiver.receive().await {
                    Ok(Received::Message(m)) => return Ok(Received::Message(m)),
                    Err(Error::Timeout(TimeoutKind::Receive)) => {
                        return Err(Error::Timeout(TimeoutKind::Receive));
                    }
                    Ok(Received::Closed { code, reason }) => Error::PeerClosed { code, reason },
                    Err(e) => e,
                },
                Phase::Pending { at } => {
                    let at = *at;
                    self.attempt_at(at).await;
                    continue;
                }
                Phase::Done { report } => {
                    return report.take().unwrap_or(Err(Error::ConnectionClosed));
                }
            };
            if self.shared.close_requested() {
                // A sender's close: this was the peer's answer.
                self.finish_by_user();
                return match ended {
                    Error::PeerClosed { code, reason } => Ok(Received::Closed { code, reason }),
                    e => Err(e),
                };
            }
            self.lost(ended);
        }
    }

    /// Sends one whole text message. While reconnecting this makes the
    /// connection itself (within the send timeout), or fails at once with
    /// [`Error::NotConnected`], as the policy says.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.ready_to_send().await?;
        self.sender().send_text(text).await
    }

    /// Sends one whole binary message; see [`send_text`](Self::send_text).
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.ready_to_send().await?;
        self.sender().send_binary(data).await
    }

    /// Sends a message with its own type; see [`send_text`](Self::send_text).
    pub async fn send_message(&mut self, message: &Message) -> Result<()> {
        self.ready_to_send().await?;
        self.sender().send_message(message).await
    }

    /// A sender for other tasks (see [`ReconnectingMessageSender`]).
    pub fn sender(&self) -> ReconnectingMessageSender {
        ReconnectingMessageSender {
            shared: self.shared.clone(),
        }
    }

    /// Closes for good: the current connection, if any, with `code` and
    /// `reason` (waiting for the peer's answer, as
    /// [`MessageWebSocket::close`]), and no reconnection follows. The state
    /// becomes [`ClosedReason::ByUser`].
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<()> {
        user_close_frame(code, reason)?;
        self.shared.request_close();
        let phase = std::mem::replace(&mut self.phase, Phase::Done { report: None });
        let sender = self.shared.slot.lock().await.take();
        self.finish_by_user();
        if let (Phase::Open { receiver, .. }, Some(sender)) = (phase, sender)
            && let Ok(mut ws) = MessageWebSocket::reunite(sender, receiver)
        {
            return ws.close(code, reason).await;
        }
        Ok(())
    }

    /// The current state.
    pub fn state(&self) -> ConnectionState {
        self.shared.board.current()
    }

    /// The state as a `watch` channel (the latest state only).
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.shared.board.watch()
    }

    /// Every state change, from the current state on, as a stream that
    /// misses none and ends after [`ConnectionState::Closed`].
    pub fn states(&self) -> ConnectionStates {
        self.shared.board.stream()
    }

    /// The current connection's facts, the number of reconnections and
    /// when the current connection began.
    pub fn information(&self) -> ReconnectingInformation {
        let connected_since = match &self.phase {
            Phase::Open { since, .. } => Some(*since),
            _ => None,
        };
        ReconnectingInformation {
            connection: connected_since.and(self.information.clone()),
            reconnects: self.connections.saturating_sub(1),
            connected_since,
        }
    }

    /// Waits for `at`, then makes one attempt (connection and hook).
    async fn attempt_at(&mut self, at: Instant) {
        // The wait, cut short by a sender's close.
        if tokio::time::timeout_at(at, self.shared.close_asked())
            .await
            .is_ok()
        {
            return self.finish_by_user();
        }
        match self.connector.attempt().await {
            Ok(ws) => self.install(ws).await,
            Err((e, stage)) => self.failed(e, stage),
        }
    }

    /// A new connection, its hook done: the sender goes in the slot, the
    /// receiver here, and the state says Connected.
    async fn install(&mut self, ws: MessageWebSocket) {
        if self.shared.close_requested() {
            return self.finish_by_user();
        }
        self.information = Some(ws.information().clone());
        let (sender, receiver) = ws.split();
        *self.shared.slot.lock().await = Some(sender);
        self.connections += 1;
        self.phase = Phase::Open {
            receiver,
            since: Instant::now(),
        };
        self.shared.board.publish(ConnectionState::Connected);
    }

    /// The connection ended with `error` (a close frame is
    /// [`Error::PeerClosed`]).
    fn lost(&mut self, error: Error) {
        if let Phase::Open { since, .. } = &self.phase {
            self.connector.backoff.connection_ended(since.elapsed());
        }
        self.information = None;
        self.phase = Phase::Pending { at: Instant::now() };
        self.shared.empty_slot();
        self.failed(error, FailureStage::Connection);
    }

    /// An attempt or a connection failed: the next attempt, or the end.
    fn failed(&mut self, error: Error, stage: FailureStage) {
        match self.connector.backoff.after_failure(Some(&error), stage) {
            Some(delay) => {
                self.phase = Phase::Pending {
                    at: Instant::now() + delay,
                };
                self.shared.board.publish(ConnectionState::Reconnecting {
                    attempt: self.connector.backoff.attempt(),
                    last_error: Arc::new(error),
                    next_delay: delay,
                });
            }
            None => self.give_up(error),
        }
    }

    fn give_up(&mut self, error: Error) {
        self.information = None;
        self.shared.empty_slot();
        let (why, report) = match error {
            Error::PeerClosed { code, reason } => (
                ClosedReason::PeerClosed {
                    code,
                    reason: reason.clone(),
                },
                Ok(Received::Closed { code, reason }),
            ),
            error => {
                let error = Arc::new(error);
                let attempts = self.connector.backoff.attempt();
                (
                    ClosedReason::Failed {
                        error: error.clone(),
                        attempts,
                    },
                    Err(gave_up(error, attempts)),
                )
            }
        };
        self.phase = Phase::Done {
            report: Some(report),
        };
        self.shared.board.publish(ConnectionState::Closed { why });
    }

    fn finish_by_user(&mut self) {
        self.information = None;
        if !matches!(self.phase, Phase::Done { .. }) {
            self.phase = Phase::Done { report: None };
        }
        self.shared.empty_slot();
        self.shared.board.publish(ConnectionState::Closed {
            why: ClosedReason::ByUser,
        });
    }

    /// Before a send of the socket itself: a connection, made here if
    /// needed (the socket is the one that would make it).
    async fn ready_to_send(&mut self) -> Result<()> {
        match &self.phase {
            Phase::Open { .. } => Ok(()),
            Phase::Done { report } => Err(done_error(report)),
            Phase::Pending { .. } => {
                if self.connector.policy().sends_while_reconnecting == SendsWhileReconnecting::Fail
                {
                    return Err(Error::NotConnected);
                }
                match self.connector.control().send_timeout {
                    None => self.connect().await,
                    Some(limit) => tokio::time::timeout(limit, self.connect())
                        .await
                        .map_err(|_| Error::Timeout(TimeoutKind::Send))?,
                }
            }
        }
    }
}

/// The error a closed socket's `connect` and sends fail with: the one given
/// up on (again), else [`Error::ConnectionClosed`].
fn done_error(report: &Option<Result<Received>>) -> Error {
    match report {
        Some(Err(Error::GaveUp { attempts, last })) => Error::GaveUp {
            attempts: *attempts,
            last: last.clone(),
        },
        _ => Error::ConnectionClosed,
    }
}

impl Drop for ReconnectingMessageWebSocket {
    /// The connection goes (1001, without waiting) and waiting senders
    /// fail with [`Error::ConnectionClosed`].
    fn drop(&mut self) {
        self.shared.request_close();
        self.finish_by_user();
    }
}
