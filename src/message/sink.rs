//! The `futures` faces of the message socket: a `Stream` of messages and a
//! `Sink` of them, with small messages batched in the sender.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;

use super::sender::SINK_BATCH_PAYLOAD;
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
    /// The Sink's `poll_ready` when the last `start_send` did not leave
    /// room: waits under the lock. Kept out of line so that the flag check
    /// before it saves and restores no registers.
    #[inline(never)]
    fn poll_ready_locked(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut s = self.shared.lock();
        hand_over(&mut self.batch, &mut s)?;
        ready!(s.poll_ready(cx, Side::Writer))?;
        self.sink_ready = true;
        Poll::Ready(Ok(()))
    }

    /// Hands the Sink's batch to the session; see [`SINK_BATCH`].
    pub(super) fn hand_over_batch(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        hand_over(&mut self.batch, &mut self.shared.lock())
    }

    /// The Sink's `start_send` without the batch (the first message of a
    /// batch is checked here, under the lock), or once the batch is full.
    #[inline(never)]
    fn start_send_locked(&mut self, kind: DataKind, item: &Message) -> Result<()> {
        self.sink_ready = false;
        let mut s = self.shared.lock();
        hand_over(&mut self.batch, &mut s)?;
        s.check_usable()?;
        if item.is_message_complete()
            && self.batch_limit != 0
            && item.data.len() <= SINK_BATCH_PAYLOAD
        {
            s.proto.check_message_send()?;
            proto::encode_message(&mut self.batch, self.role, kind, &item.data);
        } else {
            s.proto
                .encode_data(kind, &item.data, true, item.is_message_complete())?;
        }
        // One lock per message: the next poll_ready need not take it.
        self.sink_ready = s.has_room();
        Ok(())
    }
}

/// Hands `batch` (whole messages the Sink encoded) to the session, which
/// checks the connection as it would for one message; on an error the
/// messages are dropped, since they cannot be sent any more.
fn hand_over(batch: &mut BytesMut, s: &mut Session) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let res = match s.check_usable() {
        Ok(()) => s.proto.append_messages(batch).map_err(Error::from),
        Err(e) => Err(e),
    };
    if res.is_err() {
        batch.clear();
    }
    res
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

    /// A flag check while the last `start_send` left room (inlined into
    /// the caller); the lock only when the outbound buffer is full.
    #[inline]
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.sink_ready {
            // Known from the last start_send, which held the lock.
            return Poll::Ready(Ok(()));
        }
        this.poll_ready_locked(cx)
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
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        let this = self.get_mut();
        this.check_no_partial()?;
        let kind = kind_of(item.message_type());
        if item.is_message_complete()
            && item.data.len() <= SINK_BATCH_PAYLOAD
            && !this.batch.is_empty()
            && this.batch.len() < this.batch_limit
        {
            proto::encode_message(&mut this.batch, this.role, kind, &item.data);
            return Ok(());
        }
        this.start_send_locked(kind, &item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        let mut s = this.shared.lock();
        hand_over(&mut this.batch, &mut s)?;
        s.poll_flush(cx, Side::Writer)
    }

    /// Closes with 1000.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        let frame = CloseFrame {
            code: proto::close::NORMAL,
            reason: String::new(),
        };
        let mut s = this.shared.lock();
        hand_over(&mut this.batch, &mut s)?;
        s.poll_close(cx, Side::Writer, Some(&frame))
    }
}

impl futures_core::Stream for MessageWebSocket {
    type Item = Result<Message>;
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
