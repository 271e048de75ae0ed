//! The client side of the upgrade. INTERFACE SKELETON.

use super::{HandshakeError, Limits};

/// What the client asks for.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// The Host header value (host, with `:port` when not the default;
    /// IPv6 literals in brackets).
    pub host: &'a str,
    /// Path and query, starting with `/`.
    pub resource: &'a str,
    /// The Sec-WebSocket-Key.
    pub key: &'a str,
    /// Subprotocols offered, in order of preference.
    pub protocols: &'a [String],
    /// The Sec-WebSocket-Extensions offer, if any.
    pub extensions: Option<&'a str>,
    /// Extra headers (already checked not to be ones the handshake owns).
    pub headers: &'a [(String, String)],
}

/// What the server agreed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    /// The Sec-WebSocket-Extensions answer.
    pub extensions: Option<String>,
    /// All response headers.
    pub headers: Vec<(String, String)>,
}

/// Appends the request's bytes to `out`.
pub fn write_request(req: &Request<'_>, out: &mut Vec<u8>) {
    let _ = (req, out);
    todo!()
}

/// Parses the server's answer from the start of `buf`. `Ok(None)`: more bytes
/// needed. `Ok(Some((accepted, n)))`: the head was `n` bytes; what follows
/// belongs to the WebSocket stream. A non-101 status is
/// `Err(HandshakeError::Status)` with whatever body is already in `buf`.
pub fn parse_response(
    buf: &[u8],
    req: &Request<'_>,
    limits: &Limits,
) -> Result<Option<(Accepted, usize)>, HandshakeError> {
    let _ = (buf, req, limits);
    todo!()
}

/// True if `name` is a header the handshake itself writes (Host, Upgrade,
/// Connection, Sec-WebSocket-*), which a caller may not set.
pub fn is_reserved_header(name: &str) -> bool {
    let _ = name;
    todo!()
}
