//! Both halves of sockets over HTTP/2 at once, against our own server role
//! over h2c (prior knowledge): a sender streaming while its receiver reads
//! the echoes, a receive dropped mid-way, and a close from the sender while
//! the receiver waits. (Sockets to one origin share one HTTP/2
//! connection: tests/http2_client.rs shows it.)
#![cfg(all(feature = "server", feature = "http2"))]

mod common;

use std::time::Duration;

use common::h2ws::plain_server;
use wsock::server::AcceptOptions;
use wsock::{HttpVersion, HttpVersionPolicy, MessageWebSocket, MessageWebSocketControl, Received};

fn over_http2() -> MessageWebSocketControl {
    let mut control = MessageWebSocketControl::default();
    control.http_version = HttpVersion::Http2;
    control.http_version_policy = HttpVersionPolicy::RequestVersionExact;
    control
}

const MESSAGES: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halves_of_sockets_on_one_connection_send_and_receive_at_once() {
    let mut server = plain_server(AcceptOptions::default()).await;
    let url = format!("ws://{}/ws", server.addr);
    let mut tasks = Vec::new();
    for socket in 0..4u8 {
        let ws = MessageWebSocket::connect(&url, over_http2()).await.unwrap();
        assert_eq!(ws.information().http_version(), HttpVersion::Http2);
        let (mut tx, mut rx) = ws.split();
        let sender = tokio::spawn(async move {
            for i in 0..MESSAGES {
                let body = [socket, (i % 251) as u8].repeat(1 + i % 700);
                tx.send_binary(&body[..]).await.unwrap();
            }
            tx
        });
        let receiver = tokio::spawn(async move {
            for i in 0..MESSAGES {
                match rx.receive().await.unwrap() {
                    Received::Message(m) => {
                        let want = [socket, (i % 251) as u8].repeat(1 + i % 700);
                        assert_eq!(m.data(), &want[..], "socket {socket}, message {i}");
                    }
                    other => panic!("{other:?}"),
                }
            }
            rx
        });
        tasks.push((sender, receiver));
    }
    for (sender, receiver) in tasks {
        let (tx, rx) = (sender.await.unwrap(), receiver.await.unwrap());
        let mut ws = MessageWebSocket::reunite(tx, rx).unwrap();
        ws.close(1000, "done").await.unwrap();
    }
    // Every socket went over HTTP/2.
    for _ in 0..4 {
        assert_eq!(server.versions.recv().await, Some(2));
    }
}

#[tokio::test]
async fn a_receive_dropped_mid_way_loses_nothing_and_a_close_from_the_sender_ends_the_wait() {
    let server = plain_server(AcceptOptions::default()).await;
    let url = format!("ws://{}/ws", server.addr);
    let ws = MessageWebSocket::connect(&url, over_http2()).await.unwrap();
    let (mut tx, mut rx) = ws.split();
    // A receive given up before anything came.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), rx.receive())
            .await
            .is_err()
    );
    tx.send_text("after the dropped receive").await.unwrap();
    match rx.receive().await.unwrap() {
        Received::Message(m) => assert_eq!(m.as_text().unwrap(), "after the dropped receive"),
        other => panic!("{other:?}"),
    }
    // The receiver waits; the sender closes: the wait ends with the
    // server's answer to the close.
    let waiting = tokio::spawn(async move {
        let got = rx.receive().await;
        (got, rx)
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    tx.close(1000, "bye").await.unwrap();
    let (ended, rx) = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the receiver still waits after the close")
        .unwrap();
    match ended {
        Ok(Received::Closed { code, .. }) => assert_eq!(code, 1000),
        // The sender's close read the server's answer first: the receiver
        // is told the socket is closed.
        Err(e) => assert!(!e.is_socket_usable(), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(rx.close_status().map(|(code, _)| code), Some(1000));
}
