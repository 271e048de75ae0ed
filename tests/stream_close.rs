//! The stream socket tells how the peer closed: a failure code (1011,
//! 1009...) is an error after the data, carrying the code and reason, never
//! a clean end; 1000 is the end of the stream. Both halves, and the whole
//! socket, report the close status.

mod common;

use common::wire::{self, one_peer, read_until_close};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsock::{Error, StreamWebSocket, StreamWebSocketControl, WebErrorStatus};

/// A peer that sends "hello world" in two messages, then closes with
/// `code` and `reason` and waits for the answer.
async fn closing_peer(code: u16, reason: &'static str) -> String {
    one_peer(move |mut tcp| async move {
        let mut out = wire::frame(0x82, b"hello ");
        out.extend(wire::frame(0x82, b"world"));
        out.extend(wire::close_frame(code, reason));
        tcp.write_all(&out).await.unwrap();
        let _ = read_until_close(&mut tcp).await;
    })
    .await
}

#[tokio::test]
async fn a_peer_close_with_a_failure_code_is_an_error_with_code_and_reason() {
    for (code, reason) in [(1011, "boom"), (1009, "too big")] {
        let url = closing_peer(code, reason).await;
        let ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
            .await
            .unwrap();
        let (wr, mut rd) = ws.split();
        let mut data = Vec::new();
        let err = rd.read_to_end(&mut data).await.unwrap_err();
        assert_eq!(data, b"hello world", "the data before the close");
        let inner = err.get_ref().and_then(|e| e.downcast_ref::<Error>());
        match inner {
            Some(e @ Error::PeerClosed { code: c, reason: r }) => {
                assert_eq!((*c, r.as_str()), (code, reason));
                assert_eq!(e.status(), WebErrorStatus::ConnectionAborted);
            }
            other => panic!("{code}: {other:?} ({err})"),
        }
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionAborted);
        // Reading on reports it again, never a clean end.
        assert!(rd.read(&mut [0u8; 8]).await.is_err());
        let want = Some((code, reason.to_owned()));
        assert_eq!(rd.close_status(), want);
        assert_eq!(wr.close_status(), want);
    }
}

#[tokio::test]
async fn a_normal_peer_close_is_the_end_of_the_stream() {
    let url = closing_peer(1000, "done").await;
    let mut ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
        .await
        .unwrap();
    assert_eq!(ws.close_status(), None);
    let mut data = Vec::new();
    ws.read_to_end(&mut data).await.unwrap();
    assert_eq!(data, b"hello world");
    assert_eq!(ws.close_status(), Some((1000, "done".to_owned())));
}

#[tokio::test]
async fn the_unsplit_socket_reports_a_failure_close_too() {
    let url = closing_peer(1011, "boom").await;
    let mut ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default())
        .await
        .unwrap();
    let mut data = Vec::new();
    assert!(ws.read_to_end(&mut data).await.is_err());
    assert_eq!(ws.close_status(), Some((1011, "boom".to_owned())));
}
