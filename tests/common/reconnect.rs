//! Helpers for the reconnecting socket's tests: raw servers that count
//! their connections, and options with no timer but the policy's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use wsock::handshake::server as hs;
use wsock::reconnect::{ConnectionState, ConnectionStates, Delays};
use wsock::{MessageWebSocketControl, Received, ReconnectPolicy, ReconnectingMessageWebSocket};

use super::raw::{raw_server, read_upgrade};
use super::wire::{close_frame, frame, read_until_close};

/// No timer but the policy's: with the paused clock, time then moves
/// only to the backoff's deadlines.
pub(crate) fn control() -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.connect_timeout = None;
    c.receive_timeout = None;
    c
}

/// Short fixed delays, for the tests that run in real time.
pub(crate) fn quick_policy() -> ReconnectPolicy {
    let mut p = ReconnectPolicy::default();
    p.delays = Delays::Exponential {
        initial: Duration::from_millis(20),
        factor: 2.0,
        maximum: Duration::from_millis(100),
    };
    p
}

pub(crate) fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/")
}

/// Answers the upgrade on a raw connection.
pub(crate) async fn accept_upgrade(tcp: &mut TcpStream) {
    let key = read_upgrade(tcp).await;
    let mut out = Vec::new();
    hs::write_accept(&key, None, None, &[], &mut out);
    tcp.write_all(&out).await.unwrap();
}

/// A raw server that runs `f` with each connection's number (from 1);
/// returns its address and the connection count.
pub(crate) async fn numbered<F, Fut>(f: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(usize, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let addr = raw_server(move |tcp| f(counter.fetch_add(1, Ordering::SeqCst) + 1, tcp)).await;
    (addr, count)
}

/// A close frame, then whatever the client says until it goes.
pub(crate) async fn close_with(mut tcp: TcpStream, code: u16) {
    tcp.write_all(&close_frame(code, "")).await.unwrap();
    let _ = read_until_close(&mut tcp).await;
}

pub(crate) async fn send_text(tcp: &mut TcpStream, text: &str) {
    tcp.write_all(&frame(0x81, text.as_bytes())).await.unwrap();
}

pub(crate) async fn text(ws: &mut ReconnectingMessageWebSocket) -> String {
    match ws.receive().await.unwrap() {
        Received::Message(m) => m.as_text().unwrap().to_owned(),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Every state a stream has seen so far.
pub(crate) fn seen(states: &mut ConnectionStates) -> Vec<ConnectionState> {
    let mut out = Vec::new();
    while let Some(Some(s)) = futures_util::StreamExt::next(states).now_or_never_ready() {
        out.push(s);
    }
    out
}

/// `Stream::next` without waiting.
pub(crate) trait NowOrNever: Future + Sized {
    fn now_or_never_ready(self) -> Option<Self::Output> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut fut = std::pin::pin!(self);
        match fut.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }
}
impl<F: Future> NowOrNever for F {}
