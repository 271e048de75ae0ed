//! [`Shared`]: the handle both halves of one socket hold on their
//! [`Session`], with the ways they drive it (run until ready, with a
//! timeout, the whole close) and the close that dropping the last one
//! sends.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use super::keep_alive::spawn_keep_alive;
use super::{Session, with_timeout};
use crate::error::{Result, TimeoutKind};
use crate::proto;

/// A session shared by the halves of one socket.
///
/// `handles` counts the user's halves only; the keep-alive task holds a
/// `Weak` to the session and no handle, so "the last half was dropped" is
/// never confused by the timer briefly holding the session.
///
/// The keep-alive task exists only when keep-alive is on: the timers run
/// even when no half is polled at all (a socket nobody reads still sends
/// its pings), and it writes like a half that waits
/// ([`Session::poll_keep_alive`]).
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    session: Arc<Mutex<Session>>,
    /// Taken in `drop`: `Arc::into_inner` tells exactly one of two halves
    /// dropped at once that it was the last.
    handles: Option<Arc<()>>,
}

impl Shared {
    /// True when both handles are to the same session (the halves of one
    /// socket).
    pub(crate) fn same_session(&self, other: &Shared) -> bool {
        Arc::ptr_eq(&self.session, &other.session)
    }

    pub(crate) fn new(session: Session) -> Self {
        let first = session.timers.as_ref().map(|t| t.keep_alive.poll_timeout());
        let shared = Shared {
            session: Arc::new(Mutex::new(session)),
            handles: Some(Arc::new(())),
        };
        if let Some(first) = first {
            spawn_keep_alive(Arc::downgrade(&shared.session), first);
        }
        shared
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the session until it is ready.
    pub(crate) async fn run<T>(
        &self,
        mut f: impl FnMut(&mut Session, &mut Context<'_>) -> Poll<T>,
    ) -> T {
        poll_fn(|cx| f(&mut self.lock(), cx)).await
    }

    /// As [`Shared::run`], failing with `Timeout(kind)` after `limit`.
    pub(crate) async fn run_timeout<T>(
        &self,
        limit: Option<Duration>,
        kind: TimeoutKind,
        f: impl FnMut(&mut Session, &mut Context<'_>) -> Poll<Result<T>>,
    ) -> Result<T> {
        with_timeout(limit, kind, self.run(f)).await
    }

    /// True if this is the user's last handle to the session.
    pub(crate) fn is_last(&self) -> bool {
        self.handles
            .as_ref()
            .is_some_and(|h| Arc::strong_count(h) == 1)
    }
}

impl Drop for Shared {
    /// Dropping the user's last handle to an open socket closes it with 1001
    /// (going away), without waiting.
    fn drop(&mut self) {
        let last = self
            .handles
            .take()
            .is_some_and(|h| Arc::into_inner(h).is_some());
        if last {
            self.lock().close_on_drop(proto::close::GOING_AWAY);
        } else {
            // The other half may wait for this one to go (a close of the
            // output then reads the peer's close itself).
            self.lock().wakers.wake_all();
        }
    }
}
