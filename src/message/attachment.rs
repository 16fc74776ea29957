//! An [`Attachment`]: one file of a `multipart/mixed` message (or an inline part),
//! its name and content type validated when made, its bytes streamed from a reader
//! that may be able to start again.

use super::fields::MsgId;
use super::header;
use super::reader::Bytes;
use super::writer;
use crate::error::{Field, InputError};

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
///
/// [`InputErrorKind::AttachmentSpent`]: crate::error::InputErrorKind::AttachmentSpent
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
    ///   such as `;`, or a non-ASCII character;
    /// - without feature `encoded-words`, [`InputErrorKind::NeedsEncodedWords`] for a
    ///   file name that is not printable ASCII, holds `"`, `\` or `=?`, or is longer
    ///   than [`MAX_PLAIN_FILENAME`](super::MAX_PLAIN_FILENAME) (with the feature such a
    ///   name is written in RFC 2231 notation).
    ///
    /// The reader is read once: a message with this attachment cannot be sent a
    /// second time ([`InputErrorKind::AttachmentSpent`]); see [`Attachment::rewindable`].
    ///
    /// [`InputErrorKind::LineBreak`]: crate::error::InputErrorKind::LineBreak
    /// [`InputErrorKind::Nul`]: crate::error::InputErrorKind::Nul
    /// [`InputErrorKind::Control`]: crate::error::InputErrorKind::Control
    /// [`InputErrorKind::Empty`]: crate::error::InputErrorKind::Empty
    /// [`InputErrorKind::TooLong`]: crate::error::InputErrorKind::TooLong
    /// [`InputErrorKind::InvalidContentType`]: crate::error::InputErrorKind::InvalidContentType
    /// [`InputErrorKind::AttachmentSpent`]: crate::error::InputErrorKind::AttachmentSpent
    /// [`InputErrorKind::NeedsEncodedWords`]: crate::error::InputErrorKind::NeedsEncodedWords
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
