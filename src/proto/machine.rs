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
use super::frame::MAX_CONTROL_PAYLOAD;
use super::mask::{MaskKeys, apply_mask, apply_mask_offset};
use super::utf8::Utf8Validator;
use super::{CloseFrame, FrameHeader, OpCode, ProtocolError};

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
    /// A ping; the pong answer is already queued in the output.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame (None when it had no payload). If this side had
    /// not sent a close yet, the reply (echoing the code) is queued in the
    /// output; the state is now [`State::Closed`].
    Close(Option<CloseFrame>),
}

/// Reserve at most this much input room ahead of a frame's payload: the
/// limits bound what a peer may announce, but a caller who lifts them to
/// `usize::MAX` must not let a header alone ask for an impossible buffer.
const MAX_RESERVE: usize = 16 << 20;

/// RSV1, as in [`FrameHeader::rsv`]: a message compressed with
/// permessage-deflate.
const RSV1: u8 = 0x4;

/// One WebSocket connection's protocol state, for either role.
#[derive(Debug)]
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
        let deflate = config.deflate.map(|d| Codec::new(d, config.role));
        if deflate.is_some() {
            config.allowed_rsv |= RSV1;
        }
        Connection {
            config,
            state: State::Open,
            output: BytesMut::new(),
            keys: MaskKeys::new(),
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            sending: false,
            deflate,
            sending_compressed: false,
        }
    }

    /// The agreed permessage-deflate parameters, if the extension is on.
    pub fn deflate(&self) -> Option<&DeflateConfig> {
        self.deflate.as_ref().map(Codec::config)
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
    /// the rest arrives. Room for the rest of an accepted frame is reserved
    /// in `input`; nothing is reserved for a frame the limits refuse.
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

    /// The fast path of [`decode`](Self::decode): the message at the front
    /// of `input` when it is whole there in one frame and nothing is under
    /// way (no frame, no fragmented message), the connection is not closed
    /// and the frame passes every check the general path makes: FIN, no RSV
    /// bit, text or binary, masked as the role requires, the length in its
    /// shortest form and within both limits, and (text) valid UTF-8.
    ///
    /// Such a message yields the same event as the general path, and
    /// decoding it cannot fail or queue anything for the peer. Otherwise
    /// `None`, with `input` (unmasking undone) and the state untouched.
    pub(crate) fn decode_message(&mut self, input: &mut BytesMut) -> Option<Event> {
        let (kind, head, len) = self.take_message(input)?;
        let mut payload = split_front(input, head + len);
        payload.advance(head);
        Some(Event::Data {
            kind,
            payload,
            first: true,
            fin: true,
            rsv: 0,
        })
    }

    /// [`decode_message`](Self::decode_message) over and over, at most
    /// `max` times (and at most 64), handing each message's kind and
    /// payload to `f`: the messages are cut off `input` together, with one
    /// split of the buffer rather than one each. Returns how many there
    /// were.
    pub(crate) fn decode_messages(
        &mut self,
        input: &mut BytesMut,
        max: usize,
        mut f: impl FnMut(DataKind, Bytes),
    ) -> usize {
        const BATCH: usize = 64;
        // Nothing there (the usual case after a round trip's message): out
        // before setting up the batch.
        if input.len() < 2 || !self.between_messages() {
            return 0;
        }
        // Kind, header length and payload length of each message taken.
        let mut found = [(DataKind::Binary, 0u8, 0usize); BATCH];
        let mut count = 0;
        let mut end = 0;
        for slot in found.iter_mut().take(max) {
            let Some((kind, head, len)) = self.unmask_message(&mut input[end..]) else {
                break;
            };
            *slot = (kind, head as u8, len);
            end += head + len;
            count += 1;
        }
        if count == 0 {
            return 0;
        }
        let taken = split_front(input, end);
        let mut at = 0;
        for &(kind, head, len) in &found[..count] {
            let start = at + usize::from(head);
            f(kind, taken.slice(start..start + len));
            at = start + len;
        }
        count
    }

    /// True when nothing is under way: no frame, no fragmented message,
    /// and the connection is not closed.
    #[inline]
    fn between_messages(&self) -> bool {
        self.frame.is_none() && self.message.is_none() && self.state != State::Closed
    }

    /// The checks of [`decode_message`](Self::decode_message) on the front
    /// of `buf`: on success the payload is unmasked in place and the kind,
    /// header length and payload length are returned; otherwise `buf` is
    /// left as it was.
    #[inline]
    fn take_message(&self, buf: &mut [u8]) -> Option<(DataKind, usize, usize)> {
        if !self.between_messages() {
            return None;
        }
        self.unmask_message(buf)
    }

    /// [`take_message`](Self::take_message) less the check that nothing is
    /// under way.
    ///
    /// An unmasked binary message (what a client receives most) needs
    /// nothing more than the header checks, which are inlined into the
    /// caller's loop; unmasking and the UTF-8 check are out of line.
    #[inline(always)]
    fn unmask_message(&self, buf: &mut [u8]) -> Option<(DataKind, usize, usize)> {
        let (kind, head, len, key) = self.message_at(buf)?;
        if key.is_none() && kind == DataKind::Binary {
            return Some((kind, head, len));
        }
        Self::unmask_and_check(buf, kind, head, len, key)
    }

    /// The rest of [`unmask_message`](Self::unmask_message) for a masked
    /// or text message.
    #[inline(never)]
    fn unmask_and_check(
        buf: &mut [u8],
        kind: DataKind,
        head: usize,
        len: usize,
        key: Option<[u8; 4]>,
    ) -> Option<(DataKind, usize, usize)> {
        let payload = &mut buf[head..head + len];
        if let Some(key) = key {
            apply_mask(payload, key);
        }
        if kind == DataKind::Text && !super::utf8::is_valid(payload) {
            // Leave it to the general path, which fails the connection.
            if let Some(key) = key {
                apply_mask(payload, key);
            }
            return None;
        }
        Some((kind, head, len))
    }

    /// The header checks of [`decode_message`](Self::decode_message):
    /// kind, header length, payload length and mask key of the message at
    /// the front of `buf`, if its header passes and it is whole there.
    #[inline(always)]
    fn message_at(&self, buf: &[u8]) -> Option<(DataKind, usize, usize, Option<[u8; 4]>)> {
        let (&[b0, b1], rest) = buf.split_first_chunk::<2>()?;
        let kind = match b0 {
            0x82 => DataKind::Binary,
            0x81 => DataKind::Text,
            _ => return None,
        };
        let masked = b1 & 0x80 != 0;
        if masked != (self.config.role == Role::Server) {
            return None;
        }
        let (len, ext) = match b1 & 0x7F {
            126 => {
                let n = u16::from_be_bytes(*rest.first_chunk::<2>()?);
                if n < 126 {
                    return None;
                }
                (usize::from(n), 2)
            }
            127 => {
                let n = u64::from_be_bytes(*rest.first_chunk::<8>()?);
                if n >> 63 != 0 || n <= 0xFFFF {
                    return None;
                }
                (usize::try_from(n).ok()?, 8)
            }
            n => (usize::from(n), 0),
        };
        if len > self.config.max_frame_size || len > self.config.max_message_size {
            return None;
        }
        let (head, key) = if masked {
            (2 + ext + 4, Some(*rest.get(ext..)?.first_chunk::<4>()?))
        } else {
            (2 + ext, None)
        };
        if buf.len() < head || buf.len() - head < len {
            return None;
        }
        Some((kind, head, len, key))
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
            input.reserve((frame.len - have).min(MAX_RESERVE));
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
                    self.write_frame(OpCode::Pong, 0, &payload);
                }
                Ok(Event::Ping(payload))
            }
            OpCode::Pong => Ok(Event::Pong(payload)),
            OpCode::Close => {
                let close = CloseFrame::parse(&payload)?;
                if self.state == State::Open {
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
            self.write_frame(OpCode::Close, 0, &error.close_code().to_be_bytes());
        }
        self.state = State::Closed;
    }

    /// Encodes one data frame into the output. `first`: this frame starts a
    /// message (opcode Text/Binary, else Continuation); `fin`: it ends one.
    /// Errors if the fragmentation sequence is broken or a close was sent.
    ///
    /// `kind` only matters when `first` is true. A text payload is not
    /// checked for UTF-8 (a `&str` already is). All errors are
    /// [`ProtocolError::InvalidSend`], and leave the output untouched.
    ///
    /// With permessage-deflate on, the message is compressed (RSV1 on its
    /// first frame), unless it is whole (`first` and `fin`) and shorter than
    /// [`DeflateConfig::compression_threshold`]. Each piece of a message
    /// sent in pieces is compressed and flushed as it comes, so a frame
    /// leaves with what it was given.
    pub fn encode_data(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        first: bool,
        fin: bool,
    ) -> Result<(), ProtocolError> {
        if self.deflate.is_none() {
            return self.encode_data_rsv(kind, payload, first, fin, 0);
        }
        self.encode_data_deflate(kind, payload, first, fin)
    }

    /// [`encode_data`](Self::encode_data) with permessage-deflate on (kept
    /// apart so that the plain path stays small).
    #[inline(never)]
    fn encode_data_deflate(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        first: bool,
        fin: bool,
    ) -> Result<(), ProtocolError> {
        let Some(codec) = &self.deflate else {
            return self.encode_data_rsv(kind, payload, first, fin, 0);
        };
        self.check_send(first, 0)?;
        let compress = if first {
            !(fin && payload.len() < codec.config().compression_threshold)
        } else {
            self.sending_compressed
        };
        if !compress {
            return self.encode_data_rsv(kind, payload, first, fin, 0);
        }
        let Some(codec) = &mut self.deflate else {
            return Err(ProtocolError::InvalidSend("permessage-deflate is off"));
        };
        let compressed = codec.compress(payload, fin)?;
        let rsv = if first { RSV1 } else { 0 };
        self.write_frame_fin(data_opcode(kind, first), fin, rsv, &compressed);
        if let Some(codec) = &mut self.deflate {
            codec.recycle(compressed);
        }
        self.sending = !fin;
        self.sending_compressed = !fin;
        Ok(())
    }

    /// [`encode_data`](Self::encode_data) with RSV bits (as in
    /// [`Config::allowed_rsv`]) for an extension the caller runs, and
    /// without compression: RSV bits are allowed only on the first frame of
    /// a message and only the bits of [`Config::allowed_rsv`] (not RSV1 when
    /// permessage-deflate is on: it belongs to the codec), else
    /// [`ProtocolError::InvalidSend`].
    pub fn encode_data_rsv(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        first: bool,
        fin: bool,
        rsv: u8,
    ) -> Result<(), ProtocolError> {
        self.check_send(first, rsv)?;
        if self.deflate.is_some() && rsv & RSV1 != 0 {
            return Err(ProtocolError::InvalidSend(
                "RSV1 belongs to permessage-deflate",
            ));
        }
        if !first && self.sending_compressed {
            return Err(ProtocolError::InvalidSend(
                "a compressed message is in progress",
            ));
        }
        self.write_frame_fin(data_opcode(kind, first), fin, rsv, payload);
        self.sending = !fin;
        self.sending_compressed = false;
        Ok(())
    }

    /// The checks every data frame passes before it is encoded.
    fn check_send(&self, first: bool, rsv: u8) -> Result<(), ProtocolError> {
        if self.state != State::Open {
            return Err(ProtocolError::InvalidSend("data after the close frame"));
        }
        if first && self.sending {
            return Err(ProtocolError::InvalidSend(
                "a fragmented message is in progress",
            ));
        }
        if !first && !self.sending {
            return Err(ProtocolError::InvalidSend(
                "continuation without a message in progress",
            ));
        }
        if rsv != 0 && (!first || rsv & !self.config.allowed_rsv != 0) {
            return Err(ProtocolError::InvalidSend("RSV bits not allowed"));
        }
        Ok(())
    }

    /// Encodes a ping (payload at most 125 bytes).
    ///
    /// [`ProtocolError::InvalidSend`] for a longer payload or after this
    /// side's close frame.
    pub fn encode_ping(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        self.encode_control(OpCode::Ping, payload)
    }

    /// Encodes an unsolicited pong (payload at most 125 bytes).
    ///
    /// [`ProtocolError::InvalidSend`] for a longer payload or after this
    /// side's close frame.
    pub fn encode_pong(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        self.encode_control(OpCode::Pong, payload)
    }

    fn encode_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), ProtocolError> {
        if self.state != State::Open {
            return Err(ProtocolError::InvalidSend(
                "control frame after the close frame",
            ));
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(ProtocolError::InvalidSend(
                "control payload longer than 125 bytes",
            ));
        }
        self.write_frame(opcode, 0, payload);
        Ok(())
    }

    /// Encodes this side's close frame (None: no payload) and moves to
    /// [`State::CloseSent`] (or [`State::Closed`] if the peer's close already
    /// came). Checks the code may go on the wire and the reason fits 123
    /// bytes. A second call does nothing.
    ///
    /// The checks are [`close::is_valid_wire_code`](super::close::is_valid_wire_code)
    /// and the reason's length; either failing is
    /// [`ProtocolError::InvalidSend`]. Whether the application may choose
    /// the code ([`close::is_user_code`](super::close::is_user_code)) is the
    /// caller's policy. Once the peer's close came the reply was already
    /// queued by [`decode`](Self::decode), so this does nothing then either.
    pub fn encode_close(&mut self, frame: Option<&CloseFrame>) -> Result<(), ProtocolError> {
        if self.state != State::Open {
            return Ok(());
        }
        match frame {
            Some(frame) => {
                frame.check()?;
                let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
                let len = frame.encoded_len();
                payload[..2].copy_from_slice(&frame.code.to_be_bytes());
                payload[2..len].copy_from_slice(frame.reason.as_bytes());
                self.write_frame(OpCode::Close, 0, &payload[..len]);
            }
            None => self.write_frame(OpCode::Close, 0, &[]),
        }
        self.state = State::CloseSent;
        Ok(())
    }

    /// Bytes waiting to be written to the peer. The caller writes from the
    /// front and advances (`bytes::Buf::advance`) by what was written.
    pub fn output(&mut self) -> &mut BytesMut {
        &mut self.output
    }

    /// True when the output holds bytes to write.
    pub fn wants_write(&self) -> bool {
        !self.output.is_empty()
    }

    /// Appends a final frame (every control frame is one).
    fn write_frame(&mut self, opcode: OpCode, rsv: u8, payload: &[u8]) {
        self.write_frame_fin(opcode, true, rsv, payload);
    }

    /// Appends a frame, masked with a fresh key in the client role.
    fn write_frame_fin(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) {
        let b0 = (u8::from(fin) << 7) | ((rsv & 0x7) << 4) | opcode.as_u8();
        put_frame(
            &mut self.output,
            self.config.role,
            &mut self.keys,
            b0,
            payload,
        );
    }

    /// The checks [`encode_data`](Self::encode_data) makes before it
    /// encodes a whole message (the connection is open and no message sent
    /// in pieces is in progress), without encoding anything.
    pub(crate) fn check_message_send(&self) -> Result<(), ProtocolError> {
        self.check_send(true, 0)
    }

    /// Appends whole data frames that [`encode_message`] wrote elsewhere
    /// (the sending half batches small messages without the session lock),
    /// with the checks [`encode_data`](Self::encode_data) makes of a whole
    /// message: the connection is open and no message sent in pieces is in
    /// progress, else [`ProtocolError::InvalidSend`] and the output is
    /// untouched. Only for a connection without permessage-deflate (the
    /// frames are not compressed). `frames` is left empty; when the output
    /// is empty the two buffers are swapped rather than copied.
    pub(crate) fn append_messages(&mut self, frames: &mut BytesMut) -> Result<(), ProtocolError> {
        debug_assert!(self.deflate.is_none());
        self.check_message_send()?;
        if self.output.is_empty() {
            std::mem::swap(&mut self.output, frames);
        } else {
            self.output.extend_from_slice(frames);
        }
        frames.clear();
        Ok(())
    }
}

/// Appends a whole, uncompressed message of `kind` in one frame to `out`
/// as a connection of `role` without permessage-deflate encodes it (the
/// same bytes, masked in the client role with a key of this thread's
/// keystream); [`Connection::append_messages`] hands such frames over.
pub(crate) fn encode_message(out: &mut BytesMut, role: Role, kind: DataKind, payload: &[u8]) {
    let b0 = 0x80 | data_opcode(kind, true).as_u8();
    put_frame(out, role, &mut MaskKeys::new(), b0, payload);
}

/// Appends a frame with first byte `b0`, masked with a fresh key in the
/// client role.
#[inline]
fn put_frame(out: &mut BytesMut, role: Role, keys: &mut MaskKeys, b0: u8, payload: &[u8]) {
    match role {
        Role::Client if payload.len() <= MASK_WHILE_COPYING => {
            put_small_masked_frame(out, b0, payload, keys.next_key());
        }
        Role::Client => {
            let key = keys.next_key();
            out.reserve(FrameHeader::MAX_LEN + payload.len());
            put_header(out, b0, payload.len(), Some(key));
            let start = out.len();
            out.extend_from_slice(payload);
            apply_mask(&mut out[start..], key);
        }
        Role::Server => {
            out.reserve(FrameHeader::MAX_LEN + payload.len());
            put_header(out, b0, payload.len(), None);
            out.extend_from_slice(payload);
        }
    }
}

/// Payloads up to this size are masked word by word into a copy of the
/// whole frame on the stack ([`put_small_masked_frame`]); longer ones are
/// copied in one piece and masked in the output.
const MASK_WHILE_COPYING: usize = 64;

/// The room a small masked frame is written in: the 6-byte header, up to
/// [`MASK_WHILE_COPYING`] bytes of payload, rounded up to whole words.
const SMALL_FRAME: usize = 72;

/// Appends a masked frame with a payload of at most [`MASK_WHILE_COPYING`]
/// bytes (the same bytes as [`put_header`] then the payload masked with
/// `key`): the output grows by a fixed [`SMALL_FRAME`] bytes at once (one
/// capacity check, a fill that compiles to a few wide stores), the header
/// and the masked payload are written into it in place, word by word, and
/// the output is cut back to the frame's length.
///
/// The frame is written straight into the output: built on the stack and
/// copied (as before), the copy's wide loads read back the narrower
/// stores just made, which the processor cannot forward (a stall on every
/// frame).
#[inline]
fn put_small_masked_frame(out: &mut BytesMut, b0: u8, payload: &[u8], key: [u8; 4]) {
    debug_assert!(payload.len() <= MASK_WHILE_COPYING);
    let start = out.len();
    // (Not `resize`, which is out of line and calls `memset`.)
    out.extend_from_slice(&[0; SMALL_FRAME]);
    let Some(frame) = out[start..].first_chunk_mut::<SMALL_FRAME>() else {
        unreachable!("the output was just grown by SMALL_FRAME bytes");
    };
    let [k0, k1, k2, k3] = key;
    frame[..6].copy_from_slice(&[b0, 0x80 | payload.len() as u8, k0, k1, k2, k3]);
    let (_, body) = frame.split_at_mut(6);
    // The key twice over: the same on either byte order.
    let word = u64::from(u32::from_ne_bytes(key)) * 0x1_0000_0001;
    let mut chunks = payload.chunks_exact(8);
    let mut slots = body.chunks_exact_mut(8);
    for (chunk, slot) in (&mut chunks).zip(&mut slots) {
        if let (Ok(chunk), Ok(slot)) = (<[u8; 8]>::try_from(chunk), <&mut [u8; 8]>::try_from(slot))
        {
            *slot = (u64::from_ne_bytes(chunk) ^ word).to_ne_bytes();
        }
    }
    // Whole words were 8 bytes, so the tail starts at key[0] again.
    let tail = chunks.remainder();
    let at = payload.len() - tail.len();
    for ((i, &byte), slot) in tail.iter().enumerate().zip(&mut body[at..]) {
        *slot = byte ^ key[i & 3];
    }
    out.truncate(start + 6 + payload.len());
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

/// Appends a frame header (the same bytes as [`FrameHeader::encode`]),
/// each form written as one fixed-size piece.
#[inline]
fn put_header(out: &mut BytesMut, b0: u8, len: usize, key: Option<[u8; 4]>) {
    match (len, key) {
        (0..=125, None) => out.extend_from_slice(&[b0, len as u8]),
        (0..=125, Some([k0, k1, k2, k3])) => {
            out.extend_from_slice(&[b0, 0x80 | len as u8, k0, k1, k2, k3]);
        }
        (126..=0xFFFF, None) => {
            let [l0, l1] = (len as u16).to_be_bytes();
            out.extend_from_slice(&[b0, 126, l0, l1]);
        }
        (126..=0xFFFF, Some([k0, k1, k2, k3])) => {
            let [l0, l1] = (len as u16).to_be_bytes();
            out.extend_from_slice(&[b0, 0x80 | 126, l0, l1, k0, k1, k2, k3]);
        }
        (_, None) => {
            let [l0, l1, l2, l3, l4, l5, l6, l7] = (len as u64).to_be_bytes();
            out.extend_from_slice(&[b0, 127, l0, l1, l2, l3, l4, l5, l6, l7]);
        }
        (_, Some([k0, k1, k2, k3])) => {
            let [l0, l1, l2, l3, l4, l5, l6, l7] = (len as u64).to_be_bytes();
            out.extend_from_slice(&[
                b0,
                0x80 | 127,
                l0,
                l1,
                l2,
                l3,
                l4,
                l5,
                l6,
                l7,
                k0,
                k1,
                k2,
                k3,
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a run of `decode` calls produced.
    #[derive(Debug, PartialEq)]
    struct Run {
        events: Vec<Result<Event, ProtocolError>>,
        output: Vec<u8>,
        state: State,
        left: Vec<u8>,
    }

    /// Feeds `chunks` one after the other, decoding after each until
    /// `Ok(None)`; `fast: false` skips the fast path of `decode_message`.
    fn run(config: &Config, chunks: &[&[u8]], fast: bool) -> Run {
        let mut conn = Connection::new(config.clone());
        let mut input = BytesMut::new();
        let mut events = Vec::new();
        for chunk in chunks {
            input.extend_from_slice(chunk);
            loop {
                let res = if fast {
                    conn.decode(&mut input)
                } else if conn.state == State::Closed {
                    input.clear();
                    Ok(None)
                } else {
                    conn.decode_general(&mut input)
                };
                match res {
                    Ok(None) => break,
                    Ok(Some(ev)) => events.push(Ok(ev)),
                    Err(e) => events.push(Err(e)),
                }
            }
        }
        Run {
            events,
            output: unmasked(conn.output()),
            state: conn.state(),
            left: input.to_vec(),
        }
    }

    /// The frames of an output with their masks taken off (a client's keys
    /// are random).
    fn unmasked(mut out: &[u8]) -> Vec<u8> {
        let mut plain = BytesMut::new();
        while let Ok(Some((mut header, len))) = FrameHeader::parse(out) {
            let end = len + header.payload_len as usize;
            let mut payload = out[len..end].to_vec();
            if let Some(key) = header.mask.take() {
                apply_mask(&mut payload, key);
            }
            header.encode(&mut plain);
            plain.extend_from_slice(&payload);
            out = &out[end..];
        }
        assert!(out.is_empty());
        plain.to_vec()
    }

    /// A frame with the length in the given number of extension bytes
    /// (0, 2 or 8, minimal or not), masked with `key` if given.
    fn frame(b0: u8, payload: &[u8], ext: usize, key: Option<[u8; 4]>) -> Vec<u8> {
        let mask_bit = if key.is_some() { 0x80 } else { 0 };
        let mut out = vec![b0];
        match ext {
            0 => out.push(mask_bit | payload.len() as u8),
            2 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
            }
        }
        let start = out.len() + if key.is_some() { 4 } else { 0 };
        if let Some(key) = key {
            out.extend_from_slice(&key);
        }
        out.extend_from_slice(payload);
        if let Some(key) = key {
            apply_mask(&mut out[start..], key);
        }
        out
    }

    fn payloads() -> Vec<Vec<u8>> {
        let mut all = vec![
            Vec::new(),
            b"Hello".to_vec(),
            "h\u{e9}llo \u{1F600}".as_bytes().to_vec(),
            vec![0xFF, 0x41],
            vec![0xE2, 0x82],
            vec![b'a'; 125],
        ];
        for len in [126, 300, 0x10000] {
            all.push((0..len).map(|i| (i % 97) as u8 + 32).collect());
        }
        all
    }

    /// The fast path and the general path agree on every input, whole or
    /// split at any point (small inputs) or at a few points (large ones).
    #[test]
    fn fast_path_matches_general_path() {
        let first_bytes = [
            0x81, 0x82, 0x01, 0x02, 0x00, 0x80, 0x88, 0x89, 0x8A, 0x83, 0xC1, 0xC2, 0x92, 0xA2,
        ];
        let mut cases = 0;
        for role in [Role::Server, Role::Client] {
            for (max_frame, deflate) in [(16 << 20, false), (200, false), (16 << 20, true)] {
                let mut config = Config::new(role);
                config.max_frame_size = max_frame;
                if deflate {
                    config.deflate = Some(DeflateConfig::default());
                }
                for payload in payloads() {
                    for b0 in first_bytes {
                        let control = b0 & 0x08 != 0;
                        if control && payload.len() > 125 {
                            continue;
                        }
                        for ext in [0, 2, 8] {
                            if (ext == 0 && payload.len() > 125)
                                || (ext == 2 && payload.len() > 0xFFFF)
                            {
                                continue;
                            }
                            for key in [None, Some([0x37, 0xfa, 0x21, 0x3d])] {
                                let mut wire = frame(b0, &payload, ext, key);
                                // A second message behind the first.
                                let tail = frame(0x82, b"next", 0, key);
                                wire.extend_from_slice(&tail);
                                check(&config, &wire);
                                cases += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(cases > 1000);
    }

    fn check(config: &Config, wire: &[u8]) {
        let general = run(config, &[wire], false);
        let fast = run(config, &[wire], true);
        assert_eq!(fast, general, "{:02x?}", &wire[..wire.len().min(16)]);
        let cuts: Vec<usize> = if wire.len() <= 64 {
            (1..wire.len()).collect()
        } else {
            vec![
                1,
                2,
                3,
                4,
                8,
                10,
                14,
                wire.len() / 2,
                wire.len() - 9,
                wire.len() - 1,
            ]
        };
        for cut in cuts {
            let (a, b) = wire.split_at(cut);
            let general = run(config, &[a, b], false);
            let fast = run(config, &[a, b], true);
            assert_eq!(fast, general, "cut {cut}");
        }
    }

    /// decode_messages takes what decode_message would, one by one.
    #[test]
    fn decode_messages_matches_decode_message() {
        let key = Some([0x37, 0xfa, 0x21, 0x3d]);
        for role in [Role::Server, Role::Client] {
            let key = if role == Role::Server { key } else { None };
            let mut wire = Vec::new();
            for i in 0..25u8 {
                wire.extend(frame(0x82, &vec![i; usize::from(i) * 5], 0, key));
                wire.extend(frame(0x81, "t\u{e9}xt".as_bytes(), 0, key));
                wire.extend(frame(0x82, &[], 0, key));
            }
            wire.extend(frame(0x82, &[7; 300], 2, key));
            wire.extend(frame(0x89, b"ping", 0, key));
            wire.extend(frame(0x82, b"after", 0, key));
            for max in [0, 1, 2, 5, 63, 64, 65, 75, 76, 77, 1000] {
                for cut in [wire.len(), wire.len() - 1, wire.len() / 2, 3] {
                    let config = Config::new(role);
                    let mut one = Connection::new(config.clone());
                    let mut input_one = BytesMut::from(&wire[..cut]);
                    let mut want = Vec::new();
                    while want.len() < max.min(64) {
                        match one.decode_message(&mut input_one) {
                            Some(Event::Data { kind, payload, .. }) => want.push((kind, payload)),
                            Some(other) => panic!("{other:?}"),
                            None => break,
                        }
                    }
                    let mut many = Connection::new(config);
                    let mut input_many = BytesMut::from(&wire[..cut]);
                    let mut got = Vec::new();
                    let n = many.decode_messages(&mut input_many, max, |k, p| got.push((k, p)));
                    assert_eq!(n, got.len());
                    assert_eq!(got, want, "max {max} cut {cut}");
                    assert_eq!(input_many, input_one, "max {max} cut {cut}");
                }
            }
        }
    }

    /// A message that is all of a buffer without spare room takes the
    /// buffer itself; otherwise it is split off and the room stays.
    #[test]
    fn whole_buffer_is_taken_not_split() {
        let wire = frame(0x82, b"payload", 0, None);
        for decode in [Connection::decode, Connection::decode_general] {
            let mut conn = Connection::new(Config::new(Role::Client));
            let mut exact = BytesMut::from(&wire[..]);
            assert_eq!(exact.capacity(), wire.len());
            let ev = decode(&mut conn, &mut exact).unwrap();
            assert_eq!(ev, Some(data_event(b"payload")));
            assert_eq!((exact.len(), exact.capacity()), (0, 0));
            let mut roomy = BytesMut::with_capacity(wire.len() + 100);
            roomy.extend_from_slice(&wire);
            let ev = decode(&mut conn, &mut roomy).unwrap();
            assert_eq!(ev, Some(data_event(b"payload")));
            assert_eq!(roomy.len(), 0);
            assert!(roomy.capacity() >= 100);
        }
        let mut conn = Connection::new(Config::new(Role::Client));
        let mut exact = BytesMut::from(&wire[..]);
        let mut got = Vec::new();
        assert_eq!(conn.decode_messages(&mut exact, 8, |_, p| got.push(p)), 1);
        assert_eq!(got, [Bytes::from_static(b"payload")]);
        assert_eq!((exact.len(), exact.capacity()), (0, 0));
    }

    fn data_event(payload: &'static [u8]) -> Event {
        Event::Data {
            kind: DataKind::Binary,
            payload: Bytes::from_static(payload),
            first: true,
            fin: true,
            rsv: 0,
        }
    }

    #[test]
    fn small_masked_frame_matches_header_and_apply_mask() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..=MASK_WHILE_COPYING {
            let payload: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
            for b0 in [0x82, 0x01, 0x80, 0xC1] {
                let mut a = BytesMut::from(&b"head"[..]);
                put_small_masked_frame(&mut a, b0, &payload, key);
                let mut b = BytesMut::from(&b"head"[..]);
                put_header(&mut b, b0, len, Some(key));
                let mut masked = payload.clone();
                apply_mask(&mut masked, key);
                b.extend_from_slice(&masked);
                assert_eq!(a, b, "len {len} b0 {b0:#x}");
            }
        }
    }

    #[test]
    fn client_frames_are_masked_header_and_payload() {
        // Every size on either side of the small-frame path, checked by
        // unmasking what the client role wrote.
        let mut conn = Connection::new(Config::new(Role::Client));
        for len in [0usize, 1, 7, 8, 9, 16, 63, 64, 65, 125, 126, 300, 0x1_0000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            conn.encode_data(DataKind::Binary, &payload, true, true)
                .unwrap();
            let out = conn.output().split().freeze();
            let ext = match len {
                0..=125 => 0,
                126..=0xFFFF => 2,
                _ => 8,
            };
            let key: [u8; 4] = out[2 + ext..6 + ext].try_into().unwrap();
            assert_eq!(
                &out[..],
                &frame(0x82, &payload, ext, Some(key))[..],
                "len {len}"
            );
        }
    }

    #[test]
    fn encode_message_matches_encode_data() {
        for role in [Role::Client, Role::Server] {
            for len in [0usize, 5, 16, 64, 65, 125, 126, 1024, 0x1_0000] {
                let payload: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
                for kind in [DataKind::Binary, DataKind::Text] {
                    let mut conn = Connection::new(Config::new(role));
                    conn.encode_data(kind, &payload, true, true).unwrap();
                    let a = conn.output().split();
                    let mut b = BytesMut::new();
                    encode_message(&mut b, role, kind, &payload);
                    // Same bytes but the (random) mask key.
                    let key_at = match (role, len) {
                        (Role::Server, _) => None,
                        (_, 0..=125) => Some(2),
                        (_, 126..=0xFFFF) => Some(4),
                        _ => Some(10),
                    };
                    let unmask = |mut f: BytesMut| {
                        if let Some(at) = key_at {
                            let key: [u8; 4] = f[at..at + 4].try_into().unwrap();
                            apply_mask(&mut f[at + 4..], key);
                            f[at..at + 4].fill(0);
                        }
                        f
                    };
                    assert_eq!(unmask(a), unmask(b), "{role:?} {len} {kind:?}");
                }
            }
        }
    }

    #[test]
    fn append_messages_checks_like_encode_data() {
        let mut frames = BytesMut::new();
        encode_message(&mut frames, Role::Server, DataKind::Binary, b"one");
        let one = frames.clone();
        // Into an empty output: the buffers are swapped.
        let mut conn = Connection::new(Config::new(Role::Server));
        conn.append_messages(&mut frames).unwrap();
        assert!(frames.is_empty());
        assert_eq!(conn.output()[..], one[..]);
        // Behind a frame already there.
        conn.encode_ping(b"p").unwrap();
        let mut frames = one.clone();
        conn.append_messages(&mut frames).unwrap();
        assert!(frames.is_empty());
        let mut want = one.to_vec();
        want.extend_from_slice(&[0x89, 1, b'p']);
        want.extend_from_slice(&one);
        assert_eq!(conn.output()[..], want[..]);
        // A message sent in pieces is in progress: refused, output kept.
        conn.encode_data(DataKind::Text, b"a", true, false).unwrap();
        let before = conn.output().clone();
        let mut frames = one.clone();
        assert!(matches!(
            conn.append_messages(&mut frames),
            Err(ProtocolError::InvalidSend(_))
        ));
        assert_eq!(conn.output()[..], before[..]);
        // After the close frame: refused.
        let mut conn = Connection::new(Config::new(Role::Server));
        conn.encode_close(None).unwrap();
        let mut frames = one.clone();
        assert!(conn.append_messages(&mut frames).is_err());
        assert_eq!(conn.output()[..], [0x88, 0][..]);
    }

    #[test]
    fn put_header_matches_frame_header_encode() {
        for len in [0usize, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 1 << 33] {
            for key in [None, Some([9, 8, 7, 6])] {
                for b0 in [0x82, 0x01, 0x80, 0xC1, 0x88] {
                    let mut a = BytesMut::new();
                    put_header(&mut a, b0, len, key);
                    let mut b = BytesMut::new();
                    FrameHeader {
                        fin: b0 & 0x80 != 0,
                        rsv: (b0 >> 4) & 0x7,
                        opcode: OpCode::from_u8(b0 & 0xF).unwrap(),
                        mask: key,
                        payload_len: len as u64,
                    }
                    .encode(&mut b);
                    assert_eq!(a, b, "len {len} key {key:?} b0 {b0:#x}");
                }
            }
        }
    }

    #[test]
    fn fast_path_leaves_refused_input_untouched() {
        // Invalid UTF-8, masked: unmasked then masked back for the general
        // path, which fails the connection with 1007.
        let key = [1, 2, 3, 4];
        let wire = frame(0x81, &[0xFF, 0x41], 0, Some(key));
        let mut conn = Connection::new(Config::new(Role::Server));
        let mut input = BytesMut::from(&wire[..]);
        assert_eq!(conn.decode_message(&mut input), None);
        assert_eq!(&input[..], &wire[..]);
        assert_eq!(conn.decode(&mut input), Err(ProtocolError::InvalidUtf8));
        // Incomplete: nothing taken.
        let wire = frame(0x82, b"abc", 0, Some(key));
        let mut conn = Connection::new(Config::new(Role::Server));
        let mut input = BytesMut::from(&wire[..wire.len() - 1]);
        assert_eq!(conn.decode_message(&mut input), None);
        assert_eq!(&input[..], &wire[..wire.len() - 1]);
    }
}
