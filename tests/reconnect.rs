//! ReconnectingMessageWebSocket against real servers on loopback: our
//! server role stopped and started again, Python's `websockets` likewise,
//! and raw servers that refuse, close with chosen codes or drop.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use wsock::handshake::server as hs;
use wsock::reconnect::{ClosedReason, ConnectionState, Delays, SendsWhileReconnecting};
use wsock::server::{self, AcceptOptions};
use wsock::{
    Error, MessageWebSocketControl, Received, ReconnectPolicy, ReconnectingMessageWebSocket,
    WebErrorStatus,
};

use common::raw::{raw_server, read_upgrade};
use common::wire::{close_frame, frame, read_message, read_until_close};

/// No timer but the policy's: with the paused clock, time then moves
/// only to the backoff's deadlines.
fn control() -> MessageWebSocketControl {
    let mut c = MessageWebSocketControl::default();
    c.connect_timeout = None;
    c.receive_timeout = None;
    c
}

/// Short fixed delays, for the tests that run in real time.
fn quick_policy() -> ReconnectPolicy {
    let mut p = ReconnectPolicy::default();
    p.delays = Delays::Exponential {
        initial: Duration::from_millis(20),
        factor: 2.0,
        maximum: Duration::from_millis(100),
    };
    p
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/")
}

/// Answers the upgrade on a raw connection.
async fn accept_upgrade(tcp: &mut TcpStream) {
    let key = read_upgrade(tcp).await;
    let mut out = Vec::new();
    hs::write_accept(&key, None, None, &[], &mut out);
    tcp.write_all(&out).await.unwrap();
}

/// A raw server that runs `f` with each connection's number (from 1);
/// returns its address and the connection count.
async fn numbered<F, Fut>(f: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(usize, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let addr = raw_server(move |tcp| f(counter.fetch_add(1, Ordering::SeqCst) + 1, tcp)).await;
    (addr, count)
}

/// A close frame, then whatever the client says until it goes.
async fn close_with(mut tcp: TcpStream, code: u16) {
    tcp.write_all(&close_frame(code, "")).await.unwrap();
    let _ = read_until_close(&mut tcp).await;
}

async fn send_text(tcp: &mut TcpStream, text: &str) {
    tcp.write_all(&frame(0x81, text.as_bytes())).await.unwrap();
}

async fn text(ws: &mut ReconnectingMessageWebSocket) -> String {
    match ws.receive().await.unwrap() {
        Received::Message(m) => m.as_text().unwrap().to_owned(),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Our echo server (server role) on `addr`, which [`EchoServer::stop`]
/// ends with every connection: each socket dropped closes with 1001.
struct EchoServer {
    accept: JoinHandle<()>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl EchoServer {
    async fn start(addr: SocketAddr) -> (EchoServer, SocketAddr) {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(Mutex::new(Vec::new()));
        let tasks = connections.clone();
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tasks.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(ws) = server::accept(tcp, AcceptOptions::default()).await {
                        let _ = server::echo(ws).await;
                    }
                }));
            }
        });
        (
            EchoServer {
                accept,
                connections,
            },
            addr,
        )
    }

    async fn stop(self) {
        self.accept.abort();
        let _ = self.accept.await;
        let tasks: Vec<_> = self.connections.lock().unwrap().drain(..).collect();
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

/// Every state a stream has seen so far.
fn seen(states: &mut wsock::reconnect::ConnectionStates) -> Vec<ConnectionState> {
    let mut out = Vec::new();
    while let Some(Some(s)) = states.next().now_or_never_ready() {
        out.push(s);
    }
    out
}

/// `Stream::next` without waiting.
trait NowOrNever: Future + Sized {
    fn now_or_never_ready(self) -> Option<Self::Output> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut fut = std::pin::pin!(self);
        match fut.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }
}
impl<F: Future> NowOrNever for F {}

#[tokio::test]
async fn our_server_restarted_on_the_same_port_is_reconnected_to_and_the_hook_runs_per_connection()
{
    let (server, addr) = EchoServer::start("127.0.0.1:0".parse().unwrap()).await;
    let hooks = Arc::new(AtomicUsize::new(0));
    let counter = hooks.clone();
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), quick_policy())
        .on_connect(move |mut ws| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                ws.send_text(&format!("subscribe {n}")).await?;
                Ok(ws)
            }
        });
    let mut states = ws.states();
    assert_eq!(text(&mut ws).await, "subscribe 1");
    let first_since = ws.information().connected_since.unwrap();
    ws.sender().send_text("one").await.unwrap();
    assert_eq!(text(&mut ws).await, "one");

    server.stop().await;
    // Started again a little later on the same port, while the client
    // retries (refused meanwhile).
    let restart = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        EchoServer::start(addr).await.0
    });
    assert_eq!(text(&mut ws).await, "subscribe 2");
    ws.sender().send_text("two").await.unwrap();
    assert_eq!(text(&mut ws).await, "two");
    assert_eq!(hooks.load(Ordering::SeqCst), 2);
    let info = ws.information();
    assert_eq!(info.reconnects, 1);
    assert!(info.connected_since.unwrap() > first_since);
    assert!(info.connection.is_some());

    let states = seen(&mut states);
    assert!(
        matches!(states[0], ConnectionState::Connecting),
        "{states:?}"
    );
    assert!(
        matches!(states[1], ConnectionState::Connected),
        "{states:?}"
    );
    // The server's going away (1001), then refused attempts, then back.
    match &states[2] {
        ConnectionState::Reconnecting {
            attempt: 1,
            last_error,
            ..
        } => assert!(
            matches!(**last_error, Error::PeerClosed { code: 1001, .. }),
            "{last_error:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(states.last().unwrap().is_connected(), "{states:?}");
    ws.close(1000, "bye").await.unwrap();
    restart.await.unwrap().stop().await;
}

/// Starts the Python peer on `port` (0: any), returning it and its port.
async fn python_on(port: u16) -> (tokio::process::Child, u16) {
    use tokio::io::AsyncBufReadExt;
    let root = env!("CARGO_MANIFEST_DIR");
    let program = format!("{root}/target/peers/venv/bin/python");
    assert!(
        std::path::Path::new(&program).exists(),
        "run bash tests/peers/setup.sh first"
    );
    let mut child = tokio::process::Command::new(program)
        .arg(format!("{root}/tests/peers/python/echo_server.py"))
        .arg(port.to_string())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("peer exited");
    let port = line
        .strip_prefix("LISTENING ")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (child, port)
}

#[tokio::test]
#[ignore = "needs the interop peers: bash tests/peers/setup.sh, then cargo test -- --ignored"]
async fn python_websockets_restarted_on_the_same_port_is_reconnected_to() {
    let (mut peer, port) = python_on(0).await;
    let hooks = Arc::new(AtomicUsize::new(0));
    let counter = hooks.clone();
    let mut ws = ReconnectingMessageWebSocket::new(
        &format!("ws://127.0.0.1:{port}/echo"),
        control(),
        quick_policy(),
    )
    .on_connect(move |mut ws| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            ws.send_text(&format!("hello {n}")).await?;
            Ok(ws)
        }
    });
    assert_eq!(text(&mut ws).await, "hello 1");
    // Killed outright: the connection ends without a close frame (1006).
    peer.kill().await.unwrap();
    let (_peer, again) = python_on(port).await;
    assert_eq!(again, port);
    assert_eq!(text(&mut ws).await, "hello 2");
    ws.sender().send_text("after").await.unwrap();
    assert_eq!(text(&mut ws).await, "after");
    assert_eq!(hooks.load(Ordering::SeqCst), 2);
    assert_eq!(ws.information().reconnects, 1);
    ws.close(1000, "").await.unwrap();
}

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

/// A server whose first connection closes with 1012 at once, and whose
/// later ones echo: which connection each message came on is recorded.
async fn restarting_echo() -> (SocketAddr, Arc<Mutex<Vec<(usize, String)>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let (addr, _) = numbered(move |n, mut tcp| {
        let log = log.clone();
        async move {
            accept_upgrade(&mut tcp).await;
            if n == 1 {
                return close_with(tcp, 1012).await;
            }
            while let Some((_, data)) = read_message(&mut tcp).await {
                let text = String::from_utf8(data).unwrap();
                log.lock().unwrap().push((n, text.clone()));
                send_text(&mut tcp, &text).await;
            }
        }
    })
    .await;
    (addr, received)
}

/// Until the socket's state is Reconnecting.
async fn until_reconnecting(mut state: tokio::sync::watch::Receiver<ConnectionState>) {
    state
        .wait_for(|s| matches!(s, ConnectionState::Reconnecting { .. }))
        .await
        .unwrap();
}

#[tokio::test]
async fn sends_while_reconnecting_wait_for_the_next_connection() {
    let (addr, received) = restarting_echo().await;
    let mut policy = ReconnectPolicy::default();
    policy.delays = Delays::List(vec![Duration::from_millis(300); 3]);
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), policy);
    ws.connect().await.unwrap();
    let sender = ws.sender();
    let state = ws.watch_state();
    let send = tokio::spawn(async move {
        until_reconnecting(state).await;
        sender.send_text("queued").await
    });
    // The read loop notices the 1012 and reconnects; the send waits.
    assert_eq!(text(&mut ws).await, "queued");
    send.await.unwrap().unwrap();
    assert_eq!(*received.lock().unwrap(), vec![(2, "queued".to_owned())]);
}

#[tokio::test]
async fn sends_while_reconnecting_fail_at_once_in_fail_mode() {
    let (addr, received) = restarting_echo().await;
    let mut policy = ReconnectPolicy::default();
    policy.delays = Delays::List(vec![Duration::from_secs(3600)]);
    policy.sends_while_reconnecting = SendsWhileReconnecting::Fail;
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), policy);
    ws.connect().await.unwrap();
    let sender = ws.sender();
    // The 1012 is read; the socket waits an hour before its next attempt.
    let mut receive = Box::pin(ws.receive());
    tokio::select! {
        r = &mut receive => panic!("{r:?}"),
        _ = until_reconnecting(sender.watch_state()) => {}
    }
    let e = sender.send_text("dropped").await.unwrap_err();
    assert!(matches!(e, Error::NotConnected), "{e:?}");
    assert_eq!(e.status(), WebErrorStatus::Disconnected);
    assert!(matches!(
        sender.state(),
        ConnectionState::Reconnecting { .. }
    ));
    drop(receive);
    let e = ws.send_text("dropped too").await.unwrap_err();
    assert!(matches!(e, Error::NotConnected), "{e:?}");
    assert!(received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_waiting_send_fails_when_the_socket_is_dropped() {
    let (addr, _) = restarting_echo().await;
    let mut policy = ReconnectPolicy::default();
    policy.delays = Delays::List(vec![Duration::from_secs(3600)]);
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), policy);
    ws.connect().await.unwrap();
    let sender = ws.sender();
    let state = ws.watch_state();
    let send = tokio::spawn(async move {
        until_reconnecting(state).await;
        sender.send_text("never").await
    });
    let probe = ws.watch_state();
    let mut receive = Box::pin(ws.receive());
    tokio::select! {
        r = &mut receive => panic!("{r:?}"),
        _ = until_reconnecting(probe) => {}
    }
    // Long enough for the send to be waiting (it fails the same way if not).
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!send.is_finished());
    drop(receive);
    drop(ws);
    let e = send.await.unwrap().unwrap_err();
    assert!(matches!(e, Error::ConnectionClosed), "{e:?}");
}

#[tokio::test]
async fn dropping_the_socket_and_its_senders_leaves_no_task_and_no_connection() {
    let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let (addr, _) = numbered(move |_, mut tcp| {
        let ended_tx = ended_tx.clone();
        async move {
            accept_upgrade(&mut tcp).await;
            // Until the client's close frame or the end of TCP.
            let code = read_until_close(&mut tcp).await;
            ended_tx.send(code).unwrap();
        }
    })
    .await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), quick_policy());
    ws.connect().await.unwrap();
    let senders = [ws.sender(), ws.sender()];
    senders[0].send_text("hi").await.unwrap();
    // The server's task for the connection.
    assert_eq!(metrics.num_alive_tasks(), before + 1);
    drop(ws);
    drop(senders);
    // Dropped: closed with 1001, without waiting.
    let code = tokio::time::timeout(Duration::from_secs(10), ended.recv()).await;
    assert_eq!(
        code.expect("the connection outlived the socket"),
        Some(Some(1001))
    );
    // The server's task ends with the connection; nothing of the client
    // is left running.
    for _ in 0..100 {
        if metrics.num_alive_tasks() == before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metrics.num_alive_tasks(), before);
}

#[tokio::test]
async fn the_loop_form_yields_a_socket_per_connection_then_the_error_it_gave_up_on() {
    let (addr, count) = numbered(|n, mut tcp| async move {
        if n == 4 {
            let _ = read_upgrade(&mut tcp).await;
            let answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
            return tcp.write_all(answer.as_bytes()).await.unwrap();
        }
        accept_upgrade(&mut tcp).await;
        send_text(&mut tcp, &format!("connection {n}")).await;
        close_with(tcp, 1012).await;
    })
    .await;
    let hooks = Arc::new(AtomicUsize::new(0));
    let counter = hooks.clone();
    let mut sockets = wsock::reconnect::connections(&url(addr), control(), quick_policy())
        .on_connect(move |ws| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok(ws) }
        });
    let mut got = Vec::new();
    while let Some(ws) = sockets.next().await {
        let mut ws = match ws {
            Ok(ws) => ws,
            Err(e) => {
                assert_eq!(e.status(), WebErrorStatus::NotFound, "{e:?}");
                break;
            }
        };
        loop {
            match ws.receive().await.unwrap() {
                Received::Message(m) => got.push(m.as_text().unwrap().to_owned()),
                Received::Closed { code, .. } => break assert_eq!(code, 1012),
            }
        }
    }
    assert!(sockets.next().await.is_none());
    assert_eq!(got, ["connection 1", "connection 2", "connection 3"]);
    assert_eq!(hooks.load(Ordering::SeqCst), 3);
    assert_eq!(count.load(Ordering::SeqCst), 4);
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

#[tokio::test]
async fn the_users_own_close_is_not_retried() {
    let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let (addr, count) = numbered(move |_, mut tcp| {
        let ended_tx = ended_tx.clone();
        async move {
            accept_upgrade(&mut tcp).await;
            let code = read_until_close(&mut tcp).await;
            ended_tx.send(code).unwrap();
            let _ = tcp.write_all(&close_frame(1000, "")).await;
        }
    })
    .await;
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), quick_policy());
    ws.connect().await.unwrap();
    ws.close(1000, "done").await.unwrap();
    assert_eq!(ended.recv().await.unwrap(), Some(1000));
    assert!(matches!(
        ws.state(),
        ConnectionState::Closed {
            why: ClosedReason::ByUser
        }
    ));
    assert!(matches!(ws.receive().await, Err(Error::ConnectionClosed)));
    assert!(matches!(
        ws.sender().send_text("late").await,
        Err(Error::ConnectionClosed)
    ));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_close_from_a_sender_ends_the_read_loop_with_the_peers_answer() {
    let addr = common::echo_server(AcceptOptions::default()).await;
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), quick_policy());
    ws.connect().await.unwrap();
    let sender = ws.sender();
    let closer = tokio::spawn(async move {
        sender.send_text("last").await.unwrap();
        sender.close(1000, "bye").await
    });
    assert_eq!(text(&mut ws).await, "last");
    // Our server role answers with the same code.
    assert!(matches!(
        ws.receive().await.unwrap(),
        Received::Closed { code: 1000, .. }
    ));
    closer.await.unwrap().unwrap();
    assert!(matches!(
        ws.state(),
        ConnectionState::Closed {
            why: ClosedReason::ByUser
        }
    ));
}
