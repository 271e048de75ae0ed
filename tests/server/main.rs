//! The server role: what it answers to bad, refused and plain requests
//! (hand-written bytes over raw TCP), subprotocol choice, both socket types,
//! the listener, keep-alive pings and the close answer. Loopback only.
//!
//! One test binary: bad and refused requests in `requests`, subprotocols,
//! plain HTTP answers and the stream socket in `answers`, the listener,
//! the close and keep-alive in `connections`; the helpers are here.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod connections;
mod requests;

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
