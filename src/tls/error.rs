//! What fails in TLS: [`TlsFailure`] (the handshake, the record guard, the
//! established connection), [`RecordError`] (what the guard refused) and
//! [`StreamError`], the error of a TLS stream. A leaf: `crate::error::Error`
//! carries a [`TlsFailure`], and the TLS module joins the two (`From`,
//! `SessionError`).

use core::fmt;
use core::mem::discriminant;

use embedded_io::ErrorKind;
use embedded_tls::TlsError;
use embedded_tls::alert::AlertDescription;

use crate::verify::error::VerifyError;

/// Why TLS failed: during the handshake ([`Error::Tls`](crate::Error::Tls)) or, as a
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
    /// The record guard refused what the server (or someone on the path) sent:
    /// a record of a type, length or version that may not arrive at that point
    /// ([`RecordError`] names it). Nothing of it reached embedded-tls.
    Record(RecordError),
    /// After the handshake the server sent a handshake message that embedded-tls
    /// 0.19 cannot process: a KeyUpdate (RFC 8446 §4.6.3), which servers send
    /// after very large transfers or when asked, or another post-handshake message
    /// of a type it does not implement. The connection cannot go on; a new one
    /// can (transient).
    KeyUpdate,
    /// An async read or write of the TLS stream was cancelled (its future dropped,
    /// e.g. by a time limit) before it finished, so a record may be half read or
    /// half written: the stream cannot be used any more.
    Interrupted,
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

    /// Whether trying again on a new connection can help: a connection lost, a
    /// transport failure, records refused by the guard (bytes injected on the
    /// path), a KeyUpdate or an interrupted call. Never for [`TlsFailure::Verify`].
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TlsFailure::Closed
                | TlsFailure::Record(_)
                | TlsFailure::KeyUpdate
                | TlsFailure::Interrupted
                | TlsFailure::Tls(TlsError::Io(_) | TlsError::IoError)
        )
    }

    /// The `embedded_io` kind: the transport's own for `TlsError::Io`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TlsFailure::Tls(TlsError::Io(kind)) => *kind,
            TlsFailure::Closed => ErrorKind::ConnectionReset,
            TlsFailure::Record(_) => ErrorKind::InvalidData,
            TlsFailure::KeyUpdate => ErrorKind::ConnectionAborted,
            TlsFailure::Interrupted => ErrorKind::Interrupted,
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
            (TlsFailure::Record(a), TlsFailure::Record(b)) => a == b,
            (TlsFailure::ProtocolVersion, TlsFailure::ProtocolVersion)
            | (TlsFailure::NotTls, TlsFailure::NotTls)
            | (TlsFailure::Closed, TlsFailure::Closed)
            | (TlsFailure::KeyUpdate, TlsFailure::KeyUpdate)
            | (TlsFailure::Interrupted, TlsFailure::Interrupted) => true,
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
            TlsFailure::Record(e) => write!(f, "a TLS record was refused: {e}"),
            TlsFailure::KeyUpdate => f.write_str(
                "the server sent a TLS KeyUpdate (or another post-handshake message) that embedded-tls cannot process; try again on a new connection",
            ),
            TlsFailure::Interrupted => f.write_str(
                "a TLS read or write was cancelled half-way; the connection cannot be used",
            ),
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
            TlsFailure::Record(e) => defmt::write!(f, "TLS record refused: {}", e),
            TlsFailure::KeyUpdate => defmt::write!(f, "TLS KeyUpdate not supported"),
            TlsFailure::Interrupted => defmt::write!(f, "TLS call cancelled half-way"),
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

/// The error of a [`TlsStream`](super::blocking::TlsStream): the socket's own before the handshake,
/// a [`TlsFailure`] after it (embedded-tls keeps only the socket error's kind, in
/// `TlsFailure::Tls(TlsError::Io(kind))`). Once a TLS stream has failed, every
/// later call returns the same [`StreamError::Tls`].
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

/// A TLS record the guard refused: what arrived, and where it may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RecordError {
    /// A record of a content type that may not arrive here: before the
    /// ServerHello only handshake and alert records, after it only application
    /// data (and one ChangeCipherSpec). A plaintext handshake message or alert
    /// after the ServerHello is one of these.
    UnexpectedType {
        /// The record's content type (RFC 8446 §5.1: 20 ChangeCipherSpec, 21
        /// alert, 22 handshake, 23 application data).
        content_type: u8,
        /// Whether the ServerHello had arrived.
        after_server_hello: bool,
    },
    /// A record whose length its type does not allow: an encrypted record shorter
    /// than 17 bytes (an empty inner plaintext) or longer than 2^14 + 256 or the
    /// read buffer, a plaintext one longer than 2^14, an alert not of 2 bytes.
    Length {
        /// The record's content type.
        content_type: u8,
        /// The length its header claims.
        len: u16,
    },
    /// A second ChangeCipherSpec, one after encrypted data, or one that is not
    /// the single byte `01` (RFC 8446 §5).
    ChangeCipherSpec,
    /// The first handshake record does not start with a whole ServerHello: another
    /// message type, or a ServerHello split across records.
    ServerHello {
        /// The handshake message type that arrived.
        msg_type: u8,
    },
    /// A record version other than 0x0303 (RFC 8446 §5.1).
    Version(u16),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RecordError::UnexpectedType {
                content_type,
                after_server_hello,
            } => write!(
                f,
                "a record of type {content_type} {} the ServerHello",
                if after_server_hello {
                    "after"
                } else {
                    "before"
                }
            ),
            RecordError::Length { content_type, len } => {
                write!(f, "a record of type {content_type} and {len} bytes")
            }
            RecordError::ChangeCipherSpec => f.write_str("an unexpected ChangeCipherSpec"),
            RecordError::ServerHello { msg_type } => write!(
                f,
                "handshake message {msg_type} where a whole ServerHello was due"
            ),
            RecordError::Version(v) => write!(f, "a record of version {v:#06x}"),
        }
    }
}

impl core::error::Error for RecordError {}
