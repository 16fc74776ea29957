//! The attachment readers this module provides: [`Bytes`], bytes in memory that can
//! start again, and [`AnyReader`], which lets attachments read from sources of
//! different types share one message.

/// Bytes in memory as an attachment's source that can start again: a message with
/// it can be sent again ([`Attachment::from_bytes`]).
///
/// [`Attachment::from_bytes`]: super::Attachment::from_bytes
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
///
/// [`Attachment::rewindable`]: super::Attachment::rewindable
/// [`Attachment::new`]: super::Attachment::new
/// [`InputErrorKind::AttachmentSpent`]: crate::error::InputErrorKind::AttachmentSpent
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
