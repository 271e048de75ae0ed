//! The connection state machine, byte for byte, through the public API.

use bytes::{Buf, Bytes, BytesMut};
use wsock::proto::{
    CloseFrame, Config, Connection, DataKind, Event, FrameHeader, ProtocolError, Role, State,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as the peer would send it, length in its shortest form.
fn frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let m = if mask.is_some() { 0x80 } else { 0 };
    let mut v = vec![b0];
    match payload.len() {
        n @ 0..=125 => v.push(m | n as u8),
        n @ 126..=0xFFFF => {
            v.push(m | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(m | 127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            v.extend_from_slice(&k);
            v.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => v.extend_from_slice(payload),
    }
    v
}

/// A frame from a client (masked with KEY).
fn cf(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, Some(KEY))
}

/// A frame from a server (unmasked).
fn sf(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, None)
}

fn server() -> Connection {
    Connection::new(Config::new(Role::Server))
}

fn client() -> Connection {
    Connection::new(Config::new(Role::Client))
}

fn data(kind: DataKind, payload: &[u8], first: bool, fin: bool) -> Event {
    Event::Data {
        kind,
        payload: Bytes::copy_from_slice(payload),
        first,
        fin,
        rsv: 0,
    }
}

fn text(payload: &[u8]) -> Event {
    data(DataKind::Text, payload, true, true)
}

type Outcome = (Vec<Event>, Option<ProtocolError>);

/// Decodes everything in `bytes` at once.
fn decode_all(conn: &mut Connection, bytes: &[u8]) -> Outcome {
    let mut input = BytesMut::from(bytes);
    let mut events = Vec::new();
    loop {
        match conn.decode(&mut input) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return (events, None),
            Err(e) => {
                // After an error nothing more comes out.
                assert_eq!(conn.decode(&mut input), Ok(None));
                return (events, Some(e));
            }
        }
    }
}

/// Decodes `bytes` arriving one at a time into the same buffer.
fn decode_bytewise(conn: &mut Connection, bytes: &[u8]) -> Outcome {
    let mut input = BytesMut::new();
    let mut events = Vec::new();
    for &b in bytes {
        input.extend_from_slice(&[b]);
        loop {
            match conn.decode(&mut input) {
                Ok(Some(e)) => events.push(e),
                Ok(None) => break,
                Err(e) => return (events, Some(e)),
            }
        }
    }
    (events, None)
}

/// Checks `bytes` decode to `expected` both at once and byte by byte, and
/// that the same output is queued either way. Returns the output.
fn check_decode(role: Role, bytes: &[u8], expected: &[Event]) -> Vec<u8> {
    let mut whole = Connection::new(Config::new(role));
    assert_eq!(decode_all(&mut whole, bytes), (expected.to_vec(), None));
    let mut bytewise = Connection::new(Config::new(role));
    assert_eq!(
        decode_bytewise(&mut bytewise, bytes),
        (expected.to_vec(), None)
    );
    assert_eq!(whole.state(), bytewise.state());
    let out = whole.output().to_vec();
    if role == Role::Server {
        assert_eq!(bytewise.output().to_vec(), out);
    }
    out
}

/// Unmasks a client frame from the output, checking its mask bit, and
/// returns (first byte, payload, bytes used).
fn unmask_client_frame(out: &[u8]) -> (u8, Vec<u8>, usize) {
    let (h, n) = FrameHeader::parse(out).unwrap().unwrap();
    let key = h.mask.expect("client frames are masked");
    assert_ne!(out[1] & 0x80, 0);
    let len = h.payload_len as usize;
    let payload = out[n..n + len]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    (out[0], payload, n + len)
}

/// Checks the output holds exactly one close frame with this code (and no
/// reason): byte for byte for a server, unmasked for a client.
fn assert_close_queued(conn: &mut Connection, role: Role, code: u16) {
    let out = conn.output().to_vec();
    let [hi, lo] = code.to_be_bytes();
    match role {
        Role::Server => assert_eq!(out, [0x88, 0x02, hi, lo]),
        Role::Client => {
            assert_eq!(out.len(), 8);
            assert_eq!(out[1], 0x82);
            assert_eq!(unmask_client_frame(&out), (0x88, vec![hi, lo], 8));
        }
    }
}

/// The peer's bytes must fail with `error` (whole and byte by byte), after
/// `events`, queue the close frame with its code and close the connection.
fn check_error(role: Role, bytes: &[u8], events: &[Event], error: ProtocolError, code: u16) {
    assert_eq!(error.close_code(), code);
    for bytewise in [false, true] {
        let mut conn = Connection::new(Config::new(role));
        let outcome = if bytewise {
            decode_bytewise(&mut conn, bytes)
        } else {
            decode_all(&mut conn, bytes)
        };
        // Pongs may precede the close in the output; these cases have none.
        assert_eq!(
            outcome,
            (events.to_vec(), Some(error.clone())),
            "bytewise {bytewise}"
        );
        assert_eq!(conn.state(), State::Closed);
        assert_close_queued(&mut conn, role, code);
        // Anything more is ignored.
        let mut more = BytesMut::from(&cf(0x81, b"x")[..]);
        assert_eq!(conn.decode(&mut more), Ok(None));
        assert!(more.is_empty());
    }
}

fn check_server_error(bytes: &[u8], error: ProtocolError, code: u16) {
    check_error(Role::Server, bytes, &[], error, code);
}

fn check_client_error(bytes: &[u8], error: ProtocolError, code: u16) {
    check_error(Role::Client, bytes, &[], error, code);
}

// ---- RFC 6455 section 5.7 examples, decoded ----

#[test]
fn rfc_single_frame_unmasked_text() {
    let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    assert!(check_decode(Role::Client, &bytes, &[text(b"Hello")]).is_empty());
}

#[test]
fn rfc_single_frame_masked_text() {
    let bytes = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(cf(0x81, b"Hello"), bytes);
    assert!(check_decode(Role::Server, &bytes, &[text(b"Hello")]).is_empty());
}

#[test]
fn rfc_fragmented_unmasked_text() {
    let bytes = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    let expected = [
        data(DataKind::Text, b"Hel", true, false),
        data(DataKind::Text, b"lo", false, true),
    ];
    check_decode(Role::Client, &bytes, &expected);
}

#[test]
fn rfc_unmasked_ping_is_answered() {
    let bytes = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let out = check_decode(
        Role::Client,
        &bytes,
        &[Event::Ping(Bytes::from_static(b"Hello"))],
    );
    // The client's pong is masked.
    let (b0, payload, used) = unmask_client_frame(&out);
    assert_eq!((b0, &payload[..], used), (0x8a, &b"Hello"[..], out.len()));
}

#[test]
fn rfc_masked_pong() {
    let bytes = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let out = check_decode(
        Role::Server,
        &bytes,
        &[Event::Pong(Bytes::from_static(b"Hello"))],
    );
    assert!(out.is_empty());
}

#[test]
fn rfc_server_answers_masked_ping_unmasked() {
    let bytes = cf(0x89, b"Hello");
    let out = check_decode(
        Role::Server,
        &bytes,
        &[Event::Ping(Bytes::from_static(b"Hello"))],
    );
    assert_eq!(out, [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
}

#[test]
fn rfc_256_bytes_binary() {
    let payload: Vec<u8> = (0..256).map(|i| i as u8).collect();
    let bytes = sf(0x82, &payload);
    assert_eq!(&bytes[..4], &[0x82, 0x7E, 0x01, 0x00]);
    check_decode(
        Role::Client,
        &bytes,
        &[data(DataKind::Binary, &payload, true, true)],
    );
    check_decode(
        Role::Server,
        &cf(0x82, &payload),
        &[data(DataKind::Binary, &payload, true, true)],
    );
}

#[test]
fn rfc_64k_binary() {
    let payload: Vec<u8> = (0..65536).map(|i| (i % 251) as u8).collect();
    let bytes = sf(0x82, &payload);
    assert_eq!(&bytes[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
    let expected = [data(DataKind::Binary, &payload, true, true)];
    let mut c = client();
    assert_eq!(decode_all(&mut c, &bytes), (expected.to_vec(), None));
    let mut s = server();
    assert_eq!(
        decode_all(&mut s, &cf(0x82, &payload)),
        (expected.to_vec(), None)
    );
    // In uneven reads.
    let masked = cf(0x82, &payload);
    let mut s = server();
    let mut input = BytesMut::new();
    let mut got = Vec::new();
    for piece in masked.chunks(997) {
        input.extend_from_slice(piece);
        while let Some(e) = s.decode(&mut input).unwrap() {
            got.push(e);
        }
    }
    assert_eq!(got, expected);
}

#[test]
fn payload_is_not_copied() {
    let mut input = BytesMut::from(&cf(0x82, &[7u8; 300])[..]);
    let range = input.as_ptr() as usize..input.as_ptr() as usize + input.len();
    let mut s = server();
    match s.decode(&mut input).unwrap() {
        Some(Event::Data { payload, .. }) => {
            assert_eq!(&payload[..], &[7u8; 300][..]);
            assert!(range.contains(&(payload.as_ptr() as usize)));
        }
        other => panic!("{other:?}"),
    }
    assert!(input.is_empty());
}

#[test]
fn several_frames_in_one_buffer() {
    let mut bytes = cf(0x81, b"one");
    bytes.extend(cf(0x89, b""));
    bytes.extend(cf(0x02, b"t"));
    bytes.extend(cf(0x8A, b"p"));
    bytes.extend(cf(0x80, b"wo"));
    let expected = [
        text(b"one"),
        Event::Ping(Bytes::new()),
        data(DataKind::Binary, b"t", true, false),
        Event::Pong(Bytes::from_static(b"p")),
        data(DataKind::Binary, b"wo", false, true),
    ];
    let out = check_decode(Role::Server, &bytes, &expected);
    assert_eq!(out, [0x8a, 0x00]);
}

#[test]
fn empty_frames() {
    let mut bytes = cf(0x01, b"");
    bytes.extend(cf(0x00, b""));
    bytes.extend(cf(0x80, b""));
    bytes.extend(cf(0x82, b""));
    let expected = [
        data(DataKind::Text, b"", true, false),
        data(DataKind::Text, b"", false, false),
        data(DataKind::Text, b"", false, true),
        data(DataKind::Binary, b"", true, true),
    ];
    check_decode(Role::Server, &bytes, &expected);
}

// ---- Encoding ----

#[test]
fn server_encodes_rfc_examples() {
    let mut s = server();
    s.encode_data(DataKind::Text, b"Hello", true, true).unwrap();
    assert_eq!(
        s.output().to_vec(),
        [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
    s.output().clear();

    s.encode_data(DataKind::Text, b"Hel", true, false).unwrap();
    s.encode_data(DataKind::Text, b"lo", false, true).unwrap();
    assert_eq!(
        s.output().to_vec(),
        [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]
    );
    s.output().clear();

    s.encode_ping(b"Hello").unwrap();
    assert_eq!(
        s.output().to_vec(),
        [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
    s.output().clear();
    s.encode_pong(b"Hello").unwrap();
    assert_eq!(
        s.output().to_vec(),
        [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
    s.output().clear();

    let payload: Vec<u8> = (0..256).map(|i| i as u8).collect();
    s.encode_data(DataKind::Binary, &payload, true, true)
        .unwrap();
    assert_eq!(s.output().to_vec(), sf(0x82, &payload));
    assert_eq!(&s.output()[..4], &[0x82, 0x7E, 0x01, 0x00]);
    s.output().clear();

    let payload = vec![0xA5u8; 65536];
    s.encode_data(DataKind::Binary, &payload, true, true)
        .unwrap();
    assert_eq!(&s.output()[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert_eq!(s.output().to_vec(), sf(0x82, &payload));
}

#[test]
fn client_masks_every_frame_with_a_fresh_key() {
    let mut c = client();
    let big: Vec<u8> = (0..70000).map(|i| (i % 253) as u8).collect();
    c.encode_data(DataKind::Text, b"Hello", true, true).unwrap();
    c.encode_data(DataKind::Binary, &big, true, false).unwrap();
    c.encode_data(DataKind::Binary, b"", false, false).unwrap();
    c.encode_data(DataKind::Binary, &big[..300], false, true)
        .unwrap();
    c.encode_ping(b"p").unwrap();
    c.encode_pong(&[9; 125]).unwrap();
    let expected: [(u8, &[u8]); 6] = [
        (0x81, b"Hello"),
        (0x02, &big),
        (0x00, b""),
        (0x80, &big[..300]),
        (0x89, b"p"),
        (0x8a, &[9; 125]),
    ];
    let out = c.output().to_vec();
    let mut at = 0;
    let mut keys = Vec::new();
    for (b0, payload) in expected {
        let (got_b0, got, used) = unmask_client_frame(&out[at..]);
        assert_eq!((got_b0, &got[..]), (b0, payload));
        keys.push(
            FrameHeader::parse(&out[at..])
                .unwrap()
                .unwrap()
                .0
                .mask
                .unwrap(),
        );
        at += used;
    }
    assert_eq!(at, out.len());
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 6, "a fresh key per frame");

    // What the client encodes, a server decodes.
    let mut s = server();
    let (events, err) = decode_all(&mut s, &out);
    assert_eq!(err, None);
    assert_eq!(events.len(), 6);
    assert_eq!(events[0], text(b"Hello"));
    assert_eq!(events[1], data(DataKind::Binary, &big, true, false));
    assert_eq!(events[3], data(DataKind::Binary, &big[..300], false, true));
}

#[test]
fn output_is_drained_by_advance() {
    let mut s = server();
    assert!(!s.wants_write());
    s.encode_ping(b"").unwrap();
    assert!(s.wants_write());
    s.output().advance(1);
    assert!(s.wants_write());
    assert_eq!(s.output().to_vec(), [0x00]);
    s.output().advance(1);
    assert!(!s.wants_write());
}

#[test]
fn encode_refusals() {
    let mut s = server();
    let invalid = |r: Result<(), ProtocolError>| matches!(r, Err(ProtocolError::InvalidSend(_)));
    assert!(invalid(s.encode_data(DataKind::Text, b"x", false, true)));
    assert!(invalid(s.encode_data(DataKind::Text, b"x", false, false)));
    s.encode_data(DataKind::Text, b"a", true, false).unwrap();
    assert!(invalid(s.encode_data(DataKind::Text, b"x", true, true)));
    assert!(invalid(s.encode_data(DataKind::Binary, b"x", true, false)));
    // Control frames may go between fragments.
    s.encode_ping(b"").unwrap();
    s.encode_data(DataKind::Text, b"b", false, true).unwrap();
    assert!(invalid(s.encode_ping(&[0; 126])));
    assert!(invalid(s.encode_pong(&[0; 126])));
    s.encode_pong(&[0; 125]).unwrap();
    // RSV bits need an extension.
    assert!(invalid(s.encode_data_rsv(
        DataKind::Text,
        b"x",
        true,
        true,
        0x4
    )));
    assert!(!invalid(s.encode_data(DataKind::Text, b"x", true, true)));
    // Nothing was written by the refused calls.
    let mut expect = sf(0x01, b"a");
    expect.extend(sf(0x89, b""));
    expect.extend(sf(0x80, b"b"));
    expect.extend(sf(0x8a, &[0; 125]));
    expect.extend(sf(0x81, b"x"));
    assert_eq!(s.output().to_vec(), expect);
}

#[test]
fn encode_close() {
    let mut s = server();
    let invalid = |r: Result<(), ProtocolError>| matches!(r, Err(ProtocolError::InvalidSend(_)));
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        assert!(invalid(s.encode_close(Some(&CloseFrame {
            code,
            reason: String::new()
        }))));
    }
    let long = CloseFrame {
        code: 1000,
        reason: "x".repeat(124),
    };
    assert!(invalid(s.encode_close(Some(&long))));
    assert_eq!(s.state(), State::Open);
    assert!(!s.wants_write());

    s.encode_close(Some(&CloseFrame::new(1000, "bye").unwrap()))
        .unwrap();
    assert_eq!(s.state(), State::CloseSent);
    assert_eq!(
        s.output().to_vec(),
        [0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e']
    );
    // A second call does nothing.
    s.encode_close(None).unwrap();
    assert_eq!(s.output().len(), 7);
    // Nothing else may follow.
    assert!(invalid(s.encode_data(DataKind::Text, b"x", true, true)));
    assert!(invalid(s.encode_ping(b"")));
    assert!(invalid(s.encode_pong(b"")));
    assert_eq!(s.output().len(), 7);

    let mut s = server();
    s.encode_close(None).unwrap();
    assert_eq!(s.output().to_vec(), [0x88, 0x00]);

    let mut s = server();
    let max = CloseFrame::new(4999, "r".repeat(123)).unwrap();
    s.encode_close(Some(&max)).unwrap();
    assert_eq!(&s.output()[..4], &[0x88, 0x7D, 0x13, 0x87]);
    assert_eq!(s.output().len(), 127);

    let mut c = client();
    c.encode_close(Some(&CloseFrame::new(3000, "").unwrap()))
        .unwrap();
    let out = c.output().to_vec();
    assert_eq!(unmask_client_frame(&out), (0x88, vec![0x0B, 0xB8], 8));
}

// ---- The close handshake ----

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

// ---- Malformed frames ----

#[test]
fn reserved_opcodes() {
    for op in (3..=7).chain(0xB..=0xF) {
        check_server_error(&cf(0x80 | op, b""), ProtocolError::ReservedOpCode(op), 1002);
        check_client_error(
            &sf(0x80 | op, b"abc"),
            ProtocolError::ReservedOpCode(op),
            1002,
        );
    }
}

#[test]
fn reserved_bits() {
    for rsv in 1..8u8 {
        for op in [0x1u8, 0x2, 0x9, 0xA, 0x8] {
            let b0 = 0x80 | (rsv << 4) | op;
            check_server_error(&cf(b0, b""), ProtocolError::ReservedBits(rsv), 1002);
            check_client_error(&sf(b0, b"x"), ProtocolError::ReservedBits(rsv), 1002);
        }
    }
}

#[test]
fn extension_rsv_bits() {
    let mut config = Config::new(Role::Server);
    config.allowed_rsv = 0x4;
    let mut s = Connection::new(config.clone());
    // RSV1 on the first frame is passed on; the text is not UTF-8-checked
    // (it is compressed).
    let mut bytes = cf(0x41, &[0xC0, 0x80]);
    bytes.extend(cf(0x80, &[0xFF]));
    let (events, err) = decode_all(&mut s, &bytes);
    assert_eq!(err, None);
    assert_eq!(
        events,
        [
            Event::Data {
                kind: DataKind::Text,
                payload: Bytes::from_static(&[0xC0, 0x80]),
                first: true,
                fin: false,
                rsv: 4
            },
            Event::Data {
                kind: DataKind::Text,
                payload: Bytes::from_static(&[0xFF]),
                first: false,
                fin: true,
                rsv: 4
            },
        ]
    );
    // Not on continuations, not on control frames, not RSV2.
    for (bytes, rsv) in [
        ([cf(0x01, b"a"), cf(0xC0, b"b")].concat(), 4),
        (cf(0xC9, b""), 4),
        (cf(0xE2, b""), 2),
    ] {
        let mut s = Connection::new(config.clone());
        assert_eq!(
            decode_all(&mut s, &bytes).1,
            Some(ProtocolError::ReservedBits(rsv))
        );
    }
    // Sending with RSV1.
    let mut s = Connection::new(config);
    s.encode_data_rsv(DataKind::Binary, b"z", true, false, 0x4)
        .unwrap();
    assert!(
        s.encode_data_rsv(DataKind::Binary, b"z", false, true, 0x4)
            .is_err()
    );
    s.encode_data(DataKind::Binary, b"z", false, true).unwrap();
    assert_eq!(s.output().to_vec(), [0x42, 0x01, b'z', 0x80, 0x01, b'z']);
}

#[test]
fn fragmented_ping() {
    check_server_error(&cf(0x09, b"x"), ProtocolError::FragmentedControl, 1002);
    check_client_error(&sf(0x0A, b""), ProtocolError::FragmentedControl, 1002);
    check_client_error(&sf(0x08, b""), ProtocolError::FragmentedControl, 1002);
}

#[test]
fn control_too_long() {
    check_server_error(
        &cf(0x89, &[0; 126]),
        ProtocolError::ControlTooLong(126),
        1002,
    );
    check_client_error(
        &sf(0x88, &[0x03; 200]),
        ProtocolError::ControlTooLong(200),
        1002,
    );
    // 125 is fine.
    let out = check_decode(
        Role::Server,
        &cf(0x89, &[1; 125]),
        &[Event::Ping(vec![1; 125].into())],
    );
    assert_eq!(out, sf(0x8A, &[1; 125]));
}

#[test]
fn continuation_without_start() {
    check_server_error(&cf(0x80, b"x"), ProtocolError::UnexpectedContinuation, 1002);
    check_server_error(&cf(0x00, b""), ProtocolError::UnexpectedContinuation, 1002);
    // After a finished message too.
    let bytes = [cf(0x81, b"a"), cf(0x80, b"b")].concat();
    check_error(
        Role::Server,
        &bytes,
        &[text(b"a")],
        ProtocolError::UnexpectedContinuation,
        1002,
    );
}

#[test]
fn data_frame_during_fragmented_message() {
    for b0 in [0x81u8, 0x01, 0x82, 0x02] {
        let bytes = [cf(0x01, b"a"), cf(b0, b"b")].concat();
        let first = data(DataKind::Text, b"a", true, false);
        check_error(
            Role::Server,
            &bytes,
            &[first],
            ProtocolError::ExpectedContinuation,
            1002,
        );
    }
}

#[test]
fn masking_by_role() {
    check_server_error(&sf(0x81, b"Hello"), ProtocolError::UnmaskedFrame, 1002);
    check_server_error(&sf(0x89, b""), ProtocolError::UnmaskedFrame, 1002);
    check_client_error(&cf(0x81, b"Hello"), ProtocolError::MaskedFrame, 1002);
    check_client_error(&cf(0x88, b""), ProtocolError::MaskedFrame, 1002);
}

#[test]
fn length_with_msb_set() {
    let mut bytes = vec![0x82, 0xFF];
    bytes.extend_from_slice(&0x8000_0000_0000_0000u64.to_be_bytes());
    bytes.extend_from_slice(&KEY);
    check_server_error(&bytes, ProtocolError::InvalidLength, 1002);
    check_server_error(
        &[0x82, 0xFE, 0x00, 0x10],
        ProtocolError::InvalidLength,
        1002,
    );
}

#[test]
fn frame_over_limit_reserves_nothing() {
    let mut config = Config::new(Role::Server);
    config.max_frame_size = 1000;
    let mut s = Connection::new(config);
    let mut input = BytesMut::with_capacity(64);
    input.extend_from_slice(&[0x82, 0xFF]);
    input.extend_from_slice(&(1u64 << 40).to_be_bytes());
    input.extend_from_slice(&KEY);
    input.extend_from_slice(&[0; 10]);
    assert_eq!(
        s.decode(&mut input),
        Err(ProtocolError::FrameTooLarge {
            size: 1 << 40,
            max: 1000
        })
    );
    assert!(input.capacity() <= 64, "capacity {}", input.capacity());
    assert_eq!(s.output().to_vec(), [0x88, 0x02, 0x03, 0xF1]);

    // Default limit: 16 MiB.
    let mut s = server();
    let mut input = BytesMut::with_capacity(64);
    input.extend_from_slice(&[0x82, 0xFF]);
    input.extend_from_slice(&((16u64 << 20) + 1).to_be_bytes());
    input.extend_from_slice(&KEY);
    let err = s.decode(&mut input).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::FrameTooLarge {
            size: (16 << 20) + 1,
            max: 16 << 20
        }
    );
    assert_eq!(err.close_code(), 1009);
    assert!(input.capacity() <= 64);

    // At the limit it is fine, and room for the rest is reserved.
    let mut config = Config::new(Role::Server);
    config.max_frame_size = 1000;
    let mut s = Connection::new(config);
    let bytes = cf(0x82, &[5; 1000]);
    let mut input = BytesMut::from(&bytes[..100]);
    assert_eq!(s.decode(&mut input), Ok(None));
    assert!(input.capacity() >= 1000);
    input.extend_from_slice(&bytes[100..]);
    assert_eq!(
        s.decode(&mut input),
        Ok(Some(data(DataKind::Binary, &[5; 1000], true, true)))
    );
}

#[test]
fn message_over_limit_across_fragments() {
    let mut s = server();
    s.set_limits(100, 150);
    assert_eq!(
        (s.config().max_frame_size, s.config().max_message_size),
        (100, 150)
    );
    let bytes = [cf(0x02, &[1; 100]), cf(0x00, &[2; 40]), cf(0x80, &[3; 20])].concat();
    let (events, err) = decode_all(&mut s, &bytes);
    assert_eq!(events.len(), 2);
    assert_eq!(
        err,
        Some(ProtocolError::MessageTooLarge {
            size: 160,
            max: 150
        })
    );
    assert_close_queued(&mut s, Role::Server, 1009);

    // A single frame over the message limit.
    let mut s = server();
    s.set_limits(1000, 150);
    let (_, err) = decode_all(&mut s, &cf(0x82, &[0; 151]));
    assert_eq!(
        err,
        Some(ProtocolError::MessageTooLarge {
            size: 151,
            max: 150
        })
    );

    // Control frames between fragments do not count; a new message starts at 0.
    let mut s = server();
    s.set_limits(100, 150);
    let bytes = [
        cf(0x02, &[1; 100]),
        cf(0x89, &[0; 100]),
        cf(0x80, &[2; 50]),
        cf(0x82, &[3; 100]),
        cf(0x02, &[3; 100]),
        cf(0x80, &[3; 50]),
    ]
    .concat();
    let (events, err) = decode_all(&mut s, &bytes);
    assert_eq!((events.len(), err), (6, None));
}

// ---- UTF-8 ----

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

// ---- Robustness ----

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Either random bytes, or a sequence of frames that is mostly well formed,
/// with an occasional flaw, so that every state is reached.
fn random_input(rng: &mut XorShift, role: Role) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.below(5) == 0 {
        let len = rng.below(200) as usize;
        out.extend((0..len).map(|_| rng.next() as u8));
        return out;
    }
    let mut in_message = false;
    for _ in 0..rng.below(8) + 1 {
        let flaw = rng.below(40) == 0;
        let control = rng.below(4) == 0;
        let op = if flaw {
            [0u8, 1, 2, 3, 7, 0xB, 0xF][rng.below(7) as usize]
        } else if control {
            [8u8, 9, 10][rng.below(3) as usize]
        } else if in_message {
            0
        } else {
            1 + rng.below(2) as u8
        };
        let fin = if !flaw && (op >= 8 || rng.below(3) != 0) {
            0x80
        } else {
            0
        };
        if op < 8 {
            in_message = fin == 0;
        }
        let rsv = if rng.below(40) == 0 {
            (rng.below(8) as u8) << 4
        } else {
            0
        };
        let len = match rng.below(10) {
            0 => rng.below(300) as usize,
            _ => rng.below(12) as usize,
        };
        let mut payload = Vec::with_capacity(len + 1);
        while payload.len() < len {
            match rng.below(100) {
                0 => payload.push(rng.next() as u8),
                1..=10 => payload.extend_from_slice("é".as_bytes()),
                11..=13 => payload.extend_from_slice("€".as_bytes()),
                _ => payload.push(b'a' + rng.below(26) as u8),
            }
        }
        if op == 8 && payload.len() >= 2 {
            let code = [1000u16, 1001, 3000, 4999, 1005, 0][rng.below(6) as usize];
            payload[..2].copy_from_slice(&code.to_be_bytes());
        }
        let masked = match role {
            Role::Server => rng.below(50) != 0,
            Role::Client => rng.below(50) == 0,
        };
        let key = (rng.next() as u32).to_ne_bytes();
        let mut f = frame(fin | rsv | op, &payload, masked.then_some(key));
        if rng.below(40) == 0 {
            let i = rng.below(f.len() as u64) as usize;
            f[i] = rng.next() as u8;
        }
        out.extend(f);
    }
    out
}

#[test]
fn decode_never_panics() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut events, mut errors, mut closes) = (0, 0, 0);
    for round in 0..20_000 {
        let role = if round % 2 == 0 {
            Role::Server
        } else {
            Role::Client
        };
        let mut config = Config::new(role);
        if rng.below(6) == 0 {
            config.max_frame_size = rng.below(300) as usize;
            config.max_message_size = rng.below(600) as usize;
        }
        if rng.below(8) == 0 {
            config.allowed_rsv = rng.below(8) as u8;
        }
        let mut conn = Connection::new(config);
        if rng.below(5) == 0 {
            let _ = conn.encode_close(None);
        }
        let bytes = random_input(&mut rng, role);
        let mut input = BytesMut::new();
        let mut text = Vec::new();
        let mut at = 0;
        'feed: while at < bytes.len() {
            let n = (rng.below(40) as usize + 1).min(bytes.len() - at);
            input.extend_from_slice(&bytes[at..at + n]);
            at += n;
            loop {
                match conn.decode(&mut input) {
                    Ok(Some(Event::Data {
                        kind: DataKind::Text,
                        payload,
                        rsv: 0,
                        first,
                        fin,
                    })) => {
                        // A delivered text message is valid UTF-8.
                        if first {
                            text.clear();
                        }
                        text.extend_from_slice(&payload);
                        if fin {
                            assert!(std::str::from_utf8(&text).is_ok(), "{text:x?}");
                        }
                        events += 1;
                    }
                    Ok(Some(Event::Close(_))) => closes += 1,
                    Ok(Some(_)) => events += 1,
                    Ok(None) => break,
                    Err(e) => {
                        errors += 1;
                        assert_eq!(conn.state(), State::Closed);
                        assert!([1002, 1007, 1009].contains(&e.close_code()));
                        break 'feed;
                    }
                }
            }
        }
        // The output always parses as frames.
        let out = conn.output().to_vec();
        let mut pos = 0;
        while pos < out.len() {
            let (h, n) = FrameHeader::parse(&out[pos..]).unwrap().unwrap();
            assert_eq!(h.mask.is_some(), role == Role::Client);
            pos += n + h.payload_len as usize;
        }
        assert_eq!(pos, out.len());
    }
    // The generator reaches every outcome often.
    assert!(
        events > 30_000 && errors > 5000 && closes > 1000,
        "{events} {errors} {closes}"
    );
}
