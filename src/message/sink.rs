//! The `futures` faces of the message socket: a `Stream` of messages and a
//! `Sink` of them, with small messages batched in the sender.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::sender::{Piece, SINK_BATCH_PAYLOAD, encode_piece};
use super::*;

impl futures_core::Stream for MessageReceiver {
    type Item = Result<Message>;

    /// Messages until the peer closes (then `None`; the code and reason are
    /// in [`MessageReceiver::close_status`]). No receive timeout applies.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.close_reported {
            return Poll::Ready(None);
        }
        match ready!(this.poll_receive(cx)) {
            Ok(Received::Message(m)) => Poll::Ready(Some(Ok(m))),
            Ok(Received::Closed { .. }) | Err(Error::ConnectionClosed) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }
}

impl MessageSender {
    /// The time limit of a hand-polled operation of the Sink or the message
    /// writer: `res` is the operation's poll; a `Pending` one arms the
    /// limit (once per operation) and turns into the timeout error once it
    /// passed. The operation's deadline is forgotten when it ends.
    pub(super) fn within<T>(
        &mut self,
        cx: &mut Context<'_>,
        res: Poll<Result<T>>,
        limit: Option<Duration>,
        kind: TimeoutKind,
    ) -> Poll<Result<T>> {
        if res.is_pending() {
            let expired = ready!(self.deadline.poll_expired(cx, &mut self.armed, limit, kind));
            self.armed = None;
            return Poll::Ready(Err(expired));
        }
        self.armed = None;
        res
    }

    /// Hands the Sink's batch to the session; see [`SINK_BATCH`].
    pub(super) fn hand_over_batch(&mut self) -> Result<()> {
        if self.batch.messages.is_empty() {
            return Ok(());
        }
        self.batch.hand_over(&mut self.shared.lock())
    }

    /// The Sink's `start_send` without the batch (the first message of a
    /// batch is checked here, under the lock), or once the batch is full;
    /// also every piece of a message ([`encode_piece`]).
    fn start_send_locked(&mut self, kind: DataKind, item: Message) -> Result<()> {
        self.sink_ready = false;
        let mut s = self.shared.lock();
        self.batch.hand_over(&mut s)?;
        s.check_usable()?;
        let complete = item.is_message_complete();
        if complete
            && self.open.is_none()
            && self.batch.limit != 0
            && item.data.len() <= SINK_BATCH_PAYLOAD
            && item.may_be_compressed()
        {
            s.proto.check_message_send()?;
            self.batch.bytes = item.data.len();
            self.batch.messages.push(item);
        } else {
            let piece = Piece {
                known_text: true,
                compress: item.may_be_compressed(),
                ..Piece::new(kind, &item.data, complete)
            };
            encode_piece(&mut self.open, &mut s, piece)?;
        }
        // One lock per message: the next poll_ready need not take it.
        self.sink_ready = s.has_room();
        Ok(())
    }

    /// The Sink's close: the close handshake as [`MessageSender::close`]
    /// runs it (a close of the output when split), within the close
    /// timeout.
    fn poll_close_sink(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let frame = CloseFrame {
            code: proto::close::NORMAL,
            reason: String::new(),
        };
        {
            let mut s = self.shared.lock();
            // Messages that can no longer go are dropped, as in `close`.
            let _ = self.batch.hand_over(&mut s);
        }
        self.shared.poll_close(
            &mut self.closing,
            cx,
            Side::Writer,
            Some(&frame),
            self.stash.as_deref(),
        )
    }
}

impl Drop for MessageSender {
    /// Hands the Sink's batch over, so that it leaves as the messages
    /// queued in the session do.
    fn drop(&mut self) {
        let _ = self.hand_over_batch();
    }
}

impl futures_sink::Sink<Message> for MessageSender {
    type Error = Error;

    /// Ready at once while the last `start_send` left room; otherwise
    /// waits for room under the lock, within the send timeout
    /// (`Timeout(Send)` after it; the messages queued stay queued).
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.sink_ready {
            // Known from the last start_send, which held the lock.
            return Poll::Ready(Ok(()));
        }
        let ready = {
            let mut s = this.shared.lock();
            this.batch.hand_over(&mut s)?;
            s.poll_ready(cx, Side::Writer)
        };
        ready!(this.within(cx, ready, this.send_timeout, TimeoutKind::Send))?;
        this.sink_ready = true;
        Poll::Ready(Ok(()))
    }

    /// Queues the message; it leaves on flush or once the outbound buffer
    /// fills.
    ///
    /// Small whole messages (up to 1 KiB) are gathered in the sender, up to
    /// 8 KiB, without taking the connection's lock for each, and handed to
    /// the connection together: when the batch is full, on `poll_flush` and
    /// `poll_close`, before any other operation of the sender, by
    /// [`MessageWebSocket::receive`] on an unsplit socket, and when the
    /// sender is dropped. An error found then (the connection ended) is
    /// reported there.
    ///
    /// A message with [`is_message_complete`](Message::is_message_complete)
    /// false is a piece, sent as [`MessageSender::send_message`] sends it:
    /// a frame that more follow, the next complete message the final frame.
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        let this = self.get_mut();
        let kind = kind_of(item.message_type());
        if item.is_message_complete()
            && this.open.is_none()
            && item.data.len() <= SINK_BATCH_PAYLOAD
            && item.may_be_compressed()
            && !this.batch.messages.is_empty()
            && this.batch.bytes < this.batch.limit
        {
            this.batch.bytes += item.data.len();
            this.batch.messages.push(item);
            return Ok(());
        }
        this.start_send_locked(kind, item)
    }

    /// Writes out what is queued, within the send timeout.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        let res = {
            let mut s = this.shared.lock();
            this.batch.hand_over(&mut s)?;
            s.poll_flush(cx, Side::Writer)
        };
        this.within(cx, res, this.send_timeout, TimeoutKind::Send)
    }

    /// Closes with 1000 and waits for the peer's close, within the close
    /// timeout (`Timeout(Close)` after it). Split, this is a close of the
    /// output as [`MessageSender::close`] is: the receiver half goes on
    /// reading until the peer's close.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_close_sink(cx)
    }
}

impl futures_core::Stream for MessageWebSocket {
    type Item = Result<Message>;

    /// Messages until the peer closes, then `None`: the peer's code and
    /// reason are in [`MessageWebSocket::close_status`]. No receive timeout
    /// applies (unlike [`MessageWebSocket::receive`]).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // As in `receive`: what the Sink batched leaves while this waits.
        let _ = this.sender.hand_over_batch();
        Pin::new(&mut this.receiver).poll_next(cx)
    }
}

impl futures_sink::Sink<Message> for MessageWebSocket {
    type Error = Error;
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().sender).poll_ready(cx)
    }
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        Pin::new(&mut self.get_mut().sender).start_send(item)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().sender).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().sender).poll_close(cx)
    }
}
