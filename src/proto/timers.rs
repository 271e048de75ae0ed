//! Every deadline of one connection in one place, as a pure function of
//! the time the caller passes in: the keep-alive timers
//! ([`KeepAlive`]), the close timeout (how long the peer has to answer our
//! close frame) and, for a client, the wait for the server to end TCP after
//! the close handshake (RFC 6455 7.1.1).
//!
//! The caller keeps one timer of its own, set for
//! [`Timers::poll_timeout`]; when it fires (or whenever it likes, early or
//! late) it calls [`Timers::handle_timeout`] with the time, which queues
//! what is due in the [`Connection`]'s output and says when a deadline
//! ended something ([`Expired`]). The caller reports the events the
//! deadlines depend on: [`Timers::on_close_sent`], [`Timers::on_closed`]
//! and [`Timers::on_pong`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use wsock::proto::{Config, Connection, Role};
//! use wsock::proto::keep_alive::KeepAliveConfig;
//! use wsock::proto::timers::{Expired, Timers};
//!
//! let mut conn = Connection::new(Config::new(Role::Client));
//! let start = Instant::now();
//! let mut timers = Timers::new(KeepAliveConfig::default(), start);
//! assert_eq!(timers.poll_timeout(), None);
//!
//! conn.encode_close(None).unwrap();
//! timers.on_close_sent(start, Some(Duration::from_secs(5)));
//! let due = timers.poll_timeout().unwrap();
//! assert_eq!(due, start + Duration::from_secs(5));
//! // The peer never answered.
//! assert_eq!(timers.handle_timeout(due, &mut conn), Some(Expired::Close));
//! ```

use std::time::{Duration, Instant};

use super::keep_alive::{KeepAlive, KeepAliveConfig};
use super::{Connection, State};

/// What a passed deadline ended. Each is reported once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expired {
    /// A keep-alive ping had no pong within the pong timeout: the
    /// connection has failed.
    PongTimeout,
    /// The peer did not answer our close frame within the close timeout:
    /// the connection has failed.
    Close,
    /// The wait for the server to end TCP after the close handshake is
    /// over: the client ends it now (not an error).
    PeerFin,
}

/// The deadlines of one connection; see the [module](self) docs.
#[derive(Debug, Clone)]
pub struct Timers {
    keep_alive: KeepAlive,
    /// When the peer's answer to our close frame is overdue.
    close_by: Option<Instant>,
    /// When a client stops waiting for the server's end of TCP.
    fin_by: Option<Instant>,
}

impl Timers {
    /// The deadlines of a connection opened at `now`, keep-alive as
    /// `config` says (the first ping and unsolicited pong are due one
    /// interval later).
    pub fn new(config: KeepAliveConfig, now: Instant) -> Self {
        Timers {
            keep_alive: KeepAlive::new(config, now),
            close_by: None,
            fin_by: None,
        }
    }

    /// True while some deadline is set or keep-alive is on, so that the
    /// caller need not watch the clock for nothing.
    pub fn is_active(&self) -> bool {
        self.poll_timeout().is_some()
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has something to
    /// do; `None`: nothing is ever due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.keep_alive.poll_timeout(), self.close_by, self.fin_by]
            .into_iter()
            .flatten()
            .min()
    }

    /// Our close frame was queued at `now`: the peer has `limit` to answer
    /// it (`None`: for ever). A close sent again keeps the first deadline.
    pub fn on_close_sent(&mut self, now: Instant, limit: Option<Duration>) {
        if self.close_by.is_none() {
            self.close_by = limit.and_then(|d| now.checked_add(d));
        }
    }

    /// The close handshake completed at `now`: the close timeout is over,
    /// and a caller that waits for the peer's end of TCP (a client) waits
    /// for at most `fin_wait` from here.
    pub fn on_closed(&mut self, now: Instant, fin_wait: Option<Duration>) {
        self.close_by = None;
        if self.fin_by.is_none() {
            self.fin_by = fin_wait.and_then(|d| now.checked_add(d));
        }
    }

    /// A pong came: see [`KeepAlive::on_pong`].
    pub fn on_pong(&mut self) {
        self.keep_alive.on_pong();
    }

    /// Does what is due at `now` (which may be late): keep-alive frames
    /// are queued in `conn`'s output ([`KeepAlive::handle_timeout`]), and
    /// a deadline that passed is reported once and then cleared. When more
    /// than one passed, the failure comes first.
    pub fn handle_timeout(&mut self, now: Instant, conn: &mut Connection) -> Option<Expired> {
        if self.keep_alive.handle_timeout(now, conn).is_err() {
            return Some(Expired::PongTimeout);
        }
        if conn.state() == State::Closed {
            self.close_by = None;
        }
        if self.close_by.is_some_and(|t| now >= t) {
            self.close_by = None;
            return Some(Expired::Close);
        }
        if self.fin_by.is_some_and(|t| now >= t) {
            self.fin_by = None;
            return Some(Expired::PeerFin);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Config, Event, Role};

    const MS: Duration = Duration::from_millis(1);

    fn keep_alive(ping: u64, timeout: u64) -> KeepAliveConfig {
        KeepAliveConfig {
            ping_interval: Some(MS * ping as u32),
            pong_timeout: Some(MS * timeout as u32),
            ..KeepAliveConfig::default()
        }
    }

    #[test]
    fn an_unanswered_close_fails_at_the_close_timeout() {
        let t0 = Instant::now();
        let mut conn = Connection::new(Config::new(Role::Server));
        let mut timers = Timers::new(KeepAliveConfig::default(), t0);
        assert!(!timers.is_active());
        conn.encode_close(None).unwrap();
        timers.on_close_sent(t0, Some(MS * 500));
        // A second close does not move the deadline.
        timers.on_close_sent(t0 + MS * 400, Some(MS * 500));
        assert_eq!(timers.poll_timeout(), Some(t0 + MS * 500));
        assert_eq!(timers.handle_timeout(t0 + MS * 499, &mut conn), None);
        assert_eq!(
            timers.handle_timeout(t0 + MS * 500, &mut conn),
            Some(Expired::Close)
        );
        // Reported once.
        assert_eq!(timers.poll_timeout(), None);
        assert_eq!(timers.handle_timeout(t0 + MS * 900, &mut conn), None);
    }

    #[test]
    fn an_answered_close_lifts_the_close_timeout_and_starts_the_fin_wait() {
        let t0 = Instant::now();
        let mut conn = Connection::new(Config::new(Role::Server));
        let mut timers = Timers::new(KeepAliveConfig::default(), t0);
        conn.encode_close(None).unwrap();
        timers.on_close_sent(t0, Some(MS * 500));
        // The peer's close reply (unmasked: we are the server, so masked).
        let mut reply = bytes::BytesMut::from(&[0x88u8, 0x80, 0, 0, 0, 0][..]);
        assert!(matches!(conn.decode(&mut reply), Ok(Some(Event::Close(_)))));
        assert_eq!(conn.state(), State::Closed);
        timers.on_closed(t0 + MS * 100, Some(MS * 1000));
        assert_eq!(timers.poll_timeout(), Some(t0 + MS * 1100));
        assert_eq!(timers.handle_timeout(t0 + MS * 600, &mut conn), None);
        assert_eq!(
            timers.handle_timeout(t0 + MS * 1100, &mut conn),
            Some(Expired::PeerFin)
        );
        assert!(!timers.is_active());
    }

    #[test]
    fn a_closed_connection_cannot_time_out_its_close_even_if_not_told() {
        let t0 = Instant::now();
        let mut conn = Connection::new(Config::new(Role::Server));
        let mut timers = Timers::new(KeepAliveConfig::default(), t0);
        conn.encode_close(None).unwrap();
        timers.on_close_sent(t0, Some(MS * 10));
        let mut reply = bytes::BytesMut::from(&[0x88u8, 0x80, 0, 0, 0, 0][..]);
        conn.decode(&mut reply).unwrap();
        assert_eq!(timers.handle_timeout(t0 + MS * 20, &mut conn), None);
    }

    #[test]
    fn no_close_timeout_and_no_fin_wait_set_no_deadline() {
        let t0 = Instant::now();
        let mut timers = Timers::new(KeepAliveConfig::default(), t0);
        timers.on_close_sent(t0, None);
        assert_eq!(timers.poll_timeout(), None);
        timers.on_closed(t0, None);
        assert_eq!(timers.poll_timeout(), None);
        // Past what an Instant holds: never due, and no panic.
        timers.on_close_sent(t0, Some(Duration::MAX));
        assert_eq!(timers.poll_timeout(), None);
    }

    #[test]
    fn keep_alive_and_close_deadlines_share_one_clock() {
        let t0 = Instant::now();
        let mut conn = Connection::new(Config::new(Role::Client));
        let mut timers = Timers::new(keep_alive(100, 50), t0);
        assert_eq!(timers.poll_timeout(), Some(t0 + MS * 100));
        assert_eq!(timers.handle_timeout(t0 + MS * 100, &mut conn), None);
        assert_eq!(conn.output()[0], 0x89);
        conn.output().clear();
        assert_eq!(timers.poll_timeout(), Some(t0 + MS * 150));
        assert_eq!(
            timers.handle_timeout(t0 + MS * 150, &mut conn),
            Some(Expired::PongTimeout)
        );

        // Closing: keep-alive stops, the close timeout takes over.
        let mut timers = Timers::new(keep_alive(100, 50), t0);
        conn = Connection::new(Config::new(Role::Client));
        conn.encode_close(None).unwrap();
        timers.on_close_sent(t0 + MS * 10, Some(MS * 300));
        assert_eq!(timers.handle_timeout(t0 + MS * 100, &mut conn), None);
        assert_eq!(timers.poll_timeout(), Some(t0 + MS * 310));
        assert_eq!(
            timers.handle_timeout(t0 + MS * 400, &mut conn),
            Some(Expired::Close)
        );
    }
}
