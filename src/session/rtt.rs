//! The round-trip probes behind the stream socket's statistics: pings
//! whose payload carries the time they left, and the pongs that answer
//! them (every pong also lifts the keep-alive's pong deadline).

use std::time::{Duration, Instant};

use super::Session;
use crate::error::Result;
use crate::proto::State;

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
        if let Some(c) = &mut self.clock {
            c.timers.on_pong();
        }
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
