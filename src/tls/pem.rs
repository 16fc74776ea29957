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
            let body = &rest[begin + PEM_BEGIN.len()..];
            let end = find(body, PEM_END).ok_or(CertFileError::InvalidPem)?;
            let n = decode_base64_text(&body[..end], &mut out[used..])?;
            if n == 0 {
                return Err(CertFileError::InvalidPem);
            }
            lens.push(n)
                .map_err(|_| CertFileError::TooManyCertificates { max: N })?;
            used += n;
            rest = &body[end + PEM_END.len()..];
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
    let mut buf = [0u8; 33];
    match crate::b64::decode(text, &mut buf) {
        Some(32) => {
            pin.copy_from_slice(&buf[..32]);
            Ok(pin)
        }
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

/// Decodes base64 text with line breaks (RFC 7468 §3) into `out`; returns the length.
fn decode_base64_text(text: &[u8], out: &mut [u8]) -> Result<usize, CertFileError> {
    let mut quad = [0u8; 4];
    let mut have = 0;
    let mut written = 0;
    let mut padded = false;
    for &c in text.iter().filter(|c| !c.is_ascii_whitespace()) {
        if padded {
            return Err(CertFileError::InvalidPem);
        }
        quad[have] = c;
        have += 1;
        if have == 4 {
            let mut three = [0u8; 3];
            let n = crate::b64::decode(&quad, &mut three).ok_or(CertFileError::InvalidPem)?;
            out.get_mut(written..written + n)
                .ok_or(CertFileError::BufferTooSmall)?
                .copy_from_slice(&three[..n]);
            written += n;
            padded = quad[3] == b'=';
            have = 0;
        }
    }
    if have != 0 {
        return Err(CertFileError::InvalidPem);
    }
    Ok(written)
}
