//! Proxy selection, the CONNECT exchange against fake proxies on loopback,
//! and the bounds on what a proxy may send.

use tokio::net::TcpListener;

use super::*;
use crate::WebErrorStatus;

fn target(url: &str) -> Target {
    Target::parse(url).unwrap()
}

fn server(host: &str, port: u16) -> ProxyServer {
    ProxyServer {
        kind: ProxyKind::Http,
        host: host.into(),
        port,
        credential: None,
    }
}

#[test]
fn proxy_urls() {
    let ok = |u: &str| parse_proxy_url(u).unwrap_or_else(|e| panic!("{u}: {e}"));
    assert_eq!(
        ok("http://proxy.example:3128"),
        server("proxy.example", 3128)
    );
    assert_eq!(
        ok("HTTP://Proxy.Example:3128/"),
        server("proxy.example", 3128)
    );
    assert_eq!(ok("proxy.example:8080"), server("proxy.example", 8080));
    assert_eq!(ok("http://proxy.example"), server("proxy.example", 80));
    assert_eq!(ok("http://[::1]:3128"), server("::1", 3128));
    assert_eq!(ok(" 127.0.0.1:3128 "), server("127.0.0.1", 3128));
    assert_eq!(
        ok("http://us%40er:p%3Ass@proxy:1").credential,
        Some(Credential::new("us@er", "p:ss"))
    );
    let socks = |host: &str, port, remote_dns| ProxyServer {
        kind: ProxyKind::Socks5 { remote_dns },
        ..server(host, port)
    };
    assert_eq!(ok("socks5://proxy:1081"), socks("proxy", 1081, false));
    assert_eq!(
        ok("socks5h://Proxy.Example"),
        socks("proxy.example", 1080, true)
    );
    assert_eq!(ok("SOCKS5H://127.0.0.1:9/"), socks("127.0.0.1", 9, true));
    assert_eq!(ok("socks5://[::1]"), socks("::1", 1080, false));
    assert_eq!(
        ok("socks5h://us%40er:p%3Ass@proxy:1").credential,
        Some(Credential::new("us@er", "p:ss"))
    );
    for bad in [
        "https://proxy:443",
        "socks4://proxy:1080",
        "socks://proxy:1080",
        "socks5h://proxy:1080/path",
        "socks5://",
        "http://proxy:3128/path",
        "http://proxy:3128/?q",
        "http://",
        "http://proxy:99999",
        "",
    ] {
        assert!(
            parse_proxy_url(bad).unwrap_err().is_invalid_argument(),
            "{bad}"
        );
    }
}

#[test]
fn environment_variables() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        ProxyConfig::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    };
    let ws = target("ws://example.com/");
    let wss = target("wss://example.com/");

    let none = env(&[]).unwrap();
    assert_eq!(none.server_for(&ws), None);
    assert_eq!(none.server_for(&wss), None);

    let c = env(&[("HTTP_PROXY", "http://h:1"), ("HTTPS_PROXY", "http://s:2")]).unwrap();
    assert_eq!(c.server_for(&ws), Some(&server("h", 1)));
    assert_eq!(c.server_for(&wss), Some(&server("s", 2)));

    // Lower case first; empty is unset; ALL_PROXY fills in.
    let c = env(&[
        ("http_proxy", "http://lower:1"),
        ("HTTP_PROXY", "http://upper:1"),
        ("https_proxy", ""),
        ("ALL_PROXY", "all:3"),
    ])
    .unwrap();
    assert_eq!(c.server_for(&ws), Some(&server("lower", 1)));
    assert_eq!(c.server_for(&wss), Some(&server("all", 3)));

    let c = env(&[
        ("all_proxy", "http://all:3"),
        (
            "NO_PROXY",
            "example.com:443, .internal , 10.0.0.0/8,[::1],*.corp",
        ),
        ("no_proxy", ""),
    ])
    .unwrap();
    assert_eq!(c.server_for(&ws), Some(&server("all", 3)));
    assert_eq!(c.server_for(&wss), None);
    assert_eq!(c.server_for(&target("ws://a.b.internal/")), None);
    assert_eq!(c.server_for(&target("ws://internal/")), None);
    assert_eq!(
        c.server_for(&target("ws://xinternal/")),
        Some(&server("all", 3))
    );
    assert_eq!(c.server_for(&target("ws://10.2.3.4/")), None);
    assert_eq!(
        c.server_for(&target("ws://11.2.3.4/")),
        Some(&server("all", 3))
    );
    assert_eq!(c.server_for(&target("ws://[::1]:9/")), None);
    assert_eq!(c.server_for(&target("ws://x.CORP/")), None);

    let c = env(&[("https_proxy", "http://s:2"), ("no_proxy", "*")]).unwrap();
    assert_eq!(c.server_for(&wss), None);

    // A SOCKS5 proxy in any of them, ALL_PROXY filling in for both.
    let c = env(&[
        ("ALL_PROXY", "socks5h://all:5"),
        ("HTTP_PROXY", "socks5://h:6"),
    ])
    .unwrap();
    let socks = |host: &str, port, remote_dns| ProxyServer {
        kind: ProxyKind::Socks5 { remote_dns },
        ..server(host, port)
    };
    assert_eq!(c.server_for(&ws), Some(&socks("h", 6, false)));
    assert_eq!(c.server_for(&wss), Some(&socks("all", 5, true)));

    let e = env(&[("HTTPS_PROXY", "socks4://s:1")]).unwrap_err();
    assert!(
        e.is_invalid_argument() && e.to_string().contains("HTTPS_PROXY"),
        "{e}"
    );
}

#[test]
fn no_proxy_elements() {
    let p = ProxyConfig::new("http://p:1")
        .unwrap()
        .with_no_proxy("localhost 127.0.0.1:9 fd00::/8 bad!name 1.2.3.4/40");
    let via = |u: &str| p.server_for(&target(u)).is_some();
    assert!(!via("ws://localhost/"));
    assert!(!via("ws://127.0.0.1:9/"));
    assert!(via("ws://127.0.0.1:10/"));
    assert!(!via("ws://[fd12::1]/"));
    assert!(via("ws://[fe80::1]/"));
    assert!(via("ws://1.2.3.4/"));
    assert!(via("ws://example.com/"));
    assert_eq!(parse_no_proxy(" , ,"), []);
    assert_eq!(
        parse_no_proxy("0.0.0.0/0"),
        [NoProxy::Net([0, 0, 0, 0].into(), 0)]
    );
    assert!(NoProxy::Net([0, 0, 0, 0].into(), 0).matches("9.9.9.9", 1));
    assert!(!NoProxy::Net([0, 0, 0, 0].into(), 0).matches("::1", 1));
}

#[test]
fn heads() {
    let limits = Limits::default();
    assert!(
        parse_head(b"HTTP/1.1 200 OK\r\n", &limits)
            .unwrap()
            .is_none()
    );
    let h = parse_head(b"HTTP/1.0 200 Connection established\r\n\r\nxyz", &limits)
        .unwrap()
        .unwrap();
    assert_eq!((h.version, h.status, h.len), (0, 200, 39));
    assert_eq!(h.reason, "Connection established");
    assert!(matches!(
        parse_head(b"SSH-2.0-OpenSSH\r\n\r\n", &limits),
        Err(HandshakeError::Malformed(_))
    ));
    let small = Limits {
        max_head_size: 64,
        ..Limits::default()
    };
    let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n", "a".repeat(100));
    assert_eq!(
        parse_head(long.as_bytes(), &small).unwrap_err(),
        HandshakeError::HeadTooLarge
    );
}

/// A fake proxy on loopback: reads the CONNECT head, answers `answer`
/// (in pieces, to exercise the peeking), then sends `tunnel_bytes`;
/// then hangs up if `hang_up`, else waits for the client to.
async fn fake_proxy(
    answer: &'static [u8],
    tunnel_bytes: &'static [u8],
    hang_up: bool,
) -> (u16, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.ends_with(b"\r\n\r\n") {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        // The client may hang up as soon as it has seen enough.
        for piece in answer.chunks(7) {
            let _ = s.write_all(piece).await;
            let _ = s.flush().await;
            tokio::task::yield_now().await;
        }
        let _ = s.write_all(tunnel_bytes).await;
        if !hang_up {
            let _ = s.read(&mut buf).await;
        }
        String::from_utf8(got).unwrap()
    });
    (port, task)
}

#[tokio::test]
async fn tunnel_keeps_the_bytes_after_the_head() {
    let (port, proxy) = fake_proxy(
        b"HTTP/1.1 200 Connection established\r\nX-A: b\r\n\r\n",
        b"first bytes of the tunnel",
        false,
    )
    .await;
    let mut p = server("127.0.0.1", port);
    p.credential = Some(Credential::new("u", "p"));
    let t = target("wss://[::1]:8443/x");
    let (addr, mut tcp) = tunnel(&p, &t, None, &ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(addr, tcp.peer_addr().unwrap());
    let mut got = vec![0u8; 25];
    tcp.read_exact(&mut got).await.unwrap();
    assert_eq!(got, b"first bytes of the tunnel");
    drop(tcp);
    let request = proxy.await.unwrap();
    assert_eq!(
        request,
        "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
    );
}

#[tokio::test]
async fn tunnel_refusals() {
    #[rustfmt::skip]
    let cases: [(&[u8], WebErrorStatus); 6] = [
        (b"HTTP/1.0 403 Forbidden\r\n\r\n", WebErrorStatus::Forbidden),
        (b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n",
         WebErrorStatus::ProxyAuthenticationRequired),
        (b"HTTP/1.0 401 Unauthorized\r\n\r\n", WebErrorStatus::ProxyAuthenticationRequired),
        (b"HTTP/1.1 502 Bad Gateway\r\n\r\n", WebErrorStatus::BadGateway),
        (b"garbage\r\n\r\n", WebErrorStatus::ErrorHttpInvalidServerResponse),
        (b"HTTP/1.1 200 OK\r\n", WebErrorStatus::Disconnected),
    ];
    for (answer, status) in cases {
        let (port, proxy) = fake_proxy(answer, b"", true).await;
        let err = tunnel(
            &server("127.0.0.1", port),
            &target("ws://example.com/"),
            Some(&Credential::new("a", "b")),
            &ConnectOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Proxy(_)), "{err:?}");
        assert_eq!(err.status(), status, "{err:?}");
        if answer.starts_with(b"HTTP/1.1 407") {
            assert_eq!(
                err.http_response().unwrap().header("proxy-authenticate"),
                Some("Basic realm=\"p\"")
            );
        }
        let request = proxy.await.unwrap();
        assert!(
            request.starts_with("CONNECT example.com:80 HTTP/1.1\r\nHost: example.com:80\r\n"),
            "{request}"
        );
        assert!(
            request.contains("Proxy-Authorization: Basic YTpi\r\n"),
            "{request}"
        );
    }
}

#[tokio::test]
async fn endless_proxy_head_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf).await.unwrap();
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
        let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        // Until the client gives up and hangs up.
        while s.write_all(line).await.is_ok() {}
    });
    let err = tunnel(
        &server("127.0.0.1", port),
        &target("ws://example.com/"),
        None,
        &ConnectOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Proxy(HandshakeError::HeadTooLarge)),
        "{err:?}"
    );
    task.await.unwrap();
}
