//! Which rustls crypto provider `wss://` uses: the application's
//! process-wide one when it installed one (here a provider that offers a
//! single cipher suite, which the server then sees negotiated), else the
//! one a feature compiled in; and without either, a clear error rather
//! than a panic. One test, as the provider is process-wide state.

mod common;

use common::tls::Ca;
use rustls::crypto::CryptoProvider;
use rustls::crypto::ring::{self, cipher_suite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wsock::handshake::{Limits, server as hs};
use wsock::{MessageWebSocket, MessageWebSocketControl};

/// A wss:// server that reports the cipher suite of each connection,
/// answers the upgrade and then waits for the client to go.
async fn suite_reporting_server(ca: &Ca) -> (u16, mpsc::UnboundedReceiver<rustls::CipherSuite>) {
    let (leaf, key) = ca.leaf(&["localhost"], false);
    let acceptor = common::tls::acceptor(leaf, key);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            if let Some(suite) = tls.get_ref().1.negotiated_cipher_suite() {
                let _ = tx.send(suite.suite());
            }
            let mut buf = Vec::new();
            let key = loop {
                let mut chunk = [0u8; 1024];
                let n = tls.read(&mut chunk).await.unwrap();
                assert!(n > 0, "client went away");
                buf.extend_from_slice(&chunk[..n]);
                if let Some((req, _)) = hs::parse_request(&buf, &Limits::default()).unwrap() {
                    break hs::check_upgrade(&req).unwrap().key;
                }
            };
            let mut out = Vec::new();
            hs::write_accept(&key, None, None, &[], &mut out);
            tls.write_all(&out).await.unwrap();
            let mut rest = [0u8; 1024];
            while tls.read(&mut rest).await.is_ok_and(|n| n > 0) {}
        }
    });
    (port, rx)
}

#[tokio::test]
async fn a_process_wide_provider_is_used_and_its_absence_is_an_error_not_a_panic() {
    let ca = Ca::new();
    let (port, mut suites) = suite_reporting_server(&ca).await;
    let url = format!("wss://localhost:{port}/");
    let control = || {
        let mut c = MessageWebSocketControl::default();
        c.trusted_root_certificates = vec![ca.cert.clone()];
        c
    };

    // Built without a provider and none installed: wss:// says what to do.
    #[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")))]
    {
        let e = MessageWebSocket::connect(&url, control())
            .await
            .unwrap_err();
        assert!(e.report().contains("crypto provider"), "{}", e.report());
        assert_eq!(e.status(), wsock::WebErrorStatus::Unknown, "{e:?}");
    }

    // The application's provider, whatever the features: one suite only.
    let only_chacha = CryptoProvider {
        cipher_suites: vec![cipher_suite::TLS13_CHACHA20_POLY1305_SHA256],
        ..ring::default_provider()
    };
    only_chacha.install_default().unwrap();
    let ws = MessageWebSocket::connect(&url, control()).await.unwrap();
    assert_eq!(
        suites.recv().await,
        Some(rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256)
    );
    drop(ws);
}
