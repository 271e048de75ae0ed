//! The server role over HTTP/2 (RFC 8441): our [`Listener`] against the
//! `h2` crate's client, which opens extended CONNECTs by hand, with
//! WebSocket frames written and read here (not by wsock's core). h2 over
//! TLS chosen by ALPN, h2c by the connection preface (also sent a byte at
//! a time), HTTP/1.1 beside both on the same listener, many sockets on one
//! connection, refusals, SETTINGS_MAX_CONCURRENT_STREAMS, and a
//! connection that dies under its sockets. Loopback only.
#![cfg(all(
    feature = "server",
    feature = "http2",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wsock::server::{AcceptOptions, Incoming, Listener};
use wsock::{HttpVersion, MessageWebSocket, MessageWebSocketControl, Received};

use common::tls::Ca;

/// Echo on /ws (each socket also says which HTTP version it runs over on
/// `versions`: 1 or 2 when its information says the same as the request,
/// 0 when not), a page on /, 404 elsewhere.
async fn handle(incoming: Incoming, versions: mpsc::UnboundedSender<u8>) {
    match incoming.path() {
        "/ws" if incoming.is_upgrade() => {
            let version = incoming.http_version();
            if let Ok(ws) = incoming.accept(None).await {
                let _ = versions.send(match (version, ws.information().http_version()) {
                    (HttpVersion::Http2, HttpVersion::Http2) => 2,
                    (HttpVersion::Http11, HttpVersion::Http11) => 1,
                    // The information and the request disagree.
                    _ => 0,
                });
                common::echo(ws).await;
            }
        }
        "/ws" => drop(incoming.refuse().await),
        "/" => drop(incoming.respond(200, "text/html", b"<p>hi</p>").await),
        _ => drop(incoming.respond(404, "text/plain", b"not here\n").await),
    }
}

struct Server {
    addr: SocketAddr,
    versions: mpsc::UnboundedReceiver<u8>,
    errors: mpsc::UnboundedReceiver<String>,
}

async fn serve(listener: Listener) -> Server {
    let addr = listener.local_addr();
    let (etx, errors) = mpsc::unbounded_channel();
    listener.on_error(move |_, e| drop(etx.send(e.report().to_string())));
    let (vtx, versions) = mpsc::unbounded_channel();
    tokio::spawn(listener.serve(move |incoming| handle(incoming, vtx.clone())));
    Server {
        addr,
        versions,
        errors,
    }
}

async fn plain_server(options: AcceptOptions) -> Server {
    serve(Listener::bind("127.0.0.1:0", options).await.unwrap()).await
}

fn server_tls(ca: &Ca) -> Arc<rustls::ServerConfig> {
    let (leaf, key) = ca.leaf(&["localhost"], false);
    let config = rustls::ServerConfig::builder_with_provider(common::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)
        .unwrap();
    Arc::new(config)
}

async fn tls_server(ca: &Ca, options: AcceptOptions) -> Server {
    let listener = Listener::bind_tls("127.0.0.1:0", options, server_tls(ca));
    serve(listener.await.unwrap()).await
}

/// A TLS client connection offering `alpn`; returns it with what ALPN chose.
async fn tls_client(
    ca: &Ca,
    addr: SocketAddr,
    alpn: &[&[u8]],
) -> (tokio_rustls::client::TlsStream<TcpStream>, Option<Vec<u8>>) {
    let mut config = (*ca.client_config()).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let chosen = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    (tls, chosen)
}

/// An HTTP/2 client over `io`, its connection driven by a task of its own
/// (whose result the handle gives); returns once the server's SETTINGS are
/// in (a PING answered after them), and checks they allow extended CONNECT.
async fn h2_client<T>(
    io: T,
) -> (
    SendRequest<Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, mut conn) = h2::client::handshake(io).await.unwrap();
    let mut ping = conn.ping_pong().unwrap();
    let task = tokio::spawn(conn);
    ping.ping(h2::Ping::opaque()).await.unwrap();
    assert!(
        send.is_extended_connect_protocol_enabled(),
        "the server must announce SETTINGS_ENABLE_CONNECT_PROTOCOL"
    );
    (send, task)
}

/// An extended CONNECT for a WebSocket on `path` with `headers`; the
/// answer's status and headers, and the stream halves.
async fn connect(
    send: &mut SendRequest<Bytes>,
    path: &str,
    headers: &[(&str, &str)],
) -> (http::response::Parts, WsStream) {
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("https://localhost{path}"))
        .extension(h2::ext::Protocol::from_static("websocket"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(()).unwrap();
    let mut send = send.clone().ready().await.unwrap();
    let (response, stream) = send.send_request(request, false).unwrap();
    let (parts, recv) = response.await.unwrap().into_parts();
    let ws = WsStream {
        send: stream,
        recv,
        buf: BytesMut::new(),
    };
    (parts, ws)
}

const V13: (&str, &str) = ("sec-websocket-version", "13");

/// A WebSocket over one HTTP/2 stream, framed here by hand: masked client
/// frames out, server frames in.
struct WsStream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    buf: BytesMut,
}

impl WsStream {
    /// Sends one final frame with opcode `op`, masked with a key of our
    /// own (so a server that did not unmask would echo garbage).
    fn send_frame(&mut self, op: u8, payload: &[u8]) {
        let mut out = vec![0x80 | op];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.send.send_data(Bytes::from(out), false).unwrap();
    }

    async fn fill(&mut self, n: usize) -> bool {
        while self.buf.len() < n {
            match self.recv.data().await {
                Some(Ok(data)) => {
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.buf.extend_from_slice(&data);
                }
                _ => return false,
            }
        }
        true
    }

    /// The next server frame: its first byte and payload; `None` at the
    /// end of the stream.
    async fn read_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        if !self.fill(2).await {
            return None;
        }
        assert_eq!(self.buf[1] & 0x80, 0, "server frames are not masked");
        let (len, head) = match self.buf[1] & 0x7F {
            126 => {
                self.fill(4).await;
                (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
            }
            127 => {
                self.fill(10).await;
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.buf[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (n as usize, 2),
        };
        if !self.fill(head + len).await {
            return None;
        }
        let b0 = self.buf[0];
        self.buf.advance(head);
        Some((b0, self.buf.split_to(len).to_vec()))
    }

    /// Sends a text message and checks the echo.
    async fn echo_text(&mut self, text: &str) {
        self.send_frame(0x1, text.as_bytes());
        let (b0, payload) = self.read_frame().await.expect("an echo");
        assert_eq!(b0, 0x81);
        assert_eq!(payload, text.as_bytes());
    }

    /// Closes with 1000 and reads the answering close, then the end of the
    /// stream.
    async fn close(mut self) {
        self.send_frame(0x8, &1000u16.to_be_bytes());
        let (b0, payload) = self.read_frame().await.expect("a close");
        assert_eq!(b0, 0x88);
        assert_eq!(&payload[..2], &1000u16.to_be_bytes());
        let _ = self.send.send_data(Bytes::new(), true);
        assert!(
            self.read_frame().await.is_none(),
            "the stream ends after the close"
        );
    }
}

#[tokio::test]
async fn h2_over_tls_chosen_by_alpn_echoes() {
    let ca = Ca::new();
    let mut server = tls_server(&ca, AcceptOptions::default()).await;
    let (tls, alpn) = tls_client(&ca, server.addr, &[b"h2", b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let (mut h2, _conn) = h2_client(tls).await;
    let (answer, mut ws) = connect(&mut h2, "/ws", &[V13]).await;
    assert_eq!(answer.status, 200);
    assert!(
        !answer.headers.contains_key("sec-websocket-accept"),
        "RFC 8441 has no Sec-WebSocket-Accept"
    );
    ws.echo_text("over h2").await;
    assert_eq!(server.versions.recv().await, Some(2));
    ws.close().await;
    assert!(server.errors.try_recv().is_err());
}

#[tokio::test]
async fn h2c_chosen_by_the_preface_echoes() {
    let mut server = plain_server(AcceptOptions::default()).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let (answer, mut ws) = connect(&mut h2, "/ws", &[V13]).await;
    assert_eq!(answer.status, 200);
    ws.echo_text("over h2c").await;
    ws.send_frame(0x2, &[0, 1, 2, 255]);
    assert_eq!(ws.read_frame().await, Some((0x82, vec![0, 1, 2, 255])));
    ws.send_frame(0x1, &[]);
    assert_eq!(ws.read_frame().await, Some((0x81, vec![])));
    let big = vec![b'x'; 1 << 20];
    ws.send_frame(0x2, &big);
    assert_eq!(ws.read_frame().await, Some((0x82, big)));
    assert_eq!(server.versions.recv().await, Some(2));
    ws.close().await;
}

/// A byte stream that writes one byte per write call, each after a pause:
/// the preface (and all that follows) trickles in.
struct Trickle(TcpStream);

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Trickle {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let n = buf.len().min(1);
        let poll = std::pin::Pin::new(&mut self.0).poll_write(cx, &buf[..n]);
        if poll.is_ready() {
            // Not a timing assumption: it only spreads the bytes over
            // separate segments (nodelay is on).
            std::thread::sleep(Duration::from_millis(2));
        }
        poll
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn a_preface_sent_a_byte_at_a_time_is_still_http2() {
    let mut server = plain_server(AcceptOptions::default()).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    // Also proves that other connections are accepted meanwhile: an
    // HTTP/1.1 client is served while the trickle goes on.
    let slow = tokio::spawn(async move {
        let (mut h2, _conn) = h2_client(Trickle(tcp)).await;
        let (answer, mut ws) = connect(&mut h2, "/ws", &[V13]).await;
        assert_eq!(answer.status, 200);
        ws.echo_text("slowly").await;
    });
    let url = format!("ws://{}/ws", server.addr);
    let mut ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    ws.send_text("quick").await.unwrap();
    assert!(matches!(ws.receive().await.unwrap(), Received::Message(_)));
    assert_eq!(server.versions.recv().await, Some(1));
    slow.await.unwrap();
    assert_eq!(server.versions.recv().await, Some(2));
}

#[tokio::test]
async fn http1_requests_starting_like_the_preface_stay_http1() {
    let server = plain_server(AcceptOptions::default()).await;
    // "P" as in the preface, then not: an HTTP/1.1 request (a POST) whose
    // first bytes were read to tell must reach the HTTP/1.1 parser whole.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    for b in b"POST /nope HTTP/1.1\r\nHost: x\r\n\r\n" {
        tcp.write_all(&[*b]).await.unwrap();
    }
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
}

#[tokio::test]
async fn http1_and_h2_share_the_tls_listener() {
    let ca = Ca::new();
    let mut server = tls_server(&ca, AcceptOptions::default()).await;
    // A client offering only http/1.1 gets it; one offering neither (an
    // unknown protocol) or no ALPN at all gets HTTP/1.1 too, not a failed
    // handshake.
    for alpn in [&[&b"http/1.1"[..]][..], &[b"spdy/1"], &[]] {
        let (mut tls, chosen) = tls_client(&ca, server.addr, alpn).await;
        assert_ne!(chosen.as_deref(), Some(&b"h2"[..]));
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    }
    let (tls, _) = tls_client(&ca, server.addr, &[b"h2"]).await;
    let (mut h2, _conn) = h2_client(tls).await;
    let (_, mut ws) = connect(&mut h2, "/ws", &[V13]).await;
    ws.echo_text("h2 too").await;
    assert_eq!(server.versions.recv().await, Some(2));
}

#[tokio::test]
async fn the_page_and_other_methods_over_h2() {
    let server = plain_server(AcceptOptions::default()).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (h2, _conn) = h2_client(tcp).await;
    let get = |path: &str, method: http::Method| {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("http://localhost{path}"))
            .body(())
            .unwrap();
        let mut h2 = h2.clone();
        async move {
            h2 = h2.ready().await.unwrap();
            let (response, _) = h2.send_request(request, true).unwrap();
            let (parts, mut body) = response.await.unwrap().into_parts();
            let mut all = Vec::new();
            while let Some(chunk) = body.data().await {
                let chunk = chunk.unwrap();
                let _ = body.flow_control().release_capacity(chunk.len());
                all.extend_from_slice(&chunk);
            }
            (parts, all)
        }
    };
    let (page, body) = get("/", http::Method::GET).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-type"], "text/html");
    assert_eq!(page.headers["content-length"], "9");
    assert_eq!(body, b"<p>hi</p>");
    let (head, body) = get("/", http::Method::HEAD).await;
    assert_eq!(head.status, 200);
    assert!(body.is_empty());
    let (missing, _) = get("/elsewhere", http::Method::GET).await;
    assert_eq!(missing.status, 404);
    // A plain GET of the socket's path is not a WebSocket over HTTP/2.
    let (not_connect, _) = get("/ws", http::Method::GET).await;
    assert_eq!(not_connect.status, 405);
    assert_eq!(not_connect.headers["allow"], "CONNECT");
}

#[tokio::test]
async fn refusals_over_h2_have_the_http1_statuses() {
    let mut options = AcceptOptions::default();
    options.allowed_origins = vec!["https://good.example".into()];
    let server = plain_server(options).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, conn) = h2_client(tcp).await;
    let (bad_version, _) = connect(&mut h2, "/ws", &[("sec-websocket-version", "8")]).await;
    assert_eq!(bad_version.status, 426);
    assert_eq!(bad_version.headers["sec-websocket-version"], "13");
    let (no_version, _) = connect(&mut h2, "/ws", &[]).await;
    assert_eq!(no_version.status, 400);
    let (bad_origin, _) = connect(&mut h2, "/ws", &[V13, ("origin", "https://evil.example")]).await;
    assert_eq!(bad_origin.status, 403);
    // Refusals end their stream only: the connection still serves.
    let (ok, mut ws) = connect(&mut h2, "/ws", &[V13, ("origin", "https://good.example")]).await;
    assert_eq!(ok.status, 200);
    ws.echo_text("still here").await;
    assert!(!conn.is_finished());
}

#[tokio::test]
async fn many_sockets_share_one_h2_connection() {
    let mut server = plain_server(AcceptOptions::default()).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let mut sockets = Vec::new();
    for _ in 0..50 {
        let (answer, ws) = connect(&mut h2, "/ws", &[V13]).await;
        assert_eq!(answer.status, 200);
        sockets.push(ws);
    }
    for (i, ws) in sockets.iter_mut().enumerate() {
        ws.send_frame(0x1, format!("socket {i}").as_bytes());
    }
    for (i, ws) in sockets.iter_mut().enumerate().rev() {
        let (_, payload) = ws.read_frame().await.unwrap();
        assert_eq!(payload, format!("socket {i}").as_bytes());
    }
    // Closing one socket ends its stream only.
    let first = sockets.remove(0);
    first.close().await;
    for ws in &mut sockets {
        ws.echo_text("others live on").await;
    }
    for _ in 0..50 {
        assert_eq!(server.versions.recv().await, Some(2));
    }
}

#[tokio::test]
async fn max_concurrent_streams_is_announced_and_held() {
    let mut options = AcceptOptions::default();
    options.http2_max_concurrent_streams = 3;
    let server = plain_server(options).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let (answer, ws) = connect(&mut h2, "/ws", &[V13]).await;
        assert_eq!(answer.status, 200);
        sockets.push(ws);
    }
    // The client's h2 holds a fourth stream back until one ends: it is not
    // ready while three are open.
    let fourth = tokio::spawn({
        let mut h2 = h2.clone();
        async move { connect(&mut h2, "/ws", &[V13]).await }
    });
    tokio::task::yield_now().await;
    for ws in &mut sockets {
        ws.echo_text("three at once").await;
    }
    assert!(
        !fourth.is_finished(),
        "a fourth stream opened past the limit"
    );
    sockets.pop().unwrap().close().await;
    let (answer, mut ws) = fourth.await.unwrap();
    assert_eq!(answer.status, 200);
    ws.echo_text("after one closed").await;
}

#[tokio::test]
async fn sockets_fail_clearly_when_their_connection_dies() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    tokio::spawn(listener.serve(move |incoming| {
        let tx = tx.clone();
        async move {
            let mut ws = incoming.accept(None).await.unwrap();
            let _ = tx.send(ws.receive().await.map(|_| ()));
        }
    }));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut h2, conn) = h2_client(tcp).await;
    let (_, ws1) = connect(&mut h2, "/ws", &[V13]).await;
    let (_, ws2) = connect(&mut h2, "/ws", &[V13]).await;
    // The client vanishes: its connection task ends, its TCP closes.
    conn.abort();
    drop((h2, ws1, ws2));
    for _ in 0..2 {
        let outcome = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a socket hung on a dead connection")
            .unwrap();
        let e = outcome.expect_err("a dead connection is an error");
        assert!(!e.is_socket_usable(), "{}", e.report());
    }
}

/// Runs tests/peers/python/h2_ws_client.py (hyper-h2, an independent HTTP/2
/// client) against `port` with `args`; its output when it passed.
async fn python_h2_client(port: u16, args: &[&str]) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("target/peers/venv/bin/python");
    assert!(
        python.exists(),
        "the Python peers are not installed: run bash tests/peers/setup.sh first"
    );
    let run = tokio::process::Command::new(python)
        .arg(root.join("tests/peers/python/h2_ws_client.py"))
        .arg(port.to_string())
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the Python client hung")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.ends_with("PASSED\n"),
        "h2_ws_client.py {args:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `ca`'s certificate in a PEM file for the Python client.
fn ca_pem_file(ca: &Ca) -> std::path::PathBuf {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&ca.cert);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    let path = std::env::temp_dir().join(format!(
        "wsock-h2-ca-{}-{:?}.pem",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_server -- --ignored"]
async fn python_h2_client_over_tls_with_alpn() {
    let ca = Ca::new();
    let mut server = tls_server(&ca, AcceptOptions::default()).await;
    let pem = ca_pem_file(&ca);
    let out = python_h2_client(server.addr.port(), &["--tls", pem.to_str().unwrap()]).await;
    let _ = std::fs::remove_file(pem);
    assert!(out.contains("alpn: h2"), "{out}");
    assert_eq!(server.versions.recv().await, Some(2));
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_server -- --ignored"]
async fn python_h2_client_h2c_many_streams() {
    let mut server = plain_server(AcceptOptions::default()).await;
    let out = python_h2_client(server.addr.port(), &["--streams", "40"]).await;
    assert!(out.contains("open: 40 streams"), "{out}");
    for _ in 0..40 {
        assert_eq!(server.versions.recv().await, Some(2));
    }
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_server -- --ignored"]
async fn python_h2_client_refused_with_http1_statuses() {
    let mut options = AcceptOptions::default();
    options.allowed_origins = vec!["https://good.example".into()];
    let server = plain_server(options).await;
    let port = server.addr.port();
    python_h2_client(
        port,
        &[
            "--header",
            "origin: https://evil.example",
            "--expect-status",
            "403",
        ],
    )
    .await;
    python_h2_client(
        port,
        &[
            "--header",
            "sec-websocket-version: 8",
            "--expect-status",
            "426",
        ],
    )
    .await;
    python_h2_client(port, &["--path", "/elsewhere", "--expect-status", "404"]).await;
}

#[tokio::test]
async fn waiting_hand_overs_do_not_stall_open_sockets() {
    // The application takes one socket, then stops calling accept: the
    // listener's queue fills up with CONNECTs, and the connection's task
    // must go on moving the first socket's frames meanwhile.
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let first = tokio::spawn(async move {
        let ws = listener.accept().await.unwrap().accept(None).await.unwrap();
        tokio::spawn(common::echo(ws));
        // Keeps the listener (and its queue) alive, never accepting again.
        std::future::pending::<()>().await;
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let (answer, mut ws) = connect(&mut h2, "/ws", &[V13]).await;
    assert_eq!(answer.status, 200);
    let mut waiting = Vec::new();
    for _ in 0..90 {
        let mut h2 = h2.clone();
        waiting.push(tokio::spawn(async move {
            connect(&mut h2, "/ws", &[V13]).await;
        }));
    }
    for i in 0..20 {
        let text = format!("{i}");
        tokio::time::timeout(Duration::from_secs(10), ws.echo_text(&text))
            .await
            .expect("an open socket stalled behind waiting hand-overs");
    }
    assert!(waiting.iter().all(|w| !w.is_finished()));
    first.abort();
}

#[tokio::test]
async fn an_idle_h2_connection_is_closed_after_the_request_timeout() {
    let mut options = AcceptOptions::default();
    options.request_timeout = Some(Duration::from_millis(200));
    let server = plain_server(options).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (h2, conn) = h2_client(tcp).await;
    // A socket keeps it open past the timeout...
    let (_, mut ws) = connect(&mut h2.clone(), "/ws", &[V13]).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    ws.echo_text("still open").await;
    // ...and once the last stream is gone, the server says GOAWAY.
    // (The client keeps its handle: it would close an unused connection
    // by itself otherwise.)
    ws.close().await;
    let end = tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("an idle HTTP/2 connection was kept open")
        .unwrap();
    assert!(end.is_ok(), "{end:?}");
    drop(h2);
}

#[tokio::test]
async fn sockets_outlive_a_dropped_listener() {
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let connecting = tokio::spawn({
        let mut h2 = h2.clone();
        async move { connect(&mut h2, "/ws", &[V13]).await }
    });
    let ws = listener.accept().await.unwrap().accept(None).await.unwrap();
    tokio::spawn(common::echo(ws));
    let (_, mut client) = connecting.await.unwrap();
    drop(listener);
    client.echo_text("the listener is gone").await;
    // A new stream is not handed to anyone: it is refused, not left open.
    let mut send = h2.clone().ready().await.unwrap();
    let request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri("http://localhost/ws")
        .extension(h2::ext::Protocol::from_static("websocket"))
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    let (response, _stream) = send.send_request(request, false).unwrap();
    let refused = tokio::time::timeout(Duration::from_secs(10), response).await;
    assert!(refused.expect("a stream was left hanging").is_err());
    client.echo_text("and the socket lives on").await;
    client.close().await;
    let _ = &mut h2;
}
