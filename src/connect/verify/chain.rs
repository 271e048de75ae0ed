//! What is wrong with a server's certificate chain, found with webpki as
//! the only judge of trust.
//!
//! webpki stops at the first problem it meets, and checks each
//! certificate's validity period, basic constraints and key usage *before*
//! it looks for an issuer or checks a signature. So a first error such as
//! "expired" says nothing about whether the chain is genuine. The check
//! here therefore never reads trust off an error: a chain counts as
//! trusted only when webpki itself built a path to a trusted root with
//! every signature on it verified. To find the problems of a genuine chain
//! that fails, the same path search runs again with one relaxation at a
//! time, each of which webpki supports without skipping anything else:
//!
//! - **time**: the whole path checked at another single moment (the end or
//!   start of the validity period webpki complained about). Signatures,
//!   names, basic constraints and key usage are checked as always;
//! - **key usage**: any extended key usage accepted in place of server
//!   authentication, everything else checked as always.
//!
//! When no relaxation yields a path, the chain is `Untrusted`, and the
//! server's own certificate is inspected on its own (validity, extended
//! key usage, CA flag) so that ignoring `Untrusted` still leaves every
//! other problem standing.

use std::sync::Arc;

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::{CertificateError, OtherError, RootCertStore};
use webpki::{EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter, KeyUsage};
use x509_parser::prelude::{ASN1Time, FromDer, X509Certificate};

use super::classify::classify;
use crate::certificates::ChainValidationResult;

/// Moments tried per key-usage setting before the time search gives up.
/// Each step moves to the edge of the validity period webpki reported,
/// so a genuine chain (whose periods overlap) needs one step per
/// certificate at most; webpki itself refuses paths of more than six
/// intermediates.
const MAX_TIME_STEPS: usize = 8;

/// Every problem found with a server certificate, in the order found
/// (the chain's, `Untrusted` if no trusted path exists, then the name's),
/// each with the rustls error that reports it.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) problems: Vec<(ChainValidationResult, rustls::Error)>,
}

impl Findings {
    pub(crate) fn note(&mut self, class: ChainValidationResult, error: rustls::Error) {
        if !self.problems.iter().any(|(c, _)| *c == class) {
            self.problems.push((class, error));
        }
    }

    pub(crate) fn classes(&self) -> Vec<ChainValidationResult> {
        self.problems.iter().map(|(c, _)| *c).collect()
    }
}

/// Checks `end_entity` (with the `intermediates` the server sent) for
/// `server_name` at `now` against `roots`.
pub(crate) fn examine(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    now: UnixTime,
    roots: &RootCertStore,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Findings {
    let mut findings = Findings {
        problems: Vec::new(),
    };
    let leaf = match EndEntityCert::try_from(end_entity) {
        Ok(leaf) => leaf,
        Err(e) => {
            // Nothing can be checked of a certificate webpki cannot read
            // (malformed, or with a critical extension it does not know):
            // no path can be built from it.
            let error = from_webpki(e);
            findings.note(classify(&error), error);
            findings.note(ChainValidationResult::Untrusted, untrusted());
            return findings;
        }
    };
    let search = PathSearch {
        leaf: &leaf,
        intermediates,
        anchors: &roots.roots,
        algorithms,
        now,
    };
    match search.run() {
        Ok(relaxed) => {
            for (class, error) in relaxed {
                findings.note(class, error);
            }
        }
        Err(last) => {
            examine_untrusted_leaf(end_entity, now, &mut findings);
            let class = classify(&last);
            // What the search tripped over last, unless the leaf's own
            // check already covers it; an intermediate's problems in an
            // untrusted chain are reported under the classes below too.
            // A signature that fails on the way up is a path that does not
            // exist, which Untrusted says: the certificate it was checked
            // against is not this chain's issuer, only one with the same
            // name (a trust store may well hold a "localhost" CA), and
            // reporting it apart would keep a pinned self-signed
            // certificate out on one machine and not on another.
            if !matches!(
                class,
                ChainValidationResult::Untrusted
                    | ChainValidationResult::InvalidSignature
                    | ChainValidationResult::Expired
                    | ChainValidationResult::WrongUsage
                    | ChainValidationResult::BasicConstraintsError
            ) {
                findings.note(class, last);
            }
            findings.note(ChainValidationResult::Untrusted, untrusted());
        }
    }
    if let Err(e) = leaf.verify_is_valid_for_subject_name(server_name) {
        let error = from_webpki(e);
        findings.note(classify(&error), error);
    }
    findings
}

fn untrusted() -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
}

/// One path search: from the leaf through the intermediates to one of the
/// anchors, with webpki.
struct PathSearch<'a> {
    leaf: &'a EndEntityCert<'a>,
    intermediates: &'a [CertificateDer<'a>],
    anchors: &'a [TrustAnchor<'a>],
    algorithms: &'a WebPkiSupportedAlgorithms,
    now: UnixTime,
}

impl PathSearch<'_> {
    /// A verified path and the relaxations it needed (none, time, key
    /// usage, or both), each as the problem it stands for; or the error of
    /// the most relaxed attempt when no path exists.
    fn run(&self) -> Result<Vec<(ChainValidationResult, rustls::Error)>, rustls::Error> {
        let strict = self.over_time(&KeyUsage::server_auth());
        let strict_error = match strict {
            Ok(expired) => return Ok(expired.into_iter().collect()),
            Err(e) => e,
        };
        match self.over_time(&AnyUsage) {
            Ok(expired) => {
                // Only the usage stood in the way (at the moment the
                // time search settled on): say so, with webpki's words
                // where the strict attempt had them.
                let usage = match classify(&strict_error) {
                    ChainValidationResult::WrongUsage => strict_error,
                    _ => rustls::Error::InvalidCertificate(CertificateError::InvalidPurpose),
                };
                let mut found: Vec<_> = expired.into_iter().collect();
                found.push((ChainValidationResult::WrongUsage, usage));
                Ok(found)
            }
            // The strict error is the more telling one when it is not
            // about usage (the relaxed search met the same obstacle).
            Err(relaxed) => match classify(&strict_error) {
                ChainValidationResult::WrongUsage => Err(relaxed),
                _ => Err(strict_error),
            },
        }
    }

    /// A verified path at `now`, or at another single moment; `Some`
    /// expiry problem when another moment was needed.
    fn over_time(
        &self,
        usage: &impl ExtendedKeyUsageValidator,
    ) -> Result<Option<(ChainValidationResult, rustls::Error)>, rustls::Error> {
        let mut at = self.now;
        let mut tried = Vec::with_capacity(MAX_TIME_STEPS);
        // The first validity problem met, which is what the connection
        // reports when a path exists only at another moment.
        let mut expiry: Option<rustls::Error> = None;
        loop {
            let error = match self.leaf.verify_for_usage(
                self.algorithms.all,
                self.anchors,
                self.intermediates,
                at,
                usage,
                None,
                None,
            ) {
                Ok(_) => {
                    return Ok(expiry.map(|e| (ChainValidationResult::Expired, e)));
                }
                Err(e) => e,
            };
            tried.push(at);
            let next = match &error {
                webpki::Error::CertExpired { not_after, .. } => Some(*not_after),
                webpki::Error::CertNotValidYet { not_before, .. } => Some(*not_before),
                _ => None,
            };
            let error = from_webpki(error);
            match next {
                Some(t) if !tried.contains(&t) && tried.len() < MAX_TIME_STEPS => {
                    expiry.get_or_insert(error);
                    at = t;
                }
                // Not a matter of time, or no single moment fits the
                // whole path (validity periods that do not overlap).
                _ => return Err(error),
            }
        }
    }
}

/// Accepts any extended key usage (the key-usage relaxation). The
/// extension's syntax is still webpki's to check.
struct AnyUsage;

impl ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for id in iter {
            id?;
        }
        Ok(())
    }
}

/// The id-kp-serverAuth purpose (RFC 5280 section 4.2.1.12).
const SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];

/// The checks of the server's own certificate that still mean something
/// when no path leads to a trusted root: its validity period, its extended
/// key usage, and a CA flag on a certificate that is not its own issuer.
/// A self-signed certificate is its own root, so its CA flag (which
/// `openssl req -x509` sets) is no problem.
fn examine_untrusted_leaf(end_entity: &CertificateDer<'_>, now: UnixTime, findings: &mut Findings) {
    let Ok((_, cert)) = X509Certificate::from_der(end_entity.as_ref()) else {
        let error = rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
        findings.note(ChainValidationResult::OtherErrors, error);
        return;
    };
    let at = i64::try_from(now.as_secs())
        .ok()
        .and_then(|s| ASN1Time::from_timestamp(s).ok());
    if at.is_none_or(|t| !cert.validity().is_valid_at(t)) {
        findings.note(
            ChainValidationResult::Expired,
            rustls::Error::InvalidCertificate(CertificateError::Expired),
        );
    }
    match cert.extended_key_usage() {
        Ok(None) => {}
        Ok(Some(eku))
            if eku.value.server_auth
                || eku.value.other.iter().any(|oid| {
                    oid.iter()
                        .is_some_and(|arcs| arcs.eq(SERVER_AUTH.iter().copied()))
                }) => {}
        _ => findings.note(
            ChainValidationResult::WrongUsage,
            rustls::Error::InvalidCertificate(CertificateError::InvalidPurpose),
        ),
    }
    let self_issued = cert.issuer().as_raw() == cert.subject().as_raw();
    let is_ca = match cert.basic_constraints() {
        Ok(bc) => bc.is_some_and(|bc| bc.value.ca),
        Err(_) => true,
    };
    if is_ca && !self_issued {
        findings.note(
            ChainValidationResult::BasicConstraintsError,
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
                webpki::Error::CaUsedAsEndEntity,
            )))),
        );
    }
}

/// A webpki error as rustls reports it, so that the connection's error
/// reads as it does with rustls' own verifier.
fn from_webpki(error: webpki::Error) -> rustls::Error {
    use CertificateError as C;
    use webpki::Error as W;
    #[allow(deprecated)]
    let certificate = match error {
        W::BadDer | W::BadDerTime | W::TrailingData(_) => C::BadEncoding,
        W::CertExpired { time, not_after } => C::ExpiredContext { time, not_after },
        W::CertNotValidYet { time, not_before } => C::NotValidYetContext { time, not_before },
        W::InvalidCertValidity => C::Expired,
        W::UnknownIssuer => C::UnknownIssuer,
        W::CertNotValidForName(_) => C::NotValidForName,
        W::CertRevoked => C::Revoked,
        W::InvalidSignatureForPublicKey => C::BadSignature,
        W::UnsupportedSignatureAlgorithm
        | W::UnsupportedSignatureAlgorithmForPublicKey
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            C::UnsupportedSignatureAlgorithm
        }
        W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) => C::InvalidPurpose,
        other => C::Other(OtherError(Arc::new(other))),
    };
    rustls::Error::InvalidCertificate(certificate)
}
