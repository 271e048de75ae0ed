//! `Error::is_socket_usable` against real connections: for each error a
//! socket can return, the answer the method gives, and what the next call
//! on the same socket then does (succeeds when usable, fails when not).
//! Peers are hand-made (tests/common/wire.rs) so that each can misbehave
//! in the one way under test.

mod common;

use std::time::Duration;

use common::wire::{close_frame, frame, one_peer, read_message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use wsock::{
    Error, MessageWebSocket, MessageWebSocketControl, Received, StreamWebSocket,
    StreamWebSocketControl, TimeoutKind, WebErrorStatus,
};

/// The limit under test, where one is: short, as the peers are local.
const SHORT: Duration = Duration::from_millis(200);
/// Only against a hang.
const GUARD: Duration = Duration::from_secs(20);

/// Echoes text messages (binary ones are read and dropped) until the
/// client's close, which it answers; then ends TCP.
async fn echo_text(mut tcp: TcpStream) {
    while let Some((opcode, data)) = read_message(&mut tcp).await {
        if opcode == 0x1 && tcp.write_all(&frame(0x81, &data)).await.is_err() {
            return;
        }
    }
    let _ = tcp.write_all(&close_frame(1000, "")).await;
}

/// Reads everything and answers nothing: no pong, no close.
async fn read_only(mut tcp: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    while tcp.read(&mut buf).await.is_ok_and(|n| n > 0) {}
}

fn control() -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.receive_timeout = None;
    c
}

async fn connect(url: &str, control: MessageWebSocketControl) -> MessageWebSocket {
    MessageWebSocket::connect(url, control).await.unwrap()
}

/// A text round trip: the socket works.
async fn echo_works(ws: &mut MessageWebSocket) {
    tokio::time::timeout(GUARD, async {
        ws.send_text("after").await.unwrap();
        match ws.receive().await.unwrap() {
            Received::Message(m) => assert_eq!(m.as_text().unwrap(), "after"),
            other => panic!("{other:?}"),
        }
    })
    .await
    .expect("the round trip hung");
}

/// The socket has ended: the next send and receive both fail at once.
async fn next_calls_fail(ws: &mut MessageWebSocket) {
    let send = tokio::time::timeout(GUARD, ws.send_text("late")).await;
    assert!(send.as_ref().is_ok_and(Result::is_err), "{send:?}");
    let receive = tokio::time::timeout(GUARD, ws.receive()).await;
    assert!(receive.as_ref().is_ok_and(Result::is_err), "{receive:?}");
}

#[tokio::test]
async fn a_receive_timeout_leaves_the_socket_usable() {
    let url = one_peer(echo_text).await;
    let mut c = control();
    c.receive_timeout = Some(SHORT);
    let mut ws = connect(&url, c).await;
    let e = ws.receive().await.unwrap_err();
    assert!(matches!(e, Error::Timeout(TimeoutKind::Receive)), "{e:?}");
    assert!(e.is_socket_usable());
    echo_works(&mut ws).await;
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn a_send_timeout_leaves_the_socket_usable() {
    let (go, started) = oneshot::channel::<()>();
    let url = one_peer(|tcp| async move {
        // Not a byte read until told: the client's sends back up.
        let _ = started.await;
        echo_text(tcp).await;
    })
    .await;
    let mut c = control();
    c.send_timeout = Some(Duration::from_secs(1));
    c.outbound_buffer_size_in_bytes = 64 * 1024;
    let mut ws = connect(&url, c).await;
    let big = vec![7u8; 1 << 20];
    let mut error = None;
    for _ in 0..200 {
        if let Err(e) = ws.send_binary(&big).await {
            error = Some(e);
            break;
        }
    }
    let e = error.expect("the peer's buffers never filled");
    assert!(matches!(e, Error::Timeout(TimeoutKind::Send)), "{e:?}");
    assert!(e.is_socket_usable());
    // The peer reads now: what was queued drains and the next send goes.
    go.send(()).unwrap();
    echo_works(&mut ws).await;
}

#[tokio::test]
async fn an_invalid_argument_leaves_the_socket_usable() {
    let url = one_peer(echo_text).await;
    let mut ws = connect(&url, control()).await;
    // 999 is not a close code anyone may send.
    let e = ws.close(999, "").await.unwrap_err();
    assert!(e.is_invalid_argument(), "{e:?}");
    assert!(e.is_socket_usable());
    let e = ws.ping(&[0u8; 126]).await.unwrap_err();
    assert!(e.is_invalid_argument() && e.is_socket_usable(), "{e:?}");
    echo_works(&mut ws).await;
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn a_reset_leaves_no_usable_socket() {
    let url = one_peer(|tcp| async move {
        #[allow(deprecated)] // linger 0 turns the close into a reset; it does not block
        tcp.set_linger(Some(Duration::ZERO)).unwrap();
        drop(tcp);
    })
    .await;
    let mut ws = connect(&url, control()).await;
    let e = ws.receive().await.unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::ConnectionReset, "{e:?}");
    assert!(!e.is_socket_usable());
    next_calls_fail(&mut ws).await;
}

#[tokio::test]
async fn an_end_without_a_close_leaves_no_usable_socket() {
    let url = one_peer(|tcp| async move { drop(tcp) }).await;
    let mut ws = connect(&url, control()).await;
    let e = ws.receive().await.unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e:?}");
    assert!(!e.is_socket_usable());
    next_calls_fail(&mut ws).await;
}

#[tokio::test]
async fn a_protocol_error_leaves_no_usable_socket() {
    let url = one_peer(|mut tcp| async move {
        // RSV1 set with no extension agreed.
        tcp.write_all(&frame(0xC1, b"x")).await.unwrap();
        read_only(tcp).await;
    })
    .await;
    let mut ws = connect(&url, control()).await;
    let e = ws.receive().await.unwrap_err();
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
    assert!(!e.is_socket_usable());
    next_calls_fail(&mut ws).await;
}

#[tokio::test]
async fn a_keep_alive_timeout_leaves_no_usable_socket() {
    let url = one_peer(read_only).await;
    let mut c = control();
    c.keep_alive_interval = Some(Duration::from_millis(100));
    c.keep_alive_timeout = Some(SHORT);
    let mut ws = connect(&url, c).await;
    let e = tokio::time::timeout(GUARD, ws.receive())
        .await
        .expect("the keep-alive never gave up")
        .unwrap_err();
    assert!(matches!(e, Error::Timeout(TimeoutKind::KeepAlive)), "{e:?}");
    assert!(!e.is_socket_usable());
    next_calls_fail(&mut ws).await;
}

#[tokio::test]
async fn a_close_timeout_leaves_no_usable_socket() {
    let url = one_peer(read_only).await;
    let mut c = control();
    c.close_timeout = Some(SHORT);
    let mut ws = connect(&url, c).await;
    let e = tokio::time::timeout(GUARD, ws.close(1000, ""))
        .await
        .expect("close hung")
        .unwrap_err();
    assert!(matches!(e, Error::Timeout(TimeoutKind::Close)), "{e:?}");
    assert!(!e.is_socket_usable());
    next_calls_fail(&mut ws).await;
}

#[tokio::test]
async fn a_finished_close_leaves_no_usable_socket() {
    let url = one_peer(echo_text).await;
    let mut ws = connect(&url, control()).await;
    ws.close(1000, "").await.unwrap();
    let e = ws.send_text("late").await.unwrap_err();
    assert!(matches!(e, Error::ConnectionClosed), "{e:?}");
    assert!(!e.is_socket_usable());
    // Every later send fails the same way (a receive reports the peer's
    // close once, then fails too).
    let again = ws.send_text("later").await.unwrap_err();
    assert!(matches!(again, Error::ConnectionClosed), "{again:?}");
    assert!(matches!(
        ws.receive().await,
        Ok(Received::Closed { code: 1000, .. })
    ));
    let e = ws.receive().await.unwrap_err();
    assert!(
        matches!(e, Error::ConnectionClosed) && !e.is_socket_usable(),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_abort_leaves_no_usable_socket() {
    let url = one_peer(read_only).await;
    let (mut tx, mut rx) = connect(&url, control()).await.split();
    let reader = tokio::spawn(async move { rx.receive().await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(50)).await;
    tx.abort();
    let e = tokio::time::timeout(GUARD, reader)
        .await
        .expect("the receiver was not woken")
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, Error::Canceled), "{e:?}");
    assert!(!e.is_socket_usable());
    let send = tx.send_text("late").await.unwrap_err();
    assert!(!send.is_socket_usable(), "{send:?}");
}

/// The wsock error inside an error of the stream socket's `AsyncRead`.
fn inner(e: &std::io::Error) -> &Error {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<Error>())
        .unwrap_or_else(|| panic!("no wsock error in {e:?}"))
}

/// A stream socket with a receive timeout of [`SHORT`], to a peer that
/// says nothing unless spoken to, and echoes binary messages.
async fn stream_socket_to_a_quiet_echo_peer() -> StreamWebSocket {
    let url = one_peer(|mut tcp| async move {
        while let Some((_, data)) = read_message(&mut tcp).await {
            tcp.write_all(&frame(0x82, &data)).await.unwrap();
        }
    })
    .await;
    let mut c = StreamWebSocketControl::default();
    c.receive_timeout = Some(SHORT);
    StreamWebSocket::connect(&url, c).await.unwrap()
}

#[tokio::test]
async fn a_stream_read_timeout_leaves_the_stream_socket_usable() {
    let mut ws = stream_socket_to_a_quiet_echo_peer().await;
    let mut buf = [0u8; 5];
    let e = ws.read(&mut buf).await.unwrap_err();
    assert!(
        matches!(inner(&e), Error::Timeout(TimeoutKind::Receive)),
        "{e:?}"
    );
    assert!(inner(&e).is_socket_usable());
    ws.write_all(b"after").await.unwrap();
    ws.flush().await.unwrap();
    ws.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"after");
}

/// Each stream read after a timed-out one waits the whole limit again,
/// rather than failing at once on the deadline of the read before.
#[tokio::test]
async fn every_stream_read_after_a_timeout_gets_the_whole_limit() {
    let url = one_peer(read_only).await;
    let mut c = StreamWebSocketControl::default();
    c.receive_timeout = Some(SHORT);
    let mut ws = StreamWebSocket::connect(&url, c).await.unwrap();
    let mut buf = [0u8; 5];
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let e = ws.read(&mut buf).await.unwrap_err();
        assert!(
            matches!(inner(&e), Error::Timeout(TimeoutKind::Receive)),
            "{e:?}"
        );
        // A bound on correctness, not on speed: not before the limit.
        assert!(
            start.elapsed() >= SHORT,
            "timed out after {:?}",
            start.elapsed()
        );
    }
}

/// Stream reads that a caller gives up one after another (a `timeout`
/// around each) still run into the receive timeout, counted from the
/// first of them; the socket then reads on, losing nothing.
#[tokio::test]
async fn stream_reads_given_up_in_turn_still_time_out_and_lose_nothing() {
    let mut ws = stream_socket_to_a_quiet_echo_peer().await;
    let mut buf = [0u8; 5];
    let start = std::time::Instant::now();
    let mut given_up = 0;
    let e = loop {
        match tokio::time::timeout(SHORT / 4, ws.read(&mut buf)).await {
            Err(_) => given_up += 1,
            Ok(Err(e)) => break e,
            Ok(Ok(n)) => panic!("read {n} bytes from a silent peer"),
        }
        // Each read alone is shorter than the limit: only the deadline
        // kept from the first one ends this (a bound on correctness, not
        // on speed: forty reads are ten times the limit).
        assert!(given_up < 40, "no receive timeout after {given_up} reads");
    };
    assert!(
        matches!(inner(&e), Error::Timeout(TimeoutKind::Receive)),
        "{e:?}"
    );
    assert!(given_up >= 3, "timed out after {given_up} reads");
    assert!(start.elapsed() >= SHORT);
    ws.write_all(b"after").await.unwrap();
    ws.flush().await.unwrap();
    ws.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"after");
}

#[tokio::test]
async fn a_peer_close_with_an_error_code_leaves_no_usable_stream_socket() {
    let url = one_peer(|mut tcp| async move {
        tcp.write_all(&close_frame(1011, "boom")).await.unwrap();
        read_only(tcp).await;
    })
    .await;
    let mut ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
        .await
        .unwrap();
    let mut buf = [0u8; 5];
    let e = ws.read(&mut buf).await.unwrap_err();
    assert!(
        matches!(inner(&e), Error::PeerClosed { code: 1011, .. }),
        "{e:?}"
    );
    assert!(!inner(&e).is_socket_usable());
    let write = async {
        ws.write_all(b"late").await?;
        ws.flush().await
    };
    let write = tokio::time::timeout(GUARD, write).await;
    assert!(write.as_ref().is_ok_and(Result::is_err), "{write:?}");
}

#[tokio::test]
async fn a_failed_connect_leaves_no_socket() {
    // Nothing listens there once the listener is gone.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let refused = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Connect { .. }), "{refused:?}");
    assert!(!refused.is_socket_usable());

    // A server that accepts and never answers the upgrade.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        if let Ok((tcp, _)) = listener.accept().await {
            read_only(tcp).await;
        }
    });
    let mut c = control();
    c.connect_timeout = Some(SHORT);
    let timeout = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap_err();
    assert!(
        matches!(timeout, Error::Timeout(TimeoutKind::Connect)),
        "{timeout:?}"
    );
    assert!(!timeout.is_socket_usable());
    held.abort();
}

#[tokio::test]
async fn a_refused_upgrade_leaves_no_socket() {
    let addr = common::raw::raw_server(|mut tcp| async move {
        let _ = common::raw::read_upgrade(&mut tcp).await;
        let _ = tcp
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .await;
    })
    .await;
    let e = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::NotFound, "{e:?}");
    assert!(!e.is_socket_usable());
}
