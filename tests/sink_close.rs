//! The `Sink` and the message writer keep the socket's time limits: the
//! Sink's close ends within the close timeout against a peer that never
//! answers, and their sends within the send timeout against one that does
//! not read.

mod common;

use std::time::Duration;

use common::wire::one_peer;
use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsock::{Error, Message, MessageWebSocket, MessageWebSocketControl, TimeoutKind};

/// Far longer than any limit under test: only a hang reaches it.
const HANG: Duration = Duration::from_secs(60);

/// A peer that reads everything and answers nothing (not even a close).
async fn silent_peer() -> String {
    one_peer(|mut tcp| async move {
        let mut buf = vec![0u8; 64 * 1024];
        while tcp.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    })
    .await
}

/// A peer that reads nothing.
async fn deaf_peer() -> String {
    one_peer(|tcp| async move {
        let _ = tcp.readable().await;
        tokio::time::sleep(HANG).await;
        drop(tcp);
    })
    .await
}

fn control(send: u64, close: u64) -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.send_timeout = Some(Duration::from_millis(send));
    c.close_timeout = Some(Duration::from_millis(close));
    c
}

#[tokio::test]
async fn sink_close_ends_within_close_timeout_when_the_peer_never_answers() {
    let url = silent_peer().await;
    let mut ws = MessageWebSocket::connect(&url, control(30_000, 300))
        .await
        .unwrap();
    let res = tokio::time::timeout(HANG, SinkExt::close(&mut ws))
        .await
        .expect("SinkExt::close hung");
    assert!(
        matches!(res, Err(Error::Timeout(TimeoutKind::Close))),
        "{res:?}"
    );

    // Split, the same.
    let url = silent_peer().await;
    let ws = MessageWebSocket::connect(&url, control(30_000, 300))
        .await
        .unwrap();
    let (mut tx, _rx) = ws.split();
    let res = tokio::time::timeout(HANG, SinkExt::close(&mut tx))
        .await
        .expect("SinkExt::close hung");
    assert!(
        matches!(res, Err(Error::Timeout(TimeoutKind::Close))),
        "{res:?}"
    );
}

#[tokio::test]
async fn sink_send_ends_within_send_timeout_when_the_peer_does_not_read() {
    let url = deaf_peer().await;
    let mut ws = MessageWebSocket::connect(&url, control(300, 300))
        .await
        .unwrap();
    let big = vec![0u8; 32 << 20];
    let res = tokio::time::timeout(HANG, SinkExt::send(&mut ws, Message::binary(big)))
        .await
        .expect("SinkExt::send hung");
    assert!(
        matches!(res, Err(Error::Timeout(TimeoutKind::Send))),
        "{res:?}"
    );
}

#[tokio::test]
async fn message_writer_ends_within_send_timeout_when_the_peer_does_not_read() {
    let url = deaf_peer().await;
    let mut ws = MessageWebSocket::connect(&url, control(300, 300))
        .await
        .unwrap();
    let big = vec![0u8; 32 << 20];
    let mut w = ws.message_writer();
    let res = tokio::time::timeout(HANG, async {
        w.write_all(&big).await?;
        w.shutdown().await
    })
    .await
    .expect("the message writer hung");
    let err = res.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<Error>());
    assert!(
        matches!(inner, Some(Error::Timeout(TimeoutKind::Send))),
        "{err:?}"
    );
}
