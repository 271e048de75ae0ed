//! Message mode: lines of standard input out as messages, messages in to
//! standard output, through a split `MessageWebSocket` so that sending
//! and receiving go on at once (a server may talk first, or only).

use std::io::{self, BufRead};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use wsock::{MessageSender, MessageWebSocket, MessageWebSocketControl, Received};

use crate::args::Options;
use crate::output::{End, Sink, write_message};

/// How long the receiver may still bring the server's close after a send
/// failed: a send fails when the server has closed, and then its code and
/// reason say more than the send's error.
const AFTER_SEND_ERROR: Duration = Duration::from_secs(1);

pub(crate) async fn run(o: &Options, control: MessageWebSocketControl, mut out: Sink) -> End {
    let ws = match MessageWebSocket::connect(&o.url, control).await {
        Ok(ws) => ws,
        Err(e) => return End::Failed(e),
    };
    let (tx, mut rx) = ws.split();
    let lines = read_lines();
    let closing = Arc::new(AtomicBool::new(false));
    let mut sending = tokio::spawn(send_lines(tx, lines, o.binary, closing.clone()));
    // The sending task's result, once it came (a JoinHandle must not be
    // polled again after that).
    let mut send_done = false;
    let mut send_error: Option<End> = None;
    let grace = tokio::time::sleep(Duration::MAX);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            received = rx.receive() => match received {
                Ok(Received::Message(m)) => {
                    if let Err(e) = write_message(&mut out, &m, o.binary_as) {
                        return End::Local(format!("writing the output: {e}"));
                    }
                }
                Ok(Received::Closed { code, reason }) => {
                    if send_done {
                        // Nothing left to wait for.
                    } else if closing.load(Ordering::Acquire) {
                        // Our close is under way: let it finish (the
                        // library bounds it by the close timeout).
                        let _ = (&mut sending).await;
                    } else {
                        // The server closed first; standard input may be
                        // a terminal that never ends.
                        sending.abort();
                    }
                    return End::Closed(code, reason);
                }
                Err(e) => return send_error.unwrap_or(End::Failed(e)),
            },
            sent = &mut sending, if !send_done => {
                send_done = true;
                let end = match sent {
                    // Our close went out and was answered; the receiver
                    // still gets the messages before the answer, then the
                    // close itself.
                    Ok(Ok(())) => continue,
                    Ok(Err(end)) => end,
                    Err(e) => End::Local(format!("the sending task failed: {e}")),
                };
                send_error = Some(end);
                grace.as_mut().reset(tokio::time::Instant::now() + AFTER_SEND_ERROR);
            },
            () = &mut grace => {
                if let Some(end) = send_error {
                    return end;
                }
            },
        }
    }
}

/// Reads standard input on a thread of its own, a line at a time, without
/// the line end. Blocking reads stay off the runtime, and a read that never
/// returns (a terminal) does not keep the process from exiting. The bounded
/// channel makes the reading wait while the sends do.
fn read_lines() -> mpsc::Receiver<io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    if tx.blocking_send(Ok(line)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    rx
}

/// Sends each line, then, at the end of standard input, closes with 1000
/// and waits for the server's answer.
async fn send_lines(
    mut tx: MessageSender,
    mut lines: mpsc::Receiver<io::Result<Vec<u8>>>,
    binary: bool,
    closing: Arc<AtomicBool>,
) -> Result<(), End> {
    let mut number = 0u64;
    while let Some(line) = lines.recv().await {
        number += 1;
        let line = line.map_err(|e| End::Local(format!("reading standard input: {e}")))?;
        let sent = if binary {
            tx.send_binary(&line).await
        } else {
            // A text message has a line end of its own kind: CRLF too.
            let mut line = line;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let text = String::from_utf8(line).map_err(|_| {
                End::Local(format!(
                    "line {number} of standard input is not UTF-8 (--binary sends bytes)"
                ))
            })?;
            tx.send_text(&text).await
        };
        sent.map_err(End::Failed)?;
    }
    closing.store(true, Ordering::Release);
    tx.close(1000, "").await.map_err(End::Failed)
}
