//! Whether a socket is still usable after an error: what a caller's loop
//! asks before it goes on.

use super::{Error, TimeoutKind};

impl Error {
    /// Whether the socket whose call returned this error can still be used:
    /// `true` when the call failed and left the connection as it was, so
    /// the next send or receive may succeed; `false` when the connection
    /// has ended, so every later call fails too and only a new connect
    /// helps.
    ///
    /// | error | usable |
    /// |---|---|
    /// | [`Timeout`](Error::Timeout)`(`[`Receive`](TimeoutKind::Receive)`)` | yes: nothing was lost, the next receive reads on |
    /// | [`Timeout`](Error::Timeout)`(`[`Send`](TimeoutKind::Send)`)` | yes: the message was queued whole or not at all, and leaves once the peer reads |
    /// | [`InvalidArgument`](Error::InvalidArgument) | yes: the call was refused before it touched the connection |
    /// | [`NotConnected`](Error::NotConnected) | yes: a reconnecting socket between connections; a later call may find the next one |
    /// | [`GaveUp`](Error::GaveUp) | no: a reconnecting socket stopped trying |
    /// | [`Timeout`](Error::Timeout)`(`[`Close`](TimeoutKind::Close)`)`, `(`[`KeepAlive`](TimeoutKind::KeepAlive)`)` | no: the connection has failed |
    /// | [`Io`](Error::Io) (a reset, an end without a close), [`Http2`](Error::Http2), [`Protocol`](Error::Protocol), [`Tls`](Error::Tls) | no |
    /// | [`ConnectionClosed`](Error::ConnectionClosed), [`PeerClosed`](Error::PeerClosed), [`Canceled`](Error::Canceled) (an abort) | no |
    /// | [`Resolve`](Error::Resolve), [`Connect`](Error::Connect), [`Handshake`](Error::Handshake), [`Proxy`](Error::Proxy), [`Socks`](Error::Socks), [`Timeout`](Error::Timeout)`(`[`Connect`](TimeoutKind::Connect)`)`, `(`[`ConnectAttempt`](TimeoutKind::ConnectAttempt)`)` | no: a connect that fails leaves no socket at all |
    ///
    /// `tests/error_usability.rs` shows each answer on a real connection.
    /// An error read from the stream socket's `AsyncRead`/`AsyncWrite`
    /// travels inside an `io::Error`; `get_ref()` and a downcast to
    /// [`Error`] give it back.
    ///
    /// ```
    /// use wsock::{Error, TimeoutKind};
    /// assert!(Error::Timeout(TimeoutKind::Receive).is_socket_usable());
    /// assert!(!Error::Timeout(TimeoutKind::KeepAlive).is_socket_usable());
    /// assert!(!Error::ConnectionClosed.is_socket_usable());
    /// ```
    pub fn is_socket_usable(&self) -> bool {
        // Listed in full, without a wildcard: a new variant must choose.
        match self {
            Error::InvalidArgument(_) | Error::NotConnected => true,
            Error::Timeout(kind) => match kind {
                TimeoutKind::Receive | TimeoutKind::Send => true,
                TimeoutKind::Connect
                | TimeoutKind::ConnectAttempt
                | TimeoutKind::Close
                | TimeoutKind::KeepAlive => false,
            },
            Error::Resolve { .. }
            | Error::Connect { .. }
            | Error::Tls(_)
            | Error::Handshake(_)
            | Error::Proxy(_)
            | Error::Socks(_)
            | Error::Protocol(_)
            | Error::Io(_)
            | Error::Http2(_)
            | Error::ConnectionClosed
            | Error::Canceled
            | Error::PeerClosed { .. }
            | Error::GaveUp { .. } => false,
        }
    }
}
