//! The server role on the same core, in the manner of ASP.NET Core's
//! WebSocket middleware: read a request from any Tokio stream, then accept
//! the upgrade (choosing a subprotocol) as a [`MessageWebSocket`] or a
//! [`StreamWebSocket`], refuse it, or answer it as plain HTTP (a page served
//! on the same port).
//!
//! [`Listener`] does the accepting for the common case: it binds a TCP port
//! (optionally with TLS), reads request heads concurrently, answers and
//! drops connections that fail before a request is read (a bad head gets 400
//! or 431, a head that takes too long 408) and keeps accepting, and hands
//! over each [`Incoming`] request.
//!
//! ```no_run
//! use wsock::server::{AcceptOptions, Listener};
//! use wsock::Received;
//!
//! # async fn demo() -> wsock::Result<()> {
//! let mut listener = Listener::bind("127.0.0.1:8080", AcceptOptions::default()).await?;
//! loop {
//!     let incoming = listener.accept().await?;
//!     tokio::spawn(async move {
//!         if incoming.path() != "/ws" {
//!             return incoming.respond(200, "text/plain", b"hello").await;
//!         }
//!         if !incoming.is_upgrade() {
//!             // 400, 403 or 426, whichever fits what is wrong.
//!             return incoming.refuse().await;
//!         }
//!         let chat = incoming.offered_protocols().iter().any(|p| p == "chat");
//!         let mut ws = incoming.accept(chat.then_some("chat")).await?;
//!         while let Received::Message(m) = ws.receive().await? {
//!             ws.send_message(&m).await?;
//!         }
//!         Ok::<_, wsock::Error>(())
//!     });
//! }
//! # }
//! ```
//!
//! With the `http2` feature (on by default) the listener also speaks
//! WebSockets over HTTP/2 (RFC 8441) on the same port: over TLS to clients
//! that pick `h2` by ALPN, over plain TCP to those that open with the
//! HTTP/2 connection preface. Each extended CONNECT (and each plain HTTP/2
//! request) is an [`Incoming`] like any other, checked and accepted the same
//! way ([`Incoming::http_version`] tells them apart); an accepted one is an
//! ordinary [`MessageWebSocket`] or [`StreamWebSocket`] over its stream.
//! One HTTP/2 connection carries many sockets: a task of its own drives it
//! as long as it lives, closing a socket ends its stream only, and when the
//! connection fails, each of its sockets fails with the error. See
//! `AcceptOptions::http2` and `AcceptOptions::http2_max_concurrent_streams`.
//!
//! Without the listener, [`read_request`] works on any accepted stream: a
//! `TcpStream`, a `tokio_rustls` server stream, or anything else that is
//! `AsyncRead + AsyncWrite`.
//!
//! Every refusal (and every plain answer) carries `Connection: close`; the
//! write side is then shut and what the client still sends is read and
//! dropped for a moment (a bounded amount), so that unread request bytes do
//! not make the kernel reset the connection before the client has read the
//! answer.

#[cfg(feature = "http2")]
mod http2;
mod listener;
mod negotiate;
mod options;
#[cfg(feature = "http2")]
mod sniff;

pub use listener::{Listener, MAX_PENDING_CONNECTIONS};
pub use options::AcceptOptions;

use std::any::Any;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::connect::Transport;
use crate::error::{Error, Result, TimeoutKind};
use crate::handshake::client::validate_header;
use crate::handshake::server::{Rejection, Request, Upgrade, parse_request};
use crate::handshake::server::{reason_phrase, write_accept, write_response};
use crate::handshake::{HandshakeError, Limits};
use crate::information::{ConnectionFacts, Stats, UpgradeResponse};
use crate::message::MessageWebSocket;
use crate::proto::Connection;
use crate::session::{Session, with_timeout};
use crate::stream::StreamWebSocket;
use negotiate::{agree, judge};

/// How long a final HTTP answer may take to leave, together with reading
/// and dropping what the client still sends after it.
const LINGER: Duration = Duration::from_secs(2);
/// The most bytes read and dropped after a final HTTP answer.
const LINGER_BYTES: usize = 256 * 1024;

/// A request read from a client: an upgrade to accept or refuse, or a plain
/// HTTP request to answer. Over HTTP/1.1 it is its connection's; over
/// HTTP/2 ([`Listener`] only) one stream of a connection that may carry
/// many.
#[derive(Debug)]
pub struct Incoming {
    conn: Responder,
    request: Request,
    upgrade: std::result::Result<Upgrade, Rejection>,
    options: AcceptOptions,
}

/// Where the answer goes.
#[derive(Debug)]
enum Responder {
    /// The connection, and what the client sent after the request head.
    Http1 { io: Transport, leftover: BytesMut },
    /// One stream of an HTTP/2 connection.
    #[cfg(feature = "http2")]
    Http2(http2::Respond),
}

/// Reads one request head from `stream` (a `TcpStream`, a server
/// `tokio_rustls` stream over TCP, or any other Tokio stream).
///
/// Fails when the head is malformed (answered with 400), too large (431),
/// not complete within [`AcceptOptions::request_timeout`] (408, and the
/// error is [`Error::Timeout`]), or cut short by the client. A client that
/// sent nothing at all (a browser's spare connection) gets no answer: the
/// connection is just closed.
pub async fn read_request<S>(stream: S, options: AcceptOptions) -> Result<Incoming>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let rd = BytesMut::with_capacity(1024);
    read_transport(into_transport(stream), rd, options, Duration::ZERO)
        .await
        .map_err(|(e, _)| e)
}

/// As [`read_request`], after the client sent `rd` already (within
/// `spent` of the request timeout); the error also tells whether the
/// client sent any byte (a connection that never did is not worth
/// reporting).
pub(crate) async fn read_transport(
    mut io: Transport,
    mut rd: BytesMut,
    options: AcceptOptions,
    spent: Duration,
) -> std::result::Result<Incoming, (Error, bool)> {
    let limits = options.limits;
    let head = with_timeout(
        options.request_timeout.map(|t| t.saturating_sub(spent)),
        TimeoutKind::Receive,
        read_head(&mut io, &mut rd, &limits),
    )
    .await;
    let request = match head {
        Ok(request) => request,
        Err(e) => {
            let said_something = !rd.is_empty();
            match head_rejection(&e) {
                Some(rejection) if said_something => {
                    let mut out = Vec::new();
                    rejection.write(&mut out);
                    let _ = finish(&mut io, &out).await;
                }
                _ => drop(tokio::time::timeout(LINGER, io.shutdown()).await),
            }
            return Err((e, said_something));
        }
    };
    Ok(Incoming {
        upgrade: judge(&request, &options),
        conn: Responder::Http1 { io, leftover: rd },
        request,
        options,
    })
}

/// Reads until `rd` holds a whole request head; leaves what follows it in
/// `rd`.
async fn read_head(io: &mut Transport, rd: &mut BytesMut, limits: &Limits) -> Result<Request> {
    loop {
        if let Some((req, n)) = parse_request(rd, limits)? {
            rd.advance(n);
            return Ok(req);
        }
        rd.reserve(1024);
        if io.read_buf(rd).await? == 0 {
            return Err(Error::from(HandshakeError::Truncated));
        }
    }
}

/// The answer to a request head that could not be read, if it deserves one.
fn head_rejection(e: &Error) -> Option<Rejection> {
    match e {
        Error::Handshake(HandshakeError::HeadTooLarge) => {
            Some(Rejection::new(431, "the request head is too large"))
        }
        Error::Handshake(HandshakeError::Malformed(_)) => {
            Some(Rejection::new(400, "malformed HTTP request"))
        }
        Error::Timeout(_) => Some(Rejection::new(408, "the request head took too long")),
        _ => None,
    }
}

/// Sends a final answer, shuts the write side, then reads and drops what
/// the client still sends (bounded in bytes and time), so that its unread
/// bytes do not turn our close into a reset that destroys the answer.
async fn finish(io: &mut Transport, out: &[u8]) -> io::Result<()> {
    let linger = async {
        io.write_all(out).await?;
        io.flush().await?;
        io.shutdown().await?;
        let mut scratch = [0u8; 4096];
        let mut dropped = 0;
        while dropped < LINGER_BYTES {
            match io.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => dropped += n,
            }
        }
        Ok(())
    };
    tokio::time::timeout(LINGER, linger)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

/// Reads a request and accepts it as a WebSocket (no subprotocol); a bad
/// upgrade request is answered with its 400/403/426 and fails.
pub async fn accept<S>(stream: S, options: AcceptOptions) -> Result<MessageWebSocket>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    read_request(stream, options).await?.accept(None).await
}

impl Incoming {
    /// The request as parsed.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The request target (path and query).
    pub fn path(&self) -> &str {
        &self.request.path
    }

    /// The client's address (for TCP-based streams).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match &self.conn {
            Responder::Http1 { io, .. } => io.peer_addr(),
            #[cfg(feature = "http2")]
            Responder::Http2(r) => r.peer_addr(),
        }
    }

    /// This side's address (for TCP-based streams).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.conn {
            Responder::Http1 { io, .. } => io.local_addr(),
            #[cfg(feature = "http2")]
            Responder::Http2(r) => r.local_addr(),
        }
    }

    /// The HTTP version the request came over: HTTP/2 for a stream of an
    /// HTTP/2 connection (an extended CONNECT for a WebSocket, RFC 8441),
    /// else HTTP/1.1 (HTTP/1.0 too). A socket accepted from it tells the
    /// same in its information.
    pub fn http_version(&self) -> crate::HttpVersion {
        match self.request.version {
            2 => crate::HttpVersion::Http2,
            _ => crate::HttpVersion::Http11,
        }
    }

    /// True when this is a valid WebSocket upgrade from an allowed origin.
    pub fn is_upgrade(&self) -> bool {
        self.upgrade.is_ok()
    }

    /// Why this is not an acceptable upgrade (the status and reason
    /// [`refuse`](Self::refuse) and [`accept`](Self::accept) answer with),
    /// or `None` for a valid upgrade.
    pub fn rejection(&self) -> Option<&Rejection> {
        self.upgrade.as_ref().err()
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn offered_protocols(&self) -> &[String] {
        self.upgrade
            .as_ref()
            .map(|u| u.protocols.as_slice())
            .unwrap_or(&[])
    }

    /// Accepts the upgrade with `protocol` (which must be one the client
    /// offered) and returns the server-role message socket (ASP.NET Core
    /// `AcceptWebSocketAsync(subProtocol)`). A request that is not a valid
    /// upgrade is answered with its error status (400, 403 or 426) and
    /// fails; so does a protocol the client did not offer (answered 500).
    pub async fn accept(self, protocol: Option<&str>) -> Result<MessageWebSocket> {
        let (message_type, mode) = (self.options.message_type, self.options.receive_mode);
        let (session, facts) = self.accept_session(protocol).await?;
        Ok(MessageWebSocket::from_session(
            session,
            facts,
            message_type,
            mode,
        ))
    }

    /// As [`accept`](Self::accept), returning the server-role stream socket
    /// (binary messages as a byte stream).
    pub async fn accept_stream(self, protocol: Option<&str>) -> Result<StreamWebSocket> {
        let (session, facts) = self.accept_session(protocol).await?;
        Ok(StreamWebSocket::from_session(session, facts))
    }

    pub(crate) async fn accept_session(
        self,
        protocol: Option<&str>,
    ) -> Result<(Session, ConnectionFacts)> {
        let Incoming {
            conn,
            upgrade,
            options,
            ..
        } = self;
        let up = match upgrade {
            Ok(up) => up,
            Err(rej) => {
                let _ = conn.refuse(&rej).await;
                return Err(Error::invalid(format!(
                    "not a valid WebSocket upgrade: answered {} ({})",
                    rej.status, rej.reason
                )));
            }
        };
        let agreed = match agree(&up, &options, protocol) {
            Ok(agreed) => agreed,
            Err((rej, e)) => {
                let _ = conn.refuse(&rej).await;
                return Err(e);
            }
        };
        let extensions = agreed.extensions.as_deref();
        let (io, leftover, http_response) = match conn {
            Responder::Http1 { mut io, leftover } => {
                let mut out = Vec::with_capacity(256);
                write_accept(&up.key, protocol, extensions, &[], &mut out);
                io.write_all(&out).await?;
                io.flush().await?;
                (io, leftover, UpgradeResponse::parse_sent(&out))
            }
            #[cfg(feature = "http2")]
            Responder::Http2(r) => {
                let (io, answer) = r.accept(protocol, extensions)?;
                (io, BytesMut::new(), answer)
            }
        };
        let facts = ConnectionFacts {
            local_address: io.local_addr(),
            remote_address: io.peer_addr(),
            protocol: protocol.map(str::to_owned),
            server_certificates: Vec::new(),
            unsolicited_pong_interval: None,
            server_certificate_errors: Vec::new(),
            deflate: agreed.deflate,
            http_response,
        };
        let session = Session::new(
            io,
            Connection::new(agreed.config),
            leftover,
            agreed.session,
            Arc::new(Stats::default()),
        );
        Ok((session, facts))
    }

    /// Refuses the request: a request that is not an acceptable upgrade gets
    /// what is wrong with it (400, 403 or 426 with `Sec-WebSocket-Version:
    /// 13`, see [`rejection`](Self::rejection)); a valid upgrade the
    /// application does not want gets 403.
    pub async fn refuse(self) -> Result<()> {
        let rejection = match &self.upgrade {
            Err(rejection) => rejection.clone(),
            Ok(_) => Rejection::new(403, "upgrade refused"),
        };
        self.conn.refuse(&rejection).await
    }

    /// Answers the request as plain HTTP (status, content type, body) and
    /// closes the connection. A `HEAD` request gets the headers only.
    pub async fn respond(self, status: u16, content_type: &str, body: &[u8]) -> Result<()> {
        self.respond_with(status, &[("Content-Type", content_type)], body)
            .await
    }

    /// Answers the request as plain HTTP with these headers (`Content-Length`
    /// and `Connection: close` are added, and any given are left out) and
    /// closes the connection. A `HEAD` request gets the headers only.
    ///
    /// Over HTTP/2 the answer ends its stream only (the connection goes
    /// on), headers HTTP/2 forbids (`Connection`, `Keep-Alive`,
    /// `Transfer-Encoding`, `Upgrade`) are left out, and a body the client
    /// has not let through its window within 2 s (as over HTTP/1.1) is
    /// abandoned: the stream is reset and this fails with
    /// [`Error::Timeout`].
    ///
    /// Fails with [`Error::InvalidArgument`], sending nothing, for a status
    /// outside 200-599 or a header that is not a token name with a value
    /// free of control characters.
    pub async fn respond_with(
        self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<()> {
        if !(200..=599).contains(&status) {
            return Err(Error::invalid(format!(
                "HTTP status {status} cannot end a request (200-599)"
            )));
        }
        let mut owned = Vec::with_capacity(headers.len());
        for &(name, value) in headers {
            validate_header(name, value)
                .map_err(|why| Error::invalid(format!("header {name:?}: {why}")))?;
            owned.push((name.to_owned(), value.to_owned()));
        }
        let head_only = self.request.method.eq_ignore_ascii_case("HEAD");
        self.conn.answer(status, &owned, body, head_only).await
    }
}

impl Responder {
    /// Sends `rejection` as the final answer.
    async fn refuse(self, rejection: &Rejection) -> Result<()> {
        match self {
            Responder::Http1 { mut io, .. } => {
                let mut out = Vec::new();
                rejection.write(&mut out);
                finish(&mut io, &out).await?;
                Ok(())
            }
            #[cfg(feature = "http2")]
            Responder::Http2(r) => {
                let (headers, body) = rejection.parts();
                r.answer(rejection.status, &headers, &body, false).await
            }
        }
    }

    /// Sends a plain HTTP answer (`head_only`: without its body) as the
    /// final one.
    async fn answer(
        self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        head_only: bool,
    ) -> Result<()> {
        match self {
            Responder::Http1 { mut io, .. } => {
                let mut out = Vec::with_capacity(128 + body.len());
                write_response(status, reason_phrase(status), headers, body, &mut out);
                if head_only {
                    out.truncate(out.len() - body.len());
                }
                finish(&mut io, &out).await?;
                Ok(())
            }
            #[cfg(feature = "http2")]
            Responder::Http2(r) => r.answer(status, headers, body, head_only).await,
        }
    }
}

/// Keeps the concrete type of the common streams (for addresses and
/// certificates), boxing the rest.
pub(crate) fn into_transport<S>(stream: S) -> Transport
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let boxed: Box<dyn Any + Send> = Box::new(stream);
    let boxed = match boxed.downcast::<TcpStream>() {
        Ok(tcp) => return Transport::Tcp(*tcp),
        Err(other) => other,
    };
    let boxed = match boxed.downcast::<tokio_rustls::server::TlsStream<TcpStream>>() {
        Ok(tls) => return Transport::ServerTls(tls),
        Err(other) => other,
    };
    match boxed.downcast::<S>() {
        Ok(s) => Transport::Other(s),
        // The box was made from an `S` two lines up.
        Err(_) => unreachable!("boxed stream changed type"),
    }
}

/// Echoes every message back, each with its own type, until the peer closes
/// (the core answers its close with the same code, as the ASP.NET Core echo
/// sample does). Returns the peer's close code and reason.
///
/// ```no_run
/// use wsock::server::{self, AcceptOptions, Listener};
///
/// # async fn demo() -> wsock::Result<()> {
/// let listener = Listener::bind("127.0.0.1:0", AcceptOptions::default()).await?;
/// listener
///     .serve(|incoming| async move {
///         if let Ok(ws) = incoming.accept(None).await {
///             let _ = server::echo(ws).await;
///         }
///     })
///     .await
/// # }
/// ```
pub async fn echo(mut ws: MessageWebSocket) -> Result<(u16, String)> {
    loop {
        match ws.receive().await? {
            crate::Received::Message(m) => ws.send_message(&m).await?,
            crate::Received::Closed { code, reason } => return Ok((code, reason)),
        }
    }
}
