//! H2Stream over a real `h2` client and server on an in-memory pipe.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

use super::*;

/// The window each side gives a stream, and the connection's (larger, so
/// that one stalled stream cannot take it all).
const STREAM_WINDOW: u32 = 64 * 1024;
const CONNECTION_WINDOW: u32 = 1024 * 1024;

/// A client's handle on an HTTP/2 connection whose server (see [`serve`])
/// hands its side of each stream to `accepted`.
struct Pair {
    client: h2::client::SendRequest<Bytes>,
    accepted: mpsc::UnboundedReceiver<H2Stream>,
}

/// A pair over an in-memory pipe, and the server's task.
async fn pair() -> (Pair, tokio::task::JoinHandle<()>) {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let (tx, accepted) = mpsc::unbounded_channel();
    let server = tokio::spawn(serve(b, tx));
    let (client, mut conn) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .handshake::<_, Bytes>(a)
        .await
        .unwrap();
    let mut ping = conn.ping_pong().unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    // The server's SETTINGS come first: once a PING is answered they are
    // known (SETTINGS_ENABLE_CONNECT_PROTOCOL among them).
    ping.ping(h2::Ping::opaque()).await.unwrap();
    (Pair { client, accepted }, server)
}

/// An HTTP/2 server that answers every extended CONNECT with 200.
async fn serve(io: DuplexStream, tx: mpsc::UnboundedSender<H2Stream>) {
    let mut conn = h2::server::Builder::new()
        .enable_connect_protocol()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .handshake::<_, Bytes>(io)
        .await
        .unwrap();
    while let Some(Ok((req, mut respond))) = conn.accept().await {
        assert_eq!(req.method(), http::Method::CONNECT);
        let send = respond
            .send_response(http::Response::new(()), false)
            .unwrap();
        let stream = H2Stream::new(send, req.into_body(), Arc::default());
        if tx.send(stream).is_err() {
            break;
        }
    }
}

impl Pair {
    /// Opens a stream: (client side, server side).
    async fn open(&mut self) -> (H2Stream, H2Stream) {
        let mut client = self.client.clone().ready().await.unwrap();
        assert!(client.is_extended_connect_protocol_enabled());
        let req = http::Request::builder()
            .method(http::Method::CONNECT)
            .uri("https://example.test/chat")
            .extension(h2::ext::Protocol::from_static("websocket"))
            .body(())
            .unwrap();
        let (response, send) = client.send_request(req, false).unwrap();
        let response = response.await.unwrap();
        assert_eq!(response.status(), 200);
        let ours = H2Stream::new(send, response.into_body(), Arc::default());
        let theirs = self.accepted.recv().await.unwrap();
        (ours, theirs)
    }
}

#[tokio::test]
async fn bytes_go_both_ways_and_shutdown_reads_as_end_of_file() {
    let (mut pair, _server) = pair().await;
    let (mut c, mut s) = pair.open().await;
    c.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"hello");
    s.write_all(b"world").await.unwrap();
    c.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"world");

    c.shutdown().await.unwrap();
    let mut rest = Vec::new();
    assert_eq!(s.read_to_end(&mut rest).await.unwrap(), 0);
    // The other direction stays open until its own shutdown.
    s.write_all(b"bye").await.unwrap();
    s.shutdown().await.unwrap();
    c.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"bye");
    // Writing after the shutdown is an error, not a frame after END_STREAM.
    assert!(c.write_all(b"late").await.is_err());
}

#[tokio::test]
async fn vectored_writes_and_more_than_a_window_arrive_whole() {
    let (mut pair, _server) = pair().await;
    let (mut c, mut s) = pair.open().await;
    // Four windows' worth: the writer must wait for window updates.
    let body: Vec<u8> = (0..4 * STREAM_WINDOW as usize).map(|i| i as u8).collect();
    let expected = [&b"head"[..], &body].concat();
    let writer = tokio::spawn(async move {
        let n = c
            .write_vectored(&[IoSlice::new(b"head"), IoSlice::new(&body)])
            .await
            .unwrap();
        // One gathered write takes the header and some of the payload.
        assert!(n > 4, "{n}");
        c.write_all(&body[n - 4..]).await.unwrap();
        c.shutdown().await.unwrap();
        c
    });
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected);
    writer.await.unwrap();
}

/// A stream whose reader stalls holds at most its window; another stream
/// on the same connection goes on, and the stalled one loses nothing once
/// read again.
#[tokio::test]
async fn a_stalled_reader_stalls_only_its_own_stream() {
    let (mut pair, _server) = pair().await;
    let (mut stalled, mut flood) = pair.open().await;
    let (busy, mut echo) = pair.open().await;

    let sent = Arc::new(AtomicUsize::new(0));
    let total = 16 * STREAM_WINDOW as usize;
    let counter = sent.clone();
    let flooder = tokio::spawn(async move {
        let chunk = vec![7u8; 4096];
        while counter.load(Ordering::Relaxed) < total {
            let n = flood.write(&chunk).await.unwrap();
            counter.fetch_add(n, Ordering::Relaxed);
        }
        flood.shutdown().await.unwrap();
    });

    // The busy stream echoes many times its window while the other one
    // is not read at all.
    let echoer = tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        loop {
            let n = echo.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            echo.write_all(&buf[..n]).await.unwrap();
        }
        echo.shutdown().await.unwrap();
    });
    let payload = vec![3u8; 8 * STREAM_WINDOW as usize];
    let mut back = vec![0u8; payload.len()];
    let (mut busy_rd, mut busy_wr) = tokio::io::split(busy);
    let (w, r) = tokio::join!(busy_wr.write_all(&payload), busy_rd.read_exact(&mut back));
    w.unwrap();
    r.unwrap();
    assert!(back == payload);

    // The stalled reader takes one byte: one byte goes back to the
    // window, not the DATA frame it came in. Then the flooder runs as far
    // as the window lets it.
    let mut one = [0u8; 1];
    stalled.read_exact(&mut one).await.unwrap();
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    let before = sent.load(Ordering::Relaxed);
    // What the flooder got rid of is at most the stalled stream's window
    // and the one byte read: h2 grants no capacity beyond the window, and
    // the adapter sends no more than it is granted.
    assert!(
        before <= STREAM_WINDOW as usize + 1,
        "{before} bytes left a stream with a window of {STREAM_WINDOW}"
    );
    assert!(
        before >= STREAM_WINDOW as usize,
        "the window was not used: {before}"
    );

    let mut got = one.to_vec();
    stalled.read_to_end(&mut got).await.unwrap();
    flooder.await.unwrap();
    assert_eq!(got.len(), sent.load(Ordering::Relaxed));
    assert!(got.iter().all(|&b| b == 7));
    busy_wr.shutdown().await.unwrap();
    echoer.await.unwrap();
}

#[tokio::test]
async fn a_reset_stream_is_an_error_carrying_the_reason() {
    let (mut pair, _server) = pair().await;
    let (mut c, s) = pair.open().await;
    let H2Stream { send, .. } = s;
    send.unwrap().send_reset(h2::Reason::CANCEL);
    let mut buf = [0u8; 8];
    let err = c.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    let h2 = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<h2::Error>())
        .expect("the h2 error inside");
    assert_eq!(h2.reason(), Some(h2::Reason::CANCEL));
    // Writing after the reset fails too, rather than waiting for capacity.
    assert!(c.write_all(&[0u8; 100_000]).await.is_err());
}

#[tokio::test]
async fn a_dead_connection_fails_its_streams_in_both_directions() {
    let (mut pair, server) = pair().await;
    let (mut c, s) = pair.open().await;
    // The server's connection goes away with its end of the pipe.
    server.abort();
    let _ = server.await;
    drop(s);
    drop(pair);
    let mut buf = [0u8; 8];
    assert!(c.read(&mut buf).await.is_err());
    assert!(c.write_all(&[0u8; 200_000]).await.is_err());
}
