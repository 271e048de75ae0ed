//! Internal: the decoder's entry points for the fuzz targets in `fuzz/`
//! (cargo feature `fuzzing`, off by default). Not a stable API: these are
//! thin wrappers over crate-private methods of [`Connection`], so that the
//! targets can compare the fast paths with the general one.

use bytes::{Bytes, BytesMut};

use super::{Connection, DataKind, Event, ProtocolError, State};

/// [`Connection::decode`] without its fast path: the general path alone,
/// frame by frame (with `decode`'s rule that in [`State::Closed`] whatever
/// arrives is dropped).
pub fn decode_general(
    conn: &mut Connection,
    input: &mut BytesMut,
) -> Result<Option<Event>, ProtocolError> {
    if conn.state == State::Closed {
        input.clear();
        return Ok(None);
    }
    conn.decode_general(input)
}

/// The fast path: the whole single-frame message at the front of `input`,
/// or `None` with `input` and the state untouched.
pub fn decode_message(conn: &mut Connection, input: &mut BytesMut) -> Option<Event> {
    conn.decode_message(input)
}

/// The read-ahead decoder: every whole single-frame message at the front
/// of `input` the fast path accepts, at most `max` (and at most 64), each
/// handed to `f`. Returns how many.
pub fn decode_messages(
    conn: &mut Connection,
    input: &mut BytesMut,
    max: usize,
    f: impl FnMut(DataKind, Bytes),
) -> usize {
    conn.decode_messages(input, max, f)
}
