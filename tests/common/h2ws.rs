//! The harness of the HTTP/2 server tests (tests/http2_server*.rs): our
//! listener with an echo handler, and a WebSocket client over the `h2`
//! crate's client whose frames are written and read here, not by wsock's
//! core.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use h2::SendStream;
use h2::client::SendRequest;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wsock::HttpVersion;
use wsock::server::{AcceptOptions, Incoming, Listener};

use super::h2frames::FrameReader;
use super::tls::Ca;

/// Echo on /ws (each socket also says which HTTP version it runs over on
/// `versions`: 1 or 2 when its information says the same as the request,
/// 0 when not), a page on /, 404 elsewhere.
pub(crate) async fn handle(incoming: Incoming, versions: mpsc::UnboundedSender<u8>) {
    match incoming.path() {
        "/ws" if incoming.is_upgrade() => {
            let version = incoming.http_version();
            if let Ok(ws) = incoming.accept(None).await {
                let _ = versions.send(match (version, ws.information().http_version()) {
                    (HttpVersion::Http2, HttpVersion::Http2) => 2,
                    (HttpVersion::Http11, HttpVersion::Http11) => 1,
                    // The information and the request disagree.
                    _ => 0,
                });
                super::echo(ws).await;
            }
        }
        "/ws" => drop(incoming.refuse().await),
        "/" => drop(incoming.respond(200, "text/html", b"<p>hi</p>").await),
        _ => drop(incoming.respond(404, "text/plain", b"not here\n").await),
    }
}

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) versions: mpsc::UnboundedReceiver<u8>,
    pub(crate) errors: mpsc::UnboundedReceiver<String>,
}

pub(crate) async fn serve(listener: Listener) -> Server {
    let addr = listener.local_addr();
    let (etx, errors) = mpsc::unbounded_channel();
    listener.on_error(move |_, e| drop(etx.send(e.report().to_string())));
    let (vtx, versions) = mpsc::unbounded_channel();
    tokio::spawn(listener.serve(move |incoming| handle(incoming, vtx.clone())));
    Server {
        addr,
        versions,
        errors,
    }
}

pub(crate) async fn plain_server(options: AcceptOptions) -> Server {
    serve(Listener::bind("127.0.0.1:0", options).await.unwrap()).await
}

pub(crate) fn server_tls(ca: &Ca) -> Arc<rustls::ServerConfig> {
    let (leaf, key) = ca.leaf(&["localhost"], false);
    let config = rustls::ServerConfig::builder_with_provider(super::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)
        .unwrap();
    Arc::new(config)
}

pub(crate) async fn tls_server(ca: &Ca, options: AcceptOptions) -> Server {
    let listener = Listener::bind_tls("127.0.0.1:0", options, server_tls(ca));
    serve(listener.await.unwrap()).await
}

/// A TLS client connection offering `alpn`; returns it with what ALPN chose.
pub(crate) async fn tls_client(
    ca: &Ca,
    addr: SocketAddr,
    alpn: &[&[u8]],
) -> (tokio_rustls::client::TlsStream<TcpStream>, Option<Vec<u8>>) {
    let mut config = (*ca.client_config()).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let chosen = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    (tls, chosen)
}

/// An HTTP/2 client over `io`, its connection driven by a task of its own
/// (whose result the handle gives); returns once the server's SETTINGS are
/// in (a PING answered after them), and checks they allow extended CONNECT.
pub(crate) async fn h2_client<T>(
    io: T,
) -> (
    SendRequest<Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, mut conn) = h2::client::handshake(io).await.unwrap();
    let mut ping = conn.ping_pong().unwrap();
    let task = tokio::spawn(conn);
    ping.ping(h2::Ping::opaque()).await.unwrap();
    assert!(
        send.is_extended_connect_protocol_enabled(),
        "the server must announce SETTINGS_ENABLE_CONNECT_PROTOCOL"
    );
    (send, task)
}

/// An extended CONNECT for a WebSocket on `path` with `headers`; the
/// answer's status and headers, and the stream halves.
pub(crate) async fn connect(
    send: &mut SendRequest<Bytes>,
    path: &str,
    headers: &[(&str, &str)],
) -> (http::response::Parts, WsStream) {
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("https://localhost{path}"))
        .extension(h2::ext::Protocol::from_static("websocket"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(()).unwrap();
    let mut send = send.clone().ready().await.unwrap();
    let (response, stream) = send.send_request(request, false).unwrap();
    let (parts, recv) = response.await.unwrap().into_parts();
    let ws = WsStream {
        send: stream,
        frames: FrameReader::new(recv),
    };
    (parts, ws)
}

pub(crate) const V13: (&str, &str) = ("sec-websocket-version", "13");

/// A WebSocket over one HTTP/2 stream, framed here by hand: masked client
/// frames out, server frames in.
pub(crate) struct WsStream {
    pub(crate) send: SendStream<Bytes>,
    frames: FrameReader,
}

impl WsStream {
    /// Sends one final frame with opcode `op`, masked with a key of our
    /// own (so a server that did not unmask would echo garbage).
    pub(crate) fn send_frame(&mut self, op: u8, payload: &[u8]) {
        let mut out = vec![0x80 | op];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.send.send_data(Bytes::from(out), false).unwrap();
    }

    /// The next server frame: its first byte and payload; `None` at the
    /// end of the stream.
    pub(crate) async fn read_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        self.frames.read_frame(false).await
    }

    /// Sends a text message and checks the echo.
    pub(crate) async fn echo_text(&mut self, text: &str) {
        self.send_frame(0x1, text.as_bytes());
        let (b0, payload) = self.read_frame().await.expect("an echo");
        assert_eq!(b0, 0x81);
        assert_eq!(payload, text.as_bytes());
    }

    /// Closes with 1000 and reads the answering close, then the end of the
    /// stream.
    pub(crate) async fn close(mut self) {
        self.send_frame(0x8, &1000u16.to_be_bytes());
        let (b0, payload) = self.read_frame().await.expect("a close");
        assert_eq!(b0, 0x88);
        assert_eq!(&payload[..2], &1000u16.to_be_bytes());
        let _ = self.send.send_data(Bytes::new(), true);
        assert!(
            self.read_frame().await.is_none(),
            "the stream ends after the close"
        );
    }
}
