//! A feed client that survives its server going away: an embedded feed
//! server (wsock's server role) sends a tick every 100 ms to each
//! subscriber; it is stopped after a few ticks and started again on the
//! same port 1.5 s later. The client, a `ReconnectingMessageWebSocket`,
//! subscribes again in its on-connect hook, prints every state change and
//! tick, and closes after five ticks of the second connection.
//!
//! ```text
//! cargo run --example reconnect
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use wsock::reconnect::{ConnectionState, Delays};
use wsock::server::{self, AcceptOptions};
use wsock::{MessageWebSocketControl, Received, ReconnectPolicy, ReconnectingMessageWebSocket};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {} (WebErrorStatus::{})", e.report(), e.status());
            ExitCode::FAILURE
        }
    }
}

async fn run() -> wsock::Result<()> {
    let (server, addr) = feed_server("127.0.0.1:0".parse().unwrap()).await?;
    println!("feed server on {addr}");

    let mut control = MessageWebSocketControl::default();
    // A feed may be quiet for a while; a dead server shows as the end of
    // TCP here (with keep-alive pings for the silent kind).
    control.receive_timeout = None;
    let mut policy = ReconnectPolicy::default();
    policy.delays = Delays::Exponential {
        initial: Duration::from_millis(200),
        factor: 2.0,
        maximum: Duration::from_secs(1),
    };
    let mut ws = ReconnectingMessageWebSocket::new(&format!("ws://{addr}/feed"), control, policy)
        .on_connect(|mut ws| async move {
            ws.send_text("subscribe ticks").await?;
            Ok(ws)
        });

    let mut states = ws.states();
    let printer = tokio::spawn(async move {
        while let Some(state) = states.next().await {
            match state {
                ConnectionState::Reconnecting {
                    attempt,
                    last_error,
                    next_delay,
                } => println!(
                    "state: reconnecting, attempt {attempt} in {next_delay:.2?} ({})",
                    last_error.report()
                ),
                other => println!("state: {other:?}"),
            }
        }
    });

    // The server's outage, while the client reads.
    let outage = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(450)).await;
        println!("server: stopping");
        stop(server).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        println!("server: starting again on {addr}");
        feed_server(addr).await
    });

    let mut ticks_since_reconnect = 0;
    while ticks_since_reconnect < 5 {
        match ws.receive().await? {
            Received::Message(m) => {
                println!("client: {}", m.as_text()?);
                if ws.information().reconnects > 0 {
                    ticks_since_reconnect += 1;
                }
            }
            Received::Closed { code, reason } => {
                println!("client: closed for good with {code} {reason:?}");
                break;
            }
        }
    }
    println!("client: {} reconnect(s)", ws.information().reconnects);
    ws.close(1000, "enough").await?;
    printer.await.expect("printer");
    let (server, _) = outage.await.expect("outage")?;
    stop(server).await;
    Ok(())
}

/// Sends `tick N` every 100 ms to each connection that subscribed, until
/// it closes.
/// Aborting the returned task stops it, connections included (the
/// JoinSet aborts them when dropped; each closes with 1001).
async fn feed_server(addr: SocketAddr) -> wsock::Result<(JoinHandle<()>, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        while let Ok((tcp, _)) = listener.accept().await {
            connections.spawn(async move {
                let Ok(mut ws) = server::accept(tcp, AcceptOptions::default()).await else {
                    return;
                };
                if !matches!(ws.receive().await, Ok(Received::Message(_))) {
                    return;
                }
                // Reading on while sending, so the client's close is
                // answered.
                let (mut tx, mut rx) = ws.split();
                let mut ticker = tokio::time::interval(Duration::from_millis(100));
                let mut n = 0;
                loop {
                    tokio::select! {
                        _ = ticker.tick() => {
                            n += 1;
                            if tx.send_text(&format!("tick {n}")).await.is_err() {
                                return;
                            }
                        }
                        got = rx.receive() => {
                            if !matches!(got, Ok(Received::Message(_))) {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    Ok((task, addr))
}

async fn stop(server: JoinHandle<()>) {
    server.abort();
    let _ = server.await;
}
