//! The client side of the upgrade: the request (RFC 6455 section 4.1) and the
//! checks on the server's answer.
//!
//! [`write_request`] appends the request head to a buffer. [`parse_response`]
//! is then called on the bytes read so far until it stops answering
//! `Ok(None)`. A refused upgrade (any status but 101) is
//! [`HandshakeError::Status`], carrying the status, the headers and as much of
//! the body as `buf` held; to report more of the body, read on and parse the
//! grown buffer again until [`body_complete`] says enough is in (or the
//! connection ends).
//!
//! Headers a caller adds go through [`validate_header`] and
//! [`is_reserved_header`] first: this module writes them as given.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use bytes::Bytes;

use crate::information::UpgradeResponse;

use super::{
    HandshakeError, HttpResponse, Limits, accept_key_bytes, header_values, is_token, own_headers,
    split_list, trim_ows,
};

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
    /// The Sec-WebSocket-Extensions answer: the values of every such header,
    /// joined with `", "`, for the extension layer to check against its
    /// offer. `None` when the server accepted no extension.
    pub extensions: Option<String>,
    /// All response headers.
    pub headers: Vec<(String, String)>,
}

/// Appends the request's bytes to `out`.
///
/// The head is, in this order: the request line, `Host`, `Upgrade`,
/// `Connection`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`, then
/// `Sec-WebSocket-Protocol` (the offered names joined with `", "`) and
/// `Sec-WebSocket-Extensions` when there are any, then the extra headers.
/// Nothing is validated here.
pub fn write_request(req: &Request<'_>, out: &mut Vec<u8>) {
    // Pieces appended in turn: no formatting machinery, one reservation.
    let extra: usize = req
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len() + 4)
        .sum();
    out.reserve(160 + req.resource.len() + req.host.len() + extra);
    let mut put = |piece: &str| out.extend_from_slice(piece.as_bytes());
    put("GET ");
    put(req.resource);
    put(" HTTP/1.1\r\nHost: ");
    put(req.host);
    put("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    put(req.key);
    put("\r\nSec-WebSocket-Version: 13\r\n");
    if !req.protocols.is_empty() {
        put("Sec-WebSocket-Protocol: ");
        for (i, protocol) in req.protocols.iter().enumerate() {
            if i > 0 {
                put(", ");
            }
            put(protocol);
        }
        put("\r\n");
    }
    if let Some(extensions) = req.extensions {
        put("Sec-WebSocket-Extensions: ");
        put(extensions);
        put("\r\n");
    }
    for (name, value) in req.headers {
        put(name);
        put(": ");
        put(value);
        put("\r\n");
    }
    put("\r\n");
}

/// Parses the server's answer from the start of `buf`. `Ok(None)`: more bytes
/// needed. `Ok(Some((accepted, n)))`: the head was `n` bytes; what follows
/// belongs to the WebSocket stream. A non-101 status is
/// `Err(HandshakeError::Status)` with whatever body is already in `buf`.
///
/// The head is bounded by `limits`: a head that has not ended within
/// [`Limits::max_head_size`] bytes, or that has more than
/// [`Limits::max_headers`] header lines, is [`HandshakeError::HeadTooLarge`]
/// as soon as that is known. The body of a refused upgrade is the bytes after
/// the head, at most the `Content-Length` (when the response has one and no
/// `Transfer-Encoding`) and at most [`Limits::max_body_size`]; a chunked body
/// is kept as it came, chunk framing included. Parsing the same bytes again,
/// or a longer buffer that starts with them, gives the same answer with at
/// least as much body.
///
/// A 101 must be HTTP/1.1 and have `Upgrade: websocket` and a `Connection`
/// list holding `Upgrade` (both case-insensitive), else
/// [`HandshakeError::BadHeader`]; exactly one `Sec-WebSocket-Accept`, else
/// [`HandshakeError::BadHeader`], matching [`accept_key`](super::accept_key) of the key sent,
/// else [`HandshakeError::BadAccept`]. A `Sec-WebSocket-Protocol` must be
/// exactly one of the offered names (case-sensitive), sent once, else
/// [`HandshakeError::UnofferedProtocol`]. A non-empty
/// `Sec-WebSocket-Extensions` without an offer is
/// [`HandshakeError::UnofferedExtension`]; with one, it is returned in
/// [`Accepted::extensions`] unchecked. A refusal sent as HTTP/1.0 (as some
/// proxies answer) is still reported as [`HandshakeError::Status`].
pub fn parse_response(
    buf: &[u8],
    req: &Request<'_>,
    limits: &Limits,
) -> Result<Option<(Accepted, usize)>, HandshakeError> {
    let parsed = parse_response_compact(buf, req, limits)?;
    Ok(parsed.map(|(mut accepted, response, head_len)| {
        accepted.headers = (response.headers())
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        (accepted, head_len)
    }))
}

/// [`parse_response`], with the headers of a 101 kept in one
/// [`UpgradeResponse`] (one allocation, what a connection keeps) instead of
/// [`Accepted::headers`], which stays empty. Everything else, the checks
/// and the refusals included, is the same.
pub(crate) fn parse_response_compact(
    buf: &[u8],
    req: &Request<'_>,
    limits: &Limits,
) -> Result<Option<(Accepted, UpgradeResponse, usize)>, HandshakeError> {
    // Header slots on the stack for the default limit (no allocation, and
    // the parser fills them in, so none is zeroed first).
    let capacity = super::header_capacity(limits);
    let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let storage: &mut [MaybeUninit<httparse::Header<'_>>] = if capacity <= STACK_HEADERS {
        &mut stack[..capacity]
    } else {
        heap.resize_with(capacity, MaybeUninit::uninit);
        &mut heap
    };
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        super::head_window(buf, limits),
        storage,
    );
    let head_len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return super::partial(buf, limits).map(|()| None),
        Err(e) => return Err(super::parse_error(e)),
    };
    // A complete parse always fills these in.
    let (Some(version), Some(status)) = (response.version, response.code) else {
        return Err(HandshakeError::Malformed("incomplete status line".into()));
    };
    let reason = response.reason.unwrap_or("");
    let raw: &[httparse::Header<'_>] = response.headers;

    if status != 101 {
        let headers = own_headers(raw);
        let available = &buf[head_len..];
        let declared = response_body_len(status, &headers).unwrap_or(usize::MAX);
        let kept = available.len().min(declared).min(limits.max_body_size);
        return Err(HandshakeError::Status(Box::new(HttpResponse {
            status,
            reason: reason.to_owned(),
            headers,
            body: Bytes::copy_from_slice(&available[..kept]),
        })));
    }
    if version != 1 {
        return Err(HandshakeError::Malformed(
            "101 Switching Protocols over HTTP/1.0".into(),
        ));
    }
    // The checks read the parsed headers in place; a value that is not
    // UTF-8 reads as `own_headers` would keep it (lossily), and the byte
    // comparisons of `check_switch` answer as they would on that text.
    let switch = Switch::scan(raw);
    switch.check(req)?;
    let lossy = |name: &'static str| {
        raw.iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value))
    };
    // Each looks again only when such a header is there.
    let protocol = match switch.protocol {
        true => chosen_protocol(lossy, req)?,
        false => None,
    };
    let extensions = match switch.extensions {
        true => accepted_extensions(lossy, req)?,
        false => None,
    };
    Ok(Some((
        Accepted {
            protocol,
            extensions,
            headers: Vec::new(),
        },
        UpgradeResponse::from_parts(status, reason, raw),
        head_len,
    )))
}

/// The checks of a 101 that also apply to RFC 8441's 200 over HTTP/2 (which
/// has no `Upgrade`, `Connection` nor `Sec-WebSocket-Accept`): the
/// subprotocol must be one offered, sent once, and extensions must have
/// been offered, as [`parse_response`] says. Returns what was agreed,
/// the extensions answer unchecked against the offer.
#[cfg_attr(not(feature = "http2"), allow(dead_code))]
pub(crate) fn check_agreement(
    headers: &[httparse::Header<'_>],
    req: &Request<'_>,
) -> Result<Accepted, HandshakeError> {
    let lossy = |name: &'static str| {
        headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value))
    };
    Ok(Accepted {
        protocol: chosen_protocol(lossy, req)?,
        extensions: accepted_extensions(lossy, req)?,
        headers: Vec::new(),
    })
}

/// Header slots [`parse_response_compact`] keeps on the stack: the default
/// [`Limits::max_headers`].
const STACK_HEADERS: usize = 64;

/// True if the header value `value` lists `token`: [`has_token`](super::has_token)
/// on a raw value. Splitting on commas and trimming spaces and tabs works
/// on bytes as on their lossy text, and a non-UTF-8 element matches no
/// ASCII token either way.
fn lists_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|element| trim_ows_bytes(element).eq_ignore_ascii_case(token.as_bytes()))
}

/// [`trim_ows`] on bytes.
fn trim_ows_bytes(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// What one pass over a 101's headers finds.
#[derive(Debug, Default)]
struct Switch<'h> {
    /// An `Upgrade` line lists `websocket`.
    upgrade: bool,
    /// A `Connection` line lists `upgrade`.
    connection: bool,
    /// The first `Sec-WebSocket-Accept` value, and how many there are.
    accept: Option<&'h [u8]>,
    accepts: usize,
    /// There is a `Sec-WebSocket-Protocol` line.
    protocol: bool,
    /// There is a `Sec-WebSocket-Extensions` line.
    extensions: bool,
}

impl<'h> Switch<'h> {
    fn scan(headers: &[httparse::Header<'h>]) -> Self {
        let mut found = Switch::default();
        for h in headers {
            let (name, value) = (h.name, h.value);
            if name.eq_ignore_ascii_case("upgrade") {
                found.upgrade |= lists_token(value, "websocket");
            } else if name.eq_ignore_ascii_case("connection") {
                found.connection |= lists_token(value, "upgrade");
            } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
                found.accepts += 1;
                found.accept.get_or_insert(value);
            } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
                found.protocol = true;
            } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
                found.extensions = true;
            }
        }
        found
    }

    /// Upgrade, Connection and Sec-WebSocket-Accept of a 101, in that
    /// order.
    fn check(&self, req: &Request<'_>) -> Result<(), HandshakeError> {
        if !self.upgrade {
            return Err(HandshakeError::BadHeader("Upgrade"));
        }
        if !self.connection {
            return Err(HandshakeError::BadHeader("Connection"));
        }
        match (self.accept, self.accepts) {
            (Some(value), 1) if trim_ows_bytes(value) == accept_key_bytes(req.key) => Ok(()),
            (Some(_), 1) => Err(HandshakeError::BadAccept),
            _ => Err(HandshakeError::BadHeader("Sec-WebSocket-Accept")),
        }
    }
}

/// The subprotocol of a 101: one of those offered, or none.
fn chosen_protocol<'v, I>(
    values: impl Fn(&'static str) -> I,
    req: &Request<'_>,
) -> Result<Option<String>, HandshakeError>
where
    I: Iterator<Item = Cow<'v, str>>,
{
    let mut values = values("sec-websocket-protocol");
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let rest: Vec<Cow<'v, str>> = values.collect();
    if !rest.is_empty() {
        // Sent more than once: not "one of the values offered".
        let all = std::iter::once(first)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(HandshakeError::UnofferedProtocol(all));
    }
    let chosen = trim_ows(&first);
    if req.protocols.iter().any(|offered| offered == chosen) {
        Ok(Some(chosen.to_owned()))
    } else {
        Err(HandshakeError::UnofferedProtocol(chosen.to_owned()))
    }
}

/// The extensions of a 101, when some were offered.
fn accepted_extensions<'v, I>(
    values: impl Fn(&'static str) -> I,
    req: &Request<'_>,
) -> Result<Option<String>, HandshakeError>
where
    I: Iterator<Item = Cow<'v, str>>,
{
    let values: Vec<Cow<'v, str>> = values("sec-websocket-extensions").collect();
    let elements: Vec<&str> = values.iter().flat_map(|v| split_list(v)).collect();
    if elements.is_empty() {
        // Absent, or only empty list elements (which RFC 9110 says to ignore).
        return Ok(None);
    }
    let joined = elements.join(", ");
    match req.extensions {
        Some(_) => Ok(Some(joined)),
        None => Err(HandshakeError::UnofferedExtension(joined)),
    }
}

/// The body length a response declares: `Some(0)` for the statuses that
/// never have a body (1xx, 204, 304), the `Content-Length` when the response
/// has a valid one and no `Transfer-Encoding`, and `None` when the body runs
/// until the connection closes (or is chunked).
///
/// ```
/// use wsock::handshake::client::response_body_len;
/// let headers = vec![("Content-Length".to_owned(), "12".to_owned())];
/// assert_eq!(response_body_len(404, &headers), Some(12));
/// assert_eq!(response_body_len(304, &headers), Some(0));
/// assert_eq!(response_body_len(500, &[]), None);
/// ```
pub fn response_body_len(status: u16, headers: &[(String, String)]) -> Option<usize> {
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Some(0);
    }
    if header_values(headers, "transfer-encoding").next().is_some() {
        return None;
    }
    // Repeated Content-Length lines (or list elements) must agree.
    let mut length = None;
    for element in header_values(headers, "content-length").flat_map(split_list) {
        if !element.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: usize = element.parse().ok()?;
        if length.is_some_and(|l| l != n) {
            return None;
        }
        length = Some(n);
    }
    length
}

/// True when the body of a refused upgrade holds all that will be kept: the
/// declared length (see [`response_body_len`]) or [`Limits::max_body_size`],
/// whichever is smaller. When it is false, the caller may read more, parse
/// the longer buffer again and check again; a body without a declared length
/// also ends when the connection does.
pub fn body_complete(response: &HttpResponse, limits: &Limits) -> bool {
    let wanted = response_body_len(response.status, &response.headers)
        .unwrap_or(usize::MAX)
        .min(limits.max_body_size);
    response.body.len() >= wanted
}

/// True if `name` is a header the handshake itself writes (Host, Upgrade,
/// Connection, Sec-WebSocket-*), which a caller may not set.
///
/// The list: `Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key`,
/// `Sec-WebSocket-Version`, `Sec-WebSocket-Accept`,
/// `Sec-WebSocket-Extensions`, `Sec-WebSocket-Protocol`, in any case.
pub fn is_reserved_header(name: &str) -> bool {
    const RESERVED: [&str; 8] = [
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-accept",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// Checks a header a caller wants sent: the name must be an HTTP token
/// (RFC 9110 section 5.6.2) and the value may hold no control character but
/// tab (so no CR, LF or NUL: no header injection). The error says which rule
/// was broken. Whether the name is one the handshake owns is
/// [`is_reserved_header`]'s question.
///
/// ```
/// use wsock::handshake::client::validate_header;
/// assert!(validate_header("X-Token", "abc def").is_ok());
/// assert!(validate_header("X Token", "abc").is_err());
/// assert!(validate_header("X-Token", "abc\r\nHost: evil").is_err());
/// ```
pub fn validate_header(name: &str, value: &str) -> Result<(), &'static str> {
    if !is_token(name) {
        return Err("header name is not an HTTP token");
    }
    if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err("header value contains a control character (CR, LF, NUL...)");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
