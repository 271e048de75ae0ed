//! Byte-for-byte tests of the state machine.

use super::super::mask::apply_mask;
use super::write::{MASK_WHILE_COPYING, put_header, put_small_masked_frame};
use super::*;

/// Everything a run of `decode` calls produced.
#[derive(Debug, PartialEq)]
struct Run {
    events: Vec<Result<Event, ProtocolError>>,
    output: Vec<u8>,
    state: State,
    left: Vec<u8>,
}

/// Feeds `chunks` one after the other, decoding after each until
/// `Ok(None)`; `fast: false` skips the fast path of `decode_message`.
fn run(config: &Config, chunks: &[&[u8]], fast: bool) -> Run {
    let mut conn = Connection::new(config.clone());
    let mut input = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        input.extend_from_slice(chunk);
        loop {
            let res = if fast {
                conn.decode(&mut input)
            } else if conn.state == State::Closed {
                input.clear();
                Ok(None)
            } else {
                conn.decode_general(&mut input)
            };
            match res {
                Ok(None) => break,
                Ok(Some(ev)) => events.push(Ok(ev)),
                Err(e) => events.push(Err(e)),
            }
        }
    }
    Run {
        events,
        output: unmasked(conn.output()),
        state: conn.state(),
        left: input.to_vec(),
    }
}

/// The frames of an output with their masks taken off (a client's keys
/// are random).
fn unmasked(mut out: &[u8]) -> Vec<u8> {
    let mut plain = BytesMut::new();
    while let Ok(Some((mut header, len))) = FrameHeader::parse(out) {
        let end = len + header.payload_len as usize;
        let mut payload = out[len..end].to_vec();
        if let Some(key) = header.mask.take() {
            apply_mask(&mut payload, key);
        }
        header.encode(&mut plain);
        plain.extend_from_slice(&payload);
        out = &out[end..];
    }
    assert!(out.is_empty());
    plain.to_vec()
}

/// A frame with the length in the given number of extension bytes
/// (0, 2 or 8, minimal or not), masked with `key` if given.
fn frame(b0: u8, payload: &[u8], ext: usize, key: Option<[u8; 4]>) -> Vec<u8> {
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    let mut out = vec![b0];
    match ext {
        0 => out.push(mask_bit | payload.len() as u8),
        2 => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
    }
    let start = out.len() + if key.is_some() { 4 } else { 0 };
    if let Some(key) = key {
        out.extend_from_slice(&key);
    }
    out.extend_from_slice(payload);
    if let Some(key) = key {
        apply_mask(&mut out[start..], key);
    }
    out
}

fn payloads() -> Vec<Vec<u8>> {
    let mut all = vec![
        Vec::new(),
        b"Hello".to_vec(),
        "h\u{e9}llo \u{1F600}".as_bytes().to_vec(),
        vec![0xFF, 0x41],
        vec![0xE2, 0x82],
        vec![b'a'; 125],
    ];
    for len in [126, 300, 0x10000] {
        all.push((0..len).map(|i| (i % 97) as u8 + 32).collect());
    }
    all
}

/// The fast path and the general path agree on every input, whole or
/// split at any point (small inputs) or at a few points (large ones).
#[test]
fn fast_path_matches_general_path() {
    let first_bytes = [
        0x81, 0x82, 0x01, 0x02, 0x00, 0x80, 0x88, 0x89, 0x8A, 0x83, 0xC1, 0xC2, 0x92, 0xA2,
    ];
    let mut cases = 0;
    for role in [Role::Server, Role::Client] {
        for (max_frame, deflate) in [(16 << 20, false), (200, false), (16 << 20, true)] {
            let mut config = Config::new(role);
            config.max_frame_size = max_frame;
            if deflate {
                config.deflate = Some(DeflateConfig::default());
            }
            for payload in payloads() {
                for b0 in first_bytes {
                    let control = b0 & 0x08 != 0;
                    if control && payload.len() > 125 {
                        continue;
                    }
                    for ext in [0, 2, 8] {
                        if (ext == 0 && payload.len() > 125) || (ext == 2 && payload.len() > 0xFFFF)
                        {
                            continue;
                        }
                        for key in [None, Some([0x37, 0xfa, 0x21, 0x3d])] {
                            let mut wire = frame(b0, &payload, ext, key);
                            // A second message behind the first.
                            let tail = frame(0x82, b"next", 0, key);
                            wire.extend_from_slice(&tail);
                            check(&config, &wire);
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(cases > 1000);
}

fn check(config: &Config, wire: &[u8]) {
    let general = run(config, &[wire], false);
    let fast = run(config, &[wire], true);
    assert_eq!(fast, general, "{:02x?}", &wire[..wire.len().min(16)]);
    let cuts: Vec<usize> = if wire.len() <= 64 {
        (1..wire.len()).collect()
    } else {
        vec![
            1,
            2,
            3,
            4,
            8,
            10,
            14,
            wire.len() / 2,
            wire.len() - 9,
            wire.len() - 1,
        ]
    };
    for cut in cuts {
        let (a, b) = wire.split_at(cut);
        let general = run(config, &[a, b], false);
        let fast = run(config, &[a, b], true);
        assert_eq!(fast, general, "cut {cut}");
    }
}

/// decode_messages takes what decode_message would, one by one.
#[test]
fn decode_messages_matches_decode_message() {
    let key = Some([0x37, 0xfa, 0x21, 0x3d]);
    for role in [Role::Server, Role::Client] {
        let key = if role == Role::Server { key } else { None };
        let mut wire = Vec::new();
        for i in 0..25u8 {
            wire.extend(frame(0x82, &vec![i; usize::from(i) * 5], 0, key));
            wire.extend(frame(0x81, "t\u{e9}xt".as_bytes(), 0, key));
            wire.extend(frame(0x82, &[], 0, key));
        }
        wire.extend(frame(0x82, &[7; 300], 2, key));
        wire.extend(frame(0x89, b"ping", 0, key));
        wire.extend(frame(0x82, b"after", 0, key));
        for max in [0, 1, 2, 5, 63, 64, 65, 75, 76, 77, 1000] {
            for cut in [wire.len(), wire.len() - 1, wire.len() / 2, 3] {
                let config = Config::new(role);
                let mut one = Connection::new(config.clone());
                let mut input_one = BytesMut::from(&wire[..cut]);
                let mut want = Vec::new();
                while want.len() < max.min(64) {
                    match one.decode_message(&mut input_one) {
                        Some(Event::Data { kind, payload, .. }) => want.push((kind, payload)),
                        Some(other) => panic!("{other:?}"),
                        None => break,
                    }
                }
                let mut many = Connection::new(config);
                let mut input_many = BytesMut::from(&wire[..cut]);
                let mut got = Vec::new();
                let n = many.decode_messages(&mut input_many, max, |k, p| got.push((k, p)));
                assert_eq!(n, got.len());
                assert_eq!(got, want, "max {max} cut {cut}");
                assert_eq!(input_many, input_one, "max {max} cut {cut}");
            }
        }
    }
}

/// A message that is all of a buffer without spare room takes the
/// buffer itself; otherwise it is split off and the room stays.
#[test]
fn whole_buffer_is_taken_not_split() {
    let wire = frame(0x82, b"payload", 0, None);
    for decode in [Connection::decode, Connection::decode_general] {
        let mut conn = Connection::new(Config::new(Role::Client));
        let mut exact = BytesMut::from(&wire[..]);
        assert_eq!(exact.capacity(), wire.len());
        let ev = decode(&mut conn, &mut exact).unwrap();
        assert_eq!(ev, Some(data_event(b"payload")));
        assert_eq!((exact.len(), exact.capacity()), (0, 0));
        let mut roomy = BytesMut::with_capacity(wire.len() + 100);
        roomy.extend_from_slice(&wire);
        let ev = decode(&mut conn, &mut roomy).unwrap();
        assert_eq!(ev, Some(data_event(b"payload")));
        assert_eq!(roomy.len(), 0);
        assert!(roomy.capacity() >= 100);
    }
    let mut conn = Connection::new(Config::new(Role::Client));
    let mut exact = BytesMut::from(&wire[..]);
    let mut got = Vec::new();
    assert_eq!(conn.decode_messages(&mut exact, 8, |_, p| got.push(p)), 1);
    assert_eq!(got, [Bytes::from_static(b"payload")]);
    assert_eq!((exact.len(), exact.capacity()), (0, 0));
}

fn data_event(payload: &'static [u8]) -> Event {
    Event::Data {
        kind: DataKind::Binary,
        payload: Bytes::from_static(payload),
        first: true,
        fin: true,
        rsv: 0,
    }
}

#[test]
fn small_masked_frame_matches_header_and_apply_mask() {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    for len in 0..=MASK_WHILE_COPYING {
        let payload: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
        for b0 in [0x82, 0x01, 0x80, 0xC1] {
            let mut a = BytesMut::from(&b"head"[..]);
            put_small_masked_frame(&mut a, b0, &payload, key);
            let mut b = BytesMut::from(&b"head"[..]);
            put_header(&mut b, b0, len, Some(key));
            let mut masked = payload.clone();
            apply_mask(&mut masked, key);
            b.extend_from_slice(&masked);
            assert_eq!(a, b, "len {len} b0 {b0:#x}");
        }
    }
}

#[test]
fn client_frames_are_masked_header_and_payload() {
    // Every size on either side of the small-frame path, checked by
    // unmasking what the client role wrote.
    let mut conn = Connection::new(Config::new(Role::Client));
    for len in [0usize, 1, 7, 8, 9, 16, 63, 64, 65, 125, 126, 300, 0x1_0000] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        conn.encode_data(DataKind::Binary, &payload, true, true)
            .unwrap();
        let out = conn.output().split().freeze();
        let ext = match len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        let key: [u8; 4] = out[2 + ext..6 + ext].try_into().unwrap();
        assert_eq!(
            &out[..],
            &frame(0x82, &payload, ext, Some(key))[..],
            "len {len}"
        );
    }
}

#[test]
fn put_header_matches_frame_header_encode() {
    for len in [0usize, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 1 << 33] {
        for key in [None, Some([9, 8, 7, 6])] {
            for b0 in [0x82, 0x01, 0x80, 0xC1, 0x88] {
                let mut a = BytesMut::new();
                put_header(&mut a, b0, len, key);
                let mut b = BytesMut::new();
                FrameHeader {
                    fin: b0 & 0x80 != 0,
                    rsv: (b0 >> 4) & 0x7,
                    opcode: OpCode::from_u8(b0 & 0xF).unwrap(),
                    mask: key,
                    payload_len: len as u64,
                }
                .encode(&mut b);
                assert_eq!(a, b, "len {len} key {key:?} b0 {b0:#x}");
            }
        }
    }
}

#[test]
fn fast_path_leaves_refused_input_untouched() {
    // Invalid UTF-8, masked: unmasked then masked back for the general
    // path, which fails the connection with 1007.
    let key = [1, 2, 3, 4];
    let wire = frame(0x81, &[0xFF, 0x41], 0, Some(key));
    let mut conn = Connection::new(Config::new(Role::Server));
    let mut input = BytesMut::from(&wire[..]);
    assert_eq!(conn.decode_message(&mut input), None);
    assert_eq!(&input[..], &wire[..]);
    assert_eq!(conn.decode(&mut input), Err(ProtocolError::InvalidUtf8));
    // Incomplete: nothing taken.
    let wire = frame(0x82, b"abc", 0, Some(key));
    let mut conn = Connection::new(Config::new(Role::Server));
    let mut input = BytesMut::from(&wire[..wire.len() - 1]);
    assert_eq!(conn.decode_message(&mut input), None);
    assert_eq!(&input[..], &wire[..wire.len() - 1]);
}

/// Decodes every frame of `wire` into a server connection, collecting no
/// output (the caller looks at it).
fn feed_server(conn: &mut Connection, wire: &[u8]) {
    let mut input = BytesMut::from(wire);
    while let Some(ev) = conn.decode(&mut input).unwrap() {
        assert!(matches!(ev, Event::Ping(_)), "{ev:?}");
    }
    assert!(input.is_empty());
}

fn client_ping(payload: &[u8]) -> Vec<u8> {
    frame(0x89, payload, 0, Some([7, 8, 9, 10]))
}

#[test]
fn a_ping_flood_leaves_at_most_one_pong_held_back() {
    let mut conn = Connection::new(Config::new(Role::Server));
    // The output drains: each ping gets its pong.
    feed_server(&mut conn, &client_ping(b"a"));
    assert_eq!(conn.output().split().to_vec(), [0x8A, 1, b'a']);
    // The output holds bytes nobody writes (a peer that never reads):
    // the first pong goes in, and of the thousands after it, only the
    // latest waits, held back.
    let flood: Vec<u8> = (0..10_000u32)
        .flat_map(|i| client_ping(&i.to_be_bytes()))
        .collect();
    feed_server(&mut conn, &flood);
    assert!(conn.wants_write());
    assert_eq!(conn.output().len(), 2 + 4, "only the first pong is queued");
    let first = conn.output().split();
    assert_eq!(first.to_vec(), [0x8A, 4, 0, 0, 0, 0]);
    // Once the output is found empty, it takes the latest ping's pong.
    assert!(conn.wants_write());
    let latest = conn.output().split();
    assert_eq!(
        latest.to_vec(),
        [&[0x8A, 4][..], &9_999u32.to_be_bytes()].concat()
    );
    assert!(!conn.wants_write());
}

#[test]
fn a_held_pong_goes_before_the_close_and_never_after() {
    // Our close: the held pong is put in front of it.
    let mut conn = Connection::new(Config::new(Role::Server));
    conn.encode_data(DataKind::Binary, b"queued", true, true)
        .unwrap();
    feed_server(&mut conn, &client_ping(b"p"));
    conn.encode_close(None).unwrap();
    let out = conn.output().split().to_vec();
    assert_eq!(out[out.len() - 5..], [0x8A, 1, b'p', 0x88, 0]);
    assert!(!conn.wants_write());

    // The peer's close: the pong goes before the reply.
    let mut conn = Connection::new(Config::new(Role::Server));
    conn.encode_data(DataKind::Binary, b"queued", true, true)
        .unwrap();
    let wire = [
        client_ping(b"p"),
        frame(0x88, &[0x03, 0xE8], 0, Some([1, 2, 3, 4])),
    ]
    .concat();
    let mut input = BytesMut::from(&wire[..]);
    while conn.decode(&mut input).unwrap().is_some() {}
    let out = conn.output().split().to_vec();
    assert_eq!(out[out.len() - 7..], [0x8A, 1, b'p', 0x88, 2, 0x03, 0xE8]);
    assert!(!conn.wants_write());

    // Discarding the output drops the held pong too.
    let mut conn = Connection::new(Config::new(Role::Server));
    conn.encode_data(DataKind::Binary, b"queued", true, true)
        .unwrap();
    feed_server(&mut conn, &client_ping(b"p"));
    assert!(conn.wants_write());
    conn.discard_output();
    assert!(!conn.wants_write());
    assert!(conn.output().is_empty());
}

#[test]
fn a_frame_header_alone_reserves_little() {
    // A header announcing 16 MiB reserves a few KiB; the buffer then
    // grows with what arrives (doubling), not to what was announced.
    let mut conn = Connection::new(Config::new(Role::Client));
    let mut input = BytesMut::new();
    input.extend_from_slice(&[0x82, 127]);
    input.extend_from_slice(&(16u64 << 20).to_be_bytes());
    assert_eq!(conn.decode(&mut input), Ok(None));
    assert!(input.capacity() <= 64 * 1024, "{}", input.capacity());
    let chunk = [0u8; 100 * 1024];
    input.extend_from_slice(&chunk);
    assert_eq!(conn.decode(&mut input), Ok(None));
    assert!(input.capacity() <= 4 * chunk.len(), "{}", input.capacity());
}

#[test]
fn encode_messages_is_encode_data_one_by_one() {
    let messages: Vec<(DataKind, Vec<u8>)> = [0usize, 5, 64, 65, 126, 70_000]
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let kind = if i % 2 == 0 {
                DataKind::Binary
            } else {
                DataKind::Text
            };
            (kind, vec![b'a'; len])
        })
        .collect();
    for role in [Role::Client, Role::Server] {
        let keys = || {
            let mut n = 0u8;
            Box::new(move || {
                n = n.wrapping_add(1);
                [n, 2, 3, 4]
            })
        };
        let mut one = Connection::new(Config::new(role));
        one.set_mask_keys(keys());
        for (kind, p) in &messages {
            one.encode_data(*kind, p, true, true).unwrap();
        }
        let mut all = Connection::new(Config::new(role));
        all.set_mask_keys(keys());
        all.encode_messages(messages.iter().map(|(k, p)| (*k, &p[..])))
            .unwrap();
        assert_eq!(one.output()[..], all.output()[..], "{role:?}");
    }
    // The same checks: refused while a message sent in pieces is open,
    // and after the close frame, with nothing encoded.
    let mut conn = Connection::new(Config::new(Role::Server));
    conn.encode_data(DataKind::Text, b"a", true, false).unwrap();
    let before = conn.output().clone();
    assert!(matches!(
        conn.encode_messages([(DataKind::Binary, &b"x"[..])]),
        Err(ProtocolError::InvalidSend(_))
    ));
    assert_eq!(conn.output()[..], before[..]);
    let mut conn = Connection::new(Config::new(Role::Server));
    conn.encode_close(None).unwrap();
    assert!(
        conn.encode_messages([(DataKind::Binary, &b"x"[..])])
            .is_err()
    );
}
