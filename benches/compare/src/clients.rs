//! The workloads, written once per library in that library's own idiom:
//! its connect function, its batched send where it has one (the futures
//! `Sink`'s `feed` then `flush`; a `BufWriter` under fastwebsockets, which
//! writes each frame straight to its stream), and its close handshake run
//! to the end of the TCP stream.
//!
//! Every function panics on an error: a benchmark that failed must not
//! print a figure.

use std::any::Any;
use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

fn payload(size: usize) -> Bytes {
    Bytes::from((0..size).map(|i| (i * 7 + 3) as u8).collect::<Vec<u8>>())
}

/// Opens one connection (used by the workloads that time only the traffic).
pub async fn open(lib: Lib, addr: SocketAddr) -> Conn {
    match lib {
        Lib::Wsock => Conn::Wsock(ws::connect(addr).await),
        Lib::Tungstenite => Conn::Tungstenite(tt::connect(addr).await),
        Lib::TokioWebsockets => Conn::TokioWebsockets(tw::connect(addr).await),
        Lib::Fastwebsockets => Conn::Fastwebsockets(fw::connect(addr).await),
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

mod ws {
    use super::*;
    use wsock::{Message, MessageWebSocket, MessageWebSocketControl, Received};

    pub async fn connect(addr: SocketAddr) -> MessageWebSocket {
        let url = format!("ws://{addr}/");
        let mut control = MessageWebSocketControl::default();
        control.max_message_size = 64 << 20;
        MessageWebSocket::connect(&url, control)
            .await
            .expect("wsock connect")
    }

    pub async fn stream(c: MessageWebSocket, count: usize, data: Bytes) {
        let size = data.len();
        let (mut tx, mut rx) = c.split();
        let reader = tokio::spawn(async move {
            for _ in 0..count {
                match rx.receive().await.expect("receive") {
                    Received::Message(m) => check(m.data().len(), size),
                    other => panic!("{other:?}"),
                }
            }
            rx
        });
        for _ in 0..count {
            tx.feed(Message::binary(data.clone())).await.expect("feed");
        }
        tx.flush().await.expect("flush");
        let _rx = reader.await.expect("reader");
    }

    pub async fn round_trips(c: &mut MessageWebSocket, count: usize, data: &[u8]) {
        for _ in 0..count {
            c.send_binary(data).await.expect("send");
            match c.receive().await.expect("receive") {
                Received::Message(m) => check(m.data().len(), data.len()),
                other => panic!("{other:?}"),
            }
        }
    }

    pub async fn close(mut c: MessageWebSocket) {
        c.close(1000, "").await.expect("close");
    }
}

pub mod tt {
    use super::*;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

    pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

    pub async fn connect(addr: SocketAddr) -> Ws {
        let url = format!("ws://{addr}/");
        tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .expect("tungstenite connect")
            .0
    }

    pub async fn stream(c: Ws, count: usize, data: Bytes) {
        let size = data.len();
        let (mut tx, mut rx) = c.split();
        let reader = tokio::spawn(async move {
            for _ in 0..count {
                match rx.next().await.expect("eof").expect("receive") {
                    Message::Binary(b) => check(b.len(), size),
                    other => panic!("{other:?}"),
                }
            }
            rx
        });
        for _ in 0..count {
            tx.feed(Message::Binary(data.clone())).await.expect("feed");
        }
        tx.flush().await.expect("flush");
        let _rx = reader.await.expect("reader");
    }

    pub async fn round_trips(c: &mut Ws, count: usize, data: &Bytes) {
        for _ in 0..count {
            c.send(Message::Binary(data.clone())).await.expect("send");
            match c.next().await.expect("eof").expect("receive") {
                Message::Binary(b) => check(b.len(), data.len()),
                other => panic!("{other:?}"),
            }
        }
    }

    pub async fn close(mut c: Ws) {
        c.close(None).await.expect("close");
        while let Some(Ok(_)) = c.next().await {}
    }
}

pub mod tw {
    use super::*;
    use tokio_websockets::{ClientBuilder, MaybeTlsStream, Message, WebSocketStream};

    pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

    pub async fn connect(addr: SocketAddr) -> Ws {
        let url = format!("ws://{addr}/");
        let (ws, _) = ClientBuilder::new()
            .uri(&url)
            .expect("uri")
            .connect()
            .await
            .expect("tokio-websockets connect");
        #[allow(irrefutable_let_patterns)]
        if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
            tcp.set_nodelay(true).expect("nodelay");
        }
        ws
    }

    pub async fn stream(c: Ws, count: usize, data: Bytes) {
        let size = data.len();
        let (mut tx, mut rx) = c.split();
        let reader = tokio::spawn(async move {
            for _ in 0..count {
                let m = rx.next().await.expect("eof").expect("receive");
                check(m.as_payload().len(), size);
            }
            rx
        });
        for _ in 0..count {
            tx.feed(Message::binary(data.clone())).await.expect("feed");
        }
        tx.flush().await.expect("flush");
        let _rx = reader.await.expect("reader");
    }

    pub async fn round_trips(c: &mut Ws, count: usize, data: &Bytes) {
        for _ in 0..count {
            c.send(Message::binary(data.clone())).await.expect("send");
            let m = c.next().await.expect("eof").expect("receive");
            check(m.as_payload().len(), data.len());
        }
    }

    pub async fn close(mut c: Ws) {
        // The Sink's close sends the close frame and reads to the end.
        c.close().await.expect("close");
    }
}

pub mod fw {
    use super::*;
    use base64::Engine as _;
    use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket, WebSocketError};

    pub type Ws = WebSocket<TcpStream>;

    /// fastwebsockets' own client handshake needs hyper; this is the
    /// upgrade done by hand over a raw stream, with the accept key checked.
    pub async fn connect(addr: SocketAddr) -> Ws {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).expect("random");
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await.expect("write");
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
                assert_eq!(n, buf.len(), "the server spoke first");
                break;
            }
            if tcp.read_buf(&mut buf).await.expect("read") == 0 {
                panic!("eof in handshake");
            }
        }
        WebSocket::after_handshake(tcp, Role::Client)
    }

    pub async fn stream(c: Ws, count: usize, data: Bytes) {
        let size = data.len();
        let tcp = c.into_inner();
        let (r, w) = tcp.into_split();
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

    pub async fn close(mut c: Ws) {
        c.write_frame(Frame::close(1000, b"")).await.expect("close");
        loop {
            let f = c.read_frame().await.expect("receive");
            if f.opcode == OpCode::Close {
                break;
            }
        }
        let mut tcp = c.into_inner();
        let mut rest = [0u8; 64];
        while tcp.read(&mut rest).await.unwrap_or(0) > 0 {}
    }
}
