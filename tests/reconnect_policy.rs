//! The reconnecting socket's policy in real runs against raw servers:
//! which endings are retried (503 with Retry-After, 1012, 403, 1000), the
//! backoff's bounds, the delay list, max attempts, a failing hook.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use wsock::reconnect::{ClosedReason, ConnectionState, Delays};
use wsock::{Error, Received, ReconnectPolicy, ReconnectingMessageWebSocket, WebErrorStatus};

use common::raw::read_upgrade;
use common::reconnect::{
    accept_upgrade, close_with, control, numbered, quick_policy, seen, send_text, text, url,
};
use common::wire::read_until_close;

#[tokio::test(start_paused = true)]
async fn a_503_with_retry_after_is_waited_out_then_the_connection_is_made() {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let times = accepted.clone();
    let (addr, count) = numbered(move |n, mut tcp| {
        times.lock().unwrap().push(Instant::now());
        async move {
            if n == 1 {
                let _ = read_upgrade(&mut tcp).await;
                let answer = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
                              Content-Length: 0\r\n\r\n";
                tcp.write_all(answer.as_bytes()).await.unwrap();
                return;
            }
            accept_upgrade(&mut tcp).await;
            send_text(&mut tcp, "in").await;
            let _ = read_until_close(&mut tcp).await;
        }
    })
    .await;
    // Jitter of at most 10 ms: what is waited is the Retry-After.
    let mut policy = ReconnectPolicy::default();
    policy.delays = Delays::Exponential {
        initial: Duration::from_millis(10),
        factor: 2.0,
        maximum: Duration::from_millis(10),
    };
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), policy);
    let mut states = ws.states();
    let started = Instant::now();
    ws.connect().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    let times = accepted.lock().unwrap().clone();
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert!(times[1] - times[0] >= Duration::from_secs(1), "{times:?}");
    let states = seen(&mut states);
    match &states[1] {
        ConnectionState::Reconnecting {
            attempt: 1,
            last_error,
            next_delay,
        } => {
            assert_eq!(last_error.status(), WebErrorStatus::ServiceUnavailable);
            assert_eq!(*next_delay, Duration::from_secs(1));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(text(&mut ws).await, "in");
}

#[tokio::test]
async fn a_close_with_1012_is_retried() {
    let (addr, count) = numbered(|n, mut tcp| async move {
        accept_upgrade(&mut tcp).await;
        if n == 1 {
            return close_with(tcp, 1012).await;
        }
        send_text(&mut tcp, "back").await;
        let _ = read_until_close(&mut tcp).await;
    })
    .await;
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), quick_policy());
    let mut states = ws.states();
    assert_eq!(text(&mut ws).await, "back");
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let restarting = seen(&mut states).into_iter().find_map(|s| match s {
        ConnectionState::Reconnecting { last_error, .. } => Some(last_error),
        _ => None,
    });
    assert!(
        matches!(
            restarting.as_deref(),
            Some(Error::PeerClosed { code: 1012, .. })
        ),
        "{restarting:?}"
    );
}

#[tokio::test]
async fn a_403_is_not_retried_and_closes_with_the_error() {
    let (addr, count) = numbered(|_, mut tcp| async move {
        let _ = read_upgrade(&mut tcp).await;
        let answer = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        tcp.write_all(answer.as_bytes()).await.unwrap();
    })
    .await;
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), quick_policy());
    let e = ws.connect().await.unwrap_err();
    assert!(matches!(e, Error::GaveUp { attempts: 0, .. }), "{e:?}");
    assert_eq!(e.status(), WebErrorStatus::Forbidden);
    assert_eq!(e.http_response().unwrap().status, 403);
    match ws.state() {
        ConnectionState::Closed {
            why: ClosedReason::Failed { error, attempts: 0 },
        } => assert_eq!(error.status(), WebErrorStatus::Forbidden),
        other => panic!("{other:?}"),
    }
    // receive tells it once, then the socket is closed.
    assert!(matches!(ws.receive().await, Err(Error::GaveUp { .. })));
    assert!(matches!(ws.receive().await, Err(Error::ConnectionClosed)));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_close_with_1000_is_not_retried_by_default() {
    let (addr, count) = numbered(|_, mut tcp| async move {
        accept_upgrade(&mut tcp).await;
        close_with(tcp, 1000).await;
    })
    .await;
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), quick_policy());
    assert_eq!(
        ws.receive().await.unwrap(),
        Received::Closed {
            code: 1000,
            reason: String::new()
        }
    );
    assert!(matches!(
        ws.state(),
        ConnectionState::Closed {
            why: ClosedReason::PeerClosed { code: 1000, .. }
        }
    ));
    assert!(matches!(ws.receive().await, Err(Error::ConnectionClosed)));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_close_with_1000_is_retried_when_the_policy_says_so() {
    let (addr, count) = numbered(|n, mut tcp| async move {
        accept_upgrade(&mut tcp).await;
        if n == 1 {
            return close_with(tcp, 1000).await;
        }
        send_text(&mut tcp, "again").await;
        let _ = read_until_close(&mut tcp).await;
    })
    .await;
    let mut policy = quick_policy();
    policy.retried_close_codes.push(1000);
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), policy);
    assert_eq!(text(&mut ws).await, "again");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

/// A server that takes each connection and drops it before answering:
/// an upgrade cut short, retried.
async fn dropping_server() -> (SocketAddr, Arc<AtomicUsize>, Arc<Mutex<Vec<Instant>>>) {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let times = accepted.clone();
    let (addr, count) = numbered(move |_, mut tcp| {
        times.lock().unwrap().push(Instant::now());
        async move {
            let _ = read_upgrade(&mut tcp).await;
        }
    })
    .await;
    (addr, count, accepted)
}

/// The delays the states announced, and the final state.
async fn run_until_closed(
    ws: &mut ReconnectingMessageWebSocket,
) -> (Vec<(u32, Duration)>, ConnectionState) {
    let mut states = ws.states();
    let e = ws.connect().await.unwrap_err();
    assert!(matches!(e, Error::GaveUp { .. }), "{e:?}");
    let mut delays = Vec::new();
    let mut last = None;
    while let Some(s) = states.next().await {
        if let ConnectionState::Reconnecting {
            attempt,
            next_delay,
            ..
        } = &s
        {
            delays.push((*attempt, *next_delay));
        }
        last = Some(s);
    }
    (delays, last.unwrap())
}

#[tokio::test(start_paused = true)]
async fn backoff_delays_of_a_real_run_stay_within_the_bounds_and_max_attempts_is_honoured() {
    let (addr, count, accepted) = dropping_server().await;
    let mut policy = ReconnectPolicy::default();
    policy.delays = Delays::Exponential {
        initial: Duration::from_millis(100),
        factor: 2.0,
        maximum: Duration::from_secs(1),
    };
    policy.max_attempts = Some(8);
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), policy);
    let (delays, last) = run_until_closed(&mut ws).await;
    assert_eq!(delays.len(), 8, "{delays:?}");
    for (i, (attempt, delay)) in delays.iter().enumerate() {
        assert_eq!(*attempt as usize, i + 1);
        let bound = Duration::from_millis(100 << i).min(Duration::from_secs(1));
        assert!(
            *delay <= bound,
            "attempt {attempt}: {delay:?} over {bound:?}"
        );
    }
    assert!(
        matches!(
            last,
            ConnectionState::Closed {
                why: ClosedReason::Failed { attempts: 8, .. }
            }
        ),
        "{last:?}"
    );
    // The first attempt and eight more, each after its delay.
    assert_eq!(count.load(Ordering::SeqCst), 9);
    let times = accepted.lock().unwrap().clone();
    for (pair, (_, delay)) in times.windows(2).zip(&delays) {
        assert!(pair[1] - pair[0] >= *delay);
    }
}

#[tokio::test(start_paused = true)]
async fn an_explicit_delay_list_is_followed_then_the_socket_gives_up() {
    let (addr, count, accepted) = dropping_server().await;
    let list = vec![
        Duration::ZERO,
        Duration::from_millis(300),
        Duration::from_millis(700),
    ];
    let mut policy = ReconnectPolicy::default();
    policy.delays = Delays::List(list.clone());
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), policy);
    let (delays, last) = run_until_closed(&mut ws).await;
    let expected: Vec<(u32, Duration)> = (1..).zip(list.iter().copied()).collect();
    assert_eq!(delays, expected);
    assert!(last.is_closed());
    assert_eq!(count.load(Ordering::SeqCst), 4);
    let times = accepted.lock().unwrap().clone();
    for (pair, delay) in times.windows(2).zip(&list) {
        assert!(pair[1] - pair[0] >= *delay);
    }
}

#[tokio::test]
async fn a_failing_hook_counts_as_a_failed_attempt_and_is_retried() {
    let (addr, count) = numbered(|_, mut tcp| async move {
        accept_upgrade(&mut tcp).await;
        let _ = read_until_close(&mut tcp).await;
    })
    .await;
    let hooks = Arc::new(AtomicUsize::new(0));
    let counter = hooks.clone();
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), quick_policy())
        .on_connect(move |ws| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n == 1 {
                    return Err(Error::Io(std::io::Error::other("no token yet")));
                }
                Ok(ws)
            }
        });
    let mut states = ws.states();
    ws.connect().await.unwrap();
    assert_eq!(hooks.load(Ordering::SeqCst), 2);
    assert_eq!(count.load(Ordering::SeqCst), 2);
    // The first connection never counted as made.
    assert_eq!(ws.information().reconnects, 0);
    let states = seen(&mut states);
    assert!(
        matches!(&states[1], ConnectionState::Reconnecting { attempt: 1, last_error, .. }
            if last_error.to_string() == "I/O error"),
        "{states:?}"
    );

    // With max_attempts, a hook that always fails makes the socket give up.
    let mut policy = quick_policy();
    policy.max_attempts = Some(2);
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), policy)
        .on_connect(|_| async { Err(Error::Io(std::io::Error::other("refused"))) });
    let e = ws.connect().await.unwrap_err();
    assert!(matches!(e, Error::GaveUp { attempts: 2, .. }), "{e:?}");
    assert_eq!(count.load(Ordering::SeqCst), 5);
}
