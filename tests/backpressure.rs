//! A peer that floods pings and never reads must not grow our memory: each
//! ping once queued a pong in an output that could not drain (about 1 GiB
//! in 3 s), in both roles. Now at most one pong waits, and reading pauses
//! while the output is over the outbound buffer size. The peer floods for
//! 2.5 s while this process's resident memory is sampled; then it stops,
//! reads, and the connection still works.
#![cfg(feature = "server")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use wsock::proto::{CloseFrame, Config, Connection, DataKind, Event, Role};
use wsock::server::{self, AcceptOptions};
use wsock::{MessageWebSocket, MessageWebSocketControl};

/// One flood at a time: each test measures the whole process.
static SERIAL: Mutex<()> = Mutex::const_new(());

const FLOOD: Duration = Duration::from_millis(2500);
/// Growth allowed, in KiB (the flood without the bound grows hundreds of
/// MiB in this time).
const LIMIT_KIB: usize = 64 * 1024;
/// Only against a hang.
const GUARD: Duration = Duration::from_secs(60);

/// This process's resident memory, in KiB.
fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Floods `tcp` with pings encoded as `peer` would (masked for a client)
/// and never reads, for [`FLOOD`] or until the memory of this process grew
/// past the limit; returns the growth seen, in KiB.
async fn flood(tcp: &mut TcpStream, peer: &mut Connection) -> usize {
    for _ in 0..512 {
        peer.encode_ping(&[0x55; 125]).unwrap();
    }
    let chunk = peer.output().split().freeze();
    let base = rss_kib();
    let peak = Arc::new(AtomicUsize::new(base));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let (peak, stop) = (peak.clone(), stop.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                let now = rss_kib();
                peak.fetch_max(now, Ordering::Relaxed);
                if now > base + LIMIT_KIB {
                    // Enough to fail: spare the machine the rest.
                    stop.store(true, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    let start = Instant::now();
    while start.elapsed() < FLOOD && !stop.load(Ordering::Relaxed) {
        tcp.write_all(&chunk).await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    peak.load(Ordering::Relaxed) - base
}

/// After the flood: the peer sends a text message, reads (every pong
/// that piled up, then the echo), and closes.
async fn talk(tcp: &mut TcpStream, peer: &mut Connection, mut buf: BytesMut) {
    peer.encode_data(DataKind::Text, b"after the flood", true, true)
        .unwrap();
    let out = peer.output().split();
    tcp.write_all(&out).await.unwrap();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut closing = false;
    loop {
        match peer.decode(&mut buf).unwrap() {
            Some(Event::Data { payload, .. }) => {
                assert_eq!(payload, Bytes::from_static(b"after the flood"));
                let frame = CloseFrame {
                    code: 1000,
                    reason: String::new(),
                };
                peer.encode_close(Some(&frame)).unwrap();
                let out = peer.output().split();
                tcp.write_all(&out).await.unwrap();
                closing = true;
            }
            Some(Event::Close(frame)) => {
                assert!(closing, "closed by our side: {frame:?}");
                assert_eq!(frame.map(|f| f.code), Some(1000));
                return;
            }
            Some(Event::Pong(_)) => {}
            Some(ev) => panic!("unexpected {ev:?}"),
            None => {
                let n = tcp.read(&mut chunk).await.unwrap();
                assert!(n > 0, "our side went away");
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

/// The flood, the memory check and the talk after it.
async fn flood_then_talk(mut tcp: TcpStream, leftover: BytesMut, peer_role: Role) {
    let mut peer = Connection::new(Config::new(peer_role));
    let growth = flood(&mut tcp, &mut peer).await;
    eprintln!("memory growth during the flood: {} KiB", growth);
    assert!(
        growth < LIMIT_KIB,
        "memory grew by {} MiB while the peer flooded pings",
        growth / 1024
    );
    tokio::time::timeout(GUARD, talk(&mut tcp, &mut peer, leftover))
        .await
        .expect("the connection hung after the flood");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_that_never_reads_leaves_server_memory_bounded() {
    let _serial = SERIAL.lock().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ours = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut o = AcceptOptions::default();
        o.keep_alive_interval = None;
        let ws = server::accept(tcp, o).await.unwrap();
        server::echo(ws).await
    });
    let (tcp, leftover) = common::raw::upgraded_client(addr, None).await;
    flood_then_talk(tcp, leftover, Role::Client).await;
    let closed = tokio::time::timeout(GUARD, ours).await.unwrap().unwrap();
    assert_eq!(closed.unwrap().0, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_that_never_reads_leaves_client_memory_bounded() {
    let _serial = SERIAL.lock().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let addr = common::raw::upgraded_then(move |tcp| {
        let _ = tx.send(tcp);
        async {}
    })
    .await;
    let mut c = MessageWebSocketControl::default();
    c.receive_timeout = None;
    let ws = MessageWebSocket::connect(&format!("ws://{addr}/"), c)
        .await
        .unwrap();
    let ours = tokio::spawn(server::echo(ws));
    let tcp = rx.recv().await.unwrap();
    flood_then_talk(tcp, BytesMut::new(), Role::Server).await;
    let closed = tokio::time::timeout(GUARD, ours).await.unwrap().unwrap();
    assert_eq!(closed.unwrap().0, 1000);
}

/// Large messages streamed to a peer that echoes each one before it reads
/// the next: while our output is full the peer is blocked writing its echo
/// to us, so a receiver that stopped reading until the output drained
/// would never let either side move. Both directions must keep going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_to_an_echo_that_writes_before_it_reads_never_deadlocks() {
    const MESSAGES: usize = 64;
    let addr = common::echo_server(AcceptOptions::default()).await;
    let ws = MessageWebSocket::connect(&format!("ws://{addr}/"), Default::default())
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let big = vec![7u8; 1 << 20];
    let run = async {
        let reader = tokio::spawn(async move {
            for _ in 0..MESSAGES {
                match rx.receive().await.unwrap() {
                    wsock::Received::Message(m) => assert_eq!(m.data().len(), 1 << 20),
                    other => panic!("{other:?}"),
                }
            }
            rx
        });
        for _ in 0..MESSAGES {
            tx.send_binary(&big).await.unwrap();
        }
        let rx = reader.await.unwrap();
        (tx, rx)
    };
    let (mut tx, _rx) = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("both directions stalled");
    tx.close(1000, "").await.unwrap();
}
