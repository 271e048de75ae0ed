//! Both sockets over wss:// with a test CA made in the test.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod common;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsock::{
    MessageType, MessageWebSocket, MessageWebSocketControl, Received, StreamWebSocket,
    StreamWebSocketControl,
};

#[tokio::test]
async fn message_socket_over_wss() {
    let ca = common::tls::Ca::new();
    let port = common::tls::echo_server(&ca, &["localhost"], false).await;
    let mut c = MessageWebSocketControl::default();
    c.tls_client_config = Some(ca.client_config());
    c.message_type = MessageType::Utf8;
    let mut ws = MessageWebSocket::connect(&format!("wss://localhost:{port}/"), c)
        .await
        .unwrap();
    let info = ws.information().clone();
    let leaf = info
        .server_certificate()
        .expect("the server certificate is kept");
    assert!(!leaf.is_empty());
    ws.send(b"over TLS").await.unwrap();
    match ws.receive().await.unwrap() {
        Received::Message(m) => assert_eq!(m.as_text().unwrap(), "over TLS"),
        other => panic!("{other:?}"),
    }
    let big = vec![42u8; 4 << 20];
    ws.send_binary(&big).await.unwrap();
    match ws.receive().await.unwrap() {
        Received::Message(m) => assert!(m.data()[..] == big[..]),
        other => panic!("{other:?}"),
    }
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn stream_socket_over_wss() {
    let ca = common::tls::Ca::new();
    let port = common::tls::echo_server(&ca, &["localhost", "127.0.0.1"], false).await;
    let mut c = StreamWebSocketControl::default();
    c.tls_client_config = Some(ca.client_config());
    let ws = StreamWebSocket::connect(&format!("wss://127.0.0.1:{port}/"), c)
        .await
        .unwrap();
    assert!(ws.information().server_certificate().is_some());
    let (mut wr, mut rd) = ws.split();
    let data: Vec<u8> = (0..(16usize << 20)).map(|i| (i % 199) as u8).collect();
    let expect = data.clone();
    let writer = tokio::spawn(async move {
        wr.write_all(&data).await.unwrap();
        wr.shutdown().await.unwrap();
    });
    let mut got = Vec::new();
    rd.read_to_end(&mut got).await.unwrap();
    writer.await.unwrap();
    assert!(got == expect);
}

#[tokio::test]
async fn event_handlers_see_messages_and_the_close() {
    let addr = common::echo_server(Default::default()).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let tx2 = tx.clone();
    let mut events = wsock::MessageWebSocketEvents::new();
    events.on_message_received(move |args| {
        let _ = tx.send(format!(
            "message {:?} {}",
            args.message_type(),
            args.read_text().unwrap()
        ));
    });
    events.on_closed(move |args| {
        let _ = tx2.send(format!(
            "closed {} {:?}",
            args.code(),
            args.error().map(|e| e.to_string())
        ));
    });
    let mut c = MessageWebSocketControl::default();
    c.message_type = MessageType::Utf8;
    let ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    let (mut sender, done) = ws.start_events(events);
    sender.send(b"Hello, world!").await.unwrap();
    assert_eq!(rx.recv().await.unwrap(), "message Utf8 Hello, world!");
    sender.close(1000, "bye").await.unwrap();
    done.await.unwrap();
    assert_eq!(rx.recv().await.unwrap(), "closed 1000 None");
}
