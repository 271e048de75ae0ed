//! Malformed frames and the limits.

use super::*;

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
