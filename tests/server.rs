//! The server role: what it answers to bad, refused and plain requests
//! (hand-written bytes over raw TCP), subprotocol choice, both socket types,
//! the listener, keep-alive pings and the close answer. Loopback only.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wsock::proto::{CloseFrame, Config, Connection, Event, Role};
use wsock::server::{AcceptOptions, Incoming, Listener};
use wsock::{
    Error, MessageType, MessageWebSocket, MessageWebSocketControl, Received, StreamWebSocket,
    StreamWebSocketControl, TimeoutKind, WebErrorStatus,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A valid upgrade request for /ws, with `extra` header lines (each ending
/// in CRLF) before the blank line.
fn upgrade(extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// What the test server does with each request: echo on /ws (refusing what
/// is not an acceptable upgrade), a page on /, 404 elsewhere.
async fn handle(incoming: Incoming) {
    match incoming.path() {
        "/ws" if incoming.is_upgrade() => {
            if let Ok(ws) = incoming.accept(None).await {
                common::echo(ws).await;
            }
        }
        "/ws" => drop(incoming.refuse().await),
        "/" => {
            let headers = [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Cache-Control", "no-store"),
            ];
            drop(incoming.respond_with(200, &headers, b"<p>hi</p>").await);
        }
        _ => drop(incoming.respond(404, "text/plain", b"not here\n").await),
    }
}

/// A listener on a free loopback port running [`handle`]; the second
/// value receives every per-connection error the listener reports.
async fn server(options: AcceptOptions) -> (SocketAddr, mpsc::UnboundedReceiver<Error>) {
    let listener = Listener::bind("127.0.0.1:0", options).await.unwrap();
    let addr = listener.local_addr();
    let (tx, rx) = mpsc::unbounded_channel();
    listener.on_error(move |_, e| drop(tx.send(clone_error(e))));
    tokio::spawn(listener.serve(handle));
    (addr, rx)
}

/// Errors are not Clone; keep what the tests look at.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Timeout(kind) => Error::Timeout(*kind),
        Error::Handshake(h) => Error::Handshake(h.clone()),
        other => Error::Io(std::io::Error::other(other.to_string())),
    }
}

/// An HTTP answer read to the end of the connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn parse_answer(bytes: &[u8]) -> Answer {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head in {:?}", String::from_utf8_lossy(bytes)));
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    Answer {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    }
}

/// Sends `request` on a fresh connection and reads the answer to the end
/// (every final answer closes the connection).
async fn exchange(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    parse_answer(&answer)
}

#[tokio::test]
async fn a_bad_key_is_400() {
    let (addr, _) = server(AcceptOptions::default()).await;
    let req = upgrade("").replace(KEY, "c2hvcnQ=");
    let a = exchange(addr, req.as_bytes()).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.header("connection"), Some("close"));
    assert!(String::from_utf8_lossy(&a.body).contains("Sec-WebSocket-Key"));
}

#[tokio::test]
async fn a_post_is_400() {
    let (addr, _) = server(AcceptOptions::default()).await;
    let req = upgrade("Content-Length: 5\r\n").replacen("GET", "POST", 1) + "hello";
    let a = exchange(addr, req.as_bytes()).await;
    assert_eq!(a.status, 400);
    assert!(String::from_utf8_lossy(&a.body).contains("GET"));
}

#[tokio::test]
async fn a_missing_upgrade_header_is_400() {
    let (addr, _) = server(AcceptOptions::default()).await;
    let req = upgrade("").replace("Upgrade: websocket\r\n", "");
    let a = exchange(addr, req.as_bytes()).await;
    assert_eq!(a.status, 400);
    assert!(String::from_utf8_lossy(&a.body).contains("Upgrade"));
}

#[tokio::test]
async fn version_12_is_426_with_the_version_we_speak() {
    let (addr, _) = server(AcceptOptions::default()).await;
    let req = upgrade("").replace("Version: 13", "Version: 12");
    let a = exchange(addr, req.as_bytes()).await;
    assert_eq!(a.status, 426);
    assert_eq!(a.header("sec-websocket-version"), Some("13"));
}

fn origins() -> AcceptOptions {
    let mut o = AcceptOptions::default();
    o.allowed_origins = vec!["https://Good.example".into()];
    o
}

#[tokio::test]
async fn an_origin_not_allowed_is_403() {
    let (addr, _) = server(origins()).await;
    let a = exchange(addr, upgrade("Origin: https://evil.example\r\n").as_bytes()).await;
    assert_eq!(a.status, 403);
    // A client library, refused the same way, sees Forbidden.
    let mut c = MessageWebSocketControl::default();
    c.set_request_header("Origin", "https://evil.example")
        .unwrap();
    let err = MessageWebSocket::connect(&format!("ws://{addr}/ws"), c)
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::Forbidden);
}

#[tokio::test]
async fn an_allowed_origin_is_accepted_in_any_case() {
    let (addr, _) = server(origins()).await;
    let mut c = MessageWebSocketControl::default();
    c.set_request_header("Origin", "HTTPS://good.EXAMPLE")
        .unwrap();
    c.message_type = MessageType::Utf8;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/ws"), c)
        .await
        .unwrap();
    ws.send(b"from a good origin").await.unwrap();
    match ws.receive().await.unwrap() {
        Received::Message(m) => assert_eq!(m.as_text().unwrap(), "from a good origin"),
        other => panic!("{other:?}"),
    }
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn no_origin_is_not_checked() {
    // Only browsers send Origin (ASP.NET Core lets such requests through).
    let (addr, _) = server(origins()).await;
    let ws = MessageWebSocket::connect(
        &format!("ws://{addr}/ws"),
        MessageWebSocketControl::default(),
    )
    .await;
    assert!(ws.is_ok());
}

/// A server for one connection that picks a subprotocol with `choose` and
/// reports what it did.
async fn choosing_server(
    choose: fn(&[String]) -> Option<String>,
) -> (
    SocketAddr,
    tokio::task::JoinHandle<wsock::Result<Option<String>>>,
) {
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let task = tokio::spawn(async move {
        let incoming = listener.accept().await?;
        let choice = choose(incoming.offered_protocols());
        let mut ws = incoming.accept(choice.as_deref()).await?;
        let chosen = ws.information().protocol().map(str::to_owned);
        ws.close(1000, "").await?;
        Ok(chosen)
    });
    (addr, task)
}

#[tokio::test]
async fn the_server_picks_one_of_the_offered_subprotocols() {
    let (addr, server) = choosing_server(|offered| {
        assert_eq!(offered, ["v1.chat", "v2.chat"]);
        offered.iter().find(|p| *p == "v2.chat").cloned()
    })
    .await;
    let mut c = MessageWebSocketControl::default();
    c.supported_protocols = vec!["v1.chat".into(), "v2.chat".into()];
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/ws"), c)
        .await
        .unwrap();
    assert_eq!(ws.information().protocol(), Some("v2.chat"));
    assert!(matches!(ws.receive().await, Ok(Received::Closed { .. })));
    assert_eq!(server.await.unwrap().unwrap().as_deref(), Some("v2.chat"));
}

#[tokio::test]
async fn no_subprotocol_when_the_server_picks_none() {
    let (addr, server) = choosing_server(|_| None).await;
    let mut c = MessageWebSocketControl::default();
    c.supported_protocols = vec!["v1.chat".into()];
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/ws"), c)
        .await
        .unwrap();
    assert_eq!(ws.information().protocol(), None);
    // Answer the server's close.
    assert!(matches!(ws.receive().await, Ok(Received::Closed { .. })));
    assert_eq!(server.await.unwrap().unwrap(), None);
}

#[tokio::test]
async fn a_subprotocol_not_offered_cannot_be_accepted() {
    let (addr, server) = choosing_server(|_| Some("not.offered".into())).await;
    let mut c = MessageWebSocketControl::default();
    c.supported_protocols = vec!["v1.chat".into()];
    let err = MessageWebSocket::connect(&format!("ws://{addr}/ws"), c)
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::InternalServerError);
    assert!(server.await.unwrap().unwrap_err().is_invalid_argument());
}

#[tokio::test]
async fn a_plain_get_is_answered_as_http() {
    let (addr, _) = server(AcceptOptions::default()).await;
    let a = exchange(addr, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("content-length"), Some("9"));
    assert_eq!(a.body, b"<p>hi</p>");

    let a = exchange(addr, b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-length"), Some("9"));
    assert!(a.body.is_empty());

    let a = exchange(addr, b"GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body, b"not here\n");
}

#[tokio::test]
async fn bad_plain_answers_are_refused_before_anything_is_sent() {
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        clients.push(tcp);
    }
    // A header that would smuggle another header, and a status that does
    // not end a request, are the caller's mistakes.
    let incoming = listener.accept().await.unwrap();
    let err = incoming
        .respond_with(200, &[("X-A", "b\r\nSet-Cookie: evil")], b"")
        .await
        .unwrap_err();
    assert!(err.is_invalid_argument());
    let incoming = listener.accept().await.unwrap();
    let err = incoming.respond(101, "text/plain", b"").await.unwrap_err();
    assert!(err.is_invalid_argument());
    // Neither client got a byte.
    for mut tcp in clients {
        let mut got = Vec::new();
        let _ = tcp.read_to_end(&mut got).await;
        assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    }
}

#[tokio::test]
async fn accept_stream_round_trip() {
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let server = tokio::spawn(async move {
        let ws = listener.accept().await?.accept_stream(None).await?;
        let (mut wr, mut rd) = ws.split();
        // Echo until the client's close reads as the end of the stream.
        Ok::<_, Error>(tokio::io::copy(&mut rd, &mut wr).await?)
    });
    let ws = StreamWebSocket::connect(&format!("ws://{addr}/"), StreamWebSocketControl::default())
        .await
        .unwrap();
    let (mut wr, mut rd) = ws.split();
    let data: Vec<u8> = (0..(3 << 20) + 17).map(|i| (i % 251) as u8).collect();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        wr.write_all(&sent).await.unwrap();
        wr.flush().await.unwrap();
        wr
    });
    // Read the whole echo back before closing: data the server has not
    // sent when the close arrives can no longer be sent (RFC 6455 5.5.1).
    let mut echoed = vec![0u8; data.len()];
    rd.read_exact(&mut echoed).await.unwrap();
    assert!(echoed == data, "the echo differs");
    let mut wr = writer.await.unwrap();
    wr.close(1000, "").await.unwrap();
    assert_eq!(server.await.unwrap().unwrap(), data.len() as u64);
}

#[tokio::test]
async fn an_oversized_request_head_is_431() {
    let (addr, mut errors) = server(AcceptOptions::default()).await;
    let filler = format!("X-Filler: {}\r\n", "a".repeat(20 * 1024));
    let a = exchange(addr, upgrade(&filler).as_bytes()).await;
    assert_eq!(a.status, 431);
    assert!(matches!(
        errors.recv().await.unwrap(),
        Error::Handshake(wsock::handshake::HandshakeError::HeadTooLarge)
    ));
}

#[tokio::test]
async fn a_malformed_request_is_400() {
    let (addr, mut errors) = server(AcceptOptions::default()).await;
    // A TLS ClientHello sent to the plain port.
    let a = exchange(addr, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03").await;
    assert_eq!(a.status, 400);
    assert!(matches!(
        errors.recv().await.unwrap(),
        Error::Handshake(wsock::handshake::HandshakeError::Malformed(_))
    ));
}

#[tokio::test]
async fn a_slow_request_head_runs_into_the_request_timeout() {
    let mut o = AcceptOptions::default();
    o.request_timeout = Some(Duration::from_millis(200));
    let (addr, mut errors) = server(o).await;
    // Half a head, then nothing: the server gives up, answers 408 and
    // closes, whatever the client does.
    let half = upgrade("");
    let a = exchange(addr, &half.as_bytes()[..40]).await;
    assert_eq!(a.status, 408);
    assert!(matches!(
        errors.recv().await.unwrap(),
        Error::Timeout(TimeoutKind::Receive)
    ));
}

#[tokio::test]
async fn read_request_alone_reports_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = tokio::spawn(exchange(addr, b"GET / HTTP/1.1\r\nHost:"));
    let (tcp, _) = listener.accept().await.unwrap();
    let mut o = AcceptOptions::default();
    o.request_timeout = Some(Duration::from_millis(100));
    let err = wsock::server::read_request(tcp, o).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(TimeoutKind::Receive)));
    assert_eq!(err.status(), WebErrorStatus::Timeout);
    assert_eq!(client.await.unwrap().status, 408);
}

#[tokio::test]
async fn a_client_that_says_nothing_gets_no_answer() {
    // Browsers open spare connections and may never use them: no 408 for
    // those, just the end of the connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = tokio::spawn(async move {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let mut got = Vec::new();
        tcp.read_to_end(&mut got).await.unwrap();
        got
    });
    let (tcp, _) = listener.accept().await.unwrap();
    let mut o = AcceptOptions::default();
    o.request_timeout = Some(Duration::from_millis(50));
    let err = wsock::server::read_request(tcp, o).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(TimeoutKind::Receive)));
    assert!(client.await.unwrap().is_empty());
}

#[tokio::test]
async fn the_listener_keeps_accepting_after_failed_connections() {
    let (addr, mut errors) = server(AcceptOptions::default()).await;
    // A spare connection that ends without a byte (not an error), garbage,
    // a head cut short, and a connection that says nothing for now.
    drop(TcpStream::connect(addr).await.unwrap());
    let garbage = exchange(addr, b"\x00\x01\x02\r\n\r\n").await;
    assert_eq!(garbage.status, 400);
    let mut cut = TcpStream::connect(addr).await.unwrap();
    cut.write_all(b"GET /ws HTTP/1.1\r\nHo").await.unwrap();
    drop(cut);
    let _silent = TcpStream::connect(addr).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(errors.recv().await.unwrap().report());
    }
    seen.sort();
    assert!(seen[0].contains("connection closed during"), "{seen:?}");
    assert!(seen[1].contains("malformed"), "{seen:?}");
    let mut c = MessageWebSocketControl::default();
    c.message_type = MessageType::Utf8;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/ws"), c)
        .await
        .unwrap();
    ws.send(b"still here").await.unwrap();
    match ws.receive().await.unwrap() {
        Received::Message(m) => assert_eq!(m.as_text().unwrap(), "still here"),
        other => panic!("{other:?}"),
    }
    ws.close(1000, "").await.unwrap();
    // The spare connection, handled long before, was not reported.
    assert!(errors.try_recv().is_err());
}

/// A hand-made client: sends the upgrade and returns the stream and the
/// client-role protocol core, with the server's first bytes after the 101
/// already in the buffer.
async fn raw_client(addr: SocketAddr) -> (TcpStream, Connection, BytesMut) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(upgrade("").as_bytes()).await.unwrap();
    let mut buf = BytesMut::new();
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        assert!(tcp.read_buf(&mut buf).await.unwrap() > 0);
    };
    let head = buf.split_to(end);
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    (tcp, Connection::new(Config::new(Role::Client)), buf)
}

/// The next event the raw client decodes.
async fn next_event(tcp: &mut TcpStream, conn: &mut Connection, buf: &mut BytesMut) -> Event {
    loop {
        if let Some(ev) = conn.decode(buf).unwrap() {
            return ev;
        }
        assert!(tcp.read_buf(buf).await.unwrap() > 0, "server went away");
    }
}

#[tokio::test]
async fn the_close_is_answered_with_the_clients_code() {
    let (addr, _) = server(AcceptOptions::default()).await;
    let (mut tcp, mut conn, mut buf) = raw_client(addr).await;
    conn.encode_close(Some(&CloseFrame {
        code: 4321,
        reason: "bye".into(),
    }))
    .unwrap();
    let out = conn.output().split();
    tcp.write_all(&out).await.unwrap();
    match next_event(&mut tcp, &mut conn, &mut buf).await {
        Event::Close(Some(frame)) => assert_eq!(frame.code, 4321),
        other => panic!("{other:?}"),
    }
    // The server then ends the TCP connection (RFC 6455 7.1.1).
    let mut rest = Vec::new();
    tcp.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn a_message_socket_sees_its_own_close_code_echoed() {
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let server = tokio::spawn(async move {
        let mut ws = listener.accept().await?.accept(None).await?;
        loop {
            match ws.receive().await? {
                Received::Message(m) => ws.send_message(&m).await?,
                Received::Closed { code, reason } => return Ok::<_, Error>((code, reason)),
            }
        }
    });
    let mut ws = MessageWebSocket::connect(
        &format!("ws://{addr}/ws"),
        MessageWebSocketControl::default(),
    )
    .await
    .unwrap();
    ws.close(3007, "done here").await.unwrap();
    match ws.receive().await.unwrap() {
        Received::Closed { code, .. } => assert_eq!(code, 3007),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.await.unwrap().unwrap(),
        (3007, "done here".to_owned())
    );
}

#[tokio::test]
async fn the_server_sends_keep_alive_pings() {
    let mut o = AcceptOptions::default();
    o.keep_alive_interval = Some(Duration::from_millis(20));
    let (addr, _) = server(o).await;
    let (mut tcp, mut conn, mut buf) = raw_client(addr).await;
    // Two pings in a row, with nothing sent: the timer keeps going.
    for _ in 0..2 {
        match next_event(&mut tcp, &mut conn, &mut buf).await {
            Event::Ping(_) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn the_default_keep_alive_is_two_minutes() {
    let o = AcceptOptions::default();
    assert_eq!(o.keep_alive_interval, Some(Duration::from_secs(120)));
    assert_eq!(o.receive_buffer_size, 4096);
}

#[tokio::test]
async fn a_tls_listener_serves_wss() {
    let ca = common::tls::Ca::new();
    let (leaf, key) = ca.leaf(&["127.0.0.1"], false);
    let config = rustls::ServerConfig::builder_with_provider(common::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)
        .unwrap();
    let listener = Listener::bind_tls("127.0.0.1:0", AcceptOptions::default(), Arc::new(config))
        .await
        .unwrap();
    let port = listener.local_addr().port();
    tokio::spawn(listener.serve(handle));

    let mut c = MessageWebSocketControl::default();
    c.tls_client_config = Some(ca.client_config());
    let mut ws = MessageWebSocket::connect(&format!("wss://127.0.0.1:{port}/ws"), c)
        .await
        .unwrap();
    ws.send_binary(&[1, 2, 3]).await.unwrap();
    match ws.receive().await.unwrap() {
        Received::Message(m) => assert_eq!(&m.data()[..], [1, 2, 3]),
        other => panic!("{other:?}"),
    }
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn a_valid_upgrade_can_be_refused() {
    let mut listener = Listener::bind("127.0.0.1:0", AcceptOptions::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let server = tokio::spawn(async move {
        let incoming = listener.accept().await?;
        assert!(incoming.is_upgrade() && incoming.rejection().is_none());
        incoming.refuse().await
    });
    let err = MessageWebSocket::connect(
        &format!("ws://{addr}/ws"),
        MessageWebSocketControl::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::Forbidden);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn any_tokio_stream_can_be_accepted() {
    // An in-memory pipe instead of TCP: the server role only needs
    // AsyncRead + AsyncWrite.
    let (mut client, server_end) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let incoming = wsock::server::read_request(server_end, AcceptOptions::default()).await?;
        assert_eq!(incoming.peer_addr(), None);
        let ws = incoming.accept(None).await?;
        assert_eq!(ws.information().remote_address(), None);
        common::echo(ws).await;
        Ok::<_, Error>(())
    });
    client.write_all(upgrade("").as_bytes()).await.unwrap();
    let mut buf = BytesMut::new();
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        assert!(client.read_buf(&mut buf).await.unwrap() > 0);
    };
    assert!(buf.split_to(end).starts_with(b"HTTP/1.1 101 "));
    let mut conn = Connection::new(Config::new(Role::Client));
    conn.encode_data(wsock::proto::DataKind::Text, b"through a pipe", true, true)
        .unwrap();
    conn.encode_close(Some(&CloseFrame {
        code: 1000,
        reason: String::new(),
    }))
    .unwrap();
    let out = conn.output().split();
    client.write_all(&out).await.unwrap();
    let mut events = Vec::new();
    while events.len() < 2 {
        match conn.decode(&mut buf).unwrap() {
            Some(ev) => events.push(ev),
            None => assert!(client.read_buf(&mut buf).await.unwrap() > 0),
        }
    }
    match &events[0] {
        Event::Data { payload, .. } => assert_eq!(&payload[..], b"through a pipe"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(&events[1], Event::Close(Some(f)) if f.code == 1000));
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_impossible_receive_buffer_size_fails_the_accept_instead_of_panicking() {
    for size in [0, usize::MAX, (16 << 20) + 1] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut o = AcceptOptions::default();
            o.receive_buffer_size = size;
            // Accepted, the socket's first read would reserve `size` bytes.
            match wsock::server::accept(tcp, o).await {
                Ok(mut ws) => ws.receive().await.map(|_| ()),
                Err(e) => Err(e),
            }
        });
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(upgrade("").as_bytes()).await.unwrap();
        // Our end, so that the server's linger after its answer ends too.
        tcp.shutdown().await.unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 500"),
            "{size}: {}",
            String::from_utf8_lossy(&answer)
        );
        let e = accepted.await.unwrap().unwrap_err();
        assert!(e.is_invalid_argument(), "{size}: {e}");
    }
    // The smallest and the largest size are fine.
    for size in [1, 16 << 20] {
        let mut o = AcceptOptions::default();
        o.receive_buffer_size = size;
        let addr = common::echo_server(o).await;
        let mut ws =
            MessageWebSocket::connect(&format!("ws://{addr}/"), MessageWebSocketControl::default())
                .await
                .unwrap();
        ws.send_text("fits").await.unwrap();
        assert!(
            matches!(ws.receive().await.unwrap(), Received::Message(m) if m.data() == &b"fits"[..])
        );
    }
}
