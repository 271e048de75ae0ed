//! MessageWebSocket and StreamWebSocket against independent servers:
//! Python's `websockets` and Node's `ws` (installed by tests/peers/setup.sh,
//! which .ci/run calls).

mod common;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsock::{
    Message, MessageType, MessageWebSocket, MessageWebSocketControl, MessageWebSocketReceiveMode,
    Received, StreamWebSocket, StreamWebSocketControl,
};

async fn recv(ws: &mut MessageWebSocket) -> Message {
    match ws.receive().await.unwrap() {
        Received::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn echo_round_trips(peer: &common::Peer) {
    let mut ws = MessageWebSocket::connect(&peer.url("/"), Default::default())
        .await
        .unwrap();
    ws.send_text("Hello, world!").await.unwrap();
    let m = recv(&mut ws).await;
    assert_eq!(
        (m.message_type(), m.as_text().unwrap()),
        (MessageType::Utf8, "Hello, world!")
    );
    ws.send_binary(b"\x00\x01\xff").await.unwrap();
    let m = recv(&mut ws).await;
    assert_eq!(
        (m.message_type(), &m.data()[..]),
        (MessageType::Binary, &b"\x00\x01\xff"[..])
    );
    ws.send_text("").await.unwrap();
    assert_eq!(recv(&mut ws).await.data().len(), 0);
    ws.send_binary(b"").await.unwrap();
    assert_eq!(recv(&mut ws).await.data().len(), 0);
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i % 253) as u8).collect();
    ws.send_binary(&big).await.unwrap();
    assert!(
        recv(&mut ws).await.data()[..] == big[..],
        "16 MiB echo differs"
    );
    ws.close(1000, "bye").await.unwrap();
}

async fn fragments(peer: &common::Peer) {
    let mut ws = MessageWebSocket::connect(&peer.url("/fragments"), Default::default())
        .await
        .unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "Hello, world");
    assert_eq!(&recv(&mut ws).await.data()[..], &[1, 2, 3, 4, 5, 6]);

    let mut c = MessageWebSocketControl::default();
    c.receive_mode = MessageWebSocketReceiveMode::PartialMessage;
    let mut ws = MessageWebSocket::connect(&peer.url("/fragments"), c)
        .await
        .unwrap();
    let mut pieces = Vec::new();
    for _ in 0..5 {
        let m = recv(&mut ws).await;
        pieces.push((m.data().to_vec(), m.is_message_complete()));
    }
    let expect: Vec<(Vec<u8>, bool)> = vec![
        (b"Hel".to_vec(), false),
        (b"lo, ".to_vec(), false),
        (b"world".to_vec(), true),
        (vec![1, 2, 3], false),
        (vec![4, 5, 6], true),
    ];
    assert_eq!(pieces, expect);
}

async fn ping_is_answered(peer: &common::Peer) {
    let mut ws = MessageWebSocket::connect(&peer.url("/ping?await_pong=1"), Default::default())
        .await
        .unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "pong received");
}

async fn server_close(peer: &common::Peer) {
    let mut ws =
        MessageWebSocket::connect(&peer.url("/close?code=4000&reason=bye"), Default::default())
            .await
            .unwrap();
    assert_eq!(
        ws.receive().await.unwrap(),
        Received::Closed {
            code: 4000,
            reason: "bye".into()
        }
    );
}

async fn subprotocol_and_headers(peer: &common::Peer) {
    let mut c = MessageWebSocketControl::default();
    c.supported_protocols = vec!["superchat".into()];
    c.set_request_header("X-Wsock-Test", "yes").unwrap();
    let mut ws = MessageWebSocket::connect(&peer.url("/headers"), c)
        .await
        .unwrap();
    assert_eq!(ws.information().protocol(), Some("superchat"));
    let m = recv(&mut ws).await;
    let headers = m.as_text().unwrap();
    assert!(headers.contains("\"x-wsock-test\": \"yes\""), "{headers}");
}

async fn split_two_tasks(peer: &common::Peer) {
    let ws = MessageWebSocket::connect(&peer.url("/"), Default::default())
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let sender = tokio::spawn(async move {
        for i in 0..500 {
            tx.send_text(&i.to_string()).await.unwrap();
        }
        tx
    });
    for i in 0..500 {
        match rx.receive().await.unwrap() {
            Received::Message(m) => assert_eq!(m.as_text().unwrap(), i.to_string()),
            other => panic!("{other:?}"),
        }
    }
    sender.await.unwrap().close(1000, "").await.unwrap();
}

async fn stream_round_trip(peer: &common::Peer) {
    for size in [0usize, 1, 64 << 20] {
        let ws = StreamWebSocket::connect(&peer.url("/"), StreamWebSocketControl::default())
            .await
            .unwrap();
        let (mut wr, mut rd) = ws.split();
        let data: Vec<u8> = (0..size).map(|i| (i % 241) as u8).collect();
        let expect = data.clone();
        // A peer stops echoing once it sees our close, so read everything
        // back before closing.
        let writer = tokio::spawn(async move {
            wr.write_all(&data).await.unwrap();
            wr.flush().await.unwrap();
            wr
        });
        let mut got = vec![0u8; size];
        rd.read_exact(&mut got).await.unwrap();
        let mut wr = writer.await.unwrap();
        assert!(got == expect, "stream echo of {size} bytes differs");
        wr.close(1000, "").await.unwrap();
    }
}

async fn too_big(peer: &common::Peer) {
    let mut c = MessageWebSocketControl::default();
    c.max_message_size = 1000;
    let mut ws = MessageWebSocket::connect(&peer.url("/"), c).await.unwrap();
    ws.send_binary(&[5u8; 2000]).await.unwrap();
    let e = ws.receive().await.unwrap_err();
    assert!(
        matches!(e, wsock::Error::Protocol(ref p) if p.close_code() == 1009),
        "{e}"
    );
    assert_eq!(e.status(), wsock::WebErrorStatus::ConnectionAborted);
}

macro_rules! peer_tests {
    ($($kind:ident),*) => {$(
        mod $kind {
            use super::*;
            async fn peer() -> common::Peer {
                common::peer(stringify!($kind)).await
            }
            peer_tests!(@each
                echo => echo_round_trips,
                fragmented => fragments,
                ping => ping_is_answered,
                close => server_close,
                protocol_headers => subprotocol_and_headers,
                split => split_two_tasks,
                max_message_size => too_big,
                stream => stream_round_trip
            );
        }
    )*};
    (@each $($name:ident => $case:ident),*) => {$(
        #[tokio::test]
        #[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
        async fn $name() {
            $case(&peer().await).await
        }
    )*};
}

peer_tests!(python, node);
