//! The read-ahead decoder (`decode_messages`, which takes every whole
//! single-frame message already in the read buffer in one go) interleaved
//! with `decode`, as the receiver does it, against the general path alone
//! on the same bytes. After each piece of input both must have produced
//! the same events (read-ahead messages count as whole data events, in
//! the order they were taken), the same errors at the same point, left
//! the same bytes in the input and be in the same state; at the end they
//! must have queued the same frames for the peer.
//!
//! Input: `[setup, mode, chunk, rest..]` (see `common::Setup`); the top
//! bits of `mode` choose how many messages a read-ahead may take (0 to 28,
//! 64, 65 or no limit) and whether it also runs before every `decode`, not only
//! after a whole message as the receiver does.

#![no_main]

mod common;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wsock::proto::{Connection, Event, ProtocolError, fuzzing};

type Outcome = Result<Event, ProtocolError>;

fuzz_target!(|data: &[u8]| {
    let [setup, mode, chunk, rest @ ..] = data else {
        return;
    };
    let setup = common::Setup::new(*setup, *mode, *chunk);
    let eager = setup.bits & 1 != 0;
    let max = match setup.bits >> 1 {
        31 => usize::MAX,
        30 => 65,
        29 => 64,
        n => usize::from(n),
    };
    let mut general = setup.connection();
    let mut ahead = setup.connection();
    let mut general_in = BytesMut::new();
    let mut ahead_in = BytesMut::new();
    let mut want: Vec<Outcome> = Vec::new();
    let mut got: Vec<Outcome> = Vec::new();
    let mut checked = 0;
    let pieces = setup.pieces(rest);
    let count = pieces.len();
    for (n, piece) in pieces.into_iter().enumerate() {
        general_in.extend_from_slice(piece);
        ahead_in.extend_from_slice(piece);
        loop {
            match fuzzing::decode_general(&mut general, &mut general_in) {
                Ok(None) => break,
                Ok(Some(event)) => want.push(Ok(event)),
                Err(e) => want.push(Err(e)),
            }
        }
        loop {
            if eager {
                read_ahead(&mut ahead, &mut ahead_in, max, &mut got);
            }
            match ahead.decode(&mut ahead_in) {
                Ok(None) => break,
                Ok(Some(event)) => {
                    let whole = matches!(
                        event,
                        Event::Data {
                            first: true,
                            fin: true,
                            ..
                        }
                    );
                    got.push(Ok(event));
                    if whole {
                        read_ahead(&mut ahead, &mut ahead_in, max, &mut got);
                    }
                }
                Err(e) => got.push(Err(e)),
            }
        }
        // Only this piece's events: comparing all of them after every
        // piece would make an input of many pieces quadratic.
        assert_eq!(
            got[checked..],
            want[checked..],
            "piece {n}: the read-ahead's events differ (events {checked} on)"
        );
        // The bytes left (unmasked in place or not): their length after
        // every piece, the bytes themselves after a piece that ended
        // something and after the last (after every piece, a long frame
        // fed byte by byte would be quadratic too).
        assert_eq!(
            ahead_in.len(),
            general_in.len(),
            "piece {n}: the read-ahead left a different input length"
        );
        if want.len() > checked || n + 1 == count {
            assert!(
                ahead_in == general_in,
                "piece {n}: the read-ahead left different input"
            );
        }
        checked = want.len();
        assert_eq!(ahead.state(), general.state(), "piece {n}: states differ");
    }
    assert_eq!(
        common::plain_output(&mut ahead),
        common::plain_output(&mut general),
        "the read-ahead queued different frames for the peer"
    );
});

/// One read-ahead, its messages appended to `got` as whole data events.
fn read_ahead(conn: &mut Connection, input: &mut BytesMut, max: usize, got: &mut Vec<Outcome>) {
    let before = got.len();
    let n = fuzzing::decode_messages(conn, input, max, |kind, payload| {
        got.push(Ok(Event::Data {
            kind,
            payload,
            first: true,
            fin: true,
            rsv: 0,
        }))
    });
    assert_eq!(n, got.len() - before, "decode_messages miscounted");
    assert!(
        n <= max.min(64),
        "decode_messages took {n}, over its limit of {max}"
    );
}
