//! The one echo server every client talks to: wsock's sans-IO core and
//! handshake functions driven by a plain read-decode-encode-write loop, so
//! that each read's frames are echoed with one write. It runs in the parent
//! process on a thread of its own; its CPU time is not counted for anyone.

use std::net::SocketAddr;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsock::handshake::{Limits, server};
use wsock::proto::{Config, Connection, Event, Role, State};

/// Starts the server on 127.0.0.1 and returns its address.
pub fn start() -> SocketAddr {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let _ = echo(tcp).await;
                });
            }
        });
    });
    addr
}

async fn echo(mut tcp: TcpStream) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    let mut rd = BytesMut::with_capacity(1024);
    let limits = Limits::default();
    let (key, head_len) = loop {
        if let Some((req, n)) =
            server::parse_request(&rd, &limits).map_err(std::io::Error::other)?
        {
            let up = server::check_upgrade(&req).map_err(std::io::Error::other)?;
            break (up.key, n);
        }
        if tcp.read_buf(&mut rd).await? == 0 {
            return Ok(());
        }
    };
    rd.advance(head_len);
    let mut out = Vec::with_capacity(256);
    server::write_accept(&key, None, None, &[], &mut out);
    tcp.write_all(&out).await?;

    let mut config = Config::new(Role::Server);
    config.max_frame_size = 64 << 20;
    config.max_message_size = 64 << 20;
    let mut conn = Connection::new(config);
    loop {
        loop {
            match conn.decode(&mut rd) {
                Ok(Some(Event::Data {
                    kind,
                    payload,
                    first,
                    fin,
                    ..
                })) => {
                    let _ = conn.encode_data(kind, &payload, first, fin);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => break,
            }
        }
        if conn.wants_write() {
            tcp.write_all(conn.output()).await?;
            conn.output().clear();
            if conn.output().capacity() > 1 << 20 {
                *conn.output() = BytesMut::new();
            }
        }
        if conn.state() == State::Closed {
            // The server closes TCP first (RFC 6455 7.1.1).
            let _ = tcp.shutdown().await;
            return Ok(());
        }
        if rd.capacity() - rd.len() < 16 * 1024 {
            rd.reserve(64 * 1024);
        }
        if tcp.read_buf(&mut rd).await? == 0 {
            return Ok(());
        }
    }
}
