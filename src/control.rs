//! The options of a socket, set before it connects: WinRT's
//! `MessageWebSocketControl` and `StreamWebSocketControl`.
//!
//! "Settable only before connect" is enforced by ownership: `connect` takes
//! the control by value, so no code can change it afterwards. The one
//! exception WinRT allows, the message type, lives on the connected
//! [`MessageWebSocket`](crate::MessageWebSocket) as
//! [`set_message_type`](crate::MessageWebSocket::set_message_type).
//!
//! Both controls carry the same shared options (timeouts, subprotocols,
//! request headers, TLS); one macro writes them into both, so their names,
//! defaults and docs cannot drift apart.

use std::sync::Arc;
use std::time::Duration;

use crate::connect::ConnectOptions;
use crate::error::{Error, Result};
use crate::handshake::client::{is_reserved_header, validate_header};
use crate::proto::deflate::DeflateOptions;
use crate::session::SessionOptions;

/// WinRT's `SocketMessageType`: the type of the messages this side sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
pub enum MessageType {
    /// Binary messages (opcode 2). The WinRT default.
    #[default]
    Binary = 0,
    /// UTF-8 text messages (opcode 1).
    Utf8 = 1,
}

/// WinRT's `MessageWebSocketReceiveMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
pub enum MessageWebSocketReceiveMode {
    /// Deliver whole messages only.
    #[default]
    FullMessage = 0,
    /// Deliver the pieces of a message as they arrive.
    PartialMessage = 1,
}

/// The default connect timeout (WinRT): 60 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default send and receive timeouts (WinRT): 30 s.
pub const DEFAULT_SEND_RECEIVE_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time `close` waits for the peer's close frame: 10 s.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

macro_rules! control {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty = $default:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Subprotocols offered to the server, in order of preference
            /// (`Sec-WebSocket-Protocol`). Empty by default.
            pub supported_protocols: Vec<String>,
            /// Time allowed for name resolution, TCP, TLS and the upgrade
            /// together. `None`: no limit. Default 60 s.
            pub connect_timeout: Option<Duration>,
            /// Time allowed for each connection attempt when the name
            /// resolves to several addresses. `None` (the default): bounded
            /// only by `connect_timeout`.
            pub connect_attempt_timeout: Option<Duration>,
            /// Most resolved addresses tried. Default 5.
            pub max_connect_addresses: usize,
            /// Time a send may wait for the transport to take its data.
            /// `None`: no limit. Default 30 s.
            pub send_timeout: Option<Duration>,
            /// Time a receive may wait for data. `None`: no limit. Default
            /// 30 s. A receive that times out loses nothing: the connection
            /// stays usable.
            pub receive_timeout: Option<Duration>,
            /// Time `close` waits for the peer's close frame. Default 10 s.
            pub close_timeout: Option<Duration>,
            /// Bytes of encoded output gathered before a send waits for the
            /// transport (WinRT `OutboundBufferSizeInBytes`). Default 64 KiB.
            pub outbound_buffer_size_in_bytes: usize,
            /// Largest frame accepted from the peer. Default 16 MiB.
            pub max_frame_size: usize,
            /// TLS settings for `wss://`. `None`: the Mozilla roots of
            /// webpki-roots and rustls' safe defaults.
            pub tls_client_config: Option<Arc<rustls::ClientConfig>>,
            /// permessage-deflate (RFC 7692) to offer. `None` (the
            /// default): no compression. The information's `deflate()`
            /// tells what the server agreed to; a server that declines
            /// leaves the connection uncompressed.
            pub deflate: Option<DeflateOptions>,
            request_headers: Vec<(String, String)>,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: $default, )*
                    supported_protocols: Vec::new(),
                    connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
                    connect_attempt_timeout: None,
                    max_connect_addresses: 5,
                    send_timeout: Some(DEFAULT_SEND_RECEIVE_TIMEOUT),
                    receive_timeout: Some(DEFAULT_SEND_RECEIVE_TIMEOUT),
                    close_timeout: Some(DEFAULT_CLOSE_TIMEOUT),
                    outbound_buffer_size_in_bytes: 64 * 1024,
                    max_frame_size: 16 << 20,
                    tls_client_config: None,
                    deflate: None,
                    request_headers: Vec::new(),
                }
            }
        }

        impl $name {
            /// Adds a header to the upgrade request (WinRT
            /// `SetRequestHeader`). Headers the handshake writes itself
            /// (Host, Upgrade, Connection, `Sec-WebSocket-*`) and malformed
            /// names or values are refused with
            /// [`Error::InvalidArgument`].
            pub fn set_request_header(&mut self, name: &str, value: &str) -> Result<()> {
                check_header(name, value)?;
                self.request_headers.push((name.to_owned(), value.to_owned()));
                Ok(())
            }

            /// The headers added with [`set_request_header`](Self::set_request_header).
            pub fn request_headers(&self) -> &[(String, String)] {
                &self.request_headers
            }

            pub(crate) fn client_options(&self, no_delay: bool) -> ClientOptions {
                ClientOptions {
                    protocols: self.supported_protocols.clone(),
                    headers: self.request_headers.clone(),
                    connect_timeout: self.connect_timeout,
                    connect: ConnectOptions {
                        attempt_timeout: self.connect_attempt_timeout,
                        max_addresses: self.max_connect_addresses.max(1),
                        no_delay,
                        tls: self.tls_client_config.clone(),
                        ..ConnectOptions::default()
                    },
                    session: SessionOptions {
                        send_timeout: self.send_timeout,
                        receive_timeout: self.receive_timeout,
                        close_timeout: self.close_timeout,
                        outbound_buffer_size: self.outbound_buffer_size_in_bytes.max(1),
                        ..SessionOptions::default()
                    },
                    max_frame_size: self.max_frame_size,
                    deflate: self.deflate.clone(),
                }
            }
        }
    };
}

control! {
    /// Options of a [`MessageWebSocket`](crate::MessageWebSocket), given to
    /// its `connect`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use wsock::{MessageType, MessageWebSocketControl, MessageWebSocketReceiveMode};
    ///
    /// let mut control = MessageWebSocketControl::default();
    /// control.message_type = MessageType::Utf8;
    /// control.max_message_size = 1 << 20;
    /// control.receive_mode = MessageWebSocketReceiveMode::PartialMessage;
    /// control.supported_protocols.push("chat".into());
    /// control.connect_timeout = Some(Duration::from_secs(5));
    /// control.set_request_header("X-Trace", "42").unwrap();
    /// assert!(control.set_request_header("Sec-WebSocket-Key", "x").is_err());
    /// ```
    pub struct MessageWebSocketControl {
        /// The type of the messages this side sends. Default
        /// [`MessageType::Binary`]. The one option that can also change
        /// after connect.
        pub message_type: MessageType = MessageType::Binary,
        /// Largest message accepted from the peer; more closes the
        /// connection with 1009. Default 64 MiB.
        pub max_message_size: usize = 64 << 20,
        /// Whole messages or their pieces as they arrive. Default
        /// [`MessageWebSocketReceiveMode::FullMessage`].
        pub receive_mode: MessageWebSocketReceiveMode = MessageWebSocketReceiveMode::FullMessage,
        /// TCP no-delay. Default true.
        pub no_delay: bool = true,
    }
}

control! {
    /// Options of a [`StreamWebSocket`](crate::StreamWebSocket), given to
    /// its `connect`.
    ///
    /// ```
    /// use wsock::StreamWebSocketControl;
    /// let mut control = StreamWebSocketControl::default();
    /// assert!(control.no_delay);
    /// control.outbound_buffer_size_in_bytes = 256 * 1024;
    /// ```
    pub struct StreamWebSocketControl {
        /// TCP no-delay (WinRT `NoDelay`). Default true.
        pub no_delay: bool = true,
        /// Largest message accepted from the peer. Default 64 MiB.
        pub max_message_size: usize = 64 << 20,
    }
}

fn check_header(name: &str, value: &str) -> Result<()> {
    if is_reserved_header(name) {
        return Err(Error::invalid(format!(
            "the header {name:?} is written by the WebSocket handshake and cannot be set"
        )));
    }
    validate_header(name, value).map_err(|why| Error::invalid(format!("header {name:?}: {why}")))
}

/// The connect-time options both controls reduce to.
#[derive(Debug, Clone)]
pub(crate) struct ClientOptions {
    pub(crate) protocols: Vec<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) connect: ConnectOptions,
    pub(crate) session: SessionOptions,
    pub(crate) max_frame_size: usize,
    pub(crate) deflate: Option<DeflateOptions>,
}

impl ClientOptions {
    /// Checks the request headers again at connect (they are also checked
    /// when set).
    pub(crate) fn check(&self) -> Result<()> {
        for (n, v) in &self.headers {
            check_header(n, v)?;
        }
        if let Some(deflate) = &self.deflate {
            deflate
                .check()
                .map_err(|why| Error::invalid(format!("deflate: {why}")))?;
        }
        for p in &self.protocols {
            if p.is_empty() || !p.bytes().all(is_token_byte) {
                return Err(Error::invalid(format!(
                    "subprotocol {p:?} is not an HTTP token"
                )));
            }
        }
        Ok(())
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
