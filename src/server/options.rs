//! [`AcceptOptions`]: what the server role accepts and how its sockets run.

use std::time::Duration;

use crate::control::{MessageType, MessageWebSocketReceiveMode};
use crate::handshake::Limits;
use crate::proto::deflate::DeflateOptions;

/// Options of the server role (ASP.NET Core's `WebSocketOptions` and then
/// some).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AcceptOptions {
    /// The smallest read asked of the transport (ASP.NET Core
    /// `ReceiveBufferSize`). Default 4 KiB; below 256 bytes it is raised to
    /// 256, and 0 or more than 16 MiB fails the accept with
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) (the
    /// client is answered 500).
    pub receive_buffer_size: usize,
    /// Origins allowed to upgrade, such as `https://example.com` (compared
    /// case-insensitively, ASP.NET Core `AllowedOrigins`); empty: any. An
    /// upgrade whose Origin header names another origin is refused with 403.
    /// As in ASP.NET Core, a request without an Origin header passes: only
    /// browsers send it, and they always do, while any other client could
    /// send whatever it likes.
    pub allowed_origins: Vec<String>,
    /// Send a ping this often while the connection is open, so that proxies
    /// keep it (ASP.NET Core `KeepAliveInterval`). Default 2 minutes;
    /// `None`: never. The pings go out while the socket is polled (a
    /// handler waiting in `receive`), as the client's
    /// [`keep_alive_interval`](crate::MessageWebSocketControl::keep_alive_interval)
    /// says.
    pub keep_alive_interval: Option<Duration>,
    /// Fail the connection when a keep-alive ping has had no pong for this
    /// long (ASP.NET Core `KeepAliveTimeout`). Default `None`: wait.
    pub keep_alive_timeout: Option<Duration>,
    /// Largest message accepted. Default 64 MiB.
    pub max_message_size: usize,
    /// Largest frame accepted. Default 16 MiB.
    pub max_frame_size: usize,
    /// Type of what the accepted message socket sends by default.
    pub message_type: MessageType,
    /// Receive mode of the accepted message socket.
    pub receive_mode: MessageWebSocketReceiveMode,
    /// Time allowed to read the request head (and, with
    /// [`Listener`](super::Listener) over TLS, for the TLS handshake before
    /// it). A head not complete by then is answered with 408. Default 30 s.
    /// Over HTTP/2 it bounds the connection's handshake, and an HTTP/2
    /// connection that waits that long for a stream with none open is
    /// closed (GOAWAY).
    pub request_timeout: Option<Duration>,
    /// Send, receive and close timeouts of accepted sockets. Default: none
    /// for send and receive (a server waits for its clients), 10 s for close.
    pub send_timeout: Option<Duration>,
    /// See `send_timeout`.
    pub receive_timeout: Option<Duration>,
    /// See `send_timeout`.
    pub close_timeout: Option<Duration>,
    /// Limits on the request head. A head larger than
    /// [`Limits::max_head_size`] is answered with 431.
    pub limits: Limits,
    /// permessage-deflate (RFC 7692) to agree to when a client offers it:
    /// the first acceptable offer is taken and these options applied to it.
    /// `None` (the default): offers are declined.
    pub deflate: Option<DeflateOptions>,
    /// Answer HTTP/2 (RFC 8441's extended CONNECT) beside HTTP/1.1 on a
    /// [`Listener`](super::Listener): over TLS when the client picks `h2`
    /// by ALPN (the listener offers `h2` and `http/1.1` when its TLS
    /// configuration names no ALPN protocol of its own), over plain TCP
    /// when the client opens with the HTTP/2 connection preface (prior
    /// knowledge). Default `true`; `false`: HTTP/1.1 only.
    #[cfg(feature = "http2")]
    pub http2: bool,
    /// The most streams (sockets, page requests, requests waiting for
    /// [`Listener::accept`](super::Listener::accept)) one HTTP/2 connection
    /// may have open at once, announced as SETTINGS_MAX_CONCURRENT_STREAMS:
    /// the client's h2 stack refuses more, and a stream opened past it
    /// anyway is reset with REFUSED_STREAM. Default 100 (the value RFC 9113
    /// recommends as the least); 0 is raised to 1. Each stream may receive
    /// 256 KiB ahead of its socket's reads and the connection that much
    /// per stream, so that a socket nobody reads stalls only itself: what
    /// an HTTP/2 connection may hold is 256 KiB times this.
    #[cfg(feature = "http2")]
    pub http2_max_concurrent_streams: u32,
}

impl Default for AcceptOptions {
    fn default() -> Self {
        AcceptOptions {
            receive_buffer_size: 4 * 1024,
            allowed_origins: Vec::new(),
            keep_alive_interval: Some(Duration::from_secs(120)),
            keep_alive_timeout: None,
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
            #[cfg(feature = "http2")]
            http2: true,
            #[cfg(feature = "http2")]
            http2_max_concurrent_streams: 100,
        }
    }
}
