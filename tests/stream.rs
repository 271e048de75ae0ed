//! StreamWebSocket against our own server role over loopback.
#![cfg(feature = "server")]

mod common;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use wsock::server::{self, AcceptOptions};
use wsock::{StreamWebSocket, StreamWebSocketControl, WebErrorStatus};

fn checksum(data: &[u8]) -> u64 {
    // FNV-1a: enough to tell two payloads apart in a test.
    data.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

async fn round_trip(url: &str, size: usize) {
    let ws = StreamWebSocket::connect(url, StreamWebSocketControl::default())
        .await
        .unwrap();
    let (mut wr, mut rd) = ws.split();
    let data: Vec<u8> = (0..size).map(|i| (i * 7 % 256) as u8).collect();
    let sum = checksum(&data);
    let writer = tokio::spawn(async move {
        // Odd-sized writes, to cross frame boundaries.
        for chunk in data.chunks(12_345) {
            wr.write_all(chunk).await.unwrap();
        }
        wr.shutdown().await.unwrap();
    });
    let mut echoed = Vec::with_capacity(size);
    rd.read_to_end(&mut echoed).await.unwrap();
    writer.await.unwrap();
    assert_eq!(echoed.len(), size);
    assert_eq!(checksum(&echoed), sum);
}

#[tokio::test]
async fn round_trips_of_0_1_and_64_mib() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let url = format!("ws://{addr}/");
    round_trip(&url, 0).await;
    round_trip(&url, 1).await;
    round_trip(&url, 64 << 20).await;
}

#[tokio::test]
async fn read_exact_across_frame_boundaries() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = server::accept(tcp, AcceptOptions::default()).await.unwrap();
        // Three binary messages with a ping between them.
        ws.send_binary(b"abc").await.unwrap();
        ws.ping(b"between").await.unwrap();
        ws.send_binary(b"defg").await.unwrap();
        ws.send_binary(b"hij").await.unwrap();
        ws.close(1000, "").await.unwrap();
    });
    let mut ws =
        StreamWebSocket::connect(&format!("ws://{addr}/"), StreamWebSocketControl::default())
            .await
            .unwrap();
    let mut buf = [0u8; 5];
    ws.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"abcde");
    let mut rest = Vec::new();
    ws.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"fghij");
}

#[tokio::test]
async fn a_text_message_is_a_protocol_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = server::accept(tcp, AcceptOptions::default()).await.unwrap();
        ws.send_text("not binary").await.unwrap();
        ws.receive().await
    });
    let mut ws =
        StreamWebSocket::connect(&format!("ws://{addr}/"), StreamWebSocketControl::default())
            .await
            .unwrap();
    let mut buf = [0u8; 16];
    let err = ws.read(&mut buf).await.unwrap_err();
    let err: wsock::Error = err
        .into_inner()
        .unwrap()
        .downcast::<wsock::Error>()
        .map(|e| *e)
        .unwrap();
    assert_eq!(err.status(), WebErrorStatus::ConnectionAborted);
    match server.await.unwrap().unwrap() {
        wsock::Received::Closed { code, .. } => assert_eq!(code, 1003),
        other => panic!("{other:?}"),
    }
}

/// A raw server: does the upgrade by hand, sends `frames` worth of binary
/// messages, then ends the TCP connection with a reset (or a FIN) and no
/// close frame.
async fn vanishing_server(reset: bool) -> String {
    use wsock::handshake::{Limits, server as hs};
    use wsock::proto::{Config, Connection, DataKind, Role};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let req = loop {
            let mut chunk = [0u8; 1024];
            let n = tcp.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            if let Some((req, _)) = hs::parse_request(&buf, &Limits::default()).unwrap() {
                break req;
            }
        };
        let up = hs::check_upgrade(&req).unwrap();
        let mut out = Vec::new();
        hs::write_accept(&up.key, None, None, &[], &mut out);
        let mut conn = Connection::new(Config::new(Role::Server));
        conn.encode_data(DataKind::Binary, &[9u8; 1000], true, true)
            .unwrap();
        out.extend_from_slice(conn.output());
        tcp.write_all(&out).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        if reset {
            // Linger 0 makes the close a reset; with a zero time it does not block.
            #[allow(deprecated)]
            tcp.set_linger(Some(Duration::ZERO)).unwrap();
        }
        drop(tcp);
    });
    format!("ws://{addr}/")
}

#[tokio::test]
async fn a_reset_mid_stream_is_an_error_not_an_end() {
    let url = vanishing_server(true).await;
    let mut ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
        .await
        .unwrap();
    let mut got = vec![0u8; 1000];
    ws.read_exact(&mut got).await.unwrap();
    let err = ws.read(&mut [0u8; 16]).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
}

#[tokio::test]
async fn an_end_without_close_frame_is_an_error_not_an_end() {
    let url = vanishing_server(false).await;
    let mut ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
        .await
        .unwrap();
    let mut got = Vec::new();
    let err = ws.read_to_end(&mut got).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    assert_eq!(got.len(), 1000);
}

#[tokio::test]
async fn a_clean_close_mid_stream_reads_as_the_end() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = server::accept(tcp, AcceptOptions::default()).await.unwrap();
        ws.send_binary(&[1u8; 1000]).await.unwrap();
        ws.close(1000, "enough").await.unwrap();
    });
    let mut ws =
        StreamWebSocket::connect(&format!("ws://{addr}/"), StreamWebSocketControl::default())
            .await
            .unwrap();
    let mut got = Vec::new();
    ws.read_to_end(&mut got).await.unwrap();
    assert_eq!(got.len(), 1000);
}

#[tokio::test]
async fn round_trip_times_are_measured() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut ws =
        StreamWebSocket::connect(&format!("ws://{addr}/"), StreamWebSocketControl::default())
            .await
            .unwrap();
    for _ in 0..3 {
        ws.ping().await.unwrap();
        ws.write_all(b"x").await.unwrap();
        ws.flush().await.unwrap();
        let mut b = [0u8; 1];
        ws.read_exact(&mut b).await.unwrap();
    }
    let rtt = ws.information().round_trip_time_statistics();
    assert!(rtt.count >= 3, "{rtt:?}");
    assert!(rtt.min <= rtt.max && rtt.sum >= rtt.max, "{rtt:?}");
    ws.close(1000, "").await.unwrap();
}

/// As for the message socket: the local address, never asked for while
/// the socket lived, is still there afterwards.
#[tokio::test]
async fn information_keeps_the_local_address_after_the_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, peer) = listener.accept().await.unwrap();
        let mut ws = server::accept(tcp, AcceptOptions::default()).await.unwrap();
        let _ = ws.receive().await;
        peer
    });
    let ws = StreamWebSocket::connect(&format!("ws://{addr}/"), StreamWebSocketControl::default())
        .await
        .unwrap();
    let kept = ws.information().clone();
    drop(ws);
    assert_eq!(kept.local_address(), Some(server.await.unwrap()));
    assert_eq!(kept.remote_address(), Some(addr));
}

/// A client stream socket whose peer completed the handshake and then
/// never reads, with a short send timeout.
async fn never_read_peer(send: Duration, close: Duration) -> StreamWebSocket {
    let addr = common::raw::upgraded_then(|tcp| async move {
        // Hold the connection, never read.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(tcp);
    })
    .await;
    let mut control = StreamWebSocketControl::default();
    control.send_timeout = Some(send);
    control.close_timeout = Some(close);
    StreamWebSocket::connect(&format!("ws://{addr}/"), control)
        .await
        .unwrap()
}

/// Polls `op` until it fails; how long it waited, from just before the
/// poll that first found it `Pending`, and the error.
async fn wait_for_failure<T: std::fmt::Debug>(
    mut op: impl FnMut(&mut Context<'_>) -> Poll<std::io::Result<T>>,
) -> (Duration, std::io::Error) {
    let mut waiting_since = None;
    let err = std::future::poll_fn(|cx| {
        loop {
            let before = Instant::now();
            match op(cx) {
                Poll::Ready(Ok(_)) => waiting_since = None,
                Poll::Ready(Err(e)) => return Poll::Ready(e),
                Poll::Pending => {
                    waiting_since.get_or_insert(before);
                    return Poll::Pending;
                }
            }
        }
    })
    .await;
    (waiting_since.expect("it waited").elapsed(), err)
}

/// Writes until a write waits (the transport is full); leaves it waiting.
async fn fill(ws: &mut StreamWebSocket) {
    let chunk = vec![0x5au8; 64 * 1024];
    std::future::poll_fn(|cx| {
        loop {
            match Pin::new(&mut *ws).poll_write(cx, &chunk) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => panic!("{e}"),
                Poll::Pending => return Poll::Ready(()),
            }
        }
    })
    .await
}

/// `waited` is within the send timeout: not before it, and not a whole
/// limit after (twice the limit is far beyond any scheduling delay: a
/// bound on correctness, not on speed).
fn assert_send_timeout(waited: Duration, err: &std::io::Error, limit: Duration) {
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(
        waited >= limit && waited < 2 * limit,
        "timed out after {waited:?} of waiting, limit {limit:?}"
    );
}

const SEND_LIMIT: Duration = Duration::from_millis(300);

/// A stream write that cannot make progress (the peer never reads) fails
/// with the send timeout, counted from the first `Pending` of the write
/// that stalls.
#[tokio::test]
async fn stalled_write_times_out_within_the_send_timeout() {
    let mut ws = never_read_peer(SEND_LIMIT, Duration::from_secs(10)).await;
    let chunk = vec![0x5au8; 64 * 1024];
    let (waited, err) = wait_for_failure(|cx| Pin::new(&mut ws).poll_write(cx, &chunk)).await;
    assert_send_timeout(waited, &err, SEND_LIMIT);
}

/// A write left waiting (as `select!` or a timeout leaves it) does not lend
/// its timer to the flush that follows: the flush gets the whole send
/// timeout from when it begins to wait, not what was left of the write's.
#[tokio::test]
async fn flush_after_an_abandoned_write_gets_the_whole_send_timeout() {
    let mut ws = never_read_peer(SEND_LIMIT, Duration::from_secs(10)).await;
    fill(&mut ws).await;
    tokio::time::sleep(SEND_LIMIT / 2).await;
    let (waited, err) = wait_for_failure(|cx| Pin::new(&mut ws).poll_flush(cx)).await;
    assert_send_timeout(waited, &err, SEND_LIMIT);
}

/// A shutdown left waiting (its limit the close timeout) does not lend its
/// timer to a flush that follows: the flush fails by the send timeout, not
/// by the (much longer) close timeout.
#[tokio::test]
async fn flush_after_an_abandoned_shutdown_times_out_by_the_send_timeout() {
    let mut ws = never_read_peer(SEND_LIMIT, Duration::from_secs(5)).await;
    fill(&mut ws).await;
    // Bytes gathered, then a shutdown that must wait to send them.
    let gathered = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut ws).poll_write(cx, b"x")));
    assert!(matches!(gathered.await, Poll::Ready(Ok(1))));
    let shutdown = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut ws).poll_shutdown(cx)));
    assert!(shutdown.await.is_pending());
    let (waited, err) = wait_for_failure(|cx| Pin::new(&mut ws).poll_flush(cx)).await;
    assert_send_timeout(waited, &err, SEND_LIMIT);
}
