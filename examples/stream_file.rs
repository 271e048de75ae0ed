//! Sends a file (or a generated payload) through a StreamWebSocket to an
//! echo server with `tokio::io::copy`, reads it back, compares checksums,
//! and shows a progress bar and the transfer rate.
//!
//! ```text
//! cargo run --release --example stream_file                     # 64 MiB generated, embedded echo server
//! cargo run --release --example stream_file -- 256M             # a size (K, M, G suffixes)
//! cargo run --release --example stream_file -- ./video.mp4      # a file
//! cargo run --release --example stream_file -- 64M ws://HOST/   # against another echo server
//! ```

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use wsock::server::{self, AcceptOptions, Listener};
use wsock::{StreamWebSocket, StreamWebSocketControl};

/// FNV-1a, 64-bit: a checksum with no dependency.
#[derive(Clone, Copy)]
struct Checksum(u64);

impl Checksum {
    fn new() -> Self {
        Checksum(0xcbf2_9ce4_8422_2325)
    }
    fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A source that counts and checksums what passes through it.
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
    sum: Checksum,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        let fresh = &buf.filled()[before..];
        let n = fresh.len() as u64;
        let mut sum = self.sum;
        sum.update(fresh);
        self.sum = sum;
        self.count.fetch_add(n, Ordering::Relaxed);
        res
    }
}

/// A generated payload of `len` bytes.
struct Generated {
    left: u64,
    next: u8,
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.left) as usize;
        let mut next = self.next;
        for b in buf.initialize_unfilled_to(n).iter_mut() {
            *b = next;
            next = next.wrapping_mul(31).wrapping_add(7);
        }
        buf.advance(n);
        self.next = next;
        self.left -= n as u64;
        Poll::Ready(Ok(()))
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let mult = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return None,
    };
    Some(n * mult)
}

fn progress(label: &str, done: u64, total: u64, started: Instant) {
    let width = 40;
    let frac = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let filled = (frac * width as f64) as usize;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let rate = done as f64 / secs / (1 << 20) as f64;
    print!(
        "\r{label} [{}{}] {:>5.1}% {:>8.1} MiB {:>8.1} MiB/s",
        "#".repeat(filled),
        " ".repeat(width - filled),
        frac * 100.0,
        done as f64 / (1 << 20) as f64,
        rate
    );
    let _ = std::io::stdout().flush();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "64M".into());
    let url = match args.next() {
        Some(url) => url,
        None => format!("ws://{}/", embedded_echo_server().await?),
    };

    let (source, total): (Box<dyn AsyncRead + Unpin + Send>, u64) = match parse_size(&what) {
        Some(len) => (Box::new(Generated { left: len, next: 1 }), len),
        None => {
            let file = tokio::fs::File::open(&what).await?;
            let len = file.metadata().await?.len();
            (Box::new(file), len)
        }
    };

    let ws = StreamWebSocket::connect(&url, StreamWebSocketControl::default()).await?;
    println!("connected to {url}; sending {total} bytes");
    let info = ws.information().clone();
    let (mut wr, mut rd) = ws.split();

    let sent = Arc::new(AtomicU64::new(0));
    let mut counted = Counted {
        inner: source,
        count: sent.clone(),
        sum: Checksum::new(),
    };
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        tokio::io::copy(&mut counted, &mut wr).await?;
        wr.flush().await?;
        Ok::<_, std::io::Error>((counted.sum, wr))
    });

    let mut received = 0u64;
    let mut back = Checksum::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut last_draw = Instant::now();
    while received < total {
        let n = rd.read(&mut buf).await?;
        if n == 0 {
            return Err(
                format!("the server ended the stream after {received} of {total} bytes").into(),
            );
        }
        back.update(&buf[..n]);
        received += n as u64;
        if last_draw.elapsed() > Duration::from_millis(100) || received == total {
            progress("echoed", received, total, started);
            last_draw = Instant::now();
        }
    }
    let elapsed = started.elapsed();
    let (sent_sum, mut wr) = writer.await??;
    println!();
    wr.close(1000, "done").await?;

    let rate = (total as f64 * 2.0) / elapsed.as_secs_f64().max(1e-9) / (1 << 20) as f64;
    println!(
        "{} bytes out and back in {:.2?} ({rate:.1} MiB/s both ways together)",
        sent.load(Ordering::Relaxed),
        elapsed
    );
    let rtt = info.round_trip_time_statistics();
    if rtt.count > 0 {
        println!(
            "round trip: min {} us, max {} us over {} samples",
            rtt.min, rtt.max, rtt.count
        );
    }
    if sent_sum.0 == back.0 {
        println!("checksums match: {:016x}", back.0);
        Ok(())
    } else {
        Err(format!(
            "checksum mismatch: sent {:016x}, got back {:016x}",
            sent_sum.0, back.0
        )
        .into())
    }
}

async fn embedded_echo_server() -> wsock::Result<std::net::SocketAddr> {
    let listener = Listener::bind("127.0.0.1:0", AcceptOptions::default()).await?;
    let addr = listener.local_addr();
    tokio::spawn(listener.serve(|incoming| async move {
        if let Ok(ws) = incoming.accept(None).await {
            let _ = server::echo(ws).await;
        }
    }));
    Ok(addr)
}
