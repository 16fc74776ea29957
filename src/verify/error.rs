//! Why a server was not authenticated ([`VerifyError`]) and which algorithm a
//! build leaves out ([`Algorithm`]): a leaf that the TLS errors build on.

use core::fmt;

/// A server key and signature algorithm that a feature brings in
/// ([`VerifyError::AlgorithmNotBuilt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Algorithm {
    /// RSA keys, PKCS#1 v1.5 certificate signatures and RSA-PSS (RFC 8017):
    /// feature `tls-rsa`.
    Rsa,
    /// ECDSA over P-384 (RFC 5480): feature `tls-p384`.
    EcdsaP384,
    /// Ed25519 (RFC 8410): feature `tls-ed25519`.
    Ed25519,
}

impl Algorithm {
    /// The Cargo feature of this crate that brings the algorithm in.
    pub fn feature(self) -> &'static str {
        match self {
            Algorithm::Rsa => "tls-rsa",
            Algorithm::EcdsaP384 => "tls-p384",
            Algorithm::Ed25519 => "tls-ed25519",
        }
    }
}

/// Why a server was not authenticated.
///
/// Kept by [`Verifier::last_error`](super::Verifier::last_error); embedded-tls itself only sees the coarse
/// [`TlsError`](embedded_tls::TlsError) that `From<VerifyError>` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum VerifyError {
    /// No server name was given to embedded-tls ([`TlsConfig::with_server_name`](embedded_tls::TlsConfig::with_server_name)),
    /// so there is nothing to check the certificate against.
    NoServerName,
    /// The server name is neither a DNS name nor an IP address, or is longer than
    /// [`MAX_SERVER_NAME_LEN`](super::MAX_SERVER_NAME_LEN).
    InvalidServerName,
    /// No time ([`TimeSource::Unknown`](super::TimeSource::Unknown), or a clock before [`MIN_PLAUSIBLE_TIME`](super::MIN_PLAUSIBLE_TIME)) and
    /// no pins: validity periods cannot be checked.
    NoTimeSource,
    /// The server's Certificate message holds no certificate.
    NoCertificate,
    /// A certificate is malformed or uses something unsupported (a critical
    /// extension, a raw public key, a version other than 3, ...).
    BadCertificate,
    /// No path from the server's certificate to a trust anchor.
    UnknownIssuer,
    /// A certificate on the path was issued by a certificate that is not a CA
    /// (basicConstraints `CA:FALSE` or absent).
    IssuerNotCa,
    /// The server presented a CA certificate as its own.
    CaUsedAsLeaf,
    /// The certificate is not valid for the server name (SANs only; the CN is
    /// never used).
    NotValidForName,
    /// A certificate on the path has expired at the given time.
    Expired,
    /// A certificate on the path is not valid yet at the given time.
    NotYetValid,
    /// The leaf's extended key usage does not allow TLS servers.
    WrongKeyUsage,
    /// A path length or name constraint of a CA is violated.
    ConstraintViolated,
    /// Path building gave up (too deep, or too many signatures to try).
    ChainTooComplex,
    /// A signature algorithm or key this crate cannot verify in any build, or one
    /// TLS 1.3 forbids in CertificateVerify (RSA PKCS#1 v1.5, RFC 8446 §4.4.3).
    UnsupportedSignatureAlgorithm,
    /// The server's key, or a signature on its certificate chain, needs an
    /// algorithm this build leaves out: [`Algorithm::feature`] names the feature
    /// that brings it in. Like every `VerifyError`, permanent: retrying the same
    /// build against the same server fails the same way.
    AlgorithmNotBuilt(Algorithm),
    /// The CertificateVerify signature scheme is for another kind of key than the
    /// certificate's (e.g. RSA-PSS with an ECDSA certificate).
    SignatureSchemeMismatch,
    /// A signature (on a certificate, or the server's CertificateVerify) is invalid.
    BadSignature,
    /// The leaf's SubjectPublicKeyInfo SHA-256 equals none of the pins.
    PinMismatch,
    /// The leaf's public key is larger than [`MAX_SPKI_LEN`](super::MAX_SPKI_LEN).
    KeyTooLarge,
    /// A CertificateVerify arrived without a verified Certificate before it.
    UnexpectedCertificateVerify,
    /// The handshake ended without a verified Certificate and CertificateVerify
    /// (reported by [`Verifier::check_verified`](super::Verifier::check_verified)).
    NoCertificateVerify,
}

impl VerifyError {
    /// A short description a person can act on.
    pub fn as_str(&self) -> &'static str {
        match self {
            VerifyError::NoServerName => "no server name to check the certificate against",
            VerifyError::InvalidServerName => {
                "the server name is not a valid DNS name or IP address"
            }
            VerifyError::NoTimeSource => {
                "the time is unknown: set the clock (RTC/SNTP) or pin the server's key"
            }
            VerifyError::NoCertificate => "the server sent no certificate",
            VerifyError::BadCertificate => "the server's certificate is malformed or unsupported",
            VerifyError::UnknownIssuer => "the server's certificate is not from a trusted CA",
            VerifyError::IssuerNotCa => {
                "a certificate was issued by a certificate that is not a CA"
            }
            VerifyError::CaUsedAsLeaf => "the server presented a CA certificate as its own",
            VerifyError::NotValidForName => "the server's certificate is for another name",
            VerifyError::Expired => "the server's certificate has expired (or the clock is wrong)",
            VerifyError::NotYetValid => {
                "the server's certificate is not valid yet (or the clock is wrong)"
            }
            VerifyError::WrongKeyUsage => "the server's certificate is not for TLS servers",
            VerifyError::ConstraintViolated => "a CA's path length or name constraint is violated",
            VerifyError::ChainTooComplex => "the certificate chain is too long or complex",
            VerifyError::UnsupportedSignatureAlgorithm => {
                "a signature algorithm or key type this crate cannot verify"
            }
            VerifyError::AlgorithmNotBuilt(Algorithm::Rsa) => {
                "the server uses RSA, which this build leaves out: enable the `tls-rsa` feature"
            }
            VerifyError::AlgorithmNotBuilt(Algorithm::EcdsaP384) => {
                "the server uses ECDSA P-384, which this build leaves out: enable the `tls-p384` feature"
            }
            VerifyError::AlgorithmNotBuilt(Algorithm::Ed25519) => {
                "the server uses Ed25519, which this build leaves out: enable the `tls-ed25519` feature"
            }
            VerifyError::SignatureSchemeMismatch => {
                "the CertificateVerify signature scheme does not fit the certificate's key"
            }
            VerifyError::BadSignature => "a signature is invalid",
            VerifyError::PinMismatch => "the server's key matches no pin",
            VerifyError::KeyTooLarge => "the server's public key is too large",
            VerifyError::UnexpectedCertificateVerify => {
                "CertificateVerify without a verified certificate"
            }
            VerifyError::NoCertificateVerify => {
                "the server did not prove it holds its certificate's key"
            }
        }
    }

    /// Maps a rustls-webpki error to the reason a person can act on.
    pub(super) fn from_webpki(e: &webpki::Error) -> VerifyError {
        use webpki::Error as W;
        match e {
            W::UnknownIssuer | W::CertDistrusted => VerifyError::UnknownIssuer,
            W::CertNotValidForName(_) => VerifyError::NotValidForName,
            W::CertExpired { .. } => VerifyError::Expired,
            W::CertNotValidYet { .. } => VerifyError::NotYetValid,
            W::EndEntityUsedAsCa => VerifyError::IssuerNotCa,
            W::CaUsedAsEndEntity => VerifyError::CaUsedAsLeaf,
            W::RequiredEkuNotFoundContext(_) => VerifyError::WrongKeyUsage,
            W::PathLenConstraintViolated | W::NameConstraintViolation => {
                VerifyError::ConstraintViolated
            }
            W::MaximumPathDepthExceeded
            | W::MaximumSignatureChecksExceeded
            | W::MaximumPathBuildCallsExceeded
            | W::MaximumNameConstraintComparisonsExceeded => VerifyError::ChainTooComplex,
            W::InvalidSignatureForPublicKey => VerifyError::BadSignature,
            W::UnsupportedSignatureAlgorithmContext(_)
            | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
                VerifyError::UnsupportedSignatureAlgorithm
            }
            _ => VerifyError::BadCertificate,
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for VerifyError {}
