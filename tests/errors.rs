//! Every WebErrorStatus a client can meet, each reached over loopback, and
//! the timeouts.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod common;

use common::raw::{raw_server, read_upgrade, upgraded_then};

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wsock::handshake::{accept_key, server as hs};
use wsock::proto::{Config, Connection, DataKind, Role};
use wsock::{
    Error, MessageWebSocket, MessageWebSocketControl, Received, Resolve, StreamWebSocket,
    StreamWebSocketControl, TimeoutKind, WebErrorStatus,
};

fn quick() -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.connect_timeout = Some(Duration::from_secs(5));
    c
}

async fn status_of(url: &str, control: MessageWebSocketControl) -> (WebErrorStatus, Error) {
    let e = MessageWebSocket::connect(url, control)
        .await
        .expect_err("connect should fail");
    (e.status(), e)
}

/// A server answering every request with `response`.
async fn answering(response: &'static str) -> SocketAddr {
    raw_server(move |mut tcp| async move {
        let _ = read_upgrade(&mut tcp).await;
        let _ = tcp.write_all(response.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn closed_port_is_cannot_connect() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let (status, e) = status_of(&format!("ws://127.0.0.1:{port}/"), quick()).await;
    assert_eq!(status, WebErrorStatus::CannotConnect, "{e}");
    assert!(
        std::error::Error::source(&e).is_some(),
        "the io::Error is kept"
    );
}

#[tokio::test]
async fn unknown_name_is_host_name_not_resolved() {
    let (status, e) = status_of("ws://no-such-host.invalid/", quick()).await;
    assert_eq!(status, WebErrorStatus::HostNameNotResolved, "{e}");
}

#[tokio::test]
async fn a_listener_that_never_answers_is_timeout() {
    let addr = raw_server(|tcp| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    })
    .await;
    let mut c = quick();
    c.connect_timeout = Some(Duration::from_millis(300));
    let (status, e) = status_of(&format!("ws://{addr}/"), c).await;
    assert_eq!(status, WebErrorStatus::Timeout);
    assert!(matches!(e, Error::Timeout(TimeoutKind::Connect)), "{e}");
}

#[tokio::test]
async fn a_server_answering_one_byte_a_second_is_timeout() {
    let addr = raw_server(|mut tcp| async move {
        let key = read_upgrade(&mut tcp).await;
        let mut out = Vec::new();
        hs::write_accept(&key, None, None, &[], &mut out);
        for b in out {
            if tcp.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let mut c = quick();
    c.connect_timeout = Some(Duration::from_millis(1500));
    let (status, _) = status_of(&format!("ws://{addr}/"), c).await;
    assert_eq!(status, WebErrorStatus::Timeout);
}

#[tokio::test]
async fn http_answers_map_to_their_status() {
    let cases: [(&'static str, WebErrorStatus); 7] = [
        (
            "HTTP/1.1 301 Moved Permanently\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
            WebErrorStatus::MovedPermanently,
        ),
        (
            "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
            WebErrorStatus::Found,
        ),
        (
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot here\n",
            WebErrorStatus::NotFound,
        ),
        (
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
            WebErrorStatus::InternalServerError,
        ),
        (
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n",
            WebErrorStatus::ServiceUnavailable,
        ),
        (
            "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n",
            WebErrorStatus::UnexpectedClientError,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            WebErrorStatus::UnexpectedStatusCode,
        ),
    ];
    for (response, expected) in cases {
        let addr = answering(response).await;
        let (status, e) = status_of(&format!("ws://{addr}/"), quick()).await;
        assert_eq!(status, expected, "{response:?}: {e}");
        let r = e.http_response().expect("the HTTP answer is kept");
        assert_eq!(r.status, response[9..12].parse::<u16>().unwrap());
        if expected == WebErrorStatus::NotFound {
            assert_eq!(
                (r.header("content-type"), &r.body[..]),
                (Some("text/plain"), &b"not here\n"[..])
            );
        }
    }
}

#[tokio::test]
async fn redirects_are_followed_on_request() {
    let echo = common::echo_server(Default::default()).await;
    let location: &'static str = Box::leak(
        format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{echo}/moved\r\nContent-Length: 0\r\n\r\n")
            .into_boxed_str(),
    );
    let addr = answering(location).await;
    let (status, _) = status_of(&format!("ws://{addr}/"), quick()).await;
    assert_eq!(
        status,
        WebErrorStatus::TemporaryRedirect,
        "not followed by default"
    );
    let mut c = quick();
    c.max_redirects = 2;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    assert_eq!(ws.information().remote_address(), Some(echo));
    ws.send_text("moved").await.unwrap();
    assert!(matches!(ws.receive().await.unwrap(), Received::Message(_)));
}

#[tokio::test]
async fn wss_redirected_to_ws_is_https_to_http_on_redirection() {
    let ca = common::tls::Ca::new();
    let (leaf, key) = ca.leaf(&["localhost"], false);
    let acceptor = common::tls::acceptor(leaf, key);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = tls.read(&mut buf).await;
        let answer = "HTTP/1.1 301 Moved Permanently\r\nLocation: ws://localhost:1/\r\nContent-Length: 0\r\n\r\n";
        let _ = tls.write_all(answer.as_bytes()).await;
        let _ = tls.shutdown().await;
    });
    let mut c = quick();
    c.tls_client_config = Some(ca.client_config());
    c.max_redirects = 5;
    let (status, e) = status_of(&format!("wss://localhost:{port}/"), c).await;
    assert_eq!(status, WebErrorStatus::HttpsToHttpOnRedirection, "{e}");
}

#[tokio::test]
async fn a_wrong_accept_is_an_invalid_server_response() {
    let addr = answering(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
    )
    .await;
    let (status, _) = status_of(&format!("ws://{addr}/"), quick()).await;
    assert_eq!(status, WebErrorStatus::ErrorHttpInvalidServerResponse);
    let addr = answering("this is not HTTP\r\n\r\n").await;
    let (status, _) = status_of(&format!("ws://{addr}/"), quick()).await;
    assert_eq!(status, WebErrorStatus::ErrorHttpInvalidServerResponse);
}

#[tokio::test]
async fn certificate_problems_map_to_their_status() {
    let ca = common::tls::Ca::new();
    let cases = [
        (
            common::tls::echo_server(&ca, &["localhost"], true).await,
            true,
            WebErrorStatus::CertificateExpired,
        ),
        (
            common::tls::echo_server(&ca, &["elsewhere.example"], false).await,
            true,
            WebErrorStatus::CertificateCommonNameIsIncorrect,
        ),
        (
            common::tls::echo_server(&ca, &["localhost"], false).await,
            false,
            WebErrorStatus::CertificateIsInvalid,
        ),
    ];
    for (port, trust_ca, expected) in cases {
        let mut c = quick();
        if trust_ca {
            c.tls_client_config = Some(ca.client_config());
        }
        let (status, e) = status_of(&format!("wss://localhost:{port}/"), c).await;
        assert_eq!(status, expected, "{e}");
        assert!(
            matches!(e, Error::Tls(_)),
            "the rustls error is kept: {e:?}"
        );
    }
}

#[tokio::test]
async fn a_reset_mid_message_is_connection_reset() {
    let addr = upgraded_then(|mut tcp| async move {
        // Half a frame: the header announces 1000 bytes, 10 follow.
        tcp.write_all(&[0x82, 0x7e, 0x03, 0xe8]).await.unwrap();
        tcp.write_all(&[0u8; 10]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        #[allow(deprecated)] // linger 0 turns the close into a reset; it does not block
        tcp.set_linger(Some(Duration::ZERO)).unwrap();
    })
    .await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), quick())
        .await
        .unwrap();
    let e = ws.receive().await.unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::ConnectionReset, "{e}");
}

#[tokio::test]
async fn a_peer_gone_without_close_is_disconnected() {
    let addr = upgraded_then(|tcp| async move { drop(tcp) }).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), quick())
        .await
        .unwrap();
    let e = ws.receive().await.unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::Disconnected, "{e}");
}

#[tokio::test]
async fn a_protocol_violation_by_the_peer_is_connection_aborted_with_1002() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let addr = upgraded_then(move |mut tcp| {
        let tx = tx.clone();
        async move {
            // A masked frame from a server is a violation.
            tcp.write_all(&[0x81, 0x81, 1, 2, 3, 4, b'a' ^ 1])
                .await
                .unwrap();
            let mut buf = vec![0u8; 64];
            let n = tcp.read(&mut buf).await.unwrap();
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(buf[..n].to_vec());
            }
        }
    })
    .await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), quick())
        .await
        .unwrap();
    let e = ws.receive().await.unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::ConnectionAborted, "{e}");
    // The client's close frame: 0x88, masked, 2 bytes; unmask the code.
    let frame = rx.await.unwrap();
    assert_eq!(&frame[..2], &[0x88, 0x82]);
    let code = [frame[2] ^ frame[6], frame[3] ^ frame[7]];
    assert_eq!(u16::from_be_bytes(code), 1002);
}

#[tokio::test]
async fn a_peer_that_stops_reading_makes_send_time_out() {
    let addr = upgraded_then(|tcp| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    })
    .await;
    let mut c = quick();
    c.send_timeout = Some(Duration::from_millis(300));
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    let chunk = vec![0u8; 1 << 20];
    let e = loop {
        if let Err(e) = ws.send_binary(&chunk).await {
            break e;
        }
    };
    assert!(matches!(e, Error::Timeout(TimeoutKind::Send)), "{e}");
}

#[tokio::test]
async fn a_silent_peer_makes_receive_time_out_and_the_socket_stays_usable() {
    let addr = upgraded_then(|mut tcp| async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let mut conn = Connection::new(Config::new(Role::Server));
        conn.encode_data(DataKind::Text, b"late", true, true)
            .unwrap();
        let _ = tcp.write_all(conn.output()).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let mut c = quick();
    c.receive_timeout = Some(Duration::from_millis(100));
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    let e = ws.receive().await.unwrap_err();
    assert!(matches!(e, Error::Timeout(TimeoutKind::Receive)), "{e}");
    // Nothing is lost: the late message is still received.
    let got = loop {
        match ws.receive().await {
            Ok(Received::Message(m)) => break m,
            Err(Error::Timeout(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(got.as_text().unwrap(), "late");
}

#[tokio::test]
async fn a_future_dropped_mid_receive_leaves_the_socket_usable() {
    let addr = common::echo_server(Default::default()).await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), quick())
        .await
        .unwrap();
    for i in 0..20 {
        ws.send_text(&format!("m{i}")).await.unwrap();
        // A receive cancelled by select! before its message arrives...
        tokio::select! {
            biased;
            _ = std::future::ready(()) => {}
            _ = ws.receive() => {}
        }
    }
    // ...loses nothing.
    for i in 0..20 {
        match ws.receive().await.unwrap() {
            Received::Message(m) => assert_eq!(m.as_text().unwrap(), format!("m{i}")),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn abort_cancels_the_other_half() {
    let addr = common::echo_server(Default::default()).await;
    let ws = MessageWebSocket::connect(&format!("ws://{addr}/"), quick())
        .await
        .unwrap();
    let (tx, mut rx) = ws.split();
    let pending = tokio::spawn(async move { rx.receive().await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    tx.abort();
    let e = pending.await.unwrap().unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::OperationCanceled, "{e}");
}

#[tokio::test]
async fn wrong_arguments_are_not_network_errors() {
    for url in [
        "http://127.0.0.1/",
        "not a url",
        "ws://",
        "ws://host/#fragment",
    ] {
        let e = MessageWebSocket::connect(url, quick()).await.unwrap_err();
        assert!(e.is_invalid_argument(), "{url}: {e}");
        assert_eq!(e.status(), WebErrorStatus::Unknown);
    }
    let e = StreamWebSocket::connect("ftp://x/", StreamWebSocketControl::default())
        .await
        .unwrap_err();
    assert!(e.is_invalid_argument());
}

#[test]
fn http_status_table() {
    for code in [
        300, 301, 302, 303, 304, 305, 307, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410,
        411, 412, 413, 414, 415, 416, 417, 500, 501, 502, 503, 504, 505,
    ] {
        assert_eq!(
            WebErrorStatus::from_http_status(code) as i32,
            i32::from(code)
        );
    }
    assert_eq!(
        WebErrorStatus::from_http_status(308),
        WebErrorStatus::UnexpectedStatusCode
    );
    assert_eq!(
        WebErrorStatus::from_http_status(429),
        WebErrorStatus::UnexpectedClientError
    );
    assert_eq!(
        WebErrorStatus::from_http_status(599),
        WebErrorStatus::UnexpectedServerError
    );
    for s in WebErrorStatus::ALL {
        assert_eq!(WebErrorStatus::try_from(*s as i32), Ok(*s));
    }
    assert_eq!(WebErrorStatus::ALL.len(), 55);
}

/// Resolves every name to a fixed list, counting the calls.
#[derive(Debug)]
struct Fixed(Vec<SocketAddr>, AtomicUsize);

impl Resolve for Fixed {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        self.1.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move { Ok(self.0.clone()) })
    }
}

#[tokio::test]
async fn at_most_five_resolved_addresses_are_tried() {
    // 127.0.0.2-8 are all loopback; only the last ones listen.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = |i: u8| SocketAddr::from(([127, 0, 0, i], port));
    let serve = |listener: TcpListener| async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                if let Ok(ws) = wsock::server::accept(tcp, Default::default()).await {
                    common::echo(ws).await;
                }
            });
        }
    };
    // Addresses 127.0.0.6 and 127.0.0.7 serve; the others refuse.
    tokio::spawn(serve(TcpListener::bind(addr(6)).await.unwrap()));
    tokio::spawn(serve(TcpListener::bind(addr(7)).await.unwrap()));
    let connect = |order: Vec<u8>| {
        let resolver = Arc::new(Fixed(
            order.into_iter().map(addr).collect(),
            AtomicUsize::new(0),
        ));
        let mut c = quick();
        c.resolver = Some(resolver.clone());
        let url = format!("ws://several.test:{port}/");
        async move {
            (
                MessageWebSocket::connect(&url, c).await,
                resolver.1.load(Ordering::Relaxed),
            )
        }
    };

    // The fifth address is tried (and wins).
    let (ws, calls) = connect(vec![2, 3, 4, 5, 6, 7, 8]).await;
    assert_eq!(ws.unwrap().information().remote_address(), Some(addr(6)));
    assert_eq!(calls, 1);

    // The sixth never is, though it would have answered.
    let (ws, _) = connect(vec![2, 3, 4, 5, 8, 7]).await;
    let e = ws.unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::CannotConnect, "{e}");
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = MessageWebSocketControl::default();
    assert_eq!(c.connect_timeout, Some(Duration::from_secs(60)));
    assert_eq!(c.send_timeout, Some(Duration::from_secs(30)));
    assert_eq!(c.receive_timeout, Some(Duration::from_secs(30)));
    assert_eq!(c.max_connect_addresses, 5);
    let s = StreamWebSocketControl::default();
    assert_eq!(s.connect_timeout, Some(Duration::from_secs(60)));
    assert!(s.no_delay);
    let _ = accept_key("dGhlIHNhbXBsZSBub25jZQ==");
}

/// After a close the server ended first, the client's end of TCP is an
/// orderly FIN (nothing left unread to turn it into a reset), whether it
/// leaves at once or when the socket is dropped.
#[tokio::test]
async fn a_client_close_after_the_server_ended_tcp_ends_it_cleanly() {
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
    let seen_tx = std::sync::Mutex::new(Some(seen_tx));
    let addr = upgraded_then(move |mut tcp| {
        let seen_tx = seen_tx.lock().unwrap().take();
        async move {
            // The client's close frame (masked, code 1000): 8 bytes.
            let mut frame = [0u8; 8];
            tcp.read_exact(&mut frame).await.unwrap();
            assert_eq!(frame[0], 0x88);
            tcp.write_all(&[0x88, 0x02, 0x03, 0xe8]).await.unwrap();
            tcp.shutdown().await.unwrap();
            let mut rest = Vec::new();
            let end = tcp.read_to_end(&mut rest).await.map(|_| rest);
            let _ = seen_tx.unwrap().send(end.map_err(|e| e.kind()));
        }
    })
    .await;
    let mut ws =
        MessageWebSocket::connect(&format!("ws://{addr}/"), MessageWebSocketControl::default())
            .await
            .unwrap();
    ws.close(1000, "").await.unwrap();
    assert!(ws.send_text("late").await.is_err());
    drop(ws);
    assert_eq!(seen_rx.await.unwrap(), Ok(Vec::new()));
}

/// A close timeout shorter than the connect timeout changes nothing about
/// the connect's limit (the connect timer first goes off at the close
/// timeout, then runs on to its deadline): a server that answers after
/// the close timeout but within the connect timeout is fine, one that
/// never answers is a connect timeout.
#[tokio::test]
async fn a_short_close_timeout_does_not_shorten_the_connect() {
    let addr = raw_server(|mut tcp| async move {
        let key = read_upgrade(&mut tcp).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut out = Vec::new();
        hs::write_accept(&key, None, None, &[], &mut out);
        let _ = tcp.write_all(&out).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let mut c = quick();
    c.connect_timeout = Some(Duration::from_secs(10));
    c.close_timeout = Some(Duration::from_millis(20));
    MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();

    let addr = raw_server(|tcp| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    })
    .await;
    let mut c = quick();
    c.connect_timeout = Some(Duration::from_millis(300));
    c.close_timeout = Some(Duration::from_millis(50));
    let (status, e) = status_of(&format!("ws://{addr}/"), c).await;
    assert_eq!(status, WebErrorStatus::Timeout);
    assert!(matches!(e, Error::Timeout(TimeoutKind::Connect)), "{e}");
}
