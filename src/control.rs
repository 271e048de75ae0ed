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
//! request headers, TLS, certificates, credentials, proxy); one macro
//! writes them into both, so their names, defaults and docs cannot drift
//! apart.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use crate::certificates::{ChainValidationResult, ClientCertificate, ServerCustomValidation};
use crate::connect::{CertificateOptions, ConnectOptions, ProxyConfig, Resolve};
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::handshake::client::{is_reserved_header, validate_header};
use crate::http_version::{HttpVersion, HttpVersionPolicy};
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
            /// Time the peer has to answer our close frame, from when it
            /// was queued. Past it the connection has failed: `close` (and
            /// every later call) returns
            /// [`Timeout(Close)`](crate::TimeoutKind::Close). It also bounds
            /// a client's wait for the server to end TCP after the close
            /// handshake (at most 1 s). Default 10 s.
            pub close_timeout: Option<Duration>,
            /// Bytes of encoded output gathered before a send waits for the
            /// transport (WinRT `OutboundBufferSizeInBytes`). Default 64 KiB.
            pub outbound_buffer_size_in_bytes: usize,
            /// Largest frame accepted from the peer. Default 16 MiB.
            pub max_frame_size: usize,
            /// TLS settings for `wss://`. `None`: the default roots (see
            /// `use_default_roots`) and rustls' safe defaults, with the certificate
            /// options below. A configuration given here replaces those
            /// options (setting both fails the connect as an invalid
            /// argument).
            pub tls_client_config: Option<Arc<rustls::ClientConfig>>,
            /// Send a ping this often while the connection is open (.NET
            /// `KeepAliveInterval`). `None` (the default): no pings.
            ///
            /// The keep-alive has no task of its own: its timer runs in the
            /// socket's own waits, so pings go out while a half of the
            /// socket is polled (a `receive` waiting for the next message,
            /// as in any read loop, or a send waiting for the transport). A
            /// socket that nobody polls sends none; it could not read their
            /// pongs either.
            pub keep_alive_interval: Option<Duration>,
            /// With `keep_alive_interval`: fail the connection with
            /// [`WebErrorStatus::Timeout`](crate::WebErrorStatus::Timeout)
            /// when a ping's pong has not come back within this time (.NET
            /// `KeepAliveTimeout`). `None` (the default): never.
            pub keep_alive_timeout: Option<Duration>,
            /// Send an unsolicited pong this often, a one-way keep-alive that
            /// asks nothing of the peer (WinRT
            /// `DesiredUnsolicitedPongInterval`; `None` or zero: none).
            pub desired_unsolicited_pong_interval: Option<Duration>,
            /// Redirects (301, 302, 303, 307, 308 with a `Location`) followed
            /// before the upgrade, within the connect timeout. Default 0:
            /// a redirect is an error with its 3xx status, as in browsers. A
            /// `wss://` URL redirected to `ws://` is always refused with
            /// [`HttpsToHttpOnRedirection`](crate::WebErrorStatus::HttpsToHttpOnRedirection).
            ///
            /// The server credential (or the URL's user name and password)
            /// and the request headers `Authorization`, `Cookie` and
            /// `Proxy-Authorization` go only to the origin of the URL given
            /// to `connect`: its scheme, host and port (80 or 443 when the
            /// URL has none). A redirect to another origin is followed
            /// without them, and one back to the first origin sends them
            /// again. Other request headers go to every hop. User name and
            /// password in a `Location` are never used. See
            /// [`dangerous_send_secrets_across_origins`](Self::dangerous_send_secrets_across_origins).
            pub max_redirects: u32,
            /// Send the server credential, the client certificate and the
            /// `Authorization`, `Cookie` and `Proxy-Authorization` request
            /// headers to whatever host a redirect leads to, not only to the
            /// origin connected to (curl's `--location-trusted`). Default
            /// false: they are left out on a hop to another origin, and a
            /// `tls_client_config` holding a client certificate is not
            /// redirected to another `wss://` origin at all.
            ///
            /// **Dangerous:** whoever can answer the first request with a
            /// redirect (the server, or anyone on the way over `ws://`) then
            /// receives the password, tokens and cookies, for a host of
            /// their choosing. Turn it on only when every server the
            /// redirects can reach is trusted with them.
            pub dangerous_send_secrets_across_origins: bool,
            /// Name resolver used in place of the system's. `None` (the
            /// default): the system resolver.
            pub resolver: Option<Arc<dyn Resolve>>,
            /// Root certificates trusted for `wss://`, beside the default
            /// roots (or instead of them, with `use_default_roots` off).
            /// [`certificates::parse_certificates`](crate::certificates::parse_certificates)
            /// reads them from PEM or DER. Empty by default.
            pub trusted_root_certificates: Vec<CertificateDer<'static>>,
            /// Trust the default roots: the Mozilla roots of webpki-roots
            /// and/or the system's store, as the crate features say (see
            /// the README's feature table), or the platform's verifier
            /// with the `platform-verifier` feature. Default true.
            pub use_default_roots: bool,
            /// Problems with the server's certificate that do not fail the
            /// connection (WinRT `IgnorableServerCertificateErrors`); they
            /// are still reported by the information. Empty by default. See
            /// [`crate::certificates`] for how they are found.
            pub ignorable_server_certificate_errors: Vec<ChainValidationResult>,
            /// The application's own check of the server's certificate
            /// (WinRT `ServerCustomValidationRequested`), run after the
            /// built-in one passed. `None` by default.
            pub server_custom_validation: Option<ServerCustomValidation>,
            /// A certificate and key offered to servers that ask for one
            /// (WinRT `ClientCertificate`). `None` by default.
            pub client_certificate: Option<ClientCertificate>,
            /// User name and password for HTTP Basic authentication of the
            /// upgrade (WinRT `ServerCredential`), sent when the server
            /// answers 401, or at once with `pre_authenticate`. `None`: the
            /// URL's user name and password, if it has them. See
            /// [`Credential`] for the rules.
            pub server_credential: Option<Credential>,
            /// Send the server credential with the first request instead of
            /// waiting for a 401. Default false.
            pub pre_authenticate: bool,
            /// Allow the server credential over plain `ws://`, where anyone
            /// on the way can read it. Default false: a credential is only
            /// sent over `wss://`.
            pub allow_unencrypted_credentials: bool,
            /// The proxy to go through, HTTP or SOCKS5. `None` (the
            /// default): connect directly; the environment's proxy
            /// variables are read only through [`ProxyConfig::from_env`].
            pub proxy: Option<ProxyConfig>,
            /// User name and password for the proxy (WinRT
            /// `ProxyCredential`), sent as `Proxy-Authorization: Basic` to
            /// an HTTP proxy, with RFC 1929 to a SOCKS5 proxy that asks for
            /// them (at most 255 bytes each). `None`: the proxy URL's own,
            /// if it has them.
            pub proxy_credential: Option<Credential>,
            /// permessage-deflate (RFC 7692) to offer. `None` (the
            /// default): no compression. The information's `deflate()`
            /// tells what the server agreed to; a server that declines
            /// leaves the connection uncompressed.
            pub deflate: Option<DeflateOptions>,
            /// The HTTP version of the request (.NET `HttpVersion`).
            /// Default [`HttpVersion::Http11`]: the upgrade of RFC 6455.
            /// [`HttpVersion::Http2`] (feature `http2`) opens the socket
            /// with RFC 8441's extended CONNECT on an HTTP/2 connection
            /// that sockets to the same origin, with the same TLS
            /// configuration and proxy, share; see
            /// [`http_version_policy`](Self::http_version_policy) and the
            /// README's "WebSockets over HTTP/2".
            pub http_version: HttpVersion,
            /// How strictly `http_version` is meant (.NET
            /// `HttpVersionPolicy`). Default
            /// [`HttpVersionPolicy::RequestVersionOrLower`]: HTTP/2 when
            /// the server offers it (and WebSockets over it), else
            /// HTTP/1.1. The table in [`HttpVersion`] says what each pair
            /// does over `ws://` and `wss://`.
            pub http_version_policy: HttpVersionPolicy,
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
                    keep_alive_interval: None,
                    keep_alive_timeout: None,
                    desired_unsolicited_pong_interval: None,
                    max_redirects: 0,
                    dangerous_send_secrets_across_origins: false,
                    resolver: None,
                    trusted_root_certificates: Vec::new(),
                    use_default_roots: true,
                    ignorable_server_certificate_errors: Vec::new(),
                    server_custom_validation: None,
                    client_certificate: None,
                    server_credential: None,
                    pre_authenticate: false,
                    allow_unencrypted_credentials: false,
                    proxy: None,
                    proxy_credential: None,
                    deflate: None,
                    http_version: HttpVersion::Http11,
                    http_version_policy: HttpVersionPolicy::RequestVersionOrLower,
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
                        resolver: self.resolver.clone(),
                        certificates: CertificateOptions {
                            trusted_roots: self.trusted_root_certificates.clone(),
                            use_default_roots: self.use_default_roots,
                            ignorable: self.ignorable_server_certificate_errors.clone(),
                            custom_validation: self.server_custom_validation.clone(),
                            client_certificate: self.client_certificate.clone(),
                        },
                        proxy: self.proxy.clone(),
                        proxy_credential: self.proxy_credential.clone(),
                        ..ConnectOptions::default()
                    },
                    server_credential: self.server_credential.clone(),
                    pre_authenticate: self.pre_authenticate,
                    allow_unencrypted_credentials: self.allow_unencrypted_credentials,
                    session: SessionOptions {
                        send_timeout: self.send_timeout,
                        receive_timeout: self.receive_timeout,
                        close_timeout: self.close_timeout,
                        outbound_buffer_size: self.outbound_buffer_size_in_bytes.max(1),
                        keep_alive_interval: self.keep_alive_interval.filter(|d| !d.is_zero()),
                        keep_alive_timeout: self.keep_alive_timeout,
                        unsolicited_pong_interval: self
                            .desired_unsolicited_pong_interval
                            .filter(|d| !d.is_zero()),
                        ..SessionOptions::default()
                    },
                    max_frame_size: self.max_frame_size,
                    max_redirects: self.max_redirects,
                    dangerous_send_secrets_across_origins: self
                        .dangerous_send_secrets_across_origins,
                    deflate: self.deflate.clone(),
                    http_version: self.http_version,
                    http_version_policy: self.http_version_policy,
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
    pub(crate) max_redirects: u32,
    /// Secrets go to every hop of a redirect, not only the first origin's.
    pub(crate) dangerous_send_secrets_across_origins: bool,
    pub(crate) server_credential: Option<Credential>,
    pub(crate) pre_authenticate: bool,
    pub(crate) allow_unencrypted_credentials: bool,
    pub(crate) deflate: Option<DeflateOptions>,
    pub(crate) http_version: HttpVersion,
    pub(crate) http_version_policy: HttpVersionPolicy,
}

impl ClientOptions {
    /// Checks the request headers again at connect (they are also checked
    /// when set).
    pub(crate) fn check(&self) -> Result<()> {
        self.session.check()?;
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
