//! What is kept of a reply after the fact: [`Text`] (a bounded excerpt of its text)
//! and [`Response`] (code and text, the enhanced code read from the text when asked),
//! for errors and reports.

use core::fmt;

use super::parse::split_enhanced;
use super::{EnhancedCode, ReplyCode};

/// Longest piece of server text kept in an error or a recipient report, counting the
/// enhanced status code at its start; longer text is cut. 72 bytes keep 64 after a
/// code such as `5.1.1 `, and a [`Response`] fits in 76 bytes.
pub const MAX_TEXT: usize = 72;

/// A bounded, `Copy` excerpt of a server reply's text (the first line, cut at
/// [`MAX_TEXT`] bytes). Kept as bytes: servers may send any octets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Text {
    len: u8,
    bytes: [u8; MAX_TEXT],
}

impl Text {
    /// An empty text.
    pub const EMPTY: Text = Text {
        len: 0,
        bytes: [0; MAX_TEXT],
    };

    /// Copies at most [`MAX_TEXT`] bytes of `b`, and no CR or LF.
    pub fn new(b: &[u8]) -> Text {
        let mut t = Text::EMPTY;
        // The zip stops at MAX_TEXT bytes.
        let line = b.iter().take_while(|&&c| c != b'\r' && c != b'\n');
        for (slot, &c) in t.bytes.iter_mut().zip(line) {
            *slot = c;
            t.len += 1;
        }
        t
    }

    /// The bytes kept.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The text, with any invalid UTF-8 (or a character cut at the end) left out.
    pub fn as_str_lossy(&self) -> &str {
        lossy(self.as_bytes())
    }
}

/// `bytes` as text, cut before the first byte that is not valid UTF-8.
fn lossy(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            core::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or("")
        }
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::EMPTY
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str_lossy(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str_lossy())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Text {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[u8]:a}", self.as_bytes())
    }
}

/// A server reply kept after the fact: the reply code and the start of the first
/// line's text. Used for refusals in errors and for each recipient and the final reply
/// in a [`Report`](crate::engine::Report).
///
/// The text is kept as received, the RFC 3463 enhanced status code included (so the
/// [`MAX_TEXT`] bytes kept count that code); [`enhanced`](Response::enhanced) and
/// [`text`](Response::text) split it when asked, so a program that never asks carries
/// no code to parse it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// The reply code.
    pub code: ReplyCode,
    line: Text,
}

impl Response {
    /// The reply with `code` whose first line's text is `line` (the text after the code
    /// and separator; at most [`MAX_TEXT`] bytes of it are kept, up to any CR or LF).
    pub fn new(code: ReplyCode, line: &[u8]) -> Response {
        Response {
            code,
            line: Text::new(line),
        }
    }

    /// The RFC 3463 enhanced status code at the start of the text, if the server sent
    /// one (see [`Line::enhanced`](super::Line::enhanced)).
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        split_enhanced(self.line.as_bytes()).map(|(code, _)| code)
    }

    /// The text kept, after the enhanced status code and the spaces that follow it
    /// when there is one.
    pub fn text(&self) -> &[u8] {
        let line = self.line.as_bytes();
        split_enhanced(line).map_or(line, |(_, text)| text)
    }

    /// [`text`](Response::text), with any invalid UTF-8 (or a character cut at the
    /// end) left out.
    pub fn text_lossy(&self) -> &str {
        lossy(self.text())
    }

    /// The start of the first line's text as received, enhanced status code included.
    pub fn line(&self) -> &Text {
        &self.line
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("code", &self.code)
            .field("enhanced", &self.enhanced())
            .field("text", &self.text_lossy())
            .finish()
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        let mut text = self.line.as_bytes();
        if let Some((e, rest)) = split_enhanced(text) {
            write!(f, " {e}")?;
            text = rest;
        }
        if !text.is_empty() {
            write!(f, " {}", lossy(text))?;
        }
        Ok(())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Response {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", self.code);
        let mut text = self.line.as_bytes();
        if let Some((e, rest)) = split_enhanced(text) {
            defmt::write!(f, " {}", e);
            text = rest;
        }
        if !text.is_empty() {
            defmt::write!(f, " {=[u8]:a}", text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn response(code: u16, line: &[u8]) -> Response {
        Response::new(ReplyCode::new(code).unwrap(), line)
    }

    #[test]
    fn enhanced_code_read_when_asked() {
        let r = response(550, b"5.1.1  <a@b>: User unknown");
        let code = EnhancedCode {
            class: 5,
            subject: 1,
            detail: 1,
        };
        assert_eq!(r.enhanced(), Some(code));
        assert_eq!(r.text(), b"<a@b>: User unknown");
        assert_eq!(r.line().as_bytes(), b"5.1.1  <a@b>: User unknown");
        assert_eq!(r.to_string(), "550 5.1.1 <a@b>: User unknown");
        assert_eq!(
            std::format!("{r:?}"),
            "Response { code: ReplyCode(550), enhanced: Some(EnhancedCode { class: 5, \
             subject: 1, detail: 1 }), text: \"<a@b>: User unknown\" }"
        );

        let r = response(250, b"Ok: queued");
        assert_eq!((r.enhanced(), r.text()), (None, &b"Ok: queued"[..]));
        assert_eq!(r.to_string(), "250 Ok: queued");
        assert_eq!(response(250, b"2.0.0").to_string(), "250 2.0.0");
        assert_eq!(response(250, b"").to_string(), "250");
    }

    #[test]
    fn excerpt_counts_the_code() {
        let long = [b'x'; 100];
        let r = response(550, &[&b"5.7.1 "[..], &long].concat());
        assert_eq!(r.line().as_bytes().len(), MAX_TEXT);
        assert_eq!(r.text(), &long[..MAX_TEXT - 6]);
        // Invalid UTF-8 is left out of the text as a string, not of the bytes.
        let r = response(550, b"5.7.1 ok\xff");
        assert_eq!((r.text(), r.text_lossy()), (&b"ok\xff"[..], "ok"));
    }
}
