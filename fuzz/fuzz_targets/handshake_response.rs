//! Arbitrary bytes as the server's answer to a fixed upgrade request, and as
//! a request to the server side.
//!
//! Besides not panicking, the parsers must agree with themselves: a head
//! reported complete lies within the buffer and within the limits, and a
//! longer buffer with the same start gives the same head.
//!
//! The same bytes, as text, are also a client's permessage-deflate offers to
//! the server side and a server's answer to the client side; whatever the
//! server answers, a client with the default options accepts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wsock::handshake::{HandshakeError, Limits, client, server};
use wsock::proto::deflate::DeflateOptions;

fuzz_target!(|data: &[u8]| {
    let protocols = ["chat".to_owned(), "superchat".to_owned()];
    let req = client::Request {
        host: "example.com",
        resource: "/chat",
        key: "dGhlIHNhbXBsZSBub25jZQ==",
        protocols: &protocols,
        extensions: Some("permessage-deflate"),
        headers: &[],
    };
    let mut limits = Limits::default();
    limits.max_head_size = 1024;
    limits.max_headers = 16;
    limits.max_body_size = 64;

    let text = String::from_utf8_lossy(data);
    let options = DeflateOptions::default();
    let _ = options.accept_answer(&text);
    if let Some((agreed, answer)) = options.answer_offers(&text) {
        let on_client = options.accept_answer(&answer).unwrap();
        assert_eq!(
            on_client.server_max_window_bits,
            agreed.server_max_window_bits
        );
    }

    match client::parse_response(data, &req, &limits) {
        Ok(Some((accepted, head_len))) => {
            assert!(head_len <= data.len() && head_len <= limits.max_head_size);
            if let Some(protocol) = &accepted.protocol {
                assert!(protocols.contains(protocol));
            }
            // The same head with one byte more after it.
            let mut longer = data.to_vec();
            longer.push(0);
            let again = client::parse_response(&longer, &req, &limits)
                .unwrap()
                .unwrap();
            assert_eq!(again, (accepted, head_len));
        }
        Ok(None) => assert!(data.len() <= limits.max_head_size),
        Err(HandshakeError::Status(response)) => {
            assert_ne!(response.status, 101);
            assert!(response.body.len() <= limits.max_body_size);
            let _ = client::body_complete(&response, &limits);
        }
        Err(_) => {}
    }

    if let Ok(Some((request, head_len))) = server::parse_request(data, &limits) {
        assert!(head_len <= data.len() && head_len <= limits.max_head_size);
        match server::check_upgrade(&request) {
            Ok(upgrade) => {
                // The server's answer must satisfy a client that sent this key.
                let mut answer = Vec::new();
                server::write_accept(&upgrade.key, None, None, &[], &mut answer);
                let req = client::Request {
                    key: &upgrade.key,
                    ..Default::default()
                };
                let (_, n) = client::parse_response(&answer, &req, &Limits::default())
                    .unwrap()
                    .unwrap();
                assert_eq!(n, answer.len());
            }
            Err(rejection) => {
                let mut answer = Vec::new();
                rejection.write(&mut answer);
            }
        }
    }
});
