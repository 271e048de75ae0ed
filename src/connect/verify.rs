//! The server certificate check behind the certificate options: the
//! chain examined with webpki (see [`chain`] for how every problem is found
//! without ever taking trust for granted), each problem classified as a
//! WinRT [`ChainValidationResult`], the connection refused unless every
//! problem is ignorable, then the application's own check. The order and
//! the rules are described in [`crate::certificates`].
//!
//! One [`Verifier`] is made per `connect` call and remembers what it found
//! for the socket's information. The handshakes of one `connect` (a retry
//! after a 401 on a new connection) talk to the same server, so they share
//! it.

use std::fmt;
use std::sync::{Arc, Mutex};

use std::panic::{AssertUnwindSafe, catch_unwind};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::certificates::{
    ChainValidationResult, ClientCertificate, ServerCustomValidation, ServerCustomValidationRequest,
};

mod chain;
mod classify;
#[cfg(test)]
mod tests;

use chain::Findings;
use classify::classify;

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
    /// True when nothing differs from the default check (the default roots, no
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

/// A server certificate verifier for one `connect`.
pub(crate) struct Verifier {
    roots: Arc<RootCertStore>,
    /// The operating system's verifier (feature `platform-verifier`), the
    /// judge of trust when there is one: see
    /// `Verifier::with_platform`.
    platform: Option<Arc<dyn ServerCertVerifier>>,
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
            platform: None,
            algorithms,
            ignorable: options.ignorable.clone(),
            custom_validation: options.custom_validation.clone(),
            found: Mutex::new(Vec::new()),
        }
    }

    /// Lets the operating system's verifier judge the chain first. What
    /// it accepts is trusted, with nothing to report; what it refuses is
    /// examined with webpki over `roots` as without it, to name every
    /// problem for the ignorable errors. Where webpki finds a trusted path,
    /// the platform's own reason counts among them (it may know what
    /// webpki does not, revocation or a policy of the platform's), so that
    /// nothing it refused for is passed over unless the user said that
    /// class is fine. Where webpki finds none, `Untrusted` says it all, as
    /// it does without the platform: the platform's reason then comes from
    /// its own search for a path (a CA named like the server, the leaf's
    /// CA flag read as a misplaced CA), and counting it would keep a
    /// pinned certificate out.
    #[cfg(any(feature = "platform-verifier", test))]
    pub(crate) fn with_platform(mut self, platform: Arc<dyn ServerCertVerifier>) -> Self {
        self.platform = Some(platform);
        self
    }

    /// What is wrong with the chain: nothing when the platform's verifier
    /// (if any) accepts it, else what webpki finds.
    fn examine(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Findings {
        let platform = self.platform.as_ref().map(|p| {
            p.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        });
        if let Some(Ok(_)) = platform {
            return Findings::default();
        }
        let mut findings = chain::examine(
            end_entity,
            intermediates,
            server_name,
            now,
            &self.roots,
            &self.algorithms,
        );
        if let Some(Err(e)) = platform
            && !findings
                .classes()
                .contains(&ChainValidationResult::Untrusted)
        {
            findings.note(classify(&e), e);
        }
        findings
    }

    /// The error that refuses the connection, if any problem found is not
    /// ignorable. No trusted path (`Untrusted`) outweighs every other
    /// problem: a forged chain must read as one, whatever else is wrong
    /// with it. Otherwise the first problem found that is not ignorable.
    fn refusal(&self, findings: Findings) -> Option<rustls::Error> {
        let mut fatal = findings
            .problems
            .into_iter()
            .filter(|(class, _)| !self.ignorable.contains(class));
        let first = fatal.next()?;
        if first.0 == ChainValidationResult::Untrusted {
            return Some(first.1);
        }
        Some(
            fatal
                .find(|(class, _)| *class == ChainValidationResult::Untrusted)
                .map_or(first.1, |(_, error)| error),
        )
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
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let findings = self.examine(end_entity, intermediates, server_name, ocsp_response, now);
        let found = findings.classes();
        *self.found.lock().unwrap_or_else(|p| p.into_inner()) = found.clone();
        if let Some(error) = self.refusal(findings) {
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
            // A hook that panics has not said yes: the panic is not let
            // out into the TLS handshake, and the connection is refused.
            let accepted =
                catch_unwind(AssertUnwindSafe(|| check.accepts(&request))).unwrap_or(false);
            if !accepted {
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
