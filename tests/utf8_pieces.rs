//! Text sent in pieces is checked for UTF-8 as it goes: a piece may end
//! inside a character, but invalid UTF-8 is refused before it leaves, and
//! the socket stays usable.
#![cfg(feature = "server")]

mod common;

use wsock::server::AcceptOptions;
use wsock::{MessageType, MessageWebSocket, MessageWebSocketControl, Received};

async fn next_text(ws: &mut MessageWebSocket) -> String {
    match ws.receive().await.unwrap() {
        Received::Message(m) => m.as_text().unwrap().to_owned(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn invalid_utf8_in_pieces_is_refused_before_it_is_sent() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut control = MessageWebSocketControl::default();
    control.message_type = MessageType::Utf8;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), control)
        .await
        .unwrap();

    // An invalid first piece: refused, no message opened.
    let err = ws.send_nonfinal_frame(b"ok \xFF").await.unwrap_err();
    assert!(err.is_invalid_argument(), "{err}");
    ws.send_text("still open").await.unwrap();
    assert_eq!(next_text(&mut ws).await, "still open");

    // A valid start, then an invalid piece: refused, the message goes on.
    ws.send_nonfinal_frame(b"a\xE2\x82").await.unwrap();
    let err = ws.send_nonfinal_frame(b"\xFF").await.unwrap_err();
    assert!(err.is_invalid_argument(), "{err}");
    // A last piece may not end inside a character either.
    let err = ws.send_final_frame(b"").await.unwrap_err();
    assert!(err.is_invalid_argument(), "{err}");
    ws.send_final_frame(b"\xAC!").await.unwrap();
    assert_eq!(next_text(&mut ws).await, "a€!");

    // A whole message given as bytes is checked too.
    let err = ws.send_final_frame(b"\xC0\xAF").await.unwrap_err();
    assert!(err.is_invalid_argument(), "{err}");

    // And the message writer.
    {
        use tokio::io::AsyncWriteExt;
        let mut w = ws.message_writer();
        w.write_all(b"bad \xFF").await.unwrap();
        let err = w.shutdown().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    }
    ws.send_text("usable").await.unwrap();
    assert_eq!(next_text(&mut ws).await, "usable");
    ws.close(1000, "").await.unwrap();
}
