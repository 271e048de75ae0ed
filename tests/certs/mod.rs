//! Test PKI and TLS servers on loopback: a CA made with rcgen, server and
//! client certificates it signs, and wsock echo servers behind
//! tokio-rustls (optionally demanding a client certificate).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use wsock::certificates::parse_certificates;
use wsock::server::{self, AcceptOptions};
use wsock::{MessageWebSocket, MessageWebSocketControl, Received};

/// A certificate authority.
pub(crate) struct Ca {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate with its key, and the chain a server sends.
pub(crate) struct Leaf {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) pem: String,
    pub(crate) key_pem: String,
    /// The certificate, then any intermediates.
    pub(crate) chain: Vec<CertificateDer<'static>>,
    key: KeyPair,
}

impl Leaf {
    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.serialize_der().into())
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

impl Ca {
    pub(crate) fn new(name: &str) -> Ca {
        let params = ca_params(name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            der: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// An intermediate CA signed by this one.
    pub(crate) fn intermediate(&self, name: &str) -> Ca {
        let params = ca_params(name);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Ca {
            der: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` (the first is also the common
    /// name); `expired`: valid only in the year 2000.
    pub(crate) fn server(&self, names: &[&str], expired: bool) -> Leaf {
        self.leaf(names, expired, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate.
    pub(crate) fn client(&self, name: &str) -> Leaf {
        self.leaf(&[name], false, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, names: &[&str], expired: bool, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages.push(usage);
        if expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            der: cert.der().clone(),
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            chain: vec![cert.der().clone()],
            key,
        }
    }
}

/// A self-signed server certificate (its own issuer).
pub(crate) fn self_signed(names: &[&str]) -> Leaf {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let cert = params.self_signed(&key).unwrap();
    Leaf {
        der: cert.der().clone(),
        pem: cert.pem(),
        key_pem: key.serialize_pem(),
        chain: vec![cert.der().clone()],
        key,
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What a TLS echo server saw: the client certificates of each accepted
/// connection, and each failed TLS handshake.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) client_chains: Vec<Option<Vec<CertificateDer<'static>>>>,
    /// For each accepted connection, whether it resumed an earlier TLS
    /// session.
    pub(crate) resumed: Vec<bool>,
    pub(crate) tls_failures: Vec<String>,
}

/// A wss:// echo server on loopback (wsock's server role behind
/// tokio-rustls) presenting `chain`; with `client_ca`, it demands a client
/// certificate issued by that CA.
pub(crate) async fn tls_echo_server(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_ca: Option<CertificateDer<'static>>,
) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).unwrap();
    serve_tls(config).await
}

/// Serves `chain` as it is, without rustls' own check of it on the server
/// side (which refuses, for one, a critical extension it does not know).
pub(crate) async fn tls_echo_server_unchecked(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let key = rustls::crypto::ring::sign::any_supported_type(&key).unwrap();
    let certified = Arc::new(rustls::sign::CertifiedKey::new(chain, key));
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(certified)));
    serve_tls(config).await
}

/// Always the same certificate and key.
#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A wss:// echo server on loopback with `config`.
async fn serve_tls(config: rustls::ServerConfig) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let record = record.clone();
            tokio::spawn(async move {
                let tls = match acceptor.accept(tcp).await {
                    Ok(tls) => tls,
                    Err(e) => {
                        record.lock().unwrap().tls_failures.push(e.to_string());
                        return;
                    }
                };
                let connection = tls.get_ref().1;
                let chain = connection.peer_certificates().map(<[_]>::to_vec);
                let resumed = connection.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
                {
                    let mut seen = record.lock().unwrap();
                    seen.client_chains.push(chain);
                    seen.resumed.push(resumed);
                }
                if let Ok(ws) = server::accept(tls, AcceptOptions::default()).await {
                    echo(ws).await;
                }
            });
        }
    });
    (addr, seen)
}

/// Echoes messages on one accepted socket until the client closes.
pub(crate) async fn echo(mut ws: MessageWebSocket) {
    while let Ok(Received::Message(m)) = ws.receive().await {
        if ws.send_message(&m).await.is_err() {
            break;
        }
    }
}

/// One text round trip and a clean close.
pub(crate) async fn round_trip(ws: &mut MessageWebSocket) {
    ws.send_text("through").await.unwrap();
    match ws.receive().await.unwrap() {
        Received::Message(m) => assert_eq!(m.as_text().unwrap(), "through"),
        other => panic!("{other:?}"),
    }
    ws.close(1000, "done").await.unwrap();
}

/// A control that trusts `ca` alone (the default roots off).
pub(crate) fn trusting(ca: &Ca) -> MessageWebSocketControl {
    let mut control = MessageWebSocketControl::default();
    control.trusted_root_certificates = parse_certificates(ca.pem.as_bytes()).unwrap();
    control.use_default_roots = false;
    control
}

/// Connects to `wss://localhost:{port}/echo` with `control`.
pub(crate) async fn connect(
    port: u16,
    control: MessageWebSocketControl,
) -> wsock::Result<MessageWebSocket> {
    MessageWebSocket::connect(&format!("wss://localhost:{port}/echo"), control).await
}
