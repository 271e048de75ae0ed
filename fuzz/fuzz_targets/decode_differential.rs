//! The fast path against the general one: the same peer bytes into two
//! connections, one decoding with the general path alone, the other
//! trying `decode_message` (a whole single-frame message in one step)
//! before `decode`, as the receiver does. Event by event, in lock step,
//! both must give the same outcome (event or error, payload, kind,
//! completeness, RSV bits), leave the same bytes in the input and be in the
//! same state; at the end they must have queued the same frames for the
//! peer (pongs, the close reply or the close of a violation).
//!
//! Input: `[setup, mode, chunk, rest..]` (see `common::Setup`).

#![no_main]

mod common;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wsock::proto::fuzzing;

fuzz_target!(|data: &[u8]| {
    let [setup, mode, chunk, rest @ ..] = data else {
        return;
    };
    let setup = common::Setup::new(*setup, *mode, *chunk);
    let mut general = setup.connection();
    let mut fast = setup.connection();
    let mut general_in = BytesMut::new();
    let mut fast_in = BytesMut::new();
    let mut step = 0usize;
    let pieces = setup.pieces(rest);
    let count = pieces.len();
    for (n, piece) in pieces.into_iter().enumerate() {
        let piece_start = step;
        general_in.extend_from_slice(piece);
        fast_in.extend_from_slice(piece);
        loop {
            let want = fuzzing::decode_general(&mut general, &mut general_in);
            let got = match fuzzing::decode_message(&mut fast, &mut fast_in) {
                Some(event) => Ok(Some(event)),
                None => fast.decode(&mut fast_in),
            };
            assert_eq!(got, want, "step {step}: the fast path's outcome differs");
            assert_eq!(
                fast_in.len(),
                general_in.len(),
                "step {step}: the fast path left a different input length"
            );
            assert_eq!(fast.state(), general.state(), "step {step}: states differ");
            step += 1;
            if want == Ok(None) {
                // The bytes themselves (unmasked in place or not) after a
                // piece that ended something and after the last: after
                // every step, or every piece of a long frame fed byte by
                // byte, this would be quadratic.
                if step > piece_start + 1 || n + 1 == count {
                    assert!(
                        fast_in == general_in,
                        "step {step}: the fast path left different input"
                    );
                }
                break;
            }
        }
    }
    assert_eq!(
        common::plain_output(&mut fast),
        common::plain_output(&mut general),
        "the fast path queued different frames for the peer"
    );
});
