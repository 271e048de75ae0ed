//! permessage-deflate over loopback: our client against our server, and
//! against Python's `websockets` and Node's `ws` with compression on.
#![cfg(all(feature = "server", feature = "deflate"))]

mod common;

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wsock::server::{self, AcceptOptions};
use wsock::{
    DeflateConfig, DeflateOptions, Message, MessageType, MessageWebSocket, MessageWebSocketControl,
    MessageWebSocketReceiveMode, Received, StreamWebSocket, StreamWebSocketControl, WebErrorStatus,
};

async fn recv(ws: &mut MessageWebSocket) -> Message {
    match ws.receive().await.unwrap() {
        Received::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Our echo server; each accepted socket reports what it agreed to.
async fn server(
    deflate: Option<DeflateOptions>,
) -> (SocketAddr, mpsc::Receiver<Option<DeflateConfig>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let mut options = AcceptOptions::default();
            options.deflate = deflate.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(ws) = server::accept(tcp, options).await else {
                    return;
                };
                let _ = tx.send(ws.information().deflate().copied()).await;
                common::echo(ws).await;
            });
        }
    });
    (addr, rx)
}

fn control(deflate: Option<DeflateOptions>) -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.deflate = deflate;
    c
}

/// Text that compresses well.
fn text(len: usize, seed: usize) -> String {
    let words = [
        "permessage ",
        "deflate ",
        "window ",
        "context ",
        "takeover\n",
    ];
    let mut s = String::with_capacity(len + 16);
    let mut i = seed;
    while s.len() < len {
        s.push_str(words[i % words.len()]);
        i = i.wrapping_mul(7).wrapping_add(3);
    }
    s.truncate(len);
    s
}

/// Messages of every shape through an echo: whole and in pieces, text and
/// binary, empty, large, repeated (context takeover), in both receive modes.
/// Returns the bytes the client sent.
async fn exchange(url: &str, control: MessageWebSocketControl) -> MessageWebSocket {
    let mut ws = MessageWebSocket::connect(url, control).await.unwrap();
    for i in 0..5 {
        let t = text(100 + i * 1000, i);
        ws.send_text(&t).await.unwrap();
        assert_eq!(recv(&mut ws).await.as_text().unwrap(), t);
        // The same again: with context takeover it costs a few bytes.
        ws.send_text(&t).await.unwrap();
        assert_eq!(recv(&mut ws).await.as_text().unwrap(), t);
    }
    // One message sent uncompressed between compressed ones: the peer
    // takes it as it is, and the compression context goes on around it.
    let t = text(2000, 7);
    ws.send_message(&Message::text(t.clone()).without_compression())
        .await
        .unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), t);
    ws.send_text(&t).await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), t);
    ws.send_text("").await.unwrap();
    assert_eq!(recv(&mut ws).await.data().len(), 0);
    ws.send_binary(b"").await.unwrap();
    assert_eq!(recv(&mut ws).await.data().len(), 0);
    let noise: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    ws.send_binary(&noise).await.unwrap();
    let m = recv(&mut ws).await;
    assert_eq!(m.message_type(), MessageType::Binary);
    assert!(m.data()[..] == noise[..]);
    let big = text(1 << 20, 1);
    ws.send_text(&big).await.unwrap();
    assert!(recv(&mut ws).await.as_text().unwrap() == big);
    // A message in pieces (each piece compressed and flushed).
    ws.set_message_type(MessageType::Utf8);
    ws.send_nonfinal_frame(b"Hello, ").await.unwrap();
    ws.send_nonfinal_frame(b"").await.unwrap();
    ws.send_final_frame(b"world").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "Hello, world");
    {
        let mut w = ws.message_writer();
        for i in 0..50 {
            w.write_all(text(3000, i).as_bytes()).await.unwrap();
        }
        w.shutdown().await.unwrap();
    }
    let whole: String = (0..50).map(|i| text(3000, i)).collect();
    assert!(recv(&mut ws).await.as_text().unwrap() == whole);
    ws
}

#[tokio::test]
async fn our_client_and_server_with_context_takeover() {
    let (addr, mut agreed) = server(Some(DeflateOptions::default())).await;
    let url = format!("ws://{addr}/");
    let mut ws = exchange(&url, control(Some(DeflateOptions::default()))).await;
    let on_server = agreed.recv().await.unwrap().expect("server agreed");
    let on_client = *ws.information().deflate().expect("client agreed");
    assert_eq!(on_client, DeflateConfig::default());
    assert_eq!(on_server, on_client);
    // Everything went compressed: far fewer bytes than the 4 MiB message.
    assert!(
        ws.information().bytes_sent() < 1 << 20,
        "{}",
        ws.information().bytes_sent()
    );
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn our_client_and_server_without_context_takeover() {
    let mut offer = DeflateOptions::default();
    offer.server_no_context_takeover = true;
    offer.client_no_context_takeover = true;
    offer.server_max_window_bits = Some(10);
    offer.client_max_window_bits = Some(9);
    let (addr, mut agreed) = server(Some(DeflateOptions::default())).await;
    let mut ws = exchange(&format!("ws://{addr}/"), control(Some(offer))).await;
    let on_server = agreed.recv().await.unwrap().unwrap();
    let on_client = *ws.information().deflate().unwrap();
    assert!(on_client.server_no_context_takeover && on_client.client_no_context_takeover);
    assert_eq!(
        (
            on_client.server_max_window_bits,
            on_client.client_max_window_bits
        ),
        (10, 9)
    );
    assert!(on_server.server_no_context_takeover);
    assert_eq!(on_server.server_max_window_bits, 10);
    ws.close(1000, "").await.unwrap();

    // The server asks the client to drop its context, with 8-bit windows
    // both ways (this side sends stored blocks then).
    let mut policy = DeflateOptions::default();
    policy.client_no_context_takeover = true;
    policy.server_max_window_bits = Some(8);
    policy.client_max_window_bits = Some(8);
    let (addr, mut agreed) = server(Some(policy)).await;
    let mut ws = exchange(
        &format!("ws://{addr}/"),
        control(Some(DeflateOptions::default())),
    )
    .await;
    let on_server = agreed.recv().await.unwrap().unwrap();
    let on_client = *ws.information().deflate().unwrap();
    assert_eq!(on_client, on_server);
    assert!(on_client.client_no_context_takeover && !on_client.server_no_context_takeover);
    assert_eq!(
        (
            on_client.server_max_window_bits,
            on_client.client_max_window_bits
        ),
        (8, 8)
    );
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn partial_messages_are_inflated_piece_by_piece() {
    let (addr, _agreed) = server(Some(DeflateOptions::default())).await;
    let mut c = control(Some(DeflateOptions::default()));
    c.receive_mode = MessageWebSocketReceiveMode::PartialMessage;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    ws.set_message_type(MessageType::Utf8);
    ws.send_nonfinal_frame("Grüße, ".as_bytes()).await.unwrap();
    ws.send_final_frame("Welt".as_bytes()).await.unwrap();
    // Our server echoes the whole message as one frame.
    let m = recv(&mut ws).await;
    assert!(m.is_message_complete());
    assert_eq!(m.as_text().unwrap(), "Grüße, Welt");
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn declined_or_not_offered_means_uncompressed() {
    // The server declines.
    let (addr, mut agreed) = server(None).await;
    let mut ws = exchange(
        &format!("ws://{addr}/"),
        control(Some(DeflateOptions::default())),
    )
    .await;
    assert_eq!(ws.information().deflate(), None);
    assert_eq!(agreed.recv().await.unwrap(), None);
    ws.close(1000, "").await.unwrap();
    // The client does not offer.
    let (addr, mut agreed) = server(Some(DeflateOptions::default())).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control(None))
        .await
        .unwrap();
    ws.send_text("plain").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "plain");
    assert_eq!(ws.information().deflate(), None);
    assert_eq!(agreed.recv().await.unwrap(), None);
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn stream_socket_compresses_too() {
    let (addr, _agreed) = server(Some(DeflateOptions::default())).await;
    let mut c = StreamWebSocketControl::default();
    c.deflate = Some(DeflateOptions::default());
    let ws = StreamWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    assert!(ws.information().deflate().is_some());
    let data = text(1 << 20, 5).into_bytes();
    let (mut wr, mut rd) = ws.split();
    let expect = data.clone();
    let reader = tokio::spawn(async move {
        let mut got = vec![0u8; expect.len()];
        rd.read_exact(&mut got).await.unwrap();
        assert!(got == expect);
    });
    wr.write_all(&data).await.unwrap();
    wr.flush().await.unwrap();
    reader.await.unwrap();
}

#[tokio::test]
async fn invalid_options_are_refused_at_connect() {
    let mut bad = DeflateOptions::default();
    bad.client_max_window_bits = Some(7);
    let err = MessageWebSocket::connect("ws://127.0.0.1:9/", control(Some(bad)))
        .await
        .unwrap_err();
    assert!(err.is_invalid_argument(), "{err}");
}

/// A server whose 101 carries `extensions` as its answer.
async fn raw_server(extensions: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.ends_with(b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0);
            head.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(
            head.contains(
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            )
        );
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: {extensions}\r\n\r\n",
            wsock::handshake::accept_key(key)
        );
        tcp.write_all(answer.as_bytes()).await.unwrap();
        let _ = tcp.read(&mut buf).await;
    });
    addr
}

#[tokio::test]
async fn an_answer_that_does_not_fit_the_offer_fails_the_handshake() {
    for answer in [
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; foo",
        "x-webkit-deflate-frame",
    ] {
        let addr = raw_server(answer).await;
        let err = MessageWebSocket::connect(
            &format!("ws://{addr}/"),
            control(Some(DeflateOptions::default())),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.status(),
            WebErrorStatus::ErrorHttpInvalidServerResponse,
            "{answer}: {err}"
        );
    }
}

/// Against an independent peer started with `flags`.
async fn against_peer(kind: &str) {
    let peer = common::peer_with(kind, &["--deflate"]).await;
    // Context takeover both ways.
    let mut ws = exchange(&peer.url("/"), control(Some(DeflateOptions::default()))).await;
    let agreed = *ws.information().deflate().expect("peer agreed to deflate");
    eprintln!("{kind}: {agreed:?}");
    assert!(!agreed.server_no_context_takeover && !agreed.client_no_context_takeover);
    ws.close(1000, "").await.unwrap();

    // No context takeover either way, smaller windows.
    let mut offer = DeflateOptions::default();
    offer.server_no_context_takeover = true;
    offer.client_no_context_takeover = true;
    offer.server_max_window_bits = Some(11);
    offer.client_max_window_bits = Some(10);
    let mut ws = exchange(&peer.url("/"), control(Some(offer))).await;
    let agreed = *ws.information().deflate().unwrap();
    assert!(agreed.server_no_context_takeover && agreed.client_no_context_takeover);
    assert!(agreed.server_max_window_bits <= 11 && agreed.client_max_window_bits <= 10);
    ws.close(1000, "").await.unwrap();

    // The peer's own fragments, compressed.
    let mut ws = MessageWebSocket::connect(
        &peer.url("/fragments"),
        control(Some(DeflateOptions::default())),
    )
    .await
    .unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "Hello, world");
    assert_eq!(&recv(&mut ws).await.data()[..], &[1, 2, 3, 4, 5, 6]);
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn python_websockets_with_compression() {
    against_peer("python").await;
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn node_ws_with_compression() {
    against_peer("node").await;
}
