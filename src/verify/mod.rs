//! Server certificate verification for embedded-tls (feature `tls`).
//!
//! [`Verifier`] implements embedded-tls 0.19's [`TlsVerifier`] on top of
//! rustls-webpki (no `alloc`) and RustCrypto signature algorithms, and
//! [`Provider`] hands it to embedded-tls together with the caller's RNG. It
//! replaces embedded-tls's own `rustpki` verifier, which must not be used: it never
//! checks basicConstraints or keyUsage (any leaf of a trusted CA can mint a
//! certificate for any host), looks at only three SANs and falls back to the CN,
//! holds one anchor, and can be made to panic with RSA keys.
//!
//! # What is checked
//!
//! With trust anchors ([`Verifier::with_anchors`]), for the server's Certificate message:
//!
//! - the leaf is valid for the server name given to embedded-tls
//!   ([`TlsConfig::with_server_name`]): a DNS name against the DNS SANs, an IP
//!   address against the IP SANs; the CN is never looked at (RFC 6125 §6.4.4);
//! - a path exists from the leaf, through the intermediates the server sent (in any
//!   order), to one of the anchors, with basicConstraints (only CAs issue, path
//!   lengths), name constraints and extended key usage `serverAuth` checked on the way;
//! - every certificate on the path is valid at the time the caller gave
//!   ([`TimeSource`]); with no time the verifier refuses
//!   ([`VerifyError::NoTimeSource`]) unless [`TimeSource::DangerNoTimeCheck`] was chosen;
//! - every signature on the path verifies with an algorithm compiled in.
//!
//! Revocation (CRL, OCSP) is not checked.
//!
//! With pins ([`Verifier::with_pins`]) the only check on the certificate is that the
//! SHA-256 of the leaf's SubjectPublicKeyInfo equals one of the pins: no chain, name
//! or time is looked at (the usual choice for a device without a root store or a clock).
//! With both ([`Verifier::with_anchors_and_pins`]) both must hold: every check of the
//! anchors and a pinned leaf key, as curl's `--cacert` with `--pinnedpubkey`.
//!
//! In every mode the server's CertificateVerify (RFC 8446 §4.4.3) must then be a
//! valid signature, by the leaf's key, over the handshake transcript, with a
//! signature scheme made for that kind of key (an RSA scheme with an EC certificate
//! is refused).
//!
//! # Algorithms and features
//!
//! | feature | keys and signatures | cost |
//! |---|---|---|
//! | `tls` | ECDSA P-256 with SHA-256 (SHA-384 in certificates too) | no alloc |
//! | `tls-p384` | ECDSA P-384 | about 115 KB flash |
//! | `tls-rsa` | RSA 2048-4096 bits: PKCS#1 v1.5 (certificates) and PSS (SHA-256/384/512), `RSA_PKCS1_SHA256` and the others | no alloc; about 5 KB flash |
//! | `tls-ed25519` | Ed25519 | |
//! | `webpki-roots` | Mozilla's roots, `Verifier::with_webpki_roots` | about 200 KB, for desktops |
//!
//! A server whose leaf key, or a chain whose signatures, need an algorithm this build
//! leaves out is refused at its Certificate message with
//! [`VerifyError::AlgorithmNotBuilt`], which names the feature to enable; one this
//! crate cannot verify at all, with [`VerifyError::UnsupportedSignatureAlgorithm`].
//!
//! RSA is verified without a heap (RFC 8017 §8.1.2 RSASSA-PSS-VERIFY, §8.2.2
//! RSASSA-PKCS1-V1_5-VERIFY) on crypto-bigint limbs, for moduli of 2048 to 4096
//! bits and public exponents from 3 to 2^33 - 1; PSS with MGF1 over the same hash
//! and a salt as long as the hash (RFC 8446 §4.2.3). What is refused, and why, is
//! listed in `src/verify/rsa.rs`. Cost on a Cortex-M4F (QEMU, `tests/firmware`):
//! about 2.2 million instructions for an RSA-2048 signature, 8.9 million for
//! RSA-4096.
//!
//! # Using it with embedded-tls
//!
//! ```no_run
//! # fn demo<S: embedded_io::Read + embedded_io::Write>(
//! #     socket: S, rng: impl embedded_tls::CryptoRngCore, root_der: &[u8], now: u64,
//! # ) -> Result<(), embedded_smtp::verify::VerifyError> {
//! use embedded_smtp::verify::{Provider, TimeSource, Verifier, anchor_from_der, tls_config};
//! use embedded_tls::Aes128GcmSha256;
//! use embedded_tls::blocking::{TlsConnection, TlsContext};
//!
//! let anchors = [anchor_from_der(root_der)?];
//! let verifier = Verifier::with_anchors(&anchors, TimeSource::Now(now));
//! let mut provider = Provider::<Aes128GcmSha256, _>::new(rng, verifier);
//! let config = tls_config("smtp.example.com");
//!
//! let mut read_buf = [0u8; 16_640]; // a full TLS record; never less
//! let mut write_buf = [0u8; 4_096]; // at most 16_517
//! let mut tls: TlsConnection<'_, S, Aes128GcmSha256> =
//!     TlsConnection::new(socket, &mut read_buf, &mut write_buf);
//! let opened = tls.open(TlsContext::new(&config, &mut provider));
//! // embedded-tls only says `InvalidCertificate`: the typed reason is kept here.
//! if let Err(_tls_error) = opened {
//!     return Err(provider.certificate_verifier().last_error().unwrap_or(
//!         embedded_smtp::verify::VerifyError::NoCertificateVerify));
//! }
//! // REQUIRED: embedded-tls 0.19 finishes a handshake in which the server sent no
//! // Certificate or CertificateVerify at all. Only this call notices.
//! provider.check_verified()?;
//! # Ok(()) }
//! ```
//!
//! Buffers for embedded-tls, beside this crate's own: the record read buffer must
//! hold a whole TLS record, 16 640 bytes; the write buffer 4 096 bytes is enough for
//! SMTP and must never exceed 16 517 bytes (peers reject records built in a larger
//! one). The verifier itself is 560 bytes on x86-64 (960 with `tls-rsa`, which
//! keeps room for a 4096-bit key); the chain is checked where it lies, in the read
//! buffer.
//!
//! # embedded-tls behaviours this module works around
//!
//! - If a provider returns no verifier, embedded-tls skips verification silently;
//!   [`Provider`] always returns one ([`Verifier::danger_no_verify`] is the explicit
//!   way to verify nothing).
//! - embedded-tls does not require the server to send Certificate and
//!   CertificateVerify before Finished, so a man in the middle can leave both out:
//!   call [`Provider::check_verified`] (or [`Verifier::check_verified`]) after `open`.
//! - The verifier can only return embedded-tls's `TlsError`, which has no room for
//!   the reason: [`Verifier::last_error`] keeps it.
//! - The server name reaches the verifier only through
//!   [`TlsConfig::with_server_name`]; without it the name is unknown and, with anchors,
//!   the certificate is refused ([`VerifyError::NoServerName`]).
//! - The signature schemes offered to the server live in [`TlsConfig`], not in the
//!   verifier: [`tls_config`] adds the RSA ones in every build. embedded-tls always
//!   offers P-384 and Ed25519 as well, so a server may pick a key this build cannot
//!   verify; that ends in [`VerifyError::AlgorithmNotBuilt`], a permanent error that
//!   names the feature (an aborted handshake would look like a lost connection).

mod algs;
mod cert_verify;
mod chain;
mod der;
pub(crate) mod error;
mod provider;
#[cfg(feature = "tls-rsa")]
mod rsa;
#[cfg(test)]
mod tests;
mod trust;

use core::fmt;

use embedded_tls::{
    CertificateEntryRef, CertificateRef, CertificateVerifyRef, TlsCipherSuite, TlsConfig, TlsError,
    TlsVerifier,
};
use rustls_pki_types::CertificateDer;
use sha2::Digest;
use webpki::EndEntityCert;

use self::algs::KeyKind;
use self::trust::{Policy, check_pin};

#[cfg(feature = "tls-rsa")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls-rsa")))]
pub use self::algs::{
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
    RSA_PSS_SHA512,
};
pub use self::error::{Algorithm, VerifyError};
pub use self::provider::Provider;
pub use self::trust::{anchor_from_der, spki_sha256};
/// The rustls-pki-types crate (the `TrustAnchor` and `Der` types), re-exported.
pub use rustls_pki_types as pki_types;
pub use rustls_pki_types::TrustAnchor;

/// Largest leaf SubjectPublicKeyInfo kept for the CertificateVerify check, in
/// bytes: room for a 4096-bit RSA key (550 bytes with a 33-bit exponent) with
/// `tls-rsa`, for a P-521 key without.
pub const MAX_SPKI_LEN: usize = if cfg!(feature = "tls-rsa") { 560 } else { 160 };

/// Longest server name kept: a DNS name is at most 253 characters (RFC 1035 §2.3.4
/// with the dots written out).
pub const MAX_SERVER_NAME_LEN: usize = 253;

/// Unix times before this one (2024-01-01T00:00:00Z) are taken as a clock that was
/// never set (an RTC that starts at 1970 or 2000) and treated like
/// [`TimeSource::Unknown`]: [`VerifyError::NoTimeSource`] says more than a
/// certificate that is "not yet valid".
pub const MIN_PLAUSIBLE_TIME: u64 = 1_704_067_200;

/// What the verifier knows about the current time, for certificate validity periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimeSource {
    /// Seconds since the Unix epoch, from an RTC, SNTP or `SystemTime`. A value
    /// before [`MIN_PLAUSIBLE_TIME`] counts as [`TimeSource::Unknown`].
    Now(u64),
    /// No clock (yet): certificates are refused with [`VerifyError::NoTimeSource`].
    /// Pinning ([`Verifier::with_pins`]) works without a clock.
    Unknown,
    /// Do not look at validity periods: an expired (or stolen and since replaced)
    /// certificate is accepted. The chain is checked at an instant inside every
    /// certificate's period, found by retrying; a chain whose periods do not overlap
    /// is still refused.
    DangerNoTimeCheck,
}

impl From<Option<u64>> for TimeSource {
    /// `Some(seconds)` is [`TimeSource::Now`], `None` is [`TimeSource::Unknown`].
    fn from(t: Option<u64>) -> Self {
        t.map_or(TimeSource::Unknown, TimeSource::Now)
    }
}

impl From<VerifyError> for TlsError {
    /// The closest embedded-tls error (it has no room for the reason).
    fn from(e: VerifyError) -> TlsError {
        match e {
            VerifyError::BadSignature => TlsError::InvalidSignature,
            VerifyError::UnsupportedSignatureAlgorithm
            | VerifyError::AlgorithmNotBuilt(_)
            | VerifyError::SignatureSchemeMismatch => TlsError::InvalidSignatureScheme,
            VerifyError::UnexpectedCertificateVerify | VerifyError::NoCertificateVerify => {
                TlsError::InvalidHandshake
            }
            _ => TlsError::InvalidCertificate,
        }
    }
}

/// The TLS configuration this verifier expects: `server_name` is sent as SNI and is
/// the name the certificate is checked against.
///
/// The RSA signature schemes (RFC 8446 §4.2.3) are offered in every build, with or
/// without `tls-rsa`: a server with an RSA certificate then sends it, and a build
/// without RSA refuses it with [`VerifyError::AlgorithmNotBuilt`], which names the
/// feature. Not offering them would make such a server abort the handshake, which
/// reaches the caller as a closed connection, indistinguishable from a network
/// failure (and retried as one). Offering them costs 12 bytes of flash (footprint
/// row (d), Cortex-M4F, opt-level z).
///
/// embedded-tls sends the name as SNI even when it is an IP address, which RFC 6066
/// §3 does not allow; servers seen so far (rustls) ignore it.
pub fn tls_config(server_name: &str) -> TlsConfig<'_> {
    TlsConfig::new()
        .with_server_name(server_name)
        .enable_rsa_signatures()
}

/// Where the verifier is in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// No certificate verified yet.
    Start,
    /// The Certificate message was accepted; its CertificateVerify is due.
    Certificate,
    /// Certificate and CertificateVerify both verified.
    Verified,
}

/// Verifies the server's certificate chain and CertificateVerify for embedded-tls.
///
/// Build one with [`Verifier::with_anchors`], [`Verifier::with_pins`],
/// [`Verifier::with_anchors_and_pins`] (or `Verifier::with_webpki_roots`, feature
/// `webpki-roots`, or the explicit [`Verifier::danger_no_verify`]),
/// give it to embedded-tls in a [`Provider`], and after `open` call
/// [`Verifier::check_verified`]. It can be used for one handshake after another
/// (each `open` with a server name, as [`tls_config`] sets, starts afresh);
/// update the time with [`Verifier::set_time`] before each.
pub struct Verifier<'a> {
    policy: Policy<'a>,
    time: TimeSource,
    /// The server name embedded-tls gave; empty (so invalid) if it was too long.
    name: Option<heapless::String<MAX_SERVER_NAME_LEN>>,
    progress: Progress,
    last_error: Option<VerifyError>,
    /// The leaf's SubjectPublicKeyInfo (whole TLV), for CertificateVerify.
    spki: [u8; MAX_SPKI_LEN],
    /// (Narrow lengths keep the verifier, moved by value into the TLS layer, small.)
    spki_len: u16,
    /// The transcript hash up to and including the Certificate message.
    transcript: [u8; 64],
    transcript_len: u8,
}

impl fmt::Debug for Verifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = match self.policy {
            Policy::Anchors(a) => ("anchors", a.len()),
            Policy::Pins(p) => ("pins", p.len()),
            Policy::AnchorsAndPins(a, p) => ("anchors and pins", a.len() + p.len()),
            Policy::DangerNoVerify => ("danger_no_verify", 0),
        };
        f.debug_struct("Verifier")
            .field("policy", &policy)
            .field("time", &self.time)
            .field("name", &self.name)
            .field("progress", &self.progress)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

impl<'a> Verifier<'a> {
    fn new(policy: Policy<'a>, time: TimeSource) -> Self {
        Verifier {
            policy,
            time,
            name: None,
            progress: Progress::Start,
            last_error: None,
            spki: [0; MAX_SPKI_LEN],
            spki_len: 0,
            transcript: [0; 64],
            transcript_len: 0,
        }
    }

    /// Accepts a server whose certificate chains to one of `anchors`, is valid for
    /// the server name and is valid at `time`. See the [module docs](self).
    pub fn with_anchors(anchors: &'a [TrustAnchor<'a>], time: TimeSource) -> Self {
        Self::new(Policy::Anchors(anchors), time)
    }

    /// Accepts a server iff the SHA-256 of its leaf certificate's
    /// SubjectPublicKeyInfo equals one of `pins` ([`spki_sha256`]). No chain, name
    /// or time check; the CertificateVerify is still verified with the leaf's key.
    pub fn with_pins(pins: &'a [[u8; 32]]) -> Self {
        Self::new(Policy::Pins(pins), TimeSource::Unknown)
    }

    /// Accepts a server only if **both** checks hold: its certificate passes every
    /// check of [`Verifier::with_anchors`] (chain to one of `anchors`, server name,
    /// validity at `time`) **and** the SHA-256 of the leaf's SubjectPublicKeyInfo
    /// equals one of `pins` (curl's `--cacert` with `--pinnedpubkey`). A pin here
    /// narrows what the anchors accept; it does not replace the chain, the name or
    /// the clock. The pin is checked first (it costs no signature): a key that
    /// matches no pin is [`VerifyError::PinMismatch`] whatever the chain.
    pub fn with_anchors_and_pins(
        anchors: &'a [TrustAnchor<'a>],
        pins: &'a [[u8; 32]],
        time: TimeSource,
    ) -> Self {
        Self::new(Policy::AnchorsAndPins(anchors, pins), time)
    }

    /// [`Verifier::with_anchors`] with Mozilla's root store (`webpki-roots` crate).
    #[cfg(feature = "webpki-roots")]
    #[cfg_attr(docsrs, doc(cfg(feature = "webpki-roots")))]
    pub fn with_webpki_roots(time: TimeSource) -> Verifier<'static> {
        Verifier::with_anchors(webpki_roots::TLS_SERVER_ROOTS, time)
    }

    /// **Accepts any server**: no certificate or signature is checked, and a man in
    /// the middle reads everything, passwords included. Only for tests and for
    /// servers authenticated some other way. Printing a warning is the caller's job.
    pub fn danger_no_verify() -> Verifier<'static> {
        Verifier::new(Policy::DangerNoVerify, TimeSource::DangerNoTimeCheck)
    }

    /// Sets the time for the next handshakes (e.g. after SNTP answered).
    pub fn set_time(&mut self, time: TimeSource) {
        self.time = time;
    }

    /// The reason the last Certificate or CertificateVerify was refused, if it was.
    /// Cleared when a new Certificate message arrives.
    pub fn last_error(&self) -> Option<VerifyError> {
        self.last_error
    }

    /// `Ok` iff the server's Certificate and then its CertificateVerify were both
    /// verified in the last handshake. **Call it after embedded-tls's `open`
    /// succeeds**: embedded-tls 0.19 completes a handshake in which the server sent
    /// neither message, and only this check notices. Always `Ok` for
    /// [`Verifier::danger_no_verify`].
    pub fn check_verified(&self) -> Result<(), VerifyError> {
        match (self.policy, self.progress) {
            (Policy::DangerNoVerify, _) | (_, Progress::Verified) => Ok(()),
            _ => Err(self.last_error.unwrap_or(VerifyError::NoCertificateVerify)),
        }
    }

    /// Checks the server's Certificate message (what embedded-tls's
    /// `verify_certificate` does, with the typed error). `transcript_hash` is the
    /// handshake hash up to and including this message; it is kept for
    /// [`Verifier::verify_certificate_verify`].
    pub fn verify_server_certificate(
        &mut self,
        transcript_hash: &[u8],
        certificate: &CertificateRef<'_>,
    ) -> Result<(), VerifyError> {
        self.progress = Progress::Start;
        self.spki_len = 0;
        self.transcript_len = 0;
        let result = self.check_certificate(transcript_hash, certificate);
        self.record(result)?;
        self.progress = Progress::Certificate;
        Ok(())
    }

    /// Checks the server's CertificateVerify against the certificate accepted by
    /// [`Verifier::verify_server_certificate`].
    pub fn verify_certificate_verify(
        &mut self,
        verify: &CertificateVerifyRef<'_>,
    ) -> Result<(), VerifyError> {
        let result = if self.progress == Progress::Certificate {
            self.check_certificate_verify(verify.signature_scheme.as_u16(), verify.signature)
        } else {
            Err(VerifyError::UnexpectedCertificateVerify)
        };
        self.progress = Progress::Start;
        self.record(result)?;
        self.progress = Progress::Verified;
        Ok(())
    }

    fn record(&mut self, result: Result<(), VerifyError>) -> Result<(), VerifyError> {
        self.last_error = result.err();
        if let Err(e) = result {
            warn!("server not authenticated: {}", e.as_str());
        }
        result
    }

    fn check_certificate(
        &mut self,
        transcript_hash: &[u8],
        certificate: &CertificateRef<'_>,
    ) -> Result<(), VerifyError> {
        if let Policy::DangerNoVerify = self.policy {
            return Ok(());
        }
        let leaf = match certificate.entries.first() {
            Some(CertificateEntryRef::X509(der)) => *der,
            Some(CertificateEntryRef::RawPublicKey(_)) => return Err(VerifyError::BadCertificate),
            None => return Err(VerifyError::NoCertificate),
        };
        let leaf_der = CertificateDer::from(leaf);
        let end_entity = EndEntityCert::try_from(&leaf_der).map_err(|e| {
            debug!("leaf: {}", VerifyError::from_webpki(&e).as_str());
            VerifyError::BadCertificate
        })?;
        let spki = der::certificate_spki(leaf).ok_or(VerifyError::BadCertificate)?;
        // The leaf's key first: a key this build cannot use for CertificateVerify
        // ends the handshake whatever the chain.
        let (algorithm, _) = der::split_spki(spki).ok_or(VerifyError::BadCertificate)?;
        match KeyKind::of_spki_algorithm(algorithm) {
            Some(kind) if kind.is_supported() => {}
            Some(kind) => return Err(kind.not_built()),
            None => return Err(VerifyError::UnsupportedSignatureAlgorithm),
        }

        match self.policy {
            Policy::DangerNoVerify => {}
            Policy::Pins(pins) => check_pin(spki, pins)?,
            Policy::Anchors(anchors) => self.check_path(&end_entity, certificate, leaf, anchors)?,
            Policy::AnchorsAndPins(anchors, pins) => {
                check_pin(spki, pins)?;
                self.check_path(&end_entity, certificate, leaf, anchors)?;
            }
        }
        let kept = self
            .spki
            .get_mut(..spki.len())
            .ok_or(VerifyError::KeyTooLarge)?;
        kept.copy_from_slice(spki);
        self.spki_len = u16::try_from(spki.len()).map_err(|_| VerifyError::KeyTooLarge)?;
        let kept = self
            .transcript
            .get_mut(..transcript_hash.len())
            .ok_or(VerifyError::BadCertificate)?;
        kept.copy_from_slice(transcript_hash);
        self.transcript_len =
            u8::try_from(transcript_hash.len()).map_err(|_| VerifyError::BadCertificate)?;
        Ok(())
    }
}

impl<CipherSuite: TlsCipherSuite> TlsVerifier<CipherSuite> for Verifier<'_> {
    /// embedded-tls calls this at the start of every `open` that has a server name:
    /// it also forgets what an earlier handshake verified, so that
    /// [`Verifier::check_verified`] speaks of this handshake only.
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        self.name = Some(heapless::String::try_from(hostname).unwrap_or_default());
        self.progress = Progress::Start;
        self.last_error = None;
        self.spki_len = 0;
        self.transcript_len = 0;
        Ok(())
    }

    fn verify_certificate(
        &mut self,
        transcript: &CipherSuite::Hash,
        cert: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        let hash = transcript.clone().finalize();
        Ok(self.verify_server_certificate(&hash, &cert)?)
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        Ok(self.verify_certificate_verify(&verify)?)
    }
}
