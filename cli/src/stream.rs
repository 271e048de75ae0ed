//! Stream mode: standard input to the server and the server's data to
//! standard output (or the output file) through a split `StreamWebSocket`,
//! `tokio::io::copy` each way, with an optional progress line.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use wsock::{StreamWebSocket, StreamWebSocketControl};

use crate::output::End;
use crate::progress::Progress;

/// How long the receiving side may still bring the server's close after
/// the sending side failed (see message mode's `AFTER_SEND_ERROR`).
const AFTER_SEND_ERROR: Duration = Duration::from_secs(1);

/// Where the server's data goes.
pub(crate) type Output = Box<dyn AsyncWrite + Unpin + Send>;

pub(crate) async fn run(
    url: &str,
    control: StreamWebSocketControl,
    out: Output,
    progress: Option<Progress>,
) -> End {
    let ws = match StreamWebSocket::connect(url, control).await {
        Ok(ws) => ws,
        Err(e) => return End::Failed(e),
    };
    let (tx, rx) = ws.split();
    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let ticker = progress.map(|p| tokio::spawn(p.run(sent.clone(), received.clone())));
    let stdin_done = Arc::new(AtomicBool::new(false));
    let mut up = tokio::spawn(send(tx, sent.clone(), stdin_done.clone()));
    let mut rx = Counted {
        inner: rx,
        count: received.clone(),
    };
    let mut out = Local(out);
    let down = async move {
        let copied = match tokio::io::copy(&mut rx, &mut out).await {
            Ok(_) => out.flush().await,
            Err(e) => Err(e),
        };
        (copied, rx.inner.close_status())
    };
    tokio::pin!(down);

    let mut up_done = false;
    let mut up_error: Option<End> = None;
    let grace = tokio::time::sleep(Duration::MAX);
    tokio::pin!(grace);
    let end = loop {
        tokio::select! {
            (copied, status) = &mut down => {
                let end = match copied {
                    Ok(()) => {
                        // A clean end of the stream: the server's close,
                        // or (no frame at all) counted as one without a
                        // code.
                        let (code, reason) = status.unwrap_or((1005, String::new()));
                        End::Closed(code, reason)
                    }
                    Err(e) => up_error.take().unwrap_or_else(|| from_io(e)),
                };
                if !up_done {
                    if stdin_done.load(Ordering::Acquire) {
                        // The close is ours: let its handshake finish.
                        let _ = (&mut up).await;
                    } else {
                        // The server ended first; stdin may never end.
                        up.abort();
                    }
                }
                break match (up_error, end) {
                    // Reading standard input failed: that is the story,
                    // whatever the connection did after it.
                    (Some(local @ End::Local(_)), _) => local,
                    (_, end) => end,
                };
            },
            result = &mut up, if !up_done => {
                up_done = true;
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(end)) => {
                        up_error = Some(end);
                        grace.as_mut().reset(tokio::time::Instant::now() + AFTER_SEND_ERROR);
                    }
                    Err(e) => break End::Local(format!("the sending task failed: {e}")),
                }
            },
            () = &mut grace => {
                if let Some(end) = up_error.take() {
                    break end;
                }
            },
        }
    };
    if let (Some(t), Some(p)) = (ticker, progress) {
        t.abort();
        let _ = t.await;
        p.finish(&sent, &received);
    }
    end
}

/// Copies standard input to the server, then sends the close (1000).
async fn send(
    tx: wsock::StreamSender,
    sent: Arc<AtomicU64>,
    stdin_done: Arc<AtomicBool>,
) -> Result<(), End> {
    let mut tx = Counted {
        inner: tx,
        count: sent,
    };
    let mut stdin = Local(tokio::io::stdin());
    tokio::io::copy(&mut stdin, &mut tx)
        .await
        .map_err(from_io)?;
    stdin_done.store(true, Ordering::Release);
    tx.shutdown().await.map_err(from_io)
}

/// An error of standard input or output, told apart from the socket's own
/// `io::Error`s (a plain `wsock::Error::Io` travels as its bare
/// `io::Error`, so the kind alone cannot say which side failed).
#[derive(Debug)]
struct LocalError(io::Error);

impl std::fmt::Display for LocalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LocalError {}

fn local(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), LocalError(e))
}

/// The `End` for an error out of a copy.
fn from_io(e: io::Error) -> End {
    if e.get_ref().is_some_and(|i| i.is::<LocalError>()) {
        return End::Local(format!("standard input or output: {e}"));
    }
    if e.get_ref().is_some_and(|i| i.is::<wsock::Error>()) {
        let inner = e.into_inner().expect("checked above");
        let err = *inner.downcast::<wsock::Error>().expect("checked above");
        return match err {
            // The server closed with a failure code: a close, not an error
            // of ours (exit status 3, like message mode).
            wsock::Error::PeerClosed { code, reason } => End::Closed(code, reason),
            other => End::Failed(other),
        };
    }
    End::Failed(wsock::Error::from(e))
}

/// Standard input or output, its errors marked as [`LocalError`]s.
struct Local<T>(T);

impl<T: AsyncRead + Unpin> AsyncRead for Local<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf).map_err(local)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Local<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, data).map_err(local)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx).map_err(local)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx).map_err(local)
    }
}

/// A socket half that counts the bytes through it, for the progress line.
struct Counted<T> {
    inner: T,
    count: Arc<AtomicU64>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let n = buf.filled().len() - before;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write(cx, data))?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(n))
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
