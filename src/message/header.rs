//! Header fields: the `Date` (RFC 5322 §3.3), mailbox lists with display names
//! (RFC 5322 §3.4), the `Subject` folded or as RFC 2047 encoded words, and the
//! attachment parameters (RFC 2045 §5.1 tokens, RFC 2183 `Content-Disposition` with
//! RFC 2231 extended parameters).
//!
//! Every function writes into a [`Sink`] and is a pure function of its arguments, so
//! the writer can render a piece again and skip what it already sent.

use super::{DateTime, Sink, base64};
use crate::address::Mailbox;
use crate::error::InputErrorKind;

/// Fold limit for structured headers: a line holding an encoded word may not exceed
/// 76 characters (RFC 2047 §2), which also keeps to the 78 of RFC 5322 §2.1.1.
const FOLD: usize = 76;
/// Fold limit for plain text (RFC 5322 §2.1.1 "SHOULD").
const SOFT: usize = crate::limits::RECOMMENDED_LINE;
/// Longest encoded-word (RFC 2047 §2).
const MAX_WORD: usize = 75;
/// `=?UTF-8?B?` + `?=`.
const WORD_OVERHEAD: usize = 12;
/// The most UTF-8 bytes one encoded word carries: 45 bytes are 60 base64 characters,
/// a 72-character word.
const MAX_PAYLOAD: usize = (MAX_WORD - WORD_OVERHEAD) / 4 * 3;
/// Below this many payload bytes at the current column, fold first.
const MIN_PAYLOAD: usize = 12;

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Writes `v` in decimal, zero-padded to at least `width` digits.
pub(crate) fn put_dec(sink: &mut Sink<'_>, v: u64, width: usize) {
    let mut buf = [0u8; 20];
    let at = crate::num::decimal(&mut buf, v, width);
    sink.put(buf.get(at..).unwrap_or_default());
}

/// Writes `bytes` as lowercase hex.
pub(crate) fn put_hex(sink: &mut Sink<'_>, bytes: &[u8]) {
    for &b in bytes {
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

/// Days since 1600-03-01 (one 400-year cycle before 1970's) to a proleptic
/// Gregorian (year, month 1-12, day 1-31), after H. Hinnant's `civil_from_days`,
/// in 32-bit arithmetic (no 64-bit division on 32-bit cores).
fn civil_from_days(days: u32) -> (u32, usize, u32) {
    // Days since 0000-03-01 of the cycle 1600 years before ours.
    let z = days + 719_468 - ERA_DAYS;
    let era = z / ERA_DAYS;
    let doe = z % ERA_DAYS;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u32::from(month <= 2);
    (year, month as usize, day)
}

/// The last second the 4-digit year of RFC 5322 §3.3 can carry,
/// 9999-12-31T23:59:59Z; later timestamps are written as this one.
const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

/// Largest zone offset the 4-digit `zone` of RFC 5322 §3.3 can carry: ±99:59.
const MAX_OFFSET: i16 = 99 * 60 + 59;

/// Writes `Date: Sat, 28 Nov 2026 15:16:23 +0800` CRLF (RFC 5322 §3.3), the local time
/// at the given offset. Offsets beyond ±99:59 are clamped to it, timestamps after
/// the year 9999 to its last second.
#[inline(never)]
pub(crate) fn date(sink: &mut Sink<'_>, dt: DateTime) {
    // Three letters per name in one string each: no table of 19 slices in flash.
    const DAYS: &[u8] = b"SunMonTueWedThuFriSat";
    const MONTHS: &[u8] = b"JanFebMarAprMayJunJulAugSepOctNovDec";
    let name = |table: &'static [u8], i: usize| table.get(i * 3..i * 3 + 3).unwrap_or_default();
    let offset = dt.offset_minutes.clamp(-MAX_OFFSET, MAX_OFFSET);
    // Seconds since 1570-01-01 (one 400-year cycle before the epoch), so that a
    // negative offset at the epoch stays positive; below 2^39, no overflow.
    let local = (dt.unix_seconds.min(MAX_UNIX_SECONDS) + u64::from(ERA_DAYS) * 86_400)
        .saturating_add_signed(i64::from(offset) * 60);
    // 86 400 = 128 · 675: two divisions that need no 64-bit routine.
    let (days, r) = crate::num::div_rem_small(local >> 7, 675);
    let secs = r << 7 | (local & 127) as u32;
    let days = days as u32; // < 4 · 10^6
    let (year, month, day) = civil_from_days(days);
    sink.put(b"Date: ");
    // The cycle is a whole number of weeks; 1970-01-01 was a Thursday.
    sink.put(name(DAYS, ((days + 4) % 7) as usize));
    sink.put(b", ");
    put_dec(sink, u64::from(day), 1);
    sink.put(b" ");
    sink.put(name(MONTHS, (month + 11) % 12));
    sink.put(b" ");
    put_dec(sink, u64::from(year), 4);
    sink.put(b" ");
    put_dec(sink, u64::from(secs / 3600), 2);
    sink.put(b":");
    put_dec(sink, u64::from(secs / 60 % 60), 2);
    sink.put(b":");
    put_dec(sink, u64::from(secs % 60), 2);
    sink.put(if offset < 0 { b" -" } else { b" +" });
    let off = u32::from(offset.unsigned_abs());
    put_dec(sink, u64::from(off / 60 * 100 + off % 60), 4);
    sink.put(b"\r\n");
}

// ---------------------------------------------------------------------------------
// RFC 2047 encoded words

/// Payload bytes for an encoded word starting at column `col`, so that the line stays
/// within [`FOLD`]; at most [`MAX_PAYLOAD`].
fn payload_at(col: usize) -> usize {
    let room = FOLD.saturating_sub(col + WORD_OVERHEAD);
    (room / 4 * 3).min(MAX_PAYLOAD)
}

/// The end of the next encoded word's text: at most `max` bytes from `start`, never
/// inside a UTF-8 character (but always at least one character).
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
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c)
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
    Encoded,
}

fn name_form(name: &str) -> NameForm {
    let b = name.as_bytes();
    if contains(b, b"=?") || b.iter().any(|&c| !(b' '..=b'~').contains(&c)) {
        NameForm::Encoded
    } else if b.iter().all(|&c| c == b' ' || is_atext(c)) {
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

/// Writes mailbox `i` of the address list of header `field` (`From`, `To`, `Cc`),
/// starting at column `col`: the field name before the first, a comma after all but
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
        sink.put(b":");
        line = Line {
            col: field.len() + 1,
            fresh: true,
        };
    }
    let addr = mb.address().as_str();
    let comma = usize::from(!last);
    match mb.name() {
        None => {
            line.space(sink, addr.len() + comma);
            sink.put(addr.as_bytes());
            line.col += addr.len();
        }
        Some(name) => {
            match name_form(name) {
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
                    line.col += name.len() + escapes + 2;
                }
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
            }
            line.space(sink, addr.len() + 2 + comma);
            sink.put(b"<");
            sink.put(addr.as_bytes());
            sink.put(b">");
            line.col += addr.len() + 2;
        }
    }
    if last {
        sink.put(b"\r\n");
        0
    } else {
        sink.put(b",");
        line.col + 1
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
/// would pass 998 octets (RFC 5322 §2.1.1). Otherwise it is written as encoded words.
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
/// RFC 2047 `B` encoded words of whole UTF-8 characters, one word per line.
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
    let end = if plain {
        if pos == 0 {
            sink.put(b" ");
            col += 1;
        }
        // The last fold point that keeps the line within SOFT, else the first one.
        let mut end = b.len();
        if col + (b.len() - pos) > SOFT {
            let mut best = None;
            for j in pos + 1..b.len() {
                if is_fold_point(b, j) {
                    if col + (j - pos) <= SOFT || best.is_none() {
                        best = Some(j);
                    }
                    if col + (j - pos) > SOFT {
                        break;
                    }
                }
            }
            end = best.unwrap_or(b.len());
        }
        sink.put(b.get(pos..end).unwrap_or_default());
        end
    } else {
        let end = word_end(text, pos, payload_at(col + 1));
        sink.put(b" ");
        encoded_word(sink, b.get(pos..end).unwrap_or_default());
        end
    };
    sink.put(b"\r\n");
    end
}

// ---------------------------------------------------------------------------------
// Attachment parameters

/// Longest attachment file name accepted, in octets (a crate bound that keeps the
/// `Content-Disposition` field bounded; RFC 2183 sets none).
pub const MAX_FILENAME: usize = 255;
/// Longest content type accepted (RFC 6838 §4.2: type and subtype names of at most
/// 127 characters each).
pub const MAX_CONTENT_TYPE: usize = 255;

use crate::address::check_controls;

/// RFC 2045 §5.1 `token` character: printable ASCII except space and `tspecials`.
fn is_token_char(c: u8) -> bool {
    (b'!'..=b'~').contains(&c) && !b"()<>@,;:\\\"/[]?=".contains(&c)
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
/// [`MAX_FILENAME`] octets.
pub(crate) fn check_filename(s: &str) -> Result<(), InputErrorKind> {
    check_controls(s.as_bytes())?;
    if s.is_empty() {
        return Err(InputErrorKind::Empty);
    }
    if s.len() > MAX_FILENAME {
        return Err(InputErrorKind::TooLong { max: MAX_FILENAME });
    }
    Ok(())
}

/// RFC 5987 `attr-char`: written as is in an RFC 2231 extended value.
fn is_attr_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&c)
}

fn pct_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&c| if is_attr_char(c) { 1 } else { 3 })
        .sum()
}

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
const EXT_PARAM: &[u8] = b" filename*=UTF-8''";

/// Writes `Content-Disposition: attachment; filename=…` (or `inline;`) CRLF (RFC 2183).
///
/// A printable-ASCII name without `"`, `\` or `=?` that fits one line is a quoted
/// string. Any other name uses RFC 2231 extended notation, percent-encoded UTF-8
/// (`filename*=UTF-8''%E6%8A%A5.csv`), split into numbered sections
/// (`filename*0*=`, `filename*1*=`, …) of whole characters when it does not fit one
/// line, so every line stays within 78 characters.
#[inline(never)]
pub(crate) fn disposition(sink: &mut Sink<'_>, name: &str, inline: bool) {
    let b = name.as_bytes();
    let head = if inline { INLINE } else { DISPOSITION };
    sink.put(head);
    let plain = !contains(b, b"=?")
        && b.iter()
            .all(|&c| (b' '..=b'~').contains(&c) && c != b'"' && c != b'\\');
    let plain_len = PLAIN_PARAM.len() + b.len() + 1;
    let ext_len = EXT_PARAM.len() + pct_len(b);
    if plain && plain_len <= SOFT {
        if head.len() + plain_len > SOFT {
            sink.put(b"\r\n");
        }
        sink.put(PLAIN_PARAM);
        sink.put(b);
        sink.put(b"\"");
    } else if ext_len <= SOFT {
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
    sink.put(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use std::string::String;
    use std::vec::Vec;

    fn render(f: impl FnOnce(&mut Sink<'_>)) -> String {
        let mut out = std::vec![0u8; 8192];
        let mut sink = Sink::new(&mut out, 0);
        f(&mut sink);
        assert!(!sink.overflowed());
        let n = sink.written();
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    fn date_str(unix_seconds: u64, offset_minutes: i16) -> String {
        render(|s| {
            date(
                s,
                DateTime {
                    unix_seconds,
                    offset_minutes,
                },
            )
        })
    }

    #[test]
    fn dates() {
        // Cross-checked with GNU date: TZ=Asia/Shanghai date -R -d @1795850183
        assert_eq!(
            date_str(1_795_850_183, 480),
            "Date: Sat, 28 Nov 2026 15:16:23 +0800\r\n"
        );
        assert_eq!(date_str(0, 0), "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n");
        assert_eq!(
            date_str(0, -90),
            "Date: Wed, 31 Dec 1969 22:30:00 -0130\r\n"
        );
        // 2000-02-29 (leap day of a century leap year), 2100-03-01 (not a leap year).
        assert_eq!(
            date_str(951_825_600, 0),
            "Date: Tue, 29 Feb 2000 12:00:00 +0000\r\n"
        );
        assert_eq!(
            date_str(4_107_542_400, 0),
            "Date: Mon, 1 Mar 2100 00:00:00 +0000\r\n"
        );
        assert_eq!(
            date_str(1_700_000_000, 345),
            "Date: Wed, 15 Nov 2023 03:58:20 +0545\r\n"
        );
        // Out-of-range input does not panic and stays in the grammar.
        assert_eq!(
            date_str(0, i16::MAX),
            "Date: Mon, 5 Jan 1970 03:59:00 +9959\r\n"
        );
        let far = date_str(u64::MAX, i16::MIN);
        assert!(
            far.starts_with("Date: ") && far.ends_with(" -9959\r\n"),
            "{far}"
        );
        // Beyond the year 9999: its last second.
        assert_eq!(
            date_str(u64::MAX, 0),
            "Date: Fri, 31 Dec 9999 23:59:59 +0000\r\n"
        );
    }

    /// The 32-bit calendar against the plain 64-bit one it replaced, over a spread
    /// of timestamps and offsets.
    #[test]
    fn dates_match_the_64_bit_reference() {
        fn reference(unix: u64, offset: i16) -> String {
            let local = i128::from(unix) + i128::from(offset) * 60;
            let days = local.div_euclid(86_400) as i64;
            let secs = local.rem_euclid(86_400) as u64;
            let z = days + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z.rem_euclid(146_097);
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let day = doy - (153 * mp + 2) / 5 + 1;
            let month = if mp < 10 { mp + 3 } else { mp - 9 };
            let year = yoe + era * 400 + i64::from(month <= 2);
            let wd = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
                [(days + 4).rem_euclid(7) as usize];
            let mo = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let off = offset.unsigned_abs();
            std::format!(
                "Date: {wd}, {day} {} {year:04} {:02}:{:02}:{:02} {}{:04}\r\n",
                mo[month as usize - 1],
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                if offset < 0 { '-' } else { '+' },
                off / 60 * 100 + off % 60
            )
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let unix = match i % 3 {
                0 => x % 4_102_444_800,    // 1970..2100
                1 => x % MAX_UNIX_SECONDS, // up to 9999
                _ => x % 200_000,          // around the epoch
            };
            let offset = ((x >> 40) % (2 * 5999 + 1)) as i16 - 5999;
            assert_eq!(
                date_str(unix, offset),
                reference(unix, offset),
                "{unix} {offset}"
            );
        }
    }

    #[test]
    fn decimal() {
        assert_eq!(render(|s| put_dec(s, 0, 1)), "0");
        assert_eq!(render(|s| put_dec(s, 7, 2)), "07");
        assert_eq!(render(|s| put_dec(s, 2026, 4)), "2026");
        assert_eq!(render(|s| put_dec(s, 12345, 2)), "12345");
        assert_eq!(render(|s| put_dec(s, u64::MAX, 4)), "18446744073709551615");
        assert_eq!(render(|s| put_hex(s, &[0, 0xab, 0x5f])), "00ab5f");
    }

    fn mb<'a>(name: Option<&'a str>, addr: &'a str) -> Mailbox<'a> {
        let a = Address::try_new(addr).unwrap();
        match name {
            Some(n) => Mailbox::with_name(n, a).unwrap(),
            None => Mailbox::new(a),
        }
    }

    fn list(field: &str, l: &[Mailbox<'_>]) -> String {
        let mut all = String::new();
        let mut col = 0;
        for i in 0..l.len() {
            all += &render(|s| col = list_item(s, field, l, i, col));
        }
        all
    }

    #[test]
    fn display_names() {
        assert_eq!(name_form("Alarm Panel"), NameForm::Bare);
        assert_eq!(name_form("J. Doe"), NameForm::Quoted);
        assert_eq!(name_form("Doe, \"J\""), NameForm::Quoted);
        assert_eq!(name_form("=?utf-8?q?x?="), NameForm::Encoded);
        assert_eq!(name_form("温度"), NameForm::Encoded);
        assert_eq!(
            list("From", &[mb(Some("Alarm Panel"), "panel@example.com")]),
            "From: Alarm Panel <panel@example.com>\r\n"
        );
        assert_eq!(
            list("To", &[mb(Some("Doe, \"J\" \\x"), "j@example.com")]),
            "To: \"Doe, \\\"J\\\" \\\\x\" <j@example.com>\r\n"
        );
        assert_eq!(
            list("To", &[mb(Some("温度传感器"), "t@example.com")]),
            "To: =?UTF-8?B?5rip5bqm5Lyg5oSf5Zmo?= <t@example.com>\r\n"
        );
        assert_eq!(
            list("Cc", &[mb(None, "a@b.example"), mb(None, "c@d.example")]),
            "Cc: a@b.example, c@d.example\r\n"
        );
    }

    #[test]
    fn lists_fold_after_commas() {
        let l: Vec<Mailbox<'_>> = (0..6)
            .map(|_| mb(Some("Operations Team"), "operations-team@example.com"))
            .collect();
        let out = list("To", &l);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines.last(), Some(&""));
        for line in &lines {
            assert!(line.len() <= FOLD, "{line:?}");
        }
        assert_eq!(
            lines[0],
            "To: Operations Team <operations-team@example.com>,"
        );
        assert_eq!(lines[1], " Operations Team <operations-team@example.com>,");
        assert_eq!(
            out.replace("\r\n", "").matches("Operations Team <").count(),
            6
        );
    }

    #[test]
    fn long_names_fold_between_words() {
        let name = "传感器".repeat(20); // 180 bytes
        let out = list("From", &[mb(Some(&name), "a@example.com")]);
        let mut decoded = Vec::new();
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= FOLD, "{line:?}");
            for word in line.split(' ') {
                if let Some(b64) = word.strip_prefix("=?UTF-8?B?") {
                    let b64 = b64.strip_suffix("?=").unwrap();
                    assert!(word.len() <= MAX_WORD);
                    let mut buf = [0u8; 64];
                    let n = ::base64::Engine::decode_slice(
                        &::base64::engine::general_purpose::STANDARD,
                        b64,
                        &mut buf,
                    )
                    .unwrap();
                    // Each word holds whole characters.
                    assert!(core::str::from_utf8(&buf[..n]).is_ok());
                    decoded.extend_from_slice(&buf[..n]);
                }
            }
        }
        assert_eq!(decoded, name.as_bytes());
        assert!(out.ends_with(" <a@example.com>\r\n"));
    }

    fn subject(text: &str) -> String {
        let plain = subject_is_plain(text);
        let mut all = String::new();
        let mut pos = 0;
        loop {
            let mut next = 0;
            all += &render(|s| next = subject_line(s, text, plain, pos));
            if next >= text.len() {
                return all;
            }
            assert!(next > pos);
            pos = next;
        }
    }

    #[test]
    fn plain_subjects() {
        assert_eq!(subject(""), "Subject:\r\n");
        assert_eq!(subject("Door opened"), "Subject: Door opened\r\n");
        let text = "Sensor 12 reported a temperature above the configured threshold of 40 degrees Celsius  twice";
        let out = subject(text);
        assert_eq!(
            out,
            "Subject: Sensor 12 reported a temperature above the configured threshold of 40\r\n degrees Celsius  twice\r\n"
        );
        // Unfolding (removing CRLF) gives the text back.
        assert_eq!(out.replace("\r\n", ""), ["Subject: ", text].concat());
        // Trailing blanks are not folded onto a blank line.
        let text = ["word ".repeat(20), "   ".into()].concat();
        let out = subject(&text);
        assert!(out.lines().all(|l| !l.trim().is_empty()));
        assert_eq!(out.replace("\r\n", ""), ["Subject: ", &text].concat());
    }

    #[test]
    fn long_words_become_encoded() {
        let word = "x".repeat(2000);
        assert!(!subject_is_plain(&word));
        let out = subject(&word);
        for line in out.split("\r\n") {
            assert!(line.len() <= FOLD, "{line:?}");
        }
        // A long word with room to spare stays plain.
        let word = "y".repeat(900);
        assert!(subject_is_plain(&["a ", &word, " b"].concat()));
        assert!(!subject_is_plain("a =?x?q?y?= b"));
    }

    #[test]
    fn encoded_subject_words() {
        let out = subject("温度告警");
        assert_eq!(out, "Subject: =?UTF-8?B?5rip5bqm5ZGK6K2m?=\r\n");
        let out = subject(&"温".repeat(40));
        let lines: Vec<&str> = out.split("\r\n").collect();
        // 39 bytes (13 characters) on the first line, then 45 (15) per line.
        assert_eq!(lines.len(), 3 + 1);
        assert!(lines[0].len() <= FOLD && lines[1].len() <= FOLD);
        assert_eq!(lines[0].len(), "Subject: ".len() + 12 + 52);
        assert_eq!(lines[1].len(), 1 + 12 + 60);
    }

    #[test]
    fn content_types() {
        assert_eq!(check_content_type("text/csv"), Ok(()));
        assert_eq!(check_content_type("application/vnd.ms-excel"), Ok(()));
        assert_eq!(check_content_type(""), Err(InputErrorKind::Empty));
        assert_eq!(check_content_type("text/"), Err(InputErrorKind::Empty));
        assert_eq!(
            check_content_type("text"),
            Err(InputErrorKind::InvalidContentType)
        );
        assert_eq!(
            check_content_type("text/csv; charset=utf-8"),
            Err(InputErrorKind::InvalidContentType)
        );
        assert_eq!(
            check_content_type("text/a/b"),
            Err(InputErrorKind::InvalidContentType)
        );
        assert_eq!(
            check_content_type("text/csv\r\nBcc: x"),
            Err(InputErrorKind::LineBreak)
        );
        assert_eq!(check_filename("a\nb"), Err(InputErrorKind::LineBreak));
        assert_eq!(check_filename("a\0b"), Err(InputErrorKind::Nul));
        assert_eq!(check_filename("a\tb"), Err(InputErrorKind::Control));
        assert_eq!(check_filename(""), Err(InputErrorKind::Empty));
        assert_eq!(
            check_filename(&"x".repeat(256)),
            Err(InputErrorKind::TooLong { max: 255 })
        );
    }

    #[test]
    fn dispositions() {
        assert_eq!(
            render(|s| disposition(s, "report.csv", false)),
            "Content-Disposition: attachment; filename=\"report.csv\"\r\n"
        );
        assert_eq!(
            render(|s| disposition(s, "a \"b\".txt", false)),
            "Content-Disposition: attachment; filename*=UTF-8''a%20%22b%22.txt\r\n"
        );
        assert_eq!(
            render(|s| disposition(s, "温度.csv", false)),
            "Content-Disposition: attachment; filename*=UTF-8''%E6%B8%A9%E5%BA%A6.csv\r\n"
        );
        assert_eq!(
            render(|s| disposition(s, "温度数据.csv", false)),
            "Content-Disposition: attachment;\r\n filename*=UTF-8''%E6%B8%A9%E5%BA%A6%E6%95%B0%E6%8D%AE.csv\r\n"
        );
        let long = "数据".repeat(10);
        let out = render(|s| disposition(s, &long, false));
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines[0], "Content-Disposition: attachment;");
        assert!(lines[1].starts_with(" filename*0*=UTF-8''%E6%95%B0"));
        assert!(lines[2].starts_with(" filename*1*=%"));
        let mut joined = String::new();
        for line in &lines[1..lines.len() - 1] {
            assert!(line.len() <= SOFT, "{line}");
            let v = line.split_once("*=").unwrap().1.trim_end_matches(';');
            joined += v;
        }
        let expect: String = long.bytes().map(|c| std::format!("%{c:02X}")).collect();
        assert_eq!(joined, ["UTF-8''", &expect].concat());
        let out = render(|s| disposition(s, &"€".repeat(85), false));
        assert!(out.contains(" filename*10*="));
        assert!(out.split("\r\n").all(|l| l.len() <= SOFT));
    }
}
