//! The client's WebSockets over HTTP/2 (RFC 8441) against hand-made HTTP/2
//! servers (tests/common/h2peer.rs: the `h2` crate's server with
//! hand-written frames): h2c and TLS with ALPN, the stream socket,
//! sharing a connection, the stream limit, fallback to HTTP/1.1, refusals,
//! credentials, redirects, timeouts and keep-alive. tests/http2_failures.rs
//! has what goes wrong.
#![cfg(feature = "http2")]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use common::h2peer::{self, Options, Stream, echo_server, exact, recv, round_trips, tls_control};
use wsock::handshake::HandshakeError;
use wsock::{
    Error, Http2Error, HttpVersion, HttpVersionPolicy, MessageWebSocket, StreamWebSocket,
    StreamWebSocketControl, WebErrorStatus,
};

#[tokio::test]
async fn messages_round_trip_over_h2c_with_prior_knowledge() {
    let server = echo_server().await;
    let mut c = exact();
    c.supported_protocols = vec!["chat".into()];
    let url = format!("ws://{}/chat?room=1", server.addr);
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    let info = ws.information();
    assert_eq!(info.http_version(), HttpVersion::Http2);
    assert_eq!(info.http_status(), 200);
    assert_eq!(info.protocol(), Some("chat"));
    assert_eq!(info.remote_address(), Some(server.addr));
    assert!(info.local_address().is_some());
    round_trips(&mut ws, 4 << 20).await;
    ws.close(1000, "bye").await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_stream_socket_runs_over_http2_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = echo_server().await;
    let mut c = StreamWebSocketControl::default();
    c.http_version = HttpVersion::Http2;
    c.http_version_policy = HttpVersionPolicy::RequestVersionExact;
    let url = format!("ws://{}/", server.addr);
    let mut ws = StreamWebSocket::connect(&url, c).await.unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http2);
    ws.write_all(b"stream bytes").await.unwrap();
    ws.flush().await.unwrap();
    let mut buf = [0u8; 12];
    ws.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"stream bytes");
}

#[tokio::test]
async fn over_tls_alpn_chooses_h2_and_the_information_has_the_certificate() {
    let ca = common::tls::Ca::new();
    let mut options = Options::new(h2peer::echo_handler());
    options.tls = Some(h2peer::tls(&ca, &[b"h2", b"http/1.1"]));
    let server = h2peer::start(options).await;
    let url = format!("wss://localhost:{}/", server.addr.port());
    let c = tls_control(&ca, HttpVersionPolicy::RequestVersionOrLower);
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http2);
    assert!(ws.information().server_certificate().is_some());
    round_trips(&mut ws, 1 << 20).await;
    ws.close(1000, "").await.unwrap();
}

/// 20 sockets opened at once, and then 20 more one by one, on one TCP
/// connection.
#[tokio::test]
async fn sockets_to_one_origin_share_one_connection() {
    let ca = common::tls::Ca::new();
    let mut options = Options::new(h2peer::echo_handler());
    options.tls = Some(h2peer::tls(&ca, &[b"h2"]));
    let server = h2peer::start(options).await;
    let url = format!("wss://localhost:{}/", server.addr.port());
    let c = tls_control(&ca, HttpVersionPolicy::RequestVersionExact);
    let opening = (0..20).map(|_| MessageWebSocket::connect(&url, c.clone()));
    let mut sockets: Vec<_> = futures_util::future::join_all(opening)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for _ in 0..20 {
        sockets.push(MessageWebSocket::connect(&url, c.clone()).await.unwrap());
    }
    for (i, ws) in sockets.iter_mut().enumerate() {
        ws.send_text(&format!("socket {i}")).await.unwrap();
    }
    for (i, ws) in sockets.iter_mut().enumerate() {
        assert_eq!(recv(ws).await.as_text().unwrap(), format!("socket {i}"));
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    for ws in &mut sockets {
        ws.close(1000, "").await.unwrap();
    }
}

#[tokio::test]
async fn past_the_servers_stream_limit_a_new_connection_opens() {
    let mut options = Options::new(h2peer::echo_handler());
    options.max_streams = Some(2);
    let server = h2peer::start(options).await;
    let url = format!("ws://{}/", server.addr);
    let mut sockets = Vec::new();
    for _ in 0..5 {
        sockets.push(MessageWebSocket::connect(&url, exact()).await.unwrap());
    }
    // Two streams each on two connections, the fifth on a third.
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    for ws in &mut sockets {
        ws.send_text("x").await.unwrap();
        assert_eq!(recv(ws).await.as_text().unwrap(), "x");
    }
    // A closed socket frees its place for the next one.
    let mut first = sockets.remove(0);
    first.close(1000, "").await.unwrap();
    drop(first);
    let mut again = MessageWebSocket::connect(&url, exact()).await.unwrap();
    again.send_text("y").await.unwrap();
    assert_eq!(recv(&mut again).await.as_text().unwrap(), "y");
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_closed_socket_still_kept_gives_its_stream_back_to_the_connection() {
    let mut options = Options::new(h2peer::echo_handler());
    options.max_streams = Some(1);
    let server = h2peer::start(options).await;
    let url = format!("ws://{}/", server.addr);
    let mut first = MessageWebSocket::connect(&url, exact()).await.unwrap();
    first.close(1000, "").await.unwrap();
    // `first` is closed but not dropped: its place on the connection is
    // free all the same, so the next socket shares the connection rather
    // than opening a second one.
    let mut second = MessageWebSocket::connect(&url, exact()).await.unwrap();
    second.send_text("z").await.unwrap();
    assert_eq!(recv(&mut second).await.as_text().unwrap(), "z");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    assert!(first.send_text("after close").await.is_err());
    second.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn without_extended_connect_or_lower_falls_back_and_exact_fails() {
    let ca = common::tls::Ca::new();
    let mut options = Options::new(h2peer::echo_handler());
    options.connect_protocol = false;
    options.tls = Some(h2peer::tls(&ca, &[b"h2", b"http/1.1"]));
    let server = h2peer::start(options).await;
    let url = format!("wss://localhost:{}/", server.addr.port());

    let c = tls_control(&ca, HttpVersionPolicy::RequestVersionOrLower);
    let mut ws = MessageWebSocket::connect(&url, c.clone()).await.unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http11);
    assert_eq!(ws.information().http_status(), 101);
    round_trips(&mut ws, 1000).await;
    ws.close(1000, "").await.unwrap();
    // The HTTP/2 connection, then one that offered HTTP/1.1 alone.
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    // The next socket (same TLS configuration) remembers: HTTP/1.1 at
    // once, one connection more.
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http11);
    ws.close(1000, "").await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);

    let c = tls_control(&ca, HttpVersionPolicy::RequestVersionExact);
    let e = MessageWebSocket::connect(&url, c).await.unwrap_err();
    assert!(
        matches!(e, Error::Http2(Http2Error::NoExtendedConnect)),
        "{e:?}"
    );
    assert_eq!(e.status(), WebErrorStatus::HttpVersionNotSupported);
}

#[tokio::test]
async fn when_alpn_chooses_http11_the_upgrade_runs_on_that_connection() {
    let ca = common::tls::Ca::new();
    let mut options = Options::new(h2peer::echo_handler());
    options.tls = Some(h2peer::tls(&ca, &[b"http/1.1"]));
    let server = h2peer::start(options).await;
    let url = format!("wss://localhost:{}/", server.addr.port());
    let c = tls_control(&ca, HttpVersionPolicy::RequestVersionOrLower);
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http11);
    round_trips(&mut ws, 1000).await;
    ws.close(1000, "").await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn exact_against_a_server_without_alpn_fails_clearly() {
    let ca = common::tls::Ca::new();
    let mut options = Options::new(h2peer::echo_handler());
    options.tls = Some(h2peer::tls(&ca, &[]));
    let server = h2peer::start(options).await;
    let url = format!("wss://localhost:{}/", server.addr.port());
    let c = tls_control(&ca, HttpVersionPolicy::RequestVersionExact);
    let e = MessageWebSocket::connect(&url, c).await.unwrap_err();
    assert!(
        matches!(e, Error::Http2(Http2Error::NotNegotiated(None))),
        "{e:?}"
    );
    assert_eq!(e.status(), WebErrorStatus::HttpVersionNotSupported);
}

#[tokio::test]
async fn a_refused_connect_keeps_its_status_and_body() {
    let handler = h2peer::handler(|req, mut respond| async move {
        let status = match req.uri().path() {
            "/forbidden" => 403,
            _ => 404,
        };
        let response = http::Response::builder()
            .status(status)
            .header("content-length", "7")
            .header("x-why", "test")
            .body(())
            .unwrap();
        let mut send = respond.send_response(response, false).unwrap();
        send.send_data(Bytes::from_static(b"go away"), true)
            .unwrap();
    });
    let server = h2peer::start(Options::new(handler)).await;
    for (path, status, web) in [
        ("/forbidden", 403, WebErrorStatus::Forbidden),
        ("/missing", 404, WebErrorStatus::NotFound),
    ] {
        let url = format!("ws://{}{path}", server.addr);
        let e = MessageWebSocket::connect(&url, exact()).await.unwrap_err();
        assert!(
            matches!(e, Error::Handshake(HandshakeError::Status(_))),
            "{e:?}"
        );
        assert_eq!(e.status(), web);
        let response = e.http_response().unwrap();
        assert_eq!(response.status, status);
        assert_eq!(response.header("x-why"), Some("test"));
        assert_eq!(&response.body[..], b"go away");
    }
    // Refusals are streams: the connection was shared by both.
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

/// Timeouts, keep-alive and statistics run over the stream as over TCP.
#[tokio::test]
async fn timeouts_keep_alive_and_statistics_work_over_http2() {
    let server = echo_server().await;
    let url = format!("ws://{}/", server.addr);
    let mut c = exact();
    c.receive_timeout = Some(Duration::from_millis(200));
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    // Nothing comes: the receive times out, and the socket goes on.
    let e = ws.receive().await.unwrap_err();
    assert!(
        matches!(e, Error::Timeout(wsock::TimeoutKind::Receive)),
        "{e:?}"
    );
    assert!(e.is_socket_usable());
    ws.send_text("after the timeout").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "after the timeout");
    assert!(ws.information().bytes_sent() >= 17);
    ws.close(1000, "").await.unwrap();

    // Keep-alive: pings go out while a receive waits, and their pongs
    // come back (the only bytes, before any message).
    let mut c = exact();
    c.keep_alive_interval = Some(Duration::from_millis(50));
    c.keep_alive_timeout = Some(Duration::from_secs(5));
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(400), ws.receive()).await;
    assert!(waited.is_err(), "{waited:?}");
    let info = ws.information();
    assert!(info.bytes_sent() > 0 && info.bytes_received() > 0);
    ws.send_text("alive").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "alive");
}

/// Basic credentials go in a second CONNECT on the same connection when
/// the first is answered 401.
#[tokio::test]
async fn a_401_is_answered_with_the_credential_on_a_new_stream() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let handler = h2peer::handler(move |req, mut respond| {
        let log = log.clone();
        async move {
            let auth = req
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned());
            log.lock().unwrap().push(auth.clone());
            if auth.as_deref() == Some("Basic YWxpY2U6c2VjcmV0") {
                return Stream::answer(req, respond, &[]).echo().await;
            }
            let response = http::Response::builder()
                .status(401)
                .header("www-authenticate", "Basic realm=\"test\"")
                .body(())
                .unwrap();
            let _ = respond.send_response(response, true);
        }
    });
    let ca = common::tls::Ca::new();
    let mut options = Options::new(handler);
    options.tls = Some(h2peer::tls(&ca, &[b"h2"]));
    let server = h2peer::start(options).await;
    let url = format!("wss://localhost:{}/", server.addr.port());
    let mut c = tls_control(&ca, HttpVersionPolicy::RequestVersionExact);
    c.server_credential = Some(wsock::Credential::new("alice", "secret"));
    let mut ws = MessageWebSocket::connect(&url, c).await.unwrap();
    ws.send_text("in").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "in");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, vec![None, Some("Basic YWxpY2U6c2VjcmV0".to_owned())]);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

/// The request headers a handler saw, one list per CONNECT.
type Seen = Arc<std::sync::Mutex<Vec<Vec<(String, String)>>>>;

fn log_headers(seen: &Seen, req: &http::Request<h2::RecvStream>) {
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    seen.lock().unwrap().push(headers);
}

/// A redirect over HTTP/2 to another origin keeps the caller's secrets
/// (credential, `Authorization` and `Cookie` headers) at home, as over
/// HTTP/1.1: the other server's 401 then goes unanswered.
#[tokio::test]
async fn a_redirect_to_another_origin_over_http2_carries_no_secrets() {
    let (seen_here, seen_there) = (Seen::default(), Seen::default());
    let there_log = seen_there.clone();
    let there = h2peer::start(Options::new(h2peer::handler(move |req, mut respond| {
        let log = there_log.clone();
        async move {
            log_headers(&log, &req);
            let response = http::Response::builder()
                .status(401)
                .header("www-authenticate", "Basic realm=\"there\"")
                .body(())
                .unwrap();
            let _ = respond.send_response(response, true);
        }
    })))
    .await;
    let location = format!("ws://{}/elsewhere", there.addr);
    let here_log = seen_here.clone();
    let here = h2peer::start(Options::new(h2peer::handler(move |req, mut respond| {
        let (log, location) = (here_log.clone(), location.clone());
        async move {
            log_headers(&log, &req);
            let response = http::Response::builder()
                .status(302)
                .header("location", location)
                .body(())
                .unwrap();
            let _ = respond.send_response(response, true);
        }
    })))
    .await;
    let mut c = exact();
    c.max_redirects = 1;
    c.server_credential = Some(wsock::Credential::new("alice", "secret"));
    c.set_request_header("Authorization", "Bearer token")
        .unwrap();
    c.set_request_header("Cookie", "session=abc").unwrap();
    c.set_request_header("X-Trace", "42").unwrap();
    let url = format!("ws://{}/", here.addr);
    let e = MessageWebSocket::connect(&url, c).await.unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::Unauthorized, "{e:?}");
    let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(n, _)| n == name);
    let at_home = seen_here.lock().unwrap().clone();
    assert_eq!(at_home.len(), 1);
    assert!(has(&at_home[0], "authorization") && has(&at_home[0], "cookie"));
    let elsewhere = seen_there.lock().unwrap().clone();
    assert_eq!(elsewhere.len(), 1, "the 401 there is not answered");
    assert!(has(&elsewhere[0], "x-trace"), "{elsewhere:?}");
    assert!(
        !has(&elsewhere[0], "authorization") && !has(&elsewhere[0], "cookie"),
        "{elsewhere:?}"
    );
}

/// "Or lower" over ws:// is HTTP/1.1 (as in .NET): our own HTTP/1.1
/// server role answers it.
#[cfg(feature = "server")]
#[tokio::test]
async fn or_lower_over_ws_is_http11() {
    let addr = common::echo_server(wsock::server::AcceptOptions::default()).await;
    let url = format!("ws://{addr}/");
    let mut ws = MessageWebSocket::connect(
        &url,
        h2peer::control(HttpVersionPolicy::RequestVersionOrLower),
    )
    .await
    .unwrap();
    assert_eq!(ws.information().http_version(), HttpVersion::Http11);
    ws.send_text("plain").await.unwrap();
    assert_eq!(recv(&mut ws).await.as_text().unwrap(), "plain");
    // Requiring HTTP/2 there (prior knowledge) fails against a server
    // that speaks HTTP/1.1 only: it does not understand the preface.
    let e = MessageWebSocket::connect(&url, exact()).await.unwrap_err();
    assert_ne!(e.status(), WebErrorStatus::Unknown, "{}", e.report());
}

/// A hand-made HTTP CONNECT proxy on loopback: it opens each tunnel asked
/// for and counts them.
async fn connect_proxy() -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tunnels = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = tunnels.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let line = String::from_utf8_lossy(&head).into_owned();
                let target = line.split_whitespace().nth(1).unwrap().to_owned();
                let mut server = tokio::net::TcpStream::connect(&target).await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (addr, tunnels)
}

/// Through an HTTP proxy, TLS and HTTP/2 run inside the tunnel, and the
/// sockets through the same proxy share one tunnel.
#[tokio::test]
async fn sockets_through_a_proxy_share_one_tunnel() {
    let ca = common::tls::Ca::new();
    let mut options = Options::new(h2peer::echo_handler());
    options.tls = Some(h2peer::tls(&ca, &[b"h2"]));
    let server = h2peer::start(options).await;
    let (proxy, tunnels) = connect_proxy().await;
    let mut c = tls_control(&ca, HttpVersionPolicy::RequestVersionExact);
    c.proxy = Some(wsock::ProxyConfig::new(&format!("http://{proxy}")).unwrap());
    // "localhost" resolves at the proxy: 127.0.0.1 in the tunnel request.
    let url = format!("wss://localhost:{}/", server.addr.port());
    let mut a = MessageWebSocket::connect(&url, c.clone()).await.unwrap();
    let mut b = MessageWebSocket::connect(&url, c).await.unwrap();
    for ws in [&mut a, &mut b] {
        assert_eq!(ws.information().http_version(), HttpVersion::Http2);
        assert_eq!(ws.information().remote_address(), Some(proxy));
        ws.send_text("tunnelled").await.unwrap();
        assert_eq!(recv(ws).await.as_text().unwrap(), "tunnelled");
    }
    assert_eq!(tunnels.load(Ordering::SeqCst), 1);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}
