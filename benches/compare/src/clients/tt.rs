//! tokio-tungstenite: its `connect_async_tls_with_config` with Nagle off,
//! and over `wss://` the shared rustls configuration.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::{Target, check};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(target: &Target) -> Ws {
    let connector = target.tls.then(|| Connector::Rustls(super::shared_tls()));
    tokio_tungstenite::connect_async_tls_with_config(target.url(), None, true, connector)
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

pub async fn firehose(c: &mut Ws, count: usize) {
    for seq in 0..count {
        match c.next().await.expect("eof").expect("receive") {
            Message::Text(t) => crate::firehose::check(seq, t.as_bytes()),
            other => panic!("{other:?}"),
        }
    }
}

pub async fn close(mut c: Ws) {
    c.close(None).await.expect("close");
    while let Some(Ok(_)) = c.next().await {}
}
