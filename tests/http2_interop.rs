//! WebSockets over HTTP/2 (RFC 8441) against an independent server:
//! Python's hypercorn with a small ASGI app (tests/peers/python/h2_echo.py),
//! installed by tests/peers/setup.sh (which .ci/run calls), over TLS with
//! ALPN and over h2c with prior knowledge.
//!
//! Ignored by a plain `cargo test`; with the peers installed:
//! `cargo test --test http2_interop -- --ignored`.
#![cfg(feature = "http2")]

mod common;

use std::path::PathBuf;

use base64::Engine;
use wsock::{
    HttpVersion, HttpVersionPolicy, Message, MessageWebSocket, MessageWebSocketControl, Received,
    WebErrorStatus,
};

const NEEDS: &str = "needs the interop peers: bash tests/peers/setup.sh, then \
                     cargo test --test http2_interop -- --ignored";

fn control(policy: HttpVersionPolicy) -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.http_version = HttpVersion::Http2;
    c.http_version_policy = policy;
    c
}

async fn recv(ws: &mut MessageWebSocket) -> Message {
    match ws.receive().await.unwrap() {
        Received::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Text, binary, empty and 16 MiB messages, each echoed as sent.
async fn round_trips(ws: &mut MessageWebSocket) {
    ws.send_text("Hello, world!").await.unwrap();
    let m = recv(ws).await;
    assert_eq!(m.as_text().unwrap(), "Hello, world!");
    ws.send_binary(b"\x00\x01\xff").await.unwrap();
    assert_eq!(&recv(ws).await.data()[..], b"\x00\x01\xff");
    ws.send_text("").await.unwrap();
    assert_eq!(recv(ws).await.data().len(), 0);
    ws.send_binary(b"").await.unwrap();
    assert_eq!(recv(ws).await.data().len(), 0);
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i % 253) as u8).collect();
    ws.send_binary(&big).await.unwrap();
    assert!(recv(ws).await.data()[..] == big[..], "16 MiB echo differs");
}

/// The one text message `path` sends.
async fn ask(url: &str, c: MessageWebSocketControl) -> String {
    let mut ws = MessageWebSocket::connect(url, c).await.unwrap();
    recv(&mut ws).await.as_text().unwrap().to_owned()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// hypercorn over TLS with a certificate for `localhost` from `ca`.
async fn tls_peer(ca: &common::tls::Ca) -> (common::Peer, PathBuf) {
    let (leaf, key) = ca.leaf(&["localhost"], false);
    let dir =
        std::env::temp_dir().join(format!("wsock-h2-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, pem("CERTIFICATE", &leaf)).unwrap();
    std::fs::write(&key_path, pem("PRIVATE KEY", key.secret_der())).unwrap();
    let peer = common::peer_with(
        "hypercorn",
        &[
            "--certfile",
            cert_path.to_str().unwrap(),
            "--keyfile",
            key_path.to_str().unwrap(),
        ],
    )
    .await;
    (peer, dir)
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_interop -- --ignored"]
async fn hypercorn_over_h2c_with_prior_knowledge() {
    let _ = NEEDS;
    let peer = common::peer("hypercorn").await;
    let exact = || control(HttpVersionPolicy::RequestVersionExact);
    let mut c = exact();
    c.supported_protocols = vec!["chat".into()];
    let mut ws = MessageWebSocket::connect(&peer.url("/"), c).await.unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http2);
    assert_eq!(ws.information().protocol(), Some("chat"));
    round_trips(&mut ws).await;
    assert_eq!(ask(&peer.url("/version"), exact()).await, "2");
    ws.close(1000, "bye").await.unwrap();
    // The default (HTTP/1.1) still upgrades at the same server.
    let ws = MessageWebSocket::connect(&peer.url("/"), Default::default())
        .await
        .unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http11);
    assert_eq!(ask(&peer.url("/version"), Default::default()).await, "1.1");
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_interop -- --ignored"]
async fn hypercorn_over_tls_with_alpn() {
    let ca = common::tls::Ca::new();
    let (peer, dir) = tls_peer(&ca).await;
    let url = |path: &str| format!("wss://localhost:{}{path}", peer.port);
    let config = ca.client_config();
    let tls = |policy| {
        let mut c = control(policy);
        c.tls_client_config = Some(config.clone());
        c
    };
    let mut ws =
        MessageWebSocket::connect(&url("/"), tls(HttpVersionPolicy::RequestVersionOrLower))
            .await
            .unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http2);
    assert!(ws.information().server_certificate().is_some());
    round_trips(&mut ws).await;
    let exact = tls(HttpVersionPolicy::RequestVersionExact);
    assert_eq!(ask(&url("/version"), exact).await, "2");
    ws.close(1000, "").await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// 100 sockets open at once share one TCP connection: hypercorn counts
/// the client connections that carried WebSocket requests.
#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_interop -- --ignored"]
async fn hypercorn_sees_one_connection_for_100_sockets() {
    let ca = common::tls::Ca::new();
    let (peer, dir) = tls_peer(&ca).await;
    let url = format!("wss://localhost:{}/", peer.port);
    let mut c = control(HttpVersionPolicy::RequestVersionExact);
    c.tls_client_config = Some(ca.client_config());
    let opening = (0..100).map(|_| MessageWebSocket::connect(&url, c.clone()));
    let mut sockets: Vec<MessageWebSocket> = futures_util::future::join_all(opening)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (i, ws) in sockets.iter_mut().enumerate() {
        ws.send_text(&format!("socket {i}")).await.unwrap();
    }
    for (i, ws) in sockets.iter_mut().enumerate() {
        assert_eq!(recv(ws).await.as_text().unwrap(), format!("socket {i}"));
    }
    let count = ask(&format!("wss://localhost:{}/count", peer.port), c.clone()).await;
    assert_eq!(count, "1", "TCP connections for 100 sockets and /count");
    for ws in &mut sockets {
        ws.close(1000, "").await.unwrap();
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_interop -- --ignored"]
async fn hypercorn_refuses_with_403_and_404() {
    let peer = common::peer("hypercorn").await;
    let exact = || control(HttpVersionPolicy::RequestVersionExact);
    let e = MessageWebSocket::connect(&peer.url("/forbidden"), exact())
        .await
        .unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::Forbidden, "{}", e.report());
    assert_eq!(e.http_response().unwrap().status, 403);
    let e = MessageWebSocket::connect(&peer.url("/missing"), exact())
        .await
        .unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::NotFound, "{}", e.report());
    let response = e.http_response().unwrap();
    assert_eq!(&response.body[..], b"no such socket");
}

/// permessage-deflate is offered and agreed in the extended CONNECT as in
/// the upgrade; compressed messages cross the stream.
#[cfg(feature = "deflate")]
#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test --test http2_interop -- --ignored"]
async fn hypercorn_agrees_to_permessage_deflate_over_http2() {
    let peer = common::peer("hypercorn").await;
    let mut c = control(HttpVersionPolicy::RequestVersionExact);
    c.deflate = Some(wsock::DeflateOptions::default());
    let mut ws = MessageWebSocket::connect(&peer.url("/"), c).await.unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http2);
    assert!(ws.information().deflate().is_some());
    let text = "compressible ".repeat(10_000);
    ws.send_text(&text).await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), text);
    // Compressed, the message took far fewer bytes than its length.
    assert!(
        ws.information().bytes_sent() < 10_000,
        "{}",
        ws.information().bytes_sent()
    );
    ws.close(1000, "").await.unwrap();
}
