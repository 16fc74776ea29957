//! TLS sessions on Cortex-M4F under QEMU (mps2-an386), against servers recorded
//! on the host (`data/`, made by `tests/tls_cuts.rs`), in an image with no
//! `#[global_allocator]`:
//!
//! - the P-256 server with its chain verified;
//! - the RSA server (RSA-2048 leaf under an RSA-4096 intermediate): with feature
//!   `tls-rsa` the session completes with the chain and the RSA-PSS
//!   CertificateVerify verified; without it the handshake ends in
//!   `VerifyError::AlgorithmNotBuilt(Algorithm::Rsa)`, the permanent error that
//!   names the feature;
//! - with `tls-rsa`, the cost of single RSA verifications, in SysTick ticks of the
//!   25 MHz processor clock. Under `qemu-system-arm -icount shift=0` (one
//!   instruction per virtual nanosecond) a tick is 40 instructions, so the figures
//!   printed are instruction counts (within 40); `ci` runs it that way. A
//!   calibration loop of known length is printed beside them.
//!
//! Prints each check and a `N passed, M failed` line.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embedded_smtp::Error;
use embedded_smtp::tls::TlsFailure;
use embedded_smtp::verify::{Algorithm, VerifyError};
use embedded_smtp_firmware::Checks;
use embedded_smtp_firmware::tls::{RECORDING, RSA_RECORDING, run};
use panic_semihosting as _;

#[entry]
fn main() -> ! {
    let mut checks = Checks::default();
    checks.result(
        "P-256 server, chain verified",
        &run::<true>(RECORDING),
        |n| *n == 2,
    );
    let rsa = run::<true>(RSA_RECORDING);
    if cfg!(feature = "tls-rsa") {
        checks.result(
            "RSA-2048 leaf under RSA-4096, chain and CertificateVerify verified",
            &rsa,
            |n| *n == 2,
        );
    } else {
        let named = matches!(
            rsa,
            Err(Error::Tls(TlsFailure::Verify(
                VerifyError::AlgorithmNotBuilt(Algorithm::Rsa)
            )))
        );
        if named {
            checks.check(
                "RSA server without tls-rsa: the error names the feature",
                true,
            );
        } else {
            checks.result(
                "RSA server without tls-rsa: the error names the feature",
                &rsa,
                |_| false,
            );
        }
        if let Err(e) = &rsa {
            checks.check("... and it is permanent", !e.is_transient());
        }
    }
    #[cfg(feature = "tls-rsa")]
    cost::measure(&mut checks);
    checks.finish()
}

#[cfg(feature = "tls-rsa")]
mod cost {
    use cortex_m::peripheral::{SYST, syst::SystClkSource};
    use cortex_m_semihosting::hprintln;
    use embedded_smtp::verify::pki_types::SignatureVerificationAlgorithm;
    use embedded_smtp::verify::{RSA_PKCS1_SHA256, RSA_PSS_SHA256};
    use embedded_smtp_firmware::Checks;

    /// rsa-ca (RSA-2048) and what it signed: leaf-rsa-pkcs1 (PKCS#1 v1.5 SHA-256)
    /// and leaf-rsa-pss (PSS SHA-256).
    static RSA2048_CA: &[u8] = include_bytes!("../../../data/certs/rsa-ca.der");
    static BY_2048_PKCS1: &[u8] = include_bytes!("../../../data/certs/leaf-rsa-pkcs1.der");
    static BY_2048_PSS: &[u8] = include_bytes!("../../../data/certs/leaf-rsa-pss.der");
    /// rsa4096-ca (RSA-4096) and the leaf it signed (PKCS#1 v1.5 SHA-256).
    static RSA4096_CA: &[u8] = include_bytes!("../../../data/certs/rsa4096-ca.der");
    static BY_4096_PKCS1: &[u8] = include_bytes!("../../../data/certs/leaf-rsa-by-rsa4096.der");

    /// One DER TLV: (tag, whole, value, rest). Test data only.
    fn tlv(d: &[u8]) -> (u8, &[u8], &[u8], &[u8]) {
        let (tag, first) = (d[0], d[1] as usize);
        let (len, hdr) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7f;
            (
                d[2..2 + n].iter().fold(0, |a, &b| (a << 8) | b as usize),
                2 + n,
            )
        };
        (tag, &d[..hdr + len], &d[hdr..hdr + len], &d[hdr + len..])
    }

    /// (tbsCertificate, signature) of a certificate.
    fn signed(cert: &[u8]) -> (&[u8], &[u8]) {
        let (_, _, body, _) = tlv(cert);
        let (_, tbs, _, rest) = tlv(body);
        let (_, _, _, rest) = tlv(rest); // signatureAlgorithm
        let (_, _, bits, _) = tlv(rest);
        (tbs, &bits[1..])
    }

    /// The RSAPublicKey inside a certificate's SubjectPublicKeyInfo.
    fn rsa_key(cert: &[u8]) -> &[u8] {
        let (_, _, body, _) = tlv(cert);
        let (_, _, tbs, _) = tlv(body);
        let mut rest = tbs;
        for _ in 0..6 {
            // version, serial, signature, issuer, validity, subject
            rest = tlv(rest).3;
        }
        let (_, _, spki, _) = tlv(rest);
        let (_, _, bits, _) = tlv(tlv(spki).3);
        &bits[1..]
    }

    fn ticks(f: impl FnOnce() -> bool) -> (u32, bool) {
        let start = SYST::get_current();
        let ok = f();
        let end = SYST::get_current();
        (start.wrapping_sub(end) & 0x00ff_ffff, ok)
    }

    pub fn measure(checks: &mut Checks) {
        // SAFETY-free: the peripherals are taken once, here.
        let mut syst = cortex_m::Peripherals::take().unwrap().SYST;
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(0x00ff_ffff);
        syst.clear_current();
        syst.enable_counter();

        let (cal, _) = ticks(|| {
            cortex_m::asm::delay(4_000_000);
            true
        });
        hprintln!("calibration: asm::delay(4 000 000) took {} ticks", cal);

        let cases: [(&str, &dyn SignatureVerificationAlgorithm, &[u8], &[u8]); 3] = [
            (
                "RSA-2048 PKCS#1 v1.5 SHA-256",
                RSA_PKCS1_SHA256,
                RSA2048_CA,
                BY_2048_PKCS1,
            ),
            (
                "RSA-2048 PSS SHA-256",
                RSA_PSS_SHA256,
                RSA2048_CA,
                BY_2048_PSS,
            ),
            (
                "RSA-4096 PKCS#1 v1.5 SHA-256",
                RSA_PKCS1_SHA256,
                RSA4096_CA,
                BY_4096_PKCS1,
            ),
        ];
        for (name, alg, issuer, cert) in cases {
            let key = rsa_key(issuer);
            let (tbs, sig) = signed(cert);
            let (t, ok) = ticks(|| alg.verify_signature(key, tbs, sig).is_ok());
            hprintln!(
                "{}: {} ticks = {} instructions under -icount shift=0 (message {} B)",
                name,
                t,
                t as u64 * 40,
                tbs.len()
            );
            checks.check(name, ok);
        }
        syst.disable_counter();
    }
}
