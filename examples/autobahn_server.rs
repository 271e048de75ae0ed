//! The server under test for the Autobahn|Testsuite fuzzing client
//! (`tests/autobahn/server.sh`): echoes every message back, text as text
//! and binary as binary, until the client closes.
//!
//! ```text
//! cargo run --release --example autobahn_server -- 127.0.0.1:0 [--deflate]
//! ```
//!
//! `--deflate` (given by `tests/autobahn/server.sh --compression`) agrees
//! to permessage-deflate offers.
//!
//! Prints `LISTENING <port>` first. Limits are permissive (some cases send
//! 16 MiB messages in one frame) and there are no keep-alive pings, which
//! would only add frames the cases do not expect.

use std::time::Duration;

use wsock::Received;
use wsock::server::{AcceptOptions, Incoming, Listener};

fn options(deflate: bool) -> AcceptOptions {
    let mut o = AcceptOptions::default();
    if deflate {
        o.deflate = Some(Default::default());
    }
    o.max_message_size = 64 << 20;
    o.max_frame_size = 64 << 20;
    o.keep_alive_interval = None;
    o.receive_buffer_size = 64 * 1024;
    o.close_timeout = Some(Duration::from_secs(5));
    o
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = "127.0.0.1:9002".to_owned();
    let mut deflate = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--deflate" => deflate = true,
            other => addr = other.to_owned(),
        }
    }
    let listener = Listener::bind(&*addr, options(deflate)).await?;
    println!("LISTENING {}", listener.local_addr().port());
    listener.on_error(|peer, e| eprintln!("{peer:?}: {}", e.report()));
    listener.serve(echo).await?;
    Ok(())
}

async fn echo(incoming: Incoming) {
    if !incoming.is_upgrade() {
        let _ = incoming.refuse().await;
        return;
    }
    let Ok(mut ws) = incoming.accept(None).await else {
        return;
    };
    loop {
        match ws.receive().await {
            Ok(Received::Message(m)) => {
                if ws.send_message(&m).await.is_err() {
                    return;
                }
            }
            // A receive timeout (were one set) ends only the wait.
            Err(e) if e.is_socket_usable() => continue,
            Ok(Received::Closed { .. }) | Err(_) => return,
        }
    }
}
