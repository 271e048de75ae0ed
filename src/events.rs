//! WinRT-style events on top of the async API, for code ported from
//! `MessageWebSocket.MessageReceived` and `Closed` handlers.
//!
//! Register handlers, connect, then [`MessageWebSocket::start_events`]: a
//! task receives messages and calls the handlers, and the returned sender
//! sends. The async API ([`MessageWebSocket::receive`]) stays the primary
//! one; this adapter is built on it.
//!
//! ```no_run
//! use wsock::{MessageType, MessageWebSocket, MessageWebSocketControl, MessageWebSocketEvents};
//!
//! # async fn demo() -> wsock::Result<()> {
//! let mut events = MessageWebSocketEvents::new();
//! events.on_message_received(|args| {
//!     println!("received {:?}", args.read_text());
//! });
//! events.on_closed(|args| println!("closed: {} {}", args.code(), args.reason()));
//!
//! let mut control = MessageWebSocketControl::default();
//! control.message_type = MessageType::Utf8;
//! let ws = MessageWebSocket::connect("ws://127.0.0.1:9001/", control).await?;
//! let (mut sender, events_done) = ws.start_events(events);
//! sender.send(b"Hello, world!").await?;
//! sender.close(1000, "bye").await?;
//! events_done.await.ok();
//! # Ok(()) }
//! ```

use bytes::Bytes;

use crate::control::MessageType;
use crate::error::{Error, Result};
use crate::message::{Message, MessageSender, MessageWebSocket, Received};
use crate::proto::close;

/// WinRT's `MessageWebSocketMessageReceivedEventArgs`.
#[derive(Debug, Clone)]
pub struct MessageReceivedEventArgs {
    message: Message,
}

impl MessageReceivedEventArgs {
    /// Utf8 or Binary (WinRT `MessageType`).
    pub fn message_type(&self) -> MessageType {
        self.message.message_type()
    }

    /// False for a piece of a message in partial receive mode (WinRT
    /// `IsMessageComplete`).
    pub fn is_message_complete(&self) -> bool {
        self.message.is_message_complete()
    }

    /// The data (WinRT `GetDataReader`/`GetDataStream`).
    pub fn data(&self) -> &Bytes {
        self.message.data()
    }

    /// The data as text.
    pub fn read_text(&self) -> Result<&str> {
        self.message.as_text()
    }

    /// The message itself.
    pub fn into_message(self) -> Message {
        self.message
    }
}

/// WinRT's `WebSocketClosedEventArgs`.
#[derive(Debug)]
pub struct ClosedEventArgs {
    code: u16,
    reason: String,
    error: Option<Error>,
}

impl ClosedEventArgs {
    /// The close code: the peer's, or 1006 when the connection ended without
    /// a close handshake.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The close reason (for 1006, what went wrong).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The error that ended the connection, when it did not close cleanly.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

type MessageHandler = Box<dyn FnMut(MessageReceivedEventArgs) + Send>;
type ClosedHandler = Box<dyn FnOnce(ClosedEventArgs) + Send>;

/// The handlers to call: WinRT's `MessageReceived` and `Closed` events.
#[derive(Default)]
pub struct MessageWebSocketEvents {
    message_received: Option<MessageHandler>,
    closed: Option<ClosedHandler>,
}

impl std::fmt::Debug for MessageWebSocketEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageWebSocketEvents")
            .field("message_received", &self.message_received.is_some())
            .field("closed", &self.closed.is_some())
            .finish()
    }
}

impl MessageWebSocketEvents {
    /// No handlers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `MessageReceived` handler.
    pub fn on_message_received(
        &mut self,
        handler: impl FnMut(MessageReceivedEventArgs) + Send + 'static,
    ) -> &mut Self {
        self.message_received = Some(Box::new(handler));
        self
    }

    /// Sets the `Closed` handler, called once when the connection ends.
    pub fn on_closed(
        &mut self,
        handler: impl FnOnce(ClosedEventArgs) + Send + 'static,
    ) -> &mut Self {
        self.closed = Some(Box::new(handler));
        self
    }
}

impl MessageWebSocket {
    /// Starts delivering received messages to `events` from a Tokio task,
    /// and returns the sending half with the task's handle (it ends after
    /// the `Closed` handler ran). No receive timeout applies to the task:
    /// events wait for the peer as long as the connection lives.
    pub fn start_events(
        self,
        mut events: MessageWebSocketEvents,
    ) -> (MessageSender, tokio::task::JoinHandle<()>) {
        let (sender, mut receiver) = self.split();
        let task = tokio::spawn(async move {
            receiver.set_receive_timeout(None);
            let closed = loop {
                match receiver.receive().await {
                    Ok(Received::Message(message)) => {
                        if let Some(h) = &mut events.message_received {
                            h(MessageReceivedEventArgs { message });
                        }
                    }
                    Ok(Received::Closed { code, reason }) => {
                        break ClosedEventArgs {
                            code,
                            reason,
                            error: None,
                        };
                    }
                    Err(Error::ConnectionClosed) => {
                        let (code, reason) = receiver
                            .close_status()
                            .unwrap_or((close::NO_STATUS, String::new()));
                        break ClosedEventArgs {
                            code,
                            reason,
                            error: None,
                        };
                    }
                    Err(e) => {
                        break ClosedEventArgs {
                            code: close::ABNORMAL,
                            reason: e.report(),
                            error: Some(e),
                        };
                    }
                }
            };
            if let Some(h) = events.closed.take() {
                h(closed);
            }
        });
        (sender, task)
    }
}
