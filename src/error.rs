//! One error type for the whole crate, and the Windows Runtime status it maps to.
//!
//! Every fallible call returns [`Error`]. [`Error::status`] (or the free
//! function [`get_status`], the analog of `WebSocketError.GetStatus`) tells the
//! [`WebErrorStatus`] a WinRT user would expect. Wrong arguments are not
//! network failures: they are [`Error::InvalidArgument`] and map to
//! [`WebErrorStatus::Unknown`] (WinRT raises `E_INVALIDARG` for them instead of
//! a web status); [`Error::is_invalid_argument`] tells them apart.
//!
//! The mapping lives in one place, [`Error::status`], as the close code of a
//! protocol violation lives in one place, [`ProtocolError::close_code`].

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::connect::SocksError;
use crate::handshake::{HandshakeError, HttpResponse};
use crate::proto::ProtocolError;
pub use http2::Http2Error;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! web_error_status {
    ($( $(#[$doc:meta])* $name:ident = $value:literal, )*) => {
        /// The Windows Runtime's `Windows.Web.WebErrorStatus`: the same members
        /// with the same numbers.
        ///
        /// ```
        /// use wsock::WebErrorStatus;
        /// assert_eq!(WebErrorStatus::NotFound as i32, 404);
        /// assert_eq!(WebErrorStatus::from_i32(7), Some(WebErrorStatus::Timeout));
        /// assert_eq!(WebErrorStatus::try_from(999), Err(999));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum WebErrorStatus {
            $( $(#[$doc])* $name = $value, )*
        }

        impl WebErrorStatus {
            /// Every member, in numeric order.
            pub const ALL: &'static [WebErrorStatus] = &[$(WebErrorStatus::$name,)*];

            /// The member with this number, if there is one.
            pub fn from_i32(value: i32) -> Option<Self> {
                match value {
                    $( $value => Some(WebErrorStatus::$name), )*
                    _ => None,
                }
            }

            /// The member's name as WinRT spells it.
            pub fn name(self) -> &'static str {
                match self {
                    $( WebErrorStatus::$name => stringify!($name), )*
                }
            }
        }
    };
}

web_error_status! {
    /// No more specific status applies.
    Unknown = 0,
    /// The certificate is not valid for the host name.
    CertificateCommonNameIsIncorrect = 1,
    /// The certificate has expired.
    CertificateExpired = 2,
    /// The certificate chain has errors other than the listed ones.
    CertificateContainsErrors = 3,
    /// The certificate was revoked.
    CertificateRevoked = 4,
    /// The certificate is not valid (for example, an unknown issuer).
    CertificateIsInvalid = 5,
    /// The server could not be reached (no route to it).
    ServerUnreachable = 6,
    /// The operation timed out.
    Timeout = 7,
    /// The server's HTTP answer was malformed.
    ErrorHttpInvalidServerResponse = 8,
    /// The connection was aborted (also: the peer violated the protocol).
    ConnectionAborted = 9,
    /// The connection was reset by the peer.
    ConnectionReset = 10,
    /// The peer went away without closing.
    Disconnected = 11,
    /// An HTTP URL was redirected to HTTPS.
    HttpToHttpsOnRedirection = 12,
    /// An HTTPS URL was redirected to HTTP.
    HttpsToHttpOnRedirection = 13,
    /// The connection could not be made (for example, it was refused).
    CannotConnect = 14,
    /// The host name could not be resolved.
    HostNameNotResolved = 15,
    /// The operation was canceled.
    OperationCanceled = 16,
    /// A redirect failed.
    RedirectFailed = 17,
    /// An HTTP status code outside the listed ones.
    UnexpectedStatusCode = 18,
    /// A redirect was not expected.
    UnexpectedRedirection = 19,
    /// An unexpected 4xx status.
    UnexpectedClientError = 20,
    /// An unexpected 5xx status.
    UnexpectedServerError = 21,
    /// The server does not support the requested range.
    InsufficientRangeSupport = 22,
    /// The server does not send a content length.
    MissingContentLengthSupport = 23,
    /// HTTP 300.
    MultipleChoices = 300,
    /// HTTP 301.
    MovedPermanently = 301,
    /// HTTP 302.
    Found = 302,
    /// HTTP 303.
    SeeOther = 303,
    /// HTTP 304.
    NotModified = 304,
    /// HTTP 305.
    UseProxy = 305,
    /// HTTP 307.
    TemporaryRedirect = 307,
    /// HTTP 400.
    BadRequest = 400,
    /// HTTP 401.
    Unauthorized = 401,
    /// HTTP 402.
    PaymentRequired = 402,
    /// HTTP 403.
    Forbidden = 403,
    /// HTTP 404.
    NotFound = 404,
    /// HTTP 405.
    MethodNotAllowed = 405,
    /// HTTP 406.
    NotAcceptable = 406,
    /// HTTP 407.
    ProxyAuthenticationRequired = 407,
    /// HTTP 408.
    RequestTimeout = 408,
    /// HTTP 409.
    Conflict = 409,
    /// HTTP 410.
    Gone = 410,
    /// HTTP 411.
    LengthRequired = 411,
    /// HTTP 412.
    PreconditionFailed = 412,
    /// HTTP 413.
    RequestEntityTooLarge = 413,
    /// HTTP 414.
    RequestUriTooLong = 414,
    /// HTTP 415.
    UnsupportedMediaType = 415,
    /// HTTP 416.
    RequestedRangeNotSatisfiable = 416,
    /// HTTP 417.
    ExpectationFailed = 417,
    /// HTTP 500.
    InternalServerError = 500,
    /// HTTP 501.
    NotImplemented = 501,
    /// HTTP 502.
    BadGateway = 502,
    /// HTTP 503.
    ServiceUnavailable = 503,
    /// HTTP 504.
    GatewayTimeout = 504,
    /// HTTP 505.
    HttpVersionNotSupported = 505,
}

impl WebErrorStatus {
    /// The status for an HTTP status code that answered an upgrade request:
    /// the listed member when there is one, otherwise
    /// [`UnexpectedClientError`](Self::UnexpectedClientError) for 4xx,
    /// [`UnexpectedServerError`](Self::UnexpectedServerError) for 5xx and
    /// [`UnexpectedStatusCode`](Self::UnexpectedStatusCode) for the rest.
    ///
    /// ```
    /// use wsock::WebErrorStatus;
    /// assert_eq!(WebErrorStatus::from_http_status(503), WebErrorStatus::ServiceUnavailable);
    /// assert_eq!(WebErrorStatus::from_http_status(418), WebErrorStatus::UnexpectedClientError);
    /// assert_eq!(WebErrorStatus::from_http_status(200), WebErrorStatus::UnexpectedStatusCode);
    /// ```
    pub fn from_http_status(code: u16) -> Self {
        match Self::from_i32(i32::from(code)) {
            Some(s) if code >= 300 => s,
            _ => match code {
                400..=499 => Self::UnexpectedClientError,
                500..=599 => Self::UnexpectedServerError,
                _ => Self::UnexpectedStatusCode,
            },
        }
    }
}

impl From<WebErrorStatus> for i32 {
    fn from(s: WebErrorStatus) -> i32 {
        s as i32
    }
}

impl TryFrom<i32> for WebErrorStatus {
    type Error = i32;
    fn try_from(value: i32) -> std::result::Result<Self, i32> {
        Self::from_i32(value).ok_or(value)
    }
}

impl fmt::Display for WebErrorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which operation ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Connecting: name resolution, TCP, TLS and the upgrade together.
    Connect,
    /// One connection attempt to one resolved address.
    ConnectAttempt,
    /// A send that could not make progress.
    Send,
    /// A receive that waited too long.
    Receive,
    /// Waiting for the peer's close frame.
    Close,
    /// No pong came back within the keep-alive timeout.
    KeepAlive,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::ConnectAttempt => "connect attempt",
            TimeoutKind::Send => "send",
            TimeoutKind::Receive => "receive",
            TimeoutKind::Close => "close",
            TimeoutKind::KeepAlive => "keep-alive",
        })
    }
}

/// Every error wsock returns.
///
/// The cause is kept: [`std::error::Error::source`] leads to the
/// `io::Error`, the rustls error or the protocol violation behind it.
///
/// A variant that keeps a cause says only its own part and leaves the
/// cause to [`source`](std::error::Error::source), so a printer that walks
/// the chain (anyhow's `{:#}`, [`Error::report`]) shows each part once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A caller's argument was wrong (bad URL, a close code the user may not
    /// send, a header the handshake owns...). WinRT's `E_INVALIDARG`: not a
    /// network status.
    #[error("invalid argument: {0}")]
    InvalidArgument(Cow<'static, str>),

    /// The host name could not be resolved.
    #[error("could not resolve host {host:?}")]
    Resolve {
        /// The name that was looked up.
        host: String,
        /// What the resolver said.
        #[source]
        source: io::Error,
    },

    /// Every connection attempt failed; the last attempt's error is kept.
    #[error("could not connect to {addr}")]
    Connect {
        /// The address of the last attempt.
        addr: SocketAddr,
        /// Why it failed.
        #[source]
        source: io::Error,
    },

    /// An operation ran out of time.
    #[error("{0} timed out")]
    Timeout(TimeoutKind),

    /// The TLS layer failed (certificate problems included).
    #[error("TLS error")]
    Tls(#[source] rustls::Error),

    /// The upgrade handshake failed: a malformed or unacceptable answer, or
    /// an HTTP status other than 101 (kept, with its headers, in
    /// [`HandshakeError::Status`]).
    #[error("WebSocket handshake failed")]
    Handshake(#[from] HandshakeError),

    /// The HTTP proxy did not open the tunnel: it refused (its answer, with
    /// the status and headers, in [`HandshakeError::Status`]; 407, and 401
    /// as some proxies answer a wrong credential, are
    /// [`WebErrorStatus::ProxyAuthenticationRequired`]), or its answer was
    /// malformed, too large or cut short.
    #[error("HTTP proxy did not open the tunnel")]
    Proxy(#[source] HandshakeError),

    /// The SOCKS5 proxy did not open the tunnel: it refused the
    /// credential or asked for one ([`WebErrorStatus::ProxyAuthenticationRequired`]),
    /// could not connect (its reply code kept in [`SocksError::Reply`],
    /// mapped as [`SocksError::status`] lists), or answered something that
    /// is not SOCKS5.
    #[error("SOCKS5 proxy did not open the tunnel")]
    Socks(#[source] SocksError),

    /// The peer violated RFC 6455 (or we refused what it sent, such as a
    /// message over the size limit). The connection was closed with
    /// [`ProtocolError::close_code`].
    #[error("WebSocket protocol error")]
    Protocol(#[from] ProtocolError),

    /// A transport error after the connection was made.
    #[error("I/O error")]
    Io(#[source] io::Error),

    /// A WebSocket over HTTP/2 (RFC 8441) failed at the HTTP/2 layer: the
    /// server offers no HTTP/2 (or no WebSockets over it) where it was
    /// required, reset the stream, or ended or broke the connection. The
    /// status is [`Http2Error::status`].
    #[error("HTTP/2 error")]
    Http2(#[source] Http2Error),

    /// The connection is closed (the close handshake finished, or the socket
    /// was closed by this side); no more data can be sent or received.
    #[error("the connection is closed")]
    ConnectionClosed,

    /// The operation was canceled (the socket was closed or aborted while it
    /// was pending).
    #[error("the operation was canceled")]
    Canceled,

    /// The peer closed the connection with a code that reports a failure
    /// (anything but 1000, 1001 and 1005): what was read before may be
    /// incomplete. The stream socket reports it from `poll_read` (inside
    /// an `io::Error`) where a clean close reads as the end of the stream.
    /// A [`ReconnectingMessageWebSocket`](crate::ReconnectingMessageWebSocket)
    /// also names every close from the peer this way (whatever its code)
    /// as the `last_error` of its Reconnecting state, and its policy
    /// decides on the code.
    #[error("the peer closed the connection with {code}: {reason:?}")]
    PeerClosed {
        /// The peer's close code.
        code: u16,
        /// The peer's close reason.
        reason: String,
    },

    /// A send of a [`ReconnectingMessageWebSocket`](crate::ReconnectingMessageWebSocket)
    /// found it reconnecting, and its policy says sends fail rather than
    /// wait ([`SendsWhileReconnecting::Fail`](crate::reconnect::SendsWhileReconnecting::Fail)).
    /// Nothing was sent.
    #[error("not connected: the socket is reconnecting")]
    NotConnected,

    /// A reconnecting socket (or its stream of
    /// [`connections`](crate::reconnect::connections)) stopped: the last
    /// failure is one its policy does not retry, or the attempts ran out.
    /// The status is the last failure's.
    #[error("gave up after {attempts} reconnection attempts")]
    GaveUp {
        /// Reconnection attempts made before giving up (0: the first
        /// failure was not retried).
        attempts: u32,
        /// The last failure.
        #[source]
        last: Arc<Error>,
    },
}

impl Error {
    /// This error and each of its causes, joined with `": "`: the whole
    /// story in one line, for a log or a close reason.
    ///
    /// ```
    /// use std::io;
    /// let e = wsock::Error::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "peer went away"));
    /// assert_eq!(e.to_string(), "I/O error");
    /// assert_eq!(e.report(), "I/O error: peer went away");
    /// ```
    pub fn report(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }

    /// The WinRT `WebErrorStatus` this error maps to.
    ///
    /// ```
    /// use wsock::{Error, WebErrorStatus, TimeoutKind};
    /// assert_eq!(Error::Timeout(TimeoutKind::Receive).status(), WebErrorStatus::Timeout);
    /// ```
    pub fn status(&self) -> WebErrorStatus {
        match self {
            Error::InvalidArgument(_) => WebErrorStatus::Unknown,
            Error::Resolve { source, .. } => match source.kind() {
                io::ErrorKind::TimedOut => WebErrorStatus::Timeout,
                _ => WebErrorStatus::HostNameNotResolved,
            },
            Error::Connect { source, .. } => match io_status(source) {
                WebErrorStatus::Unknown => WebErrorStatus::CannotConnect,
                s => s,
            },
            Error::Timeout(_) => WebErrorStatus::Timeout,
            Error::Tls(e) => tls_status(e),
            // Before the tunnel exists no request has reached the server: a
            // 401 (tinyproxy's answer to a wrong credential) is the proxy's.
            Error::Proxy(HandshakeError::Status(r)) if r.status == 401 => {
                WebErrorStatus::ProxyAuthenticationRequired
            }
            Error::Handshake(e) | Error::Proxy(e) => e.status(),
            Error::Socks(e) => e.status(),
            Error::Protocol(_) => WebErrorStatus::ConnectionAborted,
            Error::Io(e) => io_status(e),
            Error::Http2(e) => e.status(),
            Error::ConnectionClosed => WebErrorStatus::Disconnected,
            Error::Canceled => WebErrorStatus::OperationCanceled,
            Error::PeerClosed { .. } => WebErrorStatus::ConnectionAborted,
            Error::NotConnected => WebErrorStatus::Disconnected,
            Error::GaveUp { last, .. } => last.status(),
        }
    }

    /// True for [`Error::InvalidArgument`]: the caller's mistake, not the
    /// network's.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, Error::InvalidArgument(_))
    }

    /// The HTTP answer of a refused upgrade (status, headers, body), or of
    /// a proxy that refused the tunnel (status and headers), if this error
    /// is one.
    pub fn http_response(&self) -> Option<&HttpResponse> {
        match self {
            Error::Handshake(HandshakeError::Status(r))
            | Error::Handshake(HandshakeError::InsecureRedirect(r))
            | Error::Handshake(HandshakeError::CrossOriginClientCertificate(r)) => Some(r),
            Error::Proxy(HandshakeError::Status(r)) => Some(r),
            Error::GaveUp { last, .. } => last.http_response(),
            _ => None,
        }
    }

    pub(crate) fn invalid(msg: impl Into<Cow<'static, str>>) -> Self {
        Error::InvalidArgument(msg.into())
    }
}

/// The analog of WinRT's `WebSocketError.GetStatus`: the status of any error
/// wsock returned.
pub fn get_status(error: &Error) -> WebErrorStatus {
    error.status()
}

impl From<io::Error> for Error {
    /// Keeps rustls errors that travel inside an `io::Error` (as
    /// tokio-rustls reports them) as [`Error::Tls`], so that certificate
    /// problems get their own status.
    fn from(e: io::Error) -> Self {
        #[cfg(feature = "http2")]
        if let Some(h2) = e.get_ref().and_then(|i| i.downcast_ref::<h2::Error>()) {
            return Error::Http2(Http2Error::of(h2));
        }
        if let Some(h2) = e.get_ref().and_then(|i| i.downcast_ref::<Http2Error>()) {
            return Error::Http2(h2.clone());
        }
        let wrapped = e
            .get_ref()
            .is_some_and(|i| i.is::<rustls::Error>() || i.is::<ProtocolError>());
        if !wrapped {
            return Error::Io(e);
        }
        let kind = e.kind();
        match e.into_inner() {
            Some(inner) => match inner.downcast::<rustls::Error>() {
                Ok(tls) => Error::Tls(*tls),
                Err(inner) => match inner.downcast::<ProtocolError>() {
                    Ok(p) => Error::Protocol(*p),
                    Err(inner) => Error::Io(io::Error::new(kind, inner)),
                },
            },
            None => Error::Io(kind.into()),
        }
    }
}

impl From<rustls::Error> for Error {
    fn from(e: rustls::Error) -> Self {
        Error::Tls(e)
    }
}

impl From<Error> for io::Error {
    /// For the `AsyncRead`/`AsyncWrite` side of the stream socket. The wsock
    /// error stays reachable through `get_ref()`/`into_inner()`.
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            other => {
                let kind = match other.status() {
                    WebErrorStatus::Timeout => io::ErrorKind::TimedOut,
                    WebErrorStatus::ConnectionReset => io::ErrorKind::ConnectionReset,
                    WebErrorStatus::ConnectionAborted => io::ErrorKind::ConnectionAborted,
                    WebErrorStatus::Disconnected => io::ErrorKind::UnexpectedEof,
                    _ if other.is_invalid_argument() => io::ErrorKind::InvalidInput,
                    _ => io::ErrorKind::Other,
                };
                io::Error::new(kind, other)
            }
        }
    }
}

/// The status of a transport error.
pub(crate) fn io_status(e: &io::Error) -> WebErrorStatus {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => WebErrorStatus::CannotConnect,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => {
            WebErrorStatus::ServerUnreachable
        }
        K::TimedOut => WebErrorStatus::Timeout,
        K::ConnectionReset => WebErrorStatus::ConnectionReset,
        K::ConnectionAborted | K::BrokenPipe => WebErrorStatus::ConnectionAborted,
        K::UnexpectedEof | K::NotConnected => WebErrorStatus::Disconnected,
        _ => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => tls_status(tls),
            None => WebErrorStatus::Unknown,
        },
    }
}

/// The status of a TLS failure.
pub(crate) fn tls_status(e: &rustls::Error) -> WebErrorStatus {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => WebErrorStatus::CertificateExpired,
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                WebErrorStatus::CertificateCommonNameIsIncorrect
            }
            C::UnknownIssuer => WebErrorStatus::CertificateIsInvalid,
            C::Revoked => WebErrorStatus::CertificateRevoked,
            _ => WebErrorStatus::CertificateContainsErrors,
        },
        _ => WebErrorStatus::ConnectionAborted,
    }
}

mod http2;
#[cfg(test)]
mod tests;
mod usability;
