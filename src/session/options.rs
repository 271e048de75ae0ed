//! The options of a live connection, checked at connect and accept.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::proto::keep_alive::KeepAliveConfig;

/// Timeouts and buffer sizes of a live connection.
#[derive(Debug, Clone)]
pub(crate) struct SessionOptions {
    pub(crate) send_timeout: Option<Duration>,
    pub(crate) receive_timeout: Option<Duration>,
    pub(crate) close_timeout: Option<Duration>,
    /// Encoded output past this many bytes is flushed before more is queued.
    pub(crate) outbound_buffer_size: usize,
    /// The smallest read asked of the transport (at least
    /// [`MIN_READ_CHUNK`], at most [`MAX_READ_CHUNK`]:
    /// [`SessionOptions::check`]).
    pub(crate) read_chunk: usize,
    /// Send a ping this often (.NET `KeepAliveInterval`).
    pub(crate) keep_alive_interval: Option<Duration>,
    /// Fail with `Timeout(KeepAlive)` when a keep-alive ping has waited this
    /// long for its pong (.NET `KeepAliveTimeout`).
    pub(crate) keep_alive_timeout: Option<Duration>,
    /// Send an unsolicited pong this often (WinRT
    /// `DesiredUnsolicitedPongInterval`).
    pub(crate) unsolicited_pong_interval: Option<Duration>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            send_timeout: Some(Duration::from_secs(30)),
            receive_timeout: Some(Duration::from_secs(30)),
            close_timeout: Some(Duration::from_secs(10)),
            outbound_buffer_size: 64 * 1024,
            read_chunk: 8 * 1024,
            keep_alive_interval: None,
            keep_alive_timeout: None,
            unsolicited_pong_interval: None,
        }
    }
}

/// A smaller read chunk is raised to this.
pub(crate) const MIN_READ_CHUNK: usize = 256;

/// The largest read chunk accepted: more than any read of a transport
/// hands over at once.
pub(crate) const MAX_READ_CHUNK: usize = 16 << 20;

impl SessionOptions {
    /// Checks the limits, at connect or accept, before any byte is read
    /// with them: [`Error::InvalidArgument`] for a read chunk of 0 or over
    /// [`MAX_READ_CHUNK`] (which would make a read reserve an impossible
    /// buffer), or an outbound buffer size of 0. (Durations need no check:
    /// one too long for the clock is a time that never comes.)
    pub(crate) fn check(&self) -> Result<()> {
        if self.read_chunk == 0 || self.read_chunk > MAX_READ_CHUNK {
            return Err(Error::invalid(format!(
                "receive buffer size {} is not within 1..={MAX_READ_CHUNK}",
                self.read_chunk
            )));
        }
        if self.outbound_buffer_size == 0 {
            return Err(Error::invalid("outbound buffer size 0"));
        }
        Ok(())
    }

    pub(super) fn keep_alive(&self) -> KeepAliveConfig {
        KeepAliveConfig {
            ping_interval: self.keep_alive_interval,
            pong_timeout: self.keep_alive_timeout,
            unsolicited_pong_interval: self.unsolicited_pong_interval,
        }
    }
}
