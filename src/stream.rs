//! WinRT's `StreamWebSocket`: a binary byte stream over WebSocket, as Tokio's
//! `AsyncRead` + `AsyncWrite`.
//!
//! Writes are gathered up to the outbound buffer size and leave as binary
//! messages (one per gathered batch); a flush sends what is gathered. Reads
//! return the payload bytes of the peer's binary messages in order, message
//! boundaries invisible. A text message from the peer is a protocol error
//! (the stream socket is binary only: the connection closes with 1003). The
//! peer's clean close (1000, 1001, or no code) reads as end of stream; a
//! close with any other code (1011, 1009...) is an error that carries the
//! code and reason ([`Error::PeerClosed`] inside the `io::Error`), and a
//! reset or an end without a close frame is an error too, never a silent
//! end. Both halves tell the peer's close code and reason
//! ([`StreamReceiver::close_status`]), as WinRT's `Closed` event does.
//!
//! `shutdown` sends any gathered bytes and the close frame (1000). The
//! handshake then finishes when reads reach the end of the stream (the
//! peer's close) — so the echo of what was written can still be read after
//! shutdown — or, when the reading half is gone, inside `shutdown` itself.
//! [`StreamWebSocket::close`] runs the whole handshake at once, discarding
//! unread data.
//!
//! A write or flush that waits for the transport fails with
//! [`TimeoutKind::Send`] once it has waited the send timeout, a shutdown
//! with [`TimeoutKind::Close`] after the close timeout, each counted from
//! its own first wait: a call left waiting (dropped by `select!` or a
//! timeout) does not shorten or lengthen a different call after it. A
//! read that waits fails with [`TimeoutKind::Receive`] once the peer has
//! been silent for the receive timeout: it is counted from the first wait
//! after the last read that returned, and anything the peer sends in the
//! meantime (a pong answering a keep-alive ping, part of a message)
//! starts it again, as for the message socket's `receive`.
//!
//! ```no_run
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use wsock::{StreamWebSocket, StreamWebSocketControl};
//!
//! # async fn demo() -> wsock::Result<()> {
//! let ws = StreamWebSocket::connect("ws://127.0.0.1:9001/", StreamWebSocketControl::default()).await?;
//! let (mut wr, mut rd) = ws.split();
//! let writer = tokio::spawn(async move {
//!     wr.write_all(&vec![7u8; 1 << 20]).await?;
//!     wr.shutdown().await
//! });
//! let mut echoed = Vec::new();
//! rd.read_to_end(&mut echoed).await?;
//! writer.await.unwrap()?;
//! assert_eq!(echoed.len(), 1 << 20);
//! # Ok(()) }
//! ```

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::control::StreamWebSocketControl;
use crate::error::{Error, Result, TimeoutKind};
use crate::information::{ConnectionFacts, StreamWebSocketInformation};
use crate::proto::{self, CloseFrame, DataKind, Event, ProtocolError};
use crate::reunite::ReuniteError;
use crate::session::{Closing, Deadline, Session, Shared, Side, Stash};

mod sender;

pub use sender::StreamSender;

/// The receiving half of a [`StreamWebSocket`] (`AsyncRead`), from
/// [`StreamWebSocket::split`].
#[derive(Debug)]
pub struct StreamReceiver {
    shared: Shared,
    /// What is left of the current message's payload.
    current: Bytes,
    eof: bool,
    /// The peer closed with a failure code: every read after the data
    /// reports it.
    failed: Option<CloseFrame>,
    receive_timeout: Option<Duration>,
    /// The receive timeout's timer, kept from one read to the next.
    deadline: Deadline,
    /// The deadline of the read that waits (`None` once a read returned).
    armed: Option<tokio::time::Instant>,
    /// Set when the socket is split: data the sender half read while
    /// closing, which comes before anything this half reads on.
    stash: Option<Arc<Mutex<Stash>>>,
}

/// WinRT's `StreamWebSocket` over Tokio: `AsyncRead` + `AsyncWrite`.
///
/// **Receive timeout:** a read that has waited 30 s without a frame from
/// the peer (the WinRT default) fails with an `io::Error` of kind
/// `TimedOut` holding [`Error::Timeout`]`(`[`TimeoutKind::Receive`]`)`
/// (`get_ref()` and a downcast give it back); nothing is lost, the socket
/// stays usable and the next read reads on. To wait as long as the
/// connection lives, before connecting:
///
/// ```
/// # let mut control = wsock::StreamWebSocketControl::default();
/// control.receive_timeout = None;
/// ```
#[derive(Debug)]
pub struct StreamWebSocket {
    reader: StreamReceiver,
    writer: StreamSender,
}

/// The old name of [`StreamReceiver`].
#[deprecated(note = "renamed StreamReceiver, as MessageReceiver")]
pub type StreamReadHalf = StreamReceiver;
/// The old name of [`StreamSender`].
#[deprecated(note = "renamed StreamSender, as MessageSender")]
pub type StreamWriteHalf = StreamSender;

impl StreamWebSocket {
    /// Connects to a `ws://` or `wss://` URL. The control is consumed: no
    /// option can change afterwards.
    pub async fn connect(url: &str, control: StreamWebSocketControl) -> Result<Self> {
        let opts = control.client_options(control.no_delay);
        let (session, facts) = crate::client::open(url, &opts, control.max_message_size).await?;
        Ok(Self::from_session(session, facts))
    }

    pub(crate) fn from_session(mut session: Session, facts: ConnectionFacts) -> Self {
        session.enable_rtt_probes();
        let stats = session.stats.clone();
        let o = session.opts.clone();
        let fan = session.fan_waker();
        let shared = Shared::new(session);
        let info = StreamWebSocketInformation { facts, stats };
        StreamWebSocket {
            reader: StreamReceiver {
                shared: shared.clone(),
                current: Bytes::new(),
                eof: false,
                failed: None,
                receive_timeout: o.receive_timeout,
                deadline: Deadline::new(fan.clone()),
                armed: None,
                stash: None,
            },
            writer: StreamSender {
                info,
                shared,
                gather: Vec::new(),
                limit: o.outbound_buffer_size,
                shut: false,
                close_timeout: o.close_timeout,
                send_timeout: o.send_timeout,
                deadline: Deadline::new(fan.clone()),
                waiting: None,
                stash: None,
                closing: Closing::default(),
            },
        }
    }

    /// Facts about the connection (WinRT `Information`).
    pub fn information(&self) -> &StreamWebSocketInformation {
        &self.writer.info
    }

    /// Splits into a sender (`AsyncWrite`) and a receiver (`AsyncRead`)
    /// that two tasks can use at once, as [`MessageWebSocket::split`]
    /// does; [`reunite`](Self::reunite) puts them back together.
    ///
    /// [`MessageWebSocket::split`]: crate::MessageWebSocket::split
    pub fn split(mut self) -> (StreamSender, StreamReceiver) {
        let stash = Arc::new(Mutex::new(Stash::default()));
        self.writer.stash = Some(stash.clone());
        self.reader.stash = Some(stash);
        (self.writer, self.reader)
    }

    /// The old form of [`split`](Self::split), with the halves the other
    /// way round.
    #[deprecated(
        note = "use split(), which gives (sender, receiver) as MessageWebSocket::split does"
    )]
    pub fn into_split(self) -> (StreamReceiver, StreamSender) {
        let (writer, reader) = self.split();
        (reader, writer)
    }

    /// Puts the halves of one [`split`](Self::split) back together; halves
    /// of two different sockets are handed back in the error.
    // The error holds the halves as they came, no larger than the socket.
    #[allow(clippy::result_large_err)]
    pub fn reunite(
        sender: StreamSender,
        receiver: StreamReceiver,
    ) -> std::result::Result<Self, ReuniteError<StreamSender, StreamReceiver>> {
        if !sender.shared.same_session(&receiver.shared) {
            return Err(ReuniteError(sender, receiver));
        }
        Ok(StreamWebSocket {
            reader: receiver,
            writer: sender,
        })
    }

    /// Sends what is gathered, closes with `code` (any code an endpoint may
    /// send, see [`close_status`](crate::close_status)) and
    /// `reason` (at most 123 bytes) and waits, up to the close timeout, for
    /// the peer's close. Unread data is discarded.
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<()> {
        self.writer.close(code, reason).await
    }

    /// The peer's close code and reason, once its close frame came (1005
    /// when it gave no code); see [`StreamReceiver::close_status`].
    pub fn close_status(&self) -> Option<(u16, String)> {
        self.reader.close_status()
    }

    /// Sends a ping now; its pong adds a round-trip sample to
    /// [`StreamWebSocketInformation::round_trip_time_statistics`].
    pub async fn ping(&mut self) -> Result<()> {
        self.writer.ping().await
    }
}

/// The peer's close status, read from the session both halves share.
fn close_status_of(shared: &Shared) -> Option<(u16, String)> {
    let s = shared.lock();
    s.peer_close.as_ref().map(|f| (f.code, f.reason.clone()))
}

/// True for the close codes that end a stream cleanly.
fn is_clean_close(code: u16) -> bool {
    matches!(
        code,
        proto::close::NORMAL | proto::close::GOING_AWAY | proto::close::NO_STATUS
    )
}

impl StreamReceiver {
    /// The peer's close code and reason, once its close frame came (1005
    /// when it gave no code; `None` before, or when the connection ended
    /// without one). A code other than 1000, 1001 and 1005 also makes
    /// reads fail after the data, with [`Error::PeerClosed`].
    pub fn close_status(&self) -> Option<(u16, String)> {
        close_status_of(&self.shared)
    }

    fn poll_read_inner(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.current.is_empty() {
                let n = self.current.len().min(buf.remaining());
                buf.put_slice(&self.current[..n]);
                self.current.advance(n);
                return Poll::Ready(Ok(()));
            }
            if self.eof {
                return Poll::Ready(match &self.failed {
                    Some(f) => Err(Error::PeerClosed {
                        code: f.code,
                        reason: f.reason.clone(),
                    }
                    .into()),
                    None => Ok(()),
                });
            }
            let mut s = self.shared.lock();
            // First what a closing sender half read for this one (it reads
            // only under the session lock, so nothing decoded after this
            // can come before it).
            let kept = self
                .stash
                .as_ref()
                .and_then(|k| k.lock().unwrap_or_else(|p| p.into_inner()).pop());
            let ev = match kept {
                Some((ev, was_full)) => {
                    if was_full {
                        // The sender may wait for room.
                        s.wake_halves();
                    }
                    Ok(ev)
                }
                None => ready!(s.poll_event(cx, Side::Reader)),
            };
            match ev {
                Ok(Event::Data {
                    kind: DataKind::Binary,
                    payload,
                    ..
                }) => self.current = payload,
                Ok(Event::Data {
                    kind: DataKind::Text,
                    ..
                }) => {
                    let e = ProtocolError::InvalidSend("text message on a binary stream");
                    s.fail_with(proto::close::UNSUPPORTED_DATA, e.clone());
                    return Poll::Ready(Err(Error::Protocol(e).into()));
                }
                Ok(Event::Ping(_)) | Ok(Event::Pong(_)) => {}
                Ok(Event::Close(_)) | Err(Error::ConnectionClosed) => {
                    // The end of the stream, clean or not by its code.
                    // Send the reply out.
                    let _ = ready!(s.poll_flush(cx, Side::Reader));
                    self.failed = s.peer_close.clone().filter(|f| !is_clean_close(f.code));
                    self.eof = true;
                    s.wake_halves();
                }
                Err(e) => {
                    s.wake_halves();
                    return Poll::Ready(Err(e.into()));
                }
            }
        }
    }
}

/// Reads time out as [`StreamWebSocket`] says, leaving the socket usable.
impl AsyncRead for StreamReceiver {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(v) = this.poll_read_inner(cx, buf) {
            this.armed = None;
            return Poll::Ready(v);
        }
        // The timeout measures the peer's silence, as
        // `MessageWebSocket::receive`'s does (see `Deadline::poll_silence`).
        // A read that waited and was given up leaves its deadline armed:
        // the next read goes on from it, so a stalled peer fails reads
        // after the limit however often they are retried. Once a read has
        // timed out, the next one has the whole limit again.
        let shared = &this.shared;
        let expired = ready!(this.deadline.poll_silence(
            cx,
            &mut this.armed,
            this.receive_timeout,
            TimeoutKind::Receive,
            || shared.lock().last_heard,
        ));
        this.armed = None;
        Poll::Ready(Err(expired.into()))
    }
}

impl AsyncRead for StreamWebSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for StreamWebSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().writer).poll_write(cx, data)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_shutdown(cx)
    }
}
