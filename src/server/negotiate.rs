//! The decisions an upgrade gets whatever HTTP version carries it: one
//! place for both the HTTP/1.1 `GET` with `Upgrade: websocket` and the
//! HTTP/2 extended CONNECT, so that both paths check and agree to the same
//! things.

use crate::error::{Error, Result};
use crate::handshake::server::{Rejection, Request, Upgrade, check_upgrade};
use crate::proto::deflate::DeflateConfig;
use crate::proto::{Config, Role};
use crate::session::SessionOptions;

use super::AcceptOptions;

/// Whether `request` is an upgrade this server accepts: the checks of its
/// HTTP version (RFC 6455 section 4.2.1, or RFC 8441 section 5 over
/// HTTP/2), then the allowed origins (403).
pub(super) fn judge(request: &Request, options: &AcceptOptions) -> Result<Upgrade, Rejection> {
    let up = match request.version {
        #[cfg(feature = "http2")]
        2 => crate::handshake::server::check_connect(request)?,
        _ => check_upgrade(request)?,
    };
    if !origin_allowed(&options.allowed_origins, up.origin.as_deref()) {
        return Err(Rejection::new(403, "origin not allowed"));
    }
    Ok(up)
}

fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    match origin {
        Some(o) if !allowed.is_empty() => allowed.iter().any(|a| a.eq_ignore_ascii_case(o)),
        _ => true,
    }
}

/// What accepting an upgrade agrees to: the answer's extension header and
/// how the session and its core run.
pub(super) struct Agreement {
    /// The `Sec-WebSocket-Extensions` answer, if an extension was agreed.
    pub(super) extensions: Option<String>,
    /// The agreed permessage-deflate parameters.
    pub(super) deflate: Option<DeflateConfig>,
    pub(super) session: SessionOptions,
    pub(super) config: Config,
}

/// Decides what accepting `up` with `protocol` agrees to, or why it cannot
/// be accepted: the answer to send (a 500 for the server's own mistakes: a
/// subprotocol the client did not offer, invalid options) and the error
/// the accept fails with.
pub(super) fn agree(
    up: &Upgrade,
    options: &AcceptOptions,
    protocol: Option<&str>,
) -> std::result::Result<Agreement, (Rejection, Error)> {
    if let Some(p) = protocol
        && !up.protocols.iter().any(|o| o == p)
    {
        return Err((
            Rejection::new(500, "the server chose a subprotocol that was not offered"),
            Error::invalid(format!("subprotocol {p:?} was not offered")),
        ));
    }
    let invalid = |e: Error| (Rejection::new(500, "invalid server options"), e);
    let deflate = match (&options.deflate, &up.extensions) {
        (Some(deflate), Some(offers)) => {
            deflate
                .check()
                .map_err(|why| invalid(Error::invalid(format!("deflate: {why}"))))?;
            deflate.answer_offers(offers)
        }
        _ => None,
    };
    let o = options;
    let session = SessionOptions {
        send_timeout: o.send_timeout,
        receive_timeout: o.receive_timeout,
        close_timeout: o.close_timeout,
        read_chunk: o.receive_buffer_size,
        keep_alive_interval: o.keep_alive_interval,
        keep_alive_timeout: o.keep_alive_timeout,
        ..SessionOptions::default()
    };
    session.check().map_err(invalid)?;
    let (deflate, extensions) = match deflate {
        Some((agreed, answer)) => (Some(agreed), Some(answer)),
        None => (None, None),
    };
    let mut config = Config::new(Role::Server);
    config.max_frame_size = o.max_frame_size.min(o.max_message_size);
    config.max_message_size = o.max_message_size;
    config.deflate = deflate;
    Ok(Agreement {
        extensions,
        deflate,
        session,
        config,
    })
}
