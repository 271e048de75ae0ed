//! The server role over HTTP/2 (RFC 8441) against independent and our own
//! clients: hyper-h2 (tests/peers/python/h2_ws_client.py, ignored
//! without the interop peers) over TLS with ALPN and h2c, and wsock's own
//! client (HttpVersion::Http2), whose sockets share one connection.
#![cfg(all(
    feature = "server",
    feature = "http2",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod common;

use std::time::Duration;

use tokio::sync::mpsc;
use wsock::server::{AcceptOptions, Listener};
use wsock::{
    DeflateOptions, HttpVersion, HttpVersionPolicy, MessageWebSocket, MessageWebSocketControl,
    Received, WebErrorStatus,
};

use common::h2ws::{plain_server, server_tls, tls_server};
use common::tls::Ca;

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
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_server_peers -- --ignored"]
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
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_server_peers -- --ignored"]
async fn python_h2_client_h2c_many_streams() {
    let mut server = plain_server(AcceptOptions::default()).await;
    let out = python_h2_client(server.addr.port(), &["--streams", "40"]).await;
    assert!(out.contains("open: 40 streams"), "{out}");
    for _ in 0..40 {
        assert_eq!(server.versions.recv().await, Some(2));
    }
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_server_peers -- --ignored"]
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

/// Our own client, asking for HTTP/2 (or lower) and trusting `ca`.
fn our_client(ca: Option<&Ca>) -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.http_version = HttpVersion::Http2;
    c.http_version_policy = HttpVersionPolicy::RequestVersionOrLower;
    c.tls_client_config = ca.map(Ca::client_config);
    c
}

/// A listener that echoes on every upgrade, choosing the subprotocol
/// "chat" when offered, and reports each request's client address (one
/// per TCP connection) on the channel.
async fn counting_server(
    options: AcceptOptions,
    tls: Option<&Ca>,
) -> (
    std::net::SocketAddr,
    mpsc::UnboundedReceiver<std::net::SocketAddr>,
) {
    let listener = match tls {
        Some(ca) => Listener::bind_tls("127.0.0.1:0", options, server_tls(ca)).await,
        None => Listener::bind("127.0.0.1:0", options).await,
    }
    .unwrap();
    let addr = listener.local_addr();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(listener.serve(move |incoming| {
        let _ = tx.send(incoming.peer_addr().unwrap());
        async move {
            let chat = incoming.offered_protocols().iter().any(|p| p == "chat");
            if let Ok(ws) = incoming.accept(chat.then_some("chat")).await {
                common::echo(ws).await;
            }
        }
    }));
    (addr, rx)
}

async fn recv(ws: &mut MessageWebSocket) -> Vec<u8> {
    match ws.receive().await.unwrap() {
        Received::Message(m) => m.data().to_vec(),
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn our_client_over_tls_shares_one_h2_connection() {
    let ca = Ca::new();
    let (addr, mut peers) = counting_server(AcceptOptions::default(), Some(&ca)).await;
    let url = format!("wss://localhost:{}/ws", addr.port());
    let control = our_client(Some(&ca));
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets.push(
            MessageWebSocket::connect(&url, control.clone())
                .await
                .unwrap(),
        );
    }
    let first = peers.recv().await.unwrap();
    for _ in 1..20 {
        assert_eq!(
            peers.recv().await.unwrap(),
            first,
            "a second TCP connection"
        );
    }
    for (i, ws) in sockets.iter_mut().enumerate() {
        assert_eq!(ws.information().http_version(), HttpVersion::Http2);
        assert_eq!(ws.information().http_status(), 200);
        ws.send_text(&format!("socket {i}")).await.unwrap();
    }
    for (i, ws) in sockets.iter_mut().enumerate().rev() {
        assert_eq!(recv(ws).await, format!("socket {i}").as_bytes());
    }
    let ws = &mut sockets[0];
    for payload in [Vec::new(), vec![0, 1, 255], vec![7; 16 << 20]] {
        ws.send_binary(&payload).await.unwrap();
        assert!(recv(ws).await == payload, "{} bytes differ", payload.len());
    }
    ws.send_text("").await.unwrap();
    assert!(recv(ws).await.is_empty());
    // Closing one socket ends its stream only.
    let mut closed = sockets.remove(0);
    closed.close(1000, "bye").await.unwrap();
    for ws in &mut sockets {
        ws.send_text("still open").await.unwrap();
        assert_eq!(recv(ws).await, b"still open");
    }
}

#[tokio::test]
async fn our_client_over_h2c_agrees_subprotocol_and_deflate() {
    let mut options = AcceptOptions::default();
    options.deflate = Some(DeflateOptions::default());
    let (addr, _peers) = counting_server(options, None).await;
    let mut control = our_client(None);
    // ws:// speaks HTTP/2 only with prior knowledge: exact.
    control.http_version_policy = HttpVersionPolicy::RequestVersionExact;
    control.deflate = Some(DeflateOptions::default());
    control.supported_protocols.push("chat".into());
    let url = format!("ws://{addr}/ws");
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http2);
    assert_eq!(ws.information().protocol(), Some("chat"));
    assert!(
        ws.information().deflate().is_some(),
        "permessage-deflate agreed"
    );
    let text = "compressible ".repeat(1000);
    ws.send_text(&text).await.unwrap();
    assert_eq!(recv(&mut ws).await, text.as_bytes());
}

#[tokio::test]
async fn our_client_refused_over_h2_gets_the_http1_status() {
    let mut options = AcceptOptions::default();
    options.allowed_origins = vec!["https://good.example".into()];
    let (addr, _peers) = counting_server(options, None).await;
    let url = format!("ws://{addr}/ws");
    let mut control = our_client(None);
    control.http_version_policy = HttpVersionPolicy::RequestVersionExact;
    control
        .set_request_header("Origin", "https://evil.example")
        .unwrap();
    let e = MessageWebSocket::connect(&url, control).await.unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::Forbidden, "{}", e.report());
    assert_eq!(e.http_response().unwrap().status, 403);
}

#[tokio::test]
async fn without_http2_on_the_listener_our_client_falls_back() {
    let ca = Ca::new();
    let mut options = AcceptOptions::default();
    options.http2 = false;
    let (addr, _peers) = counting_server(options, Some(&ca)).await;
    let url = format!("wss://localhost:{}/ws", addr.port());
    let mut ws = MessageWebSocket::connect(&url, our_client(Some(&ca)))
        .await
        .unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http11);
    ws.send_text("over HTTP/1.1").await.unwrap();
    assert_eq!(recv(&mut ws).await, b"over HTTP/1.1");
}
