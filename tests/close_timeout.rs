//! The close timeout is the connection's, not one call's: the peer has that
//! long to answer our close frame, whoever waits for it (`close`, a split
//! receiver reading on, the stream socket), and once it passes the
//! connection has failed for every half. After a completed handshake a
//! client waits at most the close timeout (and at most 1 s) for the server
//! to end TCP.

mod common;

use std::time::{Duration, Instant};

use common::wire::{close_frame, one_peer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsock::{
    Error, MessageWebSocket, MessageWebSocketControl, StreamWebSocket, StreamWebSocketControl,
    TimeoutKind,
};

/// Far longer than any limit under test: only a hang reaches it.
const HANG: Duration = Duration::from_secs(30);
const CLOSE: Duration = Duration::from_millis(300);

/// A peer that reads everything and answers nothing (not even a close).
async fn silent_peer() -> String {
    one_peer(|mut tcp| async move {
        let mut buf = vec![0u8; 64 * 1024];
        while tcp.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    })
    .await
}

fn control() -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.close_timeout = Some(CLOSE);
    c.receive_timeout = None;
    c
}

fn is_close_timeout<T: std::fmt::Debug>(res: &Result<T, Error>) -> bool {
    matches!(res, Err(Error::Timeout(TimeoutKind::Close)))
}

#[tokio::test]
async fn an_unanswered_close_fails_the_connection_at_the_close_timeout() {
    let url = silent_peer().await;
    let mut ws = MessageWebSocket::connect(&url, control()).await.unwrap();
    let start = Instant::now();
    let res = tokio::time::timeout(HANG, ws.close(1000, "bye"))
        .await
        .expect("close hung");
    assert!(is_close_timeout(&res), "{res:?}");
    assert!(start.elapsed() >= CLOSE - Duration::from_millis(20));
    // The connection has failed: every later call says why, at once.
    let again = tokio::time::timeout(Duration::from_millis(100), ws.close(1000, "bye")).await;
    assert!(again.as_ref().is_ok_and(is_close_timeout), "{again:?}");
    let send = ws.send_text("late").await;
    assert!(send.is_err(), "{send:?}");
    let receive = tokio::time::timeout(Duration::from_millis(100), ws.receive()).await;
    assert!(receive.as_ref().is_ok_and(is_close_timeout), "{receive:?}");
}

#[tokio::test]
async fn a_split_receiver_learns_that_the_close_timed_out() {
    let url = silent_peer().await;
    let ws = MessageWebSocket::connect(&url, control()).await.unwrap();
    let (mut tx, mut rx) = ws.split();
    let reader = tokio::spawn(async move { rx.receive().await.map(|_| ()) });
    let res = tokio::time::timeout(HANG, tx.close(1000, "bye"))
        .await
        .expect("close hung");
    assert!(is_close_timeout(&res), "{res:?}");
    let read = tokio::time::timeout(HANG, reader)
        .await
        .expect("the receiver was not woken")
        .unwrap();
    assert!(is_close_timeout(&read), "{read:?}");
}

#[tokio::test]
async fn a_close_of_the_output_times_out_for_the_reader_that_waits_for_the_reply() {
    // The stream socket's shutdown with a live reader closes the output
    // only; the reader, waiting for the peer's close, gets the timeout.
    let url = silent_peer().await;
    let mut c = StreamWebSocketControl::default();
    c.close_timeout = Some(CLOSE);
    c.receive_timeout = None;
    let ws = StreamWebSocket::connect(&url, c).await.unwrap();
    let (mut tx, mut rx) = ws.split();
    tokio::time::timeout(HANG, tx.shutdown())
        .await
        .expect("shutdown hung")
        .unwrap();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(HANG, rx.read_to_end(&mut sink))
        .await
        .expect("the reader hung");
    let e = read.unwrap_err();
    let inner = e.get_ref().and_then(|e| e.downcast_ref::<Error>());
    assert!(
        matches!(inner, Some(Error::Timeout(TimeoutKind::Close))),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_stream_close_times_out_the_same_way() {
    let url = silent_peer().await;
    let mut c = StreamWebSocketControl::default();
    c.close_timeout = Some(CLOSE);
    let mut ws = StreamWebSocket::connect(&url, c).await.unwrap();
    let res = tokio::time::timeout(HANG, ws.close(1000, "bye"))
        .await
        .expect("close hung");
    assert!(is_close_timeout(&res), "{res:?}");
}

#[tokio::test]
async fn a_server_that_keeps_tcp_open_after_the_handshake_is_left_within_the_close_timeout() {
    // The peer answers the close but never ends TCP.
    let url = one_peer(|mut tcp| async move {
        let mut buf = vec![0u8; 4096];
        let _ = tcp.read(&mut buf).await;
        tcp.write_all(&close_frame(1000, "")).await.unwrap();
        tokio::time::sleep(HANG).await;
    })
    .await;
    let mut c = control();
    c.close_timeout = Some(Duration::from_millis(200));
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    let start = Instant::now();
    let res = tokio::time::timeout(HANG, ws.close(1000, "bye"))
        .await
        .expect("close hung");
    assert!(res.is_ok(), "{res:?}");
    // The wait for the server's FIN is the shorter of 1 s and the close
    // timeout.
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
}
