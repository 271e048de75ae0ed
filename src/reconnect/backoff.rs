//! The attempt count and the jitter: what turns a policy and a failure into
//! the wait before the next attempt, or the end.

use std::time::Duration;

use crate::error::Error;

use super::policy::{FailureStage, ReconnectPolicy, RetryDecision};

/// The jitter's random source: SplitMix64, seeded from the OS. The delays
/// need spreading, not secrecy, and a seeded generator makes the delay
/// computation testable.
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    #[cfg(test)]
    pub(crate) fn seeded(seed: u64) -> Self {
        Jitter(seed)
    }

    pub(crate) fn from_os() -> Self {
        let mut seed = [0u8; 8];
        crate::random::fill_random(&mut seed);
        Jitter(u64::from_le_bytes(seed))
    }

    /// The next draw in `[0, 1)`.
    pub(crate) fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits: every value exact in an f64, and below 1.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Failed attempts in a row, and the next wait.
#[derive(Debug)]
pub(crate) struct Backoff {
    pub(crate) policy: ReconnectPolicy,
    jitter: Jitter,
    /// Attempts since the last connection that stayed up `reset_after`
    /// (or since the start).
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(policy: ReconnectPolicy, jitter: Jitter) -> Self {
        Backoff {
            policy,
            jitter,
            attempt: 0,
        }
    }

    /// The number of the last attempt scheduled (0 before any failure).
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A connection that lasted `lasted` ended: one that stayed up long
    /// enough starts the count again.
    pub(crate) fn connection_ended(&mut self, lasted: Duration) {
        if lasted >= self.policy.reset_after {
            self.attempt = 0;
        }
    }

    /// After a failure (or a connection's end, with `error` set to why):
    /// the wait before the next attempt, or `None` to give up. The
    /// maximum number of attempts and the end of a delay list are hard
    /// limits, which no decision goes past.
    pub(crate) fn after_failure(
        &mut self,
        error: Option<&Error>,
        stage: FailureStage,
    ) -> Option<Duration> {
        let attempt = self.attempt.saturating_add(1);
        if self.policy.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        let delay = self.policy.delays.delay(attempt, self.jitter.next_unit())?;
        let decision = match error {
            Some(error) => self.policy.decide(error, stage, attempt),
            None => RetryDecision::Retry,
        };
        let delay = match decision {
            RetryDecision::GiveUp => return None,
            RetryDecision::Retry => delay,
            // Never sooner than the server (or the filter) asked.
            RetryDecision::RetryAfter(asked) => asked.max(delay),
        };
        self.attempt = attempt;
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconnect::Delays;

    fn io_error() -> Error {
        Error::Io(std::io::ErrorKind::ConnectionReset.into())
    }

    fn exponential() -> Delays {
        Delays::Exponential {
            initial: Duration::from_millis(100),
            factor: 2.0,
            maximum: Duration::from_secs(5),
        }
    }

    #[test]
    fn jitter_draws_stay_below_one_and_spread_out() {
        let mut j = Jitter::seeded(7);
        let draws: Vec<f64> = (0..10_000).map(|_| j.next_unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let low = draws.iter().filter(|d| **d < 0.5).count();
        assert!((4_500..5_500).contains(&low), "{low} of 10000 below 0.5");
        // The same seed gives the same draws.
        let mut again = Jitter::seeded(7);
        assert_eq!(again.next_unit(), draws[0]);
    }

    #[test]
    fn exponential_delays_stay_within_their_bounds_over_many_attempts() {
        let policy = ReconnectPolicy {
            delays: exponential(),
            ..ReconnectPolicy::default()
        };
        let mut b = Backoff::new(policy, Jitter::seeded(42));
        let mut seen_above_half = 0;
        for n in 1..=200u32 {
            let delay = b
                .after_failure(Some(&io_error()), FailureStage::Connect)
                .unwrap();
            let bound = Duration::from_millis(100)
                .saturating_mul(2u32.saturating_pow(n - 1))
                .min(Duration::from_secs(5));
            assert!(delay <= bound, "attempt {n}: {delay:?} over {bound:?}");
            if delay > bound / 2 {
                seen_above_half += 1;
            }
            assert_eq!(b.attempt(), n);
        }
        // Full jitter: the draws cover the range, not only its bottom.
        assert!(seen_above_half > 50, "{seen_above_half}");
    }

    #[test]
    fn an_explicit_list_is_followed_and_then_gives_up() {
        let list = vec![
            Duration::ZERO,
            Duration::from_secs(2),
            Duration::from_secs(10),
        ];
        let policy = ReconnectPolicy {
            delays: Delays::List(list.clone()),
            ..ReconnectPolicy::default()
        };
        let mut b = Backoff::new(policy, Jitter::seeded(1));
        for expected in list {
            assert_eq!(
                b.after_failure(Some(&io_error()), FailureStage::Connect),
                Some(expected)
            );
        }
        assert_eq!(
            b.after_failure(Some(&io_error()), FailureStage::Connect),
            None
        );
    }

    #[test]
    fn max_attempts_is_a_hard_limit() {
        let policy = ReconnectPolicy {
            max_attempts: Some(3),
            retry_filter: Some(std::sync::Arc::new(|_| {
                RetryDecision::RetryAfter(Duration::from_secs(1))
            })),
            ..ReconnectPolicy::default()
        };
        let mut b = Backoff::new(policy, Jitter::seeded(1));
        for _ in 0..3 {
            assert!(
                b.after_failure(Some(&io_error()), FailureStage::Connect)
                    .is_some()
            );
        }
        assert_eq!(
            b.after_failure(Some(&io_error()), FailureStage::Connect),
            None
        );
    }

    #[test]
    fn a_connection_that_stayed_up_starts_the_count_again() {
        let policy = ReconnectPolicy {
            delays: Delays::List(vec![Duration::from_secs(1), Duration::from_secs(2)]),
            reset_after: Duration::from_secs(60),
            ..ReconnectPolicy::default()
        };
        let mut b = Backoff::new(policy, Jitter::seeded(1));
        assert_eq!(
            b.after_failure(None, FailureStage::Connection),
            Some(Duration::from_secs(1))
        );
        b.connection_ended(Duration::from_secs(59));
        assert_eq!(
            b.after_failure(None, FailureStage::Connection),
            Some(Duration::from_secs(2))
        );
        b.connection_ended(Duration::from_secs(60));
        assert_eq!(
            b.after_failure(None, FailureStage::Connection),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn retry_after_is_never_shortened_and_give_up_stops() {
        let policy = ReconnectPolicy {
            delays: Delays::List(vec![Duration::from_secs(3); 4]),
            retry_filter: Some(std::sync::Arc::new(|cx| match cx.attempt {
                1 => RetryDecision::RetryAfter(Duration::from_secs(1)),
                2 => RetryDecision::RetryAfter(Duration::from_secs(9)),
                _ => RetryDecision::GiveUp,
            })),
            ..ReconnectPolicy::default()
        };
        let mut b = Backoff::new(policy, Jitter::seeded(1));
        let e = io_error();
        assert_eq!(
            b.after_failure(Some(&e), FailureStage::Connect),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            b.after_failure(Some(&e), FailureStage::Connect),
            Some(Duration::from_secs(9))
        );
        assert_eq!(b.after_failure(Some(&e), FailureStage::Connect), None);
    }
}
