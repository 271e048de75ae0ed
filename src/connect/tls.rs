//! TLS client configuration and the client handshake for `wss://`.
//!
//! rustls with the ring provider. The default configuration trusts the
//! Mozilla roots of `webpki-roots`, checks certificates with the same
//! [`Verifier`] as any other configuration of ours, and sets no ALPN protocol: a WebSocket
//! upgrade is HTTP/1.1, and offering `h2` would let a server pick a protocol
//! the upgrade cannot use.
//!
//! [`setup`] turns a control's TLS options into the configuration of one
//! `connect`: the shared default (no option set), the caller's own
//! `rustls::ClientConfig`, or a configuration of its own with a
//! [`Verifier`] (custom roots, ignorable errors, a validation hook, a
//! client certificate).

use std::sync::{Arc, OnceLock};

#[cfg(test)]
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::Target;
use super::verify::{CertificateOptions, Verifier};
use crate::certificates::ChainValidationResult;
use crate::error::Error;

/// A client configuration trusting `roots` through a [`Verifier`] with
/// the certificate options `certs` (the ring provider, the safe default
/// protocol versions, no ALPN), and that verifier.
fn config_with(
    roots: RootCertStore,
    certs: &CertificateOptions,
) -> (Arc<ClientConfig>, Arc<Verifier>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Verifier::new(
        Arc::new(roots),
        provider.signature_verification_algorithms,
        certs,
    ));
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // The ring provider supports both default versions; this cannot fail.
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let config = match &certs.client_certificate {
        Some(c) => builder.with_client_cert_resolver(Arc::new(
            rustls::sign::SingleCertAndKey::from(c.certified_key().clone()),
        )),
        None => builder.with_no_client_auth(),
    };
    (Arc::new(config), verifier)
}

fn webpki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The configuration used when the caller gives none: the `webpki-roots`
/// trust anchors, checked by the same [`Verifier`] as any other option set
/// (so that a self-signed certificate reads as `Untrusted` with or without
/// options). Built once and shared.
pub(crate) fn default_tls_config() -> Arc<ClientConfig> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| config_with(webpki_roots(), &CertificateOptions::default()).0)
        .clone()
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
    Ok(config_with(roots, &CertificateOptions::default()).0)
}

/// The TLS configuration of one `connect`, and the verifier that remembers
/// what it found (when the configuration is one of ours).
#[derive(Debug, Clone)]
pub(crate) struct TlsSetup {
    pub(crate) config: Arc<ClientConfig>,
    verifier: Option<Arc<Verifier>>,
}

impl TlsSetup {
    /// The problems the server certificate check found and ignored. Empty
    /// with the default or a caller's configuration: a connection made
    /// through either had none that counted.
    pub(crate) fn server_certificate_errors(&self) -> Vec<ChainValidationResult> {
        self.verifier
            .as_ref()
            .map(|v| v.found())
            .unwrap_or_default()
    }
}

/// The configuration for `certs`, or the caller's `own` configuration.
///
/// Both at once is [`Error::InvalidArgument`]: a caller's configuration
/// brings its own verifier and client certificate. So are roots that
/// cannot be used as trust anchors, and no roots at all.
pub(crate) fn setup(
    own: Option<&Arc<ClientConfig>>,
    certs: &CertificateOptions,
) -> Result<TlsSetup, Error> {
    if certs.is_default() {
        return Ok(TlsSetup {
            config: own.cloned().unwrap_or_else(default_tls_config),
            verifier: None,
        });
    }
    if own.is_some() {
        return Err(Error::invalid(
            "tls_client_config replaces the certificate options (roots, ignorable errors, \
             validation hook, client certificate): set one or the other",
        ));
    }
    let mut roots = if certs.use_default_roots {
        webpki_roots()
    } else {
        RootCertStore::empty()
    };
    for cert in &certs.trusted_roots {
        roots
            .add(cert.clone())
            .map_err(|e| Error::invalid(format!("unusable root certificate: {e}")))?;
    }
    // No root at all trusts nothing, which is a mistake unless the caller
    // said an untrusted chain is fine (to pin a self-signed certificate).
    if roots.is_empty() && !certs.ignorable.contains(&ChainValidationResult::Untrusted) {
        return Err(Error::invalid(
            "no root certificates to trust (use_default_roots is off and none were given)",
        ));
    }
    let (config, verifier) = config_with(roots, certs);
    Ok(TlsSetup {
        config,
        verifier: Some(verifier),
    })
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
