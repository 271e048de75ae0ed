//! Connector tests: real loopback sockets for TCP and TLS, and a fake
//! per-address connector for the happy-eyeballs timing (no traffic leaves
//! the machine: the fake addresses are never dialled).
// The TLS tests need a provider compiled in; without one their helpers
// are unused.
#![cfg_attr(
    not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")),
    allow(dead_code, unused_imports)
)]

use std::future::pending;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::*;
use crate::WebErrorStatus;

fn v4(last: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, last], 80))
}

fn v6(last: u16) -> SocketAddr {
    SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, last], 80))
}

fn refused() -> io::Error {
    io::Error::from(io::ErrorKind::ConnectionRefused)
}

fn target(url: &str) -> Target {
    Target::parse(url).unwrap()
}

// ---- happy eyeballs with a fake connector ----

#[tokio::test]
async fn tries_at_most_five_addresses_interleaved() {
    let given = vec![v6(1), v6(2), v6(3), v6(4), v4(1), v4(2), v4(3)];
    let mut tried = Vec::new();
    let err = connect_addrs(given, &ConnectOptions::default(), |a| {
        tried.push(a);
        async { Err::<(), _>(refused()) }
    })
    .await
    .unwrap_err();
    assert_eq!(tried, [v6(1), v4(1), v6(2), v4(2), v6(3)]);
    match &err {
        Error::Connect { addr, source } => {
            assert_eq!(*addr, v6(3));
            assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{other:?}"),
    }
    // Every attempt refused: CannotConnect.
    assert_eq!(err.status(), WebErrorStatus::CannotConnect);
}

#[tokio::test]
async fn max_addresses_is_configurable() {
    let opts = ConnectOptions {
        max_addresses: 2,
        ..ConnectOptions::default()
    };
    let mut tried = Vec::new();
    let _ = connect_addrs(vec![v4(1), v4(2), v6(1), v6(2)], &opts, |a| {
        tried.push(a);
        async { Err::<(), _>(refused()) }
    })
    .await;
    assert_eq!(tried, [v4(1), v6(1)]);
}

#[tokio::test]
async fn slow_first_address_does_not_hold_up_the_second() {
    let opts = ConnectOptions::default();
    let guard = Arc::new(());
    let start = Instant::now();
    let mut started = Vec::new();
    let (addr, value) = connect_addrs(vec![v6(1), v4(1)], &opts, |a| {
        started.push(Instant::now() - start);
        let guard = guard.clone();
        async move {
            if a == v6(1) {
                // Never answers.
                let _hold = guard;
                pending::<()>().await;
            }
            Ok(a.port())
        }
    })
    .await
    .unwrap();
    let elapsed = start.elapsed();
    assert_eq!((addr, value), (v4(1), 80));
    assert_eq!(started.len(), 2);
    assert!(started[1] >= opts.attempt_delay, "{started:?}");
    assert!(
        elapsed >= opts.attempt_delay && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    // The losing attempt was dropped.
    assert_eq!(Arc::strong_count(&guard), 1);
}

#[tokio::test]
async fn a_failure_starts_the_next_attempt_at_once() {
    let opts = ConnectOptions {
        attempt_delay: Duration::from_secs(30),
        ..Default::default()
    };
    let start = Instant::now();
    let (addr, ()) = connect_addrs(vec![v4(1), v4(2)], &opts, |a| async move {
        if a == v4(1) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Err(refused());
        }
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(addr, v4(2));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn attempts_are_staggered_until_the_overall_timeout() {
    let opts = ConnectOptions {
        attempt_delay: Duration::from_millis(200),
        ..Default::default()
    };
    let start = Instant::now();
    let mut started = Vec::new();
    let err = with_connect_timeout(
        Some(Duration::from_millis(700)),
        connect_addrs(
            vec![v4(1), v4(2), v4(3), v4(4), v4(5), v4(6)],
            &opts,
            |_| {
                started.push(Instant::now() - start);
                pending::<io::Result<()>>()
            },
        ),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Timeout(TimeoutKind::Connect)),
        "{err:?}"
    );
    assert_eq!(err.status(), WebErrorStatus::Timeout);
    // Attempts at about 0, 200, 400, 600 ms: one per attempt delay.
    assert!((3..=4).contains(&started.len()), "{started:?}");
    for pair in started.windows(2) {
        assert!(pair[1] - pair[0] >= opts.attempt_delay, "{started:?}");
    }
}

#[tokio::test]
async fn attempt_timeout_moves_on_and_reports_timeout() {
    let opts = ConnectOptions {
        attempt_timeout: Some(Duration::from_millis(100)),
        attempt_delay: Duration::from_secs(30),
        ..Default::default()
    };
    let start = Instant::now();
    let err = connect_addrs(vec![v4(1), v4(2)], &opts, |_| pending::<io::Result<()>>())
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    match &err {
        Error::Connect { addr, source } => {
            assert_eq!(*addr, v4(2));
            assert_eq!(source.kind(), io::ErrorKind::TimedOut);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), WebErrorStatus::Timeout);
}

/// One address takes a path of its own: it answers as the general one.
#[tokio::test]
async fn one_address_succeeds_fails_and_times_out_as_in_a_list() {
    let (addr, value) = connect_addrs(vec![v6(7)], &ConnectOptions::default(), |a| async move {
        Ok(a.port())
    })
    .await
    .unwrap();
    assert_eq!((addr, value), (v6(7), 80));

    let err = connect_addrs(vec![v4(3)], &ConnectOptions::default(), |_| async {
        Err::<(), _>(refused())
    })
    .await
    .unwrap_err();
    match &err {
        Error::Connect { addr, source } => {
            assert_eq!(*addr, v4(3));
            assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{other:?}"),
    }

    let opts = ConnectOptions {
        attempt_timeout: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    let err = connect_addrs(vec![v4(4)], &opts, |_| pending::<io::Result<()>>())
        .await
        .unwrap_err();
    match &err {
        Error::Connect { addr, source } => {
            assert_eq!(*addr, v4(4));
            assert_eq!(source.kind(), io::ErrorKind::TimedOut);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), WebErrorStatus::Timeout);
}

#[tokio::test]
async fn no_addresses_is_an_error() {
    let err = connect_addrs(Vec::new(), &ConnectOptions::default(), |_| async { Ok(()) })
        .await
        .unwrap_err();
    assert!(err.is_invalid_argument());
}

#[tokio::test]
async fn no_timeout_means_no_limit() {
    let value = with_connect_timeout(None, async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(7)
    })
    .await
    .unwrap();
    assert_eq!(value, 7);
}

// ---- TCP on loopback ----

async fn echo_once(listener: TcpListener) -> JoinHandle<io::Result<()>> {
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await?;
        s.write_all(&buf[..n]).await?;
        s.shutdown().await
    })
}

async fn roundtrip(t: &mut Transport) {
    let bufs = [IoSlice::new(b"hel"), IoSlice::new(b"lo")];
    let n = t.write_vectored(&bufs).await.unwrap();
    t.write_all(&b"hello"[n..]).await.unwrap();
    t.flush().await.unwrap();
    let mut back = Vec::new();
    t.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"hello");
    t.shutdown().await.unwrap();
}

#[tokio::test]
async fn connects_over_tcp_with_nodelay() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = echo_once(listener).await;
    let mut t = connect(
        &target(&format!("ws://127.0.0.1:{}/chat", addr.port())),
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(matches!(t, Transport::Tcp(_)));
    assert!(t.tcp().unwrap().nodelay().unwrap());
    assert_eq!(t.peer_addr(), Some(addr));
    assert!(t.local_addr().unwrap().ip().is_loopback());
    assert!(t.peer_certificates().is_none());
    assert!(t.is_write_vectored());
    roundtrip(&mut t).await;
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn nodelay_can_be_left_off() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let opts = ConnectOptions {
        no_delay: false,
        ..Default::default()
    };
    let t = connect(&target(&format!("ws://localhost:{port}/")), &opts)
        .await
        .unwrap();
    assert!(!t.tcp().unwrap().nodelay().unwrap());
    t.set_nodelay(true).unwrap();
    assert!(t.tcp().unwrap().nodelay().unwrap());
    drop(listener);
}

#[tokio::test]
async fn connects_over_ipv6_loopback_when_available() {
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    let addr = listener.local_addr().unwrap();
    let t = connect(
        &target(&format!("ws://[::1]:{}/x?y=1", addr.port())),
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(t.peer_addr(), Some(addr));
}

#[tokio::test]
async fn closed_port_cannot_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = connect(
        &target(&format!("ws://127.0.0.1:{}/", addr.port())),
        &Default::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Connect { addr: a, .. } if a == addr),
        "{err:?}"
    );
    assert_eq!(err.status(), WebErrorStatus::CannotConnect);
}

#[tokio::test]
async fn unknown_host_is_not_resolved() {
    let opts = ConnectOptions {
        connect_timeout: Some(Duration::from_secs(20)),
        ..Default::default()
    };
    let start = Instant::now();
    let err = connect(&target("ws://nothing.invalid/"), &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Resolve { host, .. } if host == "nothing.invalid"),
        "{err:?}"
    );
    assert_eq!(err.status(), WebErrorStatus::HostNameNotResolved);
    eprintln!("nothing.invalid answered in {:?}", start.elapsed());
}

#[tokio::test]
async fn other_transport_reads_and_writes() {
    let (a, mut b) = tokio::io::duplex(64);
    let mut t = Transport::Other(Box::new(a));
    assert_eq!(t.local_addr(), None);
    assert_eq!(t.peer_addr(), None);
    t.set_nodelay(true).unwrap();
    t.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    b.write_all(b"pong").await.unwrap();
    t.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");
    assert!(format!("{t:?}").contains("Other"));
}

// ---- TLS on loopback ----

fn new_ca() -> (CertificateDer<'static>, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "wsock test CA");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.der().clone(), Issuer::new(params, key))
}

fn new_leaf(
    issuer: &Issuer<'static, KeyPair>,
    names: &[&str],
    expired: bool,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params
        .extended_key_usages
        .push(ExtendedKeyUsagePurpose::ServerAuth);
    if expired {
        params.not_before = date_time_ymd(2000, 1, 1);
        params.not_after = date_time_ymd(2001, 1, 1);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
}

/// A TLS server on loopback for one connection: it offers ALPN `h2` and
/// `http/1.1` (so a client offering either would get it), echoes what it
/// reads, and hands its side back as a `Transport::ServerTls`.
async fn tls_server(
    leaf: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (u16, JoinHandle<io::Result<Transport>>) {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf], key)
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let tls = acceptor.accept(tcp).await?;
        let mut t = Transport::ServerTls(Box::new(tls));
        let mut buf = [0u8; 64];
        let n = t.read(&mut buf).await?;
        t.write_all(&buf[..n]).await?;
        t.shutdown().await?;
        Ok(t)
    });
    (port, server)
}

#[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs"))]
#[tokio::test]
async fn tls_connects_with_a_custom_root() {
    let (ca, issuer) = new_ca();
    let config = tls_config_with_roots([ca.clone()], false).unwrap();
    assert!(config.alpn_protocols.is_empty());
    for host in ["localhost", "127.0.0.1"] {
        let (leaf, key) = new_leaf(&issuer, &["localhost", "127.0.0.1"], false);
        let (port, server) = tls_server(leaf.clone(), key).await;
        let opts = ConnectOptions {
            tls: Some(config.clone()),
            ..Default::default()
        };
        let mut t = connect(&target(&format!("wss://{host}:{port}/")), &opts)
            .await
            .unwrap();
        let Transport::ClientTls(tls) = &t else {
            panic!("{t:?}")
        };
        // No ALPN offered, though the server would have picked h2.
        assert_eq!(tls.get_ref().1.alpn_protocol(), None);
        assert_eq!(t.peer_certificates().unwrap(), [leaf]);
        assert!(t.tcp().unwrap().nodelay().unwrap());
        assert_eq!(t.peer_addr().unwrap().port(), port);
        roundtrip(&mut t).await;
        let server_side = server.await.unwrap().unwrap();
        assert!(matches!(server_side, Transport::ServerTls(_)));
        assert!(server_side.peer_certificates().is_none());
        assert_eq!(server_side.local_addr().unwrap().port(), port);
    }
}

async fn tls_failure(names: &[&str], expired: bool, trust_our_ca: bool) -> Error {
    let (ca, issuer) = new_ca();
    let (leaf, key) = new_leaf(&issuer, names, expired);
    let (port, server) = tls_server(leaf, key).await;
    let tls = trust_our_ca.then(|| tls_config_with_roots([ca], false).unwrap());
    let opts = ConnectOptions {
        tls,
        ..Default::default()
    };
    let err = connect(&target(&format!("wss://localhost:{port}/")), &opts)
        .await
        .unwrap_err();
    // The server sees the client's alert.
    assert!(server.await.unwrap().is_err());
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
    err
}

#[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs"))]
#[tokio::test]
async fn tls_expired_certificate() {
    let err = tls_failure(&["localhost"], true, true).await;
    assert_eq!(err.status(), WebErrorStatus::CertificateExpired, "{err:?}");
}

#[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs"))]
#[tokio::test]
async fn tls_certificate_for_another_name() {
    let err = tls_failure(&["other.example"], false, true).await;
    assert_eq!(
        err.status(),
        WebErrorStatus::CertificateCommonNameIsIncorrect,
        "{err:?}"
    );
}

#[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs"))]
#[tokio::test]
async fn tls_unknown_issuer_with_the_default_roots() {
    let err = tls_failure(&["localhost"], false, false).await;
    assert_eq!(
        err.status(),
        WebErrorStatus::CertificateIsInvalid,
        "{err:?}"
    );
}

#[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs"))]
#[test]
fn tls_configs() {
    let a = default_tls_config().unwrap();
    assert!(Arc::ptr_eq(&a, &default_tls_config().unwrap()));
    assert!(a.alpn_protocols.is_empty());
    let (ca, _) = new_ca();
    assert!(tls_config_with_roots([ca], true).is_ok());
    // The default roots alone: some with webpki-roots compiled in; none
    // without a roots feature, which is no configuration at all.
    if cfg!(feature = "webpki-roots") {
        assert!(tls_config_with_roots([], true).is_ok());
    } else if cfg!(not(any(
        feature = "native-roots",
        feature = "platform-verifier"
    ))) {
        assert!(
            tls_config_with_roots([], true)
                .unwrap_err()
                .is_invalid_argument()
        );
    }
    assert!(
        tls_config_with_roots([], false)
            .unwrap_err()
            .is_invalid_argument()
    );
    let junk = CertificateDer::from(vec![1u8, 2, 3]);
    assert!(
        tls_config_with_roots([junk], true)
            .unwrap_err()
            .is_invalid_argument()
    );
}

#[test]
fn connect_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let t = target("wss://example.com/");
    let opts = ConnectOptions::default();
    assert_send(&connect(&t, &opts));
    assert_send(&open(&t, &opts));
}
