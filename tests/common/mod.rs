//! Shared test helpers: our own echo server, and the independent peers
//! (Python's `websockets`, Node's `ws`) that `.ci/run` installs.
#![allow(dead_code)]

#[cfg(feature = "http2")]
pub(crate) mod h2frames;
#[cfg(feature = "http2")]
pub(crate) mod h2peer;
#[cfg(all(feature = "server", feature = "http2"))]
pub(crate) mod h2ws;
pub(crate) mod raw;
pub(crate) mod reconnect;
pub(crate) mod tls;
pub(crate) mod wire;

#[cfg(feature = "server")]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
#[cfg(feature = "server")]
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
#[cfg(feature = "server")]
use wsock::MessageWebSocket;
#[cfg(feature = "server")]
use wsock::server::{self, AcceptOptions};

/// Echoes messages on one accepted socket until the client closes.
#[cfg(feature = "server")]
pub(crate) async fn echo(ws: MessageWebSocket) {
    let _ = server::echo(ws).await;
}

/// Starts our own echo server (server role) on a free loopback port.
#[cfg(feature = "server")]
pub(crate) async fn echo_server(options: AcceptOptions) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let options = options.clone();
            tokio::spawn(async move {
                if let Ok(ws) = server::accept(tcp, options).await {
                    echo(ws).await;
                }
            });
        }
    });
    addr
}

/// An independent peer server process, killed on drop.
pub(crate) struct Peer {
    pub(crate) port: u16,
    _child: Child,
}

impl Peer {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{}", self.port, path)
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts an independent echo server: "python" or "node". The tests that
/// use it are `#[ignore]`d ("needs the interop peers"), so a plain `cargo
/// test` reports them as ignored rather than passed; `cargo test --
/// --ignored` runs them, and without the peers installed they fail.
pub(crate) async fn peer(kind: &str) -> Peer {
    peer_with(kind, &[]).await
}

/// As [`peer`], with command-line flags for the peer (such as `--deflate`,
/// tests/peers/README.md lists them).
pub(crate) async fn peer_with(kind: &str, flags: &[&str]) -> Peer {
    let r = root();
    let (program, script) = match kind {
        "python" => (
            r.join("target/peers/venv/bin/python"),
            r.join("tests/peers/python/echo_server.py"),
        ),
        "node" => (
            PathBuf::from("node"),
            r.join("tests/peers/node/echo_server.js"),
        ),
        // hypercorn: WebSockets over HTTP/2 (tests/peers/python/h2_echo.py).
        "hypercorn" => (
            r.join("target/peers/venv/bin/python"),
            r.join("tests/peers/python/h2_echo.py"),
        ),
        _ => panic!("unknown peer {kind}"),
    };
    let installed = match kind {
        "python" | "hypercorn" => program.exists(),
        _ => r.join("tests/peers/node/node_modules/ws").exists(),
    };
    assert!(
        installed,
        "peer {kind} is not installed: run bash tests/peers/setup.sh first"
    );
    let mut child = Command::new(program)
        .arg(script)
        .args(flags)
        .arg("0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start peer");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("peer exited before listening");
        if let Some(p) = line.strip_prefix("LISTENING ") {
            break p.trim().parse().unwrap();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Peer {
        port,
        _child: child,
    }
}
