//! Guards the receiver's read-ahead (several small messages decoded under
//! one lock): messages that arrive in the same read as a ping, a text
//! message or the peer's close must still come out in order, and the
//! close reply must not overtake the echoes of the messages before it.
#![cfg(feature = "server")]

mod common;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsock::handshake::{Limits, client, generate_key};
use wsock::proto::{Config, Connection, DataKind, Event, Role};
use wsock::server::AcceptOptions;

#[tokio::test]
async fn close_after_buffered_messages_is_answered_after_their_echoes() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let key = generate_key();
    let host = addr.to_string();
    let req = client::Request {
        host: &host,
        resource: "/",
        key: &key,
        ..Default::default()
    };
    let mut head = Vec::new();
    client::write_request(&req, &mut head);
    tcp.write_all(&head).await.unwrap();
    let mut rd = BytesMut::with_capacity(4096);
    loop {
        tcp.read_buf(&mut rd).await.unwrap();
        if let Some((_, n)) = client::parse_response(&rd, &req, &Limits::default()).unwrap() {
            rd.advance(n);
            break;
        }
    }

    // Binary messages, a ping, a text message, more binary messages and
    // the close, all in one write.
    let mut conn = Connection::new(Config::new(Role::Client));
    for i in 0..10u8 {
        conn.encode_data(DataKind::Binary, &[i; 3], true, true)
            .unwrap();
    }
    conn.encode_ping(b"p").unwrap();
    conn.encode_data(DataKind::Text, b"text", true, true)
        .unwrap();
    for i in 10..20u8 {
        conn.encode_data(DataKind::Binary, &[i; 3], true, true)
            .unwrap();
    }
    conn.encode_close(None).unwrap();
    let wire = conn.output().split();
    tcp.write_all(&wire).await.unwrap();

    let mut got = Vec::new();
    let mut closed = false;
    while !closed {
        while let Some(ev) = conn.decode(&mut rd).unwrap() {
            match ev {
                Event::Data { kind, payload, .. } => got.push((kind, payload.to_vec())),
                Event::Close(_) => closed = true,
                Event::Ping(_) | Event::Pong(_) => {}
            }
        }
        if !closed && tcp.read_buf(&mut rd).await.unwrap() == 0 {
            break;
        }
    }
    assert!(closed, "no close reply");
    let mut want: Vec<(DataKind, Vec<u8>)> =
        (0..10u8).map(|i| (DataKind::Binary, vec![i; 3])).collect();
    want.push((DataKind::Text, b"text".to_vec()));
    want.extend((10..20u8).map(|i| (DataKind::Binary, vec![i; 3])));
    assert_eq!(got, want);
}
