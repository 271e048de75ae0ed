//! The server role over HTTP/2 (RFC 8441): our [`Listener`] against the
//! `h2` crate's client, which opens extended CONNECTs by hand, with
//! WebSocket frames written and read here (tests/common/h2ws.rs, not
//! wsock's core). h2 over TLS chosen by ALPN, h2c by the connection
//! preface (also sent a byte at a time), HTTP/1.1 beside both on the same
//! listener, the page and other methods, refusals and many sockets on one
//! connection. Limits, failures and lifetimes are in
//! tests/http2_server_limits.rs. Loopback only.
#![cfg(all(
    feature = "server",
    feature = "http2",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod common;

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use wsock::server::AcceptOptions;
use wsock::{MessageWebSocket, MessageWebSocketControl, Received};

use common::h2ws::{V13, connect, h2_client, plain_server, tls_client, tls_server};
use common::tls::Ca;

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

/// How many of the client's first bytes [`Trickle`] sends one at a time.
const TRICKLED: usize = 40;
/// Where [`Trickle`] stops until its gate opens: in the middle of the
/// preface.
const GATE_AT: usize = 8;

/// A client stream whose first [`TRICKLED`] bytes leave one per write,
/// each after a pause of its own (the task yields, so the server reads
/// them as they come), stopping before byte [`GATE_AT`] until `gate` is
/// sent to.
struct Trickle {
    tcp: TcpStream,
    written: usize,
    gate: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Trickle {
    fn new(tcp: TcpStream, gate: oneshot::Receiver<()>) -> Trickle {
        Trickle {
            tcp,
            written: 0,
            gate: Some(Box::pin(async move {
                let _ = gate.await;
            })),
            pause: None,
        }
    }
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Trickle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        if this.written >= TRICKLED {
            return Pin::new(&mut this.tcp).poll_write(cx, buf);
        }
        if this.written == GATE_AT
            && let Some(gate) = &mut this.gate
        {
            ready!(gate.as_mut().poll(cx));
            this.gate = None;
        }
        if let Some(pause) = &mut this.pause {
            ready!(pause.as_mut().poll(cx));
            this.pause = None;
        }
        let n = ready!(Pin::new(&mut this.tcp).poll_write(cx, &buf[..buf.len().min(1)]))?;
        this.written += n;
        this.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(1))));
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn a_preface_sent_a_byte_at_a_time_is_still_http2() {
    let mut server = plain_server(AcceptOptions::default()).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (open, gate) = oneshot::channel();
    let slow = tokio::spawn(async move {
        let (mut h2, _conn) = h2_client(Trickle::new(tcp, gate)).await;
        let (answer, mut ws) = connect(&mut h2, "/ws", &[V13]).await;
        assert_eq!(answer.status, 200);
        ws.echo_text("slowly").await;
    });
    // While that client sits in the middle of its preface, the listener
    // serves others: an HTTP/1.1 client gets its socket.
    let url = format!("ws://{}/ws", server.addr);
    let mut ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    ws.send_text("quick").await.unwrap();
    assert!(matches!(ws.receive().await.unwrap(), Received::Message(_)));
    assert_eq!(server.versions.recv().await, Some(1));
    assert!(!slow.is_finished(), "the gate is still shut");
    // Then the rest of the preface trickles in, and it is HTTP/2 all the
    // same: no byte was lost or misjudged.
    open.send(()).unwrap();
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
