//! tokio-websockets' own server: each message echoed with `send` (a write
//! and a flush per message), limits raised for the 1 MiB messages.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_websockets::{Limits, Message, ServerBuilder};

use crate::firehose;

pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> std::io::Result<()> {
    let (req, mut ws) = ServerBuilder::new()
        .limits(Limits::default().max_payload_len(Some(64 << 20)))
        .accept(s)
        .await
        .map_err(std::io::Error::other)?;
    if let Some(count) = firehose::parse_path(req.uri().path()) {
        let mut text = String::with_capacity(128);
        for seq in 0..count {
            firehose::message(seq, &mut text);
            ws.send(Message::text(text.clone()))
                .await
                .map_err(std::io::Error::other)?;
        }
    }
    while let Some(msg) = ws.next().await {
        let msg = msg.map_err(std::io::Error::other)?;
        if msg.is_binary() || msg.is_text() {
            ws.send(msg).await.map_err(std::io::Error::other)?;
        }
    }
    Ok(())
}
