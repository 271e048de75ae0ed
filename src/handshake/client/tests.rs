use super::*;

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// The connect path's parse (headers not kept) answers as the public
/// one does, on accepted, refused and broken answers alike.
#[test]
fn compact_parse_agrees_with_the_public_one() {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let good = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    let protocols = ["chat".to_owned(), "superchat".to_owned()];
    let head = |extra: &str| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\n{extra}\r\n"
        )
    };
    let accept = format!("Sec-WebSocket-Accept: {good}\r\n");
    let answers = [
        head(&accept),
        head(&format!("{accept}Sec-WebSocket-Protocol: chat\r\n")),
        head(&format!("{accept}Sec-WebSocket-Protocol: other\r\n")),
        head(&format!(
            "{accept}Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n"
        )),
        head(&format!(
            "{accept}Sec-WebSocket-Extensions: permessage-deflate, ,x\r\n"
        )),
        head(&format!("{accept}Sec-WebSocket-Extensions: , \r\n")),
        head(&format!("{accept}X-Bin: \u{e9}\r\n")),
        head(&format!("{accept}{accept}")),
        head("Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"),
        head(&format!(" {accept}")),
        head(""),
        "HTTP/1.1 101 OK\r\nUpgrade: WebSocket\r\nConnection: keep-alive, UPGRADE\r\n\
         Sec-WebSocket-Accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\t\r\n\r\nrest"
            .to_owned(),
        "HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n".to_owned(),
        "HTTP/1.1 101 OK\r\nUPGRADE: h2c, WebSocket\r\nconnection: close\r\nConnection: a, upgrade\r\n\
         SEC-WEBSOCKET-ACCEPT: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nsec-websocket-protocol: superchat\r\n\r\n"
            .to_owned(),
        "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n".to_owned(),
        "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n".to_owned(),
        "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n".to_owned(),
        head(&format!("{accept}Sec-WebSocket-Extensions: a\r\nSec-WebSocket-Extensions: b; c=1\r\n")),
        head("Sec-WebSocket-Protocol: other\r\nSec-WebSocket-Accept: nope\r\n"),
        head(&format!("Sec-WebSocket-Extensions: x\r\n{accept}Sec-WebSocket-Protocol: chat\r\n")),
        head(&format!("{accept}Sec-WebSocket-Protocol: \t chat \r\n")),
        head(&format!("{accept}Sec-WebSocket-Protocol:\r\n")),
        head("Sec-WebSocket-Accept:\ts3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n"),
        "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n".to_owned(),
        "HTTP/1.0 101 OK\r\n\r\n".to_owned(),
        "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcdef".to_owned(),
        "HTTP/1.1 101 Switching".to_owned(),
        "HTTP/1.1 abc\r\n\r\n".to_owned(),
        String::new(),
    ];
    for offer in [None, Some("permessage-deflate")] {
        for protocols in [&protocols[..], &[]] {
            let req = Request {
                key,
                protocols,
                extensions: offer,
                ..Default::default()
            };
            for answer in &answers {
                let mut bytes = answer.as_bytes().to_vec();
                if answer.contains("X-Bin") {
                    // A value that is not UTF-8.
                    let at = bytes.windows(2).position(|w| w == [0xc3, 0xa9]).unwrap();
                    bytes[at] = 0xff;
                }
                let limits = Limits::default();
                let full = parse_response(&bytes, &req, &limits);
                let compact = parse_response_compact(&bytes, &req, &limits);
                if let (Ok(Some((a, _))), Ok(Some((_, r, _)))) = (&full, &compact) {
                    assert!(!a.headers.is_empty(), "{answer:?}");
                    let kept: Vec<(String, String)> = (r.headers())
                        .map(|(n, v)| (n.to_owned(), v.to_owned()))
                        .collect();
                    assert_eq!(kept, a.headers, "{answer:?}");
                }
                let strip = |r: Result<Option<(Accepted, usize)>, HandshakeError>| {
                    r.map(|o| {
                        o.map(|(mut a, n)| {
                            a.headers.clear();
                            (a, n)
                        })
                    })
                };
                let compact = compact.map(|o| o.map(|(a, _, n)| (a, n)));
                assert_eq!(strip(full), compact, "{answer:?} {offer:?} {protocols:?}");
            }
        }
    }
    // More headers than the stack holds, when the limit allows them.
    let many: String = (0..100).map(|i| format!("X-{i}: {i}\r\n")).collect();
    let answer = head(&format!("{accept}{many}"));
    let limits = Limits {
        max_headers: 200,
        ..Limits::default()
    };
    let req = Request {
        key,
        ..Default::default()
    };
    let (accepted, n) = parse_response(answer.as_bytes(), &req, &limits)
        .unwrap()
        .unwrap();
    assert_eq!((accepted.headers.len(), n), (103, answer.len()));
    assert_eq!(
        parse_response(answer.as_bytes(), &req, &Limits::default()),
        Err(HandshakeError::HeadTooLarge)
    );
}

#[test]
fn body_len_rules() {
    assert_eq!(
        response_body_len(200, &[header("content-length", "5")]),
        Some(5)
    );
    assert_eq!(
        response_body_len(200, &[header("Content-Length", "5, 5")]),
        Some(5)
    );
    assert_eq!(
        response_body_len(
            200,
            &[header("Content-Length", "5"), header("Content-Length", "6")]
        ),
        None
    );
    assert_eq!(
        response_body_len(200, &[header("Content-Length", "+5")]),
        None
    );
    assert_eq!(
        response_body_len(200, &[header("Content-Length", "99999999999999999999999")]),
        None
    );
    assert_eq!(
        response_body_len(
            200,
            &[
                header("Transfer-Encoding", "chunked"),
                header("Content-Length", "5")
            ]
        ),
        None
    );
    assert_eq!(response_body_len(101, &[]), Some(0));
    assert_eq!(
        response_body_len(204, &[header("Content-Length", "5")]),
        Some(0)
    );
}

#[test]
fn reserved_and_valid_headers() {
    for name in [
        "Host",
        "UPGRADE",
        "connection",
        "Sec-WebSocket-Protocol",
        "sec-websocket-accept",
    ] {
        assert!(is_reserved_header(name), "{name}");
    }
    for name in ["Origin", "Cookie", "Sec-WebSocket", "Hosts"] {
        assert!(!is_reserved_header(name), "{name}");
    }
    assert!(validate_header("Cookie", "a=b;\tc=d").is_ok());
    assert!(validate_header("", "x").is_err());
    assert!(validate_header("X:Y", "x").is_err());
    assert!(validate_header("X-Y", "a\nb").is_err());
    assert!(validate_header("X-Y", "a\rb").is_err());
    assert!(validate_header("X-Y", "a\0b").is_err());
    assert!(validate_header("X-Y", "a\x7fb").is_err());
}
