//! The compressor and decompressor of one connection (RFC 7692 section 7.2).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::DeflateConfig;
use crate::proto::{ProtocolError, Role};

/// The empty stored block a sync flush ends with: taken off the end of a
/// compressed message by the sender, put back by the receiver.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// zlib compresses with windows of 9 to 15 bits; see the module docs for 8.
const ZLIB_MIN_WINDOW_BITS: u8 = 9;

/// The least output room first given for inflating (four times the input
/// is the first guess), before it grows by doubling.
const INFLATE_FIRST_ROOM: usize = 4 * 1024;

/// A scratch buffer over this size is given back after use.
const SCRATCH_KEEP: usize = 64 * 1024;

/// permessage-deflate state of one connection.
#[derive(Debug)]
pub(crate) struct Codec {
    config: DeflateConfig,
    /// This side's compressor: window bits, fresh context per message.
    own_bits: u8,
    own_reset: bool,
    /// The peer's compressor, which this side's decompressor follows.
    peer_bits: u8,
    peer_reset: bool,
    compressor: Option<Compress>,
    decompressor: Option<Decompress>,
    /// The message being received ended its DEFLATE stream (a block with
    /// BFINAL set, RFC 7692 section 7.2.3.5): the rest of its bytes are
    /// padding (the RFC's example has an empty block's header there) and
    /// are dropped; the next message starts a new stream.
    stream_ended: bool,
    /// Compressed bytes of the frame being encoded.
    scratch: Vec<u8>,
}

impl Codec {
    pub(crate) fn new(config: DeflateConfig, role: Role) -> Option<Self> {
        let server = (
            config.server_max_window_bits,
            config.server_no_context_takeover,
        );
        let client = (
            config.client_max_window_bits,
            config.client_no_context_takeover,
        );
        let ((own_bits, own_reset), (peer_bits, peer_reset)) = match role {
            Role::Server => (server, client),
            Role::Client => (client, server),
        };
        Some(Codec {
            config,
            own_bits,
            own_reset,
            peer_bits,
            peer_reset,
            compressor: None,
            decompressor: None,
            stream_ended: false,
            scratch: Vec::new(),
        })
    }

    pub(crate) fn config(&self) -> &DeflateConfig {
        &self.config
    }

    /// Compresses one frame's payload with a sync flush; the tail comes off
    /// at the end of the message (`fin`). The result is valid until the next
    /// call; hand the buffer back with [`Codec::recycle`].
    pub(crate) fn compress(&mut self, input: &[u8], fin: bool) -> Result<Vec<u8>, ProtocolError> {
        const FAILED: ProtocolError = ProtocolError::InvalidSend("compression failed");
        let (bits, level) = if self.own_bits < ZLIB_MIN_WINDOW_BITS {
            // Stored blocks refer back to nothing: they fit a 256-byte window.
            (ZLIB_MIN_WINDOW_BITS, 0)
        } else {
            (self.own_bits, self.config.compression_level.min(9))
        };
        let compressor = self.compressor.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        // Enough for incompressible input (stored blocks cost 5 bytes per
        // 16 KiB or so) and the flush, in most cases in one pass.
        out.reserve(input.len() + input.len() / 1024 + 64);
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve((input.len() - pos) / 2 + 1024);
            }
            let (in_before, out_before) = (compressor.total_in(), out.len());
            compressor
                .compress_vec(&input[pos..], &mut out, FlushCompress::Sync)
                .map_err(|_| FAILED)?;
            pos += (compressor.total_in() - in_before) as usize;
            // Done once all input is in and the flush did not fill the room.
            if pos == input.len() && out.len() < out.capacity() {
                break;
            }
            if pos < input.len() && compressor.total_in() == in_before && out.len() == out_before {
                return Err(FAILED);
            }
        }
        if fin {
            if out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            } else if out.is_empty() {
                // Nothing since the last flush (zlib writes no second empty
                // block): the header of one, whose rest the receiver adds.
                out.push(0x00);
            } else {
                return Err(FAILED);
            }
            if self.own_reset {
                // A fresh context per message: free the state until then.
                self.compressor = None;
            }
        }
        Ok(out)
    }

    /// Takes back the buffer [`Codec::compress`] returned.
    pub(crate) fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() <= SCRATCH_KEEP {
            buf.clear();
            self.scratch = buf;
        }
    }

    /// Inflates one frame's payload of a compressed message (the tail added
    /// at its end, `fin`). `before`: inflated bytes of the message so far;
    /// passing `max` in all is [`ProtocolError::MessageTooLarge`], found
    /// with at most about `max - before` bytes of output allocated.
    pub(crate) fn decompress(
        &mut self,
        input: &[u8],
        fin: bool,
        before: u64,
        max: usize,
    ) -> Result<Vec<u8>, ProtocolError> {
        let bits = self.peer_bits.max(ZLIB_MIN_WINDOW_BITS);
        let decompressor = self
            .decompressor
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        let limit = usize::try_from((max as u64).saturating_sub(before)).unwrap_or(usize::MAX);
        let too_large = |len: usize| ProtocolError::MessageTooLarge {
            size: before.saturating_add(len as u64),
            max,
        };
        let mut out: Vec<u8> = Vec::new();
        let tail: &[u8] = if fin { &TAIL } else { &[] };
        for chunk in [input, tail] {
            let mut pos = 0;
            while !self.stream_ended {
                if out.len() == out.capacity() {
                    // One byte past the limit is room enough to see it passed.
                    let room = limit.saturating_add(1) - out.len().min(limit.saturating_add(1));
                    if room == 0 {
                        return Err(too_large(out.len()));
                    }
                    let first = input.len().saturating_mul(4).max(INFLATE_FIRST_ROOM);
                    let grow = out.len().max(first).min(room);
                    out.reserve_exact(grow);
                }
                let (in_before, out_before) = (decompressor.total_in(), out.len());
                let status = decompressor
                    .decompress_vec(&chunk[pos..], &mut out, FlushDecompress::Sync)
                    .map_err(|_| ProtocolError::InvalidCompressedData)?;
                pos += (decompressor.total_in() - in_before) as usize;
                if out.len() > limit {
                    return Err(too_large(out.len()));
                }
                if status == Status::StreamEnd {
                    self.stream_ended = true;
                    break;
                }
                if pos == chunk.len() && out.len() < out.capacity() {
                    break;
                }
                if decompressor.total_in() == in_before && out.len() == out_before {
                    // Room and input, yet no progress: not DEFLATE.
                    return Err(ProtocolError::InvalidCompressedData);
                }
            }
        }
        if fin {
            if self.peer_reset || self.stream_ended {
                // The next message starts a new stream: free the state.
                self.decompressor = None;
            }
            self.stream_ended = false;
        }
        Ok(out)
    }
}
