//! The Windows Runtime's MessageWebSocket sample, in Rust: set the message
//! type to Utf8, register the MessageReceived and Closed handlers, connect,
//! send "Hello, world!", print the echo, close.
//!
//! ```text
//! cargo run --example message_echo                 # against an embedded echo server
//! cargo run --example message_echo -- wss://HOST/  # against any echo server
//! ```

use tokio::sync::oneshot;
use wsock::server::{self, AcceptOptions, Listener};
use wsock::{MessageType, MessageWebSocket, MessageWebSocketControl, MessageWebSocketEvents};

#[tokio::main]
async fn main() -> wsock::Result<()> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => format!("ws://{}/", embedded_echo_server().await?),
    };

    // Control: what WinRT sets on messageWebSocket.Control before connecting.
    let mut control = MessageWebSocketControl::default();
    control.message_type = MessageType::Utf8;

    // The MessageReceived and Closed handlers.
    let (echoed_tx, echoed_rx) = oneshot::channel();
    let mut echoed_tx = Some(echoed_tx);
    let mut events = MessageWebSocketEvents::new();
    events.on_message_received(move |args| {
        match args.read_text() {
            Ok(text) => println!("Message received: {text}"),
            Err(_) => println!("Message received: {} bytes", args.data().len()),
        }
        if let Some(tx) = echoed_tx.take() {
            let _ = tx.send(());
        }
    });
    events.on_closed(|args| {
        println!(
            "WebSocket_Closed; Code: {}, Reason: \"{}\"",
            args.code(),
            args.reason()
        )
    });

    let ws = MessageWebSocket::connect(&url, control).await?;
    println!("Connected to {url}");
    let (mut sender, events_done) = ws.start_events(events);

    println!("Sending message using MessageWebSocket: Hello, world!");
    sender.send(b"Hello, world!").await?;
    let _ = echoed_rx.await;

    sender.close(1000, "Closed due to user request.").await?;
    let _ = events_done.await;
    Ok(())
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
