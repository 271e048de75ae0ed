//! Secrets and redirects: the caller's credential (the control's or the
//! URL's userinfo) and their `Authorization`, `Cookie` and
//! `Proxy-Authorization` request headers go only to the origin they
//! connected to. Against small hand-made HTTP servers on loopback that log
//! every request and answer it by path: a 302 to somewhere else, a 401
//! until the right Basic credential comes, or the upgrade (handed to
//! wsock's server role). Another origin is another port, or the same port
//! under another host name (`localhost` for `127.0.0.1`).
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod certs;

use std::collections::HashMap;
use std::io::Cursor;
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

/// How a path is answered.
#[derive(Debug, Clone)]
enum Action {
    /// 302 Found with this `Location`.
    Redirect(String),
    /// The upgrade.
    Accept,
    /// 401 with `WWW-Authenticate: Basic` (keeping the connection) until
    /// `Authorization` is [`GOOD`], then the upgrade.
    Guarded,
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
}

/// A logging HTTP server on 127.0.0.1.
#[derive(Clone)]
struct Peer {
    port: u16,
    routes: Arc<Mutex<HashMap<String, Action>>>,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Peer {
    async fn start() -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = Peer {
            port: listener.local_addr().unwrap().port(),
            routes: Arc::default(),
            log: Arc::default(),
        };
        let serving = peer.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serving.clone().serve(tcp));
            }
        });
        peer
    }

    fn route(&self, path: &str, action: Action) {
        self.routes.lock().unwrap().insert(path.into(), action);
    }

    /// `ws://{host}:{port}{path}`.
    fn url(&self, host: &str, path: &str) -> String {
        format!("ws://{host}:{}{path}", self.port)
    }

    /// The value of header `name` in each request for `path`, in order.
    fn sent(&self, path: &str, name: &str) -> Vec<Option<String>> {
        let log = self.log.lock().unwrap();
        (log.iter().filter(|seen| seen.path == path))
            .map(|seen| {
                (seen.headers.iter())
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            })
            .collect()
    }

    async fn serve(self, mut tcp: TcpStream) {
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
            self.log.lock().unwrap().push(Seen {
                path: request.path.clone(),
                headers: request.headers.clone(),
            });
            let action = self.routes.lock().unwrap().get(&request.path).cloned();
            let mut out = Vec::new();
            match action {
                Some(Action::Accept) => return accept(tcp, buf).await,
                Some(Action::Guarded) if request.header("authorization") == Some(GOOD) => {
                    return accept(tcp, buf).await;
                }
                Some(Action::Guarded) => {
                    let body = b"who are you?";
                    let head = format!(
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"wsock\"\r\n\
                         Content-Length: {}\r\n\r\n",
                        body.len()
                    );
                    out.extend_from_slice(head.as_bytes());
                    out.extend_from_slice(body);
                    if tcp.write_all(&out).await.is_err() {
                        return;
                    }
                    buf.advance(head_len);
                    continue;
                }
                Some(Action::Redirect(location)) => {
                    let headers = [("Location".to_owned(), location)];
                    write_response(302, "Found", &headers, b"", &mut out);
                }
                None => write_response(404, "Not Found", &[], b"", &mut out),
            }
            let _ = tcp.write_all(&out).await;
            let _ = tcp.shutdown().await;
            return;
        }
    }
}

/// Hands the request in `buf` (and anything after it) to the server role.
async fn accept(tcp: TcpStream, buf: BytesMut) {
    let (rd, wr) = tokio::io::split(tcp);
    let replay = tokio::io::join(AsyncReadExt::chain(Cursor::new(buf.to_vec()), rd), wr);
    if let Ok(ws) = server::accept(replay, AcceptOptions::default()).await {
        echo(ws).await;
    }
}

/// A secret the caller gives.
#[derive(Debug, Clone, Copy)]
enum Secret {
    /// user:secret as the control's server credential (`from_url`: as the
    /// URL's userinfo), sent up front or after a 401.
    Credential { from_url: bool, up_front: bool },
    /// A request header of the caller's.
    Header(&'static str, &'static str),
}

use Secret::{Credential as Cred, Header};

const SECRETS: [Secret; 7] = [
    Cred {
        from_url: false,
        up_front: true,
    },
    Cred {
        from_url: false,
        up_front: false,
    },
    Cred {
        from_url: true,
        up_front: true,
    },
    Cred {
        from_url: true,
        up_front: false,
    },
    Header("Authorization", "Bearer token"),
    // Names in another case are still secrets.
    Header("cookie", "session=abc"),
    Header("PROXY-Authorization", "Basic cHJveHk6cGFzcw=="),
];

impl Secret {
    /// The control and the URL to connect to for `path` on `peer`.
    fn setup(self, peer: &Peer, path: &str) -> (MessageWebSocketControl, String) {
        let mut control = MessageWebSocketControl::default();
        control.allow_unencrypted_credentials = true;
        control.max_redirects = 5;
        control.set_request_header("X-Trace", "42").unwrap();
        let mut url = peer.url("127.0.0.1", path);
        match self {
            Cred { from_url, up_front } => {
                control.pre_authenticate = up_front;
                if from_url {
                    url = peer.url("user:secret@127.0.0.1", path);
                } else {
                    control.server_credential = Some(Credential::new("user", "secret"));
                }
            }
            Header(name, value) => control.set_request_header(name, value).unwrap(),
        }
        (control, url)
    }

    /// The header that carries it, and its value.
    fn header(self) -> (&'static str, &'static str) {
        match self {
            Cred { .. } => ("Authorization", GOOD),
            Header(name, value) => (name, value),
        }
    }

    /// How the last hop answers: a credential sent only after a 401 needs
    /// a server that asks.
    fn last_hop(self) -> Action {
        match self {
            Cred {
                up_front: false, ..
            } => Action::Guarded,
            _ => Action::Accept,
        }
    }

    /// Connects, expecting the upgrade where the secret arrived (`kept`)
    /// and, where it did not, the upgrade unless the server insists on a
    /// credential (then 401 Unauthorized).
    async fn connect(self, control: MessageWebSocketControl, url: &str, kept: bool) {
        let result = MessageWebSocket::connect(url, control).await;
        match self.last_hop() {
            Action::Guarded if !kept => {
                let err = result
                    .err()
                    .unwrap_or_else(|| panic!("{self:?}: connected"));
                assert_eq!(
                    err.status(),
                    WebErrorStatus::Unauthorized,
                    "{self:?}: {err:?}"
                );
            }
            _ => round_trip(&mut result.unwrap_or_else(|e| panic!("{self:?}: {e:?}"))).await,
        }
    }
}

/// Where a cross-origin redirect from `a` goes.
#[derive(Debug, Clone, Copy)]
enum Elsewhere {
    /// Another port on the same host.
    Port,
    /// The same port under another host name.
    Host,
}

impl Elsewhere {
    /// The peer serving `path` at the other origin, and its URL.
    fn at(self, a: &Peer, b: &Peer, path: &str) -> (Peer, String) {
        match self {
            Elsewhere::Port => (b.clone(), b.url("127.0.0.1", path)),
            Elsewhere::Host => (a.clone(), a.url("localhost", path)),
        }
    }
}

#[tokio::test]
async fn secrets_follow_a_redirect_within_the_origin() {
    for secret in SECRETS {
        let a = Peer::start().await;
        // Absolute, with the default host spelled another way: the same
        // origin all the same.
        a.route("/start", Action::Redirect(a.url("LocalHost", "/next")));
        a.route("/next", secret.last_hop());
        let (control, _) = secret.setup(&a, "/start");
        // Same host name as the Location's, so that the origin matches.
        let url = match secret {
            Cred { from_url: true, .. } => a.url("user:secret@localhost", "/start"),
            _ => a.url("localhost", "/start"),
        };
        secret.connect(control, &url, true).await;
        let (name, value) = secret.header();
        let at_next = a.sent("/next", name);
        assert_eq!(
            at_next.last(),
            Some(&Some(value.to_owned())),
            "{secret:?}: {at_next:?}"
        );
    }
}

#[tokio::test]
async fn secrets_are_dropped_on_a_redirect_to_another_origin() {
    for elsewhere in [Elsewhere::Port, Elsewhere::Host] {
        for secret in SECRETS {
            let (a, b) = (Peer::start().await, Peer::start().await);
            let (dest, next) = elsewhere.at(&a, &b, "/next");
            a.route("/start", Action::Redirect(next));
            dest.route("/next", secret.last_hop());
            let (control, url) = secret.setup(&a, "/start");
            secret.connect(control, &url, false).await;
            let (name, _) = secret.header();
            let what = format!("{elsewhere:?} {secret:?}");
            let at_next = dest.sent("/next", name);
            assert!(!at_next.is_empty(), "{what}: not followed");
            assert!(at_next.iter().all(Option::is_none), "{what}: {at_next:?}");
            // Headers that are not secrets go everywhere.
            assert_eq!(dest.sent("/next", "x-trace")[0].as_deref(), Some("42"));
        }
    }
}

#[tokio::test]
async fn secrets_come_back_with_a_redirect_to_the_first_origin() {
    for secret in SECRETS {
        let (a, b) = (Peer::start().await, Peer::start().await);
        a.route("/start", Action::Redirect(b.url("127.0.0.1", "/via")));
        b.route("/via", Action::Redirect(a.url("127.0.0.1", "/back")));
        a.route("/back", secret.last_hop());
        let (control, url) = secret.setup(&a, "/start");
        secret.connect(control, &url, true).await;
        let (name, value) = secret.header();
        assert_eq!(b.sent("/via", name), [None], "{secret:?}");
        let at_back = a.sent("/back", name);
        assert_eq!(
            at_back.last(),
            Some(&Some(value.to_owned())),
            "{secret:?}: {at_back:?}"
        );
    }
}

#[tokio::test]
async fn the_dangerous_opt_in_keeps_secrets_across_origins() {
    for secret in SECRETS {
        let (a, b) = (Peer::start().await, Peer::start().await);
        a.route("/start", Action::Redirect(b.url("127.0.0.1", "/next")));
        b.route("/next", secret.last_hop());
        let (mut control, url) = secret.setup(&a, "/start");
        control.dangerous_send_secrets_across_origins = true;
        secret.connect(control, &url, true).await;
        let (name, value) = secret.header();
        let at_next = b.sent("/next", name);
        assert_eq!(
            at_next.last(),
            Some(&Some(value.to_owned())),
            "{secret:?}: {at_next:?}"
        );
    }
}

#[tokio::test]
async fn userinfo_in_a_location_is_never_a_credential() {
    // Another origin, and the caller has no credential: none is sent, and
    // the server's 401 stands.
    let (a, b) = (Peer::start().await, Peer::start().await);
    let evil = format!("ws://evil:stolen@127.0.0.1:{}/next", b.port);
    a.route("/start", Action::Redirect(evil));
    b.route("/next", Action::Guarded);
    let mut control = MessageWebSocketControl::default();
    control.allow_unencrypted_credentials = true;
    control.max_redirects = 5;
    let err = MessageWebSocket::connect(&a.url("127.0.0.1", "/start"), control)
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::Unauthorized, "{err:?}");
    assert_eq!(b.sent("/next", "authorization"), [None]);

    // The same origin, with the caller's credential in their URL: theirs
    // is sent, not the Location's.
    let a = Peer::start().await;
    let evil = format!("ws://evil:stolen@127.0.0.1:{}/next", a.port);
    a.route("/start", Action::Redirect(evil));
    a.route("/next", Action::Guarded);
    let mut control = MessageWebSocketControl::default();
    control.allow_unencrypted_credentials = true;
    control.max_redirects = 5;
    let url = a.url("user:secret@127.0.0.1", "/start");
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
    assert_eq!(a.sent("/next", "authorization"), [None, Some(GOOD.into())]);
}

/// Whether each TLS connection a front accepted came with a client
/// certificate.
type ClientCerts = Arc<Mutex<Vec<bool>>>;

/// A TLS front on 127.0.0.1 for `peer`, presenting `leaf` and asking for
/// (not demanding) a client certificate issued by `ca`; its port and what
/// it saw of client certificates.
async fn tls_front(ca: &Ca, leaf: &certs::Leaf, peer: &Peer) -> (u16, ClientCerts) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der.clone()).unwrap();
    let clients = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(clients)
        .with_single_cert(leaf.chain.clone(), leaf.key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = front.local_addr().unwrap().port();
    let back = peer.port;
    let seen = ClientCerts::default();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = front.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let record = record.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let presented = tls.get_ref().1.peer_certificates().is_some();
                record.lock().unwrap().push(presented);
                let mut back = TcpStream::connect(("127.0.0.1", back)).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut back).await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn over_wss_the_credential_stays_with_its_origin_too() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], false);
    let (a, b) = (Peer::start().await, Peer::start().await);
    let ((port_a, _), (port_b, _)) = (
        tls_front(&ca, &leaf, &a).await,
        tls_front(&ca, &leaf, &b).await,
    );
    let control = || {
        let mut control = MessageWebSocketControl::default();
        control.trusted_root_certificates = vec![ca.der.clone()];
        control.server_credential = Some(Credential::new("user", "secret"));
        control.pre_authenticate = true;
        control.set_request_header("Cookie", "session=abc").unwrap();
        control.max_redirects = 5;
        control
    };
    // Within the origin, then to another one.
    a.route(
        "/start",
        Action::Redirect(format!("wss://localhost:{port_a}/same")),
    );
    a.route(
        "/same",
        Action::Redirect(format!("wss://localhost:{port_b}/next")),
    );
    b.route("/next", Action::Accept);
    let url = format!("wss://localhost:{port_a}/start");
    let mut ws = MessageWebSocket::connect(&url, control()).await.unwrap();
    round_trip(&mut ws).await;
    assert_eq!(a.sent("/same", "authorization"), [Some(GOOD.into())]);
    assert_eq!(a.sent("/same", "cookie"), [Some("session=abc".into())]);
    assert_eq!(b.sent("/next", "authorization"), [None]);
    assert_eq!(b.sent("/next", "cookie"), [None]);
}

/// Two TLS fronts: A redirects `/start` to
/// its own `/same`, which redirects to B's `/next`.
async fn two_tls_origins(ca: &Ca) -> (u16, ClientCerts, ClientCerts) {
    let leaf = ca.server(&["localhost"], false);
    let (a, b) = (Peer::start().await, Peer::start().await);
    let ((port_a, seen_a), (port_b, seen_b)) = (
        tls_front(ca, &leaf, &a).await,
        tls_front(ca, &leaf, &b).await,
    );
    a.route(
        "/start",
        Action::Redirect(format!("wss://localhost:{port_a}/same")),
    );
    a.route(
        "/same",
        Action::Redirect(format!("wss://localhost:{port_b}/next")),
    );
    b.route("/next", Action::Accept);
    (port_a, seen_a, seen_b)
}

#[tokio::test]
async fn client_certificate_stays_with_its_origin() {
    let ca = Ca::new("wsock test CA");
    let client = ca.client("wsock client");
    let (port_a, seen_a, seen_b) = two_tls_origins(&ca).await;
    let mut control = MessageWebSocketControl::default();
    control.trusted_root_certificates = vec![ca.der.clone()];
    control.client_certificate =
        Some(wsock::ClientCertificate::new(client.chain.clone(), client.key()).unwrap());
    control.max_redirects = 5;
    let url = format!("wss://localhost:{port_a}/start");
    let mut ws = MessageWebSocket::connect(&url, control.clone())
        .await
        .unwrap();
    round_trip(&mut ws).await;
    // Both hops on A proved the caller's identity; B never learnt it.
    assert_eq!(*seen_a.lock().unwrap(), [true, true]);
    assert_eq!(*seen_b.lock().unwrap(), [false]);

    // With the opt-in, B gets it too.
    control.dangerous_send_secrets_across_origins = true;
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
    assert_eq!(*seen_b.lock().unwrap(), [false, true]);
}

#[tokio::test]
async fn own_tls_config_with_a_client_certificate_is_not_redirected_elsewhere() {
    let ca = Ca::new("wsock test CA");
    let client = ca.client("wsock client");
    let (port_a, seen_a, seen_b) = two_tls_origins(&ca).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(client.chain.clone(), client.key())
    .unwrap();
    let mut control = MessageWebSocketControl::default();
    control.tls_client_config = Some(Arc::new(config));
    control.max_redirects = 5;
    let url = format!("wss://localhost:{port_a}/start");
    // The certificate cannot be taken out of the caller's configuration,
    // so the hop to B is refused rather than made with it.
    let err = MessageWebSocket::connect(&url, control.clone())
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::RedirectFailed, "{err:?}");
    assert!(err.http_response().is_some(), "{err:?}");
    assert_eq!(*seen_a.lock().unwrap(), [true, true]);
    assert!(seen_b.lock().unwrap().is_empty());

    control.dangerous_send_secrets_across_origins = true;
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
    assert_eq!(*seen_b.lock().unwrap(), [true]);
}
