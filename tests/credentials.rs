//! HTTP Basic authentication of the upgrade against a small hand-made
//! server on loopback: it answers 401 with `WWW-Authenticate` (keeping the
//! connection, closing it, or closing it without saying so) until the right
//! `Authorization` arrives, then hands the request to wsock's server role.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod certs;

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsock::handshake::Limits;
use wsock::handshake::server::{parse_request, write_response};
use wsock::server::{self, AcceptOptions};
use wsock::{Credential, MessageWebSocket, MessageWebSocketControl, WebErrorStatus};

use certs::{Ca, echo, round_trip};

/// `Basic` of user:secret.
const GOOD: &str = "Basic dXNlcjpzZWNyZXQ=";

#[derive(Debug, Clone, Copy, PartialEq)]
enum After401 {
    /// HTTP/1.1 with a Content-Length: the connection stays usable.
    Keep,
    /// `Connection: close`, then close.
    Close,
    /// Looks reusable, but the server closes right away.
    SilentClose,
}

#[derive(Debug, Clone, Copy)]
struct Behaviour {
    after_401: After401,
    challenge: &'static str,
}

/// (connection number, the request's Authorization header).
type Log = Arc<Mutex<Vec<(usize, Option<String>)>>>;

async fn auth_server(behaviour: Behaviour) -> (SocketAddr, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Log::default();
    let record = log.clone();
    tokio::spawn(async move {
        for conn in 0.. {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(serve(tcp, conn, behaviour, record.clone()));
        }
    });
    (addr, log)
}

async fn serve(mut tcp: TcpStream, conn: usize, behaviour: Behaviour, log: Log) {
    let limits = Limits::default();
    let mut buf = BytesMut::new();
    loop {
        let (request, head_len) = loop {
            if let Some(parsed) = parse_request(&buf, &limits).unwrap() {
                break parsed;
            }
            if tcp.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        };
        let authorization = request.header("authorization").map(str::to_owned);
        log.lock().unwrap().push((conn, authorization.clone()));
        if authorization.as_deref() == Some(GOOD) {
            // Give the request (and anything after it) to the server role.
            let (rd, wr) = tokio::io::split(tcp);
            let replay = tokio::io::join(AsyncReadExt::chain(Cursor::new(buf.to_vec()), rd), wr);
            if let Ok(ws) = server::accept(replay, AcceptOptions::default()).await {
                echo(ws).await;
            }
            return;
        }
        let body = b"who are you?";
        let challenge = (
            "WWW-Authenticate".to_owned(),
            behaviour.challenge.to_owned(),
        );
        let mut out = Vec::new();
        match behaviour.after_401 {
            After401::Close => write_response(401, "Unauthorized", &[challenge], body, &mut out),
            After401::Keep | After401::SilentClose => {
                out.extend_from_slice(
                    format!(
                        "HTTP/1.1 401 Unauthorized\r\n{}: {}\r\nContent-Length: {}\r\n\r\n",
                        challenge.0,
                        challenge.1,
                        body.len()
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(body);
            }
        }
        if tcp.write_all(&out).await.is_err() {
            return;
        }
        if behaviour.after_401 != After401::Keep {
            let _ = tcp.shutdown().await;
            return;
        }
        buf.advance(head_len);
    }
}

const BASIC: Behaviour = Behaviour {
    after_401: After401::Keep,
    challenge: "Basic realm=\"wsock\", charset=\"UTF-8\"",
};

fn with_credential(user: &str, password: &str) -> MessageWebSocketControl {
    let mut control = MessageWebSocketControl::default();
    control.server_credential = Some(Credential::new(user, password));
    control.allow_unencrypted_credentials = true;
    control
}

fn url(addr: SocketAddr) -> String {
    format!("ws://127.0.0.1:{}/private", addr.port())
}

#[tokio::test]
async fn retries_on_the_same_connection_after_401() {
    let (addr, log) = auth_server(BASIC).await;
    let mut ws = MessageWebSocket::connect(&url(addr), with_credential("user", "secret"))
        .await
        .unwrap();
    round_trip(&mut ws).await;
    assert_eq!(*log.lock().unwrap(), [(0, None), (0, Some(GOOD.into()))]);
}

#[tokio::test]
async fn retries_on_a_new_connection_when_the_server_closes() {
    for after_401 in [After401::Close, After401::SilentClose] {
        let (addr, log) = auth_server(Behaviour { after_401, ..BASIC }).await;
        let mut ws = MessageWebSocket::connect(&url(addr), with_credential("user", "secret"))
            .await
            .unwrap_or_else(|e| panic!("{after_401:?}: {e:?}"));
        round_trip(&mut ws).await;
        assert_eq!(
            *log.lock().unwrap(),
            [(0, None), (1, Some(GOOD.into()))],
            "{after_401:?}"
        );
    }
}

#[tokio::test]
async fn credential_from_the_url() {
    let (addr, log) = auth_server(BASIC).await;
    let mut control = MessageWebSocketControl::default();
    control.allow_unencrypted_credentials = true;
    let url = format!("ws://user:secret@127.0.0.1:{}/", addr.port());
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
    assert_eq!(log.lock().unwrap().len(), 2);

    // The control's credential wins over the URL's.
    let (addr, log) = auth_server(BASIC).await;
    let url = format!("ws://user:wrong@127.0.0.1:{}/", addr.port());
    let mut ws = MessageWebSocket::connect(&url, with_credential("user", "secret"))
        .await
        .unwrap();
    round_trip(&mut ws).await;
    assert_eq!(log.lock().unwrap()[1], (0, Some(GOOD.into())));
}

#[tokio::test]
async fn pre_authenticate_sends_it_at_once() {
    let (addr, log) = auth_server(BASIC).await;
    let mut control = with_credential("user", "secret");
    control.pre_authenticate = true;
    let mut ws = MessageWebSocket::connect(&url(addr), control)
        .await
        .unwrap();
    round_trip(&mut ws).await;
    assert_eq!(*log.lock().unwrap(), [(0, Some(GOOD.into()))]);
}

#[tokio::test]
async fn no_credential_is_unauthorized() {
    let (addr, log) = auth_server(BASIC).await;
    let err = MessageWebSocket::connect(&url(addr), MessageWebSocketControl::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::Unauthorized, "{err:?}");
    let response = err.http_response().unwrap();
    assert_eq!(response.header("www-authenticate"), Some(BASIC.challenge));
    assert_eq!(&response.body[..], b"who are you?");
    assert_eq!(*log.lock().unwrap(), [(0, None)]);
}

#[tokio::test]
async fn wrong_credential_is_unauthorized_after_one_retry() {
    let (addr, log) = auth_server(BASIC).await;
    let err = MessageWebSocket::connect(&url(addr), with_credential("user", "wrong"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::Unauthorized, "{err:?}");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1], (0, Some("Basic dXNlcjp3cm9uZw==".into())));
}

#[tokio::test]
async fn only_basic_challenges_are_answered() {
    let (addr, log) = auth_server(Behaviour {
        challenge: "Digest realm=\"wsock\", nonce=\"abc\"",
        ..BASIC
    })
    .await;
    let err = MessageWebSocket::connect(&url(addr), with_credential("user", "secret"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::Unauthorized, "{err:?}");
    assert_eq!(*log.lock().unwrap(), [(0, None)]);
}

#[tokio::test]
async fn no_password_over_plain_ws_unless_allowed() {
    let (addr, log) = auth_server(BASIC).await;
    let mut control = with_credential("user", "secret");
    control.allow_unencrypted_credentials = false;
    let err = MessageWebSocket::connect(&url(addr), control)
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::Unauthorized, "{err:?}");
    assert_eq!(*log.lock().unwrap(), [(0, None)]);

    // Asking to send it up front is refused before connecting.
    let mut control = with_credential("user", "secret");
    control.allow_unencrypted_credentials = false;
    control.pre_authenticate = true;
    let err = MessageWebSocket::connect(&url(addr), control)
        .await
        .unwrap_err();
    assert!(err.is_invalid_argument(), "{err:?}");
    assert_eq!(log.lock().unwrap().len(), 1);

    // A user name Basic cannot carry.
    let err = MessageWebSocket::connect(&url(addr), with_credential("a:b", "c"))
        .await
        .unwrap_err();
    assert!(err.is_invalid_argument(), "{err:?}");
}

#[tokio::test]
async fn an_authorization_header_of_ones_own_is_left_alone() {
    let (addr, log) = auth_server(BASIC).await;
    let mut control = with_credential("user", "secret");
    control
        .set_request_header("Authorization", "Bearer token")
        .unwrap();
    let err = MessageWebSocket::connect(&url(addr), control)
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::Unauthorized, "{err:?}");
    assert_eq!(*log.lock().unwrap(), [(0, Some("Bearer token".into()))]);
}

#[tokio::test]
async fn over_wss_no_opt_in_is_needed() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], false);
    let (addr, log) = auth_server(BASIC).await;
    // A TLS front for the auth server: terminate TLS, relay to it.
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(leaf.chain.clone(), leaf.key())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = front.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = front.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut back = TcpStream::connect(addr).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut back).await;
            });
        }
    });

    let mut control = MessageWebSocketControl::default();
    control.trusted_root_certificates = vec![ca.der.clone()];
    control.server_credential = Some(Credential::new("user", "secret"));
    let url = format!("wss://localhost:{port}/");
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
    assert_eq!(*log.lock().unwrap(), [(0, None), (0, Some(GOOD.into()))]);
}
