//! One receive-timeout rule on every face: the timeout measures the peer's
//! silence, so the pongs that answer keep-alive pings keep a waiting
//! `receive()` (and a stream read) alive; a silent peer still ends the wait,
//! and the socket stays usable. The `Stream` face applies no timeout.
//! Against our server role on loopback, with short real timeouts.
#![cfg(feature = "server")]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wsock::server::{self, AcceptOptions};
use wsock::{
    Error, MessageWebSocket, MessageWebSocketControl, Received, StreamWebSocket,
    StreamWebSocketControl, TimeoutKind,
};

const TIMEOUT: Duration = Duration::from_millis(300);

/// A server that answers pings (as every connection does) and, on each
/// connection, sends "late" after `delay`, then echoes until the close.
async fn late_server(delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut options = AcceptOptions::default();
                options.keep_alive_interval = None;
                let ws = server::accept(tcp, options).await.unwrap();
                let (mut tx, mut rx) = ws.split();
                let answer = tokio::spawn(async move {
                    while let Ok(Received::Message(m)) = rx.receive().await {
                        let _ = m;
                    }
                });
                tokio::time::sleep(delay).await;
                let _ = tx.send_binary(b"late").await;
                let _ = answer.await;
            });
        }
    });
    addr
}

fn pinging() -> MessageWebSocketControl {
    let mut control = MessageWebSocketControl::default();
    control.receive_timeout = Some(TIMEOUT);
    control.keep_alive_interval = Some(Duration::from_millis(60));
    control
}

#[tokio::test]
async fn pongs_keep_a_waiting_receive_alive() {
    let addr = late_server(TIMEOUT * 4).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), pinging())
        .await
        .unwrap();
    // The message comes four timeouts later; the pongs in between are the
    // peer's signs of life.
    match ws.receive().await.unwrap() {
        Received::Message(m) => assert_eq!(&m.data()[..], b"late"),
        other => panic!("{other:?}"),
    }
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn a_silent_peer_still_ends_the_wait_and_the_socket_stays_usable() {
    let addr = late_server(TIMEOUT * 3).await;
    let mut control = MessageWebSocketControl::default();
    control.receive_timeout = Some(TIMEOUT);
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control)
        .await
        .unwrap();
    let e = ws.receive().await.unwrap_err();
    assert!(matches!(e, Error::Timeout(TimeoutKind::Receive)), "{e:?}");
    // Usable: the next receive gets the message.
    let mut got = None;
    for _ in 0..5 {
        match ws.receive().await {
            Ok(Received::Message(m)) => {
                got = Some(m);
                break;
            }
            Err(Error::Timeout(TimeoutKind::Receive)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(&got.expect("the late message").data()[..], b"late");
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn pongs_keep_a_waiting_stream_read_alive() {
    let addr = late_server(TIMEOUT * 4).await;
    let mut control = StreamWebSocketControl::default();
    control.receive_timeout = Some(TIMEOUT);
    control.keep_alive_interval = Some(Duration::from_millis(60));
    let mut ws = StreamWebSocket::connect(&format!("ws://{addr}/"), control)
        .await
        .unwrap();
    let mut buf = [0u8; 4];
    ws.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"late");
    ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_stream_face_applies_no_receive_timeout() {
    let addr = late_server(TIMEOUT * 3).await;
    let mut control = MessageWebSocketControl::default();
    control.receive_timeout = Some(TIMEOUT);
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control)
        .await
        .unwrap();
    let m = ws.next().await.unwrap().unwrap();
    assert_eq!(&m.data()[..], b"late");
}
