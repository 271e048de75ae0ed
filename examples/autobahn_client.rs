//! The Autobahn|Testsuite client driver: reads the case count, runs every
//! case by echoing each message back until the connection ends, then asks
//! the fuzzing server to write its reports.
//!
//! Reads `AUTOBAHN_URL` (default `ws://127.0.0.1:9001`) and `AUTOBAHN_AGENT`
//! (default `wsock`), as `shared/autobahn/run-client.sh` sets them.
//!
//! `AUTOBAHN_DEFLATE=1` offers permessage-deflate (for a run with
//! `--compression`). The offer then says `client_no_context_takeover` only
//! in the cases whose server accepts the extension only with it (13.2, 13.5
//! and 13.6 ask the client to drop its context): elsewhere this side keeps
//! its context, so both ways of compressing are tested. The case's id comes
//! from the fuzzing server's `getCaseInfo`.

use std::time::Duration;

use wsock::{DeflateOptions, MessageWebSocket, MessageWebSocketControl, Received};

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

    let deflate = std::env::var("AUTOBAHN_DEFLATE").is_ok_and(|v| v == "1");
    for case in 1..=count {
        let mut control = control();
        if deflate {
            let mut options = DeflateOptions::default();
            let id = case_id(&base, case).await.unwrap_or_default();
            options.client_no_context_takeover = ["13.2.", "13.5.", "13.6."]
                .iter()
                .any(|group| id.starts_with(group));
            control.deflate = Some(options);
        }
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run_case(&url, control).await {
            eprintln!("case {case}: {}", e.report());
        }
    }

    let url = format!("{base}/updateReports?agent={agent}");
    let mut ws = MessageWebSocket::connect(&url, control()).await?;
    while let Ok(Received::Message(_)) = ws.receive().await {}
    Ok(())
}

/// The id ("13.2.1") of case number `case`.
async fn case_id(base: &str, case: u32) -> wsock::Result<String> {
    let url = format!("{base}/getCaseInfo?case={case}");
    let mut ws = MessageWebSocket::connect(&url, control()).await?;
    let mut id = String::new();
    while let Ok(Received::Message(m)) = ws.receive().await {
        // {"id": "13.2.1", "description": "..."}
        let text = m.as_text()?;
        if let Some(rest) = text.split("\"id\"").nth(1) {
            id = rest.split('"').nth(1).unwrap_or_default().to_owned();
        }
    }
    Ok(id)
}

async fn run_case(url: &str, control: MessageWebSocketControl) -> wsock::Result<()> {
    let mut ws = MessageWebSocket::connect(url, control).await?;
    loop {
        match ws.receive().await? {
            Received::Message(m) => ws.send_message(&m).await?,
            Received::Closed { .. } => return Ok(()),
        }
    }
}
