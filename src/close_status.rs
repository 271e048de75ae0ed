//! Close codes by the names .NET's `WebSocketCloseStatus` gives them, for
//! `close(code, reason)` on any socket and in either role.
//!
//! Any code an endpoint may send can be given (RFC 6455 section 7.4 and
//! the IANA registry: 1000-1003, 1007-1014, 3000-4999); 1004, 1005, 1006,
//! 1015 and the unassigned ranges are refused with
//! [`Error::InvalidArgument`](crate::Error::InvalidArgument), saying why
//! ([`proto::close::why_not_sendable`](crate::proto::close::why_not_sendable)).
//!
//! ```no_run
//! # async fn demo(mut ws: wsock::MessageWebSocket) -> wsock::Result<()> {
//! use wsock::close_status;
//! ws.close(close_status::ENDPOINT_UNAVAILABLE, "restarting").await?;
//! # Ok(()) }
//! ```

use crate::proto::close;

/// 1000: the purpose of the connection was fulfilled.
pub const NORMAL_CLOSURE: u16 = close::NORMAL;
/// 1001: the endpoint is going away (a server restarting, a page left).
pub const ENDPOINT_UNAVAILABLE: u16 = close::GOING_AWAY;
/// 1002: the peer broke the protocol.
pub const PROTOCOL_ERROR: u16 = close::PROTOCOL_ERROR;
/// 1003: a message of a type this endpoint does not accept.
pub const INVALID_MESSAGE_TYPE: u16 = close::UNSUPPORTED_DATA;
/// 1005: no code was given (reported, never sent).
pub const EMPTY: u16 = close::NO_STATUS;
/// 1007: data inconsistent with its message type (text that is not UTF-8).
pub const INVALID_PAYLOAD_DATA: u16 = close::INVALID_PAYLOAD;
/// 1008: a message that violates this endpoint's policy.
pub const POLICY_VIOLATION: u16 = close::POLICY_VIOLATION;
/// 1009: a message too big to process.
pub const MESSAGE_TOO_BIG: u16 = close::MESSAGE_TOO_BIG;
/// 1010: the client needed an extension the server did not agree to.
pub const MANDATORY_EXTENSION: u16 = close::MANDATORY_EXTENSION;
/// 1011: the server met an unexpected condition.
pub const INTERNAL_SERVER_ERROR: u16 = close::INTERNAL_ERROR;
/// 1012: the service is restarting (IANA registry).
pub const SERVICE_RESTART: u16 = close::SERVICE_RESTART;
/// 1013: try again later (IANA registry).
pub const TRY_AGAIN_LATER: u16 = close::TRY_AGAIN_LATER;
