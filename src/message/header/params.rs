//! The attachment parameters: RFC 2045 §5.1 content types and the RFC 2183
//! `Content-Disposition` with its file name, a quoted string or (feature
//! `encoded-words`) RFC 2231 extended notation.

#[cfg(feature = "encoded-words")]
use super::{HEX_UPPER, put_dec, word_end};
use super::{SOFT, Sink, contains};
use crate::error::InputErrorKind;

/// Longest attachment file name accepted, in octets (a crate bound that keeps the
/// `Content-Disposition` field bounded; RFC 2183 sets none).
pub const MAX_FILENAME: usize = 255;
/// Longest content type accepted (RFC 6838 §4.2: type and subtype names of at most
/// 127 characters each).
pub const MAX_CONTENT_TYPE: usize = 255;

use crate::address::check_controls;

/// RFC 2045 §5.1 `token` character: printable ASCII except space and `tspecials`.
pub(super) fn is_token_char(c: u8) -> bool {
    // One bit per ASCII byte (bit `c % 32` of word `c / 32`): no search of a string
    // of the specials in the image.
    const TOKEN: [u32; 4] = [0, 0x03ff_6cfa, 0xc7ff_fffe, 0x7fff_ffff];
    TOKEN
        .get(usize::from(c >> 5))
        .is_some_and(|&w| (w >> (c & 31)) & 1 != 0)
}

/// Checks an attachment's content type: `type/subtype`, both RFC 2045 tokens, no
/// parameters.
pub(crate) fn check_content_type(s: &str) -> Result<(), InputErrorKind> {
    let b = s.as_bytes();
    check_controls(b)?;
    if b.len() > MAX_CONTENT_TYPE {
        return Err(InputErrorKind::TooLong {
            max: MAX_CONTENT_TYPE,
        });
    }
    let slash = b.iter().position(|&c| c == b'/');
    let Some((ty, sub)) = slash
        .and_then(|i| b.split_at_checked(i))
        .map(|(t, s)| (t, s.get(1..).unwrap_or_default()))
    else {
        return Err(if b.is_empty() {
            InputErrorKind::Empty
        } else {
            InputErrorKind::InvalidContentType
        });
    };
    if ty.is_empty() || sub.is_empty() {
        return Err(InputErrorKind::Empty);
    }
    if !ty.iter().chain(sub).all(|&c| is_token_char(c)) {
        return Err(InputErrorKind::InvalidContentType);
    }
    Ok(())
}

/// Checks an attachment's file name: not empty, no control characters, at most
/// [`MAX_FILENAME`] octets; without feature `encoded-words`, also
/// [`filename_is_plain`] (else [`InputErrorKind::NeedsEncodedWords`]).
pub(crate) fn check_filename(s: &str) -> Result<(), InputErrorKind> {
    check_controls(s.as_bytes())?;
    if s.is_empty() {
        return Err(InputErrorKind::Empty);
    }
    if s.len() > MAX_FILENAME {
        return Err(InputErrorKind::TooLong { max: MAX_FILENAME });
    }
    #[cfg(not(feature = "encoded-words"))]
    if !filename_is_plain(s) {
        return Err(InputErrorKind::NeedsEncodedWords);
    }
    Ok(())
}

/// Whether a file name is written as a quoted string on one line: printable ASCII
/// without `"`, `\` or `=?`, at most [`MAX_PLAIN_FILENAME`] octets. Any other name
/// needs RFC 2231 notation (feature `encoded-words`).
pub(crate) fn filename_is_plain(name: &str) -> bool {
    let b = name.as_bytes();
    !contains(b, b"=?")
        && b.len() <= MAX_PLAIN_FILENAME
        && b.iter()
            .all(|&c| (b' '..=b'~').contains(&c) && c != b'"' && c != b'\\')
}

/// Longest file name written as a quoted string: ` filename="…"` stays within 78
/// characters on a line of its own (RFC 5322 §2.1.1).
pub const MAX_PLAIN_FILENAME: usize = SOFT - PLAIN_PARAM.len() - 1;

/// RFC 5987 `attr-char`: written as is in an RFC 2231 extended value.
#[cfg(feature = "encoded-words")]
fn is_attr_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&c)
}

#[cfg(feature = "encoded-words")]
fn pct_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&c| if is_attr_char(c) { 1 } else { 3 })
        .sum()
}

#[cfg(feature = "encoded-words")]
fn put_pct(sink: &mut Sink<'_>, bytes: &[u8]) {
    for &c in bytes {
        if is_attr_char(c) {
            sink.put(&[c]);
        } else {
            sink.put(&[
                b'%',
                HEX_UPPER[usize::from(c >> 4)],
                HEX_UPPER[usize::from(c & 15)],
            ]);
        }
    }
}

const DISPOSITION: &[u8] = b"Content-Disposition: attachment;";
const INLINE: &[u8] = b"Content-Disposition: inline;";
const PLAIN_PARAM: &[u8] = b" filename=\"";
#[cfg(feature = "encoded-words")]
const EXT_PARAM: &[u8] = b" filename*=UTF-8''";

/// Writes `Content-Disposition: attachment; filename=…` (or `inline;`) CRLF (RFC 2183).
///
/// A printable-ASCII name without `"`, `\` or `=?` that fits one line is a quoted
/// string. Any other name uses RFC 2231 extended notation, percent-encoded UTF-8
/// (`filename*=UTF-8''%E6%8A%A5.csv`), split into numbered sections
/// (`filename*0*=`, `filename*1*=`, …) of whole characters when it does not fit one
/// line, so every line stays within 78 characters (only with feature
/// `encoded-words`: without it every name is plain, as others were refused when
/// the attachment was made).
#[inline(never)]
pub(crate) fn disposition(sink: &mut Sink<'_>, name: &str, inline: bool) {
    let b = name.as_bytes();
    let head = if inline { INLINE } else { DISPOSITION };
    sink.put(head);
    if cfg!(not(feature = "encoded-words")) || filename_is_plain(name) {
        if head.len() + PLAIN_PARAM.len() + b.len() + 1 > SOFT {
            sink.put(b"\r\n");
        }
        sink.put(PLAIN_PARAM);
        sink.put(b);
        sink.put(b"\"\r\n");
    } else {
        #[cfg(feature = "encoded-words")]
        {
            extended_filename(sink, head, name);
            sink.put(b"\r\n");
        }
    }
}

/// The RFC 2231 form of a file name that is not plain: on the line of `head` when
/// it fits, else on lines of its own in numbered sections.
#[cfg(feature = "encoded-words")]
fn extended_filename(sink: &mut Sink<'_>, head: &[u8], name: &str) {
    let b = name.as_bytes();
    let ext_len = EXT_PARAM.len() + pct_len(b);
    if ext_len <= SOFT {
        if head.len() + ext_len > SOFT {
            sink.put(b"\r\n");
        }
        sink.put(EXT_PARAM);
        put_pct(sink, b);
    } else {
        let mut p = 0;
        let mut section = 0;
        while p < b.len() {
            sink.put(b"\r\n filename*");
            put_dec(sink, section, 1);
            sink.put(b"*=");
            let mut col = 13 + usize::from(section >= 10);
            if section == 0 {
                sink.put(b"UTF-8''");
                col += 7;
            }
            let start = p;
            // Whole characters while the line (with its `;`) stays within SOFT.
            while p < b.len() {
                let end = word_end(name, p, 1);
                let len = pct_len(b.get(p..end).unwrap_or_default());
                if p > start && col + len + 1 > SOFT {
                    break;
                }
                col += len;
                p = end;
            }
            put_pct(sink, b.get(start..p).unwrap_or_default());
            if p < b.len() {
                sink.put(b";");
            }
            section += 1;
        }
    }
}
