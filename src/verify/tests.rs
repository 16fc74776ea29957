//! Unit tests of the verifier: error texts and their TLS errors, the handshake
//! progress, the size of [`Verifier`], refused inputs.

use super::*;

#[test]
fn time_source_from_option() {
    assert_eq!(TimeSource::from(Some(5)), TimeSource::Now(5));
    assert_eq!(TimeSource::from(None), TimeSource::Unknown);
}

#[test]
fn every_error_has_text_and_a_tls_error() {
    let all = [
        VerifyError::NoServerName,
        VerifyError::InvalidServerName,
        VerifyError::NoTimeSource,
        VerifyError::NoCertificate,
        VerifyError::BadCertificate,
        VerifyError::UnknownIssuer,
        VerifyError::IssuerNotCa,
        VerifyError::CaUsedAsLeaf,
        VerifyError::NotValidForName,
        VerifyError::Expired,
        VerifyError::NotYetValid,
        VerifyError::WrongKeyUsage,
        VerifyError::ConstraintViolated,
        VerifyError::ChainTooComplex,
        VerifyError::UnsupportedSignatureAlgorithm,
        VerifyError::AlgorithmNotBuilt(Algorithm::Rsa),
        VerifyError::AlgorithmNotBuilt(Algorithm::EcdsaP384),
        VerifyError::AlgorithmNotBuilt(Algorithm::Ed25519),
        VerifyError::SignatureSchemeMismatch,
        VerifyError::BadSignature,
        VerifyError::PinMismatch,
        VerifyError::KeyTooLarge,
        VerifyError::UnexpectedCertificateVerify,
        VerifyError::NoCertificateVerify,
    ];
    for e in all {
        assert!(!e.as_str().is_empty());
        let _ = TlsError::from(e);
    }
    assert!(matches!(
        TlsError::from(VerifyError::BadSignature),
        TlsError::InvalidSignature
    ));
    assert!(matches!(
        TlsError::from(VerifyError::UnknownIssuer),
        TlsError::InvalidCertificate
    ));
}

#[test]
fn webpki_errors_map_to_reasons() {
    use webpki::Error as W;
    assert_eq!(
        VerifyError::from_webpki(&W::UnknownIssuer),
        VerifyError::UnknownIssuer
    );
    assert_eq!(
        VerifyError::from_webpki(&W::EndEntityUsedAsCa),
        VerifyError::IssuerNotCa
    );
    assert_eq!(
        VerifyError::from_webpki(&W::BadDer),
        VerifyError::BadCertificate
    );
    assert_eq!(
        VerifyError::from_webpki(&W::PathLenConstraintViolated),
        VerifyError::ConstraintViolated
    );
}

#[test]
fn nothing_verified_is_refused() {
    let pins = [[0u8; 32]];
    let v = Verifier::with_pins(&pins);
    assert_eq!(v.check_verified(), Err(VerifyError::NoCertificateVerify));
    assert_eq!(Verifier::danger_no_verify().check_verified(), Ok(()));
}

#[test]
fn a_new_handshake_forgets_the_last_one() {
    // A verifier reused for a second connection must not pass check_verified
    // because the first server was verified (embedded-tls completes handshakes
    // that carry no Certificate at all).
    let pins = [[0u8; 32]];
    let mut v = Verifier::with_pins(&pins);
    v.progress = Progress::Verified;
    v.last_error = Some(VerifyError::PinMismatch);
    assert_eq!(v.check_verified(), Ok(()));
    TlsVerifier::<embedded_tls::Aes128GcmSha256>::set_hostname_verification(
        &mut v,
        "smtp.example.com",
    )
    .unwrap();
    assert_eq!(v.check_verified(), Err(VerifyError::NoCertificateVerify));
    assert_eq!(v.last_error(), None);
}

#[test]
fn certificate_verify_first_is_refused() {
    let pins = [[0u8; 32]];
    let mut v = Verifier::with_pins(&pins);
    let cv = CertificateVerifyRef {
        signature_scheme: embedded_tls::SignatureScheme::EcdsaSecp256r1Sha256,
        signature: &[0x30, 0x00],
    };
    assert_eq!(
        v.verify_certificate_verify(&cv),
        Err(VerifyError::UnexpectedCertificateVerify)
    );
    assert_eq!(
        v.last_error(),
        Some(VerifyError::UnexpectedCertificateVerify)
    );
}

#[test]
fn verifier_stays_small() {
    // The module docs give its size.
    let size = core::mem::size_of::<Verifier<'static>>();
    assert!(size <= MAX_SPKI_LEN + 400, "{size}");
}

#[test]
fn garbage_anchor_is_refused() {
    assert_eq!(
        anchor_from_der(&[0x30, 0x00]).err(),
        Some(VerifyError::BadCertificate)
    );
    assert_eq!(spki_sha256(&[1, 2, 3]), Err(VerifyError::BadCertificate));
}
