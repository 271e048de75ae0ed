//! wsock's sans-IO core and handshake functions driven by a plain
//! read-decode-encode-write loop, so that each read's frames are echoed
//! with one write (and a firehose goes out in writes of about 64 KiB).

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wsock::handshake::{Limits, server};
use wsock::proto::{Config, Connection, DataKind, Event, Role, State};

use crate::firehose;

pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut tcp: S) -> std::io::Result<()> {
    let mut rd = BytesMut::with_capacity(1024);
    let limits = Limits::default();
    let (key, head_len, path) = loop {
        if let Some((req, n)) =
            server::parse_request(&rd, &limits).map_err(std::io::Error::other)?
        {
            let up = server::check_upgrade(&req).map_err(std::io::Error::other)?;
            break (up.key, n, req.path);
        }
        if tcp.read_buf(&mut rd).await? == 0 {
            return Ok(());
        }
    };
    rd.advance(head_len);
    let mut out = Vec::with_capacity(256);
    server::write_accept(&key, None, None, &[], &mut out);
    tcp.write_all(&out).await?;
    tcp.flush().await?;

    let mut config = Config::new(Role::Server);
    config.max_frame_size = 64 << 20;
    config.max_message_size = 64 << 20;
    let mut conn = Connection::new(config);
    if let Some(count) = firehose::parse_path(&path) {
        let mut text = String::with_capacity(128);
        for seq in 0..count {
            firehose::message(seq, &mut text);
            let _ = conn.encode_data(DataKind::Text, text.as_bytes(), true, true);
            if conn.output().len() >= 64 * 1024 || seq + 1 == count {
                tcp.write_all(conn.output()).await?;
                tcp.flush().await?;
                conn.output().clear();
            }
        }
    }
    // Reads grow to 64 KiB only after a read that filled most of the
    // buffer: 10,000 idle connections must not hold 64 KiB each here.
    let mut last_read = 0;
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
            tcp.flush().await?;
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
        let want = if last_read >= 8 * 1024 {
            64 * 1024
        } else {
            4 * 1024
        };
        if rd.capacity() - rd.len() < want / 4 {
            rd.reserve(want);
        }
        last_read = tcp.read_buf(&mut rd).await?;
        if last_read == 0 {
            return Ok(());
        }
    }
}
