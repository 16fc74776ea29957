//! The TLS footprint session: the blocking client over implicit TLS
//! (embedded-tls), against a server recorded on the host (`data/implicit-tls.bin`,
//! made and kept current by `tests/tls_cuts.rs`). The client's RNG is seeded as it
//! was when recording, so it sends the same ClientHello and the recorded answers
//! fit: the whole handshake, with or without verifying the P-256 certificate chain,
//! and the SMTP session over it run for real on the core.

use embedded_smtp::verify::Verifier;

use crate::sessions;

/// The recording: the client's bytes, then the server's chunks.
static RECORDING: &[u8] = include_bytes!("../data/implicit-tls.bin");

/// The test PKI's root (`tests/data/certs/`), for `fp-tls-p256`.
#[cfg(feature = "fp-tls-p256")]
static ROOT: &[u8] = include_bytes!("../../data/certs/root-ca.der");

fn u32_at(at: usize) -> usize {
    let mut b = [0u8; 4];
    b.copy_from_slice(&RECORDING[at..at + 4]);
    u32::from_le_bytes(b) as usize
}

/// The recorded server: each chunk is released once the client has written as
/// many bytes as the server had received when it sent it.
pub struct Replay {
    /// Offset of the next chunk's header in `RECORDING`.
    next: usize,
    /// The chunk being read: its bytes left.
    current: &'static [u8],
    written: usize,
}

impl Replay {
    fn new() -> Self {
        Replay {
            next: 4 + u32_at(0),
            current: &[],
            written: 0,
        }
    }

    fn client(&self) -> &'static [u8] {
        &RECORDING[4..4 + u32_at(0)]
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
            if self.next >= RECORDING.len() {
                return Ok(0); // the server closed after QUIT
            }
            let (threshold, len) = (u32_at(self.next), u32_at(self.next + 4));
            if threshold > self.written {
                return Err(Diverged);
            }
            self.current = &RECORDING[self.next + 8..self.next + 8 + len];
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

/// Runs the recorded session; true when both recipients were accepted.
pub fn session() -> bool {
    // A static with a const initializer: never built on the stack.
    static mut BUFFERS: TlsBuffers = TlsBuffers {
        read: [0; embedded_smtp::tls::TLS_READ_BUFFER],
        write: [0; embedded_smtp::tls::TLS_WRITE_BUFFER],
    };
    // SAFETY: called once per run (`footprint` calls it once); the only reference.
    let buffers = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    #[cfg(feature = "fp-tls-p256")]
    let anchors = [embedded_smtp::verify::anchor_from_der(ROOT).unwrap()];
    #[cfg(feature = "fp-tls-p256")]
    let verifier = Verifier::with_anchors(
        &anchors,
        embedded_smtp::verify::TimeSource::Now(sessions::RECORDING_TIME),
    );
    #[cfg(not(feature = "fp-tls-p256"))]
    let verifier = Verifier::danger_no_verify();
    let r = sessions::tls_blocking(
        Replay::new(),
        verifier,
        &mut buffers.read,
        &mut buffers.write,
    );
    if let Err(e) = &r {
        cortex_m_semihosting::hprintln!("TLS session failed: {:?}", e);
    }
    matches!(r, Ok(2))
}
