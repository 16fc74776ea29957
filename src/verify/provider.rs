//! [`Provider`], the embedded-tls [`CryptoProvider`] that hands the caller's RNG and
//! a [`Verifier`] to embedded-tls.

use core::marker::PhantomData;

use embedded_tls::{CryptoProvider, CryptoRngCore, TlsCipherSuite, TlsError, TlsVerifier};

use super::Verifier;
use super::error::VerifyError;

/// The embedded-tls [`CryptoProvider`] of this crate: the caller's RNG, the cipher
/// suite `CipherSuite` (e.g. `embedded_tls::Aes128GcmSha256`) and a [`Verifier`].
///
/// Pass `&mut provider` to `TlsContext::new`, so that the verifier can be asked
/// afterwards ([`Provider::check_verified`], [`Verifier::last_error`]). TLS buffers:
/// read 16 640 bytes, write 4 096 (never more than 16 517).
pub struct Provider<'a, CipherSuite, Rng> {
    rng: Rng,
    verifier: Verifier<'a>,
    _suite: PhantomData<CipherSuite>,
}

impl<'a, CipherSuite: TlsCipherSuite, Rng: CryptoRngCore> Provider<'a, CipherSuite, Rng> {
    /// A provider that authenticates the server with `verifier`. The RNG makes the
    /// key share and ClientHello random: use a real CSPRNG (hardware TRNG or a
    /// properly seeded DRBG), never a counter or a fixed seed.
    pub fn new(rng: Rng, verifier: Verifier<'a>) -> Self {
        Provider {
            rng,
            verifier,
            _suite: PhantomData,
        }
    }

    /// **Verifies nothing**: see [`Verifier::danger_no_verify`].
    pub fn danger_no_verify(rng: Rng) -> Self {
        Provider::new(rng, Verifier::danger_no_verify())
    }

    /// The verifier, e.g. for [`Verifier::last_error`].
    pub fn certificate_verifier(&self) -> &Verifier<'a> {
        &self.verifier
    }

    /// The verifier, e.g. for [`Verifier::set_time`].
    pub fn certificate_verifier_mut(&mut self) -> &mut Verifier<'a> {
        &mut self.verifier
    }

    /// [`Verifier::check_verified`]: call it after every successful `open`.
    pub fn check_verified(&self) -> Result<(), VerifyError> {
        self.verifier.check_verified()
    }

    /// The RNG and the verifier back.
    pub fn into_parts(self) -> (Rng, Verifier<'a>) {
        (self.rng, self.verifier)
    }
}

impl<CipherSuite: TlsCipherSuite, Rng: CryptoRngCore> CryptoProvider
    for Provider<'_, CipherSuite, Rng>
{
    type CipherSuite = CipherSuite;
    type Signature = p256::ecdsa::DerSignature;

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<CipherSuite>, TlsError> {
        Ok(&mut self.verifier)
    }
}
