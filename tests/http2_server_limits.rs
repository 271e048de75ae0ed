//! The server role over HTTP/2 (RFC 8441): its limits, failures and
//! lifetimes, against the `h2` crate's client (tests/common/h2ws.rs) and a
//! hand-written HTTP/2 client that ignores the stream limit.
//! SETTINGS_MAX_CONCURRENT_STREAMS announced, held and enforced, a
//! connection that dies under its sockets, a stream reset by the client,
//! hand-overs nobody takes, idleness, a dropped listener, an answer nobody
//! reads and a socket nobody reads. Loopback only.
#![cfg(all(
    feature = "server",
    feature = "http2",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod common;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wsock::Received;
use wsock::server::{AcceptOptions, Listener};

use common::h2ws::{V13, connect, h2_client, plain_server};

#[tokio::test]
async fn max_concurrent_streams_is_announced_and_held() {
    let mut options = AcceptOptions::default();
    options.http2_max_concurrent_streams = 3;
    let server = plain_server(options).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let (answer, ws) = connect(&mut h2, "/ws", &[V13]).await;
        assert_eq!(answer.status, 200);
        sockets.push(ws);
    }
    // The client's h2 holds a fourth stream back until one ends: it is not
    // ready while three are open.
    let fourth = tokio::spawn({
        let mut h2 = h2.clone();
        async move { connect(&mut h2, "/ws", &[V13]).await }
    });
    tokio::task::yield_now().await;
    for ws in &mut sockets {
        ws.echo_text("three at once").await;
    }
    assert!(
        !fourth.is_finished(),
        "a fourth stream opened past the limit"
    );
    sockets.pop().unwrap().close().await;
    let (answer, mut ws) = fourth.await.unwrap();
    assert_eq!(answer.status, 200);
    ws.echo_text("after one closed").await;
}

#[tokio::test]
async fn sockets_fail_clearly_when_their_connection_dies() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    tokio::spawn(listener.serve(move |incoming| {
        let tx = tx.clone();
        async move {
            let mut ws = incoming.accept(None).await.unwrap();
            let _ = tx.send(ws.receive().await.map(|_| ()));
        }
    }));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut h2, conn) = h2_client(tcp).await;
    let (_, ws1) = connect(&mut h2, "/ws", &[V13]).await;
    let (_, ws2) = connect(&mut h2, "/ws", &[V13]).await;
    // The client vanishes: its connection task ends, its TCP closes.
    conn.abort();
    drop((h2, ws1, ws2));
    for _ in 0..2 {
        let outcome = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a socket hung on a dead connection")
            .unwrap();
        let e = outcome.expect_err("a dead connection is an error");
        assert!(!e.is_socket_usable(), "{}", e.report());
    }
}

#[tokio::test]
async fn waiting_hand_overs_do_not_stall_open_sockets() {
    // The application takes one socket, then stops calling accept: the
    // listener's queue fills up with CONNECTs, and the connection's task
    // must go on moving the first socket's frames meanwhile.
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let first = tokio::spawn(async move {
        let ws = listener.accept().await.unwrap().accept(None).await.unwrap();
        tokio::spawn(common::echo(ws));
        // Keeps the listener (and its queue) alive, never accepting again.
        std::future::pending::<()>().await;
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let (answer, mut ws) = connect(&mut h2, "/ws", &[V13]).await;
    assert_eq!(answer.status, 200);
    let mut waiting = Vec::new();
    for _ in 0..90 {
        let mut h2 = h2.clone();
        waiting.push(tokio::spawn(async move {
            connect(&mut h2, "/ws", &[V13]).await;
        }));
    }
    for i in 0..20 {
        let text = format!("{i}");
        tokio::time::timeout(Duration::from_secs(10), ws.echo_text(&text))
            .await
            .expect("an open socket stalled behind waiting hand-overs");
    }
    assert!(waiting.iter().all(|w| !w.is_finished()));
    first.abort();
}

#[tokio::test]
async fn an_idle_h2_connection_is_closed_after_the_request_timeout() {
    let mut options = AcceptOptions::default();
    options.request_timeout = Some(Duration::from_millis(200));
    let server = plain_server(options).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (h2, conn) = h2_client(tcp).await;
    // A socket keeps it open past the timeout...
    let (_, mut ws) = connect(&mut h2.clone(), "/ws", &[V13]).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    ws.echo_text("still open").await;
    // ...and once the last stream is gone, the server says GOAWAY.
    // (The client keeps its handle: it would close an unused connection
    // by itself otherwise.)
    ws.close().await;
    let end = tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("an idle HTTP/2 connection was kept open")
        .unwrap();
    assert!(end.is_ok(), "{end:?}");
    drop(h2);
}

#[tokio::test]
async fn sockets_outlive_a_dropped_listener() {
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let connecting = tokio::spawn({
        let mut h2 = h2.clone();
        async move { connect(&mut h2, "/ws", &[V13]).await }
    });
    let ws = listener.accept().await.unwrap().accept(None).await.unwrap();
    tokio::spawn(common::echo(ws));
    let (_, mut client) = connecting.await.unwrap();
    drop(listener);
    client.echo_text("the listener is gone").await;
    // A new stream is not handed to anyone: it is refused, not left open.
    let mut send = h2.clone().ready().await.unwrap();
    let request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri("http://localhost/ws")
        .extension(h2::ext::Protocol::from_static("websocket"))
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    let (response, _stream) = send.send_request(request, false).unwrap();
    let refused = tokio::time::timeout(Duration::from_secs(10), response).await;
    assert!(refused.expect("a stream was left hanging").is_err());
    client.echo_text("and the socket lives on").await;
    client.close().await;
    let _ = &mut h2;
}

/// One HTTP/2 frame, written by hand.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An extended CONNECT's header block in HPACK, every field a literal
/// without indexing (short names and values: one-byte lengths).
fn connect_block() -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", "/ws"),
        (":authority", "localhost"),
        ("sec-websocket-version", "13"),
    ] {
        block.push(0);
        block.push(name.len() as u8);
        block.extend_from_slice(name.as_bytes());
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    block
}

#[tokio::test]
async fn a_client_ignoring_max_concurrent_streams_is_refused_past_it() {
    // A client that opens streams past the announced limit (the h2 crate's
    // client would not), all at once: those past it are refused with
    // REFUSED_STREAM, the first ones answered; nothing piles up.
    const LIMIT: u32 = 3;
    const OPENED: u32 = LIMIT + 20;
    let mut options = AcceptOptions::default();
    options.http2_max_concurrent_streams = LIMIT;
    let server = plain_server(options).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(h2_frame(0x4, 0, 0, &[]));
    tcp.write_all(&out).await.unwrap();
    let mut buf = Vec::new();
    let mut answered = std::collections::HashSet::new();
    let mut refused = std::collections::HashSet::new();
    let mut announced = None;
    let mut sent = false;
    let read = async {
        loop {
            while buf.len() >= 9 {
                let len = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]) as usize;
                if buf.len() < 9 + len {
                    break;
                }
                let (kind, flags) = (buf[3], buf[4]);
                let stream = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff;
                let payload = buf[9..9 + len].to_vec();
                buf.drain(..9 + len);
                match kind {
                    // The server's SETTINGS: find its limit, ack, then flood.
                    0x4 if flags & 1 == 0 => {
                        for s in payload.chunks(6) {
                            if u16::from_be_bytes([s[0], s[1]]) == 0x3 {
                                announced = Some(u32::from_be_bytes([s[2], s[3], s[4], s[5]]));
                            }
                        }
                        let mut out = h2_frame(0x4, 1, 0, &[]);
                        for i in 0..OPENED {
                            out.extend(h2_frame(0x1, 0x4, 1 + 2 * i, &connect_block()));
                        }
                        tcp.write_all(&out).await.unwrap();
                        sent = true;
                    }
                    0x1 => drop(answered.insert(stream)),
                    0x3 => {
                        let code =
                            u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                        assert_eq!(
                            code, 0x7,
                            "stream {stream} reset with {code}, not REFUSED_STREAM"
                        );
                        refused.insert(stream);
                    }
                    0x7 => panic!("GOAWAY: {payload:?}"),
                    _ => {}
                }
            }
            if sent && (answered.len() + refused.len()) as u32 == OPENED {
                return;
            }
            let mut chunk = [0u8; 16384];
            let n = tcp.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("some streams were neither answered nor refused");
    assert_eq!(announced, Some(LIMIT));
    assert_eq!(answered.len() as u32, LIMIT, "answered: {answered:?}");
    assert_eq!(refused.len() as u32, OPENED - LIMIT);
    assert!(answered.is_disjoint(&refused));
}

#[tokio::test]
async fn an_answer_the_client_never_reads_ends_within_the_linger() {
    // Over HTTP/1.1 an answer gets a bounded time to leave; over HTTP/2 a
    // client that never opens its window must not hold the body (and the
    // stream) for as long as the connection lives.
    let (tx, mut results) = mpsc::unbounded_channel();
    let listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    tokio::spawn(listener.serve(move |incoming| {
        let tx = tx.clone();
        async move {
            let page = vec![b'x'; 1 << 20];
            let _ = tx.send(incoming.respond(200, "text/plain", &page).await);
        }
    }));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (h2, _conn) = h2_client(tcp).await;
    let request = http::Request::builder()
        .uri("http://localhost/")
        .body(())
        .unwrap();
    let mut h2 = h2.ready().await.unwrap();
    let (response, _) = h2.send_request(request, true).unwrap();
    // The head arrives; the body is never read, so the client's window
    // (64 KiB) never opens past its first bytes.
    let (_, body) = response.await.unwrap().into_parts();
    let result = tokio::time::timeout(Duration::from_secs(20), results.recv())
        .await
        .expect("the answer waits for a client that never reads")
        .unwrap();
    assert!(
        result.is_err(),
        "1 MiB cannot have left through a 64 KiB window"
    );
    drop(body);
    // A client that reads gets it all, on the same connection.
    let request = http::Request::builder()
        .uri("http://localhost/")
        .body(())
        .unwrap();
    let mut h2 = h2.ready().await.unwrap();
    let (response, _) = h2.send_request(request, true).unwrap();
    let (_, mut body) = response.await.unwrap().into_parts();
    let mut got = 0;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        got += chunk.len();
    }
    assert_eq!(got, 1 << 20);
    assert!(results.recv().await.unwrap().is_ok());
}

#[tokio::test]
async fn a_socket_that_is_not_read_stalls_only_its_own_stream() {
    // The first socket's application never reads it; the client fills
    // its stream with more than HTTP/2's default 64 KiB windows. The
    // second socket on the same connection must still echo: the stalled
    // one may take its own window, not the connection's.
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    tokio::spawn(async move {
        let stalled = listener.accept().await.unwrap().accept(None).await.unwrap();
        let ws = listener.accept().await.unwrap().accept(None).await.unwrap();
        tokio::spawn(common::echo(ws));
        std::future::pending::<()>().await;
        drop(stalled);
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let (_, mut stalled) = connect(&mut h2, "/ws", &[V13]).await;
    for _ in 0..32 {
        stalled.send_frame(0x2, &[0u8; 16 << 10]);
    }
    // What the client sent reaches the server as far as it lets it.
    stalled.send.reserve_capacity(1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (answer, mut ws) = connect(&mut h2, "/ws", &[V13]).await;
    assert_eq!(answer.status, 200);
    let text = "x".repeat(1000);
    tokio::time::timeout(Duration::from_secs(10), ws.echo_text(&text))
        .await
        .expect("a socket nobody reads stalled the others");
}

#[tokio::test]
async fn a_stream_reset_by_the_client_fails_its_socket_only() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    tokio::spawn(listener.serve(move |incoming| {
        let tx = tx.clone();
        async move {
            let mut ws = incoming.accept(None).await.unwrap();
            loop {
                match ws.receive().await {
                    Ok(Received::Message(m)) => ws.send_message(&m).await.unwrap(),
                    other => return drop(tx.send(other.map(|_| ()))),
                }
            }
        }
    }));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut h2, _conn) = h2_client(tcp).await;
    let (_, mut reset) = connect(&mut h2, "/ws", &[V13]).await;
    let (_, mut other) = connect(&mut h2, "/ws", &[V13]).await;
    reset.echo_text("before").await;
    reset.send.send_reset(h2::Reason::CANCEL);
    let e = rx.recv().await.unwrap().unwrap_err();
    assert_eq!(e.status(), wsock::WebErrorStatus::ConnectionReset);
    assert!(
        e.report()
            .contains("the peer reset the HTTP/2 stream (CANCEL)"),
        "{}",
        e.report()
    );
    other.echo_text("the other socket goes on").await;
}
