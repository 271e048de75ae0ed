//! Sending: the `encode_*` methods that append frames to the output, in
//! the order RFC 6455 imposes on this side, and the output itself, with
//! the pong answer it may hold back (at most one: see
//! [`Connection::output`]).

use bytes::BytesMut;

use super::super::frame::MAX_CONTROL_PAYLOAD;
use super::super::{CloseFrame, OpCode, ProtocolError};
use super::write::put_frame;
use super::{Connection, DataKind, RSV1, State, data_opcode};

impl Connection {
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
    /// [`DeflateConfig::compression_threshold`](crate::proto::deflate::DeflateConfig::compression_threshold). Each piece of a message
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
    /// [`Config::allowed_rsv`](super::Config::allowed_rsv)) for an extension the caller runs, and
    /// without compression: RSV bits are allowed only on the first frame of
    /// a message and only the bits of [`Config::allowed_rsv`](super::Config::allowed_rsv) (not RSV1 when
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

    /// Encodes whole messages, in order, exactly as
    /// [`encode_data`](Self::encode_data)`(kind, payload, true, true)` would
    /// one after the other; without permessage-deflate the checks are made
    /// once, since encoding a whole message changes nothing they look at.
    /// On an error nothing more is encoded (what came before stays queued).
    pub fn encode_messages<'a>(
        &mut self,
        messages: impl IntoIterator<Item = (DataKind, &'a [u8])>,
    ) -> Result<(), ProtocolError> {
        if self.deflate.is_some() {
            for (kind, payload) in messages {
                self.encode_data(kind, payload, true, true)?;
            }
            return Ok(());
        }
        self.check_send(true, 0)?;
        for (kind, payload) in messages {
            self.write_frame_fin(kind.opcode(), true, 0, payload);
        }
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
    /// The checks are [`close::is_valid_wire_code`](crate::proto::close::is_valid_wire_code)
    /// and the reason's length; either failing is
    /// [`ProtocolError::InvalidSend`]. Once the peer's close came the reply was already
    /// queued by [`decode`](Self::decode), so this does nothing then either.
    pub fn encode_close(&mut self, frame: Option<&CloseFrame>) -> Result<(), ProtocolError> {
        if self.state != State::Open {
            return Ok(());
        }
        if let Some(frame) = frame {
            frame.check()?;
        }
        self.release_pong();
        match frame {
            Some(frame) => {
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
    ///
    /// A ping that arrives while the output holds bytes has its pong held
    /// back rather than appended ([`Event::Ping`](super::Event::Ping));
    /// the output takes it when it is found empty here, so a caller that
    /// writes until [`wants_write`](Self::wants_write) is false writes it
    /// too. (A close frame takes it first: it never follows the close.)
    pub fn output(&mut self) -> &mut BytesMut {
        if self.output.is_empty() {
            self.release_pong();
        }
        &mut self.output
    }

    /// True when the output holds bytes to write (or a pong is held back
    /// for it).
    pub fn wants_write(&self) -> bool {
        !self.output.is_empty() || self.held_pong.is_some()
    }

    /// Drops everything not yet written, the pong held back included
    /// (the transport is gone or the connection aborted).
    pub fn discard_output(&mut self) {
        self.output.clear();
        self.held_pong = None;
    }

    /// Queues the answer to a ping with `payload`: in the output if it is
    /// empty and no pong is held back, else as the pong held back (the
    /// latest ping's answer replaces an earlier one not sent yet, as RFC
    /// 6455 5.5.3 allows).
    pub(super) fn answer_ping(&mut self, payload: &[u8]) {
        if self.output.is_empty() && self.held_pong.is_none() {
            self.write_frame(OpCode::Pong, 0, payload);
            return;
        }
        match &mut self.held_pong {
            Some(held) => {
                held.clear();
                held.extend_from_slice(payload);
            }
            None => self.held_pong = Some(payload.to_vec()),
        }
    }

    /// Appends the pong held back, if any, to the output.
    pub(super) fn release_pong(&mut self) {
        if let Some(payload) = self.held_pong.take() {
            self.write_frame(OpCode::Pong, 0, &payload);
        }
    }

    /// Appends a final frame (every control frame is one).
    pub(super) fn write_frame(&mut self, opcode: OpCode, rsv: u8, payload: &[u8]) {
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
}
