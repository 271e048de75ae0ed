//! One HTTP/2 stream as a Tokio byte stream.
//!
//! An extended CONNECT (RFC 8441) turns the request body (client to server)
//! and the response body (server to client) of one stream into the two
//! directions of a WebSocket's byte stream. [`H2Stream`] wraps the two
//! halves `h2` hands out, a [`SendStream`] and a [`RecvStream`], and
//! implements [`AsyncRead`] and [`AsyncWrite`] over them, for both roles.
//!
//! Flow control is HTTP/2's, with nothing buffered beyond it:
//! - reading hands out the bytes of the DATA frame at hand and gives back
//!   to the peer (`release_capacity`) only as many bytes as the caller
//!   took. A caller that stops reading stops the window updates of its
//!   stream, so the peer stalls on that stream alone; `h2` buffers at most
//!   the stream's window for it.
//! - writing sends at most the send capacity the peer's windows grant (and
//!   `h2`'s per-stream send buffer allows), waiting for more otherwise;
//!   `poll_write` never queues a byte it was not granted.
//! - the end of the peer's stream (END_STREAM) reads as end of file;
//!   `poll_shutdown` sends an empty DATA frame with END_STREAM.
//!
//! A reset of the stream (RST_STREAM), a GOAWAY that ends it or a failure
//! of the connection under it is an [`io::Error`] whose inner error is the
//! [`h2::Error`] (see [`h2_io_error`]), so the error mapping can name it.

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::futures::OwnedNotified;

use super::LinkInfo;

/// One HTTP/2 stream as a byte stream (see the module documentation).
pub(crate) struct H2Stream {
    /// `None` once let go of (a quiet end, see [`H2Stream::quiet_end`]).
    send: Option<SendStream<Bytes>>,
    recv: Option<RecvStream>,
    stream_id: u32,
    /// The rest of the last DATA frame received: not yet handed out, and
    /// not yet released to the peer's window.
    pending: Bytes,
    /// END_STREAM was read: every later read is end of file.
    read_done: bool,
    /// END_STREAM was sent.
    write_done: bool,
    /// `poll_shutdown` sends no END_STREAM: the stream ends when dropped
    /// (see [`H2Stream::quiet_end`]).
    quiet_end: bool,
    link: Arc<LinkInfo>,
    /// Kept as long as the stream is open (the client's pool uses it to
    /// know which connections still carry streams); let go with the
    /// stream (see [`H2Stream::release`]).
    _guard: Option<Box<dyn Send + Sync>>,
    /// The error the stream failed with, held back until the connection's
    /// task has said how the connection ended (see [`H2Stream::poll_fail`]).
    held: Option<h2::Error>,
    /// The wait for that task, while it lasts.
    driver_wait: Option<Pin<Box<OwnedNotified>>>,
}

impl H2Stream {
    /// The stream of `send` and `recv`, carried by a connection that
    /// `link` describes.
    pub(crate) fn new(send: SendStream<Bytes>, recv: RecvStream, link: Arc<LinkInfo>) -> H2Stream {
        H2Stream {
            stream_id: send.stream_id().as_u32(),
            send: Some(send),
            recv: Some(recv),
            pending: Bytes::new(),
            read_done: false,
            write_done: false,
            quiet_end: false,
            link,
            _guard: None,
            held: None,
            driver_wait: None,
        }
    }

    /// For the client: shutting down (which the session does only once the
    /// close handshake is over) lets go of the stream instead of sending
    /// END_STREAM: `h2` then resets it (RST_STREAM with CANCEL) once
    /// whatever was sent before, the close frame included, has left, and
    /// reads end. After the close handshake the stream has nothing left to
    /// carry either way, and an END_STREAM breaks hypercorn 0.18: it
    /// forgets a WebSocket stream as soon as its application has answered
    /// the close, without ending it, and a DATA frame that arrives for it
    /// afterwards, even an empty one, fails its whole connection, every
    /// other socket on it too. A reset it takes in its stride.
    pub(crate) fn quiet_end(mut self) -> H2Stream {
        self.quiet_end = true;
        self
    }

    /// Keeps `guard` until the stream is dropped or let go of.
    pub(crate) fn holding(mut self, guard: Box<dyn Send + Sync>) -> H2Stream {
        self._guard = Some(guard);
        self
    }

    /// The connection's facts.
    pub(crate) fn link(&self) -> &LinkInfo {
        &self.link
    }

    /// Hands out up to `buf.remaining()` bytes of `pending` and gives them
    /// back to the peer's window.
    fn take_pending(&mut self, buf: &mut ReadBuf<'_>) -> io::Result<()> {
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending[..n]);
        self.pending.advance(n);
        match self.recv.as_mut() {
            Some(recv) => recv.flow_control().release_capacity(n).map_err(h2_io_error),
            None => Ok(()),
        }
    }

    /// The error for a send stream that `h2` says is closed: the peer's
    /// reset if there was one, else a broken pipe.
    fn closed_error(&mut self, cx: &mut Context<'_>) -> io::Error {
        let Some(send) = self.send.as_mut() else {
            return io::Error::new(io::ErrorKind::BrokenPipe, "the HTTP/2 stream is closed");
        };
        match send.poll_reset(cx) {
            // The peer's RST_STREAM, as `h2` reports it here: its reason.
            Poll::Ready(Ok(reason)) => {
                io::Error::new(io::ErrorKind::ConnectionReset, h2::Error::from(reason))
            }
            Poll::Ready(Err(e)) => self.fail(e),
            Poll::Pending => io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the HTTP/2 stream is closed for sending",
            ),
        }
    }

    /// Waits for send capacity; `Ok(n)`: `n > 0` bytes may be sent now.
    /// Asks for `want` bytes when there is none.
    fn poll_send_capacity(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
        if self.held.is_some() {
            return self.poll_fail(cx, None).map(Err);
        }
        let send = match self.send.as_mut() {
            Some(send) if !self.write_done => send,
            _ => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "write after shutdown on an HTTP/2 stream",
                )));
            }
        };
        loop {
            let capacity = send.capacity();
            if capacity > 0 {
                return Poll::Ready(Ok(capacity));
            }
            // The total requested; capacity is then assigned as the peer's
            // windows open, and `poll_capacity` says when.
            send.reserve_capacity(want);
            let e = match ready!(send.poll_capacity(cx)) {
                Some(Ok(_)) => continue,
                Some(Err(e)) => return self.poll_fail(cx, Some(e)).map(Err),
                None => self.closed_error(cx),
            };
            self.release();
            return Poll::Ready(Err(e));
        }
    }
}

/// `e` as an [`io::Error`] ([`h2_io_error`]), or the connection's
/// recorded failure when `e` is only the broken pipe it left behind.
fn failed(link: &LinkInfo, e: h2::Error) -> io::Error {
    match link.failure.get() {
        Some(failure) if e.is_io() => {
            io::Error::new(io::ErrorKind::ConnectionAborted, failure.clone())
        }
        _ => h2_io_error(e),
    }
}

impl H2Stream {
    /// [`failed`] on this stream's connection.
    fn fail(&self, e: h2::Error) -> io::Error {
        failed(&self.link, e)
    }

    /// The stream failed with `e` (or with the error held back before):
    /// its error, once it says the most there is to say. `h2` hands every
    /// stream of a connection that ends an I/O error (a broken pipe) in
    /// the poll of the connection that then returns the reason, a GOAWAY
    /// with its code, to the connection's task; on a multi-thread runtime
    /// this stream may get there first. So an I/O error, while the task
    /// has recorded no failure, waits for the task to finish (at once,
    /// in practice) and is then reported as what the task recorded.
    /// The stream is let go of either way.
    fn poll_fail(&mut self, cx: &mut Context<'_>, e: Option<h2::Error>) -> Poll<io::Error> {
        if let Some(e) = e {
            self.held = Some(e);
        }
        let may_say_more =
            self.held.as_ref().is_some_and(h2::Error::is_io) && self.link.failure.get().is_none();
        if let Some(driven) = self.link.driven.as_ref().filter(|_| may_say_more) {
            ready!(driven.poll_finished(&mut self.driver_wait, cx));
        }
        self.release();
        Poll::Ready(match self.held.take() {
            Some(e) => self.fail(e),
            None => io::Error::new(io::ErrorKind::BrokenPipe, "the HTTP/2 stream is closed"),
        })
    }

    /// Lets go of a stream that has nothing left to carry (it ended
    /// quietly, or failed): `h2` resets it if it is still open, and it no
    /// longer counts on its connection, even while the socket is kept. A
    /// closed or failed socket must not hold a place under the server's
    /// stream limit, nor keep the connection from its idle close. What
    /// was received and not yet read stays readable.
    fn release(&mut self) {
        self.send = None;
        self.recv = None;
        self._guard = None;
    }

    /// The send half, while there is one.
    fn sender(&mut self) -> io::Result<&mut SendStream<Bytes>> {
        self.send
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "the HTTP/2 stream is closed"))
    }
}

/// `e` as an [`io::Error`]: the connection's own I/O failure as it was,
/// anything else (a reset stream, a GOAWAY, a protocol error) with `e` as
/// its inner error (`ConnectionReset` for a reset, `ConnectionAborted` for
/// a GOAWAY).
pub(crate) fn h2_io_error(e: h2::Error) -> io::Error {
    if e.is_io() {
        return e
            .into_io()
            .unwrap_or_else(|| io::Error::other("HTTP/2 I/O error"));
    }
    let kind = if e.is_go_away() {
        io::ErrorKind::ConnectionAborted
    } else if e.is_reset() {
        io::ErrorKind::ConnectionReset
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, e)
}

impl fmt::Debug for H2Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H2Stream")
            .field("stream_id", &self.stream_id)
            .field("pending", &self.pending.len())
            .field("read_done", &self.read_done)
            .field("write_done", &self.write_done)
            .field("peer_addr", &self.link.peer_addr)
            .finish()
    }
}

impl AsyncRead for H2Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if !this.pending.is_empty() {
                return Poll::Ready(this.take_pending(buf));
            }
            if this.held.is_some() {
                return this.poll_fail(cx, None).map(Err);
            }
            if this.read_done {
                return Poll::Ready(Ok(()));
            }
            let Some(recv) = this.recv.as_mut() else {
                return Poll::Ready(Ok(()));
            };
            match ready!(recv.poll_data(cx)) {
                Some(Ok(data)) => this.pending = data,
                Some(Err(e)) => return this.poll_fail(cx, Some(e)).map(Err),
                None => this.read_done = true,
            }
        }
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = ready!(this.poll_send_capacity(cx, buf.len()))?.min(buf.len());
        this.sender()?
            .send_data(Bytes::copy_from_slice(&buf[..n]), false)
            .map_err(h2_io_error)?;
        Poll::Ready(Ok(n))
    }

    /// Gathers as much of `bufs` as the capacity allows into one DATA frame
    /// (a frame's header and payload, written apart, would otherwise make
    /// two frames).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let total = bufs
            .iter()
            .map(|b| b.len())
            .fold(0usize, usize::saturating_add);
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        let mut room = ready!(this.poll_send_capacity(cx, total))?.min(total);
        let mut data = BytesMut::with_capacity(room);
        for b in bufs {
            if room == 0 {
                break;
            }
            let take = b.len().min(room);
            data.extend_from_slice(&b[..take]);
            room -= take;
        }
        let n = data.len();
        this.sender()?
            .send_data(data.freeze(), false)
            .map_err(h2_io_error)?;
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// `h2`'s connection task writes what was sent; there is nothing to
    /// flush per stream.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends this direction: an empty DATA frame with END_STREAM (once).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.write_done {
            return Poll::Ready(Ok(()));
        }
        this.write_done = true;
        if this.quiet_end {
            // Both halves go: `h2` then resets the stream (CANCEL) once
            // what was sent before has left.
            this.release();
            this.pending = Bytes::new();
            return Poll::Ready(Ok(()));
        }
        let send = this.sender()?;
        // Give back what was asked for and not used.
        send.reserve_capacity(0);
        match send.send_data(Bytes::new(), true) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(match this.closed_error(cx) {
                closed if closed.kind() == io::ErrorKind::BrokenPipe => h2_io_error(e),
                reset => reset,
            })),
        }
    }
}

#[cfg(test)]
mod tests;
