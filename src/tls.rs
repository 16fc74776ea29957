//! TLS for SMTP (feature `tls`): implicit TLS (port 465, RFC 8314) and STARTTLS
//! (port 587, RFC 3207) on embedded-tls 0.19, with the server authenticated by
//! this crate's verifier ([`crate::verify`]).
//!
//! ```text
//!   socket (any embedded_io::Read + Write: a TCP adapter, &mut socket, ...)
//!     │
//!     ▼
//!   blocking::TlsStream ── Plain(socket) ──STARTTLS──► Tls(embedded-tls connection)
//!     │                      ▲                           ▲
//!     │                      │ Connector: server name,   │ implicit TLS: the
//!     │                      │ Verifier, RNG, TlsConfig  │ handshake runs first
//!     ▼
//!   crate::blocking::Client (the engine asks for the upgrade; the Connector does it)
//! ```
//!
//! - [`Connector`] holds what a handshake needs: the server name (sent as SNI and
//!   checked against the certificate), the [`Verifier`], the RNG (any
//!   `CryptoRngCore`: a hardware TRNG or a seeded DRBG, never a counter) and the
//!   embedded-tls `TlsConfig`. It is the STARTTLS upgrader of the blocking client.
//! - [`blocking::TlsStream`] is the stream the client runs on: plain until the
//!   handshake, TLS after it. [`blocking::TlsStream::open`] runs the handshake at
//!   once (implicit TLS); [`blocking::TlsStream::new`] leaves it plain for STARTTLS.
//! - [`blocking::client`] builds either from the session's [`Security`](crate::Security).
//!
//! After every handshake the [`Connector`] calls [`Provider::check_verified`]:
//! embedded-tls 0.19 completes a handshake in which the server sent no Certificate
//! or CertificateVerify at all, and only that check notices.
//!
//! # Connecting
//!
//! ```no_run
//! # fn demo<T: embedded_io::Read + embedded_io::Write>(
//! #     socket: T, rng: impl embedded_tls::CryptoRngCore, root_der: &[u8], now: u64,
//! # ) -> Result<(), embedded_smtp::Error<embedded_smtp::tls::StreamError<T::Error>>> {
//! use embedded_smtp::blocking::Client;
//! use embedded_smtp::tls::{self, Connector, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
//! use embedded_smtp::verify::{TimeSource, Verifier, anchor_from_der};
//! use embedded_smtp::{Config, Credentials, Domain, Security};
//!
//! let anchors = [anchor_from_der(root_der).map_err(tls::TlsFailure::Verify)?];
//! let verifier = Verifier::with_anchors(&anchors, TimeSource::Now(now));
//! let connector = Connector::new("smtp.example.com", verifier, rng);
//!
//! let mut tls_read = [0u8; TLS_READ_BUFFER]; // 16 640: one whole TLS record
//! let mut tls_write = [0u8; TLS_WRITE_BUFFER]; // 4 096 (at most 16 517 is used)
//! let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
//! let config = Config::new(Domain::try_new("sensor-7.local")?)
//!     .with_security(Security::Implicit) // port 465; Security::StartTls for 587
//!     .with_credentials(Credentials::try_new("sensor7@example.com", "app-password")?);
//! let mut client: Client<'_, _, 4, _> =
//!     tls::blocking::client(socket, connector, config, &mut rx, &mut tx, &mut tls_read, &mut tls_write)?;
//! client.connect()?; // TLS was opened above (implicit) or is opened here (STARTTLS)
//! # Ok(()) }
//! ```
//!
//! CA files and pins from a command line or a configuration store:
//! [`decode_certificates`] reads a PEM bundle or one DER certificate into a
//! caller buffer, [`anchor_from_der`](crate::verify::anchor_from_der) makes the
//! anchors; [`parse_pin`] reads a pin written in base64 (as curl's
//! `--pinnedpubkey sha256//…` takes it) or in hex.
//!
//! # Memory
//!
//! | buffer | size | why |
//! |---|---|---|
//! | TLS read | [`TLS_READ_BUFFER`] = 16 640 bytes | one whole record, 2^14 + 256 (RFC 8446 §5.2); embedded-tls decrypts in place |
//! | TLS write | [`TLS_WRITE_BUFFER`] = 4 096 bytes | SMTP writes are small; the body goes out in records of this size minus 133 bytes |
//!
//! A write buffer larger than [`MAX_TLS_WRITE_BUFFER`] (16 517) would let
//! embedded-tls build records with more than 2^14 bytes of data, which servers
//! reject (`record_overflow`); this module only ever gives embedded-tls the first
//! 16 517 bytes of it. [`Connector`] is its [`Verifier`] plus about 220 bytes
//! (776 bytes on x86-64, 1 176 with `tls-rsa`); [`blocking::TlsStream`] about
//! 1.3 KB plus the socket.
//!
//! **Max fragment length** (RFC 6066) is an opt-in saving:
//! [`Connector::with_max_fragment_length`] asks the server for records of at most
//! 2^n bytes, so the read buffer can be 2^n + 256 bytes and the write buffer
//! 2^n + 133. It only works when the server supports the extension (many do not,
//! and then the handshake fails with `InsufficientSpace` as soon as a record is
//! larger than the buffer) and when the server's certificate chain fits one record.
//!
//! # embedded-tls behaviours handled here
//!
//! - TLS 1.3 only, P-256 key exchange, one cipher suite ([`Aes128GcmSha256`] by
//!   default): a server that speaks only TLS 1.2 ends the handshake with a
//!   `protocol_version` or `handshake_failure` alert, reported as
//!   [`TlsFailure::ProtocolVersion`] or [`TlsFailure::Alert`] with a text that says so.
//! - The server's `close_notify` makes embedded-tls fail the read with
//!   `ConnectionClosed`, and a connection that ends without it fails with
//!   `IoError`: both are end of stream (`Ok(0)`) here. SMTP frames its own data
//!   (every reply ends in CRLF; the engine calls a close in the middle of a reply
//!   [`Error::Closed`]), so an unauthenticated end of stream cannot truncate anything silently.
//! - A verification failure reaches embedded-tls only as `InvalidCertificate` and
//!   sends no alert; the typed reason comes from [`Verifier::last_error`] as
//!   [`TlsFailure::Verify`].
//! - A server KeyUpdate message makes embedded-tls 0.19 panic in `read`
//!   (`unimplemented!`). Servers send one only when asked or after very large
//!   amounts of data, which an SMTP client does not read.
//! - embedded-tls keeps only the kind of a socket error (`TlsError::Io(kind)`), so
//!   after the handshake a [`StreamError::Tls`] carries that kind, and a time-out
//!   still reaches the client as [`Error::TimedOut`] (during the handshake at
//!   [`Stage::TlsHandshake`]).

use core::fmt;
use core::mem::discriminant;

use embedded_io::ErrorKind;
use embedded_tls::alert::AlertDescription;
use embedded_tls::{CryptoRngCore, TlsCipherSuite, TlsConfig, TlsError};

pub use embedded_tls::{Aes128GcmSha256, Aes256GcmSha384, MaxFragmentLength};

use crate::engine::Stage;
use crate::error::Error;
use crate::verify::{Provider, Verifier, VerifyError, tls_config};

/// The TLS record read buffer to give [`blocking::TlsStream`]: one whole record,
/// 2^14 + 256 bytes (RFC 8446 §5.2). Less only with
/// [`Connector::with_max_fragment_length`].
pub const TLS_READ_BUFFER: usize = 16_640;

/// The TLS record write buffer this crate recommends: records of 3 963 bytes of
/// SMTP data each.
pub const TLS_WRITE_BUFFER: usize = 4_096;

/// The most of a write buffer that is used: 2^14 bytes of data (RFC 8446 §5.1) plus
/// embedded-tls's 133 bytes of record overhead. A larger buffer is cut to this size.
pub const MAX_TLS_WRITE_BUFFER: usize = MAX_FRAGMENT + WRITE_OVERHEAD;

/// The smallest read buffer accepted: a record of 512 bytes of data
/// ([`MaxFragmentLength::Bits9`]) and 256 bytes of expansion.
pub const MIN_TLS_READ_BUFFER: usize = 512 + 256;

/// The smallest write buffer accepted.
pub const MIN_TLS_WRITE_BUFFER: usize = 512;

/// The largest TLS record payload, 2^14 (RFC 8446 §5.1).
const MAX_FRAGMENT: usize = 16_384;

/// What embedded-tls keeps free in its write buffer: `TLS_RECORD_OVERHEAD` (128)
/// plus the 5-byte record header it writes first.
const WRITE_OVERHEAD: usize = embedded_tls::TLS_RECORD_OVERHEAD + 5;

/// Why TLS failed: during the handshake ([`Error::Tls`]) or, as a
/// [`StreamError::Tls`], on the established connection.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server was not authenticated; the verifier's reason. Trying again does
    /// not help: a man in the middle, or a certificate, name, clock or pin to fix.
    Verify(VerifyError),
    /// The server does not speak TLS 1.3: embedded-tls speaks TLS 1.3 only (a
    /// `protocol_version` alert, or a ServerHello of an older version).
    ProtocolVersion,
    /// The server ended the handshake with this alert (RFC 8446 §6, e.g. 40
    /// `handshake_failure`: no common parameters).
    Alert(u8),
    /// The server's answer to the ClientHello is not a TLS record: a plaintext
    /// server, typically implicit TLS on a port that expects STARTTLS (587, 25),
    /// or, after STARTTLS, plaintext injected behind the `220`.
    NotTls,
    /// The connection closed during the handshake.
    Closed,
    /// The stream's TLS handshake failed earlier; it cannot be used.
    Unusable,
    /// Any other embedded-tls error: a malformed or unexpected message, a record
    /// that does not decrypt, or the socket's failure (`TlsError::Io` keeps only its kind).
    Tls(TlsError),
}

impl TlsFailure {
    /// The failure for an embedded-tls error, without the verifier's reason.
    pub fn from_tls(e: TlsError) -> TlsFailure {
        match e {
            TlsError::HandshakeAborted(_, AlertDescription::ProtocolVersion)
            | TlsError::InvalidSupportedVersions => TlsFailure::ProtocolVersion,
            TlsError::HandshakeAborted(_, d) => TlsFailure::Alert(d as u8),
            TlsError::ConnectionClosed | TlsError::IoError => TlsFailure::Closed,
            e => TlsFailure::Tls(e),
        }
    }

    /// Whether trying again later can help: a connection lost during the
    /// handshake or a transport failure. Never for [`TlsFailure::Verify`].
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TlsFailure::Closed | TlsFailure::Tls(TlsError::Io(_) | TlsError::IoError)
        )
    }

    /// The `embedded_io` kind: the transport's own for `TlsError::Io`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TlsFailure::Tls(TlsError::Io(kind)) => *kind,
            TlsFailure::Closed => ErrorKind::ConnectionReset,
            TlsFailure::Unusable => ErrorKind::NotConnected,
            TlsFailure::Verify(_) => ErrorKind::PermissionDenied,
            _ => ErrorKind::Other,
        }
    }
}

impl PartialEq for TlsFailure {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TlsFailure::Verify(a), TlsFailure::Verify(b)) => a == b,
            (TlsFailure::Alert(a), TlsFailure::Alert(b)) => a == b,
            (TlsFailure::Tls(a), TlsFailure::Tls(b)) => same_tls_error(a, b),
            (TlsFailure::ProtocolVersion, TlsFailure::ProtocolVersion)
            | (TlsFailure::NotTls, TlsFailure::NotTls)
            | (TlsFailure::Closed, TlsFailure::Closed)
            | (TlsFailure::Unusable, TlsFailure::Unusable) => true,
            _ => false,
        }
    }
}

impl Eq for TlsFailure {}

/// embedded-tls's error has no `PartialEq`: the same variant with the same values.
fn same_tls_error(a: &TlsError, b: &TlsError) -> bool {
    match (a, b) {
        (TlsError::HandshakeAborted(l1, d1), TlsError::HandshakeAborted(l2, d2))
        | (TlsError::AbortHandshake(l1, d1), TlsError::AbortHandshake(l2, d2)) => {
            *l1 as u8 == *l2 as u8 && *d1 as u8 == *d2 as u8
        }
        (TlsError::ParseError(x), TlsError::ParseError(y)) => discriminant(x) == discriminant(y),
        (TlsError::Io(x), TlsError::Io(y)) => x == y,
        _ => discriminant(a) == discriminant(b),
    }
}

/// Said of every failure that a server without TLS 1.3 causes.
const TLS13_ONLY: &str = "embedded-tls speaks TLS 1.3 only (with P-256 key exchange): the server may offer only TLS 1.2 or older";

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::Verify(e) => write!(f, "the server was not authenticated: {e}"),
            TlsFailure::ProtocolVersion => {
                write!(f, "the server does not speak TLS 1.3; {TLS13_ONLY}")
            }
            TlsFailure::Alert(40) => write!(
                f,
                "the server ended the handshake (handshake_failure alert): no common parameters; {TLS13_ONLY}"
            ),
            TlsFailure::Alert(code) => {
                write!(f, "the server ended the handshake with TLS alert {code}")
            }
            TlsFailure::NotTls => f.write_str(
                "the server did not answer in TLS (implicit TLS is port 465: use STARTTLS on 587 and 25; after STARTTLS, plaintext was injected)",
            ),
            TlsFailure::Closed => f.write_str("the connection closed during the TLS handshake"),
            TlsFailure::Unusable => {
                f.write_str("the TLS handshake failed earlier; the connection cannot be used")
            }
            TlsFailure::Tls(e @ (TlsError::InvalidKeyShare | TlsError::InvalidCipherSuite)) => {
                write!(f, "TLS error {e:?}; {TLS13_ONLY}")
            }
            TlsFailure::Tls(e) => write!(f, "TLS error {e:?}"),
        }
    }
}

impl core::error::Error for TlsFailure {}

/// Written by hand: embedded-tls's own `defmt` support would make it log through
/// `defmt` as well.
#[cfg(feature = "defmt")]
impl defmt::Format for TlsFailure {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            TlsFailure::Verify(e) => defmt::write!(f, "server not authenticated: {}", e),
            TlsFailure::ProtocolVersion => defmt::write!(f, "server lacks TLS 1.3"),
            TlsFailure::Alert(code) => defmt::write!(f, "TLS alert {}", code),
            TlsFailure::NotTls => defmt::write!(f, "server did not answer in TLS"),
            TlsFailure::Closed => defmt::write!(f, "closed during the TLS handshake"),
            TlsFailure::Unusable => defmt::write!(f, "TLS connection unusable"),
            TlsFailure::Tls(TlsError::Io(_)) => defmt::write!(f, "TLS transport error"),
            TlsFailure::Tls(_) => defmt::write!(f, "embedded-tls error"),
        }
    }
}

impl From<VerifyError> for TlsFailure {
    fn from(e: VerifyError) -> Self {
        TlsFailure::Verify(e)
    }
}

impl<E> From<TlsFailure> for Error<E> {
    fn from(e: TlsFailure) -> Self {
        Error::Tls(e)
    }
}

/// The error of a client on a [`blocking::TlsStream`] over a socket whose error is `E`.
pub type SessionError<E> = Error<StreamError<E>>;

/// The error of a [`blocking::TlsStream`]: the socket's own before the handshake,
/// a [`TlsFailure`] after it (embedded-tls keeps only the socket error's kind, in
/// `TlsFailure::Tls(TlsError::Io(kind))`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError<E> {
    /// The socket failed while the stream was plain.
    Socket(E),
    /// The TLS layer failed.
    Tls(TlsFailure),
}

impl<E: embedded_io::Error> embedded_io::Error for StreamError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            StreamError::Socket(e) => e.kind(),
            StreamError::Tls(f) => f.kind(),
        }
    }
}

impl<E: fmt::Debug> fmt::Display for StreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Socket(e) => write!(f, "socket error: {e:?}"),
            StreamError::Tls(e) => write!(f, "{e}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for StreamError<E> {}

#[cfg(feature = "defmt")]
impl<E> defmt::Format for StreamError<E> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            StreamError::Socket(_) => defmt::write!(f, "socket error"),
            StreamError::Tls(e) => defmt::write!(f, "{}", e),
        }
    }
}

/// Everything a TLS handshake needs besides the socket and the buffers: the
/// server name, the certificate [`Verifier`], the RNG and embedded-tls's
/// `TlsConfig` (built by [`tls_config`]: RSA signatures offered only with
/// `tls-rsa`). The upgrader of the blocking client for STARTTLS, and what
/// [`blocking::TlsStream::open`] uses for implicit TLS.
///
/// One connector can serve one connection after another; set the time before
/// each with [`Connector::verifier_mut`] and [`Verifier::set_time`].
pub struct Connector<'a, Rng, C = Aes128GcmSha256> {
    server_name: &'a str,
    config: TlsConfig<'a>,
    provider: Provider<'a, C, Rng>,
    /// The largest record payload: 2^14, or the negotiated max fragment length.
    fragment: usize,
}

impl<'a, Rng: CryptoRngCore> Connector<'a, Rng> {
    /// A connector for the server `server_name` (a DNS name, or an IP address when
    /// the certificate names one), authenticated by `verifier`, with the cipher
    /// suite TLS_AES_128_GCM_SHA256 (the one every TLS 1.3 server has, RFC 8446 §9.1).
    pub fn new(server_name: &'a str, verifier: Verifier<'a>, rng: Rng) -> Self {
        Connector::with_cipher_suite(server_name, verifier, rng)
    }
}

impl<'a, Rng: CryptoRngCore, C: TlsCipherSuite> Connector<'a, Rng, C> {
    /// [`Connector::new`] with another cipher suite `C` ([`Aes256GcmSha384`]).
    pub fn with_cipher_suite(server_name: &'a str, verifier: Verifier<'a>, rng: Rng) -> Self {
        Connector {
            server_name,
            config: tls_config(server_name),
            provider: Provider::new(rng, verifier),
            fragment: MAX_FRAGMENT,
        }
    }

    /// Asks the server for records of at most `length` bytes (RFC 6066 §4), so
    /// the buffers can be smaller: read 2^n + 256, write 2^n + 133 (a larger write
    /// buffer is cut to that). The server must support the extension and its
    /// certificate chain must fit one record; otherwise the handshake fails.
    pub fn with_max_fragment_length(mut self, length: MaxFragmentLength) -> Self {
        self.fragment = match length {
            MaxFragmentLength::Bits9 => 512,
            MaxFragmentLength::Bits10 => 1_024,
            MaxFragmentLength::Bits11 => 2_048,
            MaxFragmentLength::Bits12 => 4_096,
        };
        self.config = self.config.with_max_fragment_length(length);
        self
    }

    /// The server name sent as SNI and checked against the certificate.
    pub fn server_name(&self) -> &'a str {
        self.server_name
    }

    /// The verifier, for [`Verifier::last_error`].
    pub fn verifier(&self) -> &Verifier<'a> {
        self.provider.certificate_verifier()
    }

    /// The verifier, for [`Verifier::set_time`] before a connection.
    pub fn verifier_mut(&mut self) -> &mut Verifier<'a> {
        self.provider.certificate_verifier_mut()
    }

    /// The RNG and the verifier back.
    pub fn into_parts(self) -> (Rng, Verifier<'a>) {
        self.provider.into_parts()
    }

    /// How much of a write buffer of `write` bytes embedded-tls may use, after
    /// checking both buffers' sizes.
    fn write_len<E>(&self, read: usize, write: usize) -> Result<usize, Error<E>> {
        if read < MIN_TLS_READ_BUFFER {
            return Err(Error::Capacity {
                required: MIN_TLS_READ_BUFFER,
            });
        }
        if write < MIN_TLS_WRITE_BUFFER {
            return Err(Error::Capacity {
                required: MIN_TLS_WRITE_BUFFER,
            });
        }
        Ok(write.min(self.fragment + WRITE_OVERHEAD))
    }

    /// The failure for an error of `open`, with the verifier's typed reason when
    /// the verifier refused the server.
    fn failure(&self, e: TlsError) -> TlsFailure {
        match (e, self.verifier().last_error()) {
            (
                TlsError::InvalidCertificate
                | TlsError::InvalidSignature
                | TlsError::InvalidSignatureScheme
                | TlsError::InvalidHandshake,
                Some(reason),
            ) => TlsFailure::Verify(reason),
            // A record type that does not exist: the peer does not speak TLS.
            (TlsError::InvalidRecord, _) => TlsFailure::NotTls,
            (e, _) => TlsFailure::from_tls(e),
        }
    }

    /// What to report after `open` returned `result`: the handshake's failure, or
    /// the verifier's if the server skipped its Certificate or CertificateVerify.
    /// A transport time-out is [`Error::TimedOut`] at [`Stage::TlsHandshake`], like
    /// every other wait's.
    fn finish<E>(&self, result: Result<(), TlsError>) -> Result<(), SessionError<E>> {
        let failure = match result {
            Ok(()) => match self.provider.check_verified() {
                Ok(()) => return Ok(()),
                Err(e) => TlsFailure::Verify(e),
            },
            Err(e) => self.failure(e),
        };
        warn!("TLS handshake failed");
        Err(match failure.kind() {
            ErrorKind::TimedOut => Error::TimedOut {
                stage: Stage::TlsHandshake,
            },
            _ => Error::Tls(failure),
        })
    }
}

impl<Rng: CryptoRngCore, C: TlsCipherSuite> fmt::Debug for Connector<'_, Rng, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("server_name", &self.server_name)
            .field("verifier", self.provider.certificate_verifier())
            .field("fragment", &self.fragment)
            .finish_non_exhaustive()
    }
}

/// TLS over blocking `embedded_io` streams ([`embedded_tls::blocking`]).
pub mod blocking {
    use embedded_io::{ErrorType, Read, Write};
    use embedded_tls::blocking::{TlsConnection, TlsContext};
    use embedded_tls::{Aes128GcmSha256, CryptoRngCore, TlsCipherSuite, TlsError};

    use super::{Connector, SessionError, StreamError, TlsFailure};
    use crate::blocking::{Client, Upgrade};
    use crate::engine::{Config, Security};
    use crate::error::{Error, ProtocolError};

    /// A blocking client on a [`TlsStream`] that the [`Connector`] upgrades.
    pub type TlsClient<'a, 'b, 'c, T, Rng, const N: usize = 4, C = Aes128GcmSha256> =
        Client<'a, TlsStream<'b, T, C>, N, Connector<'c, Rng, C>>;

    /// A stream that is plain until its TLS handshake and TLS after it, over
    /// socket `T` with caller-owned TLS buffers (`'b`).
    ///
    /// `T` may be the socket itself or `&mut socket` (embedded-io implements both
    /// traits for `&mut T`); borrow it when the socket must be closed through its
    /// network stack afterwards, since after a handshake embedded-tls keeps the
    /// socket until the stream is dropped.
    pub struct TlsStream<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static = Aes128GcmSha256> {
        state: State<'b, T, C>,
    }

    enum State<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> {
        /// Before the handshake: the socket and the buffers the handshake will use.
        Plain {
            socket: T,
            read: &'b mut [u8],
            write: &'b mut [u8],
        },
        /// After a successful handshake; `eof` once the server closed.
        Tls {
            connection: TlsConnection<'b, T, C>,
            eof: bool,
        },
        /// The handshake failed (the socket was dropped with it).
        Failed,
    }

    impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> TlsStream<'b, T, C> {
        /// A plain stream over `socket` that [`TlsStream::start_tls`] (or the client,
        /// for STARTTLS) turns into TLS with these buffers: `read` at least
        /// [`TLS_READ_BUFFER`](super::TLS_READ_BUFFER) (16 640) bytes, `write`
        /// [`TLS_WRITE_BUFFER`](super::TLS_WRITE_BUFFER) (4 096; only the first
        /// [`MAX_TLS_WRITE_BUFFER`](super::MAX_TLS_WRITE_BUFFER) bytes are used).
        pub fn new(socket: T, read: &'b mut [u8], write: &'b mut [u8]) -> Self {
            TlsStream {
                state: State::Plain {
                    socket,
                    read,
                    write,
                },
            }
        }

        /// Implicit TLS (port 465): runs the handshake on `socket` at once and returns
        /// the encrypted stream, for a client configured with
        /// [`Security::Implicit`].
        ///
        /// # Errors
        /// [`Error::Tls`] when the handshake fails or the server is not
        /// authenticated ([`TlsFailure::Verify`] carries the reason), and
        /// [`Error::Capacity`] when a buffer is below
        /// [`MIN_TLS_READ_BUFFER`](super::MIN_TLS_READ_BUFFER) or
        /// [`MIN_TLS_WRITE_BUFFER`](super::MIN_TLS_WRITE_BUFFER).
        pub fn open<Rng: CryptoRngCore>(
            socket: T,
            read: &'b mut [u8],
            write: &'b mut [u8],
            connector: &mut Connector<'_, Rng, C>,
        ) -> Result<Self, SessionError<T::Error>> {
            let mut stream = TlsStream::new(socket, read, write);
            stream.start_tls(connector)?;
            Ok(stream)
        }

        /// Runs the TLS handshake on the plain stream, in place, and then checks
        /// that the server was authenticated ([`Provider::check_verified`](crate::verify::Provider::check_verified)).
        /// After a failure the stream is unusable ([`TlsFailure::Unusable`]) and
        /// the socket has been dropped.
        ///
        /// # Errors
        /// As [`TlsStream::open`]; [`ProtocolError::InvalidState`] when the stream
        /// is not plain.
        pub fn start_tls<Rng: CryptoRngCore>(
            &mut self,
            connector: &mut Connector<'_, Rng, C>,
        ) -> Result<(), SessionError<T::Error>> {
            let (socket, read, write) = match core::mem::replace(&mut self.state, State::Failed) {
                State::Plain {
                    socket,
                    read,
                    write,
                } => (socket, read, write),
                other => {
                    self.state = other;
                    return Err(Error::Protocol(ProtocolError::InvalidState));
                }
            };
            let len = match connector.write_len(read.len(), write.len()) {
                Ok(len) => len,
                Err(e) => {
                    self.state = State::Plain {
                        socket,
                        read,
                        write,
                    };
                    return Err(e);
                }
            };
            // Built in place and opened there: a TlsConnection (about 1.3 KB) is
            // never copied, so the handshake's frame does not hold two.
            self.state = State::Tls {
                connection: TlsConnection::new(socket, read, &mut write[..len]),
                eof: false,
            };
            let State::Tls { connection, .. } = &mut self.state else {
                return Err(Error::Protocol(ProtocolError::InvalidState));
            };
            let opened =
                connection.open(TlsContext::new(&connector.config, &mut connector.provider));
            if let Err(e) = connector.finish(opened) {
                self.state = State::Failed;
                return Err(e);
            }
            debug!("TLS 1.3 established");
            Ok(())
        }

        /// Whether the handshake has completed (and the server was authenticated).
        pub fn is_encrypted(&self) -> bool {
            matches!(self.state, State::Tls { .. })
        }

        /// Sends the TLS `close_notify` alert (when TLS is up) and drops the socket.
        /// After `QUIT` this is optional: SMTP has already ended the session.
        ///
        /// # Errors
        /// The failure to send the alert.
        pub fn close(self) -> Result<(), TlsFailure> {
            match self.state {
                State::Tls { connection, .. } => connection
                    .close()
                    .map(drop)
                    .map_err(|(_, e)| TlsFailure::from_tls(e)),
                State::Plain { .. } | State::Failed => Ok(()),
            }
        }
    }

    impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> ErrorType for TlsStream<'b, T, C> {
        type Error = StreamError<T::Error>;
    }

    impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> Read for TlsStream<'b, T, C> {
        /// Reads plain or decrypted bytes. The server's `close_notify`, and a
        /// connection closed without one, are end of stream (`Ok(0)`).
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            match &mut self.state {
                State::Plain { socket, .. } => socket.read(buf).map_err(StreamError::Socket),
                State::Tls { eof: true, .. } => Ok(0),
                State::Tls { connection, eof } => match connection.read(buf) {
                    Ok(n) => Ok(n),
                    Err(TlsError::ConnectionClosed | TlsError::IoError) => {
                        *eof = true;
                        Ok(0)
                    }
                    Err(e) => Err(StreamError::Tls(TlsFailure::from_tls(e))),
                },
                State::Failed => Err(StreamError::Tls(TlsFailure::Unusable)),
            }
        }
    }

    impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> Write for TlsStream<'b, T, C> {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            match &mut self.state {
                State::Plain { socket, .. } => socket.write(buf).map_err(StreamError::Socket),
                State::Tls { connection, .. } => connection
                    .write(buf)
                    .map_err(|e| StreamError::Tls(TlsFailure::from_tls(e))),
                State::Failed => Err(StreamError::Tls(TlsFailure::Unusable)),
            }
        }

        fn flush(&mut self) -> Result<(), Self::Error> {
            match &mut self.state {
                State::Plain { socket, .. } => socket.flush().map_err(StreamError::Socket),
                State::Tls { connection, .. } => connection
                    .flush()
                    .map_err(|e| StreamError::Tls(TlsFailure::from_tls(e))),
                State::Failed => Err(StreamError::Tls(TlsFailure::Unusable)),
            }
        }
    }

    /// STARTTLS: the client calls this after the server's `220` (and after the
    /// engine made sure nothing followed it); the client then sends EHLO again.
    impl<'b, T, Rng, C> Upgrade<TlsStream<'b, T, C>> for Connector<'_, Rng, C>
    where
        T: Read + Write + 'b,
        Rng: CryptoRngCore,
        C: TlsCipherSuite + 'static,
    {
        fn upgrade(
            &mut self,
            stream: &mut TlsStream<'b, T, C>,
        ) -> Result<(), SessionError<T::Error>> {
            stream.start_tls(self)
        }
    }

    /// A blocking client over `socket` that speaks TLS as `config` says:
    /// [`Security::Implicit`] runs the handshake now (port 465),
    /// [`Security::StartTls`] leaves it to the session (port 587), and
    /// [`Security::None`] never uses TLS. `tls_read` and `tls_write` are the TLS
    /// record buffers ([`TlsStream::new`]); `rx` and `tx` the client's
    /// ([`Engine::new`](crate::engine::Engine::new)).
    ///
    /// # Errors
    /// For implicit TLS, those of [`TlsStream::open`]; then
    /// [`Error::Capacity`] when `rx` or `tx` is too small.
    pub fn client<'a, 'b, 'c, T, Rng, C, const N: usize>(
        socket: T,
        mut connector: Connector<'c, Rng, C>,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
        tls_read: &'b mut [u8],
        tls_write: &'b mut [u8],
    ) -> Result<TlsClient<'a, 'b, 'c, T, Rng, N, C>, SessionError<T::Error>>
    where
        T: Read + Write + 'b,
        Rng: CryptoRngCore,
        C: TlsCipherSuite + 'static,
    {
        let stream = if config.security() == Security::Implicit {
            TlsStream::open(socket, tls_read, tls_write, &mut connector)?
        } else {
            TlsStream::new(socket, tls_read, tls_write)
        };
        Client::with_upgrade(stream, connector, config, rx, tx)
    }
}

/// TLS over `embedded_io_async` streams (features `tls` and `async`): the async
/// twin of [`blocking`], for [`asynch::Client`](crate::asynch::Client). Same
/// states, same checks ([`Connector`] refuses a server that skipped its
/// Certificate or CertificateVerify), only the I/O is awaited.
#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub mod asynch {
    use embedded_io_async::{ErrorType, Read, Write};
    use embedded_tls::{
        Aes128GcmSha256, CryptoRngCore, TlsCipherSuite, TlsConnection, TlsContext, TlsError,
    };

    use super::{Connector, SessionError, StreamError, TlsFailure};
    use crate::asynch::{Client, NoTimer, TimedOut, Timer, Upgrade};
    use crate::engine::{Config, Security, Stage};
    use crate::error::{Error, ProtocolError};
    use crate::limits::TIMEOUT_TLS_HANDSHAKE;

    /// The async client over a [`TlsStream`], upgraded by its [`Connector`], its
    /// waits bounded by `Tm`.
    pub type TlsClient<'a, 'b, 'c, T, Rng, const N: usize = 4, C = Aes128GcmSha256, Tm = NoTimer> =
        Client<'a, TlsStream<'b, T, C>, N, Connector<'c, Rng, C>, Tm>;

    /// A socket that is plain until [`start_tls`](TlsStream::start_tls) and TLS 1.3
    /// after it; see [`blocking::TlsStream`](super::blocking::TlsStream).
    pub struct TlsStream<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static = Aes128GcmSha256> {
        state: State<'b, T, C>,
    }

    enum State<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> {
        Plain {
            socket: T,
            read: &'b mut [u8],
            write: &'b mut [u8],
        },
        Tls {
            connection: TlsConnection<'b, T, C>,
            eof: bool,
        },
        Failed,
    }

    impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> TlsStream<'b, T, C> {
        /// A plain stream over `socket` that can switch to TLS with the record
        /// buffers `read` and `write` (see the module docs of [`super`] for sizes).
        pub fn new(socket: T, read: &'b mut [u8], write: &'b mut [u8]) -> Self {
            TlsStream {
                state: State::Plain {
                    socket,
                    read,
                    write,
                },
            }
        }

        /// Implicit TLS: the handshake runs now.
        ///
        /// # Errors
        /// [`Error::Tls`] with the reason, or [`Error::Capacity`] for small buffers.
        pub async fn open<Rng: CryptoRngCore>(
            socket: T,
            read: &'b mut [u8],
            write: &'b mut [u8],
            connector: &mut Connector<'_, Rng, C>,
        ) -> Result<Self, SessionError<T::Error>> {
            let mut stream = TlsStream::new(socket, read, write);
            stream.start_tls(connector).await?;
            Ok(stream)
        }

        /// Runs the TLS 1.3 handshake in place and checks the server was verified.
        ///
        /// # Errors
        /// [`Error::Tls`] with the reason (the stream is then unusable),
        /// [`Error::Capacity`] for small buffers (the stream stays plain), or
        /// [`ProtocolError::InvalidState`] when TLS is already up.
        pub async fn start_tls<Rng: CryptoRngCore>(
            &mut self,
            connector: &mut Connector<'_, Rng, C>,
        ) -> Result<(), SessionError<T::Error>> {
            let (socket, read, write) = match core::mem::replace(&mut self.state, State::Failed) {
                State::Plain {
                    socket,
                    read,
                    write,
                } => (socket, read, write),
                other => {
                    self.state = other;
                    return Err(Error::Protocol(ProtocolError::InvalidState));
                }
            };
            let len = match connector.write_len(read.len(), write.len()) {
                Ok(len) => len,
                Err(e) => {
                    self.state = State::Plain {
                        socket,
                        read,
                        write,
                    };
                    return Err(e);
                }
            };
            // Built in place, as in the blocking twin: never copied.
            self.state = State::Tls {
                connection: TlsConnection::new(socket, read, &mut write[..len]),
                eof: false,
            };
            let State::Tls { connection, .. } = &mut self.state else {
                return Err(Error::Protocol(ProtocolError::InvalidState));
            };
            let opened = connection
                .open(TlsContext::new(&connector.config, &mut connector.provider))
                .await;
            if let Err(e) = connector.finish(opened) {
                self.state = State::Failed;
                return Err(e);
            }
            debug!("TLS 1.3 established");
            Ok(())
        }

        /// Whether TLS is up.
        pub fn is_encrypted(&self) -> bool {
            matches!(self.state, State::Tls { .. })
        }
    }

    impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> ErrorType for TlsStream<'b, T, C> {
        type Error = StreamError<T::Error>;
    }

    fn tls_error<E>(e: TlsError) -> StreamError<E> {
        StreamError::Tls(TlsFailure::from_tls(e))
    }

    impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> Read for TlsStream<'b, T, C> {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            match &mut self.state {
                State::Plain { socket, .. } => socket.read(buf).await.map_err(StreamError::Socket),
                State::Tls { eof: true, .. } => Ok(0),
                State::Tls { connection, eof } => match connection.read(buf).await {
                    Ok(n) => Ok(n),
                    // close_notify, or the socket closed: end of stream.
                    Err(TlsError::ConnectionClosed | TlsError::IoError) => {
                        *eof = true;
                        Ok(0)
                    }
                    Err(e) => Err(tls_error(e)),
                },
                State::Failed => Err(StreamError::Tls(TlsFailure::Unusable)),
            }
        }
    }

    impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> Write for TlsStream<'b, T, C> {
        async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            match &mut self.state {
                State::Plain { socket, .. } => socket.write(buf).await.map_err(StreamError::Socket),
                State::Tls { connection, .. } => connection.write(buf).await.map_err(tls_error),
                State::Failed => Err(StreamError::Tls(TlsFailure::Unusable)),
            }
        }

        async fn flush(&mut self) -> Result<(), Self::Error> {
            match &mut self.state {
                State::Plain { socket, .. } => socket.flush().await.map_err(StreamError::Socket),
                State::Tls { connection, .. } => connection.flush().await.map_err(tls_error),
                State::Failed => Err(StreamError::Tls(TlsFailure::Unusable)),
            }
        }
    }

    impl<'b, T, Rng, C> Upgrade<TlsStream<'b, T, C>> for Connector<'_, Rng, C>
    where
        T: Read + Write + 'b,
        Rng: CryptoRngCore,
        C: TlsCipherSuite + 'static,
    {
        async fn upgrade(
            &mut self,
            stream: &mut TlsStream<'b, T, C>,
        ) -> Result<(), SessionError<T::Error>> {
            stream.start_tls(self).await
        }
    }

    /// An async client over `socket`: for [`Security::Implicit`] the handshake runs
    /// now; for [`Security::StartTls`] during [`connect`](Client::connect). `timer`
    /// bounds the implicit handshake ([`TIMEOUT_TLS_HANDSHAKE`], or the config's
    /// [`with_timeout`](Config::with_timeout)) and then every wait of the client
    /// ([`Client::with_timer`]); pass [`NoTimer`] to leave the waits to the
    /// transport.
    ///
    /// # Errors
    /// As [`TlsStream::open`] and [`Client::with_upgrade`];
    /// [`Error::TimedOut`] at [`Stage::TlsHandshake`] when the implicit handshake
    /// outlasts its limit.
    #[allow(clippy::too_many_arguments)]
    pub async fn client<'a, 'b, 'c, T, Rng, C, Tm, const N: usize>(
        socket: T,
        mut connector: Connector<'c, Rng, C>,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
        tls_read: &'b mut [u8],
        tls_write: &'b mut [u8],
        mut timer: Tm,
    ) -> Result<TlsClient<'a, 'b, 'c, T, Rng, N, C, Tm>, SessionError<T::Error>>
    where
        T: Read + Write + 'b,
        Rng: CryptoRngCore,
        C: TlsCipherSuite + 'static,
        Tm: Timer,
    {
        let stream = if config.security() == Security::Implicit {
            let limit = config.timeout().unwrap_or(TIMEOUT_TLS_HANDSHAKE);
            timer
                .with_timeout(
                    limit,
                    TlsStream::open(socket, tls_read, tls_write, &mut connector),
                )
                .await
                .map_err(|TimedOut| Error::TimedOut {
                    stage: Stage::TlsHandshake,
                })??
        } else {
            TlsStream::new(socket, tls_read, tls_write)
        };
        Ok(Client::with_upgrade(stream, connector, config, rx, tx)?.with_timer(timer))
    }
}

// ------------------------------------------------------------ CA files, pins --

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
/// # let pem: &[u8] = include_bytes!("../tests/data/certs/root-ca.pem");
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

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT_PEM: &[u8] = include_bytes!("../tests/data/certs/root-ca.pem");
    const ROOT_DER: &[u8] = include_bytes!("../tests/data/certs/root-ca.der");
    const INTERMEDIATE_PEM: &[u8] = include_bytes!("../tests/data/certs/intermediate-ca.pem");
    const INTERMEDIATE_DER: &[u8] = include_bytes!("../tests/data/certs/intermediate-ca.der");

    #[test]
    fn pem_bundle_decodes_to_the_der_files() {
        let mut file = std::vec::Vec::new();
        file.extend_from_slice(b"explanatory text\r\n");
        file.extend_from_slice(ROOT_PEM);
        file.extend_from_slice(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        // CRLF line ends are as good as LF.
        let crlf = std::string::String::from_utf8(INTERMEDIATE_PEM.to_vec())
            .unwrap()
            .replace('\n', "\r\n");
        file.extend_from_slice(crlf.as_bytes());
        let mut out = std::vec![0u8; file.len()];
        let certs = decode_certificates::<4>(&file, &mut out).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0], ROOT_DER);
        assert_eq!(certs[1], INTERMEDIATE_DER);
    }

    #[test]
    fn der_input_is_one_certificate() {
        let mut out = [0u8; 2048];
        let certs = decode_certificates::<1>(ROOT_DER, &mut out).unwrap();
        assert_eq!(certs.as_slice(), &[ROOT_DER]);
        let mut small = [0u8; 16];
        assert_eq!(
            decode_certificates::<1>(ROOT_DER, &mut small),
            Err(CertFileError::BufferTooSmall)
        );
    }

    #[test]
    fn bad_files_are_refused() {
        let mut out = [0u8; 4096];
        assert_eq!(
            decode_certificates::<4>(b"hello", &mut out),
            Err(CertFileError::NoCertificate)
        );
        assert_eq!(
            decode_certificates::<4>(b"", &mut out),
            Err(CertFileError::NoCertificate)
        );
        assert_eq!(
            decode_certificates::<4>(b"-----BEGIN CERTIFICATE-----\nMIIB\n", &mut out),
            Err(CertFileError::InvalidPem)
        );
        assert_eq!(
            decode_certificates::<4>(
                b"-----BEGIN CERTIFICATE-----\nMI!B\n-----END CERTIFICATE-----\n",
                &mut out
            ),
            Err(CertFileError::InvalidPem)
        );
        assert_eq!(
            decode_certificates::<4>(
                b"-----BEGIN CERTIFICATE-----\nMQ==MIIB\n-----END CERTIFICATE-----\n",
                &mut out
            ),
            Err(CertFileError::InvalidPem)
        );
        let two = [ROOT_PEM, ROOT_PEM].concat();
        assert_eq!(
            decode_certificates::<1>(&two, &mut out),
            Err(CertFileError::TooManyCertificates { max: 1 })
        );
    }

    #[test]
    fn pins_in_base64_and_hex() {
        let pin = crate::verify::spki_sha256(ROOT_DER).unwrap();
        use base64::Engine as _;
        let mut b64 = [0u8; 44];
        base64::engine::general_purpose::STANDARD
            .encode_slice(pin, &mut b64)
            .unwrap();
        let b64 = core::str::from_utf8(&b64).unwrap();
        assert_eq!(parse_pin(b64), Ok(pin));
        assert_eq!(parse_pin(&std::format!("sha256//{b64}\n")), Ok(pin));
        let hex: std::string::String = pin.iter().map(|b| std::format!("{b:02X}")).collect();
        assert_eq!(parse_pin(&hex), Ok(pin));
        assert_eq!(parse_pin(&b64[..40]), Err(CertFileError::InvalidPin));
        assert_eq!(
            parse_pin(&hex.replace('A', "G")),
            Err(CertFileError::InvalidPin)
        );
        assert_eq!(parse_pin(""), Err(CertFileError::InvalidPin));
    }

    #[test]
    fn failures_compare_and_classify() {
        use embedded_tls::alert::AlertLevel;
        let pv = TlsError::HandshakeAborted(AlertLevel::Fatal, AlertDescription::ProtocolVersion);
        assert_eq!(TlsFailure::from_tls(pv), TlsFailure::ProtocolVersion);
        let hf = TlsError::HandshakeAborted(AlertLevel::Fatal, AlertDescription::HandshakeFailure);
        assert_eq!(TlsFailure::from_tls(hf), TlsFailure::Alert(40));
        assert_eq!(TlsFailure::from_tls(TlsError::IoError), TlsFailure::Closed);
        assert_eq!(
            TlsFailure::Tls(TlsError::Io(ErrorKind::TimedOut)),
            TlsFailure::Tls(TlsError::Io(ErrorKind::TimedOut))
        );
        assert_ne!(
            TlsFailure::Tls(TlsError::Io(ErrorKind::TimedOut)),
            TlsFailure::Tls(TlsError::Io(ErrorKind::Other))
        );
        assert_ne!(
            TlsFailure::Tls(TlsError::InvalidRecord),
            TlsFailure::Tls(TlsError::DecodeError)
        );
        assert_eq!(
            TlsFailure::Tls(TlsError::Io(ErrorKind::TimedOut)).kind(),
            ErrorKind::TimedOut
        );
        assert!(TlsFailure::Closed.is_transient());
        assert!(TlsFailure::Tls(TlsError::Io(ErrorKind::TimedOut)).is_transient());
        assert!(!TlsFailure::Verify(VerifyError::Expired).is_transient());
        assert!(!TlsFailure::ProtocolVersion.is_transient());
        let text = std::format!("{}", TlsFailure::ProtocolVersion);
        assert!(text.contains("TLS 1.3 only"), "{text}");
        let text = std::format!("{}", TlsFailure::Alert(40));
        assert!(text.contains("TLS 1.3 only"), "{text}");
    }

    #[test]
    fn sizes_stay_small() {
        // The module docs and the README give these figures (x86-64: a connector of
        // 776 bytes, 1 176 with `tls-rsa`; a stream of 1 320 over a TcpStream).
        use crate::verify::Verifier as V;
        type Socket = embedded_io_adapters::std::FromStd<std::net::TcpStream>;
        let connector = core::mem::size_of::<Connector<'static, rand_core::OsRng>>();
        assert!(
            connector <= core::mem::size_of::<V<'static>>() + 256,
            "{connector}"
        );
        let stream = core::mem::size_of::<blocking::TlsStream<'static, Socket>>();
        let connection = core::mem::size_of::<
            embedded_tls::blocking::TlsConnection<'static, Socket, Aes128GcmSha256>,
        >();
        assert!(stream <= connection + 16, "{stream}");
        assert!(connection <= 1_400, "{connection}");
    }

    #[test]
    fn write_buffer_is_cut_to_one_full_record() {
        let pins = [[0u8; 32]];
        let c = Connector::new("localhost", Verifier::with_pins(&pins), rand_core::OsRng);
        assert_eq!(c.write_len::<()>(16_640, 16_640), Ok(MAX_TLS_WRITE_BUFFER));
        assert_eq!(MAX_TLS_WRITE_BUFFER, 16_517);
        assert_eq!(c.write_len::<()>(16_640, 4_096), Ok(4_096));
        assert_eq!(
            c.write_len::<()>(700, 4_096),
            Err(Error::Capacity { required: 768 })
        );
        assert_eq!(
            c.write_len::<()>(16_640, 100),
            Err(Error::Capacity { required: 512 })
        );
        let c = c.with_max_fragment_length(MaxFragmentLength::Bits10);
        assert_eq!(c.write_len::<()>(16_640, 4_096), Ok(1_024 + 133));
    }
}
