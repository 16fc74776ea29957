//! The message: what is sent after `DATA`, streamed without ever being held whole.
//!
//! - [`BodySource`] is what the engine pulls the message from. [`RawMessage`] sends
//!   bytes the caller formatted; [`Message`] builds an RFC 5322 / MIME message from
//!   validated parts and its [`MessageWriter`] renders it piece by piece.
//! - [`DotStuffer`] turns the pulled bytes into `DATA` content: CRLF line breaks and
//!   dot-stuffing (RFC 5321 §4.5.2). The engine applies it; sources need not.
//!
//! What the writer produces:
//!
//! - Header fields in this order: `Date` (only when given), `From`, `To`, `Cc`,
//!   `Subject`, `Message-ID` (only when given), `MIME-Version: 1.0`, then the content
//!   fields. `Bcc` recipients are never written; they only take part in the envelope.
//! - Display names and subjects that are not plain ASCII become RFC 2047 `B` encoded
//!   words of whole UTF-8 characters, so the header is 7-bit unless an address itself
//!   is non-ASCII (see [`Message::needs_smtputf8`]). Lines are folded to stay within
//!   78 characters wherever the text allows, and never pass 998 (RFC 5322 §2.1.1).
//! - The text body as `text/plain; charset=utf-8` in 7bit, quoted-printable or
//!   base64 ([`TextEncoding`]); with attachments, a `multipart/mixed` body with the text
//!   part first and one base64 part per [`Attachment`], read from an
//!   [`embedded_io::Read`] 57 bytes (one 76-column line) at a time.
//! - Every line ends in CRLF.
//!
//! ```
//! use embedded_smtp::message::{BodySource, DateTime, Message};
//! use embedded_smtp::{Address, HeaderText, Mailbox};
//!
//! let from = Mailbox::parse("Alarm Panel <panel@example.com>").unwrap();
//! let to = [Mailbox::new(Address::try_new("ops@example.com").unwrap())];
//! let mut msg = Message::new(from, HeaderText::try_new("Door opened").unwrap())
//!     .to(&to)
//!     .date(DateTime { unix_seconds: 1_795_850_183, offset_minutes: 480 })
//!     .text("Front door opened at 15:16.\n");
//! let mut out = [0u8; 512];
//! let mut w = msg.writer();
//! let mut n = 0;
//! loop {
//!     let k = w.fill(&mut out[n..]).unwrap();
//!     if k == 0 { break; }
//!     n += k;
//! }
//! assert_eq!(
//!     core::str::from_utf8(&out[..n]).unwrap(),
//!     "Date: Sat, 28 Nov 2026 15:16:23 +0800\r\n\
//!      From: Alarm Panel <panel@example.com>\r\n\
//!      To: ops@example.com\r\n\
//!      Subject: Door opened\r\n\
//!      MIME-Version: 1.0\r\n\
//!      Content-Type: text/plain; charset=utf-8\r\n\
//!      Content-Transfer-Encoding: 7bit\r\n\
//!      \r\n\
//!      Front door opened at 15:16.\r\n"
//! );
//! ```

mod base64;
pub mod dot;
mod header;
mod qp;

pub use dot::DotStuffer;
pub use header::{MAX_CONTENT_TYPE, MAX_FILENAME};

use crate::address::{Address, HeaderText, Mailbox};
use crate::error::InputError;
use crate::limits::MAX_MESSAGE_LINE;

/// A source of message bytes pulled by the engine during `DATA`.
///
/// The output is the message as RFC 5322 text. The engine runs it through a
/// [`DotStuffer`] itself, so a source need not stuff dots, and may use bare LF line
/// breaks: they are normalised to CRLF.
pub trait BodySource {
    /// Writes the next bytes of the message into `out` (which the caller makes at
    /// least one byte long) and returns how many.
    ///
    /// `Ok(0)` means the message is complete, and every later call returns `Ok(0)`.
    /// (An empty `out` is a caller error: the sources here then return `Ok(0)` too,
    /// without making progress.)
    ///
    /// # Errors
    /// The kind of the error of whatever the source reads from (e.g. an attachment's
    /// reader). A source should return the bytes it produced before the error in the
    /// same call first, as `Ok(n)`, and the error with the next call, as
    /// [`MessageWriter`] does.
    fn fill(&mut self, out: &mut [u8]) -> Result<usize, embedded_io::ErrorKind>;
}

impl<T: BodySource + ?Sized> BodySource for &mut T {
    fn fill(&mut self, out: &mut [u8]) -> Result<usize, embedded_io::ErrorKind> {
        (**self).fill(out)
    }
}

/// A message the caller already formatted: header fields, a blank line, the body.
///
/// It is sent as is, after CRLF normalisation and dot-stuffing by the engine. Nothing
/// is checked: the caller answers for header syntax, line lengths and for not putting
/// untrusted text into header fields.
#[derive(Debug, Clone)]
pub struct RawMessage<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> RawMessage<'a> {
    /// Wraps the formatted message.
    pub fn new(bytes: &'a [u8]) -> Self {
        RawMessage { bytes, pos: 0 }
    }

    /// Starts again from the first byte, so the same message can be sent again
    /// (the clients' `send_raw` does this before `MAIL`).
    pub fn rewind(&mut self) {
        self.pos = 0;
    }

    /// Whether any byte is 0x80 or above; such a message needs `8BITMIME` (RFC 6152)
    /// or `SMTPUTF8` (RFC 6531) from the server.
    pub fn is_8bit(&self) -> bool {
        !self.bytes.is_ascii()
    }
}

impl BodySource for RawMessage<'_> {
    fn fill(&mut self, out: &mut [u8]) -> Result<usize, embedded_io::ErrorKind> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(out.len());
        if let (Some(to), Some(from)) = (out.get_mut(..n), rest.get(..n)) {
            crate::bytes::copy(to, from);
        }
        self.pos += n;
        Ok(n)
    }
}

/// An RFC 5322 §3.3 date-time: seconds since the Unix epoch (UTC) and the local offset
/// from UTC in minutes (e.g. +480 for China, -300 for New York in winter).
///
/// It is rendered as the local time, e.g. `Sat, 28 Nov 2026 15:16:23 +0800`. Offsets
/// beyond ±99:59 (which the 4-digit zone cannot express) are clamped to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_seconds: u64,
    /// Offset of the local time from UTC, in minutes.
    pub offset_minutes: i16,
}

/// How the text body is encoded (`Content-Transfer-Encoding`, RFC 2045 §6). The text
/// is always sent as `text/plain; charset=utf-8`.
///
/// In every encoding the text's line breaks (CR LF, bare LF or bare CR) become CRLF
/// line breaks (for base64, in the canonical text before encoding, RFC 2045 §6.8). A
/// 7bit or quoted-printable body ends with a line break even if the text does not;
/// bare CR counts as a line break, so it does not by itself rule out 7bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TextEncoding {
    /// `7bit` when the text is 7-bit safe (ASCII, no NUL, no line over 998 octets, and,
    /// in a multipart message, nothing like a boundary); otherwise quoted-printable
    /// when at most a third of its bytes are non-ASCII, else base64.
    #[default]
    Auto,
    /// `7bit`. Text that is not 7-bit safe (see [`Auto`](Self::Auto)) falls back to
    /// quoted-printable, which is 7-bit safe for any text.
    SevenBit,
    /// `quoted-printable` (RFC 2045 §6.7), soft-wrapped at 76 characters.
    QuotedPrintable,
    /// `base64` (RFC 2045 §6.8) at 76 characters a line.
    Base64,
}

/// An attachment streamed from a reader and sent base64-encoded at 76 columns, as a
/// part of a `multipart/mixed` message.
///
/// The part has `Content-Type: <content_type>` and
/// `Content-Disposition: attachment; filename="<filename>"`. A file name that is not
/// printable ASCII without `"`, `\` and `=?`, or that is too long for one line, is
/// written in RFC 2231 extended notation instead (`filename*=UTF-8''%E6%8A%A5.csv`,
/// split into numbered sections when long), which current mail readers decode.
///
/// **Sending again.** A message can be sent again (a retry after a lost
/// connection) only with the same bytes: an attachment already read is read again
/// from its first byte, which [`Attachment::rewindable`] (any
/// `embedded_io::Read + Seek`) and [`Attachment::from_bytes`] (bytes in memory)
/// can do. One made with [`Attachment::new`] reads a plain reader once: sending the
/// message again then fails with [`InputError::AttachmentSpent`] before `MAIL`,
/// never with a shorter message.
pub struct Attachment<'a, R> {
    filename: &'a str,
    content_type: &'a str,
    reader: R,
    /// Bytes were read from `reader` since it was last at its start.
    started: bool,
    /// Puts `reader` back at its first byte (`false`: it could not).
    rewind: Option<fn(&mut R) -> bool>,
}

impl<R> core::fmt::Debug for Attachment<'_, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("started", &self.started)
            .field("rewindable", &self.rewind.is_some())
            .finish()
    }
}

/// Bytes in memory as an attachment's source that can start again: a message with
/// it can be sent again ([`Attachment::from_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    /// A source reading `data` from its start.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, at: 0 }
    }
}

impl embedded_io::ErrorType for Bytes<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Bytes<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let rest = self.data.get(self.at..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), rest.get(..n)) {
            d.copy_from_slice(s);
        }
        self.at += n;
        Ok(n)
    }
}

impl embedded_io::Seek for Bytes<'_> {
    fn seek(&mut self, pos: embedded_io::SeekFrom) -> Result<u64, Self::Error> {
        let len = self.data.len() as i64;
        let to = match pos {
            embedded_io::SeekFrom::Start(n) => n.min(len as u64) as i64,
            embedded_io::SeekFrom::End(d) => len.saturating_add(d),
            embedded_io::SeekFrom::Current(d) => (self.at as i64).saturating_add(d),
        };
        self.at = to.clamp(0, len) as usize;
        Ok(self.at as u64)
    }
}

/// Seeks `r` to its first byte.
fn seek_start<R: embedded_io::Seek>(r: &mut R) -> bool {
    matches!(r.seek(embedded_io::SeekFrom::Start(0)), Ok(0))
}

impl<'a, R: embedded_io::Read> Attachment<'a, R> {
    /// An attachment named `filename`, of MIME type `content_type` (`type/subtype`,
    /// e.g. `application/octet-stream` or `text/csv`, without parameters), whose bytes
    /// are read from `reader` until it reports end of file.
    ///
    /// # Errors
    /// - [`InputError::LineBreak`], [`InputError::Nul`] or [`InputError::Control`] for
    ///   a control character in either string;
    /// - [`InputError::Empty`] for an empty file name, or a content type with an empty
    ///   type or subtype;
    /// - [`InputError::TooLong`] for a file name over [`MAX_FILENAME`] or a content
    ///   type over [`MAX_CONTENT_TYPE`] octets;
    /// - [`InputError::InvalidContentType`] for a content type that is not
    ///   `token/token` (RFC 2045 §5.1): no `/`, more than one, a space, a `tspecial`
    ///   such as `;`, or a non-ASCII character.
    ///
    /// The reader is read once: a message with this attachment cannot be sent a
    /// second time ([`InputError::AttachmentSpent`]); see [`Attachment::rewindable`].
    pub fn new(filename: &'a str, content_type: &'a str, reader: R) -> Result<Self, InputError> {
        header::check_filename(filename)?;
        header::check_content_type(content_type)?;
        Ok(Attachment {
            filename,
            content_type,
            reader,
            started: false,
            rewind: None,
        })
    }
}

impl<'a, R: embedded_io::Read + embedded_io::Seek> Attachment<'a, R> {
    /// An attachment whose reader can seek: each time the message is sent, the
    /// reader starts again from its first byte (`SeekFrom::Start(0)`), so a message
    /// sent again (after a lost connection) carries the same bytes.
    ///
    /// # Errors
    /// As [`Attachment::new`].
    pub fn rewindable(
        filename: &'a str,
        content_type: &'a str,
        reader: R,
    ) -> Result<Self, InputError> {
        let mut a = Attachment::new(filename, content_type, reader)?;
        a.rewind = Some(seek_start::<R>);
        Ok(a)
    }
}

impl<'a> Attachment<'a, Bytes<'a>> {
    /// An attachment of bytes in memory, which can be sent any number of times.
    ///
    /// # Errors
    /// As [`Attachment::new`].
    pub fn from_bytes(
        filename: &'a str,
        content_type: &'a str,
        data: &'a [u8],
    ) -> Result<Self, InputError> {
        Attachment::rewindable(filename, content_type, Bytes::new(data))
    }
}

impl<'a, R> Attachment<'a, R> {
    /// The file name.
    pub fn filename(&self) -> &'a str {
        self.filename
    }

    /// The content type.
    pub fn content_type(&self) -> &'a str {
        self.content_type
    }
}

/// A message to write, built from validated parts so that writing it cannot fail on
/// content.
///
/// `R` is the attachments' reader type; it defaults to `&[u8]`, which also serves
/// messages without attachments.
#[derive(Debug)]
pub struct Message<'a, R = &'a [u8]> {
    from: Mailbox<'a>,
    subject: HeaderText<'a>,
    to: &'a [Mailbox<'a>],
    cc: &'a [Mailbox<'a>],
    bcc: &'a [Mailbox<'a>],
    date: Option<DateTime>,
    id: Option<[u8; 16]>,
    text: &'a str,
    encoding: TextEncoding,
    attachments: &'a mut [Attachment<'a, R>],
}

impl<'a> Message<'a> {
    /// A message from `from` with subject `subject`, no recipients, an empty text and
    /// no attachments.
    ///
    /// `From` is required by RFC 5322 §3.6 and by providers that check it against the
    /// authenticated sender (e.g. QQ Mail's `550 The "From" header is missing or
    /// invalid`).
    pub fn new(from: Mailbox<'a>, subject: HeaderText<'a>) -> Self {
        Message {
            from,
            subject,
            to: &[],
            cc: &[],
            bcc: &[],
            date: None,
            id: None,
            text: "",
            encoding: TextEncoding::Auto,
            attachments: &mut [],
        }
    }
}

impl<'a, R: embedded_io::Read> Message<'a, R> {
    /// Sets the `To` recipients (also envelope recipients).
    pub fn to(self, to: &'a [Mailbox<'a>]) -> Self {
        Message { to, ..self }
    }

    /// Sets the `Cc` recipients (also envelope recipients).
    pub fn cc(self, cc: &'a [Mailbox<'a>]) -> Self {
        Message { cc, ..self }
    }

    /// Sets the blind-copy recipients. They are never written into the header; they
    /// are only envelope recipients ([`recipients`](Self::recipients)).
    pub fn bcc(self, bcc: &'a [Mailbox<'a>]) -> Self {
        Message { bcc, ..self }
    }

    /// Adds a `Date` field.
    ///
    /// RFC 5322 §3.6 requires one; without it the header has none and the submission
    /// server adds its own (RFC 6409 §8.3), which is the right choice for a device with
    /// no trustworthy clock.
    pub fn date(self, date: DateTime) -> Self {
        Message {
            date: Some(date),
            ..self
        }
    }

    /// Adds `Message-ID: <32 lowercase hex digits of random@domain of From>`; `random`
    /// should come from the caller's RNG. Without it there is no `Message-ID` (servers
    /// usually add one).
    ///
    /// With attachments, the MIME boundary is also derived from these bytes.
    pub fn message_id(self, random: [u8; 16]) -> Self {
        Message {
            id: Some(random),
            ..self
        }
    }

    /// Sets the text body (default: empty).
    pub fn text(self, body: &'a str) -> Self {
        Message { text: body, ..self }
    }

    /// Chooses the text body's transfer encoding (default: [`TextEncoding::Auto`]).
    pub fn text_encoding(self, enc: TextEncoding) -> Self {
        Message {
            encoding: enc,
            ..self
        }
    }

    /// Sets the attachments; when there is at least one the message becomes
    /// `multipart/mixed` with the text as its first part.
    ///
    /// The attachments' reader type becomes the message's `R`. Each send reads
    /// them; to send the message again they must be able to start again (see
    /// [`Attachment`], "Sending again").
    pub fn attachments<S: embedded_io::Read>(
        self,
        attachments: &'a mut [Attachment<'a, S>],
    ) -> Message<'a, S> {
        Message {
            from: self.from,
            subject: self.subject,
            to: self.to,
            cc: self.cc,
            bcc: self.bcc,
            date: self.date,
            id: self.id,
            text: self.text,
            encoding: self.encoding,
            attachments,
        }
    }

    /// Makes the message ready to be written again: every attachment that was read
    /// is put back at its first byte. The clients call it before `MAIL`.
    ///
    /// # Errors
    /// [`InputError::AttachmentSpent`] when an attachment was read and its reader
    /// cannot start again (made with [`Attachment::new`]): sending would send a
    /// shorter message.
    pub fn rewind(&mut self) -> Result<(), InputError> {
        for (index, att) in self.attachments.iter_mut().enumerate() {
            if att.started {
                match att.rewind {
                    Some(rewind) if rewind(&mut att.reader) => att.started = false,
                    _ => return Err(InputError::AttachmentSpent { index }),
                }
            }
        }
        Ok(())
    }

    /// A writer that streams the whole message. It borrows the message mutably because
    /// attachment readers are read; call [`rewind`](Self::rewind) before writing a
    /// message a second time.
    pub fn writer(&mut self) -> MessageWriter<'_, 'a, R> {
        let multipart = !self.attachments.is_empty();
        let cte = resolve(self.text.as_bytes(), self.encoding, multipart);
        let subject_plain = header::subject_is_plain(self.subject.as_str());
        let step = if self.date.is_some() {
            Step::Date
        } else {
            Step::List {
                field: Field::From,
                i: 0,
                col: 0,
            }
        };
        MessageWriter {
            msg: self,
            step,
            skip: 0,
            cte,
            subject_plain,
            chunk: [0; base64::LINE_INPUT],
            chunk_len: 0,
            loaded: false,
            eof: false,
        }
    }
}

impl<'a, R> Message<'a, R> {
    /// The `From` mailbox (also the usual envelope sender).
    pub fn from_mailbox(&self) -> &Mailbox<'a> {
        &self.from
    }

    /// Every envelope recipient, in the order To, Cc, Bcc (addresses only).
    pub fn recipients(&self) -> impl Iterator<Item = Address<'a>> + '_ {
        self.to
            .iter()
            .chain(self.cc)
            .chain(self.bcc)
            .map(|m| m.address())
    }

    /// Whether the written message needs `SMTPUTF8` (RFC 6531): only when an address
    /// in `From`, `To` or `Cc` is non-ASCII. Display names and the subject never need
    /// it (they become RFC 2047 encoded words) and the body is always 7-bit.
    ///
    /// Bcc addresses are not written, so they are not counted here; a non-ASCII
    /// envelope address needs `SMTPUTF8` on its own ([`Address::is_ascii`]).
    pub fn needs_smtputf8(&self) -> bool {
        core::iter::once(&self.from)
            .chain(self.to)
            .chain(self.cc)
            .any(|m| !m.address().is_ascii())
    }
}

/// The transfer encoding actually used for the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cte {
    SevenBit,
    QuotedPrintable,
    Base64,
}

impl Cte {
    fn name(self) -> &'static [u8] {
        match self {
            Cte::SevenBit => b"7bit",
            Cte::QuotedPrintable => b"quoted-printable",
            Cte::Base64 => b"base64",
        }
    }
}

/// Start of every boundary delimiter line: base64 and quoted-printable output never
/// holds `=_`, and 7bit text holding it is sent as quoted-printable.
const BOUNDARY_MARK: &[u8] = b"--=_";
/// The boundary when no Message-ID bytes were given.
const FIXED_BOUNDARY: &[u8] = b"=_embedded-smtp_part_boundary";

/// Whether `text` can go out as `7bit` (RFC 2045 §2.7): ASCII, no NUL, lines of at most
/// 998 octets, and in a multipart body no line that could be a boundary.
fn seven_bit_safe(text: &[u8], multipart: bool) -> bool {
    let mut line = 0;
    for &c in text {
        match c {
            0 | 0x80.. => return false,
            b'\r' | b'\n' => line = 0,
            _ => {
                line += 1;
                if line > MAX_MESSAGE_LINE {
                    return false;
                }
            }
        }
    }
    !(multipart
        && text
            .windows(BOUNDARY_MARK.len())
            .any(|w| w == BOUNDARY_MARK))
}

fn resolve(text: &[u8], enc: TextEncoding, multipart: bool) -> Cte {
    match enc {
        TextEncoding::QuotedPrintable => Cte::QuotedPrintable,
        TextEncoding::Base64 => Cte::Base64,
        _ if seven_bit_safe(text, multipart) => Cte::SevenBit,
        TextEncoding::SevenBit => Cte::QuotedPrintable,
        TextEncoding::Auto => {
            let high = text.iter().filter(|&&c| c >= 0x80).count();
            if high.saturating_mul(3) <= text.len() {
                Cte::QuotedPrintable
            } else {
                Cte::Base64
            }
        }
    }
}

/// Which address list a [`Step::List`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    To,
    Cc,
}

/// A piece of the message. Each is rendered by a pure function of the message and the
/// step, so a piece that did not fit is rendered again and its first `skip` bytes
/// dropped; no piece is longer than a few hundred bytes except header fields bounded
/// by their validated parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Date,
    /// Mailbox `i` of an address list, starting at column `col`.
    List {
        field: Field,
        i: usize,
        col: usize,
    },
    /// The `Subject` line starting at byte `pos` of the subject.
    Subject {
        pos: usize,
    },
    MessageId,
    /// `MIME-Version` and the top-level content fields, and the blank line.
    Mime,
    /// Boundary and header of the text part.
    TextHead,
    /// The text line starting at `at`.
    Text {
        at: base64::Canon,
    },
    /// Boundary and header of attachment `k`.
    AttHead {
        k: usize,
    },
    /// The next base64 line of attachment `k`; `lines` once one was written.
    AttBody {
        k: usize,
        lines: bool,
    },
    /// The close delimiter.
    Close,
    Done,
}

/// Output for one piece: drops the first `skip` bytes rendered (already sent), then
/// copies into `out` until it is full.
#[derive(Debug)]
pub(crate) struct Sink<'o> {
    out: &'o mut [u8],
    skip: usize,
    seen: usize,
    len: usize,
    overflow: bool,
}

impl<'o> Sink<'o> {
    pub(crate) fn new(out: &'o mut [u8], skip: usize) -> Self {
        Sink {
            out,
            skip,
            seen: 0,
            len: 0,
            overflow: false,
        }
    }

    pub(crate) fn put(&mut self, mut bytes: &[u8]) {
        if self.seen < self.skip {
            let d = (self.skip - self.seen).min(bytes.len());
            self.seen += d;
            bytes = bytes.get(d..).unwrap_or_default();
        }
        if bytes.is_empty() {
            return;
        }
        self.seen += bytes.len();
        let room = self.out.get_mut(self.len..).unwrap_or_default();
        let n = room.len().min(bytes.len());
        if let (Some(to), Some(from)) = (room.get_mut(..n), bytes.get(..n)) {
            crate::bytes::copy(to, from);
        }
        self.len += n;
        if n < bytes.len() {
            self.overflow = true;
        }
    }

    /// Bytes written into `out`.
    pub(crate) fn written(&self) -> usize {
        self.len
    }

    /// Whether some bytes did not fit.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflow
    }
}

/// Streams a [`Message`]: each [`fill`](BodySource::fill) writes the next bytes.
///
/// The output is the same byte for byte whatever the sizes of the buffers passed to
/// `fill`, down to one byte at a time. The writer holds a position and one attachment
/// line (57 bytes), never the message; a piece that did not fit is rendered again and
/// the part already sent is skipped.
///
/// The output is not dot-stuffed (the engine's [`DotStuffer`] does that).
#[derive(Debug)]
pub struct MessageWriter<'m, 'a, R> {
    msg: &'m mut Message<'a, R>,
    step: Step,
    /// Bytes of the current piece already written.
    skip: usize,
    cte: Cte,
    subject_plain: bool,
    /// The attachment bytes of the current line.
    chunk: [u8; base64::LINE_INPUT],
    chunk_len: usize,
    /// `chunk` holds the whole line (or the reader's last bytes).
    loaded: bool,
    /// The reader reported end of file.
    eof: bool,
}

impl<R: embedded_io::Read> MessageWriter<'_, '_, R> {
    /// Reads the next line's bytes of attachment `k` into `chunk`.
    fn load(&mut self, k: usize) -> Result<(), embedded_io::ErrorKind> {
        if let Some(att) = self.msg.attachments.get_mut(k) {
            att.started = true;
            while self.chunk_len < self.chunk.len() {
                let buf = self.chunk.get_mut(self.chunk_len..).unwrap_or_default();
                match att.reader.read(buf) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => self.chunk_len += n.min(buf.len()),
                    Err(e) => return Err(embedded_io::Error::kind(&e)),
                }
            }
        } else {
            self.eof = true;
        }
        self.loaded = true;
        Ok(())
    }
}

impl<R> MessageWriter<'_, '_, R> {
    fn boundary(&self, sink: &mut Sink<'_>) {
        match self.msg.id {
            Some(id) => {
                sink.put(b"=_");
                let mut rev = id;
                rev.reverse();
                header::put_hex(sink, &rev);
            }
            None => sink.put(FIXED_BOUNDARY),
        }
    }

    fn after_lists(&self, field: Field) -> Step {
        if field == Field::From && !self.msg.to.is_empty() {
            return Step::List {
                field: Field::To,
                i: 0,
                col: 0,
            };
        }
        if field != Field::Cc && !self.msg.cc.is_empty() {
            return Step::List {
                field: Field::Cc,
                i: 0,
                col: 0,
            };
        }
        Step::Subject { pos: 0 }
    }

    fn after_attachment(&self, k: usize) -> Step {
        if k + 1 < self.msg.attachments.len() {
            Step::AttHead { k: k + 1 }
        } else {
            Step::Close
        }
    }

    fn text_part_header(&self, sink: &mut Sink<'_>) {
        sink.put(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ");
        sink.put(self.cte.name());
        sink.put(b"\r\n\r\n");
    }

    /// Renders the current step into `sink`; returns the step that follows it.
    // Not inlined: one copy, out of the driver's frame (smaller flash and stack on
    // a Cortex-M; see README "On a microcontroller").
    #[inline(never)]
    fn render(&self, sink: &mut Sink<'_>) -> Step {
        let msg = &*self.msg;
        let multipart = !msg.attachments.is_empty();
        match self.step {
            Step::Date => {
                if let Some(d) = msg.date {
                    header::date(sink, d);
                }
                Step::List {
                    field: Field::From,
                    i: 0,
                    col: 0,
                }
            }
            Step::List { field, i, col } => {
                let (name, list) = match field {
                    Field::From => ("From", core::slice::from_ref(&msg.from)),
                    Field::To => ("To", msg.to),
                    Field::Cc => ("Cc", msg.cc),
                };
                let col = header::list_item(sink, name, list, i, col);
                if i + 1 < list.len() {
                    Step::List {
                        field,
                        i: i + 1,
                        col,
                    }
                } else {
                    self.after_lists(field)
                }
            }
            Step::Subject { pos } => {
                let text = msg.subject.as_str();
                let next = header::subject_line(sink, text, self.subject_plain, pos);
                if next < text.len() {
                    Step::Subject { pos: next }
                } else if msg.id.is_some() {
                    Step::MessageId
                } else {
                    Step::Mime
                }
            }
            Step::MessageId => {
                if let Some(id) = msg.id {
                    sink.put(b"Message-ID: <");
                    header::put_hex(sink, &id);
                    sink.put(b"@");
                    sink.put(msg.from.address().domain().as_bytes());
                    sink.put(b">\r\n");
                }
                Step::Mime
            }
            Step::Mime => {
                sink.put(b"MIME-Version: 1.0\r\n");
                if multipart {
                    sink.put(b"Content-Type: multipart/mixed; boundary=\"");
                    self.boundary(sink);
                    sink.put(b"\"\r\n\r\n");
                    Step::TextHead
                } else {
                    self.text_part_header(sink);
                    Step::Text {
                        at: base64::Canon::START,
                    }
                }
            }
            Step::TextHead => {
                sink.put(b"--");
                self.boundary(sink);
                sink.put(b"\r\n");
                self.text_part_header(sink);
                Step::Text {
                    at: base64::Canon::START,
                }
            }
            Step::Text { at } => {
                let text = msg.text.as_bytes();
                let after = if multipart {
                    Step::AttHead { k: 0 }
                } else {
                    Step::Done
                };
                if at.at_end(text) {
                    // Only for an empty text: a part body of one empty line.
                    if multipart {
                        sink.put(b"\r\n");
                    }
                    return after;
                }
                let next = match self.cte {
                    Cte::SevenBit => {
                        let rest = text.get(at.pos..).unwrap_or_default();
                        let len = rest
                            .iter()
                            .position(|&c| c == b'\r' || c == b'\n')
                            .unwrap_or(rest.len());
                        sink.put(rest.get(..len).unwrap_or_default());
                        sink.put(b"\r\n");
                        let brk = match rest.get(len..) {
                            Some([b'\r', b'\n', ..]) => 2,
                            Some([]) | None => 0,
                            Some(_) => 1,
                        };
                        base64::Canon {
                            pos: at.pos + len + brk,
                            lf: false,
                        }
                    }
                    Cte::QuotedPrintable => base64::Canon {
                        pos: qp::line(sink, text, at.pos),
                        lf: false,
                    },
                    Cte::Base64 => base64::text_line(sink, text, at),
                };
                if next.at_end(text) {
                    after
                } else {
                    Step::Text { at: next }
                }
            }
            Step::AttHead { k } => {
                if let Some(att) = msg.attachments.get(k) {
                    sink.put(b"--");
                    self.boundary(sink);
                    sink.put(b"\r\nContent-Type: ");
                    sink.put(att.content_type.as_bytes());
                    sink.put(b"\r\n");
                    header::disposition(sink, att.filename);
                    sink.put(b"Content-Transfer-Encoding: base64\r\n\r\n");
                }
                Step::AttBody { k, lines: false }
            }
            Step::AttBody { k, lines } => {
                let chunk = self.chunk.get(..self.chunk_len).unwrap_or_default();
                if !chunk.is_empty() {
                    base64::put_line(sink, chunk);
                } else if !lines {
                    // An empty attachment: a part body of one empty line.
                    sink.put(b"\r\n");
                }
                if self.eof {
                    self.after_attachment(k)
                } else {
                    Step::AttBody { k, lines: true }
                }
            }
            Step::Close => {
                sink.put(b"--");
                self.boundary(sink);
                sink.put(b"--\r\n");
                Step::Done
            }
            Step::Done => Step::Done,
        }
    }
}

impl<R: embedded_io::Read> BodySource for MessageWriter<'_, '_, R> {
    #[inline(never)]
    fn fill(&mut self, out: &mut [u8]) -> Result<usize, embedded_io::ErrorKind> {
        let mut n = 0;
        while n < out.len() && self.step != Step::Done {
            if let Step::AttBody { k, .. } = self.step
                && !self.loaded
                && let Err(kind) = self.load(k)
            {
                // Hand over what this call produced; the error comes next time.
                return if n > 0 { Ok(n) } else { Err(kind) };
            }
            let mut sink = Sink::new(out.get_mut(n..).unwrap_or_default(), self.skip);
            let next = self.render(&mut sink);
            n += sink.written();
            if sink.overflowed() {
                self.skip += sink.written();
                break;
            }
            if let Step::AttBody { .. } = self.step {
                self.chunk_len = 0;
                self.loaded = false;
                self.eof = false;
            }
            self.skip = 0;
            self.step = next;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn mb(s: &str) -> Mailbox<'_> {
        Mailbox::parse(s).unwrap()
    }

    fn subject(s: &str) -> HeaderText<'_> {
        HeaderText::try_new(s).unwrap()
    }

    fn drain(src: &mut impl BodySource, chunk: usize) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = std::vec![0u8; chunk];
        loop {
            let n = src.fill(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        assert_eq!(src.fill(&mut buf), Ok(0));
        all
    }

    #[test]
    fn raw_message() {
        let mut m = RawMessage::new(b"Subject: x\n\nhello\n");
        assert!(!m.is_8bit());
        assert_eq!(drain(&mut m, 3), b"Subject: x\n\nhello\n");
        assert!(RawMessage::new("é".as_bytes()).is_8bit());
        let mut m = RawMessage::new(b"abc");
        let mut by_ref: &mut RawMessage<'_> = &mut m;
        assert_eq!(drain(&mut by_ref, 1), b"abc");
    }

    #[test]
    fn encoding_choice() {
        let long = "x".repeat(999);
        assert_eq!(resolve(b"hi\r\n", TextEncoding::Auto, false), Cte::SevenBit);
        assert_eq!(resolve(b"", TextEncoding::Auto, true), Cte::SevenBit);
        assert_eq!(
            resolve(long.as_bytes(), TextEncoding::Auto, false),
            Cte::QuotedPrintable
        );
        assert_eq!(
            resolve(&long.as_bytes()[1..], TextEncoding::Auto, false),
            Cte::SevenBit
        );
        assert_eq!(
            resolve(b"a\0", TextEncoding::SevenBit, false),
            Cte::QuotedPrintable
        );
        assert_eq!(
            resolve("café au lait".as_bytes(), TextEncoding::Auto, false),
            Cte::QuotedPrintable
        );
        assert_eq!(
            resolve("温度".as_bytes(), TextEncoding::Auto, false),
            Cte::Base64
        );
        assert_eq!(
            resolve(b"x\n--=_y", TextEncoding::Auto, false),
            Cte::SevenBit
        );
        assert_eq!(
            resolve(b"x\n--=_y", TextEncoding::Auto, true),
            Cte::QuotedPrintable
        );
        assert_eq!(resolve(b"x", TextEncoding::Base64, false), Cte::Base64);
        assert_eq!(
            resolve(b"x", TextEncoding::QuotedPrintable, false),
            Cte::QuotedPrintable
        );
    }

    #[test]
    fn minimal_message() {
        let mut m = Message::new(mb("a@example.com"), subject(""));
        let out = drain(&mut m.writer(), 5);
        assert_eq!(
            out,
            b"From: a@example.com\r\nSubject:\r\nMIME-Version: 1.0\r\n\
              Content-Type: text/plain; charset=utf-8\r\n\
              Content-Transfer-Encoding: 7bit\r\n\r\n"
        );
    }

    #[test]
    fn seven_bit_line_breaks() {
        let mut m = Message::new(mb("a@example.com"), subject("s")).text("a\rb\nc\r\n\r\nd");
        let out = drain(&mut m.writer(), 4096);
        assert!(out.ends_with(b"\r\n\r\na\r\nb\r\nc\r\n\r\nd\r\n"));
    }

    #[test]
    fn headers_and_recipients() {
        let to = [mb("A <a@example.com>"), mb("b@example.com")];
        let cc = [mb("c@example.com")];
        let bcc = [mb("Hidden <secret@example.com>")];
        let mut m = Message::new(mb("Me <me@example.org>"), subject("Hi"))
            .to(&to)
            .cc(&cc)
            .bcc(&bcc)
            .message_id([0xab; 16]);
        let rcpts: Vec<&str> = m.recipients().map(|a| a.as_str()).collect();
        assert_eq!(
            rcpts,
            [
                "a@example.com",
                "b@example.com",
                "c@example.com",
                "secret@example.com"
            ]
        );
        assert_eq!(m.from_mailbox().address().as_str(), "me@example.org");
        assert!(!m.needs_smtputf8());
        let out = drain(&mut m.writer(), 1);
        let text = core::str::from_utf8(&out).unwrap();
        assert!(text.starts_with(
            "From: Me <me@example.org>\r\n\
             To: A <a@example.com>, b@example.com\r\n\
             Cc: c@example.com\r\n\
             Subject: Hi\r\n\
             Message-ID: <abababababababababababababababab@example.org>\r\n\
             MIME-Version: 1.0\r\n"
        ));
        assert!(!text.contains("secret"));
        assert!(!text.contains("Bcc"));
    }

    #[test]
    fn smtputf8_only_for_header_addresses() {
        let to = [mb("用户@例子.中国")];
        let m = Message::new(mb("温度 <a@example.com>"), subject("温度"));
        assert!(!m.needs_smtputf8());
        let m = m.to(&to);
        assert!(m.needs_smtputf8());
        let bcc = [mb("用户@例子.中国")];
        let m = Message::new(mb("a@example.com"), subject("x")).bcc(&bcc);
        assert!(!m.needs_smtputf8());
    }

    #[test]
    fn state_is_small() {
        // A reference, the step, the skip count and one 57-byte attachment line.
        let size = core::mem::size_of::<MessageWriter<'_, '_, &[u8]>>();
        assert!(size <= 128, "{size}");
        assert_eq!(core::mem::size_of::<DotStuffer>(), 3);
    }

    #[test]
    fn sink_skips_and_overflows() {
        let mut out = [0u8; 4];
        let mut s = Sink::new(&mut out, 3);
        s.put(b"ab");
        s.put(b"cdef");
        s.put(b"ghi");
        assert!(s.overflowed());
        assert_eq!(s.written(), 4);
        assert_eq!(&out, b"defg");
        let mut s = Sink::new(&mut [], 0);
        s.put(b"");
        assert!(!s.overflowed());
        s.put(b"x");
        assert!(s.overflowed());
    }

    /// Every output of a multipart message is the same whatever the chunk sizes.
    #[test]
    fn any_chunking_gives_the_same_bytes() {
        let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let to = [mb("Ops <ops@example.com>")];
        let subj = "温度 ".repeat(30);
        let mut reference = None;
        for chunk in [1, 2, 3, 7, 77, 78, 79, 4096] {
            let mut atts = [
                Attachment::new("a.bin", "application/octet-stream", &data[..]).unwrap(),
                Attachment::new("空.txt", "text/plain", &b""[..]).unwrap(),
            ];
            let mut m = Message::new(mb("温度计 <t@example.com>"), subject(&subj))
                .to(&to)
                .text("Line one\nline two ünïcode")
                .message_id([1; 16])
                .attachments(&mut atts);
            let out = drain(&mut m.writer(), chunk);
            match &reference {
                None => reference = Some(out),
                Some(r) => assert_eq!(&out, r, "chunk {chunk}"),
            }
        }
        let out = reference.unwrap();
        let text = core::str::from_utf8(&out).unwrap();
        assert!(text.contains("\r\n--=_01010101010101010101010101010101--\r\n"));
        assert!(text.contains("Content-Transfer-Encoding: quoted-printable\r\n"));
        // The empty attachment has a body of one empty line.
        assert!(text.contains(
            "filename*=UTF-8''%E7%A9%BA.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n\r\n--=_"
        ));
    }
}
