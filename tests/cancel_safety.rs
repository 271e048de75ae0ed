//! Dropping a send (by `select!`, `timeout`, or the send timeout) or a
//! message writer midway leaves a usable socket: the open message is
//! finished by `send_final_frame` (or given up by `abort_message`), and a
//! whole-message send meanwhile is a clear error. A receive dropped in
//! the middle of a fragmented message loses nothing.

mod common;

use std::time::Duration;

use common::wire::{self, one_peer, pending_once, read_message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use wsock::{Error, MessageWebSocket, MessageWebSocketControl, Received, TimeoutKind};

/// Large enough that the loopback connection cannot take it at once while
/// the peer does not read.
const BIG: usize = 32 << 20;

/// A peer that reads nothing until `go`, then reads two messages and
/// hands them back.
async fn slow_reader() -> (
    String,
    oneshot::Sender<()>,
    oneshot::Receiver<Vec<(u8, Vec<u8>)>>,
) {
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let (got_tx, got_rx) = oneshot::channel();
    let url = one_peer(move |mut tcp| async move {
        let _ = go_rx.await;
        let mut got = Vec::new();
        for _ in 0..2 {
            got.push(read_message(&mut tcp).await.expect("a message"));
        }
        let _ = got_tx.send(got);
        // Keep the connection until the client is done.
        let _ = tcp.read(&mut [0u8; 1]).await;
    })
    .await;
    (url, go_tx, got_rx)
}

fn assert_one_message(got: &(u8, Vec<u8>), prefix_of: &[u8], tail: &[u8]) {
    let (opcode, data) = got;
    assert_eq!(*opcode, 2, "a binary message");
    assert!(
        data.ends_with(tail),
        "the message ends with the final frame"
    );
    let head = &data[..data.len() - tail.len()];
    assert!(head.len() <= prefix_of.len() && head == &prefix_of[..head.len()]);
}

#[tokio::test]
async fn a_dropped_nonfinal_send_is_finished_by_send_final_frame() {
    let (url, go, got) = slow_reader().await;
    let mut ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    let big = vec![1u8; BIG];
    {
        let mut send = std::pin::pin!(ws.send_nonfinal_frame(&big));
        assert!(pending_once(send.as_mut()).await, "the send must wait");
    }
    // A whole message now would break the open one: refused, naming the
    // way out.
    let err = ws.send_binary(b"whole").await.unwrap_err();
    assert!(err.is_invalid_argument(), "{err}");
    assert!(err.to_string().contains("send_final_frame"), "{err}");
    go.send(()).unwrap();
    ws.send_final_frame(b"end").await.unwrap();
    ws.send_binary(b"after").await.unwrap();
    let got = got.await.unwrap();
    assert_eq!(
        got[0].1.len(),
        BIG + 3,
        "the dropped piece was queued whole"
    );
    assert_one_message(&got[0], &big, b"end");
    assert_eq!(got[1], (2, b"after".to_vec()));
}

#[tokio::test]
async fn a_send_ended_by_the_send_timeout_leaves_the_message_to_finish() {
    let (url, go, got) = slow_reader().await;
    let mut control = MessageWebSocketControl::default();
    control.send_timeout = Some(Duration::from_millis(300));
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    let big = vec![2u8; BIG];
    let err = ws.send_nonfinal_frame(&big).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(TimeoutKind::Send)), "{err}");
    go.send(()).unwrap();
    ws.send_final_frame(b"end").await.unwrap();
    ws.send_binary(b"after").await.unwrap();
    let got = got.await.unwrap();
    assert_one_message(&got[0], &big, b"end");
    assert_eq!(got[1], (2, b"after".to_vec()));
}

#[tokio::test]
async fn a_message_writer_dropped_mid_message_is_finished_by_send_final_frame() {
    let (url, go, got) = slow_reader().await;
    let mut ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    let big = vec![3u8; BIG];
    {
        let mut writer = ws.message_writer();
        let mut write = std::pin::pin!(writer.write_all(&big));
        assert!(pending_once(write.as_mut()).await, "the write must wait");
    }
    go.send(()).unwrap();
    ws.send_final_frame(b"end").await.unwrap();
    ws.send_binary(b"after").await.unwrap();
    let got = got.await.unwrap();
    assert!(got[0].1.len() > 3, "what was written went out");
    assert_one_message(&got[0], &big, b"end");
    assert_eq!(got[1], (2, b"after".to_vec()));
}

#[tokio::test]
async fn abort_message_gives_up_the_open_message_with_1011() {
    let (code_tx, code_rx) = oneshot::channel();
    let url = one_peer(move |mut tcp| async move {
        // The piece, then the close; answer it.
        let code = wire::read_until_close(&mut tcp).await;
        let _ = tcp.write_all(&wire::close_frame(1011, "")).await;
        let _ = code_tx.send(code);
        let _ = tcp.read(&mut [0u8; 1]).await;
    })
    .await;
    let mut ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    ws.abort_message().await.unwrap(); // Nothing open: nothing happens.
    ws.send_nonfinal_frame(b"half").await.unwrap();
    assert!(ws.message_in_progress());
    ws.abort_message().await.unwrap();
    assert_eq!(code_rx.await.unwrap(), Some(1011));
    assert!(ws.send_binary(b"late").await.is_err());
}

#[tokio::test]
async fn a_receive_dropped_mid_message_loses_nothing() {
    let (seen_tx, seen_rx) = oneshot::channel::<()>();
    let (rest_tx, rest_rx) = oneshot::channel::<()>();
    let url = one_peer(move |mut tcp| async move {
        // The first piece and a ping: the pong proves the client read both.
        let mut out = wire::frame(0x02, b"abc");
        out.extend(wire::frame(0x89, b"p"));
        tcp.write_all(&out).await.unwrap();
        loop {
            let (b0, _) = wire::read_frame(&mut tcp).await.unwrap();
            if b0 & 0x0F == 0xA {
                break;
            }
        }
        seen_tx.send(()).unwrap();
        rest_rx.await.unwrap();
        tcp.write_all(&wire::frame(0x80, b"def")).await.unwrap();
        let _ = tcp.read(&mut [0u8; 1]).await;
    })
    .await;
    let mut ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    {
        let mut recv = std::pin::pin!(ws.receive());
        tokio::select! {
            r = &mut recv => panic!("nothing whole yet: {r:?}"),
            _ = seen_rx => {}
        }
    }
    rest_tx.send(()).unwrap();
    match ws.receive().await.unwrap() {
        Received::Message(m) => assert_eq!(&m.data()[..], b"abcdef"),
        other => panic!("{other:?}"),
    }
}

/// A close dropped while it waits for the peer's close reply leaves the
/// close frame sent: a close asked again finishes the same handshake, and
/// a send in between is refused as on a closing socket.
#[tokio::test]
async fn a_close_dropped_midway_is_finished_by_the_next_close() {
    let (reply_tx, reply_rx) = oneshot::channel::<()>();
    let url = one_peer(move |mut tcp| async move {
        let code = wire::read_until_close(&mut tcp).await;
        assert_eq!(code, Some(4001));
        // Answers only when told to.
        let _ = reply_rx.await;
        let _ = tcp.write_all(&wire::close_frame(4001, "late")).await;
    })
    .await;
    let mut ws = MessageWebSocket::connect(&url, MessageWebSocketControl::default())
        .await
        .unwrap();
    {
        let close = ws.close(4001, "first");
        let mut close = std::pin::pin!(close);
        assert!(pending_once(close.as_mut()).await, "the close waited");
        let r = tokio::time::timeout(Duration::from_millis(100), close).await;
        assert!(r.is_err(), "the peer has not answered yet: {r:?}");
    }
    assert!(ws.send_binary(b"too late").await.is_err());
    reply_tx.send(()).unwrap();
    ws.close(4001, "again").await.unwrap();
    assert_eq!(ws.close_status(), Some((4001, "late".into())));
}
