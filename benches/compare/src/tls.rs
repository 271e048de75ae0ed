//! The run's own PKI for `wss://`: a CA and a server certificate for
//! 127.0.0.1 made once per run with rcgen, the servers' rustls
//! configuration, and the client configuration the peers share.
//!
//! Every client trusts only that CA, and every one uses ring: wsock through
//! its public certificate options (`trusted_root_certificates`, default
//! roots off), as a user would; the others through one `ClientConfig`
//! built once per client process and handed to every connect, as their
//! documentation has a user do (so their TLS sessions resume).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The environment variable that hands the CA (DER, hex) to a child.
pub const CA_ENV: &str = "WSOCK_COMPARE_CA";

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The CA certificate and the server's configuration (certificate for
/// 127.0.0.1 and localhost, signed by that CA).
pub fn make() -> (CertificateDer<'static>, Arc<rustls::ServerConfig>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "wsock compare CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).expect("leaf params");
    leaf.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages
        .push(ExtendedKeyUsagePurpose::ServerAuth);
    let key = KeyPair::generate().expect("leaf key");
    let cert = leaf.signed_by(&key, &issuer).expect("leaf cert");

    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca_cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    (ca_cert.der().clone(), Arc::new(config))
}

pub fn to_hex(der: &[u8]) -> String {
    der.iter().map(|b| format!("{b:02x}")).collect()
}

/// The CA the parent handed down, if any.
pub fn ca_from_env() -> Option<CertificateDer<'static>> {
    let hex = std::env::var(CA_ENV).ok()?;
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect::<Vec<u8>>();
    Some(CertificateDer::from(bytes))
}

/// The client configuration shared by every connect of the peers in one
/// child: ring, the run's CA alone, rustls' defaults otherwise (its
/// in-memory session cache included).
pub fn client_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(ca_from_env().expect("the parent sets the CA"))
        .expect("CA");
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}
