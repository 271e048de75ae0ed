//! TLS client configuration and the client handshake for `wss://`.
//!
//! rustls with the provider [`crypto::provider`] picks. The default
//! configuration trusts the roots the features choose
//! ([`crypto::default_roots`]), checks certificates with the same
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
use super::crypto;
use super::verify::{CertificateOptions, Verifier};
use crate::certificates::ChainValidationResult;
use crate::error::Error;

/// A client configuration trusting `roots` through a [`Verifier`] with
/// the certificate options `certs` (the provider [`crypto::provider`]
/// picks, the safe default protocol versions, no ALPN), and that verifier.
fn config_with(
    roots: RootCertStore,
    certs: &CertificateOptions,
) -> Result<(Arc<ClientConfig>, Arc<Verifier>), Error> {
    let provider = crypto::provider()?;
    let verifier = Verifier::new(
        Arc::new(roots),
        provider.signature_verification_algorithms,
        certs,
    );
    // The operating system's verifier judges trust when the default roots
    // are in use (it cannot be told to leave them out), with the roots
    // the control adds.
    #[cfg(feature = "platform-verifier")]
    let verifier = if certs.use_default_roots {
        let platform = rustls_platform_verifier::Verifier::new_with_extra_roots(
            certs.trusted_roots.iter().cloned(),
            provider.clone(),
        )
        .map_err(Error::Tls)?;
        verifier.with_platform(Arc::new(platform))
    } else {
        verifier
    };
    let verifier = Arc::new(verifier);
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // A provider of the application's may lack the default versions.
        .map_err(Error::Tls)?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let config = match &certs.client_certificate {
        Some(c) => builder.with_client_cert_resolver(Arc::new(
            rustls::sign::SingleCertAndKey::from(c.certified_key().clone()),
        )),
        None => builder.with_no_client_auth(),
    };
    Ok((Arc::new(config), verifier))
}

/// The configuration used when the caller gives none: the default roots,
/// checked by the same [`Verifier`] as any other option set (so that a
/// self-signed certificate reads as `Untrusted` with or without options).
/// Built once and shared, with the provider there was at the first
/// `wss://` connect.
pub(crate) fn default_tls_config() -> Result<Arc<ClientConfig>, Error> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = DEFAULT.get() {
        return Ok(config.clone());
    }
    let config = config_with(crypto::default_roots(), &CertificateOptions::default())?.0;
    Ok(DEFAULT.get_or_init(|| config).clone())
}

/// A configuration trusting the `extra` certificates (DER), and the
/// default roots too when `include_default` is true.
///
/// A certificate that cannot be used as a trust anchor, or an empty set of
/// roots, is [`Error::InvalidArgument`].
#[cfg(test)]
#[cfg_attr(
    not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")),
    allow(dead_code)
)]
pub(crate) fn tls_config_with_roots<'a>(
    extra: impl IntoIterator<Item = CertificateDer<'a>>,
    include_default: bool,
) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = if include_default {
        crypto::default_roots()
    } else {
        RootCertStore::empty()
    };
    let extra: Vec<CertificateDer<'static>> = extra.into_iter().map(|c| c.into_owned()).collect();
    for cert in &extra {
        roots
            .add(cert.clone())
            .map_err(|e| Error::invalid(format!("unusable root certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::invalid("no root certificates to trust"));
    }
    let options = CertificateOptions {
        use_default_roots: include_default,
        trusted_roots: extra,
        ..CertificateOptions::default()
    };
    Ok(config_with(roots, &options)?.0)
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
        let config = match own {
            Some(own) => own.clone(),
            None => default_tls_config()?,
        };
        return Ok(TlsSetup {
            config,
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
        crypto::default_roots()
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
    let (config, verifier) = config_with(roots, certs)?;
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
    let config = match config {
        Some(config) => config.clone(),
        None => default_tls_config()?,
    };
    TlsConnector::from(config)
        .connect(target.server_name.clone(), tcp)
        .await
        // `From<io::Error>` takes the rustls error out of the io::Error.
        .map_err(Error::from)
}
