//! `ws://` and `wss://` through a real HTTP proxy: Debian's tinyproxy,
//! started by each test on a free loopback port with a generated
//! configuration (open, or with `BasicAuth`). `scripts/install-test-deps.sh`
//! installs it; without it these tests say so and pass, except under CI
//! (`CI` set), where they fail.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod certs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use wsock::server::{self, AcceptOptions};
use wsock::{
    Credential, Error, MessageWebSocket, MessageWebSocketControl, ProxyConfig, StreamWebSocket,
    StreamWebSocketControl, WebErrorStatus,
};

use certs::{Ca, echo, round_trip, tls_echo_server};

/// The lines tinyproxy logged so far, and a signal for each new one.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    grew: Notify,
}

impl Log {
    fn push(&self, line: String) {
        self.lines.lock().unwrap().push(line);
        self.grew.notify_waiters();
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

/// A running tinyproxy, killed on drop, with the log it wrote so far.
struct Tinyproxy {
    port: u16,
    log: Arc<Log>,
    _child: Child,
    dir: PathBuf,
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Tinyproxy {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Waits until tinyproxy has logged a line containing `needle` (it
    /// logs a CONNECT before answering it, but the lines reach us through
    /// a pipe, on their own time). A generous guard turns a line that never
    /// comes into a failure rather than a hang.
    async fn wait_for_log(&self, needle: &str) {
        let seen = async {
            loop {
                let grew = self.log.grew.notified();
                if self.log.text().contains(needle) {
                    return;
                }
                grew.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(60), seen)
            .await
            .is_err()
        {
            panic!("tinyproxy never logged {needle:?}:\n{}", self.log.text());
        }
    }
}

fn installed() -> bool {
    std::process::Command::new("tinyproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts tinyproxy allowing CONNECT to `ports` only, with Basic
/// authentication when `auth` is given. None (after saying so) when it is
/// not installed, outside CI.
async fn tinyproxy(auth: Option<(&str, &str)>, ports: &[u16]) -> Option<Tinyproxy> {
    if !installed() {
        if std::env::var_os("CI").is_some() {
            panic!("tinyproxy is not installed: run scripts/install-test-deps.sh");
        }
        eprintln!("tinyproxy is not installed (scripts/install-test-deps.sh): test skipped");
        return None;
    }
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    // The free port is found by binding and letting go, so another process
    // may take it in between: try again with a new one if tinyproxy fails.
    for _ in 0..5 {
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
            probe.local_addr().unwrap().port()
        };
        let dir = std::env::temp_dir().join(format!(
            "wsock-tinyproxy-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 16\n\
             Allow 127.0.0.1\nLogLevel Info\nDisableViaHeader Yes\n"
        );
        for p in ports {
            conf.push_str(&format!("ConnectPort {p}\n"));
        }
        if let Some((user, password)) = auth {
            conf.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let conf_path = dir.join("tinyproxy.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("tinyproxy starts");
        // With -d it logs to stdout; it is ready once it says it accepts.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let log = Arc::new(Log::default());
        let mut ready = false;
        while let Ok(Some(line)) = lines.next_line().await {
            let accepting = line.contains("Accepting connections");
            log.push(line);
            if accepting {
                ready = true;
                break;
            }
        }
        if !ready {
            eprintln!("tinyproxy did not start on port {port}:\n{}", log.text());
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        }
        // Keep reading, so that tinyproxy never blocks on a full pipe.
        let keep = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                keep.push(line);
            }
        });
        return Some(Tinyproxy {
            port,
            log,
            _child: child,
            dir,
        });
    }
    panic!("tinyproxy could not be started");
}

/// A ws:// echo server (wsock's server role) on loopback.
async fn ws_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                if let Ok(ws) = server::accept(tcp, AcceptOptions::default()).await {
                    echo(ws).await;
                }
            });
        }
    });
    addr
}

fn via(proxy: &Tinyproxy) -> MessageWebSocketControl {
    let mut control = MessageWebSocketControl::default();
    control.proxy = Some(ProxyConfig::new(&proxy.url()).unwrap());
    control
}

#[tokio::test]
async fn ws_through_the_proxy() {
    let server = ws_echo_server().await;
    let Some(proxy) = tinyproxy(None, &[server.port()]).await else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/echo", server.port());
    let mut ws = MessageWebSocket::connect(&url, via(&proxy)).await.unwrap();
    // The connection is to the proxy.
    assert_eq!(ws.information().remote_address(), Some(proxy.addr()));
    round_trip(&mut ws).await;
    // tinyproxy saw the tunnel.
    let port = server.port();
    proxy
        .wait_for_log(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1"))
        .await;
    proxy
        .wait_for_log("Established connection to host \"127.0.0.1\"")
        .await;
}

#[tokio::test]
async fn wss_through_the_proxy() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], false);
    let (server, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    let Some(proxy) = tinyproxy(None, &[server.port()]).await else {
        return;
    };
    let mut control = via(&proxy);
    control.trusted_root_certificates = vec![ca.der.clone()];
    let url = format!("wss://localhost:{}/echo", server.port());
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    // TLS ran end to end with the server, through the tunnel.
    assert_eq!(ws.information().server_certificate(), Some(&leaf.der));
    assert_eq!(ws.information().remote_address(), Some(proxy.addr()));
    round_trip(&mut ws).await;
    let port = server.port();
    proxy
        .wait_for_log(&format!("CONNECT localhost:{port} HTTP/1.1"))
        .await;
}

#[tokio::test]
async fn stream_socket_through_the_proxy() {
    let server = ws_echo_server().await;
    let Some(proxy) = tinyproxy(None, &[server.port()]).await else {
        return;
    };
    let mut control = StreamWebSocketControl::default();
    control.proxy = Some(ProxyConfig::new(&proxy.url()).unwrap());
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let mut ws = StreamWebSocket::connect(&url, control).await.unwrap();
    ws.write_all(b"tunnelled bytes").await.unwrap();
    ws.flush().await.unwrap();
    let mut back = [0u8; 15];
    ws.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"tunnelled bytes");
}

#[tokio::test]
async fn proxy_with_basic_authentication() {
    let server = ws_echo_server().await;
    let Some(proxy) = tinyproxy(Some(("proxyuser", "proxypass")), &[server.port()]).await else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/", server.port());

    // No credential: 407.
    let err = MessageWebSocket::connect(&url, via(&proxy))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Proxy(_)), "{err:?}");
    assert_eq!(
        err.status(),
        WebErrorStatus::ProxyAuthenticationRequired,
        "{err:?}"
    );
    let challenge = err.http_response().unwrap().header("proxy-authenticate");
    assert!(
        challenge.is_some_and(|c| c.to_ascii_lowercase().starts_with("basic")),
        "{challenge:?}"
    );

    // A wrong one: tinyproxy answers 401, which is the proxy's too.
    let mut control = via(&proxy);
    control.proxy_credential = Some(Credential::new("proxyuser", "nope"));
    let err = MessageWebSocket::connect(&url, control).await.unwrap_err();
    assert!(matches!(err, Error::Proxy(_)), "{err:?}");
    assert_eq!(err.status(), WebErrorStatus::ProxyAuthenticationRequired);

    // The right one, in the control...
    let mut control = via(&proxy);
    control.proxy_credential = Some(Credential::new("proxyuser", "proxypass"));
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;

    // ...or in the proxy URL.
    let mut control = MessageWebSocketControl::default();
    let proxy_url = format!("http://proxyuser:proxypass@127.0.0.1:{}/", proxy.port);
    control.proxy = Some(ProxyConfig::new(&proxy_url).unwrap());
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
}

#[tokio::test]
async fn wss_through_an_authenticating_proxy() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], false);
    let (server, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    let Some(proxy) = tinyproxy(Some(("u", "p")), &[server.port()]).await else {
        return;
    };
    let url = format!("wss://localhost:{}/", server.port());
    let mut control = via(&proxy);
    control.trusted_root_certificates = vec![ca.der.clone()];
    let err = MessageWebSocket::connect(&url, control).await.unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::ProxyAuthenticationRequired);

    let mut control = via(&proxy);
    control.trusted_root_certificates = vec![ca.der.clone()];
    control.proxy_credential = Some(Credential::new("u", "p"));
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
}

#[tokio::test]
async fn proxy_refuses_a_port_it_does_not_allow() {
    let server = ws_echo_server().await;
    let other = ws_echo_server().await;
    let Some(proxy) = tinyproxy(None, &[other.port()]).await else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let err = MessageWebSocket::connect(&url, via(&proxy))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Proxy(_)), "{err:?}");
    // tinyproxy's "Access violation".
    assert_eq!(err.http_response().unwrap().status, 403, "{err:?}");
    assert_eq!(err.status(), WebErrorStatus::Forbidden);
}

// ---- without tinyproxy ----

#[tokio::test]
async fn no_proxy_list_connects_directly() {
    let server = ws_echo_server().await;
    // A proxy nothing listens on: it would fail if it were used.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let proxy = ProxyConfig::new(&format!("127.0.0.1:{dead}")).unwrap();
    let url = format!("ws://127.0.0.1:{}/", server.port());

    let mut control = MessageWebSocketControl::default();
    control.proxy = Some(proxy.clone());
    let err = MessageWebSocket::connect(&url, control).await.unwrap_err();
    assert!(
        matches!(&err, Error::Connect { addr, .. } if addr.port() == dead),
        "{err:?}"
    );
    assert_eq!(err.status(), WebErrorStatus::CannotConnect);

    let mut control = MessageWebSocketControl::default();
    control.proxy = Some(proxy.with_no_proxy("localhost,127.0.0.0/8"));
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    assert_eq!(ws.information().remote_address(), Some(server));
    round_trip(&mut ws).await;
}

#[tokio::test]
async fn environment_proxy_is_used_only_when_asked() {
    let server = ws_echo_server().await;
    let Some(proxy) = tinyproxy(None, &[server.port()]).await else {
        return;
    };
    let vars = |name: &str| match name {
        "http_proxy" => Some(proxy.url()),
        "NO_PROXY" => Some("example.com".to_owned()),
        _ => None,
    };
    let mut control = MessageWebSocketControl::default();
    control.proxy = Some(ProxyConfig::from_vars(vars).unwrap());
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    assert_eq!(ws.information().remote_address(), Some(proxy.addr()));
    round_trip(&mut ws).await;
}
