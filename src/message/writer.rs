//! The message writer: [`MessageWriter`] streams a [`Message`] piece by piece into
//! any buffer size, holding a position and one attachment line, never the message.

use super::builder::Message;
use super::{BodySource, base64, fields, header};

mod rich;
mod text;
pub(super) use rich::render_rich;
use text::text_body;
pub(in crate::message) use text::{Cte, resolve};

/// Start of every boundary delimiter line: base64 and quoted-printable output never
/// holds `=_`, and 7bit text holding it is sent as quoted-printable (base64 without
/// feature `quoted-printable`).
const BOUNDARY_MARK: &[u8] = b"--=_";
/// The boundary when no Message-ID bytes were given (after `=_` and the level's
/// letter).
const FIXED_BOUNDARY: &[u8] = b"embedded-smtp_part_boundary";

/// A multipart level. The boundary of each starts with `=_` and a letter of its
/// own (none for `mixed`), so no boundary is the start of another (RFC 2046 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    /// `multipart/mixed`: the body and the attachments.
    Mixed,
    /// `multipart/related`: the body and its inline parts.
    Related,
    /// `multipart/alternative`: the text and the HTML.
    Alternative,
}

impl Level {
    fn letter(self) -> &'static [u8] {
        // Mixed none, Related `r`, Alternative `a`: a slice of one string.
        let l = self as usize;
        b"ra".get(l.saturating_sub(1)..l).unwrap_or_default()
    }
}

/// Which address list a [`Step::List`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    From,
    To,
    Cc,
}

/// A piece of the message. Each is rendered by a pure function of the message and the
/// step, so a piece that did not fit is rendered again and its first `skip` bytes
/// dropped; no piece is longer than a few hundred bytes except header fields bounded
/// by their validated parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
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
    /// The optional fields ([`fields::render`]).
    Extra(fields::Pos),
    /// `MIME-Version` and the top-level content fields, the blank line, and the
    /// boundary and header of the text part.
    Mime,
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
    /// Boundary and header of the HTML part.
    HtmlHead,
    /// The HTML line starting at `at`, in encoding `cte`.
    Html {
        at: base64::Canon,
        cte: Cte,
    },
    /// The close delimiter of a level.
    Close(Level),
    Done,
}

impl Step {
    /// Whether the step writes the body (MIME fields included).
    fn is_body(self) -> bool {
        !matches!(
            self,
            Step::Date
                | Step::List { .. }
                | Step::Subject { .. }
                | Step::MessageId
                | Step::Extra(_)
        )
    }
}

/// Renders a body with HTML or inline parts.
pub(super) type RichFn<R> = fn(&MessageWriter<'_, '_, R>, &mut Sink<'_>) -> Step;

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
/// The output is not dot-stuffed (the engine's [`DotStuffer`](super::DotStuffer) does that).
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

impl<'m, 'a, R: embedded_io::Read> MessageWriter<'m, 'a, R> {
    pub(super) fn new(msg: &'m mut Message<'a, R>) -> Self {
        let multipart = !msg.attachments.is_empty();
        let multipart = multipart || msg.rich.is_some();
        let cte = resolve(msg.text.as_bytes(), msg.encoding, multipart);

        let subject_plain =
            cfg!(not(feature = "encoded-words")) || header::subject_is_plain(msg.subject.as_str());
        let step = if msg.date.is_some() {
            Step::Date
        } else {
            Step::List {
                field: Field::From,
                i: 0,
                col: 0,
            }
        };
        MessageWriter {
            msg,
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

/// `Content-Transfer-Encoding` of `cte` and the blank line that ends a part header.
#[inline(never)]
fn transfer_encoding(sink: &mut Sink<'_>, cte: Cte) {
    sink.put(b"Content-Transfer-Encoding: ");
    sink.put(cte.name());
    sink.put(b"\r\n\r\n");
}

impl<R> MessageWriter<'_, '_, R> {
    /// The boundary of `level` (`--` before it when `dashes`), then `tail`.
    #[inline(never)]
    fn boundary(&self, sink: &mut Sink<'_>, level: Level, dashes: bool, tail: &[u8]) {
        let mark = BOUNDARY_MARK.get(if dashes { 0 } else { 2 }..);
        sink.put(mark.unwrap_or_default());
        sink.put(level.letter());
        match &self.msg.id {
            Some(id) => header::put_hex(sink, id, true),
            None => sink.put(FIXED_BOUNDARY),
        }
        sink.put(tail);
    }

    /// `--boundary` CRLF: the delimiter before a part of `level`.
    fn delimiter(&self, sink: &mut Sink<'_>, level: Level) {
        self.boundary(sink, level, true, b"\r\n");
    }

    /// `--boundary--` CRLF: the end of `level`.
    fn close(&self, sink: &mut Sink<'_>, level: Level) {
        self.boundary(sink, level, true, b"--\r\n");
    }

    /// The step after the header fields that follow the subject.
    fn after_subject(&self) -> Step {
        if self.msg.id.is_some() {
            Step::MessageId
        } else {
            self.after_message_id()
        }
    }

    fn after_message_id(&self) -> Step {
        if self.msg.extras_fn.is_some() {
            Step::Extra(fields::Pos::START)
        } else {
            Step::Mime
        }
    }

    /// Header and body line of attachment `k` under `level`.
    fn part_head(&self, sink: &mut Sink<'_>, k: usize, level: Level) {
        if let Some(att) = self.msg.attachments.get(k) {
            self.delimiter(sink, level);
            sink.put(b"Content-Type: ");
            sink.put(att.content_type.as_bytes());
            sink.put(b"\r\n");
            if let Some(id) = att.content_id {
                sink.put(b"Content-ID: <");
                sink.put(id.as_str().as_bytes());
                sink.put(b">\r\n");
            }
            header::disposition(sink, att.filename, att.content_id.is_some());
            transfer_encoding(sink, Cte::Base64);
        }
    }

    /// The current base64 line of an attachment; whether the attachment is done.
    fn part_line(&self, sink: &mut Sink<'_>, lines: bool) -> bool {
        let chunk = self.chunk.get(..self.chunk_len).unwrap_or_default();
        if !chunk.is_empty() {
            base64::put_line(sink, chunk);
        } else if !lines {
            // An empty attachment: a part body of one empty line.
            sink.put(b"\r\n");
        }
        self.eof
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
            Step::Close(Level::Mixed)
        }
    }

    fn text_part_header(&self, sink: &mut Sink<'_>) {
        sink.put(b"Content-Type: text/plain; charset=utf-8\r\n");
        transfer_encoding(sink, self.cte);
    }

    /// Renders the current step with the rich body when the message has one; `None`
    /// for a step [`render`](Self::render) writes itself.
    fn render_more(&self, sink: &mut Sink<'_>) -> Option<Step> {
        match self.msg.rich {
            Some(rich) if self.step.is_body() => Some(rich(self, sink)),
            _ => None,
        }
    }

    /// Renders the current step into `sink`; returns the step that follows it.
    // Not inlined: one copy, out of the driver's frame (smaller flash and stack on
    // a Cortex-M; see README "On a microcontroller").
    #[inline(never)]
    fn render(&self, sink: &mut Sink<'_>) -> Step {
        if let Some(next) = self.render_more(sink) {
            return next;
        }
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
                    Field::From => ("From:", core::slice::from_ref(&msg.from)),
                    Field::To => ("To:", msg.to),
                    Field::Cc => ("Cc:", msg.cc),
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
                } else {
                    self.after_subject()
                }
            }
            Step::MessageId => {
                if let Some(id) = &msg.id {
                    sink.put(b"Message-ID: <");
                    header::put_hex(sink, id, false);
                    sink.put(msg.from.address().at_domain().as_bytes());
                    sink.put(b">\r\n");
                }
                self.after_message_id()
            }
            Step::Mime => {
                // One literal: the version line alone, or with the multipart type.
                const MIME: &[u8] =
                    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"";
                let end = if multipart { MIME.len() } else { 19 };
                sink.put(MIME.get(..end).unwrap_or_default());
                if multipart {
                    self.boundary(sink, Level::Mixed, false, b"\"\r\n\r\n");
                    self.delimiter(sink, Level::Mixed);
                }
                self.text_part_header(sink);
                Step::Text {
                    at: base64::Canon::START,
                }
            }
            Step::Text { at } => {
                let after = if multipart {
                    Step::AttHead { k: 0 }
                } else {
                    Step::Done
                };
                match text_body(sink, msg.text.as_bytes(), self.cte, at, multipart) {
                    Some(next) => Step::Text { at: next },
                    None => after,
                }
            }
            Step::AttHead { k } => {
                self.part_head(sink, k, Level::Mixed);
                Step::AttBody { k, lines: false }
            }
            Step::AttBody { k, lines } => {
                if self.part_line(sink, lines) {
                    self.after_attachment(k)
                } else {
                    Step::AttBody { k, lines: true }
                }
            }
            Step::Close(level) => {
                self.close(sink, level);
                Step::Done
            }
            // Only made when the message has optional fields.
            Step::Extra(p) => match msg.extras_fn {
                Some(extras) => extras(&msg.extras, sink, p),
                None => Step::Done,
            },
            Step::HtmlHead | Step::Html { .. } => Step::Done,
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
