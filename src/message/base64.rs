//! Base64 (RFC 2045 §6.8) for the message writer: 76-column body lines built from
//! 57 input bytes each, RFC 2047 encoded-word payloads, and the canonical (CRLF)
//! view of a text body that a base64 text part encodes.
//!
//! The encoding itself is `crate::b64` (see there why it is not the `base64`
//! crate's); this module feeds it one 3-byte group at a time, so that no line
//! buffer is cleared and copied.

use super::Sink;
#[cfg(any(test, feature = "encoded-words"))]
pub(crate) use crate::b64::encoded_len;

/// Input bytes per full body line: 57 bytes give exactly 76 characters (RFC 2045 §6.8).
pub(crate) const LINE_INPUT: usize = 57;

/// Writes the base64 of `input` (no line breaks) to `sink`.
pub(crate) fn put(sink: &mut Sink<'_>, input: &[u8]) {
    // A group at a time through 4 bytes of stack: no line buffer to clear.
    for group in input.chunks(3) {
        let mut chars = [0u8; 4];
        let n = crate::b64::encode(group, &mut chars);
        sink.put(chars.get(..n).unwrap_or_default());
    }
}

/// Writes one body line: the base64 of `input` (at most [`LINE_INPUT`] bytes for a
/// 76-column line) and CRLF.
#[inline(never)]
pub(crate) fn put_line(sink: &mut Sink<'_>, input: &[u8]) {
    put(sink, input);
    sink.put(b"\r\n");
}

/// A position in a text body seen as its canonical form (RFC 2045 §6.8: line breaks
/// are CRLF before base64 encoding): each CR LF pair, bare CR and bare LF of the text
/// reads as CR LF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Canon {
    /// Offset of the next text byte.
    pub(crate) pos: usize,
    /// A line break's LF is still to come.
    pub(crate) lf: bool,
}

impl Canon {
    /// The start of the text.
    pub(crate) const START: Canon = Canon { pos: 0, lf: false };

    /// Whether the whole text has been read.
    pub(crate) fn at_end(&self, text: &[u8]) -> bool {
        !self.lf && self.pos >= text.len()
    }

    /// Reads up to `buf.len()` canonical bytes; returns how many.
    pub(crate) fn read(&mut self, text: &[u8], buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() {
            if self.lf {
                self.lf = false;
                buf[n] = b'\n';
            } else {
                let Some(&b) = text.get(self.pos) else {
                    break;
                };
                self.pos += 1;
                buf[n] = match b {
                    b'\r' => {
                        if text.get(self.pos) == Some(&b'\n') {
                            self.pos += 1;
                        }
                        self.lf = true;
                        b'\r'
                    }
                    b'\n' => {
                        self.lf = true;
                        b'\r'
                    }
                    _ => b,
                };
            }
            n += 1;
        }
        n
    }
}

/// Writes the next body line of a base64 text part, reading from `at`; returns the
/// position after it. Call only while `!at.at_end(text)`.
#[inline(never)]
pub(crate) fn text_line(sink: &mut Sink<'_>, text: &[u8], mut at: Canon) -> Canon {
    let mut raw = [0u8; LINE_INPUT];
    let n = at.read(text, &mut raw);
    put_line(sink, raw.get(..n).unwrap_or_default());
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: impl FnOnce(&mut Sink<'_>)) -> std::vec::Vec<u8> {
        let mut out = [0u8; 512];
        let mut sink = Sink::new(&mut out, 0);
        f(&mut sink);
        assert!(!sink.overflowed());
        let n = sink.written();
        out[..n].to_vec()
    }

    #[test]
    fn lines() {
        assert_eq!(render(|s| put_line(s, b"")), b"\r\n");
        assert_eq!(render(|s| put_line(s, b"f")), b"Zg==\r\n");
        assert_eq!(render(|s| put_line(s, b"foobar")), b"Zm9vYmFy\r\n");
        let line = render(|s| put_line(s, &[0xffu8; LINE_INPUT]));
        assert_eq!(line.len(), 78);
        assert!(line[..76].iter().all(|&c| c == b'/'));
        assert_eq!(encoded_len(0), 0);
        assert_eq!(encoded_len(1), 4);
        assert_eq!(encoded_len(57), 76);
        assert_eq!(render(|s| put(s, &[0u8; 60])).len(), 80);
    }

    #[test]
    fn canonical_text() {
        let text = b"a\nb\r\nc\rd\r";
        let mut at = Canon::START;
        let mut buf = [0u8; 3];
        let mut all = std::vec::Vec::new();
        while !at.at_end(text) {
            let n = at.read(text, &mut buf);
            assert!(n > 0);
            all.extend_from_slice(&buf[..n]);
        }
        assert_eq!(all, b"a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(at.read(text, &mut buf), 0);
    }

    #[test]
    fn text_lines_carry_a_split_line_break() {
        // 56 letters then LF: the CR ends the first line, the LF starts the second.
        let mut text = [b'x'; 57];
        text[56] = b'\n';
        let mut at = Canon::START;
        let first = render(|s| at = text_line(s, &text, at));
        let want = [&b"eHh4".repeat(18)[..], b"eHgN\r\n"].concat();
        assert_eq!(first, want);
        assert_eq!(at, Canon { pos: 57, lf: true });
        let second = render(|s| at = text_line(s, &text, at));
        assert_eq!(second, b"Cg==\r\n");
        assert!(at.at_end(&text));
    }
}
