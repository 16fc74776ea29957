//! The crate's errors: one [`Error<E>`] generic over the transport's error, and the
//! small `Copy` enums it carries.
//!
//! Variants are sorted by blame, from the network to the caller: [`Error::Io`],
//! [`Error::Closed`], [`Error::TimedOut`], `Error::Tls` (feature `tls`), [`Error::Reply`], [`Error::Protocol`],
//! [`Error::Unsupported`], [`Error::Rejected`], [`Error::NoRecipients`],
//! [`Error::Capacity`], [`Error::Input`], [`Error::Source`]. Every error says whether
//! trying again later can help ([`Error::is_transient`]) and prints a line a person
//! can act on.

use core::convert::Infallible;
use core::fmt;

use crate::reply::{ReplyCode, ReplyError};
use crate::stage::Stage;

pub use crate::reply::{MAX_TEXT, Response, Text};

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
    /// The server sent a valid reply that is not allowed here, or the caller asked
    /// for something the session's state does not allow.
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
        /// Bytes the buffer needs to hold.
        required: usize,
    },
    /// Invalid caller input, caught before any byte of it was sent.
    Input(InputError),
    /// The message source (an attachment reader) failed in the middle of the body.
    /// The message was not terminated, so the server discards it; the connection
    /// cannot be used again.
    Source(embedded_io::ErrorKind),
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
        match self {
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
            Error::Capacity { required } => Error::Capacity { required },
            Error::Input(e) => Error::Input(e),
            Error::Source(k) => Error::Source(k),
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
    /// invalid input, missing extensions, malformed server bytes, buffers too small).
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
            Error::Capacity { required } => write!(f, "buffer too small: {required} bytes needed"),
            Error::Input(e) => write!(f, "invalid input: {e}"),
            Error::Source(k) => {
                write!(f, "message source failed ({k:?}); the message was not sent")
            }
            Error::Unusable { stage, failure } => write!(
                f,
                "the session failed earlier ({stage}: {failure}); make a new connection"
            ),
        }
    }
}

/// Hints for the two failures every first user of a provider such as QQ Mail meets.
fn hint(f: &mut fmt::Formatter<'_>, stage: Stage, r: &Response) -> fmt::Result {
    let text = r.text.as_bytes();
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
            Error::Capacity { required } => {
                defmt::write!(f, "buffer too small: {} needed", required)
            }
            Error::Input(e) => defmt::write!(f, "invalid input: {}", e),
            Error::Source(_) => defmt::write!(f, "message source failed"),
            Error::Unusable { stage, failure } => {
                defmt::write!(f, "session failed earlier ({}: {})", stage, failure)
            }
        }
    }
}

/// A well-formed reply that is not allowed where it came, or a call the session's
/// state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ProtocolError {
    /// A reply code that makes no sense for the command (e.g. `354` to `MAIL`).
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
    /// The call does not fit the session's state (e.g. `send` before the session is
    /// ready, or after an error left the connection unusable).
    InvalidState,
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
            ProtocolError::InvalidState => {
                f.write_str("the session is not in a state that allows this call")
            }
        }
    }
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

/// Invalid caller input, refused before any of it reaches the wire: which value
/// ([`Field`]) and what was wrong with it ([`InputErrorKind`]).
///
/// Printed as `<field>: <kind>`, e.g. `To number 2: CR or LF in a value (would
/// inject a command or header)`. A value checked on its own (an [`Address`] parsed
/// from a configuration file) names the kind of value; code that knows where the
/// value belongs says so with [`at`](Self::at), as in
/// `Mailbox::parse(s).map_err(|e| e.at(Field::To(2)))`.
///
/// [`Address`]: crate::Address
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InputError {
    field: Field,
    kind: InputErrorKind,
}

impl InputError {
    /// The error for `field`, wrong as `kind` says.
    pub const fn new(field: Field, kind: InputErrorKind) -> Self {
        InputError { field, kind }
    }

    /// The same error, naming `field` as the refused value.
    #[must_use]
    pub const fn at(self, field: Field) -> Self {
        InputError { field, ..self }
    }

    /// Which value was refused.
    pub const fn field(&self) -> Field {
        self.field
    }

    /// What was wrong with it.
    pub const fn kind(&self) -> InputErrorKind {
        self.kind
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.kind)
    }
}

/// The value an [`InputError`] refused. Positions in lists count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Field {
    /// A domain ([`Domain::try_new`](crate::Domain::try_new)), e.g. the client's
    /// EHLO name.
    Domain,
    /// An address ([`Address::try_new`](crate::Address::try_new)).
    Address,
    /// A mailbox as text ([`Mailbox::parse`](crate::Mailbox::parse)).
    Mailbox,
    /// A display name ([`Mailbox::with_name`](crate::Mailbox::with_name)).
    DisplayName,
    /// The `From` mailbox.
    From,
    /// `To` recipient number `n` (from 1).
    To(u16),
    /// `Cc` recipient number `n` (from 1).
    Cc(u16),
    /// `Bcc` recipient number `n` (from 1).
    Bcc(u16),
    /// `Reply-To` mailbox number `n` (from 1).
    ReplyTo(u16),
    /// The subject, or other unstructured header text
    /// ([`HeaderText::try_new`](crate::HeaderText::try_new)).
    Subject,
    /// A header field name ([`Header::try_new`](crate::message::Header::try_new)).
    HeaderName,
    /// A header field value ([`Header::try_new`](crate::message::Header::try_new)).
    HeaderValue,
    /// A message identifier or Content-ID
    /// ([`MsgId::try_new`](crate::message::MsgId::try_new)).
    MessageId,
    /// The user name of [`Credentials`](crate::Credentials).
    Username,
    /// The password (or authorization code) of [`Credentials`](crate::Credentials).
    Password,
    /// An attachment's file name.
    FileName,
    /// An attachment's content type.
    ContentType,
    /// Attachment number `n` (from 1) as a whole.
    Attachment(u16),
    /// The message's `Date`.
    Date,
    /// The envelope's recipients as a whole.
    Recipients,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Domain => f.write_str("the domain"),
            Field::Address => f.write_str("the address"),
            Field::Mailbox => f.write_str("the mailbox"),
            Field::DisplayName => f.write_str("the display name"),
            Field::From => f.write_str("From"),
            Field::To(n) => write!(f, "To number {n}"),
            Field::Cc(n) => write!(f, "Cc number {n}"),
            Field::Bcc(n) => write!(f, "Bcc number {n}"),
            Field::ReplyTo(n) => write!(f, "Reply-To number {n}"),
            Field::Subject => f.write_str("the subject"),
            Field::HeaderName => f.write_str("the header name"),
            Field::HeaderValue => f.write_str("the header value"),
            Field::MessageId => f.write_str("the message identifier"),
            Field::Username => f.write_str("the user name"),
            Field::Password => f.write_str("the password"),
            Field::FileName => f.write_str("the attachment's file name"),
            Field::ContentType => f.write_str("the attachment's content type"),
            Field::Attachment(n) => write!(f, "attachment number {n}"),
            Field::Date => f.write_str("the Date"),
            Field::Recipients => f.write_str("the recipients"),
        }
    }
}

/// What was wrong with a refused value ([`InputError::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum InputErrorKind {
    /// The value is empty.
    Empty,
    /// A CR or LF: it would end the command or header line and let the rest inject another.
    LineBreak,
    /// A NUL byte.
    Nul,
    /// A control character other than CR, LF and NUL.
    Control,
    /// Longer than the limit.
    TooLong {
        /// The limit in octets.
        max: usize,
    },
    /// An address without `@`.
    MissingAt,
    /// The part of an address before `@` is not a dot-string or quoted string (RFC 5321 §4.1.2).
    InvalidLocalPart,
    /// Not a valid host name or address literal.
    InvalidDomain,
    /// Not of the form `Name <local@domain>` or `local@domain`.
    InvalidMailbox,
    /// A MIME content type that is not `type/subtype` made of RFC 2045 §5.1 tokens.
    InvalidContentType,
    /// More recipients than the client was built for.
    TooManyRecipients {
        /// The client's limit.
        max: usize,
    },
    /// A transaction needs at least one recipient.
    NoRecipients,
    /// A header field name that is not 1 to 76 printable ASCII characters without
    /// `:` (RFC 5322 §3.6.8 `ftext`).
    InvalidHeaderName,
    /// A header field the message writer writes itself (`From`, `To`, `Date`,
    /// `MIME-Version`, any `Content-*`, ...): a caller's copy would duplicate or
    /// contradict it.
    ReservedHeader,
    /// A message identifier that is not `id-left@id-right` (RFC 5322 §3.6.4), with
    /// or without the angle brackets.
    InvalidMessageId,
    /// The message has no `Date` field (RFC 5322 §3.6 requires one): give one with
    /// `Message::date`, or say that the submission server adds it with
    /// `Message::without_date`.
    MissingDate,
    /// The attachment ([`Field::Attachment`]) was read by an earlier send and its
    /// reader cannot start again: the message would go out shorter. Make it with
    /// `Attachment::rewindable` or `Attachment::from_bytes` to send it again.
    AttachmentSpent,
}

impl fmt::Display for InputErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputErrorKind::Empty => f.write_str("empty value"),
            InputErrorKind::LineBreak => {
                f.write_str("CR or LF in a value (would inject a command or header)")
            }
            InputErrorKind::Nul => f.write_str("NUL byte in a value"),
            InputErrorKind::Control => f.write_str("control character in a value"),
            InputErrorKind::TooLong { max } => write!(f, "value longer than {max} octets"),
            InputErrorKind::MissingAt => f.write_str("address without '@'"),
            InputErrorKind::InvalidLocalPart => f.write_str("invalid local part in address"),
            InputErrorKind::InvalidDomain => f.write_str("invalid domain"),
            InputErrorKind::InvalidMailbox => {
                f.write_str("expected 'Name <local@domain>' or 'local@domain'")
            }
            InputErrorKind::InvalidContentType => f.write_str("content type is not 'type/subtype'"),
            InputErrorKind::TooManyRecipients { max } => write!(f, "more than {max} recipients"),
            InputErrorKind::NoRecipients => f.write_str("no recipients"),
            InputErrorKind::InvalidHeaderName => f.write_str(
                "header field name is not 1 to 76 printable ASCII characters without ':'",
            ),
            InputErrorKind::ReservedHeader => {
                f.write_str("the message writer writes this header field itself")
            }
            InputErrorKind::InvalidMessageId => {
                f.write_str("message identifier is not 'id-left@id-right'")
            }
            InputErrorKind::MissingDate => f.write_str(
                "the message has no Date (set one, or say the server adds it with without_date)",
            ),
            InputErrorKind::AttachmentSpent => f.write_str(
                "read by an earlier send and cannot be read again (use a rewindable source)",
            ),
        }
    }
}

impl core::error::Error for InputError {}

impl core::error::Error for InputErrorKind {}

impl<E> From<InputError> for Error<E> {
    fn from(e: InputError) -> Self {
        Error::Input(e)
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
