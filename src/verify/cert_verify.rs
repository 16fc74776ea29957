//! The server's TLS 1.3 CertificateVerify (RFC 8446 §4.4.3): the signature scheme
//! checked against the kind of the leaf's key, the signed content rebuilt from the
//! transcript hash, the signature verified with the leaf's key.

use super::Verifier;
use super::algs::{self, KeyKind, SchemeUse};
use super::der;
use super::error::VerifyError;
use super::trust::Policy;

impl Verifier<'_> {
    pub(super) fn check_certificate_verify(
        &self,
        scheme: u16,
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        if matches!(self.policy, Policy::DangerNoVerify) {
            return Ok(());
        }
        let spki = &self.spki[..usize::from(self.spki_len)];
        let (algorithm_id, key) = der::split_spki(spki).ok_or(VerifyError::BadCertificate)?;
        let key_kind =
            KeyKind::of_spki_algorithm(algorithm_id).ok_or(VerifyError::BadCertificate)?;
        let algorithm = match algs::for_scheme(scheme) {
            SchemeUse::Supported(kind, _) | SchemeUse::Unsupported(kind) if kind != key_kind => {
                return Err(VerifyError::SignatureSchemeMismatch);
            }
            SchemeUse::Supported(_, algorithm) => algorithm,
            SchemeUse::Unsupported(kind) if !kind.is_supported() => {
                return Err(kind.not_built());
            }
            SchemeUse::Unsupported(_) | SchemeUse::Unknown => {
                return Err(VerifyError::UnsupportedSignatureAlgorithm);
            }
        };
        // RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte, the hash.
        const CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify\x00";
        let mut message = [0x20u8; 64 + CONTEXT.len() + 64];
        message[64..64 + CONTEXT.len()].copy_from_slice(CONTEXT);
        let transcript_len = usize::from(self.transcript_len);
        let end = 64 + CONTEXT.len() + transcript_len;
        message[64 + CONTEXT.len()..end].copy_from_slice(&self.transcript[..transcript_len]);

        if algorithm.public_key_alg_id().as_ref() != algorithm_id {
            return Err(VerifyError::SignatureSchemeMismatch);
        }
        algorithm
            .verify_signature(key, &message[..end], signature)
            .map_err(|_| VerifyError::BadSignature)
    }
}
