//! The message builder: [`Message`] and its [`Attachment`]s (with [`Bytes`], an
//! in-memory source that can start again), validated when built.

use super::fields::{self, AutoSubmitted, Extras, Header, Importance, MsgId};
use super::header;
use super::writer::{self, MessageWriter};
use super::{DateTime, TextEncoding};
use crate::address::{Address, HeaderText, Mailbox};
use crate::error::{Field, InputError, InputErrorKind};

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
/// message again then fails with [`InputErrorKind::AttachmentSpent`] before `MAIL`,
/// never with a shorter message.
pub struct Attachment<'a, R> {
    pub(super) filename: &'a str,
    pub(super) content_type: &'a str,
    pub(super) reader: R,
    /// Bytes were read from `reader` since it was last at its start.
    pub(super) started: bool,
    /// Puts `reader` back at its first byte (`false`: it could not).
    pub(super) rewind: Option<fn(&mut R) -> bool>,
    /// An inline part's `Content-ID`.
    pub(super) content_id: Option<MsgId<'a>>,
    /// The body renderer for inline parts, set by [`inline`](Self::inline) only.
    pub(super) rich: Option<writer::RichFn<R>>,
}

impl<R> core::fmt::Debug for Attachment<'_, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("started", &self.started)
            .field("rewindable", &self.rewind.is_some())
            .field("content_id", &self.content_id)
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

/// Reading through a trait object, whatever the reader's error type.
trait ReadDyn {
    fn read_dyn(&mut self, buf: &mut [u8]) -> Result<usize, embedded_io::ErrorKind>;
}

impl<T: embedded_io::Read> ReadDyn for T {
    fn read_dyn(&mut self, buf: &mut [u8]) -> Result<usize, embedded_io::ErrorKind> {
        self.read(buf).map_err(|e| embedded_io::Error::kind(&e))
    }
}

/// [`ReadDyn`] that can also seek.
trait SeekDyn: ReadDyn {
    fn seek_dyn(&mut self, pos: embedded_io::SeekFrom) -> Result<u64, embedded_io::ErrorKind>;
}

impl<T: embedded_io::Read + embedded_io::Seek> SeekDyn for T {
    fn seek_dyn(&mut self, pos: embedded_io::SeekFrom) -> Result<u64, embedded_io::ErrorKind> {
        self.seek(pos).map_err(|e| embedded_io::Error::kind(&e))
    }
}

enum Inner<'r> {
    Bytes(Bytes<'r>),
    Once(&'r mut dyn ReadDyn),
    Seek(&'r mut dyn SeekDyn),
}

/// A reader of any type, so that attachments read from different sources (bytes
/// in memory, a file, a sensor log, a flash partition) can share one message,
/// whose attachments all have one reader type. It borrows the reader (a trait
/// object; nothing is allocated) and reports its errors as
/// [`embedded_io::ErrorKind`].
///
/// Make every attachment with [`Attachment::rewindable`]: a reader made with
/// [`seekable`](Self::seekable) or [`bytes`](Self::bytes) starts again when the
/// message is sent again; one made with [`once`](Self::once) cannot seek, so sending
/// again fails with [`InputErrorKind::AttachmentSpent`] as for [`Attachment::new`].
pub struct AnyReader<'r>(Inner<'r>);

impl core::fmt::Debug for AnyReader<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self.0 {
            Inner::Bytes(_) => "AnyReader::bytes",
            Inner::Once(_) => "AnyReader::once",
            Inner::Seek(_) => "AnyReader::seekable",
        })
    }
}

impl<'r> AnyReader<'r> {
    /// Bytes in memory.
    pub fn bytes(data: &'r [u8]) -> Self {
        AnyReader(Inner::Bytes(Bytes::new(data)))
    }

    /// A reader that is read once.
    pub fn once<R: embedded_io::Read>(reader: &'r mut R) -> Self {
        AnyReader(Inner::Once(reader))
    }

    /// A reader that can seek back to its start.
    pub fn seekable<R: embedded_io::Read + embedded_io::Seek>(reader: &'r mut R) -> Self {
        AnyReader(Inner::Seek(reader))
    }
}

impl embedded_io::ErrorType for AnyReader<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for AnyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        match &mut self.0 {
            Inner::Bytes(b) => b.read_dyn(buf),
            Inner::Once(r) => r.read_dyn(buf),
            Inner::Seek(r) => r.read_dyn(buf),
        }
    }
}

impl embedded_io::Seek for AnyReader<'_> {
    fn seek(&mut self, pos: embedded_io::SeekFrom) -> Result<u64, Self::Error> {
        match &mut self.0 {
            Inner::Bytes(b) => b.seek_dyn(pos),
            Inner::Once(_) => Err(embedded_io::ErrorKind::Unsupported),
            Inner::Seek(r) => r.seek_dyn(pos),
        }
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
    /// An [`InputError`] naming [`Field::FileName`] or [`Field::ContentType`], of kind
    /// - [`InputErrorKind::LineBreak`], [`InputErrorKind::Nul`] or [`InputErrorKind::Control`] for
    ///   a control character in either string;
    /// - [`InputErrorKind::Empty`] for an empty file name, or a content type with an empty
    ///   type or subtype;
    /// - [`InputErrorKind::TooLong`] for a file name over [`MAX_FILENAME`](super::MAX_FILENAME) or a content
    ///   type over [`MAX_CONTENT_TYPE`](super::MAX_CONTENT_TYPE) octets;
    /// - [`InputErrorKind::InvalidContentType`] for a content type that is not
    ///   `token/token` (RFC 2045 §5.1): no `/`, more than one, a space, a `tspecial`
    ///   such as `;`, or a non-ASCII character.
    ///
    /// The reader is read once: a message with this attachment cannot be sent a
    /// second time ([`InputErrorKind::AttachmentSpent`]); see [`Attachment::rewindable`].
    pub fn new(filename: &'a str, content_type: &'a str, reader: R) -> Result<Self, InputError> {
        header::check_filename(filename).map_err(|k| InputError::new(Field::FileName, k))?;
        header::check_content_type(content_type)
            .map_err(|k| InputError::new(Field::ContentType, k))?;
        Ok(Attachment {
            filename,
            content_type,
            reader,
            started: false,
            rewind: None,
            content_id: None,
            rich: None,
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

    /// Makes this an inline part (an image the HTML body shows) with
    /// `Content-ID: <content_id>` and `Content-Disposition: inline`: the HTML
    /// refers to it as `cid:` followed by [`MsgId::as_str`], e.g.
    /// `<img src="cid:chart@panel.example">`.
    ///
    /// Inline parts go, with the text (and the HTML), into a `multipart/related`
    /// part (RFC 2387); the other attachments follow it in `multipart/mixed`.
    pub fn inline(self, content_id: MsgId<'a>) -> Self {
        Attachment {
            content_id: Some(content_id),
            rich: Some(writer::render_rich::<R>),
            ..self
        }
    }

    /// The `Content-ID` of an inline part ([`inline`](Self::inline)).
    pub fn content_id(&self) -> Option<MsgId<'a>> {
        self.content_id
    }
}

/// A message to write, built from validated parts so that writing it cannot fail on
/// content.
///
/// `R` is the attachments' reader type; it defaults to `&[u8]`, which also serves
/// messages without attachments.
#[derive(Debug)]
pub struct Message<'a, R = &'a [u8]> {
    pub(super) from: Mailbox<'a>,
    pub(super) subject: HeaderText<'a>,
    pub(super) to: &'a [Mailbox<'a>],
    pub(super) cc: &'a [Mailbox<'a>],
    pub(super) bcc: &'a [Mailbox<'a>],
    pub(super) date: Option<DateTime>,
    pub(super) id: Option<[u8; 16]>,
    pub(super) text: &'a str,
    pub(super) encoding: TextEncoding,
    pub(super) attachments: &'a mut [Attachment<'a, R>],
    /// The message has no `Date` on purpose (the submission server adds it).
    pub(super) no_date: bool,
    /// The optional header fields and their renderer, set only when one is added.
    pub(super) extras: Extras<'a>,
    pub(super) extras_fn: Option<fields::RenderFn>,
    /// The HTML alternative of the text.
    pub(super) html: Option<&'a str>,
    pub(super) html_encoding: TextEncoding,
    /// The body renderer for HTML and inline parts, set only when there are some.
    pub(super) rich: Option<writer::RichFn<R>>,
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
            no_date: false,
            extras: Extras {
                reply_to: &[],
                in_reply_to: None,
                references: &[],
                auto: None,
                importance: None,
                headers: &[],
            },
            extras_fn: None,
            html: None,
            html_encoding: TextEncoding::Auto,
            rich: None,
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
    /// RFC 5322 §3.6 requires one. A message with neither a date nor
    /// [`without_date`](Self::without_date) is refused before `MAIL`
    /// ([`InputErrorKind::MissingDate`]).
    pub fn date(self, date: DateTime) -> Self {
        Message {
            date: Some(date),
            ..self
        }
    }

    /// Sends the message without a `Date` field, on purpose: the submission server
    /// adds its own (RFC 6409 §8.3), which is the right choice for a device with no
    /// trustworthy clock.
    pub fn without_date(self) -> Self {
        Message {
            no_date: true,
            ..self
        }
    }

    /// Fills `Date` from the system clock (in UTC: `std` does not know the local
    /// time zone) and `Message-ID` from the operating system's random number
    /// generator: a message complete in one call (feature `std`).
    ///
    /// # Errors
    /// The RNG's failure, as an I/O error (the message is dropped; make it again).
    #[cfg(feature = "std")]
    pub fn stamp(self) -> std::io::Result<Self> {
        let mut random = [0u8; 16];
        getrandom::getrandom(&mut random)?;
        let unix_seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(self
            .date(DateTime {
                unix_seconds,
                offset_minutes: 0,
            })
            .message_id(random))
    }

    fn with_extras(self, extras: Extras<'a>) -> Self {
        Message {
            extras,
            extras_fn: Some(fields::render),
            ..self
        }
    }

    /// Sets `Reply-To` (RFC 5322 §3.6.2): where answers should go.
    pub fn reply_to(self, reply_to: &'a [Mailbox<'a>]) -> Self {
        let extras = Extras {
            reply_to,
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Sets `In-Reply-To: <id>` (RFC 5322 §3.6.4): the message this one answers.
    pub fn in_reply_to(self, id: MsgId<'a>) -> Self {
        let extras = Extras {
            in_reply_to: Some(id),
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Sets `References` (RFC 5322 §3.6.4): the identifiers of the thread, oldest
    /// first, folded at 78 characters.
    pub fn references(self, ids: &'a [MsgId<'a>]) -> Self {
        let extras = Extras {
            references: ids,
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Threads the message under `root`: `In-Reply-To: <root>` and
    /// `References: <root>`. Give every alert of one device the same root (say
    /// `panel-7.alerts@panel.example`) and mail readers show them as one
    /// conversation, even though no message with that identifier was ever sent.
    pub fn thread(self, root: &'a MsgId<'a>) -> Self {
        let extras = Extras {
            in_reply_to: Some(*root),
            references: core::slice::from_ref(root),
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Sets `Auto-Submitted` (RFC 3834 §5), e.g.
    /// [`AutoSubmitted::AutoGenerated`] for alerts, so that auto-responders do not
    /// answer them.
    pub fn auto_submitted(self, value: AutoSubmitted) -> Self {
        let extras = Extras {
            auto: Some(value),
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Sets `Importance` and `X-Priority`.
    pub fn importance(self, importance: Importance) -> Self {
        let extras = Extras {
            importance: Some(importance),
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Adds the caller's own header fields, written after the others in the order
    /// given.
    pub fn headers(self, headers: &'a [Header<'a>]) -> Self {
        let extras = Extras {
            headers,
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Adds an HTML alternative of the text: the body becomes
    /// `multipart/alternative` (RFC 2046 §5.1.4) with the text first and
    /// `text/html; charset=utf-8` second, encoded as
    /// [`html_encoding`](Self::html_encoding) says. Inline images it shows are
    /// attachments made [`inline`](Attachment::inline).
    pub fn html(self, html: &'a str) -> Self {
        Message {
            html: Some(html),
            rich: Some(writer::render_rich::<R>),
            ..self
        }
    }

    /// Chooses the HTML body's transfer encoding (default: [`TextEncoding::Auto`]).
    pub fn html_encoding(self, enc: TextEncoding) -> Self {
        Message {
            html_encoding: enc,
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

    /// Sets the attachments; when there is at least one that is not
    /// [`inline`](Attachment::inline) the message becomes `multipart/mixed` with the
    /// text (or its alternatives, or the related inline parts) as its first part.
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
            // Only a message with HTML or an inline part names the renderer for them.
            rich: match self.rich {
                Some(_) => Some(writer::render_rich::<S>),
                None => attachments.iter().find_map(|a| a.rich),
            },
            attachments,
            no_date: self.no_date,
            extras: self.extras,
            extras_fn: self.extras_fn,
            html: self.html,
            html_encoding: self.html_encoding,
        }
    }

    /// Checks that the message is complete and makes it ready to be written again:
    /// every attachment that was read is put back at its first byte. The clients
    /// call it before `MAIL`.
    ///
    /// # Errors
    /// - [`InputErrorKind::MissingDate`] when the message has neither a
    ///   [`date`](Self::date) nor [`without_date`](Self::without_date);
    /// - [`InputErrorKind::AttachmentSpent`] when an attachment was read and its reader
    ///   cannot start again (made with [`Attachment::new`]): sending would send a
    ///   shorter message.
    pub fn rewind(&mut self) -> Result<(), InputError> {
        if self.date.is_none() && !self.no_date {
            return Err(InputError::new(Field::Date, InputErrorKind::MissingDate));
        }
        for (index, att) in self.attachments.iter_mut().enumerate() {
            if att.started {
                match att.rewind {
                    Some(rewind) if rewind(&mut att.reader) => att.started = false,
                    _ => {
                        let n = u16::try_from(index + 1).unwrap_or(u16::MAX);
                        let kind = InputErrorKind::AttachmentSpent;
                        return Err(InputError::new(Field::Attachment(n), kind));
                    }
                }
            }
        }
        Ok(())
    }

    /// A writer that streams the whole message. It borrows the message mutably because
    /// attachment readers are read; call [`rewind`](Self::rewind) before writing a
    /// message a second time.
    pub fn writer(&mut self) -> MessageWriter<'_, 'a, R> {
        MessageWriter::new(self)
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
