//! MessageWebSocket against our own server role over loopback.
#![cfg(feature = "server")]

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use wsock::server::{self, AcceptOptions};
use wsock::{
    Error, Message, MessageType, MessageWebSocket, MessageWebSocketControl,
    MessageWebSocketReceiveMode, Received, WebErrorStatus,
};

fn control() -> MessageWebSocketControl {
    MessageWebSocketControl::default()
}

async fn recv_msg(ws: &mut MessageWebSocket) -> Message {
    match ws.receive().await.unwrap() {
        Received::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// A server that runs `f` on each accepted socket.
async fn server_with<F, Fut>(options: AcceptOptions, f: F) -> String
where
    F: Fn(MessageWebSocket) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (f, options) = (f.clone(), options.clone());
            tokio::spawn(async move {
                if let Ok(ws) = server::accept(tcp, options).await {
                    f(ws).await
                }
            });
        }
    });
    format!("ws://{addr}/")
}

#[tokio::test]
async fn text_binary_empty_and_large_round_trips() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();

    ws.send_text("Hello, world!").await.unwrap();
    let m = recv_msg(&mut ws).await;
    assert_eq!(m.message_type(), MessageType::Utf8);
    assert_eq!(m.as_text().unwrap(), "Hello, world!");
    assert!(m.is_message_complete());

    ws.send_binary(&[0, 1, 2, 255]).await.unwrap();
    let m = recv_msg(&mut ws).await;
    assert_eq!(m.message_type(), MessageType::Binary);
    assert_eq!(&m.data()[..], &[0, 1, 2, 255]);

    ws.send_text("").await.unwrap();
    assert_eq!(recv_msg(&mut ws).await.data().len(), 0);
    ws.send_binary(&[]).await.unwrap();
    let m = recv_msg(&mut ws).await;
    assert_eq!((m.message_type(), m.data().len()), (MessageType::Binary, 0));

    let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
    ws.send_binary(&big).await.unwrap();
    let m = recv_msg(&mut ws).await;
    assert!(m.data()[..] == big[..], "16 MiB message differs");

    ws.close(1000, "done").await.unwrap();
    // The peer's answer is reported once, then the socket is closed.
    assert!(matches!(
        ws.receive().await,
        Ok(Received::Closed { code: 1000, .. })
    ));
    assert!(matches!(ws.receive().await, Err(Error::ConnectionClosed)));
}

#[tokio::test]
async fn message_type_is_the_one_option_that_changes_after_connect() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();
    assert_eq!(ws.message_type(), MessageType::Binary, "WinRT default");
    ws.send(b"abc").await.unwrap();
    assert_eq!(recv_msg(&mut ws).await.message_type(), MessageType::Binary);
    ws.set_message_type(MessageType::Utf8);
    ws.send(b"abc").await.unwrap();
    assert_eq!(recv_msg(&mut ws).await.message_type(), MessageType::Utf8);
    let err = ws.send(&[0xff, 0xfe]).await.unwrap_err();
    assert!(err.is_invalid_argument(), "{err}");
}

#[tokio::test]
async fn fragmented_messages_in_both_receive_modes() {
    let url = server_with(
        AcceptOptions::default(),
        |mut ws: MessageWebSocket| async move {
            ws.set_message_type(MessageType::Utf8);
            ws.send_nonfinal_frame(b"Hel").await.unwrap();
            ws.send_nonfinal_frame(b"lo, ").await.unwrap();
            ws.send_final_frame(b"world").await.unwrap();
            common::echo(ws).await;
        },
    )
    .await;

    let mut ws = MessageWebSocket::connect(&url, control()).await.unwrap();
    let m = recv_msg(&mut ws).await;
    assert_eq!(m.as_text().unwrap(), "Hello, world");
    assert!(m.is_message_complete());

    let mut c = control();
    c.receive_mode = MessageWebSocketReceiveMode::PartialMessage;
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    let mut pieces = Vec::new();
    loop {
        let m = recv_msg(&mut ws).await;
        pieces.push((m.as_text().unwrap().to_owned(), m.is_message_complete()));
        if m.is_message_complete() {
            break;
        }
    }
    assert_eq!(
        pieces,
        [
            ("Hel".to_owned(), false),
            ("lo, ".to_owned(), false),
            ("world".to_owned(), true)
        ]
    );
}

#[tokio::test]
async fn server_initiated_close_reaches_the_closed_event() {
    let url = server_with(
        AcceptOptions::default(),
        |mut ws: MessageWebSocket| async move {
            ws.close(4000, "bye").await.unwrap();
        },
    )
    .await;
    let mut ws = MessageWebSocket::connect(&url, control()).await.unwrap();
    match ws.receive().await.unwrap() {
        Received::Closed { code, reason } => assert_eq!((code, reason.as_str()), (4000, "bye")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(ws.receive().await, Err(Error::ConnectionClosed)));
}

#[tokio::test]
async fn client_close_is_echoed_by_the_server() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Arc::new(std::sync::Mutex::new(Some(tx)));
    let url = server_with(AcceptOptions::default(), move |mut ws: MessageWebSocket| {
        let tx = tx.clone();
        async move {
            let r = ws.receive().await.unwrap();
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(r);
            }
        }
    })
    .await;
    let mut ws = MessageWebSocket::connect(&url, control()).await.unwrap();
    ws.close(3001, "client done").await.unwrap();
    assert_eq!(
        rx.await.unwrap(),
        Received::Closed {
            code: 3001,
            reason: "client done".into()
        }
    );
}

#[tokio::test]
async fn close_arguments_are_checked() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let e = ws.close(code, "").await.unwrap_err();
        assert!(e.is_invalid_argument(), "{code}: {e}");
    }
    let e = ws.close(1000, &"x".repeat(124)).await.unwrap_err();
    assert!(e.is_invalid_argument());
    ws.close(1000, &"x".repeat(123)).await.unwrap();
}

#[tokio::test]
async fn max_message_size_exceeded_closes_with_1009() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Arc::new(std::sync::Mutex::new(Some(tx)));
    let url = server_with(AcceptOptions::default(), move |mut ws: MessageWebSocket| {
        let tx = tx.clone();
        async move {
            ws.send_binary(&vec![1u8; 2000]).await.unwrap();
            let r = ws.receive().await;
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(r.map_err(|e| e.to_string()));
            }
        }
    })
    .await;
    let mut c = control();
    c.max_message_size = 1000;
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    let err = ws.receive().await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err}");
    assert_eq!(err.status(), WebErrorStatus::ConnectionAborted);
    match rx.await.unwrap() {
        Ok(Received::Closed { code, .. }) => assert_eq!(code, 1009),
        other => panic!("server saw {other:?}"),
    }
}

#[tokio::test]
async fn split_halves_work_from_two_tasks() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    const N: usize = 2000;
    let sender = tokio::spawn(async move {
        for i in 0..N {
            tx.send_text(&format!("message {i}")).await.unwrap();
        }
        tx
    });
    let receiver = tokio::spawn(async move {
        for i in 0..N {
            match rx.receive().await.unwrap() {
                Received::Message(m) => assert_eq!(m.as_text().unwrap(), format!("message {i}")),
                other => panic!("{other:?}"),
            }
        }
        rx
    });
    let (mut tx, mut rx) = (sender.await.unwrap(), receiver.await.unwrap());
    tx.close(1000, "").await.unwrap();
    assert!(rx.receive().await.is_err() || rx.close_status().is_some());
}

#[tokio::test]
async fn stream_and_sink() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();
    for i in 0..100 {
        ws.feed(Message::text(format!("{i}"))).await.unwrap();
    }
    ws.flush().await.unwrap();
    for i in 0..100 {
        let m = ws.next().await.unwrap().unwrap();
        assert_eq!(m.as_text().unwrap(), i.to_string());
    }
    SinkExt::close(&mut ws).await.unwrap();
}

#[tokio::test]
async fn message_writer_sends_one_message_of_unknown_length() {
    use tokio::io::AsyncWriteExt;
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();
    {
        let mut w = ws.message_writer();
        for _ in 0..1000 {
            w.write_all(&[7u8; 1000]).await.unwrap();
        }
        w.shutdown().await.unwrap();
    }
    let m = recv_msg(&mut ws).await;
    assert_eq!(m.data().len(), 1_000_000);
    assert!(m.data().iter().all(|&b| b == 7));
}

#[tokio::test]
async fn receive_timeout_keeps_the_connection_usable() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut c = control();
    c.receive_timeout = Some(Duration::from_millis(100));
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    let e = ws.receive().await.unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::Timeout);
    ws.send_text("still here").await.unwrap();
    assert_eq!(recv_msg(&mut ws).await.as_text().unwrap(), "still here");
}

#[tokio::test]
async fn information_reports_addresses_protocol_and_traffic() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let inc = server::read_request(tcp, AcceptOptions::default())
            .await
            .unwrap();
        assert_eq!(inc.offered_protocols(), ["chat", "superchat"]);
        common::echo(inc.accept(Some("superchat")).await.unwrap()).await;
    });
    let mut c = control();
    c.supported_protocols = vec!["chat".into(), "superchat".into()];
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    let info = ws.information().clone();
    assert_eq!(info.protocol(), Some("superchat"));
    assert_eq!(info.remote_address(), Some(addr));
    assert!(info.local_address().is_some());
    for _ in 0..50 {
        ws.send_binary(&[0u8; 10_000]).await.unwrap();
        recv_msg(&mut ws).await;
    }
    assert!(info.bytes_sent() > 500_000 && info.bytes_received() > 500_000);
    let bw = info.bandwidth_statistics();
    assert!(
        bw.outbound_bits_per_second > 0 && bw.inbound_bits_per_second > 0,
        "{bw:?}"
    );
}

#[tokio::test]
async fn reserved_request_headers_are_refused() {
    let mut c = control();
    for h in [
        "Host",
        "upgrade",
        "Connection",
        "Sec-WebSocket-Key",
        "sec-websocket-version",
    ] {
        assert!(
            c.set_request_header(h, "x")
                .unwrap_err()
                .is_invalid_argument(),
            "{h}"
        );
    }
    assert!(c.set_request_header("X-Bad", "a\r\nb").is_err());
    c.set_request_header("X-Fine", "yes").unwrap();
}

#[tokio::test]
async fn dropping_an_open_socket_closes_with_1001() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Arc::new(std::sync::Mutex::new(Some(tx)));
    let url = server_with(AcceptOptions::default(), move |mut ws: MessageWebSocket| {
        let tx = tx.clone();
        async move {
            let r = ws.receive().await.map_err(|e| e.to_string());
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(r);
            }
        }
    })
    .await;
    let ws = MessageWebSocket::connect(&url, control()).await.unwrap();
    drop(ws);
    match rx.await.unwrap() {
        Ok(Received::Closed { code, .. }) => assert_eq!(code, 1001),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn close_succeeds_when_the_server_keeps_tcp_open_after_the_handshake() {
    use bytes::BytesMut;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wsock::proto::{Config, Connection, Event, Role};
    let addr = common::raw::upgraded_then(|mut tcp| async move {
        let mut conn = Connection::new(Config::new(Role::Server));
        let mut buf = BytesMut::new();
        loop {
            match conn.decode(&mut buf) {
                Ok(Some(Event::Close(_))) => break,
                Ok(Some(_)) => {}
                Ok(None) => {
                    let mut chunk = [0u8; 1024];
                    let n = tcp.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) => panic!("{e}"),
            }
        }
        // Answer the close, then hold TCP open well past the client's wait.
        let reply = conn.output().split();
        tcp.write_all(&reply).await.unwrap();
        tokio::time::sleep(Duration::from_secs(20)).await;
    })
    .await;
    let mut c = control();
    c.close_timeout = Some(Duration::from_secs(3));
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    ws.close(1000, "")
        .await
        .expect("the handshake completed: close succeeds");
}

/// An information object kept after the socket is gone (never asked while
/// it lived) still has the local address, on both ends, and it is the
/// address the peer sees.
#[tokio::test]
async fn information_keeps_the_local_address_after_the_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, peer) = listener.accept().await.unwrap();
        let mut ws = server::accept(tcp, AcceptOptions::default()).await.unwrap();
        let info = ws.information().clone();
        let _ = ws.receive().await;
        drop(ws);
        assert_eq!(info.local_address(), Some(addr));
        assert_eq!(info.remote_address(), Some(peer));
        peer
    });
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();
    let kept = ws.information().clone();
    let asked = ws.information().clone();
    let local = asked.local_address();
    assert!(local.is_some());
    ws.close(1000, "").await.unwrap();
    drop(ws);
    let peer = server.await.unwrap();
    assert_eq!(kept.local_address(), Some(peer));
    assert_eq!(local, Some(peer));
    assert_eq!(kept.remote_address(), Some(addr));

    // Split: the halves outlive the socket's own information object.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, peer) = listener.accept().await.unwrap();
        common::echo(server::accept(tcp, AcceptOptions::default()).await.unwrap()).await;
        peer
    });
    let ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();
    let kept = ws.information().clone();
    let (mut tx, rx) = ws.split();
    tx.close(1000, "").await.unwrap();
    drop((tx, rx));
    assert_eq!(kept.local_address(), Some(server.await.unwrap()));
}

/// The message a split receiver gets next.
async fn recv_split(rx: &mut wsock::MessageReceiver) -> Message {
    match rx.receive().await.unwrap() {
        Received::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn sink_batches_keep_their_order_with_other_sends() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let big = vec![7u8; 5000];
    let reader = tokio::spawn(async move {
        for i in 0..1000 {
            assert_eq!(
                recv_split(&mut rx).await.data()[..],
                *i.to_string().as_bytes()
            );
        }
        assert_eq!(recv_split(&mut rx).await.as_text().unwrap(), "between");
        for i in 1000..2000 {
            assert_eq!(
                recv_split(&mut rx).await.data()[..],
                *i.to_string().as_bytes()
            );
        }
        assert_eq!(recv_split(&mut rx).await.data().len(), 5000);
        assert_eq!(recv_split(&mut rx).await.as_text().unwrap(), "last");
        rx
    });
    for i in 0..1000 {
        tx.feed(Message::binary(i.to_string())).await.unwrap();
    }
    tx.send_text("between").await.unwrap();
    for i in 1000..2000 {
        tx.feed(Message::binary(i.to_string())).await.unwrap();
    }
    // Too large to batch: queued in the session behind the batch.
    tx.feed(Message::binary(big)).await.unwrap();
    tx.feed(Message::text("last")).await.unwrap();
    tx.flush().await.unwrap();
    let _rx = reader.await.unwrap();
    tx.close(1000, "").await.unwrap();
    // The connection is over: the next message fails at once.
    assert!(tx.feed(Message::text("late")).await.is_err());
}

#[tokio::test]
async fn fed_messages_leave_without_flush_while_waiting_or_on_drop() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control())
        .await
        .unwrap();
    // Unsplit: receive hands the batch over and writes it while it waits.
    ws.feed(Message::text("one")).await.unwrap();
    ws.feed(Message::text("two")).await.unwrap();
    assert_eq!(recv_msg(&mut ws).await.as_text().unwrap(), "one");
    assert_eq!(recv_msg(&mut ws).await.as_text().unwrap(), "two");
    // Split: dropping the sender hands its batch over, and the receiver
    // writes it while it waits.
    let (mut tx, mut rx) = ws.split();
    tx.feed(Message::text("three")).await.unwrap();
    tx.feed(Message::text("four")).await.unwrap();
    drop(tx);
    assert_eq!(recv_split(&mut rx).await.as_text().unwrap(), "three");
    assert_eq!(recv_split(&mut rx).await.as_text().unwrap(), "four");
}
