//! The client's WebSockets over HTTP/2 (RFC 8441) when things go wrong,
//! against hand-made HTTP/2 servers (tests/common/h2peer.rs): a stream
//! reset mid-message, GOAWAY (graceful and abrupt), a server that dies, a
//! reader that stalls, a connect given up, sockets on another runtime.
#![cfg(feature = "http2")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::h2peer::{self, Options, Stream, echo_server, exact, receive_error, recv};
use wsock::{Error, Http2Error, MessageWebSocket, WebErrorStatus};

#[tokio::test]
async fn a_stream_reset_mid_message_fails_that_socket_only() {
    let handler = h2peer::handler(|req, respond| async move {
        if req.uri().path() != "/reset" {
            return Stream::answer(req, respond, &[]).echo().await;
        }
        let mut stream = Stream::answer(req, respond, &[]);
        stream.read_frame().await;
        // A frame header for 1000 bytes, then 10 of them, then RST_STREAM.
        let mut part = h2peer::frame(0x82, &[7u8; 1000]);
        part.truncate(14);
        stream.write(&part).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.send.send_reset(h2::Reason::INTERNAL_ERROR);
        // Kept until the reset is out.
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let mut options = Options::new(handler);
    options.max_streams = Some(2);
    let server = h2peer::start(options).await;
    let base = format!("ws://{}", server.addr);
    let mut other = MessageWebSocket::connect(&format!("{base}/"), exact())
        .await
        .unwrap();
    let mut ws = MessageWebSocket::connect(&format!("{base}/reset"), exact())
        .await
        .unwrap();
    ws.send_text("go").await.unwrap();
    let e = receive_error(&mut ws).await;
    assert!(
        matches!(e, Error::Http2(Http2Error::StreamReset(2))),
        "{e:?}: {}",
        e.report()
    );
    assert_eq!(e.status(), WebErrorStatus::ConnectionReset);
    assert!(!e.is_socket_usable());
    // The other socket on the same connection goes on.
    other.send_text("still here").await.unwrap();
    assert_eq!(recv(&mut other).await.as_text().unwrap(), "still here");
    // The reset socket, failed but still kept, holds no place under the
    // server's limit of two streams: a new socket shares the connection.
    let mut third = MessageWebSocket::connect(&format!("{base}/"), exact())
        .await
        .unwrap();
    third.send_text("third").await.unwrap();
    assert_eq!(recv(&mut third).await.as_text().unwrap(), "third");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    drop(ws);
}

#[tokio::test]
async fn after_goaway_open_sockets_go_on_and_new_ones_use_a_new_connection() {
    let server = echo_server().await;
    let url = format!("ws://{}/", server.addr);
    let mut ws = MessageWebSocket::connect(&url, exact()).await.unwrap();
    server.goaway();
    // The GOAWAY has come once a round trip after it has.
    ws.send_text("before").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "before");
    let mut next = MessageWebSocket::connect(&url, exact()).await.unwrap();
    next.send_text("new").await.unwrap();
    assert_eq!(recv(&mut next).await.as_text().unwrap(), "new");
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    ws.send_text("after").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "after");
    ws.close(1000, "").await.unwrap();
    next.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn a_dead_server_fails_every_open_socket_and_is_not_reused() {
    let server = echo_server().await;
    let url = format!("ws://{}/", server.addr);
    let mut sockets = Vec::new();
    for _ in 0..5 {
        sockets.push(MessageWebSocket::connect(&url, exact()).await.unwrap());
    }
    server.kill();
    for ws in &mut sockets {
        let e = receive_error(ws).await;
        assert!(!e.is_socket_usable(), "{e:?}");
        assert_ne!(e.status(), WebErrorStatus::Unknown, "{}", e.report());
    }
    // Nothing listens any more: a new socket connects anew (and fails),
    // rather than opening a stream on the dead connection.
    let e = MessageWebSocket::connect(&url, exact()).await.unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::CannotConnect, "{}", e.report());
}

/// The server floods one socket that nobody reads while another socket on
/// the same connection echoes many times the stream window: the flood is
/// held back at about the window, and nothing of it is lost.
#[tokio::test]
async fn a_stalled_reader_stalls_only_its_own_socket() {
    const FRAMES: usize = 100;
    const FRAME: usize = 64 * 1024;
    let flooded = Arc::new(AtomicUsize::new(0));
    let counter = flooded.clone();
    let handler = h2peer::handler(move |req, respond| {
        let counter = counter.clone();
        async move {
            if req.uri().path() != "/flood" {
                return Stream::answer(req, respond, &[]).echo().await;
            }
            let mut stream = Stream::answer(req, respond, &[]);
            let frame = h2peer::frame(0x82, &[9u8; FRAME]);
            for _ in 0..FRAMES {
                if !stream.write(&frame).await {
                    return;
                }
                counter.fetch_add(frame.len(), Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
    let server = h2peer::start(Options::new(handler)).await;
    let base = format!("ws://{}", server.addr);
    let mut stalled = MessageWebSocket::connect(&format!("{base}/flood"), exact())
        .await
        .unwrap();
    let mut busy = MessageWebSocket::connect(&format!("{base}/"), exact())
        .await
        .unwrap();
    let payload = vec![5u8; FRAME];
    for _ in 0..40 {
        busy.send_binary(&payload).await.unwrap();
        assert_eq!(recv(&mut busy).await.data().len(), FRAME);
    }
    let held = flooded.load(Ordering::SeqCst);
    // The client's stream window (256 KiB) and one frame in the server's
    // hands at most; far from the 6.4 MiB it wants to send.
    assert!(
        held <= 512 * 1024,
        "{held} bytes went to a reader that stalls"
    );
    for _ in 0..FRAMES {
        assert_eq!(recv(&mut stalled).await.data().len(), FRAME);
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

/// Three sockets on one connection, then a GOAWAY with
/// ENHANCE_YOUR_CALM (11) and the end of the connection: each socket
/// fails with that GOAWAY and its code. Returns the server and its URL.
async fn three_sockets_under_an_abrupt_goaway() -> (h2peer::H2Server, String) {
    let server = echo_server().await;
    let url = format!("ws://{}/", server.addr);
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(MessageWebSocket::connect(&url, exact()).await.unwrap());
    }
    server.goaway_abruptly();
    for ws in &mut sockets {
        let e = receive_error(ws).await;
        assert!(
            matches!(e, Error::Http2(Http2Error::GoAway(11))),
            "{e:?}: {}",
            e.report()
        );
        assert_eq!(e.status(), WebErrorStatus::ConnectionAborted);
    }
    (server, url)
}

#[tokio::test]
async fn an_abrupt_goaway_fails_open_sockets_with_its_code() {
    let (server, url) = three_sockets_under_an_abrupt_goaway().await;
    // The next socket opens a new connection.
    let mut ws = MessageWebSocket::connect(&url, exact()).await.unwrap();
    ws.send_text("again").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "again");
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

/// On a multi-thread runtime a socket's task may see its stream fail
/// before the connection's task has recorded the GOAWAY behind it: the
/// socket still reports the GOAWAY and its code, not a bare broken pipe.
/// (Before the fix, about half the sockets here did not.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abrupt_goaway_is_reported_as_such_on_a_multi_thread_runtime() {
    for _ in 0..20 {
        three_sockets_under_an_abrupt_goaway().await;
    }
}

/// A connection's task runs on the runtime of the socket that opened it:
/// a socket on another runtime does not open its stream there, where
/// nobody may be running that task (here, a runtime no longer driven).
#[test]
fn sockets_on_another_runtime_do_not_share_its_connections() {
    let servers = tokio::runtime::Runtime::new().unwrap();
    let server = servers.block_on(echo_server());
    let url = format!("ws://{}/", server.addr);
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Opened, then left on a runtime that nobody drives any more.
    let _idle = first
        .block_on(MessageWebSocket::connect(&url, exact()))
        .unwrap();
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    second.block_on(async {
        let mut c = exact();
        c.connect_timeout = Some(Duration::from_secs(10));
        let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
        ws.send_text("other runtime").await.unwrap();
        assert_eq!(recv(&mut ws).await.as_text().unwrap(), "other runtime");
    });
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

/// A connect given up while the server sits on its CONNECT (the connect
/// timeout, or a dropped future) gives its place on the connection back:
/// with room for one stream only, the next socket still fits there.
#[tokio::test]
async fn a_connect_given_up_gives_its_stream_back() {
    let handler = h2peer::handler(|req, respond| async move {
        if req.uri().path() == "/never" {
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(respond);
            return;
        }
        Stream::answer(req, respond, &[]).echo().await;
    });
    let mut options = Options::new(handler);
    options.max_streams = Some(1);
    let server = h2peer::start(options).await;
    let mut c = exact();
    c.connect_timeout = Some(Duration::from_millis(300));
    let e = MessageWebSocket::connect(&format!("ws://{}/never", server.addr), c)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Timeout(wsock::TimeoutKind::Connect)),
        "{e:?}"
    );
    // A connect future dropped outright does the same.
    let never_url = format!("ws://{}/never", server.addr);
    let never = MessageWebSocket::connect(&never_url, exact());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), never)
            .await
            .is_err()
    );
    let mut ws = MessageWebSocket::connect(&format!("ws://{}/", server.addr), exact())
        .await
        .unwrap();
    ws.send_text("fits").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "fits");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

/// A server that takes the TCP connection and never says a word (no
/// SETTINGS, no PING answer): each connect ends at its own connect
/// timeout, the one that dials and the one that waits for that dial.
#[tokio::test]
async fn a_silent_server_ends_each_connect_at_its_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let url = format!("ws://{addr}/");
    let mut c = exact();
    c.connect_timeout = Some(Duration::from_millis(300));
    let (a, b) = tokio::join!(
        MessageWebSocket::connect(&url, c.clone()),
        MessageWebSocket::connect(&url, c)
    );
    for e in [a.unwrap_err(), b.unwrap_err()] {
        assert!(
            matches!(e, Error::Timeout(wsock::TimeoutKind::Connect)),
            "{e:?}"
        );
    }
}
