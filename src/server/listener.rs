//! [`Listener`]: a TCP (or TLS) port that hands over requests.
//!
//! A task accepts connections and gives each its own task for the TLS
//! handshake and the request head, so a slow client holds up no one else.
//! What fails before a request is read (a TLS handshake, a malformed,
//! oversized or slow head) is answered where HTTP allows, closed and reported
//! to the error handler, if any; the listener goes on. A connection that
//! never sends a byte is closed quietly. At most
//! [`MAX_PENDING_CONNECTIONS`] connections are between accept and hand-over at once:
//! past that, new connections wait in the kernel's backlog.
//!
//! With the `http2` feature (and [`AcceptOptions::http2`]), each connection
//! first tells its HTTP version: over TLS by ALPN (`h2` or `http/1.1`; a
//! client that offers neither gets HTTP/1.1), over plain TCP by whether
//! its first bytes are the HTTP/2 connection preface. An HTTP/2 connection
//! then gets a task of its own for as long as it lives, which hands over
//! each of its requests (see the `http2` module).

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::{AcceptOptions, Incoming, read_transport};
use crate::connect::Transport;
use crate::error::{Error, Result, TimeoutKind};
use crate::session::with_timeout;

/// The most connections between accept and hand-over (TLS handshake and
/// request head in progress, or waiting for [`Listener::accept`]).
pub const MAX_PENDING_CONNECTIONS: usize = 1024;

/// How long to wait before accepting again after the listening socket
/// failed (out of file descriptors, say), so a lasting failure does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

type ErrorHandler = Arc<dyn Fn(Option<SocketAddr>, &Error) + Send + Sync>;

/// Where per-connection errors go; set any time.
#[derive(Default)]
pub(super) struct ErrorSink(Mutex<Option<ErrorHandler>>);

impl ErrorSink {
    pub(super) fn report(&self, peer: Option<SocketAddr>, error: &Error) {
        let handler = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(handler) = handler {
            handler(peer, error);
        }
    }
}

/// A listening port that accepts connections, reads their request heads
/// concurrently and hands over each request as an [`Incoming`].
///
/// Dropping the listener stops accepting; connections already handed over
/// live on.
pub struct Listener {
    local_addr: SocketAddr,
    incoming: mpsc::Receiver<Incoming>,
    errors: Arc<ErrorSink>,
    task: JoinHandle<()>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Listens on `addr` (port 0: any free port, see
    /// [`local_addr`](Self::local_addr)) for `ws://` (and plain `http://`)
    /// requests.
    pub async fn bind(addr: impl ToSocketAddrs, options: AcceptOptions) -> Result<Listener> {
        Listener::from_tcp(TcpListener::bind(addr).await?, options, None)
    }

    /// Listens on `addr` for `wss://` (and `https://`) requests, with this
    /// TLS configuration.
    pub async fn bind_tls(
        addr: impl ToSocketAddrs,
        options: AcceptOptions,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<Listener> {
        Listener::from_tcp(TcpListener::bind(addr).await?, options, Some(tls))
    }

    /// Serves on a listening socket made elsewhere; TLS if `tls` is given.
    /// Must be called inside a Tokio runtime.
    pub fn from_tcp(
        tcp: TcpListener,
        options: AcceptOptions,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<Listener> {
        let local_addr = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let errors = Arc::new(ErrorSink::default());
        #[cfg(feature = "http2")]
        let tls = tls.map(|tls| super::sniff::TlsConfigs::new(tls, options.http2));
        #[cfg(not(feature = "http2"))]
        let tls = tls.map(tokio_rustls::TlsAcceptor::from);
        let task = tokio::spawn(accept_loop(tcp, options, tls, tx, errors.clone()));
        Ok(Listener {
            local_addr,
            incoming: rx,
            errors,
            task,
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Calls `handler` with the client's address (when known) and the error
    /// for each connection that failed before its request was handed over,
    /// and for failures of the listening socket itself (address `None`).
    /// Connections that end or time out without sending a byte are not
    /// reported: browsers open such spare connections. Without a handler
    /// errors are dropped silently.
    pub fn on_error(&self, handler: impl Fn(Option<SocketAddr>, &Error) + Send + Sync + 'static) {
        *self.errors.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(handler));
    }

    /// The next request. Connections that fail before a request is read
    /// never show up here (see [`on_error`](Self::on_error)), so an error
    /// from this method means the listener itself is gone.
    pub async fn accept(&mut self) -> Result<Incoming> {
        self.incoming.recv().await.ok_or_else(|| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the listener's accept task ended",
            ))
        })
    }

    /// Runs `handler` on every request, each in its own task, for as long as
    /// the listener lives.
    pub async fn serve<F, Fut>(mut self, mut handler: F) -> Result<()>
    where
        F: FnMut(Incoming) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        loop {
            let incoming = self.accept().await?;
            tokio::spawn(handler(incoming));
        }
    }
}

#[cfg(feature = "http2")]
type Tls = super::sniff::TlsConfigs;
#[cfg(not(feature = "http2"))]
type Tls = tokio_rustls::TlsAcceptor;

async fn accept_loop(
    tcp: TcpListener,
    options: AcceptOptions,
    tls: Option<Tls>,
    tx: mpsc::Sender<Incoming>,
    errors: Arc<ErrorSink>,
) {
    let pending = Arc::new(Semaphore::new(MAX_PENDING_CONNECTIONS));
    loop {
        let Ok(permit) = pending.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                errors.report(None, &Error::from(e));
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            options: options.clone(),
            tx: tx.clone(),
            errors: errors.clone(),
            pending: pending.clone(),
            permit: Some(permit),
            peer,
        };
        tokio::spawn(conn.run(stream, tls.clone()));
    }
}

/// A connection accepted, until its request is handed over.
struct Conn {
    options: AcceptOptions,
    tx: mpsc::Sender<Incoming>,
    errors: Arc<ErrorSink>,
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    pending: Arc<Semaphore>,
    /// Held until hand-over (for HTTP/2: until its handshake is done).
    permit: Option<OwnedSemaphorePermit>,
    peer: SocketAddr,
}

impl Conn {
    #[cfg_attr(not(feature = "http2"), allow(unused_mut))]
    async fn run(mut self, stream: TcpStream, tls: Option<Tls>) {
        let started = Instant::now();
        let transport = match tls {
            None => Ok(Transport::Tcp(stream)),
            Some(tls) => {
                with_timeout(self.options.request_timeout, TimeoutKind::Receive, async {
                    Ok(tls_accept(stream, tls).await?)
                })
                .await
            }
        };
        let io = match transport {
            Ok(io) => io,
            Err(e) => return self.errors.report(Some(self.peer), &e),
        };
        #[allow(unused_mut)]
        let mut rd = BytesMut::with_capacity(1024);
        #[cfg(feature = "http2")]
        let (io, rd) = match self.http2(io, rd).await {
            Some(http1) => http1,
            None => return,
        };
        let spent = started.elapsed();
        match read_transport(io, rd, self.options, spent).await {
            // A send fails only when the listener is gone.
            Ok(incoming) => drop(self.tx.send(incoming).await),
            Err((e, true)) => self.errors.report(Some(self.peer), &e),
            // Closed or timed out without a byte: a browser's spare
            // connection, not an error.
            Err((_, false)) => {}
        }
        drop(self.permit);
    }

    /// Serves the connection as HTTP/2 if it speaks it, to its end (then
    /// `None`); else gives it back for HTTP/1.1, with what it sent so far.
    #[cfg(feature = "http2")]
    async fn http2(
        &mut self,
        mut io: Transport,
        mut rd: BytesMut,
    ) -> Option<(Transport, BytesMut)> {
        use super::sniff::{H2, Rewind, is_preface};
        if !self.options.http2 {
            return Some((io, rd));
        }
        let h2 = match &io {
            Transport::ServerTls(tls) => tls.get_ref().1.alpn_protocol() == Some(H2),
            _ => {
                let sniff =
                    with_timeout(self.options.request_timeout, TimeoutKind::Receive, async {
                        Ok(is_preface(&mut io, &mut rd).await?)
                    });
                match sniff.await {
                    Ok(h2) => h2,
                    // Out of time: the HTTP/1.1 path answers 408 (or
                    // nothing, to a client that sent nothing).
                    Err(Error::Timeout(_)) => false,
                    Err(e) => {
                        if !rd.is_empty() {
                            self.errors.report(Some(self.peer), &e);
                        }
                        return None;
                    }
                }
            }
        };
        if !h2 {
            return Some((io, rd));
        }
        let link = crate::http2::LinkInfo::of(&io);
        let permit = self.permit.take();
        super::http2::serve(
            Rewind::new(rd, io),
            link,
            self.options.clone(),
            self.tx.clone(),
            self.pending.clone(),
            self.errors.clone(),
            permit,
        )
        .await;
        None
    }
}

/// The TLS handshake, with the configuration for the client's ALPN offer.
#[cfg(feature = "http2")]
async fn tls_accept(stream: TcpStream, tls: Tls) -> std::io::Result<Transport> {
    let acceptor = rustls::server::Acceptor::default();
    let start = tokio_rustls::LazyConfigAcceptor::new(acceptor, stream).await?;
    let config = tls.for_offer(start.client_hello().alpn());
    let tls = start.into_stream(config).await?;
    Ok(Transport::ServerTls(Box::new(tls)))
}

#[cfg(not(feature = "http2"))]
async fn tls_accept(stream: TcpStream, tls: Tls) -> std::io::Result<Transport> {
    Ok(Transport::ServerTls(Box::new(tls.accept(stream).await?)))
}
