//! The connection state machine: [`Connection`] and its configuration and
//! events.
//!
//! Receiving, [`Connection::decode`] parses one frame header, checks it
//! against the role (masking), the negotiated RSV bits, the fragmentation
//! state and the size limits before any memory is reserved, then unmasks
//! and (for text) validates the payload as it arrives, and hands the frame
//! out once it is complete, split off the input without a copy. Pings are
//! answered, a close is answered by echoing its code, and any violation
//! queues the close frame it earns.
//!
//! Sending, the `encode_*` methods append frames to one output buffer
//! (masked with a fresh key per frame in the client role) and enforce the
//! order RFC 6455 imposes on this side: fragments in sequence, nothing after
//! the close frame, control payloads of at most 125 bytes.
//!
//! With permessage-deflate agreed ([`Config::deflate`]), data messages are
//! compressed on the way out and inflated on the way in by the codec of
//! [`deflate`](super::deflate); its module docs tell how.
//!
//! The close handshake: [`State::Open`] until one side's close frame;
//! [`State::CloseSent`] when this side closed first; [`State::Closed`] once
//! the peer's close came (its reply queued if needed) or a violation ended
//! the connection. After [`State::Closed`] and an empty output, the caller
//! closes the transport.

use bytes::{Buf, Bytes, BytesMut};

use super::deflate::{Codec, DeflateConfig};
use super::mask::{MaskKeySource, apply_mask_offset};
use super::utf8::Utf8Validator;
use super::{CloseFrame, FrameHeader, OpCode, ProtocolError};

mod fast;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod send;
mod write;

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
    /// memory is reserved. Default 16 MiB. (Applies to data frames; control
    /// frames are bounded at 125 bytes by the protocol.)
    pub max_frame_size: usize,
    /// Largest message accepted (sum of its frames). Default 64 MiB.
    pub max_message_size: usize,
    /// RSV bits a negotiated extension allows on the first frame of a data
    /// message (bit 0x4 = RSV1, as in the header byte >> 4). Default 0: every
    /// RSV bit is a protocol error. [`deflate`](Self::deflate) adds RSV1 by
    /// itself; this is for extensions the caller runs.
    pub allowed_rsv: u8,
    /// The agreed permessage-deflate parameters; `None` (the default): the
    /// extension is off.
    pub deflate: Option<DeflateConfig>,
}

impl Config {
    /// The defaults for a role.
    pub fn new(role: Role) -> Self {
        Config {
            role,
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            allowed_rsv: 0,
            deflate: None,
        }
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
        /// The frame's payload, unmasked, cut from the input buffer (for a
        /// compressed message: the frame's inflated bytes, in a buffer of
        /// their own).
        payload: Bytes,
        /// True on the first frame of a message.
        first: bool,
        /// True on the last frame of a message.
        fin: bool,
        /// The RSV bits of the message's first frame that this core did not
        /// act on: 0 unless [`Config::allowed_rsv`] allowed them. (RSV1 of a
        /// message this core inflated is not reported: its payload is the
        /// inflated data.)
        rsv: u8,
    },
    /// A ping; its pong answer is queued: in the output when that was
    /// empty, else held back until it empties, where the pong of a later
    /// ping replaces it (RFC 6455 5.5.3), so that a peer that floods pings
    /// and never reads grows the output by one pong at most; see
    /// [`Connection::output`].
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame (None when it had no payload). If this side had
    /// not sent a close yet, the reply (echoing the code) is queued in the
    /// output; the state is now [`State::Closed`].
    Close(Option<CloseFrame>),
}

/// The input room reserved ahead of a frame's payload is at most what has
/// arrived of it, and at least this much (or the rest of the frame, if
/// less): the buffer grows with the data that came, not with what a header
/// announces (a header alone never reserves more than this). 64 KiB: a
/// large message grows its buffer in a few doublings (a 1 MiB one in four);
/// with 4 KiB the copies of eight cost workload c of benches/compare about
/// 15% of its CPU time.
const MIN_RESERVE: usize = 64 * 1024;

/// RSV1, as in [`FrameHeader::rsv`]: a message compressed with
/// permessage-deflate.
const RSV1: u8 = 0x4;

/// One WebSocket connection's protocol state, for either role.
pub struct Connection {
    config: Config,
    state: State,
    /// Frames waiting to be written to the peer.
    output: BytesMut,
    /// Masking keys (client role).
    keys: MaskKeys,
    /// The frame being received: its header is taken off the input, its
    /// payload is not all in yet.
    frame: Option<InFrame>,
    /// The data message being received, between its first and last frame.
    message: Option<InMessage>,
    /// UTF-8 state of the text message being received.
    utf8: Utf8Validator,
    /// A data message is being sent: its last frame has not gone yet.
    sending: bool,
    /// permessage-deflate, when agreed.
    deflate: Option<Codec>,
    /// The message being sent is compressed.
    sending_compressed: bool,
    /// The payload of the pong held back while the output is not empty
    /// (see [`Event::Ping`]).
    held_pong: Option<Vec<u8>>,
}

/// Where a connection's masking keys come from: the default CSPRNG, named
/// so that the frame writer calls it directly, or the caller's source.
enum MaskKeys {
    Csprng(crate::random::CsprngMaskKeys),
    Given(Box<dyn MaskKeySource>),
}

impl MaskKeySource for MaskKeys {
    #[inline]
    fn next_key(&mut self) -> [u8; 4] {
        match self {
            MaskKeys::Csprng(keys) => keys.next_key(),
            MaskKeys::Given(keys) => keys.next_key(),
        }
    }
}

impl std::fmt::Debug for Connection {
    /// The state and what is in progress; no key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("config", &self.config)
            .field("state", &self.state)
            .field("output", &self.output.len())
            .field("frame", &self.frame)
            .field("message", &self.message)
            .field("sending", &self.sending)
            .field("held_pong", &self.held_pong.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// A frame whose header was accepted and whose payload is arriving.
#[derive(Debug, Clone, Copy)]
struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload length.
    len: usize,
    /// Payload bytes already unmasked (and validated, for text).
    done: usize,
    /// For data frames: the message's kind, first-frame RSV bits, whether
    /// this frame starts it, whether its UTF-8 is checked as it arrives and
    /// whether it is inflated once complete.
    kind: DataKind,
    rsv: u8,
    first: bool,
    validate: bool,
    compressed: bool,
}

/// A data message being received.
#[derive(Debug, Clone, Copy)]
struct InMessage {
    kind: DataKind,
    rsv: u8,
    /// Payload bytes announced so far, the current frame's included.
    size: u64,
    validate: bool,
    /// Compressed with permessage-deflate: inflated frame by frame, then
    /// (text) UTF-8-checked.
    compressed: bool,
    /// Inflated bytes so far (compressed messages).
    inflated: u64,
}

impl DataKind {
    fn opcode(self) -> OpCode {
        match self {
            DataKind::Text => OpCode::Text,
            DataKind::Binary => OpCode::Binary,
        }
    }
}

/// The opcode of a data frame: the kind's on the first, else continuation.
fn data_opcode(kind: DataKind, first: bool) -> OpCode {
    if first {
        kind.opcode()
    } else {
        OpCode::Continuation
    }
}

impl Connection {
    /// A connection in the [`State::Open`] state.
    pub fn new(mut config: Config) -> Self {
        let deflate = config.deflate.and_then(|d| Codec::new(d, config.role));
        if deflate.is_some() {
            config.allowed_rsv |= RSV1;
        }
        Connection {
            config,
            state: State::Open,
            output: BytesMut::new(),
            keys: MaskKeys::Csprng(crate::random::CsprngMaskKeys::new()),
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            sending: false,
            deflate,
            sending_compressed: false,
            held_pong: None,
        }
    }

    /// The agreed permessage-deflate parameters, if the extension is on.
    pub fn deflate(&self) -> Option<&DeflateConfig> {
        self.deflate.as_ref().map(Codec::config)
    }

    /// Takes the masking keys of a client connection from `keys` instead
    /// of the default [`CsprngMaskKeys`](crate::random::CsprngMaskKeys)
    /// (for a deterministic test, or a generator of the caller's). Keys
    /// must be unpredictable to the peer (RFC 6455 section 10.3).
    pub fn set_mask_keys(&mut self, keys: Box<dyn MaskKeySource>) {
        self.keys = MaskKeys::Given(keys);
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes the size limits of an open connection.
    ///
    /// They apply from the next frame header on; a frame or message already
    /// accepted is not cut short.
    pub fn set_limits(&mut self, max_frame_size: usize, max_message_size: usize) {
        self.config.max_frame_size = max_frame_size;
        self.config.max_message_size = max_message_size;
    }

    /// The close handshake's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Decodes the next event from `input`, taking the bytes it uses off its
    /// front (payloads are split off, not copied). `Ok(None)`: more bytes are
    /// needed. A text frame is validated as its bytes arrive, so invalid
    /// UTF-8 fails before the whole frame is in. On error, the close frame
    /// with [`ProtocolError::close_code`] is queued in the output (unless a
    /// close was already sent) and the state becomes [`State::Closed`].
    ///
    /// The same buffer must be passed on every call, with new bytes appended
    /// at its end: a frame's header is taken off as soon as it is accepted,
    /// and the part of its payload already in is unmasked in place, before
    /// the rest arrives. Room for more of an accepted frame is reserved in
    /// `input` as its payload comes (as much again as has arrived, so the
    /// buffer doubles rather than taking what the header announces);
    /// nothing is reserved for a frame the limits refuse.
    ///
    /// One call returns at most one event; call again until `Ok(None)`.
    /// In the [`State::Closed`] state (after the peer's close frame, or an
    /// error) whatever arrives is dropped and the answer is `Ok(None)`.
    /// Data frames that arrive in [`State::CloseSent`] are still delivered.
    ///
    /// A compressed message (permessage-deflate on, RSV1 set) is inflated
    /// frame by frame: each event carries the inflated bytes of one frame,
    /// text checked for UTF-8 after inflating. A text message whose first
    /// frame carries other RSV bits (an extension the caller runs
    /// transformed it) is not UTF-8-checked here: that extension must check
    /// the message it restores.
    pub fn decode(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        if self.state == State::Closed {
            input.clear();
            return Ok(None);
        }
        if let Some(event) = self.decode_message(input) {
            return Ok(Some(event));
        }
        self.decode_general(input)
    }

    /// [`decode`](Self::decode) without the fast path of
    /// [`decode_message`](Self::decode_message).
    fn decode_general(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        match self.decode_frame(input) {
            Ok(event) => Ok(event),
            Err(e) => {
                input.clear();
                self.fail(&e);
                Err(e)
            }
        }
    }

    fn decode_frame(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        // A new frame's header stays in `input` until we know whether its
        // payload is all there: if it is, header and payload are split off
        // together.
        let (mut frame, header_len) = match self.frame.take() {
            Some(frame) => (frame, 0),
            None => {
                let Some((header, header_len)) = FrameHeader::parse(input)? else {
                    return Ok(None);
                };
                (self.accept(&header)?, header_len)
            }
        };
        let have = (input.len() - header_len).min(frame.len);
        if have > frame.done {
            let fresh = &mut input[header_len + frame.done..header_len + have];
            if let Some(key) = frame.mask {
                apply_mask_offset(fresh, key, frame.done);
            }
            if frame.validate {
                self.utf8.feed(fresh)?;
            }
            frame.done = have;
        }
        if frame.done < frame.len {
            input.advance(header_len);
            let rest = frame.len - have;
            input.reserve(rest.min(have.max(MIN_RESERVE)));
            self.frame = Some(frame);
            return Ok(None);
        }
        let mut payload = split_front(input, header_len + frame.len);
        payload.advance(header_len);
        self.complete(&frame, payload).map(Some)
    }

    /// Checks a parsed header against the role, the RSV bits, the
    /// fragmentation state and the limits; on success the frame is under
    /// way (the message state is updated).
    fn accept(&mut self, header: &FrameHeader) -> Result<InFrame, ProtocolError> {
        let opcode = header.opcode;
        if header.rsv != 0 {
            let refused = match opcode {
                OpCode::Text | OpCode::Binary => header.rsv & !self.config.allowed_rsv,
                _ => header.rsv,
            };
            if refused != 0 {
                return Err(ProtocolError::ReservedBits(refused));
            }
        }
        match (self.config.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let mut frame = InFrame {
            opcode,
            fin: header.fin,
            mask: header.mask,
            len: 0,
            done: 0,
            kind: DataKind::Binary,
            rsv: 0,
            first: false,
            validate: false,
            compressed: false,
        };
        if opcode.is_control() {
            // FrameHeader::parse checked FIN and the 125-byte bound.
            frame.len = header.payload_len as usize;
            return Ok(frame);
        }
        let previous = match (opcode, &self.message) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(message)) => message.size,
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (_, None) => 0,
        };
        let max = self.config.max_frame_size;
        if header.payload_len > max as u64 {
            return Err(ProtocolError::FrameTooLarge {
                size: header.payload_len,
                max,
            });
        }
        let size = previous.saturating_add(header.payload_len);
        let max = self.config.max_message_size;
        if size > max as u64 {
            return Err(ProtocolError::MessageTooLarge { size, max });
        }
        let Ok(len) = usize::try_from(header.payload_len) else {
            let max = self.config.max_frame_size;
            return Err(ProtocolError::FrameTooLarge {
                size: header.payload_len,
                max,
            });
        };
        let message = match (opcode, &mut self.message) {
            (OpCode::Continuation, Some(message)) => {
                message.size = size;
                *message
            }
            _ => {
                let kind = if opcode == OpCode::Text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                let compressed = header.rsv & RSV1 != 0 && self.deflate.is_some();
                let validate = kind == DataKind::Text && header.rsv == 0;
                if kind == DataKind::Text && (validate || compressed) {
                    self.utf8.reset();
                }
                let message = InMessage {
                    kind,
                    rsv: header.rsv,
                    size,
                    validate,
                    compressed,
                    inflated: 0,
                };
                frame.first = true;
                self.message = Some(message);
                message
            }
        };
        frame.len = len;
        frame.kind = message.kind;
        frame.rsv = message.rsv;
        frame.validate = message.validate;
        frame.compressed = message.compressed;
        Ok(frame)
    }

    /// Turns a complete frame into its event.
    fn complete(&mut self, frame: &InFrame, payload: Bytes) -> Result<Event, ProtocolError> {
        match frame.opcode {
            OpCode::Continuation | OpCode::Text | OpCode::Binary => {
                let (payload, rsv) = if frame.compressed {
                    (self.inflate(frame, &payload)?, frame.rsv & !RSV1)
                } else {
                    (payload, frame.rsv)
                };
                if frame.fin {
                    if frame.validate || (frame.compressed && frame.kind == DataKind::Text) {
                        self.utf8.finish()?;
                    }
                    self.message = None;
                }
                Ok(Event::Data {
                    kind: frame.kind,
                    payload,
                    first: frame.first,
                    fin: frame.fin,
                    rsv,
                })
            }
            OpCode::Ping => {
                if self.state == State::Open {
                    self.answer_ping(&payload);
                }
                Ok(Event::Ping(payload))
            }
            OpCode::Pong => Ok(Event::Pong(payload)),
            OpCode::Close => {
                let close = CloseFrame::parse(&payload)?;
                if self.state == State::Open {
                    self.release_pong();
                    match &close {
                        Some(close) => {
                            self.write_frame(OpCode::Close, 0, &close.code.to_be_bytes())
                        }
                        None => self.write_frame(OpCode::Close, 0, &[]),
                    }
                }
                self.state = State::Closed;
                self.message = None;
                Ok(Event::Close(close))
            }
        }
    }

    /// Inflates a complete frame of a compressed message, counting the
    /// inflated bytes against the message limit and checking text.
    fn inflate(&mut self, frame: &InFrame, payload: &[u8]) -> Result<Bytes, ProtocolError> {
        let (Some(codec), Some(message)) = (self.deflate.as_mut(), self.message.as_mut()) else {
            // `compressed` is set only with a codec, on a message in progress.
            return Err(ProtocolError::InvalidCompressedData);
        };
        let max = self.config.max_message_size;
        let data = codec.decompress(payload, frame.fin, message.inflated, max)?;
        message.inflated += data.len() as u64;
        if frame.kind == DataKind::Text {
            self.utf8.feed(&data)?;
        }
        Ok(Bytes::from(data))
    }

    /// After a protocol error: the close frame with its code (unless one was
    /// sent), and nothing more.
    fn fail(&mut self, error: &ProtocolError) {
        self.frame = None;
        self.message = None;
        self.utf8.reset();
        if self.state == State::Open {
            self.release_pong();
            self.write_frame(OpCode::Close, 0, &error.close_code().to_be_bytes());
        }
        self.state = State::Closed;
    }
}

/// The first `n` bytes of `input`, taken off it. When they are all of
/// `input` and it has no room to spare, the buffer itself is taken (no
/// split: a buffer of its own needs no shared header) and `input` is left
/// empty without capacity, which it would have had anyway.
#[inline]
fn split_front(input: &mut BytesMut, n: usize) -> Bytes {
    if n == input.capacity() {
        std::mem::take(input).freeze()
    } else {
        input.split_to(n).freeze()
    }
}

#[cfg(test)]
mod tests;
