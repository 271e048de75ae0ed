//! A peer that speaks raw frames over one accepted TCP connection, written
//! without wsock's core, for tests that need a peer to misbehave on
//! purpose (not read, answer a close late, send a chosen close code).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsock::handshake::server as hs;

use super::raw::read_upgrade;

/// Accepts one connection, answers the upgrade, then runs `f` on the raw
/// stream. Returns the `ws://` URL.
pub(crate) async fn one_peer<F, Fut>(f: F) -> String
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    one_peer_with_extensions(None, f).await
}

/// [`one_peer`], its 101 agreeing to `extensions` (for example
/// `permessage-deflate`) whatever the client offered.
#[allow(dead_code)]
pub(crate) async fn one_peer_with_extensions<F, Fut>(
    extensions: Option<&'static str>,
    f: F,
) -> String
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let key = read_upgrade(&mut tcp).await;
        let mut out = Vec::new();
        hs::write_accept(&key, None, extensions, &[], &mut out);
        tcp.write_all(&out).await.unwrap();
        f(tcp).await
    });
    format!("ws://{addr}/")
}

/// A server frame (unmasked): `b0` is FIN/RSV/opcode.
pub(crate) fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n < 65536 => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A close frame with `code` and `reason`.
pub(crate) fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    frame(0x88, &p)
}

/// The next client frame, unmasked: its first byte and payload. `None` at
/// the end of the stream (or a reset).
pub(crate) async fn read_frame(tcp: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    tcp.read_exact(&mut h).await.ok()?;
    let len = match h[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            tcp.read_exact(&mut b).await.ok()?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            tcp.read_exact(&mut b).await.ok()?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    assert!(h[1] & 0x80 != 0, "client frames are masked");
    let mut key = [0u8; 4];
    tcp.read_exact(&mut key).await.ok()?;
    let mut payload = vec![0u8; len as usize];
    tcp.read_exact(&mut payload).await.ok()?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
    Some((h[0], payload))
}

/// The next whole data message from the client (control frames other than
/// close are skipped): its opcode and payload. `None` at a close frame or
/// the end of the stream.
pub(crate) async fn read_message(tcp: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut opcode = None;
    let mut data = Vec::new();
    loop {
        let (b0, payload) = read_frame(tcp).await?;
        match b0 & 0x0F {
            0x8 => return None,
            0x9 | 0xA => continue,
            0x0 => assert!(opcode.is_some(), "continuation without a message"),
            op => {
                assert!(opcode.is_none(), "a new message inside a message");
                opcode = Some(op);
            }
        }
        data.extend_from_slice(&payload);
        if b0 & 0x80 != 0 {
            return Some((opcode.unwrap(), data));
        }
    }
}

/// Reads client frames until its close frame: the close code (None at the
/// end of the stream without one).
pub(crate) async fn read_until_close(tcp: &mut TcpStream) -> Option<u16> {
    loop {
        let (b0, payload) = read_frame(tcp).await?;
        if b0 & 0x0F == 0x8 {
            return Some(
                payload
                    .get(..2)
                    .map_or(1005, |c| u16::from_be_bytes([c[0], c[1]])),
            );
        }
    }
}

/// Polls `fut` once: `true` when it is still pending (really waiting).
pub(crate) async fn pending_once<F: Future>(mut fut: Pin<&mut F>) -> bool {
    std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_pending())).await
}
