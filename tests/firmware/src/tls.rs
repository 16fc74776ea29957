//! The TLS footprint session: the blocking client over implicit TLS
//! (embedded-tls), against a server recorded on the host (`data/implicit-tls.bin`,
//! made and kept current by `tests/tls_cuts.rs`). The client's RNG is seeded as it
//! was when recording, so it sends the same ClientHello and the recorded answers
//! fit: the whole handshake, with or without verifying the P-256 certificate chain,
//! and the SMTP session over it run for real on the core.

use embedded_smtp::verify::Verifier;

use crate::sessions;

/// The recording of the P-256 server: the client's bytes, then the server's chunks.
pub static RECORDING: &[u8] = include_bytes!("../data/implicit-tls.bin");

/// The recording of the RSA server: an RSA-2048 leaf under an RSA-4096
/// intermediate, both under the same P-256 root.
pub static RSA_RECORDING: &[u8] = include_bytes!("../data/implicit-tls-rsa.bin");

/// The test PKI's root (`tests/data/certs/`).
pub static ROOT: &[u8] = include_bytes!("../../data/certs/root-ca.der");

fn u32_at(recording: &[u8], at: usize) -> usize {
    let mut b = [0u8; 4];
    b.copy_from_slice(&recording[at..at + 4]);
    u32::from_le_bytes(b) as usize
}

/// The recorded server: each chunk is released once the client has written as
/// many bytes as the server had received when it sent it.
pub struct Replay {
    recording: &'static [u8],
    /// Offset of the next chunk's header in `recording`.
    next: usize,
    /// The chunk being read: its bytes left.
    current: &'static [u8],
    written: usize,
}

impl Replay {
    /// A replay of `recording` ([`RECORDING`] or [`RSA_RECORDING`]).
    pub fn new(recording: &'static [u8]) -> Self {
        Replay {
            recording,
            next: 4 + u32_at(recording, 0),
            current: &[],
            written: 0,
        }
    }

    fn client(&self) -> &'static [u8] {
        &self.recording[4..4 + u32_at(self.recording, 0)]
    }
}

/// The replay ran out of answers: the client did something it did not do when
/// recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diverged;

impl core::fmt::Display for Diverged {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the client left the recording")
    }
}

impl core::error::Error for Diverged {}

impl embedded_io::Error for Diverged {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

impl embedded_io::ErrorType for Replay {
    type Error = Diverged;
}

impl embedded_io::Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Diverged> {
        if self.current.is_empty() {
            let rec = self.recording;
            if self.next >= rec.len() {
                return Ok(0); // the server closed after QUIT
            }
            let (threshold, len) = (u32_at(rec, self.next), u32_at(rec, self.next + 4));
            if threshold > self.written {
                return Err(Diverged);
            }
            self.current = &rec[self.next + 8..self.next + 8 + len];
            self.next += 8 + len;
        }
        let n = self.current.len().min(buf.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = &self.current[n..];
        Ok(n)
    }
}

impl embedded_io::Write for Replay {
    /// Takes the client's bytes; a byte that differs from the recording is a
    /// divergence (the server could not have answered it as recorded).
    fn write(&mut self, buf: &[u8]) -> Result<usize, Diverged> {
        let end = self.written + buf.len();
        if self.client().get(self.written..end) != Some(buf) {
            return Err(Diverged);
        }
        self.written = end;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Diverged> {
        Ok(())
    }
}

/// The TLS record buffers (statics: they are the caller's, not the core's).
struct TlsBuffers {
    read: [u8; embedded_smtp::tls::TLS_READ_BUFFER],
    write: [u8; embedded_smtp::tls::TLS_WRITE_BUFFER],
}

/// The result of a recorded session: accepted recipients, or the client's error.
pub type Outcome = Result<usize, embedded_smtp::Error<embedded_smtp::tls::StreamError<Diverged>>>;

/// Runs a recorded session against `recording`, the chain verified against the
/// test root when `VERIFY` (else `Verifier::danger_no_verify`, and no verifier
/// code is linked).
pub fn run<const VERIFY: bool>(recording: &'static [u8]) -> Outcome {
    // A static with a const initializer: never built on the stack.
    static mut BUFFERS: TlsBuffers = TlsBuffers {
        read: [0; embedded_smtp::tls::TLS_READ_BUFFER],
        write: [0; embedded_smtp::tls::TLS_WRITE_BUFFER],
    };
    // SAFETY: each binary runs one session at a time, and this is the only
    // reference to BUFFERS while it runs.
    let buffers = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    // Without VERIFY the anchor is never parsed, and no verifier code is linked.
    let anchors = VERIFY.then(|| [embedded_smtp::verify::anchor_from_der(ROOT).unwrap()]);
    let verifier = || match &anchors {
        Some(anchors) => Verifier::with_anchors(
            anchors,
            embedded_smtp::verify::TimeSource::Now(sessions::RECORDING_TIME),
        ),
        None => Verifier::danger_no_verify(),
    };
    sessions::tls_blocking(
        Replay::new(recording),
        verifier,
        &mut buffers.read,
        &mut buffers.write,
    )
}

/// The footprint binary's TLS session: the P-256 server (`fp-tls` without and
/// `fp-tls-p256` with verification) or the RSA one verified (`fp-tls-rsa`); true
/// when both recipients were accepted.
pub fn session() -> bool {
    #[cfg(feature = "fp-tls-rsa")]
    let r = run::<true>(RSA_RECORDING);
    #[cfg(all(feature = "fp-tls-p256", not(feature = "fp-tls-rsa")))]
    let r = run::<true>(RECORDING);
    #[cfg(not(any(feature = "fp-tls-p256", feature = "fp-tls-rsa")))]
    let r = run::<false>(RECORDING);
    if let Err(e) = &r {
        cortex_m_semihosting::hprintln!("TLS session failed: {:?}", e);
    }
    matches!(r, Ok(2))
}
