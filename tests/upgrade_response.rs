//! The server's 101 answer, readable from both sockets' information:
//! status, reason phrase, every header in order with repeats, values as
//! sent. Against a raw server that adds headers of its own (our server
//! role writes only the handshake's), through a redirect (the final 101
//! counts), from our server role's side, and against Python's
//! `websockets` (ignored unless the interop peers are installed).
#![cfg(feature = "server")]

mod common;

use std::net::SocketAddr;

use common::raw::{raw_server, read_upgrade};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wsock::handshake::server::write_accept;
use wsock::server::{self, AcceptOptions};
use wsock::{MessageWebSocket, MessageWebSocketControl, StreamWebSocket, UpgradeResponse};

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// The headers the test servers add after the handshake's own.
const EXTRA: [(&str, &str); 4] = [
    ("Set-Cookie", "a=b"),
    ("Server", "raw-test/1.0"),
    ("Set-Cookie", "c=d; Path=/; HttpOnly"),
    ("X-Custom", "  spaced value:with colon"),
];

/// A server that accepts every upgrade with [`EXTRA`] after the
/// handshake's headers, then waits for the client to go.
async fn server_with_extra_headers() -> SocketAddr {
    raw_server(|mut tcp| async move {
        let key = read_upgrade(&mut tcp).await;
        let mut out = Vec::new();
        write_accept(&key, None, None, &owned(&EXTRA), &mut out);
        tcp.write_all(&out).await.unwrap();
        let mut sink = tokio::io::sink();
        let _ = tokio::io::copy(&mut tcp, &mut sink).await;
    })
    .await
}

/// What a client must see of the answer [`server_with_extra_headers`]
/// sends, for `key`-independent headers (the accept value is checked by
/// the handshake itself).
fn assert_extra_headers(r: &UpgradeResponse) {
    assert_eq!(r.status(), 101);
    assert_eq!(r.reason(), "Switching Protocols");
    let names: Vec<&str> = r.headers().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Accept",
            "Set-Cookie",
            "Server",
            "Set-Cookie",
            "X-Custom",
        ]
    );
    let extra: Vec<(&str, &str)> = r.headers().skip(3).collect();
    // httparse drops the spaces before a value, as HTTP says to.
    assert_eq!(
        extra,
        [
            ("Set-Cookie", "a=b"),
            ("Server", "raw-test/1.0"),
            ("Set-Cookie", "c=d; Path=/; HttpOnly"),
            ("X-Custom", "spaced value:with colon"),
        ]
    );
    let cookies: Vec<&str> = r.header_values("set-cookie").collect();
    assert_eq!(cookies, ["a=b", "c=d; Path=/; HttpOnly"]);
    assert_eq!(r.header("SERVER"), Some("raw-test/1.0"));
    assert_eq!(r.header("upgrade"), Some("websocket"));
}

#[tokio::test]
async fn the_message_socket_shows_every_header_of_the_101_in_order() {
    let addr = server_with_extra_headers().await;
    let ws = MessageWebSocket::connect(&format!("ws://{addr}/"), Default::default())
        .await
        .unwrap();
    let info = ws.information();
    assert_eq!(info.http_status(), 101);
    assert_extra_headers(info.http_response());
    assert!(
        info.http_response_headers()
            .eq(info.http_response().headers())
    );
    // The halves keep the same answer.
    let (tx, _rx) = ws.split();
    assert_extra_headers(tx.information().http_response());
}

#[tokio::test]
async fn the_stream_socket_shows_every_header_of_the_101_in_order() {
    let addr = server_with_extra_headers().await;
    let ws = StreamWebSocket::connect(&format!("ws://{addr}/"), Default::default())
        .await
        .unwrap();
    let info = ws.information();
    assert_eq!(info.http_status(), 101);
    assert_extra_headers(info.http_response());
    assert_eq!(info.http_response_headers().count(), 7);
}

#[tokio::test]
async fn after_a_redirect_the_headers_are_the_final_101s() {
    let target = server_with_extra_headers().await;
    let redirect = raw_server(move |mut tcp| async move {
        let _ = read_upgrade(&mut tcp).await;
        let answer = format!(
            "HTTP/1.1 302 Found\r\nLocation: ws://{target}/\r\nSet-Cookie: from=redirect\r\n\
             X-Hop: first\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = tcp.write_all(answer.as_bytes()).await;
    })
    .await;
    let mut control = MessageWebSocketControl::default();
    control.max_redirects = 1;
    let ws = MessageWebSocket::connect(&format!("ws://{redirect}/"), control)
        .await
        .unwrap();
    let r = ws.information().http_response();
    assert_extra_headers(r);
    assert_eq!(r.header("x-hop"), None);
}

#[tokio::test]
async fn a_server_role_socket_shows_the_101_it_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = tokio::spawn(async move {
        let mut control = MessageWebSocketControl::default();
        control.supported_protocols.push("chat".into());
        let ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control)
            .await
            .unwrap();
        let r = ws.information().http_response().clone();
        drop(ws);
        r
    });
    let (tcp, _) = listener.accept().await.unwrap();
    let incoming = server::read_request(tcp, AcceptOptions::default())
        .await
        .unwrap();
    let ws = incoming.accept(Some("chat")).await.unwrap();
    let sent = ws.information().http_response().clone();
    let received = client.await.unwrap();
    // What the server role wrote is what the client read, line for line.
    assert_eq!(sent, received);
    assert_eq!(sent.header("sec-websocket-protocol"), Some("chat"));
    assert_eq!(sent.status(), 101);
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn python_websockets_101_names_its_server() {
    let peer = common::peer("python").await;
    let ws = MessageWebSocket::connect(&peer.url("/"), Default::default())
        .await
        .unwrap();
    let r = ws.information().http_response();
    assert_eq!(r.status(), 101);
    // websockets sends `Server: Python/3.x websockets/N` by default.
    let server = r.header("server").expect("a Server header");
    assert!(server.contains("websockets"), "{server:?}");
    assert!(r.header("sec-websocket-accept").is_some(), "{r:?}");
}
