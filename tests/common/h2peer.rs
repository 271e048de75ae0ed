//! A hand-made HTTP/2 server (the `h2` crate's server, no wsock) for the
//! client's RFC 8441 tests: it answers extended CONNECTs as each test
//! says, counts its TCP connections, can leave out
//! SETTINGS_ENABLE_CONNECT_PROTOCOL, limit concurrent streams, say GOAWAY
//! or die with its connections. Its WebSocket side is written by hand
//! (frames echoed as they come), so it shares nothing with wsock's core.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::h2frames::FrameReader;

/// What a handler gets: the request, its body and the response handle.
pub(crate) type Handler = Arc<
    dyn Fn(
            http::Request<RecvStream>,
            SendResponse<Bytes>,
        ) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// Builds a [`Handler`] from an async closure.
pub(crate) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(http::Request<RecvStream>, SendResponse<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |req, respond| Box::pin(f(req, respond)))
}

/// How the server behaves.
pub(crate) struct Options {
    /// Announce SETTINGS_ENABLE_CONNECT_PROTOCOL.
    pub(crate) connect_protocol: bool,
    /// SETTINGS_MAX_CONCURRENT_STREAMS, if any.
    pub(crate) max_streams: Option<u32>,
    /// TLS (its ALPN set by the caller), or h2c with prior knowledge.
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    pub(crate) handler: Handler,
}

impl Options {
    pub(crate) fn new(handler: Handler) -> Options {
        Options {
            connect_protocol: true,
            max_streams: None,
            tls: None,
            handler,
        }
    }
}

/// A running server.
pub(crate) struct H2Server {
    pub(crate) addr: SocketAddr,
    /// TCP connections accepted so far.
    pub(crate) connections: Arc<AtomicUsize>,
    goaway: Arc<Notify>,
    abort: Arc<Notify>,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
    listener: AbortHandle,
}

impl H2Server {
    /// Says GOAWAY on every open connection (graceful: open streams go on).
    pub(crate) fn goaway(&self) {
        self.goaway.notify_waiters();
    }

    /// Says GOAWAY with ENHANCE_YOUR_CALM on every open connection and
    /// closes it: its streams end with it.
    pub(crate) fn goaway_abruptly(&self) {
        self.abort.notify_waiters();
    }

    /// Stops listening and drops every connection at once (their TCP
    /// connections close under the streams).
    pub(crate) fn kill(&self) {
        self.listener.abort();
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

pub(crate) async fn start(options: Options) -> H2Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let goaway = Arc::new(Notify::new());
    let abort = Arc::new(Notify::new());
    let tasks = Arc::new(Mutex::new(Vec::new()));
    let options = Arc::new(options);
    let (count, notify, spawned) = (connections.clone(), goaway.clone(), tasks.clone());
    let aborting = abort.clone();
    let accept = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let options = options.clone();
            let notify = notify.clone();
            let aborting = aborting.clone();
            let task = tokio::spawn(async move {
                match &options.tls {
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                            serve(tls, &options, notify, aborting).await;
                        } else {
                            http11_echo(tls).await;
                        }
                    }
                    None => serve(tcp, &options, notify, aborting).await,
                }
            });
            spawned.lock().unwrap().push(task.abort_handle());
        }
    });
    H2Server {
        addr,
        connections,
        goaway,
        abort,
        tasks,
        listener: accept.abort_handle(),
    }
}

/// A connection where ALPN chose HTTP/1.1 (or nothing): our server
/// role's echo.
async fn http11_echo<T>(io: T)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    #[cfg(feature = "server")]
    if let Ok(ws) = wsock::server::accept(io, wsock::server::AcceptOptions::default()).await {
        let _ = wsock::server::echo(ws).await;
    }
    #[cfg(not(feature = "server"))]
    drop(io);
}

/// A TLS acceptor for `localhost` with a certificate of `ca`, choosing
/// among `alpn` (none: no ALPN at all).
pub(crate) fn tls(ca: &super::tls::Ca, alpn: &[&[u8]]) -> tokio_rustls::TlsAcceptor {
    let (leaf, key) = ca.leaf(&["localhost"], false);
    let mut config = rustls::ServerConfig::builder_with_provider(super::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

async fn serve<T>(io: T, options: &Options, goaway: Arc<Notify>, abort: Arc<Notify>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = h2::server::Builder::new();
    if options.connect_protocol {
        builder.enable_connect_protocol();
    }
    if let Some(max) = options.max_streams {
        builder.max_concurrent_streams(max);
    }
    let Ok(mut conn) = builder.handshake::<_, Bytes>(io).await else {
        return;
    };
    let mut streams = Vec::new();
    let mut said_goaway = false;
    loop {
        tokio::select! {
            next = conn.accept() => match next {
                Some(Ok((req, respond))) => {
                    streams.push(tokio::spawn((options.handler)(req, respond)).abort_handle());
                }
                _ => break,
            },
            _ = goaway.notified(), if !said_goaway => {
                said_goaway = true;
                conn.graceful_shutdown();
            }
            _ = abort.notified(), if !said_goaway => {
                said_goaway = true;
                conn.abrupt_shutdown(h2::Reason::ENHANCE_YOUR_CALM);
            }
        }
    }
    for s in streams {
        s.abort();
    }
}

/// The server's side of one stream, for hand-written frames.
pub(crate) struct Stream {
    pub(crate) send: SendStream<Bytes>,
    frames: FrameReader,
}

impl Stream {
    /// Answers `respond` with `status` (and these headers), keeping the
    /// stream open when it is 200.
    pub(crate) fn answer(
        req: http::Request<RecvStream>,
        mut respond: SendResponse<Bytes>,
        headers: &[(&str, &str)],
    ) -> Stream {
        let mut response = http::Response::builder().status(200);
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        let send = respond
            .send_response(response.body(()).unwrap(), false)
            .unwrap();
        Stream {
            send,
            frames: FrameReader::new(req.into_body()),
        }
    }

    /// The next client frame, unmasked: its first byte and payload.
    pub(crate) async fn read_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        self.frames.read_frame(true).await
    }

    /// Sends `data` as the peer's windows allow; false if the stream is gone.
    pub(crate) async fn write(&mut self, mut data: &[u8]) -> bool {
        while !data.is_empty() {
            self.send.reserve_capacity(data.len());
            let n = match poll_fn(|cx| self.send.poll_capacity(cx)).await {
                Some(Ok(n)) => n.min(data.len()),
                _ => return false,
            };
            if n == 0 {
                continue;
            }
            if self
                .send
                .send_data(Bytes::copy_from_slice(&data[..n]), false)
                .is_err()
            {
                return false;
            }
            data = &data[n..];
        }
        true
    }

    /// Echoes frames until the client's close (echoed too), then ends the
    /// stream. A ping is answered with a pong.
    pub(crate) async fn echo(mut self) {
        while let Some((b0, payload)) = self.read_frame().await {
            let b0 = if b0 & 0x0F == 9 { 0x8A } else { b0 };
            if !self.write(&frame(b0, &payload)).await {
                return;
            }
            if b0 & 0x0F == 8 {
                let _ = self.send.send_data(Bytes::new(), true);
                // Until the client ends its side.
                self.frames.until_end().await;
                return;
            }
        }
    }
}

/// A server frame (unmasked): `b0` is FIN/RSV/opcode.
pub(crate) use super::wire::frame;

/// The echo handler: 200 (with the first subprotocol offered, if any),
/// then [`Stream::echo`].
pub(crate) fn echo_handler() -> Handler {
    handler(|req, respond| async move {
        assert_eq!(req.method(), http::Method::CONNECT);
        let protocol = req
            .extensions()
            .get::<h2::ext::Protocol>()
            .map(|p| p.as_str().to_owned());
        assert_eq!(protocol.as_deref(), Some("websocket"));
        let offered = req
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|p| p.trim().to_owned());
        let headers: Vec<(&str, &str)> = match &offered {
            Some(p) => vec![("sec-websocket-protocol", p.as_str())],
            None => vec![],
        };
        Stream::answer(req, respond, &headers).echo().await;
    })
}

// ---- The client's side, for the tests that talk to these servers ------

use std::time::Duration;

use wsock::{
    Error, HttpVersion, HttpVersionPolicy, Message, MessageWebSocket, MessageWebSocketControl,
    Received,
};

pub(crate) fn control(policy: HttpVersionPolicy) -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.http_version = HttpVersion::Http2;
    c.http_version_policy = policy;
    c
}

pub(crate) fn exact() -> MessageWebSocketControl {
    control(HttpVersionPolicy::RequestVersionExact)
}

pub(crate) async fn recv(ws: &mut MessageWebSocket) -> Message {
    match ws.receive().await.unwrap() {
        Received::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// A receive that must fail, bounded so that a hang fails the test
/// instead of stalling it.
pub(crate) async fn receive_error(ws: &mut MessageWebSocket) -> Error {
    match tokio::time::timeout(Duration::from_secs(20), ws.receive()).await {
        Ok(Err(e)) => e,
        Ok(Ok(r)) => panic!("received {r:?}"),
        Err(_) => panic!("the receive hangs"),
    }
}

pub(crate) async fn echo_server() -> H2Server {
    start(Options::new(echo_handler())).await
}

pub(crate) async fn round_trips(ws: &mut MessageWebSocket, big: usize) {
    ws.send_text("Hello, world!").await.unwrap();
    assert_eq!(recv(ws).await.as_text().unwrap(), "Hello, world!");
    ws.send_binary(b"\x00\x01\xff").await.unwrap();
    assert_eq!(&recv(ws).await.data()[..], b"\x00\x01\xff");
    ws.send_text("").await.unwrap();
    assert_eq!(recv(ws).await.data().len(), 0);
    ws.send_binary(b"").await.unwrap();
    assert_eq!(recv(ws).await.data().len(), 0);
    let payload: Vec<u8> = (0..big).map(|i| (i % 253) as u8).collect();
    ws.send_binary(&payload).await.unwrap();
    assert!(
        recv(ws).await.data()[..] == payload[..],
        "{big} bytes differ"
    );
}

/// TLS options trusting `ca`: one configuration, so that sockets share.
pub(crate) fn tls_control(
    ca: &super::tls::Ca,
    policy: HttpVersionPolicy,
) -> MessageWebSocketControl {
    let mut c = control(policy);
    c.tls_client_config = Some(ca.client_config());
    c
}
