//! Which HTTP version a new connection speaks: over TLS what ALPN chose,
//! over plain TCP whether it opens with the HTTP/2 connection preface
//! (RFC 9113 section 3.4, "prior knowledge").

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::connect::Transport;

/// The client's first bytes on an HTTP/2 connection.
pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The ALPN name of HTTP/2 over TLS.
pub(super) const H2: &[u8] = b"h2";

/// Reads from `io` into `rd` until what was read either stops matching the
/// preface (HTTP/1.1, or nothing at all at end of file: `false`) or holds
/// it whole (`true`). Reads only as far as needed to tell, so whatever
/// pace the client sends at, no byte is lost: all of them are in `rd`,
/// for the request head or for `h2` (see [`Rewind`]).
pub(super) async fn is_preface(io: &mut Transport, rd: &mut BytesMut) -> io::Result<bool> {
    loop {
        let n = rd.len().min(PREFACE.len());
        if rd[..n] != PREFACE[..n] {
            return Ok(false);
        }
        if n == PREFACE.len() {
            return Ok(true);
        }
        rd.reserve(1024);
        if io.read_buf(rd).await? == 0 {
            return Ok(false);
        }
    }
}

/// A transport whose first bytes, read already, are given back first.
pub(super) struct Rewind {
    prefix: BytesMut,
    io: Transport,
}

impl Rewind {
    pub(super) fn new(prefix: BytesMut, io: Transport) -> Rewind {
        Rewind { prefix, io }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The TLS configurations of a listener: the one for clients that offer
/// none of its ALPN protocols (or none at all), which answers without
/// ALPN, and the one that offers `h2` and `http/1.1`.
///
/// rustls fails the handshake of a client whose ALPN offer shares nothing
/// with the server's list (RFC 7301 section 3.2); such a client gets the
/// configuration without ALPN instead, and HTTP/1.1.
#[derive(Clone)]
pub(super) struct TlsConfigs {
    plain: Arc<rustls::ServerConfig>,
    alpn: Arc<rustls::ServerConfig>,
}

impl TlsConfigs {
    /// The configurations from the application's: when it names ALPN
    /// protocols of its own, those are used as they are (for every
    /// client); else `h2` (if `http2`) and `http/1.1` are offered.
    pub(super) fn new(config: Arc<rustls::ServerConfig>, http2: bool) -> TlsConfigs {
        if !config.alpn_protocols.is_empty() {
            return TlsConfigs {
                plain: config.clone(),
                alpn: config,
            };
        }
        let mut alpn = (*config).clone();
        if http2 {
            alpn.alpn_protocols.push(H2.to_vec());
        }
        alpn.alpn_protocols.push(b"http/1.1".to_vec());
        TlsConfigs {
            plain: config,
            alpn: Arc::new(alpn),
        }
    }

    /// The configuration for a client that offered `offered` (`None`: no
    /// ALPN extension).
    pub(super) fn for_offer<'a>(
        &self,
        offered: Option<impl Iterator<Item = &'a [u8]>>,
    ) -> Arc<rustls::ServerConfig> {
        let mut offered = match offered {
            Some(offered) => offered,
            None => return self.plain.clone(),
        };
        if offered.any(|p| self.alpn.alpn_protocols.iter().any(|ours| ours == p)) {
            self.alpn.clone()
        } else {
            self.plain.clone()
        }
    }
}
