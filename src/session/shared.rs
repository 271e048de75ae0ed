//! [`Shared`]: the handle both halves of one socket hold on their
//! [`Session`], with the ways they drive it (run until ready, with a
//! timeout, the whole close) and the close that dropping the last one
//! sends.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Session, with_timeout};
use crate::error::{Result, TimeoutKind};
use crate::proto;

/// A session shared by the halves of one socket. Nothing else holds it:
/// the session's deadlines run in the polls of its halves
/// (`Session::poll_clock`), so when the last half goes, the session goes.
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
        Shared {
            session: Arc::new(Mutex::new(session)),
            handles: Some(Arc::new(())),
        }
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
