//! `--ca` and `--ignore-certificate-error` against a wss:// echo server
//! whose certificate comes from a CA made in the test.

mod run;

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::PrivateKeyDer;
use wsock::server::{self, AcceptOptions, Listener};

use run::{Input, runtime, temp_file, wsock};

/// A wss:// echo server for `localhost`; its CA's certificate in PEM.
fn tls_echo_server(rt: &tokio::runtime::Runtime) -> (String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "wsock-cli test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages
        .push(ExtendedKeyUsagePurpose::ServerAuth);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf_cert.der().clone()],
            PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    let listener = rt
        .block_on(Listener::bind_tls(
            "127.0.0.1:0",
            AcceptOptions::default(),
            Arc::new(config),
        ))
        .unwrap();
    let port = listener.local_addr().port();
    rt.spawn(listener.serve(|incoming| async move {
        if let Ok(ws) = incoming.accept(None).await {
            let _ = server::echo(ws).await;
        }
    }));
    (format!("wss://localhost:{port}/"), ca_cert.pem())
}

#[test]
fn a_certificate_from_an_unknown_ca_fails_with_its_status() {
    let rt = runtime();
    let (url, _) = tls_echo_server(&rt);
    let run = wsock(&[&url], Input::Bytes(b"hi\n".to_vec()));
    assert_eq!(run.status, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("(WebErrorStatus::CertificateIsInvalid)"),
        "{}",
        run.stderr
    );
}

#[test]
fn ca_flag_adds_the_servers_root_to_the_trust() {
    let rt = runtime();
    let (url, ca_pem) = tls_echo_server(&rt);
    let file = temp_file("ca.pem");
    std::fs::write(&file, ca_pem).unwrap();
    let run = wsock(
        &["--ca", file.to_str().unwrap(), &url],
        Input::Bytes(b"over TLS\n".to_vec()),
    );
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.stdout, b"over TLS\n");
}

#[test]
fn ignoring_untrusted_accepts_a_certificate_from_an_unknown_ca() {
    let rt = runtime();
    let (url, _) = tls_echo_server(&rt);
    let run = wsock(
        &["--ignore-certificate-error", "Untrusted", &url],
        Input::Bytes(b"pinned\n".to_vec()),
    );
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.stdout, b"pinned\n");
}
