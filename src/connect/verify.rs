//! The server certificate check behind the certificate options: webpki's
//! checks, every problem found classified as a WinRT
//! [`ChainValidationResult`], the ignorable ones let through, then the
//! application's own check. The order and the limits are described in
//! [`crate::certificates`].
//!
//! One [`Verifier`] is made per `connect` call and remembers what it found
//! for the socket's information. The handshakes of one `connect` (a retry
//! after a 401 on a new connection) talk to the same server, so they share
//! it.

use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::certificates::{
    ChainValidationResult, ClientCertificate, ServerCustomValidation, ServerCustomValidationRequest,
};

/// The certificate options of a control.
#[derive(Debug, Clone)]
pub(crate) struct CertificateOptions {
    pub(crate) trusted_roots: Vec<CertificateDer<'static>>,
    pub(crate) use_default_roots: bool,
    pub(crate) ignorable: Vec<ChainValidationResult>,
    pub(crate) custom_validation: Option<ServerCustomValidation>,
    pub(crate) client_certificate: Option<ClientCertificate>,
}

impl Default for CertificateOptions {
    fn default() -> Self {
        CertificateOptions {
            trusted_roots: Vec::new(),
            use_default_roots: true,
            ignorable: Vec::new(),
            custom_validation: None,
            client_certificate: None,
        }
    }
}

impl CertificateOptions {
    /// True when nothing differs from the default check (webpki-roots, no
    /// problem ignored, no hook, no client certificate).
    pub(crate) fn is_default(&self) -> bool {
        self.trusted_roots.is_empty()
            && self.use_default_roots
            && self
                .ignorable
                .iter()
                .all(|c| *c == ChainValidationResult::Success)
            && self.custom_validation.is_none()
            && self.client_certificate.is_none()
    }
}

/// More passes than this over the chain give up on finding more problems
/// (each pass relaxes one validity period).
const MAX_CHAIN_PASSES: usize = 4;

/// A server certificate verifier for one `connect`.
pub(crate) struct Verifier {
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
    ignorable: Vec<ChainValidationResult>,
    custom_validation: Option<ServerCustomValidation>,
    /// What the last check found.
    found: Mutex<Vec<ChainValidationResult>>,
}

impl Verifier {
    pub(crate) fn new(
        roots: Arc<RootCertStore>,
        algorithms: WebPkiSupportedAlgorithms,
        options: &CertificateOptions,
    ) -> Self {
        Verifier {
            roots,
            algorithms,
            ignorable: options.ignorable.clone(),
            custom_validation: options.custom_validation.clone(),
            found: Mutex::new(Vec::new()),
        }
    }

    /// The problems the last check found (all ignorable, if the connection
    /// was made).
    pub(crate) fn found(&self) -> Vec<ChainValidationResult> {
        self.found.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("roots", &self.roots.len())
            .field("ignorable", &self.ignorable)
            .field("custom_validation", &self.custom_validation.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let problems = find_problems(
            end_entity,
            intermediates,
            server_name,
            now,
            &self.roots,
            &self.algorithms,
        );
        let found: Vec<ChainValidationResult> = problems.iter().map(|(c, _)| *c).collect();
        *self.found.lock().unwrap_or_else(|p| p.into_inner()) = found.clone();
        if let Some((_, error)) = problems
            .into_iter()
            .find(|(class, _)| !self.ignorable.contains(class))
        {
            return Err(error);
        }
        if let Some(check) = &self.custom_validation {
            let request = ServerCustomValidationRequest {
                server_name: server_name.to_str().into_owned(),
                server_certificate: end_entity.clone().into_owned(),
                server_intermediate_certificates: intermediates
                    .iter()
                    .map(|c| c.clone().into_owned())
                    .collect(),
                server_certificate_errors: found,
            };
            if !check.accepts(&request) {
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Every problem found with the server's certificate, each with the rustls
/// error that reports it (the first of its class), in the order found:
/// the chain's, then the name's.
fn find_problems(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    now: UnixTime,
    roots: &RootCertStore,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Vec<(ChainValidationResult, rustls::Error)> {
    let mut problems: Vec<(ChainValidationResult, rustls::Error)> = Vec::new();
    let mut note = |error: rustls::Error| {
        let class = classify(&error);
        if !problems.iter().any(|(c, _)| *c == class) {
            problems.push((class, error));
        }
    };
    let parsed = match ParsedCertificate::try_from(end_entity) {
        Ok(p) => p,
        Err(e) => {
            note(e);
            return problems;
        }
    };
    let mut at = now;
    for _ in 0..MAX_CHAIN_PASSES {
        let Err(error) = verify_server_cert_signed_by_trust_anchor(
            &parsed,
            roots,
            intermediates,
            at,
            algorithms.all,
        ) else {
            break;
        };
        // A validity period is the one thing that can be stepped around:
        // check again at a moment the certificate in question was valid.
        let inside = match &error {
            rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
                not_after,
                ..
            }) => Some(*not_after),
            rustls::Error::InvalidCertificate(CertificateError::NotValidYetContext {
                not_before,
                ..
            }) => Some(*not_before),
            _ => None,
        };
        note(error);
        match inside {
            Some(t) if t != at => at = t,
            _ => break,
        }
    }
    if let Err(error) = verify_server_name(&parsed, server_name) {
        note(error);
    }
    problems
}

/// The WinRT class of a certificate error.
pub(crate) fn classify(error: &rustls::Error) -> ChainValidationResult {
    use CertificateError as C;
    use ChainValidationResult as R;
    let rustls::Error::InvalidCertificate(c) = error else {
        return match error {
            rustls::Error::InvalidCertRevocationList(_) => R::RevocationFailure,
            _ => R::OtherErrors,
        };
    };
    #[allow(deprecated)]
    match c {
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
            R::Expired
        }
        C::UnknownIssuer => R::Untrusted,
        C::Revoked => R::Revoked,
        C::BadSignature
        | C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => R::InvalidSignature,
        C::NotValidForName | C::NotValidForNameContext { .. } => R::InvalidName,
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => R::WrongUsage,
        C::UnhandledCriticalExtension => R::UnknownCriticalExtension,
        C::UnknownRevocationStatus => R::RevocationInformationMissing,
        C::ExpiredRevocationList | C::ExpiredRevocationListContext { .. } => R::RevocationFailure,
        C::Other(other) => classify_webpki(other.0.downcast_ref::<webpki::Error>()),
        _ => R::OtherErrors,
    }
}

/// webpki errors that rustls passes on as `CertificateError::Other`.
fn classify_webpki(error: Option<&webpki::Error>) -> ChainValidationResult {
    use ChainValidationResult as R;
    use webpki::Error as W;
    match error {
        Some(W::CaUsedAsEndEntity | W::EndEntityUsedAsCa | W::PathLenConstraintViolated) => {
            R::BasicConstraintsError
        }
        Some(
            W::NameConstraintViolation
            | W::MalformedNameConstraint
            | W::InvalidNetworkMaskConstraint,
        ) => R::InvalidCertificateAuthorityPolicy,
        Some(W::UnsupportedCriticalExtension) => R::UnknownCriticalExtension,
        Some(W::CertDistrusted) => R::Untrusted,
        Some(W::EmptyEkuExtension) => R::WrongUsage,
        _ => R::OtherErrors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        use ChainValidationResult as R;
        let cert = |c| rustls::Error::InvalidCertificate(c);
        assert_eq!(classify(&cert(CertificateError::Expired)), R::Expired);
        assert_eq!(classify(&cert(CertificateError::NotValidYet)), R::Expired);
        assert_eq!(
            classify(&cert(CertificateError::UnknownIssuer)),
            R::Untrusted
        );
        assert_eq!(
            classify(&cert(CertificateError::NotValidForName)),
            R::InvalidName
        );
        assert_eq!(
            classify(&cert(CertificateError::InvalidPurpose)),
            R::WrongUsage
        );
        assert_eq!(
            classify(&cert(CertificateError::BadSignature)),
            R::InvalidSignature
        );
        assert_eq!(classify(&cert(CertificateError::Revoked)), R::Revoked);
        assert_eq!(
            classify(&cert(CertificateError::BadEncoding)),
            R::OtherErrors
        );
        assert_eq!(
            classify(&cert(CertificateError::UnknownRevocationStatus)),
            R::RevocationInformationMissing
        );
        let other =
            |e: webpki::Error| cert(CertificateError::Other(rustls::OtherError(Arc::new(e))));
        assert_eq!(
            classify(&other(webpki::Error::CaUsedAsEndEntity)),
            R::BasicConstraintsError
        );
        assert_eq!(
            classify(&other(webpki::Error::NameConstraintViolation)),
            R::InvalidCertificateAuthorityPolicy
        );
        assert_eq!(
            classify(&other(webpki::Error::UnsupportedCriticalExtension)),
            R::UnknownCriticalExtension
        );
        assert_eq!(classify(&other(webpki::Error::BadDer)), R::OtherErrors);
        assert_eq!(classify(&rustls::Error::DecryptError), R::OtherErrors);
    }
}
