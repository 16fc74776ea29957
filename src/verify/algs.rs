//! Signature algorithms from RustCrypto, as rustls-pki-types
//! [`SignatureVerificationAlgorithm`]s: the same objects check the signatures in the
//! certificate chain (through rustls-webpki) and the server's TLS 1.3
//! CertificateVerify (through [`super::Verifier`]).
//!
//! Which ones exist depends on the features: ECDSA P-256 always (with SHA-256, and
//! with SHA-384 for CAs that sign that way), P-384 with `tls-p384`, RSA PKCS#1 v1.5 and
//! RSA-PSS (SHA-256/384/512, keys of 2048 to 4096 bits, no heap: [`super::rsa`]) with `tls-rsa`, Ed25519 with
//! `tls-ed25519`.

use rustls_pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};

/// The hash an algorithm applies to the message before signing.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // Sha512 is only used by RSA
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The output length in bytes.
    #[allow(dead_code)] // only used by RSA
    pub(crate) fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }
}

/// ECDSA over P-256 (RFC 5480 `id-ecPublicKey` + `secp256r1`); DER-encoded
/// `Ecdsa-Sig-Value` signatures, as in X.509 and TLS 1.3.
#[derive(Debug)]
struct EcdsaP256(Hash);

impl SignatureVerificationAlgorithm for EcdsaP256 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p256::ecdsa::signature::Verifier as _;
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        use sha2::Digest as _;

        let key =
            p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        match self.0 {
            Hash::Sha256 => key.verify(message, &sig),
            Hash::Sha384 => key.verify_prehash(&sha2::Sha384::digest(message), &sig),
            Hash::Sha512 => key.verify_prehash(&sha2::Sha512::digest(message), &sig),
        }
        .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P256
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        ecdsa_alg_id(self.0)
    }
}

fn ecdsa_alg_id(hash: Hash) -> AlgorithmIdentifier {
    match hash {
        Hash::Sha256 => alg_id::ECDSA_SHA256,
        Hash::Sha384 => alg_id::ECDSA_SHA384,
        Hash::Sha512 => alg_id::ECDSA_SHA512,
    }
}

/// ECDSA over P-384.
#[cfg(feature = "tls-p384")]
#[derive(Debug)]
struct EcdsaP384(Hash);

#[cfg(feature = "tls-p384")]
impl SignatureVerificationAlgorithm for EcdsaP384 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p384::ecdsa::signature::Verifier as _;
        use p384::ecdsa::signature::hazmat::PrehashVerifier as _;
        use sha2::Digest as _;

        let key =
            p384::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        match self.0 {
            Hash::Sha384 => key.verify(message, &sig),
            Hash::Sha256 => key.verify_prehash(&sha2::Sha256::digest(message), &sig),
            Hash::Sha512 => key.verify_prehash(&sha2::Sha512::digest(message), &sig),
        }
        .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P384
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        ecdsa_alg_id(self.0)
    }
}

/// RSASSA-PKCS1-v1_5 (certificate signatures only: TLS 1.3 forbids it in
/// CertificateVerify, RFC 8446 §4.4.3).
#[cfg(feature = "tls-rsa")]
#[derive(Debug)]
struct RsaPkcs1(Hash);

#[cfg(feature = "tls-rsa")]
impl SignatureVerificationAlgorithm for RsaPkcs1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        super::rsa::verify_pkcs1(self.0, public_key, message, signature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.0 {
            Hash::Sha256 => alg_id::RSA_PKCS1_SHA256,
            Hash::Sha384 => alg_id::RSA_PKCS1_SHA384,
            Hash::Sha512 => alg_id::RSA_PKCS1_SHA512,
        }
    }
}

/// RSASSA-PSS with MGF1 over the same hash and a salt as long as the hash, with an
/// `rsaEncryption` key: TLS 1.3's `rsa_pss_rsae_*` schemes and the RSA-PSS
/// certificate signature parameters RFC 4055 §3.1 (as rustls-webpki encodes them).
#[cfg(feature = "tls-rsa")]
#[derive(Debug)]
struct RsaPss(Hash);

#[cfg(feature = "tls-rsa")]
impl SignatureVerificationAlgorithm for RsaPss {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        // The salt is as long as the hash, which TLS 1.3 requires (RFC 8446
        // §4.2.3) and the fixed certificate parameters encode.
        super::rsa::verify_pss(self.0, public_key, message, signature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.0 {
            Hash::Sha256 => alg_id::RSA_PSS_SHA256,
            Hash::Sha384 => alg_id::RSA_PSS_SHA384,
            Hash::Sha512 => alg_id::RSA_PSS_SHA512,
        }
    }
}

/// Ed25519 (RFC 8410), verified strictly (no small-order keys, canonical `S`).
#[cfg(feature = "tls-ed25519")]
#[derive(Debug)]
struct Ed25519;

#[cfg(feature = "tls-ed25519")]
impl SignatureVerificationAlgorithm for Ed25519 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key: &[u8; 32] = public_key.try_into().map_err(|_| InvalidSignature)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(key).map_err(|_| InvalidSignature)?;
        let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| InvalidSignature)?;
        key.verify_strict(message, &sig)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }
}

static ECDSA_P256_SHA256: EcdsaP256 = EcdsaP256(Hash::Sha256);
static ECDSA_P256_SHA384: EcdsaP256 = EcdsaP256(Hash::Sha384);
#[cfg(feature = "tls-p384")]
static ECDSA_P384_SHA384: EcdsaP384 = EcdsaP384(Hash::Sha384);
#[cfg(feature = "tls-p384")]
static ECDSA_P384_SHA256: EcdsaP384 = EcdsaP384(Hash::Sha256);
/// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2), for certificate signatures;
/// `rsaEncryption` keys of 2048 to 4096 bits given as a DER `RSAPublicKey`.
#[cfg(feature = "tls-rsa")]
pub static RSA_PKCS1_SHA256: &dyn SignatureVerificationAlgorithm = &RsaPkcs1(Hash::Sha256);
/// RSASSA-PKCS1-v1_5 with SHA-384 (RFC 8017 §8.2), as [`RSA_PKCS1_SHA256`].
#[cfg(feature = "tls-rsa")]
pub static RSA_PKCS1_SHA384: &dyn SignatureVerificationAlgorithm = &RsaPkcs1(Hash::Sha384);
/// RSASSA-PKCS1-v1_5 with SHA-512 (RFC 8017 §8.2), as [`RSA_PKCS1_SHA256`].
#[cfg(feature = "tls-rsa")]
pub static RSA_PKCS1_SHA512: &dyn SignatureVerificationAlgorithm = &RsaPkcs1(Hash::Sha512);
/// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 8017 §8.1): TLS
/// 1.3's `rsa_pss_rsae_sha256` (RFC 8446 §4.2.3) and the RFC 4055 §3.1 certificate
/// signature; `rsaEncryption` keys of 2048 to 4096 bits as a DER `RSAPublicKey`.
#[cfg(feature = "tls-rsa")]
pub static RSA_PSS_SHA256: &dyn SignatureVerificationAlgorithm = &RsaPss(Hash::Sha256);
/// RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt, as [`RSA_PSS_SHA256`].
#[cfg(feature = "tls-rsa")]
pub static RSA_PSS_SHA384: &dyn SignatureVerificationAlgorithm = &RsaPss(Hash::Sha384);
/// RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt, as [`RSA_PSS_SHA256`].
#[cfg(feature = "tls-rsa")]
pub static RSA_PSS_SHA512: &dyn SignatureVerificationAlgorithm = &RsaPss(Hash::Sha512);
#[cfg(feature = "tls-ed25519")]
static ED25519: Ed25519 = Ed25519;

/// Every algorithm compiled in, for certificate signatures. rustls-webpki picks the
/// one whose `signature_alg_id` matches the certificate's and whose
/// `public_key_alg_id` matches the issuer's key.
pub(crate) static CHAIN_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    &ECDSA_P256_SHA256,
    &ECDSA_P256_SHA384,
    #[cfg(feature = "tls-p384")]
    &ECDSA_P384_SHA384,
    #[cfg(feature = "tls-p384")]
    &ECDSA_P384_SHA256,
    #[cfg(feature = "tls-rsa")]
    RSA_PKCS1_SHA256,
    #[cfg(feature = "tls-rsa")]
    RSA_PKCS1_SHA384,
    #[cfg(feature = "tls-rsa")]
    RSA_PKCS1_SHA512,
    #[cfg(feature = "tls-rsa")]
    RSA_PSS_SHA256,
    #[cfg(feature = "tls-rsa")]
    RSA_PSS_SHA384,
    #[cfg(feature = "tls-rsa")]
    RSA_PSS_SHA512,
    #[cfg(feature = "tls-ed25519")]
    &ED25519,
];

/// The kind of a server's public key, from its SPKI `AlgorithmIdentifier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    P256,
    P384,
    Rsa,
    Ed25519,
}

impl KeyKind {
    /// The key kind of an SPKI `AlgorithmIdentifier` (its contents, without the
    /// outer SEQUENCE), or `None` for any other key.
    pub(crate) fn of_spki_algorithm(id: &[u8]) -> Option<KeyKind> {
        [
            (alg_id::ECDSA_P256, KeyKind::P256),
            (alg_id::ECDSA_P384, KeyKind::P384),
            (alg_id::RSA_ENCRYPTION, KeyKind::Rsa),
            (alg_id::ED25519, KeyKind::Ed25519),
        ]
        .into_iter()
        .find(|(known, _)| known.as_ref() == id)
        .map(|(_, kind)| kind)
    }

    /// The key kind of a certificate's `signatureAlgorithm` (its contents), where
    /// the signature algorithm alone says it: RSA and Ed25519 (an ECDSA signature
    /// does not say the curve).
    pub(crate) fn of_signature_algorithm(id: &[u8]) -> Option<KeyKind> {
        [
            alg_id::RSA_PKCS1_SHA256,
            alg_id::RSA_PKCS1_SHA384,
            alg_id::RSA_PKCS1_SHA512,
            alg_id::RSA_PSS_SHA256,
            alg_id::RSA_PSS_SHA384,
            alg_id::RSA_PSS_SHA512,
        ]
        .iter()
        .any(|known| known.as_ref() == id)
        .then_some(KeyKind::Rsa)
        .or_else(|| (alg_id::ED25519.as_ref() == id).then_some(KeyKind::Ed25519))
    }

    /// The public [`super::Algorithm`] of this key kind, `None` for P-256 (always
    /// built in).
    pub(crate) fn algorithm(self) -> Option<super::Algorithm> {
        match self {
            KeyKind::P256 => None,
            KeyKind::Rsa => Some(super::Algorithm::Rsa),
            KeyKind::P384 => Some(super::Algorithm::EcdsaP384),
            KeyKind::Ed25519 => Some(super::Algorithm::Ed25519),
        }
    }

    /// The error for a key kind this build leaves out.
    pub(crate) fn not_built(self) -> super::VerifyError {
        self.algorithm()
            .map_or(super::VerifyError::UnsupportedSignatureAlgorithm, |a| {
                super::VerifyError::AlgorithmNotBuilt(a)
            })
    }

    /// Whether this build can check a CertificateVerify made with such a key.
    pub(crate) fn is_supported(self) -> bool {
        match self {
            KeyKind::P256 => true,
            KeyKind::P384 => cfg!(feature = "tls-p384"),
            KeyKind::Rsa => cfg!(feature = "tls-rsa"),
            KeyKind::Ed25519 => cfg!(feature = "tls-ed25519"),
        }
    }
}

/// What a TLS 1.3 CertificateVerify signature scheme (RFC 8446 §4.2.3) needs.
pub(crate) enum SchemeUse {
    /// The scheme needs a key of this kind, and this build verifies it with `alg`.
    Supported(KeyKind, &'static dyn SignatureVerificationAlgorithm),
    /// The scheme needs a key of this kind but this build, or TLS 1.3, does not
    /// allow it (RSA PKCS#1 v1.5, or a feature that is off).
    Unsupported(KeyKind),
    /// Not a scheme this crate knows a key kind for.
    Unknown,
}

/// Maps a TLS 1.3 CertificateVerify signature scheme code point to what it needs.
pub(crate) fn for_scheme(code: u16) -> SchemeUse {
    match code {
        0x0403 => SchemeUse::Supported(KeyKind::P256, &ECDSA_P256_SHA256),
        #[cfg(feature = "tls-p384")]
        0x0503 => SchemeUse::Supported(KeyKind::P384, &ECDSA_P384_SHA384),
        #[cfg(not(feature = "tls-p384"))]
        0x0503 => SchemeUse::Unsupported(KeyKind::P384),
        #[cfg(feature = "tls-rsa")]
        0x0804 => SchemeUse::Supported(KeyKind::Rsa, RSA_PSS_SHA256),
        #[cfg(feature = "tls-rsa")]
        0x0805 => SchemeUse::Supported(KeyKind::Rsa, RSA_PSS_SHA384),
        #[cfg(feature = "tls-rsa")]
        0x0806 => SchemeUse::Supported(KeyKind::Rsa, RSA_PSS_SHA512),
        #[cfg(not(feature = "tls-rsa"))]
        0x0804..=0x0806 => SchemeUse::Unsupported(KeyKind::Rsa),
        // rsa_pkcs1_*: not allowed in a TLS 1.3 CertificateVerify (RFC 8446 §4.4.3).
        0x0401 | 0x0501 | 0x0601 => SchemeUse::Unsupported(KeyKind::Rsa),
        #[cfg(feature = "tls-ed25519")]
        0x0807 => SchemeUse::Supported(KeyKind::Ed25519, &ED25519),
        #[cfg(not(feature = "tls-ed25519"))]
        0x0807 => SchemeUse::Unsupported(KeyKind::Ed25519),
        _ => SchemeUse::Unknown,
    }
}
