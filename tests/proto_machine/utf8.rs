//! UTF-8 in text messages, and what is queued on an error.

use super::*;

#[test]
fn invalid_utf8_single_frames() {
    let bad: [&[u8]; 5] = [
        &[0xC0, 0x80],             // overlong
        &[0xED, 0xA0, 0x80],       // surrogate
        &[0xF4, 0x90, 0x80, 0x80], // over U+10FFFF
        b"Hello \xFF",
        &[0x80],
    ];
    for payload in bad {
        check_server_error(&cf(0x81, payload), ProtocolError::InvalidUtf8, 1007);
        check_client_error(&sf(0x81, payload), ProtocolError::InvalidUtf8, 1007);
        // Binary is not checked.
        let expected = [data(DataKind::Binary, payload, true, true)];
        check_decode(Role::Server, &cf(0x82, payload), &expected);
    }
    // Truncated at the end of the message.
    check_server_error(
        &cf(0x81, &[b'a', 0xF0, 0x9F, 0x98]),
        ProtocolError::InvalidUtf8,
        1007,
    );
}

#[test]
fn valid_utf8_split_across_fragments() {
    let s = "κόσμε€𝄞".as_bytes();
    for split in 0..=s.len() {
        let bytes = [cf(0x01, &s[..split]), cf(0x89, b""), cf(0x80, &s[split..])].concat();
        let expected = [
            data(DataKind::Text, &s[..split], true, false),
            Event::Ping(Bytes::new()),
            data(DataKind::Text, &s[split..], false, true),
        ];
        check_decode(Role::Server, &bytes, &expected);
    }
}

#[test]
fn invalid_utf8_in_later_fragment() {
    let bytes = [
        cf(0x01, b"good"),
        cf(0x00, b"still good"),
        cf(0x80, &[0xED, 0xBF, 0xBF]),
    ]
    .concat();
    let events = [
        data(DataKind::Text, b"good", true, false),
        data(DataKind::Text, b"still good", false, false),
    ];
    check_error(
        Role::Server,
        &bytes,
        &events,
        ProtocolError::InvalidUtf8,
        1007,
    );
    // A character split across fragments that turns out invalid.
    let bytes = [cf(0x01, &[b'a', 0xF0, 0x9F]), cf(0x80, &[0x41])].concat();
    let events = [data(DataKind::Text, &[b'a', 0xF0, 0x9F], true, false)];
    check_error(
        Role::Server,
        &bytes,
        &events,
        ProtocolError::InvalidUtf8,
        1007,
    );
    // Message ends mid-character after fragments.
    let bytes = [cf(0x01, b"ab"), cf(0x80, &[0xE2, 0x82])].concat();
    let events = [data(DataKind::Text, b"ab", true, false)];
    check_error(
        Role::Server,
        &bytes,
        &events,
        ProtocolError::InvalidUtf8,
        1007,
    );
}

#[test]
fn invalid_utf8_detected_before_frame_completes() {
    let mut payload = b"valid text, then ".to_vec();
    payload.extend_from_slice(&[0xC0, 0x80]);
    payload.extend_from_slice(&[b'x'; 1000]);
    let bytes = cf(0x81, &payload);
    // Header (8 bytes: 126-form length and key) and the first 20 payload bytes.
    let mut s = server();
    let mut input = BytesMut::from(&bytes[..8 + 17]);
    assert_eq!(s.decode(&mut input), Ok(None));
    input.extend_from_slice(&bytes[8 + 17..8 + 19]);
    assert_eq!(s.decode(&mut input), Err(ProtocolError::InvalidUtf8));
    assert_close_queued(&mut s, Role::Server, 1007);
    assert_eq!(s.state(), State::Closed);

    // Client role, one byte at a time: fails on the 0xC0 itself (no
    // character starts with it), long before the frame's end.
    let bytes = sf(0x81, &payload);
    let mut c = client();
    let mut input = BytesMut::new();
    for (i, &b) in bytes.iter().enumerate() {
        input.extend_from_slice(&[b]);
        match c.decode(&mut input) {
            Ok(None) => {}
            Err(e) => {
                assert_eq!(e, ProtocolError::InvalidUtf8);
                assert_eq!(i, 4 + 17);
                break;
            }
            Ok(Some(e)) => panic!("{e:?}"),
        }
    }
    assert_eq!(c.state(), State::Closed);
}

#[test]
fn error_after_close_sent_queues_nothing() {
    let mut s = server();
    s.encode_close(None).unwrap();
    s.output().clear();
    let (_, err) = decode_all(&mut s, &cf(0x81, &[0xFF]));
    assert_eq!(err, Some(ProtocolError::InvalidUtf8));
    assert_eq!(s.state(), State::Closed);
    assert!(!s.wants_write());
}

#[test]
fn pong_queued_before_error_close() {
    // A ping's answer stays in front of the close frame of a later error.
    let bytes = [cf(0x89, b"p"), cf(0x83, b"")].concat();
    let mut s = server();
    let (events, err) = decode_all(&mut s, &bytes);
    assert_eq!(events, [Event::Ping(Bytes::from_static(b"p"))]);
    assert_eq!(err, Some(ProtocolError::ReservedOpCode(3)));
    assert_eq!(
        s.output().to_vec(),
        [0x8A, 0x01, b'p', 0x88, 0x02, 0x03, 0xEA]
    );
}
