//! One session per build, for the footprint report (`footprint.sh`): the cost of
//! the core is this binary with a feature minus the same binary without any (the
//! baseline: the same runtime and responder, no SMTP code).
//!
//! - `fp-blocking`: the blocking client, a message with an attachment, AUTH, QUIT.
//! - `fp-async`: the same with the async client (polled by `block_on`).
//! - `fp-tls`: the blocking client over implicit TLS (embedded-tls), no
//!   certificate verification, replaying a recorded server (`data/`).
//! - `fp-tls-p256`: the same with the certificate chain verified (P-256).
//! - `fp-tls-rsa`: the same against a recorded RSA server (RSA-2048 leaf under an
//!   RSA-4096 intermediate) with its chain and CertificateVerify verified, heapless
//!   RSA included; like every binary here, no `#[global_allocator]`.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embedded_smtp_firmware::Checks;
#[cfg(not(any(feature = "fp-tls", feature = "fp-tls-p256", feature = "fp-tls-rsa")))]
use embedded_smtp_firmware::responder::Responder;
use panic_semihosting as _;

#[entry]
fn main() -> ! {
    let mut checks = Checks::default();
    #[cfg(feature = "fp-blocking")]
    {
        // The transport by reference, as a firmware holds its socket: the client
        // keeps a pointer, not a copy.
        let mut r = Responder::new(b"");
        let ok = matches!(
            embedded_smtp_firmware::sessions::blocking(&mut r),
            Ok((2, _))
        ) && r.messages == 1
            && r.quit;
        checks.check("blocking session", ok);
    }
    #[cfg(feature = "fp-async")]
    {
        let mut r = Responder::new(b"");
        let ok = matches!(
            embedded_smtp_firmware::block_on(core::pin::pin!(
                embedded_smtp_firmware::sessions::asynch(&mut r)
            )),
            Ok((2, _))
        ) && r.messages == 1
            && r.quit;
        checks.check("async session", ok);
    }
    #[cfg(any(feature = "fp-tls", feature = "fp-tls-p256", feature = "fp-tls-rsa"))]
    {
        let ok = embedded_smtp_firmware::tls::session();
        checks.check("TLS session", ok);
    }
    #[cfg(not(any(
        feature = "fp-blocking",
        feature = "fp-async",
        feature = "fp-tls",
        feature = "fp-tls-p256",
        feature = "fp-tls-rsa"
    )))]
    {
        // The same runtime and responder, no SMTP code.
        let mut r = Responder::new(b"");
        let mut buf = [0u8; 64];
        let n = r.give(&mut buf);
        r.take(b"QUIT\r\n");
        checks.check("baseline: responder greets", n > 0 && r.quit);
    }
    checks.finish()
}
