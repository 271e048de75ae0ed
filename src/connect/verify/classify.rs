//! The WinRT class ([`ChainValidationResult`]) of a rustls or webpki
//! certificate error.

#[cfg(test)]
use std::sync::Arc;

use rustls::CertificateError;

use crate::certificates::ChainValidationResult;

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
