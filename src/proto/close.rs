//! Close codes and close frames (RFC 6455 sections 5.5.1 and 7.4).
//!
//! A close frame's payload is empty or a big-endian 2-byte code followed by
//! a UTF-8 reason of at most 123 bytes (the 125 bytes of a control frame
//! less the code). [`is_valid_wire_code`] says which codes may travel
//! (and so which an application may send), [`why_not_sendable`] why the
//! others may not.
//!
//! ```
//! use bytes::BytesMut;
//! use wsock::proto::close::{self, CloseFrame};
//!
//! let frame = CloseFrame::new(close::NORMAL, "bye").unwrap();
//! let mut payload = BytesMut::new();
//! frame.encode(&mut payload);
//! assert_eq!(&payload[..], b"\x03\xe8bye");
//! assert_eq!(CloseFrame::parse(&payload), Ok(Some(frame)));
//! assert_eq!(CloseFrame::parse(b""), Ok(None));
//! assert!(!close::is_valid_wire_code(close::NO_STATUS));
//! ```

use bytes::{BufMut, BytesMut};

use super::ProtocolError;

/// 1000: normal closure.
pub const NORMAL: u16 = 1000;
/// 1001: the endpoint is going away.
pub const GOING_AWAY: u16 = 1001;
/// 1002: protocol error.
pub const PROTOCOL_ERROR: u16 = 1002;
/// 1003: a data type the endpoint cannot accept.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// 1005: no status code was present (never on the wire).
pub const NO_STATUS: u16 = 1005;
/// 1006: the connection closed without a close frame (never on the wire).
pub const ABNORMAL: u16 = 1006;
/// 1007: data inconsistent with the message type (invalid UTF-8).
pub const INVALID_PAYLOAD: u16 = 1007;
/// 1008: policy violation.
pub const POLICY_VIOLATION: u16 = 1008;
/// 1009: a message too big to process.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// 1010: the client expected an extension the server did not negotiate.
pub const MANDATORY_EXTENSION: u16 = 1010;
/// 1011: the server met an unexpected condition.
pub const INTERNAL_ERROR: u16 = 1011;
/// 1012: the service is restarting (IANA registry).
pub const SERVICE_RESTART: u16 = 1012;
/// 1013: try again later (IANA registry).
pub const TRY_AGAIN_LATER: u16 = 1013;
/// 1014: a gateway or proxy got an invalid answer upstream (IANA registry).
pub const BAD_GATEWAY: u16 = 1014;
/// 1015: TLS handshake failure (never on the wire).
pub const TLS_HANDSHAKE: u16 = 1015;

/// Longest close reason: a control frame's 125 bytes less the 2-byte code.
pub const MAX_REASON_LEN: usize = 123;

/// True for the codes that may appear in a close frame (RFC 6455 section
/// 7.4 and the IANA registry): 1000-1003, 1007-1014 and 3000-4999. The
/// rest are refused, in particular 1005, 1006 and 1015, which only report
/// a local condition, 1004 (reserved) and everything below 1000, from 1016
/// to 2999 (unassigned) and from 5000 up.
///
/// ```
/// use wsock::proto::close::is_valid_wire_code;
/// assert!(is_valid_wire_code(1000) && is_valid_wire_code(4999));
/// assert!(!is_valid_wire_code(1006) && !is_valid_wire_code(2999));
/// ```
pub fn is_valid_wire_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Why `code` cannot be put in a close frame, or `None` when it can (the
/// codes of [`is_valid_wire_code`]). An application may send any of those,
/// 1001 "going away" and 1011 "internal error" included: a server that
/// restarts says so with 1001 or 1012.
///
/// ```
/// use wsock::proto::close::why_not_sendable;
/// assert_eq!(why_not_sendable(1001), None);
/// assert_eq!(why_not_sendable(1004), Some("1004 is reserved"));
/// assert!(why_not_sendable(1006).is_some() && why_not_sendable(2999).is_some());
/// ```
pub fn why_not_sendable(code: u16) -> Option<&'static str> {
    match code {
        _ if is_valid_wire_code(code) => None,
        1004 => Some("1004 is reserved"),
        NO_STATUS | ABNORMAL | TLS_HANDSHAKE => {
            Some("1005, 1006 and 1015 only report what happened locally and never go on the wire")
        }
        0..=999 => Some("codes below 1000 are not used"),
        5000.. => Some("codes above 4999 are not valid"),
        _ => Some("the code is not assigned (RFC 6455 section 7.4 and the IANA registry)"),
    }
}

/// The payload of a close frame: a code and a UTF-8 reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// The close code.
    pub code: u16,
    /// The reason, at most 123 bytes of UTF-8.
    pub reason: String,
}

impl CloseFrame {
    /// A close frame to send: the code must be valid on the wire
    /// ([`is_valid_wire_code`]) and the reason at most
    /// [`MAX_REASON_LEN`] bytes; otherwise [`ProtocolError::InvalidSend`].
    /// (The fields are public: a frame built by hand is checked when
    /// [`Connection::encode_close`](super::Connection::encode_close) sends it.)
    pub fn new(code: u16, reason: impl Into<String>) -> Result<CloseFrame, ProtocolError> {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        frame.check()?;
        Ok(frame)
    }

    /// Checks what [`new`](Self::new) checks.
    pub(crate) fn check(&self) -> Result<(), ProtocolError> {
        if !is_valid_wire_code(self.code) {
            return Err(ProtocolError::InvalidSend(
                "close code not allowed on the wire",
            ));
        }
        if self.reason.len() > MAX_REASON_LEN {
            return Err(ProtocolError::InvalidSend(
                "close reason longer than 123 bytes",
            ));
        }
        Ok(())
    }

    /// Reads a close frame's (unmasked) payload. Empty: `Ok(None)`.
    ///
    /// Errors: [`InvalidClosePayload`](ProtocolError::InvalidClosePayload)
    /// for a single byte, [`InvalidCloseCode`](ProtocolError::InvalidCloseCode)
    /// for a code [`is_valid_wire_code`] refuses,
    /// [`InvalidUtf8`](ProtocolError::InvalidUtf8) for a reason that is not
    /// UTF-8 and [`ControlTooLong`](ProtocolError::ControlTooLong) for a
    /// payload over 125 bytes.
    pub fn parse(payload: &[u8]) -> Result<Option<CloseFrame>, ProtocolError> {
        let (code, reason) = match payload {
            [] => return Ok(None),
            [_] => return Err(ProtocolError::InvalidClosePayload),
            [hi, lo, reason @ ..] => (u16::from_be_bytes([*hi, *lo]), reason),
        };
        if payload.len() > MAX_REASON_LEN + 2 {
            return Err(ProtocolError::ControlTooLong(payload.len() as u64));
        }
        if !is_valid_wire_code(code) {
            return Err(ProtocolError::InvalidCloseCode(code));
        }
        let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
        Ok(Some(CloseFrame {
            code,
            reason: reason.to_owned(),
        }))
    }

    /// The payload's length: 2 plus the reason's.
    pub fn encoded_len(&self) -> usize {
        2 + self.reason.len()
    }

    /// Appends the payload (code, then reason) to `out`, unchecked.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        out.put_u16(self.code);
        out.put_slice(self.reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes() {
        let valid: Vec<u16> = (0..=u16::MAX).filter(|&c| is_valid_wire_code(c)).collect();
        let expected: Vec<u16> = (1000..=1003)
            .chain(1007..=1014)
            .chain(3000..=4999)
            .collect();
        assert_eq!(valid, expected);
        for c in 0..=u16::MAX {
            assert_eq!(why_not_sendable(c).is_none(), is_valid_wire_code(c), "{c}");
        }
    }

    #[test]
    fn new_checks() {
        assert!(CloseFrame::new(NORMAL, "x".repeat(123)).is_ok());
        assert!(matches!(
            CloseFrame::new(NORMAL, "x".repeat(124)),
            Err(ProtocolError::InvalidSend(_))
        ));
        assert!(matches!(
            CloseFrame::new(NO_STATUS, ""),
            Err(ProtocolError::InvalidSend(_))
        ));
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            CloseFrame::parse(&[3]),
            Err(ProtocolError::InvalidClosePayload)
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xED]),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xE8, 0xC0, 0x80]),
            Err(ProtocolError::InvalidUtf8)
        );
        let long = [0x03, 0xE8]
            .iter()
            .copied()
            .chain([b'a'; 124])
            .collect::<Vec<u8>>();
        assert_eq!(
            CloseFrame::parse(&long),
            Err(ProtocolError::ControlTooLong(126))
        );
        assert_eq!(
            CloseFrame::parse(&long[..125]),
            Ok(Some(CloseFrame {
                code: 1000,
                reason: "a".repeat(123)
            }))
        );
    }
}
