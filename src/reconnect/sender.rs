//! The sending side of a reconnecting socket: a cloneable handle on the
//! current connection's [`MessageSender`], which the receiving side
//! replaces at each reconnection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard, Notify, watch};
use tokio::time::Instant;

use crate::error::{Error, Result, TimeoutKind};
use crate::message::{Message, MessageSender, user_close_frame};

use super::policy::SendsWhileReconnecting;
use super::state::{ConnectionState, ConnectionStates, StateBoard};

/// What the socket and its sender handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The current connection's sender; `None` while there is none.
    pub(crate) slot: Mutex<Option<MessageSender>>,
    pub(crate) board: StateBoard,
    pub(crate) mode: SendsWhileReconnecting,
    pub(crate) send_timeout: Option<Duration>,
    /// A close asked for by the user, from the socket or a sender.
    close_requested: AtomicBool,
    /// Wakes the receiving side from a backoff wait when a sender closes.
    close_notify: Notify,
}

impl Shared {
    pub(crate) fn new(mode: SendsWhileReconnecting, send_timeout: Option<Duration>) -> Self {
        Shared {
            slot: Mutex::new(None),
            board: StateBoard::new(),
            mode,
            send_timeout,
            close_requested: AtomicBool::new(false),
            close_notify: Notify::new(),
        }
    }

    pub(crate) fn request_close(&self) {
        self.close_requested.store(true, Ordering::SeqCst);
        self.close_notify.notify_one();
    }

    pub(crate) fn close_requested(&self) -> bool {
        self.close_requested.load(Ordering::SeqCst)
    }

    /// Until a sender asks for a close (at once if one did).
    pub(crate) async fn close_asked(&self) {
        while !self.close_requested() {
            self.close_notify.notified().await;
        }
    }

    /// Drops the current connection's sender unless a send holds it (that
    /// send finds the socket closed afterwards and drops it then).
    pub(crate) fn empty_slot(&self) {
        if let Ok(mut slot) = self.slot.try_lock() {
            slot.take();
        }
    }
}

/// A sender for a [`ReconnectingMessageWebSocket`](super::ReconnectingMessageWebSocket),
/// for other tasks: cloneable, and it always sends on the current
/// connection. Get one with
/// [`ReconnectingMessageWebSocket::sender`](super::ReconnectingMessageWebSocket::sender).
///
/// While the socket reconnects, a send waits for the next connection
/// (within the send timeout) or fails at once with [`Error::NotConnected`],
/// as [`ReconnectPolicy::sends_while_reconnecting`](super::ReconnectPolicy::sends_while_reconnecting)
/// says. The reconnection itself is made by the socket's
/// [`receive`](super::ReconnectingMessageWebSocket::receive): a waiting
/// send needs a task that reads.
///
/// A message is never sent twice: a send that fails is not repeated on the
/// next connection. A message that was sent (the call returned `Ok`) just
/// before the connection died may still be lost: WebSocket has no
/// acknowledgements, so what the peer did not read before the end is gone.
/// Protocols that need every message confirm them at their level.
#[derive(Debug, Clone)]
pub struct ReconnectingMessageSender {
    pub(crate) shared: Arc<Shared>,
}

impl ReconnectingMessageSender {
    /// Sends one whole text message on the current connection.
    pub async fn send_text(&self, text: &str) -> Result<()> {
        let mut slot = self.connected().await?;
        let result = match slot.as_mut() {
            Some(sender) => sender.send_text(text).await,
            None => Err(Error::ConnectionClosed),
        };
        self.after_send(&mut slot);
        result
    }

    /// Sends one whole binary message on the current connection.
    pub async fn send_binary(&self, data: &[u8]) -> Result<()> {
        let mut slot = self.connected().await?;
        let result = match slot.as_mut() {
            Some(sender) => sender.send_binary(data).await,
            None => Err(Error::ConnectionClosed),
        };
        self.after_send(&mut slot);
        result
    }

    /// Sends a message with its own type (see [`MessageSender::send_message`]).
    pub async fn send_message(&self, message: &Message) -> Result<()> {
        let mut slot = self.connected().await?;
        let result = match slot.as_mut() {
            Some(sender) => sender.send_message(message).await,
            None => Err(Error::ConnectionClosed),
        };
        self.after_send(&mut slot);
        result
    }

    /// Closes the socket for good: no reconnection follows. With a
    /// connection, its close frame goes out and this waits (within the
    /// close timeout) for the peer's close, which the socket's `receive`
    /// then reports as [`Received::Closed`](crate::Received::Closed);
    /// without one, the socket's reconnection stops.
    pub async fn close(&self, code: u16, reason: &str) -> Result<()> {
        user_close_frame(code, reason)?;
        self.shared.request_close();
        let sender = self.shared.slot.lock().await.take();
        match sender {
            Some(mut sender) => sender.close(code, reason).await,
            None => Ok(()),
        }
    }

    /// The current state.
    pub fn state(&self) -> ConnectionState {
        self.shared.board.current()
    }

    /// The state as a `watch` channel.
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.shared.board.watch()
    }

    /// Every state change from now on, as a stream.
    pub fn states(&self) -> ConnectionStates {
        self.shared.board.stream()
    }

    /// The current connection's sender, locked: waits for a connection (or
    /// fails, per the policy) within the send timeout.
    async fn connected(&self) -> Result<MutexGuard<'_, Option<MessageSender>>> {
        let deadline = self.shared.send_timeout.map(|d| Instant::now() + d);
        let mut state = self.shared.board.watch();
        loop {
            if self.shared.close_requested() {
                return Err(Error::ConnectionClosed);
            }
            let connected = match &*state.borrow_and_update() {
                ConnectionState::Closed { .. } => return Err(Error::ConnectionClosed),
                ConnectionState::Connected => true,
                _ if self.shared.mode == SendsWhileReconnecting::Fail => {
                    return Err(Error::NotConnected);
                }
                _ => false,
            };
            if connected {
                let slot = within(deadline, self.shared.slot.lock()).await?;
                if slot.is_some() {
                    return Ok(slot);
                }
                // Emptied since: the state says what comes next.
            }
            within(deadline, state.changed())
                .await?
                .map_err(|_| Error::ConnectionClosed)?;
        }
    }

    /// A socket that closed while this send held the sender leaves its
    /// connection to be dropped here.
    fn after_send(&self, slot: &mut Option<MessageSender>) {
        if self.shared.board.current().is_closed() {
            slot.take();
        }
    }
}

/// `fut` within the send deadline.
async fn within<T>(deadline: Option<Instant>, fut: impl Future<Output = T>) -> Result<T> {
    match deadline {
        None => Ok(fut.await),
        Some(at) => tokio::time::timeout_at(at, fut)
            .await
            .map_err(|_| Error::Timeout(TimeoutKind::Send)),
    }
}
