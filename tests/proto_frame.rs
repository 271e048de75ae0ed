//! Frame header codec, masking, UTF-8 validation and close payloads, through
//! the public API.

use bytes::BytesMut;
use wsock::proto::close::{CloseFrame, is_valid_wire_code, why_not_sendable};
use wsock::proto::mask::{MaskKeySource, apply_mask, apply_mask_offset};
use wsock::proto::utf8::Utf8Validator;
use wsock::proto::{FrameHeader, OpCode, ProtocolError};
use wsock::random::CsprngMaskKeys;

fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    FrameHeader::parse(buf)
}

fn encode(h: &FrameHeader) -> Vec<u8> {
    let mut out = BytesMut::new();
    h.encode(&mut out);
    assert_eq!(out.len(), h.encoded_len());
    out.to_vec()
}

fn header(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
    FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: len,
    }
}

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// RFC 6455 section 5.7, header by header.
#[test]
fn rfc_examples_parse_and_encode() {
    let cases: Vec<(Vec<u8>, FrameHeader)> = vec![
        // A single-frame unmasked text message "Hello".
        (vec![0x81, 0x05], header(true, OpCode::Text, None, 5)),
        // A single-frame masked text message "Hello".
        (
            vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d],
            header(true, OpCode::Text, Some(KEY), 5),
        ),
        // A fragmented unmasked text message: "Hel", then "lo".
        (vec![0x01, 0x03], header(false, OpCode::Text, None, 3)),
        (
            vec![0x80, 0x02],
            header(true, OpCode::Continuation, None, 2),
        ),
        // Unmasked ping "Hello", masked pong "Hello".
        (vec![0x89, 0x05], header(true, OpCode::Ping, None, 5)),
        (
            vec![0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d],
            header(true, OpCode::Pong, Some(KEY), 5),
        ),
        // 256 bytes binary in a single unmasked frame.
        (
            vec![0x82, 0x7E, 0x01, 0x00],
            header(true, OpCode::Binary, None, 256),
        ),
        // 64 KiB binary in a single unmasked frame.
        (
            vec![0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00],
            header(true, OpCode::Binary, None, 65536),
        ),
    ];
    for (bytes, h) in cases {
        assert_eq!(parse(&bytes), Ok(Some((h, bytes.len()))), "{bytes:x?}");
        // Trailing payload bytes do not change the header.
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"Hello");
        assert_eq!(parse(&longer), Ok(Some((h, bytes.len()))));
        for cut in 0..bytes.len() {
            assert_eq!(parse(&bytes[..cut]), Ok(None), "{bytes:x?} cut at {cut}");
        }
        assert_eq!(encode(&h), bytes);
    }
}

#[test]
fn masked_hello_payload() {
    let mut payload = *b"Hello";
    apply_mask(&mut payload, KEY);
    assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    apply_mask(&mut payload, KEY);
    assert_eq!(&payload, b"Hello");
}

#[test]
fn rsv_bits_and_fin() {
    for rsv in 0..8u8 {
        let b0 = 0x02 | (rsv << 4);
        let (h, n) = parse(&[b0, 0x00]).unwrap().unwrap();
        assert_eq!((h.rsv, h.fin, n), (rsv, false, 2));
        assert_eq!(encode(&h), [b0, 0x00]);
    }
}

#[test]
fn reserved_opcodes() {
    for op in (3..=7).chain(0xB..=0xF) {
        // Refused from the first byte on, FIN or not.
        assert_eq!(parse(&[0x80 | op]), Err(ProtocolError::ReservedOpCode(op)));
        assert_eq!(parse(&[op, 0x00]), Err(ProtocolError::ReservedOpCode(op)));
        assert_eq!(ProtocolError::ReservedOpCode(op).close_code(), 1002);
    }
}

#[test]
fn control_frame_rules() {
    for op in [0x8u8, 0x9, 0xA] {
        assert_eq!(parse(&[op]), Err(ProtocolError::FragmentedControl));
        assert_eq!(
            parse(&[0x80 | op, 0x7D]).unwrap().unwrap().0.payload_len,
            125
        );
        assert_eq!(
            parse(&[0x80 | op, 0x7E, 0x00, 0x7E]),
            Err(ProtocolError::ControlTooLong(126))
        );
        assert_eq!(parse(&[0x80 | op, 0x7E, 0x00]), Ok(None));
        let mut long = vec![0x80 | op, 0xFF];
        long.extend_from_slice(&(1u64 << 20).to_be_bytes());
        assert_eq!(parse(&long), Err(ProtocolError::ControlTooLong(1 << 20)));
    }
}

#[test]
fn invalid_lengths() {
    // 64-bit length with the most significant bit set.
    let mut b = vec![0x82, 0x7F];
    b.extend_from_slice(&(1u64 << 63).to_be_bytes());
    assert_eq!(parse(&b), Err(ProtocolError::InvalidLength));
    let mut b = vec![0x82, 0x7F];
    b.extend_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(parse(&b), Err(ProtocolError::InvalidLength));
    // The largest allowed.
    let mut b = vec![0x82, 0x7F];
    b.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
    assert_eq!(parse(&b).unwrap().unwrap().0.payload_len, u64::MAX >> 1);
    // Not in the fewest bytes.
    assert_eq!(
        parse(&[0x82, 0x7E, 0x00, 0x7D]),
        Err(ProtocolError::InvalidLength)
    );
    assert_eq!(
        parse(&[0x82, 0x7E, 0x00, 0x00]),
        Err(ProtocolError::InvalidLength)
    );
    let mut b = vec![0x82, 0x7F];
    b.extend_from_slice(&0xFFFFu64.to_be_bytes());
    assert_eq!(parse(&b), Err(ProtocolError::InvalidLength));
    let mut b = vec![0x82, 0x7F];
    b.extend_from_slice(&5u64.to_be_bytes());
    assert_eq!(parse(&b), Err(ProtocolError::InvalidLength));
    assert_eq!(ProtocolError::InvalidLength.close_code(), 1002);
}

#[test]
fn encode_lengths_shortest_form() {
    for (len, expect) in [
        (0u64, vec![0x82, 0x00]),
        (125, vec![0x82, 0x7D]),
        (126, vec![0x82, 0x7E, 0x00, 0x7E]),
        (0xFFFF, vec![0x82, 0x7E, 0xFF, 0xFF]),
        (0x10000, vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] {
        assert_eq!(encode(&header(true, OpCode::Binary, None, len)), expect);
        let mut masked = expect.clone();
        masked[1] |= 0x80;
        masked.extend_from_slice(&KEY);
        assert_eq!(
            encode(&header(true, OpCode::Binary, Some(KEY), len)),
            masked
        );
    }
}

#[test]
fn mask_round_trips_every_offset_and_length() {
    let keys = [KEY, [0, 0, 0, 0], [0xFF, 0x00, 0xAA, 0x55]];
    for key in keys {
        for len in 0..=70usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let expected: Vec<u8> = data
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            let mut whole = data.clone();
            apply_mask(&mut whole, key);
            assert_eq!(whole, expected);
            // Progressive: split at every point, the second part at its offset.
            for split in 0..=len {
                let mut v = data.clone();
                let (a, b) = v.split_at_mut(split);
                apply_mask_offset(a, key, 0);
                apply_mask_offset(b, key, split);
                assert_eq!(v, expected, "len {len} split {split}");
                apply_mask(&mut v, key);
                assert_eq!(v, data);
            }
            // Any offset: byte i is XORed with key[(i + offset) % 4].
            for offset in 0..70 {
                let mut v = data.clone();
                apply_mask_offset(&mut v, key, offset);
                let e: Vec<u8> = data
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ key[(i + offset) % 4])
                    .collect();
                assert_eq!(v, e);
            }
        }
    }
}

#[test]
fn mask_keys_are_fresh() {
    let mut keys = CsprngMaskKeys::new();
    // Past several refills of the pool.
    let a: Vec<[u8; 4]> = (0..500).map(|_| keys.next_key()).collect();
    let mut b = a.clone();
    b.sort();
    b.dedup();
    // Random 32-bit keys: one collision in 500 is already unlikely (3e-5).
    assert!(b.len() >= a.len() - 1);
    // Debug output shows no key material.
    assert_eq!(format!("{keys:?}"), "CsprngMaskKeys { .. }");
}

#[test]
fn utf8_validator() {
    let mut v = Utf8Validator::new();
    for piece in [&b"h\xC3"[..], b"\xA9llo \xF0\x9F", b"\x98", b"\x80!"] {
        v.feed(piece).unwrap();
    }
    v.finish().unwrap();
    for bad in [
        &[0xC0u8, 0x80][..],
        &[0xED, 0xA0, 0x80],
        &[0xF4, 0x90],
        &[0xFF],
        &[0x80],
    ] {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(bad), Err(ProtocolError::InvalidUtf8), "{bad:x?}");
        // Byte by byte it fails too, at the latest on the last byte.
        let mut v = Utf8Validator::new();
        let r: Result<(), _> = bad.iter().try_for_each(|b| v.feed(&[*b]));
        assert_eq!(r, Err(ProtocolError::InvalidUtf8));
    }
    let mut v = Utf8Validator::new();
    v.feed(&[0xF0, 0x9F, 0x98]).unwrap();
    assert_eq!(v.finish(), Err(ProtocolError::InvalidUtf8));
    assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
}

#[test]
fn close_codes() {
    for code in [
        0u16,
        999,
        1004,
        1005,
        1006,
        1015,
        1016,
        2999,
        5000,
        u16::MAX,
    ] {
        assert!(!is_valid_wire_code(code), "{code}");
        assert_eq!(
            CloseFrame::parse(&code.to_be_bytes()),
            Err(ProtocolError::InvalidCloseCode(code))
        );
    }
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4999,
    ] {
        assert!(is_valid_wire_code(code), "{code}");
        assert_eq!(
            CloseFrame::parse(&code.to_be_bytes()),
            Ok(Some(CloseFrame {
                code,
                reason: String::new()
            }))
        );
    }
    for code in 0..=u16::MAX {
        assert_eq!(
            why_not_sendable(code).is_none(),
            is_valid_wire_code(code),
            "{code}"
        );
    }
}

#[test]
fn close_payloads() {
    assert_eq!(CloseFrame::parse(&[]), Ok(None));
    assert_eq!(
        CloseFrame::parse(&[0x03]),
        Err(ProtocolError::InvalidClosePayload)
    );
    assert_eq!(
        CloseFrame::parse(b"\x03\xe8ok"),
        Ok(Some(CloseFrame {
            code: 1000,
            reason: "ok".into()
        }))
    );
    assert_eq!(
        CloseFrame::parse(b"\x03\xe8\xce\xba\xe1\xbd\xb9")
            .unwrap()
            .unwrap()
            .reason,
        "κ\u{1f79}"
    );
    assert_eq!(
        CloseFrame::parse(b"\x03\xe8\xff"),
        Err(ProtocolError::InvalidUtf8)
    );
    assert_eq!(
        CloseFrame::parse(b"\x03\xe8\xce"),
        Err(ProtocolError::InvalidUtf8)
    );

    let f = CloseFrame::new(4000, "é".repeat(61)).unwrap();
    let mut out = BytesMut::new();
    f.encode(&mut out);
    assert_eq!(out.len(), 124);
    assert_eq!(&out[..2], &[0x0F, 0xA0]);
    assert_eq!(CloseFrame::parse(&out), Ok(Some(f)));
    assert!(matches!(
        CloseFrame::new(1000, "x".repeat(124)),
        Err(ProtocolError::InvalidSend(_))
    ));
    assert!(matches!(
        CloseFrame::new(1006, ""),
        Err(ProtocolError::InvalidSend(_))
    ));
}
