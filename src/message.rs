//! WinRT's `MessageWebSocket`: whole (or partial) UTF-8 and binary messages.
//!
//! ```no_run
//! use wsock::{MessageWebSocket, MessageWebSocketControl, MessageType, Received};
//!
//! # async fn demo() -> wsock::Result<()> {
//! let mut control = MessageWebSocketControl::default();
//! control.message_type = MessageType::Utf8;
//! let mut ws = MessageWebSocket::connect("ws://127.0.0.1:9001/", control).await?;
//! ws.send(b"Hello, world!").await?;
//! match ws.receive().await? {
//!     Received::Message(m) => println!("{}", m.as_text()?),
//!     Received::Closed { code, reason } => println!("closed {code} {reason}"),
//! }
//! ws.close(1000, "bye").await?;
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::control::{MessageType, MessageWebSocketControl, MessageWebSocketReceiveMode};
use crate::error::{Error, Result, TimeoutKind};
use crate::information::MessageWebSocketInformation;
use crate::proto::{self, CloseFrame, DataKind, Event};
use crate::reunite::ReuniteError;
use crate::session::{Closing, Deadline, Session, Shared, Side, Stash, with_timeout};
use sender::{Batch, SINK_BATCH};

mod receiver;
mod sender;
mod sink;
mod writer;

pub use receiver::MessageReceiver;
pub use sender::MessageSender;
pub use writer::MessageWriter;

/// A message, or a piece of one in [`MessageWebSocketReceiveMode::PartialMessage`].
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    data: Bytes,
    kind: Kind,
}

/// A message's type, whether it is whole and whether it may be
/// compressed, as bits of one word rather than separate fields:
/// benches/compare workload (a), which moves 200k small messages through
/// the Sink and `receive`, runs about 15% faster this way (see the commit
/// that brought it back). An enum rather than a plain integer, so that the
/// enums around a message (`Received`, `Result`) keep their tags in its
/// unused values, which is worth as much again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
enum Kind {
    Binary = 0,
    Utf8 = Kind::UTF8,
    BinaryPiece = Kind::PIECE,
    Utf8Piece = Kind::UTF8 | Kind::PIECE,
    BinaryUncompressed = Kind::NO_COMPRESSION,
    Utf8Uncompressed = Kind::NO_COMPRESSION | Kind::UTF8,
    BinaryPieceUncompressed = Kind::NO_COMPRESSION | Kind::PIECE,
    Utf8PieceUncompressed = Kind::NO_COMPRESSION | Kind::UTF8 | Kind::PIECE,
}

impl Kind {
    /// Utf8 (else Binary).
    const UTF8: u64 = 1;
    /// A piece that more pieces follow.
    const PIECE: u64 = 1 << 1;
    /// Sent without permessage-deflate.
    const NO_COMPRESSION: u64 = 1 << 2;

    fn has(self, bit: u64) -> bool {
        self as u64 & bit != 0
    }

    fn from_bits(bits: u64) -> Kind {
        match bits & 7 {
            0 => Kind::Binary,
            1 => Kind::Utf8,
            2 => Kind::BinaryPiece,
            3 => Kind::Utf8Piece,
            4 => Kind::BinaryUncompressed,
            5 => Kind::Utf8Uncompressed,
            6 => Kind::BinaryPieceUncompressed,
            _ => Kind::Utf8PieceUncompressed,
        }
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("message_type", &self.message_type())
            .field("data", &self.data)
            .field("complete", &self.is_message_complete())
            .finish()
    }
}

impl Message {
    /// A message of `message_type`.
    fn new(message_type: MessageType, data: Bytes, complete: bool) -> Self {
        let utf8 = match message_type {
            MessageType::Binary => 0,
            MessageType::Utf8 => Kind::UTF8,
        };
        let piece = if complete { 0 } else { Kind::PIECE };
        Message {
            data,
            kind: Kind::from_bits(utf8 | piece),
        }
    }

    /// A whole text message.
    pub fn text(text: impl Into<String>) -> Self {
        Message::new(MessageType::Utf8, Bytes::from(text.into()), true)
    }

    /// A whole binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Message::new(MessageType::Binary, data.into(), true)
    }

    /// Utf8 or Binary.
    pub fn message_type(&self) -> MessageType {
        if self.kind.has(Kind::UTF8) {
            MessageType::Utf8
        } else {
            MessageType::Binary
        }
    }

    /// The payload (handed over from the read buffer, not copied, when the
    /// message came in one frame).
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The payload, by value.
    pub fn into_data(self) -> Bytes {
        self.data
    }

    /// False for a piece that more pieces of the same message follow
    /// (WinRT `IsMessageComplete`).
    pub fn is_message_complete(&self) -> bool {
        !self.kind.has(Kind::PIECE)
    }

    /// This message, sent without permessage-deflate even when the
    /// connection agreed to it (.NET's `WebSocketMessageFlags.DisableCompression`):
    /// for data already compressed, or too short to gain, or secret data
    /// that must not share a compression context with what an attacker
    /// controls (the CRIME/BREACH class of attacks). Sent in pieces, the
    /// first piece decides for the whole message (RFC 7692 compresses a
    /// message or not as a whole). No effect without permessage-deflate,
    /// and none on what is received.
    pub fn without_compression(mut self) -> Self {
        self.kind = Kind::from_bits(self.kind as u64 | Kind::NO_COMPRESSION);
        self
    }

    /// False when [`without_compression`](Self::without_compression) was
    /// asked for.
    pub fn may_be_compressed(&self) -> bool {
        !self.kind.has(Kind::NO_COMPRESSION)
    }

    /// The payload as text. A whole text message is always valid UTF-8 (the
    /// core checked it); a piece may end inside a character, and binary data
    /// may be anything: both can fail with [`Error::InvalidArgument`].
    pub fn as_text(&self) -> Result<&str> {
        std::str::from_utf8(&self.data)
            .map_err(|e| Error::invalid(format!("message is not UTF-8 text: {e}")))
    }
}

/// What [`MessageWebSocket::receive`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A message (or a piece, in partial mode).
    Message(Message),
    /// The peer closed the connection (WinRT's `Closed` event): its code
    /// (1005 if it gave none) and reason. Reported once, also when this side
    /// began the close (the peer's answer); later receives fail with
    /// [`Error::ConnectionClosed`].
    Closed {
        /// The close code.
        code: u16,
        /// The reason.
        reason: String,
    },
}

fn kind_of(t: MessageType) -> DataKind {
    match t {
        MessageType::Utf8 => DataKind::Text,
        MessageType::Binary => DataKind::Binary,
    }
}

fn type_of(k: DataKind) -> MessageType {
    match k {
        DataKind::Text => MessageType::Utf8,
        DataKind::Binary => MessageType::Binary,
    }
}

/// Checks a close code and reason a user may send (the browser rules):
/// any code an endpoint may send (see
/// [`close_status`](crate::close_status)), reason at most 123 bytes.
pub(crate) fn user_close_frame(code: u16, reason: &str) -> Result<CloseFrame> {
    if let Some(why) = proto::close::why_not_sendable(code) {
        return Err(Error::invalid(format!(
            "close code {code} cannot be sent: {why}"
        )));
    }
    if reason.len() > 123 {
        return Err(Error::invalid(format!(
            "close reason is {} bytes (at most 123)",
            reason.len()
        )));
    }
    Ok(CloseFrame {
        code,
        reason: reason.to_owned(),
    })
}

/// WinRT's `MessageWebSocket` over Tokio.
///
/// Sends are of the type set in [`MessageWebSocketControl::message_type`]
/// (changeable with [`set_message_type`](Self::set_message_type)), or
/// explicit with [`send_text`](Self::send_text) and
/// [`send_binary`](Self::send_binary). [`receive`](Self::receive) yields
/// messages and, once, the peer's close. The socket is also a
/// [`futures_core::Stream`] of messages and a [`futures_sink::Sink`] of
/// [`Message`]s, and [`split`](Self::split)s into halves that two tasks can
/// use at once. Dropping an open socket closes it with 1001 without
/// waiting.
#[derive(Debug)]
pub struct MessageWebSocket {
    sender: MessageSender,
    receiver: MessageReceiver,
}

impl MessageWebSocket {
    /// Connects to a `ws://` or `wss://` URL. The control is consumed: no
    /// option can change after this, except the message type.
    pub async fn connect(url: &str, control: MessageWebSocketControl) -> Result<Self> {
        let opts = control.client_options(control.no_delay);
        let (session, facts) = crate::client::open(url, &opts, control.max_message_size).await?;
        Ok(Self::from_session(
            session,
            facts,
            control.message_type,
            control.receive_mode,
        ))
    }

    pub(crate) fn from_session(
        session: Session,
        facts: crate::information::ConnectionFacts,
        message_type: MessageType,
        mode: MessageWebSocketReceiveMode,
    ) -> Self {
        let stats = session.stats.clone();
        let (send_timeout, receive_timeout) =
            (session.opts.send_timeout, session.opts.receive_timeout);
        let batch = Batch {
            limit: session.opts.outbound_buffer_size.min(SINK_BATCH),
            ..Batch::default()
        };
        let fan = session.fan_waker();
        let shared = Shared::new(session);
        let info = MessageWebSocketInformation { facts, stats };
        MessageWebSocket {
            sender: MessageSender {
                info,
                closing: Closing::default(),
                shared: shared.clone(),
                message_type,
                send_timeout,
                open: None,
                stash: None,
                deadline: Deadline::new(fan.clone()),
                armed: None,
                sink_ready: false,
                batch,
            },
            receiver: MessageReceiver {
                shared,
                mode,
                receive_timeout,
                deadline: Deadline::new(fan.clone()),
                assembly: BytesMut::new(),
                assembly_type: MessageType::Binary,
                closed: None,
                close_reported: false,
                ahead: VecDeque::new(),
                stash: None,
            },
        }
    }

    /// Facts about the connection (WinRT `Information`).
    pub fn information(&self) -> &MessageWebSocketInformation {
        &self.sender.info
    }

    /// The peer's close code and reason, once its close frame came (1005
    /// when it gave no code), also after the `Stream` face ended with
    /// `None`.
    pub fn close_status(&self) -> Option<(u16, String)> {
        self.receiver.close_status()
    }

    /// The type of what [`send`](Self::send) sends.
    pub fn message_type(&self) -> MessageType {
        self.sender.message_type
    }

    /// Changes the type of what [`send`](Self::send) sends (the one control
    /// option WinRT lets change after connect).
    pub fn set_message_type(&mut self, message_type: MessageType) {
        self.sender.message_type = message_type;
    }

    /// Sends one whole message of the current [`message_type`](Self::message_type):
    /// **binary by default** (WinRT's default
    /// [`MessageType::Binary`](crate::MessageType::Binary)), whatever the
    /// bytes are. Set [`MessageWebSocketControl::message_type`] to
    /// [`MessageType::Utf8`](crate::MessageType::Utf8) (or call
    /// [`set_message_type`](Self::set_message_type)) for text, or use
    /// [`send_text`](Self::send_text) / [`send_binary`](Self::send_binary),
    /// which say what they send.
    ///
    /// Cancel safety: see [`MessageSender::send_binary`].
    pub async fn send(&mut self, data: impl AsRef<[u8]>) -> Result<()> {
        self.sender.send(data).await
    }

    /// Sends one whole text message.
    ///
    /// Cancel safety: see [`MessageSender::send_binary`].
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.sender.send_text(text).await
    }

    /// Sends one whole binary message; refused while a message sent in
    /// pieces is open ([`message_in_progress`](Self::message_in_progress)).
    ///
    /// Cancel safety: see [`MessageSender::send_binary`].
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.sender.send_binary(data).await
    }

    /// Sends a message with its own type, a piece as a piece (an echo server
    /// sends back what it received this way, also in partial receive mode);
    /// see [`MessageSender::send_message`].
    pub async fn send_message(&mut self, message: &Message) -> Result<()> {
        self.sender.send_message(message).await
    }

    /// Sends a piece of a message that more pieces follow (WinRT
    /// `SendNonfinalFrameAsync`). Pieces of a Utf8 message are checked as
    /// they go; see [`MessageSender::send_nonfinal_frame`], also for what a
    /// dropped send leaves (cancel safety).
    pub async fn send_nonfinal_frame(&mut self, data: &[u8]) -> Result<()> {
        self.sender.send_nonfinal_frame(data).await
    }

    /// Sends the last piece of a message (WinRT `SendFinalFrameAsync`); a
    /// whole message if no piece came before. It also ends a message left
    /// open by a dropped send or message writer.
    pub async fn send_final_frame(&mut self, data: &[u8]) -> Result<()> {
        self.sender.send_final_frame(data).await
    }

    /// True while a message sent in pieces is open; see
    /// [`MessageSender::message_in_progress`].
    pub fn message_in_progress(&self) -> bool {
        self.sender.message_in_progress()
    }

    /// Gives up the open message sent in pieces by closing the connection
    /// with 1011; see [`MessageSender::abort_message`].
    pub async fn abort_message(&mut self) -> Result<()> {
        self.sender.abort_message().await
    }

    /// A writer that sends one message of unknown length (WinRT
    /// `OutputStream`): what is written leaves as frames of one message of
    /// the current type, and `shutdown` ends the message. See
    /// [`MessageWriter`] for its timeouts and what dropping it leaves.
    pub fn message_writer(&mut self) -> MessageWriter<'_> {
        self.sender.message_writer()
    }

    /// Writes out everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        self.sender.flush().await
    }

    /// Sends a ping with `payload` (at most 125 bytes). The peer's pong is
    /// consumed by receive, not returned.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<()> {
        self.sender.ping(payload).await
    }

    /// The next message, or the peer's close.
    ///
    /// **Receive timeout:** `receive()` fails with
    /// [`Error::Timeout`](crate::Error::Timeout)`(Receive)` once the peer
    /// has been silent for [`MessageWebSocketControl::receive_timeout`],
    /// 30 s by default as in WinRT, so an idle wait ends. Any frame counts
    /// as a sign of life, the pongs that answer keep-alive pings included:
    /// with `keep_alive_interval` shorter than the timeout, a wait on a live
    /// peer does not end. The socket stays
    /// usable ([`Error::is_socket_usable`](crate::Error::is_socket_usable)
    /// says so): call `receive()` again. To wait as long as the connection
    /// lives, turn it off before connecting:
    ///
    /// ```
    /// let mut control = wsock::MessageWebSocketControl::default();
    /// control.receive_timeout = None;
    /// ```
    ///
    /// (or [`MessageReceiver::set_receive_timeout`] on a split receiver).
    /// The `Stream` face ([`futures_core::Stream::poll_next`]) and the
    /// events adapter apply no receive timeout.
    ///
    /// Cancel safety: dropping the future loses nothing, also in the middle
    /// of a fragmented message (the pieces read so far are kept for the
    /// next receive).
    #[inline]
    pub fn receive(&mut self) -> impl Future<Output = Result<Received>> + '_ {
        // Messages fed to the Sink leave while this side waits for the
        // peer, as they would without the batch. (An error is the sender's
        // to report.)
        let _ = self.sender.hand_over_batch();
        self.receiver.receive()
    }

    /// Closes with `code` (any code an endpoint may send: 1000-1003,
    /// 1007-1014, 3000-4999; [`close_status`](crate::close_status) names the
    /// common ones) and `reason` (at most 123
    /// bytes): sends the close frame and waits, up to the close timeout, for
    /// the peer's answer.
    ///
    /// A client then waits briefly for the server to end the TCP
    /// connection (RFC 6455 section 7.1.1) before ending its own side. Over
    /// `ws://`, when the server did end it, this side's FIN leaves when the
    /// socket is dropped rather than at once.
    ///
    /// Data that arrives before the peer's close is discarded: to read it,
    /// [`split`](Self::split) and close the sender half
    /// ([`MessageSender::close`], a close of the output).
    ///
    /// Cancel safety: dropping the future leaves the close frame queued or
    /// sent; the connection is closing.
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<()> {
        self.sender.close(code, reason).await
    }

    /// Ends the connection at once, without the close handshake (.NET
    /// `Abort`): pending and later operations on either half fail with
    /// [`Error::Canceled`] (status `OperationCanceled`).
    pub fn abort(&self) {
        self.sender.abort();
    }

    /// Splits into a sender and a receiver that two tasks can use at once.
    /// The sender's [`close`](MessageSender::close) then leaves the reading
    /// to the receiver, which gets every message the peer sent before its
    /// close.
    pub fn split(mut self) -> (MessageSender, MessageReceiver) {
        let stash = Arc::new(Mutex::new(Stash::default()));
        self.sender.stash = Some(stash.clone());
        self.receiver.stash = Some(stash);
        (self.sender, self.receiver)
    }

    /// Puts the halves of one [`split`](Self::split) back together; halves
    /// of two different sockets are handed back in the error.
    // The error holds the halves as they came, no larger than the socket.
    #[allow(clippy::result_large_err)]
    pub fn reunite(
        sender: MessageSender,
        receiver: MessageReceiver,
    ) -> std::result::Result<Self, ReuniteError<MessageSender, MessageReceiver>> {
        if !sender.shared.same_session(&receiver.shared) {
            return Err(ReuniteError(sender, receiver));
        }
        Ok(MessageWebSocket { sender, receiver })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_keeps_its_type_and_completeness() {
        for t in [MessageType::Binary, MessageType::Utf8] {
            for complete in [false, true] {
                let m = Message::new(t, Bytes::from_static(b"hi"), complete);
                assert_eq!(m.message_type(), t);
                assert_eq!(m.is_message_complete(), complete);
                assert_eq!(m.data(), &b"hi"[..]);
                assert_eq!(m.clone(), m);
            }
        }
        assert_ne!(
            Message::new(MessageType::Binary, Bytes::new(), true),
            Message::new(MessageType::Binary, Bytes::new(), false)
        );
        assert_ne!(Message::binary("a"), Message::text("a"));
        assert_eq!(Message::text("a").message_type(), MessageType::Utf8);
        assert!(Message::binary("a").is_message_complete());
    }

    #[test]
    fn message_debug_is_that_of_its_fields() {
        let m = Message::new(MessageType::Utf8, Bytes::from_static(b"hi"), false);
        assert_eq!(
            format!("{m:?}"),
            r#"Message { message_type: Utf8, data: b"hi", complete: false }"#
        );
        assert_eq!(
            format!("{:#?}", Message::binary(vec![0u8])),
            "Message {\n    message_type: Binary,\n    data: b\"\\0\",\n    complete: true,\n}"
        );
    }
}
