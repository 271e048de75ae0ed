//! The Autobahn|Testsuite client driver: reads the case count, runs every
//! case by echoing each message back until the connection ends, then asks
//! the fuzzing server to write its reports.
//!
//! Reads `AUTOBAHN_URL` (default `ws://127.0.0.1:9001`) and `AUTOBAHN_AGENT`
//! (default `wsock`), as `shared/autobahn/run-client.sh` sets them.

use std::time::Duration;

use wsock::{MessageWebSocket, MessageWebSocketControl, Received};

fn control() -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    // Some cases send 16 MiB messages slowly, or nothing for a while.
    c.max_message_size = 64 << 20;
    c.max_frame_size = 64 << 20;
    c.receive_timeout = Some(Duration::from_secs(60));
    c.close_timeout = Some(Duration::from_secs(5));
    c
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> wsock::Result<()> {
    let base = std::env::var("AUTOBAHN_URL").unwrap_or_else(|_| "ws://127.0.0.1:9001".into());
    let agent = std::env::var("AUTOBAHN_AGENT").unwrap_or_else(|_| "wsock".into());

    let mut ws = MessageWebSocket::connect(&format!("{base}/getCaseCount"), control()).await?;
    let count: u32 = match ws.receive().await? {
        Received::Message(m) => m.as_text()?.trim().parse().unwrap_or(0),
        Received::Closed { .. } => 0,
    };
    drop(ws);
    eprintln!("autobahn: {count} cases");

    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run_case(&url).await {
            eprintln!("case {case}: {e}");
        }
    }

    let url = format!("{base}/updateReports?agent={agent}");
    let mut ws = MessageWebSocket::connect(&url, control()).await?;
    while let Ok(Received::Message(_)) = ws.receive().await {}
    Ok(())
}

async fn run_case(url: &str) -> wsock::Result<()> {
    let mut ws = MessageWebSocket::connect(url, control()).await?;
    loop {
        match ws.receive().await? {
            Received::Message(m) => ws.send_message(&m).await?,
            Received::Closed { .. } => return Ok(()),
        }
    }
}
