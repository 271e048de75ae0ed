//! WebSockets over HTTP/2 (RFC 8441, feature `http2`).
//!
//! [`H2Stream`] makes one HTTP/2 stream (an extended CONNECT's request and
//! response bodies) a byte stream, the transport the RFC 6455 core runs
//! over unchanged in either role. HTTP/2 itself is the `h2` crate's. The
//! client opens its sockets with [`client::open`], on connections that
//! [`pool`] shares between the sockets to one origin.

pub(crate) mod client;
mod dial;
mod link;
pub(crate) mod pool;
mod stream;

pub(crate) use link::LinkInfo;
// The server role builds streams from accepted requests.
#[cfg_attr(not(feature = "server"), allow(unused_imports))]
pub(crate) use stream::{H2Stream, h2_io_error};
