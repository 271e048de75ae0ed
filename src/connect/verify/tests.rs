//! The platform's verifier over webpki's findings: what it accepts is
//! trusted, what it refuses stays refused for its own reason unless that
//! class is ignorable.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::{CertificateOptions, Verifier};
use crate::certificates::ChainValidationResult as Cvr;

/// A stand-in for the platform's verifier with a fixed verdict.
#[derive(Debug)]
struct Platform(Option<CertificateError>);

impl ServerCertVerifier for Platform {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.0 {
            None => Ok(ServerCertVerified::assertion()),
            Some(e) => Err(rustls::Error::InvalidCertificate(e.clone())),
        }
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        unreachable!("only the chain is verified here")
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        unreachable!("only the chain is verified here")
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        Vec::new()
    }
}

/// A CA and a leaf for localhost that it signed.
fn chain() -> (CertificateDer<'static>, CertificateDer<'static>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "verify test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf
        .signed_by(&KeyPair::generate().unwrap(), &issuer)
        .unwrap();
    (ca_cert.der().clone(), leaf_cert.der().clone())
}

fn verifier(roots: RootCertStore, ignorable: &[Cvr], platform: Platform) -> Verifier {
    let options = CertificateOptions {
        ignorable: ignorable.to_vec(),
        ..CertificateOptions::default()
    };
    let algorithms = rustls::crypto::ring::default_provider().signature_verification_algorithms;
    Verifier::new(Arc::new(roots), algorithms, &options).with_platform(Arc::new(platform))
}

fn check(v: &Verifier, leaf: &CertificateDer<'_>) -> Result<ServerCertVerified, rustls::Error> {
    let name = ServerName::try_from("localhost").unwrap();
    v.verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
}

#[test]
fn the_platforms_refusal_stands_where_webpki_finds_nothing_wrong() {
    let (ca, leaf) = chain();
    let mut roots = RootCertStore::empty();
    roots.add(ca).unwrap();
    let revoked = || Platform(Some(CertificateError::Revoked));
    let v = verifier(roots.clone(), &[], revoked());
    let e = check(&v, &leaf).unwrap_err();
    assert_eq!(
        e,
        rustls::Error::InvalidCertificate(CertificateError::Revoked)
    );
    // Ignorable, it is ignored and reported like any other class.
    let v = verifier(roots, &[Cvr::Revoked], revoked());
    check(&v, &leaf).unwrap();
    assert_eq!(v.found(), [Cvr::Revoked]);
}

#[test]
fn what_the_platform_accepts_is_trusted_whatever_webpki_would_say() {
    let (_, leaf) = chain();
    // No roots at all: webpki alone would find no trusted path.
    let v = verifier(RootCertStore::empty(), &[], Platform(None));
    check(&v, &leaf).unwrap();
    assert!(v.found().is_empty());
}

#[test]
fn with_no_trusted_path_the_platforms_reason_does_not_keep_a_pinned_chain_out() {
    let (_, leaf) = chain();
    // No trusted path for webpki either; the platform's search tripped
    // over something of its own.
    let platform = || Platform(Some(CertificateError::BadSignature));
    let v = verifier(RootCertStore::empty(), &[Cvr::Untrusted], platform());
    check(&v, &leaf).unwrap();
    assert_eq!(v.found(), [Cvr::Untrusted]);
    // Not pinned: refused as untrusted.
    let v = verifier(RootCertStore::empty(), &[], platform());
    let e = check(&v, &leaf).unwrap_err();
    assert_eq!(
        e,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}
