//! The connection state machine. INTERFACE SKELETON: bodies to be written.

use bytes::{Bytes, BytesMut};

use super::{CloseFrame, ProtocolError};

/// Which end of the connection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The client: masks what it sends, refuses masked frames.
    Client,
    /// The server: refuses unmasked frames, never masks.
    Server,
}

/// The kind of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text (opcode 1).
    Text,
    /// Binary data (opcode 2).
    Binary,
}

/// Where the close handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Data flows both ways.
    Open,
    /// This side sent a close frame and waits for the peer's.
    CloseSent,
    /// Both close frames have gone (or a protocol error closed the
    /// connection): nothing more is decoded or encoded.
    Closed,
}

/// Limits and role of a [`Connection`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Client or server.
    pub role: Role,
    /// Largest frame payload accepted, checked on the header before any
    /// memory is reserved. Default 16 MiB.
    pub max_frame_size: usize,
    /// Largest message accepted (sum of its frames). Default 64 MiB.
    pub max_message_size: usize,
    /// RSV bits a negotiated extension allows on the first frame of a data
    /// message (bit 0x4 = RSV1, as in the header byte >> 4). Default 0: every
    /// RSV bit is a protocol error. The seam for permessage-deflate.
    pub allowed_rsv: u8,
}

impl Config {
    /// The defaults for a role.
    pub fn new(role: Role) -> Self {
        Config { role, max_frame_size: 16 << 20, max_message_size: 64 << 20, allowed_rsv: 0 }
    }
}

/// What [`Connection::decode`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// One data frame: a piece of a message (the whole message when `first`
    /// and `fin` are both true). Text pieces are valid UTF-8 as far as they
    /// go; a character may be split across pieces.
    Data {
        /// The message's kind (also on its continuation frames).
        kind: DataKind,
        /// The frame's payload, unmasked, cut from the input buffer.
        payload: Bytes,
        /// True on the first frame of a message.
        first: bool,
        /// True on the last frame of a message.
        fin: bool,
        /// The RSV bits of the message's first frame (0 unless an extension
        /// allowed them).
        rsv: u8,
    },
    /// A ping; the pong answer is already queued in the output.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame (None when it had no payload). If this side had
    /// not sent a close yet, the reply (echoing the code) is queued in the
    /// output; the state is now [`State::Closed`].
    Close(Option<CloseFrame>),
}

/// One WebSocket connection's protocol state, for either role.
#[derive(Debug)]
pub struct Connection {
    _private: (),
}

impl Connection {
    /// A connection in the [`State::Open`] state.
    pub fn new(config: Config) -> Self {
        let _ = config;
        todo!()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        todo!()
    }

    /// Changes the size limits of an open connection.
    pub fn set_limits(&mut self, max_frame_size: usize, max_message_size: usize) {
        let _ = (max_frame_size, max_message_size);
        todo!()
    }

    /// The close handshake's state.
    pub fn state(&self) -> State {
        todo!()
    }

    /// Decodes the next event from `input`, taking the bytes it uses off its
    /// front (payloads are split off, not copied). `Ok(None)`: more bytes are
    /// needed. A text frame is validated as its bytes arrive, so invalid
    /// UTF-8 fails before the whole frame is in. On error, the close frame
    /// with [`ProtocolError::close_code`] is queued in the output (unless a
    /// close was already sent) and the state becomes [`State::Closed`].
    pub fn decode(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        let _ = input;
        todo!()
    }

    /// Encodes one data frame into the output. `first`: this frame starts a
    /// message (opcode Text/Binary, else Continuation); `fin`: it ends one.
    /// Errors if the fragmentation sequence is broken or a close was sent.
    pub fn encode_data(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        first: bool,
        fin: bool,
    ) -> Result<(), ProtocolError> {
        let _ = (kind, payload, first, fin);
        todo!()
    }

    /// Encodes a ping (payload at most 125 bytes).
    pub fn encode_ping(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let _ = payload;
        todo!()
    }

    /// Encodes an unsolicited pong (payload at most 125 bytes).
    pub fn encode_pong(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let _ = payload;
        todo!()
    }

    /// Encodes this side's close frame (None: no payload) and moves to
    /// [`State::CloseSent`] (or [`State::Closed`] if the peer's close already
    /// came). Checks the code may go on the wire and the reason fits 123
    /// bytes. A second call does nothing.
    pub fn encode_close(&mut self, frame: Option<&CloseFrame>) -> Result<(), ProtocolError> {
        let _ = frame;
        todo!()
    }

    /// Bytes waiting to be written to the peer. The caller writes from the
    /// front and advances (`bytes::Buf::advance`) by what was written.
    pub fn output(&mut self) -> &mut BytesMut {
        todo!()
    }

    /// True when the output holds bytes to write.
    pub fn wants_write(&self) -> bool {
        todo!()
    }
}
