//! The HTTP answer that opened a connection, kept for the information.
//!
//! One allocation per connection: the reason phrase and every header line
//! go into one string, read back by splitting it, rather than a `String`
//! per name and value. An idle connection is mostly its facts, and a
//! typical 101 (three to five headers) costs about 100 bytes this way
//! against about 400 as separate strings.

use std::fmt;

/// The server's `101 Switching Protocols` that opened the connection: its
/// status, reason phrase and every header, in order, duplicates kept,
/// values as received (a value that is not UTF-8 is read lossily). As
/// tungstenite's `Response` and .NET's `HttpStatusCode` /
/// `HttpResponseHeaders` (with `CollectHttpResponseDetails`), always
/// collected.
///
/// After redirects it is the final server's 101; on a socket of the server
/// role, the 101 it sent. A refused upgrade has no socket: its answer is
/// [`Error::http_response`](crate::Error::http_response).
///
/// ```no_run
/// # async fn demo() -> wsock::Result<()> {
/// let ws = wsock::MessageWebSocket::connect("ws://127.0.0.1:9001/", Default::default()).await?;
/// let answer = ws.information().http_response();
/// assert_eq!(answer.status(), 101);
/// for cookie in answer.header_values("set-cookie") {
///     println!("cookie: {cookie}");
/// }
/// println!("server: {:?}", answer.header("Server"));
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct UpgradeResponse {
    status: u16,
    /// The reason phrase, then one `name:value` line per header, each line
    /// ended by `\n` (which neither a reason, a name nor a value can hold:
    /// the parser refuses a line break inside them, and a name has no
    /// colon).
    text: Box<str>,
}

impl UpgradeResponse {
    /// Builds the answer from its parsed parts.
    pub(crate) fn from_parts(status: u16, reason: &str, headers: &[httparse::Header<'_>]) -> Self {
        let len = reason.len()
            + 1
            + (headers.iter())
                .map(|h| h.name.len() + h.value.len() + 2)
                .sum::<usize>();
        let mut text = String::with_capacity(len);
        text.push_str(reason);
        text.push('\n');
        for h in headers {
            text.push_str(h.name);
            text.push(':');
            text.push_str(&String::from_utf8_lossy(h.value));
            text.push('\n');
        }
        UpgradeResponse {
            status,
            text: text.into_boxed_str(),
        }
    }

    /// Parses an answer this side wrote (the server role's 101); a head
    /// that does not parse gives an answer with the status 101 and no
    /// headers, which cannot happen with the heads this crate writes.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn parse_sent(head: &[u8]) -> Self {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(head) {
            Ok(httparse::Status::Complete(_)) => Self::from_parts(
                response.code.unwrap_or(101),
                response.reason.unwrap_or(""),
                response.headers,
            ),
            _ => Self::from_parts(101, "Switching Protocols", &[]),
        }
    }

    /// The status code: 101.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase as sent (`"Switching Protocols"`, or empty).
    pub fn reason(&self) -> &str {
        self.text.split('\n').next().unwrap_or("")
    }

    /// Every header as `(name, value)`, in the order received, names as
    /// sent, repeated headers (`Set-Cookie`...) once per line.
    pub fn headers(&self) -> UpgradeResponseHeaders<'_> {
        let after_reason = self.text.find('\n').map_or("", |i| &self.text[i + 1..]);
        UpgradeResponseHeaders {
            lines: after_reason.split_terminator('\n'),
        }
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        (self.headers())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The values of every header named `name` (case-insensitive), in
    /// order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl fmt::Debug for UpgradeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a UpgradeResponse);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.headers()).finish()
            }
        }
        f.debug_struct("UpgradeResponse")
            .field("status", &self.status)
            .field("reason", &self.reason())
            .field("headers", &Headers(self))
            .finish()
    }
}

/// The headers of an [`UpgradeResponse`], in order: see
/// [`UpgradeResponse::headers`].
#[derive(Debug, Clone)]
pub struct UpgradeResponseHeaders<'a> {
    lines: std::str::SplitTerminator<'a, char>,
}

impl<'a> Iterator for UpgradeResponseHeaders<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        // Every line was written as `name:value`.
        self.lines
            .next()
            .map(|l| l.split_once(':').unwrap_or((l, "")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_come_back_in_order_with_repeats_and_empty_values() {
        let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
            Set-Cookie: a=b\r\nSet-Cookie: c=d; Path=/\r\nX-Empty:\r\nX-Colon: a:b\r\n\r\n";
        let r = UpgradeResponse::parse_sent(head);
        assert_eq!(r.status(), 101);
        assert_eq!(r.reason(), "Switching Protocols");
        let all: Vec<_> = r.headers().collect();
        assert_eq!(
            all,
            [
                ("Upgrade", "websocket"),
                ("Set-Cookie", "a=b"),
                ("Set-Cookie", "c=d; Path=/"),
                ("X-Empty", ""),
                ("X-Colon", "a:b"),
            ]
        );
        assert_eq!(r.header("set-cookie"), Some("a=b"));
        let cookies: Vec<_> = r.header_values("SET-COOKIE").collect();
        assert_eq!(cookies, ["a=b", "c=d; Path=/"]);
        assert_eq!(r.header("server"), None);
        assert!(format!("{r:?}").contains(r#"("X-Colon", "a:b")"#), "{r:?}");
    }

    #[test]
    fn an_answer_without_reason_or_headers_reads_empty() {
        let r = UpgradeResponse::parse_sent(b"HTTP/1.1 101 \r\n\r\n");
        assert_eq!(r.reason(), "");
        assert_eq!(r.headers().count(), 0);
    }
}
