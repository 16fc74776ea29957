//! The certificate path: the checks of [`Verifier::with_anchors`] (time, server
//! name, a path to an anchor through the intermediates the server sent, built and
//! checked by rustls-webpki) and, when a signature on it cannot be checked, the
//! algorithm this build leaves out.

use core::time::Duration;

use embedded_tls::{CertificateEntryRef, CertificateRef};
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use super::algs::{CHAIN_ALGORITHMS, KeyKind};
use super::der;
use super::error::VerifyError;
use super::{MIN_PLAUSIBLE_TIME, TimeSource, Verifier};

/// How many instants [`TimeSource::DangerNoTimeCheck`] tries before giving up.
const DANGER_TIME_TRIES: usize = 8;

impl Verifier<'_> {
    /// The checks of [`Verifier::with_anchors`]: time, server name, the path to an
    /// anchor with its constraints and signatures.
    pub(super) fn check_path(
        &self,
        end_entity: &EndEntityCert<'_>,
        certificate: &CertificateRef<'_>,
        leaf: &[u8],
        anchors: &[TrustAnchor<'_>],
    ) -> Result<(), VerifyError> {
        // Cheap checks first: a signature costs a device far more.
        let time = match self.time {
            TimeSource::Now(t) if t >= MIN_PLAUSIBLE_TIME => Some(t),
            TimeSource::Now(_) | TimeSource::Unknown => {
                return Err(VerifyError::NoTimeSource);
            }
            TimeSource::DangerNoTimeCheck => None,
        };
        let name = self.name.as_ref().ok_or(VerifyError::NoServerName)?;
        let name =
            ServerName::try_from(name.as_str()).map_err(|_| VerifyError::InvalidServerName)?;
        end_entity
            .verify_is_valid_for_subject_name(&name)
            .map_err(|e| VerifyError::from_webpki(&e))?;
        let intermediates = certificate.entries.get(1..).unwrap_or(&[]);
        check_chain(end_entity, intermediates, anchors, time).map_err(|e| {
            if e == VerifyError::UnsupportedSignatureAlgorithm {
                missing_algorithm(leaf, intermediates, anchors).unwrap_or(e)
            } else {
                e
            }
        })?;
        Ok(())
    }
}

/// After rustls-webpki found a signature it cannot check on every candidate path:
/// the algorithm this build leaves out that the chain needs, if one can be named.
/// The signature algorithms of the leaf and the intermediates are looked at first
/// (RSA and Ed25519 are named there), then the keys of the intermediates and of the
/// anchors (an `ecdsa-with-SHA384` signature does not say the curve; the issuer's
/// key does). `None` leaves the generic
/// [`VerifyError::UnsupportedSignatureAlgorithm`].
fn missing_algorithm(
    leaf: &[u8],
    intermediates: &[CertificateEntryRef<'_>],
    anchors: &[TrustAnchor<'_>],
) -> Option<VerifyError> {
    let ders = || {
        core::iter::once(leaf).chain(intermediates.iter().filter_map(|e| match e {
            CertificateEntryRef::X509(der) => Some(*der),
            CertificateEntryRef::RawPublicKey(_) => None,
        }))
    };
    let signed_with = ders()
        .filter_map(der::certificate_signature_algorithm)
        .filter_map(KeyKind::of_signature_algorithm);
    let keys = ders()
        .skip(1)
        .filter_map(der::certificate_spki)
        .chain(anchors.iter().map(|a| a.subject_public_key_info.as_ref()))
        .filter_map(|spki| {
            // Anchors keep the SPKI's contents, certificates the whole TLV.
            der::split_spki(spki)
                .map(|(alg, _)| alg)
                .or_else(|| der::split_spki_contents(spki).map(|(alg, _)| alg))
        })
        .filter_map(KeyKind::of_spki_algorithm);
    signed_with
        .chain(keys)
        .find(|kind| !kind.is_supported())
        .map(KeyKind::not_built)
}

/// Builds and checks the path from `leaf` through `intermediates` to `anchors`.
/// `time` is `None` for [`TimeSource::DangerNoTimeCheck`].
fn check_chain(
    leaf: &EndEntityCert<'_>,
    intermediates: &[CertificateEntryRef<'_>],
    anchors: &[TrustAnchor<'_>],
    time: Option<u64>,
) -> Result<(), VerifyError> {
    // embedded-tls keeps at most 16 entries, so this never overflows.
    let mut ders: heapless::Vec<CertificateDer<'_>, 16> = heapless::Vec::new();
    for entry in intermediates {
        if let CertificateEntryRef::X509(der) = entry {
            ders.push(CertificateDer::from(*der))
                .map_err(|_| VerifyError::ChainTooComplex)?;
        }
    }
    let mut at = time.unwrap_or(0);
    for _ in 0..DANGER_TIME_TRIES {
        let result = leaf.verify_for_usage(
            CHAIN_ALGORITHMS,
            anchors,
            &ders,
            UnixTime::since_unix_epoch(Duration::from_secs(at)),
            KeyUsage::server_auth(),
            None,
            None,
        );
        match (result, time) {
            (Ok(_), _) => return Ok(()),
            // No time check: move to an instant where the certificate is valid.
            (Err(webpki::Error::CertExpired { not_after, .. }), None) => {
                at = not_after.as_secs();
            }
            (Err(webpki::Error::CertNotValidYet { not_before, .. }), None) => {
                at = not_before.as_secs();
            }
            (Err(e), _) => return Err(VerifyError::from_webpki(&e)),
        }
    }
    Err(VerifyError::Expired)
}
