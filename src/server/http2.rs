//! The server role over HTTP/2 (RFC 8441): one task per connection drives
//! it and hands each request stream to the listener as an [`Incoming`].
//!
//! The task owns the `h2` connection (whose frames move only while it is
//! polled) for as long as the connection lives, also after the listener
//! is gone: then it accepts no new stream (GOAWAY) and serves the sockets
//! already handed over until they end. Each request waiting to be handed
//! over holds one of the listener's pending slots (the same
//! [`MAX_PENDING_CONNECTIONS`](super::MAX_PENDING_CONNECTIONS) as
//! connections waiting for theirs); while none is free, the task goes on
//! driving the connection and `h2` holds new streams, at most
//! [`AcceptOptions::http2_max_concurrent_streams`] of them. When a whole
//! [`AcceptOptions::request_timeout`] passes without a new stream and none
//! is open at its end, the connection is closed with GOAWAY (an idle one
//! thus lasts one to two timeouts), as an HTTP/1.1 connection that sends no
//! request is.
//!
//! Each stream may receive [`STREAM_WINDOW`] ahead of its socket's reads,
//! and the connection as much as all its streams together, so a socket
//! whose application does not read holds that much and stalls only
//! itself: the others on the connection go on.
//!
//! When the connection fails (the client vanishes, or breaks HTTP/2), the
//! task ends and every socket on it fails with the error that ended it.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::listener::ErrorSink;
use super::negotiate::judge;
use super::{AcceptOptions, Incoming, LINGER, Responder};
use crate::connect::Transport;
use crate::error::{Error, Result, TimeoutKind};
use crate::handshake::server::{Request, reason_phrase};
use crate::http2::{H2Stream, LinkInfo, h2_io_error};
use crate::information::UpgradeResponse;
use crate::session::with_timeout;

/// How much each stream may receive ahead of its socket's reads (its
/// HTTP/2 window): what a socket whose application does not read holds.
pub(super) const STREAM_WINDOW: u32 = 256 * 1024;

/// The largest window HTTP/2 allows (RFC 9113 section 6.9.1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

/// One request stream, waiting for its answer.
#[derive(Debug)]
pub(super) struct Respond {
    respond: SendResponse<Bytes>,
    body: RecvStream,
    link: Arc<LinkInfo>,
}

/// Headers HTTP/2 forbids (RFC 9113 section 8.2.2) or that `h2` writes
/// itself; left out of answers.
const CONNECTION_HEADERS: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

impl Respond {
    pub(super) fn local_addr(&self) -> Option<SocketAddr> {
        self.link.local_addr
    }

    pub(super) fn peer_addr(&self) -> Option<SocketAddr> {
        self.link.peer_addr
    }

    /// Sends a final plain answer on the stream (with `Content-Length`;
    /// `head_only`: without the body) and ends it; the connection goes on.
    /// The body leaves as the client's window allows, within the same
    /// [`LINGER`] as over HTTP/1.1: a client that does not read it by then
    /// gets the stream reset (CANCEL), and the answer fails with
    /// [`Error::Timeout`], so no one can keep a body queued for as long
    /// as the connection lives.
    pub(super) async fn answer(
        mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        head_only: bool,
    ) -> Result<()> {
        let mut response = response(status, headers)?;
        response.headers_mut().insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(body.len()),
        );
        let empty = head_only || body.is_empty();
        let mut send = self
            .respond
            .send_response(response, empty)
            .map_err(h2_error)?;
        if empty {
            return Ok(());
        }
        match tokio::time::timeout(LINGER, send_body(&mut send, body)).await {
            Ok(sent) => sent,
            Err(_) => {
                send.send_reset(Reason::CANCEL);
                Err(Error::Timeout(TimeoutKind::Send))
            }
        }
    }

    /// Answers 200 (RFC 8441 section 5) with the agreed subprotocol and
    /// extensions: the stream becomes the socket's transport.
    pub(super) fn accept(
        mut self,
        protocol: Option<&str>,
        extensions: Option<&str>,
    ) -> Result<(Transport, UpgradeResponse)> {
        let mut headers = Vec::new();
        if let Some(p) = protocol {
            headers.push(("sec-websocket-protocol".to_owned(), p.to_owned()));
        }
        if let Some(e) = extensions {
            headers.push(("sec-websocket-extensions".to_owned(), e.to_owned()));
        }
        let answer = response(200, &headers)?;
        let send = self
            .respond
            .send_response(answer, false)
            .map_err(h2_error)?;
        let sent: Vec<httparse::Header<'_>> = (headers.iter())
            .map(|(name, value)| httparse::Header {
                name,
                value: value.as_bytes(),
            })
            .collect();
        let answer = UpgradeResponse::from_parts(200, reason_phrase(200), &sent);
        let stream = H2Stream::new(send, self.body, self.link);
        Ok((Transport::Http2(Box::new(stream)), answer))
    }
}

/// Sends `body` and ends the stream, never more at once than the window
/// the client opened (so h2 queues nothing beyond it).
async fn send_body(send: &mut SendStream<Bytes>, body: &[u8]) -> Result<()> {
    let mut rest = Bytes::copy_from_slice(body);
    while !rest.is_empty() {
        send.reserve_capacity(rest.len());
        let granted = match poll_fn(|cx| send.poll_capacity(cx)).await {
            Some(granted) => granted.map_err(h2_error)?,
            None => {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "the HTTP/2 stream ended before its answer was sent",
                )));
            }
        };
        let chunk = rest.split_to(granted.min(rest.len()));
        if !chunk.is_empty() {
            send.send_data(chunk, rest.is_empty()).map_err(h2_error)?;
        }
    }
    Ok(())
}

/// An answer head with `status` and `headers`, less those HTTP/2 forbids.
fn response(status: u16, headers: &[(String, String)]) -> Result<http::Response<()>> {
    let mut response = http::Response::new(());
    *response.status_mut() = http::StatusCode::from_u16(status)
        .map_err(|_| Error::invalid(format!("HTTP status {status}")))?;
    for (name, value) in headers {
        if CONNECTION_HEADERS
            .iter()
            .any(|c| name.eq_ignore_ascii_case(c))
        {
            continue;
        }
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::invalid(format!("header name {name:?}")))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| Error::invalid(format!("header {name}: value {value:?}")))?;
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

fn h2_error(e: h2::Error) -> Error {
    Error::Io(h2_io_error(e))
}

/// The request as the HTTP/1.1 path sees one: method, path, headers (the
/// `:authority` first as `host` when there is no `host`), version 2 and
/// the extended CONNECT's `:protocol`.
fn request_of(parts: &http::request::Parts) -> Request {
    let mut headers = Vec::with_capacity(parts.headers.len() + 1);
    if let Some(authority) = parts.uri.authority()
        && !parts.headers.contains_key(http::header::HOST)
    {
        headers.push(("host".to_owned(), authority.as_str().to_owned()));
    }
    for (name, value) in &parts.headers {
        headers.push((
            name.as_str().to_owned(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        ));
    }
    let path =
        (parts.uri.path_and_query()).map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    Request {
        method: parts.method.as_str().to_owned(),
        path,
        headers,
        version: 2,
        protocol: (parts.extensions.get::<h2::ext::Protocol>()).map(|p| p.as_str().to_owned()),
    }
}

/// Serves one HTTP/2 connection over `io` (TLS that chose `h2` by ALPN,
/// or TCP that opened with the connection preface): see the module
/// documentation.
pub(super) async fn serve<T>(
    io: T,
    link: LinkInfo,
    options: AcceptOptions,
    tx: mpsc::Sender<Incoming>,
    pending: Arc<Semaphore>,
    errors: Arc<ErrorSink>,
    handshake_permit: Option<OwnedSemaphorePermit>,
) where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let peer = link.peer_addr;
    let link = Arc::new(link);
    let streams = options.http2_max_concurrent_streams.max(1);
    let mut builder = h2::server::Builder::new();
    builder
        .enable_connect_protocol()
        .max_concurrent_streams(streams)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(STREAM_WINDOW.saturating_mul(streams).min(MAX_WINDOW))
        .max_header_list_size(u32::try_from(options.limits.max_head_size).unwrap_or(u32::MAX));
    let handshake = with_timeout(options.request_timeout, TimeoutKind::Receive, async {
        builder.handshake::<T, Bytes>(io).await.map_err(h2_error)
    });
    let mut conn = match handshake.await {
        Ok(conn) => conn,
        Err(e) => return errors.report(peer, &e),
    };
    drop(handshake_permit);
    // No new stream after a GOAWAY of ours.
    let mut closing = false;
    loop {
        // A pending slot first, while the connection keeps moving.
        let permit = match driving(&mut conn, pending.clone().acquire_owned()).await {
            Ok(permit) => permit,
            Err(end) => return report_end(end, peer, &errors),
        };
        // Idle: no stream open at the end of a whole request timeout spent
        // waiting for one.
        let next = if closing {
            conn.accept().await
        } else {
            let wait = with_timeout(options.request_timeout, TimeoutKind::Receive, async {
                Ok(conn.accept().await)
            });
            match wait.await {
                Ok(next) => next,
                Err(_) => {
                    if !conn.has_streams() {
                        conn.graceful_shutdown();
                        closing = true;
                    }
                    continue;
                }
            }
        };
        let (request, respond) = match next {
            None => return,
            Some(Err(e)) => return report_end(Err(e), peer, &errors),
            Some(Ok(accepted)) => accepted,
        };
        let (parts, body) = request.into_parts();
        let request = request_of(&parts);
        let incoming = Incoming {
            upgrade: judge(&request, &options),
            conn: Responder::Http2(Respond {
                respond,
                body,
                link: link.clone(),
            }),
            request,
            options: options.clone(),
        };
        match driving(&mut conn, tx.send(incoming)).await {
            Ok(Ok(())) => {}
            // The listener is gone: finish what runs, take no more.
            Ok(Err(_)) if !closing => {
                conn.graceful_shutdown();
                closing = true;
            }
            Ok(Err(_)) => {}
            Err(end) => return report_end(end, peer, &errors),
        }
        drop(permit);
    }
}

/// Runs `fut` while driving `conn`; `Err` with how the connection ended
/// if it ended first.
async fn driving<T, F>(
    conn: &mut h2::server::Connection<T, Bytes>,
    fut: F,
) -> std::result::Result<F::Output, std::result::Result<(), h2::Error>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    F: Future,
{
    let mut fut = std::pin::pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        conn.poll_closed(cx).map(Err)
    })
    .await
}

/// Reports how a connection ended, unless it ended well: closed, a
/// GOAWAY without error, or a client that hung up between streams.
fn report_end(
    end: std::result::Result<(), h2::Error>,
    peer: Option<SocketAddr>,
    errors: &ErrorSink,
) {
    let Err(e) = end else { return };
    let benign = e.reason() == Some(Reason::NO_ERROR)
        || e.get_io().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::UnexpectedEof
            )
        });
    if !benign {
        errors.report(peer, &h2_error(e));
    }
}
