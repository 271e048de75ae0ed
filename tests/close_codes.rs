//! Close codes an application may send: every code an endpoint may put on
//! the wire (1000-1003, 1007-1014, 3000-4999), in both roles and from both
//! socket types, and a clear refusal for the rest (1004, 1005, 1006, 1015
//! and the unassigned ranges). A restarting server says "going away".
#![cfg(feature = "server")]

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wsock::server::{self, AcceptOptions};
use wsock::{MessageWebSocket, Received, StreamWebSocket, StreamWebSocketControl, close_status};

const SENDABLE: [u16; 15] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999,
];

/// A server-role peer that reports the code of each client's close.
async fn recording_server() -> (SocketAddr, mpsc::UnboundedReceiver<(u16, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut ws = server::accept(tcp, AcceptOptions::default()).await.unwrap();
                loop {
                    match ws.receive().await {
                        Ok(Received::Message(_)) => {}
                        Ok(Received::Closed { code, reason }) => {
                            let _ = tx.send((code, reason));
                            break;
                        }
                        Err(e) => panic!("server: {}", e.report()),
                    }
                }
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn a_client_may_send_every_code_an_endpoint_may_send() {
    let (addr, mut seen) = recording_server().await;
    for code in SENDABLE {
        let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), Default::default())
            .await
            .unwrap();
        ws.close(code, "why").await.unwrap();
        assert_eq!(seen.recv().await.unwrap(), (code, "why".into()));

        let mut ws =
            StreamWebSocket::connect(&format!("ws://{addr}/"), StreamWebSocketControl::default())
                .await
                .unwrap();
        ws.close(code, "stream").await.unwrap();
        assert_eq!(seen.recv().await.unwrap(), (code, "stream".into()));
    }
}

#[tokio::test]
async fn a_restarting_server_can_say_going_away() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for code in [
            close_status::ENDPOINT_UNAVAILABLE,
            close_status::INTERNAL_SERVER_ERROR,
            close_status::MESSAGE_TOO_BIG,
            close_status::SERVICE_RESTART,
        ] {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = server::accept(tcp, AcceptOptions::default()).await.unwrap();
            ws.close(code, "restarting").await.unwrap();
        }
    });
    for code in [1001, 1011, 1009, 1012] {
        let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), Default::default())
            .await
            .unwrap();
        match ws.receive().await.unwrap() {
            Received::Closed { code: got, reason } => {
                assert_eq!((got, reason.as_str()), (code, "restarting"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn codes_that_cannot_be_sent_are_refused_saying_why() {
    let (addr, _seen) = recording_server().await;
    let mut ws = MessageWebSocket::connect(&format!("ws://{addr}/"), Default::default())
        .await
        .unwrap();
    for (code, why) in [
        (1004, "reserved"),
        (1005, "never go on the wire"),
        (1006, "never go on the wire"),
        (1015, "never go on the wire"),
        (0, "below 1000"),
        (999, "below 1000"),
        (1016, "not assigned"),
        (2999, "not assigned"),
        (5000, "above 4999"),
    ] {
        let e = ws.close(code, "").await.unwrap_err();
        assert!(e.is_invalid_argument(), "{code}: {e:?}");
        assert!(e.to_string().contains(why), "{code}: {e}");
    }
    // The socket is still open and closes normally.
    ws.close(close_status::NORMAL_CLOSURE, "").await.unwrap();
}
