//! Keep-alive pings must not cost a waiting sender its wake-up: with pings
//! every 20 ms, a message large enough to fill the transport many times
//! over is sent to a peer that reads slowly (a small receive buffer, 16 KiB
//! at a time with pauses), and the send must complete, in both roles. (A
//! keep-alive task once wrote its pings with a no-op waker, which took the
//! waiting sender's place in the transport: the send stalled for good, or
//! in the client role failed with a false send timeout. The pings now go
//! out in the waiting sender's own polls.)
#![cfg(feature = "server")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use wsock::handshake::server as hs;
use wsock::proto::{Config, Connection, Event, Role};
use wsock::server::{self, AcceptOptions};
use wsock::{MessageWebSocket, MessageWebSocketControl};

/// The message: many times what the socket buffers hold.
const SIZE: usize = 16 << 20;
const KEEP_ALIVE: Duration = Duration::from_millis(20);
/// The peer's receive buffer.
const RCVBUF: u32 = 64 * 1024;
/// Only against a hang: a send that completes takes a second or two.
const GUARD: Duration = Duration::from_secs(40);

/// Reads slowly what our side sends, decoding it as `role` (the peer's)
/// would, until one whole message is in; returns its size. (Pings are not
/// answered: no pong timeout is set.)
async fn read_slowly(tcp: &mut TcpStream, role: Role, mut buf: BytesMut) -> usize {
    let mut conn = Connection::new(Config::new(role));
    let mut got = 0;
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match conn.decode(&mut buf).unwrap() {
            Some(Event::Data { payload, fin, .. }) => {
                got += payload.len();
                if fin {
                    return got;
                }
            }
            Some(_) => conn.output().clear(),
            None => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let n = tcp.read(&mut chunk).await.unwrap();
                assert!(n > 0, "our side went away mid-message");
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

/// A raw server with a small receive buffer that reads slowly; reports
/// the size of the first message.
async fn slow_reading_server() -> (SocketAddr, oneshot::Receiver<usize>) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(RCVBUF).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let key = common::raw::read_upgrade(&mut tcp).await;
        let mut out = Vec::new();
        hs::write_accept(&key, None, None, &[], &mut out);
        tcp.write_all(&out).await.unwrap();
        let seen = read_slowly(&mut tcp, Role::Server, BytesMut::new()).await;
        let _ = tx.send(seen);
    });
    (addr, rx)
}

#[tokio::test]
async fn a_client_send_completes_while_keep_alive_pings_go_out() {
    let (addr, seen) = slow_reading_server().await;
    let mut c = MessageWebSocketControl::default();
    c.keep_alive_interval = Some(KEEP_ALIVE);
    c.send_timeout = Some(Duration::from_secs(20));
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    let big = vec![0x5Au8; SIZE];
    let sent = tokio::time::timeout(GUARD, ws.send_binary(&big))
        .await
        .expect("the send stalled");
    sent.expect("the send failed (a false send timeout?)");
    let got = tokio::time::timeout(GUARD, seen).await.unwrap().unwrap();
    assert_eq!(got, SIZE);
}

#[tokio::test]
async fn a_server_send_completes_while_keep_alive_pings_go_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, sent) = oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut o = AcceptOptions::default();
        o.keep_alive_interval = Some(KEEP_ALIVE);
        let mut ws = server::accept(tcp, o).await.unwrap();
        let big = vec![0xA5u8; SIZE];
        let _ = tx.send(ws.send_binary(&big).await.map_err(|e| e.to_string()));
        // Keep the socket until the test is done with it.
        let _ = ws.receive().await;
    });
    let (mut tcp, leftover) = common::raw::upgraded_client(addr, Some(RCVBUF)).await;
    let reading = tokio::spawn(async move { read_slowly(&mut tcp, Role::Client, leftover).await });
    let sent = tokio::time::timeout(GUARD, sent)
        .await
        .expect("the send stalled");
    sent.unwrap().expect("the send failed");
    let got = tokio::time::timeout(GUARD, reading).await.unwrap().unwrap();
    assert_eq!(got, SIZE);
}
