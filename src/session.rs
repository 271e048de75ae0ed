//! One connection's I/O loop over the sans-IO core: it moves bytes between
//! the transport and [`proto::Connection`]'s buffers, and nothing more.
//!
//! Every operation is a `poll_*` function over state kept in [`Session`], so
//! an `async` call built on it is cancel-safe: dropping its future loses no
//! received byte and leaves no frame half-written (an encoded frame stays in
//! the output buffer and leaves with the next operation).
//!
//! Both halves of a split socket (and the `AsyncRead`/`AsyncWrite` halves of
//! the stream socket) share one `Session` behind a mutex held only inside a
//! poll, never across an await. Either half may need to drive the other
//! direction (the reader flushes pong answers; `close` reads the peer's
//! close frame; a wait that reaches a keep-alive deadline sends the ping),
//! while a transport keeps one waker per direction. So the transport is always
//! polled with the one waker that wakes every waiting party
//! ([`WakerPair`]), never with a waker of its own and never with a no-op
//! one: nobody can steal another's wake-up, and a session that ends wakes
//! them all.
//!
//! Memory stays bounded whatever the peer does: the core holds at most one
//! pong answer back ([`proto::Event::Ping`]) and one close reply, so
//! reading queues no more than that however long the peer leaves our
//! output unread; senders wait while the output is over the outbound
//! buffer size; and the read buffer grows with the bytes that came.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use crate::connect::Transport;
use crate::error::{Error, Result, TimeoutKind};
use crate::information::Stats;
use crate::proto::{self, CloseFrame, Event, State};

mod clock;
mod close;
mod options;
mod rtt;
mod shared;
mod timeout;
mod wakers;

use clock::Clock;
pub(crate) use close::{Closing, Stash};
pub(crate) use options::SessionOptions;
use options::{MAX_READ_CHUNK, MIN_READ_CHUNK};
use rtt::RttProbe;
pub(crate) use shared::Shared;
pub(crate) use timeout::{Deadline, with_timeout};
pub(crate) use wakers::{Side, WakerPair};

/// Why the session ended, kept so that every later call reports it.
#[derive(Debug, Clone)]
enum Ended {
    /// The close handshake ran (either side began it).
    Closed,
    /// The peer went away without a close frame.
    Eof,
    /// A protocol violation; the close frame was queued.
    Protocol(proto::ProtocolError),
    /// A transport error.
    Io(io::ErrorKind, String),
    /// No pong came back in time.
    KeepAlive,
    /// The peer did not answer our close frame in time.
    CloseTimeout,
    /// This side aborted the connection.
    Aborted,
}

impl Ended {
    fn error(&self) -> Error {
        match self {
            Ended::Closed => Error::ConnectionClosed,
            Ended::Eof => Error::Io(io::ErrorKind::UnexpectedEof.into()),
            Ended::Protocol(p) => Error::Protocol(p.clone()),
            Ended::Io(kind, msg) => Error::Io(io::Error::new(*kind, msg.clone())),
            Ended::KeepAlive => Error::Timeout(TimeoutKind::KeepAlive),
            Ended::CloseTimeout => Error::Timeout(TimeoutKind::Close),
            Ended::Aborted => Error::Canceled,
        }
    }
}

/// The largest read asked of the transport (unless the read chunk is
/// larger).
const MAX_READ: usize = 128 * 1024;

/// The largest read [`Session::poll_fill`] makes into the stack, when it
/// holds no read buffer: the default read chunk, so that this read asks
/// for as much as a buffered one would.
const STACK_READ: usize = 8 * 1024;

/// The output buffer capacity kept while a connection waits.
const IDLE_OUTPUT: usize = 4 * 1024;

/// The per-connection state.
pub(crate) struct Session {
    io: Transport,
    pub(crate) proto: proto::Connection,
    rd: BytesMut,
    /// Bytes the next read asks for; see [`Session::poll_fill`].
    read_size: usize,
    eof: bool,
    write_shut: bool,
    ended: Option<Ended>,
    /// The close frame the peer sent (code 1005 when it had no payload).
    pub(crate) peer_close: Option<CloseFrame>,
    pub(crate) opts: SessionOptions,
    pub(crate) stats: Arc<Stats>,
    /// When the peer last sent anything (any frame, a pong included): the
    /// receive timeout measures the peer's silence from here. Tokio's
    /// clock, as the timers that compare with it.
    pub(crate) last_heard: tokio::time::Instant,
    wakers: Arc<WakerPair>,
    fan: Waker,
    rtt: Option<RttProbe>,
    /// The core's deadlines and the timer set for them: from the start
    /// when keep-alive is on, else from the first close.
    clock: Option<Box<Clock>>,
    /// A client's wait for the server's end of TCP is over.
    fin_wait_over: bool,
}

/// How long a client waits, after the close handshake, for the server to
/// close TCP before closing it itself.
const EOF_GRACE: Duration = Duration::from_secs(1);

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.proto.state())
            .field("buffered", &self.rd.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session over a transport whose handshake is done; `leftover` holds
    /// bytes that arrived right after the handshake.
    pub(crate) fn new(
        io: Transport,
        proto: proto::Connection,
        leftover: BytesMut,
        mut opts: SessionOptions,
        stats: Arc<Stats>,
    ) -> Self {
        opts.read_chunk = opts.read_chunk.clamp(MIN_READ_CHUNK, MAX_READ_CHUNK);
        let wakers = Arc::new(WakerPair::default());
        let fan = Waker::from(wakers.clone());
        let clock = clock::keep_alive_clock(opts.keep_alive());
        Session {
            io,
            proto,
            rd: leftover,
            read_size: opts.read_chunk,
            eof: false,
            write_shut: false,
            ended: None,
            peer_close: None,
            opts,
            stats,
            last_heard: tokio::time::Instant::now(),
            wakers,
            fan,
            rtt: None,
            clock,
            fin_wait_over: false,
        }
    }

    /// Ends the connection now, without a close handshake (.NET `Abort`):
    /// pending and later operations fail with [`Error::Canceled`].
    pub(crate) fn abort(&mut self) {
        self.end(Ended::Aborted);
        self.proto.discard_output();
    }

    /// Ends the connection for a reason of our own (not the peer's
    /// violation): close with `code`, then report `error` from now on.
    pub(crate) fn fail_with(&mut self, code: u16, error: proto::ProtocolError) {
        if self.proto.state() == State::Open {
            let _ = self.queue_close(Some(&CloseFrame {
                code,
                reason: String::new(),
            }));
        }
        self.end(Ended::Protocol(error));
        self.write_now();
    }

    /// Records why the session ended (the first reason stays) and wakes
    /// every waiting half, so that each finds out. A session that failed
    /// has no deadline left (one that closed may still wait for the peer's
    /// end of TCP).
    fn end(&mut self, why: Ended) {
        if self.ended.is_none() {
            if !matches!(why, Ended::Closed) {
                self.clock = None;
            }
            self.ended = Some(why);
            self.wakers.wake_all();
        }
    }

    fn fail_io(&mut self, e: io::Error) -> Error {
        self.end(Ended::Io(e.kind(), e.to_string()));
        Error::from(e)
    }

    /// Writes the output to the transport until it is empty or the
    /// transport is full (`Pending`). The transport is polled with the
    /// fan-out waker, so whoever waits for it is woken, whoever wrote last.
    fn write_fan(&mut self) -> Poll<Result<()>> {
        while self.proto.wants_write() {
            if self.write_shut {
                self.proto.discard_output();
                break;
            }
            let mut fcx = Context::from_waker(&self.fan);
            let out = self.proto.output();
            match ready!(Pin::new(&mut self.io).poll_write(&mut fcx, &out[..])) {
                Ok(0) => return Poll::Ready(Err(self.fail_io(io::ErrorKind::WriteZero.into()))),
                Ok(n) => {
                    let out = self.proto.output();
                    // All of it gone: cleared, not advanced, so that the
                    // buffer keeps its room from the start and the next
                    // frame is written without the buffer first reclaiming
                    // the front it skipped.
                    if n == out.len() {
                        out.clear();
                    } else {
                        out.advance(n);
                    }
                    self.stats.record_sent(n);
                }
                Err(e) => return Poll::Ready(Err(self.fail_io(e))),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Writes the whole output buffer to the transport, `side` waiting for
    /// it if it is full.
    fn poll_write_out(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<Result<()>> {
        loop {
            if let Poll::Ready(res) = self.write_fan() {
                return Poll::Ready(res);
            }
            // Register, then try again: a wake-up that came before the
            // registration is not lost. (A write the transport takes at
            // once needs no registration.)
            self.wakers.register(side, cx.waker());
            if let Poll::Ready(res) = self.write_fan() {
                return Poll::Ready(res);
            }
            // While waiting, the deadlines run; a ping one queued goes out
            // with the rest.
            ready!(self.poll_clock())?;
        }
    }

    /// Writes what the transport takes now, for output that no one will
    /// wait for (the close frame of a socket being dropped) or that the
    /// next operation finishes. Errors end the session, and the next
    /// operation reports them.
    fn write_now(&mut self) {
        let _ = self.write_fan();
    }

    /// Writes the output and flushes the transport.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<Result<()>> {
        ready!(self.poll_write_out(cx, side))?;
        if self.write_shut {
            return Poll::Ready(Ok(()));
        }
        let mut fcx = Context::from_waker(&self.fan);
        let mut res = Pin::new(&mut self.io).poll_flush(&mut fcx);
        if res.is_pending() {
            // As in poll_write_out: register, then try again.
            self.wakers.register(side, cx.waker());
            res = Pin::new(&mut self.io).poll_flush(&mut fcx);
        }
        match res {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.fail_io(e))),
            Poll::Pending => {
                ready!(self.poll_clock())?;
                // A deadline queued something: flush that too.
                self.poll_flush(cx, side)
            }
        }
    }

    /// Waits until the output buffer is below the outbound buffer size, so
    /// that more may be queued without unbounded growth.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<Result<()>> {
        self.check_usable()?;
        if !self.has_room() {
            ready!(self.poll_write_out(cx, side))?;
        }
        Poll::Ready(Ok(()))
    }

    /// The error of a session that ended, if sending is over.
    pub(crate) fn check_usable(&self) -> Result<()> {
        match &self.ended {
            Some(e) if !matches!(e, Ended::Closed) || self.proto.state() != State::Open => {
                Err(e.error())
            }
            _ => Ok(()),
        }
    }

    /// True while the output is below the outbound buffer size.
    pub(crate) fn has_room(&mut self) -> bool {
        self.proto.output().len() < self.opts.outbound_buffer_size
    }

    /// The next protocol event from the peer. Pong answers and close replies
    /// are written on the way as far as the transport takes them, without
    /// waiting for it: reading goes on while the output waits.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<Result<Event>> {
        loop {
            if let Some(e) = self.ended.clone() {
                // After the close handshake, drain what is still owed.
                if self.proto.wants_write() {
                    let _ = ready!(self.poll_write_out(cx, side));
                }
                return Poll::Ready(Err(e.error()));
            }
            if let Some(res) = self.decode_one(cx, side) {
                return Poll::Ready(res);
            }
            if self.eof {
                self.end(Ended::Eof);
                continue;
            }
            // Before waiting on the peer, try to get out what we owe it. A
            // full transport does not stop the reading: what reading queues
            // is bounded already (one held-back pong, one close reply), and
            // pausing it would deadlock against a peer that echoes each
            // message before it reads the next while our output is full.
            if self.proto.wants_write()
                && let Poll::Ready(Err(e)) = self.poll_write_out(cx, side)
            {
                return Poll::Ready(Err(e));
            }
            ready!(self.poll_fill(cx, side))?;
        }
    }

    /// The messages already whole in the read buffer that can be taken
    /// without consequence, at most `max`, handed to `f` with their kind:
    /// single-frame text or binary messages that every check accepts, so
    /// decoding them queues nothing for the peer and cannot fail the
    /// connection ([`proto::Connection::decode_message`]). Stops at
    /// anything else (control frames, fragments, anything the regular path
    /// must handle in order). Returns how many were taken.
    pub(crate) fn buffered_messages(
        &mut self,
        max: usize,
        f: impl FnMut(proto::DataKind, bytes::Bytes),
    ) -> usize {
        if self.ended.is_some() {
            return 0;
        }
        self.proto.decode_messages(&mut self.rd, max, f)
    }

    /// Decodes one event from the read buffer and does what it obliges.
    fn decode_one(&mut self, cx: &mut Context<'_>, side: Side) -> Option<Result<Event>> {
        match self.proto.decode(&mut self.rd) {
            Ok(Some(ev)) => {
                if let Event::Pong(payload) = &ev {
                    self.on_pong(payload);
                }
                if let Event::Close(frame) = &ev {
                    self.peer_close = Some(frame.clone().unwrap_or(CloseFrame {
                        code: proto::close::NO_STATUS,
                        reason: String::new(),
                    }));
                    if self.proto.state() == State::Closed {
                        self.end(Ended::Closed);
                    }
                }
                if self.proto.wants_write() {
                    // Best effort now (an error ends the session); a later
                    // poll finishes it.
                    let _ = self.poll_write_out(cx, side);
                }
                if self.rd.is_empty() && self.read_size <= self.opts.read_chunk {
                    // Not streaming, and every byte read is handed out:
                    // drop our share of the buffer rather than keep it
                    // through what may be a long wait.
                    self.rd = BytesMut::new();
                }
                Some(Ok(ev))
            }
            Ok(None) => None,
            Err(e) => {
                self.end(Ended::Protocol(e.clone()));
                self.write_now();
                Some(Err(Error::Protocol(e)))
            }
        }
    }

    /// The fan-out waker, for timers kept outside the session that must
    /// wake whoever waits on it (see [`Deadline`]).
    pub(crate) fn fan_waker(&self) -> Waker {
        self.fan.clone()
    }

    /// Reads more bytes from the transport into the read buffer.
    ///
    /// The read asks for `read_size` bytes, which starts at the read chunk
    /// and doubles (up to [`MAX_READ`]) each time a read fills all the room
    /// it was given, so a fast stream is read in few system calls. When the
    /// transport has nothing and the buffer holds nothing, the buffer is
    /// given back and the size starts over; with no buffer, a TCP transport
    /// is first asked to become readable, so that a connection waiting for
    /// data holds no read buffer. (`poll_event` lets go of an emptied
    /// buffer too, unless data is streaming in.)
    ///
    /// While it waits, the deadlines run ([`Session::poll_clock`]); when
    /// one did something, this is `Ready` with nothing read, so that the
    /// caller looks again at what it waits for.
    fn poll_fill(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<Result<()>> {
        self.wakers.register(side, cx.waker());
        match self.poll_fill_now() {
            Poll::Pending => self.poll_clock(),
            ready => {
                // Nothing to wait for now: a waker left here would keep the
                // task that polled alive (its whole future) for as long as
                // the socket, after the task itself had ended.
                self.wakers.forget(side);
                ready
            }
        }
    }

    /// One try at [`Session::poll_fill`].
    fn poll_fill_now(&mut self) -> Poll<Result<()>> {
        if self.rd.capacity() == 0 && self.read_size <= self.opts.read_chunk {
            return self.poll_fill_unbuffered();
        }
        let mut fcx = Context::from_waker(&self.fan);
        if self.rd.capacity() == self.rd.len() {
            // Wait for bytes before taking memory for them.
            if let Err(e) = ready!(self.io.poll_read_ready(&mut fcx)) {
                return Poll::Ready(Err(self.fail_io(e)));
            }
        }
        let want = self.read_size.max(self.opts.read_chunk);
        if self.rd.capacity() - self.rd.len() < want {
            self.rd.reserve(want);
        }
        let room = self.rd.capacity() - self.rd.len();
        // `read_buf` fills the spare capacity without zeroing it first; a
        // fresh future each poll holds no state of its own.
        let res = std::pin::pin!(self.io.read_buf(&mut self.rd)).poll(&mut fcx);
        match res {
            Poll::Pending => {
                if self.rd.is_empty() {
                    self.rd = BytesMut::new();
                    self.read_size = self.opts.read_chunk;
                }
                self.release_output();
                return Poll::Pending;
            }
            Poll::Ready(Ok(0)) => self.eof = true,
            Poll::Ready(Ok(n)) => {
                self.heard(n);
                if n == room {
                    self.read_size = (want * 2).min(MAX_READ.max(self.opts.read_chunk));
                }
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(self.fail_io(e))),
        }
        Poll::Ready(Ok(()))
    }

    /// `n` bytes came from the peer.
    fn heard(&mut self, n: usize) {
        self.last_heard = tokio::time::Instant::now();
        self.stats.record_received(n, self.last_heard.into_std());
    }

    /// [`poll_fill`](Self::poll_fill) with no read buffer, when not
    /// streaming (the last read did not fill its room): the read goes to
    /// the stack, and the buffer then taken holds exactly what came (the
    /// usual room when the read filled the stack: more may be waiting). A
    /// message that fills such a buffer is handed out as the buffer itself
    /// ([`proto::Connection::decode`] splits nothing off it), so a round
    /// trip costs one small allocation rather than a read-chunk-sized
    /// buffer and the shared header of a split one.
    fn poll_fill_unbuffered(&mut self) -> Poll<Result<()>> {
        let mut stack = [std::mem::MaybeUninit::<u8>::uninit(); STACK_READ];
        let mut buf = tokio::io::ReadBuf::uninit(&mut stack);
        let mut fcx = Context::from_waker(&self.fan);
        match Pin::new(&mut self.io).poll_read(&mut fcx, &mut buf) {
            Poll::Pending => {
                self.read_size = self.opts.read_chunk;
                self.release_output();
                Poll::Pending
            }
            Poll::Ready(Ok(())) => {
                let got = buf.filled();
                if got.is_empty() {
                    self.eof = true;
                } else {
                    self.heard(got.len());
                    if got.len() == STACK_READ {
                        self.rd.reserve(self.read_size.max(self.opts.read_chunk));
                    }
                    self.rd.extend_from_slice(got);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.fail_io(e))),
        }
    }

    /// Nothing to read and nothing to write: let go of an output buffer
    /// that a burst of sending grew.
    fn release_output(&mut self) {
        if !self.proto.wants_write() && self.proto.output().capacity() > IDLE_OUTPUT {
            *self.proto.output() = BytesMut::new();
        }
    }

    /// After the close handshake, a client waits for the server to close
    /// TCP first (RFC 6455 7.1.1); a reset counts as the end too. Over an
    /// HTTP/2 stream there is no TCP connection of the socket's own to
    /// leave in TIME_WAIT at the server, so nothing to wait for.
    pub(crate) fn poll_peer_eof(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<()> {
        while !self.eof
            && !self.fin_wait_over
            && self.proto.config().role == proto::Role::Client
            && !self.io.is_http2()
        {
            self.rd.clear();
            if ready!(self.poll_fill(cx, side)).is_err() {
                break;
            }
        }
        Poll::Ready(())
    }

    /// Ends this side after the close handshake: [`Session::poll_shutdown`],
    /// except for a client over plain TCP once the server has ended its
    /// side (its EOF was read, so nothing unread is left to turn our close
    /// into a reset) and all our output is out. Closing the socket, when it is dropped, then
    /// sends the FIN the shutdown would have sent, for one system call
    /// less; meanwhile the session counts as shut for writing.
    pub(crate) fn poll_finish(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<()> {
        if self.eof
            && !self.proto.wants_write()
            && matches!(self.io, Transport::Tcp(_))
            && self.proto.config().role == proto::Role::Client
        {
            self.write_shut = true;
            return Poll::Ready(());
        }
        self.poll_shutdown(cx, side)
    }

    /// Shuts the transport's write side (TCP FIN, TLS close_notify).
    pub(crate) fn poll_shutdown(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<()> {
        self.wakers.register(side, cx.waker());
        while !self.write_shut {
            let mut fcx = Context::from_waker(&self.fan);
            // An error here means the peer is gone already: nothing to do.
            if Pin::new(&mut self.io).poll_shutdown(&mut fcx).is_ready() {
                self.write_shut = true;
                break;
            }
            // Over a session that a deadline failed, the wait ends with it.
            if ready!(self.poll_clock()).is_err() {
                self.write_shut = true;
            }
        }
        Poll::Ready(())
    }

    /// Called when the socket is dropped while open: queue a close with
    /// `code` and push it out without waiting.
    pub(crate) fn close_on_drop(&mut self, code: u16) {
        if self.proto.state() == State::Open && self.ended.is_none() {
            let frame = CloseFrame {
                code,
                reason: String::new(),
            };
            if self.proto.encode_close(Some(&frame)).is_ok() {
                self.write_now();
            }
        }
    }
}
