//! TLS for SMTP (feature `tls`): implicit TLS (port 465, RFC 8314) and STARTTLS
//! (port 587, RFC 3207) on embedded-tls 0.19, with the server authenticated by
//! this crate's verifier ([`crate::verify`]).
//!
//! ```text
//!   socket (any embedded_io::Read + Write: a TCP adapter, &mut socket, ...)
//!     │
//!     ▼
//!   blocking::TlsStream ── Plain(socket) ──STARTTLS──► Tls(embedded-tls connection
//!     │                      ▲                             over Guard(socket))
//!     │                      │ Connector: server name,   ▲
//!     │                      │ Verifier, RNG, TlsConfig  │ implicit TLS: the
//!     ▼                                                  │ handshake runs first
//!   crate::blocking::Client (the engine asks for the upgrade; the Connector does it)
//! ```
//!
//! The files: `mod.rs` (the connector, sizes), `error.rs` ([`TlsFailure`],
//! [`StreamError`]), `guard.rs` (the record guard, [`RecordError`]), `stream.rs`
//! (the states and every step the two streams share), `blocking.rs` and
//! `asynch.rs` (the two streams: only their I/O differs), `pem.rs` (CA files, pins).
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
//! # fn demo<T: embedded_io::Read + embedded_io::Write + embedded_smtp::blocking::Deadline>(
//! #     socket: T, rng: impl embedded_tls::CryptoRngCore, root_der: &[u8], now: u64,
//! # ) -> Result<(), embedded_smtp::Error<embedded_smtp::tls::StreamError<T::Error>>> {
//! use embedded_smtp::tls::{self, Buffers, Connector, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
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
//! let buffers = Buffers { rx: &mut rx, tx: &mut tx, tls_read: &mut tls_read, tls_write: &mut tls_write };
//! let config = Config::new(Domain::try_new("sensor-7.local")?)
//!     .with_security(Security::Implicit) // port 465; Security::StartTls for 587
//!     .with_credentials(Credentials::try_new("sensor7@example.com", "app-password")?);
//! let mut client = tls::blocking::client(socket, connector, config, buffers)?;
//! client.connect()?; // the TLS handshake (implicit TLS, first) or STARTTLS, EHLO, AUTH
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
//! 1.4 KB plus the socket (the record guard included).
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
//!   [`Error::Closed`](crate::Error::Closed)), so an unauthenticated end of stream cannot truncate anything silently.
//! - A verification failure reaches embedded-tls only as `InvalidCertificate` and
//!   sends no alert; the typed reason comes from [`Verifier::last_error`] as
//!   [`TlsFailure::Verify`].
//! - A server KeyUpdate (RFC 8446 §4.6.3) makes embedded-tls 0.19 fail the read
//!   with `Unimplemented`: the stream fails with [`TlsFailure::KeyUpdate`], which is
//!   transient (a new connection delivers). Servers send one only when asked or
//!   after very large amounts of data.
//! - embedded-tls keeps only the kind of a socket error (`TlsError::Io(kind)`), so
//!   after the handshake a [`StreamError::Tls`] carries that kind, and a time-out
//!   still reaches the client as [`Error::TimedOut`](crate::Error::TimedOut)
//!   (during the handshake at [`Stage::TlsHandshake`](crate::engine::Stage::TlsHandshake)).
//!
//! # The record guard: no panic from the path
//!
//! embedded-tls 0.19 panics on some records (`docs/embedded-tls.md` in the
//! repository lists each defect with its trigger and fix): an encrypted record
//! whose inner plaintext is empty (`unwrap` on its content type), any handshake
//! message other than NewSessionTicket after the handshake (`unimplemented!`, and
//! plaintext records are not decrypted, so anyone on the path could send one), and
//! a read after a read that failed in the middle of a record (a slice out of range).
//! So the socket reaches embedded-tls only through a guard (`guard.rs`) that follows
//! the record boundaries and lets through only what may come next, judged without
//! keys: before the ServerHello a whole ServerHello (or an alert); after it at most
//! one ChangeCipherSpec and then only application-data records of 17 ..= 2^14 + 256
//! bytes (never more than the read buffer). Anything else ends the stream with
//! [`TlsFailure::Record`], naming the record ([`RecordError`]), before embedded-tls
//! sees it. And a stream that failed once (a refused record, a socket error or
//! time-out in the middle of a record, an async call cancelled half-way:
//! [`TlsFailure::Interrupted`]) fails every later read, write, flush and close with
//! the same failure: embedded-tls is never called again.
//!
//! **Residual.** Inside encrypted records the guard cannot see. After the
//! handshake, records encrypted with the application keys come only from the
//! authenticated server (a certificate for the name that the verifier accepted, and
//! the handshake's keys). If that server sends an encrypted handshake message of a
//! type embedded-tls parses, other than NewSessionTicket (EncryptedExtensions,
//! Certificate, CertificateRequest, CertificateVerify or Finished) after the
//! handshake, embedded-tls 0.19 panics (the `unimplemented` macro in
//! `common/decrypted_read_handler.rs`). No party without the server's key can
//! send it. It goes away when embedded-tls answers those messages with an error.

use core::fmt;

use embedded_tls::{CryptoRngCore, TlsCipherSuite, TlsConfig};

pub use embedded_tls::{Aes128GcmSha256, Aes256GcmSha384, MaxFragmentLength};

use crate::verify::{Provider, Verifier, tls_config};

#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub mod asynch;
pub mod blocking;
pub(crate) mod error;
mod guard;
mod pem;
mod stream;

pub use error::{RecordError, StreamError, TlsFailure};
pub use pem::{CertFileError, decode_certificates, parse_pin};

impl<E> From<TlsFailure> for crate::Error<E> {
    fn from(e: TlsFailure) -> Self {
        crate::Error::Tls(e)
    }
}

/// The four buffers of a client over TLS, all the caller's: the client's own
/// (`rx` and `tx`, see [`Engine::new`](crate::engine::Engine::new): at least
/// 512 bytes each) and the TLS record buffers (`tls_read`: [`TLS_READ_BUFFER`],
/// `tls_write`: [`TLS_WRITE_BUFFER`]; less only with
/// [`Connector::with_max_fragment_length`]). One value for
/// [`blocking::client`] and `asynch::client`, so the four cannot be swapped.
#[derive(Debug)]
pub struct Buffers<'a, 'b> {
    /// The client's receive buffer: one reply line.
    pub rx: &'a mut [u8],
    /// The client's transmit buffer: one command group, and chunks of the body.
    pub tx: &'a mut [u8],
    /// The TLS record read buffer.
    pub tls_read: &'b mut [u8],
    /// The TLS record write buffer.
    pub tls_write: &'b mut [u8],
}

/// The error of a client on a [`blocking::TlsStream`] over a socket whose error is `E`.
pub type SessionError<E> = crate::Error<StreamError<E>>;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::verify::VerifyError;
    use embedded_io::ErrorKind;
    use embedded_tls::TlsError;
    use embedded_tls::alert::AlertDescription;

    const ROOT_PEM: &[u8] = include_bytes!("../../tests/data/certs/root-ca.pem");
    const ROOT_DER: &[u8] = include_bytes!("../../tests/data/certs/root-ca.der");
    const INTERMEDIATE_PEM: &[u8] = include_bytes!("../../tests/data/certs/intermediate-ca.pem");
    const INTERMEDIATE_DER: &[u8] = include_bytes!("../../tests/data/certs/intermediate-ca.der");

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
        // 776 bytes, 1 176 with `tls-rsa`; a stream of 1 408 over a TcpStream, of
        // which the record guard and its verdict are about 90).
        use crate::verify::Verifier as V;
        type Socket =
            crate::blocking::Untimed<embedded_io_adapters::std::FromStd<std::net::TcpStream>>;
        let connector = core::mem::size_of::<Connector<'static, rand_core::OsRng>>();
        assert!(
            connector <= core::mem::size_of::<V<'static>>() + 256,
            "{connector}"
        );
        let stream = core::mem::size_of::<blocking::TlsStream<'static, Socket>>();
        let connection = core::mem::size_of::<
            embedded_tls::blocking::TlsConnection<'static, Socket, Aes128GcmSha256>,
        >();
        assert!(stream <= connection + 128, "{stream}");
        assert!(connection <= 1_400, "{connection}");
    }

    #[test]
    fn write_buffer_is_cut_to_one_full_record() {
        let pins = [[0u8; 32]];
        let c = Connector::new("localhost", Verifier::with_pins(&pins), rand_core::OsRng);
        assert_eq!(
            stream::write_len::<()>(c.fragment, 16_640, 16_640),
            Ok(MAX_TLS_WRITE_BUFFER)
        );
        assert_eq!(MAX_TLS_WRITE_BUFFER, 16_517);
        assert_eq!(
            stream::write_len::<()>(c.fragment, 16_640, 4_096),
            Ok(4_096 - guard::VERDICT_LEN)
        );
        assert_eq!(
            stream::write_len::<()>(c.fragment, 700, 4_096),
            Err(Error::Capacity {
                buffer: crate::Buffer::TlsRead,
                required: 768
            })
        );
        assert_eq!(
            stream::write_len::<()>(c.fragment, 16_640, 100),
            Err(Error::Capacity {
                buffer: crate::Buffer::TlsWrite,
                required: 512
            })
        );
        let c = c.with_max_fragment_length(MaxFragmentLength::Bits10);
        assert_eq!(
            stream::write_len::<()>(c.fragment, 16_640, 4_096),
            Ok(1_024 + 133)
        );
    }
}
