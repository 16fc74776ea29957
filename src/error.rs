//! The crate's errors: one [`Error<E>`] generic over the transport's error, and the
//! small `Copy` enums it carries.
//!
//! Variants are sorted by blame. The network and the server: [`Error::Io`],
//! [`Error::Closed`], [`Error::TimedOut`], `Error::Tls` (feature `tls`),
//! [`Error::Reply`], [`Error::Protocol`], [`Error::Unsupported`],
//! [`Error::Rejected`], [`Error::NoRecipients`]. The caller: [`Error::Capacity`]
//! (which buffer, how large), [`Error::Input`], [`Error::Source`],
//! [`Error::Misuse`] (a step called in the wrong state), and [`Error::Unusable`]
//! (a call after the session failed). A driver that breaks the engine's contract:
//! [`Error::Contract`]. This crate itself: [`Error::Invariant`], a bug. Every
//! error says whether trying again later can help ([`Error::is_transient`]) and
//! prints a line a person can act on.

use core::convert::Infallible;
use core::fmt;

use crate::reply::{ReplyCode, ReplyError};
use crate::stage::Stage;

pub use crate::reply::{MAX_TEXT, Response, Text};

mod input;
pub use input::{Field, InputError, InputErrorKind};

/// Everything that can go wrong, generic over the transport's error `E`.
///
/// The engine itself never does I/O and reports `Error<Infallible>`; the drivers turn
/// that into `Error<E>` with [`Error::widen`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E = Infallible> {
    /// The transport failed; the error is the transport's own.
    Io(E),
    /// The connection ended (a read or write of 0 bytes) while `stage` still waited.
    Closed {
        /// What the client was doing.
        stage: Stage,
    },
    /// The server did not answer within the limit for `stage` (reported by a driver
    /// whose transport can tell a time-out apart).
    TimedOut {
        /// What the client was waiting for.
        stage: Stage,
    },
    /// The TLS handshake failed or the server was not authenticated (feature
    /// `tls`); a verification failure carries the verifier's reason
    /// ([`TlsFailure::Verify`](crate::tls::TlsFailure::Verify)).
    #[cfg(feature = "tls")]
    Tls(crate::tls::error::TlsFailure),
    /// The server sent bytes that are not a valid reply.
    Reply(ReplyError),
    /// The server sent a valid reply that is not allowed here (a code that is
    /// neither the success awaited nor a 4yz or 5yz refusal, bytes after the `220`
    /// to `STARTTLS`, too many AUTH challenges).
    Protocol(ProtocolError),
    /// The server lacks an extension the session needs.
    Unsupported(Unsupported),
    /// The server refused a command with a 4yz or 5yz reply.
    Rejected {
        /// The command that was refused.
        stage: Stage,
        /// The server's answer.
        response: Response,
    },
    /// Every recipient was refused; the transaction was reset and no message was sent.
    /// The per-recipient list stays in the client's [`Report`](crate::engine::Report).
    NoRecipients {
        /// How many recipients were refused.
        refused: u16,
        /// The first response (the one to show).
        first: Response,
    },
    /// A caller-supplied buffer is too small; nothing was sent for the step that needed it.
    Capacity {
        /// Which buffer.
        buffer: Buffer,
        /// Bytes the buffer needs to hold.
        required: usize,
    },
    /// Invalid caller input, caught before any byte of it was sent.
    Input(InputError),
    /// The message source (an attachment reader) failed in the middle of the body.
    /// The message was not terminated, so the server discards it; the connection
    /// cannot be used again.
    Source(embedded_io::ErrorKind),
    /// The caller made a call the session's state does not allow (nothing was sent,
    /// and the session is as it was).
    Misuse(Misuse),
    /// A driver broke the engine's contract (a `handle_*` call that does not answer
    /// the last [`Action`](crate::engine::Action)): a bug in the driver, not in the
    /// session. The connection is unusable.
    Contract(Contract),
    /// An invariant of this crate does not hold: a bug in embedded-smtp (please
    /// report it). Nothing wrong was sent; the connection is unusable.
    Invariant(Invariant),
    /// The session failed earlier (at `stage`, for `failure`) and this call was
    /// made anyway: nothing was sent. Make a new connection; this one is over
    /// ([`Engine::is_usable`](crate::engine::Engine::is_usable) is false). Not
    /// transient: the same call on the same client fails the same way.
    Unusable {
        /// Where the session failed.
        stage: Stage,
        /// How it failed.
        failure: Failure,
    },
}

/// How a session failed, as the engine remembers it: every later call fails with
/// [`Error::Unusable`] naming the first failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Failure {
    /// A read of the transport failed.
    Read,
    /// A write or flush of the transport failed.
    Write,
    /// A wait outlasted its time limit.
    TimedOut,
    /// The TLS handshake failed (STARTTLS or implicit TLS).
    Upgrade,
    /// The server closed the connection.
    Closed,
    /// The message source failed in the middle of the body.
    Source,
    /// The exchange itself failed: a refused, malformed or unexpected reply.
    Session,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Failure::Read => "a read failed",
            Failure::Write => "a write failed",
            Failure::TimedOut => "a wait timed out",
            Failure::Upgrade => "the TLS handshake failed",
            Failure::Closed => "the server closed the connection",
            Failure::Source => "the message source failed",
            Failure::Session => "the exchange failed",
        })
    }
}

impl Error<Infallible> {
    /// Turns an engine error into a driver error with transport error `E`.
    pub fn widen<E>(self) -> Error<E> {
        self.widened()
    }

    /// [`widen`](Self::widen) from a reference: the driver widens the error in
    /// the engine's action where it lies, without moving it out first.
    pub(crate) fn widened<E>(&self) -> Error<E> {
        match *self {
            Error::Io(never) => match never {},
            Error::Closed { stage } => Error::Closed { stage },
            Error::TimedOut { stage } => Error::TimedOut { stage },
            #[cfg(feature = "tls")]
            Error::Tls(e) => Error::Tls(e),
            Error::Reply(e) => Error::Reply(e),
            Error::Protocol(e) => Error::Protocol(e),
            Error::Unsupported(e) => Error::Unsupported(e),
            Error::Rejected { stage, response } => Error::Rejected { stage, response },
            Error::NoRecipients { refused, first } => Error::NoRecipients { refused, first },
            Error::Capacity { buffer, required } => Error::Capacity { buffer, required },
            Error::Input(e) => Error::Input(e),
            Error::Source(k) => Error::Source(k),
            Error::Misuse(m) => Error::Misuse(m),
            Error::Contract(c) => Error::Contract(c),
            Error::Invariant(i) => Error::Invariant(i),
            Error::Unusable { stage, failure } => Error::Unusable { stage, failure },
        }
    }
}

impl<E> Error<E> {
    /// Whether trying again later (a new connection, the same message) can help:
    /// transport failures, a lost connection, time-outs and 4yz replies (and a TLS
    /// handshake cut short by the network, never a server that failed verification).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Io(_) | Error::Closed { .. } | Error::TimedOut { .. } => true,
            #[cfg(feature = "tls")]
            Error::Tls(e) => e.is_transient(),
            Error::Rejected { response, .. }
            | Error::NoRecipients {
                first: response, ..
            } => response.code.is_transient(),
            _ => false,
        }
    }

    /// Whether retrying the same thing cannot help without a change (5yz replies,
    /// unexpected reply codes, invalid input, missing extensions, malformed server
    /// bytes, buffers too small, misuse and bugs).
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }

    /// The reply code, if the error came from a server's reply.
    pub fn code(&self) -> Option<ReplyCode> {
        match self {
            Error::Rejected { response, .. }
            | Error::NoRecipients {
                first: response, ..
            } => Some(response.code),
            Error::Protocol(ProtocolError::UnexpectedReply { code, .. }) => Some(*code),
            _ => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "transport error: {e:?}"),
            Error::Closed { stage } => write!(f, "{stage}: the server closed the connection"),
            Error::TimedOut { stage } => write!(f, "{stage}: the server did not answer in time"),
            #[cfg(feature = "tls")]
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::Reply(e) => write!(f, "malformed reply: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Unsupported(e) => write!(f, "not supported by the server: {e}"),
            Error::Rejected { stage, response } => {
                write!(f, "{stage} refused: {response}")?;
                hint(f, *stage, response)
            }
            Error::NoRecipients { refused, first } => {
                write!(f, "all {refused} recipient(s) refused; first: {first}")
            }
            Error::Capacity { buffer, required } => {
                write!(f, "{buffer} buffer too small: {required} bytes needed")
            }
            Error::Input(e) => write!(f, "invalid input: {e}"),
            Error::Source(k) => {
                write!(f, "message source failed ({k:?}); the message was not sent")
            }
            Error::Misuse(m) => write!(f, "misuse: {m}"),
            Error::Contract(c) => write!(f, "the driver broke the engine's contract: {c}"),
            Error::Invariant(i) => write!(f, "internal error (a bug in embedded-smtp): {i}"),
            Error::Unusable { stage, failure } => write!(
                f,
                "the session failed earlier ({stage}: {failure}); make a new connection"
            ),
        }
    }
}

/// Hints for the two failures every first user of a provider such as QQ Mail meets.
fn hint(f: &mut fmt::Formatter<'_>, stage: Stage, r: &Response) -> fmt::Result {
    let text = r.line().as_bytes();
    if stage == Stage::Auth && (r.code.get() == 535 || r.code.get() == 534) {
        f.write_str(" (hint: many providers, QQ Mail and Gmail among them, want an authorization code or app password here, not the account password)")?;
    }
    if r.code.get() == 550 && contains_ignore_case(text, b"from") {
        f.write_str(" (hint: the From header must be present and match the authenticated sender)")?;
    }
    Ok(())
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

impl<E: core::error::Error + 'static> core::error::Error for Error<E> {
    /// The transport's error for [`Error::Io`].
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(feature = "defmt")]
impl<E> defmt::Format for Error<E> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Error::Io(_) => defmt::write!(f, "transport error"),
            Error::Closed { stage } => defmt::write!(f, "{}: connection closed", stage),
            Error::TimedOut { stage } => defmt::write!(f, "{}: timed out", stage),
            #[cfg(feature = "tls")]
            Error::Tls(e) => defmt::write!(f, "TLS: {}", e),
            Error::Reply(e) => defmt::write!(f, "malformed reply: {}", e),
            Error::Protocol(e) => defmt::write!(f, "protocol error: {}", e),
            Error::Unsupported(e) => defmt::write!(f, "unsupported: {}", e),
            Error::Rejected { stage, response } => {
                defmt::write!(f, "{} refused: {}", stage, response)
            }
            Error::NoRecipients { refused, first } => {
                defmt::write!(f, "all {} recipients refused: {}", refused, first)
            }
            Error::Capacity { buffer, required } => {
                defmt::write!(f, "{} buffer too small: {} needed", buffer, required)
            }
            Error::Input(e) => defmt::write!(f, "invalid input: {}", e),
            Error::Source(_) => defmt::write!(f, "message source failed"),
            Error::Misuse(m) => defmt::write!(f, "misuse: {}", m),
            Error::Contract(c) => defmt::write!(f, "driver contract broken: {}", c),
            Error::Invariant(i) => defmt::write!(f, "internal error: {}", i),
            Error::Unusable { stage, failure } => {
                defmt::write!(f, "session failed earlier ({}: {})", stage, failure)
            }
        }
    }
}

/// A well-formed reply that is not allowed where it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ProtocolError {
    /// A reply code that is neither the success the command awaits nor a 4yz or
    /// 5yz refusal (e.g. `354` to `MAIL`, `250` as the greeting).
    UnexpectedReply {
        /// The command the reply answered.
        stage: Stage,
        /// The code received.
        code: ReplyCode,
    },
    /// Bytes arrived after the `220` to `STARTTLS` and before the TLS handshake: a
    /// response-injection attack (RFC 3207 §4.2, CVE-2011-0411 class). The session stops.
    StartTlsInjection,
    /// The server sent bytes while no reply was expected.
    UnsolicitedData,
    /// The server kept sending `334` challenges past [`MAX_AUTH_CHALLENGES`](crate::limits::MAX_AUTH_CHALLENGES).
    TooManyChallenges,
    /// A `334` challenge whose text is not valid base64.
    InvalidChallenge,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::UnexpectedReply { stage, code } => {
                write!(f, "unexpected reply {code} to {stage}")
            }
            ProtocolError::StartTlsInjection => f.write_str(
                "data injected after the 220 to STARTTLS (possible attack); connection abandoned",
            ),
            ProtocolError::UnsolicitedData => {
                f.write_str("the server sent data no command asked for")
            }
            ProtocolError::TooManyChallenges => {
                f.write_str("the server sent too many AUTH challenges")
            }
            ProtocolError::InvalidChallenge => f.write_str("an AUTH challenge is not valid base64"),
        }
    }
}

/// The caller-supplied buffer that is too small, in [`Error::Capacity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Buffer {
    /// The client's receive buffer `rx` (one reply line, RFC 5321 §4.5.3.1.5).
    Rx,
    /// The client's transmit buffer `tx` (one command group, e.g. `MAIL` with
    /// every `RCPT` and `DATA`).
    Tx,
    /// The TLS record read buffer.
    TlsRead,
    /// The TLS record write buffer.
    TlsWrite,
}

impl fmt::Display for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Buffer::Rx => "receive (rx)",
            Buffer::Tx => "transmit (tx)",
            Buffer::TlsRead => "TLS read",
            Buffer::TlsWrite => "TLS write",
        })
    }
}

/// A call the session's state does not allow, in [`Error::Misuse`]: the caller's
/// mistake, found before any byte was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Misuse {
    /// A step that needs an idle session (a transaction, `QUIT`) was called before
    /// the session was ready (before `connect`), or while an exchange is under way.
    NotIdle,
    /// `quit_after_transaction` with no transaction under way, or after the end of
    /// its message was already queued.
    NoTransaction,
    /// A TLS handshake was asked of a stream that is not plain (TLS is up already,
    /// or the stream failed).
    NotPlain,
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Misuse::NotIdle => "the session is not idle (connect first, and let each step end)",
            Misuse::NoTransaction => "no transaction is under way",
            Misuse::NotPlain => "the stream is not plain (TLS is up already, or it failed)",
        })
    }
}

/// How a driver broke the engine's contract, in [`Error::Contract`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Contract {
    /// `handle_tls_ready` without an `Action::StartTls` (or `Action::Handshake`) to answer.
    UnaskedTls,
    /// `handle_body` without an `Action::Body` to answer.
    UnaskedBody,
    /// `handle_sent(n)` with `n` more than the bytes of the `Action::Send`.
    SentTooMuch,
    /// `handle_received(n)` with `n` more than the `Action::Recv` buffer holds.
    ReceivedTooMuch,
}

impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Contract::UnaskedTls => "a TLS handshake was reported that the engine did not ask for",
            Contract::UnaskedBody => "a message body was passed that the engine did not ask for",
            Contract::SentTooMuch => "more bytes reported written than the engine gave",
            Contract::ReceivedTooMuch => "more bytes reported read than the buffer holds",
        })
    }
}

/// Which invariant of this crate failed, in [`Error::Invariant`]. Each is checked
/// with a `debug_assert!` too, so that tests stop at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Invariant {
    /// A command or the end of the message did not fit the room reserved for it
    /// in `tx`.
    Room,
    /// The engine reached a state in which it has nothing to ask of the driver,
    /// or finished a step with an outcome that step cannot have.
    State,
    /// The engine asked for a message body outside a transaction.
    NoBody,
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invariant::Room => "the room reserved in tx was too small",
            Invariant::State => "the engine reached a state with no next step",
            Invariant::NoBody => "a message body was asked for outside a transaction",
        })
    }
}

impl<E> From<Misuse> for Error<E> {
    fn from(e: Misuse) -> Self {
        Error::Misuse(e)
    }
}

impl<E> From<Contract> for Error<E> {
    fn from(e: Contract) -> Self {
        Error::Contract(e)
    }
}

impl<E> From<Invariant> for Error<E> {
    fn from(e: Invariant) -> Self {
        Error::Invariant(e)
    }
}

/// An invariant failed: a `debug_assert!` in debug builds, the typed error always.
pub(crate) fn broken(i: Invariant) -> Invariant {
    debug_assert!(false, "invariant: {i}");
    i
}

/// An extension or mode the session needs and the server (or the connection) lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Unsupported {
    /// STARTTLS is required but the server does not offer it. There is no fallback to plaintext.
    StartTls,
    /// None of the AUTH mechanisms the client may use is offered by the server
    /// (or the server offers no AUTH at all).
    AuthMechanism,
    /// Credentials were given but the connection is not encrypted, and plaintext
    /// AUTH was not explicitly allowed.
    PlaintextAuth,
    /// An address or the message needs SMTPUTF8 (RFC 6531) and the server lacks it.
    SmtpUtf8,
    /// The message needs 8BITMIME (RFC 6152) and the server lacks it.
    EightBitMime,
    /// The session must run STARTTLS but the client's stream cannot be upgraded to
    /// TLS (build with feature `tls` and use its stream).
    TlsUnavailable,
    /// The message is larger than the server's SIZE limit (RFC 1870).
    MessageTooLarge {
        /// The server's limit in octets.
        limit: u64,
    },
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::StartTls => f.write_str("STARTTLS is required but not offered (no fallback to plaintext)"),
            Unsupported::AuthMechanism => f.write_str("no common AUTH mechanism"),
            Unsupported::PlaintextAuth => f.write_str("refusing to send credentials over an unencrypted connection (allow it explicitly if you must)"),
            Unsupported::SmtpUtf8 => f.write_str("a non-ASCII address needs SMTPUTF8"),
            Unsupported::EightBitMime => f.write_str("an 8-bit body needs 8BITMIME"),
            Unsupported::TlsUnavailable => f.write_str("STARTTLS needs a stream that can be upgraded to TLS (feature `tls`)"),
            Unsupported::MessageTooLarge { limit } => write!(f, "the message exceeds the server's SIZE limit of {limit} octets"),
        }
    }
}

impl<E> From<ReplyError> for Error<E> {
    fn from(e: ReplyError) -> Self {
        Error::Reply(e)
    }
}

impl<E> From<ProtocolError> for Error<E> {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl<E> From<Unsupported> for Error<E> {
    fn from(e: Unsupported) -> Self {
        Error::Unsupported(e)
    }
}

#[cfg(test)]
mod tests;
