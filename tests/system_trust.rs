//! The operating system's trust, with `native-roots` (the store read by
//! rustls-native-certs) or `platform-verifier` (the platform's verifier,
//! which on Linux reads the same store): a CA put in the store (through
//! `SSL_CERT_FILE`, which both honour) is trusted by a default control,
//! and the WinRT options still work on top of it: an ignorable error is
//! ignored and reported, one that is not refuses with its status, a chain
//! from a CA the store lacks is untrusted, and the validation hook has
//! the last word.
//!
//! The store is read once per process, and setting an environment
//! variable in a running test needs `unsafe`, which the crate forbids: so
//! the test runs itself again as a child process with `SSL_CERT_FILE`
//! set, and the child does the checks.
#![cfg(all(
    feature = "server",
    any(feature = "native-roots", feature = "platform-verifier"),
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::tls::{Ca, acceptor};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use wsock::server::AcceptOptions;
use wsock::{
    ChainValidationResult as Cvr, MessageWebSocket, MessageWebSocketControl,
    ServerCustomValidation, WebErrorStatus,
};

const CHILD: &str = "WSOCK_SYSTEM_TRUST_DIR";

#[test]
fn a_ca_in_the_systems_store_is_trusted_and_the_winrt_options_apply() {
    if let Ok(dir) = std::env::var(CHILD) {
        return child(Path::new(&dir));
    }
    // The parent: a CA for the store, a CA the store lacks, and their
    // leaves, on disk for the child.
    let dir = std::env::temp_dir().join(format!("wsock-system-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let known = Ca::new();
    let stranger = Ca::new();
    let write = |name: &str, (cert, key): (CertificateDer<'static>, PrivateKeyDer<'static>)| {
        std::fs::write(dir.join(format!("{name}.der")), &cert).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.secret_der()).unwrap();
    };
    write("good", known.leaf(&["localhost"], false));
    write("expired", known.leaf(&["localhost"], true));
    write("stranger", stranger.leaf(&["localhost"], false));
    let pem = pem("CERTIFICATE", &known.cert);
    let store = dir.join("store.pem");
    std::fs::write(&store, pem).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_ca_in_the_systems_store_is_trusted_and_the_winrt_options_apply",
            "--nocapture",
        ])
        .env(CHILD, &dir)
        .env("SSL_CERT_FILE", &store)
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "the child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The child really ran the checks (a filter that matched nothing
    // would pass as well).
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A wss:// echo server presenting the leaf saved as `name`.
async fn serve(dir: &Path, name: &str) -> u16 {
    let read = |ext: &str| -> Vec<u8> {
        let path: PathBuf = dir.join(format!("{name}.{ext}"));
        std::fs::read(path).unwrap()
    };
    let cert = CertificateDer::from(read("der"));
    let key = PrivateKeyDer::Pkcs8(read("key").into());
    let acceptor = acceptor(cert, key);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await
                    && let Ok(ws) = wsock::server::accept(tls, AcceptOptions::default()).await
                {
                    common::echo(ws).await;
                }
            });
        }
    });
    port
}

fn child(dir: &Path) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = |port: u16| format!("wss://localhost:{port}/");
        let good = serve(dir, "good").await;
        let expired = serve(dir, "expired").await;
        let stranger = serve(dir, "stranger").await;

        // Trusted through the store, with nothing to report.
        let mut ws = MessageWebSocket::connect(&url(good), MessageWebSocketControl::default())
            .await
            .expect("a leaf of the store's CA");
        assert!(ws.information().server_certificate_errors().is_empty());
        ws.send_text("hi").await.unwrap();
        ws.close(1000, "").await.unwrap();

        // Expired: refused with its status, or accepted when ignorable.
        let e = MessageWebSocket::connect(&url(expired), MessageWebSocketControl::default())
            .await
            .unwrap_err();
        assert_eq!(e.status(), WebErrorStatus::CertificateExpired, "{e:?}");
        let mut c = MessageWebSocketControl::default();
        c.ignorable_server_certificate_errors = vec![Cvr::Expired];
        let ws = MessageWebSocket::connect(&url(expired), c)
            .await
            .expect("expired, and Expired ignorable");
        assert_eq!(ws.information().server_certificate_errors(), [Cvr::Expired]);
        drop(ws);

        // A CA the store lacks: untrusted, whatever else is ignorable.
        let e = MessageWebSocket::connect(&url(stranger), MessageWebSocketControl::default())
            .await
            .unwrap_err();
        assert_eq!(e.status(), WebErrorStatus::CertificateIsInvalid, "{e:?}");

        // The hook sees a trusted chain and may still say no.
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let mut c = MessageWebSocketControl::default();
        c.server_custom_validation = Some(ServerCustomValidation::new(move |req| {
            // Counted only for a chain with nothing wrong with it.
            if req.server_certificate_errors.is_empty() {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            false
        }));
        let e = MessageWebSocket::connect(&url(good), c).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(matches!(e, wsock::Error::Tls(_)), "{e:?}");
    });
}
