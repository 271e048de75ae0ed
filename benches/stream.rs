//! Round trips on the stream socket, with the message socket's beside them:
//! `cargo bench --bench stream [-- --repeat N] [--round-trips N] [--instructions]`.
//!
//! wsock's echo server listens for `ws://` on loopback on a thread of its
//! own; the client runs on the main thread in a current-thread runtime,
//! and its CPU time is that thread's (`/proc/thread-self/schedstat`), so the
//! server's work is not counted. Each round trip is 16 bytes: for
//! `StreamWebSocket` a `write_all`, a `flush` (one binary message) and a
//! `read_exact` of the echo; for `MessageWebSocket` a `send_binary` and a
//! `receive`. Both run under the default 30 s receive timeout, so every
//! read that waits runs the timeout's timer. The two sockets take turns
//! within each repeat; each row is the median and minimum over the repeats.
//!
//! `--instructions` instead runs the bench under `valgrind
//! --tool=callgrind --separate-threads=yes`, once with the round trips and
//! once with none (connect and close alone), and prints the client
//! thread's instructions per round trip: the difference of the two totals
//! divided by the count, a figure that does not move with the machine's
//! load.

#[path = "support/loopback.rs"]
mod loopback;

use std::process::Command;

use loopback::{Sample, measured, median_min, spawn_echo_server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsock::server::{AcceptOptions, Listener};
use wsock::{
    MessageWebSocket, MessageWebSocketControl, Received, StreamWebSocket, StreamWebSocketControl,
};

async fn stream_round_trips(url: &str, round_trips: usize) -> Sample {
    let mut ws = StreamWebSocket::connect(url, StreamWebSocketControl::default())
        .await
        .unwrap();
    let mut echo = [0u8; 16];
    let sample = measured(round_trips, async {
        for _ in 0..round_trips {
            ws.write_all(&[7u8; 16]).await.unwrap();
            ws.flush().await.unwrap();
            ws.read_exact(&mut echo).await.unwrap();
        }
    })
    .await;
    ws.close(1000, "").await.unwrap();
    sample
}

async fn message_round_trips(url: &str, round_trips: usize) -> Sample {
    let mut ws = MessageWebSocket::connect(url, MessageWebSocketControl::default())
        .await
        .unwrap();
    let sample = measured(round_trips, async {
        for _ in 0..round_trips {
            ws.send_binary(&[7u8; 16][..]).await.unwrap();
            match ws.receive().await.unwrap() {
                Received::Message(m) => assert_eq!(m.data().len(), 16),
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
    ws.close(1000, "").await.unwrap();
    sample
}

/// The value after `flag`, if given.
fn arg(args: &[String], flag: &str) -> Option<usize> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1)?.parse().ok()
}

/// Instructions of this bench's client thread under callgrind, for one
/// socket (`--only stream` or `--only message`) and `round_trips`.
fn client_instructions(socket: &str, round_trips: usize) -> u64 {
    let dir = std::env::temp_dir().join(format!("wsock-stream-bench.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--separate-threads=yes"])
        .arg(format!("--callgrind-out-file={}/cg.out", dir.display()))
        .arg(std::env::current_exe().unwrap())
        .args(["--repeat", "1", "--only", socket, "--round-trips"])
        .arg(round_trips.to_string())
        .output()
        .expect("valgrind (is it installed?)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The main thread's file is the one numbered 01.
    let main = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with("-01"))
        .expect("callgrind's file for the main thread")
        .path();
    let text = std::fs::read_to_string(&main).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("callgrind Ir total")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeat = arg(&args, "--repeat").unwrap_or(7);
    let round_trips = arg(&args, "--round-trips").unwrap_or(20_000);
    if args.iter().any(|a| a == "--instructions") {
        let n = arg(&args, "--round-trips").unwrap_or(2_000);
        println!(
            "client instructions per 16 B round trip (callgrind Ir, {n} round trips less none)"
        );
        for socket in ["stream", "message"] {
            let full = client_instructions(socket, n);
            let base = client_instructions(socket, 0);
            let per = (full as f64 - base as f64) / n as f64;
            println!("  {socket:<8} {per:>8.0}");
        }
        return;
    }
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|at| args.get(at + 1).cloned());
    let port = spawn_echo_server(|| async {
        Listener::bind("127.0.0.1:0", AcceptOptions::default())
            .await
            .unwrap()
    });
    let url = format!("ws://127.0.0.1:{port}/");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut stream = Vec::new();
    let mut message = Vec::new();
    rt.block_on(async {
        for _ in 0..repeat {
            if only.as_deref() != Some("message") {
                stream.push(stream_round_trips(&url, round_trips).await);
            }
            if only.as_deref() != Some("stream") {
                message.push(message_round_trips(&url, round_trips).await);
            }
        }
    });
    if round_trips == 0 {
        return;
    }
    println!(
        "{:<44} {:>20} {:>20}",
        "16 B round trips, median (min) over repeats", "client CPU us", "wall us"
    );
    for (name, samples) in [("StreamWebSocket", &stream), ("MessageWebSocket", &message)] {
        if samples.is_empty() {
            continue;
        }
        let (cpu, cpu_min) = median_min(samples, |s| s.cpu_us);
        let (wall, wall_min) = median_min(samples, |s| s.wall_us);
        println!(
            "{name:<44} {:>20} {:>20}",
            format!("{cpu:.2} ({cpu_min:.2})"),
            format!("{wall:.2} ({wall_min:.2})")
        );
    }
}
