//! The SOCKS5 codec, the handshake against scripted proxies (in-memory
//! pipes and loopback listeners), and the bounds on what a proxy may send.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::TcpListener;

use super::*;
use crate::connect::Resolve;
use crate::connect::proxy::ProxyKind;

fn v4(a: [u8; 4], port: u16) -> Destination<'static> {
    Destination::Addr(SocketAddr::from((a, port)))
}

#[test]
fn greeting_offers_only_the_methods_we_can_answer() {
    assert_eq!(greeting(false), [5, 1, 0]);
    assert_eq!(greeting(true), [5, 2, 0, 2]);
}

#[test]
fn the_chosen_method_must_be_one_offered() {
    assert_eq!(chosen_method([5, 0], false), Ok(false));
    assert_eq!(chosen_method([5, 0], true), Ok(false));
    assert_eq!(chosen_method([5, 2], true), Ok(true));
    assert_eq!(
        chosen_method([5, 0xff], false),
        Err(SocksError::NoAcceptableMethod)
    );
    // User name and password without a credential, GSSAPI, anything else.
    for method in [2u8, 1, 3, 0x80, 0xfe] {
        let e = chosen_method([5, method], false).unwrap_err();
        assert!(
            matches!(&e, SocksError::Malformed(m) if m.contains("not offered")),
            "{method}: {e:?}"
        );
        assert_eq!(e.status(), WebErrorStatus::ErrorHttpInvalidServerResponse);
    }
    // An HTTP proxy's "HT", a SOCKS4 answer.
    for answer in [*b"HT", [0, 0x5a], [4, 0]] {
        let e = chosen_method(answer, true).unwrap_err();
        assert!(
            matches!(&e, SocksError::Malformed(m) if m.contains("version")),
            "{answer:?}: {e:?}"
        );
    }
}

#[test]
fn auth_request_is_rfc_1929() {
    assert_eq!(
        auth_request(&Credential::new("user", "pw")).unwrap(),
        b"\x01\x04user\x02pw"
    );
    // Bytes, not characters: "é" is two.
    assert_eq!(
        auth_request(&Credential::new("é", "")).unwrap(),
        b"\x01\x02\xc3\xa9\x00"
    );
    let max = "a".repeat(255);
    let r = auth_request(&Credential::new(max.clone(), max.clone())).unwrap();
    assert_eq!(r.len(), 3 + 255 + 255);
    assert_eq!((r[1], r[257]), (255, 255));
}

#[test]
fn credentials_over_255_bytes_are_invalid_arguments() {
    let long = "a".repeat(256);
    for c in [
        Credential::new(long.clone(), "pw"),
        Credential::new("user", long.clone()),
        // 128 two-byte characters: 256 bytes.
        Credential::new("é".repeat(128), "pw"),
        Credential::new("", "pw"),
    ] {
        let e = auth_request(&c).unwrap_err();
        assert!(e.is_invalid_argument(), "{e:?}");
        // The message gives the length, not the secret.
        assert!(!e.to_string().contains(&long), "{e}");
    }
}

#[test]
fn auth_answers() {
    assert_eq!(check_auth_answer([1, 0]), Ok(()));
    for status in [1u8, 2, 0xff] {
        let e = check_auth_answer([1, status]).unwrap_err();
        assert_eq!(
            e,
            SocksError::AuthenticationFailed {
                status: Some(status)
            }
        );
        assert_eq!(e.status(), WebErrorStatus::ProxyAuthenticationRequired);
    }
    assert!(matches!(
        check_auth_answer([5, 0]),
        Err(SocksError::Malformed(_))
    ));
}

#[test]
fn connect_requests_for_each_address_type() {
    assert_eq!(
        connect_request(&v4([127, 0, 0, 1], 0x1f90)).unwrap(),
        [5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]
    );
    let v6 = Destination::Addr("[2001:db8::1]:443".parse().unwrap());
    let mut want = vec![5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8];
    want.extend_from_slice(&[0; 11]);
    want.extend_from_slice(&[1, 0x01, 0xbb]);
    assert_eq!(connect_request(&v6).unwrap(), want);
    assert_eq!(
        connect_request(&Destination::Name("example.com", 80)).unwrap(),
        b"\x05\x01\x00\x03\x0bexample.com\x00\x50"
    );
    let long = "a".repeat(256);
    assert!(
        connect_request(&Destination::Name(&long, 80))
            .unwrap_err()
            .is_invalid_argument()
    );
    assert!(
        connect_request(&Destination::Name("", 80))
            .unwrap_err()
            .is_invalid_argument()
    );
}

#[test]
fn each_reply_code_maps_to_its_status_and_is_kept() {
    #[rustfmt::skip]
    let table = [
        (1u8, WebErrorStatus::CannotConnect, "general SOCKS server failure"),
        (2, WebErrorStatus::Forbidden, "connection not allowed by ruleset"),
        (3, WebErrorStatus::ServerUnreachable, "network unreachable"),
        (4, WebErrorStatus::ServerUnreachable, "host unreachable"),
        (5, WebErrorStatus::CannotConnect, "connection refused"),
        (6, WebErrorStatus::Timeout, "TTL expired"),
        (7, WebErrorStatus::NotImplemented, "command not supported"),
        (8, WebErrorStatus::NotImplemented, "address type not supported"),
        (9, WebErrorStatus::CannotConnect, "unassigned reply code"),
        (0xff, WebErrorStatus::CannotConnect, "unassigned reply code"),
    ];
    let dest = Destination::Name("example.com", 80);
    assert_eq!(check_reply([5, 0], &dest), Ok(()));
    for (code, status, text) in table {
        let e = check_reply([5, code], &dest).unwrap_err();
        assert_eq!(e.reply_code(), Some(code));
        assert_eq!(e.status(), status, "{code}");
        let err = Error::Socks(e);
        assert_eq!(err.status(), status, "{code}");
        let report = err.report();
        assert!(
            report.contains(text)
                && report.contains(&format!("(reply {code})"))
                && report.contains("example.com:80"),
            "{report}"
        );
    }
    assert!(matches!(
        check_reply([0x48, 0x54], &dest),
        Err(SocksError::Malformed(_))
    ));
}

#[test]
fn bound_address_lengths() {
    assert_eq!(bound_address_len(1), Ok(Some(6)));
    assert_eq!(bound_address_len(4), Ok(Some(18)));
    assert_eq!(bound_address_len(3), Ok(None));
    for atyp in [0u8, 2, 5, 0xff] {
        assert!(matches!(
            bound_address_len(atyp),
            Err(SocksError::Malformed(_))
        ));
    }
}

/// A proxy on the other end of a pipe that sends `answer` at once (the
/// client reads it step by step) and closes its side, then returns
/// everything the client wrote, once the client hangs up.
fn scripted(answer: Vec<u8>) -> (DuplexStream, tokio::task::JoinHandle<Vec<u8>>) {
    let (client, mut proxy) = tokio::io::duplex(4096);
    let task = tokio::spawn(async move {
        let _ = proxy.write_all(&answer).await;
        // Then the end of its output: a client waiting for more sees it.
        let _ = proxy.shutdown().await;
        let mut got = Vec::new();
        let _ = proxy.read_to_end(&mut got).await;
        got
    });
    (client, task)
}

const SUCCESS_V4: &[u8] = &[5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38];

#[tokio::test]
async fn without_credential_the_exchange_is_greeting_then_connect() {
    let mut answer = vec![5, 0];
    answer.extend_from_slice(SUCCESS_V4);
    answer.extend_from_slice(b"tunnel");
    let (mut client, proxy) = scripted(answer);
    let dest = Destination::Name("example.com", 443);
    handshake(&mut client, None, &dest).await.unwrap();
    // Nothing past the reply was read.
    let mut rest = [0u8; 6];
    client.read_exact(&mut rest).await.unwrap();
    assert_eq!(&rest, b"tunnel");
    drop(client);
    let mut want = vec![5, 1, 0];
    want.extend_from_slice(&connect_request(&dest).unwrap());
    assert_eq!(proxy.await.unwrap(), want);
}

#[tokio::test]
async fn with_credential_the_proxy_gets_it_when_it_asks() {
    // Bound address as a name (ATYP 3), and the tunnel's first bytes.
    let mut answer = vec![5, 2, 1, 0, 5, 0, 0, 3, 4];
    answer.extend_from_slice(b"host\x00\x50first");
    let (mut client, proxy) = scripted(answer);
    let auth = auth_request(&Credential::new("u", "p")).unwrap();
    let dest = v4([127, 0, 0, 1], 80);
    handshake(&mut client, Some(&auth), &dest).await.unwrap();
    let mut rest = [0u8; 5];
    client.read_exact(&mut rest).await.unwrap();
    assert_eq!(&rest, b"first");
    drop(client);
    let mut want = vec![5, 2, 0, 2, 1, 1, b'u', 1, b'p'];
    want.extend_from_slice(&connect_request(&dest).unwrap());
    assert_eq!(proxy.await.unwrap(), want);

    // A proxy that chooses no authentication never sees the credential.
    let mut answer = vec![5, 0];
    answer.extend_from_slice(SUCCESS_V4);
    let (mut client, proxy) = scripted(answer);
    handshake(&mut client, Some(&auth), &dest).await.unwrap();
    drop(client);
    let mut want = vec![5, 2, 0, 2];
    want.extend_from_slice(&connect_request(&dest).unwrap());
    assert_eq!(proxy.await.unwrap(), want);
}

async fn fails_with(answer: &[u8], auth: bool) -> Error {
    let (mut client, _proxy) = scripted(answer.to_vec());
    let auth = auth.then(|| auth_request(&Credential::new("u", "p")).unwrap());
    handshake(&mut client, auth.as_deref(), &v4([127, 0, 0, 1], 80))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn truncated_answers_are_disconnections() {
    let full: Vec<u8> = [&[5, 0][..], SUCCESS_V4].concat();
    for cut in 0..full.len() {
        let e = fails_with(&full[..cut], false).await;
        assert!(
            matches!(e, Error::Socks(SocksError::Truncated)),
            "{cut}: {e:?}"
        );
        assert_eq!(e.status(), WebErrorStatus::Disconnected);
    }
    // A name-typed bound address cut inside the name.
    let e = fails_with(&[5, 0, 5, 0, 0, 3, 9, b'a', b'b'], false).await;
    assert!(matches!(e, Error::Socks(SocksError::Truncated)), "{e:?}");
}

#[tokio::test]
async fn a_hang_up_after_the_credential_is_its_refusal() {
    for answer in [&[5u8, 2][..], &[5, 2, 1]] {
        let e = fails_with(answer, true).await;
        assert!(
            matches!(
                e,
                Error::Socks(SocksError::AuthenticationFailed { status: None })
            ),
            "{e:?}"
        );
        assert_eq!(e.status(), WebErrorStatus::ProxyAuthenticationRequired);
    }
    let e = fails_with(&[5, 2, 1, 1], true).await;
    assert!(matches!(
        e,
        Error::Socks(SocksError::AuthenticationFailed { status: Some(1) })
    ));
}

#[tokio::test]
async fn garbage_is_refused_at_the_first_wrong_byte() {
    for (answer, auth) in [
        (&b"HTTP/1.1 400 Bad Request\r\n\r\n"[..], false),
        (&[5, 0, 4, 0, 0, 1][..], false),
        (&[5, 0, 5, 0, 0, 9][..], false),
        (&[5, 2, 5, 0][..], true),
        (&[5, 1][..], true),
    ] {
        let e = fails_with(answer, auth).await;
        assert!(
            matches!(e, Error::Socks(SocksError::Malformed(_))),
            "{answer:?}: {e:?}"
        );
        assert_eq!(e.status(), WebErrorStatus::ErrorHttpInvalidServerResponse);
    }
    let e = fails_with(&[5, 0xff], true).await;
    assert_eq!(e.status(), WebErrorStatus::ProxyAuthenticationRequired);
    let e = fails_with(&[5, 0, 5, 4, 0, 1], false).await;
    assert_eq!(e.status(), WebErrorStatus::ServerUnreachable);
}

/// Resolves every name to `addrs`, counting the look-ups.
#[derive(Debug)]
struct Fixed {
    addrs: Vec<SocketAddr>,
    asked: AtomicUsize,
}

impl Resolve for Fixed {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        self.asked.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move { Ok(self.addrs.clone()) })
    }
}

/// A SOCKS5 proxy on loopback that, for each connection, reads the
/// greeting and the request and answers the reply codes in `replies`
/// in turn (0 is success); returns the requests' destinations as sent.
async fn listening_proxy(replies: Vec<u8>) -> (u16, tokio::task::JoinHandle<Vec<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        for code in replies {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut greeting = [0u8; 3];
            s.read_exact(&mut greeting).await.unwrap();
            assert_eq!(greeting, [5, 1, 0]);
            s.write_all(&[5, 0]).await.unwrap();
            let mut head = [0u8; 4];
            s.read_exact(&mut head).await.unwrap();
            let mut request = head.to_vec();
            let len = match head[3] {
                1 => 6,
                4 => 18,
                _ => {
                    let mut l = [0u8; 1];
                    s.read_exact(&mut l).await.unwrap();
                    request.push(l[0]);
                    usize::from(l[0]) + 2
                }
            };
            let mut rest = vec![0u8; len];
            s.read_exact(&mut rest).await.unwrap();
            request.extend_from_slice(&rest);
            seen.push(request);
            s.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0])
                .await
                .unwrap();
        }
        seen
    });
    (port, task)
}

fn socks_server(port: u16, remote_dns: bool) -> ProxyServer {
    ProxyServer {
        kind: ProxyKind::Socks5 { remote_dns },
        host: "127.0.0.1".into(),
        port,
        credential: None,
    }
}

#[tokio::test]
async fn socks5_resolves_here_and_tries_the_next_address_after_a_refusal() {
    let a: SocketAddr = "192.0.2.1:80".parse().unwrap();
    let b: SocketAddr = "192.0.2.2:80".parse().unwrap();
    let resolver = Arc::new(Fixed {
        addrs: vec![a, b],
        asked: AtomicUsize::new(0),
    });
    let opts = ConnectOptions {
        resolver: Some(resolver.clone()),
        ..ConnectOptions::default()
    };
    let target = Target::parse("ws://server.test/").unwrap();

    // Refused for the first address, opened for the second.
    let (port, proxy) = listening_proxy(vec![5, 0]).await;
    let (addr, _tcp) = tunnel(&socks_server(port, false), false, &target, None, &opts)
        .await
        .unwrap();
    assert_eq!(addr.port(), port);
    let seen = proxy.await.unwrap();
    let want = [a, b].map(|x| connect_request(&Destination::Addr(x)).unwrap());
    assert_eq!(seen, want);
    assert_eq!(resolver.asked.load(Ordering::Relaxed), 1);

    // Refused for both: the last refusal, with its code and address.
    let (port, proxy) = listening_proxy(vec![4, 5]).await;
    let e = tunnel(&socks_server(port, false), false, &target, None, &opts)
        .await
        .unwrap_err();
    assert_eq!(e.status(), WebErrorStatus::CannotConnect, "{}", e.report());
    assert!(
        matches!(&e, Error::Socks(SocksError::Reply { code: 5, target }) if target == "192.0.2.2:80"),
        "{e:?}"
    );
    proxy.await.unwrap();

    // socks5h: the name goes to the proxy, the resolver is not asked.
    let asked = resolver.asked.load(Ordering::Relaxed);
    let (port, proxy) = listening_proxy(vec![0]).await;
    tunnel(&socks_server(port, true), true, &target, None, &opts)
        .await
        .unwrap();
    assert_eq!(
        proxy.await.unwrap(),
        [connect_request(&Destination::Name("server.test", 80)).unwrap()]
    );
    assert_eq!(resolver.asked.load(Ordering::Relaxed), asked);
}

#[tokio::test]
async fn an_overlong_credential_is_refused_before_connecting() {
    // Nothing listens there: a connection attempt would fail differently.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let target = Target::parse("ws://127.0.0.1:9/").unwrap();
    let long = Credential::new("u", "p".repeat(256));
    let e = tunnel(
        &socks_server(port, true),
        true,
        &target,
        Some(&long),
        &ConnectOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(e.is_invalid_argument(), "{e:?}");
    // The URL's credential is checked the same way.
    let mut server = socks_server(port, true);
    server.credential = Some(Credential::new("u".repeat(300), "p"));
    let e = tunnel(&server, true, &target, None, &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(e.is_invalid_argument(), "{e:?}");
}
