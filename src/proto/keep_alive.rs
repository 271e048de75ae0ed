//! Keep-alive decisions as a pure function of time: when a ping is due,
//! when the peer has had too long to answer one, when an unsolicited pong
//! is due.
//!
//! Like the rest of the core, [`KeepAlive`] reads no clock and sets no
//! timer: the caller passes `now` to [`KeepAlive::handle_timeout`], which
//! queues what is due in the [`Connection`]'s output, and asks
//! [`KeepAlive::poll_timeout`] when to call again. The caller also reports
//! every pong it decodes ([`KeepAlive::on_pong`]).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use wsock::proto::{Config, Connection, Role};
//! use wsock::proto::keep_alive::{KeepAlive, KeepAliveConfig};
//!
//! let mut conn = Connection::new(Config::new(Role::Server));
//! let mut config = KeepAliveConfig::default();
//! config.ping_interval = Some(Duration::from_secs(30));
//! let start = Instant::now();
//! let mut ka = KeepAlive::new(config, start);
//! let due = ka.poll_timeout().unwrap();
//! assert_eq!(due, start + Duration::from_secs(30));
//! ka.handle_timeout(due, &mut conn).unwrap();
//! assert_eq!(&conn.output()[..], &[0x89, 0x00]); // the ping
//! ```

use std::time::{Duration, Instant};

use super::{Connection, State};

/// What a keep-alive sends and how long it waits. A duration that is
/// `None` or zero turns its part off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeepAliveConfig {
    /// Send a ping this often (.NET `KeepAliveInterval`).
    pub ping_interval: Option<Duration>,
    /// With `ping_interval`: the connection has failed when a ping has had
    /// no pong for this long (.NET `KeepAliveTimeout`).
    pub pong_timeout: Option<Duration>,
    /// Send an unsolicited pong this often, a one-way keep-alive that asks
    /// nothing of the peer (WinRT `DesiredUnsolicitedPongInterval`).
    pub unsolicited_pong_interval: Option<Duration>,
}

/// A keep-alive ping had no pong within the pong timeout: the caller ends
/// the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PongTimeout;

/// The keep-alive timers of one connection; see the [module](self) docs.
#[derive(Debug, Clone)]
pub struct KeepAlive {
    ping_interval: Option<Duration>,
    pong_timeout: Option<Duration>,
    pong_interval: Option<Duration>,
    /// When the next ping is due.
    next_ping: Option<Instant>,
    /// When the oldest unanswered ping has had its time.
    pong_deadline: Option<Instant>,
    /// When the next unsolicited pong is due.
    next_pong: Option<Instant>,
}

impl KeepAlive {
    /// The timers of a connection opened at `now`: the first ping and the
    /// first unsolicited pong are due one interval later.
    pub fn new(config: KeepAliveConfig, now: Instant) -> Self {
        let on = |d: Option<Duration>| d.filter(|d| !d.is_zero());
        let ping_interval = on(config.ping_interval);
        let pong_interval = on(config.unsolicited_pong_interval);
        KeepAlive {
            ping_interval,
            pong_timeout: on(config.pong_timeout).filter(|_| ping_interval.is_some()),
            pong_interval,
            next_ping: later(now, ping_interval),
            pong_deadline: None,
            next_pong: later(now, pong_interval),
        }
    }

    /// True when some timer is on, so that the caller need not watch the
    /// clock for nothing.
    pub fn is_enabled(&self) -> bool {
        self.ping_interval.is_some() || self.pong_interval.is_some()
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has something to
    /// do; `None`: never (every timer is off, the connection is no longer
    /// open, or the time is past what an `Instant` holds).
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.next_ping, self.pong_deadline, self.next_pong]
            .into_iter()
            .flatten()
            .min()
    }

    /// Does what is due at `now` (which may be late): queues a ping (the
    /// pong deadline then runs from it, unless an earlier ping is still
    /// unanswered) or an unsolicited pong in `conn`'s output, and moves
    /// each timer one interval past `now`. [`PongTimeout`] once the pong
    /// deadline has passed (reported once: every timer is off then). Once `conn` is no longer open (a close was sent
    /// or received), nothing is sent and every timer is off.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        conn: &mut Connection,
    ) -> Result<(), PongTimeout> {
        if conn.state() != State::Open {
            self.next_ping = None;
            self.pong_deadline = None;
            self.next_pong = None;
            return Ok(());
        }
        if self.pong_deadline.is_some_and(|t| now >= t) {
            // The connection has failed: nothing more is due.
            self.next_ping = None;
            self.pong_deadline = None;
            self.next_pong = None;
            return Err(PongTimeout);
        }
        if self.next_ping.is_some_and(|t| now >= t) && conn.encode_ping(b"").is_ok() {
            self.next_ping = later(now, self.ping_interval);
            if self.pong_deadline.is_none() {
                self.pong_deadline = later(now, self.pong_timeout);
            }
        }
        if self.next_pong.is_some_and(|t| now >= t) && conn.encode_pong(b"").is_ok() {
            self.next_pong = later(now, self.pong_interval);
        }
        Ok(())
    }

    /// A pong came (any pong proves the peer alive): no pong deadline runs
    /// until the next ping.
    pub fn on_pong(&mut self) {
        self.pong_deadline = None;
    }
}

/// `now + d`, or `None` when `d` is off or the sum is past what an
/// `Instant` holds (a time that never comes).
fn later(now: Instant, d: Option<Duration>) -> Option<Instant> {
    d.and_then(|d| now.checked_add(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Config, Role};

    const MS: Duration = Duration::from_millis(1);

    fn config(ping: u64, timeout: u64, pong: u64) -> KeepAliveConfig {
        let ms = |n: u64| (n > 0).then(|| MS * n as u32);
        KeepAliveConfig {
            ping_interval: ms(ping),
            pong_timeout: ms(timeout),
            unsolicited_pong_interval: ms(pong),
        }
    }

    /// The control frames `conn` queued since the last call, by opcode.
    fn sent(conn: &mut Connection) -> Vec<u8> {
        let out = conn.output().split();
        let mut ops = Vec::new();
        let mut at = 0;
        while at < out.len() {
            ops.push(out[at] & 0x0F);
            let key = if out[at + 1] & 0x80 != 0 { 4 } else { 0 };
            at += 2 + key + usize::from(out[at + 1] & 0x7F);
        }
        ops
    }

    #[test]
    fn pings_are_due_one_interval_apart_from_when_they_left() {
        let t0 = Instant::now();
        let mut conn = Connection::new(Config::new(Role::Server));
        let mut ka = KeepAlive::new(config(100, 0, 0), t0);
        assert!(ka.is_enabled());
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 100));
        // Early: nothing.
        ka.handle_timeout(t0 + MS * 99, &mut conn).unwrap();
        assert_eq!(sent(&mut conn), []);
        // Late by 30 ms: the ping leaves now, the next is due from now.
        ka.handle_timeout(t0 + MS * 130, &mut conn).unwrap();
        assert_eq!(sent(&mut conn), [0x9]);
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 230));
        // No pong timeout: no deadline, however long the pong takes.
        ka.handle_timeout(t0 + MS * 230, &mut conn).unwrap();
        assert_eq!(sent(&mut conn), [0x9]);
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 330));
    }

    #[test]
    fn an_unanswered_ping_fails_at_its_deadline_and_a_pong_lifts_it() {
        let t0 = Instant::now();
        let mut conn = Connection::new(Config::new(Role::Client));
        let mut ka = KeepAlive::new(config(100, 250, 0), t0);
        ka.handle_timeout(t0 + MS * 100, &mut conn).unwrap();
        assert_eq!(sent(&mut conn), [0x9]);
        // The deadline runs from the first unanswered ping, not the later.
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 200));
        ka.handle_timeout(t0 + MS * 200, &mut conn).unwrap();
        assert_eq!(sent(&mut conn), [0x9]);
        ka.handle_timeout(t0 + MS * 300, &mut conn).unwrap();
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 350));
        assert_eq!(
            ka.handle_timeout(t0 + MS * 350, &mut conn),
            Err(PongTimeout)
        );

        // Answered in time: the deadline is lifted until the next ping.
        let mut ka = KeepAlive::new(config(100, 50, 0), t0);
        ka.handle_timeout(t0 + MS * 100, &mut conn).unwrap();
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 150));
        ka.on_pong();
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 200));
        ka.handle_timeout(t0 + MS * 160, &mut conn).unwrap();
        ka.handle_timeout(t0 + MS * 200, &mut conn).unwrap();
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 250));
    }

    #[test]
    fn unsolicited_pongs_and_pings_keep_their_own_times() {
        let t0 = Instant::now();
        let mut conn = Connection::new(Config::new(Role::Server));
        let mut ka = KeepAlive::new(config(100, 0, 40), t0);
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 40));
        ka.handle_timeout(t0 + MS * 40, &mut conn).unwrap();
        assert_eq!(sent(&mut conn), [0xA]);
        ka.handle_timeout(t0 + MS * 80, &mut conn).unwrap();
        assert_eq!(ka.poll_timeout(), Some(t0 + MS * 100));
        ka.handle_timeout(t0 + MS * 120, &mut conn).unwrap();
        assert_eq!(sent(&mut conn), [0xA, 0x9, 0xA]);
        // An unsolicited pong asks nothing: no deadline.
        let only_pongs = KeepAlive::new(config(0, 10, 40), t0);
        assert_eq!(only_pongs.poll_timeout(), Some(t0 + MS * 40));
    }

    #[test]
    fn off_zero_and_endless_intervals_set_no_timer() {
        let t0 = Instant::now();
        let ka = KeepAlive::new(KeepAliveConfig::default(), t0);
        assert!(!ka.is_enabled());
        assert_eq!(ka.poll_timeout(), None);
        let zero = KeepAliveConfig {
            ping_interval: Some(Duration::ZERO),
            unsolicited_pong_interval: Some(Duration::ZERO),
            ..KeepAliveConfig::default()
        };
        assert!(!KeepAlive::new(zero, t0).is_enabled());
        // Past what an Instant holds: on, but never due (and no panic).
        let endless = KeepAliveConfig {
            ping_interval: Some(Duration::MAX),
            pong_timeout: Some(Duration::MAX),
            ..KeepAliveConfig::default()
        };
        let ka = KeepAlive::new(endless, t0);
        assert!(ka.is_enabled());
        assert_eq!(ka.poll_timeout(), None);
    }

    #[test]
    fn nothing_is_sent_or_due_once_the_connection_is_closing() {
        let t0 = Instant::now();
        let mut conn = Connection::new(Config::new(Role::Server));
        let mut ka = KeepAlive::new(config(100, 50, 30), t0);
        ka.handle_timeout(t0 + MS * 100, &mut conn).unwrap();
        conn.encode_close(None).unwrap();
        conn.output().clear();
        // The pong deadline has passed, but the close handshake (and its
        // own timeout) has the connection now.
        assert_eq!(ka.handle_timeout(t0 + MS * 500, &mut conn), Ok(()));
        assert!(!conn.wants_write());
        assert_eq!(ka.poll_timeout(), None);
    }
}
