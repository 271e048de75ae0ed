//! Certificate chains built with rcgen (roots, intermediates, leaves with
//! chosen validity windows, usages and constraints), served by wsock's
//! server role behind tokio-rustls on loopback, and checked the way an
//! attacker would try them: forged chains under an untrusted root, leaves
//! that only name a trusted issuer, self-signed certificates, and every
//! ignorable class tried on its own. A forged chain must always be refused
//! as `CertificateIsInvalid`, whatever else is ignorable; a genuine one
//! reports each of its problems and connects when all are ignorable.
#![cfg(all(
    feature = "server",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

mod certs;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use certs::{round_trip, tls_echo_server_unchecked};
use wsock::{
    ChainValidationResult as Cvr, MessageWebSocket, MessageWebSocketControl,
    ServerCustomValidation, WebErrorStatus,
};

/// A validity window, in whole years (1 January to 1 January).
type Years = (i32, i32);
/// Valid today (this file's tests run between these years).
const CURRENT: Years = (2020, 2060);

fn window(params: &mut CertificateParams, (from, to): Years) {
    params.not_before = date_time_ymd(from, 1, 1);
    params.not_after = date_time_ymd(to, 1, 1);
}

/// A certificate authority: its certificate and what it signs with.
struct Authority {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    name: String,
}

fn ca_params(name: &str, years: Years) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    window(&mut params, years);
    params
}

impl Authority {
    fn root(name: &str, years: Years) -> Authority {
        let params = ca_params(name, years);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Authority {
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
            name: name.to_owned(),
        }
    }

    fn intermediate(&self, name: &str, years: Years) -> Authority {
        let params = ca_params(name, years);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Authority {
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
            name: name.to_owned(),
        }
    }

    /// Signs with a key of its own under this authority's name: what anyone
    /// can do with a public CA's name.
    fn impostor(&self) -> Authority {
        let params = ca_params(&self.name, CURRENT);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Authority {
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
            name: self.name.clone(),
        }
    }

    fn leaf(&self, spec: Leaf) -> Served {
        let key = KeyPair::generate().unwrap();
        let cert = spec.params().signed_by(&key, &self.issuer).unwrap();
        Served::new(cert.der().clone(), key)
    }
}

/// What a server certificate looks like.
#[derive(Clone, Copy)]
struct Leaf {
    name: &'static str,
    years: Years,
    /// Client authentication only, no server authentication.
    client_only: bool,
    ca: bool,
    unknown_critical_extension: bool,
}

impl Default for Leaf {
    fn default() -> Self {
        Leaf {
            name: "localhost",
            years: CURRENT,
            client_only: false,
            ca: false,
            unknown_critical_extension: false,
        }
    }
}

impl Leaf {
    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::new(vec![self.name.to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, self.name);
        params.extended_key_usages = vec![if self.client_only {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if self.ca {
            // As `openssl req -x509` makes them.
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        if self.unknown_critical_extension {
            let mut ext =
                CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], vec![5, 0]);
            ext.set_criticality(true);
            params.custom_extensions.push(ext);
        }
        window(&mut params, self.years);
        params
    }

    fn self_signed(self) -> Served {
        let key = KeyPair::generate().unwrap();
        let cert = self.params().self_signed(&key).unwrap();
        Served::new(cert.der().clone(), key)
    }
}

/// A certificate chain a server presents, with the leaf's key.
struct Served {
    chain: Vec<CertificateDer<'static>>,
    key: KeyPair,
}

impl Served {
    fn new(leaf: CertificateDer<'static>, key: KeyPair) -> Served {
        Served {
            chain: vec![leaf],
            key,
        }
    }

    fn with(mut self, ca: &Authority) -> Served {
        self.chain.push(ca.der.clone());
        self
    }

    async fn serve(&self) -> u16 {
        let key = PrivateKeyDer::Pkcs8(self.key.serialize_der().into());
        tls_echo_server_unchecked(self.chain.clone(), key)
            .await
            .0
            .port()
    }
}

fn trusting(root: &Authority, ignorable: &[Cvr]) -> MessageWebSocketControl {
    let mut control = MessageWebSocketControl::default();
    control.trusted_root_certificates = vec![root.der.clone()];
    control.use_default_roots = false;
    control.ignorable_server_certificate_errors = ignorable.to_vec();
    control
}

async fn connect(port: u16, control: MessageWebSocketControl) -> wsock::Result<MessageWebSocket> {
    MessageWebSocket::connect(&format!("wss://localhost:{port}/"), control).await
}

async fn refused(port: u16, control: MessageWebSocketControl) -> WebErrorStatus {
    let ignorable = control.ignorable_server_certificate_errors.clone();
    match connect(port, control).await {
        Ok(ws) => panic!(
            "accepted with {ignorable:?} ignorable, reporting {:?}",
            ws.information().server_certificate_errors()
        ),
        Err(e) => {
            assert!(matches!(e, wsock::Error::Tls(_)), "{e:?}");
            e.status()
        }
    }
}

async fn accepted(port: u16, control: MessageWebSocketControl) -> Vec<Cvr> {
    let mut ws = connect(port, control).await.unwrap();
    let errors = ws.information().server_certificate_errors().to_vec();
    round_trip(&mut ws).await;
    errors
}

/// Every class a user might list, but `Untrusted` (and `Success`).
fn all_but_untrusted() -> Vec<Cvr> {
    Cvr::ALL
        .into_iter()
        .filter(|c| !matches!(c, Cvr::Success | Cvr::Untrusted))
        .collect()
}

/// Refused as `CertificateIsInvalid` with each class but `Untrusted`
/// ignorable on its own, with all of them at once, and with none.
async fn refused_as_forged(port: u16, trusted: &Authority) {
    let mut sets: Vec<Vec<Cvr>> = all_but_untrusted().into_iter().map(|c| vec![c]).collect();
    sets.push(all_but_untrusted());
    sets.push(Vec::new());
    for ignorable in sets {
        let status = refused(port, trusting(trusted, &ignorable)).await;
        assert_eq!(
            status,
            WebErrorStatus::CertificateIsInvalid,
            "{ignorable:?} ignorable"
        );
    }
}

#[tokio::test]
async fn genuine_chain_through_an_intermediate_is_accepted() {
    let root = Authority::root("wsock root", CURRENT);
    let intermediate = root.intermediate("wsock intermediate", CURRENT);
    let served = intermediate.leaf(Leaf::default()).with(&intermediate);
    let port = served.serve().await;
    assert_eq!(accepted(port, trusting(&root, &[])).await, []);
}

#[tokio::test]
async fn expired_leaf_and_intermediate_under_the_trusted_root() {
    let root = Authority::root("wsock root", CURRENT);
    let expired_leaf = Leaf {
        years: (2021, 2022),
        ..Leaf::default()
    };
    // Only the leaf expired; then both, their windows overlapping as a
    // real CA's do.
    let live = root.intermediate("wsock live intermediate", CURRENT);
    let expired = root.intermediate("wsock expired intermediate", (2019, 2023));
    for intermediate in [live, expired] {
        let port = intermediate
            .leaf(expired_leaf)
            .with(&intermediate)
            .serve()
            .await;
        assert_eq!(
            refused(port, trusting(&root, &[])).await,
            WebErrorStatus::CertificateExpired
        );
        assert_eq!(
            refused(port, trusting(&root, &[Cvr::Untrusted, Cvr::WrongUsage])).await,
            WebErrorStatus::CertificateExpired
        );
        assert_eq!(
            accepted(port, trusting(&root, &[Cvr::Expired])).await,
            [Cvr::Expired]
        );
    }
}

#[tokio::test]
async fn forged_chain_with_disjoint_validity_windows_is_refused() {
    let trusted = Authority::root("wsock root", CURRENT);
    // The attacker's own root and intermediate, and a leaf whose window
    // does not overlap the intermediate's: no single moment validates it.
    let attacker = Authority::root("attacker root", CURRENT);
    let intermediate = attacker.intermediate("attacker intermediate", (2010, 2011));
    let leaf = Leaf {
        years: (2012, 2013),
        ..Leaf::default()
    };
    let port = intermediate.leaf(leaf).with(&intermediate).serve().await;
    refused_as_forged(port, &trusted).await;
    // And with the attacker's root sent along.
    let port = intermediate
        .leaf(leaf)
        .with(&intermediate)
        .with(&attacker)
        .serve()
        .await;
    refused_as_forged(port, &trusted).await;
    // Even trusting the default roots too.
    let mut control = MessageWebSocketControl::default();
    control.ignorable_server_certificate_errors = all_but_untrusted();
    assert_eq!(
        refused(port, control).await,
        WebErrorStatus::CertificateIsInvalid
    );
}

#[tokio::test]
async fn leaf_naming_a_trusted_issuer_but_signed_by_another_key_is_refused() {
    let root = Authority::root("wsock root", CURRENT);
    let intermediate = root.intermediate("wsock intermediate", CURRENT);
    for years in [CURRENT, (2012, 2013)] {
        let leaf = Leaf {
            years,
            ..Leaf::default()
        };
        // Names the trusted intermediate, which is sent along (it is
        // public), but is signed by a key of the attacker's.
        let port = intermediate
            .impostor()
            .leaf(leaf)
            .with(&intermediate)
            .serve()
            .await;
        refused_as_forged(port, &root).await;
        // Names the trusted root itself.
        let port = root.impostor().leaf(leaf).serve().await;
        refused_as_forged(port, &root).await;
    }
}

#[tokio::test]
async fn self_signed_certificates_are_untrusted_and_can_be_pinned() {
    let root = Authority::root("wsock root", CURRENT);
    for ca in [true, false] {
        let port = Leaf {
            ca,
            ..Leaf::default()
        }
        .self_signed()
        .serve()
        .await;
        let default = MessageWebSocketControl::default();
        assert_eq!(
            refused(port, default).await,
            WebErrorStatus::CertificateIsInvalid,
            "CA:{ca}"
        );
        refused_as_forged(port, &root).await;

        // Pinned: Untrusted ignorable, with the default roots or with none.
        let mut pin = MessageWebSocketControl::default();
        pin.ignorable_server_certificate_errors = vec![Cvr::Untrusted];
        assert_eq!(accepted(port, pin).await, [Cvr::Untrusted], "CA:{ca}");
        let mut pin = MessageWebSocketControl::default();
        pin.use_default_roots = false;
        pin.ignorable_server_certificate_errors = vec![Cvr::Untrusted];
        assert_eq!(accepted(port, pin).await, [Cvr::Untrusted], "CA:{ca}");
    }
}

#[tokio::test]
async fn ignoring_untrusted_still_checks_the_leaf_itself() {
    let untrusted = || {
        let mut control = MessageWebSocketControl::default();
        control.ignorable_server_certificate_errors = vec![Cvr::Untrusted];
        control
    };
    let expired = Leaf {
        years: (2012, 2013),
        ca: true,
        ..Leaf::default()
    };
    let port = expired.self_signed().serve().await;
    assert_eq!(
        refused(port, untrusted()).await,
        WebErrorStatus::CertificateExpired
    );

    let other_name = Leaf {
        name: "other.example",
        ..Leaf::default()
    };
    let port = other_name.self_signed().serve().await;
    assert_eq!(
        refused(port, untrusted()).await,
        WebErrorStatus::CertificateCommonNameIsIncorrect
    );

    let client_only = Leaf {
        client_only: true,
        ..Leaf::default()
    };
    let port = client_only.self_signed().serve().await;
    assert_eq!(
        refused(port, untrusted()).await,
        WebErrorStatus::CertificateContainsErrors
    );
    let mut both = untrusted();
    both.ignorable_server_certificate_errors
        .push(Cvr::WrongUsage);
    assert_eq!(
        accepted(port, both).await,
        [Cvr::WrongUsage, Cvr::Untrusted]
    );

    // A CA certificate used as a server's, issued by someone unknown.
    let attacker = Authority::root("attacker root", CURRENT);
    let port = attacker
        .leaf(Leaf {
            ca: true,
            ..Leaf::default()
        })
        .serve()
        .await;
    assert_eq!(
        refused(port, untrusted()).await,
        WebErrorStatus::CertificateContainsErrors
    );
}

#[tokio::test]
async fn wrong_usage_under_the_trusted_root() {
    let root = Authority::root("wsock root", CURRENT);
    let port = root
        .leaf(Leaf {
            client_only: true,
            ..Leaf::default()
        })
        .serve()
        .await;
    assert_eq!(
        refused(port, trusting(&root, &[])).await,
        WebErrorStatus::CertificateContainsErrors
    );
    assert_eq!(
        refused(port, trusting(&root, &[Cvr::Expired])).await,
        WebErrorStatus::CertificateContainsErrors
    );
    assert_eq!(
        accepted(port, trusting(&root, &[Cvr::WrongUsage])).await,
        [Cvr::WrongUsage]
    );
}

#[tokio::test]
async fn unknown_critical_extension_is_refused() {
    let root = Authority::root("wsock root", CURRENT);
    let port = root
        .leaf(Leaf {
            unknown_critical_extension: true,
            ..Leaf::default()
        })
        .serve()
        .await;
    // webpki cannot read such a certificate, so no path can be verified
    // from it: untrusted, even with the extension itself ignorable.
    for ignorable in [
        vec![],
        vec![Cvr::UnknownCriticalExtension],
        all_but_untrusted(),
    ] {
        assert_eq!(
            refused(port, trusting(&root, &ignorable)).await,
            WebErrorStatus::CertificateIsInvalid,
            "{ignorable:?}"
        );
    }
}

#[tokio::test]
async fn chains_longer_than_any_search_limit_are_refused() {
    let trusted = Authority::root("wsock root", CURRENT);
    // A forged chain whose every certificate has a window of its own, one
    // year each, none overlapping: a search that stepped from one window
    // to the next and gave up after a few steps without refusing let this
    // through with only `Expired` reported.
    let attacker = Authority::root("attacker root", CURRENT);
    let mut issuer = attacker;
    let mut intermediates = Vec::new();
    for (i, year) in (2001..2006).enumerate() {
        let next = issuer.intermediate(&format!("attacker intermediate {i}"), (year, year + 1));
        intermediates.push(next.der.clone());
        issuer = next;
    }
    let mut served = issuer.leaf(Leaf {
        years: (2007, 2008),
        ..Leaf::default()
    });
    served.chain.extend(intermediates.into_iter().rev());
    let port = served.serve().await;
    refused_as_forged(port, &trusted).await;

    // A genuine chain deeper than webpki builds (more than six
    // intermediates) is refused too.
    let mut issuer = Authority::root("deep root", CURRENT);
    let root_der = issuer.der.clone();
    let mut intermediates = Vec::new();
    for i in 0..7 {
        let next = issuer.intermediate(&format!("deep intermediate {i}"), CURRENT);
        intermediates.push(next.der.clone());
        issuer = next;
    }
    let mut served = issuer.leaf(Leaf::default());
    served.chain.extend(intermediates.into_iter().rev());
    let port = served.serve().await;
    let mut control = MessageWebSocketControl::default();
    control.trusted_root_certificates = vec![root_der];
    control.use_default_roots = false;
    control.ignorable_server_certificate_errors = all_but_untrusted();
    assert_eq!(
        refused(port, control).await,
        WebErrorStatus::CertificateIsInvalid
    );
}

#[tokio::test]
async fn a_panicking_validation_hook_refuses_the_connection() {
    let root = Authority::root("wsock root", CURRENT);
    let port = root.leaf(Leaf::default()).serve().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let mut control = trusting(&root, &[]);
    control.server_custom_validation = Some(ServerCustomValidation::new(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        panic!("the application's check fell over");
    }));
    assert_eq!(
        refused(port, control).await,
        WebErrorStatus::CertificateContainsErrors
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The process, and the next connection, are fine.
    assert_eq!(accepted(port, trusting(&root, &[])).await, []);
}

#[tokio::test]
async fn a_trusted_namesake_of_a_pinned_certificate_does_not_keep_it_out() {
    // A trust store may hold a CA named like the server (this machine's
    // has a "localhost" one): webpki then checks the pinned certificate's
    // signature against it, which fails. That is no trusted path, which
    // Untrusted already says, not a problem of its own.
    let namesake = Authority::root("localhost", CURRENT);
    let port = Leaf::default().self_signed().serve().await;
    let pin = trusting(&namesake, &[Cvr::Untrusted]);
    assert_eq!(accepted(port, pin).await, [Cvr::Untrusted]);
    // Not ignored, it is refused as any untrusted chain.
    let strict = trusting(&namesake, &[]);
    assert_eq!(
        refused(port, strict).await,
        WebErrorStatus::CertificateIsInvalid
    );
}
