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
use wsock::proto::deflate::DeflateConfig;
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
    if setup & 0x20 != 0 {
        let mut deflate = DeflateConfig::default();
        deflate.server_no_context_takeover = setup & 0x40 != 0;
        deflate.client_no_context_takeover = setup & 0x40 != 0;
        if setup & 0x80 != 0 {
            deflate.server_max_window_bits = 9;
            deflate.client_max_window_bits = 9;
        }
        config.deflate = Some(deflate);
    }
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
