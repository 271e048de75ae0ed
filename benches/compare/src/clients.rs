//! The workloads, written once per library in that library's own idiom:
//! its connect function, its batched send where it has one (the futures
//! `Sink`'s `feed` then `flush`; a `BufWriter` under fastwebsockets, which
//! writes each frame straight to its stream), and its close handshake run
//! to the end of the TCP stream.
//!
//! Over `wss://`, wsock is given the run's CA through its certificate
//! options; the others get one rustls `ClientConfig` (ring, that CA) built
//! once per process and shared by every connect, as their users do.
//!
//! Every function panics on an error: a benchmark that failed must not
//! print a figure.

mod fw;
mod tt;
mod tw;
mod ws;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

/// One library under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lib {
    Wsock,
    Tungstenite,
    TokioWebsockets,
    Fastwebsockets,
}

impl Lib {
    pub const ALL: [Lib; 4] = [
        Lib::Wsock,
        Lib::Tungstenite,
        Lib::TokioWebsockets,
        Lib::Fastwebsockets,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lib::Wsock => "wsock",
            Lib::Tungstenite => "tokio-tungstenite",
            Lib::TokioWebsockets => "tokio-websockets",
            Lib::Fastwebsockets => "fastwebsockets",
        }
    }

    pub fn from_name(s: &str) -> Option<Lib> {
        Lib::ALL.into_iter().find(|l| l.name() == s)
    }
}

/// Where a client connects: a server's address, `wss://` or not, a path.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub tls: bool,
    pub path: String,
}

impl Target {
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.addr, self.path)
    }
}

/// The peers' shared TLS configuration, built on first use.
fn shared_tls() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG.get_or_init(crate::tls::client_config).clone()
}

fn payload(size: usize) -> Bytes {
    Bytes::from((0..size).map(|i| (i * 7 + 3) as u8).collect::<Vec<u8>>())
}

/// Opens one connection (used by the workloads that time only the traffic).
pub async fn open(lib: Lib, target: &Target) -> Conn {
    match lib {
        Lib::Wsock => Conn::Wsock(ws::connect(target).await),
        Lib::Tungstenite => Conn::Tungstenite(tt::connect(target).await),
        Lib::TokioWebsockets => Conn::TokioWebsockets(tw::connect(target).await),
        Lib::Fastwebsockets => Conn::Fastwebsockets(fw::connect(target).await),
    }
}

/// An open connection of any library.
pub enum Conn {
    Wsock(wsock::MessageWebSocket),
    Tungstenite(tt::Ws),
    TokioWebsockets(tw::Ws),
    Fastwebsockets(fw::Ws),
}

impl Conn {
    pub fn boxed(self) -> Box<dyn Any + Send> {
        match self {
            Conn::Wsock(c) => Box::new(c),
            Conn::Tungstenite(c) => Box::new(c),
            Conn::TokioWebsockets(c) => Box::new(c),
            Conn::Fastwebsockets(c) => Box::new(c),
        }
    }

    /// `count` messages of `size` bytes sent back to back while a second
    /// task reads the echoes; returns once every echo is in.
    pub async fn stream(self, count: usize, size: usize) {
        let data = payload(size);
        match self {
            Conn::Wsock(c) => ws::stream(c, count, data).await,
            Conn::Tungstenite(c) => tt::stream(c, count, data).await,
            Conn::TokioWebsockets(c) => tw::stream(c, count, data).await,
            Conn::Fastwebsockets(c) => fw::stream(c, count, data).await,
        }
    }

    /// `count` sequential round trips of `size` bytes.
    pub async fn round_trips(&mut self, count: usize, size: usize) {
        let data = payload(size);
        match self {
            Conn::Wsock(c) => ws::round_trips(c, count, &data).await,
            Conn::Tungstenite(c) => tt::round_trips(c, count, &data).await,
            Conn::TokioWebsockets(c) => tw::round_trips(c, count, &data).await,
            Conn::Fastwebsockets(c) => fw::round_trips(c, count, &data).await,
        }
    }

    /// Receives `count` firehose messages, checking each
    /// ([`crate::firehose::check`]): text, in order, as expected.
    pub async fn firehose(&mut self, count: usize) {
        match self {
            Conn::Wsock(c) => ws::firehose(c, count).await,
            Conn::Tungstenite(c) => tt::firehose(c, count).await,
            Conn::TokioWebsockets(c) => tw::firehose(c, count).await,
            Conn::Fastwebsockets(c) => fw::firehose(c, count).await,
        }
    }

    /// The close handshake, to the end of the TCP stream.
    pub async fn close(self) {
        match self {
            Conn::Wsock(c) => ws::close(c).await,
            Conn::Tungstenite(c) => tt::close(c).await,
            Conn::TokioWebsockets(c) => tw::close(c).await,
            Conn::Fastwebsockets(c) => fw::close(c).await,
        }
    }
}

fn check(got: usize, want: usize) {
    assert_eq!(got, want, "echo length");
}
