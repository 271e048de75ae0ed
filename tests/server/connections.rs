//! The listener over failed connections, the close answer, keep-alive
//! pings and `wss://`.

use super::*;

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
