//! What the caller gave that cannot go on the wire: [`InputError`], naming the
//! value ([`Field`]) and what was wrong with it ([`InputErrorKind`]).

use core::fmt;

use super::Error;

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
    /// Header text (a `Subject`, a display name, a header value) or a file name that
    /// can only be written encoded: non-ASCII, holding `=?`, or, for text, a word
    /// too long for one line (a file name: a `"` or `\`, or too long for one
    /// line). The encoders (RFC 2047 encoded words, RFC 2231 file names) are in
    /// feature `encoded-words`, which this build leaves out.
    NeedsEncodedWords,
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
            InputErrorKind::NeedsEncodedWords => f.write_str(
                "text that needs RFC 2047/2231 encoding, which this build leaves out (feature encoded-words)",
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
