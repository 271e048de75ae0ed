//! Arbitrary bytes from the peer into `Connection::decode`, in either role.
//!
//! The first byte picks the role, small limits (so that the limit checks are
//! reached), the RSV bits an extension would allow and permessage-deflate
//! (on or off, with or without context takeover, 15- or 9-bit windows); the
//! second picks the size of the pieces the rest is fed in, as a socket would
//! deliver it.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wsock::proto::Connection;

#[allow(dead_code)]
mod common;

fuzz_target!(|data: &[u8]| {
    let [setup, chunk, rest @ ..] = data else {
        return;
    };
    let config = common::config_from(*setup);
    let mut connection = Connection::new(config);

    let chunk = usize::from(*chunk).max(1);
    let mut input = BytesMut::new();
    for piece in rest.chunks(chunk) {
        input.extend_from_slice(piece);
        loop {
            match connection.decode(&mut input) {
                Ok(Some(_event)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
            // What this side would send (pongs, the close reply) is dropped.
            connection.output().clear();
        }
        connection.output().clear();
    }
});
