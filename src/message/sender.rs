//! The sending half of the message socket.

use std::sync::{Arc, Mutex};

use crate::proto::utf8::Utf8Validator;
use crate::session::Stash;

use super::*;

/// The sending half of a [`MessageWebSocket`].
#[derive(Debug)]
pub struct MessageSender {
    /// The socket's facts; see [`MessageSender::information`].
    pub(super) info: MessageWebSocketInformation,
    /// Where the Sink's close stands.
    pub(super) closing: Closing,
    pub(super) shared: Shared,
    pub(super) message_type: MessageType,
    pub(super) send_timeout: Option<Duration>,
    /// The message sent in pieces that is open (its first frame is queued,
    /// its final frame not yet), changed only together with the encoding
    /// of a frame, so that a send dropped at any point leaves it right.
    pub(super) open: Option<OpenMessage>,
    /// Set when the socket is split: where `close` keeps the messages it
    /// reads before the peer's close, for the receiver half
    /// ([`Shared::close_output`]).
    pub(super) stash: Option<Arc<Mutex<Stash>>>,
    /// The send timeout of the `Sink` and the message writer,
    /// which poll by hand: one timer kept between operations, and the
    /// deadline of the operation waiting (see [`Deadline`]).
    pub(super) deadline: Deadline,
    pub(super) armed: Option<tokio::time::Instant>,
    /// The Sink's last `start_send` left the output below the outbound
    /// buffer size, so `poll_ready` can answer without the lock.
    pub(super) sink_ready: bool,
    /// Whole small messages the Sink gathered without the session lock
    /// and has not handed to the session yet; see [`SINK_BATCH`].
    pub(super) batch: Batch,
}

/// Whole small messages the Sink holds back; see [`SINK_BATCH`].
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) messages: Vec<Message>,
    /// Payload bytes in `messages`.
    pub(super) bytes: usize,
    /// Handed over once it holds this many payload bytes.
    pub(super) limit: usize,
}

impl Batch {
    /// Sends the messages, in order, as whole messages through the core
    /// ([`proto::Connection::encode_messages`], which checks and encodes
    /// them as `encode_data` does one by one; a whole message from a
    /// [`Message`] is known to be text when it is Utf8, as in
    /// [`encode_piece`]). On an error the rest are dropped, since they
    /// cannot be sent any more.
    pub(super) fn hand_over(&mut self, s: &mut Session) -> Result<()> {
        if self.messages.is_empty() {
            return Ok(());
        }
        self.bytes = 0;
        let res = s.check_usable().and_then(|()| {
            let messages = self
                .messages
                .iter()
                .map(|m| (kind_of(m.message_type()), &m.data[..]));
            s.proto.encode_messages(messages).map_err(Error::from)
        });
        self.messages.clear();
        res
    }
}

/// The most payload bytes of whole messages the Sink gathers in the
/// sender (no more than the outbound buffer size) before it hands them to
/// the session in one locked step, instead of taking the session's lock
/// for each message. The messages are gathered, not encoded: the hand-over
/// sends each through [`encode_piece`] as any other send, so the core's
/// state machine encodes and masks every frame, and control frames the
/// receiving half queues in between (pong answers, the close reply) come
/// between whole messages. The batch is also handed over by `poll_ready`
/// when it must wait, by `poll_flush` and `poll_close`, before any other
/// operation of the sender (sends, `flush`, `ping`, `close`, a message
/// writer), by [`MessageWebSocket::receive`] on an unsplit socket, and
/// when the sender is dropped. An error that the hand-over finds (the
/// connection ended) is reported by the call that hands over, as the
/// `Sink` contract allows; the first message of each batch is still
/// checked under the lock, so `start_send` on a connection known to be
/// over fails at once.
pub(super) const SINK_BATCH: usize = 8 * 1024;

/// The largest payload the Sink batches: a larger message gains nothing
/// from saving a lock.
pub(super) const SINK_BATCH_PAYLOAD: usize = 1024;

/// A message sent in pieces whose final frame has not been queued.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpenMessage {
    /// The kind of its first frame (continuation frames carry none).
    pub(super) kind: DataKind,
    /// The text sent so far, for a text message: pieces may end inside a
    /// character, but what is sent must be UTF-8.
    utf8: Utf8Validator,
}

/// One frame of a message to send, as [`encode_piece`] takes it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Piece<'a> {
    pub(super) kind: DataKind,
    pub(super) data: &'a [u8],
    /// The frame ends the message.
    pub(super) fin: bool,
    /// A whole message known to be text needs no UTF-8 check.
    pub(super) known_text: bool,
    /// False: a message that starts here goes uncompressed.
    pub(super) compress: bool,
}

impl<'a> Piece<'a> {
    /// A frame of `kind` to check (if text) and compress (if agreed).
    pub(super) fn new(kind: DataKind, data: &'a [u8], fin: bool) -> Self {
        Piece {
            kind,
            data,
            fin,
            known_text: false,
            compress: true,
        }
    }
}

/// Encodes one frame of a message through the sender's record of the open
/// message, the one way every message send goes (the `send_*` calls, the
/// `Sink`, the message writer): the frame continues the open message if
/// there is one (its kind then wins over `kind`), else starts one; `fin`
/// ends it. Text is checked as it goes, except a whole message that is
/// `known_text` (from a `&str` or a whole [`Message`], which are text).
/// `compress: false` sends a message that starts here uncompressed even
/// with permessage-deflate on (a continuation goes as its message began).
/// `open` changes only when the frame is queued, so a caller dropped
/// before or after this call leaves the record true.
pub(super) fn encode_piece(
    open: &mut Option<OpenMessage>,
    s: &mut Session,
    piece: Piece<'_>,
) -> Result<()> {
    let Piece {
        kind,
        data,
        fin,
        known_text,
        compress,
    } = piece;
    let first = open.is_none();
    let mut next = open.unwrap_or(OpenMessage {
        kind,
        utf8: Utf8Validator::new(),
    });
    if next.kind == DataKind::Text && !(first && fin && known_text) {
        let checked = next
            .utf8
            .feed(data)
            .and_then(|()| if fin { next.utf8.finish() } else { Ok(()) });
        if checked.is_err() {
            return Err(Error::invalid(if fin {
                "a Utf8 message must be UTF-8: this last piece is not, or ends inside a character"
            } else {
                "a Utf8 message must be UTF-8: this piece is not"
            }));
        }
    }
    if first && !compress {
        s.proto.encode_data_rsv(next.kind, data, first, fin, 0)?;
    } else {
        s.proto.encode_data(next.kind, data, first, fin)?;
    }
    *open = if fin { None } else { Some(next) };
    Ok(())
}

impl MessageSender {
    /// Facts about the connection (WinRT `Information`), as the socket
    /// had them before it was split.
    pub fn information(&self) -> &MessageWebSocketInformation {
        &self.info
    }

    /// Sends one frame through [`encode_piece`]: waits for room, queues the
    /// frame (once), flushes, all under the send timeout. `whole`: a whole
    /// message, refused while a message sent in pieces is open;
    /// `known_text`: see [`encode_piece`].
    ///
    /// Cancel safety: dropped (or timed out) before the frame was queued,
    /// nothing was sent; after, the frame stays queued and leaves with the
    /// next operation. Either way [`message_in_progress`] tells whether a
    /// message is open.
    ///
    /// [`message_in_progress`]: Self::message_in_progress
    async fn send_piece(&mut self, piece: Piece<'_>, whole: bool) -> Result<()> {
        if whole {
            self.check_no_partial()?;
        }
        self.hand_over_batch()?;
        let limit = self.send_timeout;
        let (shared, open) = (&self.shared, &mut self.open);
        // One lock per poll: wait for room, queue the frame once, flush.
        let mut queued = false;
        let send = shared.run(move |s, cx| {
            if !queued {
                ready!(s.poll_ready(cx, Side::Writer))?;
                encode_piece(open, s, piece)?;
                queued = true;
            }
            s.poll_flush(cx, Side::Writer)
        });
        with_timeout(limit, TimeoutKind::Send, send).await
    }

    /// Sends one whole message of the current message type.
    ///
    /// Cancel safety: as [`send_binary`](Self::send_binary).
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
    ///
    /// Cancel safety: as [`send_binary`](Self::send_binary).
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.send_piece(
            Piece {
                known_text: true,
                ..Piece::new(DataKind::Text, text.as_bytes(), true)
            },
            true,
        )
        .await
    }

    /// Sends one whole binary message. While a message sent in pieces is
    /// open ([`message_in_progress`](Self::message_in_progress)) this fails
    /// with [`Error::InvalidArgument`] and sends nothing.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future (or the send timeout ending it) leaves the socket
    /// usable: the message was either not queued at all or queued whole, and
    /// then leaves with the next operation that writes (a later send,
    /// `flush`, `close`, or the receiver's answers to the peer).
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.send_piece(Piece::new(DataKind::Binary, data, true), true)
            .await
    }

    /// Sends a message with its own type, as a piece when it is one: a
    /// message with [`is_message_complete`](Message::is_message_complete)
    /// false goes out as a frame that more follow (starting a message, or
    /// continuing the open one), a complete one as the final frame of the
    /// open message, or whole. An echo in
    /// [`MessageWebSocketReceiveMode::PartialMessage`] thus sends back the
    /// message it received, in the same pieces.
    ///
    /// Pieces of a Utf8 message are checked as
    /// [`send_nonfinal_frame`](Self::send_nonfinal_frame) checks them.
    ///
    /// Cancel safety: as [`send_nonfinal_frame`](Self::send_nonfinal_frame).
    pub async fn send_message(&mut self, message: &Message) -> Result<()> {
        let kind = kind_of(message.message_type());
        let piece = Piece {
            known_text: true,
            compress: message.may_be_compressed(),
            ..Piece::new(kind, &message.data, message.is_message_complete())
        };
        self.send_piece(piece, false).await
    }

    pub(super) fn check_no_partial(&self) -> Result<()> {
        if self.open.is_some() {
            return Err(Error::invalid(
                "a message sent in pieces is in progress: end it with send_final_frame \
                 (or send_message of its last piece), or give it up with abort_message",
            ));
        }
        Ok(())
    }

    /// True while a message sent in pieces is open: a frame of it is queued
    /// or sent, its final frame not yet. The next
    /// [`send_final_frame`](Self::send_final_frame) ends it;
    /// [`abort_message`](Self::abort_message) gives it up.
    pub fn message_in_progress(&self) -> bool {
        self.open.is_some()
    }

    /// Sends a piece of a message of the current type that more pieces
    /// follow: the first piece of a message, or the next one of the open
    /// message. A piece of a Utf8 message may end inside a character (the
    /// next piece finishes it), but invalid UTF-8 is refused with
    /// [`Error::InvalidArgument`] before anything is sent.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future (or the send timeout ending it) leaves the socket
    /// usable. The piece was either not queued (no message was opened by
    /// it) or queued whole, and then leaves with the next operation that
    /// writes; the frames already queued stay valid. Which of the two
    /// happened is not reported: [`message_in_progress`] tells whether a
    /// message is open, the next [`send_final_frame`] ends it, and
    /// [`abort_message`] gives it up when its content is now uncertain.
    ///
    /// [`message_in_progress`]: Self::message_in_progress
    /// [`send_final_frame`]: Self::send_final_frame
    /// [`abort_message`]: Self::abort_message
    pub async fn send_nonfinal_frame(&mut self, data: &[u8]) -> Result<()> {
        self.send_piece(Piece::new(kind_of(self.message_type), data, false), false)
            .await
    }

    /// Sends the last piece of a message: it ends the open message (the
    /// pieces queued before stay valid, also those of a send that was
    /// dropped), or is a whole message of the current type when none is
    /// open. A Utf8 message may not end inside a character.
    ///
    /// Cancel safety: as [`send_nonfinal_frame`](Self::send_nonfinal_frame);
    /// if the final frame was not queued the message stays open.
    pub async fn send_final_frame(&mut self, data: &[u8]) -> Result<()> {
        self.send_piece(Piece::new(kind_of(self.message_type), data, true), false)
            .await
    }

    /// Gives up the message sent in pieces that is open, if any (nothing
    /// happens otherwise). RFC 6455 has no way to withdraw frames already
    /// sent, and the peer must not take what it got for a whole message, so
    /// this closes the connection with 1011 ("message aborted"), as
    /// [`close`](Self::close) does (with a split socket the receiver half
    /// still reads until the peer's close).
    ///
    /// Cancel safety: as [`close`](Self::close).
    pub async fn abort_message(&mut self) -> Result<()> {
        if self.open.is_none() {
            return Ok(());
        }
        let frame = CloseFrame {
            code: proto::close::INTERNAL_ERROR,
            reason: "message aborted".to_owned(),
        };
        self.close_with(&frame).await
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
    ///
    /// Cancel safety: dropping the future loses nothing; what is left
    /// leaves with the next operation that writes.
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
    ///
    /// Cancel safety: as [`flush`](Self::flush); the ping is queued at once.
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

    /// Closes the connection; see [`MessageWebSocket::close`].
    ///
    /// With the connection split, this is a close of the output (.NET
    /// `CloseOutputAsync`): the close frame goes out and this waits, within
    /// the close timeout, for the peer's close, while every message the
    /// peer sent before it still reaches the receiver half, followed by
    /// [`Received::Closed`] with the peer's code and reason. The messages
    /// this reads meanwhile are kept for the receiver (up to 1 MiB; past
    /// that this waits for the receiver to take them, or for the close
    /// timeout). Once the receiver is dropped, they are dropped too.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the close frame queued or sent: the
    /// connection is closing, later sends fail, and the receiver still
    /// reports the peer's close.
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<()> {
        let frame = user_close_frame(code, reason)?;
        self.close_with(&frame).await
    }

    /// [`close`](Self::close) with a checked frame.
    async fn close_with(&mut self, frame: &CloseFrame) -> Result<()> {
        // Messages that can no longer go (the connection is over) are
        // dropped: the close goes on as without them.
        let _ = self.hand_over_batch();
        self.shared
            .close(Side::Writer, Some(frame), self.stash.as_deref())
            .await
    }
}
