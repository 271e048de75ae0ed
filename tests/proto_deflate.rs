//! permessage-deflate in the sans-IO core, byte for byte: the examples of
//! RFC 7692 section 7.2.3, context takeover, fragments, limits, and the
//! negotiation of both roles.
#![cfg(feature = "deflate")]

use bytes::{Buf, BytesMut};
use wsock::proto::deflate::{DeflateConfig, DeflateOptions};
use wsock::proto::{Config, Connection, DataKind, Event, ProtocolError, Role, State, close};

fn conn(role: Role, deflate: DeflateConfig) -> Connection {
    let mut config = Config::new(role);
    config.deflate = Some(deflate);
    Connection::new(config)
}

fn server() -> Connection {
    conn(Role::Server, DeflateConfig::default())
}

fn client() -> Connection {
    conn(Role::Client, DeflateConfig::default())
}

/// Takes everything `conn` queued for the peer.
fn take_output(conn: &mut Connection) -> Vec<u8> {
    let out = conn.output();
    let bytes = out.to_vec();
    out.advance(bytes.len());
    bytes
}

/// Decodes all events in `bytes`; the error, if any, ends the list.
fn decode_all(conn: &mut Connection, bytes: &[u8]) -> (Vec<Event>, Option<ProtocolError>) {
    let mut input = BytesMut::from(bytes);
    let mut events = Vec::new();
    loop {
        match conn.decode(&mut input) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

/// The payloads of whole messages (fragments joined), with their kinds.
fn messages(events: &[Event]) -> Vec<(DataKind, Vec<u8>)> {
    let mut out: Vec<(DataKind, Vec<u8>)> = Vec::new();
    for e in events {
        if let Event::Data {
            kind,
            payload,
            first,
            rsv,
            ..
        } = e
        {
            assert_eq!(*rsv, 0, "RSV1 of an inflated message is not reported");
            if *first {
                out.push((*kind, Vec::new()));
            }
            out.last_mut().unwrap().1.extend_from_slice(payload);
        }
    }
    out
}

fn single_text(conn: &mut Connection, bytes: &[u8]) -> Vec<u8> {
    let (events, err) = decode_all(conn, bytes);
    assert_eq!(err, None);
    let mut m = messages(&events);
    assert_eq!(m.len(), 1, "{events:?}");
    let (kind, data) = m.pop().unwrap();
    assert_eq!(kind, DataKind::Text);
    data
}

/// RFC 7692 7.2.3.1: "Hello" in one compressed frame.
const HELLO: [u8; 9] = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// RFC 7692 7.2.3.2: "Hello" again, with the first one's context.
const HELLO_AGAIN: [u8; 7] = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];

#[test]
fn rfc_hello_is_encoded_as_in_the_rfc() {
    let mut s = server();
    s.encode_data(DataKind::Text, b"Hello", true, true).unwrap();
    assert_eq!(take_output(&mut s), HELLO);
    // 7.2.3.2: the second "Hello" refers back to the first.
    s.encode_data(DataKind::Text, b"Hello", true, true).unwrap();
    assert_eq!(take_output(&mut s), HELLO_AGAIN);
}

#[test]
fn rfc_hello_decodes() {
    let mut c = client();
    assert_eq!(single_text(&mut c, &HELLO), b"Hello");
    assert_eq!(single_text(&mut c, &HELLO_AGAIN), b"Hello");
}

#[test]
fn no_context_takeover_encodes_each_message_afresh() {
    let mut config = DeflateConfig::default();
    config.server_no_context_takeover = true;
    let mut s = conn(Role::Server, config);
    for _ in 0..3 {
        s.encode_data(DataKind::Text, b"Hello", true, true).unwrap();
        assert_eq!(take_output(&mut s), HELLO);
    }
    // The client side of the same agreement reads them all.
    let mut c = conn(Role::Client, config);
    for _ in 0..3 {
        assert_eq!(single_text(&mut c, &HELLO), b"Hello");
    }
}

#[test]
fn rfc_fragmented_message_decodes() {
    // 7.2.3.1, second example: the compressed "Hello" in two fragments.
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let mut c = client();
    assert_eq!(single_text(&mut c, &wire), b"Hello");
}

#[test]
fn rfc_stored_block_and_bfinal_decode() {
    // 7.2.3.3: "Hello" in a DEFLATE block with no compression.
    let stored = [
        0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    // 7.2.3.4: "Hello" in a block with BFINAL set, then an empty block's
    // header byte.
    let bfinal = [0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    let mut c = client();
    assert_eq!(single_text(&mut c, &stored), b"Hello");
    assert_eq!(single_text(&mut c, &bfinal), b"Hello");
    // After a final block the next message starts a new stream.
    assert_eq!(single_text(&mut c, &HELLO), b"Hello");
    assert_eq!(single_text(&mut c, &HELLO_AGAIN), b"Hello");
}

#[test]
fn an_uncompressed_message_passes_through() {
    let mut c = client();
    let wire = [0x81, 0x05, b'H', b'e', b'l', b'l', b'o'];
    assert_eq!(single_text(&mut c, &wire), b"Hello");
    // And does not disturb the compressed context.
    assert_eq!(single_text(&mut c, &HELLO), b"Hello");
    assert_eq!(single_text(&mut c, &HELLO_AGAIN), b"Hello");
}

#[test]
fn empty_messages_and_fragments() {
    let mut s = server();
    s.encode_data(DataKind::Binary, b"", true, true).unwrap();
    let empty = take_output(&mut s);
    // RFC 7692 7.2.3.6: an empty message compresses to one 0x00 octet.
    assert_eq!(empty, [0xc2, 0x01, 0x00]);
    s.encode_data(DataKind::Binary, b"", true, false).unwrap();
    s.encode_data(DataKind::Binary, b"abc", false, false)
        .unwrap();
    s.encode_data(DataKind::Binary, b"", false, false).unwrap();
    s.encode_data(DataKind::Binary, b"", false, true).unwrap();
    s.encode_data(DataKind::Binary, b"abc", true, true).unwrap();
    let wire = take_output(&mut s);
    let mut c = client();
    let (events, err) = decode_all(&mut c, &[empty, wire].concat());
    assert_eq!(err, None);
    assert_eq!(
        messages(&events),
        [
            (DataKind::Binary, vec![]),
            (DataKind::Binary, b"abc".to_vec()),
            (DataKind::Binary, b"abc".to_vec())
        ]
    );
}

/// Text that compresses well but not trivially.
fn sample(len: usize, seed: u32) -> Vec<u8> {
    let words = ["alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta\n"];
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if x.is_multiple_of(7) {
            out.extend_from_slice(format!("{x}").as_bytes());
        } else {
            out.extend_from_slice(words[x as usize % words.len()].as_bytes());
        }
    }
    out.truncate(len);
    out
}

/// Noise that does not compress.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 7;
            x ^= x >> 9;
            x as u8
        })
        .collect()
}

/// Sends `msgs` from a client to a server with `config`, fragmenting every
/// other message into pieces of `piece` bytes, and checks what arrives.
fn round_trip(config: DeflateConfig, msgs: &[Vec<u8>], piece: usize) -> usize {
    let mut c = conn(Role::Client, config);
    let mut s = conn(Role::Server, config);
    let mut wire_len = 0;
    for (i, m) in msgs.iter().enumerate() {
        if i % 2 == 1 && m.len() > piece {
            let chunks: Vec<&[u8]> = m.chunks(piece).collect();
            for (j, chunk) in chunks.iter().enumerate() {
                c.encode_data(DataKind::Binary, chunk, j == 0, j == chunks.len() - 1)
                    .unwrap();
            }
        } else {
            c.encode_data(DataKind::Binary, m, true, true).unwrap();
        }
        let wire = take_output(&mut c);
        wire_len += wire.len();
        // Feed the server in small reads.
        let mut input = BytesMut::new();
        let mut events = Vec::new();
        for read in wire.chunks(1000) {
            input.extend_from_slice(read);
            while let Some(e) = s.decode(&mut input).unwrap() {
                events.push(e);
            }
        }
        assert_eq!(
            messages(&events),
            [(DataKind::Binary, m.clone())],
            "message {i}"
        );
    }
    wire_len
}

#[test]
fn round_trips_every_window_with_and_without_context_takeover() {
    let msgs: Vec<Vec<u8>> = (0..8)
        .map(|i| match i % 4 {
            0 => sample(3000, i),
            1 => sample(70_000, i),
            2 => noise(5000, u64::from(i) + 1),
            _ => Vec::new(),
        })
        .collect();
    let raw: usize = msgs.iter().map(Vec::len).sum();
    for bits in 8..=15u8 {
        for no_takeover in [false, true] {
            let mut config = DeflateConfig::default();
            config.client_max_window_bits = bits;
            config.server_max_window_bits = bits;
            config.client_no_context_takeover = no_takeover;
            config.server_no_context_takeover = no_takeover;
            let wire = round_trip(config, &msgs, 777);
            if bits > 8 {
                assert!(wire < raw / 2, "bits {bits}: {wire} of {raw}");
            } else {
                // Stored blocks: a little more than the raw size.
                assert!(wire < raw + raw / 50 + 1000, "bits 8: {wire} of {raw}");
            }
        }
    }
}

#[test]
fn context_takeover_makes_repeats_cheap() {
    let m = sample(2000, 9);
    let msgs = vec![m.clone(), m.clone(), m.clone(), m];
    let mut config = DeflateConfig::default();
    let with = round_trip(config, &msgs, 100_000);
    config.client_no_context_takeover = true;
    let without = round_trip(config, &msgs, 100_000);
    assert!(with * 2 < without, "with {with}, without {without}");
}

#[test]
fn threshold_leaves_small_messages_uncompressed() {
    let mut config = DeflateConfig::default();
    config.compression_threshold = 6;
    let mut s = conn(Role::Server, config);
    s.encode_data(DataKind::Text, b"Hello", true, true).unwrap();
    assert_eq!(take_output(&mut s), b"\x81\x05Hello");
    s.encode_data(DataKind::Text, b"Hello!", true, true)
        .unwrap();
    assert_eq!(take_output(&mut s)[0], 0xc1);
    // A message in pieces is compressed whatever its first piece.
    s.encode_data(DataKind::Text, b"H", true, false).unwrap();
    assert_eq!(take_output(&mut s)[0], 0x41);
    s.encode_data(DataKind::Text, b"i", false, true).unwrap();
    assert_eq!(take_output(&mut s)[0], 0x80);
}

#[test]
fn control_frames_are_never_compressed() {
    let mut s = server();
    s.encode_ping(b"ping").unwrap();
    assert_eq!(take_output(&mut s), b"\x89\x04ping");
    // A compressed message may be interleaved with a ping.
    s.encode_data(DataKind::Text, b"Hel", true, false).unwrap();
    s.encode_pong(b"").unwrap();
    s.encode_data(DataKind::Text, b"lo", false, true).unwrap();
    let wire = take_output(&mut s);
    let mut c = client();
    let (events, err) = decode_all(&mut c, &wire);
    assert_eq!(err, None);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Pong(p) if p.is_empty()))
    );
    assert_eq!(messages(&events), [(DataKind::Text, b"Hello".to_vec())]);
}

#[test]
fn rsv1_rules() {
    // RSV1 on a continuation frame.
    let mut c = client();
    let (_, err) = decode_all(&mut c, &[0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x00]);
    assert_eq!(err, Some(ProtocolError::ReservedBits(0x4)));
    // RSV1 on a control frame.
    let mut c = client();
    let (_, err) = decode_all(&mut c, &[0xc9, 0x00]);
    assert_eq!(err, Some(ProtocolError::ReservedBits(0x4)));
    // RSV1 without the extension.
    let mut c = Connection::new(Config::new(Role::Client));
    let (_, err) = decode_all(&mut c, &HELLO);
    assert_eq!(err, Some(ProtocolError::ReservedBits(0x4)));
    // The codec owns RSV1 when sending.
    let mut s = server();
    assert!(matches!(
        s.encode_data_rsv(DataKind::Text, b"x", true, true, 0x4),
        Err(ProtocolError::InvalidSend(_))
    ));
    // A compressed message cannot go on uncompressed.
    s.encode_data(DataKind::Text, b"x", true, false).unwrap();
    assert!(matches!(
        s.encode_data_rsv(DataKind::Text, b"y", false, true, 0),
        Err(ProtocolError::InvalidSend(_))
    ));
}

/// The close code queued in `conn`'s output.
fn close_code(conn: &mut Connection) -> u16 {
    let out = take_output(conn);
    assert_eq!(out[0], 0x88, "{out:x?}");
    let (key, at) = if out[1] & 0x80 != 0 {
        ([out[2], out[3], out[4], out[5]], 6)
    } else {
        ([0; 4], 2)
    };
    u16::from_be_bytes([out[at] ^ key[0], out[at + 1] ^ key[1]])
}

#[test]
fn bad_data_fails_with_1007() {
    let mut c = client();
    // BTYPE 11 is reserved.
    let (_, err) = decode_all(&mut c, &[0xc2, 0x01, 0xff]);
    assert_eq!(err, Some(ProtocolError::InvalidCompressedData));
    assert_eq!(close_code(&mut c), close::INVALID_PAYLOAD);
    assert_eq!(c.state(), State::Closed);

    // Valid DEFLATE, invalid UTF-8 in a text message.
    let mut s = server();
    s.encode_data(DataKind::Binary, &[0xff, 0xfe, 0xfd], true, true)
        .unwrap();
    let mut wire = take_output(&mut s);
    wire[0] = 0xc1; // as text
    let mut c = client();
    let (_, err) = decode_all(&mut c, &wire);
    assert_eq!(err, Some(ProtocolError::InvalidUtf8));
    assert_eq!(close_code(&mut c), close::INVALID_PAYLOAD);
}

#[test]
fn a_compressed_bomb_stops_at_the_limit_with_1009() {
    // 16 MiB of zeros compress to about 16 KiB.
    let mut s = server();
    let zeros = vec![0u8; 16 << 20];
    s.encode_data(DataKind::Binary, &zeros, true, true).unwrap();
    drop(zeros);
    let wire = take_output(&mut s);
    assert!(wire.len() < 32 * 1024, "{}", wire.len());

    let limit = 1 << 20;
    let mut config = Config::new(Role::Client);
    config.deflate = Some(DeflateConfig::default());
    config.max_message_size = limit;
    let mut c = Connection::new(config);
    let (events, err) = decode_all(&mut c, &wire);
    assert!(events.is_empty());
    // Inflating stopped one byte past the limit: no more was produced.
    assert_eq!(
        err,
        Some(ProtocolError::MessageTooLarge {
            size: limit as u64 + 1,
            max: limit
        })
    );
    assert_eq!(close_code(&mut c), close::MESSAGE_TOO_BIG);
}

#[test]
fn the_limit_counts_the_whole_inflated_message() {
    let mut s = server();
    let piece = vec![b'a'; 600];
    s.encode_data(DataKind::Text, &piece, true, false).unwrap();
    s.encode_data(DataKind::Text, &piece, false, true).unwrap();
    let wire = take_output(&mut s);
    for (limit, ok) in [(1200, true), (1199, false)] {
        let mut config = Config::new(Role::Client);
        config.deflate = Some(DeflateConfig::default());
        config.max_message_size = limit;
        let mut c = Connection::new(config);
        let (events, err) = decode_all(&mut c, &wire);
        if ok {
            assert_eq!(err, None);
            assert_eq!(messages(&events)[0].1.len(), 1200);
        } else {
            assert_eq!(
                err,
                Some(ProtocolError::MessageTooLarge {
                    size: 1200,
                    max: 1199
                })
            );
        }
    }
}

// Negotiation.

#[test]
fn client_offer() {
    let mut o = DeflateOptions::default();
    assert_eq!(o.offer(), "permessage-deflate; client_max_window_bits");
    o.client_max_window_bits = Some(9);
    o.server_max_window_bits = Some(12);
    o.server_no_context_takeover = true;
    o.client_no_context_takeover = true;
    assert_eq!(
        o.offer(),
        "permessage-deflate; client_max_window_bits=9; server_max_window_bits=12; \
         server_no_context_takeover; client_no_context_takeover"
    );
}

#[test]
fn client_accepts_answers_that_fit() {
    let o = DeflateOptions::default();
    let a = o.accept_answer("permessage-deflate").unwrap();
    assert_eq!(a, DeflateConfig::default());
    let a = o
        .accept_answer(
            "Permessage-Deflate ; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=9; client_max_window_bits=\"8\"",
        )
        .unwrap();
    assert!(a.server_no_context_takeover && a.client_no_context_takeover);
    assert_eq!((a.server_max_window_bits, a.client_max_window_bits), (9, 8));

    let mut o = DeflateOptions::default();
    o.client_no_context_takeover = true;
    o.client_max_window_bits = Some(12);
    o.server_max_window_bits = Some(10);
    o.server_no_context_takeover = true;
    let a = o
        .accept_answer("permessage-deflate; server_no_context_takeover; server_max_window_bits=10")
        .unwrap();
    // The offered promise holds without an answer, and so does our limit.
    assert!(a.client_no_context_takeover);
    assert_eq!(
        (a.server_max_window_bits, a.client_max_window_bits),
        (10, 12)
    );
    let a = o
        .accept_answer(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=8; \
             client_max_window_bits=11",
        )
        .unwrap();
    assert_eq!(
        (a.server_max_window_bits, a.client_max_window_bits),
        (8, 11)
    );
}

#[test]
fn client_refuses_answers_that_do_not_fit() {
    let plain = DeflateOptions::default();
    for bad in [
        "",
        "x-webkit-deflate-frame",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; unknown",
        "permessage-deflate; client_max_window_bits=\"1 0\"",
        "permessage-deflate;; server_no_context_takeover",
    ] {
        assert!(plain.accept_answer(bad).is_err(), "{bad:?}");
    }
    let mut o = DeflateOptions::default();
    o.client_max_window_bits = Some(10);
    o.server_max_window_bits = Some(10);
    o.server_no_context_takeover = true;
    let fits = "permessage-deflate; server_no_context_takeover; server_max_window_bits=10";
    assert!(o.accept_answer(fits).is_ok());
    for bad in [
        // client window above the offer
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
        // server window above the offer, or missing
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
        "permessage-deflate; server_no_context_takeover",
        // asked for, not confirmed
        "permessage-deflate; server_max_window_bits=10",
    ] {
        assert!(o.accept_answer(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn server_picks_the_first_acceptable_offer() {
    let o = DeflateOptions::default();
    let (a, answer) = o.answer_offers("permessage-deflate").unwrap();
    assert_eq!(answer, "permessage-deflate");
    assert_eq!(a, DeflateConfig::default());

    // Unknown extensions, unknown parameters and bad values are passed over.
    let offers = "x-foo; a=1, permessage-deflate; foo, permessage-deflate; server_max_window_bits=16, \
                  permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10, \
                  permessage-deflate";
    let (a, answer) = o.answer_offers(offers).unwrap();
    assert_eq!(
        answer,
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
    );
    assert!(a.server_no_context_takeover && !a.client_no_context_takeover);
    assert_eq!(
        (a.server_max_window_bits, a.client_max_window_bits),
        (9, 15)
    );

    assert!(o.answer_offers("x-foo, permessage-deflate; mux").is_none());
    assert!(o.answer_offers("").is_none());
}

#[test]
fn server_applies_its_own_options() {
    let mut o = DeflateOptions::default();
    o.server_no_context_takeover = true;
    o.client_no_context_takeover = true;
    o.server_max_window_bits = Some(11);
    o.client_max_window_bits = Some(10);
    let (a, answer) = o
        .answer_offers("permessage-deflate; client_max_window_bits; server_max_window_bits=12")
        .unwrap();
    assert_eq!(
        answer,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=11; client_max_window_bits=10"
    );
    assert_eq!(
        (a.server_max_window_bits, a.client_max_window_bits),
        (11, 10)
    );
    // Without client_max_window_bits in the offer the client keeps 15 bits.
    let (a, answer) = o.answer_offers("permessage-deflate").unwrap();
    assert_eq!(
        answer,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=11"
    );
    assert_eq!(a.client_max_window_bits, 15);
    // The client's own smaller limit wins.
    let (a, _) = o
        .answer_offers("permessage-deflate; client_max_window_bits=9")
        .unwrap();
    assert_eq!(a.client_max_window_bits, 9);
}

#[test]
fn both_roles_agree() {
    // Whatever a client offers, the server's answer is one the client takes,
    // and both sides end up with the same parameters.
    let windows = [None, Some(8), Some(9), Some(12), Some(15)];
    for cw in windows {
        for sw in windows {
            for (snct, cnct) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut client = DeflateOptions::default();
                client.client_max_window_bits = cw;
                client.server_max_window_bits = sw;
                client.server_no_context_takeover = snct;
                client.client_no_context_takeover = cnct;
                let mut server = DeflateOptions::default();
                server.server_max_window_bits = sw.map(|w| w.max(10));
                server.client_max_window_bits = Some(11);
                let (on_server, answer) = server.answer_offers(&client.offer()).unwrap();
                let on_client = client.accept_answer(&answer).unwrap();
                assert_eq!(
                    on_server.server_max_window_bits,
                    on_client.server_max_window_bits
                );
                assert!(on_client.client_max_window_bits <= on_server.client_max_window_bits);
                assert_eq!(
                    on_server.server_no_context_takeover,
                    on_client.server_no_context_takeover
                );
            }
        }
    }
}

#[test]
fn options_are_checked() {
    let mut o = DeflateOptions::default();
    assert!(o.check().is_ok());
    o.server_max_window_bits = Some(7);
    assert!(o.check().is_err());
    o.server_max_window_bits = Some(8);
    assert!(o.check().is_ok());
    o.compression_level = 10;
    assert!(o.check().is_err());
}
