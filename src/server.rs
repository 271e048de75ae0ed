//! The server role on the same core, in the manner of ASP.NET Core's
//! WebSocket middleware: read a request from any Tokio stream, then accept
//! the upgrade (choosing a subprotocol), reject it, or answer it as plain
//! HTTP (a page served on the same port).
//!
//! ```no_run
//! use wsock::server::{self, AcceptOptions};
//! use wsock::Received;
//!
//! # async fn demo() -> wsock::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (tcp, _) = listener.accept().await?;
//! let incoming = server::read_request(tcp, AcceptOptions::default()).await?;
//! if incoming.is_upgrade() {
//!     let mut ws = incoming.accept(None).await?;
//!     while let Received::Message(m) = ws.receive().await? {
//!         ws.send_message(&m).await?;
//!     }
//! } else {
//!     incoming.respond(200, "text/plain", b"hello").await?;
//! }
//! # Ok(()) }
//! ```

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::connect::Transport;
use crate::control::{MessageType, MessageWebSocketReceiveMode};
use crate::error::{Error, Result, TimeoutKind};
use crate::handshake::server::{Rejection, Request, Upgrade, check_upgrade, parse_request};
use crate::handshake::server::{write_accept, write_response};
use crate::handshake::{HandshakeError, Limits};
use crate::information::{ConnectionFacts, Stats};
use crate::message::MessageWebSocket;
use crate::proto::deflate::DeflateOptions;
use crate::proto::{Config, Connection, Role};
use crate::session::{Session, SessionOptions, with_timeout};

/// Options of the server role (ASP.NET Core's `WebSocketOptions` and then
/// some).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AcceptOptions {
    /// The smallest read asked of the transport (ASP.NET Core
    /// `ReceiveBufferSize`). Default 4 KiB.
    pub receive_buffer_size: usize,
    /// Origins allowed to upgrade (compared case-insensitively); empty: any.
    /// Others get 403.
    pub allowed_origins: Vec<String>,
    /// Largest message accepted. Default 64 MiB.
    pub max_message_size: usize,
    /// Largest frame accepted. Default 16 MiB.
    pub max_frame_size: usize,
    /// Type of what the accepted message socket sends by default.
    pub message_type: MessageType,
    /// Receive mode of the accepted message socket.
    pub receive_mode: MessageWebSocketReceiveMode,
    /// Time allowed to read the request head. Default 30 s.
    pub request_timeout: Option<Duration>,
    /// Send, receive and close timeouts of accepted sockets. Default: none
    /// for send and receive (a server waits for its clients), 10 s for close.
    pub send_timeout: Option<Duration>,
    /// See `send_timeout`.
    pub receive_timeout: Option<Duration>,
    /// See `send_timeout`.
    pub close_timeout: Option<Duration>,
    /// Limits on the request head.
    pub limits: Limits,
    /// permessage-deflate (RFC 7692) to agree to when a client offers it:
    /// the first acceptable offer is taken and these options applied to it.
    /// `None` (the default): offers are declined.
    pub deflate: Option<DeflateOptions>,
}

impl Default for AcceptOptions {
    fn default() -> Self {
        AcceptOptions {
            receive_buffer_size: 4 * 1024,
            allowed_origins: Vec::new(),
            max_message_size: 64 << 20,
            max_frame_size: 16 << 20,
            message_type: MessageType::Binary,
            receive_mode: MessageWebSocketReceiveMode::FullMessage,
            request_timeout: Some(Duration::from_secs(30)),
            send_timeout: None,
            receive_timeout: None,
            close_timeout: Some(Duration::from_secs(10)),
            limits: Limits::default(),
            deflate: None,
        }
    }
}

/// A request read from a client: an upgrade to accept or reject, or a plain
/// HTTP request to answer.
#[derive(Debug)]
pub struct Incoming {
    io: Transport,
    request: Request,
    upgrade: std::result::Result<Upgrade, Rejection>,
    leftover: BytesMut,
    options: AcceptOptions,
}

/// Reads one request head from `stream` (a `TcpStream`, a server
/// `tokio_rustls` stream over TCP, or any other Tokio stream).
pub async fn read_request<S>(stream: S, options: AcceptOptions) -> Result<Incoming>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut io = into_transport(stream);
    let limits = options.limits;
    let (request, leftover) = with_timeout(options.request_timeout, TimeoutKind::Receive, async {
        let mut rd = BytesMut::with_capacity(1024);
        loop {
            if let Some((req, n)) = parse_request(&rd, &limits)? {
                rd.advance(n);
                return Ok((req, rd));
            }
            rd.reserve(1024);
            if io.read_buf(&mut rd).await? == 0 {
                return Err(Error::from(HandshakeError::Truncated));
            }
        }
    })
    .await?;
    let mut upgrade = check_upgrade(&request);
    if let Ok(up) = &upgrade {
        if !origin_allowed(&options.allowed_origins, up.origin.as_deref()) {
            upgrade = Err(Rejection::new(403, "origin not allowed"));
        }
    }
    Ok(Incoming {
        io,
        request,
        upgrade,
        leftover,
        options,
    })
}

fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    allowed.is_empty() || origin.is_some_and(|o| allowed.iter().any(|a| a.eq_ignore_ascii_case(o)))
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

    /// True when this is a valid WebSocket upgrade from an allowed origin.
    pub fn is_upgrade(&self) -> bool {
        self.upgrade.is_ok()
    }

    /// The subprotocols the client offered.
    pub fn offered_protocols(&self) -> &[String] {
        self.upgrade
            .as_ref()
            .map(|u| u.protocols.as_slice())
            .unwrap_or(&[])
    }

    /// Accepts the upgrade with `protocol` (which must be one the client
    /// offered) and returns the server-role message socket. A request that
    /// is not a valid upgrade is answered with its error status and fails.
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

    pub(crate) async fn accept_session(
        mut self,
        protocol: Option<&str>,
    ) -> Result<(Session, ConnectionFacts)> {
        let up = match &self.upgrade {
            Ok(up) => up,
            Err(rej) => {
                let mut out = Vec::new();
                rej.write(&mut out);
                let _ = self.io.write_all(&out).await;
                let _ = self.io.shutdown().await;
                return Err(Error::invalid(format!(
                    "not a valid WebSocket upgrade: answered {} ({})",
                    rej.status, rej.reason
                )));
            }
        };
        if let Some(p) = protocol {
            if !up.protocols.iter().any(|o| o == p) {
                return Err(Error::invalid(format!("subprotocol {p:?} was not offered")));
            }
        }
        let deflate = match (&self.options.deflate, &up.extensions) {
            (Some(options), Some(offers)) => {
                options
                    .check()
                    .map_err(|why| Error::invalid(format!("deflate: {why}")))?;
                options.answer_offers(offers)
            }
            _ => None,
        };
        let mut out = Vec::with_capacity(256);
        let answer = deflate.as_ref().map(|(_, answer)| answer.as_str());
        write_accept(&up.key, protocol, answer, &[], &mut out);
        self.io.write_all(&out).await?;
        self.io.flush().await?;
        let deflate = deflate.map(|(agreed, _)| agreed);
        let o = &self.options;
        let mut config = Config::new(Role::Server);
        config.max_frame_size = o.max_frame_size.min(o.max_message_size);
        config.max_message_size = o.max_message_size;
        config.deflate = deflate;
        let opts = SessionOptions {
            send_timeout: o.send_timeout,
            receive_timeout: o.receive_timeout,
            close_timeout: o.close_timeout,
            read_chunk: o.receive_buffer_size.max(256),
            ..SessionOptions::default()
        };
        let facts = ConnectionFacts {
            local_address: self.io.local_addr(),
            remote_address: self.io.peer_addr(),
            protocol: protocol.map(str::to_owned),
            server_certificates: Vec::new(),
            deflate,
        };
        let session = Session::new(
            self.io,
            Connection::new(config),
            self.leftover,
            opts,
            Arc::new(Stats::default()),
        );
        Ok((session, facts))
    }

    /// Answers the request as plain HTTP (status, content type, body) and
    /// closes the connection.
    pub async fn respond(mut self, status: u16, content_type: &str, body: &[u8]) -> Result<()> {
        let mut out = Vec::with_capacity(128 + body.len());
        let headers = [("Content-Type".to_owned(), content_type.to_owned())];
        write_response(status, reason_phrase(status), &headers, body, &mut out);
        self.io.write_all(&out).await?;
        self.io.shutdown().await?;
        Ok(())
    }
}

/// The reason phrase of common status codes.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        426 => "Upgrade Required",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Keeps the concrete type of the common streams (for addresses and
/// certificates), boxing the rest.
fn into_transport<S>(stream: S) -> Transport
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
