//! Proxies: which proxy (if any) a URL goes through, and, for HTTP proxies,
//! the `CONNECT` tunnel (RFC 9110 section 9.3.6) that carries `ws://` and
//! `wss://` alike. SOCKS5 proxies have their own tunnel in
//! [`super::socks`].
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

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::{Host, Url};

use super::addr::percent_decode;
use super::{ConnectOptions, Target, connect_addrs, resolve};
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::handshake::{HandshakeError, HttpResponse, Limits};

/// Which proxy a connection goes through (the control's `proxy`): an HTTP
/// proxy (`http://`) or a SOCKS5 proxy (`socks5://`, `socks5h://`).
///
/// Either one proxy for every URL ([`ProxyConfig::new`]), or the
/// conventional environment variables, read when asked
/// ([`ProxyConfig::from_env`]); either may exclude hosts with a `NO_PROXY`
/// list ([`ProxyConfig::with_no_proxy`]). Both `ws://` and `wss://` go
/// through a tunnel (an HTTP `CONNECT`, or a SOCKS5 `CONNECT`); for
/// `wss://` the TLS handshake runs inside it, end to end with the server.
/// A socket's `remote_address` is then the proxy's.
///
/// ```
/// use wsock::ProxyConfig;
/// let proxy = ProxyConfig::new("http://127.0.0.1:3128")?.with_no_proxy("localhost, .internal.example");
/// // The proxy resolves the server's name (socks5h); user name and password for it.
/// let socks = ProxyConfig::new("socks5h://user:secret@127.0.0.1:1080")?;
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
    /// What the proxy speaks.
    pub(crate) kind: ProxyKind,
    /// A lower-case name or an IP literal (IPv6 without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// From the URL's user name and password.
    pub(crate) credential: Option<Credential>,
}

/// The protocol of a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyKind {
    /// `http://`: an HTTP `CONNECT` tunnel.
    Http,
    /// `socks5://` (`remote_dns` false: the name is resolved here) or
    /// `socks5h://` (true: the proxy resolves it).
    Socks5 {
        /// Send the host name, not its addresses.
        remote_dns: bool,
    },
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
    /// alone means the same; the port defaults to 80), or a SOCKS5 proxy,
    /// `socks5://host:port` (wsock resolves the server's name and sends its
    /// addresses) or `socks5h://host:port` (the proxy resolves the name),
    /// the port defaulting to 1080. A user name and password in the URL are
    /// the proxy credential unless the control sets `proxy_credential`;
    /// for SOCKS5 they are sent with RFC 1929, only when the proxy asks.
    ///
    /// Other schemes (`https://`, `socks4://`...), a path, or a URL that
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
    /// Each variable may name an HTTP or a SOCKS5 proxy (as
    /// [`new`](Self::new) reads them: `socks5h://...` in `ALL_PROXY` sends
    /// both schemes through that SOCKS5 proxy). A value that is not such a
    /// proxy URL is [`Error::InvalidArgument`] naming the variable. Nothing set: a
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

/// `http://[user:pass@]host[:port][/]`, `host:port`, or the same with
/// `socks5://` or `socks5h://`.
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
    let (kind, default_port) = match parsed.scheme() {
        "http" => (ProxyKind::Http, 80),
        "socks5" => (ProxyKind::Socks5 { remote_dns: false }, 1080),
        "socks5h" => (ProxyKind::Socks5 { remote_dns: true }, 1080),
        _ => {
            return Err(bad(
                "only http://, socks5:// and socks5h:// proxies are supported",
            ));
        }
    };
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        return Err(bad("a proxy URL has no path, query or fragment"));
    }
    let host = match parsed.host() {
        // A `socks5` URL's host is not normalised by the URL parser (not a
        // special scheme): lower-case it, as `http`'s is.
        Some(Host::Domain(d)) if !d.is_empty() => d.to_ascii_lowercase(),
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
        kind,
        host,
        // `Url` knows http's default port only; SOCKS's is 1080.
        port: parsed.port_or_known_default().unwrap_or(default_port),
        credential,
    })
}

/// Connects to `server` and opens a `CONNECT` tunnel to `target`; returns
/// the proxy's address and the TCP connection to it, positioned at the
/// first byte of the tunnel.
pub(crate) async fn tunnel(
    server: &ProxyServer,
    target: &Target,
    credential: Option<&Credential>,
    opts: &ConnectOptions,
) -> Result<(SocketAddr, TcpStream)> {
    let addrs = resolve(&server.host, server.port, opts.resolver.as_deref()).await?;
    let (addr, mut tcp) = connect_addrs(addrs, opts, TcpStream::connect).await?;
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
        return Ok((addr, tcp));
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
mod tests;
