//! Server certificate checks and client certificates, against wsock's
//! server role behind tokio-rustls on loopback, with a PKI made by rcgen:
//! custom roots, ignorable errors (reported with their severity), the
//! custom validation hook, intermediates, and mutual TLS.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod certs;

use std::sync::{Arc, Mutex};

use certs::{Ca, connect, round_trip, self_signed, tls_echo_server, trusting};
use wsock::certificates::parse_certificates;
use wsock::{
    ChainValidationResult as Cvr, ClientCertificate, Error, MessageWebSocket,
    MessageWebSocketControl, ServerCustomValidation, ServerCustomValidationRequest,
    SocketSslErrorSeverity, StreamWebSocket, StreamWebSocketControl, WebErrorStatus,
};

#[tokio::test]
async fn custom_root_instead_of_the_default_ones() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], false);
    let (addr, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    let mut ws = connect(addr.port(), trusting(&ca)).await.unwrap();
    let info = ws.information();
    assert_eq!(info.server_certificate(), Some(&leaf.der));
    assert!(info.server_intermediate_certificates().is_empty());
    assert_eq!(info.server_certificate_errors(), []);
    assert_eq!(
        info.server_certificate_error_severity(),
        SocketSslErrorSeverity::None
    );
    round_trip(&mut ws).await;
}

#[tokio::test]
async fn custom_root_beside_the_default_ones_and_from_der() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost", "127.0.0.1"], false);
    let (addr, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    let mut control = MessageWebSocketControl::default();
    control.trusted_root_certificates = parse_certificates(&ca.der).unwrap();
    assert!(control.use_default_roots);
    let url = format!("wss://127.0.0.1:{}/", addr.port());
    let mut ws = MessageWebSocket::connect(&url, control).await.unwrap();
    round_trip(&mut ws).await;
}

#[tokio::test]
async fn unknown_issuer_is_refused() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], false);
    let (addr, seen) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    // The default roots, and another CA's root.
    for control in [
        MessageWebSocketControl::default(),
        trusting(&Ca::new("another CA")),
    ] {
        let err = connect(addr.port(), control).await.unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
        assert_eq!(
            err.status(),
            WebErrorStatus::CertificateIsInvalid,
            "{err:?}"
        );
    }
    // No handshake got through to the server.
    assert!(seen.lock().unwrap().client_chains.is_empty());
}

#[tokio::test]
async fn expired_certificate_fails_unless_ignorable() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], true);
    let (addr, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;

    let err = connect(addr.port(), trusting(&ca)).await.unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
    assert_eq!(err.status(), WebErrorStatus::CertificateExpired, "{err:?}");

    // Ignoring another problem does not help.
    let mut control = trusting(&ca);
    control.ignorable_server_certificate_errors = vec![Cvr::Untrusted, Cvr::InvalidName];
    let err = connect(addr.port(), control).await.unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::CertificateExpired, "{err:?}");

    let mut control = trusting(&ca);
    control.ignorable_server_certificate_errors = vec![Cvr::Expired];
    let mut ws = connect(addr.port(), control).await.unwrap();
    let info = ws.information();
    assert_eq!(info.server_certificate_errors(), [Cvr::Expired]);
    assert_eq!(
        info.server_certificate_error_severity(),
        SocketSslErrorSeverity::Ignorable
    );
    assert_eq!(info.server_certificate(), Some(&leaf.der));
    round_trip(&mut ws).await;
}

#[tokio::test]
async fn several_problems_are_all_found() {
    // Expired and for another name.
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["other.example"], true);
    let (addr, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;

    let mut control = trusting(&ca);
    control.ignorable_server_certificate_errors = vec![Cvr::Expired];
    let err = connect(addr.port(), control).await.unwrap_err();
    assert_eq!(
        err.status(),
        WebErrorStatus::CertificateCommonNameIsIncorrect,
        "{err:?}"
    );

    let mut control = trusting(&ca);
    control.ignorable_server_certificate_errors = vec![Cvr::InvalidName];
    let err = connect(addr.port(), control).await.unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::CertificateExpired, "{err:?}");

    let mut control = trusting(&ca);
    control.ignorable_server_certificate_errors = vec![Cvr::InvalidName, Cvr::Expired];
    let mut ws = connect(addr.port(), control).await.unwrap();
    assert_eq!(
        ws.information().server_certificate_errors(),
        [Cvr::Expired, Cvr::InvalidName]
    );
    round_trip(&mut ws).await;

    // Expired, from an unknown issuer and for another name: three.
    let mut control = MessageWebSocketControl::default();
    control.ignorable_server_certificate_errors =
        vec![Cvr::InvalidName, Cvr::Expired, Cvr::Untrusted];
    let mut ws = connect(addr.port(), control).await.unwrap();
    assert_eq!(
        ws.information().server_certificate_errors(),
        [Cvr::Expired, Cvr::Untrusted, Cvr::InvalidName]
    );
    round_trip(&mut ws).await;
}

type Calls = Arc<Mutex<Vec<ServerCustomValidationRequest>>>;

fn hook(answer: bool) -> (ServerCustomValidation, Calls) {
    let calls = Calls::default();
    let record = calls.clone();
    let hook = ServerCustomValidation::new(move |req| {
        record.lock().unwrap().push(req.clone());
        answer
    });
    (hook, calls)
}

#[tokio::test]
async fn custom_validation_accepts_and_sees_the_chain() {
    let root = Ca::new("wsock root");
    let intermediate = root.intermediate("wsock intermediate");
    let mut leaf = intermediate.server(&["localhost"], false);
    leaf.chain.push(intermediate.der.clone());
    let (addr, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;

    let (check, calls) = hook(true);
    let mut control = trusting(&root);
    control.server_custom_validation = Some(check);
    let mut ws = connect(addr.port(), control).await.unwrap();
    let info = ws.information();
    assert_eq!(info.server_certificate(), Some(&leaf.der));
    assert_eq!(
        info.server_intermediate_certificates(),
        std::slice::from_ref(&intermediate.der)
    );
    round_trip(&mut ws).await;

    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    let req = &calls[0];
    assert_eq!(req.server_name, "localhost");
    assert_eq!(req.server_certificate, leaf.der);
    assert_eq!(
        req.server_intermediate_certificates,
        std::slice::from_ref(&intermediate.der)
    );
    assert!(req.server_certificate_errors.is_empty());
    assert_eq!(
        req.server_certificate_error_severity(),
        SocketSslErrorSeverity::None
    );
}

#[tokio::test]
async fn custom_validation_rejects() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], false);
    let (addr, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    let (check, calls) = hook(false);
    let mut control = trusting(&ca);
    control.server_custom_validation = Some(check);
    let err = connect(addr.port(), control).await.unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
    assert_eq!(
        err.status(),
        WebErrorStatus::CertificateContainsErrors,
        "{err:?}"
    );
    assert_eq!(calls.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn custom_validation_is_not_asked_about_fatal_problems() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], true);
    let (addr, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    let (check, calls) = hook(true);
    let mut control = trusting(&ca);
    control.server_custom_validation = Some(check);
    let err = connect(addr.port(), control).await.unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::CertificateExpired, "{err:?}");
    assert!(calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn pinning_a_self_signed_certificate() {
    let pinned = self_signed(&["localhost"]);
    let (addr, _) = tls_echo_server(pinned.chain.clone(), pinned.key(), None).await;
    let pin = pinned.der.clone();
    let control = || {
        let mut control = MessageWebSocketControl::default();
        control
            .ignorable_server_certificate_errors
            .push(Cvr::Untrusted);
        let pin = pin.clone();
        control.server_custom_validation = Some(ServerCustomValidation::new(move |req| {
            req.server_certificate == pin
        }));
        control
    };
    let mut ws = connect(addr.port(), control()).await.unwrap();
    assert_eq!(
        ws.information().server_certificate_errors(),
        [Cvr::Untrusted]
    );
    round_trip(&mut ws).await;

    // Another self-signed certificate for the same name is not the pin.
    let other = self_signed(&["localhost"]);
    let (addr, _) = tls_echo_server(other.chain.clone(), other.key(), None).await;
    let err = connect(addr.port(), control()).await.unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::CertificateContainsErrors);
}

#[tokio::test]
async fn stream_socket_has_the_same_options() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], true);
    let (addr, _) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    let mut control = StreamWebSocketControl::default();
    control.trusted_root_certificates = vec![ca.der.clone()];
    control.use_default_roots = false;
    control.ignorable_server_certificate_errors = vec![Cvr::Expired];
    let url = format!("wss://localhost:{}/", addr.port());
    let mut ws = StreamWebSocket::connect(&url, control).await.unwrap();
    let info = ws.information();
    assert_eq!(info.server_certificate_errors(), [Cvr::Expired]);
    assert_eq!(
        info.server_certificate_error_severity(),
        SocketSslErrorSeverity::Ignorable
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ws.write_all(b"stream bytes").await.unwrap();
    ws.flush().await.unwrap();
    let mut back = [0u8; 12];
    ws.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"stream bytes");
}

#[tokio::test]
async fn mutual_tls() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], false);
    let client = ca.client("wsock client");
    let (addr, seen) = tls_echo_server(leaf.chain.clone(), leaf.key(), Some(ca.der.clone())).await;

    let mut control = trusting(&ca);
    control.client_certificate = Some(
        ClientCertificate::from_pem(client.pem.as_bytes(), client.key_pem.as_bytes()).unwrap(),
    );
    let mut ws = connect(addr.port(), control).await.unwrap();
    round_trip(&mut ws).await;
    assert_eq!(
        seen.lock().unwrap().client_chains,
        [Some(vec![client.der.clone()])]
    );

    // Without a client certificate the server ends the handshake. With
    // TLS 1.3 the client learns it from the server's alert, when it reads
    // the answer to its upgrade.
    let err = connect(addr.port(), trusting(&ca)).await.unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
    assert_eq!(err.status(), WebErrorStatus::ConnectionAborted, "{err:?}");

    // A certificate from another CA is refused too.
    let stranger = Ca::new("another CA").client("stranger");
    let mut control = trusting(&ca);
    control.client_certificate =
        Some(ClientCertificate::new(stranger.chain.clone(), stranger.key()).unwrap());
    let err = connect(addr.port(), control).await.unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
    assert_eq!(seen.lock().unwrap().client_chains.len(), 1);
}

#[tokio::test]
async fn conflicting_or_empty_trust_is_an_invalid_argument() {
    let ca = Ca::new("wsock test CA");
    let mut control = trusting(&ca);
    control.tls_client_config = Some(Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth(),
    ));
    // Checked before any connection is tried (nothing listens on port 1).
    let err = connect(1, control).await.unwrap_err();
    assert!(err.is_invalid_argument(), "{err:?}");

    let mut control = MessageWebSocketControl::default();
    control.use_default_roots = false;
    let err = connect(1, control).await.unwrap_err();
    assert!(err.is_invalid_argument(), "{err:?}");

    let mut control = MessageWebSocketControl::default();
    control.trusted_root_certificates = vec![vec![1u8, 2, 3].into()];
    let err = connect(1, control).await.unwrap_err();
    assert!(err.is_invalid_argument(), "{err:?}");

    // ws:// needs no TLS setup: the same options do not matter there.
    let mut control = MessageWebSocketControl::default();
    control.use_default_roots = false;
    let err = MessageWebSocket::connect("ws://127.0.0.1:1/", control)
        .await
        .unwrap_err();
    assert_eq!(err.status(), WebErrorStatus::CannotConnect, "{err:?}");
}

/// Serves `chain` but signs the handshake with an unrelated key, as an
/// impostor holding a copy of a real certificate would.
#[derive(Debug)]
struct Impostor(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Impostor {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[tokio::test]
async fn ignoring_every_error_still_checks_the_handshake_signature() {
    let ca = Ca::new("wsock test CA");
    let leaf = ca.server(&["localhost"], false);
    let stranger = ca.server(&["localhost"], false);
    let wrong_key = rustls::crypto::ring::sign::any_supported_type(&stranger.key()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_cert_resolver(Arc::new(Impostor(Arc::new(
        rustls::sign::CertifiedKey::new(leaf.chain.clone(), wrong_key),
    ))));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = acceptor.accept(tcp).await;
        }
    });

    let (check, calls) = hook(true);
    let mut control = MessageWebSocketControl::default();
    control.ignorable_server_certificate_errors = Cvr::ALL.to_vec();
    control.server_custom_validation = Some(check);
    let err = connect(port, control).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadSignature
            ))
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), WebErrorStatus::CertificateContainsErrors);
    // The certificate itself passed (its problem, Untrusted, was ignored).
    assert_eq!(
        calls.lock().unwrap()[0].server_certificate_errors,
        [Cvr::Untrusted]
    );
}
