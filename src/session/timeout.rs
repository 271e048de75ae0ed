//! Time limits on session operations, armed only when an operation has
//! to wait.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use crate::error::{Error, Result, TimeoutKind};

/// Runs `fut` under an optional time limit.
///
/// The limit is armed only if `fut` is not ready on its first poll: an
/// operation that completes at once (a message already buffered, a frame
/// the transport takes whole) reads no clock and creates no timer. The
/// limit then runs from that first poll rather than from the call, a
/// difference of one poll.
pub(crate) async fn with_timeout<T>(
    limit: Option<Duration>,
    kind: TimeoutKind,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let Some(d) = limit else {
        return fut.await;
    };
    let mut fut = std::pin::pin!(fut);
    if let Poll::Ready(v) = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
        return v;
    }
    tokio::time::timeout(d, fut)
        .await
        .unwrap_or(Err(Error::Timeout(kind)))
}

/// `now + d`, or for a limit too long for the clock, a time that never
/// comes in practice (about 30 years on, as tokio's own far future).
fn later(now: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400))
}

/// A time limit for the operations of one half, one at a time, that keeps
/// one timer between them instead of registering and cancelling one per
/// operation.
///
/// Each operation gets the whole limit from its first poll that is not
/// ready, as with [`with_timeout`]. The timer is re-armed lazily: while
/// operations follow each other, the one timer set for an earlier operation
/// (which ends no later than the current one's limit) stays as it is; when
/// it fires before the current limit, it is moved to that limit and the
/// wait goes on. A stream of operations thus reads the clock once each and
/// touches the timer wheel about once per limit's length, not twice per
/// operation. Between operations the timer may fire once for nothing (a
/// spurious wake-up of the half's task, which futures allow).
///
/// The timer is polled with the session's fan-out waker, not with the
/// waiting task's: a timer kept between operations would otherwise hold
/// the waker of the task that waited last, and with it that task's memory
/// (its whole future) for as long as the socket lives, after the task has
/// ended. A half that waits has its own waker registered with the session
/// (every wait of the session does that), so the fan-out wakes it when the
/// timer fires.
#[derive(Debug, Default)]
pub(crate) struct Deadline {
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The session's fan-out waker; `None` (the tests of this module):
    /// the caller's.
    fan: Option<Waker>,
}

impl Deadline {
    /// A time limit whose timer wakes through `fan`, the session's fan-out
    /// waker.
    pub(crate) fn new(fan: Waker) -> Self {
        Deadline {
            sleep: None,
            fan: Some(fan),
        }
    }

    /// Runs `fut` under an optional time limit; see [`Deadline`]. (The
    /// receiver polls [`poll_expired`](Self::poll_expired) by hand; this is
    /// its `async` form for the tests.)
    #[cfg(test)]
    pub(crate) async fn run<T>(
        &mut self,
        limit: Option<Duration>,
        kind: TimeoutKind,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let mut fut = std::pin::pin!(fut);
        let mut armed = None;
        poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(v);
            }
            self.poll_expired(cx, &mut armed, limit, kind).map(Err)
        })
        .await
    }

    /// The time limit of one operation in poll form, for an operation
    /// polled by hand: call it after each poll of the operation that was
    /// not ready, with the same `armed` (`None` before the first) for the
    /// whole operation. The first such call reads the clock and arms the
    /// timer; `Ready` is the timeout error of `kind` once the limit passed.
    /// No limit: always `Pending`.
    pub(crate) fn poll_expired(
        &mut self,
        cx: &mut Context<'_>,
        armed: &mut Option<tokio::time::Instant>,
        limit: Option<Duration>,
        kind: TimeoutKind,
    ) -> Poll<Error> {
        let Some(d) = limit else {
            return Poll::Pending;
        };
        let (deadline, sleep) = match (*armed, &mut self.sleep) {
            (Some(deadline), Some(sleep)) => (deadline, sleep),
            (_, slot) => {
                let deadline = later(tokio::time::Instant::now(), d);
                *armed = Some(deadline);
                let sleep = match slot {
                    Some(sleep) => {
                        if sleep.deadline() > deadline {
                            sleep.as_mut().reset(deadline);
                        }
                        sleep
                    }
                    None => slot.insert(Box::pin(tokio::time::sleep_until(deadline))),
                };
                (deadline, sleep)
            }
        };
        match &self.fan {
            Some(fan) => wait(sleep, deadline, kind, &mut Context::from_waker(fan)),
            None => wait(sleep, deadline, kind, cx),
        }
    }

    /// [`poll_expired`](Self::poll_expired) for a receive, whose limit
    /// measures the peer's silence: when the limit runs out but the peer
    /// was heard since the wait began (a pong, part of a large message),
    /// the wait goes on until the limit has passed since then. `heard`
    /// gives the time the peer was last heard, asked only once the limit
    /// ran out.
    #[inline]
    pub(crate) fn poll_silence(
        &mut self,
        cx: &mut Context<'_>,
        armed: &mut Option<tokio::time::Instant>,
        limit: Option<Duration>,
        kind: TimeoutKind,
        heard: impl Fn() -> tokio::time::Instant,
    ) -> Poll<Error> {
        loop {
            let expired = ready!(self.poll_expired(cx, armed, limit, kind));
            let until = limit.and_then(|d| heard().checked_add(d));
            match (until, *armed) {
                (Some(until), Some(at)) if until > at => *armed = Some(until),
                _ => return Poll::Ready(expired),
            }
        }
    }
}

/// Waits on `sleep` for `deadline`, moving on a timer set for an earlier
/// operation; `Ready` is the timeout error of `kind`.
fn wait(
    sleep: &mut Pin<Box<tokio::time::Sleep>>,
    deadline: tokio::time::Instant,
    kind: TimeoutKind,
    cx: &mut Context<'_>,
) -> Poll<Error> {
    loop {
        ready!(sleep.as_mut().poll(cx));
        if sleep.deadline() >= deadline {
            return Poll::Ready(Error::Timeout(kind));
        }
        // Set for an earlier operation: on to this one's limit.
        sleep.as_mut().reset(deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pending once (waking itself), then done.
    async fn quick() -> Result<()> {
        tokio::task::yield_now().await;
        Ok(())
    }

    #[tokio::test]
    async fn deadline_keeps_one_timer_and_still_times_out() {
        let mut dl = Deadline::default();
        let limit = Some(Duration::from_millis(20));
        // Ready on the first poll: no timer at all.
        dl.run(limit, TimeoutKind::Receive, async { Ok(()) })
            .await
            .unwrap();
        assert!(dl.sleep.is_none());
        dl.run(limit, TimeoutKind::Receive, quick()).await.unwrap();
        let first = dl.sleep.as_ref().map(|s| s.deadline());
        assert!(first.is_some());
        // The next operation keeps the timer set for the first.
        dl.run(limit, TimeoutKind::Receive, quick()).await.unwrap();
        assert_eq!(dl.sleep.as_ref().map(|s| s.deadline()), first);
        // Let that timer fire with no one waiting, then wait for good: the
        // stale timer is moved on, and the operation times out at its own
        // limit, not the old one.
        tokio::time::sleep(Duration::from_millis(40)).await;
        let start = tokio::time::Instant::now();
        let res = dl
            .run(
                limit,
                TimeoutKind::Receive,
                std::future::pending::<Result<()>>(),
            )
            .await;
        assert!(matches!(res, Err(Error::Timeout(TimeoutKind::Receive))));
        let end = dl.sleep.as_ref().map(|s| s.deadline());
        assert!(end.is_some_and(|t| t >= start + Duration::from_millis(20)));
        // A shorter limit than the timer's: moved earlier.
        dl.run(Some(Duration::from_secs(3600)), TimeoutKind::Send, quick())
            .await
            .unwrap();
        let res = dl
            .run(
                limit,
                TimeoutKind::Send,
                std::future::pending::<Result<()>>(),
            )
            .await;
        assert!(matches!(res, Err(Error::Timeout(TimeoutKind::Send))));
    }

    #[tokio::test]
    async fn a_limit_too_long_for_the_clock_waits_without_panicking() {
        let mut dl = Deadline::default();
        dl.run(Some(Duration::MAX), TimeoutKind::Receive, quick())
            .await
            .unwrap();
        assert!(dl.sleep.is_some());
    }
}
