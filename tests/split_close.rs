//! The split sender's close is a close of the output: the receiver half
//! still gets every message the peer sent before its close reply, then
//! the peer's close. And two halves dropped at once always send a close.

mod common;

use common::wire::{self, one_peer, read_until_close};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use wsock::{
    MessageWebSocket, MessageWebSocketControl, Received, StreamWebSocket, StreamWebSocketControl,
};

const N: u32 = 200;

/// A peer that sends N messages, then reads until our close and answers
/// it with 4000 "peer bye".
async fn chatty_peer() -> String {
    one_peer(|mut tcp| async move {
        let mut out = Vec::new();
        for i in 0..N {
            out.extend(wire::frame(0x82, &i.to_be_bytes()));
        }
        tcp.write_all(&out).await.unwrap();
        if read_until_close(&mut tcp).await.is_some() {
            let _ = tcp.write_all(&wire::close_frame(4000, "peer bye")).await;
        }
        // The server ends TCP first (RFC 6455 7.1.1).
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_close_delivers_every_message_sent_before_the_peers_close() {
    for round in 0..50 {
        let url = chatty_peer().await;
        let ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
            .await
            .unwrap();
        let (mut tx, mut rx) = ws.split();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                match rx.receive().await.unwrap() {
                    Received::Message(m) => got.push(m.data().to_vec()),
                    Received::Closed { code, reason } => return (got, code, reason),
                }
            }
        });
        tx.close(1000, "bye").await.unwrap();
        let (got, code, reason) = reader.await.unwrap();
        let want: Vec<Vec<u8>> = (0..N).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(got.len(), want.len(), "round {round}: messages lost");
        assert_eq!(got, want, "round {round}");
        assert_eq!((code, reason.as_str()), (4000, "peer bye"), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_stream_close_delivers_every_byte_sent_before_the_peers_close() {
    let want: Vec<u8> = (0..N).flat_map(u32::to_be_bytes).collect();
    for round in 0..20 {
        let url = chatty_peer().await;
        let ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
            .await
            .unwrap();
        let (mut tx, mut rx) = ws.split();
        let reader = tokio::spawn(async move { (read_all(&mut rx).await, rx.close_status()) });
        tx.close(1000, "bye").await.unwrap();
        let (got, status) = reader.await.unwrap();
        assert_eq!(got.len(), want.len(), "round {round}: bytes lost");
        assert_eq!(got, want, "round {round}");
        assert_eq!(status, Some((4000, "peer bye".into())), "round {round}");
    }
    // And with nobody reading during the close.
    let url = chatty_peer().await;
    let ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    tx.close(1000, "bye").await.unwrap();
    assert_eq!(read_all(&mut rx).await, want);
}

/// Reads until the end: the peer's 4000 is not a clean close, so the
/// stream ends with an error after the data.
async fn read_all(rx: &mut wsock::StreamReceiver) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match rx.read(&mut buf).await {
            Ok(0) => panic!("a clean end after a 4000 close"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => {
                let inner = e.get_ref().and_then(|i| i.downcast_ref::<wsock::Error>());
                assert!(
                    matches!(inner, Some(wsock::Error::PeerClosed { code: 4000, .. })),
                    "{e:?}"
                );
                return got;
            }
        }
    }
}

#[tokio::test]
async fn a_split_close_keeps_the_messages_for_a_receiver_not_reading_yet() {
    let url = chatty_peer().await;
    let ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    // Nobody receives during the close: the sender reads and keeps.
    tx.close(1000, "bye").await.unwrap();
    for i in 0..N {
        match rx.receive().await.unwrap() {
            Received::Message(m) => assert_eq!(&m.data()[..], &i.to_be_bytes()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        rx.receive().await.unwrap(),
        Received::Closed {
            code: 4000,
            reason: "peer bye".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_both_halves_at_once_always_sends_a_close_frame() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    for round in 0..1000 {
        let (code_tx, code_rx) = oneshot::channel();
        let url = one_peer(move |mut tcp| async move {
            let _ = code_tx.send(read_until_close(&mut tcp).await);
        })
        .await;
        let ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
            .await
            .unwrap();
        let (tx, rx) = ws.split();
        // Two threads, each dropping one half the moment both are there
        // (a spinning start: a blocking barrier wakes them microseconds
        // apart, wider than the race).
        let ready = Arc::new(AtomicUsize::new(0));
        let start = |ready: Arc<AtomicUsize>| {
            ready.fetch_add(1, Ordering::SeqCst);
            while ready.load(Ordering::SeqCst) < 2 {
                std::hint::spin_loop();
            }
        };
        let r = ready.clone();
        let t1 = std::thread::spawn(move || {
            start(r);
            drop(tx);
        });
        let t2 = std::thread::spawn(move || {
            start(ready);
            drop(rx);
        });
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(
            code_rx.await.unwrap(),
            Some(1001),
            "round {round}: no close frame"
        );
    }
}
