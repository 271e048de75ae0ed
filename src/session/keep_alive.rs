//! The keep-alive timer (pings and unsolicited pongs when due) and the
//! round-trip probes behind the stream socket's statistics.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Ended, Session, Side};
use crate::error::Result;
use crate::proto::State;

/// When the keep-alive timer last acted.
#[derive(Debug)]
pub(super) struct KeepAliveState {
    pub(super) opened: Instant,
    pub(super) last_ping: Option<Instant>,
    /// A keep-alive ping waiting for its pong, and when it left.
    pub(super) outstanding: Option<Instant>,
    pub(super) last_unsolicited_pong: Option<Instant>,
}

/// Round-trip probes: pings whose payload carries the time they left.
#[derive(Debug)]
pub(super) struct RttProbe {
    epoch: Instant,
    last: Option<Instant>,
    outstanding: bool,
}

const RTT_MAGIC: &[u8; 8] = b"wsockRTT";
const RTT_INTERVAL: Duration = Duration::from_secs(1);

impl Session {
    /// One step of the keep-alive timer at `now`: sends what is due and
    /// returns when to come back (None: the connection is over).
    fn keep_alive_tick(&mut self, now: Instant) -> Option<Instant> {
        if self.ended.is_some() || self.proto.state() != State::Open {
            return None;
        }
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        let ka = &mut self.keep_alive;
        let opened = ka.opened;
        if let Some(interval) = self.opts.keep_alive_interval {
            if let (Some(sent), Some(limit)) = (ka.outstanding, self.opts.keep_alive_timeout) {
                if now.duration_since(sent) >= limit {
                    self.end(Ended::KeepAlive);
                    self.wakers.wake_all();
                    return None;
                }
                at(sent + limit);
            }
            let due = ka.last_ping.unwrap_or(opened) + interval;
            if now >= due && self.proto.encode_ping(b"").is_ok() {
                ka.last_ping = Some(now);
                ka.outstanding.get_or_insert(now);
                if let Some(limit) = self.opts.keep_alive_timeout {
                    at(now + limit);
                }
                at(now + interval);
            } else {
                at(due);
            }
        }
        if let Some(interval) = self.opts.unsolicited_pong_interval {
            let due = ka.last_unsolicited_pong.unwrap_or(opened) + interval;
            if now >= due && self.proto.encode_pong(b"").is_ok() {
                ka.last_unsolicited_pong = Some(now);
                at(now + interval);
            } else {
                at(due);
            }
        }
        self.push_output(Side::Writer);
        next
    }

    /// Measure round trips with pings (the stream socket's statistics).
    pub(crate) fn enable_rtt_probes(&mut self) {
        self.rtt = Some(RttProbe {
            epoch: Instant::now(),
            last: None,
            outstanding: false,
        });
    }

    /// Queues a probe ping now.
    pub(crate) fn send_rtt_probe(&mut self) -> Result<()> {
        let Some(p) = &mut self.rtt else {
            return Ok(());
        };
        let now = Instant::now();
        let nanos = now.duration_since(p.epoch).as_nanos() as u64;
        let mut payload = [0u8; 16];
        payload[..8].copy_from_slice(RTT_MAGIC);
        payload[8..].copy_from_slice(&nanos.to_be_bytes());
        self.proto.encode_ping(&payload)?;
        p.last = Some(now);
        p.outstanding = true;
        Ok(())
    }

    /// Queues a probe ping if none is out and the last is old enough.
    pub(crate) fn maybe_probe_rtt(&mut self) {
        let due = self
            .rtt
            .as_ref()
            .is_some_and(|p| !p.outstanding && p.last.is_none_or(|t| t.elapsed() >= RTT_INTERVAL));
        if due && self.proto.state() == State::Open {
            let _ = self.send_rtt_probe();
        }
    }

    pub(super) fn on_pong(&mut self, payload: &[u8]) {
        // Any pong proves the peer alive.
        self.keep_alive.outstanding = None;
        let Some(p) = &mut self.rtt else { return };
        if payload.len() == 16 && payload[..8] == RTT_MAGIC[..] {
            let mut sent = [0u8; 8];
            sent.copy_from_slice(&payload[8..]);
            let sent = Duration::from_nanos(u64::from_be_bytes(sent));
            if let Some(rtt) = p.epoch.elapsed().checked_sub(sent) {
                self.stats.record_rtt(rtt);
            }
            p.outstanding = false;
        }
    }
}

/// The keep-alive timer: a task that wakes when a ping or pong is due,
/// and ends with the session.
pub(super) fn spawn_keep_alive(session: std::sync::Weak<Mutex<Session>>) {
    tokio::spawn(async move {
        loop {
            let next = {
                let Some(s) = session.upgrade() else { return };
                let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
                s.keep_alive_tick(Instant::now())
            };
            let Some(next) = next else { return };
            tokio::time::sleep_until(next.into()).await;
        }
    });
}
