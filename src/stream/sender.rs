//! The sending half of the stream socket: bytes written are gathered into
//! binary messages, flushed on `poll_flush`, and `poll_shutdown` sends the
//! close (a close of the output while the receiving half lives).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::AsyncWrite;

use super::close_status_of;
#[cfg(doc)]
use super::{StreamReceiver, StreamWebSocket};
use crate::error::{Error, Result, TimeoutKind};
use crate::information::StreamWebSocketInformation;
use crate::message::user_close_frame;
use crate::proto::{self, CloseFrame, DataKind};
use crate::session::{Closing, Deadline, Shared, Side, Stash, with_timeout};

/// The sending half of a [`StreamWebSocket`] (`AsyncWrite`), from
/// [`StreamWebSocket::split`].
#[derive(Debug)]
pub struct StreamSender {
    /// The socket's facts; see [`StreamSender::information`].
    pub(super) info: StreamWebSocketInformation,
    pub(super) shared: Shared,
    /// Small writes gathered into one message.
    pub(super) gather: Vec<u8>,
    pub(super) limit: usize,
    pub(super) shut: bool,
    pub(super) close_timeout: Option<Duration>,
    pub(super) send_timeout: Option<Duration>,
    /// The time limit of the write, flush or shutdown that waits; see
    /// [`StreamSender::poll_timed`].
    pub(super) deadline: Deadline,
    /// The call that waits and when its limit ends (armed by `deadline`).
    pub(super) waiting: Option<(WriteCall, tokio::time::Instant)>,
    /// Set when the socket is split: where `close` keeps the data it reads
    /// before the peer's close, for the receiver half.
    pub(super) stash: Option<Arc<Mutex<Stash>>>,
    /// Where a shutdown's close stands, when this is the last half.
    pub(super) closing: Closing,
}

/// The `AsyncWrite` call a writer waits in: each gets a time limit of its
/// own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WriteCall {
    Write,
    Flush,
    Shutdown,
}

impl StreamSender {
    /// Facts about the connection (WinRT `Information`), as the socket
    /// had them before it was split.
    pub fn information(&self) -> &StreamWebSocketInformation {
        &self.info
    }

    /// The peer's close code and reason; see
    /// [`StreamReceiver::close_status`].
    pub fn close_status(&self) -> Option<(u16, String)> {
        close_status_of(&self.shared)
    }

    /// Encodes the gathered bytes as one binary message.
    fn poll_emit(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.gather.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let mut s = self.shared.lock();
        ready!(s.poll_ready(cx, Side::Writer))?;
        s.proto
            .encode_data(DataKind::Binary, &self.gather, true, true)?;
        s.maybe_probe_rtt();
        self.gather.clear();
        Poll::Ready(Ok(()))
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.shut {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.gather.len() + data.len() <= self.limit {
            self.gather.extend_from_slice(data);
            return Poll::Ready(Ok(data.len()));
        }
        ready!(self.poll_emit(cx))?;
        if data.len() >= self.limit {
            // A large write leaves as its own message, with no gathering copy.
            let n = data.len().min(self.limit.max(16 * 1024) * 4);
            let mut s = self.shared.lock();
            ready!(s.poll_ready(cx, Side::Writer))?;
            s.proto
                .encode_data(DataKind::Binary, &data[..n], true, true)
                .map_err(Error::from)?;
            s.maybe_probe_rtt();
            return Poll::Ready(Ok(n));
        }
        self.gather.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_emit(cx))?;
        Poll::Ready(ready!(self.shared.lock().poll_flush(cx, Side::Writer)).map_err(Into::into))
    }

    fn poll_shutdown_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut {
            ready!(self.poll_emit(cx))?;
            let mut s = self.shared.lock();
            if s.proto.state() == proto::State::Open {
                let frame = CloseFrame {
                    code: proto::close::NORMAL,
                    reason: String::new(),
                };
                s.queue_close(Some(&frame))?;
            }
            self.shut = true;
        }
        if self.shared.is_last() {
            // No reader left to see the peer's close: the whole close,
            // here, under the shutdown's own time limit.
            let frame = CloseFrame {
                code: proto::close::NORMAL,
                reason: String::new(),
            };
            return Poll::Ready(
                ready!(self.shared.poll_close(
                    &mut self.closing,
                    cx,
                    Side::Writer,
                    Some(&frame),
                    None,
                ))
                .map_err(Into::into),
            );
        }
        Poll::Ready(ready!(self.shared.lock().poll_flush(cx, Side::Writer)).map_err(Into::into))
    }

    /// Closes the connection; see [`StreamWebSocket::close`].
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<()> {
        let frame = user_close_frame(code, reason)?;
        let limit = self.close_timeout;
        let emit = std::future::poll_fn(|cx| self.poll_emit(cx));
        with_timeout(limit, TimeoutKind::Close, emit).await?;
        self.shut = true;
        self.shared
            .close(Side::Writer, Some(&frame), self.stash.as_deref())
            .await
    }

    /// Sends a ping now (a round-trip sample).
    pub async fn ping(&mut self) -> Result<()> {
        let shared = self.shared.clone();
        with_timeout(self.send_timeout, TimeoutKind::Send, async {
            shared.lock().send_rtt_probe()?;
            shared.run(|s, cx| s.poll_flush(cx, Side::Writer)).await
        })
        .await
    }
}

impl StreamSender {
    /// Polls `f`, the body of `call`, under that call's time limit.
    ///
    /// The limit runs from the first `Pending` of a wait and the wait ends
    /// when a call is ready. A wait left unfinished (a write dropped by
    /// `select!` or a timeout) does not count against a different call that
    /// follows: a flush after a write, or a write after a shutdown (whose
    /// limit is the close timeout), starts its own limit. `AsyncWrite`
    /// calls carry no identity of their own, so the same call polled again
    /// (with the same data or not) goes on with the wait it is in.
    fn poll_timed<T>(
        &mut self,
        cx: &mut Context<'_>,
        call: WriteCall,
        f: impl FnOnce(&mut Self, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if let Poll::Ready(v) = f(self, cx) {
            self.waiting = None;
            return Poll::Ready(v);
        }
        let (limit, kind) = match call {
            WriteCall::Write | WriteCall::Flush => (self.send_timeout, TimeoutKind::Send),
            WriteCall::Shutdown => (self.close_timeout, TimeoutKind::Close),
        };
        let mut armed = match self.waiting {
            Some((waiting, until)) if waiting == call => Some(until),
            _ => None,
        };
        let expired = self.deadline.poll_expired(cx, &mut armed, limit, kind);
        self.waiting = armed.map(|until| (call, until));
        match expired {
            Poll::Ready(e) => {
                self.waiting = None;
                Poll::Ready(Err(e.into()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for StreamSender {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_timed(cx, WriteCall::Write, |w, cx| w.poll_write_inner(cx, data))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_timed(cx, WriteCall::Flush, Self::poll_flush_inner)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_timed(cx, WriteCall::Shutdown, Self::poll_shutdown_inner)
    }
}

impl Drop for StreamSender {
    fn drop(&mut self) {
        // Gathered bytes the caller never flushed go out with the close.
        if !self.gather.is_empty() && !self.shut {
            let mut s = self.shared.lock();
            let _ = s
                .proto
                .encode_data(DataKind::Binary, &self.gather, true, true);
        }
        // The close itself goes out when `shared` drops (see `Shared`).
    }
}
