//! Robustness: random and mostly well-formed input.

use super::*;

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
