//! Subprotocol choice, plain HTTP answers, and the stream socket.

use super::*;

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
