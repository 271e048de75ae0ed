//! The client connector: URL -> addresses -> TCP -> TLS.
//!
//! [`Target::parse`] checks a `ws://`/`wss://` URL. [`connect`] resolves the
//! host, connects over TCP with "happy eyeballs" (RFC 8305: the families
//! interleaved, the attempts staggered, the first success wins), then runs
//! the TLS handshake for `wss://`. Through a proxy the TCP connection goes
//! to the proxy and a tunnel carries the rest: an HTTP `CONNECT`
//! ([`proxy`]) or a SOCKS5 `CONNECT` ([`socks`]). [`open`] has no overall time limit of its
//! own: the socket layer puts one limit (the connect timeout) over it and
//! the upgrade together. (`connect` and `with_connect_timeout`, which apply
//! a limit to the transport alone, exist for this module's tests.)
//!
//! The result is a [`Transport`]: TCP, TLS client, TLS server (for the server
//! role) or any other byte stream.

mod addr;
pub(crate) mod crypto;
mod proxy;
mod socks;
mod tls;
mod tls_shared;
mod verify;

use std::fmt;
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::{Error, TimeoutKind};

pub use addr::Resolve;
pub(crate) use addr::{Target, order_addrs, resolve};
pub use proxy::ProxyConfig;
use proxy::ProxyKind;
#[cfg(feature = "http2")]
pub(crate) use proxy::ProxyServer;
pub(crate) use proxy::parse_head;
pub use socks::SocksError;
pub(crate) use tls::{TlsSetup, setup as tls_setup};
#[cfg(test)]
#[cfg_attr(
    not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")),
    allow(unused_imports)
)]
pub(crate) use tls::{default_tls_config, tls_config_with_roots};
pub(crate) use verify::CertificateOptions;

/// Any byte stream Tokio can read and write; lets [`Transport::Other`] hold
/// streams this module does not know (in-memory pipes, proxies...).
pub(crate) trait AsyncReadWrite: AsyncRead + AsyncWrite {}

impl<T: AsyncRead + AsyncWrite + ?Sized> AsyncReadWrite for T {}

/// The byte stream under a WebSocket.
// The server role makes the server-side variants.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) enum Transport {
    /// Plain TCP (`ws://`, or an accepted connection).
    Tcp(TcpStream),
    /// TLS client over TCP (`wss://`).
    ClientTls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// TLS server over TCP (an accepted `wss://` connection).
    ServerTls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// Any other stream.
    Other(Box<dyn AsyncReadWrite + Send + Unpin>),
    /// One HTTP/2 stream (RFC 8441's extended CONNECT), in either role; it
    /// keeps the addresses and TLS peer certificates of the connection
    /// that carries it.
    #[cfg(feature = "http2")]
    Http2(Box<crate::http2::H2Stream>),
}

impl Transport {
    /// The TCP stream underneath, if there is one.
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Transport::Tcp(s) => Some(s),
            Transport::ClientTls(s) => Some(s.get_ref().0),
            Transport::ServerTls(s) => Some(s.get_ref().0),
            Transport::Other(_) => None,
            #[cfg(feature = "http2")]
            Transport::Http2(_) => None,
        }
    }

    /// One HTTP/2 stream (RFC 8441), not a connection of its own.
    pub(crate) fn is_http2(&self) -> bool {
        #[cfg(feature = "http2")]
        if let Transport::Http2(_) = self {
            return true;
        }
        false
    }

    /// Plain TCP: waits until the socket is readable, so that a caller can
    /// wait without holding a read buffer. Other transports are ready at
    /// once (TLS may hold decrypted bytes that the socket does not show).
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Transport::Tcp(s) => s.poll_read_ready(cx),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// This side's address, for TCP-based transports (an HTTP/2 stream's
    /// is its connection's).
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        #[cfg(feature = "http2")]
        if let Transport::Http2(s) = self {
            return s.link().local_addr;
        }
        self.tcp().and_then(|s| s.local_addr().ok())
    }

    /// The peer's address, for TCP-based transports (an HTTP/2 stream's
    /// is its connection's).
    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        #[cfg(feature = "http2")]
        if let Transport::Http2(s) = self {
            return s.link().peer_addr;
        }
        self.tcp().and_then(|s| s.peer_addr().ok())
    }

    /// The certificate chain the peer presented (the server's for a TLS
    /// client, the client's, if it sent one, for a TLS server).
    pub(crate) fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        match self {
            Transport::ClientTls(s) => s.get_ref().1.peer_certificates().map(<[_]>::to_vec),
            Transport::ServerTls(s) => s.get_ref().1.peer_certificates().map(<[_]>::to_vec),
            Transport::Tcp(_) | Transport::Other(_) => None,
            #[cfg(feature = "http2")]
            Transport::Http2(s) => s.link().peer_certificates.clone(),
        }
    }

    /// Sets `TCP_NODELAY`; does nothing for [`Transport::Other`].
    #[cfg(test)]
    pub(crate) fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        match self.tcp() {
            Some(s) => s.set_nodelay(nodelay),
            None => Ok(()),
        }
    }

    fn as_pin_mut(&mut self) -> Pin<&mut (dyn AsyncReadWrite + Send + Unpin)> {
        match self {
            Transport::Tcp(s) => Pin::new(s),
            Transport::ClientTls(s) => Pin::new(&mut **s),
            Transport::ServerTls(s) => Pin::new(&mut **s),
            Transport::Other(s) => Pin::new(&mut **s),
            #[cfg(feature = "http2")]
            Transport::Http2(s) => Pin::new(&mut **s),
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Transport::Tcp(_) => "Tcp",
            Transport::ClientTls(_) => "ClientTls",
            Transport::ServerTls(_) => "ServerTls",
            Transport::Other(_) => "Other",
            #[cfg(feature = "http2")]
            Transport::Http2(_) => "Http2",
        };
        f.debug_struct("Transport")
            .field("kind", &kind)
            .field("local_addr", &self.local_addr())
            .field("peer_addr", &self.peer_addr())
            .finish()
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().as_pin_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().as_pin_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().as_pin_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Tcp(s) => s.is_write_vectored(),
            Transport::ClientTls(s) => s.is_write_vectored(),
            Transport::ServerTls(s) => s.is_write_vectored(),
            Transport::Other(s) => s.is_write_vectored(),
            #[cfg(feature = "http2")]
            Transport::Http2(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().as_pin_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().as_pin_mut().poll_shutdown(cx)
    }
}

/// How [`connect`] connects.
#[derive(Debug, Clone)]
pub(crate) struct ConnectOptions {
    /// Limit on the whole connect (resolution, TCP, TLS); `None`: no limit.
    /// Default 60 s.
    #[cfg(test)]
    pub(crate) connect_timeout: Option<Duration>,
    /// Limit on each TCP attempt to one address; `None` (the default): only
    /// the overall limit applies.
    pub(crate) attempt_timeout: Option<Duration>,
    /// Most addresses tried (at least one is). Default 5.
    pub(crate) max_addresses: usize,
    /// RFC 8305's "Connection Attempt Delay": how long an attempt runs alone
    /// before the next address is tried alongside it. Default 250 ms.
    pub(crate) attempt_delay: Duration,
    /// `TCP_NODELAY` on the connection. Default true.
    pub(crate) no_delay: bool,
    /// TLS client configuration for `wss://`; `None`: [`default_tls_config`]
    /// (the default trust anchors). [`tls_setup`] makes the one a
    /// `connect` uses from this and `certificates`.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    /// Name resolver; `None`: the system's.
    pub(crate) resolver: Option<Arc<dyn Resolve>>,
    /// The certificate options (see [`tls_setup`]).
    pub(crate) certificates: CertificateOptions,
    /// The proxy, if any.
    pub(crate) proxy: Option<ProxyConfig>,
    /// Sent to the proxy (`Proxy-Authorization: Basic`, or SOCKS5's RFC
    /// 1929 exchange); else the proxy URL's own user name and password, if
    /// any.
    pub(crate) proxy_credential: Option<crate::credential::Credential>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            #[cfg(test)]
            connect_timeout: Some(Duration::from_secs(60)),
            attempt_timeout: None,
            max_addresses: 5,
            attempt_delay: Duration::from_millis(250),
            no_delay: true,
            tls: None,
            resolver: None,
            certificates: CertificateOptions::default(),
            proxy: None,
            proxy_credential: None,
        }
    }
}

/// Connects to `target` within `opts.connect_timeout`: [`open`] under
/// [`with_connect_timeout`]. Running out of time is
/// `Error::Timeout(TimeoutKind::Connect)`.
#[cfg(test)]
pub(crate) async fn connect(target: &Target, opts: &ConnectOptions) -> Result<Transport, Error> {
    let (transport, addr) = with_connect_timeout(opts.connect_timeout, open(target, opts)).await?;
    debug_assert_eq!(Some(addr), transport.peer_addr());
    Ok(transport)
}

/// Connects to `target` with no overall time limit (only
/// `opts.attempt_timeout` applies): resolves the host, connects over TCP
/// ([`connect_addrs`]) or through the proxy `opts.proxy` chooses for it
/// ([`proxy::tunnel`], [`socks::tunnel`]), sets `TCP_NODELAY` and runs the TLS handshake for
/// `wss://` with `opts.tls`. A caller that also runs the upgrade wraps both
/// in [`with_connect_timeout`]. The address returned is the one the TCP
/// connection went to (the proxy's, through a proxy): the transport's peer
/// address, known without asking the socket.
pub(crate) async fn open(
    target: &Target,
    opts: &ConnectOptions,
) -> Result<(Transport, SocketAddr), Error> {
    let via = opts.proxy.as_ref().and_then(|p| p.server_for(target));
    // The proxy and TLS steps run in boxes: their futures are large (the TLS
    // one holds a whole rustls connection) and would otherwise make every
    // connect's future, plain ws:// included, that large, and copied so
    // at each level that awaits it.
    let (addr, tcp) = match via {
        Some(server) => match server.kind {
            ProxyKind::Http => {
                Box::pin(proxy::tunnel(
                    server,
                    target,
                    opts.proxy_credential.as_ref(),
                    opts,
                ))
                .await?
            }
            ProxyKind::Socks5 { remote_dns } => {
                Box::pin(socks::tunnel(
                    server,
                    remote_dns,
                    target,
                    opts.proxy_credential.as_ref(),
                    opts,
                ))
                .await?
            }
        },
        None => match target.ip_literal() {
            // What `resolve` answers for an IP literal, without the list.
            Some(ip) => {
                let addr = SocketAddr::new(ip, target.port);
                connect_one_addr(addr, opts, TcpStream::connect(addr)).await?
            }
            None => {
                let addrs = resolve(&target.host, target.port, opts.resolver.as_deref()).await?;
                connect_addrs(addrs, opts, TcpStream::connect).await?
            }
        },
    };
    tcp.set_nodelay(opts.no_delay)?;
    if !target.tls {
        return Ok((Transport::Tcp(tcp), addr));
    }
    let tls = Box::pin(tls::handshake(tcp, target, opts.tls.as_ref())).await?;
    Ok((Transport::ClientTls(Box::new(tls)), addr))
}

/// Runs `fut` within `limit` (`None`: no limit); running out of time is
/// `Error::Timeout(TimeoutKind::Connect)`.
#[cfg(test)]
pub(crate) async fn with_connect_timeout<T>(
    limit: Option<Duration>,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match limit {
        None => fut.await,
        Some(limit) => tokio::time::timeout(limit, fut)
            .await
            .unwrap_or(Err(Error::Timeout(TimeoutKind::Connect))),
    }
}

/// One attempt, bounded by `limit`; running out of time is an
/// [`io::ErrorKind::TimedOut`] error.
async fn attempt<T>(
    fut: impl Future<Output = io::Result<T>>,
    limit: Option<Duration>,
) -> io::Result<T> {
    match limit {
        None => fut.await,
        Some(limit) => tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                Error::Timeout(TimeoutKind::ConnectAttempt),
            ))
        }),
    }
}

/// [`connect_addrs`] for one address (an IP literal, a single answer): the
/// one attempt, `connecting`, as the happy-eyeballs loop would run it
/// (bounded by `opts.attempt_timeout`, a failure reported as
/// [`Error::Connect`] with `addr`), without its queue, boxes and stagger
/// timer.
async fn connect_one_addr<T>(
    addr: SocketAddr,
    opts: &ConnectOptions,
    connecting: impl Future<Output = io::Result<T>>,
) -> Result<(SocketAddr, T), Error> {
    match attempt(connecting, opts.attempt_timeout).await {
        Ok(stream) => Ok((addr, stream)),
        Err(source) => Err(Error::Connect { addr, source }),
    }
}

/// Happy eyeballs over `addrs` (RFC 8305 section 5), with `connect_one` as
/// the connection attempt to one address (`TcpStream::connect` in
/// [`open`]; tests pass their own).
///
/// The addresses are ordered and capped by [`order_addrs`] with
/// `opts.max_addresses`. The first attempt starts at once; each time
/// `opts.attempt_delay` passes without a new attempt, or an attempt fails,
/// the next address is tried alongside those still running. Each attempt is
/// bounded by `opts.attempt_timeout`. The first success wins, with its
/// address; the other attempts are dropped. When every attempt fails, the
/// error is [`Error::Connect`] with the last failure (its address and its
/// `io::Error`).
pub(crate) async fn connect_addrs<T, F, Fut>(
    addrs: Vec<SocketAddr>,
    opts: &ConnectOptions,
    mut connect_one: F,
) -> Result<(SocketAddr, T), Error>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    if let [addr] = addrs[..] {
        return connect_one_addr(addr, opts, connect_one(addr)).await;
    }
    let mut queue = order_addrs(addrs, opts.max_addresses).into_iter();
    if queue.len() == 0 {
        return Err(Error::invalid("no address to connect to"));
    }
    let mut running = Vec::new();
    let mut last_failure: Option<(SocketAddr, io::Error)> = None;
    // Attempts to start without waiting for the stagger timer: the first
    // one, then one for each failure.
    let mut start_now = 1usize;
    let mut stagger = pin!(tokio::time::sleep(opts.attempt_delay));

    poll_fn(|cx| {
        loop {
            while queue.len() > 0 {
                if start_now > 0 {
                    start_now -= 1;
                } else if stagger.as_mut().poll(cx).is_pending() {
                    break;
                }
                let Some(addr) = queue.next() else { break };
                running.push((
                    addr,
                    Box::pin(attempt(connect_one(addr), opts.attempt_timeout)),
                ));
                stagger.set(tokio::time::sleep(opts.attempt_delay));
            }

            let mut failed = 0;
            let mut i = 0;
            while i < running.len() {
                match running[i].1.as_mut().poll(cx) {
                    Poll::Ready(Ok(stream)) => return Poll::Ready(Ok((running[i].0, stream))),
                    Poll::Ready(Err(e)) => {
                        let (addr, _) = running.remove(i);
                        last_failure = Some((addr, e));
                        failed += 1;
                    }
                    Poll::Pending => i += 1,
                }
            }

            if running.is_empty() && queue.len() == 0 {
                return Poll::Ready(Err(match last_failure.take() {
                    Some((addr, source)) => Error::Connect { addr, source },
                    None => Error::invalid("no address to connect to"),
                }));
            }
            if failed == 0 || queue.len() == 0 {
                return Poll::Pending;
            }
            start_now += failed;
        }
    })
    .await
}

#[cfg(test)]
mod tests;
