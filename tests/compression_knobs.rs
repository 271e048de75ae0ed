//! permessage-deflate's knobs, seen on the wire: a message marked
//! `without_compression` leaves uncompressed (RSV1 clear, the payload as
//! given) on a connection that agreed to compression, through every send
//! path; whole messages shorter than `compression_threshold` leave
//! uncompressed; everything else is compressed. The peer is a raw server
//! that agrees to permessage-deflate and reads the frames' headers itself.
#![cfg(feature = "deflate")]

mod common;

use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wsock::proto::deflate::DeflateOptions;
use wsock::{Message, MessageWebSocket, MessageWebSocketControl};

/// One frame as it came: RSV1, opcode, FIN and the unmasked payload.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    rsv1: bool,
    opcode: u8,
    fin: bool,
    payload: Vec<u8>,
}

async fn read_exact(tcp: &mut TcpStream, buf: &mut Vec<u8>, n: usize) -> Option<()> {
    while buf.len() < n {
        let mut chunk = [0u8; 4096];
        let got = tcp.read(&mut chunk).await.ok()?;
        if got == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..got]);
    }
    Some(())
}

/// Reads client frames off `tcp` and reports each.
async fn report_frames(mut tcp: TcpStream, tx: mpsc::UnboundedSender<Seen>) {
    let mut buf = Vec::new();
    loop {
        read_exact(&mut tcp, &mut buf, 2).await.unwrap_or_default();
        if buf.len() < 2 {
            return;
        }
        let (b0, b1) = (buf[0], buf[1]);
        let mut at = 2;
        let mut len = u64::from(b1 & 0x7F);
        let ext = match len {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        if read_exact(&mut tcp, &mut buf, at + ext + 4).await.is_none() {
            return;
        }
        if ext > 0 {
            len = buf[at..at + ext]
                .iter()
                .fold(0, |n, b| n << 8 | u64::from(*b));
            at += ext;
        }
        let key = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
        at += 4;
        let end = at + len as usize;
        if read_exact(&mut tcp, &mut buf, end).await.is_none() {
            return;
        }
        let payload = buf[at..end]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        buf.drain(..end);
        let seen = Seen {
            rsv1: b0 & 0x40 != 0,
            opcode: b0 & 0x0F,
            fin: b0 & 0x80 != 0,
            payload,
        };
        if tx.send(seen).is_err() {
            return;
        }
    }
}

/// A client connected, with `deflate`, to a raw server that agrees to
/// permessage-deflate and reports the frames it gets.
async fn connect(deflate: DeflateOptions) -> (MessageWebSocket, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let url = common::wire::one_peer_with_extensions(Some("permessage-deflate"), move |tcp| {
        report_frames(tcp, tx)
    })
    .await;
    let mut c = MessageWebSocketControl::default();
    c.deflate = Some(deflate);
    let ws = MessageWebSocket::connect(&url, c).await.unwrap();
    assert!(ws.information().deflate().is_some(), "deflate agreed");
    (ws, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no frame came")
        .expect("the peer went away")
}

const TEXT: &str = "the same words, the same words, the same words again";

#[tokio::test]
async fn a_message_without_compression_leaves_as_it_is_through_every_send_path() {
    let (mut ws, mut rx) = connect(DeflateOptions::default()).await;

    // The same message, compressed, then not.
    ws.send_message(&Message::text(TEXT)).await.unwrap();
    let f = next(&mut rx).await;
    assert!(f.rsv1 && f.fin && f.opcode == 1, "{f:?}");
    assert_ne!(f.payload, TEXT.as_bytes());
    ws.send_message(&Message::text(TEXT).without_compression())
        .await
        .unwrap();
    let f = next(&mut rx).await;
    assert!(!f.rsv1 && f.fin && f.opcode == 1, "{f:?}");
    assert_eq!(f.payload, TEXT.as_bytes());

    // Through the Sink (whose batch gathers small messages), both kinds
    // in order.
    ws.feed(Message::binary(TEXT.as_bytes().to_vec()))
        .await
        .unwrap();
    ws.feed(Message::binary(TEXT.as_bytes().to_vec()).without_compression())
        .await
        .unwrap();
    ws.feed(Message::binary(TEXT.as_bytes().to_vec()))
        .await
        .unwrap();
    SinkExt::flush(&mut ws).await.unwrap();
    let frames = [
        next(&mut rx).await,
        next(&mut rx).await,
        next(&mut rx).await,
    ];
    assert_eq!(
        frames.iter().map(|f| f.rsv1).collect::<Vec<_>>(),
        [true, false, true],
        "{frames:?}"
    );
    assert_eq!(frames[1].payload, TEXT.as_bytes());

    // Marked off, the send says so; nothing else changes.
    assert!(!Message::text("x").without_compression().may_be_compressed());
    assert!(Message::text("x").may_be_compressed());
}

#[tokio::test]
async fn a_message_sent_in_pieces_is_compressed_as_a_whole() {
    let (mut ws, mut rx) = connect(DeflateOptions::default()).await;
    ws.send_nonfinal_frame(TEXT.as_bytes()).await.unwrap();
    ws.send_final_frame(TEXT.as_bytes()).await.unwrap();
    let (a, b) = (next(&mut rx).await, next(&mut rx).await);
    // RSV1 on the first frame only, deflate data in both.
    assert!(a.rsv1 && !a.fin && !b.rsv1 && b.fin, "{a:?} {b:?}");
    assert_ne!(a.payload, TEXT.as_bytes());
    assert_ne!(b.payload, TEXT.as_bytes());
}

#[tokio::test]
async fn whole_messages_under_the_threshold_leave_uncompressed() {
    let mut options = DeflateOptions::default();
    options.compression_threshold = 64;
    let (mut ws, mut rx) = connect(options).await;
    let short = "short, short, short";
    let long = TEXT.repeat(4);
    ws.send_text(short).await.unwrap();
    ws.send_text(&long).await.unwrap();
    let (a, b) = (next(&mut rx).await, next(&mut rx).await);
    assert!(!a.rsv1, "{a:?}");
    assert_eq!(a.payload, short.as_bytes());
    assert!(b.rsv1, "{b:?}");
    assert!(b.payload.len() < long.len());
    // A message sent in pieces is compressed whatever its size, as its
    // length is not known when it starts.
    ws.send_nonfinal_frame(b"ab").await.unwrap();
    ws.send_final_frame(b"cd").await.unwrap();
    let c = next(&mut rx).await;
    assert!(c.rsv1, "{c:?}");
    let _ = next(&mut rx).await;
}
