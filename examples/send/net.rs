//! The socket and the TLS setup: std-embedded-nal through the crate's `nal`
//! adapter, the trust anchors, the STARTTLS upgrader.

use std::time::Duration;

use embedded_io::{ErrorType, Read, Write};
use embedded_smtp::CryptoRngCore;
use embedded_smtp::Error;
use embedded_smtp::blocking::{Deadline, Upgrade};
use embedded_smtp::nal::{self, Backoff, FromNal};
use embedded_smtp::tls::blocking::TlsStream;
use embedded_smtp::tls::{Connector, StreamError, decode_certificates};
use embedded_smtp::verify::{TimeSource, TrustAnchor, Verifier};

use crate::CONNECT_TIMEOUT;
use crate::args::Opts;
use crate::transcript::Transcript;

/// std-embedded-nal's TCP error (its type is not exported by name).
pub(crate) type TcpError = <std_embedded_nal::Stack as embedded_nal::TcpClientStack>::Error;

pub(crate) type Tcp = FromNal<std_embedded_nal::Stack, Backoff>;

/// The TCP stream under everything: the crate's `nal` adapter over
/// std-embedded-nal, whose reads and writes of one wait share that wait's limit
/// (the client's [`Deadline`]), and the program's writes held until it next reads.
///
/// The holding matters for speed: std-embedded-nal leaves Nagle's algorithm on
/// (its socket offers no `set_nodelay`), and both the client (the end of data
/// after the body) and TLS (a record per flush) make small writes after larger
/// ones, which Nagle keeps back until the server's delayed ACK, about 40 ms
/// later. This program never waits for anything but the server's answer, so
/// everything written is sent, in one write, before each read; `flush` only
/// sends when the next read would not come (it is called before every wait).
pub(crate) struct Socket {
    tcp: Tcp,
    pending: Vec<u8>,
}

/// Most bytes [`Socket`] holds before writing them out: enough for a whole
/// message with attachments, so that it leaves in one write. (Two writes
/// without a read between them meet Nagle's algorithm as above: a 100 KB
/// message held to 32 KiB a write stalled 40 ms, like a 1 KB one not held.)
const HOLD: usize = 4 * 1024 * 1024;

impl Socket {
    pub(crate) fn new(tcp: Tcp) -> Self {
        Socket {
            tcp,
            pending: Vec::new(),
        }
    }

    /// Writes out everything held.
    fn drain(&mut self) -> Result<(), nal::Error<TcpError>> {
        let mut done = 0;
        let result = loop {
            if done == self.pending.len() {
                break Ok(());
            }
            match self.tcp.write(&self.pending[done..]) {
                // Closed: leave the rest; the next read sees the end of the stream.
                Ok(0) => break Ok(()),
                Ok(n) => done += n,
                Err(e) => break Err(e),
            }
        };
        self.pending.drain(..done);
        result
    }
}

impl Deadline for Socket {
    fn start_wait(&mut self, limit: Option<Duration>) {
        self.tcp.start_wait(limit);
    }
}

impl ErrorType for Socket {
    type Error = nal::Error<TcpError>;
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.drain()?;
        self.tcp.read(buf)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if self.pending.len() >= HOLD {
            self.drain()?;
            if self.pending.len() >= HOLD {
                return Ok(0); // closed
            }
        }
        let n = buf.len().min(HOLD - self.pending.len());
        self.pending.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// Deferred to the next read (see [`Socket`]).
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// How the transcript names the server after a handshake.
pub(crate) fn tls_peer(o: &Opts) -> String {
    let how = match (
        o.danger_accept_invalid_certs,
        o.pins.is_empty(),
        o.ca_files.is_empty(),
    ) {
        (true, true, _) => "certificate NOT verified",
        (true, false, _) => "public key matches a --pin; chain NOT verified",
        (false, true, _) => "certificate verified",
        (false, false, true) => "public key matches a --pin",
        (false, false, false) => "certificate verified and public key matches a --pin",
    };
    format!("{} ({how})", o.host)
}

/// How the server is authenticated, from `--ca-file`, `--pin` and
/// `--danger-accept-invalid-certs`, as curl's `--cacert`, `--pinnedpubkey` and `-k`:
///
/// | given | the server must |
/// |---|---|
/// | nothing | chain to Mozilla's roots (`webpki-roots`) |
/// | `--ca-file` | chain to one of the files' certificates |
/// | `--pin` | have a pinned key (no chain, name or clock: for a self-signed server) |
/// | `--ca-file` and `--pin` | both: chain to the files **and** have a pinned key |
/// | `--danger-accept-invalid-certs` | nothing; `--ca-file` is then ignored, with a warning |
/// | `--danger-accept-invalid-certs` and `--pin` | have a pinned key (curl keeps the pin under `-k`) |
///
/// [`warn_verification`] prints the warnings. Both TLS backends use this choice.
pub(crate) fn verifier_for<'a>(
    danger: bool,
    pins: &'a [[u8; 32]],
    anchors: &'a [TrustAnchor<'a>],
    time: TimeSource,
) -> Result<Verifier<'a>, String> {
    Ok(match (danger, anchors.is_empty(), pins.is_empty()) {
        (true, _, true) => Verifier::danger_no_verify(),
        (true, _, false) | (false, true, false) => Verifier::with_pins(pins),
        (false, false, false) => Verifier::with_anchors_and_pins(anchors, pins, time),
        (false, false, true) => Verifier::with_anchors(anchors, time),
        (false, true, true) => default_roots(time)?,
    })
}

/// The warnings of [`verifier_for`]'s choice, on stderr, once per run.
pub(crate) fn warn_verification(o: &Opts) {
    if !o.danger_accept_invalid_certs {
        return;
    }
    if !o.ca_files.is_empty() {
        eprintln!(
            "send: warning: --danger-accept-invalid-certs wins over --ca-file: the \
             certificate chain is not checked"
        );
    }
    if o.pins.is_empty() {
        eprintln!(
            "send: WARNING: --danger-accept-invalid-certs: the server is not authenticated; \
             anyone on the path can read the password and the message"
        );
    } else {
        eprintln!(
            "send: warning: --danger-accept-invalid-certs: the certificate chain and name \
             are not checked; the server's key must still match a --pin"
        );
    }
}

/// The line that says embedded-tls carried the session (stderr, after the handshake).
pub(crate) const EMBEDDED_TLS: &str = "send: TLS 1.3 with embedded-tls";

/// Mozilla's roots when built with them.
#[cfg(feature = "webpki-roots")]
pub(crate) fn default_roots(time: TimeSource) -> Result<Verifier<'static>, String> {
    Ok(Verifier::with_webpki_roots(time))
}

#[cfg(not(feature = "webpki-roots"))]
pub(crate) fn default_roots(_: TimeSource) -> Result<Verifier<'static>, String> {
    Err(
        "this build has no default trust anchors (feature `webpki-roots`): give --ca-file or --pin"
            .into(),
    )
}

/// Every certificate of every `--ca-file` (PEM bundles or DER), as DER.
pub(crate) fn read_ca_files(o: &Opts) -> Result<Vec<Vec<u8>>, String> {
    let mut ders = vec![];
    for path in &o.ca_files {
        let file = std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        let mut out = vec![0u8; file.len()];
        let certs = decode_certificates::<256>(&file, &mut out)
            .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        ders.extend(certs.iter().map(|c| c.to_vec()));
    }
    Ok(ders)
}

/// The upgrader of the client's stream (the implicit handshake and STARTTLS):
/// runs the crate's [`Connector`] on the TLS stream under the transcript; the
/// second field names the server in the transcript.
pub(crate) struct Via<C>(pub(crate) C, pub(crate) String);

impl<'b, T, Rng> Upgrade<Transcript<TlsStream<'b, T>>> for Via<Connector<'_, Rng>>
where
    T: Read + Write + Deadline + 'b,
    Rng: CryptoRngCore,
{
    fn upgrade(
        &mut self,
        stream: &mut Transcript<TlsStream<'b, T>>,
    ) -> Result<(), Error<StreamError<T::Error>>> {
        stream.inner.start_tls(&mut self.0)?;
        eprintln!("{EMBEDDED_TLS}");
        if stream.on {
            eprintln!("-- TLS 1.3 established; EHLO again");
        }
        Ok(())
    }

    /// The implicit handshake (port 465): the session's first step, bounded by
    /// the engine's limit for it like every other wait.
    fn open(
        &mut self,
        stream: &mut Transcript<TlsStream<'b, T>>,
    ) -> Result<(), Error<StreamError<T::Error>>> {
        stream.inner.start_tls(&mut self.0)?;
        eprintln!("{EMBEDDED_TLS}");
        if stream.on {
            eprintln!("-- TLS 1.3 established with {}", self.1);
        }
        Ok(())
    }
}

/// Resolves and connects with std-embedded-nal through the crate's adapter.
pub(crate) fn connect(o: &Opts) -> Result<Tcp, String> {
    let mut dns = std_embedded_nal::Stack;
    nal::connect(
        std_embedded_nal::Stack,
        &mut dns,
        &o.host,
        o.port,
        Backoff::default(),
        Some(o.timeout.unwrap_or(CONNECT_TIMEOUT)),
    )
    .map_err(|e| {
        let what = match e {
            nal::ConnectError::Resolve(e) => format!("cannot resolve the host name: {e}"),
            nal::ConnectError::Connect(e) => format!("{}", e.0),
            nal::ConnectError::TimedOut => "timed out".into(),
            other => other.to_string(),
        };
        format!("connect to {}:{}: {what}", o.host, o.port)
    })
}
