//! The message builder: [`Message`] and its [`Attachment`]s (with [`Bytes`], an
//! in-memory source that can start again), validated when built.

use super::header;
use super::writer::MessageWriter;
use super::{DateTime, TextEncoding};
use crate::address::{Address, HeaderText, Mailbox};
use crate::error::InputError;

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
    pub(super) filename: &'a str,
    pub(super) content_type: &'a str,
    pub(super) reader: R,
    /// Bytes were read from `reader` since it was last at its start.
    pub(super) started: bool,
    /// Puts `reader` back at its first byte (`false`: it could not).
    pub(super) rewind: Option<fn(&mut R) -> bool>,
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
    /// - [`InputError::TooLong`] for a file name over [`MAX_FILENAME`](super::MAX_FILENAME) or a content
    ///   type over [`MAX_CONTENT_TYPE`](super::MAX_CONTENT_TYPE) octets;
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
