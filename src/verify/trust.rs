//! What the server is authenticated against: the [`Policy`] (trust anchors, pins,
//! both, or nothing), trust anchors taken from CA certificates ([`anchor_from_der`])
//! and the pin, the SHA-256 of the leaf's SubjectPublicKeyInfo ([`spki_sha256`]).

use rustls_pki_types::{CertificateDer, TrustAnchor};
use sha2::{Digest, Sha256};

use super::der;
use super::error::VerifyError;

/// How the server is authenticated.
#[derive(Debug, Clone, Copy)]
pub(super) enum Policy<'a> {
    Anchors(&'a [TrustAnchor<'a>]),
    Pins(&'a [[u8; 32]]),
    /// Both must hold: the chain to an anchor and a pinned key.
    AnchorsAndPins(&'a [TrustAnchor<'a>], &'a [[u8; 32]]),
    DangerNoVerify,
}

/// Turns a trusted CA certificate (DER) into a trust anchor that borrows from it.
///
/// Only the subject, the public key and any name constraints are kept; the
/// certificate's own validity and signature are not looked at (RFC 5280 §6.1.1).
/// For PEM, decode the base64 first. Anchors can also be written as consts with
/// [`pki_types::Der::from_slice`](super::pki_types::Der::from_slice).
pub fn anchor_from_der(der: &[u8]) -> Result<TrustAnchor<'_>, VerifyError> {
    let cert = CertificateDer::from(der);
    let anchor = webpki::anchor_from_trusted_cert(&cert).map_err(|e| {
        debug!(
            "trust anchor refused: {}",
            VerifyError::from_webpki(&e).as_str()
        );
        VerifyError::BadCertificate
    })?;
    // webpki ties the anchor to the local `CertificateDer`; its parts are slices of
    // `der`, so they are taken again from `der` with its lifetime.
    let rebase = |part: &[u8]| -> Result<&[u8], VerifyError> {
        let start = (part.as_ptr() as usize).wrapping_sub(der.as_ptr() as usize);
        der.get(start..start.wrapping_add(part.len()))
            .filter(|s| s.as_ptr() == part.as_ptr())
            .ok_or(VerifyError::BadCertificate)
    };
    Ok(TrustAnchor {
        subject: rebase(&anchor.subject)?.into(),
        subject_public_key_info: rebase(&anchor.subject_public_key_info)?.into(),
        name_constraints: match &anchor.name_constraints {
            Some(nc) => Some(rebase(nc)?.into()),
            None => None,
        },
    })
}

/// The SHA-256 of a certificate's SubjectPublicKeyInfo (DER, outer SEQUENCE
/// included): the value [`Verifier::with_pins`](super::Verifier::with_pins)
/// compares. It is what
/// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256`
/// prints, and curl's `--pinnedpubkey sha256//` takes in base64.
pub fn spki_sha256(certificate_der: &[u8]) -> Result<[u8; 32], VerifyError> {
    let spki = der::certificate_spki(certificate_der).ok_or(VerifyError::BadCertificate)?;
    Ok(Sha256::digest(spki).into())
}

/// The pin check: the SHA-256 of the leaf's SubjectPublicKeyInfo (whole TLV) is one
/// of `pins`.
pub(super) fn check_pin(spki: &[u8], pins: &[[u8; 32]]) -> Result<(), VerifyError> {
    let hash: [u8; 32] = Sha256::digest(spki).into();
    if pins.contains(&hash) {
        Ok(())
    } else {
        Err(VerifyError::PinMismatch)
    }
}
