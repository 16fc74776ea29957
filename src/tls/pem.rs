//! CA files and pins as a command line or a configuration store gives them:
//! [`decode_certificates`] reads a PEM bundle or one DER certificate,
//! [`parse_pin`] a SPKI SHA-256 pin in base64 or hex.

use core::fmt;

/// Why a CA file or a pin could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CertFileError {
    /// Neither a DER certificate nor PEM with a `CERTIFICATE` block.
    NoCertificate,
    /// A `CERTIFICATE` block without its end line, or whose base64 is invalid.
    InvalidPem,
    /// More certificates than the caller made room for.
    TooManyCertificates {
        /// The caller's limit.
        max: usize,
    },
    /// The output buffer is too small (the file's own length is always enough).
    BufferTooSmall,
    /// A pin is not 32 bytes in base64 (optionally after `sha256//`) or in hex.
    InvalidPin,
}

impl fmt::Display for CertFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertFileError::NoCertificate => {
                f.write_str("no certificate found (expected PEM or DER)")
            }
            CertFileError::InvalidPem => f.write_str("a PEM CERTIFICATE block is malformed"),
            CertFileError::TooManyCertificates { max } => {
                write!(f, "more than {max} certificates in the file")
            }
            CertFileError::BufferTooSmall => f.write_str("the output buffer is too small"),
            CertFileError::InvalidPin => f.write_str(
                "a pin must be the SHA-256 of a SubjectPublicKeyInfo in base64 (44 characters) or hex (64)",
            ),
        }
    }
}

impl core::error::Error for CertFileError {}

const PEM_BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const PEM_END: &[u8] = b"-----END CERTIFICATE-----";

/// The certificates of a CA file, decoded into `out`: every `CERTIFICATE` block of
/// a PEM file (other blocks and text around them are skipped), or the whole input
/// when it is one DER certificate. Returns each certificate's DER, a slice of
/// `out`, ready for [`anchor_from_der`](crate::verify::anchor_from_der).
/// `out` as long as `file` is always enough.
///
/// ```
/// # use embedded_smtp::tls::decode_certificates;
/// # let pem: &[u8] = include_bytes!("../../tests/data/certs/root-ca.pem");
/// let mut der = [0u8; 4096];
/// let certs = decode_certificates::<4>(pem, &mut der)?;
/// let anchors: Vec<_> = certs.iter().map(|d| embedded_smtp::verify::anchor_from_der(d)).collect();
/// assert_eq!(anchors.len(), 1);
/// # Ok::<(), embedded_smtp::tls::CertFileError>(())
/// ```
///
/// # Errors
/// See [`CertFileError`].
pub fn decode_certificates<'o, const N: usize>(
    file: &[u8],
    out: &'o mut [u8],
) -> Result<heapless::Vec<&'o [u8], N>, CertFileError> {
    let mut lens: heapless::Vec<usize, N> = heapless::Vec::new();
    let mut used = 0;
    if file.first() == Some(&0x30) {
        // A DER SEQUENCE: one certificate.
        out.get_mut(..file.len())
            .ok_or(CertFileError::BufferTooSmall)?
            .copy_from_slice(file);
        lens.push(file.len())
            .map_err(|_| CertFileError::TooManyCertificates { max: N })?;
    } else {
        let mut rest = file;
        while let Some(begin) = find(rest, PEM_BEGIN) {
            let block = rest.get(begin..).unwrap_or_default();
            let end = find(block, PEM_END).ok_or(CertFileError::InvalidPem)? + PEM_END.len();
            let (block, after) = block.split_at_checked(end).unwrap_or_default();
            let n = decode_block(block, out.get_mut(used..).unwrap_or_default())?;
            lens.push(n)
                .map_err(|_| CertFileError::TooManyCertificates { max: N })?;
            used += n;
            rest = after;
        }
    }
    if lens.is_empty() {
        return Err(CertFileError::NoCertificate);
    }
    let out: &'o [u8] = out;
    let mut certs = heapless::Vec::new();
    let mut at = 0;
    for len in lens {
        // Same capacity as `lens`: cannot fail.
        let _ = certs.push(&out[at..at + len]);
        at += len;
    }
    Ok(certs)
}

/// Reads a pin: the SHA-256 of the server's SubjectPublicKeyInfo
/// ([`spki_sha256`](crate::verify::spki_sha256)) in base64, optionally after
/// curl's `sha256//` prefix, or in hex.
///
/// ```
/// # use embedded_smtp::tls::parse_pin;
/// assert_eq!(parse_pin("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")?, [0u8; 32]);
/// assert_eq!(parse_pin(&"ab".repeat(32))?, [0xab; 32]);
/// # Ok::<(), embedded_smtp::tls::CertFileError>(())
/// ```
///
/// # Errors
/// [`CertFileError::InvalidPin`].
pub fn parse_pin(text: &str) -> Result<[u8; 32], CertFileError> {
    let text = text.trim();
    let text = text.strip_prefix("sha256//").unwrap_or(text).as_bytes();
    let mut pin = [0u8; 32];
    if text.len() == 64 {
        for (byte, pair) in pin.iter_mut().zip(text.chunks_exact(2)) {
            let hi = hex_value(pair[0]).ok_or(CertFileError::InvalidPin)?;
            let lo = hex_value(pair[1]).ok_or(CertFileError::InvalidPin)?;
            *byte = hi << 4 | lo;
        }
        return Ok(pin);
    }
    // 44 characters of padded base64 are exactly 32 bytes.
    if text.len() != 44 {
        return Err(CertFileError::InvalidPin);
    }
    match base64::Engine::decode_slice(&base64::engine::general_purpose::STANDARD, text, &mut pin) {
        Ok(32) => Ok(pin),
        _ => Err(CertFileError::InvalidPin),
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes one `CERTIFICATE` block, from its `-----BEGIN` to the end of its
/// `-----END CERTIFICATE-----`, with `pem-rfc7468` (RFC 7468's strict grammar:
/// base64 lines of 64 characters, no headers) into `out`; returns the length.
fn decode_block(block: &[u8], out: &mut [u8]) -> Result<usize, CertFileError> {
    match pem_rfc7468::decode(block, out) {
        Ok(("CERTIFICATE", der)) if !der.is_empty() => Ok(der.len()),
        Err(pem_rfc7468::Error::Length) => Err(CertFileError::BufferTooSmall),
        _ => Err(CertFileError::InvalidPem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT_PEM: &[u8] = include_bytes!("../../tests/data/certs/root-ca.pem");
    const ROOT_DER: &[u8] = include_bytes!("../../tests/data/certs/root-ca.der");
    const MID_PEM: &[u8] = include_bytes!("../../tests/data/certs/intermediate-ca.pem");
    const MID_DER: &[u8] = include_bytes!("../../tests/data/certs/intermediate-ca.der");
    const KEY_PEM: &[u8] = include_bytes!("../../tests/data/certs/intermediate-ca.key.pem");

    #[test]
    fn bundles_with_text_and_other_blocks() {
        let mut file = b"Bag Attributes: issuer\r\n".to_vec();
        file.extend_from_slice(ROOT_PEM);
        file.extend_from_slice(KEY_PEM);
        file.extend_from_slice(b"\n# the intermediate\n");
        file.extend_from_slice(MID_PEM);
        let mut out = std::vec![0u8; file.len()];
        {
            let certs = decode_certificates::<4>(&file, &mut out).unwrap();
            assert_eq!(certs.as_slice(), [ROOT_DER, MID_DER]);
        }
        // CRLF line ends.
        let crlf: std::vec::Vec<u8> = std::string::String::from_utf8(ROOT_PEM.to_vec())
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes();
        {
            let certs = decode_certificates::<1>(&crlf, &mut out).unwrap();
            assert_eq!(certs.as_slice(), [ROOT_DER]);
        }
        // DER as is.
        let certs = decode_certificates::<1>(ROOT_DER, &mut out).unwrap();
        assert_eq!(certs.as_slice(), [ROOT_DER]);
    }

    #[test]
    fn bad_files() {
        let mut out = [0u8; 4096];
        assert_eq!(
            decode_certificates::<1>(b"hello", &mut out),
            Err(CertFileError::NoCertificate)
        );
        assert_eq!(
            decode_certificates::<1>(KEY_PEM, &mut out),
            Err(CertFileError::NoCertificate)
        );
        let cut = &ROOT_PEM[..ROOT_PEM.len() - 30];
        assert_eq!(
            decode_certificates::<1>(cut, &mut out),
            Err(CertFileError::InvalidPem)
        );
        let mut bad = ROOT_PEM.to_vec();
        bad[40] = b'*';
        assert_eq!(
            decode_certificates::<1>(&bad, &mut out),
            Err(CertFileError::InvalidPem)
        );
        let mut two = ROOT_PEM.to_vec();
        two.extend_from_slice(MID_PEM);
        assert_eq!(
            decode_certificates::<1>(&two, &mut out),
            Err(CertFileError::TooManyCertificates { max: 1 })
        );
        assert_eq!(
            decode_certificates::<1>(ROOT_PEM, &mut out[..ROOT_DER.len() - 1]),
            Err(CertFileError::BufferTooSmall)
        );
    }

    #[test]
    fn pins() {
        let b64 = "sha256//q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=";
        let want: [u8; 32] =
            core::array::from_fn(|i| [0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89][i % 8]);
        assert_eq!(parse_pin(b64), Ok(want));
        assert_eq!(parse_pin(&b64[8..]), Ok(want));
        assert_eq!(
            parse_pin(" abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789 \n"),
            Ok(want)
        );
        for bad in [
            "",
            "sha256//",
            "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k",
            "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k==",
            "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4*=",
            "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=",
            &"g".repeat(64),
        ] {
            assert_eq!(parse_pin(bad), Err(CertFileError::InvalidPin), "{bad:?}");
        }
    }
}
