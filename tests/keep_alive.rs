//! Keep-alive: pings with a dead-peer timeout (.NET KeepAliveInterval and
//! KeepAliveTimeout) and unsolicited pongs (WinRT
//! DesiredUnsolicitedPongInterval), seen by a hand-made server.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use wsock::proto::{Config, Connection, Event, Role};
use wsock::{Error, MessageWebSocket, MessageWebSocketControl, TimeoutKind, WebErrorStatus};

/// A server that decodes what the client sends and reports control frames;
/// it answers pings only if `answer_pings`.
async fn watching_server(answer_pings: bool) -> (String, mpsc::UnboundedReceiver<&'static str>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let addr = common::raw::upgraded_then(move |mut tcp| {
        let tx = tx.clone();
        async move {
            let mut conn = Connection::new(Config::new(Role::Server));
            let mut buf = BytesMut::new();
            loop {
                match conn.decode(&mut buf) {
                    Ok(Some(Event::Ping(_))) => {
                        let _ = tx.send("ping");
                        if answer_pings {
                            let out = conn.output().split();
                            if tcp.write_all(&out).await.is_err() {
                                return;
                            }
                        } else {
                            conn.output().clear();
                        }
                    }
                    Ok(Some(Event::Pong(_))) => {
                        let _ = tx.send("pong");
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        let mut chunk = [0u8; 4096];
                        match tcp.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    Err(_) => return,
                }
            }
        }
    })
    .await;
    (format!("ws://{addr}/"), rx)
}

#[tokio::test]
async fn pings_go_out_and_answered_pings_keep_the_connection() {
    let (url, mut seen) = watching_server(true).await;
    let mut c = MessageWebSocketControl::default();
    c.keep_alive_interval = Some(Duration::from_millis(50));
    c.keep_alive_timeout = Some(Duration::from_millis(500));
    c.receive_timeout = Some(Duration::from_millis(700));
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    // The pings go out while a receive waits, as in any read loop.
    let mut receive = std::pin::pin!(ws.receive());
    let pings = async {
        for _ in 0..3 {
            assert_eq!(seen.recv().await, Some("ping"));
        }
    };
    tokio::select! {
        r = &mut receive => panic!("the receive ended: {r:?}"),
        () = pings => {}
    }
    // The pongs came back: neither the keep-alive timeout nor the receive
    // timeout (which measures the peer's silence, and pongs are signs of
    // life) ends a receive that waits for a message, three receive
    // timeouts long.
    let wait = tokio::time::timeout(Duration::from_millis(2100), receive).await;
    assert!(wait.is_err(), "the receive ended: {wait:?}");
}

#[tokio::test]
async fn keep_alive_runs_in_the_polls_of_the_socket_not_in_a_task_of_its_own() {
    let (url, mut seen) = watching_server(true).await;
    let mut c = MessageWebSocketControl::default();
    c.keep_alive_interval = Some(Duration::from_millis(20));
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    // Nobody polls the socket: nothing runs for it, no ping goes.
    let quiet = tokio::time::timeout(Duration::from_millis(200), seen.recv()).await;
    assert!(quiet.is_err(), "a ping went out unpolled: {quiet:?}");
    // A waiting receive runs them.
    let receive = ws.receive();
    let pings = async {
        for _ in 0..3 {
            assert_eq!(seen.recv().await, Some("ping"));
        }
    };
    tokio::select! {
        r = receive => panic!("the receive ended: {r:?}"),
        () = pings => {}
    }
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_fails_with_timeout() {
    let (url, mut seen) = watching_server(false).await;
    let mut c = MessageWebSocketControl::default();
    c.keep_alive_interval = Some(Duration::from_millis(50));
    c.keep_alive_timeout = Some(Duration::from_millis(200));
    c.receive_timeout = None;
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    let e = ws.receive().await.unwrap_err();
    assert!(matches!(e, Error::Timeout(TimeoutKind::KeepAlive)), "{e}");
    assert_eq!(e.status(), WebErrorStatus::Timeout);
    assert_eq!(seen.recv().await, Some("ping"));
    // The connection stays failed.
    assert!(ws.send_text("x").await.is_err());
}

#[tokio::test]
async fn unsolicited_pongs_go_out_at_the_desired_interval() {
    let (url, mut seen) = watching_server(true).await;
    let mut c = MessageWebSocketControl::default();
    c.desired_unsolicited_pong_interval = Some(Duration::from_millis(50));
    let ws = MessageWebSocket::connect(&url, c).await.unwrap();
    assert_eq!(
        ws.information().actual_unsolicited_pong_interval(),
        Some(Duration::from_millis(50))
    );
    let mut ws = ws;
    let receive = ws.receive();
    let pongs = async {
        for _ in 0..3 {
            assert_eq!(seen.recv().await, Some("pong"));
        }
    };
    tokio::select! {
        r = receive => panic!("the receive ended: {r:?}"),
        () = pongs => {}
    }
}

#[tokio::test]
async fn no_keep_alive_by_default() {
    let (url, mut seen) = watching_server(true).await;
    let ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    assert_eq!(ws.information().actual_unsolicited_pong_interval(), None);
    let quiet = tokio::time::timeout(Duration::from_millis(300), seen.recv()).await;
    assert!(quiet.is_err(), "nothing is sent unasked: {quiet:?}");
}
