//! The keep-alive task (pings and unsolicited pongs when due, the pong
//! deadline) and the round-trip probes behind the stream socket's
//! statistics.
//!
//! What is due when is decided by [`proto::keep_alive`](crate::proto::keep_alive)
//! from the time passed in; this module only reads the clock, sleeps, and
//! writes what the core queued. It runs as a small task of its own, because
//! a socket whose owner polls neither half (it only sends now and then, or
//! not at all) must still send its pings: the task sleeps until the core's
//! next deadline, and when what it queued cannot go out at once, it waits
//! for the transport exactly as a half does, its waker beside theirs in the
//! [`WakerPair`](super::WakerPair) and the transport polled with the
//! fan-out waker. So it never takes a half's wake-up, and a half waiting
//! for the output to drain is woken as the ping drains with it.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::{Ended, Session, Side};
use crate::error::Result;
use crate::proto::State;
use crate::proto::keep_alive::KeepAlive;

/// The keep-alive timers of a session, and the task that runs them.
#[derive(Debug)]
pub(super) struct Timers {
    pub(super) keep_alive: KeepAlive,
    /// The keep-alive task's waker, to end it as the session ends.
    pub(super) task: Option<Waker>,
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
    /// One poll of the keep-alive task, whose `sleep` is set for the
    /// core's next deadline: at the deadline, what is due is queued (or the
    /// session ends with `Timeout(KeepAlive)` when a pong is overdue) and
    /// the sleep is set for the next. Output waiting to go out is written
    /// as a half would, `Side::Timer` waiting if the transport is full.
    /// `Ready` once there is nothing more to do: the session ended or is
    /// closing.
    pub(super) fn poll_keep_alive(
        &mut self,
        cx: &mut Context<'_>,
        mut sleep: Pin<&mut tokio::time::Sleep>,
    ) -> Poll<()> {
        loop {
            if self.ended.is_some() || self.proto.state() != State::Open {
                return Poll::Ready(());
            }
            let Some(t) = self.timers.as_mut() else {
                return Poll::Ready(());
            };
            if !t.task.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                t.task = Some(cx.waker().clone());
            }
            if sleep.as_mut().poll(cx).is_pending() {
                break;
            }
            if t.keep_alive
                .handle_timeout(Instant::now(), &mut self.proto)
                .is_err()
            {
                self.end(Ended::KeepAlive);
                return Poll::Ready(());
            }
            // None: a time past what the clock holds, which never comes.
            let Some(next) = t.keep_alive.poll_timeout() else {
                self.write_now();
                return Poll::Ready(());
            };
            sleep.as_mut().reset(next.into());
        }
        if self.proto.wants_write() {
            // An error ends the session; the next poll returns.
            let _ = self.poll_write_out(cx, Side::Timer);
        }
        Poll::Pending
    }

    /// Wakes the keep-alive task (so that it sees the session end).
    pub(super) fn wake_keep_alive(&mut self) {
        if let Some(w) = self.timers.as_mut().and_then(|t| t.task.take()) {
            w.wake();
        }
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
        if let Some(t) = &mut self.timers {
            t.keep_alive.on_pong();
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

/// The keep-alive task: polls [`Session::poll_keep_alive`], its first
/// deadline `first` (`None`: never), until the session ends or is closing
/// or dropped.
pub(super) fn spawn_keep_alive(session: Weak<Mutex<Session>>, first: Option<Instant>) {
    let Some(first) = first else { return };
    tokio::spawn(async move {
        let mut sleep = std::pin::pin!(tokio::time::sleep_until(first.into()));
        poll_fn(|cx| {
            let Some(s) = session.upgrade() else {
                return Poll::Ready(());
            };
            let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
            s.poll_keep_alive(cx, sleep.as_mut())
        })
        .await;
    });
}
