//! ReconnectingMessageWebSocket against real servers on loopback: our
//! server role and Python's `websockets` stopped and started again on the
//! same port, sends during a reconnection, the loop form, closes and
//! drops. The policy's decisions and delays: tests/reconnect_policy.rs.
#![cfg(feature = "server")]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wsock::reconnect::{ClosedReason, ConnectionState, Delays, SendsWhileReconnecting};
use wsock::server::{self, AcceptOptions};
use wsock::{Error, Received, ReconnectPolicy, ReconnectingMessageWebSocket, WebErrorStatus};

use common::raw::read_upgrade;
use common::reconnect::{
    accept_upgrade, close_with, control, numbered, quick_policy, seen, send_text, text, url,
};
use common::wire::{close_frame, read_message, read_until_close};

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

#[tokio::test]
async fn a_waiting_send_gives_up_at_the_send_timeout() {
    let (addr, received) = restarting_echo().await;
    let mut policy = ReconnectPolicy::default();
    policy.delays = Delays::List(vec![Duration::from_secs(3600)]);
    let mut c = control();
    c.send_timeout = Some(Duration::from_millis(200));
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), c, policy);
    ws.connect().await.unwrap();
    let sender = ws.sender();
    let probe = ws.watch_state();
    let mut receive = Box::pin(ws.receive());
    tokio::select! {
        r = &mut receive => panic!("{r:?}"),
        _ = until_reconnecting(probe) => {}
    }
    let e = sender.send_text("late").await.unwrap_err();
    assert!(
        matches!(e, Error::Timeout(wsock::TimeoutKind::Send)),
        "{e:?}"
    );
    assert!(received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_send_of_the_socket_itself_makes_the_next_connection() {
    let (addr, received) = restarting_echo().await;
    let mut policy = ReconnectPolicy::default();
    policy.delays = Delays::List(vec![Duration::from_millis(100); 3]);
    let mut ws = ReconnectingMessageWebSocket::new(&url(addr), control(), policy);
    ws.connect().await.unwrap();
    let probe = ws.watch_state();
    {
        // The read loop notices the 1012, then stops reading.
        let mut receive = Box::pin(ws.receive());
        tokio::select! {
            r = &mut receive => panic!("{r:?}"),
            _ = until_reconnecting(probe) => {}
        }
    }
    // No one reads: the socket's own send waits out the delay and connects.
    ws.send_text("mine").await.unwrap();
    assert!(ws.state().is_connected());
    assert_eq!(text(&mut ws).await, "mine");
    assert_eq!(*received.lock().unwrap(), vec![(2, "mine".to_owned())]);
}

/// Compiles only if the socket, its futures, its sender and the loop form
/// can move between tasks (a read loop is usually spawned).
#[allow(dead_code)]
fn everything_can_move_between_tasks(
    mut ws: ReconnectingMessageWebSocket,
    sender: wsock::ReconnectingMessageSender,
    sockets: wsock::reconnect::Connections,
) {
    fn send<T: Send>(_: T) {}
    fn shared<T: Send + Sync>(_: &T) {}
    shared(&sender);
    send(sender.send_text("x"));
    send(sockets);
    send(ws.receive());
    send(ws);
}
