//! A socket keeps no waker of a task once that task's operation is done:
//! a waker held by the socket keeps the task's memory (its whole future)
//! allocated for as long as the socket lives, after the task has ended, so
//! 10,000 idle sockets whose round trips ran on tasks of their own held
//! about 2.2 KB each for nothing (issue 18's benchmark, workload f).
#![cfg(feature = "server")]

mod common;

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsock::server::AcceptOptions;
use wsock::{MessageWebSocket, MessageWebSocketControl, StreamWebSocket, StreamWebSocketControl};

/// A waker whose clones can be counted.
struct Counted;

impl Wake for Counted {
    fn wake(self: Arc<Self>) {}
}

/// Polls `fut` with a counted waker until it is ready (sleeping between
/// polls, as the waker wakes no one), then says how many clones of that
/// waker are still held elsewhere.
async fn clones_left_after<T>(fut: impl Future<Output = T>) -> (T, usize) {
    let counted = Arc::new(Counted);
    let waker = Waker::from(counted.clone());
    let mut fut = pin!(fut);
    let out = loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    drop(waker);
    // What is left beside our own `counted`.
    (out, Arc::strong_count(&counted) - 1)
}

#[tokio::test]
async fn a_message_received_leaves_no_waker_of_its_task_in_the_socket() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let url = format!("ws://{addr}/");
    let mut ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    for _ in 0..3 {
        // The echo comes later than the first poll: that poll waits.
        ws.send_text("ping").await.unwrap();
        let (received, held) = clones_left_after(ws.receive()).await;
        received.unwrap();
        assert_eq!(held, 0, "the socket holds a waker of a finished receive");
    }
}

#[tokio::test]
async fn a_stream_read_leaves_no_waker_of_its_task_in_the_socket() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let url = format!("ws://{addr}/");
    let mut ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
        .await
        .unwrap();
    ws.write_all(b"ping").await.unwrap();
    ws.flush().await.unwrap();
    let mut buf = [0u8; 4];
    let (read, held) = clones_left_after(ws.read_exact(&mut buf)).await;
    read.unwrap();
    assert_eq!(&buf, b"ping");
    assert_eq!(held, 0, "the socket holds a waker of a finished read");
}
