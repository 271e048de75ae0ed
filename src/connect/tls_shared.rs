//! TLS client configurations shared between connects that set the same
//! certificate options.
//!
//! A configuration of its own per connect costs a root store (the default
//! roots copied into a new one), a crypto provider and, with the platform
//! verifier, the operating system's verifier; worse, it brings a TLS
//! session store of its own, so that no session is ever resumed and every
//! `wss://` connect pays a full handshake: the server's chain checked
//! again, and its signature. Connects whose options are equal share one
//! [`SharedTls`] instead.
//!
//! A resumed session skips the certificate check: it rests on the check of
//! the full handshake that made it. rustls resumes a session only for the
//! very verifier and client certificate resolver that stored it
//! (`Arc::ptr_eq`), and here one configuration, with one verifier, is
//! shared only between equal options: the same roots, the same ignorable
//! problems, the same client certificate and validation hook (the same
//! objects, by identity: what a closure or a key does cannot be compared).
//! Options that differ in anything never see each other's sessions.
//!
//! Sessions are resumed only when the options ignore no problem and have no
//! validation hook. Then every connection made had a chain with nothing
//! wrong with it, so a resumed one reports what a full check would
//! (nothing). With ignorable problems, each connection's own findings are
//! what the socket's information reports, and a session resumed would
//! have none to report; with a hook, the hook is the caller's check of each
//! connection (WinRT raises `ServerCustomValidationRequested` for each),
//! and a resumed session would pass without it. Those options still share
//! the roots, the provider and the platform's verifier, and get a verifier
//! and a configuration of their own per connect.
//!
//! The cache holds the [`CAPACITY`] most recently used option sets: a
//! program that makes a new client certificate or hook for every connect
//! cannot make it grow.

use std::sync::{Arc, Mutex};

use rustls::client::Resumption;
#[cfg(feature = "platform-verifier")]
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};

use super::crypto;
use super::verify::{CertificateOptions, Verifier};
use crate::certificates::ChainValidationResult;
use crate::error::Error;

/// How many distinct option sets are remembered.
pub(crate) const CAPACITY: usize = 32;

/// What connects with equal certificate options share.
#[derive(Debug)]
pub(crate) struct SharedTls {
    provider: Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
    /// The operating system's verifier, when it judges trust (the default
    /// roots are in use).
    #[cfg(feature = "platform-verifier")]
    platform: Option<Arc<dyn ServerCertVerifier>>,
    /// The one configuration of options that can resume sessions (see the
    /// [module](self) docs); `None` for the others.
    resumable: Option<Arc<ClientConfig>>,
}

/// The configuration of one connect, and its own verifier when what it
/// finds must be told apart from other connects'.
pub(crate) struct ForConnect {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) verifier: Option<Arc<Verifier>>,
}

impl SharedTls {
    /// The shared part for `certs`, its roots checked: unusable ones, or
    /// none at all, are [`Error::InvalidArgument`].
    pub(crate) fn build(certs: &CertificateOptions) -> Result<Self, Error> {
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
        // No root at all trusts nothing, which is a mistake unless the
        // caller said an untrusted chain is fine (to pin a self-signed
        // certificate).
        if roots.is_empty() && !ignores(certs, ChainValidationResult::Untrusted) {
            return Err(Error::invalid(
                "no root certificates to trust (use_default_roots is off and none were given)",
            ));
        }
        Self::new(roots, certs)
    }

    /// The shared part for `certs` trusting `roots`, with the provider in
    /// use now.
    pub(crate) fn new(roots: RootCertStore, certs: &CertificateOptions) -> Result<Self, Error> {
        let provider = crypto::provider()?;
        // The operating system's verifier judges trust when the default
        // roots are in use (it cannot be told to leave them out), with the
        // roots the control adds.
        #[cfg(feature = "platform-verifier")]
        let platform = if certs.use_default_roots {
            let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
                certs.trusted_roots.iter().cloned(),
                provider.clone(),
            )
            .map_err(Error::Tls)?;
            Some(Arc::new(verifier) as Arc<dyn ServerCertVerifier>)
        } else {
            None
        };
        let mut shared = SharedTls {
            provider,
            roots: Arc::new(roots),
            #[cfg(feature = "platform-verifier")]
            platform,
            resumable: None,
        };
        if resumable(certs) {
            let (config, _) = shared.config(certs, Resumption::default())?;
            shared.resumable = Some(config);
        }
        Ok(shared)
    }

    /// The configuration for one connect with `certs` (the options this
    /// was built for).
    pub(crate) fn for_connect(&self, certs: &CertificateOptions) -> Result<ForConnect, Error> {
        if let Some(config) = &self.resumable {
            return Ok(ForConnect {
                config: config.clone(),
                verifier: None,
            });
        }
        let (config, verifier) = self.config(certs, Resumption::disabled())?;
        Ok(ForConnect {
            config,
            verifier: Some(verifier),
        })
    }

    /// A configuration with a verifier of its own over the shared roots.
    fn config(
        &self,
        certs: &CertificateOptions,
        resumption: Resumption,
    ) -> Result<(Arc<ClientConfig>, Arc<Verifier>), Error> {
        let verifier = Verifier::new(
            self.roots.clone(),
            self.provider.signature_verification_algorithms,
            certs,
        );
        #[cfg(feature = "platform-verifier")]
        let verifier = match &self.platform {
            Some(platform) => verifier.with_platform(platform.clone()),
            None => verifier,
        };
        let verifier = Arc::new(verifier);
        let builder = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            // A provider of the application's may lack the default versions.
            .map_err(Error::Tls)?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone());
        let mut config = match &certs.client_certificate {
            Some(c) => builder.with_client_cert_resolver(Arc::new(
                rustls::sign::SingleCertAndKey::from(c.certified_key().clone()),
            )),
            None => builder.with_no_client_auth(),
        };
        config.resumption = resumption;
        Ok((Arc::new(config), verifier))
    }
}

/// True when `certs` ignore `class`.
fn ignores(certs: &CertificateOptions, class: ChainValidationResult) -> bool {
    certs.ignorable.contains(&class)
}

/// True when sessions made under `certs` may be resumed: see the
/// [module](self) docs.
fn resumable(certs: &CertificateOptions) -> bool {
    certs.custom_validation.is_none()
        && (certs.ignorable.iter()).all(|c| *c == ChainValidationResult::Success)
}

/// True when connects with `a` and with `b` may share one [`SharedTls`]:
/// they would check every chain alike and present the same client
/// certificate.
fn same_options(a: &CertificateOptions, b: &CertificateOptions) -> bool {
    let problems = |o: &CertificateOptions| {
        let mut v: Vec<_> = (o.ignorable.iter())
            .copied()
            .filter(|c| *c != ChainValidationResult::Success)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    a.use_default_roots == b.use_default_roots
        && a.trusted_roots == b.trusted_roots
        && problems(a) == problems(b)
        && match (&a.custom_validation, &b.custom_validation) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same_check(b),
            _ => false,
        }
        && match (&a.client_certificate, &b.client_certificate) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a.certified_key(), b.certified_key()),
            _ => false,
        }
}

/// Which provider a configuration is made with: the application's
/// process-wide one (it lives as long as the program, so its address names
/// it), or the one compiled in (`None`). An application that installs a
/// provider after a first connect gets configurations of it from then on.
fn provider_in_use() -> Option<usize> {
    CryptoProvider::get_default().map(|p| Arc::as_ptr(p) as usize)
}

struct Entry {
    options: CertificateOptions,
    provider: Option<usize>,
    shared: Arc<SharedTls>,
}

/// The cache, most recently used first.
static CACHE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// The shared part for `certs`: the cached one, or one built now (and
/// remembered). Options that cannot make a configuration (unusable roots,
/// none at all, no provider) are an error, and nothing is remembered.
pub(crate) fn shared_for(certs: &CertificateOptions) -> Result<Arc<SharedTls>, Error> {
    let provider = provider_in_use();
    let find = |cache: &mut Vec<Entry>| {
        let at = cache
            .iter()
            .position(|e| e.provider == provider && same_options(&e.options, certs))?;
        let entry = cache.remove(at);
        let shared = entry.shared.clone();
        cache.insert(0, entry);
        Some(shared)
    };
    if let Some(shared) = find(&mut lock()) {
        return Ok(shared);
    }
    // Built without the lock held: it may read the system's store. Two
    // connects that race here build twice, and the first one in is kept.
    let built = Arc::new(SharedTls::build(certs)?);
    let mut cache = lock();
    if let Some(shared) = find(&mut cache) {
        return Ok(shared);
    }
    cache.insert(
        0,
        Entry {
            options: certs.clone(),
            provider,
            shared: built.clone(),
        },
    );
    cache.truncate(CAPACITY);
    Ok(built)
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    CACHE.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificates::ServerCustomValidation;

    fn with_roots(flag: bool) -> CertificateOptions {
        CertificateOptions {
            use_default_roots: flag,
            ignorable: vec![ChainValidationResult::Untrusted],
            ..CertificateOptions::default()
        }
    }

    #[test]
    fn equal_options_share_one_configuration_that_resumes() {
        let options = CertificateOptions {
            ignorable: vec![ChainValidationResult::Success],
            ..CertificateOptions::default()
        };
        let Ok(a) = shared_for(&options) else {
            return; // no provider or no roots in this build
        };
        let b = shared_for(&options.clone()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let (ca, cb) = (
            a.for_connect(&options).unwrap(),
            b.for_connect(&options).unwrap(),
        );
        assert!(Arc::ptr_eq(&ca.config, &cb.config));
        assert!(ca.verifier.is_none());
    }

    #[test]
    fn options_that_differ_in_anything_share_nothing() {
        let hook = ServerCustomValidation::new(|_| true);
        let mut base = with_roots(false);
        base.custom_validation = Some(hook.clone());
        let Ok(a) = shared_for(&base) else {
            return;
        };
        // The same hook (a clone of it) is the same check.
        let again = shared_for(&base.clone()).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        let variants = [
            CertificateOptions {
                custom_validation: Some(ServerCustomValidation::new(|_| true)),
                ..base.clone()
            },
            CertificateOptions {
                custom_validation: None,
                ..base.clone()
            },
            CertificateOptions {
                ignorable: vec![
                    ChainValidationResult::Untrusted,
                    ChainValidationResult::Expired,
                ],
                ..base.clone()
            },
        ];
        for other in &variants {
            assert!(!Arc::ptr_eq(&a, &shared_for(other).unwrap()), "{other:?}");
        }
    }

    #[test]
    fn a_hook_or_an_ignorable_problem_gets_a_verifier_per_connect_and_no_resumption() {
        let mut options = with_roots(false);
        options.custom_validation = Some(ServerCustomValidation::new(|_| true));
        let Ok(shared) = shared_for(&options) else {
            return;
        };
        let (a, b) = (
            shared.for_connect(&options).unwrap(),
            shared.for_connect(&options).unwrap(),
        );
        assert!(!Arc::ptr_eq(&a.config, &b.config));
        assert!(!Arc::ptr_eq(
            a.verifier.as_ref().unwrap(),
            b.verifier.as_ref().unwrap()
        ));
    }

    #[test]
    fn the_cache_keeps_a_bounded_number_of_option_sets() {
        for _ in 0..CAPACITY * 2 {
            let mut options = with_roots(false);
            options.custom_validation = Some(ServerCustomValidation::new(|_| true));
            if shared_for(&options).is_err() {
                return;
            }
        }
        assert!(lock().len() <= CAPACITY);
    }
}
