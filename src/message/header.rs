//! Header fields: the `Date` (RFC 5322 §3.3), mailbox lists with display names
//! (RFC 5322 §3.4), the `Subject` folded or as RFC 2047 encoded words, and the
//! attachment parameters (RFC 2045 §5.1 tokens, RFC 2183 `Content-Disposition` with
//! RFC 2231 extended parameters).
//!
//! The encoders (RFC 2047 encoded words, RFC 2231 extended file names) are in
//! feature `encoded-words`. Without it, text that would need them is refused when
//! it is built ([`needs_encoding`], [`is_plain`], [`filename_is_plain`]), so the
//! writer only ever meets text it writes as is.
//!
//! Every function writes into a [`Sink`] and is a pure function of its arguments, so
//! the writer can render a piece again and skip what it already sent.

#[cfg(feature = "encoded-words")]
use super::base64;
use super::{DateTime, Sink};
use crate::address::Mailbox;

/// Fold limit for structured headers: a line holding an encoded word may not exceed
/// 76 characters (RFC 2047 §2), which also keeps to the 78 of RFC 5322 §2.1.1.
const FOLD: usize = 76;
/// Fold limit for plain text (RFC 5322 §2.1.1 "SHOULD").
const SOFT: usize = crate::limits::RECOMMENDED_LINE;
/// Longest encoded-word (RFC 2047 §2).
#[cfg(feature = "encoded-words")]
const MAX_WORD: usize = 75;
/// `=?UTF-8?B?` + `?=`.
#[cfg(feature = "encoded-words")]
const WORD_OVERHEAD: usize = 12;
/// The most UTF-8 bytes one encoded word carries: 45 bytes are 60 base64 characters,
/// a 72-character word.
#[cfg(feature = "encoded-words")]
const MAX_PAYLOAD: usize = (MAX_WORD - WORD_OVERHEAD) / 4 * 3;
/// Below this many payload bytes at the current column, fold first.
#[cfg(feature = "encoded-words")]
const MIN_PAYLOAD: usize = 12;

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
#[cfg(feature = "encoded-words")]
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Writes `v` in decimal, zero-padded to at least `width` digits.
#[cfg(any(test, feature = "encoded-words"))]
pub(crate) fn put_dec(sink: &mut Sink<'_>, v: u64, width: usize) {
    let mut buf = [0u8; 20];
    let at = crate::num::decimal(&mut buf, v, width);
    sink.put(buf.get(at..).unwrap_or_default());
}

/// Writes `bytes` as lowercase hex, last byte first when `reverse`.
pub(crate) fn put_hex(sink: &mut Sink<'_>, bytes: &[u8], reverse: bool) {
    for i in 0..bytes.len() {
        let Some(&b) = bytes.get(if reverse { bytes.len() - 1 - i } else { i }) else {
            break;
        };
        sink.put(&[
            HEX_LOWER[usize::from(b >> 4)],
            HEX_LOWER[usize::from(b & 15)],
        ]);
    }
}

// ---------------------------------------------------------------------------------
// Date

/// Days in a 400-year cycle of the Gregorian calendar.
const ERA_DAYS: u32 = 146_097;

/// The last second the 4-digit year of RFC 5322 §3.3 can carry,
/// 9999-12-31T23:59:59Z; later timestamps are written as this one.
const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

/// Largest zone offset the 4-digit `zone` of RFC 5322 §3.3 can carry: ±99:59.
const MAX_OFFSET: i16 = 99 * 60 + 59;

/// Takes `unit` from `v` as often as it goes; returns how often.
///
/// The date is counted off by subtraction, as no count in it passes a few hundred:
/// a core without a divider (Cortex-M0) calls a library routine for every
/// division, and each call site costs more flash than a loop.
#[inline(never)]
fn take(v: &mut u32, unit: u32) -> u32 {
    let mut n = 0;
    while *v >= unit {
        *v -= unit;
        n += 1;
    }
    n
}

/// Writes `v`, below 100, as two digits at `at` of `line`.
#[inline(never)]
fn two_digits(line: &mut [u8], at: usize, v: u32) {
    // `(v * 103) >> 10` is `v / 10` for every `v` below 100: no division.
    let tens = (v * 103) >> 10;
    if let Some([hi, lo]) = line.get_mut(at..at + 2) {
        *hi = b'0' + tens as u8;
        *lo = b'0' + (v - 10 * tens) as u8;
    }
}

/// Writes `Date: Sat, 28 Nov 2026 15:16:23 +0800` CRLF (RFC 5322 §3.3), the local time
/// at the given offset. Offsets beyond ±99:59 are clamped to it, timestamps after
/// the year 9999 to its last second.
///
/// The line is formed in one buffer of two-digit fields (32-bit arithmetic only,
/// two divisions) and written with two puts: the day of the month has no leading
/// zero.
#[inline(never)]
pub(crate) fn date(sink: &mut Sink<'_>, dt: DateTime) {
    // Three letters per name in one string each: no table of 19 slices in flash.
    // The days start on a Thursday, as 1570-01-01 (and 1970-01-01) did.
    const DAYS: &[u8] = b"ThuFriSatSunMonTueWed";
    const MONTHS: &[u8] = b"JanFebMarAprMayJunJulAugSepOctNovDec";
    let offset = dt.offset_minutes.clamp(-MAX_OFFSET, MAX_OFFSET);
    // Seconds since 1570-01-01 (one 400-year cycle before the epoch), so that a
    // negative offset at the epoch stays positive; below 2^39, no overflow.
    let local = (dt.unix_seconds.min(MAX_UNIX_SECONDS) + u64::from(ERA_DAYS) * 86_400)
        .wrapping_add_signed(i64::from(i32::from(offset) * 60));
    // 86 400 = 128 · 675, and `local >> 7` fits a u32: one 32-bit division.
    let high = (local >> 7) as u32;
    let (days, mut secs) = (high / 675, (high % 675) << 7 | (local & 127) as u32);

    // Days since 1600-01-01, 30 years (7 of them leap) after 1570-01-01; counted
    // off by centuries, years and months, each long by the leap years within it.
    let mut d = days - 10_957;
    let mut cc = 16;
    while d >= 36_524 + u32::from(cc % 4 == 0) {
        d -= 36_524 + u32::from(cc % 4 == 0);
        cc += 1;
    }
    // 1 when year `yy` of the century is a leap year.
    let mut leap = u32::from(cc % 4 == 0);
    let mut yy = 0;
    while d >= 365 + leap {
        d -= 365 + leap;
        yy += 1;
        leap = u32::from(yy % 4 == 0);
    }
    // Month lengths less 28, two bits a month from January; February's holds the
    // leap day.
    let mut lengths = 0x00ee_fbb3 | leap << 2;
    let mut month = 0;
    while d >= 28 + (lengths & 3) {
        d -= 28 + (lengths & 3);
        lengths >>= 2;
        month += 1;
    }
    let mut off = u32::from(offset.unsigned_abs());

    let mut line = *b"Date: Www, DD Mmm YYYY HH:MM:SS +ZZZZ\r\n";
    let mut name = |at: usize, table: &[u8], i: usize| {
        if let (Some(to), Some(from)) = (line.get_mut(at..at + 3), table.get(i * 3..i * 3 + 3)) {
            to.copy_from_slice(from);
        }
    };
    // The cycle is a whole number of weeks.
    name(6, DAYS, (days % 7) as usize);
    name(14, MONTHS, month as usize);
    let day = d + 1;
    two_digits(&mut line, 11, day);
    // The year 10 000 (a positive offset on 9999-12-31) is written as 0000.
    two_digits(&mut line, 18, if cc < 100 { cc } else { 0 });
    two_digits(&mut line, 20, yy);
    two_digits(&mut line, 23, take(&mut secs, 3600));
    two_digits(&mut line, 26, take(&mut secs, 60));
    two_digits(&mut line, 29, secs);
    two_digits(&mut line, 33, take(&mut off, 60));
    two_digits(&mut line, 35, off);
    if let (true, Some(sign)) = (offset < 0, line.get_mut(32)) {
        *sign = b'-';
    }
    sink.put(line.get(..11).unwrap_or_default());
    sink.put(line.get(11 + usize::from(day < 10)..).unwrap_or_default());
}

// ---------------------------------------------------------------------------------
// RFC 2047 encoded words

/// Payload bytes for an encoded word starting at column `col`, so that the line stays
/// within [`FOLD`]; at most [`MAX_PAYLOAD`].
#[cfg(feature = "encoded-words")]
fn payload_at(col: usize) -> usize {
    let room = FOLD.saturating_sub(col + WORD_OVERHEAD);
    (room / 4 * 3).min(MAX_PAYLOAD)
}

/// The end of the next encoded word's text: at most `max` bytes from `start`, never
/// inside a UTF-8 character (but always at least one character).
#[cfg(feature = "encoded-words")]
fn word_end(text: &str, start: usize, max: usize) -> usize {
    let mut end = (start + max).min(text.len());
    while end > start && !text.is_char_boundary(end) {
        end -= 1;
    }
    if end == start {
        // `max` is smaller than the next character: take the character whole.
        end = start + 1;
        while end < text.len() && !text.is_char_boundary(end) {
            end += 1;
        }
    }
    end.min(text.len())
}

/// Writes `=?UTF-8?B?…?=` for `bytes`; returns its length.
#[cfg(feature = "encoded-words")]
fn encoded_word(sink: &mut Sink<'_>, bytes: &[u8]) -> usize {
    sink.put(b"=?UTF-8?B?");
    base64::put(sink, bytes);
    sink.put(b"?=");
    WORD_OVERHEAD + base64::encoded_len(bytes.len())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------
// Mailboxes

/// RFC 5322 §3.2.3 `atext`.
pub(crate) fn is_atext(c: u8) -> bool {
    // The address checks' table (which also lets UTF-8 through), for ASCII only.
    c < 0x80 && crate::address::is_atext(c)
}

/// How a display name is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameForm {
    /// Atoms and spaces only: written as is.
    Bare,
    /// Printable ASCII with specials: a quoted string with `\"` and `\\` escapes.
    Quoted,
    /// Anything else (non-ASCII, or text that would read as an encoded word):
    /// RFC 2047 encoded words.
    #[cfg(feature = "encoded-words")]
    Encoded,
}

/// Whether a display name can only be written as encoded words: it holds a
/// character outside printable ASCII, or `=?`. Without feature `encoded-words`
/// such a name is refused by `Mailbox::with_name`.
pub(crate) fn needs_encoding(name: &str) -> bool {
    let b = name.as_bytes();
    contains(b, b"=?") || b.iter().any(|&c| !(b' '..=b'~').contains(&c))
}

fn name_form(name: &str) -> NameForm {
    let b = name.as_bytes();
    #[cfg(feature = "encoded-words")]
    if needs_encoding(name) {
        return NameForm::Encoded;
    }
    if b.iter().all(|&c| c == b' ' || is_atext(c)) {
        NameForm::Bare
    } else {
        NameForm::Quoted
    }
}

/// Folding state within one header field.
struct Line {
    col: usize,
    /// Only the field name is on the line: folding would gain nothing.
    fresh: bool,
}

impl Line {
    /// Writes the whitespace before a token of `len` characters: a space, or a fold
    /// (CRLF SP) when the token would pass [`FOLD`].
    fn space(&mut self, sink: &mut Sink<'_>, len: usize) {
        if !self.fresh && self.col + 1 + len > FOLD {
            sink.put(b"\r\n ");
            self.col = 1;
        } else {
            sink.put(b" ");
            self.col += 1;
        }
        self.fresh = false;
    }
}

/// The length to fold for before a display name of `name` characters followed by an
/// address token of `addr`: the whole mailbox when it fits a folded line, so that a
/// name stays on the line of its address; else the name alone.
fn keep_whole(name: usize, addr: usize) -> usize {
    let whole = name + 1 + addr;
    if whole < FOLD { whole } else { name }
}

/// Writes mailbox `i` of the address list of header `field` (`From:`, `To:`, `Cc:`,
/// with its colon), starting at column `col`: the field name before the first, a comma after all but
/// the last and CRLF after the last. Returns the column it ends at.
///
/// Lines are folded (CRLF SP) between tokens so that they stay within 76 characters
/// where a token allows; no token is longer than a 254-octet address plus brackets, so
/// no line comes near 998.
#[inline(never)]
pub(crate) fn list_item(
    sink: &mut Sink<'_>,
    field: &str,
    list: &[Mailbox<'_>],
    i: usize,
    col: usize,
) -> usize {
    let Some(mb) = list.get(i) else {
        return col;
    };
    let last = i + 1 == list.len();
    let mut line = Line { col, fresh: false };
    if i == 0 {
        sink.put(field.as_bytes());
        line = Line {
            col: field.len(),
            fresh: true,
        };
    }
    let addr = mb.address().as_str();
    let comma = usize::from(!last);
    if let Some(name) = mb.name() {
        match name_form(name) {
            #[cfg(feature = "encoded-words")]
            NameForm::Encoded => {
                let mut p = 0;
                while p < name.len() {
                    let mut max = payload_at(line.col + 1);
                    if max < MIN_PAYLOAD && !line.fresh {
                        sink.put(b"\r\n");
                        line.col = 0;
                        max = payload_at(1);
                    }
                    let end = word_end(name, p, max);
                    sink.put(b" ");
                    line.col +=
                        1 + encoded_word(sink, name.as_bytes().get(p..end).unwrap_or_default());
                    line.fresh = false;
                    p = end;
                }
            }
            NameForm::Bare => {
                line.space(sink, keep_whole(name.len(), addr.len() + 2 + comma));
                sink.put(name.as_bytes());
                line.col += name.len();
            }
            NameForm::Quoted => {
                let escapes = name.bytes().filter(|&c| c == b'"' || c == b'\\').count();
                let quoted = name.len() + escapes + 2;
                line.space(sink, keep_whole(quoted, addr.len() + 2 + comma));
                sink.put(b"\"");
                for c in name.bytes() {
                    if c == b'"' || c == b'\\' {
                        sink.put(b"\\");
                    }
                    sink.put(&[c]);
                }
                sink.put(b"\"");
                line.col += quoted;
            }
        }
    }
    // The address, in angle brackets after a name.
    let br = usize::from(mb.name().is_some());
    line.space(sink, addr.len() + 2 * br + comma);
    sink.put(b"<".get(..br).unwrap_or_default());
    sink.put(addr.as_bytes());
    // The closing bracket and the end of the field or the comma, in one put.
    let end: &[u8] = if last { b">\r\n" } else { b">," };
    sink.put(end.get(1 - br..).unwrap_or_default());
    if last {
        0
    } else {
        line.col + addr.len() + 2 * br + 1
    }
}

// ---------------------------------------------------------------------------------
// Subject

const SUBJECT: &[u8] = b"Subject:";

fn is_wsp(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// A place to fold plain text: a space or tab followed by a non-blank character, so
/// that no folded line is blank (RFC 5322 §3.2.2).
fn is_fold_point(b: &[u8], j: usize) -> bool {
    j > 0 && b.get(j).is_some_and(|&c| is_wsp(c)) && b.get(j + 1).is_some_and(|&c| !is_wsp(c))
}

/// Whether the subject can be written as plain folded text: ASCII, nothing that would
/// read as an encoded word, and no piece between fold points so long that its line
/// would pass 998 octets (RFC 5322 §2.1.1). Otherwise it is written as encoded words
/// (without feature `encoded-words`, `HeaderText::try_new` refuses it).
pub(crate) fn subject_is_plain(text: &str) -> bool {
    is_plain(SUBJECT.len(), text)
}

/// [`subject_is_plain`] for a field whose name and colon take `name_len` octets.
pub(crate) fn is_plain(name_len: usize, text: &str) -> bool {
    let b = text.as_bytes();
    if !text.is_ascii() || contains(b, b"=?") {
        return false;
    }
    let mut start = 0;
    for j in 0..=b.len() {
        if j == b.len() || is_fold_point(b, j) {
            if name_len + 1 + (j - start) > crate::limits::MAX_MESSAGE_LINE {
                return false;
            }
            start = j;
        }
    }
    true
}

/// Writes the line of the `Subject` field that starts at `pos` of `text` (0 for the
/// first) and returns where the next line starts; `text.len()` means the field is
/// done. `plain` is [`subject_is_plain`] of the text.
///
/// Plain text is folded before a blank so lines stay within 78 characters where the
/// words allow (unfolding gives the text back exactly). Other text is written as
/// RFC 2047 `B` encoded words of whole UTF-8 characters, one word per line (only
/// with feature `encoded-words`; without it every text is written plain, as text
/// that is not was refused when it was built).
pub(crate) fn subject_line(sink: &mut Sink<'_>, text: &str, plain: bool, pos: usize) -> usize {
    unstructured_line(sink, b"Subject", text, plain, pos)
}

/// [`subject_line`] for the unstructured field `name` (without its colon).
#[inline(never)]
pub(crate) fn unstructured_line(
    sink: &mut Sink<'_>,
    name: &[u8],
    text: &str,
    plain: bool,
    pos: usize,
) -> usize {
    let b = text.as_bytes();
    let mut col = 0;
    if pos == 0 {
        sink.put(name);
        sink.put(b":");
        col = name.len() + 1;
        if b.is_empty() {
            sink.put(b"\r\n");
            return 0;
        }
    }
    #[cfg(feature = "encoded-words")]
    if !plain {
        let end = word_end(text, pos, payload_at(col + 1));
        sink.put(b" ");
        encoded_word(sink, b.get(pos..end).unwrap_or_default());
        sink.put(b"\r\n");
        return end;
    }
    #[cfg(not(feature = "encoded-words"))]
    let _ = plain;
    let end = {
        if pos == 0 {
            sink.put(b" ");
            col += 1;
        }
        // The last fold point that keeps the line within SOFT, else the first one.
        let mut end = b.len();
        if col + (b.len() - pos) > SOFT {
            for j in pos + 1..b.len() {
                if is_fold_point(b, j) {
                    if end < b.len() && col + (j - pos) > SOFT {
                        break;
                    }
                    end = j;
                }
            }
        }
        sink.put(b.get(pos..end).unwrap_or_default());
        end
    };
    sink.put(b"\r\n");
    end
}

mod params;
pub use params::{MAX_CONTENT_TYPE, MAX_FILENAME, MAX_PLAIN_FILENAME};
pub(crate) use params::{check_content_type, check_filename, disposition};

#[cfg(test)]
mod tests;
