//! Which HTTP carries the WebSocket: .NET's `ClientWebSocketOptions.HttpVersion`
//! and `HttpVersionPolicy`.

/// The HTTP version of the WebSocket's request (.NET `HttpVersion`), with
/// [`HttpVersionPolicy`].
///
/// The default is HTTP/1.1 (RFC 6455's upgrade). HTTP/2 (RFC 8441's
/// extended CONNECT, feature `http2`) is asked for with
/// [`HttpVersion::Http2`]:
///
/// | version, policy | `wss://` | `ws://` |
/// |---|---|---|
/// | 1.1, `RequestVersionOrLower` / `RequestVersionExact` (default) | HTTP/1.1 | HTTP/1.1 |
/// | 1.1, `RequestVersionOrHigher` | as 2, `RequestVersionOrLower` | HTTP/1.1 |
/// | 2, `RequestVersionOrLower` | ALPN offers `h2` and `http/1.1`; HTTP/1.1 when the server picks it or does not accept extended CONNECT | HTTP/1.1 |
/// | 2, `RequestVersionExact` / `RequestVersionOrHigher` | ALPN offers `h2` alone; anything else is [`Http2Error`](crate::Http2Error) | HTTP/2 with prior knowledge (h2c) |
///
/// As in .NET, plain `ws://` speaks HTTP/2 only with prior knowledge and
/// only when HTTP/2 is required: a server that does not speak it cannot be
/// told apart from a broken one, so "or lower" there means HTTP/1.1.
/// There is no HTTP/3, so "2 or higher" is HTTP/2. Without the `http2`
/// feature, "or lower" is HTTP/1.1 and requiring HTTP/2 is
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HttpVersion {
    /// HTTP/1.1: the upgrade of RFC 6455. The default.
    #[default]
    Http11,
    /// HTTP/2: the extended CONNECT of RFC 8441 (feature `http2`).
    Http2,
}

impl std::fmt::Display for HttpVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HttpVersion::Http11 => "HTTP/1.1",
            HttpVersion::Http2 => "HTTP/2",
        })
    }
}

/// How strictly [`HttpVersion`] is meant (.NET `HttpVersionPolicy`); see
/// [`HttpVersion`] for what each pair does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HttpVersionPolicy {
    /// The version asked for, or a lower one when the server does not
    /// offer it. The default.
    #[default]
    RequestVersionOrLower,
    /// The version asked for, or a higher one the server offers.
    RequestVersionOrHigher,
    /// The version asked for and no other.
    RequestVersionExact,
}

/// What a connect tries, from the version, the policy and the scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpPlan {
    /// HTTP/1.1 only.
    Http11,
    /// HTTP/2, falling back to HTTP/1.1 (over TLS only: ALPN decides).
    Http2OrLower,
    /// HTTP/2 only (ALPN `h2` alone; prior knowledge over `ws://`).
    Http2Exact,
}

impl HttpPlan {
    /// The plan for `version` and `policy` over `wss://` (`tls`) or `ws://`.
    pub(crate) fn of(version: HttpVersion, policy: HttpVersionPolicy, tls: bool) -> HttpPlan {
        use HttpVersionPolicy as P;
        match (version, policy) {
            (HttpVersion::Http11, P::RequestVersionOrLower | P::RequestVersionExact) => {
                HttpPlan::Http11
            }
            (HttpVersion::Http11, P::RequestVersionOrHigher)
            | (HttpVersion::Http2, P::RequestVersionOrLower) => match tls {
                true => HttpPlan::Http2OrLower,
                false => HttpPlan::Http11,
            },
            (HttpVersion::Http2, P::RequestVersionExact | P::RequestVersionOrHigher) => {
                HttpPlan::Http2Exact
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HttpVersionPolicy as P;

    #[test]
    fn plans_follow_dotnet() {
        let plan = |v, p, tls| HttpPlan::of(v, p, tls);
        for tls in [false, true] {
            assert_eq!(
                plan(HttpVersion::default(), P::default(), tls),
                HttpPlan::Http11
            );
            assert_eq!(
                plan(HttpVersion::Http11, P::RequestVersionExact, tls),
                HttpPlan::Http11
            );
            assert_eq!(
                plan(HttpVersion::Http2, P::RequestVersionExact, tls),
                HttpPlan::Http2Exact
            );
            assert_eq!(
                plan(HttpVersion::Http2, P::RequestVersionOrHigher, tls),
                HttpPlan::Http2Exact
            );
        }
        assert_eq!(
            plan(HttpVersion::Http2, P::RequestVersionOrLower, true),
            HttpPlan::Http2OrLower
        );
        assert_eq!(
            plan(HttpVersion::Http2, P::RequestVersionOrLower, false),
            HttpPlan::Http11
        );
        assert_eq!(
            plan(HttpVersion::Http11, P::RequestVersionOrHigher, true),
            HttpPlan::Http2OrLower
        );
        assert_eq!(
            plan(HttpVersion::Http11, P::RequestVersionOrHigher, false),
            HttpPlan::Http11
        );
    }
}
