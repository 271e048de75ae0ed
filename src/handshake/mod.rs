//! The HTTP/1.1 upgrade (RFC 6455 section 4): request and response bytes for
//! both roles, with no I/O. INTERFACE SKELETON: the helper completes it.

pub mod client;
pub mod server;

use bytes::Bytes;

use crate::WebErrorStatus;

/// Limits on what the peer may send during the upgrade.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request or response head (start line and headers), in bytes.
    /// Default 16 KiB.
    pub max_head_size: usize,
    /// Most header lines. Default 64.
    pub max_headers: usize,
    /// Largest body kept from a refused upgrade. Default 64 KiB.
    pub max_body_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_head_size: 16 * 1024, max_headers: 64, max_body_size: 64 * 1024 }
    }
}

/// An HTTP answer other than 101 to an upgrade request, kept for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code (404, 503...).
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The headers, in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, as far as it was read (bounded by [`Limits::max_body_size`]).
    pub body: Bytes,
}

impl HttpResponse {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why an upgrade failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head is larger than [`Limits::max_head_size`] or has more than
    /// [`Limits::max_headers`] lines.
    #[error("HTTP head too large")]
    HeadTooLarge,
    /// The bytes are not HTTP/1.1.
    #[error("malformed HTTP: {0}")]
    Malformed(String),
    /// The connection ended before the head was complete.
    #[error("connection closed during the handshake")]
    Truncated,
    /// The server answered with a status other than 101.
    #[error("server answered HTTP {} {}", .0.status, .0.reason)]
    Status(Box<HttpResponse>),
    /// A required header is missing or has the wrong value.
    #[error("bad or missing header {0}")]
    BadHeader(&'static str),
    /// Sec-WebSocket-Accept does not match the key we sent.
    #[error("Sec-WebSocket-Accept does not match the key")]
    BadAccept,
    /// The server chose a subprotocol we did not offer.
    #[error("server chose subprotocol {0:?}, which was not offered")]
    UnofferedProtocol(String),
    /// The server answered with an extension we did not offer.
    #[error("server answered extension {0:?}, which was not offered")]
    UnofferedExtension(String),
}

impl HandshakeError {
    /// The WinRT status: the HTTP status's member for a refused upgrade,
    /// [`WebErrorStatus::ErrorHttpInvalidServerResponse`] for a malformed or
    /// unacceptable answer, [`WebErrorStatus::Disconnected`] for a truncated
    /// one.
    pub fn status(&self) -> WebErrorStatus {
        match self {
            HandshakeError::Status(r) => WebErrorStatus::from_http_status(r.status),
            HandshakeError::Truncated => WebErrorStatus::Disconnected,
            _ => WebErrorStatus::ErrorHttpInvalidServerResponse,
        }
    }
}

/// The Sec-WebSocket-Accept value for a key: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &str) -> String {
    let _ = key;
    todo!()
}

/// A fresh Sec-WebSocket-Key: 16 random bytes, base64.
pub fn generate_key() -> String {
    todo!()
}
