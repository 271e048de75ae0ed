//! The server role: the requests it accepts and refuses, its answers, and a
//! round trip through both roles.

use super::*;

fn server_request(text: &str) -> server::Request {
    let (req, head_len) = server::parse_request(text.as_bytes(), &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(head_len, text.len());
    req
}

const VALID_REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

fn rejection(text: &str) -> Rejection {
    server::check_upgrade(&server_request(text)).unwrap_err()
}

#[test]
fn server_accepts_rfc_request() {
    let req = server_request(VALID_REQUEST);
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/chat");
    assert_eq!(req.version, 1);
    assert_eq!(req.header("HOST"), Some("server.example.com"));
    let upgrade = server::check_upgrade(&req).unwrap();
    assert_eq!(upgrade.key, KEY);
    assert_eq!(upgrade.protocols, strings(&["chat", "superchat"]));
    assert_eq!(upgrade.extensions, None);
    assert_eq!(upgrade.origin.as_deref(), Some("http://example.com"));
}

#[test]
fn server_request_partial_and_limits() {
    let limits = Limits::default();
    assert_eq!(
        server::parse_request(&VALID_REQUEST.as_bytes()[..40], &limits),
        Ok(None)
    );
    let mut small = Limits::default();
    small.max_head_size = 64;
    assert_eq!(
        server::parse_request(VALID_REQUEST.as_bytes(), &small),
        Err(HandshakeError::HeadTooLarge)
    );
    small = Limits::default();
    small.max_headers = 3;
    assert_eq!(
        server::parse_request(VALID_REQUEST.as_bytes(), &small),
        Err(HandshakeError::HeadTooLarge)
    );
    assert!(matches!(
        server::parse_request(b"\x16\x03\x01\x00\x05hello", &limits),
        Err(HandshakeError::Malformed(_))
    ));
}

#[test]
fn server_rejections() {
    let cases: &[(&str, &str, u16)] = &[
        ("GET /chat", "POST /chat", 400),
        ("HTTP/1.1\r\n", "HTTP/1.0\r\n", 400),
        ("Host: server.example.com\r\n", "", 400),
        (
            "Host: server.example.com\r\n",
            "Host: a\r\nHost: b\r\n",
            400,
        ),
        ("Upgrade: websocket\r\n", "", 400),
        ("Upgrade: websocket\r\n", "Upgrade: h2c\r\n", 400),
        ("Connection: Upgrade\r\n", "", 400),
        ("Connection: Upgrade\r\n", "Connection: keep-alive\r\n", 400),
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 400),
        // 15 bytes, 17 bytes, not base64, two keys.
        ("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j", 400),
        ("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZSE=", 400),
        ("dGhlIHNhbXBsZSBub25jZQ==", "not base64 at all!!!!!==", 400),
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            400,
        ),
        ("Sec-WebSocket-Version: 13\r\n", "", 400),
        (
            "Sec-WebSocket-Version: 13\r\n",
            "Sec-WebSocket-Version: 8\r\n",
            426,
        ),
        (
            "Sec-WebSocket-Version: 13\r\n",
            "Sec-WebSocket-Version: 13, 8\r\n",
            426,
        ),
    ];
    for (from, to, status) in cases {
        assert!(VALID_REQUEST.contains(from), "{from}");
        let r = rejection(&VALID_REQUEST.replacen(from, to, 1));
        assert_eq!(r.status, *status, "{from:?} -> {to:?}: {r}");
        if *status == 426 {
            assert_eq!(r.headers, pairs(&[("Sec-WebSocket-Version", "13")]));
        } else {
            assert!(r.headers.is_empty());
        }
    }
}

#[test]
fn server_tokens_are_case_insensitive() {
    let text = VALID_REQUEST
        .replace("Upgrade: websocket", "upgrade: WebSocket")
        .replace("Connection: Upgrade", "connection: keep-alive, UPGRADE");
    assert!(server::check_upgrade(&server_request(&text)).is_ok());
}

#[test]
fn rejection_bytes() {
    let r = rejection(&VALID_REQUEST.replace("Version: 13", "Version: 7"));
    let mut out = Vec::new();
    r.write(&mut out);
    let text = String::from_utf8(out).unwrap();
    let body = format!("{}\n", r.reason);
    assert_eq!(
        text,
        format!(
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
    );
    // What a client makes of it.
    let refusal = refused(parse(text.as_bytes()));
    assert_eq!(refusal.status, 426);
    assert_eq!(refusal.header("sec-websocket-version"), Some("13"));
    assert_eq!(refusal.body, body.as_bytes());
}

#[test]
fn multiple_protocol_and_extension_headers_merge() {
    let text = VALID_REQUEST.replace(
        "Sec-WebSocket-Protocol: chat, superchat\r\n",
        "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: a; x=1\r\n\
         Sec-WebSocket-Protocol: v2.chat\r\nSec-WebSocket-Extensions: b\r\n",
    );
    let upgrade = server::check_upgrade(&server_request(&text)).unwrap();
    assert_eq!(
        upgrade.protocols,
        strings(&["chat", "superchat", "v2.chat"])
    );
    assert_eq!(upgrade.extensions.as_deref(), Some("a; x=1, b"));
}

#[test]
fn accept_bytes() {
    let mut out = Vec::new();
    server::write_accept(KEY, None, None, &[], &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    let mut out = Vec::new();
    server::write_accept(
        KEY,
        Some("chat"),
        Some("permessage-deflate"),
        &pairs(&[("Server", "wsock")]),
        &mut out,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate\r\nServer: wsock\r\n\r\n"
    );
}

#[test]
fn plain_response_bytes() {
    let mut out = Vec::new();
    server::write_response(
        200,
        "OK",
        &pairs(&[("Content-Type", "text/plain")]),
        b"hello",
        &mut out,
    );
    assert_eq!(
        out,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
    );
}

#[test]
fn round_trip() {
    let key = wsock::handshake::generate_key();
    let protocols = strings(&["v1", "v2"]);
    let extra = pairs(&[("Origin", "https://example.com")]);
    let req = client::Request {
        host: "example.com:9001",
        resource: "/socket?room=1",
        key: &key,
        protocols: &protocols,
        extensions: Some("permessage-deflate"),
        headers: &extra,
    };
    let limits = Limits::default();
    let mut wire = Vec::new();
    client::write_request(&req, &mut wire);
    wire.extend_from_slice(b"\x81\x80\x00\x00\x00\x00"); // a first frame, left alone

    let (parsed, head_len) = server::parse_request(&wire, &limits).unwrap().unwrap();
    assert_eq!(&wire[head_len..], b"\x81\x80\x00\x00\x00\x00");
    assert_eq!(parsed.path, "/socket?room=1");
    assert_eq!(parsed.header("host"), Some("example.com:9001"));
    let upgrade = server::check_upgrade(&parsed).unwrap();
    assert_eq!(upgrade.key, key);
    assert_eq!(upgrade.protocols, protocols);
    assert_eq!(upgrade.extensions.as_deref(), Some("permessage-deflate"));
    assert_eq!(upgrade.origin.as_deref(), Some("https://example.com"));

    let mut answer = Vec::new();
    server::write_accept(
        &upgrade.key,
        Some("v2"),
        upgrade.extensions.as_deref(),
        &[],
        &mut answer,
    );
    let (accepted, n) = client::parse_response(&answer, &req, &limits)
        .unwrap()
        .unwrap();
    assert_eq!(n, answer.len());
    assert_eq!(accepted.protocol.as_deref(), Some("v2"));
    assert_eq!(accepted.extensions.as_deref(), Some("permessage-deflate"));
}
