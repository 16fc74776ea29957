//! The certificate verifier against the test PKI in `tests/data/certs/` (see its
//! README), driven through embedded-tls's `TlsVerifier` trait exactly as a handshake
//! drives it: server name, Certificate (with the transcript hash), CertificateVerify
//! (signed here with the test keys over a synthetic transcript).
#![cfg(feature = "tls")]

#[allow(unused_imports)] // used by the tests of builds without some algorithms
use embedded_smtp::verify::Algorithm;
use embedded_smtp::verify::TrustAnchor;
use embedded_smtp::verify::{
    Provider, TimeSource, Verifier, VerifyError, anchor_from_der, spki_sha256, tls_config,
};
use embedded_tls::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, CryptoProvider,
    SignatureScheme, TlsVerifier,
};
use sha2::{Digest, Sha256};

macro_rules! cert {
    ($name:literal) => {
        include_bytes!(concat!("data/certs/", $name, ".der")).as_slice()
    };
}

const ROOT: &[u8] = cert!("root-ca");
const OTHER_ROOT: &[u8] = cert!("other-root-ca");
const INTERMEDIATE: &[u8] = cert!("intermediate-ca");
const LEAF_ECDSA: &[u8] = cert!("leaf-ecdsa");
const LEAF_ECDSA_KEY: &[u8] = cert!("leaf-ecdsa.key");

/// 2026-05-28T20:26:40Z: inside every good certificate's validity period.
const NOW: u64 = 1_780_000_000;

type Suite = Aes128GcmSha256;

/// The synthetic handshake transcript hash (the state embedded-tls passes in).
fn transcript() -> Sha256 {
    let mut h = Sha256::new();
    h.update(b"ClientHello..ServerHello..EncryptedExtensions..Certificate");
    h
}

/// What the server signs in CertificateVerify (RFC 8446 §4.4.3).
fn signed_content(transcript: &Sha256) -> Vec<u8> {
    let mut m = vec![0x20u8; 64];
    m.extend_from_slice(b"TLS 1.3, server CertificateVerify\x00");
    m.extend_from_slice(&transcript.clone().finalize());
    m
}

fn chain<'a>(ders: &[&'a [u8]]) -> CertificateRef<'a> {
    let mut c = CertificateRef::with_context(&[]);
    for der in ders {
        c.add(CertificateEntryRef::X509(der)).unwrap();
    }
    c
}

fn root_anchors() -> [TrustAnchor<'static>; 1] {
    [anchor_from_der(ROOT).unwrap()]
}

/// How the test server signs its CertificateVerify.
enum Sign {
    P256(&'static [u8]),
    #[cfg(feature = "tls-p384")]
    P384(&'static [u8]),
    #[cfg(feature = "tls-rsa")]
    RsaPss(&'static [u8]),
    #[cfg(feature = "tls-ed25519")]
    Ed25519(&'static [u8]),
    /// A fixed scheme and signature.
    Raw(SignatureScheme, Vec<u8>),
}

fn sign(how: Sign, message: &[u8]) -> (SignatureScheme, Vec<u8>) {
    match how {
        Sign::P256(key) => {
            use p256::ecdsa::{Signature, SigningKey, signature::Signer};
            use p256::pkcs8::DecodePrivateKey;
            let key = SigningKey::from_pkcs8_der(key).unwrap();
            let sig: Signature = key.sign(message);
            (
                SignatureScheme::EcdsaSecp256r1Sha256,
                sig.to_der().as_bytes().to_vec(),
            )
        }
        #[cfg(feature = "tls-p384")]
        Sign::P384(key) => {
            use p384::ecdsa::{Signature, SigningKey, signature::Signer};
            use p384::pkcs8::DecodePrivateKey;
            let key = SigningKey::from_pkcs8_der(key).unwrap();
            let sig: Signature = key.sign(message);
            (
                SignatureScheme::EcdsaSecp384r1Sha384,
                sig.to_der().as_bytes().to_vec(),
            )
        }
        #[cfg(feature = "tls-rsa")]
        Sign::RsaPss(key) => {
            use rsa::pkcs8::DecodePrivateKey;
            use rsa::signature::{RandomizedSigner, SignatureEncoding};
            let key = rsa::RsaPrivateKey::from_pkcs8_der(key).unwrap();
            let signer = rsa::pss::SigningKey::<Sha256>::new(key);
            let sig = signer.sign_with_rng(&mut rand_core::OsRng, message);
            (SignatureScheme::RsaPssRsaeSha256, sig.to_vec())
        }
        #[cfg(feature = "tls-ed25519")]
        Sign::Ed25519(key) => {
            use ed25519_dalek::pkcs8::DecodePrivateKey;
            use ed25519_dalek::{Signer, SigningKey};
            let key = SigningKey::from_pkcs8_der(key).unwrap();
            (SignatureScheme::Ed25519, key.sign(message).to_vec())
        }
        Sign::Raw(scheme, sig) => (scheme, sig),
    }
}

/// Runs a server's authentication through the `TlsVerifier` trait as embedded-tls
/// does, then the check the TLS glue makes after `open`. Returns the typed reason.
fn handshake(
    verifier: &mut Verifier<'_>,
    server_name: Option<&str>,
    certificates: &[&[u8]],
    how: Sign,
) -> Result<(), VerifyError> {
    if let Some(name) = server_name {
        TlsVerifier::<Suite>::set_hostname_verification(verifier, name).unwrap();
    }
    let t = transcript();
    if TlsVerifier::<Suite>::verify_certificate(verifier, &t, chain(certificates)).is_err() {
        return Err(verifier.last_error().expect("a refusal keeps its reason"));
    }
    let (scheme, signature) = sign(how, &signed_content(&t));
    let verify = CertificateVerifyRef {
        signature_scheme: scheme,
        signature: &signature,
    };
    if TlsVerifier::<Suite>::verify_signature(verifier, verify).is_err() {
        return Err(verifier.last_error().expect("a refusal keeps its reason"));
    }
    verifier.check_verified()
}

fn anchored(
    anchors: &[TrustAnchor<'_>],
    time: TimeSource,
    name: &str,
    certificates: &[&[u8]],
    how: Sign,
) -> Result<(), VerifyError> {
    let mut v = Verifier::with_anchors(anchors, time);
    handshake(&mut v, Some(name), certificates, how)
}

fn good_ecdsa(name: &str) -> Result<(), VerifyError> {
    anchored(
        &root_anchors(),
        TimeSource::Now(NOW),
        name,
        &[LEAF_ECDSA, INTERMEDIATE],
        Sign::P256(LEAF_ECDSA_KEY),
    )
}

/// A chain `leaf + intermediate` for localhost at NOW, signed with a P-256 leaf key.
fn ecdsa_leaf(leaf: &[u8], key: &'static [u8]) -> Result<(), VerifyError> {
    anchored(
        &root_anchors(),
        TimeSource::Now(NOW),
        "localhost",
        &[leaf, INTERMEDIATE],
        Sign::P256(key),
    )
}

// ---- accepted ----

#[test]
fn ecdsa_chain_for_localhost_is_accepted() {
    assert_eq!(good_ecdsa("localhost"), Ok(()));
}

#[test]
fn ecdsa_chain_for_ip_address_is_accepted() {
    assert_eq!(good_ecdsa("127.0.0.1"), Ok(()));
}

#[test]
fn intermediates_in_any_order_with_extras_are_accepted() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[LEAF_ECDSA, OTHER_ROOT, cert!("rsa-ca"), INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY),
        ),
        Ok(())
    );
}

#[test]
fn any_of_several_anchors_is_enough() {
    let anchors = [
        anchor_from_der(OTHER_ROOT).unwrap(),
        anchor_from_der(ROOT).unwrap(),
    ];
    assert_eq!(
        anchored(
            &anchors,
            TimeSource::Now(NOW),
            "localhost",
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY),
        ),
        Ok(())
    );
}

#[test]
fn intermediate_as_anchor_is_enough() {
    let anchors = [anchor_from_der(INTERMEDIATE).unwrap()];
    assert_eq!(
        anchored(
            &anchors,
            TimeSource::Now(NOW),
            "localhost",
            &[LEAF_ECDSA],
            Sign::P256(LEAF_ECDSA_KEY),
        ),
        Ok(())
    );
}

#[test]
fn verifier_is_reusable_for_another_handshake() {
    let anchors = root_anchors();
    let mut v = Verifier::with_anchors(&anchors, TimeSource::Now(NOW));
    let first = handshake(
        &mut v,
        Some("localhost"),
        &[cert!("leaf-expired"), INTERMEDIATE],
        Sign::P256(cert!("leaf-expired.key")),
    );
    assert_eq!(first, Err(VerifyError::Expired));
    let second = handshake(
        &mut v,
        Some("localhost"),
        &[LEAF_ECDSA, INTERMEDIATE],
        Sign::P256(LEAF_ECDSA_KEY),
    );
    assert_eq!(second, Ok(()));
    assert_eq!(v.last_error(), None);
}

// ---- RSA, P-384, Ed25519: accepted with their feature, refused without ----

#[test]
#[cfg(feature = "tls-rsa")]
fn rsa_leaf_with_pss_certificate_verify_is_accepted() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-rsa"), INTERMEDIATE],
            Sign::RsaPss(cert!("leaf-rsa.key")),
        ),
        Ok(())
    );
}

#[test]
#[cfg(feature = "tls-rsa")]
fn rsa_certificate_verify_must_be_pss() {
    // A valid-looking PKCS#1 scheme is refused before any signature check: TLS 1.3
    // allows only RSA-PSS in CertificateVerify.
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-rsa"), INTERMEDIATE],
            Sign::Raw(SignatureScheme::RsaPkcs1Sha256, vec![0; 256]),
        ),
        Err(VerifyError::UnsupportedSignatureAlgorithm)
    );
}

#[test]
#[cfg(feature = "tls-rsa")]
fn rsa_signed_certificates_are_accepted() {
    for leaf in [cert!("leaf-rsa-pkcs1"), cert!("leaf-rsa-pss")] {
        let key = if leaf == cert!("leaf-rsa-pkcs1") {
            cert!("leaf-rsa-pkcs1.key")
        } else {
            cert!("leaf-rsa-pss.key")
        };
        assert_eq!(
            anchored(
                &root_anchors(),
                TimeSource::Now(NOW),
                "localhost",
                &[leaf, cert!("rsa-ca")],
                Sign::P256(key),
            ),
            Ok(())
        );
    }
}

#[test]
#[cfg(not(feature = "tls-rsa"))]
fn rsa_is_refused_without_tls_rsa() {
    // An RSA leaf key: refused at the Certificate message.
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-rsa"), INTERMEDIATE],
            Sign::Raw(SignatureScheme::RsaPssRsaeSha256, vec![0; 256]),
        ),
        Err(VerifyError::AlgorithmNotBuilt(Algorithm::Rsa))
    );
}

#[test]
#[cfg(not(feature = "tls-rsa"))]
fn rsa_signed_certificate_is_refused_without_tls_rsa() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-rsa-pss"), cert!("rsa-ca")],
            Sign::P256(cert!("leaf-rsa-pss.key")),
        ),
        Err(VerifyError::AlgorithmNotBuilt(Algorithm::Rsa))
    );
}

#[test]
#[cfg(feature = "tls-p384")]
fn p384_leaf_is_accepted_with_tls_p384() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-p384"), INTERMEDIATE],
            Sign::P384(cert!("leaf-p384.key")),
        ),
        Ok(())
    );
}

#[test]
#[cfg(not(feature = "tls-p384"))]
fn p384_leaf_is_refused_without_tls_p384() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-p384"), INTERMEDIATE],
            Sign::Raw(SignatureScheme::EcdsaSecp384r1Sha384, vec![0x30, 0x00]),
        ),
        Err(VerifyError::AlgorithmNotBuilt(Algorithm::EcdsaP384))
    );
}

#[test]
#[cfg(feature = "tls-ed25519")]
fn ed25519_leaf_is_accepted_with_tls_ed25519() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-ed25519"), INTERMEDIATE],
            Sign::Ed25519(cert!("leaf-ed25519.key")),
        ),
        Ok(())
    );
}

#[test]
#[cfg(not(feature = "tls-ed25519"))]
fn ed25519_leaf_is_refused_without_tls_ed25519() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-ed25519"), INTERMEDIATE],
            Sign::Raw(SignatureScheme::Ed25519, vec![0; 64]),
        ),
        Err(VerifyError::AlgorithmNotBuilt(Algorithm::Ed25519))
    );
}

// ---- refused chains ----

#[test]
fn wrong_root_is_unknown_issuer() {
    let anchors = [anchor_from_der(OTHER_ROOT).unwrap()];
    assert_eq!(
        anchored(
            &anchors,
            TimeSource::Now(NOW),
            "localhost",
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY),
        ),
        Err(VerifyError::UnknownIssuer)
    );
}

#[test]
fn missing_intermediate_is_unknown_issuer() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[LEAF_ECDSA],
            Sign::P256(LEAF_ECDSA_KEY),
        ),
        Err(VerifyError::UnknownIssuer)
    );
}

#[test]
fn wrong_host_is_not_valid_for_name() {
    assert_eq!(
        ecdsa_leaf(cert!("leaf-wrong-host"), cert!("leaf-wrong-host.key")),
        Err(VerifyError::NotValidForName)
    );
    assert_eq!(
        good_ecdsa("other.example"),
        Err(VerifyError::NotValidForName)
    );
    assert_eq!(good_ecdsa("127.0.0.2"), Err(VerifyError::NotValidForName));
    assert_eq!(
        good_ecdsa("sub.localhost"),
        Err(VerifyError::NotValidForName)
    );
}

#[test]
fn common_name_is_never_used() {
    // CN=localhost, SAN=www.example only.
    assert_eq!(
        ecdsa_leaf(cert!("leaf-cn-only"), cert!("leaf-cn-only.key")),
        Err(VerifyError::NotValidForName)
    );
}

#[test]
fn leaf_issued_by_a_non_ca_is_refused() {
    // not-a-ca is a genuine leaf of the trusted root (CA:FALSE) that signed a
    // certificate for localhost: rustpki accepts this; we must not.
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-by-not-a-ca"), cert!("not-a-ca")],
            Sign::P256(cert!("leaf-by-not-a-ca.key")),
        ),
        Err(VerifyError::IssuerNotCa)
    );
}

#[test]
fn expired_is_refused() {
    assert_eq!(
        ecdsa_leaf(cert!("leaf-expired"), cert!("leaf-expired.key")),
        Err(VerifyError::Expired)
    );
}

#[test]
fn good_chain_after_its_end_is_expired() {
    // 2125-01-01 plus a second.
    let after = 4_891_363_201;
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(after),
            "localhost",
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY),
        ),
        Err(VerifyError::Expired)
    );
}

#[test]
fn not_yet_valid_is_refused() {
    assert_eq!(
        ecdsa_leaf(cert!("leaf-not-yet-valid"), cert!("leaf-not-yet-valid.key")),
        Err(VerifyError::NotYetValid)
    );
}

#[test]
fn client_only_certificate_is_wrong_key_usage() {
    assert_eq!(
        ecdsa_leaf(cert!("leaf-client-only"), cert!("leaf-client-only.key")),
        Err(VerifyError::WrongKeyUsage)
    );
}

#[test]
fn no_time_and_no_pin_is_refused() {
    for time in [
        TimeSource::Unknown,
        TimeSource::Now(0),
        TimeSource::Now(946_684_800),
    ] {
        assert_eq!(
            anchored(
                &root_anchors(),
                time,
                "localhost",
                &[LEAF_ECDSA, INTERMEDIATE],
                Sign::P256(LEAF_ECDSA_KEY),
            ),
            Err(VerifyError::NoTimeSource),
            "{time:?}"
        );
    }
}

#[test]
fn danger_no_time_check_skips_validity_only() {
    for (leaf, key) in [
        (cert!("leaf-expired"), cert!("leaf-expired.key")),
        (cert!("leaf-not-yet-valid"), cert!("leaf-not-yet-valid.key")),
        (LEAF_ECDSA, LEAF_ECDSA_KEY),
    ] {
        assert_eq!(
            anchored(
                &root_anchors(),
                TimeSource::DangerNoTimeCheck,
                "localhost",
                &[leaf, INTERMEDIATE],
                Sign::P256(key),
            ),
            Ok(())
        );
    }
    let anchors = [anchor_from_der(OTHER_ROOT).unwrap()];
    assert_eq!(
        anchored(
            &anchors,
            TimeSource::DangerNoTimeCheck,
            "localhost",
            &[cert!("leaf-expired"), INTERMEDIATE],
            Sign::P256(cert!("leaf-expired.key")),
        ),
        Err(VerifyError::UnknownIssuer)
    );
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::DangerNoTimeCheck,
            "other.example",
            &[cert!("leaf-expired"), INTERMEDIATE],
            Sign::P256(cert!("leaf-expired.key")),
        ),
        Err(VerifyError::NotValidForName)
    );
}

#[test]
fn set_time_applies_to_the_next_handshake() {
    let anchors = root_anchors();
    let mut v = Verifier::with_anchors(&anchors, TimeSource::Unknown);
    let certs = [LEAF_ECDSA, INTERMEDIATE];
    assert_eq!(
        handshake(
            &mut v,
            Some("localhost"),
            &certs,
            Sign::P256(LEAF_ECDSA_KEY)
        ),
        Err(VerifyError::NoTimeSource)
    );
    v.set_time(TimeSource::from(Some(NOW)));
    assert_eq!(
        handshake(
            &mut v,
            Some("localhost"),
            &certs,
            Sign::P256(LEAF_ECDSA_KEY)
        ),
        Ok(())
    );
}

#[test]
fn server_name_is_required_with_anchors() {
    let anchors = root_anchors();
    let mut v = Verifier::with_anchors(&anchors, TimeSource::Now(NOW));
    assert_eq!(
        handshake(
            &mut v,
            None,
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY)
        ),
        Err(VerifyError::NoServerName)
    );
    assert_eq!(
        good_ecdsa("not a host name"),
        Err(VerifyError::InvalidServerName)
    );
    let long = "a.".repeat(200);
    assert_eq!(good_ecdsa(&long), Err(VerifyError::InvalidServerName));
}

#[test]
fn empty_or_garbage_certificates_are_refused() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[],
            Sign::P256(LEAF_ECDSA_KEY),
        ),
        Err(VerifyError::NoCertificate)
    );
    let mut broken = LEAF_ECDSA.to_vec();
    broken.truncate(100);
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[&broken, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY),
        ),
        Err(VerifyError::BadCertificate)
    );
}

#[test]
fn tampered_certificate_is_bad_signature() {
    // Flip a bit inside the leaf's SAN-free part of the TBS (the serial number):
    // still well formed, but the intermediate's signature no longer matches.
    let mut tampered = LEAF_ECDSA.to_vec();
    let serial = 15; // within the serial INTEGER of this DER (30 82 .. 30 82 .. a0 03 02 01 02 02 02 10 ..)
    assert_eq!(tampered[serial - 2], 0x02, "serial INTEGER tag");
    tampered[serial] ^= 0x01;
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[&tampered, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY),
        ),
        Err(VerifyError::BadSignature)
    );
}

// ---- pinning ----

/// The pins openssl computed (`spki-sha256.txt`, made by make.sh).
fn openssl_pin(name: &str) -> [u8; 32] {
    let text = include_str!("data/certs/spki-sha256.txt");
    let hex = text
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap();
    let mut pin = [0u8; 32];
    for (i, b) in pin.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    pin
}

#[test]
fn spki_sha256_matches_openssl() {
    for (name, der) in [
        ("leaf-ecdsa", LEAF_ECDSA),
        ("leaf-rsa", cert!("leaf-rsa")),
        ("leaf-p384", cert!("leaf-p384")),
        ("leaf-ed25519", cert!("leaf-ed25519")),
    ] {
        assert_eq!(spki_sha256(der), Ok(openssl_pin(name)), "{name}");
    }
}

#[test]
fn pin_match_is_accepted_without_clock_chain_or_name() {
    let pins = [[0x55; 32], openssl_pin("leaf-ecdsa")];
    let mut v = Verifier::with_pins(&pins);
    // No server name, no intermediate, no time: only the key counts.
    assert_eq!(
        handshake(&mut v, None, &[LEAF_ECDSA], Sign::P256(LEAF_ECDSA_KEY)),
        Ok(())
    );
    // Even an expired certificate, if its key is the pinned one.
    let pins = [spki_sha256(cert!("leaf-expired")).unwrap()];
    let mut v = Verifier::with_pins(&pins);
    assert_eq!(
        handshake(
            &mut v,
            Some("localhost"),
            &[cert!("leaf-expired")],
            Sign::P256(cert!("leaf-expired.key"))
        ),
        Ok(())
    );
}

#[test]
fn pin_mismatch_is_refused() {
    let pins = [openssl_pin("leaf-rsa"), openssl_pin("leaf-p384")];
    let mut v = Verifier::with_pins(&pins);
    assert_eq!(
        handshake(
            &mut v,
            Some("localhost"),
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY)
        ),
        Err(VerifyError::PinMismatch)
    );
    // Pinning the intermediate's key does not pin the leaf.
    let pins = [spki_sha256(INTERMEDIATE).unwrap()];
    let mut v = Verifier::with_pins(&pins);
    assert_eq!(
        handshake(
            &mut v,
            Some("localhost"),
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY)
        ),
        Err(VerifyError::PinMismatch)
    );
}

#[test]
fn pinned_key_still_needs_a_valid_certificate_verify() {
    let pins = [openssl_pin("leaf-ecdsa")];
    let mut v = Verifier::with_pins(&pins);
    // Signed by another key: the server does not hold the pinned key.
    assert_eq!(
        handshake(
            &mut v,
            None,
            &[LEAF_ECDSA],
            Sign::P256(cert!("leaf-wrong-host.key"))
        ),
        Err(VerifyError::BadSignature)
    );
}

// ---- CertificateVerify ----

#[test]
fn rsa_scheme_with_ec_certificate_is_refused() {
    for scheme in [
        SignatureScheme::RsaPssRsaeSha256,
        SignatureScheme::RsaPssRsaeSha512,
        SignatureScheme::RsaPkcs1Sha256,
    ] {
        assert_eq!(
            anchored(
                &root_anchors(),
                TimeSource::Now(NOW),
                "localhost",
                &[LEAF_ECDSA, INTERMEDIATE],
                Sign::Raw(scheme, vec![0x01; 256]),
            ),
            Err(VerifyError::SignatureSchemeMismatch),
            "{scheme:?}"
        );
    }
}

#[test]
fn other_curve_or_ed25519_scheme_with_p256_certificate_is_refused() {
    for scheme in [
        SignatureScheme::EcdsaSecp384r1Sha384,
        SignatureScheme::Ed25519,
    ] {
        assert_eq!(
            anchored(
                &root_anchors(),
                TimeSource::Now(NOW),
                "localhost",
                &[LEAF_ECDSA, INTERMEDIATE],
                Sign::Raw(scheme, vec![0x30, 0x00]),
            ),
            Err(VerifyError::SignatureSchemeMismatch),
            "{scheme:?}"
        );
    }
}

#[test]
#[cfg(feature = "tls-rsa")]
fn ec_scheme_with_rsa_certificate_is_refused() {
    let t = transcript();
    let (_, signature) = sign(Sign::P256(LEAF_ECDSA_KEY), &signed_content(&t));
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-rsa"), INTERMEDIATE],
            Sign::Raw(SignatureScheme::EcdsaSecp256r1Sha256, signature),
        ),
        Err(VerifyError::SignatureSchemeMismatch)
    );
}

#[test]
fn unknown_scheme_is_unsupported() {
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::Raw(SignatureScheme::Sha256BrainpoolP256r1, vec![0x30, 0x00]),
        ),
        Err(VerifyError::UnsupportedSignatureAlgorithm)
    );
}

#[test]
fn corrupted_signature_is_bad_signature() {
    let t = transcript();
    let (scheme, mut signature) = sign(Sign::P256(LEAF_ECDSA_KEY), &signed_content(&t));
    let last = signature.len() - 1;
    signature[last] ^= 0x01;
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::Raw(scheme, signature),
        ),
        Err(VerifyError::BadSignature)
    );
    // Not DER at all.
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::Raw(SignatureScheme::EcdsaSecp256r1Sha256, vec![0xff; 70]),
        ),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn signature_over_another_transcript_is_bad_signature() {
    let mut other = Sha256::new();
    other.update(b"a different handshake");
    let (scheme, signature) = sign(Sign::P256(LEAF_ECDSA_KEY), &signed_content(&other));
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::Raw(scheme, signature),
        ),
        Err(VerifyError::BadSignature)
    );
}

#[test]
#[cfg(feature = "tls-rsa")]
fn corrupted_rsa_pss_signature_is_bad_signature() {
    let t = transcript();
    let (scheme, mut signature) = sign(Sign::RsaPss(cert!("leaf-rsa.key")), &signed_content(&t));
    signature[10] ^= 0x80;
    assert_eq!(
        anchored(
            &root_anchors(),
            TimeSource::Now(NOW),
            "localhost",
            &[cert!("leaf-rsa"), INTERMEDIATE],
            Sign::Raw(scheme, signature),
        ),
        Err(VerifyError::BadSignature)
    );
}

// ---- the handshake as a whole ----

#[test]
fn certificate_without_certificate_verify_is_not_verified() {
    // What a man in the middle can make embedded-tls 0.19 accept: it does not
    // require CertificateVerify before Finished. `check_verified` catches it.
    let anchors = root_anchors();
    let mut v = Verifier::with_anchors(&anchors, TimeSource::Now(NOW));
    TlsVerifier::<Suite>::set_hostname_verification(&mut v, "localhost").unwrap();
    TlsVerifier::<Suite>::verify_certificate(
        &mut v,
        &transcript(),
        chain(&[LEAF_ECDSA, INTERMEDIATE]),
    )
    .unwrap();
    assert_eq!(v.check_verified(), Err(VerifyError::NoCertificateVerify));
    // And with no Certificate either.
    let fresh = Verifier::with_anchors(&anchors, TimeSource::Now(NOW));
    assert_eq!(
        fresh.check_verified(),
        Err(VerifyError::NoCertificateVerify)
    );
}

#[test]
fn refused_certificate_stays_refused() {
    let anchors = root_anchors();
    let mut v = Verifier::with_anchors(&anchors, TimeSource::Now(NOW));
    TlsVerifier::<Suite>::set_hostname_verification(&mut v, "other.example").unwrap();
    let t = transcript();
    assert!(
        TlsVerifier::<Suite>::verify_certificate(&mut v, &t, chain(&[LEAF_ECDSA, INTERMEDIATE]))
            .is_err()
    );
    // A CertificateVerify after a refused Certificate does not make it verified.
    let (scheme, signature) = sign(Sign::P256(LEAF_ECDSA_KEY), &signed_content(&t));
    let verify = CertificateVerifyRef {
        signature_scheme: scheme,
        signature: &signature,
    };
    assert!(TlsVerifier::<Suite>::verify_signature(&mut v, verify).is_err());
    assert_eq!(
        v.last_error(),
        Some(VerifyError::UnexpectedCertificateVerify)
    );
    assert_ne!(v.check_verified(), Ok(()));
}

#[test]
fn tls_errors_are_coarse() {
    let anchors = [anchor_from_der(OTHER_ROOT).unwrap()];
    let mut v = Verifier::with_anchors(&anchors, TimeSource::Now(NOW));
    TlsVerifier::<Suite>::set_hostname_verification(&mut v, "localhost").unwrap();
    let err = TlsVerifier::<Suite>::verify_certificate(
        &mut v,
        &transcript(),
        chain(&[LEAF_ECDSA, INTERMEDIATE]),
    )
    .unwrap_err();
    assert!(
        matches!(err, embedded_tls::TlsError::InvalidCertificate),
        "{err:?}"
    );
    assert_eq!(v.last_error(), Some(VerifyError::UnknownIssuer));
}

#[test]
fn danger_no_verify_accepts_anything() {
    let mut v = Verifier::danger_no_verify();
    assert_eq!(
        handshake(
            &mut v,
            Some("other.example"),
            &[b"not a certificate"],
            Sign::Raw(SignatureScheme::RsaPkcs1Sha1, vec![])
        ),
        Ok(())
    );
}

// ---- provider and config ----

#[test]
fn provider_always_hands_out_the_verifier() {
    let anchors = root_anchors();
    let mut provider = Provider::<Suite, _>::new(
        rand_core::OsRng,
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert!(provider.verifier().is_ok());
    assert_eq!(
        provider.check_verified(),
        Err(VerifyError::NoCertificateVerify)
    );
    provider
        .certificate_verifier_mut()
        .set_time(TimeSource::Unknown);
    assert_eq!(provider.certificate_verifier().last_error(), None);

    let mut danger = Provider::<Suite, _>::danger_no_verify(rand_core::OsRng);
    assert!(danger.verifier().is_ok());
    assert_eq!(danger.check_verified(), Ok(()));
    let (_rng, verifier) = danger.into_parts();
    assert_eq!(verifier.check_verified(), Ok(()));
}

#[test]
fn config_offers_rsa_in_every_build() {
    // Offered even without `tls-rsa`, so that an RSA server gets as far as its
    // certificate and the verifier can name the missing feature.
    let shown = format!("{:?}", tls_config("localhost"));
    assert!(shown.contains("localhost"), "{shown}");
    assert!(shown.contains("EcdsaSecp256r1Sha256"), "{shown}");
    assert!(shown.contains("RsaPssRsaeSha256"), "{shown}");
    assert!(shown.contains("RsaPkcs1Sha256"), "{shown}");
}

#[test]
#[cfg(feature = "webpki-roots")]
fn webpki_roots_do_not_trust_the_test_root() {
    let mut v = Verifier::with_webpki_roots(TimeSource::Now(NOW));
    assert_eq!(
        handshake(
            &mut v,
            Some("localhost"),
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY)
        ),
        Err(VerifyError::UnknownIssuer)
    );
}

// ---- anchors and pins together ----

#[test]
fn anchors_and_pins_accept_only_when_both_hold() {
    let anchors = root_anchors();
    let other = [anchor_from_der(OTHER_ROOT).unwrap()];
    let pin = [openssl_pin("leaf-ecdsa")];
    let wrong_pin = [openssl_pin("leaf-rsa")];
    let run = |anchors: &[TrustAnchor<'_>], pins: &[[u8; 32]], time, name, certs: &[&[u8]]| {
        let mut v = Verifier::with_anchors_and_pins(anchors, pins, time);
        handshake(&mut v, name, certs, Sign::P256(LEAF_ECDSA_KEY))
    };
    let good: &[&[u8]] = &[LEAF_ECDSA, INTERMEDIATE];
    let now = TimeSource::Now(NOW);
    // Both hold.
    assert_eq!(run(&anchors, &pin, now, Some("localhost"), good), Ok(()));
    // The key matches but the chain leads to no anchor.
    assert_eq!(
        run(&other, &pin, now, Some("localhost"), good),
        Err(VerifyError::UnknownIssuer)
    );
    // The chain is good but the key matches no pin.
    assert_eq!(
        run(&anchors, &wrong_pin, now, Some("localhost"), good),
        Err(VerifyError::PinMismatch)
    );
    // A pin does not stand in for the name, the clock or the intermediate.
    assert_eq!(
        run(&anchors, &pin, now, Some("other.example"), good),
        Err(VerifyError::NotValidForName)
    );
    assert_eq!(
        run(&anchors, &pin, TimeSource::Unknown, Some("localhost"), good),
        Err(VerifyError::NoTimeSource)
    );
    assert_eq!(
        run(&anchors, &pin, now, None, good),
        Err(VerifyError::NoServerName)
    );
    assert_eq!(
        run(&anchors, &pin, now, Some("localhost"), &[LEAF_ECDSA]),
        Err(VerifyError::UnknownIssuer)
    );
    // No pin at all accepts no key.
    assert_eq!(
        run(&anchors, &[], now, Some("localhost"), good),
        Err(VerifyError::PinMismatch)
    );
}

#[test]
fn anchors_and_pins_still_need_a_valid_certificate_verify() {
    let anchors = root_anchors();
    let pin = [openssl_pin("leaf-ecdsa")];
    let mut v = Verifier::with_anchors_and_pins(&anchors, &pin, TimeSource::Now(NOW));
    assert_eq!(
        handshake(
            &mut v,
            Some("localhost"),
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::P256(cert!("leaf-wrong-host.key"))
        ),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(v.check_verified(), Err(VerifyError::BadSignature), "{v:?}");
    // The same verifier, a good handshake next: verified.
    assert_eq!(
        handshake(
            &mut v,
            Some("localhost"),
            &[LEAF_ECDSA, INTERMEDIATE],
            Sign::P256(LEAF_ECDSA_KEY)
        ),
        Ok(())
    );
    assert_eq!(v.check_verified(), Ok(()));
}
