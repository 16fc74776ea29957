//! The text and HTML bodies: the transfer encoding each goes out in (7bit, base64,
//! or with feature `quoted-printable` quoted-printable) and their lines.

#[cfg(feature = "quoted-printable")]
use super::super::qp;
use super::super::{TextEncoding, base64};
use super::{BOUNDARY_MARK, Sink};
use crate::limits::MAX_MESSAGE_LINE;

/// The transfer encoding actually used for the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::message) enum Cte {
    SevenBit,
    #[cfg(feature = "quoted-printable")]
    QuotedPrintable,
    Base64,
}

impl Cte {
    pub(super) fn name(self) -> &'static [u8] {
        match self {
            Cte::SevenBit => b"7bit",
            #[cfg(feature = "quoted-printable")]
            Cte::QuotedPrintable => b"quoted-printable",
            Cte::Base64 => b"base64",
        }
    }
}

/// Whether `text` can go out as `7bit` (RFC 2045 §2.7): ASCII, no NUL, lines of at most
/// 998 octets, and in a multipart body no line that could be a boundary.
fn seven_bit_safe(text: &[u8], multipart: bool) -> bool {
    let mut line = 0;
    for &c in text {
        match c {
            0 | 0x80.. => return false,
            b'\r' | b'\n' => line = 0,
            _ => {
                line += 1;
                if line > MAX_MESSAGE_LINE {
                    return false;
                }
            }
        }
    }
    !(multipart
        && text
            .windows(BOUNDARY_MARK.len())
            .any(|w| w == BOUNDARY_MARK))
}

/// The transfer encoding of `text` asked to go out as `enc`.
#[cfg(feature = "quoted-printable")]
pub(in crate::message) fn resolve(text: &[u8], enc: TextEncoding, multipart: bool) -> Cte {
    match enc {
        TextEncoding::QuotedPrintable => Cte::QuotedPrintable,
        TextEncoding::Base64 => Cte::Base64,
        _ if seven_bit_safe(text, multipart) => Cte::SevenBit,
        TextEncoding::SevenBit => Cte::QuotedPrintable,
        TextEncoding::Auto => {
            let high = text.iter().filter(|&&c| c >= 0x80).count();
            if high.saturating_mul(3) <= text.len() {
                Cte::QuotedPrintable
            } else {
                Cte::Base64
            }
        }
    }
}

/// The transfer encoding of `text` asked to go out as `enc`: without
/// quoted-printable, `7bit` when the text allows it, else base64.
#[cfg(not(feature = "quoted-printable"))]
pub(in crate::message) fn resolve(text: &[u8], enc: TextEncoding, multipart: bool) -> Cte {
    if enc != TextEncoding::Base64 && seven_bit_safe(text, multipart) {
        Cte::SevenBit
    } else {
        Cte::Base64
    }
}

/// Writes the text line at `at` (an empty line for an empty text in a multipart
/// body); returns the position of the next, `None` after the last.
pub(super) fn text_body(
    sink: &mut Sink<'_>,
    text: &[u8],
    cte: Cte,
    at: base64::Canon,
    multipart: bool,
) -> Option<base64::Canon> {
    if at.at_end(text) {
        // Only for an empty text: a part body of one empty line.
        if multipart {
            sink.put(b"\r\n");
        }
        return None;
    }
    let next = match cte {
        Cte::SevenBit => {
            let rest = text.get(at.pos..).unwrap_or_default();
            let len = rest
                .iter()
                .position(|&c| c == b'\r' || c == b'\n')
                .unwrap_or(rest.len());
            sink.put(rest.get(..len).unwrap_or_default());
            sink.put(b"\r\n");
            let brk = match rest.get(len..) {
                Some([b'\r', b'\n', ..]) => 2,
                Some([]) | None => 0,
                Some(_) => 1,
            };
            base64::Canon {
                pos: at.pos + len + brk,
                lf: false,
            }
        }
        #[cfg(feature = "quoted-printable")]
        Cte::QuotedPrintable => base64::Canon {
            pos: qp::line(sink, text, at.pos),
            lf: false,
        },
        Cte::Base64 => base64::text_line(sink, text, at),
    };
    if next.at_end(text) { None } else { Some(next) }
}
