//! What is kept of a reply after the fact: [`Text`] (a bounded excerpt of its text)
//! and [`Response`] (code, enhanced code, text), for errors and reports.

use core::fmt;

use super::{EnhancedCode, ReplyCode};

/// Longest piece of server text kept in an error or a recipient report; longer text is cut.
pub const MAX_TEXT: usize = 64;

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
        match core::str::from_utf8(self.as_bytes()) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.as_bytes()[..e.valid_up_to()]).unwrap_or(""),
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

/// A server reply kept after the fact: the reply code, the enhanced status code if any, and the start of the text. Used for refusals in errors and for each recipient and the final reply in a [`Report`](crate::engine::Report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Response {
    /// The reply code.
    pub code: ReplyCode,
    /// The RFC 3463 enhanced status code at the start of the text, if the server sent one.
    pub enhanced: Option<EnhancedCode>,
    /// The start of the reply's first line of text, after the enhanced code.
    pub text: Text,
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = self.enhanced {
            write!(f, " {e}")?;
        }
        if !self.text.as_bytes().is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}
