//! Hand-made servers on raw TCP, for what our server role would not do
//! (answer slowly, vanish, never read, never answer pings...).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsock::handshake::{Limits, server as hs};

/// A listener that runs `f` on each raw TCP connection; returns its address.
pub(crate) async fn raw_server<F, Fut>(f: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let f = Arc::new(f);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(f(tcp));
        }
    });
    addr
}

/// Reads the upgrade request and returns its Sec-WebSocket-Key.
pub(crate) async fn read_upgrade(tcp: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 1024];
        let n = tcp.read(&mut chunk).await.unwrap();
        assert!(n > 0, "client went away");
        buf.extend_from_slice(&chunk[..n]);
        if let Some((req, _)) = hs::parse_request(&buf, &Limits::default()).unwrap() {
            return hs::check_upgrade(&req).unwrap().key;
        }
    }
}

/// A server that accepts the upgrade and then runs `after` on the raw TCP
/// stream.
pub(crate) async fn upgraded_then<F, Fut>(after: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let after = Arc::new(after);
    raw_server(move |mut tcp| {
        let after = after.clone();
        async move {
            let key = read_upgrade(&mut tcp).await;
            let mut out = Vec::new();
            hs::write_accept(&key, None, None, &[], &mut out);
            tcp.write_all(&out).await.unwrap();
            after(tcp).await
        }
    })
    .await
}

/// A raw TCP client that has run the upgrade handshake with the server at
/// `addr`, with a receive buffer of `rcvbuf` bytes if given (a peer that
/// reads slowly); returns the stream and what came after the 101 answer.
pub(crate) async fn upgraded_client(
    addr: SocketAddr,
    rcvbuf: Option<u32>,
) -> (TcpStream, bytes::BytesMut) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(size) = rcvbuf {
        socket.set_recv_buffer_size(size).unwrap();
    }
    let mut tcp = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = bytes::BytesMut::new();
    loop {
        let mut chunk = [0u8; 1024];
        let n = tcp.read(&mut chunk).await.unwrap();
        assert!(n > 0, "server went away during the handshake");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(
                buf.starts_with(b"HTTP/1.1 101"),
                "{:?}",
                String::from_utf8_lossy(&buf)
            );
            let _ = buf.split_to(end + 4);
            return (tcp, buf);
        }
    }
}
