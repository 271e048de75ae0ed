//! The close handshake.

use super::*;

#[test]
fn close_reply_echoes_code() {
    let mut s = server();
    let (events, err) = decode_all(&mut s, &cf(0x88, b"\x0f\xa0going"));
    assert_eq!(err, None);
    assert_eq!(
        events,
        [Event::Close(Some(CloseFrame {
            code: 4000,
            reason: "going".into()
        }))]
    );
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.output().to_vec(), [0x88, 0x02, 0x0f, 0xa0]);
    // Closing afterwards does nothing; sending is refused.
    s.encode_close(Some(&CloseFrame::new(1000, "").unwrap()))
        .unwrap();
    assert_eq!(s.output().len(), 4);
    assert!(s.encode_data(DataKind::Text, b"x", true, true).is_err());

    let mut c = client();
    let (events, _) = decode_all(&mut c, &sf(0x88, b"\x03\xe9"));
    assert_eq!(
        events,
        [Event::Close(Some(CloseFrame {
            code: 1001,
            reason: String::new()
        }))]
    );
    let out = c.output().to_vec();
    assert_eq!(unmask_client_frame(&out), (0x88, vec![0x03, 0xe9], 8));
}

#[test]
fn empty_close_gets_empty_reply() {
    let out = check_decode(Role::Server, &cf(0x88, b""), &[Event::Close(None)]);
    assert_eq!(out, [0x88, 0x00]);
}

#[test]
fn close_after_ours_gets_no_reply() {
    let mut s = server();
    s.encode_close(Some(&CloseFrame::new(1000, "").unwrap()))
        .unwrap();
    s.output().clear();
    // Data the peer sent before it saw our close is still delivered, pings
    // are reported but not answered.
    let mut bytes = cf(0x81, b"late");
    bytes.extend(cf(0x89, b"p"));
    bytes.extend(cf(0x88, b"\x03\xe8"));
    bytes.extend(cf(0x81, b"ignored"));
    let (events, err) = decode_all(&mut s, &bytes);
    assert_eq!(err, None);
    assert_eq!(
        events,
        [
            text(b"late"),
            Event::Ping(Bytes::from_static(b"p")),
            Event::Close(Some(CloseFrame {
                code: 1000,
                reason: String::new()
            })),
        ]
    );
    assert_eq!(s.state(), State::Closed);
    assert!(!s.wants_write());
}

#[test]
fn data_after_close_ignored() {
    let mut bytes = cf(0x88, b"\x03\xe8");
    bytes.extend(cf(0x81, b"after"));
    bytes.extend([0xFF, 0xFF, 0xFF]); // would be a protocol error
    let close = Event::Close(Some(CloseFrame {
        code: 1000,
        reason: String::new(),
    }));
    let out = check_decode(Role::Server, &bytes, std::slice::from_ref(&close));
    assert_eq!(out, [0x88, 0x02, 0x03, 0xe8]);
    let mut s = server();
    let mut input = BytesMut::from(&bytes[..]);
    assert_eq!(s.decode(&mut input), Ok(Some(close)));
    assert_eq!(s.decode(&mut input), Ok(None));
    assert!(input.is_empty());
}

#[test]
fn close_between_fragments() {
    let mut bytes = cf(0x01, b"frag");
    bytes.extend(cf(0x88, b""));
    let expected = [
        data(DataKind::Text, b"frag", true, false),
        Event::Close(None),
    ];
    assert_eq!(check_decode(Role::Server, &bytes, &expected), [0x88, 0x00]);
}

#[test]
fn ping_between_fragments() {
    let mut bytes = cf(0x01, b"He");
    bytes.extend(cf(0x89, b"ping"));
    bytes.extend(cf(0x00, b"ll"));
    bytes.extend(cf(0x8A, b""));
    bytes.extend(cf(0x80, b"o"));
    let expected = [
        data(DataKind::Text, b"He", true, false),
        Event::Ping(Bytes::from_static(b"ping")),
        data(DataKind::Text, b"ll", false, false),
        Event::Pong(Bytes::new()),
        data(DataKind::Text, b"o", false, true),
    ];
    let out = check_decode(Role::Server, &bytes, &expected);
    assert_eq!(out, sf(0x8A, b"ping"));
}

#[test]
fn close_payload_errors() {
    check_server_error(&cf(0x88, &[0x03]), ProtocolError::InvalidClosePayload, 1002);
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        check_server_error(
            &cf(0x88, &code.to_be_bytes()),
            ProtocolError::InvalidCloseCode(code),
            1002,
        );
    }
    for code in [1000u16, 1001, 3000, 4999] {
        let close = Event::Close(Some(CloseFrame {
            code,
            reason: String::new(),
        }));
        let out = check_decode(Role::Server, &cf(0x88, &code.to_be_bytes()), &[close]);
        let [hi, lo] = code.to_be_bytes();
        assert_eq!(out, [0x88, 0x02, hi, lo]);
    }
    check_server_error(
        &cf(0x88, b"\x03\xe8\xce\xba\xe1\xbd"),
        ProtocolError::InvalidUtf8,
        1007,
    );
    check_server_error(
        &cf(0x88, b"\x03\xe8\xed\xa0\x80"),
        ProtocolError::InvalidUtf8,
        1007,
    );
}
