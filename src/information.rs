//! Read-only facts about a live connection: WinRT's
//! `MessageWebSocketInformation` and `StreamWebSocketInformation`, with
//! the server's 101 answer ([`UpgradeResponse`]) that .NET's
//! `HttpResponseHeaders` gives.
//!
//! Bandwidth figures come from the real byte counts of the transport,
//! sampled over time windows of [`WINDOW`]: each finished window gives a rate,
//! the figure is a moving average of those rates, its instability the
//! moving average of how far each rate strays from it, and "peaked" says
//! the last windows ran at close to the highest rate seen while data was
//! waiting to move (the link, not the application, set the pace).

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;

use crate::certificates::{ChainValidationResult, SocketSslErrorSeverity, severity_of};
use crate::proto::deflate::DeflateConfig;

mod upgrade_response;

pub use upgrade_response::{UpgradeResponse, UpgradeResponseHeaders};

/// Length of one bandwidth sampling window.
pub const WINDOW: Duration = Duration::from_millis(250);

/// WinRT's `BandwidthStatistics`, in bits per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BandwidthStatistics {
    /// Average outbound rate.
    pub outbound_bits_per_second: u64,
    /// Average inbound rate.
    pub inbound_bits_per_second: u64,
    /// How much the outbound rate varies between windows.
    pub outbound_bits_per_second_instability: u64,
    /// How much the inbound rate varies between windows.
    pub inbound_bits_per_second_instability: u64,
    /// The outbound rate has reached its highest sustained level.
    pub outbound_bandwidth_peaked: bool,
    /// The inbound rate has reached its highest sustained level.
    pub inbound_bandwidth_peaked: bool,
}

/// WinRT's `RoundTripTimeStatistics`, in microseconds, from ping/pong
/// exchanges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundTripTimeStatistics {
    /// Variance of the samples (in square microseconds).
    pub variance: u64,
    /// Largest sample.
    pub max: u64,
    /// Smallest sample.
    pub min: u64,
    /// Sum of the samples.
    pub sum: u64,
    /// Number of samples (not in WinRT; needed to make sense of `sum`).
    pub count: u64,
}

#[derive(Debug, Default)]
struct Direction {
    window_start: Option<Instant>,
    /// `window_start + WINDOW`, kept so that each record compares two
    /// instants instead of computing a duration: this runs for every read
    /// and write of the socket.
    window_end: Option<Instant>,
    window_bytes: u64,
    avg: f64,
    instability: f64,
    max_rate: f64,
    last_rate: f64,
    windows: u32,
}

impl Direction {
    fn record(&mut self, n: usize, now: Instant) {
        match (self.window_start, self.window_end) {
            (Some(start), Some(end)) if now >= end => {
                self.close_window(now.duration_since(start));
                self.start_window(now);
                self.window_bytes = 0;
            }
            (Some(_), Some(_)) => {}
            _ => self.start_window(now),
        }
        self.window_bytes += n as u64;
    }

    fn start_window(&mut self, now: Instant) {
        self.window_start = Some(now);
        self.window_end = now.checked_add(WINDOW);
    }

    fn close_window(&mut self, elapsed: Duration) {
        let rate = self.window_bytes as f64 * 8.0 / elapsed.as_secs_f64();
        if self.windows == 0 {
            self.avg = rate;
        } else {
            self.instability = 0.75 * self.instability + 0.25 * (rate - self.avg).abs();
            self.avg = 0.75 * self.avg + 0.25 * rate;
        }
        self.max_rate = self.max_rate.max(rate);
        self.last_rate = rate;
        self.windows += 1;
    }

    /// (average, instability, peaked), counting the window in progress.
    fn figures(&self, now: Instant) -> (u64, u64, bool) {
        let mut d = Direction {
            window_start: None,
            window_end: None,
            ..*self
        };
        if let Some(start) = self.window_start {
            let elapsed = now.duration_since(start);
            if elapsed >= WINDOW {
                // The window ended with no traffic after it: close it, and
                // count the idle time since as a zero-rate window.
                d.close_window(elapsed);
            } else if d.windows == 0 && elapsed > Duration::ZERO {
                d.close_window(elapsed.max(Duration::from_millis(1)));
            }
        }
        let peaked = d.windows >= 3 && d.max_rate > 0.0 && d.last_rate >= 0.9 * d.max_rate;
        (d.avg as u64, d.instability as u64, peaked)
    }
}

#[derive(Debug, Default)]
struct Rtt {
    samples: RoundTripTimeStatistics,
    mean: f64,
    m2: f64,
}

/// Live counters shared by a session and its information object.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    sent: AtomicU64,
    received: AtomicU64,
    outbound: Mutex<Direction>,
    inbound: Mutex<Direction>,
    rtt: Mutex<Rtt>,
}

impl Stats {
    pub(crate) fn record_sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        let mut d = self.outbound.lock().unwrap_or_else(|p| p.into_inner());
        d.record(n, Instant::now());
    }

    /// Counts `n` bytes from the peer, come at `now`.
    pub(crate) fn record_received(&self, n: usize, now: Instant) {
        self.received.fetch_add(n as u64, Ordering::Relaxed);
        let mut d = self.inbound.lock().unwrap_or_else(|p| p.into_inner());
        d.record(n, now);
    }

    pub(crate) fn record_rtt(&self, rtt: Duration) {
        let us = rtt.as_micros().min(u128::from(u64::MAX)) as u64;
        let mut r = self.rtt.lock().unwrap_or_else(|p| p.into_inner());
        let s = &mut r.samples;
        s.min = if s.count == 0 { us } else { s.min.min(us) };
        s.max = s.max.max(us);
        s.sum = s.sum.saturating_add(us);
        s.count += 1;
        let count = s.count as f64;
        // Welford's running variance.
        let delta = us as f64 - r.mean;
        r.mean += delta / count;
        r.m2 += delta * (us as f64 - r.mean);
        r.samples.variance = if r.samples.count > 1 {
            (r.m2 / count) as u64
        } else {
            0
        };
    }

    fn bandwidth(&self) -> BandwidthStatistics {
        let now = Instant::now();
        let (ob, oi, op) = self
            .outbound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .figures(now);
        let (ib, ii, ip) = self
            .inbound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .figures(now);
        BandwidthStatistics {
            outbound_bits_per_second: ob,
            inbound_bits_per_second: ib,
            outbound_bits_per_second_instability: oi,
            inbound_bits_per_second_instability: ii,
            outbound_bandwidth_peaked: op,
            inbound_bandwidth_peaked: ip,
        }
    }
}

/// What both sockets' information share.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionFacts {
    /// This side's address, read from the transport when the connection
    /// is made (the tunnel's through a proxy); `None` for a transport that
    /// is not TCP-based.
    pub(crate) local_address: Option<SocketAddr>,
    pub(crate) remote_address: Option<SocketAddr>,
    pub(crate) protocol: Option<String>,
    pub(crate) server_certificates: Vec<CertificateDer<'static>>,
    pub(crate) unsolicited_pong_interval: Option<Duration>,
    /// The problems the server certificate check found (and ignored).
    pub(crate) server_certificate_errors: Vec<ChainValidationResult>,
    pub(crate) deflate: Option<DeflateConfig>,
    /// The 101 that opened the connection.
    pub(crate) http_response: UpgradeResponse,
}

macro_rules! information_common {
    ($ty:ident) => {
        impl $ty {
            /// The local address of the connection (the tunnel's through
            /// a proxy), read when it was made: the same answer for as long
            /// as this object lives, after the socket too. `None` for a
            /// transport that is not TCP-based.
            pub fn local_address(&self) -> Option<SocketAddr> {
                self.facts.local_address
            }

            /// The peer's address.
            pub fn remote_address(&self) -> Option<SocketAddr> {
                self.facts.remote_address
            }

            /// The subprotocol the server chose (WinRT `Protocol`); `None`
            /// when none was negotiated.
            pub fn protocol(&self) -> Option<&str> {
                self.facts.protocol.as_deref()
            }

            /// The permessage-deflate parameters both sides agreed to;
            /// `None` when the connection is not compressed.
            pub fn deflate(&self) -> Option<&DeflateConfig> {
                self.facts.deflate.as_ref()
            }

            /// The server's `101 Switching Protocols` answer (over HTTP/2,
            /// its `200` to the extended CONNECT): status,
            /// reason phrase and every header, in order, as received (.NET
            /// `HttpResponseHeaders`; after redirects, the final 101). See
            /// [`UpgradeResponse`].
            pub fn http_response(&self) -> &UpgradeResponse {
                &self.facts.http_response
            }

            /// The status of the answer that opened the connection: 101,
            /// or 200 over HTTP/2 (.NET `HttpStatusCode`).
            pub fn http_status(&self) -> u16 {
                self.facts.http_response.status()
            }

            /// The HTTP version the socket runs over (.NET
            /// `HttpResponseMessage.Version`): HTTP/2 for a socket opened
            /// with RFC 8441's extended CONNECT (answered 200), HTTP/1.1
            /// for one opened with RFC 6455's upgrade (answered 101). Only
            /// HTTP/2 opens a WebSocket with a 200, only HTTP/1.1 with a
            /// 101: the answer tells them apart.
            pub fn http_version(&self) -> crate::HttpVersion {
                match self.facts.http_response.status() {
                    101 => crate::HttpVersion::Http11,
                    _ => crate::HttpVersion::Http2,
                }
            }

            /// The headers of the answer that opened the connection, as
            /// `(name, value)` in the order received, repeated ones kept;
            /// see [`UpgradeResponse::headers`].
            pub fn http_response_headers(&self) -> UpgradeResponseHeaders<'_> {
                self.facts.http_response.headers()
            }

            /// Bandwidth figures measured from the bytes that crossed the
            /// transport so far.
            pub fn bandwidth_statistics(&self) -> BandwidthStatistics {
                self.stats.bandwidth()
            }

            /// Total bytes written to the transport (frames, headers and
            /// control frames included, the upgrade excluded).
            pub fn bytes_sent(&self) -> u64 {
                self.stats.sent.load(Ordering::Relaxed)
            }

            /// Total bytes read from the transport after the upgrade.
            pub fn bytes_received(&self) -> u64 {
                self.stats.received.load(Ordering::Relaxed)
            }

            /// The unsolicited pong interval in effect (WinRT
            /// `ActualUnsolicitedPongInterval`): the desired one, as wsock
            /// honours it exactly; `None` when off.
            pub fn actual_unsolicited_pong_interval(&self) -> Option<std::time::Duration> {
                self.facts.unsolicited_pong_interval
            }

            /// The server's certificate (wss:// only).
            pub fn server_certificate(&self) -> Option<&CertificateDer<'static>> {
                self.facts.server_certificates.first()
            }

            /// The intermediate certificates the server sent (wss:// only).
            pub fn server_intermediate_certificates(&self) -> &[CertificateDer<'static>] {
                self.facts.server_certificates.get(1..).unwrap_or(&[])
            }

            /// The problems found with the server's certificate chain
            /// (WinRT `ServerCertificateErrors`): all of them ignorable, as
            /// the connection was made. Empty when none were found, for
            /// `ws://`, and when the check was the default one or a
            /// caller's `tls_client_config` (which let through no problem).
            /// See [`crate::certificates`] for how they are found.
            pub fn server_certificate_errors(&self) -> &[ChainValidationResult] {
                &self.facts.server_certificate_errors
            }

            /// WinRT `ServerCertificateErrorSeverity`:
            /// [`Ignorable`](SocketSslErrorSeverity::Ignorable) when
            /// [`server_certificate_errors`](Self::server_certificate_errors)
            /// is not empty, else [`None`](SocketSslErrorSeverity::None). A
            /// fatal problem fails the connect, so a live socket never shows
            /// [`Fatal`](SocketSslErrorSeverity::Fatal).
            pub fn server_certificate_error_severity(&self) -> SocketSslErrorSeverity {
                severity_of(&self.facts.server_certificate_errors)
            }
        }
    };
}

/// WinRT's `MessageWebSocketInformation`: read-only facts about a message
/// socket, valid at any time in its life.
#[derive(Debug, Clone)]
pub struct MessageWebSocketInformation {
    pub(crate) facts: ConnectionFacts,
    pub(crate) stats: std::sync::Arc<Stats>,
}
information_common!(MessageWebSocketInformation);

/// WinRT's `StreamWebSocketInformation`: as the message socket's, plus
/// round-trip times.
#[derive(Debug, Clone)]
pub struct StreamWebSocketInformation {
    pub(crate) facts: ConnectionFacts,
    pub(crate) stats: std::sync::Arc<Stats>,
}
information_common!(StreamWebSocketInformation);

impl StreamWebSocketInformation {
    /// Round-trip times measured from ping/pong exchanges, in microseconds.
    pub fn round_trip_time_statistics(&self) -> RoundTripTimeStatistics {
        self.stats
            .rtt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .samples
    }
}
