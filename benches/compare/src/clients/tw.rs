//! tokio-websockets: its `ClientBuilder`, Nagle turned off by hand, and
//! over `wss://` a `Connector` over the shared rustls configuration.

use std::sync::OnceLock;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_websockets::{
    ClientBuilder, Connector, Limits, MaybeTlsStream, Message, WebSocketStream,
};

use super::{Target, check};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn connector() -> &'static Connector {
    static C: OnceLock<Connector> = OnceLock::new();
    C.get_or_init(|| Connector::Rustls(tokio_rustls::TlsConnector::from(super::shared_tls())))
}

pub async fn connect(target: &Target) -> Ws {
    let url = target.url();
    let mut builder = ClientBuilder::new()
        .uri(&url)
        .expect("uri")
        .limits(Limits::default().max_payload_len(Some(64 << 20)));
    if target.tls {
        builder = builder.connector(connector());
    }
    let (ws, _) = builder.connect().await.expect("tokio-websockets connect");
    match ws.get_ref() {
        MaybeTlsStream::Plain(tcp) => tcp.set_nodelay(true).expect("nodelay"),
        MaybeTlsStream::Rustls(tls) => tls.get_ref().0.set_nodelay(true).expect("nodelay"),
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

pub async fn firehose(c: &mut Ws, count: usize) {
    for seq in 0..count {
        let m = c.next().await.expect("eof").expect("receive");
        // Text was checked as UTF-8 on receipt; as_text does not check again.
        let text = m.as_text().expect("text message");
        crate::firehose::check(seq, text.as_bytes());
    }
}

pub async fn close(mut c: Ws) {
    // The Sink's close sends the close frame and reads to the end.
    c.close().await.expect("close");
}
