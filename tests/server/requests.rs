//! Bad, refused, oversized and slow requests, and the origin check.

use super::*;

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
