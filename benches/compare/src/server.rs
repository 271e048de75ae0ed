//! The echo servers every client talks to, in the parent process, each on
//! a thread of its own (their CPU time is counted for no one):
//!
//! - `core`: wsock's sans-IO core and handshake functions driven by a plain
//!   read-decode-encode-write loop, so each read's frames are echoed with
//!   one write;
//! - `tws`: tokio-websockets' server, echoing each message with a `send`
//!   of its own (one write per message), as production servers do.
//!
//! Both serve `ws://` and, on a second port, `wss://` (tokio-rustls with
//! ring, the run's own certificate). A request for `/firehose/N` gets N
//! text messages pushed before the echo starts.

mod core;
mod tws;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Core,
    Tws,
}

impl Server {
    pub const ALL: [Server; 2] = [Server::Core, Server::Tws];

    pub fn name(self) -> &'static str {
        match self {
            Server::Core => "core",
            Server::Tws => "tws",
        }
    }

    pub fn from_name(s: &str) -> Option<Server> {
        Server::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// A server listening until dropped.
pub struct Running {
    pub addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts `server` on 127.0.0.1 (over TLS with `tls`), on a port of its
/// own. The parent starts one per client process: a server port that took
/// thousands of connections holds as many in TIME_WAIT (the server closes
/// first), and new connections to it then cost the client's kernel several
/// times more, now and then, which would land on whichever library came
/// next. Dropping the handle stops accepting; open connections end with
/// the thread.
pub fn start(server: Server, tls: Option<Arc<rustls::ServerConfig>>) -> Running {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = &mut stopped => return,
                };
                let Ok((tcp, _)) = accepted else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = serve(server, tcp, acceptor).await;
                });
            }
        });
    });
    Running { addr, _stop: stop }
}

async fn serve(
    server: Server,
    tcp: TcpStream,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    match acceptor {
        None => run(server, tcp).await,
        Some(a) => run(server, a.accept(tcp).await?).await,
    }
}

async fn run<S: AsyncRead + AsyncWrite + Unpin>(server: Server, s: S) -> std::io::Result<()> {
    match server {
        Server::Core => core::echo(s).await,
        Server::Tws => tws::echo(s).await,
    }
}
