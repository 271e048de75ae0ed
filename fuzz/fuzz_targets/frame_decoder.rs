//! Arbitrary bytes from the peer into `Connection::decode`, in either role.
//!
//! The first byte picks the role, small limits (so that the limit checks are
//! reached) and the RSV bits an extension would allow; the second picks the
//! size of the pieces the rest is fed in, as a socket would deliver it.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wsock::proto::{Config, Connection, Role};

fuzz_target!(|data: &[u8]| {
    let [setup, chunk, rest @ ..] = data else {
        return;
    };
    let role = if setup & 1 == 0 {
        Role::Client
    } else {
        Role::Server
    };
    let mut config = Config::new(role);
    if setup & 2 != 0 {
        config.max_frame_size = 256;
        config.max_message_size = 1024;
    }
    config.allowed_rsv = (setup >> 2) & 0x7;
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
