//! permessage-deflate (RFC 7692): what a side asks for, what was agreed,
//! the negotiation for both roles, and the codec [`Connection`] runs when the
//! extension is on.
//!
//! [`DeflateOptions`] is what one side wants. A client sends
//! [`DeflateOptions::offer`] in `Sec-WebSocket-Extensions` and checks the
//! server's answer with [`DeflateOptions::accept_answer`]; a server picks the
//! first acceptable offer of the client's list and builds its answer with
//! [`DeflateOptions::answer_offers`]. Either way the result is a
//! [`DeflateConfig`]: the agreed parameters, given to
//! [`Config::deflate`](super::Config::deflate).
//!
//! With a [`DeflateConfig`] in its configuration, a [`Connection`] compresses
//! the data messages it encodes (RSV1 on the first frame; a fragmented
//! message is compressed fragment by fragment with a sync flush, the
//! `00 00 ff ff` tail removed only from the last one, RFC 7692 section
//! 7.2.1) and inflates those that arrive with RSV1 (section 7.2.2). Control
//! frames are never compressed. Inflated text is UTF-8-checked after
//! inflating, and the inflated size counts against
//! [`Config::max_message_size`](super::Config::max_message_size): inflating
//! stops, with [`ProtocolError::MessageTooLarge`](super::ProtocolError::MessageTooLarge)
//! (close code 1009), as soon as the message passes the limit, so a small
//! compressed message cannot make this side allocate more than about the
//! limit. Data that does not inflate is
//! [`ProtocolError::InvalidCompressedData`](super::ProtocolError::InvalidCompressedData),
//! close code 1007 (the frames were well formed, their payload is not: the
//! same class as invalid UTF-8).
//!
//! # Memory
//!
//! Measured with zlib-rs 0.6 (a Rust port of zlib, through `flate2`): the
//! compressor takes `2^(w+2)` bytes plus 243 KiB for a window of `w` bits,
//! **371 KiB** with the default 15 bits (245 KiB with 9: the hash table,
//! 128 KiB, and the literal buffers, 112 KiB, do not shrink with the
//! window); the decompressor takes **47 KiB**, whatever the window. So a
//! connection compressing both ways holds about 418 KiB with the defaults.
//! Both are made on first use, so a side that never sends (or never
//! receives) a compressed message pays nothing for that direction, and a
//! side whose context is not taken over (`*_no_context_takeover`) frees its
//! state after each message instead of keeping it for the next. Add a
//! scratch buffer the size of the largest compressed frame sent (given back
//! when it is over 64 KiB) and, while a message is inflated, its output
//! (bounded by the message limit).
//!
//! # Window of 8 bits
//!
//! RFC 7692 allows windows of 8 to 15 bits, but zlib cannot compress with
//! 8 bits (256 bytes). When this side's compressor is held to 8 bits, it
//! sends stored (uncompressed) DEFLATE blocks, which refer back to nothing
//! and so fit any window: the peer's limit is honoured and its own messages
//! are still compressed. A decompressor is never smaller than 9 bits, which
//! reads any stream written for 8.
//!
//! [`Connection`]: super::Connection

#[cfg(feature = "deflate")]
mod codec;
#[cfg(not(feature = "deflate"))]
#[path = "codec_off.rs"]
mod codec;
mod negotiate;

pub(crate) use codec::Codec;

/// The extension's registered name.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The largest LZ77 window (32 KiB), the default of both directions.
pub const MAX_WINDOW_BITS: u8 = 15;

/// The smallest window RFC 7692 allows (256 bytes).
pub const MIN_WINDOW_BITS: u8 = 8;

/// What one side wants of permessage-deflate; the controls' and the
/// server's `deflate` option.
///
/// The same fields serve both roles. A client offers them; a server applies
/// them to the offer it accepts.
///
/// | field | client | server |
/// | ----- | ------ | ------ |
/// | `server_no_context_takeover` | asks the server to start each message afresh (the answer must confirm it) | always starts each message afresh |
/// | `client_no_context_takeover` | promises to start each message afresh (and does) | asks the client to start each message afresh |
/// | `server_max_window_bits` | limits the server's window (the answer must confirm it) | limits its own window |
/// | `client_max_window_bits` | limits its own window; without it the offer still says the server may limit it | limits the client's window, if the client's offer allows that (otherwise the client keeps 15 bits) |
///
/// ```
/// use wsock::proto::deflate::DeflateOptions;
///
/// let mut options = DeflateOptions::default();
/// assert_eq!(options.offer(), "permessage-deflate; client_max_window_bits");
/// options.server_no_context_takeover = true;
/// options.server_max_window_bits = Some(10);
/// assert_eq!(
///     options.offer(),
///     "permessage-deflate; client_max_window_bits; server_max_window_bits=10; server_no_context_takeover"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateOptions {
    /// The server compresses each message with a fresh context. Default
    /// false.
    pub server_no_context_takeover: bool,
    /// The client compresses each message with a fresh context. Default
    /// false.
    pub client_no_context_takeover: bool,
    /// Most window bits (8 to 15) the server compresses with. Default
    /// `None`: no limit (15).
    pub server_max_window_bits: Option<u8>,
    /// Most window bits (8 to 15) the client compresses with. Default
    /// `None`: no limit (15).
    pub client_max_window_bits: Option<u8>,
    /// Whole messages shorter than this many bytes are sent uncompressed
    /// (RSV1 clear). Default 0: every message is compressed. A message sent
    /// in pieces is always compressed, as its length is not known up front.
    pub compression_threshold: usize,
    /// zlib compression level, 0 (none) to 9 (best). Default 6.
    pub compression_level: u32,
}

impl Default for DeflateOptions {
    fn default() -> Self {
        DeflateOptions {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            compression_threshold: 0,
            compression_level: 6,
        }
    }
}

impl DeflateOptions {
    /// Checks the window bits (8 to 15) and the level (at most 9); the
    /// error says which is wrong. Without the crate's `deflate` feature
    /// every set of options fails it: there is no compressor to agree
    /// with, so wsock refuses to offer or accept permessage-deflate rather
    /// than agree to what it cannot do.
    ///
    /// ```
    /// use wsock::proto::deflate::DeflateOptions;
    /// let mut options = DeflateOptions::default();
    /// # #[cfg(feature = "deflate")]
    /// assert!(options.check().is_ok());
    /// options.client_max_window_bits = Some(16);
    /// assert!(options.check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), &'static str> {
        if cfg!(not(feature = "deflate")) {
            return Err("permessage-deflate needs wsock's deflate feature, which this build lacks");
        }
        let bits_ok =
            |b: Option<u8>| b.is_none_or(|b| (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&b));
        if !bits_ok(self.server_max_window_bits) {
            return Err("server_max_window_bits must be 8 to 15");
        }
        if !bits_ok(self.client_max_window_bits) {
            return Err("client_max_window_bits must be 8 to 15");
        }
        if self.compression_level > 9 {
            return Err("the compression level must be 0 to 9");
        }
        Ok(())
    }
}

/// The agreed permessage-deflate parameters, as this side applies them:
/// [`Config::deflate`](super::Config::deflate), and what the sockets'
/// information reports.
///
/// The window bits are the effective ones (15 when the answer did not
/// limit them). The level and threshold are this side's own settings,
/// carried over from [`DeflateOptions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// The server compresses each message with a fresh context.
    pub server_no_context_takeover: bool,
    /// The client compresses each message with a fresh context.
    pub client_no_context_takeover: bool,
    /// The server's compression window, 8 to 15 bits.
    pub server_max_window_bits: u8,
    /// The client's compression window, 8 to 15 bits.
    pub client_max_window_bits: u8,
    /// Whole messages shorter than this are sent uncompressed.
    pub compression_threshold: usize,
    /// zlib compression level of what this side sends, 0 to 9.
    pub compression_level: u32,
}

impl Default for DeflateConfig {
    /// Context takeover both ways, 15-bit windows, level 6, threshold 0:
    /// what a bare `permessage-deflate` answer agrees to.
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            compression_threshold: 0,
            compression_level: 6,
        }
    }
}
