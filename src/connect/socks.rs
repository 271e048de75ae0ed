//! SOCKS5 proxies (RFC 1928) with user name and password authentication
//! (RFC 1929): `socks5://` and `socks5h://` proxy URLs.
//!
//! [`tunnel`] connects to the proxy with the same happy-eyeballs logic as a
//! direct connection, then runs the three SOCKS5 steps: the greeting
//! (offering only what wsock can do: no authentication, and user name and
//! password when there is a proxy credential), the RFC 1929 exchange if
//! the proxy chose it, and a `CONNECT` request. With `socks5h://` the
//! request names the host (ATYP 3) and the proxy resolves it; with
//! `socks5://` the host is resolved here, with the control's resolver, and
//! the addresses are tried one after the other, each on a new connection to
//! the proxy (a refused `CONNECT` ends a SOCKS session), up to
//! `max_addresses` of them in RFC 8305 order. An IP literal is sent as it
//! is either way.
//!
//! Every read has a fixed size known before it starts (2 bytes, 2 bytes,
//! then at most 4 + 1 + 255 + 2), so a proxy can neither make wsock hold
//! more than that nor read past the reply: what the proxy relays afterwards
//! stays in the socket for the TLS handshake or the upgrade, exactly as
//! after an HTTP `CONNECT`. A proxy that never answers is ended by the
//! connect timeout the socket layer puts over the whole connect.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::proxy::ProxyServer;
use super::{ConnectOptions, Target, connect_addrs, order_addrs, resolve};
use crate::credential::Credential;
use crate::error::{Error, Result, WebErrorStatus};

const VERSION: u8 = 5;
/// RFC 1929's own version byte, in the authentication exchange.
const AUTH_VERSION: u8 = 1;
const METHOD_NONE: u8 = 0x00;
const METHOD_USER_PASSWORD: u8 = 0x02;
const METHOD_NO_ACCEPTABLE: u8 = 0xff;
const CMD_CONNECT: u8 = 1;
const ATYP_V4: u8 = 1;
const ATYP_NAME: u8 = 3;
const ATYP_V6: u8 = 4;

/// Why a SOCKS5 proxy did not open the tunnel (the cause of
/// [`Error::Socks`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SocksError {
    /// The proxy accepts none of the authentication methods offered (it
    /// answered 0xFF): it wants a credential and none was given, or a
    /// method wsock does not do (GSSAPI).
    /// [`ProxyAuthenticationRequired`](WebErrorStatus::ProxyAuthenticationRequired).
    #[error("the SOCKS5 proxy accepts none of the authentication methods offered")]
    NoAcceptableMethod,
    /// The proxy refused the user name and password (RFC 1929).
    /// `status` is its status byte, or `None` when it hung up instead of
    /// answering, as some proxies do (pproxy): the credential was the only
    /// thing it had been asked to judge.
    /// [`ProxyAuthenticationRequired`](WebErrorStatus::ProxyAuthenticationRequired).
    #[error("the SOCKS5 proxy refused the user name and password{}", match status {
        Some(s) => format!(" (status {s})"),
        None => " (it closed the connection)".to_owned(),
    })]
    AuthenticationFailed {
        /// The RFC 1929 status byte (anything but 0), if the proxy sent one.
        status: Option<u8>,
    },
    /// The proxy answered the `CONNECT` request with a failure: `code` is
    /// the reply byte (RFC 1928 section 6), `target` the address or name
    /// that was asked for. [`SocksError::status`] lists the statuses.
    #[error("the SOCKS5 proxy could not connect to {target}: {} (reply {code})", reply_text(*code))]
    Reply {
        /// The reply byte, 1 to 255.
        code: u8,
        /// The destination as sent: `host:port` or an address.
        target: String,
    },
    /// What the proxy sent is not SOCKS5 (a wrong version byte, a method
    /// that was not offered, an unknown address type...).
    /// [`ErrorHttpInvalidServerResponse`](WebErrorStatus::ErrorHttpInvalidServerResponse),
    /// as a malformed answer of an HTTP proxy.
    #[error("malformed SOCKS5 answer: {0}")]
    Malformed(String),
    /// The proxy closed the connection before its answer was complete.
    /// [`Disconnected`](WebErrorStatus::Disconnected).
    #[error("the SOCKS5 proxy closed the connection before its answer was complete")]
    Truncated,
}

/// RFC 1928's name for a reply byte.
fn reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

impl SocksError {
    /// The proxy's reply byte, for [`SocksError::Reply`].
    pub fn reply_code(&self) -> Option<u8> {
        match self {
            SocksError::Reply { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The WinRT status: a refused or missing credential is
    /// `ProxyAuthenticationRequired`; the reply codes map as a direct
    /// connection's failures do:
    ///
    /// | reply | status |
    /// |---|---|
    /// | 1 general failure, 5 connection refused, unassigned codes | `CannotConnect` |
    /// | 2 not allowed by ruleset | `Forbidden` (an HTTP proxy's 403) |
    /// | 3 network unreachable, 4 host unreachable | `ServerUnreachable` |
    /// | 6 TTL expired | `Timeout` |
    /// | 7 command not supported, 8 address type not supported | `NotImplemented` (an HTTP proxy's 501) |
    ///
    /// A malformed answer is `ErrorHttpInvalidServerResponse`, one cut short
    /// `Disconnected`.
    pub fn status(&self) -> WebErrorStatus {
        match self {
            SocksError::NoAcceptableMethod | SocksError::AuthenticationFailed { .. } => {
                WebErrorStatus::ProxyAuthenticationRequired
            }
            SocksError::Reply { code, .. } => match code {
                2 => WebErrorStatus::Forbidden,
                3 | 4 => WebErrorStatus::ServerUnreachable,
                6 => WebErrorStatus::Timeout,
                7 | 8 => WebErrorStatus::NotImplemented,
                _ => WebErrorStatus::CannotConnect,
            },
            SocksError::Malformed(_) => WebErrorStatus::ErrorHttpInvalidServerResponse,
            SocksError::Truncated => WebErrorStatus::Disconnected,
        }
    }
}

/// Where the `CONNECT` request asks the proxy to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination<'a> {
    /// ATYP 1 or 4.
    Addr(SocketAddr),
    /// ATYP 3: the proxy resolves the name.
    Name(&'a str, u16),
}

impl Destination<'_> {
    fn describe(&self) -> String {
        match self {
            Destination::Addr(a) => a.to_string(),
            Destination::Name(n, p) => format!("{n}:{p}"),
        }
    }
}

/// The greeting: version 5 and the methods offered. User name and
/// password only with a credential, so a proxy cannot pick a method that
/// wsock would then have nothing to answer with.
pub(crate) fn greeting(with_credential: bool) -> &'static [u8] {
    if with_credential {
        &[VERSION, 2, METHOD_NONE, METHOD_USER_PASSWORD]
    } else {
        &[VERSION, 1, METHOD_NONE]
    }
}

/// The method the proxy chose, checked against what was offered: `true`
/// for user name and password, `false` for none.
pub(crate) fn chosen_method(answer: [u8; 2], with_credential: bool) -> Result<bool, SocksError> {
    let [version, method] = answer;
    if version != VERSION {
        return Err(SocksError::Malformed(format!(
            "version {version:#04x} where 5 was expected (is it a SOCKS5 proxy?)"
        )));
    }
    match method {
        METHOD_NONE => Ok(false),
        METHOD_USER_PASSWORD if with_credential => Ok(true),
        METHOD_NO_ACCEPTABLE => Err(SocksError::NoAcceptableMethod),
        other => Err(SocksError::Malformed(format!(
            "the proxy chose authentication method {other:#04x}, which was not offered"
        ))),
    }
}

/// RFC 1929's request: version 1, then the user name and the password,
/// each with its length in one byte. A user name that is empty or longer
/// than 255 bytes, or a password longer than 255 bytes, cannot be sent:
/// [`Error::InvalidArgument`]. (An empty password is sent as it is: RFC
/// 1929's table says 1 to 255, but servers and clients accept it.)
pub(crate) fn auth_request(c: &Credential) -> Result<Vec<u8>> {
    let (user, password) = (c.user_name.as_bytes(), c.password.as_bytes());
    if user.is_empty() || user.len() > 255 {
        return Err(Error::invalid(format!(
            "a SOCKS5 user name is 1 to 255 bytes (RFC 1929), this one is {}",
            user.len()
        )));
    }
    if password.len() > 255 {
        return Err(Error::invalid(format!(
            "a SOCKS5 password is at most 255 bytes (RFC 1929), this one is {}",
            password.len()
        )));
    }
    let mut out = Vec::with_capacity(3 + user.len() + password.len());
    out.push(AUTH_VERSION);
    out.push(user.len() as u8);
    out.extend_from_slice(user);
    out.push(password.len() as u8);
    out.extend_from_slice(password);
    Ok(out)
}

/// Checks RFC 1929's answer: version 1 and status 0 is success.
pub(crate) fn check_auth_answer(answer: [u8; 2]) -> Result<(), SocksError> {
    match answer {
        [AUTH_VERSION, 0] => Ok(()),
        [AUTH_VERSION, status] => Err(SocksError::AuthenticationFailed {
            status: Some(status),
        }),
        [version, _] => Err(SocksError::Malformed(format!(
            "authentication answer version {version:#04x} where 1 was expected"
        ))),
    }
}

/// The `CONNECT` request. A name longer than 255 bytes does not fit the
/// one-byte length: [`Error::InvalidArgument`] (DNS names are at most 253).
pub(crate) fn connect_request(dest: &Destination<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(22);
    out.extend_from_slice(&[VERSION, CMD_CONNECT, 0]);
    let port = match *dest {
        Destination::Addr(addr) => {
            match addr.ip() {
                IpAddr::V4(ip) => {
                    out.push(ATYP_V4);
                    out.extend_from_slice(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    out.push(ATYP_V6);
                    out.extend_from_slice(&ip.octets());
                }
            }
            addr.port()
        }
        Destination::Name(name, port) => {
            let len = u8::try_from(name.len())
                .ok()
                .filter(|&l| l > 0)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "a host name sent to a SOCKS5 proxy is 1 to 255 bytes, this one is {}",
                        name.len()
                    ))
                })?;
            out.push(ATYP_NAME);
            out.push(len);
            out.extend_from_slice(name.as_bytes());
            port
        }
    };
    out.extend_from_slice(&port.to_be_bytes());
    Ok(out)
}

/// Checks the first two bytes of the `CONNECT` answer (version, reply).
/// Checked before the rest is read: a proxy that refuses may hang up
/// without sending the bound address.
pub(crate) fn check_reply(answer: [u8; 2], dest: &Destination<'_>) -> Result<(), SocksError> {
    match answer {
        [VERSION, 0] => Ok(()),
        [VERSION, code] => Err(SocksError::Reply {
            code,
            target: dest.describe(),
        }),
        [version, _] => Err(SocksError::Malformed(format!(
            "reply version {version:#04x} where 5 was expected"
        ))),
    }
}

/// How many bytes of bound address and port follow the reserved byte and
/// the address type `atyp`; `None` for a name, whose length byte comes
/// first.
pub(crate) fn bound_address_len(atyp: u8) -> Result<Option<usize>, SocksError> {
    match atyp {
        ATYP_V4 => Ok(Some(4 + 2)),
        ATYP_V6 => Ok(Some(16 + 2)),
        // The length byte comes first.
        ATYP_NAME => Ok(None),
        other => Err(SocksError::Malformed(format!(
            "unknown address type {other:#04x} in the reply"
        ))),
    }
}

/// Reads exactly `buf.len()` bytes; an end of stream is
/// [`SocksError::Truncated`].
async fn read_exact<S: AsyncRead + Unpin>(s: &mut S, buf: &mut [u8]) -> Result<()> {
    match s.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(Error::Socks(SocksError::Truncated))
        }
        Err(e) => Err(e.into()),
    }
}

async fn read2<S: AsyncRead + Unpin>(s: &mut S) -> Result<[u8; 2]> {
    let mut b = [0u8; 2];
    read_exact(s, &mut b).await?;
    Ok(b)
}

/// The three steps on a connected stream: greeting, authentication if the
/// proxy asks for it, `CONNECT` to `dest`. `auth` is the RFC 1929 request
/// made from the proxy credential, if there is one. On success the stream
/// is positioned at the first byte of the tunnel.
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    auth: Option<&[u8]>,
    dest: &Destination<'_>,
) -> Result<()> {
    let request = connect_request(dest)?;
    s.write_all(greeting(auth.is_some())).await?;
    s.flush().await?;
    let use_password = chosen_method(read2(s).await?, auth.is_some()).map_err(Error::Socks)?;
    if let (true, Some(auth)) = (use_password, auth) {
        s.write_all(auth).await?;
        s.flush().await?;
        let answer = match read2(s).await {
            // A hang-up here answers the credential: see AuthenticationFailed.
            Err(Error::Socks(SocksError::Truncated)) => {
                return Err(Error::Socks(SocksError::AuthenticationFailed {
                    status: None,
                }));
            }
            other => other?,
        };
        check_auth_answer(answer).map_err(Error::Socks)?;
    }
    s.write_all(&request).await?;
    s.flush().await?;
    check_reply(read2(s).await?, dest).map_err(Error::Socks)?;
    let [_reserved, atyp] = read2(s).await?;
    let rest = match bound_address_len(atyp).map_err(Error::Socks)? {
        Some(n) => n,
        None => {
            let mut len = [0u8; 1];
            read_exact(s, &mut len).await?;
            usize::from(len[0]) + 2
        }
    };
    // The bound address and port: not needed (the socket's addresses are
    // the proxy's), but they are the reply's and must not reach TLS.
    let mut bound = [0u8; 255 + 2];
    read_exact(s, &mut bound[..rest]).await
}

/// Connects to the SOCKS5 proxy `server` and opens a tunnel to `target`;
/// `remote_dns` (`socks5h://`) sends the host name for the proxy to
/// resolve. Returns the proxy's address and the TCP connection to it,
/// positioned at the first byte of the tunnel.
///
/// `credential` (the control's) wins over the proxy URL's; either is sent
/// only to the proxy, and only when it chooses user name and password.
pub(crate) async fn tunnel(
    server: &ProxyServer,
    remote_dns: bool,
    target: &Target,
    credential: Option<&Credential>,
    opts: &ConnectOptions,
) -> Result<(SocketAddr, TcpStream)> {
    // Checked before any connection is made: a credential that cannot be
    // sent is the caller's mistake, not the proxy's refusal.
    let auth = credential
        .or(server.credential.as_ref())
        .map(auth_request)
        .transpose()?;
    let proxy_addrs = resolve(&server.host, server.port, opts.resolver.as_deref()).await?;
    let destinations: Vec<Destination<'_>> = match target.ip_literal() {
        Some(ip) => vec![Destination::Addr(SocketAddr::new(ip, target.port))],
        None if remote_dns => vec![Destination::Name(&target.host, target.port)],
        None => {
            let addrs = resolve(&target.host, target.port, opts.resolver.as_deref()).await?;
            order_addrs(addrs, opts.max_addresses)
                .into_iter()
                .map(Destination::Addr)
                .collect()
        }
    };
    let mut last_refusal = None;
    for dest in &destinations {
        let (addr, mut tcp) = connect_addrs(proxy_addrs.clone(), opts, TcpStream::connect).await?;
        match handshake(&mut tcp, auth.as_deref(), dest).await {
            Ok(()) => return Ok((addr, tcp)),
            // The proxy could not reach this address: another one may do
            // (an IPv6 address through a proxy without IPv6, say). Any
            // other failure would repeat for every address.
            Err(Error::Socks(e @ SocksError::Reply { .. })) => last_refusal = Some(e),
            Err(e) => return Err(e),
        }
    }
    match last_refusal {
        Some(e) => Err(Error::Socks(e)),
        // `resolve` and `order_addrs` never leave the list empty.
        None => Err(Error::invalid("no address to connect to")),
    }
}

#[cfg(test)]
mod tests;
