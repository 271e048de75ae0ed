//! `ws://` and `wss://` through SOCKS5 proxies.
//!
//! Against real servers: Python's pproxy (in the peers' venv,
//! tests/peers/setup.sh) and Debian's microsocks
//! (scripts/install-test-deps.sh), which answers a failed `CONNECT` with its
//! reply code where pproxy answers success first and hangs up later. These
//! tests are ignored by a plain `cargo test`; `.ci/run` runs them with
//! `--ignored`, and they fail when a server is missing.
//!
//! Against hand-made proxies on loopback (not ignored): one that answers
//! garbage, one that never answers, one that chooses a method that was not
//! offered, and one that records the negotiation to show what reaches it.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod common;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use wsock::server::AcceptOptions;
use wsock::{
    Credential, Error, MessageWebSocket, MessageWebSocketControl, ProxyConfig, Received, Resolve,
    SocksError, TimeoutKind, WebErrorStatus,
};

/// A proxy server process on a loopback port, killed on drop.
struct Proxy {
    port: u16,
    _child: Child,
}

impl Proxy {
    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

async fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    probe.local_addr().unwrap().port()
}

/// Starts `program args` (the port put in by `args`) and waits until the
/// port accepts connections; a free port found by binding and letting go
/// may be taken in between, so a server that dies is started again.
async fn start(program: PathBuf, args: impl Fn(u16) -> Vec<String>) -> Proxy {
    assert!(
        program.exists() || which(&program),
        "{} is not installed: run bash tests/peers/setup.sh and scripts/install-test-deps.sh",
        program.display()
    );
    for _ in 0..5 {
        let port = free_port().await;
        let mut child = Command::new(&program)
            .args(args(port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the proxy starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Proxy {
                    port,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("{} could not be started", program.display());
}

fn which(program: &std::path::Path) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).exists()))
}

/// pproxy listening for SOCKS5, with `user:password` when given.
async fn pproxy(auth: Option<&str>) -> Proxy {
    let program = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/peers/venv/bin/pproxy");
    let auth = auth.map(|a| format!("#{a}")).unwrap_or_default();
    start(program, move |port| {
        vec!["-l".into(), format!("socks5://127.0.0.1:{port}{auth}")]
    })
    .await
}

/// microsocks, with a user name and password when given.
async fn microsocks(auth: Option<(&str, &str)>) -> Proxy {
    let auth: Vec<String> = match auth {
        Some((u, p)) => vec!["-u".into(), u.into(), "-P".into(), p.into()],
        None => Vec::new(),
    };
    start(PathBuf::from("microsocks"), move |port| {
        let mut args = vec![
            "-i".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ];
        args.extend(auth.iter().cloned());
        args
    })
    .await
}

fn via(url: &str) -> MessageWebSocketControl {
    let mut control = MessageWebSocketControl::default();
    control.proxy = Some(ProxyConfig::new(url).unwrap());
    control
}

async fn round_trip(ws: &mut MessageWebSocket) {
    ws.send_text("through the SOCKS tunnel").await.unwrap();
    match ws.receive().await.unwrap() {
        Received::Message(m) => assert_eq!(m.as_text().unwrap(), "through the SOCKS tunnel"),
        other => panic!("expected the echo, got {other:?}"),
    }
    ws.close(1000, "").await.unwrap();
}

/// Answers every name with `addrs`, counting the look-ups.
#[derive(Debug)]
struct Fixed {
    addrs: Vec<SocketAddr>,
    asked: AtomicUsize,
}

impl Resolve for Fixed {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        self.asked.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move { Ok(self.addrs.clone()) })
    }
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn ws_through_socks5_and_socks5h_without_authentication() {
    let server = common::echo_server(AcceptOptions::default()).await;
    let proxy = pproxy(None).await;
    for scheme in ["socks5", "socks5h"] {
        for host in ["127.0.0.1", "localhost"] {
            let url = format!("ws://{host}:{}/", server.port());
            let mut ws = MessageWebSocket::connect(&url, via(&proxy.url(scheme)))
                .await
                .unwrap_or_else(|e| panic!("{scheme} {url}: {}", e.report()));
            // The connection is to the proxy.
            assert_eq!(ws.information().remote_address(), Some(proxy.addr()));
            round_trip(&mut ws).await;
        }
    }
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn socks5_resolves_here_and_socks5h_lets_the_proxy_resolve() {
    let server = common::echo_server(AcceptOptions::default()).await;
    let proxy = microsocks(None).await;
    // Our resolver answers an address where nothing listens (127.0.0.2 is
    // loopback too, but the server is bound to 127.0.0.1), then the
    // server's: the proxy refuses the first, and the second works.
    let port = server.port();
    let resolver = Arc::new(Fixed {
        addrs: vec![
            SocketAddr::from(([127, 0, 0, 2], port)),
            SocketAddr::from(([127, 0, 0, 1], port)),
        ],
        asked: AtomicUsize::new(0),
    });
    let url = format!("ws://localhost:{port}/");

    let mut control = via(&proxy.url("socks5"));
    control.resolver = Some(resolver.clone());
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
    assert_eq!(resolver.asked.load(Ordering::Relaxed), 1);

    // socks5h: the name goes to the proxy, which finds the server on its
    // own; our resolver is not asked.
    let mut control = via(&proxy.url("socks5h"));
    control.resolver = Some(resolver.clone());
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
    assert_eq!(resolver.asked.load(Ordering::Relaxed), 1);
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn socks5_with_authentication_right_and_wrong() {
    let server = common::echo_server(AcceptOptions::default()).await;
    let url = format!("ws://127.0.0.1:{}/", server.port());
    // pproxy hangs up on a wrong credential; microsocks answers status 1.
    let proxies = [
        pproxy(Some("sockuser:sockpass")).await,
        microsocks(Some(("sockuser", "sockpass"))).await,
    ];
    for proxy in &proxies {
        // A wrong one first (pproxy lets an address that has once
        // authenticated in without asking again), and the control's
        // credential wins over the URL's.
        let with_userinfo = format!("socks5://sockuser:sockpass@127.0.0.1:{}", proxy.port);
        let mut control = via(&with_userinfo);
        control.proxy_credential = Some(Credential::new("sockuser", "nope"));
        let err = MessageWebSocket::connect(&url, control).await.unwrap_err();
        assert!(
            matches!(err, Error::Socks(SocksError::AuthenticationFailed { .. })),
            "{err:?}"
        );
        assert_eq!(err.status(), WebErrorStatus::ProxyAuthenticationRequired);

        // The right one, in the control...
        let mut control = via(&proxy.url("socks5h"));
        control.proxy_credential = Some(Credential::new("sockuser", "sockpass"));
        let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
        round_trip(&mut ws).await;

        // ...or in the proxy URL.
        let mut ws = MessageWebSocket::connect(&url, via(&with_userinfo))
            .await
            .unwrap();
        round_trip(&mut ws).await;
    }

    // None at all: microsocks accepts none of the methods offered.
    let err = MessageWebSocket::connect(&url, via(&proxies[1].url("socks5")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Socks(SocksError::NoAcceptableMethod)),
        "{err:?}"
    );
    assert_eq!(err.status(), WebErrorStatus::ProxyAuthenticationRequired);
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn socks5_refused_connection_keeps_the_reply_code() {
    let closed = free_port().await;
    let proxy = microsocks(None).await;
    let url = format!("ws://127.0.0.1:{closed}/");
    let err = MessageWebSocket::connect(&url, via(&proxy.url("socks5")))
        .await
        .unwrap_err();
    match &err {
        Error::Socks(e) => {
            assert_eq!(e.reply_code(), Some(5), "{err:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), WebErrorStatus::CannotConnect);
    let report = err.report();
    assert!(
        report.contains("connection refused") && report.contains(&format!("127.0.0.1:{closed}")),
        "{report}"
    );
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn wss_through_socks5h() {
    let ca = common::tls::Ca::new();
    let port = common::tls::echo_server(&ca, &["localhost"], false).await;
    let proxy = pproxy(None).await;
    let mut control = via(&proxy.url("socks5h"));
    control.trusted_root_certificates = vec![ca.cert.clone()];
    control.use_default_roots = false;
    let url = format!("wss://localhost:{port}/");
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    // TLS ran end to end with the server, through the tunnel.
    assert!(ws.information().server_certificate().is_some());
    assert_eq!(ws.information().remote_address(), Some(proxy.addr()));
    round_trip(&mut ws).await;
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn all_proxy_socks5h_with_no_proxy_excluding_a_host() {
    let server = common::echo_server(AcceptOptions::default()).await;
    let proxy = pproxy(None).await;
    let all = proxy.url("socks5h");
    let vars = |name: &str| match name {
        "ALL_PROXY" => Some(all.clone()),
        "NO_PROXY" => Some("localhost".to_owned()),
        _ => None,
    };
    let port = server.port();

    let mut control = MessageWebSocketControl::default();
    control.proxy = Some(ProxyConfig::from_vars(vars).unwrap());
    let mut ws = MessageWebSocket::connect(&format!("ws://127.0.0.1:{port}/"), control)
        .await
        .unwrap();
    assert_eq!(ws.information().remote_address(), Some(proxy.addr()));
    round_trip(&mut ws).await;

    // localhost is excluded: straight to the server.
    let mut control = MessageWebSocketControl::default();
    control.proxy = Some(ProxyConfig::from_vars(vars).unwrap());
    let mut ws = MessageWebSocket::connect(&format!("ws://localhost:{port}/"), control)
        .await
        .unwrap();
    assert_eq!(ws.information().remote_address(), Some(server));
    round_trip(&mut ws).await;
}

// ---- hand-made proxies, no peer needed ----

/// A proxy on loopback that runs `f` on its one connection.
async fn fake_proxy<F, Fut>(f: F) -> u16
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        if let Ok((s, _)) = listener.accept().await {
            f(s).await;
        }
    });
    port
}

fn socks_url(port: u16) -> String {
    format!("socks5h://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_proxy_answering_garbage_is_a_malformed_answer() {
    let port = fake_proxy(|mut s| async move {
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf).await;
        // An HTTP proxy on the SOCKS port, and then an endless stream.
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        while s.write_all(&[b'x'; 1024]).await.is_ok() {}
    })
    .await;
    let err = MessageWebSocket::connect("ws://example.com/", via(&socks_url(port)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Socks(SocksError::Malformed(m)) if m.contains("version")),
        "{err:?}"
    );
    assert_eq!(err.status(), WebErrorStatus::ErrorHttpInvalidServerResponse);
}

#[tokio::test]
async fn a_silent_proxy_is_ended_by_the_connect_timeout() {
    let port = fake_proxy(|mut s| async move {
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf).await;
        // Never answers; holds the connection until the client goes.
        let _ = s.read(&mut buf).await;
    })
    .await;
    let mut control = via(&socks_url(port));
    control.connect_timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let err = MessageWebSocket::connect("ws://example.com/", control)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Timeout(TimeoutKind::Connect)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_proxy_choosing_a_method_not_offered_is_refused() {
    // No credential: only "no authentication" was offered, and the proxy
    // asks for user name and password; with one, it picks GSSAPI.
    for (credential, method) in [(None, 2u8), (Some(Credential::new("u", "p")), 1)] {
        let port = fake_proxy(move |mut s| async move {
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&[5, method]).await;
            let _ = s.read(&mut buf).await;
        })
        .await;
        let mut control = via(&socks_url(port));
        control.proxy_credential = credential;
        let err = MessageWebSocket::connect("ws://example.com/", control)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Socks(SocksError::Malformed(m)) if m.contains("not offered")),
            "{err:?}"
        );
        assert_eq!(err.status(), WebErrorStatus::ErrorHttpInvalidServerResponse);
    }
}

#[tokio::test]
async fn the_server_credential_never_reaches_the_proxy() {
    let server = common::echo_server(AcceptOptions::default()).await;
    let negotiation = Arc::new(Mutex::new(Vec::new()));
    let seen = negotiation.clone();
    // Asks for user name and password, records the negotiation, then
    // relays to the server.
    let port = fake_proxy(move |mut s| async move {
        let record = |b: &[u8]| seen.lock().unwrap().extend_from_slice(b);
        let mut greeting = [0u8; 4];
        s.read_exact(&mut greeting).await.unwrap();
        record(&greeting);
        s.write_all(&[5, 2]).await.unwrap();
        let mut auth = vec![0u8; 2];
        s.read_exact(&mut auth).await.unwrap();
        let mut user = vec![0u8; usize::from(auth[1]) + 1];
        s.read_exact(&mut user).await.unwrap();
        let mut password = vec![0u8; usize::from(user[user.len() - 1])];
        s.read_exact(&mut password).await.unwrap();
        record(&[auth, user, password].concat());
        s.write_all(&[1, 0]).await.unwrap();
        let mut request = [0u8; 10];
        s.read_exact(&mut request).await.unwrap();
        record(&request);
        s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
            .await
            .unwrap();
        let mut upstream = TcpStream::connect(server).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut s, &mut upstream).await;
    })
    .await;
    let mut control = via(&socks_url(port));
    control.proxy_credential = Some(Credential::new("proxy-user", "proxy-secret"));
    control.server_credential = Some(Credential::new("server-user", "server-secret"));
    control.pre_authenticate = true;
    control.allow_unencrypted_credentials = true;
    let url = format!("ws://url-user:url-secret@127.0.0.1:{}/", server.port());
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;

    let mut want = vec![5, 2, 0, 2, 1, 10];
    want.extend_from_slice(b"proxy-user");
    want.push(12);
    want.extend_from_slice(b"proxy-secret");
    want.extend_from_slice(&[5, 1, 0, 1, 127, 0, 0, 1]);
    want.extend_from_slice(&server.port().to_be_bytes());
    assert_eq!(*negotiation.lock().unwrap(), want);
}
