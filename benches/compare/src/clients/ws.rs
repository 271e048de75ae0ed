//! wsock: `MessageWebSocket` with its Sink for streaming; over `wss://` the
//! run's CA as its only trusted root, given through the certificate
//! options on every connect as a user would.

use std::sync::OnceLock;

use bytes::Bytes;
use futures_util::SinkExt;
use rustls::pki_types::CertificateDer;
use wsock::{Message, MessageType, MessageWebSocket, MessageWebSocketControl, Received};

use super::{Target, check};

fn ca() -> CertificateDer<'static> {
    static CA: OnceLock<CertificateDer<'static>> = OnceLock::new();
    CA.get_or_init(|| crate::tls::ca_from_env().expect("the parent sets the CA"))
        .clone()
}

pub async fn connect(target: &Target) -> MessageWebSocket {
    let mut control = MessageWebSocketControl::default();
    control.max_message_size = 64 << 20;
    if target.tls {
        control.trusted_root_certificates = vec![ca()];
        control.use_default_roots = false;
    }
    MessageWebSocket::connect(&target.url(), control)
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

pub async fn firehose(c: &mut MessageWebSocket, count: usize) {
    for seq in 0..count {
        match c.receive().await.expect("receive") {
            // A whole text message was checked as UTF-8 by the core.
            Received::Message(m) if m.message_type() == MessageType::Utf8 => {
                crate::firehose::check(seq, m.data())
            }
            other => panic!("{other:?}"),
        }
    }
}

pub async fn close(mut c: MessageWebSocket) {
    c.close(1000, "").await.expect("close");
}
