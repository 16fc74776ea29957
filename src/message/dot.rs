//! CRLF normalisation and dot-stuffing for the `DATA` phase (RFC 5321 §4.5.2).
//!
//! One incremental state machine does both, so a message can be pushed through it in
//! chunks of any size (down to one byte) and the output is the same as if it had been
//! encoded whole. Line breaks are normalised first and dot-stuffing is applied to the
//! normalised lines, which is what makes "SMTP smuggling" impossible: a receiver can
//! only ever see `CRLF . CRLF` in the output at the terminator written by
//! [`DotStuffer::finish`].

/// Incremental CRLF normaliser and dot-stuffer (RFC 5321 §4.5.2), correct across any
/// chunk boundary.
///
/// Every bare CR, bare LF and CR LF pair in the input becomes one CRLF; a `.` at the
/// start of any line, including the very first byte of the message, is doubled.
/// A CR is written out as CRLF at once and a directly following LF is then swallowed,
/// so the state is just two flags.
///
/// ```
/// use embedded_smtp::message::DotStuffer;
///
/// let mut d = DotStuffer::new();
/// let mut out = [0u8; 32];
/// let (used, n) = d.encode(b".hi\n.\r", &mut out);
/// assert_eq!((used, &out[..n]), (6, &b"..hi\r\n..\r\n"[..]));
/// let m = d.finish(&mut out[n..]).unwrap();
/// assert_eq!(&out[..n + m], b"..hi\r\n..\r\n.\r\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DotStuffer {
    /// The last byte written ended a line (or nothing was written yet).
    line_start: bool,
    /// The last input byte was a CR (already written as CRLF): an LF right after it
    /// belongs to the same line break and is dropped.
    after_cr: bool,
    /// Double leading dots (`DATA`); off for `BDAT`, whose chunks are counted, not
    /// terminated (RFC 3030 §2).
    stuff: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotStuffer {
    /// A stuffer at the start of a message.
    pub const fn new() -> Self {
        DotStuffer {
            line_start: true,
            after_cr: false,
            stuff: true,
        }
    }

    /// A CRLF normaliser that leaves dots alone, for `BDAT` chunks (RFC 3030): the
    /// data is counted, so no line can end it early, but it must still be CRLF text.
    pub const fn normaliser() -> Self {
        DotStuffer {
            line_start: true,
            after_cr: false,
            stuff: false,
        }
    }

    /// Encodes as much of `input` as fits into `out`, returning `(consumed, produced)`.
    ///
    /// An output expansion is never split: if the `"\r\n"` for a line break or the `".."`
    /// for a leading dot does not fit, encoding stops before that input byte. So
    /// `produced <= out.len()` always, and with `out.len() >= 2` at least one byte is
    /// consumed whenever `input` is not empty. Feed the unconsumed rest in the next call.
    pub fn encode(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let mut used = 0;
        let mut n = 0;
        for &b in input {
            if self.after_cr && b == b'\n' {
                // The LF of a CR LF pair: its CRLF is already out.
                self.after_cr = false;
                used += 1;
                continue;
            }
            let (first, second) = match b {
                b'\r' | b'\n' => (b'\r', Some(b'\n')),
                b'.' if self.line_start && self.stuff => (b'.', Some(b'.')),
                _ => (b, None),
            };
            let need = if second.is_some() { 2 } else { 1 };
            let Some(dst) = out.get_mut(n..n + need) else {
                break;
            };
            for (d, c) in dst.iter_mut().zip([first, second.unwrap_or(first)]) {
                *d = c;
            }
            n += need;
            used += 1;
            self.after_cr = b == b'\r';
            self.line_start = b == b'\r' || b == b'\n';
        }
        (used, n)
    }

    /// Writes the end-of-data sequence and resets the stuffer for a new message.
    ///
    /// The terminator is `CRLF . CRLF`, where the first CRLF ends the last line of the
    /// data: if the data ended with a line break (or was empty) only `".\r\n"` is
    /// written, otherwise `"\r\n.\r\n"`.
    ///
    /// Returns the number of bytes written, or `None` (and writes nothing) if `out` is
    /// shorter than 5 bytes.
    pub fn finish(&mut self, out: &mut [u8]) -> Option<usize> {
        const FULL: &[u8; 5] = b"\r\n.\r\n";
        let tail: &[u8] = if self.line_start { &FULL[2..] } else { FULL };
        let dst = out.get_mut(..FULL.len())?;
        if let Some(d) = dst.get_mut(..tail.len()) {
            crate::bytes::copy(d, tail);
        }
        *self = Self {
            stuff: self.stuff,
            ..Self::new()
        };
        Some(tail.len())
    }

    /// Ends the data with a line break if it did not end with one (`"\r\n"`, or
    /// nothing), for `BDAT` data, and resets the normaliser. Returns the bytes
    /// written, or `None` (and writes nothing) if `out` is shorter than 2 bytes.
    pub fn finish_lines(&mut self, out: &mut [u8]) -> Option<usize> {
        let dst = out.get_mut(..2)?;
        let n = if self.line_start {
            0
        } else {
            crate::bytes::copy(dst, b"\r\n");
            2
        };
        *self = Self {
            stuff: self.stuff,
            ..Self::new()
        };
        Some(n)
    }

    /// Whether the last byte encoded ended a line (or nothing was encoded yet).
    pub fn at_line_start(&self) -> bool {
        self.line_start
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn normaliser_keeps_dots_and_ends_lines() {
        let mut d = DotStuffer::normaliser();
        let mut out = [0u8; 32];
        let (used, n) = d.encode(b".a\n.\rb", &mut out);
        assert_eq!((used, &out[..n]), (6, &b".a\r\n.\r\nb"[..]));
        assert_eq!(d.finish_lines(&mut out[n..]), Some(2));
        assert_eq!(&out[n..n + 2], b"\r\n");
        // After a line break nothing is added; a reset keeps the mode.
        let (_, n) = d.encode(b".x\r\n", &mut out);
        assert_eq!(&out[..n], b".x\r\n");
        assert_eq!(d.finish_lines(&mut out), Some(0));
        assert_eq!(d.finish_lines(&mut [0u8; 1]), None);
    }

    /// Encodes `chunks` one after another through an output buffer of `out_len`
    /// bytes and finishes; returns all bytes.
    fn run(chunks: &[&[u8]], out_len: usize) -> Vec<u8> {
        let mut d = DotStuffer::new();
        let mut all = Vec::new();
        let mut out = std::vec![0u8; out_len];
        for chunk in chunks {
            let mut rest = *chunk;
            while !rest.is_empty() {
                let (used, n) = d.encode(rest, &mut out);
                assert!(n <= out.len());
                if out_len >= 2 {
                    assert!(used > 0, "no progress with out_len {out_len}");
                }
                all.extend_from_slice(&out[..n]);
                rest = &rest[used..];
            }
        }
        let mut fin = [0u8; 5];
        let n = d.finish(&mut fin).unwrap();
        all.extend_from_slice(&fin[..n]);
        all
    }

    /// Every way of encoding `input` must give `expected`.
    fn check(input: &[u8], expected: &[u8]) {
        assert_eq!(run(&[input], 4096), expected, "whole {input:?}");
        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(
                run(&[a, b], 4096),
                expected,
                "split at {split} of {input:?}"
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(&bytes, 4096), expected, "bytewise {input:?}");
        for out_len in 2..6 {
            assert_eq!(run(&[input], out_len), expected, "out {out_len} {input:?}");
        }
        // Only the terminator may look like one.
        let body = &expected[..expected.len() - 3];
        assert!(
            !body.windows(5).any(|w| w == b"\r\n.\r\n"),
            "early terminator in {expected:?}"
        );
        assert!(!body.starts_with(b".\r\n"), "{expected:?}");
        // Every line ends in CRLF and no CR or LF stands alone.
        for (i, &c) in expected.iter().enumerate() {
            if c == b'\r' {
                assert_eq!(expected.get(i + 1), Some(&b'\n'));
            }
            if c == b'\n' {
                assert_eq!(expected[i - 1], b'\r');
            }
        }
        // Un-stuffing gives back the CRLF-normalised input (plus the CRLF that ends
        // an unterminated last line).
        let mut want = normalise(input);
        if !want.is_empty() && !want.ends_with(b"\r\n") {
            want.extend_from_slice(b"\r\n");
        }
        assert_eq!(unstuff(body), want);
    }

    fn normalise(input: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'\r' => {
                    v.extend_from_slice(b"\r\n");
                    if input.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                }
                b'\n' => v.extend_from_slice(b"\r\n"),
                c => v.push(c),
            }
            i += 1;
        }
        v
    }

    /// Removes the leading dot of each line (RFC 5321 §4.5.2, receiver side).
    fn unstuff(body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let mut start = true;
        for &c in body {
            if !(start && c == b'.') {
                v.push(c);
            }
            start = c == b'\n';
        }
        v
    }

    #[test]
    fn smuggling_vectors() {
        let table: &[(&[u8], &[u8])] = &[
            (b"\n.\n", b"\r\n..\r\n.\r\n"),
            (b"\r.\r", b"\r\n..\r\n.\r\n"),
            (b"\r.\n", b"\r\n..\r\n.\r\n"),
            (b"\n.\r", b"\r\n..\r\n.\r\n"),
            (b"\n.\r\n", b"\r\n..\r\n.\r\n"),
            (b"\r\n.\n", b"\r\n..\r\n.\r\n"),
            (b"\r.\r\n", b"\r\n..\r\n.\r\n"),
            (b"\r\n.\r", b"\r\n..\r\n.\r\n"),
            (b"\r\n\x00.\r\n", b"\r\n\x00.\r\n.\r\n"),
            (b".", b"..\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (b".hidden", b"..hidden\r\n.\r\n"),
            (b"a\r\n\r\n.\r\nRSET\r\n", b"a\r\n\r\n..\r\nRSET\r\n.\r\n"),
            (
                b"x\n.\nMAIL FROM:<a@b>\n",
                b"x\r\n..\r\nMAIL FROM:<a@b>\r\n.\r\n",
            ),
            (b"\r\r\n\n", b"\r\n\r\n\r\n.\r\n"),
            (b"a.b\r\n..c", b"a.b\r\n...c\r\n.\r\n"),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn empty_and_terminated() {
        check(b"", b".\r\n");
        check(b"abc", b"abc\r\n.\r\n");
        check(b"abc\r\n", b"abc\r\n.\r\n");
        check(b"abc\n", b"abc\r\n.\r\n");
    }

    #[test]
    fn never_splits_an_expansion() {
        let mut d = DotStuffer::new();
        let mut out = [0u8; 1];
        assert_eq!(d.encode(b".", &mut out), (0, 0));
        assert_eq!(d.encode(b"\n", &mut out), (0, 0));
        assert_eq!(d.encode(b"a.", &mut out), (1, 1));
        assert_eq!(out[0], b'a');
        let mut out = [0u8; 3];
        assert_eq!(d.encode(b"\r\n.x", &mut out), (2, 2));
        assert_eq!(&out[..2], b"\r\n");
        assert_eq!(d.encode(b".x", &mut out), (2, 3));
        assert_eq!(&out, b"..x");
        assert_eq!(d.encode(b"", &mut out), (0, 0));
        assert_eq!(d.encode(b"abc", &mut []), (0, 0));
    }

    #[test]
    fn lf_after_cr_is_swallowed_even_without_room() {
        let mut d = DotStuffer::new();
        let mut out = [0u8; 2];
        assert_eq!(d.encode(b"\r", &mut out), (1, 2));
        assert_eq!(d.encode(b"\n", &mut []), (1, 0));
        assert!(d.at_line_start());
    }

    #[test]
    fn finish_needs_five_bytes_and_resets() {
        let mut d = DotStuffer::new();
        let mut out = [0u8; 8];
        assert!(d.at_line_start());
        d.encode(b"x", &mut out);
        assert!(!d.at_line_start());
        assert_eq!(d.finish(&mut out[..4]), None);
        assert!(!d.at_line_start());
        assert_eq!(d.finish(&mut out), Some(5));
        assert_eq!(&out[..5], b"\r\n.\r\n");
        assert_eq!(d, DotStuffer::new());
        assert_eq!(d.finish(&mut out), Some(3));
        assert_eq!(&out[..3], b".\r\n");
    }
}
