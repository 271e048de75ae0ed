//! The server side of the upgrade (RFC 6455 section 4.2).
//!
//! [`parse_request`] reads a request head (bounded by [`Limits`], like the
//! client's response parser). [`check_upgrade`] decides whether it is a valid
//! WebSocket upgrade: either an [`Upgrade`] with what the client offered, or
//! a [`Rejection`] with the HTTP status to answer. [`write_accept`] writes the
//! 101 answer; [`write_response`] (or [`Rejection::write`]) writes a plain
//! HTTP answer that ends the connection.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{
    HandshakeError, Limits, accept_key, has_token, header_values, own_headers, split_list, trim_ows,
};

/// A parsed HTTP request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method (GET...).
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// All headers, in order. Over HTTP/2 the names are lower case, and
    /// the `:authority` pseudo-header comes first as a `host` header (when
    /// the request has no `host` of its own).
    pub headers: Vec<(String, String)>,
    /// The HTTP version: 1 for HTTP/1.1, 0 for HTTP/1.0 (which
    /// [`check_upgrade`] refuses), 2 for HTTP/2. The default is 1.
    pub version: u8,
    /// The `:protocol` pseudo-header of an HTTP/2 extended CONNECT (RFC
    /// 8441), `websocket` for a WebSocket; `None` over HTTP/1.x.
    pub protocol: Option<String>,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            method: String::new(),
            path: String::new(),
            headers: Vec::new(),
            version: 1,
            protocol: None,
        }
    }
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_values(&self.headers, name).next()
    }

    /// The values of every header with this name (case-insensitive), in
    /// order.
    pub fn header_values<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        header_values(&self.headers, name)
    }
}

/// Parses a request head from the start of `buf`. `Ok(None)`: need more.
///
/// `Ok(Some((request, n)))`: the head was `n` bytes; what follows belongs to
/// the WebSocket stream (or is the body of a plain HTTP request, which this
/// module does not read). Bounded as [`client::parse_response`] is: a head
/// that has not ended within [`Limits::max_head_size`] bytes or has more than
/// [`Limits::max_headers`] lines is [`HandshakeError::HeadTooLarge`], bytes
/// that are not an HTTP/1.x request are [`HandshakeError::Malformed`].
///
/// [`client::parse_response`]: super::client::parse_response
pub fn parse_request(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Request, usize)>, HandshakeError> {
    let mut storage = vec![httparse::EMPTY_HEADER; super::header_capacity(limits)];
    let mut request = httparse::Request::new(&mut storage);
    let head_len = match request.parse(super::head_window(buf, limits)) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return super::partial(buf, limits).map(|()| None),
        Err(e) => return Err(super::parse_error(e)),
    };
    // A complete parse always fills these in.
    let (Some(method), Some(path), Some(version)) = (request.method, request.path, request.version)
    else {
        return Err(HandshakeError::Malformed("incomplete request line".into()));
    };
    let request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        headers: own_headers(request.headers),
        version,
        protocol: None,
    };
    Ok(Some((request, head_len)))
}

/// A valid upgrade request: what the client offered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Upgrade {
    /// The Sec-WebSocket-Key (to give to [`write_accept`]); empty for an
    /// HTTP/2 extended CONNECT, which has none (RFC 8441 section 5).
    pub key: String,
    /// The subprotocols offered, in the client's order of preference: the
    /// elements of every Sec-WebSocket-Protocol header.
    pub protocols: Vec<String>,
    /// The Sec-WebSocket-Extensions offer: every such header's elements,
    /// joined with `", "`. `None` when there was none.
    pub extensions: Option<String>,
    /// The Origin header, if any.
    pub origin: Option<String>,
}

/// Why a request is not an acceptable upgrade, and the answer to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {reason}", reason_phrase(*status))]
#[non_exhaustive]
pub struct Rejection {
    /// The HTTP status: 400 for a malformed upgrade, 426 for an unsupported
    /// WebSocket version.
    pub status: u16,
    /// What was wrong, in words (sent as the body).
    pub reason: Cow<'static, str>,
    /// Headers the answer must carry (`Sec-WebSocket-Version: 13` for 426).
    pub headers: Vec<(String, String)>,
}

impl Rejection {
    /// A rejection with this status and explanation, and no extra headers.
    pub fn new(status: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        Rejection {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    fn bad_request(reason: &'static str) -> Self {
        Rejection::new(400, reason)
    }

    /// Appends the answer to `out`: the status with its standard reason
    /// phrase, the headers, and the explanation as a `text/plain` body, with
    /// `Connection: close` (see [`write_response`]).
    pub fn write(&self, out: &mut Vec<u8>) {
        let (headers, body) = self.parts();
        write_response(
            self.status,
            reason_phrase(self.status),
            &headers,
            &body,
            out,
        );
    }

    /// The answer's headers (with its `Content-Type`) and body, whatever
    /// HTTP version carries them.
    pub(crate) fn parts(&self) -> (Vec<(String, String)>, Vec<u8>) {
        let mut headers = self.headers.clone();
        headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
        let mut body = self.reason.to_string();
        body.push('\n');
        (headers, body.into_bytes())
    }
}

/// Checks that `req` is a WebSocket upgrade this side can accept (RFC 6455
/// section 4.2.1), and returns what the client offered.
///
/// Refused with 400: a method other than `GET`, HTTP/1.0, no `Host` (or more
/// than one), an `Upgrade` without the `websocket` token, a `Connection`
/// without `Upgrade` (tokens compared case-insensitively), no
/// `Sec-WebSocket-Version`, and a `Sec-WebSocket-Key` that is not exactly one
/// base64 value of 16 bytes. Refused with 426 and `Sec-WebSocket-Version: 13`:
/// a version other than 13. The Origin is reported, not checked.
pub fn check_upgrade(req: &Request) -> Result<Upgrade, Rejection> {
    if req.method != "GET" {
        return Err(Rejection::bad_request("the upgrade request must be a GET"));
    }
    if req.version != 1 {
        return Err(Rejection::bad_request(
            "the upgrade request must be HTTP/1.1",
        ));
    }
    let mut hosts = req.header_values("host");
    match (hosts.next(), hosts.next()) {
        (Some(host), None) if !trim_ows(host).is_empty() => {}
        _ => {
            return Err(Rejection::bad_request(
                "exactly one non-empty Host header is required",
            ));
        }
    }
    if !has_token(req.header_values("upgrade"), "websocket") {
        return Err(Rejection::bad_request("Upgrade: websocket is required"));
    }
    if !has_token(req.header_values("connection"), "upgrade") {
        return Err(Rejection::bad_request("Connection: Upgrade is required"));
    }
    let mut upgrade = check_offers(req)?;
    let mut keys = req.header_values("sec-websocket-key");
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) => trim_ows(key),
        _ => {
            return Err(Rejection::bad_request(
                "exactly one Sec-WebSocket-Key is required",
            ));
        }
    };
    if !BASE64.decode(key).is_ok_and(|nonce| nonce.len() == 16) {
        return Err(Rejection::bad_request(
            "Sec-WebSocket-Key must be 16 bytes in base64",
        ));
    }
    upgrade.key = key.to_owned();
    Ok(upgrade)
}

/// Checks that `req` is an HTTP/2 extended CONNECT for a WebSocket (RFC
/// 8441 section 5) this side can accept, and returns what the client
/// offered (with an empty [`Upgrade::key`]: HTTP/2 has none).
///
/// Refused with 405: a method other than `CONNECT`, or a `CONNECT` without
/// `:protocol` (a tunnel, which this server does not offer). Refused with
/// 400: a `:protocol` other than `websocket`, and no `Sec-WebSocket-Version`;
/// with 426 and `Sec-WebSocket-Version: 13`: a version other than 13, as
/// [`check_upgrade`] does. The Origin is reported, not checked.
pub fn check_connect(req: &Request) -> Result<Upgrade, Rejection> {
    if req.method != "CONNECT" || req.protocol.is_none() {
        let mut rejection = Rejection::new(
            405,
            "a WebSocket over HTTP/2 is opened with an extended CONNECT",
        );
        rejection.headers.push(("Allow".into(), "CONNECT".into()));
        return Err(rejection);
    }
    if !req
        .protocol
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("websocket"))
    {
        return Err(Rejection::bad_request(":protocol must be websocket"));
    }
    check_offers(req)
}

/// The checks both [`check_upgrade`] and [`check_connect`] make: the
/// WebSocket version, then what the client offers (subprotocols,
/// extensions, origin).
fn check_offers(req: &Request) -> Result<Upgrade, Rejection> {
    let mut versions = req.header_values("sec-websocket-version");
    match (versions.next(), versions.next()) {
        (None, _) => return Err(Rejection::bad_request("Sec-WebSocket-Version is required")),
        (Some(v), None) if trim_ows(v) == "13" => {}
        _ => {
            let mut rejection = Rejection::new(426, "only WebSocket version 13 is supported");
            rejection
                .headers
                .push(("Sec-WebSocket-Version".into(), "13".into()));
            return Err(rejection);
        }
    }
    let protocols = req
        .header_values("sec-websocket-protocol")
        .flat_map(split_list)
        .map(str::to_owned)
        .collect();
    let extensions: Vec<&str> = req
        .header_values("sec-websocket-extensions")
        .flat_map(split_list)
        .collect();
    Ok(Upgrade {
        key: String::new(),
        protocols,
        extensions: (!extensions.is_empty()).then(|| extensions.join(", ")),
        origin: req.header("origin").map(|o| trim_ows(o).to_owned()),
    })
}

/// Appends a 101 Switching Protocols answer to `out`: `Upgrade: websocket`,
/// `Connection: Upgrade`, the `Sec-WebSocket-Accept` for `key`, then
/// `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` when given, then
/// `extra_headers` as given (check them with
/// [`client::validate_header`](super::client::validate_header)).
pub fn write_accept(
    key: &str,
    protocol: Option<&str>,
    extensions: Option<&str>,
    extra_headers: &[(String, String)],
    out: &mut Vec<u8>,
) {
    let mut head = String::with_capacity(160);
    // Writing into a String cannot fail.
    let _ = write!(
        head,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        accept_key(key)
    );
    if let Some(protocol) = protocol {
        let _ = write!(head, "Sec-WebSocket-Protocol: {protocol}\r\n");
    }
    if let Some(extensions) = extensions {
        let _ = write!(head, "Sec-WebSocket-Extensions: {extensions}\r\n");
    }
    for (name, value) in extra_headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    out.extend_from_slice(head.as_bytes());
}

/// Appends a plain HTTP/1.1 answer to `out`: the status line, `headers`,
/// `Content-Length` (of `body`) and `Connection: close`, then the body. Any
/// `Content-Length` or `Connection` in `headers` is left out, as this
/// function writes its own. For refused upgrades and plain HTTP answers; the
/// caller closes the connection after sending it.
pub fn write_response(
    status: u16,
    reason: &str,
    headers: &[(String, String)],
    body: &[u8],
    out: &mut Vec<u8>,
) {
    let mut head = String::with_capacity(128);
    let _ = write!(head, "HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let _ = write!(
        head,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
}

/// The standard reason phrase of an HTTP status (RFC 9110 section 15), or
/// `""` for codes it does not list.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_request_is_http_1_1() {
        assert_eq!(Request::default().version, 1);
    }

    #[test]
    fn response_skips_framing_headers() {
        let mut out = Vec::new();
        let headers = vec![
            ("Content-Length".to_owned(), "99".to_owned()),
            ("connection".to_owned(), "keep-alive".to_owned()),
            ("X-A".to_owned(), "b".to_owned()),
        ];
        write_response(404, "Not Found", &headers, b"nope", &mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 404 Not Found\r\nX-A: b\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
        );
    }

    #[test]
    fn rejection_display() {
        let r = Rejection::new(400, "bad");
        assert_eq!(r.to_string(), "400 Bad Request: bad");
    }
}
