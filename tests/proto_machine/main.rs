//! The connection state machine, byte for byte, through the public API.
//!
//! One test binary; the cases are in the modules below, by topic, and
//! share the helpers here.

mod close_handshake;
mod encoding;
mod malformed;
mod rfc_examples;
mod robustness;
mod utf8;

use bytes::{Buf, Bytes, BytesMut};
use wsock::proto::{
    CloseFrame, Config, Connection, DataKind, Event, FrameHeader, ProtocolError, Role, State,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as the peer would send it, length in its shortest form.
fn frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let m = if mask.is_some() { 0x80 } else { 0 };
    let mut v = vec![b0];
    match payload.len() {
        n @ 0..=125 => v.push(m | n as u8),
        n @ 126..=0xFFFF => {
            v.push(m | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(m | 127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            v.extend_from_slice(&k);
            v.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => v.extend_from_slice(payload),
    }
    v
}

/// A frame from a client (masked with KEY).
fn cf(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, Some(KEY))
}

/// A frame from a server (unmasked).
fn sf(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, None)
}

fn server() -> Connection {
    Connection::new(Config::new(Role::Server))
}

fn client() -> Connection {
    Connection::new(Config::new(Role::Client))
}

fn data(kind: DataKind, payload: &[u8], first: bool, fin: bool) -> Event {
    Event::Data {
        kind,
        payload: Bytes::copy_from_slice(payload),
        first,
        fin,
        rsv: 0,
    }
}

fn text(payload: &[u8]) -> Event {
    data(DataKind::Text, payload, true, true)
}

type Outcome = (Vec<Event>, Option<ProtocolError>);

/// Decodes everything in `bytes` at once.
fn decode_all(conn: &mut Connection, bytes: &[u8]) -> Outcome {
    let mut input = BytesMut::from(bytes);
    let mut events = Vec::new();
    loop {
        match conn.decode(&mut input) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return (events, None),
            Err(e) => {
                // After an error nothing more comes out.
                assert_eq!(conn.decode(&mut input), Ok(None));
                return (events, Some(e));
            }
        }
    }
}

/// Decodes `bytes` arriving one at a time into the same buffer.
fn decode_bytewise(conn: &mut Connection, bytes: &[u8]) -> Outcome {
    let mut input = BytesMut::new();
    let mut events = Vec::new();
    for &b in bytes {
        input.extend_from_slice(&[b]);
        loop {
            match conn.decode(&mut input) {
                Ok(Some(e)) => events.push(e),
                Ok(None) => break,
                Err(e) => return (events, Some(e)),
            }
        }
    }
    (events, None)
}

/// Checks `bytes` decode to `expected` both at once and byte by byte, and
/// that the same output is queued either way. Returns the output.
fn check_decode(role: Role, bytes: &[u8], expected: &[Event]) -> Vec<u8> {
    let mut whole = Connection::new(Config::new(role));
    assert_eq!(decode_all(&mut whole, bytes), (expected.to_vec(), None));
    let mut bytewise = Connection::new(Config::new(role));
    assert_eq!(
        decode_bytewise(&mut bytewise, bytes),
        (expected.to_vec(), None)
    );
    assert_eq!(whole.state(), bytewise.state());
    let out = whole.output().to_vec();
    if role == Role::Server {
        assert_eq!(bytewise.output().to_vec(), out);
    }
    out
}

/// Unmasks a client frame from the output, checking its mask bit, and
/// returns (first byte, payload, bytes used).
fn unmask_client_frame(out: &[u8]) -> (u8, Vec<u8>, usize) {
    let (h, n) = FrameHeader::parse(out).unwrap().unwrap();
    let key = h.mask.expect("client frames are masked");
    assert_ne!(out[1] & 0x80, 0);
    let len = h.payload_len as usize;
    let payload = out[n..n + len]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    (out[0], payload, n + len)
}

/// Checks the output holds exactly one close frame with this code (and no
/// reason): byte for byte for a server, unmasked for a client.
fn assert_close_queued(conn: &mut Connection, role: Role, code: u16) {
    let out = conn.output().to_vec();
    let [hi, lo] = code.to_be_bytes();
    match role {
        Role::Server => assert_eq!(out, [0x88, 0x02, hi, lo]),
        Role::Client => {
            assert_eq!(out.len(), 8);
            assert_eq!(out[1], 0x82);
            assert_eq!(unmask_client_frame(&out), (0x88, vec![hi, lo], 8));
        }
    }
}

/// The peer's bytes must fail with `error` (whole and byte by byte), after
/// `events`, queue the close frame with its code and close the connection.
fn check_error(role: Role, bytes: &[u8], events: &[Event], error: ProtocolError, code: u16) {
    assert_eq!(error.close_code(), code);
    for bytewise in [false, true] {
        let mut conn = Connection::new(Config::new(role));
        let outcome = if bytewise {
            decode_bytewise(&mut conn, bytes)
        } else {
            decode_all(&mut conn, bytes)
        };
        // Pongs may precede the close in the output; these cases have none.
        assert_eq!(
            outcome,
            (events.to_vec(), Some(error.clone())),
            "bytewise {bytewise}"
        );
        assert_eq!(conn.state(), State::Closed);
        assert_close_queued(&mut conn, role, code);
        // Anything more is ignored.
        let mut more = BytesMut::from(&cf(0x81, b"x")[..]);
        assert_eq!(conn.decode(&mut more), Ok(None));
        assert!(more.is_empty());
    }
}

fn check_server_error(bytes: &[u8], error: ProtocolError, code: u16) {
    check_error(Role::Server, bytes, &[], error, code);
}

fn check_client_error(bytes: &[u8], error: ProtocolError, code: u16) {
    check_error(Role::Client, bytes, &[], error, code);
}
