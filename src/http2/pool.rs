//! The client's HTTP/2 connections, shared by the sockets to one origin.
//!
//! Sockets to the same origin (scheme, host, port), with the same TLS
//! configuration (the same `Arc<rustls::ClientConfig>`, which holds the
//! certificate options and client certificate), resolver and proxy, and
//! on the same Tokio runtime (whose task drives the connection: one on a
//! runtime nobody runs would leave the others' streams unread), open
//! their streams on one HTTP/2 connection, up to the server's
//! SETTINGS_MAX_CONCURRENT_STREAMS (and at most
//! [`MAX_STREAMS_PER_CONNECTION`]); past it, a socket opens a new
//! connection, which the next sockets share in turn. At most
//! [`MAX_POOLED`] connections are kept; a connection made when the pool is
//! full carries only the socket that made it.
//!
//! Each connection has a task of its own (spawned on the runtime of the
//! socket that made it) that drives `h2`'s connection: it reads and writes
//! for every stream. Closing a socket ends its stream only. When the last
//! stream of a connection has ended and no new one opened within
//! [`IDLE_TIMEOUT`], the connection leaves the pool and closes (GOAWAY).
//! When the connection fails, every stream on it fails with the error, and
//! it leaves the pool: nothing waits on it.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use h2::client::{Connection, SendRequest};
use tokio::sync::Notify;

use super::LinkInfo;
use crate::connect::{ConnectOptions, ProxyServer, Target, Transport};
use crate::credential::Credential;
use crate::error::Http2Error;

/// How long a connection without streams stays open for the next socket:
/// 30 s.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections kept for sharing, all origins together.
pub(crate) const MAX_POOLED: usize = 64;
/// Streams opened on one connection at most, whatever the server allows.
pub(crate) const MAX_STREAMS_PER_CONNECTION: usize = 256;
/// How long a server that speaks HTTP/2 without extended CONNECT is
/// remembered, so that "or lower" goes to HTTP/1.1 at once: 5 minutes.
pub(crate) const NO_WEBSOCKETS_MEMORY: Duration = Duration::from_secs(300);
/// Servers remembered so, at most (the oldest is forgotten first).
const MAX_REMEMBERED: usize = 64;

/// What makes two sockets able to share a connection.
#[derive(Clone)]
pub(crate) struct Key {
    tls: bool,
    host: String,
    port: u16,
    /// Compared by identity; kept so that the address is not reused.
    config: Option<Arc<rustls::ClientConfig>>,
    /// The resolver's address (compared by identity), if any.
    resolver: Option<usize>,
    proxy: Option<ProxyServer>,
    proxy_credential: Option<Credential>,
    runtime: Option<tokio::runtime::Id>,
}

impl Key {
    /// The key of a socket to `target` connected with `opts`.
    pub(crate) fn of(target: &Target, opts: &ConnectOptions) -> Key {
        Key {
            tls: target.tls,
            host: target.host.clone(),
            port: target.port,
            config: opts.tls.clone(),
            resolver: (opts.resolver.as_ref()).map(|r| Arc::as_ptr(r).cast::<()>() as usize),
            proxy: (opts.proxy.as_ref())
                .and_then(|p| p.server_for(target))
                .cloned(),
            proxy_credential: opts.proxy_credential.clone(),
            runtime: tokio::runtime::Handle::try_current().ok().map(|h| h.id()),
        }
    }

    fn same(&self, other: &Key) -> bool {
        let config = match (&self.config, &other.config) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        config
            && self.tls == other.tls
            && self.port == other.port
            && self.host == other.host
            && self.resolver == other.resolver
            && self.proxy == other.proxy
            && self.proxy_credential == other.proxy_credential
            && self.runtime == other.runtime
    }
}

/// What a connection's streams and its task share.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// Streams open or being opened.
    streams: AtomicUsize,
    /// The connection ended, or takes no new stream (left the pool).
    closed: AtomicBool,
    /// Told when `streams` drops to zero.
    idle: Notify,
}

/// One stream's share of a connection: counted while it lives.
#[derive(Debug)]
pub(crate) struct StreamGuard(Arc<ConnState>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if self.0.streams.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_one();
        }
    }
}

/// A connection in the pool.
struct Entry {
    key: Key,
    send: SendRequest<Bytes>,
    state: Arc<ConnState>,
    link: Arc<LinkInfo>,
    remote: SocketAddr,
}

impl Entry {
    /// Whether it takes another stream now.
    fn has_room(&self) -> bool {
        let max = self
            .send
            .current_max_send_streams()
            .min(MAX_STREAMS_PER_CONNECTION);
        !self.state.closed.load(Ordering::Acquire)
            && self.state.streams.load(Ordering::Acquire) < max
    }

    fn lease(&self) -> Lease {
        self.state.streams.fetch_add(1, Ordering::AcqRel);
        Lease {
            send: self.send.clone(),
            guard: StreamGuard(self.state.clone()),
            link: self.link.clone(),
            remote: self.remote,
            state: self.state.clone(),
        }
    }
}

/// A stream's place on a connection: the handle that opens it and the
/// guard that counts it.
pub(crate) struct Lease {
    pub(crate) send: SendRequest<Bytes>,
    pub(crate) guard: StreamGuard,
    pub(crate) link: Arc<LinkInfo>,
    pub(crate) remote: SocketAddr,
    state: Arc<ConnState>,
}

impl Lease {
    /// Takes the connection out of use for new streams (it failed to
    /// open one, or said GOAWAY); its open streams go on.
    pub(crate) fn retire(&self, pool: &Pool) {
        pool.retire(&self.state);
    }
}

/// A new HTTP/2 connection, ready for streams (the server's SETTINGS are
/// in), with its driver not yet started.
pub(crate) struct Dialed {
    pub(crate) send: SendRequest<Bytes>,
    pub(crate) connection: Connection<Transport, Bytes>,
    pub(crate) link: Arc<LinkInfo>,
    pub(crate) remote: SocketAddr,
}

/// The pool (one per process: [`Pool::global`]).
pub(crate) struct Pool {
    entries: Mutex<Vec<Entry>>,
    /// One connect at a time per key: sockets opened together wait for
    /// the first one's connection instead of each making their own.
    dialing: Mutex<Vec<(Key, Arc<tokio::sync::Mutex<()>>)>>,
    /// Servers found to speak HTTP/2 without extended CONNECT, and when.
    no_websockets: Mutex<Vec<(Key, tokio::time::Instant)>>,
    idle_timeout: Duration,
}

impl Pool {
    pub(crate) fn new(idle_timeout: Duration) -> Pool {
        Pool {
            entries: Mutex::new(Vec::new()),
            dialing: Mutex::new(Vec::new()),
            no_websockets: Mutex::new(Vec::new()),
            idle_timeout,
        }
    }

    /// The process's pool.
    pub(crate) fn global() -> &'static Pool {
        static POOL: LazyLock<Pool> = LazyLock::new(|| Pool::new(IDLE_TIMEOUT));
        &POOL
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        // Nothing panics while holding it; a poisoned lock's data is whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place on a pooled connection for `key` with room for a stream.
    pub(crate) fn find(&self, key: &Key) -> Option<Lease> {
        let mut entries = self.entries();
        entries.retain(|e| !e.state.closed.load(Ordering::Acquire));
        entries
            .iter()
            .find(|e| e.key.same(key) && e.has_room())
            .map(Entry::lease)
    }

    /// Notes that the server of `key` takes no WebSockets over HTTP/2.
    pub(crate) fn remember_no_websockets(&self, key: &Key) {
        let mut known = self.no_websockets.lock().unwrap_or_else(|e| e.into_inner());
        known.retain(|(k, _)| !k.same(key));
        if known.len() >= MAX_REMEMBERED {
            known.remove(0);
        }
        known.push((key.clone(), tokio::time::Instant::now()));
    }

    /// Whether the server of `key` was found lately to take no WebSockets
    /// over HTTP/2 ([`NO_WEBSOCKETS_MEMORY`]).
    pub(crate) fn known_without_websockets(&self, key: &Key) -> bool {
        let mut known = self.no_websockets.lock().unwrap_or_else(|e| e.into_inner());
        known.retain(|(_, at)| at.elapsed() < NO_WEBSOCKETS_MEMORY);
        known.iter().any(|(k, _)| k.same(key))
    }

    /// The lock to hold while connecting for `key`.
    pub(crate) fn dial_lock(&self, key: &Key) -> Arc<tokio::sync::Mutex<()>> {
        let mut dialing = self.dialing.lock().unwrap_or_else(|e| e.into_inner());
        // Locks nobody holds or waits for any more.
        dialing.retain(|(_, lock)| Arc::strong_count(lock) > 1);
        if let Some((_, lock)) = dialing.iter().find(|(k, _)| k.same(key)) {
            return lock.clone();
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        dialing.push((key.clone(), lock.clone()));
        lock
    }

    /// Starts the task of a new connection, adds it to the pool (when
    /// there is room) and leases its first stream.
    pub(crate) fn add(&'static self, key: Key, dialed: Dialed) -> Lease {
        let state = Arc::new(ConnState::default());
        tokio::spawn(drive(
            dialed.connection,
            state.clone(),
            dialed.link.clone(),
            self,
        ));
        let entry = Entry {
            key,
            send: dialed.send,
            state,
            link: dialed.link,
            remote: dialed.remote,
        };
        let lease = entry.lease();
        let mut entries = self.entries();
        if entries.len() < MAX_POOLED {
            entries.push(entry);
        } else {
            // Unpooled: its only stream is this one.
            entry.state.closed.store(true, Ordering::Release);
        }
        lease
    }

    /// Takes the connection of `state` out of the pool: no new streams.
    /// Its handle goes with it, so the connection closes once its last
    /// stream has.
    fn retire(&self, state: &Arc<ConnState>) {
        state.closed.store(true, Ordering::Release);
        self.entries().retain(|e| !Arc::ptr_eq(&e.state, state));
    }

    /// Retires the connection if it still has no stream (checked under
    /// the pool's lock, where streams are leased).
    fn retire_if_idle(&self, state: &Arc<ConnState>) -> bool {
        let mut entries = self.entries();
        if state.streams.load(Ordering::Acquire) > 0 {
            return false;
        }
        state.closed.store(true, Ordering::Release);
        entries.retain(|e| !Arc::ptr_eq(&e.state, state));
        true
    }

    /// How many connections are pooled (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }
}

#[cfg(test)]
mod tests;

/// The task of one connection: drives it until it ends, retiring it after
/// it has been idle for the pool's idle timeout.
async fn drive(
    connection: Connection<Transport, Bytes>,
    state: Arc<ConnState>,
    link: Arc<LinkInfo>,
    pool: &'static Pool,
) {
    // Declared first, so dropped last: whenever this task ends (or is
    // dropped with its runtime), the streams waiting to learn how the
    // connection ended are told, after `failure` has been set.
    let _finished = Finished(link.clone());
    let mut connection = pin!(connection);
    let mut idle = pin!(retire_when_idle(&state, pool));
    let mut retired = false;
    poll_fn(|cx| {
        // Ends with the connection: its streams fail with it. A failure
        // that says more than the broken pipe they see (a GOAWAY with an
        // error code) is kept for them to report.
        if let Poll::Ready(outcome) = connection.as_mut().poll(cx) {
            if let Err(e) = outcome
                && !e.is_io()
            {
                let _ = link.failure.set(Http2Error::of(&e));
            }
            return Poll::Ready(());
        }
        if !retired && idle.as_mut().poll(cx).is_ready() {
            retired = true;
        }
        Poll::Pending
    })
    .await;
    pool.retire(&state);
}

/// Says that a connection's task has finished when dropped.
struct Finished(Arc<LinkInfo>);

impl Drop for Finished {
    fn drop(&mut self) {
        if let Some(driven) = &self.0.driven {
            driven.finish();
        }
    }
}

/// Returns once the connection has been retired for idleness.
async fn retire_when_idle(state: &Arc<ConnState>, pool: &Pool) {
    loop {
        if state.closed.load(Ordering::Acquire) {
            return;
        }
        if state.streams.load(Ordering::Acquire) > 0 {
            state.idle.notified().await;
            continue;
        }
        tokio::time::sleep(pool.idle_timeout).await;
        if pool.retire_if_idle(state) {
            return;
        }
    }
}
