//! A message received in pieces (PartialMessage mode) and sent back with
//! `send_message` or the Sink leaves as the same one message, not as one
//! message per piece.
#![cfg(feature = "server")]

mod common;

use futures_util::SinkExt;
use tokio::net::TcpListener;
use wsock::server::{self, AcceptOptions};
use wsock::{
    MessageType, MessageWebSocket, MessageWebSocketControl, MessageWebSocketReceiveMode, Received,
};

/// A server in PartialMessage mode that echoes each piece as it comes,
/// with `send_message` or (`sink`) the Sink.
async fn partial_echo_server(sink: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut options = AcceptOptions::default();
        options.receive_mode = MessageWebSocketReceiveMode::PartialMessage;
        let mut ws = server::accept(tcp, options).await.unwrap();
        while let Ok(Received::Message(piece)) = ws.receive().await {
            if sink {
                SinkExt::send(&mut ws, piece).await.unwrap();
            } else {
                ws.send_message(&piece).await.unwrap();
            }
        }
    });
    format!("ws://{addr}/")
}

async fn pieces_come_back_as_one_message(sink: bool) {
    let url = partial_echo_server(sink).await;
    let mut control = MessageWebSocketControl::default();
    control.message_type = MessageType::Utf8;
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    // "Hello, €uro": the euro sign cut across two pieces.
    ws.send_nonfinal_frame(b"Hello, \xE2").await.unwrap();
    ws.send_nonfinal_frame(b"\x82\xACu").await.unwrap();
    ws.send_final_frame(b"ro").await.unwrap();
    ws.send_text("next").await.unwrap();
    for want in ["Hello, €uro", "next"] {
        match ws.receive().await.unwrap() {
            Received::Message(m) => {
                assert_eq!(m.message_type(), MessageType::Utf8);
                assert_eq!(m.as_text().unwrap(), want);
            }
            other => panic!("{other:?}"),
        }
    }
    ws.close(1000, "").await.unwrap();
}

#[tokio::test]
async fn a_partial_echo_with_send_message_sends_back_one_message() {
    pieces_come_back_as_one_message(false).await;
}

#[tokio::test]
async fn a_partial_echo_with_the_sink_sends_back_one_message() {
    pieces_come_back_as_one_message(true).await;
}
