//! The server side of the upgrade. INTERFACE SKELETON.

use super::{HandshakeError, Limits};

/// A parsed HTTP request head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The method (GET...).
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// All headers, in order.
    pub headers: Vec<(String, String)>,
}

/// Parses a request head from the start of `buf`. `Ok(None)`: need more.
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Option<(Request, usize)>, HandshakeError> {
    let _ = (buf, limits);
    todo!()
}
