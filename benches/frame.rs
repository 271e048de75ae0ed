//! Frame encoding and decoding through the sans-IO core:
//! `cargo bench --bench frame`.

#[path = "support/timing.rs"]
mod timing;

use std::hint::black_box;

use bytes::BytesMut;
use wsock::proto::{Config, Connection, DataKind, Event, Role};

fn main() {
    for (role, tag) in [(Role::Client, "client"), (Role::Server, "server")] {
        for size in [16usize, 1024, 64 * 1024, 1 << 20] {
            let payload = vec![b'x'; size];
            let mut conn = Connection::new(Config::new(role));
            timing::bench(&format!("frame/encode/{tag}/{size}"), Some(size), || {
                conn.encode_data(DataKind::Binary, black_box(&payload), true, true)
                    .unwrap();
                conn.output().clear();
            });
        }
    }

    // Decoding: 1,000 frames of 16 bytes in one read, and one 64 KiB frame,
    // each as a server (masked input) and as a client (unmasked input).
    for (from, to, tag) in [
        (Role::Client, Role::Server, "server"),
        (Role::Server, Role::Client, "client"),
    ] {
        for (size, count, kind) in [
            (16usize, 1000usize, DataKind::Binary),
            (16, 1000, DataKind::Text),
            (64 * 1024, 1, DataKind::Binary),
            (64 * 1024, 1, DataKind::Text),
        ] {
            let mut sender = Connection::new(Config::new(from));
            let payload = vec![b'y'; size];
            for _ in 0..count {
                sender.encode_data(kind, &payload, true, true).unwrap();
            }
            let wire = sender.output().split().freeze();
            let mut receiver = Connection::new(Config::new(to));
            let mut input = BytesMut::with_capacity(wire.len());
            let kind_tag = if kind == DataKind::Text {
                "text"
            } else {
                "binary"
            };
            timing::bench(
                &format!("frame/decode/{tag}/{kind_tag}/{count}x{size}"),
                Some(size * count),
                || {
                    input.clear();
                    input.extend_from_slice(&wire);
                    let mut n = 0;
                    while let Some(ev) = receiver.decode(&mut input).unwrap() {
                        if let Event::Data { payload, .. } = ev {
                            n += payload.len();
                        }
                    }
                    assert_eq!(n, size * count);
                },
            );
        }
    }

    // A 1 MiB frame arriving in reads of 64 KiB, as from a socket: the
    // input grows as the payload comes, so this measures what the
    // decoder's reservations cost in copies of what has arrived.
    let mut sender = Connection::new(Config::new(Role::Server));
    let size = 1 << 20;
    sender
        .encode_data(DataKind::Binary, &vec![b'z'; size], true, true)
        .unwrap();
    let wire = sender.output().split().freeze();
    let mut config = Config::new(Role::Client);
    config.max_frame_size = 2 << 20;
    let mut receiver = Connection::new(config);
    timing::bench(
        "frame/decode/client/binary/1x1MiB-in-64KiB-reads",
        Some(size),
        || {
            let mut input = BytesMut::new();
            let mut n = 0;
            for chunk in wire.chunks(64 * 1024) {
                input.reserve(chunk.len());
                input.extend_from_slice(chunk);
                while let Some(ev) = receiver.decode(&mut input).unwrap() {
                    if let Event::Data { payload, .. } = ev {
                        n += payload.len();
                    }
                }
            }
            assert_eq!(n, size);
        },
    );
}
