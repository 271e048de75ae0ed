//! The retry policy: which endings are retried, and how long to wait
//! before each attempt.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::handshake::HandshakeError;

use super::retry_after::retry_after;

/// How long to wait before each reconnection attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Delays {
    /// Exponential backoff with full jitter: attempt `n` (from 1) waits a
    /// random time between zero and `min(maximum, initial * factor^(n-1))`,
    /// so that many clients that lost the same server do not come back at
    /// the same instant.
    Exponential {
        /// The bound of the first attempt's delay.
        initial: Duration,
        /// What the bound is multiplied by for each further attempt.
        factor: f64,
        /// The largest bound.
        maximum: Duration,
    },
    /// Attempt `n` waits the `n`-th delay, exactly; after the last one no
    /// attempt is made (SignalR's `withAutomaticReconnect([0, 2000, 10000,
    /// 30000])`).
    List(Vec<Duration>),
}

impl Default for Delays {
    /// Exponential: initial 1 s, factor 2, maximum 30 s.
    fn default() -> Self {
        Delays::Exponential {
            initial: Duration::from_secs(1),
            factor: 2.0,
            maximum: Duration::from_secs(30),
        }
    }
}

impl Delays {
    /// The wait before attempt `attempt` (from 1), with `random` in
    /// `[0, 1)` as the jitter's draw (unused by a list). `None`: a list
    /// has no delay left for this attempt, so no attempt is made.
    ///
    /// ```
    /// use std::time::Duration;
    /// use wsock::reconnect::Delays;
    /// let d = Delays::default();
    /// assert_eq!(d.delay(1, 0.5), Some(Duration::from_millis(500)));
    /// assert_eq!(d.delay(3, 0.5), Some(Duration::from_secs(2)));
    /// assert_eq!(d.delay(40, 0.5), Some(Duration::from_secs(15)));
    /// let list = Delays::List(vec![Duration::ZERO, Duration::from_secs(2)]);
    /// assert_eq!(list.delay(2, 0.9), Some(Duration::from_secs(2)));
    /// assert_eq!(list.delay(3, 0.9), None);
    /// ```
    pub fn delay(&self, attempt: u32, random: f64) -> Option<Duration> {
        match self {
            Delays::List(list) => {
                let index = usize::try_from(attempt.max(1) - 1).ok()?;
                list.get(index).copied()
            }
            Delays::Exponential {
                initial,
                factor,
                maximum,
            } => {
                // In f64 seconds, where a large exponent saturates to
                // infinity (then the maximum) instead of overflowing.
                let exponent = i32::try_from(attempt.max(1) - 1).unwrap_or(i32::MAX);
                let bound = initial.as_secs_f64() * factor.max(1.0).powi(exponent);
                let bound = if bound.is_finite() {
                    bound.min(maximum.as_secs_f64())
                } else {
                    maximum.as_secs_f64()
                };
                let random = if (0.0..1.0).contains(&random) {
                    random
                } else {
                    0.0
                };
                Some(Duration::from_secs_f64(bound.max(0.0) * random))
            }
        }
    }
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after the policy's delay.
    Retry,
    /// Try again after this delay (or the policy's, if longer).
    RetryAfter(Duration),
    /// Stop: the socket is closed with this error.
    GiveUp,
}

/// Where in a connection's life the failure came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureStage {
    /// Connecting: resolution, TCP, TLS, the upgrade.
    Connect,
    /// The on-connect hook returned an error.
    OnConnect,
    /// An established connection ended.
    Connection,
}

/// What a [`ReconnectPolicy::retry_filter`] is asked about.
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryContext<'a> {
    /// The failure (an ended connection is [`Error::PeerClosed`] when the
    /// peer sent a close frame).
    pub error: &'a Error,
    /// The attempt this decision is for (from 1).
    pub attempt: u32,
    /// Where the failure came.
    pub stage: FailureStage,
    /// What the policy decides without the filter.
    pub default: RetryDecision,
}

/// A user's decision per failure; see [`ReconnectPolicy::retry_filter`].
pub type RetryFilter = Arc<dyn Fn(&RetryContext<'_>) -> RetryDecision + Send + Sync>;

/// What a send does while the socket is reconnecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendsWhileReconnecting {
    /// Wait for the next connection, within the send timeout (then
    /// [`Error::Timeout`]`(Send)`). The default.
    #[default]
    Wait,
    /// Fail at once with [`Error::NotConnected`].
    Fail,
}

/// When and how a [`ReconnectingMessageWebSocket`](super::ReconnectingMessageWebSocket)
/// (or [`connections`](super::connections)) tries again.
///
/// The default: exponential backoff with full jitter from 1 s, factor 2,
/// at most 30 s; unlimited attempts; the backoff starts again after a
/// connection stayed up 60 s; the close codes 1001, 1011, 1012 and 1013
/// retried; sends wait while reconnecting.
///
/// ```
/// use std::time::Duration;
/// use wsock::reconnect::{Delays, ReconnectPolicy};
/// let mut policy = ReconnectPolicy::default();
/// policy.delays = Delays::List(vec![Duration::ZERO, Duration::from_secs(2), Duration::from_secs(10)]);
/// policy.retried_close_codes.push(1000);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// The wait before each attempt. Default: [`Delays::default`].
    pub delays: Delays,
    /// Most attempts in a row (counted since the last connection that
    /// stayed up [`reset_after`](Self::reset_after)). `None` (the default):
    /// no limit.
    pub max_attempts: Option<u32>,
    /// A connection that stayed up this long starts the backoff again from
    /// the first delay when it ends. One that ends sooner does not, so a
    /// server that accepts and drops at once is not hammered. Default 60 s.
    pub reset_after: Duration,
    /// Close codes from the peer that are retried. Default 1001 (going
    /// away), 1011 (server error), 1012 (restarting), 1013 (try again
    /// later); add 1000 or 1008 to retry those too. An ending without a
    /// close frame (1006) is an error and always retried.
    pub retried_close_codes: Vec<u16>,
    /// What sends do while reconnecting. Default: wait.
    pub sends_while_reconnecting: SendsWhileReconnecting,
    /// The user's decision per failure, given what the policy would do.
    /// `None` (the default): the policy's.
    pub retry_filter: Option<RetryFilter>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            delays: Delays::default(),
            max_attempts: None,
            reset_after: Duration::from_secs(60),
            retried_close_codes: vec![1001, 1011, 1012, 1013],
            sends_while_reconnecting: SendsWhileReconnecting::Wait,
            retry_filter: None,
        }
    }
}

impl fmt::Debug for ReconnectPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectPolicy")
            .field("delays", &self.delays)
            .field("max_attempts", &self.max_attempts)
            .field("reset_after", &self.reset_after)
            .field("retried_close_codes", &self.retried_close_codes)
            .field("sends_while_reconnecting", &self.sends_while_reconnecting)
            .field("retry_filter", &self.retry_filter.as_ref().map(|_| ".."))
            .finish()
    }
}

impl ReconnectPolicy {
    /// What this policy does about `error` without the filter.
    ///
    /// Retried: resolution and connection failures, timeouts, transport
    /// errors (resets, an end without a close frame), an upgrade cut short,
    /// HTTP 408, 429 and 5xx answers (after their `Retry-After`, in seconds
    /// or as an HTTP-date, when they give one), the
    /// [`retried_close_codes`](Self::retried_close_codes), and every
    /// failure of the on-connect hook. Not retried: other HTTP answers
    /// (4xx refusals, unfollowed redirects), TLS errors (certificates
    /// included: the next attempt meets the same certificate), malformed
    /// upgrades, protocol violations, invalid arguments, the user's own
    /// close or abort, and other close codes.
    pub fn default_decision(&self, error: &Error, stage: FailureStage) -> RetryDecision {
        if stage == FailureStage::OnConnect && !matches!(error, Error::Canceled) {
            return RetryDecision::Retry;
        }
        match error {
            Error::Resolve { .. }
            | Error::Connect { .. }
            | Error::Timeout(_)
            | Error::Io(_)
            | Error::ConnectionClosed => RetryDecision::Retry,
            Error::Handshake(HandshakeError::Status(r))
            | Error::Proxy(HandshakeError::Status(r)) => match r.status {
                408 | 429 | 500..=599 => r
                    .header("retry-after")
                    .and_then(|v| retry_after(v, SystemTime::now()))
                    .map_or(RetryDecision::Retry, RetryDecision::RetryAfter),
                _ => RetryDecision::GiveUp,
            },
            Error::Handshake(HandshakeError::Truncated)
            | Error::Proxy(HandshakeError::Truncated) => RetryDecision::Retry,
            Error::PeerClosed { code, .. } if self.retried_close_codes.contains(code) => {
                RetryDecision::Retry
            }
            _ => RetryDecision::GiveUp,
        }
    }

    /// The decision for `error`, the filter's if there is one.
    pub(crate) fn decide(&self, error: &Error, stage: FailureStage, attempt: u32) -> RetryDecision {
        let default = self.default_decision(error, stage);
        match &self.retry_filter {
            None => default,
            Some(filter) => filter(&RetryContext {
                error,
                attempt,
                stage,
                default,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::HttpResponse;

    fn refused(status: u16, headers: &[(&str, &str)]) -> Error {
        Error::Handshake(HandshakeError::Status(Box::new(HttpResponse {
            status,
            reason: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: bytes::Bytes::new(),
        })))
    }

    fn closed(code: u16) -> Error {
        Error::PeerClosed {
            code,
            reason: String::new(),
        }
    }

    #[test]
    fn the_default_retries_what_a_restart_looks_like_and_nothing_else() {
        let p = ReconnectPolicy::default();
        let decide = |e: &Error| p.default_decision(e, FailureStage::Connect);
        let io = |k: std::io::ErrorKind| Error::Io(k.into());
        for e in [
            io(std::io::ErrorKind::ConnectionReset),
            io(std::io::ErrorKind::UnexpectedEof),
            Error::Timeout(crate::TimeoutKind::Connect),
            Error::Connect {
                addr: "127.0.0.1:1".parse().unwrap(),
                source: std::io::ErrorKind::ConnectionRefused.into(),
            },
            Error::Handshake(HandshakeError::Truncated),
            refused(500, &[]),
            refused(503, &[]),
            refused(408, &[]),
            closed(1001),
            closed(1011),
            closed(1012),
            closed(1013),
        ] {
            assert_eq!(decide(&e), RetryDecision::Retry, "{e:?}");
        }
        for e in [
            refused(400, &[]),
            refused(401, &[]),
            refused(403, &[]),
            refused(404, &[]),
            refused(301, &[("location", "ws://elsewhere/")]),
            Error::Tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired,
            )),
            Error::Handshake(HandshakeError::BadAccept),
            Error::invalid("bad URL"),
            Error::Canceled,
            closed(1000),
            closed(1008),
            closed(4000),
        ] {
            assert_eq!(decide(&e), RetryDecision::GiveUp, "{e:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_on_429_and_5xx() {
        let p = ReconnectPolicy::default();
        for status in [429, 503] {
            assert_eq!(
                p.default_decision(
                    &refused(status, &[("Retry-After", "7")]),
                    FailureStage::Connect
                ),
                RetryDecision::RetryAfter(Duration::from_secs(7))
            );
        }
        // A refusal that is not retried stays so, whatever it says.
        assert_eq!(
            p.default_decision(
                &refused(403, &[("Retry-After", "7")]),
                FailureStage::Connect
            ),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn the_policy_can_retry_a_normal_close_and_the_filter_decides_last() {
        let mut p = ReconnectPolicy::default();
        p.retried_close_codes.push(1000);
        assert_eq!(
            p.default_decision(&closed(1000), FailureStage::Connection),
            RetryDecision::Retry
        );
        // Whatever the hook failed with, the attempt failed: retried.
        assert_eq!(
            p.default_decision(&Error::invalid("no token"), FailureStage::OnConnect),
            RetryDecision::Retry
        );
        p.retry_filter = Some(Arc::new(|cx: &RetryContext<'_>| {
            if cx.attempt > 1 {
                RetryDecision::GiveUp
            } else {
                cx.default
            }
        }));
        assert_eq!(
            p.decide(&closed(1000), FailureStage::Connection, 1),
            RetryDecision::Retry
        );
        assert_eq!(
            p.decide(&closed(1000), FailureStage::Connection, 2),
            RetryDecision::GiveUp
        );
    }
}
