//! Sends a text and a binary message to an echo server, prints what comes
//! back, closes with a code and a reason, and prints how the connection
//! closed.
//!
//! ```text
//! cargo run --example echo                      # against an embedded echo server on 127.0.0.1
//! cargo run --example echo -- ws://host:port/   # against any echo server (ws:// or wss://)
//! ```

use std::process::ExitCode;

use wsock::server::{self, AcceptOptions, Listener};
use wsock::{MessageType, MessageWebSocket, MessageWebSocketControl, Received};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e} (WebErrorStatus::{})", e.status());
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run() -> wsock::Result<()> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            let listener = Listener::bind("127.0.0.1:0", AcceptOptions::default()).await?;
            let addr = listener.local_addr();
            tokio::spawn(echo_server(listener));
            println!("embedded echo server listening on {addr}");
            format!("ws://{addr}/echo")
        }
    };

    let mut control = MessageWebSocketControl::default();
    control.message_type = MessageType::Utf8;
    let mut ws = MessageWebSocket::connect(&url, control).await?;
    let info = ws.information();
    println!(
        "connected to {url} (local {}, remote {})",
        show(info.local_address()),
        show(info.remote_address())
    );
    let answer = info.http_response();
    println!("upgrade answered {} {}", answer.status(), answer.reason());
    for (name, value) in answer.headers() {
        println!("  {name}: {value}");
    }

    ws.send_text("Hello, world!").await?;
    print_reply(&mut ws).await?;
    ws.send_binary(&[0xde, 0xad, 0xbe, 0xef]).await?;
    print_reply(&mut ws).await?;

    println!("closing with 1000 \"done\"");
    ws.close(1000, "done").await?;
    let info = ws.information();
    println!(
        "closed cleanly; {} bytes sent, {} bytes received",
        info.bytes_sent(),
        info.bytes_received()
    );
    Ok(())
}

async fn print_reply(ws: &mut MessageWebSocket) -> wsock::Result<()> {
    match ws.receive().await? {
        Received::Message(m) => match m.message_type() {
            MessageType::Utf8 => println!("received text:   {:?}", m.as_text()?),
            MessageType::Binary => println!("received binary: {:02x?}", &m.data()[..]),
        },
        Received::Closed { code, reason } => println!("server closed: {code} {reason:?}"),
    }
    Ok(())
}

fn show(addr: Option<std::net::SocketAddr>) -> String {
    addr.map_or_else(|| "?".into(), |a| a.to_string())
}

/// Echoes every message back until the client closes; the close is answered
/// with the client's own code by the core.
async fn echo_server(listener: Listener) -> wsock::Result<()> {
    listener
        .serve(|incoming| async move {
            let result = match incoming.accept(None).await {
                Ok(ws) => server::echo(ws).await,
                Err(e) => Err(e),
            };
            match result {
                Ok((code, reason)) => println!("server: client closed with {code} {reason:?}"),
                Err(e) => eprintln!("server: {}", e.report()),
            }
        })
        .await
}
