//! Making a client's HTTP/2 connection: TCP (or the proxy's tunnel), TLS
//! with ALPN, the HTTP/2 preface and the server's SETTINGS.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use rustls::ClientConfig;

use super::LinkInfo;
use super::pool::Dialed;
use crate::connect::{self, ConnectOptions, Target, Transport};
use crate::error::{Error, Http2Error, Result};

/// The window the client gives each stream: what a socket whose reader
/// stalls lets the server send ahead (64 KiB more than the session's
/// largest read, so a reader that keeps up never waits on it).
pub(crate) const STREAM_WINDOW: u32 = 256 * 1024;
/// The window of the whole connection: 64 streams' windows, so that
/// streams whose readers stall do not stall the others before that many.
pub(crate) const CONNECTION_WINDOW: u32 = 64 * STREAM_WINDOW;

/// SETTINGS_MAX_HEADER_LIST_SIZE: 64 KiB of response headers.
const MAX_HEADER_LIST: u32 = 64 * 1024;

/// ALPN's name for HTTP/2 over TLS.
const H2: &[u8] = b"h2";
const HTTP11: &[u8] = b"http/1.1";

/// A copy of `config` that offers HTTP/2 in ALPN: `h2` alone when it is
/// required (`exact`), else `h2` then `http/1.1`. Everything else, the
/// certificate verifier included, is `config`'s.
pub(crate) fn alpn_config(config: &ClientConfig, exact: bool) -> Arc<ClientConfig> {
    let mut c = config.clone();
    c.alpn_protocols = match exact {
        true => vec![H2.to_vec()],
        false => vec![H2.to_vec(), HTTP11.to_vec()],
    };
    Arc::new(c)
}

/// How a connect for HTTP/2 ended.
pub(crate) enum Outcome {
    /// An HTTP/2 connection that takes WebSockets.
    Http2(Box<Dialed>),
    /// "Or lower": the server chose HTTP/1.1 (or nothing) in ALPN; the
    /// TLS connection is here for the HTTP/1.1 upgrade.
    Http11Here(Transport, std::net::SocketAddr),
    /// "Or lower": the server speaks HTTP/2 without extended CONNECT; the
    /// upgrade needs a connection that does not offer `h2`.
    Http11Elsewhere,
}

/// Connects to `target` for HTTP/2: over `wss://` with `h2` offered in
/// ALPN (see [`alpn_config`]), over `ws://` with prior knowledge (only
/// when `exact`). With `exact`, a server that does not choose `h2` or does
/// not announce SETTINGS_ENABLE_CONNECT_PROTOCOL is an [`Http2Error`].
pub(crate) async fn dial(target: &Target, opts: &ConnectOptions, exact: bool) -> Result<Outcome> {
    let mut with_alpn;
    let opts = match (target.tls, &opts.tls) {
        (true, Some(config)) => {
            with_alpn = opts.clone();
            with_alpn.tls = Some(alpn_config(config, exact));
            &with_alpn
        }
        // The client always sets the TLS configuration of a wss:// connect.
        (true, None) => return Err(Error::invalid("no TLS configuration for HTTP/2")),
        (false, _) => opts,
    };
    let (io, remote) = connect::open(target, opts).await?;
    if let Transport::ClientTls(tls) = &io {
        let chosen = tls.get_ref().1.alpn_protocol();
        if chosen != Some(H2) {
            if exact {
                let chosen = chosen.map(|p| String::from_utf8_lossy(p).into_owned());
                return Err(Error::Http2(Http2Error::NotNegotiated(chosen)));
            }
            return Ok(Outcome::Http11Here(io, remote));
        }
    }
    let link = Arc::new(LinkInfo::of_driven(&io));
    let (send, mut connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        // No server push: nothing here would read it.
        .enable_push(false)
        // The answer's headers: as much as an HTTP/1.1 head may hold here
        // (RFC 9113's accounting adds 32 bytes a field).
        .max_header_list_size(MAX_HEADER_LIST)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(h2_error)?;
    // The server's SETTINGS are its preface's first frame: once a PING of
    // ours is answered, they are known (SETTINGS_ENABLE_CONNECT_PROTOCOL
    // and SETTINGS_MAX_CONCURRENT_STREAMS among them). The connection is
    // driven here meanwhile.
    let Some(mut ping) = connection.ping_pong() else {
        return Err(Error::Http2(Http2Error::Connection(
            None,
            "no PING handle".into(),
        )));
    };
    let pong = pin!(ping.ping(h2::Ping::opaque()));
    let mut connection = Some(connection);
    drive_until(&mut connection, pong).await?;
    let connection = connection
        .ok_or_else(|| Error::Http2(Http2Error::Connection(None, "the connection ended".into())))?;
    if !send.is_extended_connect_protocol_enabled() {
        if exact {
            return Err(Error::Http2(Http2Error::NoExtendedConnect));
        }
        return Ok(Outcome::Http11Elsewhere);
    }
    Ok(Outcome::Http2(Box::new(Dialed {
        send,
        connection,
        link,
        remote,
    })))
}

/// Polls `connection` (so that it reads and writes) until `until` is done;
/// a connection that ends first is taken out of `connection` and the error
/// is its own.
async fn drive_until<F>(
    connection: &mut Option<h2::client::Connection<Transport, Bytes>>,
    mut until: Pin<&mut F>,
) -> Result<()>
where
    F: Future<Output = std::result::Result<h2::Pong, h2::Error>>,
{
    poll_fn(|cx| {
        if let Poll::Ready(r) = until.as_mut().poll(cx) {
            return Poll::Ready(r.map(drop).map_err(h2_error));
        }
        if let Some(c) = connection.as_mut()
            && let Poll::Ready(r) = Pin::new(c).poll(cx)
        {
            *connection = None;
            return Poll::Ready(Err(match r {
                Err(e) => h2_error(e),
                Ok(()) => Error::Http2(Http2Error::Connection(
                    None,
                    "the server closed the connection".into(),
                )),
            }));
        }
        Poll::Pending
    })
    .await
}

/// An `h2` failure as our error (an I/O failure stays [`Error::Io`]).
pub(crate) fn h2_error(e: h2::Error) -> Error {
    Error::from(super::h2_io_error(e))
}
