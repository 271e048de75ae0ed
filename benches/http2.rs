//! Many sockets to one origin over HTTP/2 (RFC 8441) against HTTP/1.1
//! (issue 15): `cargo bench --bench http2 [-- --repeat N]`.
//!
//! wsock's server role listens for `wss://` on loopback (TLS with ALPN,
//! HTTP/1.1 and HTTP/2 on one port) on a thread of its own; the client runs
//! on the main thread in a current-thread runtime, and its CPU time is that
//! thread's (`/proc/thread-self/schedstat`), so the server's work is not
//! counted. Both clients trust the run's own CA through the certificate
//! options, as an application would, so HTTP/1.1 connects resume their TLS
//! sessions (the shared configuration) and HTTP/2 sockets share one
//! connection.
//!
//! Rows, each the median and minimum over the repeats (the two versions
//! take turns within each repeat):
//! - opening sockets 2 to 100 while socket 1 stays open: over HTTP/1.1 each
//!   is a TCP connection, a TLS handshake and an upgrade; over HTTP/2 a
//!   stream on socket 1's connection;
//! - 2,000 round trips of 16 bytes on one socket.

#[path = "support/loopback.rs"]
mod loopback;

use std::sync::Arc;
use std::time::Duration;

use loopback::{Sample, measured, median_min, spawn_echo_server};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use wsock::server::{AcceptOptions, Listener};
use wsock::{HttpVersion, HttpVersionPolicy, MessageWebSocket, MessageWebSocketControl, Received};

const SOCKETS: usize = 100;
const ROUND_TRIPS: usize = 2_000;

/// A CA and a certificate for `localhost` it issued.
fn pki() -> (
    CertificateDer<'static>,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "wsock bench CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.extended_key_usages
        .push(ExtendedKeyUsagePurpose::ServerAuth);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (ca_cert.der().clone(), vec![leaf_cert.der().clone()], key)
}

/// Starts the echo server (`wss://`, HTTP/1.1 and HTTP/2) on its own
/// thread; its port.
fn start_server(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    spawn_echo_server(move || async move {
        let mut options = AcceptOptions::default();
        options.http2_max_concurrent_streams = 2 * SOCKETS as u32;
        Listener::bind_tls("127.0.0.1:0", options, Arc::new(tls))
            .await
            .unwrap()
    })
}

fn control(ca: &CertificateDer<'static>, version: HttpVersion) -> MessageWebSocketControl {
    let mut control = MessageWebSocketControl::default();
    control.trusted_root_certificates = vec![ca.clone()];
    control.use_default_roots = false;
    control.http_version = version;
    control.http_version_policy = HttpVersionPolicy::RequestVersionExact;
    control
}

/// Opens socket 1, then measures sockets 2 to [`SOCKETS`], then round
/// trips on socket 1; closes them all.
async fn run(url: &str, control: &MessageWebSocketControl, version: HttpVersion) -> [Sample; 2] {
    let mut first = MessageWebSocket::connect(url, control.clone())
        .await
        .unwrap();
    assert_eq!(first.information().http_version(), version);
    let mut others = Vec::with_capacity(SOCKETS);
    let open = measured(SOCKETS - 1, async {
        for _ in 1..SOCKETS {
            others.push(
                MessageWebSocket::connect(url, control.clone())
                    .await
                    .unwrap(),
            );
        }
    })
    .await;
    let trips = measured(ROUND_TRIPS, async {
        for _ in 0..ROUND_TRIPS {
            first.send_binary(&[7u8; 16][..]).await.unwrap();
            match first.receive().await.unwrap() {
                Received::Message(m) => assert_eq!(m.data().len(), 16),
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
    for mut ws in others.into_iter().chain([first]) {
        let _ = ws.close(1000, "").await;
    }
    [open, trips]
}

fn main() {
    let mut repeat = 5;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--repeat") {
        repeat = args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(repeat);
    }
    let (ca, chain, key) = pki();
    let port = start_server(chain, key);
    let url = format!("wss://localhost:{port}/");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let versions = [HttpVersion::Http11, HttpVersion::Http2];
    let mut results: Vec<[Vec<Sample>; 2]> =
        vec![[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    rt.block_on(async {
        for _ in 0..repeat {
            for (i, version) in versions.into_iter().enumerate() {
                let [open, trips] = run(&url, &control(&ca, version), version).await;
                results[i][0].push(open);
                results[i][1].push(trips);
                // Let the closed sockets' connections go before the next turn.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    println!(
        "{:<44} {:>22} {:>22}",
        "per operation, median (min) over repeats", "wall us", "client CPU us"
    );
    for (row, what) in [
        (0, format!("open sockets 2..{SOCKETS} to one origin")),
        (1, format!("{ROUND_TRIPS} round trips of 16 B")),
    ] {
        for (i, version) in versions.into_iter().enumerate() {
            let (wall, wall_min) = median_min(&results[i][row], |s| s.wall_us);
            let (cpu, cpu_min) = median_min(&results[i][row], |s| s.cpu_us);
            println!(
                "{:<44} {:>12.1} ({:>7.1}) {:>12.1} ({:>7.1})",
                format!("{what}, {version}"),
                wall,
                wall_min,
                cpu,
                cpu_min
            );
        }
    }
}
