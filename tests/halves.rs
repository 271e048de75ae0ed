//! One pattern for both socket types: `split()` gives (sender, receiver),
//! `reunite` puts them back (and hands back halves of two sockets), the
//! sender keeps the socket's information, and the peer's close status can
//! be read from every socket and half, also after the `Stream` face ended.
#![cfg(feature = "server")]

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wsock::server::{self, AcceptOptions};
use wsock::{
    MessageType, MessageWebSocket, MessageWebSocketControl, Received, StreamWebSocket,
    StreamWebSocketControl,
};

fn text() -> MessageWebSocketControl {
    let mut control = MessageWebSocketControl::default();
    control.message_type = MessageType::Utf8;
    control
}

#[tokio::test]
async fn message_halves_split_and_reunite() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let url = format!("ws://{addr}/");
    let ws = MessageWebSocket::connect(&url, text()).await.unwrap();
    let remote = ws.information().remote_address();
    let (mut tx, mut rx) = ws.split();
    assert_eq!(tx.information().remote_address(), remote);
    tx.send_text("one").await.unwrap();
    assert!(
        matches!(rx.receive().await.unwrap(), Received::Message(m) if m.as_text().unwrap() == "one")
    );

    let mut ws = MessageWebSocket::reunite(tx, rx).unwrap();
    assert_eq!(ws.information().remote_address(), remote);
    ws.send_text("two").await.unwrap();
    assert!(
        matches!(ws.receive().await.unwrap(), Received::Message(m) if m.as_text().unwrap() == "two")
    );

    // Halves of two sockets come back, both still usable.
    let other = MessageWebSocket::connect(&url, text()).await.unwrap();
    let (a_tx, a_rx) = ws.split();
    let (b_tx, b_rx) = other.split();
    let err = MessageWebSocket::reunite(a_tx, b_rx).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the halves were split from different sockets"
    );
    let wsock::ReuniteError(a_tx, b_rx) = err;
    let mut a = MessageWebSocket::reunite(a_tx, a_rx).unwrap();
    let mut b = MessageWebSocket::reunite(b_tx, b_rx).unwrap();
    for ws in [&mut a, &mut b] {
        ws.send_text("again").await.unwrap();
        assert!(matches!(ws.receive().await.unwrap(), Received::Message(_)));
        ws.close(1000, "").await.unwrap();
    }
}

#[tokio::test]
async fn stream_halves_split_and_reunite() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let url = format!("ws://{addr}/");
    let ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
        .await
        .unwrap();
    let (mut wr, mut rd) = ws.split();
    assert!(wr.information().remote_address().is_some());
    wr.write_all(b"bytes").await.unwrap();
    wr.flush().await.unwrap();
    let mut buf = [0u8; 5];
    rd.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"bytes");

    let mut ws = StreamWebSocket::reunite(wr, rd).unwrap();
    ws.write_all(b"again").await.unwrap();
    ws.flush().await.unwrap();
    ws.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"again");

    let other = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
        .await
        .unwrap();
    let (wr, _) = ws.split();
    let (_, rd) = other.split();
    assert!(StreamWebSocket::reunite(wr, rd).is_err());
}

#[tokio::test]
async fn the_close_status_outlives_the_stream_face() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = server::accept(tcp, AcceptOptions::default()).await.unwrap();
        ws.send_text("last").await.unwrap();
        ws.close(4001, "done here").await.unwrap();
    });
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), text())
        .await
        .unwrap();
    assert_eq!(ws.close_status(), None);
    let m = ws.next().await.unwrap().unwrap();
    assert_eq!(m.as_text().unwrap(), "last");
    let end = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
    assert_eq!(ws.close_status(), Some((4001, "done here".into())));
}
