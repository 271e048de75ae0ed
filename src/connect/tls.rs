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
//! `rustls::ClientConfig`, or one made with a [`Verifier`] for the
//! options (custom roots, ignorable errors, a validation hook, a client
//! certificate), shared with every connect that sets the same ones
//! ([`tls_shared`](super::tls_shared)).

use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
#[cfg(test)]
use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::Target;
use super::crypto;
use super::tls_shared::{ForConnect, SharedTls, shared_for};
use super::verify::{CertificateOptions, Verifier};
use crate::certificates::ChainValidationResult;
use crate::error::Error;

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
    let options = CertificateOptions::default();
    let config = SharedTls::new(crypto::default_roots(), &options)?
        .for_connect(&options)?
        .config;
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
    let options = CertificateOptions {
        use_default_roots: include_default,
        trusted_roots: extra.into_iter().map(|c| c.into_owned()).collect(),
        ..CertificateOptions::default()
    };
    Ok(SharedTls::build(&options)?.for_connect(&options)?.config)
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
    /// with the default, a caller's or a shared configuration (options that
    /// ignore nothing): a connection made through one had none that
    /// counted.
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
/// cannot be used as trust anchors, and no roots at all. Connects with
/// equal options share their configuration, and so their TLS sessions
/// ([`tls_shared`](super::tls_shared)).
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
    let ForConnect { config, verifier } = shared_for(certs)?.for_connect(certs)?;
    Ok(TlsSetup { config, verifier })
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
