//! The information object's local address is a fact of the connection:
//! an object kept after every handle to its socket is gone (closed,
//! dropped, split and both halves dropped) answers as it did while the
//! socket lived, in both roles, for both socket types, and through a
//! proxy (the tunnel's local address).
#![cfg(feature = "server")]

mod common;

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt, copy_bidirectional};
use tokio::net::{TcpListener, TcpStream};
use wsock::server::{self, AcceptOptions};
use wsock::{
    MessageWebSocket, MessageWebSocketControl, ProxyConfig, StreamWebSocket, StreamWebSocketControl,
};

/// Message sockets: the client closes, then drops its socket; the server
/// splits its socket and drops both halves. Each kept information object
/// then reports the address the other end saw.
#[tokio::test]
async fn message_local_address_outlives_the_socket_in_both_roles() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, peer) = listener.accept().await.unwrap();
        let ws = server::accept(tcp, AcceptOptions::default()).await.unwrap();
        let kept = ws.information().clone();
        let (tx, mut rx) = ws.split();
        // Until the client's close.
        while rx.receive().await.is_ok() {}
        drop((tx, rx));
        (kept, peer)
    });
    let mut ws =
        MessageWebSocket::connect(&format!("ws://{addr}/"), MessageWebSocketControl::default())
            .await
            .unwrap();
    let kept = ws.information().clone();
    ws.close(1000, "").await.unwrap();
    drop(ws);
    let (server_info, peer) = server.await.unwrap();
    assert_eq!(kept.local_address(), Some(peer));
    assert_eq!(kept.remote_address(), Some(addr));
    assert_eq!(server_info.local_address(), Some(addr));
    assert_eq!(server_info.remote_address(), Some(peer));
}

/// Stream sockets, both split, both halves of each dropped without a
/// close.
#[tokio::test]
async fn stream_local_address_outlives_both_halves_in_both_roles() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, peer) = listener.accept().await.unwrap();
        let incoming = server::read_request(tcp, AcceptOptions::default())
            .await
            .unwrap();
        let ws = incoming.accept_stream(None).await.unwrap();
        let kept = ws.information().clone();
        let (wr, mut rd) = ws.split();
        // Until the client goes.
        let mut sink = Vec::new();
        let _ = rd.read_to_end(&mut sink).await;
        drop((rd, wr));
        (kept, peer)
    });
    let ws = StreamWebSocket::connect(&format!("ws://{addr}/"), StreamWebSocketControl::default())
        .await
        .unwrap();
    let kept = ws.information().clone();
    let (wr, rd) = ws.split();
    drop((rd, wr));
    let (server_info, peer) = server.await.unwrap();
    assert_eq!(kept.local_address(), Some(peer));
    assert_eq!(kept.remote_address(), Some(addr));
    assert_eq!(server_info.local_address(), Some(addr));
    assert_eq!(server_info.remote_address(), Some(peer));
}

/// A CONNECT proxy that tunnels one connection to wherever it is asked
/// and reports the address the client connected from.
async fn one_shot_proxy() -> (SocketAddr, tokio::task::JoinHandle<SocketAddr>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut client, from) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            assert_eq!(client.read(&mut byte).await.unwrap(), 1, "client went away");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let target = head
            .strip_prefix("CONNECT ")
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("not a CONNECT: {head:?}"))
            .to_owned();
        let mut server = TcpStream::connect(&target).await.unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = copy_bidirectional(&mut client, &mut server).await;
        });
        from
    });
    (addr, task)
}

/// Through a proxy the local address is the tunnel's: the one the proxy
/// saw the connection come from, not the server's view.
#[tokio::test]
async fn proxied_local_address_is_the_tunnels_and_outlives_the_socket() {
    let server = common::echo_server(AcceptOptions::default()).await;
    let (proxy, seen) = one_shot_proxy().await;
    let mut control = MessageWebSocketControl::default();
    control.proxy = Some(ProxyConfig::new(&format!("http://{proxy}")).unwrap());
    let mut ws = MessageWebSocket::connect(&format!("ws://{server}/"), control)
        .await
        .unwrap();
    let kept = ws.information().clone();
    ws.close(1000, "").await.unwrap();
    drop(ws);
    let from = seen.await.unwrap();
    assert_eq!(kept.local_address(), Some(from));
    assert_eq!(kept.remote_address(), Some(proxy));
}
