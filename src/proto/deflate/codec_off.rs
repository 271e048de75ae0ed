//! The codec when wsock is built without the `deflate` feature: there is
//! none. No connection ever holds one ([`Codec::new`] gives `None`), so
//! the compression paths of the core compile and are never taken, and a
//! compressed frame is refused as any frame with RSV1 set.

use super::DeflateConfig;
use crate::proto::{ProtocolError, Role};

/// permessage-deflate state of one connection: none can exist.
#[derive(Debug)]
pub(crate) enum Codec {}

impl Codec {
    pub(crate) fn new(_config: DeflateConfig, _role: Role) -> Option<Self> {
        None
    }

    pub(crate) fn config(&self) -> &DeflateConfig {
        match *self {}
    }

    pub(crate) fn compress(&mut self, _input: &[u8], _fin: bool) -> Result<Vec<u8>, ProtocolError> {
        match *self {}
    }

    pub(crate) fn recycle(&mut self, _buf: Vec<u8>) {
        match *self {}
    }

    pub(crate) fn decompress(
        &mut self,
        _input: &[u8],
        _fin: bool,
        _before: u64,
        _max: usize,
    ) -> Result<Vec<u8>, ProtocolError> {
        match *self {}
    }
}
