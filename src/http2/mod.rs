//! WebSockets over HTTP/2 (RFC 8441, feature `http2`).
//!
//! [`H2Stream`] makes one HTTP/2 stream (an extended CONNECT's request and
//! response bodies) a byte stream, the transport the RFC 6455 core runs
//! over unchanged in either role. HTTP/2 itself is the `h2` crate's.

// The client and the server role build on this; until both do, parts of
// it are unused in some builds.
#![allow(dead_code, unused_imports)]

mod stream;

pub(crate) use stream::{H2Stream, LinkInfo, h2_io_error};
