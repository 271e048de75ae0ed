//! The `wsock` binary as a user runs it: through pipes, against wsock's
//! own server role on 127.0.0.1, checking standard output, standard error
//! and the exit status.

mod run;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsock::server::{self, AcceptOptions, Incoming, Listener};

use run::{Input, LIMIT, runtime, temp_file, wsock};

/// A listener on a free loopback port handing each request to `handler`.
fn serve<F, Fut>(rt: &tokio::runtime::Runtime, handler: F) -> SocketAddr
where
    F: FnMut(Incoming) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = rt
        .block_on(Listener::bind("127.0.0.1:0", AcceptOptions::default()))
        .unwrap();
    let addr = listener.local_addr();
    rt.spawn(listener.serve(handler));
    addr
}

/// A message echo server: every message back with its type.
fn echo_server(rt: &tokio::runtime::Runtime) -> String {
    let addr = serve(rt, |incoming| async move {
        if let Ok(ws) = incoming.accept(None).await {
            let _ = server::echo(ws).await;
        }
    });
    format!("ws://{addr}/echo")
}

/// Bytes that are not all alike, so a reordered or lost block shows.
fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn lines_go_out_as_text_and_their_echoes_come_back_then_a_clean_close() {
    let rt = runtime();
    let url = echo_server(&rt);
    let run = wsock(&[&url], Input::Bytes(b"hello\nworld, again\n".to_vec()));
    assert_eq!(run.status, 0, "{run:?}");
    // Printed as text: a line sent as binary would come back as hex.
    assert_eq!(run.stdout, b"hello\nworld, again\n", "{run:?}");
    assert!(run.stderr.contains("closed: 1000"), "{run:?}");
}

#[test]
fn binary_lines_come_back_as_hex() {
    let rt = runtime();
    let url = echo_server(&rt);
    let run = wsock(
        &["--binary", &url],
        Input::Bytes(b"AB\n\x00\xff\n".to_vec()),
    );
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "4142\n00ff\n");
}

#[test]
fn output_file_gathers_raw_binary_messages_across_runs() {
    let rt = runtime();
    let url = echo_server(&rt);
    let file = temp_file("raw-output");
    let path = file.to_str().unwrap();
    for input in [&b"\x01\x02\n"[..], b"\x03\n"] {
        let run = wsock(
            &["--binary", "--binary-as", "raw", "--output", path, &url],
            Input::Bytes(input.to_vec()),
        );
        assert_eq!(run.status, 0, "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), [1, 2, 3]);
}

/// A stream echo server: every byte back, then the close answered.
///
/// Each piece is flushed before the next read: the server's reader answers
/// the client's close at once, and whatever its writer still held then
/// could no longer be sent (a close ends both directions; `tokio::io::copy`,
/// which gathers, loses the tail that way, see `tests/server.rs`
/// `accept_stream_round_trip`).
fn stream_echo_server(rt: &tokio::runtime::Runtime) -> String {
    let addr = serve(rt, |incoming| async move {
        if let Ok(ws) = incoming.accept_stream(None).await {
            let (mut tx, mut rx) = ws.split();
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = rx.read(&mut buf).await {
                if tx.write_all(&buf[..n]).await.is_err() || tx.flush().await.is_err() {
                    return;
                }
            }
        }
    });
    format!("ws://{addr}/stream")
}

#[test]
fn stream_mode_brings_megabytes_back_byte_for_byte() {
    let rt = runtime();
    let url = stream_echo_server(&rt);
    let data = payload(3 << 20);
    let file = temp_file("stream-in");
    std::fs::write(&file, &data).unwrap();
    let run = wsock(&["--stream", &url], Input::File(file));
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout == data, "{} bytes came back", run.stdout.len());
    assert!(run.stderr.contains("closed: 1000"), "{}", run.stderr);
    // Standard error is a pipe here and --progress was not given.
    assert!(!run.stderr.contains("received"), "{}", run.stderr);
}

#[test]
fn stream_progress_line_when_asked_for_on_a_pipe() {
    let rt = runtime();
    let url = stream_echo_server(&rt);
    let run = wsock(
        &["--stream", "--progress", &url],
        Input::Bytes(payload(1 << 20)),
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout.len(), 1 << 20);
    assert!(
        run.stderr.contains("sent 1.0 MiB (") && run.stderr.contains("received 1.0 MiB ("),
        "{}",
        run.stderr
    );
}

#[test]
fn headers_subprotocols_and_the_deflate_offer_reach_the_server() {
    let rt = runtime();
    let (seen_tx, seen) = mpsc::channel();
    let addr = serve(&rt, move |incoming| {
        let seen_tx = seen_tx.clone();
        async move {
            let request = incoming.request();
            let header = request.header("X-Token").map(str::to_owned);
            let extensions = request
                .header("Sec-WebSocket-Extensions")
                .map(str::to_owned);
            let offered = incoming.offered_protocols().to_vec();
            seen_tx.send((header, extensions, offered)).unwrap();
            if let Ok(ws) = incoming.accept(Some("chat")).await {
                let _ = server::echo(ws).await;
            }
        }
    });
    let url = format!("ws://{addr}/");
    let run = wsock(
        &[
            "-H",
            "X-Token: abc 123",
            "--subprotocol",
            "chat",
            "--subprotocol=other",
            "--deflate",
            &url,
        ],
        Input::Bytes(b"hi\n".to_vec()),
    );
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.stdout, b"hi\n");
    let (header, extensions, offered) = seen.recv_timeout(LIMIT).unwrap();
    assert_eq!(header.as_deref(), Some("abc 123"));
    assert!(
        extensions.is_some_and(|e| e.starts_with("permessage-deflate")),
        "--deflate offers permessage-deflate"
    );
    assert_eq!(offered, ["chat", "other"]);
}

#[test]
fn refused_connection_is_an_error_with_its_status() {
    // A port nobody listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}/");
    let run = wsock(&[&url], Input::Open);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("(WebErrorStatus::CannotConnect)"),
        "{}",
        run.stderr
    );
}

#[test]
fn server_close_with_another_code_exits_3_without_waiting_for_stdin() {
    let rt = runtime();
    let addr = serve(&rt, |incoming| async move {
        if let Ok(mut ws) = incoming.accept(None).await {
            let _ = ws.send_text("welcome").await;
            let _ = ws.close(4000, "nope").await;
        }
    });
    // Standard input stays open: the server's close alone ends the run.
    let run = wsock(&[&format!("ws://{addr}/")], Input::Open);
    assert_eq!(run.status, 3, "{run:?}");
    assert_eq!(run.stdout, b"welcome\n");
    assert!(run.stderr.contains("closed: 4000 nope"), "{}", run.stderr);
}

#[test]
fn stream_mode_reports_the_servers_failure_close_with_exit_3() {
    let rt = runtime();
    let addr = serve(&rt, |incoming| async move {
        if let Ok(mut ws) = incoming.accept_stream(None).await {
            let _ = ws.close(4000, "nope").await;
        }
    });
    let run = wsock(&["--stream", &format!("ws://{addr}/")], Input::Open);
    assert_eq!(run.status, 3, "{run:?}");
    assert!(run.stderr.contains("closed: 4000 nope"), "{}", run.stderr);
}

#[test]
fn receive_timeout_flag_ends_a_silent_session() {
    let rt = runtime();
    let addr = serve(&rt, |incoming| async move {
        if let Ok(_ws) = incoming.accept(None).await {
            // Connected, and silent for longer than the client waits.
            tokio::time::sleep(LIMIT).await;
        }
    });
    let started = Instant::now();
    let run = wsock(
        &["--receive-timeout", "0.3", &format!("ws://{addr}/")],
        Input::Open,
    );
    assert_eq!(run.status, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("receive timed out (WebErrorStatus::Timeout)"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn bad_usage_exits_2_with_the_usage_line() {
    for args in [
        &["--no-such-flag", "ws://127.0.0.1:1/"][..],
        &[],
        &["--receive-timeout", "soon", "ws://127.0.0.1:1/"],
        &["-H", "Sec-WebSocket-Key: x", "ws://127.0.0.1:1/"],
    ] {
        let run = wsock(args, Input::Bytes(Vec::new()));
        assert_eq!(run.status, 2, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("usage: wsock [OPTIONS] URL"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn help_and_version_go_to_stdout() {
    let help = wsock(&["--help"], Input::Bytes(Vec::new()));
    assert_eq!(help.status, 0);
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("usage: wsock [OPTIONS] URL"), "{text}");
    // The certificate error names and the interactive receive default.
    assert!(
        text.contains("Untrusted") && text.contains("InvalidName"),
        "{text}"
    );
    assert!(text.contains("default none"), "{text}");
    let version = wsock(&["--version"], Input::Bytes(Vec::new()));
    assert_eq!(version.status, 0);
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("wsock {}\n", env!("CARGO_PKG_VERSION"))
    );
}
