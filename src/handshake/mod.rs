//! The HTTP/1.1 upgrade (RFC 6455 section 4): request and response bytes for
//! both roles, with no I/O.
//!
//! The [`client`] module writes the upgrade request and checks the server's
//! answer; the [`server`] module parses a request, decides whether it is an
//! acceptable upgrade and writes the answer (101, or a plain HTTP refusal).
//! Both parsers work on whatever bytes have arrived so far: `Ok(None)` asks
//! for more, and a complete head reports its length, so that the bytes after
//! it (the first WebSocket frames, which may arrive in the same read) stay
//! with the caller. Every parser is bounded by [`Limits`].
//!
//! ```
//! use wsock::handshake::{Limits, client, server};
//!
//! // The client's request...
//! let key = wsock::handshake::generate_key();
//! let req = client::Request { host: "example.com", resource: "/chat", key: &key, ..Default::default() };
//! let mut wire = Vec::new();
//! client::write_request(&req, &mut wire);
//!
//! // ...read by the server, which accepts it...
//! let (parsed, _) = server::parse_request(&wire, &Limits::default()).unwrap().unwrap();
//! let upgrade = server::check_upgrade(&parsed).unwrap();
//! let mut answer = Vec::new();
//! server::write_accept(&upgrade.key, None, None, &[], &mut answer);
//!
//! // ...and the client checks the answer.
//! let (accepted, head_len) = client::parse_response(&answer, &req, &Limits::default()).unwrap().unwrap();
//! assert_eq!(head_len, answer.len());
//! assert_eq!(accepted.protocol, None);
//! ```

pub mod client;
pub mod server;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use sha1::{Digest as _, Sha1};

use crate::WebErrorStatus;

/// The GUID RFC 6455 appends to the key before hashing it.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

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
        Limits {
            max_head_size: 16 * 1024,
            max_headers: 64,
            max_body_size: 64 * 1024,
        }
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
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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
    /// A `wss://` upgrade was redirected to `ws://` (or `http://`): refused
    /// whether or not redirects are followed.
    #[error("redirect from a secure to an insecure URL ({})", .0.header("location").unwrap_or(""))]
    InsecureRedirect(Box<HttpResponse>),
    /// A redirect to another origin, over a caller's `tls_client_config`
    /// that holds a client certificate: following it would prove the
    /// caller's identity to a host they did not name, and the certificate
    /// cannot be taken out of a configuration that is not ours. Refused
    /// unless `dangerous_send_secrets_across_origins` is set.
    #[error("redirect to another origin with a client certificate in tls_client_config ({})", .0.header("location").unwrap_or(""))]
    CrossOriginClientCertificate(Box<HttpResponse>),
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
    /// The server's extension answer does not fit what was offered (a
    /// parameter the offer did not allow, a value out of range...).
    #[error("server's extension answer {answer:?} does not fit the offer: {reason}")]
    BadExtension {
        /// The `Sec-WebSocket-Extensions` answer.
        answer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl HandshakeError {
    /// The WinRT status: the HTTP status's member for a refused upgrade,
    /// [`WebErrorStatus::ErrorHttpInvalidServerResponse`] for a malformed or
    /// unacceptable answer, [`WebErrorStatus::Disconnected`] for a truncated
    /// one.
    pub fn status(&self) -> WebErrorStatus {
        match self {
            HandshakeError::Status(r) => WebErrorStatus::from_http_status(r.status),
            HandshakeError::InsecureRedirect(_) => WebErrorStatus::HttpsToHttpOnRedirection,
            HandshakeError::CrossOriginClientCertificate(_) => WebErrorStatus::RedirectFailed,
            HandshakeError::Truncated => WebErrorStatus::Disconnected,
            _ => WebErrorStatus::ErrorHttpInvalidServerResponse,
        }
    }
}

/// The Sec-WebSocket-Accept value for a key: base64(SHA-1(key + GUID)).
///
/// ```
/// // The example of RFC 6455 section 1.3.
/// assert_eq!(wsock::handshake::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &str) -> String {
    let bytes = accept_key_bytes(key);
    // Base64 is ASCII.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// [`accept_key`] in a stack buffer: what a client compares the server's
/// answer with, with no allocation.
fn accept_key_bytes(key: &str) -> [u8; 28] {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(WEBSOCKET_GUID.as_bytes());
    let mut out = [0u8; 28];
    // 20 bytes of digest are exactly 28 characters of padded base64.
    let written = BASE64
        .encode_slice(sha.finalize(), &mut out)
        .unwrap_or_default();
    debug_assert_eq!(written, out.len());
    out
}

/// A fresh Sec-WebSocket-Key: 16 random bytes, base64 (24 characters).
///
/// The bytes come from the generator of the masking keys
/// ([`CsprngMaskKeys`](crate::random::CsprngMaskKeys)): a ChaCha keystream keyed
/// from the operating system's CSPRNG, so a handshake makes no system call
/// for its nonce.
pub fn generate_key() -> String {
    String::from_utf8_lossy(&generate_key_bytes()).into_owned()
}

/// [`generate_key`] in a stack buffer (base64, so ASCII).
pub(crate) fn generate_key_bytes() -> [u8; 24] {
    let mut nonce = [0u8; 16];
    crate::random::fill_random(&mut nonce);
    let mut out = [0u8; 24];
    // 16 bytes are exactly 24 characters of padded base64.
    let written = BASE64.encode_slice(nonce, &mut out).unwrap_or_default();
    debug_assert_eq!(written, out.len());
    out
}

/// The elements of a comma-separated header value (RFC 9110 section 5.6.1),
/// with the spaces and tabs around them trimmed and empty elements skipped.
///
/// ```
/// use wsock::handshake::split_list;
/// assert_eq!(split_list(" keep-alive,, Upgrade ").collect::<Vec<_>>(), ["keep-alive", "Upgrade"]);
/// ```
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(trim_ows)
        .filter(|element| !element.is_empty())
}

/// True if any of `values` (the values of every header line of one name)
/// lists `token`, compared case-insensitively.
///
/// ```
/// use wsock::handshake::has_token;
/// assert!(has_token(["keep-alive, Upgrade"], "upgrade"));
/// assert!(!has_token(["keep-alive", "upgrades"], "upgrade"));
/// ```
pub fn has_token<'a>(values: impl IntoIterator<Item = &'a str>, token: &str) -> bool {
    values
        .into_iter()
        .flat_map(split_list)
        .any(|element| element.eq_ignore_ascii_case(token))
}

/// The values of every header named `name` (case-insensitive), in order.
pub fn header_values<'a, 'n>(
    headers: &'a [(String, String)],
    name: &'n str,
) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// True if `name` is a non-empty HTTP token (RFC 9110 section 5.6.2): what a
/// header name, a method or a subprotocol name must be.
pub fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_tchar)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Trims optional whitespace (spaces and tabs) from both ends.
fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Room for the headers of a head of at most `limits.max_head_size` bytes:
/// `limits.max_headers`, but never more than such a head can hold (a header
/// line takes at least three bytes), so a huge limit allocates nothing huge.
fn header_capacity(limits: &Limits) -> usize {
    limits.max_headers.min(limits.max_head_size / 3 + 1)
}

/// The part of `buf` given to the parser: at most `max_head_size` bytes, so
/// a head that does not end within the limit is `Partial` and then refused.
fn head_window<'b>(buf: &'b [u8], limits: &Limits) -> &'b [u8] {
    &buf[..buf.len().min(limits.max_head_size)]
}

/// What an unfinished parse means: more bytes needed, or a head already over
/// the limit.
fn partial(buf: &[u8], limits: &Limits) -> Result<(), HandshakeError> {
    if buf.len() > limits.max_head_size {
        Err(HandshakeError::HeadTooLarge)
    } else {
        Ok(())
    }
}

/// Maps a parser error.
fn parse_error(e: httparse::Error) -> HandshakeError {
    match e {
        httparse::Error::TooManyHeaders => HandshakeError::HeadTooLarge,
        other => HandshakeError::Malformed(other.to_string()),
    }
}

/// Copies parsed headers out; values that are not UTF-8 (obsolete
/// `obs-text`) are kept lossily.
fn own_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn generated_keys_are_16_random_bytes() {
        let a = generate_key();
        let b = generate_key();
        assert_eq!(a.len(), 24);
        assert_eq!(BASE64.decode(&a).unwrap().len(), 16);
        assert_ne!(a, b);
    }

    #[test]
    fn lists_and_tokens() {
        assert_eq!(split_list("").count(), 0);
        assert_eq!(split_list(" , ,\t").count(), 0);
        assert_eq!(split_list("a,b ,\tc").collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(has_token(["Keep-Alive", "UPGRADE"], "upgrade"));
        assert!(!has_token(["upgrade-insecure"], "upgrade"));
        assert!(!has_token([], "upgrade"));
        assert!(is_token("Sec-WebSocket-Key"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a:b"));
        assert!(!is_token("caf\u{e9}"));
    }

    #[test]
    fn header_capacity_is_bounded() {
        let limits = Limits {
            max_head_size: 30,
            max_headers: usize::MAX,
            max_body_size: 0,
        };
        assert_eq!(header_capacity(&limits), 11);
        assert_eq!(header_capacity(&Limits::default()), 64);
    }
}
