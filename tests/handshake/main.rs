//! The upgrade handshake, both roles, on hand-made bytes.
//!
//! One test binary: the client role's cases in `client_role`, the server
//! role's in `server_role`, sharing the helpers here.

mod client_role;
mod server_role;

use wsock::handshake::client::{self, Accepted};
use wsock::handshake::server::{self, Rejection};
use wsock::handshake::{HandshakeError, Limits, accept_key};

/// The key of RFC 6455 section 1.3 and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn request() -> client::Request<'static> {
    client::Request {
        host: "example.com",
        resource: "/chat",
        key: KEY,
        ..Default::default()
    }
}

fn parse(bytes: &[u8]) -> Result<Option<(Accepted, usize)>, HandshakeError> {
    client::parse_response(bytes, &request(), &Limits::default())
}

fn ok_101(extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {ACCEPT}\r\n{extra}\r\n"
    )
}

fn refused(
    result: Result<Option<(Accepted, usize)>, HandshakeError>,
) -> wsock::handshake::HttpResponse {
    match result {
        Err(HandshakeError::Status(r)) => *r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}
