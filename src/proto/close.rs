//! Close codes and close frames (RFC 6455 sections 5.5.1 and 7.4).
//! INTERFACE SKELETON: the helper completes validation, parsing and tests.

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
/// 1015: TLS handshake failure (never on the wire).
pub const TLS_HANDSHAKE: u16 = 1015;

/// The payload of a close frame: a code and a UTF-8 reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// The close code.
    pub code: u16,
    /// The reason, at most 123 bytes of UTF-8.
    pub reason: String,
}
