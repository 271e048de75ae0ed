//! TLS client configuration and the client handshake for `wss://`.
//!
//! rustls with the ring provider. The default configuration trusts the
//! Mozilla roots of `webpki-roots` and sets no ALPN protocol: a WebSocket
//! upgrade is HTTP/1.1, and offering `h2` would let a server pick a protocol
//! the upgrade cannot use.

use std::sync::{Arc, OnceLock};

#[cfg(test)]
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::Target;
use crate::error::Error;

/// A client configuration trusting `roots`, with the ring provider, the
/// safe default protocol versions, no client certificate and no ALPN.
fn config_with(roots: RootCertStore) -> Arc<ClientConfig> {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            // The ring provider supports both default versions; this cannot fail.
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
    Arc::new(config)
}

fn webpki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The configuration used when the caller gives none: the `webpki-roots`
/// trust anchors. Built once and shared.
pub(crate) fn default_tls_config() -> Arc<ClientConfig> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    DEFAULT.get_or_init(|| config_with(webpki_roots())).clone()
}

/// A configuration trusting the `extra` certificates (DER), and the
/// `webpki-roots` anchors too when `include_webpki` is true.
///
/// A certificate that cannot be used as a trust anchor, or an empty set of
/// roots, is [`Error::InvalidArgument`].
#[cfg(test)]
pub(crate) fn tls_config_with_roots<'a>(
    extra: impl IntoIterator<Item = CertificateDer<'a>>,
    include_webpki: bool,
) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = if include_webpki {
        webpki_roots()
    } else {
        RootCertStore::empty()
    };
    for cert in extra {
        roots
            .add(cert)
            .map_err(|e| Error::invalid(format!("unusable root certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::invalid("no root certificates to trust"));
    }
    Ok(config_with(roots))
}

/// Runs the TLS client handshake over `tcp`, with SNI and certificate
/// checks for `target.server_name`. A certificate problem is
/// [`Error::Tls`] (whose status tells expired, wrong name, unknown issuer...).
pub(crate) async fn handshake(
    tcp: TcpStream,
    target: &Target,
    config: Option<&Arc<ClientConfig>>,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    let config = config.cloned().unwrap_or_else(default_tls_config);
    TlsConnector::from(config)
        .connect(target.server_name.clone(), tcp)
        .await
        // `From<io::Error>` takes the rustls error out of the io::Error.
        .map_err(Error::from)
}
