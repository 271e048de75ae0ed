//! HTTP proxies: which proxy (if any) a URL goes through, and the `CONNECT`
//! tunnel (RFC 9110 section 9.3.6) that carries `ws://` and `wss://` alike.
//!
//! [`tunnel`] connects to the proxy with the same happy-eyeballs logic as a
//! direct connection, asks `CONNECT host:port HTTP/1.1` (with
//! `Proxy-Authorization: Basic` when there is a proxy credential) and reads
//! the answer head, bounded by [`Limits`]. A 2xx opens the tunnel: the
//! answer's head is consumed byte-exactly (the socket is peeked, then only
//! the head is read), so whatever the proxy relays after it stays in the
//! socket for the TLS handshake or the upgrade, and the tunnel is still a
//! plain `TcpStream` (its addresses are the proxy's). Any other answer is
//! [`Error::Proxy`] with the status: 407 is
//! `WebErrorStatus::ProxyAuthenticationRequired` (and so is 401, which
//! tinyproxy answers to a wrong credential: no request has reached the
//! server yet), 403 `Forbidden`, 502 `BadGateway`...

use std::net::IpAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::{Host, Url};

use super::addr::percent_decode;
use super::{ConnectOptions, Target, connect_addrs, resolve};
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::handshake::{HandshakeError, HttpResponse, Limits};

/// Which HTTP proxy a connection goes through (the control's `proxy`).
///
/// Either one proxy for every URL ([`ProxyConfig::new`]), or the
/// conventional environment variables, read when asked
/// ([`ProxyConfig::from_env`]); either may exclude hosts with a `NO_PROXY`
/// list ([`ProxyConfig::with_no_proxy`]). Both `ws://` and `wss://` go
/// through a `CONNECT` tunnel; for `wss://` the TLS handshake runs inside
/// it, end to end with the server. A socket's `remote_address` is then the
/// proxy's.
///
/// ```
/// use wsock::ProxyConfig;
/// let proxy = ProxyConfig::new("http://127.0.0.1:3128")?.with_no_proxy("localhost, .internal.example");
/// # Ok::<(), wsock::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    /// For `ws://`.
    http: Option<ProxyServer>,
    /// For `wss://`.
    https: Option<ProxyServer>,
    no_proxy: Vec<NoProxy>,
}

/// One proxy server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyServer {
    /// A lower-case name or an IP literal (IPv6 without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// From the URL's user name and password.
    pub(crate) credential: Option<Credential>,
}

/// One `NO_PROXY` element.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoProxy {
    /// `*`: no proxy at all.
    All,
    /// A name and its subdomains (`example.com`, `.example.com` and
    /// `*.example.com` all mean this), on any port or one.
    Domain(String, Option<u16>),
    /// An address, on any port or one.
    Ip(IpAddr, Option<u16>),
    /// An address block (`10.0.0.0/8`).
    Net(IpAddr, u8),
}

impl ProxyConfig {
    /// One proxy for `ws://` and `wss://`: `http://host:port` (`host:port`
    /// alone means the same; the port defaults to 80). A user name and
    /// password in the URL are the proxy credential unless the control sets
    /// `proxy_credential`.
    ///
    /// Other schemes (`https://`, `socks5://`...), a path, or a URL that
    /// does not parse are [`Error::InvalidArgument`].
    pub fn new(url: &str) -> Result<Self> {
        let server = parse_proxy_url(url)?;
        Ok(ProxyConfig {
            http: Some(server.clone()),
            https: Some(server),
            no_proxy: Vec::new(),
        })
    }

    /// The proxies the environment names, as curl and most HTTP clients
    /// read them: `https_proxy`/`HTTPS_PROXY` for `wss://`,
    /// `http_proxy`/`HTTP_PROXY` for `ws://`, `all_proxy`/`ALL_PROXY` for
    /// either when its own is not set, and the `no_proxy`/`NO_PROXY`
    /// exclusions (see [`with_no_proxy`](Self::with_no_proxy)). The
    /// lower-case name wins when both are set; an empty value counts as
    /// unset. The variables are read now, not at connect.
    ///
    /// A value that is not an `http://` proxy URL is
    /// [`Error::InvalidArgument`] naming the variable. Nothing set: a
    /// configuration that connects directly.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables looked up by
    /// `lookup` instead of in the process environment (for configuration
    /// files and tests).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                lookup(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (name, v))
            })
        };
        let server = |names| -> Result<Option<ProxyServer>> {
            match var(names) {
                None => Ok(None),
                Some((name, value)) => parse_proxy_url(&value)
                    .map(Some)
                    .map_err(|e| Error::invalid(format!("environment variable {name}: {e}"))),
            }
        };
        let all = server(["all_proxy", "ALL_PROXY"])?;
        let http = server(["http_proxy", "HTTP_PROXY"])?.or_else(|| all.clone());
        let https = server(["https_proxy", "HTTPS_PROXY"])?.or(all);
        let no_proxy = var(["no_proxy", "NO_PROXY"])
            .map(|(_, v)| parse_no_proxy(&v))
            .unwrap_or_default();
        Ok(ProxyConfig {
            http,
            https,
            no_proxy,
        })
    }

    /// Adds exclusions: hosts reached directly. `list` is a `NO_PROXY`
    /// value: elements separated by commas or spaces, each `*` (every
    /// host), a domain (`example.com`, `.example.com` or `*.example.com`:
    /// the domain and every name under it), an IP address (IPv6 bare or in
    /// brackets), an address block (`10.0.0.0/8`, `fd00::/8`), optionally
    /// with `:port` to exclude only that port. Names compare
    /// case-insensitively; an element that fits none of these is skipped.
    /// Exclusions match the URL's host as written (no name is resolved).
    pub fn with_no_proxy(mut self, list: &str) -> Self {
        self.no_proxy.extend(parse_no_proxy(list));
        self
    }

    /// The proxy for `target`, if it goes through one.
    pub(crate) fn server_for(&self, target: &Target) -> Option<&ProxyServer> {
        let server = if target.tls { &self.https } else { &self.http };
        let server = server.as_ref()?;
        let excluded = self
            .no_proxy
            .iter()
            .any(|rule| rule.matches(&target.host, target.port));
        (!excluded).then_some(server)
    }
}

impl NoProxy {
    fn matches(&self, host: &str, port: u16) -> bool {
        let ip: Option<IpAddr> = host.parse().ok();
        match self {
            NoProxy::All => true,
            NoProxy::Domain(d, p) => {
                p.is_none_or(|p| p == port)
                    && ip.is_none()
                    && host
                        .strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
            }
            NoProxy::Ip(a, p) => p.is_none_or(|p| p == port) && ip == Some(*a),
            NoProxy::Net(net, bits) => ip.is_some_and(|ip| in_block(ip, *net, *bits)),
        }
    }
}

fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(a.to_bits()), u128::from(b.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
        _ => return false,
    };
    let bits = u32::from(bits).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (ip >> shift) == (net >> shift)
}

fn parse_no_proxy(list: &str) -> Vec<NoProxy> {
    list.split([',', ' ', '\t'])
        .filter_map(|element| parse_no_proxy_element(element.trim()))
        .collect()
}

fn parse_no_proxy_element(e: &str) -> Option<NoProxy> {
    if e.is_empty() {
        return None;
    }
    if e == "*" {
        return Some(NoProxy::All);
    }
    if let Some((net, bits)) = e.split_once('/') {
        let net: IpAddr = net.trim_matches(['[', ']']).parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let width = if net.is_ipv4() { 32 } else { 128 };
        return (bits <= width).then_some(NoProxy::Net(net, bits));
    }
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(NoProxy::Ip(ip, None));
    }
    // `[v6]` or `[v6]:port`.
    if let Some(rest) = e.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip = ip.parse().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        return Some(NoProxy::Ip(ip, port));
    }
    let (name, port) = match e.rsplit_once(':') {
        Some((name, port)) => (name, Some(port.parse().ok()?)),
        None => (e, None),
    };
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Some(NoProxy::Ip(ip, port));
    }
    let name = name.trim_start_matches("*.").trim_start_matches('.');
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    valid.then(|| NoProxy::Domain(name.to_ascii_lowercase(), port))
}

/// `http://[user:pass@]host[:port][/]`, or `host:port`.
fn parse_proxy_url(url: &str) -> Result<ProxyServer> {
    let url = url.trim();
    let with_scheme;
    let url = if url.contains("://") {
        url
    } else {
        with_scheme = format!("http://{url}");
        &with_scheme
    };
    let bad = |why: &str| Error::invalid(format!("proxy URL {url:?}: {why}"));
    let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if parsed.scheme() != "http" {
        return Err(bad("only http:// proxies are supported"));
    }
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        return Err(bad("a proxy URL has no path, query or fragment"));
    }
    let host = match parsed.host() {
        Some(Host::Domain(d)) if !d.is_empty() => d.to_owned(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        _ => return Err(bad("no host")),
    };
    let credential = if parsed.username().is_empty() && parsed.password().is_none() {
        None
    } else {
        Some(Credential::new(
            percent_decode(parsed.username())?,
            percent_decode(parsed.password().unwrap_or(""))?,
        ))
    };
    Ok(ProxyServer {
        host,
        // `http` has a known default port.
        port: parsed.port_or_known_default().unwrap_or(80),
        credential,
    })
}

/// Connects to `server` and opens a `CONNECT` tunnel to `target`; returns
/// the TCP connection to the proxy, positioned at the first byte of the
/// tunnel.
pub(crate) async fn tunnel(
    server: &ProxyServer,
    target: &Target,
    credential: Option<&Credential>,
    opts: &ConnectOptions,
) -> Result<TcpStream> {
    let addrs = resolve(&server.host, server.port).await?;
    let (_, mut tcp) = connect_addrs(addrs, opts, TcpStream::connect).await?;
    let authority = match target.host.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("[{ip}]:{}", target.port),
        _ => format!("{}:{}", target.host, target.port),
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(c) = credential.or(server.credential.as_ref()) {
        request.push_str("Proxy-Authorization: ");
        request.push_str(&c.basic()?);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await?;
    tcp.flush().await?;

    let head = read_head(&mut tcp, &Limits::default()).await?;
    if (200..300).contains(&head.status) {
        // RFC 9110 9.3.6: a 2xx answer to CONNECT has no body; any
        // Content-Length or Transfer-Encoding it shows is ignored.
        return Ok(tcp);
    }
    Err(Error::Proxy(HandshakeError::Status(Box::new(
        HttpResponse {
            status: head.status,
            reason: head.reason,
            headers: head.headers,
            body: Default::default(),
        },
    ))))
}

/// Reads one response head from `tcp` without reading past it: the bytes
/// in the socket are peeked, and only those that belong to the head are
/// read. While the head is unfinished every byte seen belongs to it, so
/// they are consumed (and the next peek waits for new data); once the
/// parser finds the end, exactly the rest of the head is read.
async fn read_head(tcp: &mut TcpStream, limits: &Limits) -> Result<Head> {
    let mut head = Vec::with_capacity(512);
    let mut window = vec![0u8; 2048];
    loop {
        let room = (limits.max_head_size + 1)
            .saturating_sub(head.len())
            .clamp(1, window.len());
        let n = tcp.peek(&mut window[..room]).await?;
        if n == 0 {
            return Err(Error::Proxy(HandshakeError::Truncated));
        }
        let before = head.len();
        head.extend_from_slice(&window[..n]);
        let parsed = parse_head(&head, limits).map_err(Error::Proxy)?;
        let take = match &parsed {
            Some(h) => h.len - before,
            None => n,
        };
        // These bytes are in the socket already (peeked); read them out.
        tcp.read_exact(&mut window[..take]).await?;
        if let Some(h) = parsed {
            return Ok(h);
        }
    }
}

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct Head {
    /// HTTP/1.`version`.
    pub(crate) version: u8,
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
    /// Bytes of the head, blank line included.
    pub(crate) len: usize,
}

/// Parses a response head at the start of `buf`: `Ok(None)` while it is
/// unfinished (and still within `limits.max_head_size`).
pub(crate) fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<Head>, HandshakeError> {
    let max_headers = limits.max_headers.min(limits.max_head_size / 3 + 1);
    let mut storage = vec![httparse::EMPTY_HEADER; max_headers];
    let mut response = httparse::Response::new(&mut storage);
    let window = &buf[..buf.len().min(limits.max_head_size)];
    match response.parse(window) {
        Ok(httparse::Status::Complete(len)) => {
            let (Some(version), Some(status)) = (response.version, response.code) else {
                return Err(HandshakeError::Malformed("incomplete status line".into()));
            };
            Ok(Some(Head {
                version,
                status,
                reason: response.reason.unwrap_or("").to_owned(),
                headers: response
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
                len,
            }))
        }
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head_size => {
            Err(HandshakeError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HandshakeError::HeadTooLarge),
        Err(e) => Err(HandshakeError::Malformed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;
    use crate::WebErrorStatus;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    fn server(host: &str, port: u16) -> ProxyServer {
        ProxyServer {
            host: host.into(),
            port,
            credential: None,
        }
    }

    #[test]
    fn proxy_urls() {
        let ok = |u: &str| parse_proxy_url(u).unwrap_or_else(|e| panic!("{u}: {e}"));
        assert_eq!(
            ok("http://proxy.example:3128"),
            server("proxy.example", 3128)
        );
        assert_eq!(
            ok("HTTP://Proxy.Example:3128/"),
            server("proxy.example", 3128)
        );
        assert_eq!(ok("proxy.example:8080"), server("proxy.example", 8080));
        assert_eq!(ok("http://proxy.example"), server("proxy.example", 80));
        assert_eq!(ok("http://[::1]:3128"), server("::1", 3128));
        assert_eq!(ok(" 127.0.0.1:3128 "), server("127.0.0.1", 3128));
        assert_eq!(
            ok("http://us%40er:p%3Ass@proxy:1").credential,
            Some(Credential::new("us@er", "p:ss"))
        );
        for bad in [
            "https://proxy:443",
            "socks5://proxy:1080",
            "http://proxy:3128/path",
            "http://proxy:3128/?q",
            "http://",
            "http://proxy:99999",
            "",
        ] {
            assert!(
                parse_proxy_url(bad).unwrap_err().is_invalid_argument(),
                "{bad}"
            );
        }
    }

    #[test]
    fn environment_variables() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            ProxyConfig::from_vars(|name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let ws = target("ws://example.com/");
        let wss = target("wss://example.com/");

        let none = env(&[]).unwrap();
        assert_eq!(none.server_for(&ws), None);
        assert_eq!(none.server_for(&wss), None);

        let c = env(&[("HTTP_PROXY", "http://h:1"), ("HTTPS_PROXY", "http://s:2")]).unwrap();
        assert_eq!(c.server_for(&ws), Some(&server("h", 1)));
        assert_eq!(c.server_for(&wss), Some(&server("s", 2)));

        // Lower case first; empty is unset; ALL_PROXY fills in.
        let c = env(&[
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:1"),
            ("https_proxy", ""),
            ("ALL_PROXY", "all:3"),
        ])
        .unwrap();
        assert_eq!(c.server_for(&ws), Some(&server("lower", 1)));
        assert_eq!(c.server_for(&wss), Some(&server("all", 3)));

        let c = env(&[
            ("all_proxy", "http://all:3"),
            (
                "NO_PROXY",
                "example.com:443, .internal , 10.0.0.0/8,[::1],*.corp",
            ),
            ("no_proxy", ""),
        ])
        .unwrap();
        assert_eq!(c.server_for(&ws), Some(&server("all", 3)));
        assert_eq!(c.server_for(&wss), None);
        assert_eq!(c.server_for(&target("ws://a.b.internal/")), None);
        assert_eq!(c.server_for(&target("ws://internal/")), None);
        assert_eq!(
            c.server_for(&target("ws://xinternal/")),
            Some(&server("all", 3))
        );
        assert_eq!(c.server_for(&target("ws://10.2.3.4/")), None);
        assert_eq!(
            c.server_for(&target("ws://11.2.3.4/")),
            Some(&server("all", 3))
        );
        assert_eq!(c.server_for(&target("ws://[::1]:9/")), None);
        assert_eq!(c.server_for(&target("ws://x.CORP/")), None);

        let c = env(&[("https_proxy", "http://s:2"), ("no_proxy", "*")]).unwrap();
        assert_eq!(c.server_for(&wss), None);

        let e = env(&[("HTTPS_PROXY", "socks5://s:1")]).unwrap_err();
        assert!(
            e.is_invalid_argument() && e.to_string().contains("HTTPS_PROXY"),
            "{e}"
        );
    }

    #[test]
    fn no_proxy_elements() {
        let p = ProxyConfig::new("http://p:1")
            .unwrap()
            .with_no_proxy("localhost 127.0.0.1:9 fd00::/8 bad!name 1.2.3.4/40");
        let via = |u: &str| p.server_for(&target(u)).is_some();
        assert!(!via("ws://localhost/"));
        assert!(!via("ws://127.0.0.1:9/"));
        assert!(via("ws://127.0.0.1:10/"));
        assert!(!via("ws://[fd12::1]/"));
        assert!(via("ws://[fe80::1]/"));
        assert!(via("ws://1.2.3.4/"));
        assert!(via("ws://example.com/"));
        assert_eq!(parse_no_proxy(" , ,"), []);
        assert_eq!(
            parse_no_proxy("0.0.0.0/0"),
            [NoProxy::Net([0, 0, 0, 0].into(), 0)]
        );
        assert!(NoProxy::Net([0, 0, 0, 0].into(), 0).matches("9.9.9.9", 1));
        assert!(!NoProxy::Net([0, 0, 0, 0].into(), 0).matches("::1", 1));
    }

    #[test]
    fn heads() {
        let limits = Limits::default();
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\n", &limits)
                .unwrap()
                .is_none()
        );
        let h = parse_head(b"HTTP/1.0 200 Connection established\r\n\r\nxyz", &limits)
            .unwrap()
            .unwrap();
        assert_eq!((h.version, h.status, h.len), (0, 200, 39));
        assert_eq!(h.reason, "Connection established");
        assert!(matches!(
            parse_head(b"SSH-2.0-OpenSSH\r\n\r\n", &limits),
            Err(HandshakeError::Malformed(_))
        ));
        let small = Limits {
            max_head_size: 64,
            ..Limits::default()
        };
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n", "a".repeat(100));
        assert_eq!(
            parse_head(long.as_bytes(), &small).unwrap_err(),
            HandshakeError::HeadTooLarge
        );
    }

    /// A fake proxy on loopback: reads the CONNECT head, answers `answer`
    /// (in pieces, to exercise the peeking), then sends `tunnel_bytes`;
    /// then hangs up if `hang_up`, else waits for the client to.
    async fn fake_proxy(
        answer: &'static [u8],
        tunnel_bytes: &'static [u8],
        hang_up: bool,
    ) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            while !got.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            // The client may hang up as soon as it has seen enough.
            for piece in answer.chunks(7) {
                let _ = s.write_all(piece).await;
                let _ = s.flush().await;
                tokio::task::yield_now().await;
            }
            let _ = s.write_all(tunnel_bytes).await;
            if !hang_up {
                let _ = s.read(&mut buf).await;
            }
            String::from_utf8(got).unwrap()
        });
        (port, task)
    }

    #[tokio::test]
    async fn tunnel_keeps_the_bytes_after_the_head() {
        let (port, proxy) = fake_proxy(
            b"HTTP/1.1 200 Connection established\r\nX-A: b\r\n\r\n",
            b"first bytes of the tunnel",
            false,
        )
        .await;
        let mut p = server("127.0.0.1", port);
        p.credential = Some(Credential::new("u", "p"));
        let t = target("wss://[::1]:8443/x");
        let mut tcp = tunnel(&p, &t, None, &ConnectOptions::default())
            .await
            .unwrap();
        let mut got = vec![0u8; 25];
        tcp.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"first bytes of the tunnel");
        drop(tcp);
        let request = proxy.await.unwrap();
        assert_eq!(
            request,
            "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn tunnel_refusals() {
        #[rustfmt::skip]
        let cases: [(&[u8], WebErrorStatus); 6] = [
            (b"HTTP/1.0 403 Forbidden\r\n\r\n", WebErrorStatus::Forbidden),
            (b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n",
             WebErrorStatus::ProxyAuthenticationRequired),
            (b"HTTP/1.0 401 Unauthorized\r\n\r\n", WebErrorStatus::ProxyAuthenticationRequired),
            (b"HTTP/1.1 502 Bad Gateway\r\n\r\n", WebErrorStatus::BadGateway),
            (b"garbage\r\n\r\n", WebErrorStatus::ErrorHttpInvalidServerResponse),
            (b"HTTP/1.1 200 OK\r\n", WebErrorStatus::Disconnected),
        ];
        for (answer, status) in cases {
            let (port, proxy) = fake_proxy(answer, b"", true).await;
            let err = tunnel(
                &server("127.0.0.1", port),
                &target("ws://example.com/"),
                Some(&Credential::new("a", "b")),
                &ConnectOptions::default(),
            )
            .await
            .unwrap_err();
            assert!(matches!(err, Error::Proxy(_)), "{err:?}");
            assert_eq!(err.status(), status, "{err:?}");
            if answer.starts_with(b"HTTP/1.1 407") {
                assert_eq!(
                    err.http_response().unwrap().header("proxy-authenticate"),
                    Some("Basic realm=\"p\"")
                );
            }
            let request = proxy.await.unwrap();
            assert!(
                request.starts_with("CONNECT example.com:80 HTTP/1.1\r\nHost: example.com:80\r\n"),
                "{request}"
            );
            assert!(
                request.contains("Proxy-Authorization: Basic YTpi\r\n"),
                "{request}"
            );
        }
    }

    #[tokio::test]
    async fn endless_proxy_head_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf).await.unwrap();
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
            let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
            // Until the client gives up and hangs up.
            while s.write_all(line).await.is_ok() {}
        });
        let err = tunnel(
            &server("127.0.0.1", port),
            &target("ws://example.com/"),
            None,
            &ConnectOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, Error::Proxy(HandshakeError::HeadTooLarge)),
            "{err:?}"
        );
        task.await.unwrap();
    }
}
