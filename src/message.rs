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
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::control::{MessageType, MessageWebSocketControl, MessageWebSocketReceiveMode};
use crate::error::{Error, Result, TimeoutKind};
use crate::information::MessageWebSocketInformation;
use crate::proto::{self, CloseFrame, DataKind, Event};
use crate::session::{Deadline, Session, Shared, Side, with_timeout};

mod sink;

pub use sink::MessageWriter;

/// A message, or a piece of one in [`MessageWebSocketReceiveMode::PartialMessage`].
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    data: Bytes,
    /// The message type and whether the message is complete, in one word
    /// (see [`meta`]): a message is built and moved as whole words. (Kept
    /// as a 4-byte type and a 1-byte flag, every move of a message read
    /// back with one 8-byte load what was just written with two smaller
    /// stores, which the processor cannot forward: a stall per message.)
    meta: u64,
}

/// [`Message::meta`]: the type in the low byte, completeness in the next.
#[inline]
const fn meta(message_type: MessageType, complete: bool) -> u64 {
    let t = match message_type {
        MessageType::Binary => 0,
        MessageType::Utf8 => 1,
    };
    t | (complete as u64) << 8
}

impl std::fmt::Debug for Message {
    /// As a derived `Debug` of the type, the payload and completeness.
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
    #[inline]
    fn new(message_type: MessageType, data: Bytes, complete: bool) -> Self {
        Message {
            data,
            meta: meta(message_type, complete),
        }
    }

    /// A whole text message.
    pub fn text(text: impl Into<String>) -> Self {
        Message::new(MessageType::Utf8, Bytes::from(text.into()), true)
    }

    /// A whole binary message.
    #[inline]
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Message::new(MessageType::Binary, data.into(), true)
    }

    /// Utf8 or Binary.
    #[inline]
    pub fn message_type(&self) -> MessageType {
        if self.meta & 0xFF == 1 {
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
    #[inline]
    pub fn is_message_complete(&self) -> bool {
        self.meta & 0x100 != 0
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
/// code 1000 or 3000-4999, reason at most 123 bytes.
pub(crate) fn user_close_frame(code: u16, reason: &str) -> Result<CloseFrame> {
    if !proto::close::is_user_code(code) {
        return Err(Error::invalid(format!(
            "close code {code} may not be sent by an application (1000 or 3000-4999)"
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

/// The sending half of a [`MessageWebSocket`].
#[derive(Debug)]
pub struct MessageSender {
    shared: Shared,
    message_type: MessageType,
    send_timeout: Option<Duration>,
    close_timeout: Option<Duration>,
    /// A message begun with `send_nonfinal_frame` and not ended yet.
    in_message: bool,
    /// The Sink's last `start_send` left the output below the outbound
    /// buffer size, so `poll_ready` can answer without the lock.
    sink_ready: bool,
    /// Whole messages the Sink encoded without the session lock and has
    /// not handed to the session yet; see [`SINK_BATCH`].
    batch: BytesMut,
    /// The batch is handed over once it holds this many bytes (0: the Sink
    /// does not batch, because permessage-deflate is on).
    batch_limit: usize,
    /// The connection's role, to encode the batch as the session would.
    role: proto::Role,
}

/// The most bytes of whole messages the Sink encodes into the sender's own
/// batch (no larger than the outbound buffer size) before it hands them to
/// the session in one locked step, instead of taking the session's lock
/// for each message. Frames are encoded exactly as the session encodes
/// them (permessage-deflate off; masked with this thread's keystream in the
/// client role) and only whole frames are handed over, so control frames
/// the receiving half queues in between (pong answers, the close reply)
/// still come between whole messages. The batch is also handed over by
/// `poll_ready` when it must wait, by `poll_flush` and `poll_close`, before
/// any other operation of the sender (sends, `flush`, `ping`, `close`, a
/// message writer), by [`MessageWebSocket::receive`] on an unsplit
/// socket, and when the sender is dropped. An error that the hand-over
/// finds (the connection ended) is reported by the call that hands over,
/// as the `Sink` contract allows; the first message of each batch is
/// still checked under the lock, so `start_send` on a connection known to
/// be over fails at once.
const SINK_BATCH: usize = 8 * 1024;

/// The largest payload the Sink batches: a larger message gains nothing
/// from saving a lock and would be copied twice.
const SINK_BATCH_PAYLOAD: usize = 1024;

/// The receiving half of a [`MessageWebSocket`].
#[derive(Debug)]
pub struct MessageReceiver {
    shared: Shared,
    mode: MessageWebSocketReceiveMode,
    receive_timeout: Option<Duration>,
    /// The receive timeout's timer, kept from one receive to the next.
    deadline: Deadline,
    /// Pieces of a fragmented message in full-message mode.
    assembly: BytesMut,
    assembly_type: MessageType,
    /// The peer's close, once seen, until reported.
    closed: Option<CloseFrame>,
    close_reported: bool,
    /// Messages decoded ahead, under the same lock as the one before them.
    /// Its capacity is kept while messages stream in and given back when
    /// the receiver waits for the peer, so an idle connection holds none.
    ahead: VecDeque<Message>,
}

/// Most messages decoded ahead under one lock.
const READ_AHEAD: usize = 64;

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
    // First, so that it is dropped before the halves: the session then
    // knows that no information object outlives it (see
    // `Stats::local_address`).
    info: MessageWebSocketInformation,
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
        let (send_timeout, receive_timeout, close_timeout) = (
            session.opts.send_timeout,
            session.opts.receive_timeout,
            session.opts.close_timeout,
        );
        let batch_limit = if session.proto.deflate().is_none() {
            session.opts.outbound_buffer_size.min(SINK_BATCH)
        } else {
            0
        };
        let role = session.proto.config().role;
        let shared = Shared::new(session);
        let info = MessageWebSocketInformation {
            facts,
            stats,
            session: shared.downgrade(),
        };
        MessageWebSocket {
            info,
            sender: MessageSender {
                shared: shared.clone(),
                message_type,
                send_timeout,
                close_timeout,
                in_message: false,
                sink_ready: false,
                batch: BytesMut::new(),
                batch_limit,
                role,
            },
            receiver: MessageReceiver {
                shared,
                mode,
                receive_timeout,
                deadline: Deadline::default(),
                assembly: BytesMut::new(),
                assembly_type: MessageType::Binary,
                closed: None,
                close_reported: false,
                ahead: VecDeque::new(),
            },
        }
    }

    /// Facts about the connection (WinRT `Information`).
    pub fn information(&self) -> &MessageWebSocketInformation {
        &self.info
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

    /// Sends one whole message of the current [`message_type`](Self::message_type).
    pub async fn send(&mut self, data: impl AsRef<[u8]>) -> Result<()> {
        self.sender.send(data).await
    }

    /// Sends one whole text message.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.sender.send_text(text).await
    }

    /// Sends one whole binary message.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.sender.send_binary(data).await
    }

    /// Sends a message with its own type (an echo server sends back what it
    /// received this way).
    pub async fn send_message(&mut self, message: &Message) -> Result<()> {
        self.sender.send_message(message).await
    }

    /// Sends a piece of a message that more pieces follow (WinRT
    /// `SendNonfinalFrameAsync`).
    pub async fn send_nonfinal_frame(&mut self, data: &[u8]) -> Result<()> {
        self.sender.send_nonfinal_frame(data).await
    }

    /// Sends the last piece of a message (WinRT `SendFinalFrameAsync`); a
    /// whole message if no piece came before.
    pub async fn send_final_frame(&mut self, data: &[u8]) -> Result<()> {
        self.sender.send_final_frame(data).await
    }

    /// A writer that sends one message of unknown length (WinRT
    /// `OutputStream`): what is written leaves as frames of one message of
    /// the current type, and `shutdown` ends the message.
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
    #[inline]
    pub fn receive(&mut self) -> impl Future<Output = Result<Received>> + '_ {
        // Messages fed to the Sink leave while this side waits for the
        // peer, as they would without the batch. (An error is the sender's
        // to report.)
        let _ = self.sender.hand_over_batch();
        self.receiver.receive()
    }

    /// Closes with `code` (1000 or 3000-4999) and `reason` (at most 123
    /// bytes): sends the close frame and waits, up to the close timeout, for
    /// the peer's answer.
    ///
    /// A client then waits briefly for the server to end the TCP
    /// connection (RFC 6455 section 7.1.1) before ending its own side. Over
    /// `ws://`, when the server did end it, this side's FIN leaves when the
    /// socket is dropped rather than at once.
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
    pub fn split(self) -> (MessageSender, MessageReceiver) {
        (self.sender, self.receiver)
    }
}

impl MessageSender {
    async fn write_frame(
        &mut self,
        kind: DataKind,
        data: &[u8],
        first: bool,
        fin: bool,
    ) -> Result<()> {
        self.hand_over_batch()?;
        let limit = self.send_timeout;
        let shared = &self.shared;
        // One lock per poll: wait for room, queue the frame once, flush.
        let mut queued = false;
        let send = shared.run(move |s, cx| {
            if !queued {
                ready!(s.poll_ready(cx, Side::Writer))?;
                s.proto.encode_data(kind, data, first, fin)?;
                queued = true;
            }
            s.poll_flush(cx, Side::Writer)
        });
        with_timeout(limit, TimeoutKind::Send, send).await
    }

    /// Sends one whole message of the current message type.
    pub async fn send(&mut self, data: impl AsRef<[u8]>) -> Result<()> {
        let data = data.as_ref();
        match self.message_type {
            MessageType::Utf8 => {
                let text = std::str::from_utf8(data)
                    .map_err(|e| Error::invalid(format!("a Utf8 message must be UTF-8: {e}")))?;
                self.send_text(text).await
            }
            MessageType::Binary => self.send_binary(data).await,
        }
    }

    /// Sends one whole text message.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.check_no_partial()?;
        self.write_frame(DataKind::Text, text.as_bytes(), true, true)
            .await
    }

    /// Sends one whole binary message.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.check_no_partial()?;
        self.write_frame(DataKind::Binary, data, true, true).await
    }

    /// Sends a message with its own type.
    pub async fn send_message(&mut self, message: &Message) -> Result<()> {
        self.check_no_partial()?;
        let kind = kind_of(message.message_type());
        self.write_frame(kind, &message.data, true, true).await
    }

    fn check_no_partial(&self) -> Result<()> {
        if self.in_message {
            return Err(Error::invalid(
                "a message sent in pieces is in progress: end it with send_final_frame",
            ));
        }
        Ok(())
    }

    /// Sends a piece of a message of the current type that more pieces
    /// follow.
    pub async fn send_nonfinal_frame(&mut self, data: &[u8]) -> Result<()> {
        let first = !self.in_message;
        self.write_frame(kind_of(self.message_type), data, first, false)
            .await?;
        self.in_message = true;
        Ok(())
    }

    /// Sends the last piece of a message.
    pub async fn send_final_frame(&mut self, data: &[u8]) -> Result<()> {
        let first = !self.in_message;
        self.write_frame(kind_of(self.message_type), data, first, true)
            .await?;
        self.in_message = false;
        Ok(())
    }

    /// A writer for one message of unknown length; see
    /// [`MessageWebSocket::message_writer`].
    pub fn message_writer(&mut self) -> MessageWriter<'_> {
        // An error comes back from the writer's first write, which finds
        // the connection in the same state.
        let _ = self.hand_over_batch();
        MessageWriter::new(self)
    }

    /// Writes out everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        self.hand_over_batch()?;
        self.shared
            .run_timeout(self.send_timeout, TimeoutKind::Send, |s, cx| {
                s.poll_flush(cx, Side::Writer)
            })
            .await
    }

    /// Ends the connection at once; see [`MessageWebSocket::abort`].
    pub fn abort(&self) {
        self.shared.lock().abort();
    }

    /// Sends a ping with `payload` (at most 125 bytes).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<()> {
        if payload.len() > 125 {
            return Err(Error::invalid("a ping payload is at most 125 bytes"));
        }
        self.hand_over_batch()?;
        self.shared.lock().proto.encode_ping(payload)?;
        self.flush().await
    }

    /// Changes the type of what [`send`](Self::send) sends.
    pub fn set_message_type(&mut self, message_type: MessageType) {
        self.message_type = message_type;
    }

    /// The type of what [`send`](Self::send) sends.
    pub fn message_type(&self) -> MessageType {
        self.message_type
    }

    /// Closes the connection; see [`MessageWebSocket::close`]. With the
    /// connection split, the receiver half sees the peer's answer as
    /// [`Received::Closed`].
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<()> {
        let frame = user_close_frame(code, reason)?;
        // Messages that can no longer go (the connection is over) are
        // dropped: the close goes on as without them.
        let _ = self.hand_over_batch();
        self.shared
            .close(Side::Writer, Some(&frame), self.close_timeout)
            .await
    }
}

impl MessageReceiver {
    /// The next message, or the peer's close; see
    /// [`MessageWebSocket::receive`].
    #[inline]
    pub fn receive(&mut self) -> impl Future<Output = Result<Received>> + '_ {
        Receive {
            rx: self,
            armed: None,
        }
    }

    /// Changes this half's receive timeout (`None`: wait as long as the
    /// connection lives).
    pub fn set_receive_timeout(&mut self, limit: Option<Duration>) {
        self.receive_timeout = limit;
    }

    /// The peer's close code and reason, once it closed.
    pub fn close_status(&self) -> Option<(u16, &str)> {
        self.closed.as_ref().map(|f| (f.code, f.reason.as_str()))
    }

    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<Result<Received>> {
        loop {
            if let Some(m) = self.ahead.pop_front() {
                return Poll::Ready(Ok(Received::Message(m)));
            }
            if let Some(frame) = &self.closed {
                if self.close_reported {
                    return Poll::Ready(Err(Error::ConnectionClosed));
                }
                // Make sure the reply left before reporting the close.
                let mut s = self.shared.lock();
                let _ = ready!(s.poll_flush(cx, Side::Reader));
                if s.proto.config().role == proto::Role::Server {
                    ready!(s.poll_shutdown(cx, Side::Reader));
                }
                self.close_reported = true;
                return Poll::Ready(Ok(Received::Closed {
                    code: frame.code,
                    reason: frame.reason.clone(),
                }));
            }
            let ev = {
                let mut s = self.shared.lock();
                let Poll::Ready(ev) = s.poll_event(cx, Side::Reader) else {
                    // Going to wait: let go of the read-ahead queue (empty
                    // here) rather than hold it through an idle spell.
                    if self.ahead.capacity() != 0 {
                        self.ahead = VecDeque::new();
                    }
                    return Poll::Pending;
                };
                if let Ok(Event::Data {
                    first: true,
                    fin: true,
                    ..
                }) = &ev
                {
                    read_ahead(&mut self.ahead, &mut s);
                }
                ev
            };
            match ev {
                Ok(Event::Data {
                    kind,
                    payload,
                    first,
                    fin,
                    ..
                }) => {
                    let t = type_of(kind);
                    if self.mode == MessageWebSocketReceiveMode::PartialMessage {
                        return Poll::Ready(Ok(Received::Message(Message::new(t, payload, fin))));
                    }
                    if first && fin {
                        return Poll::Ready(Ok(Received::Message(Message::new(t, payload, true))));
                    }
                    if first {
                        self.assembly_type = t;
                        self.assembly.clear();
                    }
                    self.assembly.extend_from_slice(&payload);
                    if fin {
                        let data = std::mem::take(&mut self.assembly).freeze();
                        return Poll::Ready(Ok(Received::Message(Message::new(
                            self.assembly_type,
                            data,
                            true,
                        ))));
                    }
                }
                Ok(Event::Ping(_)) | Ok(Event::Pong(_)) => {}
                Ok(Event::Close(_)) => {
                    let s = self.shared.lock();
                    self.closed = s.peer_close.clone();
                }
                Err(Error::ConnectionClosed) if !self.close_reported => {
                    // The handshake ended in another half (or in `close`).
                    self.closed = self.shared.lock().peer_close.clone();
                    if self.closed.is_none() {
                        self.close_reported = true;
                        return Poll::Ready(Err(Error::ConnectionClosed));
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// The future of [`MessageReceiver::receive`], written by hand rather than
/// as an `async fn` so that a message decoded ahead is taken in a few
/// instructions, with no lock and no timer: the first thing each poll does.
/// Otherwise it polls [`MessageReceiver::poll_receive`] under the receive
/// timeout, whose timer the receiver keeps from one receive to the next
/// ([`Deadline`]). Dropping it midway loses nothing.
struct Receive<'a> {
    rx: &'a mut MessageReceiver,
    /// This receive's deadline, once a poll was not ready.
    armed: Option<tokio::time::Instant>,
}

impl Future for Receive<'_> {
    type Output = Result<Received>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(m) = this.rx.ahead.pop_front() {
            return Poll::Ready(Ok(Received::Message(m)));
        }
        this.poll_wait(cx)
    }
}

impl Receive<'_> {
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<Result<Received>> {
        let rx = &mut *self.rx;
        if let Poll::Ready(v) = rx.poll_receive(cx) {
            return Poll::Ready(v);
        }
        rx.deadline
            .poll_expired(
                cx,
                &mut self.armed,
                rx.receive_timeout,
                TimeoutKind::Receive,
            )
            .map(Err)
    }
}

/// After a single-frame message, takes the messages that are already
/// whole in the read buffer too (as far as
/// [`Session::buffered_messages`] allows), so a stream of small messages
/// costs one lock per read rather than one per message.
fn read_ahead(ahead: &mut VecDeque<Message>, s: &mut Session) {
    let room = READ_AHEAD.saturating_sub(ahead.len());
    s.buffered_messages(room, |kind, data| {
        ahead.push_back(Message::new(type_of(kind), data, true));
    });
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
