//! The few DER walks the verifier needs that rustls-webpki does not expose without
//! `alloc`: the leaf's SubjectPublicKeyInfo (for pinning and for CertificateVerify)
//! and its two parts. Every function returns `None` on anything unexpected; none
//! can panic.

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
/// `[0] EXPLICIT Version` in a TBSCertificate.
const VERSION: u8 = 0xa0;

/// One DER TLV and what follows it.
#[derive(Debug, PartialEq, Eq)]
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    /// Tag, length and value.
    whole: &'a [u8],
    rest: &'a [u8],
}

/// Reads one DER TLV. Definite lengths only, up to four length octets.
fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, after_tag) = input.split_first()?;
    let (&first, mut after_len) = after_tag.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || after_len.len() < count {
            return None;
        }
        let mut len = 0usize;
        for &b in &after_len[..count] {
            len = (len << 8) | usize::from(b);
        }
        after_len = &after_len[count..];
        len
    };
    if after_len.len() < len {
        return None;
    }
    let header = input.len() - after_len.len();
    let (value, rest) = after_len.split_at(len);
    Some(Tlv {
        tag,
        value,
        whole: &input[..header + len],
        rest,
    })
}

/// Reads one TLV with tag `want`; returns `(value, whole, rest)`.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8], &[u8])> {
    let t = tlv(input)?;
    (t.tag == want).then_some((t.value, t.whole, t.rest))
}

/// The whole `SubjectPublicKeyInfo` TLV (outer SEQUENCE included, as hashed for
/// pins) of an X.509 certificate (RFC 5280 §4.1).
pub(crate) fn certificate_spki(cert: &[u8]) -> Option<&[u8]> {
    let (cert, _, _) = expect(cert, SEQUENCE)?;
    let (tbs, _, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if tbs.first() == Some(&VERSION) {
        rest = expect(rest, VERSION)?.2;
    }
    rest = expect(rest, INTEGER)?.2; // serialNumber
    rest = expect(rest, SEQUENCE)?.2; // signature
    rest = expect(rest, SEQUENCE)?.2; // issuer
    rest = expect(rest, SEQUENCE)?.2; // validity
    rest = expect(rest, SEQUENCE)?.2; // subject
    let (_, spki, _) = expect(rest, SEQUENCE)?;
    Some(spki)
}

/// The contents of an X.509 certificate's `signatureAlgorithm` (RFC 5280 §4.1.1.2),
/// as `SignatureVerificationAlgorithm::signature_alg_id` holds them.
pub(crate) fn certificate_signature_algorithm(cert: &[u8]) -> Option<&[u8]> {
    let (cert, _, _) = expect(cert, SEQUENCE)?;
    let (_, _, rest) = expect(cert, SEQUENCE)?; // tbsCertificate
    let (algorithm, _, _) = expect(rest, SEQUENCE)?;
    Some(algorithm)
}

/// [`split_spki`] for the contents of a `SubjectPublicKeyInfo` without its outer
/// SEQUENCE, as a `TrustAnchor` keeps them.
pub(crate) fn split_spki_contents(inner: &[u8]) -> Option<(&[u8], &[u8])> {
    let (algorithm, _, rest) = expect(inner, SEQUENCE)?;
    let (bits, _, rest) = expect(rest, BIT_STRING)?;
    if !rest.is_empty() {
        return None;
    }
    match bits.split_first()? {
        (0, key) => Some((algorithm, key)),
        _ => None,
    }
}

/// Splits a whole `SubjectPublicKeyInfo` TLV into the contents of its
/// `AlgorithmIdentifier` (as `SignatureVerificationAlgorithm::public_key_alg_id`
/// holds them) and the key bits (the BIT STRING without its unused-bits octet,
/// which must be 0).
pub(crate) fn split_spki(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let (inner, _, trailing) = expect(spki, SEQUENCE)?;
    if !trailing.is_empty() {
        return None;
    }
    split_spki_contents(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths() {
        assert_eq!(
            tlv(&[0x30, 0x01, 0xaa, 0xbb]),
            Some(Tlv {
                tag: 0x30,
                value: &[0xaa],
                whole: &[0x30, 0x01, 0xaa],
                rest: &[0xbb]
            })
        );
        let mut long = [0u8; 4 + 0x100];
        long[..4].copy_from_slice(&[0x04, 0x82, 0x01, 0x00]);
        let t = tlv(&long).unwrap();
        assert_eq!(
            (t.tag, t.value.len(), t.whole.len(), t.rest.len()),
            (0x04, 0x100, 0x104, 0)
        );
    }

    #[test]
    fn truncated_or_indefinite_is_none() {
        assert_eq!(tlv(&[]), None);
        assert_eq!(tlv(&[0x30]), None);
        assert_eq!(tlv(&[0x30, 0x02, 0x00]), None);
        assert_eq!(tlv(&[0x30, 0x80, 0x00, 0x00]), None); // indefinite
        assert_eq!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None); // > 4 length octets
        assert_eq!(tlv(&[0x30, 0x82, 0x01]), None);
    }

    #[test]
    fn spki_split() {
        // SEQUENCE { SEQUENCE { OID 1.2 }, BIT STRING 0 unused, 0xab 0xcd }
        let spki = [
            0x30, 0x0a, 0x30, 0x03, 0x06, 0x01, 0x2a, 0x03, 0x03, 0x00, 0xab, 0xcd,
        ];
        assert_eq!(
            split_spki(&spki),
            Some((&[0x06, 0x01, 0x2a][..], &[0xab, 0xcd][..]))
        );
        let mut unused_bits = spki;
        unused_bits[9] = 1;
        assert_eq!(split_spki(&unused_bits), None);
        assert_eq!(split_spki(&spki[..11]), None);
    }

    #[test]
    fn signature_algorithm_of_test_certificates() {
        use super::super::algs::KeyKind;
        let cases: [(&[u8], Option<KeyKind>); 4] = [
            (
                include_bytes!("../../tests/data/certs/leaf-rsa-pkcs1.der"),
                Some(KeyKind::Rsa),
            ),
            (
                include_bytes!("../../tests/data/certs/leaf-rsa-pss.der"),
                Some(KeyKind::Rsa),
            ),
            (
                include_bytes!("../../tests/data/certs/leaf-rsa-by-rsa4096.der"),
                Some(KeyKind::Rsa),
            ),
            // ECDSA signatures do not say the curve.
            (
                include_bytes!("../../tests/data/certs/leaf-ecdsa.der"),
                None,
            ),
        ];
        for (cert, kind) in cases {
            let alg = certificate_signature_algorithm(cert).unwrap();
            assert_eq!(KeyKind::of_signature_algorithm(alg), kind);
        }
        assert_eq!(certificate_signature_algorithm(&[0x30, 0x00]), None);
    }

    #[test]
    fn garbage_certificate_is_none() {
        assert_eq!(certificate_spki(&[]), None);
        assert_eq!(certificate_spki(&[0x30, 0x00]), None);
        assert_eq!(certificate_spki(&[0x30, 0x02, 0x30, 0x00]), None);
    }
}
