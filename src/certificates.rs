//! Server certificate checks and client certificates for `wss://`: WinRT's
//! `ChainValidationResult`, `IgnorableServerCertificateErrors`,
//! `ServerCustomValidationRequested`, `ServerCertificateErrorSeverity` and
//! `ClientCertificate`.
//!
//! # How a server certificate is checked
//!
//! Every `wss://` connection checks the server's certificate with the
//! same verifier, with or without options: rustls' own verifier is used
//! only inside a caller's `tls_client_config`. In this order:
//!
//! 1. **A path to a trusted root**, built and verified by webpki (every
//!    signature, issuer names, validity periods, basic and name
//!    constraints, extended key usage). The connection is made only on a
//!    path webpki verified, never on the strength of which error came
//!    first. webpki stops at the first problem, so to find more than one,
//!    the path search is run again with one relaxation at a time: the
//!    whole path at another single moment (for
//!    [`Expired`](ChainValidationResult::Expired)), and any extended key
//!    usage in place of server authentication (for
//!    [`WrongUsage`](ChainValidationResult::WrongUsage)). Nothing else is
//!    ever relaxed: ignoring `Expired` never lets an unverified signature,
//!    a wrong issuer or a broken constraint through, and a chain whose
//!    validity periods do not overlap has no moment at which it is valid,
//!    so it has no verified path.
//! 2. **No path** makes the chain
//!    [`Untrusted`](ChainValidationResult::Untrusted) (status
//!    `CertificateIsInvalid`): a self-signed certificate (with the CA flag
//!    or without), an unknown issuer, a forged signature, a chain longer
//!    than webpki follows. The server's own certificate is then checked
//!    on its own (its validity period, its extended key usage, and a CA
//!    flag on a certificate that is not its own issuer), and whatever
//!    else webpki met on the way is reported too, so that ignoring
//!    `Untrusted` leaves every other problem standing.
//! 3. **The host name**, separately, so a wrong name is always found
//!    ([`InvalidName`](ChainValidationResult::InvalidName)).
//! 4. **Every problem found must be ignorable**
//!    (`ignorable_server_certificate_errors`). When one is not, the
//!    connection fails with `Untrusted`'s error if the chain has no
//!    trusted path (a forged chain reads as one, whatever else is wrong
//!    with it or ignorable), else with the first problem that is not
//!    ignorable (`CertificateExpired`, `CertificateCommonNameIsIncorrect`,
//!    `CertificateContainsErrors`...).
//! 5. Then, if set, `server_custom_validation` sees the certificates and
//!    the (ignored) problems, and may reject the server: the connection
//!    then fails with [`WebErrorStatus::CertificateContainsErrors`](crate::WebErrorStatus::CertificateContainsErrors)
//!    (the certificate is unacceptable to the application, not broken in a
//!    way another status names); so does a hook that panics. As in WinRT,
//!    the hook cannot rescue a server with problems that are not
//!    ignorable: to pin a self-signed certificate, list
//!    [`Untrusted`](ChainValidationResult::Untrusted) as ignorable and
//!    check the certificate in the hook (with `Untrusted` ignorable, no
//!    roots at all is allowed).
//!
//! The TLS handshake's own signatures (the proof that the server holds the
//! certificate's key) are always verified, whatever is ignored. Revocation
//! is not checked (no CRLs or OCSP are fetched). `docs/SECURITY.md` lists
//! these promises with the tests that show them.
//!
//! The problems found, all ignored, are reported afterwards by the socket's
//! information (`server_certificate_errors`,
//! `server_certificate_error_severity`).

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::error::{Error, Result};

/// WinRT's `ChainValidationResult`: one problem with a server's certificate
/// chain, with WinRT's numbers.
///
/// ```
/// use wsock::ChainValidationResult;
/// assert_eq!(ChainValidationResult::Expired as i32, 3);
/// assert_eq!(ChainValidationResult::from_i32(7), Some(ChainValidationResult::InvalidName));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum ChainValidationResult {
    /// No problem.
    Success = 0,
    /// No verified path leads to a trusted root (unknown issuer,
    /// self-signed, forged signature). Ignoring it is how a self-signed
    /// certificate is pinned; every other problem still counts.
    Untrusted = 1,
    /// A certificate was revoked.
    Revoked = 2,
    /// A certificate is outside its validity period (expired, or not valid
    /// yet).
    Expired = 3,
    /// The chain is incomplete.
    IncompleteChain = 4,
    /// A signature in the chain is invalid (or uses an unsupported
    /// algorithm).
    InvalidSignature = 5,
    /// The certificate is not meant for server authentication (extended key
    /// usage).
    WrongUsage = 6,
    /// The certificate is not valid for the host name.
    InvalidName = 7,
    /// An issuer's policy forbids the certificate (name constraints).
    InvalidCertificateAuthorityPolicy = 8,
    /// A basic constraint is violated (a CA used as the server's
    /// certificate, a server certificate used as a CA, a path too long).
    BasicConstraintsError = 9,
    /// A critical extension is not understood.
    UnknownCriticalExtension = 10,
    /// The revocation status could not be found.
    RevocationInformationMissing = 11,
    /// The revocation check failed (for example, an expired list).
    RevocationFailure = 12,
    /// Any other problem (a malformed certificate...).
    OtherErrors = 13,
}

impl ChainValidationResult {
    /// Every member, in numeric order.
    pub const ALL: [ChainValidationResult; 14] = [
        Self::Success,
        Self::Untrusted,
        Self::Revoked,
        Self::Expired,
        Self::IncompleteChain,
        Self::InvalidSignature,
        Self::WrongUsage,
        Self::InvalidName,
        Self::InvalidCertificateAuthorityPolicy,
        Self::BasicConstraintsError,
        Self::UnknownCriticalExtension,
        Self::RevocationInformationMissing,
        Self::RevocationFailure,
        Self::OtherErrors,
    ];

    /// The member with this number, if there is one.
    pub fn from_i32(value: i32) -> Option<Self> {
        usize::try_from(value)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }
}

/// WinRT's `SocketSslErrorSeverity`: how bad the problems with the server's
/// certificate are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
pub enum SocketSslErrorSeverity {
    /// No problem was found (or the connection is not TLS).
    #[default]
    None = 0,
    /// Problems were found, all of them listed as ignorable.
    Ignorable = 1,
    /// A problem that is not ignorable was found (the connection fails).
    Fatal = 2,
}

/// What [`ServerCustomValidation`] is asked about: the analog of WinRT's
/// `WebSocketServerCustomValidationRequestedEventArgs`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerCustomValidationRequest {
    /// The host name (or IP address) the connection is for.
    pub server_name: String,
    /// The server's certificate (DER).
    pub server_certificate: CertificateDer<'static>,
    /// The other certificates the server sent, in its order.
    pub server_intermediate_certificates: Vec<CertificateDer<'static>>,
    /// The problems found, all of them ignorable (empty: none).
    pub server_certificate_errors: Vec<ChainValidationResult>,
}

impl ServerCustomValidationRequest {
    /// [`SocketSslErrorSeverity::Ignorable`] when problems were found (and
    /// ignored), else [`SocketSslErrorSeverity::None`].
    pub fn server_certificate_error_severity(&self) -> SocketSslErrorSeverity {
        severity_of(&self.server_certificate_errors)
    }
}

pub(crate) fn severity_of(errors: &[ChainValidationResult]) -> SocketSslErrorSeverity {
    if errors.is_empty() {
        SocketSslErrorSeverity::None
    } else {
        SocketSslErrorSeverity::Ignorable
    }
}

type ValidateFn = dyn Fn(&ServerCustomValidationRequest) -> bool + Send + Sync;

/// An application's own check of the server's certificate (WinRT's
/// `ServerCustomValidationRequested` event): `true` keeps the connection,
/// `false` rejects it.
///
/// It runs inside the TLS handshake, after the built-in checks passed (see
/// the [module docs](self)): keep it quick and never block in it.
///
/// ```
/// use wsock::{MessageWebSocketControl, ChainValidationResult, ServerCustomValidation};
///
/// // Accept one self-signed certificate, known in advance.
/// let pinned: Vec<u8> = vec![/* the certificate's DER */];
/// let mut control = MessageWebSocketControl::default();
/// control.ignorable_server_certificate_errors.push(ChainValidationResult::Untrusted);
/// control.server_custom_validation = Some(ServerCustomValidation::new(move |req| {
///     req.server_certificate.as_ref() == pinned.as_slice()
/// }));
/// ```
#[derive(Clone)]
pub struct ServerCustomValidation(Arc<ValidateFn>);

impl ServerCustomValidation {
    /// Wraps the check.
    pub fn new(
        check: impl Fn(&ServerCustomValidationRequest) -> bool + Send + Sync + 'static,
    ) -> Self {
        ServerCustomValidation(Arc::new(check))
    }

    pub(crate) fn accepts(&self, request: &ServerCustomValidationRequest) -> bool {
        (self.0)(request)
    }

    /// True when both are the same check (one is a clone of the other).
    pub(crate) fn same_check(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for ServerCustomValidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerCustomValidation(..)")
    }
}

/// A client certificate chain and its private key, for servers that ask
/// for one (mutual TLS; WinRT's `ClientCertificate`).
///
/// The key is checked when the value is made: it must be one rustls can
/// sign with (RSA, ECDSA P-256/P-384, Ed25519; PKCS#8, PKCS#1 or SEC1) and
/// match the first certificate.
#[derive(Clone)]
pub struct ClientCertificate {
    key: Arc<CertifiedKey>,
}

impl ClientCertificate {
    /// From DER: the chain (the client's certificate first, then any
    /// intermediates) and the private key.
    pub fn new(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Self> {
        if chain.is_empty() {
            return Err(Error::invalid(
                "a client certificate chain needs a certificate",
            ));
        }
        let provider = crate::connect::crypto::provider()?;
        let key = CertifiedKey::from_der(chain, key, &provider)
            .map_err(|e| Error::invalid(format!("unusable client certificate or key: {e}")))?;
        Ok(ClientCertificate { key: Arc::new(key) })
    }

    /// From PEM: `chain_pem` holds one or more `CERTIFICATE` blocks (the
    /// client's first), `key_pem` a `PRIVATE KEY`, `RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY` block. Both may be the same text.
    ///
    /// Malformed PEM, no certificate, no key or a key that does not fit is
    /// [`Error::InvalidArgument`].
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let chain = parse_pem_certificates(chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| Error::invalid(format!("no usable private key in the PEM: {e}")))?;
        Self::new(chain, key)
    }

    /// The chain, the client's certificate first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.key.cert
    }

    pub(crate) fn certified_key(&self) -> &Arc<CertifiedKey> {
        &self.key
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("ClientCertificate")
            .field("chain_len", &self.key.cert.len())
            .finish_non_exhaustive()
    }
}

/// Reads certificates from PEM (every `CERTIFICATE` block, other blocks
/// skipped) or, when `data` holds no PEM, as one DER certificate.
///
/// Nothing usable (no certificate, malformed PEM, bytes that are not a DER
/// certificate) is [`Error::InvalidArgument`].
///
/// ```
/// let err = wsock::certificates::parse_certificates(b"not a certificate").unwrap_err();
/// assert!(err.is_invalid_argument());
/// ```
pub fn parse_certificates(data: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    if looks_like_pem(data) {
        parse_pem_certificates(data)
    } else {
        parse_der_certificate(data).map(|c| vec![c])
    }
}

/// Reads every `CERTIFICATE` block of a PEM text; at least one is needed.
pub fn parse_pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("malformed PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid("no CERTIFICATE block in the PEM"));
    }
    Ok(certs)
}

/// Checks that `der` is one X.509 certificate in DER (parsed as webpki
/// would) and keeps a copy.
pub fn parse_der_certificate(der: &[u8]) -> Result<CertificateDer<'static>> {
    let cert = CertificateDer::from(der.to_vec());
    rustls::server::ParsedCertificate::try_from(&cert)
        .map_err(|e| Error::invalid(format!("not a DER certificate: {e}")))?;
    Ok(cert)
}

fn looks_like_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_validation_result_numbers() {
        for (i, v) in ChainValidationResult::ALL.iter().enumerate() {
            assert_eq!(*v as i32, i as i32);
            assert_eq!(ChainValidationResult::from_i32(i as i32), Some(*v));
        }
        assert_eq!(ChainValidationResult::OtherErrors as i32, 13);
        assert_eq!(ChainValidationResult::from_i32(14), None);
        assert_eq!(ChainValidationResult::from_i32(-1), None);
        assert_eq!(SocketSslErrorSeverity::None as i32, 0);
        assert_eq!(SocketSslErrorSeverity::Ignorable as i32, 1);
        assert_eq!(SocketSslErrorSeverity::Fatal as i32, 2);
    }

    #[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs"))]
    #[test]
    fn loads_pem_and_der() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let pem = format!("junk before\n{}\n{}", cert.pem(), cert.pem());
        assert_eq!(
            parse_certificates(pem.as_bytes()).unwrap(),
            [cert.der().clone(), cert.der().clone()]
        );
        assert_eq!(
            parse_certificates(cert.der()).unwrap(),
            [cert.der().clone()]
        );
        for bad in [
            &b""[..],
            b"\x30\x03\x02\x01\x01",
            b"-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(parse_certificates(bad).unwrap_err().is_invalid_argument());
        }

        let client =
            ClientCertificate::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
                .unwrap();
        assert_eq!(client.chain(), [cert.der().clone()]);
        assert!(!format!("{client:?}").contains("PRIVATE"));
        // A key that is not the certificate's.
        let other = rcgen::KeyPair::generate().unwrap();
        assert!(
            ClientCertificate::from_pem(cert.pem().as_bytes(), other.serialize_pem().as_bytes())
                .unwrap_err()
                .is_invalid_argument()
        );
        assert!(
            ClientCertificate::from_pem(cert.pem().as_bytes(), b"no key")
                .unwrap_err()
                .is_invalid_argument()
        );
        assert!(
            ClientCertificate::new(
                Vec::new(),
                PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap()
            )
            .unwrap_err()
            .is_invalid_argument()
        );
    }
}
