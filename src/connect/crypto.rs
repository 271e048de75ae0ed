//! What the crate features choose for TLS: the rustls crypto provider and
//! the trust anchors of the default configuration.
//!
//! The provider is the application's process-wide one when it installed
//! one ([`rustls::crypto::CryptoProvider::install_default`]), so that
//! wsock uses the same cryptography as the rest of the program; otherwise
//! the one a feature compiled in (`rustls-aws-lc-rs`, else `rustls-ring`).
//! wsock never installs a process-wide provider itself, and never panics
//! for want of one: without any, `wss://` fails with an error that says
//! what to do.

use std::sync::Arc;
#[cfg(feature = "native-roots")]
use std::sync::OnceLock;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
#[cfg(feature = "native-roots")]
use rustls::pki_types::CertificateDer;

use crate::error::Error;

/// The provider for a TLS configuration made now; see the
/// [module](self) docs.
pub(crate) fn provider() -> Result<Arc<CryptoProvider>, Error> {
    if let Some(p) = CryptoProvider::get_default() {
        return Ok(p.clone());
    }
    compiled_provider().ok_or_else(|| {
        Error::invalid(
            "wss:// needs a rustls crypto provider: enable the rustls-ring or rustls-aws-lc-rs \
             feature of wsock, or install one with CryptoProvider::install_default",
        )
    })
}

#[cfg(feature = "rustls-aws-lc-rs")]
fn compiled_provider() -> Option<Arc<CryptoProvider>> {
    Some(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

#[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc-rs")))]
fn compiled_provider() -> Option<Arc<CryptoProvider>> {
    Some(Arc::new(rustls::crypto::ring::default_provider()))
}

#[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")))]
fn compiled_provider() -> Option<Arc<CryptoProvider>> {
    None
}

/// The trust anchors of the default configuration (and of
/// `use_default_roots`): the Mozilla roots of `webpki-roots`, the
/// operating system's store (`native-roots`), both, or none.
pub(crate) fn default_roots() -> RootCertStore {
    #[allow(unused_mut)]
    let mut roots = RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    for cert in native_roots() {
        // A certificate of the store that is no usable anchor is left
        // out, as a browser would; the others still count.
        let _ = roots.add(cert.clone());
    }
    roots
}

/// The operating system's trust anchors, read once: the store does not
/// change under a running program often enough to read it per connect.
/// A store that cannot be read counts as empty.
#[cfg(feature = "native-roots")]
fn native_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}
