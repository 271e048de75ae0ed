//! The sending half of the message socket.

use super::*;

/// The sending half of a [`MessageWebSocket`].
#[derive(Debug)]
pub struct MessageSender {
    pub(super) shared: Shared,
    pub(super) message_type: MessageType,
    pub(super) send_timeout: Option<Duration>,
    pub(super) close_timeout: Option<Duration>,
    /// A message begun with `send_nonfinal_frame` and not ended yet.
    pub(super) in_message: bool,
    /// The Sink's last `start_send` left the output below the outbound
    /// buffer size, so `poll_ready` can answer without the lock.
    pub(super) sink_ready: bool,
    /// Whole messages the Sink encoded without the session lock and has
    /// not handed to the session yet; see [`SINK_BATCH`].
    pub(super) batch: BytesMut,
    /// The batch is handed over once it holds this many bytes (0: the Sink
    /// does not batch, because permessage-deflate is on).
    pub(super) batch_limit: usize,
    /// The connection's role, to encode the batch as the session would.
    pub(super) role: proto::Role,
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
pub(super) const SINK_BATCH: usize = 8 * 1024;

/// The largest payload the Sink batches: a larger message gains nothing
/// from saving a lock and would be copied twice.
pub(super) const SINK_BATCH_PAYLOAD: usize = 1024;

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

    pub(super) fn check_no_partial(&self) -> Result<()> {
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
