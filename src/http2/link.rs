//! What the streams of one HTTP/2 connection share about it: its
//! addresses and certificates, how it ended, and (for a client's pooled
//! connection) when the task that drives it has finished.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use rustls::pki_types::CertificateDer;
use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;

use crate::connect::Transport;
use crate::error::Http2Error;

/// What a stream reports of the connection that carries it: the TCP
/// connection's addresses and the TLS peer's certificate chain. Taken from
/// the connection's transport before `h2` takes it over, shared by all
/// the connection's streams.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkInfo {
    /// This side's address.
    pub(crate) local_addr: Option<SocketAddr>,
    /// The peer's address.
    pub(crate) peer_addr: Option<SocketAddr>,
    /// The chain the peer presented over TLS, if any.
    pub(crate) peer_certificates: Option<Vec<CertificateDer<'static>>>,
    /// How the connection ended, when that says more than what its streams
    /// see (a GOAWAY with an error code, then the end of TCP, reaches the
    /// streams as a broken pipe); set by whoever drives the connection.
    pub(crate) failure: OnceLock<Http2Error>,
    /// Said when the task that drives the connection has finished, with
    /// `failure` set if it is ever to be; `None`: nobody will say it (the
    /// server role drives its connections where its streams live).
    pub(crate) driven: Option<Arc<Driven>>,
}

impl LinkInfo {
    /// The facts of `io`, the transport an HTTP/2 connection will run over.
    pub(crate) fn of(io: &Transport) -> LinkInfo {
        LinkInfo {
            local_addr: io.local_addr(),
            peer_addr: io.peer_addr(),
            peer_certificates: io.peer_certificates(),
            failure: OnceLock::new(),
            driven: None,
        }
    }

    /// [`of`](Self::of), for a connection whose driving task will say
    /// when it has finished ([`Driven::finish`]).
    pub(crate) fn of_driven(io: &Transport) -> LinkInfo {
        LinkInfo {
            driven: Some(Arc::default()),
            ..LinkInfo::of(io)
        }
    }
}

/// The end of a connection's driving task, for its streams to wait on.
///
/// `h2` fails the streams of a connection that ends in the same poll of
/// the connection that then returns the reason to the task; on a
/// multi-thread runtime a stream's task may run in between and see only
/// a broken pipe, where the task is about to record a GOAWAY with its
/// code. A stream that sees such an I/O error waits for this first.
#[derive(Debug, Default)]
pub(crate) struct Driven {
    done: AtomicBool,
    notify: Arc<Notify>,
}

impl Driven {
    /// The task has finished (or was dropped): wakes every stream waiting.
    pub(crate) fn finish(&self) {
        self.done.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Whether the task has finished; until then, `wait` (kept by the
    /// caller between polls) holds the caller's waker.
    pub(crate) fn poll_finished(
        &self,
        wait: &mut Option<Pin<Box<OwnedNotified>>>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        // Registered on creation, before the flag is read: a `finish` in
        // between is seen either way.
        let notified = wait.get_or_insert_with(|| Box::pin(self.notify.clone().notified_owned()));
        if self.done.load(Ordering::Acquire) || notified.as_mut().poll(cx).is_ready() {
            *wait = None;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}
