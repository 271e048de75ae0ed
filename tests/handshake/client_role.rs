//! The client role: the request it writes, the answers it takes and refuses.

use super::*;

#[test]
fn accept_key_rfc_example() {
    assert_eq!(accept_key(KEY), ACCEPT);
}

#[test]
fn request_bytes() {
    let mut out = b"left alone".to_vec();
    client::write_request(&request(), &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "left aloneGET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
}

#[test]
fn request_bytes_with_everything() {
    let protocols = strings(&["chat", "superchat"]);
    let headers = pairs(&[("Origin", "http://example.com"), ("Cookie", "a=b")]);
    let req = client::Request {
        host: "[::1]:8080",
        resource: "/chat?x=1",
        key: KEY,
        protocols: &protocols,
        extensions: Some("permessage-deflate; client_max_window_bits"),
        headers: &headers,
    };
    let mut out = Vec::new();
    client::write_request(&req, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET /chat?x=1 HTTP/1.1\r\nHost: [::1]:8080\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
         Origin: http://example.com\r\nCookie: a=b\r\n\r\n"
    );
}

#[test]
fn valid_101_with_mixed_case_tokens() {
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, Upgrade\r\n\
         sec-websocket-accept: {ACCEPT}\r\nServer: test\r\n\r\n"
    );
    let (accepted, head_len) = parse(answer.as_bytes()).unwrap().unwrap();
    assert_eq!(head_len, answer.len());
    assert_eq!(accepted.protocol, None);
    assert_eq!(accepted.extensions, None);
    assert_eq!(accepted.headers.len(), 4);
    assert_eq!(
        accepted.headers[3],
        ("Server".to_string(), "test".to_string())
    );
}

#[test]
fn connection_token_in_a_second_header_line() {
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n\
         Connection: upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
    );
    assert!(parse(answer.as_bytes()).unwrap().is_some());
}

#[test]
fn frames_after_the_head_are_left() {
    let head = ok_101("");
    let mut bytes = head.clone().into_bytes();
    bytes.extend_from_slice(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    let (_, head_len) = parse(&bytes).unwrap().unwrap();
    assert_eq!(head_len, head.len());
    assert_eq!(
        &bytes[head_len..],
        &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']
    );
}

#[test]
fn wrong_accept() {
    let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
    assert_eq!(parse(answer.as_bytes()), Err(HandshakeError::BadAccept));
    // The accept value is case-sensitive base64.
    let answer = ok_101("").replace(ACCEPT, &ACCEPT.to_lowercase());
    assert_eq!(parse(answer.as_bytes()), Err(HandshakeError::BadAccept));
}

#[test]
fn missing_accept() {
    let answer =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    assert_eq!(
        parse(answer.as_bytes()),
        Err(HandshakeError::BadHeader("Sec-WebSocket-Accept"))
    );
}

#[test]
fn missing_or_wrong_upgrade() {
    let answer = ok_101("").replace("Upgrade: websocket\r\n", "");
    assert_eq!(
        parse(answer.as_bytes()),
        Err(HandshakeError::BadHeader("Upgrade"))
    );
    let answer = ok_101("").replace("Upgrade: websocket", "Upgrade: h2c");
    assert_eq!(
        parse(answer.as_bytes()),
        Err(HandshakeError::BadHeader("Upgrade"))
    );
}

#[test]
fn missing_or_wrong_connection() {
    let answer = ok_101("").replace("Connection: Upgrade\r\n", "");
    assert_eq!(
        parse(answer.as_bytes()),
        Err(HandshakeError::BadHeader("Connection"))
    );
    let answer = ok_101("").replace("Connection: Upgrade", "Connection: keep-alive");
    assert_eq!(
        parse(answer.as_bytes()),
        Err(HandshakeError::BadHeader("Connection"))
    );
}

#[test]
fn http_1_0_switch_is_malformed() {
    let answer = ok_101("").replace("HTTP/1.1", "HTTP/1.0");
    assert!(matches!(
        parse(answer.as_bytes()),
        Err(HandshakeError::Malformed(_))
    ));
}

#[test]
fn status_200_is_refused() {
    let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let r = refused(parse(answer.as_bytes()));
    assert_eq!(r.status, 200);
    assert_eq!(r.reason, "OK");
    assert_eq!(&r.body[..], b"hi");
}

#[test]
fn status_404_keeps_everything() {
    let answer = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nno chat!\nand then garbage";
    let err = parse(answer.as_bytes()).unwrap_err();
    assert_eq!(err.status(), wsock::WebErrorStatus::NotFound);
    let r = refused(Err(err));
    assert_eq!(r.status, 404);
    assert_eq!(r.reason, "Not Found");
    assert_eq!(
        r.headers,
        pairs(&[("Content-Type", "text/plain"), ("Content-Length", "9")])
    );
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(&r.body[..], b"no chat!\n");
    assert!(client::body_complete(&r, &Limits::default()));
}

#[test]
fn refused_body_can_grow() {
    let answer = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10\r\n\r\n0123456789";
    let head = answer.len() - 10;
    let limits = Limits::default();
    let partial = refused(client::parse_response(
        &answer[..head + 4],
        &request(),
        &limits,
    ));
    assert_eq!(&partial.body[..], b"0123");
    assert!(!client::body_complete(&partial, &limits));
    let full = refused(client::parse_response(answer, &request(), &limits));
    assert_eq!(&full.body[..], b"0123456789");
    assert!(client::body_complete(&full, &limits));
}

#[test]
fn refused_body_is_bounded() {
    let mut limits = Limits::default();
    limits.max_body_size = 4;
    // With a length...
    let answer = b"HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\n0123456789";
    let r = refused(client::parse_response(answer, &request(), &limits));
    assert_eq!(&r.body[..], b"0123");
    assert!(client::body_complete(&r, &limits));
    // ...and without one (the body runs until the connection closes).
    let answer = b"HTTP/1.1 500 Oops\r\n\r\n0123456789";
    let r = refused(client::parse_response(answer, &request(), &limits));
    assert_eq!(&r.body[..], b"0123");
    let r = refused(client::parse_response(
        &answer[..answer.len() - 8],
        &request(),
        &limits,
    ));
    assert_eq!(&r.body[..], b"01");
    assert!(!client::body_complete(&r, &limits));
}

#[test]
fn redirect_keeps_location() {
    let answer = "HTTP/1.1 301 Moved Permanently\r\nLocation: wss://example.com/chat\r\nContent-Length: 0\r\n\r\n";
    let err = parse(answer.as_bytes()).unwrap_err();
    assert_eq!(err.status(), wsock::WebErrorStatus::MovedPermanently);
    let r = refused(Err(err));
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("wss://example.com/chat"));
    assert!(r.body.is_empty());
}

#[test]
fn http_1_0_refusal_is_still_a_status() {
    let r = refused(parse(b"HTTP/1.0 403 Forbidden\r\n\r\ngo away"));
    assert_eq!(r.status, 403);
    assert_eq!(&r.body[..], b"go away");
}

#[test]
fn oversized_head() {
    let mut limits = Limits::default();
    limits.max_head_size = 100;
    let mut answer = ok_101(&format!("X-Padding: {}\r\n", "a".repeat(100)));
    // Still partial (no end of head yet), but already over the limit.
    answer.truncate(101);
    assert_eq!(
        client::parse_response(answer.as_bytes(), &request(), &limits),
        Err(HandshakeError::HeadTooLarge)
    );
    // At the limit it is only partial.
    assert_eq!(
        client::parse_response(&answer.as_bytes()[..100], &request(), &limits),
        Ok(None)
    );
    // A complete head over the limit is refused too.
    let answer = ok_101(&format!("X-Padding: {}\r\n", "a".repeat(100)));
    assert_eq!(
        client::parse_response(answer.as_bytes(), &request(), &limits),
        Err(HandshakeError::HeadTooLarge)
    );
    // A head exactly at the limit passes.
    let mut limits = Limits::default();
    limits.max_head_size = answer.len();
    assert!(
        client::parse_response(answer.as_bytes(), &request(), &limits)
            .unwrap()
            .is_some()
    );
}

#[test]
fn too_many_headers() {
    let mut limits = Limits::default();
    limits.max_headers = 3;
    let answer = ok_101("X-One: 1\r\n");
    assert_eq!(
        client::parse_response(answer.as_bytes(), &request(), &limits),
        Err(HandshakeError::HeadTooLarge)
    );
    // Exactly at the limit.
    assert!(
        client::parse_response(ok_101("").as_bytes(), &request(), &limits)
            .unwrap()
            .is_some()
    );
}

#[test]
fn truncated_is_partial() {
    let answer = ok_101("");
    for cut in [0, 1, 10, answer.len() - 2, answer.len() - 1] {
        assert_eq!(parse(&answer.as_bytes()[..cut]), Ok(None), "cut at {cut}");
    }
}

#[test]
fn garbage_is_malformed() {
    for garbage in [
        &b"SSH-2.0-OpenSSH_9.6\r\n\r\n"[..],
        b"\x16\x03\x01\x02\x00\x01",
        b"HTTP/1.1 abc OK\r\n\r\n",
    ] {
        assert!(
            matches!(parse(garbage), Err(HandshakeError::Malformed(_))),
            "{garbage:?}"
        );
    }
}

#[test]
fn chosen_protocol() {
    let protocols = strings(&["chat", "superchat"]);
    let req = client::Request {
        protocols: &protocols,
        ..request()
    };
    let answer = ok_101("Sec-WebSocket-Protocol: superchat\r\n");
    let (accepted, _) = client::parse_response(answer.as_bytes(), &req, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("superchat"));
}

#[test]
fn unoffered_protocol() {
    let protocols = strings(&["chat", "superchat"]);
    let req = client::Request {
        protocols: &protocols,
        ..request()
    };
    let limits = Limits::default();
    let answer = ok_101("Sec-WebSocket-Protocol: other\r\n");
    assert_eq!(
        client::parse_response(answer.as_bytes(), &req, &limits),
        Err(HandshakeError::UnofferedProtocol("other".into()))
    );
    // Subprotocol names are case-sensitive.
    let answer = ok_101("Sec-WebSocket-Protocol: Chat\r\n");
    assert_eq!(
        client::parse_response(answer.as_bytes(), &req, &limits),
        Err(HandshakeError::UnofferedProtocol("Chat".into()))
    );
    // One protocol, not a list.
    let answer = ok_101("Sec-WebSocket-Protocol: chat, superchat\r\n");
    assert!(matches!(
        client::parse_response(answer.as_bytes(), &req, &limits),
        Err(HandshakeError::UnofferedProtocol(_))
    ));
    let answer = ok_101("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n");
    assert!(matches!(
        client::parse_response(answer.as_bytes(), &req, &limits),
        Err(HandshakeError::UnofferedProtocol(_))
    ));
}

#[test]
fn protocol_when_none_offered() {
    let answer = ok_101("Sec-WebSocket-Protocol: chat\r\n");
    assert_eq!(
        parse(answer.as_bytes()),
        Err(HandshakeError::UnofferedProtocol("chat".into()))
    );
}

#[test]
fn unoffered_extension() {
    let answer = ok_101("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    assert_eq!(
        parse(answer.as_bytes()),
        Err(HandshakeError::UnofferedExtension(
            "permessage-deflate".into()
        ))
    );
    // An empty list accepts nothing.
    let answer = ok_101("Sec-WebSocket-Extensions: \r\n");
    assert_eq!(
        parse(answer.as_bytes()).unwrap().unwrap().0.extensions,
        None
    );
}

#[test]
fn offered_extension_is_returned() {
    let req = client::Request {
        extensions: Some("permessage-deflate; client_max_window_bits"),
        ..request()
    };
    let answer = ok_101(
        "Sec-WebSocket-Extensions: permessage-deflate;server_no_context_takeover\r\n\
         Sec-WebSocket-Extensions: x-other\r\n",
    );
    let (accepted, _) = client::parse_response(answer.as_bytes(), &req, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        accepted.extensions.as_deref(),
        Some("permessage-deflate;server_no_context_takeover, x-other")
    );
}

#[test]
fn every_split_parses_identically() {
    let protocols = strings(&["chat"]);
    let req = client::Request {
        protocols: &protocols,
        ..request()
    };
    let limits = Limits::default();
    let mut bytes = ok_101("Sec-WebSocket-Protocol: chat\r\nDate: today\r\n").into_bytes();
    let head_len = bytes.len();
    bytes.extend_from_slice(&[0x82, 0x00]);
    let whole = client::parse_response(&bytes, &req, &limits)
        .unwrap()
        .unwrap();
    assert_eq!(whole.1, head_len);
    for cut in 0..bytes.len() {
        let answer = client::parse_response(&bytes[..cut], &req, &limits).unwrap();
        if cut < head_len {
            assert_eq!(answer, None, "cut at {cut}");
        } else {
            assert_eq!(answer.as_ref(), Some(&whole), "cut at {cut}");
        }
    }
    // The same for a refusal: the same status and headers, a growing body.
    let refusal = b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc";
    for cut in 0..=refusal.len() {
        match client::parse_response(&refusal[..cut], &req, &limits) {
            Ok(None) => assert!(cut < refusal.len() - 3, "cut at {cut}"),
            Err(HandshakeError::Status(r)) => {
                assert_eq!((r.status, r.headers.len()), (404, 1));
                assert_eq!(&r.body[..], &b"abc"[..cut - (refusal.len() - 3)]);
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}
