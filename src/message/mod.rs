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
//! - Header fields in this order: `Date`, `From`, `To`, `Cc`, `Subject`,
//!   `Message-ID` (only when given), then the optional ones that were set:
//!   `Reply-To`, `In-Reply-To`, `References`, `Auto-Submitted`, `Importance` and
//!   `X-Priority`, the caller's [`Header`]s; then `MIME-Version: 1.0` and the content
//!   fields. `Bcc` recipients are never written; they only take part in the envelope.
//!   A message needs a `Date` ([`Message::date`], or [`Message::without_date`] when
//!   the submission server adds it): the clients refuse one with neither before
//!   `MAIL`.
//! - Display names and subjects that are not plain ASCII become RFC 2047 `B` encoded
//!   words of whole UTF-8 characters, so the header is 7-bit unless an address itself
//!   is non-ASCII (see [`Message::needs_smtputf8`]). Lines are folded to stay within
//!   78 characters wherever the text allows, and never pass 998 (RFC 5322 §2.1.1).
//! - The text body as `text/plain; charset=utf-8` in 7bit, quoted-printable or
//!   base64 ([`TextEncoding`]); with HTML ([`Message::html`]) a
//!   `multipart/alternative` of the text and `text/html`; with inline parts
//!   ([`Attachment::inline`]) a `multipart/related` of that and the parts, each with
//!   its `Content-ID`; with other attachments, a `multipart/mixed` body with all of
//!   that first and one base64 part per [`Attachment`], read from an
//!   [`embedded_io::Read`] 57 bytes (one 76-column line) at a time. Attachments of
//!   different reader types share a message through [`AnyReader`].
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

mod attachment;
mod base64;
mod builder;
pub mod dot;
mod fields;
pub(crate) mod header;
#[cfg(feature = "quoted-printable")]
mod qp;
mod reader;
mod writer;

pub use attachment::Attachment;
pub use builder::Message;
pub use dot::DotStuffer;
pub use fields::{AutoSubmitted, Header, Importance, MAX_HEADER_NAME, MAX_MSG_ID, MsgId};
pub use header::{MAX_CONTENT_TYPE, MAX_FILENAME, MAX_PLAIN_FILENAME};
pub use reader::{AnyReader, Bytes};
pub use writer::MessageWriter;

pub(crate) use writer::Sink;

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
///
/// Quoted-printable is in feature `quoted-printable`; without it, text that is not
/// 7-bit safe always goes out as base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TextEncoding {
    /// `7bit` when the text is 7-bit safe (ASCII, no NUL, no line over 998 octets, and,
    /// in a multipart message, nothing like a boundary); otherwise quoted-printable
    /// when at most a third of its bytes are non-ASCII, else base64 (always base64
    /// without feature `quoted-printable`).
    #[default]
    Auto,
    /// `7bit`. Text that is not 7-bit safe (see [`Auto`](Self::Auto)) falls back to
    /// quoted-printable, which is 7-bit safe for any text (to base64 without feature
    /// `quoted-printable`).
    SevenBit,
    /// `quoted-printable` (RFC 2045 §6.7), soft-wrapped at 76 characters (feature
    /// `quoted-printable`).
    #[cfg(feature = "quoted-printable")]
    QuotedPrintable,
    /// `base64` (RFC 2045 §6.8) at 76 characters a line.
    Base64,
}

#[cfg(test)]
mod tests {
    use super::writer::{Cte, resolve};
    use super::*;
    use crate::address::{HeaderText, Mailbox};
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

    #[cfg(feature = "quoted-printable")]
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

    #[cfg(not(feature = "quoted-printable"))]
    #[test]
    fn encoding_choice_without_quoted_printable() {
        let long = "x".repeat(999);
        assert_eq!(resolve(b"hi\r\n", TextEncoding::Auto, false), Cte::SevenBit);
        assert_eq!(resolve(b"hi", TextEncoding::SevenBit, false), Cte::SevenBit);
        assert_eq!(
            resolve(long.as_bytes(), TextEncoding::Auto, false),
            Cte::Base64
        );
        assert_eq!(resolve(b"a\0", TextEncoding::SevenBit, false), Cte::Base64);
        assert_eq!(
            resolve("café au lait".as_bytes(), TextEncoding::Auto, false),
            Cte::Base64
        );
        assert_eq!(
            resolve(b"x\n--=_y", TextEncoding::Auto, false),
            Cte::SevenBit
        );
        assert_eq!(resolve(b"x\n--=_y", TextEncoding::Auto, true), Cte::Base64);
        assert_eq!(resolve(b"x", TextEncoding::Base64, false), Cte::Base64);
        // On the wire: the text that quoted-printable would have carried, in base64.
        let mut m = Message::new(mb("a@example.com"), subject("s")).text("café\n");
        let out = drain(&mut m.writer(), 7);
        assert!(
            out.ends_with(b"Content-Transfer-Encoding: base64\r\n\r\nY2Fmw6kNCg==\r\n"),
            "{}",
            std::string::String::from_utf8_lossy(&out)
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
        let m = Message::new(mb("Temp <a@example.com>"), subject("Temp"));
        assert!(!m.needs_smtputf8());
        let m = m.to(&to);
        assert!(m.needs_smtputf8());
        let bcc = [mb("用户@例子.中国")];
        let m = Message::new(mb("a@example.com"), subject("x")).bcc(&bcc);
        assert!(!m.needs_smtputf8());
        // Reply-To is written, and no envelope address speaks for it.
        let m = Message::new(mb("a@example.com"), subject("x")).reply_to(&bcc);
        assert!(m.needs_smtputf8() && m.reply_to_needs_smtputf8());
        let m = m.to(&to).reply_to(&[]);
        assert!(m.needs_smtputf8() && !m.reply_to_needs_smtputf8());
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

    #[test]
    fn html_inline_and_attachment_structure() {
        let cid = MsgId::try_new("logo@panel.example").unwrap();
        let mut atts = [
            Attachment::from_bytes("a.txt", "text/plain", b"attached").unwrap(),
            Attachment::from_bytes("logo.png", "image/png", b"PNG")
                .unwrap()
                .inline(cid),
        ];
        let mut m = Message::new(mb("p@example.com"), subject("s"))
            .text("plain")
            .html("<img src=\"cid:logo@panel.example\">")
            .attachments(&mut atts);
        let out = std::string::String::from_utf8(drain(&mut m.writer(), 3)).unwrap();
        let body = out.split_once("MIME-Version: 1.0\r\n").unwrap().1;
        assert_eq!(
            body,
            "Content-Type: multipart/mixed;\r\n boundary=\"=_embedded-smtp_part_boundary\"\r\n\r\n\
             --=_embedded-smtp_part_boundary\r\n\
             Content-Type: multipart/related;\r\n boundary=\"=_rembedded-smtp_part_boundary\";\r\n \
             type=\"multipart/alternative\"\r\n\r\n\
             --=_rembedded-smtp_part_boundary\r\n\
             Content-Type: multipart/alternative;\r\n boundary=\"=_aembedded-smtp_part_boundary\"\r\n\r\n\
             --=_aembedded-smtp_part_boundary\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
             plain\r\n\
             --=_aembedded-smtp_part_boundary\r\n\
             Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
             <img src=\"cid:logo@panel.example\">\r\n\
             --=_aembedded-smtp_part_boundary--\r\n\
             --=_rembedded-smtp_part_boundary\r\n\
             Content-Type: image/png\r\nContent-ID: <logo@panel.example>\r\n\
             Content-Disposition: inline; filename=\"logo.png\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nUE5H\r\n\
             --=_rembedded-smtp_part_boundary--\r\n\
             --=_embedded-smtp_part_boundary\r\n\
             Content-Type: text/plain\r\n\
             Content-Disposition: attachment; filename=\"a.txt\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nYXR0YWNoZWQ=\r\n\
             --=_embedded-smtp_part_boundary--\r\n"
        );
        // HTML alone: only multipart/alternative.
        let mut m = Message::new(mb("p@example.com"), subject("s")).html("<p>x</p>");
        let out = std::string::String::from_utf8(drain(&mut m.writer(), 5)).unwrap();
        assert!(out.contains(
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary=\"=_aembedded-smtp_part_boundary\"\r\n\r\n\
             --=_aembedded-smtp_part_boundary\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 7bit\r\n\r\n\r\n--=_aembedded"
        ));
        assert!(out.ends_with("<p>x</p>\r\n--=_aembedded-smtp_part_boundary--\r\n"));
    }

    /// Every output of a multipart message is the same whatever the chunk sizes.
    #[test]
    fn any_chunking_gives_the_same_bytes() {
        let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let to = [mb("Ops <ops@example.com>")];
        // Encoded words where the build has them.
        #[cfg(feature = "encoded-words")]
        let (subj, from, empty) = ("温度 ".repeat(30), "温度计 <t@example.com>", "空.txt");
        #[cfg(not(feature = "encoded-words"))]
        let (subj, from, empty) = (
            "Temperature ".repeat(30),
            "Thermometer <t@example.com>",
            "empty.txt",
        );
        let mut reference = None;
        for chunk in [1, 2, 3, 7, 77, 78, 79, 4096] {
            let mut atts = [
                Attachment::new("a.bin", "application/octet-stream", &data[..]).unwrap(),
                Attachment::new(empty, "text/plain", &b""[..]).unwrap(),
            ];
            let mut m = Message::new(mb(from), subject(&subj))
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
        let text_cte = if cfg!(feature = "quoted-printable") {
            "quoted-printable"
        } else {
            "base64"
        };
        assert!(text.contains(&std::format!(
            "charset=utf-8\r\nContent-Transfer-Encoding: {text_cte}\r\n"
        )));
        // The empty attachment has a body of one empty line.
        let name = if cfg!(feature = "encoded-words") {
            "filename*=UTF-8''%E7%A9%BA.txt"
        } else {
            "filename=\"empty.txt\""
        };
        assert!(text.contains(&std::format!(
            "{name}\r\nContent-Transfer-Encoding: base64\r\n\r\n\r\n--=_"
        )));
    }
}
