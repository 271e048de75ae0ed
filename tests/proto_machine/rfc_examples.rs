//! The examples of RFC 6455 section 5.7, decoded, and decoding in general.

use super::*;

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
