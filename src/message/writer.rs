//! [`MessageWriter`]: one message of unknown length, written as `AsyncWrite`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::AsyncWrite;

use super::*;

/// Sends one message of unknown length (WinRT `OutputStream`): writes are
/// gathered up to the outbound buffer size and leave as frames of one
/// message; `shutdown` sends the final frame.
#[derive(Debug)]
pub struct MessageWriter<'a> {
    sender: &'a mut MessageSender,
    buf: Vec<u8>,
    started: bool,
    ended: bool,
}

impl<'a> MessageWriter<'a> {
    /// A writer for a new message.
    pub(super) fn new(sender: &'a mut MessageSender) -> Self {
        MessageWriter {
            sender,
            buf: Vec::new(),
            started: false,
            ended: false,
        }
    }

    fn poll_emit(&mut self, cx: &mut Context<'_>, fin: bool) -> Poll<io::Result<()>> {
        let mut s = self.sender.shared.lock();
        ready!(s.poll_ready(cx, Side::Writer))?;
        let kind = kind_of(self.sender.message_type);
        s.proto
            .encode_data(kind, &self.buf, !self.started, fin)
            .map_err(|e| io::Error::from(Error::from(e)))?;
        self.started = true;
        self.buf.clear();
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MessageWriter<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let limit = this.sender.shared.lock().opts.outbound_buffer_size;
        if this.buf.len() >= limit {
            ready!(this.poll_emit(cx, false))?;
        }
        let n = data
            .len()
            .min(limit - this.buf.len().min(limit))
            .max(1)
            .min(data.len());
        this.buf.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.buf.is_empty() && !this.ended {
            ready!(this.poll_emit(cx, false))?;
        }
        this.sender
            .shared
            .lock()
            .poll_flush(cx, Side::Writer)
            .map_err(io::Error::from)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.ended {
            ready!(this.poll_emit(cx, true))?;
            this.ended = true;
        }
        this.sender
            .shared
            .lock()
            .poll_flush(cx, Side::Writer)
            .map_err(io::Error::from)
    }
}
