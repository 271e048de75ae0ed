//! The upgrade handshake's bytes, both sides: `cargo bench --bench
//! handshake`.

#[path = "support/timing.rs"]
mod timing;

use std::hint::black_box;

use wsock::handshake::{Limits, client, generate_key, server};

fn main() {
    let limits = Limits::default();
    let key = generate_key();
    let req = client::Request {
        host: "example.com:8080",
        resource: "/chat?room=1",
        key: &key,
        ..Default::default()
    };
    let mut request = Vec::new();
    client::write_request(&req, &mut request);
    let (parsed, _) = server::parse_request(&request, &limits).unwrap().unwrap();
    let upgrade = server::check_upgrade(&parsed).unwrap();
    let mut response = Vec::new();
    server::write_accept(&upgrade.key, None, None, &[], &mut response);

    timing::bench("handshake/client/generate_key", None, generate_key);
    let mut out = Vec::with_capacity(512);
    timing::bench("handshake/client/write_request", None, || {
        out.clear();
        client::write_request(black_box(&req), &mut out);
    });
    timing::bench("handshake/client/parse_response", None, || {
        client::parse_response(black_box(&response), &req, &limits)
            .unwrap()
            .unwrap()
    });
    timing::bench("handshake/client/request+response", None, || {
        let key = generate_key();
        let req = client::Request {
            key: &key,
            ..req.clone()
        };
        let mut out = Vec::with_capacity(512);
        client::write_request(&req, &mut out);
        let mut answer = Vec::with_capacity(256);
        server::write_accept(&key, None, None, &[], &mut answer);
        client::parse_response(&answer, &req, &limits)
            .unwrap()
            .unwrap()
    });
    timing::bench("handshake/server/parse+check+accept", None, || {
        let (parsed, _) = server::parse_request(black_box(&request), &limits)
            .unwrap()
            .unwrap();
        let up = server::check_upgrade(&parsed).unwrap();
        out.clear();
        server::write_accept(&up.key, None, None, &[], &mut out);
    });
}
