//! From a `ws://` or `wss://` URL to the socket addresses to try.
//!
//! [`Target::parse`] checks the URL (RFC 6455 section 3) and keeps what the
//! later steps need: the host for name resolution and TLS, the `Host` header
//! and the resource name for the request line. [`resolve`] looks the host up
//! and [`order_addrs`] puts the answers in the order RFC 8305 (section 4)
//! asks for.

use std::io;
use std::net::{IpAddr, SocketAddr};

use rustls::pki_types::ServerName;
use url::{Host, Url};

use crate::error::Error;

/// Where a client connects, taken from a `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `wss://`: TLS over the TCP connection.
    pub(crate) tls: bool,
    /// The host as resolved: a lower-case domain name, or an IP literal
    /// (IPv6 without brackets).
    pub(crate) host: String,
    /// The port, the scheme's default (80, 443) when the URL has none.
    pub(crate) port: u16,
    /// The `Host` header value: the host (bracketed for IPv6) and `:port`
    /// only when the port is not the scheme's default.
    pub(crate) host_header: String,
    /// The request-target of the upgrade request: the path and `?query`,
    /// `/` when the path is empty.
    pub(crate) resource: String,
    /// The name the server's certificate must be valid for (TLS SNI too,
    /// unless it is an IP address).
    pub(crate) server_name: ServerName<'static>,
    /// User name and password from the URL's userinfo, percent-decoded
    /// (for Basic authentication); `None` when the URL has no userinfo.
    pub(crate) credentials: Option<(String, String)>,
}

impl Target {
    /// Parses and checks a WebSocket URL.
    ///
    /// Only `ws` and `wss` are accepted (the scheme is case-insensitive).
    /// A URL without a host, with a fragment (RFC 6455 section 3: fragment
    /// identifiers MUST NOT be used) or that does not parse is refused. Every
    /// refusal is [`Error::InvalidArgument`].
    pub(crate) fn parse(url: &str) -> Result<Target, Error> {
        let parsed = Url::parse(url)
            .map_err(|e| Error::invalid(format!("invalid WebSocket URL {url:?}: {e}")))?;
        let tls = match parsed.scheme() {
            "ws" => false,
            "wss" => true,
            other => {
                return Err(Error::invalid(format!(
                    "unsupported URL scheme {other:?}: a WebSocket URL must use ws:// or wss://"
                )));
            }
        };
        // The URL standard repairs `ws:host`, `ws:/host` or `ws:///host`
        // into `ws://host/`; RFC 6455 (and RFC 3986) want `//` and a host.
        if !has_authority(url) {
            return Err(Error::invalid(format!(
                "WebSocket URL {url:?} must have the form ws://host/... or wss://host/..."
            )));
        }
        if parsed.fragment().is_some() {
            return Err(Error::invalid(
                "a WebSocket URL must not have a fragment (RFC 6455 section 3)",
            ));
        }
        let (host, bracketed, server_name) = match parsed.host() {
            Some(Host::Domain(d)) if !d.is_empty() => {
                let name = ServerName::try_from(d.to_owned()).map_err(|e| {
                    Error::invalid(format!("host {d:?} is not a valid DNS name: {e}"))
                })?;
                (d.to_owned(), d.to_owned(), name)
            }
            // The URL's own serialisation of the address: no formatting.
            Some(Host::Ipv4(ip)) => {
                let text = parsed.host_str().unwrap_or_default().to_owned();
                (text.clone(), text, ServerName::from(ip))
            }
            Some(Host::Ipv6(ip)) => (ip.to_string(), format!("[{ip}]"), ServerName::from(ip)),
            _ => return Err(Error::invalid(format!("WebSocket URL {url:?} has no host"))),
        };
        let default_port = if tls { 443 } else { 80 };
        // `Url::port` is `None` for the scheme's default port even when the
        // URL spells it out, so the Host header leaves it out as well.
        let (port, host_header) = match parsed.port() {
            Some(p) if p != default_port => (p, format!("{bracketed}:{p}")),
            _ => (default_port, bracketed),
        };
        let mut resource = match parsed.path() {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        if let Some(q) = parsed.query() {
            resource.push('?');
            resource.push_str(q);
        }
        let credentials = if parsed.username().is_empty() && parsed.password().is_none() {
            None
        } else {
            Some((
                percent_decode(parsed.username())?,
                percent_decode(parsed.password().unwrap_or(""))?,
            ))
        };
        Ok(Target {
            tls,
            host,
            port,
            host_header,
            resource,
            server_name,
            credentials,
        })
    }

    /// The host as an IP address, when the URL has an IP literal.
    #[cfg(test)]
    pub(crate) fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The host as an IP address, when the URL has an IP literal: taken
    /// from the server name, which holds it already parsed.
    pub(crate) fn ip_literal(&self) -> Option<IpAddr> {
        match &self.server_name {
            ServerName::IpAddress(ip) => Some(IpAddr::from(*ip)),
            _ => None,
        }
    }
}

/// Whether `url` has `//` after the scheme, followed by an authority.
fn has_authority(url: &str) -> bool {
    let rest = url.trim().split_once(':').map_or("", |(_, rest)| rest);
    match rest.strip_prefix("//") {
        Some(authority) => !authority.is_empty() && !authority.starts_with(['/', '\\', '?', '#']),
        None => false,
    }
}

/// Decodes `%XX` escapes (the URL parser leaves userinfo encoded). `+` stays
/// a plus: this is not form encoding.
pub(super) fn percent_decode(s: &str) -> Result<String, Error> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes[i..] {
            [b'%', h, l, ..] => hex(h).zip(hex(l)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::invalid("the URL's user name or password is not UTF-8 once decoded"))
}

/// Looks `host` up (an IP literal is used as it is). A failure or an empty
/// answer is [`Error::Resolve`].
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    resolver: Option<&dyn Resolve>,
) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let failed = |source| Error::Resolve {
        host: host.to_owned(),
        source,
    };
    let addrs: Vec<SocketAddr> = match resolver {
        Some(r) => r.resolve(host, port).await.map_err(failed)?,
        None => tokio::net::lookup_host((host, port))
            .await
            .map_err(failed)?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(failed(io::Error::new(
            io::ErrorKind::NotFound,
            "the resolver returned no addresses",
        )));
    }
    Ok(addrs)
}

/// A name resolver: where `connect` gets a host name's addresses, in place
/// of the system resolver (`getaddrinfo`). IP literals never reach it.
///
/// ```
/// use std::future::Future;
/// use std::io;
/// use std::net::SocketAddr;
/// use std::pin::Pin;
///
/// /// Resolves every name to a fixed list.
/// #[derive(Debug)]
/// struct Fixed(Vec<SocketAddr>);
///
/// impl wsock::Resolve for Fixed {
///     fn resolve<'a>(
///         &'a self,
///         _host: &'a str,
///         _port: u16,
///     ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
///         Box::pin(async move { Ok(self.0.clone()) })
///     }
/// }
/// ```
pub trait Resolve: Send + Sync + std::fmt::Debug {
    /// The addresses of `host` for `port`, in the order to try them (wsock
    /// then interleaves the families and tries at most the configured
    /// number). An error or an empty list is
    /// [`HostNameNotResolved`](crate::WebErrorStatus::HostNameNotResolved).
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> std::pin::Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>>;
}

/// Orders addresses as RFC 8305 section 4 asks: the families alternate,
/// starting with the family of the resolver's first answer, each family
/// keeping the resolver's order. Duplicates are dropped, and at most `max`
/// addresses (at least one) are kept.
pub(crate) fn order_addrs(addrs: Vec<SocketAddr>, max: usize) -> Vec<SocketAddr> {
    let mut unique: Vec<SocketAddr> = Vec::with_capacity(addrs.len());
    for a in addrs {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    let Some(first) = unique.first() else {
        return unique;
    };
    let first_is_v6 = first.is_ipv6();
    let (mut lead, mut other) = (Vec::new(), Vec::new());
    for a in unique {
        if a.is_ipv6() == first_is_v6 {
            lead.push(a);
        } else {
            other.push(a);
        }
    }
    let max = max.max(1);
    let mut out = Vec::with_capacity(max.min(lead.len() + other.len()));
    let (mut lead, mut other) = (lead.into_iter(), other.into_iter());
    loop {
        let (a, b) = (lead.next(), other.next());
        if a.is_none() && b.is_none() {
            break;
        }
        out.extend(a);
        out.extend(b);
    }
    out.truncate(max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> Target {
        Target::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn parses_ws_and_wss_urls() {
        // (url, tls, host, port, host_header, resource)
        #[rustfmt::skip]
        let table: &[(&str, bool, &str, u16, &str, &str)] = &[
            ("ws://example.com", false, "example.com", 80, "example.com", "/"),
            ("wss://example.com", true, "example.com", 443, "example.com", "/"),
            ("ws://example.com/", false, "example.com", 80, "example.com", "/"),
            ("ws://example.com:80/chat", false, "example.com", 80, "example.com", "/chat"),
            ("wss://example.com:443/chat", true, "example.com", 443, "example.com", "/chat"),
            ("ws://example.com:443/", false, "example.com", 443, "example.com:443", "/"),
            ("wss://example.com:80/", true, "example.com", 80, "example.com:80", "/"),
            ("ws://example.com:9001", false, "example.com", 9001, "example.com:9001", "/"),
            ("WS://Example.COM/Path", false, "example.com", 80, "example.com", "/Path"),
            ("WsS://example.com/a/b?x=1&y=2", true, "example.com", 443, "example.com", "/a/b?x=1&y=2"),
            ("ws://example.com?q", false, "example.com", 80, "example.com", "/?q"),
            ("ws://127.0.0.1:9001/x", false, "127.0.0.1", 9001, "127.0.0.1:9001", "/x"),
            ("ws://[::1]:9001/x?y=1", false, "::1", 9001, "[::1]:9001", "/x?y=1"),
            ("wss://[2001:db8::1]/", true, "2001:db8::1", 443, "[2001:db8::1]", "/"),
            ("ws://localhost:1/a%20b", false, "localhost", 1, "localhost:1", "/a%20b"),
        ];
        for &(url, tls, host, port, host_header, resource) in table {
            let t = ok(url);
            assert_eq!(t.tls, tls, "{url}");
            assert_eq!(t.host, host, "{url}");
            assert_eq!(t.port, port, "{url}");
            assert_eq!(t.host_header, host_header, "{url}");
            assert_eq!(t.resource, resource, "{url}");
            assert_eq!(t.credentials, None, "{url}");
        }
    }

    #[test]
    fn server_name_follows_the_host() {
        assert_eq!(
            ok("wss://example.com/").server_name,
            ServerName::try_from("example.com").unwrap()
        );
        let v6 = ok("wss://[::1]/");
        assert_eq!(
            v6.server_name,
            ServerName::from("::1".parse::<IpAddr>().unwrap())
        );
        assert_eq!(v6.ip(), Some("::1".parse().unwrap()));
        assert_eq!(ok("ws://10.0.0.1/").ip(), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(ok("ws://example.com/").ip(), None);
        for url in [
            "wss://[::1]/",
            "ws://10.0.0.1/",
            "ws://127.1/",
            "ws://0x7f.0.0.1:9/",
            "WS://[2001:DB8::1]:1/",
            "ws://example.com/",
            "ws://localhost/",
        ] {
            let t = ok(url);
            assert_eq!(t.ip_literal(), t.host.parse().ok(), "{url}");
        }
    }

    #[test]
    fn keeps_decoded_credentials() {
        assert_eq!(
            ok("ws://user:p%40ss%3Aw+rd@example.com/").credentials,
            Some(("user".into(), "p@ss:w+rd".into()))
        );
        assert_eq!(
            ok("ws://us%C3%A9r@example.com/").credentials,
            Some(("usér".into(), String::new()))
        );
        assert_eq!(
            ok("ws://:secret@example.com/").credentials,
            Some((String::new(), "secret".into()))
        );
        let t = ok("ws://a:b@example.com:8080/");
        assert_eq!(t.host_header, "example.com:8080");
        assert!(
            Target::parse("ws://%FF@example.com/")
                .unwrap_err()
                .is_invalid_argument()
        );
    }

    #[test]
    fn refuses_bad_urls() {
        for url in [
            "http://example.com/",
            "https://example.com/",
            "ftp://example.com/",
            "file:///tmp/x",
            "mailto:someone@example.com",
            "ws://example.com/#frag",
            "ws://example.com/#",
            "wss://example.com/chat?x=1#top",
            "ws://",
            "wss:///path",
            "ws:example.com",
            "ws:/example.com",
            "ws:\\\\example.com\\x",
            "ws://@/",
            "ws://:80/",
            "ws://exa mple.com/",
            "ws://[::1/",
            "ws://example.com:99999/",
            "example.com",
            "not a url at all",
            "",
        ] {
            match Target::parse(url) {
                Ok(t) => panic!("{url:?} was accepted: {t:?}"),
                Err(e) => assert!(e.is_invalid_argument(), "{url:?}: {e:?}"),
            }
        }
        let e = Target::parse("https://example.com/")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ws://") && e.contains("wss://"), "{e}");
    }

    fn v4(last: u8) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, last], 80))
    }
    fn v6(last: u16) -> SocketAddr {
        SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, last], 80))
    }

    #[test]
    fn orders_addresses_like_rfc_8305() {
        let mixed = vec![v6(1), v6(2), v6(3), v4(1), v4(2), v4(3), v4(4)];
        assert_eq!(
            order_addrs(mixed.clone(), 5),
            [v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(
            order_addrs(mixed, 10),
            [v6(1), v4(1), v6(2), v4(2), v6(3), v4(3), v4(4)]
        );
        assert_eq!(
            order_addrs(vec![v4(1), v6(1), v6(2), v6(3), v4(2)], 5),
            [v4(1), v6(1), v4(2), v6(2), v6(3)]
        );
        assert_eq!(order_addrs(vec![v4(1), v4(2), v4(1)], 5), [v4(1), v4(2)]);
        assert_eq!(order_addrs(vec![v4(1), v4(2)], 0), [v4(1)]);
        assert_eq!(order_addrs(Vec::new(), 5), []);
    }

    #[tokio::test]
    async fn ip_literals_are_not_looked_up() {
        assert_eq!(
            resolve("::1", 7, None).await.unwrap(),
            [SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], 7))]
        );
        assert_eq!(
            resolve("127.0.0.1", 8, None).await.unwrap(),
            [SocketAddr::from(([127, 0, 0, 1], 8))]
        );
    }
}
