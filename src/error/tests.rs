use super::*;

/// One of every variant, each with a cause where it keeps one. The
/// match has no wildcard: a new variant does not compile until it is
/// listed here.
fn one_of_each() -> Vec<Error> {
    let io = |msg: &str| io::Error::new(io::ErrorKind::UnexpectedEof, msg.to_owned());
    let response = || {
        Box::new(HttpResponse {
            status: 401,
            reason: "Unauthorized".into(),
            headers: vec![("location".into(), "wss://elsewhere/".into())],
            body: bytes::Bytes::new(),
        })
    };
    let all = vec![
        Error::InvalidArgument("bad URL".into()),
        Error::Resolve {
            host: "example.invalid".into(),
            source: io("no such host"),
        },
        Error::Connect {
            addr: "127.0.0.1:1".parse().unwrap(),
            source: io("connection refused"),
        },
        Error::Timeout(TimeoutKind::Receive),
        Error::Tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        )),
        Error::Handshake(HandshakeError::Status(response())),
        Error::Handshake(HandshakeError::InsecureRedirect(response())),
        Error::Handshake(HandshakeError::CrossOriginClientCertificate(response())),
        Error::Proxy(HandshakeError::Status(response())),
        Error::Socks(SocksError::Reply {
            code: 5,
            target: "127.0.0.1:9".into(),
        }),
        Error::Socks(SocksError::AuthenticationFailed { status: Some(1) }),
        Error::Socks(SocksError::AuthenticationFailed { status: None }),
        Error::Socks(SocksError::Malformed("version 0x48".into())),
        Error::Protocol(ProtocolError::InvalidUtf8),
        Error::Io(io("unexpected end of file")),
        Error::Http2(Http2Error::NotNegotiated(Some("http/1.1".into()))),
        Error::Http2(Http2Error::NotNegotiated(None)),
        Error::Http2(Http2Error::NoExtendedConnect),
        Error::Http2(Http2Error::StreamReset(8)),
        Error::Http2(Http2Error::GoAway(0)),
        Error::Http2(Http2Error::Connection(Some(1), "protocol error".into())),
        Error::ConnectionClosed,
        Error::Canceled,
        Error::PeerClosed {
            code: 1011,
            reason: "boom".into(),
        },
        Error::NotConnected,
        Error::GaveUp {
            attempts: 3,
            last: Arc::new(Error::Handshake(HandshakeError::Status(response()))),
        },
    ];
    for e in &all {
        match e {
            Error::InvalidArgument(_)
            | Error::Resolve { .. }
            | Error::Connect { .. }
            | Error::Timeout(_)
            | Error::Tls(_)
            | Error::Handshake(_)
            | Error::Proxy(_)
            | Error::Socks(_)
            | Error::Protocol(_)
            | Error::Io(_)
            | Error::Http2(_)
            | Error::ConnectionClosed
            | Error::Canceled
            | Error::PeerClosed { .. }
            | Error::NotConnected
            | Error::GaveUp { .. } => {}
        }
    }
    all
}

#[test]
fn no_message_repeats_its_source() {
    let mut errors = one_of_each();
    // The stream socket hands a peer's close out inside an io::Error.
    errors.push(Error::Io(io::Error::new(
        io::ErrorKind::ConnectionAborted,
        Error::PeerClosed {
            code: 1011,
            reason: "boom".into(),
        },
    )));
    for e in &errors {
        let mut level: &dyn std::error::Error = e;
        while let Some(cause) = level.source() {
            let (own, theirs) = (level.to_string(), cause.to_string());
            assert!(
                !theirs.is_empty() && !own.contains(&theirs),
                "{own:?} repeats its source {theirs:?} ({e:?})"
            );
            level = cause;
        }
        // Every part of the story is told once, in order.
        let report = e.report();
        assert!(report.starts_with(&e.to_string()), "{report}");
    }
    let e = Error::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "unexpected end of file",
    ));
    assert_eq!(e.report(), "I/O error: unexpected end of file");
}

#[test]
fn transport_errors_map_to_their_status() {
    use io::ErrorKind as K;
    let cases = [
        (K::ConnectionRefused, WebErrorStatus::CannotConnect),
        (K::HostUnreachable, WebErrorStatus::ServerUnreachable),
        (K::NetworkUnreachable, WebErrorStatus::ServerUnreachable),
        (K::TimedOut, WebErrorStatus::Timeout),
        (K::ConnectionReset, WebErrorStatus::ConnectionReset),
        (K::ConnectionAborted, WebErrorStatus::ConnectionAborted),
        (K::BrokenPipe, WebErrorStatus::ConnectionAborted),
        (K::UnexpectedEof, WebErrorStatus::Disconnected),
        (K::Other, WebErrorStatus::Unknown),
    ];
    for (kind, status) in cases {
        assert_eq!(
            Error::from(io::Error::from(kind)).status(),
            status,
            "{kind:?}"
        );
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], 1));
    let unreachable = Error::Connect {
        addr,
        source: K::NetworkUnreachable.into(),
    };
    assert_eq!(unreachable.status(), WebErrorStatus::ServerUnreachable);
    let refused = Error::Connect {
        addr,
        source: K::ConnectionRefused.into(),
    };
    assert_eq!(refused.status(), WebErrorStatus::CannotConnect);
}

#[test]
fn rustls_errors_inside_io_errors_keep_their_certificate_status() {
    let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked);
    let e = Error::from(io::Error::new(io::ErrorKind::InvalidData, tls));
    assert!(matches!(e, Error::Tls(_)));
    assert_eq!(e.status(), WebErrorStatus::CertificateRevoked);
    let bad = rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
    assert_eq!(
        Error::Tls(bad).status(),
        WebErrorStatus::CertificateContainsErrors
    );
}

#[test]
fn errors_become_io_errors_that_keep_them() {
    let e: io::Error = Error::Timeout(TimeoutKind::Send).into();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    let inner = e.into_inner().unwrap().downcast::<Error>().unwrap();
    assert!(matches!(*inner, Error::Timeout(TimeoutKind::Send)));
}

#[test]
fn a_reconnecting_socket_that_gave_up_tells_the_last_failure() {
    let refused = Error::Handshake(HandshakeError::Status(Box::new(HttpResponse {
        status: 403,
        reason: "Forbidden".into(),
        headers: vec![],
        body: bytes::Bytes::new(),
    })));
    let e = Error::GaveUp {
        attempts: 0,
        last: Arc::new(refused),
    };
    assert_eq!(e.status(), WebErrorStatus::Forbidden);
    assert_eq!(e.http_response().map(|r| r.status), Some(403));
    assert_eq!(
        e.report(),
        "gave up after 0 reconnection attempts: WebSocket handshake failed: server answered HTTP 403 Forbidden"
    );
    assert_eq!(Error::NotConnected.status(), WebErrorStatus::Disconnected);
}

#[test]
fn http2_errors_have_their_status() {
    let cases = [
        (
            Http2Error::NotNegotiated(None),
            WebErrorStatus::HttpVersionNotSupported,
        ),
        (
            Http2Error::NoExtendedConnect,
            WebErrorStatus::HttpVersionNotSupported,
        ),
        (Http2Error::StreamReset(8), WebErrorStatus::ConnectionReset),
        (Http2Error::GoAway(0), WebErrorStatus::ConnectionAborted),
        (
            Http2Error::Connection(None, "x".into()),
            WebErrorStatus::ConnectionAborted,
        ),
    ];
    for (e, status) in cases {
        assert_eq!(Error::Http2(e.clone()).status(), status, "{e}");
    }
    assert_eq!(
        Http2Error::StreamReset(8).to_string(),
        "the peer reset the HTTP/2 stream (CANCEL)"
    );
    assert_eq!(
        Http2Error::GoAway(0x99).to_string(),
        "the peer ended the HTTP/2 connection (GOAWAY, error code 0x99)"
    );
}

#[cfg(feature = "http2")]
#[test]
fn h2_errors_inside_io_errors_become_http2_errors() {
    // As the HTTP/2 stream's send side reports a peer's RST_STREAM.
    let reset = io::Error::new(
        io::ErrorKind::ConnectionReset,
        h2::Error::from(h2::Reason::REFUSED_STREAM),
    );
    match Error::from(reset) {
        Error::Http2(Http2Error::StreamReset(7)) => {}
        other => panic!("{other:?}"),
    }
}
