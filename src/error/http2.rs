//! Failures of WebSockets over HTTP/2 (RFC 8441) at the HTTP/2 layer.

use crate::error::WebErrorStatus;

/// Why a WebSocket over HTTP/2 failed at the HTTP/2 layer: inside
/// [`Error::Http2`](crate::Error::Http2). A refused extended CONNECT (a
/// status other than 200) is not one of these: it is
/// [`HandshakeError::Status`](crate::handshake::HandshakeError::Status),
/// as over HTTP/1.1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Http2Error {
    /// HTTP/2 was required, and the server's TLS did not choose `h2` in
    /// ALPN (its choice, if any, kept). [`WebErrorStatus::HttpVersionNotSupported`].
    #[error("the server does not speak HTTP/2 (ALPN chose {})", .0.as_deref().unwrap_or("nothing"))]
    NotNegotiated(Option<String>),
    /// HTTP/2 was required, and the server did not announce
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441): it takes no WebSocket
    /// over HTTP/2. [`WebErrorStatus::HttpVersionNotSupported`].
    #[error(
        "the server does not take WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)"
    )]
    NoExtendedConnect,
    /// The peer (the server; the client, for a socket of the server role)
    /// reset the socket's stream (RST_STREAM) with this HTTP/2 error code.
    /// [`WebErrorStatus::ConnectionReset`].
    #[error("the peer reset the HTTP/2 stream ({})", code_name(*.0))]
    StreamReset(u32),
    /// The peer (as above) ended the HTTP/2 connection (GOAWAY) with this
    /// error code, before or while the socket used it.
    /// [`WebErrorStatus::ConnectionAborted`].
    #[error("the peer ended the HTTP/2 connection (GOAWAY, {})", code_name(*.0))]
    GoAway(u32),
    /// The HTTP/2 connection failed (a protocol error of either side, a
    /// connection this side ended); the code, if one was sent, and what
    /// the HTTP/2 layer said. [`WebErrorStatus::ConnectionAborted`].
    #[error("the HTTP/2 connection failed: {1}")]
    Connection(Option<u32>, String),
}

impl Http2Error {
    /// The WinRT status (listed with each variant).
    pub fn status(&self) -> WebErrorStatus {
        match self {
            Http2Error::NotNegotiated(_) | Http2Error::NoExtendedConnect => {
                WebErrorStatus::HttpVersionNotSupported
            }
            Http2Error::StreamReset(_) => WebErrorStatus::ConnectionReset,
            Http2Error::GoAway(_) | Http2Error::Connection(..) => WebErrorStatus::ConnectionAborted,
        }
    }

    /// The error for what `h2` reported (not an I/O error: those stay
    /// [`Error::Io`](crate::Error::Io)).
    #[cfg(feature = "http2")]
    pub(crate) fn of(e: &h2::Error) -> Http2Error {
        let code = e.reason().map(u32::from);
        match code {
            Some(code) if e.is_go_away() && e.is_remote() => Http2Error::GoAway(code),
            Some(code) if e.is_reset() && e.is_remote() => Http2Error::StreamReset(code),
            // A bare reason: the peer's RST_STREAM as a send stream learns
            // of it.
            Some(code) if !e.is_go_away() && !e.is_reset() => Http2Error::StreamReset(code),
            _ => Http2Error::Connection(code, e.to_string()),
        }
    }
}

/// An HTTP/2 error code's name (RFC 9113 section 7).
fn code_name(code: u32) -> String {
    const NAMES: [&str; 14] = [
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    ];
    match NAMES.get(code as usize) {
        Some(name) => (*name).to_owned(),
        None => format!("error code {code:#x}"),
    }
}
