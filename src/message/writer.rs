//! [`MessageWriter`]: one message of unknown length, written as `AsyncWrite`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::AsyncWrite;

use super::sender::{Piece, encode_piece};
use super::*;

/// Sends one message of unknown length (WinRT `OutputStream`): writes are
/// gathered up to the outbound buffer size and leave as frames of one
/// message; `shutdown` sends the final frame. The frames go through the
/// sender's record of the open message (as
/// [`MessageSender::send_nonfinal_frame`]), so a writer made while a
/// message is open continues that message, and the text of a Utf8 message
/// is checked as it goes (invalid UTF-8 fails with `InvalidInput`).
///
/// The send timeout applies to each write, flush and shutdown that has to
/// wait (`TimedOut`, the wsock error [`Error::Timeout`] inside).
///
/// # Cancel safety
///
/// Dropping a write, flush or shutdown future, or the writer itself before
/// `shutdown` completed, leaves the socket usable: what was written is
/// queued as frames of the open message (a dropped writer queues what it
/// gathered), and the message stays open until
/// [`MessageSender::send_final_frame`] ends it or
/// [`MessageSender::abort_message`] gives it up; whole-message sends are
/// refused meanwhile with an error that says so.
#[derive(Debug)]
pub struct MessageWriter<'a> {
    sender: &'a mut MessageSender,
    buf: Vec<u8>,
    ended: bool,
}

impl<'a> MessageWriter<'a> {
    /// A writer for a new message (or the rest of the open one).
    pub(super) fn new(sender: &'a mut MessageSender) -> Self {
        MessageWriter {
            sender,
            buf: Vec::new(),
            ended: false,
        }
    }

    /// The kind of the message written: the open message's, or the
    /// sender's current type.
    fn kind(&self) -> DataKind {
        self.sender
            .open
            .map_or(kind_of(self.sender.message_type), |m| m.kind)
    }

    /// Queues the gathered bytes as a frame (the final one with `fin`).
    fn poll_emit(&mut self, cx: &mut Context<'_>, fin: bool) -> Poll<Result<()>> {
        let kind = self.kind();
        let sender = &mut *self.sender;
        let mut s = sender.shared.lock();
        ready!(s.poll_ready(cx, Side::Writer))?;
        encode_piece(&mut sender.open, &mut s, Piece::new(kind, &self.buf, fin))?;
        self.buf.clear();
        Poll::Ready(Ok(()))
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<Result<usize>> {
        if self.ended {
            return Poll::Ready(Err(Error::Io(io::ErrorKind::BrokenPipe.into())));
        }
        let limit = self.sender.shared.lock().opts.outbound_buffer_size;
        if self.buf.len() >= limit {
            ready!(self.poll_emit(cx, false))?;
        }
        let n = data
            .len()
            .min(limit - self.buf.len().min(limit))
            .max(1)
            .min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if !self.buf.is_empty() && !self.ended {
            ready!(self.poll_emit(cx, false))?;
        }
        self.sender.shared.lock().poll_flush(cx, Side::Writer)
    }

    fn poll_shutdown_inner(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if !self.ended {
            ready!(self.poll_emit(cx, true))?;
            self.ended = true;
        }
        self.sender.shared.lock().poll_flush(cx, Side::Writer)
    }

    /// Runs a poll of the writer under the send timeout.
    fn timed<T>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Self, &mut Context<'_>) -> Poll<Result<T>>,
    ) -> Poll<io::Result<T>> {
        let res = f(self, cx);
        let limit = self.sender.send_timeout;
        self.sender
            .within(cx, res, limit, TimeoutKind::Send)
            .map_err(io::Error::from)
    }
}

impl AsyncWrite for MessageWriter<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .timed(cx, |w, cx| w.poll_write_inner(cx, data))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().timed(cx, |w, cx| w.poll_flush_inner(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().timed(cx, |w, cx| w.poll_shutdown_inner(cx))
    }
}

impl Drop for MessageWriter<'_> {
    /// Queues what was gathered as a frame of the open message (without
    /// waiting for room: at most the outbound buffer size), which then
    /// stays open; see the cancel safety notes on [`MessageWriter`].
    fn drop(&mut self) {
        if self.ended || self.buf.is_empty() {
            return;
        }
        let kind = self.kind();
        let sender = &mut *self.sender;
        let mut s = sender.shared.lock();
        // Refused text or a connection that ended: nothing more to do.
        let _ = encode_piece(&mut sender.open, &mut s, Piece::new(kind, &self.buf, false));
    }
}
