//! TLS sessions resumed between connects that set the same certificate
//! options, and never across options that check differently: against
//! wsock's server role behind tokio-rustls, which records whether each
//! accepted connection resumed a session.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod certs;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use certs::{Ca, Seen, connect, round_trip, self_signed, tls_echo_server, trusting};
use wsock::certificates::parse_certificates;
use wsock::{
    ChainValidationResult as Cvr, ClientCertificate, MessageWebSocket, MessageWebSocketControl,
    ServerCustomValidation, WebErrorStatus,
};

/// Connects with `control` and makes one round trip and a clean close, so
/// that the session tickets the server sends after its handshake arrive.
async fn visit(port: u16, control: MessageWebSocketControl) -> MessageWebSocket {
    let mut ws = connect(port, control).await.unwrap();
    round_trip(&mut ws).await;
    ws
}

/// Waits until the server has recorded `n` accepted connections.
async fn resumed_after(seen: &Arc<Mutex<Seen>>, n: usize) -> Vec<bool> {
    for _ in 0..200 {
        let resumed = seen.lock().unwrap().resumed.clone();
        if resumed.len() >= n {
            return resumed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the server recorded fewer than {n} connections");
}

#[tokio::test]
async fn connects_with_equal_certificate_options_resume_the_tls_session() {
    let ca = Ca::new("wsock resumption CA");
    let leaf = ca.server(&["localhost"], false);
    let (addr, seen) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    // Two controls made apart, as a program making one per socket does.
    visit(addr.port(), trusting(&ca)).await;
    let ws = visit(addr.port(), trusting(&ca)).await;
    assert_eq!(resumed_after(&seen, 2).await, [false, true]);
    // A resumed session reports what a full check would: the server's
    // certificate, and nothing wrong with it.
    let info = ws.information();
    assert_eq!(info.server_certificate(), Some(&leaf.der));
    assert_eq!(info.server_certificate_errors(), []);
}

#[tokio::test]
async fn a_session_is_never_resumed_under_options_that_check_differently() {
    let ca = Ca::new("wsock resumption CA");
    let leaf = ca.server(&["localhost"], false);
    let (addr, seen) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    visit(addr.port(), trusting(&ca)).await;
    // The default roots do not hold this CA: a session resumed from the
    // connect above would let the chain through unchecked.
    let refused = connect(addr.port(), MessageWebSocketControl::default())
        .await
        .unwrap_err();
    assert_eq!(
        refused.status(),
        WebErrorStatus::CertificateIsInvalid,
        "{refused}"
    );
    // Other roots beside the same CA: a configuration of their own, so a
    // full handshake.
    let mut wider = trusting(&ca);
    wider
        .trusted_root_certificates
        .extend(parse_certificates(Ca::new("another CA").pem.as_bytes()).unwrap());
    visit(addr.port(), wider).await;
    let resumed = resumed_after(&seen, 2).await;
    assert_eq!(resumed, [false, false]);
}

#[tokio::test]
async fn a_client_certificate_is_never_presented_through_a_session_made_without_it() {
    let ca = Ca::new("wsock resumption CA");
    let leaf = ca.server(&["localhost"], false);
    let (addr, seen) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    visit(addr.port(), trusting(&ca)).await;
    let client = ca.client("client");
    let certificate = ClientCertificate::new(client.chain.clone(), client.key()).unwrap();
    let mut with_certificate = trusting(&ca);
    with_certificate.client_certificate = Some(certificate.clone());
    visit(addr.port(), with_certificate.clone()).await;
    // The same certificate (a clone of the value) again: that one resumes.
    visit(addr.port(), with_certificate).await;
    assert_eq!(resumed_after(&seen, 3).await, [false, false, true]);
}

#[tokio::test]
async fn the_validation_hook_sees_every_connection() {
    let ca = Ca::new("wsock resumption CA");
    let leaf = ca.server(&["localhost"], false);
    let (addr, seen) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let mut control = trusting(&ca);
    control.server_custom_validation = Some(ServerCustomValidation::new(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        true
    }));
    for _ in 0..3 {
        visit(addr.port(), control.clone()).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(resumed_after(&seen, 3).await, [false, false, false]);
}

#[tokio::test]
async fn ignored_problems_are_reported_by_every_connection() {
    let leaf = self_signed(&["localhost"]);
    let (addr, seen) = tls_echo_server(leaf.chain.clone(), leaf.key(), None).await;
    let mut control = MessageWebSocketControl::default();
    control
        .ignorable_server_certificate_errors
        .push(Cvr::Untrusted);
    for _ in 0..2 {
        let ws = visit(addr.port(), control.clone()).await;
        assert_eq!(
            ws.information().server_certificate_errors(),
            [Cvr::Untrusted]
        );
    }
    assert_eq!(resumed_after(&seen, 2).await, [false, false]);
}
