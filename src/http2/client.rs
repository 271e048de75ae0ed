//! The client's WebSocket over HTTP/2: RFC 8441's extended CONNECT on a
//! pooled connection ([`super::pool`]).
//!
//! The request: `:method CONNECT`, `:protocol websocket`, `:scheme`
//! (`https` or `http`), `:authority` (the `Host` of HTTP/1.1), `:path`,
//! `sec-websocket-version: 13`, the subprotocols and the
//! permessage-deflate offer, the caller's headers (less those HTTP/2
//! forbids: `keep-alive`, `proxy-connection`, `transfer-encoding`, `te`)
//! and the credential, by the same rules as over HTTP/1.1 (the caller
//! decides which go to which origin). A 200 opens the socket, after the
//! same subprotocol and extension checks as a 101
//! ([`check_agreement`]); any other status is
//! [`HandshakeError::Status`] with the response (headers and as much of
//! the body as [`Limits::max_body_size`]), as over HTTP/1.1. A 401 that
//! invites Basic credentials is answered on a new stream of the same
//! connection.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};

use super::dial::{self, Outcome, h2_error};
use super::pool::{Key, Lease, Pool};
use super::{H2Stream, h2_io_error};
use crate::client::Agreed;
use crate::connect::{ConnectOptions, Target, Transport};
use crate::control::ClientOptions;
use crate::credential::offers_basic;
use crate::error::{Error, Result};
use crate::handshake::client::{Request, check_agreement};
use crate::handshake::{HandshakeError, HttpResponse, Limits};
use crate::information::UpgradeResponse;
use crate::proto::deflate::DeflateOptions;

/// How [`open`] ended.
pub(crate) enum Opened {
    /// The socket's stream, the address connected to and what was agreed.
    Socket(Transport, SocketAddr, Agreed),
    /// "Or lower" and no WebSocket over HTTP/2 here: upgrade over HTTP/1.1,
    /// on this TLS connection (ALPN chose HTTP/1.1), or on a new one.
    Http11(Option<(Transport, SocketAddr)>),
}

/// Opens a WebSocket over HTTP/2 to `target`: on a pooled connection when
/// one has room, else on a new one. `authorization` is the Basic value
/// and whether to send it before any 401. With `exact`, HTTP/2 is
/// required; otherwise [`Opened::Http11`] says to upgrade over HTTP/1.1.
pub(crate) async fn open(
    target: &Target,
    opts: &ClientOptions,
    connect: &ConnectOptions,
    headers: &[(String, String)],
    authorization: Option<(&str, bool)>,
    exact: bool,
) -> Result<Opened> {
    let pool = Pool::global();
    let key = Key::of(target, connect);
    // "Or lower" to a server that lately spoke HTTP/2 without extended
    // CONNECT: straight to HTTP/1.1, without an HTTP/2 connection first.
    if !exact && pool.known_without_websockets(&key) {
        return Ok(Opened::Http11(None));
    }
    let mut sent = authorization.filter(|a| a.1).map(|a| a.0);
    // A pooled connection may turn out to be going away (GOAWAY) or dead
    // when the stream is opened: then once more on a new one.
    let mut fresh = false;
    loop {
        let lease = match pool.find(&key) {
            Some(lease) => lease,
            None => {
                let lock = pool.dial_lock(&key);
                let _dialing = lock.lock().await;
                // Whoever held the lock may have made a connection with room.
                match pool.find(&key) {
                    Some(lease) => lease,
                    None => match dial::dial(target, connect, exact).await? {
                        Outcome::Http2(dialed) => {
                            fresh = true;
                            pool.add(key.clone(), *dialed)
                        }
                        Outcome::Http11Here(io, remote) => {
                            return Ok(Opened::Http11(Some((io, remote))));
                        }
                        Outcome::Http11Elsewhere => {
                            pool.remember_no_websockets(&key);
                            return Ok(Opened::Http11(None));
                        }
                    },
                }
            }
        };
        match connect_stream(&lease, target, opts, headers, sent).await {
            Ok(Answer::Open(stream, agreed)) => {
                let stream = H2Stream::new(stream.0, stream.1, lease.link.clone())
                    .quiet_end()
                    .holding(Box::new(lease.guard));
                return Ok(Opened::Socket(
                    Transport::Http2(Box::new(stream)),
                    lease.remote,
                    agreed,
                ));
            }
            Ok(Answer::Refused(response)) => {
                let retry = match authorization {
                    Some((value, _)) if sent.is_none() && response.status == 401 => {
                        offers_basic(&response).then_some(value)
                    }
                    _ => None,
                };
                match retry {
                    Some(value) => sent = Some(value),
                    None => return Err(HandshakeError::Status(response).into()),
                }
            }
            Err(Refusal::Stream(e)) => return Err(e),
            Err(Refusal::Connection(e)) => {
                lease.retire(pool);
                if fresh {
                    return Err(e);
                }
                fresh = true;
            }
        }
    }
}

/// What the server answered the extended CONNECT.
enum Answer {
    /// 200: the stream's halves and what was agreed.
    Open((h2::SendStream<Bytes>, h2::RecvStream), Agreed),
    /// Any other status.
    Refused(Box<HttpResponse>),
}

/// Why a stream did not open.
enum Refusal {
    /// The stream's own failure (a reset, a bad answer).
    Stream(Error),
    /// The connection takes no stream (GOAWAY, or it failed).
    Connection(Error),
}

/// Sends the extended CONNECT on `lease`'s connection and reads the answer.
async fn connect_stream(
    lease: &Lease,
    target: &Target,
    opts: &ClientOptions,
    headers: &[(String, String)],
    authorization: Option<&str>,
) -> std::result::Result<Answer, Refusal> {
    let offer = opts.deflate.as_ref().map(DeflateOptions::offer);
    let request =
        request(target, opts, headers, offer.as_deref(), authorization).map_err(Refusal::Stream)?;
    let connection = |e: h2::Error| Refusal::Connection(h2_error(e));
    let mut send = lease.send.clone().ready().await.map_err(connection)?;
    let (response, stream) = send.send_request(request, false).map_err(|e| {
        // A refusal to even start the stream is the connection's.
        connection(e)
    })?;
    drop(send);
    let response = response.await.map_err(|e| {
        // REFUSED_STREAM: the server did not process the stream (RFC 9113
        // section 8.7), so another connection may take it.
        if e.is_go_away() || e.is_io() || e.reason() == Some(h2::Reason::REFUSED_STREAM) {
            Refusal::Connection(h2_error(e))
        } else {
            Refusal::Stream(h2_error(e))
        }
    })?;
    let (parts, mut body) = response.into_parts();
    let raw: Vec<httparse::Header<'_>> = (parts.headers.iter())
        .map(|(name, value)| httparse::Header {
            name: name.as_str(),
            value: value.as_bytes(),
        })
        .collect();
    let status = parts.status.as_u16();
    let reason = parts.status.canonical_reason().unwrap_or("");
    if status != 200 {
        let headers = (raw.iter())
            .map(|h| {
                let value = String::from_utf8_lossy(h.value).into_owned();
                (h.name.to_owned(), value)
            })
            .collect();
        let body = read_body(&mut body, Limits::default().max_body_size).await;
        return Ok(Answer::Refused(Box::new(HttpResponse {
            status,
            reason: reason.to_owned(),
            headers,
            body,
        })));
    }
    let checks = Request {
        protocols: &opts.protocols,
        extensions: offer.as_deref(),
        ..Request::default()
    };
    let accepted = check_agreement(&raw, &checks).map_err(|e| Refusal::Stream(e.into()))?;
    let deflate = match (&opts.deflate, accepted.extensions) {
        (Some(options), Some(answer)) => match options.accept_answer(&answer) {
            Ok(agreed) => Some(agreed),
            Err(reason) => {
                let e = HandshakeError::BadExtension { answer, reason };
                return Err(Refusal::Stream(e.into()));
            }
        },
        _ => None,
    };
    let agreed = Agreed {
        protocol: accepted.protocol,
        deflate,
        response: UpgradeResponse::from_parts(status, reason, &raw),
    };
    Ok(Answer::Open((stream, body), agreed))
}

/// Headers HTTP/2 forbids (RFC 9113 section 8.2.2) that the caller may set
/// for HTTP/1.1; `connection` and `upgrade` are the handshake's own and
/// never come from the caller.
fn connection_specific(name: &str) -> bool {
    ["keep-alive", "proxy-connection", "transfer-encoding", "te"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// The extended CONNECT for `target`.
fn request(
    target: &Target,
    opts: &ClientOptions,
    headers: &[(String, String)],
    offer: Option<&str>,
    authorization: Option<&str>,
) -> Result<http::Request<()>> {
    let scheme = if target.tls { "https" } else { "http" };
    let uri = format!("{scheme}://{}{}", target.host_header, target.resource);
    let mut builder = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(uri)
        .extension(h2::ext::Protocol::from_static("websocket"))
        .header("sec-websocket-version", "13");
    if !opts.protocols.is_empty() {
        builder = builder.header("sec-websocket-protocol", opts.protocols.join(", "));
    }
    if let Some(offer) = offer {
        builder = builder.header("sec-websocket-extensions", offer);
    }
    for (name, value) in headers.iter().filter(|(n, _)| !connection_specific(n)) {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder
        .body(())
        .map_err(|e| Error::invalid(format!("the HTTP/2 request: {e}")))
}

/// The body of a refused CONNECT, up to `max` bytes (what the server sends
/// before it ends the stream; the connect timeout bounds the wait).
async fn read_body(body: &mut h2::RecvStream, max: usize) -> Bytes {
    let mut kept = BytesMut::new();
    while kept.len() < max {
        match body.data().await {
            Some(Ok(chunk)) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                let take = chunk.len().min(max - kept.len());
                kept.extend_from_slice(&chunk[..take]);
            }
            Some(Err(e)) => {
                // What came is kept; the reason the body ended is not the
                // caller's business (the status is).
                drop(h2_io_error(e));
                break;
            }
            None => break,
        }
    }
    kept.freeze()
}
