//! An echo server with a web page, like ASP.NET Core's WebSocket sample:
//! `GET /` serves a page with a URL field, Connect, Send and Close Socket
//! buttons and a communication log; `/ws` echoes every message until the
//! client closes, and the close is answered with the client's own code.
//!
//! ```text
//! cargo run --example echo_server -- 127.0.0.1:8080
//! cargo run --example echo_server -- 127.0.0.1:8443 --cert cert.pem --key key.pem   # wss:// and https://
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use wsock::Received;
use wsock::server::{self, AcceptOptions};

const PAGE: &str = include_str!("echo_server/page.html");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut addr: SocketAddr = "127.0.0.1:8080".parse()?;
    let (mut cert, mut key) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cert" => cert = args.next(),
            "--key" => key = args.next(),
            other => addr = other.parse()?,
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(tls_acceptor(&cert, &key)?),
        (None, None) => None,
        _ => return Err("--cert and --key go together".into()),
    };
    let listener = TcpListener::bind(addr).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("LISTENING {}", listener.local_addr()?.port());
    println!("open {scheme}://{}/ in a browser", listener.local_addr()?);

    loop {
        let (tcp, peer) = listener.accept().await?;
        let tls = tls.clone();
        tokio::spawn(async move {
            let result = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => serve(stream).await,
                    Err(e) => Err(e.into()),
                },
                None => serve(tcp).await,
            };
            if let Err(e) = result {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn serve<S>(stream: S) -> wsock::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let incoming = server::read_request(stream, AcceptOptions::default()).await?;
    match incoming.path() {
        "/ws" if incoming.is_upgrade() => {
            let mut ws = incoming.accept(None).await?;
            loop {
                match ws.receive().await? {
                    Received::Message(m) => ws.send_message(&m).await?,
                    Received::Closed { .. } => return Ok(()),
                }
            }
        }
        "/ws" => incoming.accept(None).await.map(drop),
        "/" | "/index.html" => {
            incoming
                .respond(200, "text/html; charset=utf-8", PAGE.as_bytes())
                .await
        }
        _ => incoming.respond(404, "text/plain", b"not found\n").await,
    }
}

fn tls_acceptor(
    cert: &str,
    key: &str,
) -> Result<tokio_rustls::TlsAcceptor, Box<dyn std::error::Error>> {
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
