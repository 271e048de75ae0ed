//! The frame header codec (RFC 6455 section 5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! ```
//!
//! [`FrameHeader::parse`] reads a header from the front of a buffer and
//! checks everything that can be checked without knowing the connection's
//! state: the opcode, that control frames are not fragmented and carry at
//! most 125 bytes, and that the length is written in its shortest form with
//! the top bit of a 64-bit length clear. Role (masking), RSV bits,
//! fragmentation order and size limits are the state machine's business.
//!
//! ```
//! use bytes::BytesMut;
//! use wsock::proto::{FrameHeader, OpCode};
//!
//! let (header, len) = FrameHeader::parse(&[0x82, 0x7E, 0x01, 0x00]).unwrap().unwrap();
//! assert_eq!((header.opcode, header.payload_len, len), (OpCode::Binary, 256, 4));
//!
//! let mut out = BytesMut::new();
//! header.encode(&mut out);
//! assert_eq!(&out[..], &[0x82, 0x7E, 0x01, 0x00]);
//! ```

use bytes::{BufMut, BytesMut};

use super::ProtocolError;

/// Largest payload a control frame (close, ping, pong) may carry.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode. The reserved values (3-7, 0xB-0xF) have no variant:
/// [`OpCode::from_u8`] refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: a continuation frame of a fragmented message.
    Continuation = 0,
    /// 0x1: the first frame of a text message.
    Text = 1,
    /// 0x2: the first frame of a binary message.
    Binary = 2,
    /// 0x8: a close frame.
    Close = 8,
    /// 0x9: a ping.
    Ping = 9,
    /// 0xA: a pong.
    Pong = 10,
}

impl OpCode {
    /// The opcode with this 4-bit value; the reserved ones (3-7, 0xB-0xF,
    /// and anything over 0xF) are [`ProtocolError::ReservedOpCode`].
    ///
    /// ```
    /// use wsock::proto::{OpCode, ProtocolError};
    /// assert_eq!(OpCode::from_u8(9), Ok(OpCode::Ping));
    /// assert_eq!(OpCode::from_u8(3), Err(ProtocolError::ReservedOpCode(3)));
    /// ```
    pub fn from_u8(value: u8) -> Result<OpCode, ProtocolError> {
        match value {
            0 => Ok(OpCode::Continuation),
            1 => Ok(OpCode::Text),
            2 => Ok(OpCode::Binary),
            8 => Ok(OpCode::Close),
            9 => Ok(OpCode::Ping),
            10 => Ok(OpCode::Pong),
            other => Err(ProtocolError::ReservedOpCode(other)),
        }
    }

    /// The opcode's 4-bit value.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// True for close, ping and pong (opcodes with the high bit set).
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }

    /// True for continuation, text and binary.
    pub fn is_data(self) -> bool {
        !self.is_control()
    }
}

impl From<OpCode> for u8 {
    fn from(op: OpCode) -> u8 {
        op.as_u8()
    }
}

/// A frame header: everything before the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the last frame of a message.
    pub fin: bool,
    /// RSV1, RSV2 and RSV3 as the low 3 bits (RSV1 = 0x4), that is the first
    /// header byte shifted right by 4 and masked with 0x7.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length (at most 2^63 - 1).
    pub payload_len: u64,
}

impl FrameHeader {
    /// The largest encoded header: 2 bytes, a 64-bit length and a mask key.
    pub const MAX_LEN: usize = 14;

    /// Reads a header from the front of `buf`.
    ///
    /// `Ok(None)`: `buf` holds only the beginning of a header. `Ok(Some)`:
    /// the header and its length in bytes (the payload starts there).
    ///
    /// Errors, each detected as soon as the bytes that show it are in:
    /// [`ReservedOpCode`](ProtocolError::ReservedOpCode),
    /// [`FragmentedControl`](ProtocolError::FragmentedControl) (a control
    /// frame without FIN), [`InvalidLength`](ProtocolError::InvalidLength)
    /// (a 64-bit length with its top bit set, or a length not written in the
    /// fewest bytes, which RFC 6455 5.2 requires) and
    /// [`ControlTooLong`](ProtocolError::ControlTooLong).
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let Some(&b0) = buf.first() else {
            return Ok(None);
        };
        let opcode = OpCode::from_u8(b0 & 0x0F)?;
        let fin = b0 & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControl);
        }
        let Some(&b1) = buf.get(1) else {
            return Ok(None);
        };
        let (payload_len, mut len) = match b1 & 0x7F {
            126 => {
                let Some(ext) = buf.get(2..).and_then(<[u8]>::first_chunk::<2>) else {
                    return Ok(None);
                };
                let n = u64::from(u16::from_be_bytes(*ext));
                if n < 126 {
                    return Err(ProtocolError::InvalidLength);
                }
                (n, 4)
            }
            127 => {
                let Some(ext) = buf.get(2..).and_then(<[u8]>::first_chunk::<8>) else {
                    return Ok(None);
                };
                let n = u64::from_be_bytes(*ext);
                if n >> 63 != 0 || n <= 0xFFFF {
                    return Err(ProtocolError::InvalidLength);
                }
                (n, 10)
            }
            n => (u64::from(n), 2),
        };
        if opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(ProtocolError::ControlTooLong(payload_len));
        }
        let mask = if b1 & 0x80 != 0 {
            let Some(key) = buf.get(len..).and_then(<[u8]>::first_chunk::<4>) else {
                return Ok(None);
            };
            len += 4;
            Some(*key)
        } else {
            None
        };
        let header = FrameHeader {
            fin,
            rsv: (b0 >> 4) & 0x7,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, len)))
    }

    /// How many bytes [`encode`](Self::encode) writes: 2 to 14.
    pub fn encoded_len(&self) -> usize {
        let ext = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Appends the header to `out`, the length in its shortest form.
    ///
    /// The fields are written as they are: only the low 3 bits of `rsv` are
    /// used, and a `payload_len` over 2^63 - 1 is the caller's mistake (the
    /// top bit goes on the wire).
    pub fn encode(&self, out: &mut BytesMut) {
        let mut buf = [0u8; Self::MAX_LEN];
        let n = self.write_to(&mut buf);
        out.put_slice(&buf[..n]);
    }

    /// Writes the header to the front of `buf`, which has room for
    /// [`MAX_LEN`](Self::MAX_LEN) bytes, and returns its length.
    fn write_to(&self, buf: &mut [u8; Self::MAX_LEN]) -> usize {
        buf[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                buf[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xFFFF => {
                buf[1] = mask_bit | 126;
                buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                buf[1] = mask_bit | 127;
                buf[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            buf[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(opcode: OpCode, len: u64, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask,
            payload_len: len,
        }
    }

    #[test]
    fn round_trip_lengths() {
        for len in [
            0u64,
            1,
            125,
            126,
            127,
            0xFFFF,
            0x1_0000,
            1 << 40,
            (1 << 63) - 1,
        ] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let h = header(OpCode::Binary, len, mask);
                let mut out = BytesMut::new();
                h.encode(&mut out);
                assert_eq!(out.len(), h.encoded_len());
                assert_eq!(FrameHeader::parse(&out), Ok(Some((h, out.len()))));
                for cut in 0..out.len() {
                    assert_eq!(
                        FrameHeader::parse(&out[..cut]),
                        Ok(None),
                        "len {len} cut {cut}"
                    );
                }
            }
        }
    }

    #[test]
    fn opcodes() {
        for v in 0u8..=0xFF {
            let ok = matches!(v, 0 | 1 | 2 | 8 | 9 | 10);
            match OpCode::from_u8(v) {
                Ok(op) => {
                    assert!(ok);
                    assert_eq!(op.as_u8(), v);
                    assert_eq!(op.is_control(), v >= 8);
                    assert_eq!(op.is_data(), v < 8);
                }
                Err(e) => {
                    assert!(!ok);
                    assert_eq!(e, ProtocolError::ReservedOpCode(v));
                }
            }
        }
    }
}
