//! An echo server with a web page, in the manner of ASP.NET Core's WebSocket
//! sample: `GET /` serves a page with a URL field, Connect, Send and Close
//! Socket buttons, the connection state and a communication log; `/ws`
//! echoes every message until the client closes, and the close is answered
//! with the client's own code (the core does that for any close).
//!
//! Both are served over HTTP/1.1 and over HTTP/2 (with the `http2` feature,
//! on by default): with `--cert`/`--key` a browser that picks `h2` by ALPN
//! loads the page over HTTP/2 and opens the socket as an extended CONNECT
//! on the same connection (RFC 8441); without TLS, an HTTP/2 client with
//! prior knowledge (h2c) gets the same. Each socket's HTTP version goes to
//! standard error (`SOCKET ... over HTTP/2`).
//!
//! ```text
//! cargo run --example echo_server -- 127.0.0.1:8080
//! cargo run --example echo_server -- 127.0.0.1:8443 --cert cert.pem --key key.pem   # wss:// and https://
//! ```
//!
//! The first line printed is `LISTENING <port>` (port 0 picks a free one),
//! for scripts; connection errors go to standard error.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use wsock::Received;
use wsock::server::{AcceptOptions, Incoming, Listener};

const PAGE: &str = include_str!("echo_server/page.html");

const USAGE: &str = "usage: echo_server [ADDRESS:PORT] [--cert CERT.pem --key KEY.pem]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8080".to_owned();
    let (mut cert, mut key) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cert" => cert = Some(args.next().ok_or(USAGE)?),
            "--key" => key = Some(args.next().ok_or(USAGE)?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other if other.starts_with('-') => return Err(USAGE.into()),
            other => addr = other.to_owned(),
        }
    }
    let options = AcceptOptions::default();
    let (listener, scheme) = match (cert, key) {
        (Some(cert), Some(key)) => {
            let tls = tls_config(&cert, &key)?;
            (Listener::bind_tls(&*addr, options, tls).await?, "https")
        }
        (None, None) => (Listener::bind(&*addr, options).await?, "http"),
        _ => return Err("--cert and --key go together".into()),
    };
    let local = listener.local_addr();
    println!("LISTENING {}", local.port());
    println!("open {scheme}://{local}/ in a browser");
    listener.on_error(|peer, e| match peer {
        Some(peer) => eprintln!("{peer}: {}", e.report()),
        None => eprintln!("accept: {}", e.report()),
    });
    listener.serve(serve).await?;
    Ok(())
}

/// One request: the page, the echo socket, or 404.
async fn serve(incoming: Incoming) {
    let peer = incoming.peer_addr();
    let result = match incoming.path() {
        "/ws" if incoming.is_upgrade() => echo(incoming).await,
        // Not a WebSocket upgrade (or from an origin not allowed): 400, 403
        // or 426, whichever says what is wrong.
        "/ws" => incoming.refuse().await,
        "/" | "/index.html" => {
            let headers = [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Cache-Control", "no-store"),
            ];
            incoming.respond_with(200, &headers, PAGE.as_bytes()).await
        }
        _ => incoming.respond(404, "text/plain", b"not found\n").await,
    };
    if let Err(e) = result {
        eprintln!(
            "{}: {}",
            peer.map_or("?".into(), |p| p.to_string()),
            e.report()
        );
    }
}

/// Echoes messages (text as text, binary as binary) until the client
/// closes; its close was answered with its own code by then.
async fn echo(incoming: Incoming) -> wsock::Result<()> {
    let peer = incoming.peer_addr().map_or("?".into(), |p| p.to_string());
    let mut ws = incoming.accept(None).await?;
    eprintln!("SOCKET {peer} over {}", ws.information().http_version());
    loop {
        match ws.receive().await {
            Ok(Received::Message(m)) => ws.send_message(&m).await?,
            Ok(Received::Closed { .. }) => return Ok(()),
            // A receive timeout (were one set) ends only the wait.
            Err(e) if e.is_socket_usable() => continue,
            Err(e) => return Err(e),
        }
    }
}

fn tls_config(
    cert: &str,
    key: &str,
) -> Result<Arc<rustls::ServerConfig>, Box<dyn std::error::Error>> {
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}
