//! fastwebsockets: its own client handshake needs hyper, so the upgrade is
//! written by hand over a raw stream (plain, or tokio-rustls over the
//! shared configuration), with the accept key checked; streaming goes
//! through a `BufWriter`, since it writes every frame straight to its
//! stream.

use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket, WebSocketError};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::{Target, check};

pub type Ws = WebSocket<Stream>;

/// A TCP stream, or TLS over one, with the bytes read past the 101
/// response (a firehose may follow it in the same read) served first.
pub struct Stream {
    early: Bytes,
    io: Io,
}

pub enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.early.is_empty() {
            let n = this.early.len().min(buf.remaining());
            buf.put_slice(&this.early.split_to(n));
            return Poll::Ready(Ok(()));
        }
        match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, b),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, b),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

fn connector() -> &'static tokio_rustls::TlsConnector {
    static C: OnceLock<tokio_rustls::TlsConnector> = OnceLock::new();
    C.get_or_init(|| tokio_rustls::TlsConnector::from(super::shared_tls()))
}

pub async fn connect(target: &Target) -> Ws {
    let addr = target.addr;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let mut s = if target.tls {
        let name = ServerName::from(addr.ip());
        Io::Tls(Box::new(
            connector().connect(name, tcp).await.expect("tls connect"),
        ))
    } else {
        Io::Plain(tcp)
    };
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).expect("random");
    let key = base64::engine::general_purpose::STANDARD.encode(nonce);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        target.path
    );
    s.write_all(request.as_bytes()).await.expect("write");
    s.flush().await.expect("flush");
    let mut buf = Vec::with_capacity(512);
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut resp = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(n) = resp.parse(&buf).expect("http") {
            assert_eq!(resp.code, Some(101));
            let accept = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-accept"))
                .expect("accept header");
            let mut sha = sha1_smol::Sha1::new();
            sha.update(key.as_bytes());
            sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
            let want = base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes());
            assert_eq!(accept.value, want.as_bytes());
            let early = Bytes::copy_from_slice(&buf[n..]);
            return WebSocket::after_handshake(Stream { early, io: s }, Role::Client);
        }
        if s.read_buf(&mut buf).await.expect("read") == 0 {
            panic!("eof in handshake");
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, b),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, b),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub async fn stream(c: Ws, count: usize, data: Bytes) {
    let s = c.into_inner();
    assert!(s.early.is_empty(), "echoes before anything was sent");
    match s.io {
        Io::Plain(tcp) => {
            let (r, w) = tcp.into_split();
            stream_halves(r, w, count, data).await
        }
        Io::Tls(tls) => {
            let (r, w) = tokio::io::split(*tls);
            stream_halves(r, w, count, data).await
        }
    }
}

async fn stream_halves<R, W>(r: R, w: W, count: usize, data: Bytes)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin,
{
    let size = data.len();
    let (mut rx, mut tx) = fastwebsockets::after_handshake_split(
        r,
        tokio::io::BufWriter::with_capacity(64 * 1024, w),
        Role::Client,
    );
    let reader = tokio::spawn(async move {
        let mut obliged = |_: Frame<'_>| async { Ok::<(), WebSocketError>(()) };
        for _ in 0..count {
            let f = rx.read_frame(&mut obliged).await.expect("receive");
            assert_eq!(f.opcode, OpCode::Binary);
            check(f.payload.len(), size);
        }
    });
    for _ in 0..count {
        tx.write_frame(Frame::binary(Payload::Borrowed(&data)))
            .await
            .expect("write");
    }
    tx.flush().await.expect("flush");
    reader.await.expect("reader");
}

pub async fn round_trips(c: &mut Ws, count: usize, data: &[u8]) {
    for _ in 0..count {
        c.write_frame(Frame::binary(Payload::Borrowed(data)))
            .await
            .expect("write");
        let f = c.read_frame().await.expect("receive");
        assert_eq!(f.opcode, OpCode::Binary);
        check(f.payload.len(), data.len());
    }
}

pub async fn firehose(c: &mut Ws, count: usize) {
    for seq in 0..count {
        // A whole text frame is checked as UTF-8 by read_frame.
        let f = c.read_frame().await.expect("receive");
        assert_eq!(f.opcode, OpCode::Text);
        assert!(f.fin);
        crate::firehose::check(seq, &f.payload);
    }
}

pub async fn close(mut c: Ws) {
    c.write_frame(Frame::close(1000, b"")).await.expect("close");
    loop {
        let f = c.read_frame().await.expect("receive");
        if f.opcode == OpCode::Close {
            break;
        }
    }
    let mut s = c.into_inner();
    let mut rest = [0u8; 64];
    while s.read(&mut rest).await.unwrap_or(0) > 0 {}
}
