//! SMTP replies (RFC 5321 §4.2): codes, enhanced status codes (RFC 3463 / RFC 2034),
//! the line-by-line streaming parser and EHLO capabilities.
//!
//! Replies are parsed one line at a time ([`parse_line`]), so a reply of any number
//! of lines needs only one line ([`MAX_REPLY_LINE`](crate::limits::MAX_REPLY_LINE)
//! bytes) of buffer; [`Assembler`] checks that the lines of one reply belong together.
//! [`parse_reply`] parses a whole reply held in one buffer. Incomplete input is
//! [`Status::Partial`], never an error. Only `parse.rs` uses `nom`, and no `nom` type
//! is public.

use core::fmt;

mod ehlo;
mod parse;
mod text;

pub use ehlo::{AuthMechanisms, Capabilities, Extensions};
pub use parse::{
    Assembler, Line, ParserConfig, Reply, ReplyLines, parse_line, parse_reply, parse_reply_with,
};
pub use text::{MAX_TEXT, Response, Text};

/// The result of parsing input that may be incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status<T> {
    /// A whole item was parsed.
    Complete(T),
    /// More bytes are needed; nothing was consumed.
    Partial,
}

/// A three-digit reply code (RFC 5321 §4.2.1): first digit 2–5, second 0–5, third 0–9.
///
/// `1yz` does not occur in SMTP and is refused by the parser, as are codes such as
/// `000`, `099` or `600`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// `220` Service ready.
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    /// `221` Service closing transmission channel.
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// `235` Authentication successful (RFC 4954).
    pub const AUTH_OK: ReplyCode = ReplyCode(235);
    /// `250` Requested mail action okay, completed.
    pub const OK: ReplyCode = ReplyCode(250);
    /// `334` AUTH continuation (RFC 4954).
    pub const AUTH_CONTINUE: ReplyCode = ReplyCode(334);
    /// `354` Start mail input.
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);
    /// `421` Service not available, closing transmission channel.
    pub const SERVICE_NOT_AVAILABLE: ReplyCode = ReplyCode(421);

    /// Checks the digits. Returns `None` outside RFC 5321 §4.2's grammar.
    pub const fn new(code: u16) -> Option<ReplyCode> {
        let (a, b) = (code / 100, (code / 10) % 10);
        if a >= 2 && a <= 5 && b <= 5 {
            Some(ReplyCode(code))
        } else {
            None
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The class given by the first digit.
    pub const fn category(self) -> Category {
        match self.0 / 100 {
            2 => Category::PositiveCompletion,
            3 => Category::PositiveIntermediate,
            4 => Category::TransientNegative,
            _ => Category::PermanentNegative,
        }
    }

    /// `2yz`: the command succeeded.
    pub const fn is_positive(self) -> bool {
        self.0 / 100 == 2
    }

    /// `3yz`: the command was accepted and more is expected (`354`, `334`).
    pub const fn is_intermediate(self) -> bool {
        self.0 / 100 == 3
    }

    /// `4yz`: failed this time; trying again later may succeed.
    pub const fn is_transient(self) -> bool {
        self.0 / 100 == 4
    }

    /// `5yz`: failed; repeating the same command will fail again.
    pub const fn is_permanent(self) -> bool {
        self.0 / 100 == 5
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The class of a reply code (RFC 5321 §4.2.1, first digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Category {
    /// `2yz`
    PositiveCompletion,
    /// `3yz`
    PositiveIntermediate,
    /// `4yz`
    TransientNegative,
    /// `5yz`
    PermanentNegative,
}

/// An enhanced mail system status code `class.subject.detail` (RFC 3463), sent at the
/// start of reply text by servers that advertise ENHANCEDSTATUSCODES (RFC 2034).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EnhancedCode {
    /// `2` success, `4` persistent transient failure, `5` permanent failure.
    pub class: u8,
    /// The subject (0–999).
    pub subject: u16,
    /// The detail (0–999).
    pub detail: u16,
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Why bytes from the server are not a valid reply. One variant per grammar element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ReplyError {
    /// The line does not start with three digits forming a valid code (first 2–5, second 0–5).
    InvalidCode,
    /// The code is not followed by a space, a hyphen or CRLF.
    InvalidSeparator,
    /// A line of a multi-line reply has a different code than the first line.
    MismatchedCode,
    /// A line longer than the configured maximum (512 octets with CRLF by default).
    LineTooLong,
    /// More lines in one reply than the configured maximum.
    TooManyLines,
    /// A line ends in LF without CR.
    BareLf,
    /// A CR not followed by LF inside a line.
    BareCr,
    /// A NUL byte in the text.
    Nul,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplyError::InvalidCode => "invalid reply code",
            ReplyError::InvalidSeparator => "reply code not followed by ' ', '-' or CRLF",
            ReplyError::MismatchedCode => "continuation line with a different code",
            ReplyError::LineTooLong => "reply line too long",
            ReplyError::TooManyLines => "too many reply lines",
            ReplyError::BareLf => "bare LF in reply",
            ReplyError::BareCr => "bare CR in reply",
            ReplyError::Nul => "NUL in reply",
        })
    }
}

impl core::error::Error for ReplyError {}
