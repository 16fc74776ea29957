//! The reply parser: RFC 5321 §4.2 reply lines, one at a time, with `nom`.
//!
//! The grammar (RFC 5321 §4.2, with the `250\r\n` form that §4.2 allows for a reply
//! without text):
//!
//! ```text
//! Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//!                 Reply-code [ SP textstring ] CRLF
//! Reply-code = %x32-35 %x30-35 %x30-39
//! ```
//!
//! Text may be any octet but CR, LF and NUL (servers send tabs and non-UTF-8 bytes,
//! so text stays `&[u8]`). The parser is streaming: it reports [`Status::Partial`]
//! while a line is incomplete and fails as soon as the bytes present cannot start a
//! valid line, so a caller never waits for more bytes from a peer already known to
//! be broken. The result for a prefix never contradicts the result for the whole
//! input: once a prefix is `Complete` or an error, every longer input gives the same.
//!
//! This is the only file of the crate that uses `nom`; no `nom` type is public.

use nom::bytes::complete as cpl;
use nom::bytes::streaming::take_till;
use nom::number::streaming::be_u8;
use nom::{IResult, Parser};

use super::{EnhancedCode, ReplyCode, ReplyError, Status};
use crate::limits::{DEFAULT_MAX_REPLY_LINES, MAX_REPLY_LINE};

/// Limits applied by the parser (httparse-style explicit knobs).
///
/// The default is strict: lines of at most [`MAX_REPLY_LINE`] (512) octets counting
/// the code and CRLF (RFC 5321 §4.5.3.1.5), and at most
/// [`DEFAULT_MAX_REPLY_LINES`] (64) lines per reply. Servers that send longer lines
/// can be accepted by raising `max_line_len` (the receive buffer must then hold one
/// such line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParserConfig {
    /// Longest accepted line in octets, counting the reply code and the final CRLF.
    pub max_line_len: usize,
    /// Most lines accepted in one reply.
    pub max_lines: u16,
}

impl ParserConfig {
    /// [`MAX_REPLY_LINE`] octets per line, [`DEFAULT_MAX_REPLY_LINES`] lines per reply.
    pub const DEFAULT: ParserConfig = ParserConfig {
        max_line_len: MAX_REPLY_LINE,
        max_lines: DEFAULT_MAX_REPLY_LINES,
    };

    /// No practical limit: used to walk lines that were already checked.
    const UNBOUNDED: ParserConfig = ParserConfig {
        max_line_len: usize::MAX,
        max_lines: u16::MAX,
    };

    /// The same configuration with `max_line_len` octets per line (counting code and CRLF).
    pub const fn with_max_line_len(self, max_line_len: usize) -> Self {
        ParserConfig {
            max_line_len,
            ..self
        }
    }

    /// The same configuration with at most `max_lines` lines per reply.
    pub const fn with_max_lines(self, max_lines: u16) -> Self {
        ParserConfig { max_lines, ..self }
    }
}

impl Default for ParserConfig {
    fn default() -> Self {
        ParserConfig::DEFAULT
    }
}

/// One reply line (RFC 5321 §4.2): `"250-text\r\n"` is code 250, not last, text `b"text"`.
///
/// `text` borrows the input and excludes the separator and the CRLF; it may hold any
/// octet but CR, LF and NUL, including tabs and bytes that are not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Line<'a> {
    /// The three-digit reply code.
    pub code: ReplyCode,
    /// `true` for the last line of a reply (code followed by a space or CRLF),
    /// `false` for a continuation line (code followed by `-`).
    pub last: bool,
    /// The text after the separator, without CRLF. Empty for `250\r\n` and `250-\r\n`.
    pub text: &'a [u8],
}

impl<'a> Line<'a> {
    /// The RFC 3463 enhanced status code at the start of the text (sent by servers that
    /// advertise ENHANCEDSTATUSCODES, RFC 2034 §3), and the text after it.
    ///
    /// `"5.7.8 Authentication failed"` gives `Some((5.7.8, b"Authentication failed"))`.
    /// The class must be `2`, `4` or `5`, subject and detail 1 to 3 digits each
    /// (RFC 3463 §2), and the code must be followed by a space or the end of the text;
    /// the spaces after it are not part of the returned text. Anything else gives
    /// `None`, and callers use [`text`](Line::text) unchanged.
    pub fn enhanced(&self) -> Option<(EnhancedCode, &'a [u8])> {
        split_enhanced(self.text)
    }
}

/// The enhanced status code at the start of `text` and the text after it (see
/// [`Line::enhanced`]).
pub(super) fn split_enhanced(text: &[u8]) -> Option<(EnhancedCode, &[u8])> {
    enhanced_code(text).ok().map(|(rest, code)| (code, rest))
}

/// Parses one reply line from the start of `input` (RFC 5321 §4.2).
///
/// Returns `Ok(Status::Complete((line, consumed)))`, where `consumed` counts the CRLF,
/// or `Ok(Status::Partial)` when no CRLF has arrived yet and nothing is wrong so far.
/// Bytes after the line are left alone.
///
/// Errors are reported as soon as the bytes present are invalid, even before the line
/// is complete:
///
/// - [`ReplyError::InvalidCode`]: a byte of the code that no valid code can have at
///   that place (first digit 2–5, second 0–5, third 0–9, see [`ReplyCode::new`]);
/// - [`ReplyError::InvalidSeparator`]: the fourth byte is not `' '`, `'-'` or CR;
/// - [`ReplyError::BareLf`]: an LF not preceded by CR;
/// - [`ReplyError::BareCr`]: a CR followed by anything but LF (known once that byte
///   is present);
/// - [`ReplyError::Nul`]: a NUL byte;
/// - [`ReplyError::LineTooLong`]: no complete line within `config.max_line_len`
///   bytes (a line of exactly `max_line_len` bytes with its CRLF is accepted).
///
/// Never panics, and `consumed <= input.len()`.
pub fn parse_line<'a>(
    input: &'a [u8],
    config: &ParserConfig,
) -> Result<Status<(Line<'a>, usize)>, ReplyError> {
    // Parsing only the first `max_line_len` bytes keeps the result of a prefix and of
    // the whole input in agreement: whatever lies beyond the limit is never looked at.
    let window = input.get(..config.max_line_len).unwrap_or(input);
    match line(window) {
        Ok((rest, line)) => Ok(Status::Complete((
            line,
            window.len().saturating_sub(rest.len()),
        ))),
        Err(nom::Err::Incomplete(_)) if window.len() >= config.max_line_len => {
            Err(ReplyError::LineTooLong)
        }
        Err(nom::Err::Incomplete(_)) => Ok(Status::Partial),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
    }
}

/// Checks that reply lines pushed one by one form one reply (RFC 5321 §4.2.1): every
/// line has the first line's code, and there are at most `config.max_lines` lines.
///
/// It keeps no bytes, so a reply of any number of lines needs only one line of
/// buffer: parse a line with [`parse_line`], push it, discard its bytes.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Assembler {
    config: ParserConfig,
    code: Option<ReplyCode>,
    lines: u16,
}

impl Assembler {
    /// An assembler waiting for the first line of a reply.
    pub const fn new(config: ParserConfig) -> Self {
        Assembler {
            config,
            code: None,
            lines: 0,
        }
    }

    /// Adds the next line of the current reply.
    ///
    /// Returns `Ok(true)` when `line` was the last line of the reply; the assembler is
    /// then reset and waits for the next reply. `Ok(false)` means more lines follow.
    ///
    /// Errors: [`ReplyError::MismatchedCode`] when the code differs from the first
    /// line's; [`ReplyError::TooManyLines`] when the reply cannot end within
    /// `config.max_lines` lines (reported as soon as a continuation line fills the
    /// last allowed place, without waiting for one more line). After an error the
    /// state is unchanged (the refused line is not counted); call
    /// [`reset`](Assembler::reset) before reusing it.
    pub fn push(&mut self, line: &Line<'_>) -> Result<bool, ReplyError> {
        if self.code.is_some_and(|code| code != line.code) {
            return Err(ReplyError::MismatchedCode);
        }
        let count = self.lines.saturating_add(1);
        let max = self.config.max_lines;
        if count > max || (!line.last && count >= max) {
            return Err(ReplyError::TooManyLines);
        }
        if line.last {
            self.reset();
            Ok(true)
        } else {
            self.code = Some(line.code);
            self.lines = count;
            Ok(false)
        }
    }

    /// Forgets the current reply.
    pub fn reset(&mut self) {
        self.code = None;
        self.lines = 0;
    }

    /// Whether some lines of a reply were pushed and its last line has not come yet.
    pub fn in_progress(&self) -> bool {
        self.lines > 0
    }

    /// The number of lines pushed into the current reply (0 after its last line).
    pub fn lines(&self) -> u16 {
        self.lines
    }

    /// The limits in use.
    pub fn config(&self) -> &ParserConfig {
        &self.config
    }
}

/// A whole reply (RFC 5321 §4.2) held in one buffer: its code and its lines' text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reply<'a> {
    /// Every line of the reply, CRLFs included, already checked.
    bytes: &'a [u8],
    first: &'a [u8],
    code: ReplyCode,
    lines: u16,
}

impl<'a> Reply<'a> {
    /// The reply code (the same on every line).
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The text of each line, in order, without code, separator and CRLF.
    pub fn lines(&self) -> ReplyLines<'a> {
        ReplyLines {
            rest: self.bytes,
            remaining: self.lines,
        }
    }

    /// The number of lines (at least 1).
    pub fn line_count(&self) -> u16 {
        self.lines
    }

    /// The text of the first line (for EHLO, the server's domain and greeting).
    pub fn first_line(&self) -> &'a [u8] {
        self.first
    }

    /// The RFC 3463 enhanced status code at the start of the first line, if any
    /// (see [`Line::enhanced`]).
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        enhanced_code(self.first).ok().map(|(_, code)| code)
    }
}

/// Iterator over the text of each line of a [`Reply`], from [`Reply::lines`].
#[derive(Debug, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReplyLines<'a> {
    rest: &'a [u8],
    remaining: u16,
}

impl<'a> Iterator for ReplyLines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match parse_line(self.rest, &ParserConfig::UNBOUNDED) {
            Ok(Status::Complete((line, consumed))) if self.remaining > 0 => {
                self.rest = self.rest.get(consumed..).unwrap_or_default();
                self.remaining -= 1;
                Some(line.text)
            }
            _ => {
                self.rest = &[];
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (
            usize::from(self.remaining),
            Some(usize::from(self.remaining)),
        )
    }
}

impl ExactSizeIterator for ReplyLines<'_> {}
impl core::iter::FusedIterator for ReplyLines<'_> {}

/// Parses a complete, possibly multi-line reply from the start of `input` with
/// [`ParserConfig::DEFAULT`]. See [`parse_reply_with`].
pub fn parse_reply(input: &[u8]) -> Result<Status<(Reply<'_>, usize)>, ReplyError> {
    parse_reply_with(input, &ParserConfig::DEFAULT)
}

/// Parses a complete, possibly multi-line reply from the start of `input`.
///
/// Returns `Ok(Status::Complete((reply, consumed)))` once the last line (code followed
/// by a space or CRLF) is present; `consumed <= input.len()` counts every line of the
/// reply and bytes after it (the next reply, if pipelined) are left alone.
/// `Ok(Status::Partial)` means the last line has not arrived yet. Errors are those of
/// [`parse_line`] and [`Assembler::push`], reported as soon as they are known.
pub fn parse_reply_with<'a>(
    input: &'a [u8],
    config: &ParserConfig,
) -> Result<Status<(Reply<'a>, usize)>, ReplyError> {
    let mut assembler = Assembler::new(*config);
    let mut head: Option<(ReplyCode, &'a [u8])> = None;
    let mut offset = 0usize;
    loop {
        let rest = input.get(offset..).unwrap_or_default();
        let (line, consumed) = match parse_line(rest, config)? {
            Status::Complete(done) => done,
            Status::Partial => return Ok(Status::Partial),
        };
        let (code, first) = *head.get_or_insert((line.code, line.text));
        let lines = assembler.lines().saturating_add(1);
        offset = offset.saturating_add(consumed);
        if assembler.push(&line)? {
            let reply = Reply {
                bytes: input.get(..offset).unwrap_or(input),
                first,
                code,
                lines,
            };
            return Ok(Status::Complete((reply, offset)));
        }
    }
}

type NomError<'a> = nom::error::Error<&'a [u8]>;
type Res<'a, O> = IResult<&'a [u8], O, ReplyError>;

/// Replaces a `nom` error with the grammar element that failed; `Incomplete` is kept.
fn expect<'a, O>(result: IResult<&'a [u8], O, NomError<'a>>, error: ReplyError) -> Res<'a, O> {
    result.map_err(|e| e.map(|_| error))
}

/// `Reply-line` (RFC 5321 §4.2): code, separator, text, CRLF.
fn line(i: &[u8]) -> Res<'_, Line<'_>> {
    let (i, code) = reply_code(i)?;
    let (i, last) = separator(i)?;
    let (i, text) = text(i)?;
    let (i, ()) = line_end(i)?;
    Ok((i, Line { code, last, text }))
}

/// The next octet (streaming: `Incomplete` when there is none), with `error` for a
/// parse error. Every token of the line grammar is one octet or the text, so one
/// instance of nom's `be_u8` reads them all; the checks on the octet are plain
/// matches (each combinator instance costs flash on a Cortex-M).
fn octet(i: &[u8], error: ReplyError) -> Res<'_, u8> {
    expect(be_u8(i), error)
}

/// One digit between `lo` and `hi` (ASCII), as its value.
fn digit(i: &[u8], lo: u8, hi: u8) -> Res<'_, u16> {
    let (i, d) = octet(i, ReplyError::InvalidCode)?;
    if (lo..=hi).contains(&d) {
        Ok((i, u16::from(d.wrapping_sub(b'0'))))
    } else {
        Err(nom::Err::Error(ReplyError::InvalidCode))
    }
}

/// `Reply-code = %x32-35 %x30-35 %x30-39` (RFC 5321 §4.2), checked digit by digit so
/// that `1`, `6` or `26` fail before the third digit arrives.
fn reply_code(mut i: &[u8]) -> Res<'_, ReplyCode> {
    let mut code = 0;
    for (lo, hi) in [(b'2', b'5'), (b'0', b'5'), (b'0', b'9')] {
        let (rest, d) = digit(i, lo, hi)?;
        (i, code) = (rest, code * 10 + d);
    }
    // The digits were checked one by one: no need for `ReplyCode::new`'s checks.
    Ok((i, ReplyCode(code)))
}

/// `" "` ends the reply, `"-"` continues it. A CR right after the code is the
/// text-less last line `250\r\n`; it is left for [`line_end`].
fn separator(i: &[u8]) -> Res<'_, bool> {
    match octet(i, ReplyError::InvalidSeparator)? {
        (rest, b' ') => Ok((rest, true)),
        (rest, b'-') => Ok((rest, false)),
        (_, b'\r') => Ok((i, true)),
        _ => Err(nom::Err::Error(ReplyError::InvalidSeparator)),
    }
}

/// `textstring`: every octet up to CR, LF or NUL (which [`line_end`] sorts out).
/// Streaming `take_till` only ever reports `Incomplete` (no terminator yet), so the
/// error given to [`expect`] is never used.
fn text(i: &[u8]) -> Res<'_, &[u8]> {
    expect(
        take_till(|b: u8| matches!(b, b'\r' | b'\n' | 0)).parse(i),
        ReplyError::BareCr,
    )
}

/// `CRLF`, or the error for the byte that stopped the text: LF alone, NUL, or a CR
/// not followed by LF (a lone CR at the end of the input is still incomplete).
fn line_end(i: &[u8]) -> Res<'_, ()> {
    // Only CR, LF or NUL can come here: `text` stops at nothing else.
    let error = match octet(i, ReplyError::BareCr)? {
        (rest, b'\r') => match octet(rest, ReplyError::BareCr)? {
            (rest, b'\n') => return Ok((rest, ())),
            _ => ReplyError::BareCr,
        },
        (_, b'\n') => ReplyError::BareLf,
        (_, 0) => ReplyError::Nul,
        _ => ReplyError::BareCr,
    };
    Err(nom::Err::Error(error))
}

/// Parse errors of [`enhanced_code`]: the callers only ask whether there is a code.
type Enh<'a, O> = IResult<&'a [u8], O, ()>;

/// The next octet of complete input if `ok` holds for it.
fn octet_if(i: &[u8], ok: impl Fn(u8) -> bool) -> Enh<'_, u8> {
    match nom::number::complete::be_u8::<_, ()>(i) {
        Ok((rest, c)) if ok(c) => Ok((rest, c)),
        _ => Err(nom::Err::Error(())),
    }
}

/// The value of 1 to 3 ASCII digits (complete input).
fn number(i: &[u8]) -> Enh<'_, u16> {
    let (i, digits) = cpl::take_while_m_n(1, 3, |b: u8| b.is_ascii_digit()).parse(i)?;
    let n = digits
        .iter()
        .fold(0u16, |n, &d| n * 10 + u16::from(d.wrapping_sub(b'0')));
    Ok((i, n))
}

/// `status-code = class "." subject "." detail` (RFC 3463 §2), followed by a space
/// or the end of the text; returns the text after the spaces.
fn enhanced_code(i: &[u8]) -> Enh<'_, EnhancedCode> {
    let (i, class) = octet_if(i, |c| matches!(c, b'2' | b'4' | b'5'))?;
    let (i, _) = octet_if(i, |c| c == b'.')?;
    let (i, subject) = number(i)?;
    let (i, _) = octet_if(i, |c| c == b'.')?;
    let (i, detail) = number(i)?;
    let (rest, spaces) = cpl::take_while(|b| b == b' ').parse(i)?;
    if spaces.is_empty() && !rest.is_empty() {
        return Err(nom::Err::Error(()));
    }
    let code = EnhancedCode {
        class: class.wrapping_sub(b'0'),
        subject,
        detail,
    };
    Ok((rest, code))
}

#[cfg(test)]
mod tests;
