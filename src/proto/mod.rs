//! The sans-IO RFC 6455 core: no sockets, no tokio, no clock.
//!
//! Bytes read from the peer go into [`Connection::decode`], which hands back
//! [`Event`]s (payloads cut from the read buffer as [`Bytes`], unmasked in
//! place, never copied) and queues the frames this side is obliged to send
//! (pong answers, the close reply, the close frame of a protocol violation)
//! in [`Connection::output`]. What the user sends is encoded into the same
//! output buffer by the `encode_*` methods. The caller's only job is to move
//! bytes between the socket and these two buffers.
//!
//! Layout: [`frame`] (header codec), [`mask`] (masking), [`utf8`]
//! (incremental validation), [`close`] (close codes and reasons),
//! [`deflate`] (permessage-deflate: negotiation and codec) and the state
//! machine in `machine.rs`, re-exported here as [`Connection`].
//!
//! ```
//! use bytes::BytesMut;
//! use wsock::proto::{Config, Connection, Event, Role, DataKind};
//!
//! let mut server = Connection::new(Config::new(Role::Server));
//! // RFC 6455 5.7: a masked "Hello" from a client.
//! let mut input = BytesMut::from(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58][..]);
//! match server.decode(&mut input).unwrap() {
//!     Some(Event::Data { kind: DataKind::Text, payload, fin: true, .. }) => assert_eq!(&payload[..], b"Hello"),
//!     other => panic!("{other:?}"),
//! }
//! ```

pub mod close;
pub mod deflate;
pub mod frame;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use machine::fuzzing;
pub mod keep_alive;
mod machine;
pub mod mask;
pub mod timers;
pub mod utf8;

pub use bytes::Bytes;
pub use close::CloseFrame;
pub use frame::{FrameHeader, OpCode};
pub use machine::{Config, Connection, DataKind, Event, Role, State};

/// A violation of RFC 6455 by the peer, or something this side refuses
/// (a frame or message over the configured limits).
///
/// Each maps to the close code that goes on the wire:
/// [`ProtocolError::close_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode RFC 6455 reserves (3-7, 11-15).
    #[error("reserved opcode {0:#x}")]
    ReservedOpCode(u8),
    /// An RSV bit set that no negotiated extension defines.
    #[error("reserved bits {0:#05b} set without an extension")]
    ReservedBits(u8),
    /// A control frame with FIN clear.
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A control frame with more than 125 payload bytes.
    #[error("control frame payload of {0} bytes (at most 125)")]
    ControlTooLong(u64),
    /// A continuation frame with no message in progress.
    #[error("continuation frame without a message in progress")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress.
    #[error("new data frame while a fragmented message is in progress")]
    ExpectedContinuation,
    /// A client frame without a mask (server role).
    #[error("client frame is not masked")]
    UnmaskedFrame,
    /// A server frame with a mask (client role).
    #[error("server frame is masked")]
    MaskedFrame,
    /// A 64-bit length with the most significant bit set, or a length not
    /// written in its shortest form... anything the length encoding forbids.
    #[error("invalid payload length")]
    InvalidLength,
    /// A text message (or close reason) that is not valid UTF-8.
    #[error("invalid UTF-8 in a text message or close reason")]
    InvalidUtf8,
    /// A message compressed with permessage-deflate whose data does not
    /// inflate (close code 1007, as for invalid UTF-8: the frames are well
    /// formed, their payload is not).
    #[error("invalid permessage-deflate data")]
    InvalidCompressedData,
    /// A close frame with a 1-byte payload.
    #[error("close frame with a 1-byte payload")]
    InvalidClosePayload,
    /// A close code that may not appear on the wire.
    #[error("close code {0} is not allowed on the wire")]
    InvalidCloseCode(u16),
    /// A frame longer than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The frame's payload length.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// A message longer than the configured limit.
    #[error("message of at least {size} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The size reached so far.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// A frame arrived after the peer's close frame.
    #[error("data after the close frame")]
    DataAfterClose,
    /// The caller tried to send something the protocol does not allow now
    /// (data after close, a control payload over 125 bytes, a continuation
    /// with no message started...).
    #[error("cannot send: {0}")]
    InvalidSend(&'static str),
}

impl ProtocolError {
    /// The close code this violation earns (RFC 6455 section 7.4.1):
    /// 1007 for invalid UTF-8 and data that does not inflate, 1009 for what
    /// exceeds a limit (the inflated size of a compressed message included),
    /// 1002 for the rest.
    pub fn close_code(&self) -> u16 {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData => {
                close::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooLarge { .. } | ProtocolError::MessageTooLarge { .. } => {
                close::MESSAGE_TOO_BIG
            }
            _ => close::PROTOCOL_ERROR,
        }
    }
}
