//! Validated protocol values: [`Domain`], [`Address`], [`Mailbox`] and [`HeaderText`].
//!
//! Every value is checked when it is built, so emitting a command or a header from it
//! cannot fail on content and cannot inject a second command: CR, LF, NUL and other
//! control characters are refused with a typed [`InputError`] before any byte is sent,
//! and lengths are held to RFC 5321 §4.5.3.1.
//!
//! The types borrow the caller's text (`&'a str`): nothing is copied.

use crate::error::{Field, InputError, InputErrorKind};
use crate::limits::{MAX_DOMAIN, MAX_LOCAL_PART, MAX_PATH};

/// A host name or address literal for `EHLO`/`HELO` (RFC 5321 §4.1.1.1, §4.1.3).
///
/// Either a dot-separated host name of letters, digits and hyphens (at most
/// [`MAX_DOMAIN`] octets, labels of at most 63) or an address literal in brackets
/// such as `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Domain<'a>(&'a str);

impl<'a> Domain<'a> {
    /// Checks `s` and wraps it.
    ///
    /// # Errors
    /// [`InputError`] when `s` is empty, too long, or holds a character a host name
    /// or address literal may not hold.
    pub fn try_new(s: &'a str) -> Result<Self, InputError> {
        check_controls(s.as_bytes())
            .and_then(|()| check_domain(s.as_bytes(), false))
            .map_err(|k| InputError::new(Field::Domain, k))?;
        Ok(Domain(s))
    }

    /// The text as given.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// Checks a domain free of control characters. With `utf8`, non-ASCII labels
/// (internationalised names sent with SMTPUTF8, RFC 6531) are allowed.
fn check_domain(b: &[u8], utf8: bool) -> Result<(), InputErrorKind> {
    if b.is_empty() {
        return Err(InputErrorKind::Empty);
    }
    if b.len() > MAX_DOMAIN {
        return Err(InputErrorKind::TooLong { max: MAX_DOMAIN });
    }
    if b.first() == Some(&b'[') {
        // Address literal, RFC 5321 §4.1.3: dcontent is %d33-90 / %d94-126.
        let [_, inner @ .., b']'] = b else {
            return Err(InputErrorKind::InvalidDomain);
        };
        if inner.is_empty() || inner.iter().any(|&c| !matches!(c, 33..=90 | 94..=126)) {
            return Err(InputErrorKind::InvalidDomain);
        }
        return Ok(());
    }
    // Labels of 1 to 63 letters, digits and hyphens (and non-ASCII bytes with
    // `utf8`), not starting or ending with a hyphen, read in one pass over the
    // bytes: `label` is the length of the current label, `last` the byte before.
    let mut label = 0;
    let mut last = b'.';
    for &c in b {
        if c == b'.' {
            if label == 0 || last == b'-' {
                return Err(InputErrorKind::InvalidDomain);
            }
            label = 0;
        } else {
            let ok = c.is_ascii_alphanumeric() || (c == b'-' && label > 0) || (utf8 && c >= 0x80);
            label += 1;
            if !ok || label > 63 {
                return Err(InputErrorKind::InvalidDomain);
            }
        }
        last = c;
    }
    if label == 0 || last == b'-' {
        return Err(InputErrorKind::InvalidDomain);
    }
    Ok(())
}

/// Refuses CR, LF, NUL and every other control character (C0 and DEL).
pub(crate) fn check_controls(b: &[u8]) -> Result<(), InputErrorKind> {
    for &c in b {
        match c {
            b'\r' | b'\n' => return Err(InputErrorKind::LineBreak),
            0 => return Err(InputErrorKind::Nul),
            0x01..=0x1f | 0x7f => return Err(InputErrorKind::Control),
            _ => {}
        }
    }
    Ok(())
}

/// An email address `local@domain` as used in `MAIL FROM:<…>` and `RCPT TO:<…>`.
///
/// Checked when built: one `@` separating a non-empty local part (dot-atom or
/// quoted string, at most [`MAX_LOCAL_PART`] octets) from a valid domain; the path
/// `<local@domain>` at most [`MAX_PATH`] octets (RFC 5321 §4.5.3.1); no control
/// characters, spaces outside a quoted local part, or angle brackets. Non-ASCII
/// text is allowed and marks the address as needing SMTPUTF8 (RFC 6531).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Address<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Address<'a> {
    /// Checks `s` and wraps it.
    ///
    /// # Errors
    /// [`InputError`] describing the first problem found.
    pub fn try_new(s: &'a str) -> Result<Self, InputError> {
        check_controls(s.as_bytes())
            .map_err(|k| InputError::new(Field::Address, k))
            .and_then(|()| Self::checked(s))
    }

    /// [`try_new`](Self::try_new) for a text already known to hold no control
    /// character.
    fn checked(s: &'a str) -> Result<Self, InputError> {
        Self::check(s).map_err(|k| InputError::new(Field::Address, k))
    }

    fn check(s: &'a str) -> Result<Self, InputErrorKind> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(InputErrorKind::Empty);
        }
        if b.len() + 2 > MAX_PATH {
            return Err(InputErrorKind::TooLong { max: MAX_PATH - 2 });
        }
        let at = b
            .iter()
            .rposition(|&c| c == b'@')
            .ok_or(InputErrorKind::MissingAt)?;
        // The parts as bytes: both are checked byte by byte, and slicing bytes
        // needs no character-boundary test.
        let local = b.get(..at).unwrap_or_default();
        let domain = b.get(at + 1..).unwrap_or_default();
        // An empty local part is refused by `check_local` (no atom).
        if local.len() > MAX_LOCAL_PART {
            return Err(InputErrorKind::TooLong {
                max: MAX_LOCAL_PART,
            });
        }
        check_local(local)?;
        check_domain(domain, true)?;
        Ok(Address { text: s, at })
    }

    /// The whole address as given.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// The part before the last `@`.
    pub fn local_part(&self) -> &'a str {
        self.text.get(..self.at).unwrap_or("")
    }

    /// The part after the last `@`.
    pub fn domain(&self) -> &'a str {
        self.text.get(self.at + 1..).unwrap_or("")
    }

    /// `@` and the domain: the address from its last `@`.
    pub(crate) fn at_domain(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or("")
    }

    /// Whether the address is pure ASCII; if not, the server must offer SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.text.is_ascii()
    }
}

/// RFC 5321 §4.1.2 `Local-part = Dot-string / Quoted-string` (with UTF-8 allowed, RFC 6531).
fn check_local(b: &[u8]) -> Result<(), InputErrorKind> {
    let invalid = Err(InputErrorKind::InvalidLocalPart);
    if b.first() == Some(&b'"') {
        // Quoted-string: "..." with qtextSMTP (%d32-33 / %d35-91 / %d93-126) or \-pairs.
        let [_, inner @ .., b'"'] = b else {
            return invalid;
        };
        let mut bytes = inner.iter();
        while let Some(&c) = bytes.next() {
            match c {
                b'\\' if bytes.next().is_none() => return invalid,
                b'"' => return invalid,
                _ => {}
            }
        }
        return Ok(());
    }
    // Dot-string: atoms of atext separated by single dots (no dot first, last or
    // twice in a row), in one pass.
    let mut after_dot = true;
    for &c in b {
        if c == b'.' {
            if after_dot {
                return invalid;
            }
            after_dot = true;
        } else if is_atext(c) {
            after_dot = false;
        } else {
            return invalid;
        }
    }
    if after_dot { invalid } else { Ok(()) }
}

/// RFC 5322 §3.2.3 `atext`, and any non-ASCII byte (UTF-8, RFC 6531).
pub(crate) fn is_atext(c: u8) -> bool {
    // One bit per ASCII byte: letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
    const ATEXT: [u32; 4] = [0, 0xa3ff_acfa, 0xc7ff_fffe, 0x7fff_ffff];
    ATEXT
        .get(usize::from(c >> 5))
        .is_none_or(|&w| (w >> (c & 31)) & 1 != 0)
}

/// A mailbox for the `From`, `To` and `Cc` headers: an [`Address`] with an optional
/// display name, e.g. `Alarm Panel <panel@example.com>`.
///
/// The display name may be any text without control characters; names with specials
/// are written as quoted strings, so the caller never quotes by hand, and non-ASCII
/// names as RFC 2047 encoded words (feature `encoded-words`; without it such a name
/// is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Mailbox<'a> {
    name: Option<&'a str>,
    address: Address<'a>,
}

impl<'a> Mailbox<'a> {
    /// A mailbox with no display name.
    pub fn new(address: Address<'a>) -> Self {
        Mailbox {
            name: None,
            address,
        }
    }

    /// A mailbox with a display name.
    ///
    /// # Errors
    /// [`InputError`] when `name` holds a control character (CR and LF included) or
    /// is longer than [`MAX_DISPLAY_NAME`]; without feature `encoded-words`,
    /// [`InputErrorKind::NeedsEncodedWords`] when it holds a character outside
    /// printable ASCII or `=?`.
    pub fn with_name(name: &'a str, address: Address<'a>) -> Result<Self, InputError> {
        check_controls(name.as_bytes()).map_err(|k| InputError::new(Field::DisplayName, k))?;
        Self::named(name, address)
    }

    /// [`with_name`](Self::with_name) for a name already known to hold no control
    /// character.
    fn named(name: &'a str, address: Address<'a>) -> Result<Self, InputError> {
        if name.len() > MAX_DISPLAY_NAME {
            let kind = InputErrorKind::TooLong {
                max: MAX_DISPLAY_NAME,
            };
            return Err(InputError::new(Field::DisplayName, kind));
        }
        #[cfg(not(feature = "encoded-words"))]
        if crate::message::header::needs_encoding(name) {
            return Err(InputError::new(
                Field::DisplayName,
                InputErrorKind::NeedsEncodedWords,
            ));
        }
        let name = name.trim_ascii();
        Ok(Mailbox {
            name: if name.is_empty() { None } else { Some(name) },
            address,
        })
    }

    /// Parses `"Name <local@domain>"`, `"\"Quoted, Name\" <local@domain>"`,
    /// `"<local@domain>"` or a bare `"local@domain"`.
    ///
    /// Surrounding double quotes of the name are removed (escapes inside are kept as
    /// written only when they are not `\"` or `\\`: simple names need no quoting).
    ///
    /// # Errors
    /// [`InputError`] when the text is not one of those shapes or a part is invalid.
    pub fn parse(s: &'a str) -> Result<Self, InputError> {
        let refuse = |k| InputError::new(Field::Mailbox, k);
        // No control character anywhere: the address and the name are checked
        // for everything else.
        check_controls(s.as_bytes()).map_err(refuse)?;
        let s = s.trim_ascii();
        // Byte searches and ASCII prefixes rather than `str` searches (smaller
        // code on a microcontroller); every byte looked for is ASCII, so each cut
        // is on a character boundary. A bare address is a mailbox with an empty
        // name, so one path checks both shapes.
        let (name, address) = match s.as_bytes().iter().position(|&c| c == b'<') {
            None => ("", s),
            Some(lt) => {
                // `<address>` ends the text, and holds no other angle bracket.
                let parts = s.split_at_checked(lt).and_then(|(name, rest)| {
                    let inner = rest.strip_prefix('<')?.strip_suffix('>')?;
                    let bracket = inner.bytes().any(|c| c == b'<' || c == b'>');
                    (!bracket).then_some((name, inner))
                });
                parts.ok_or(refuse(InputErrorKind::InvalidMailbox))?
            }
        };
        let address = Address::checked(address)?;
        let mut name = name.trim_ascii();
        if let Some(inner) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            if inner.bytes().any(|c| c == b'"' || c == b'\\') {
                return Err(refuse(InputErrorKind::InvalidMailbox));
            }
            name = inner;
        }
        Mailbox::named(name, address)
    }

    /// The display name, if any.
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }

    /// The address.
    pub fn address(&self) -> Address<'a> {
        self.address
    }
}

impl<'a> From<Address<'a>> for Mailbox<'a> {
    fn from(address: Address<'a>) -> Self {
        Mailbox::new(address)
    }
}

/// Longest display name accepted by [`Mailbox::with_name`] (a crate bound that keeps
/// the encoded header within reason; RFC 5322 sets none).
pub const MAX_DISPLAY_NAME: usize = 256;

/// Unstructured header text such as a `Subject` (RFC 5322 §3.2.5): any UTF-8 text
/// without control characters other than tab.
///
/// CR and LF are refused, so a header value can never start a new header or end the
/// header block. Long text is folded. Non-ASCII text, text holding `=?` and a word
/// too long for one line are written as RFC 2047 encoded words by the message writer
/// (feature `encoded-words`; without it such text is refused here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeaderText<'a>(&'a str);

impl<'a> HeaderText<'a> {
    /// Checks `s` and wraps it.
    ///
    /// # Errors
    /// [`InputErrorKind::LineBreak`] for CR or LF, [`InputErrorKind::Nul`] or
    /// [`InputErrorKind::Control`] for other control characters (tab is allowed),
    /// reported as [`Field::Subject`] (a caller's header value is reported as
    /// [`Field::HeaderValue`] by [`Header::try_new`](crate::message::Header::try_new)).
    /// Without feature `encoded-words`, [`InputErrorKind::NeedsEncodedWords`] for text
    /// that is not ASCII, holds `=?`, or has a run without a space or tab so long that
    /// its `Subject` line would pass 998 octets.
    pub fn try_new(s: &'a str) -> Result<Self, InputError> {
        // The first control character but tab, if any, names the error.
        let control = s.bytes().find(|&c| c != b'\t' && (c < 0x20 || c == 0x7f));
        check_controls(control.as_slice()).map_err(|k| InputError::new(Field::Subject, k))?;
        #[cfg(not(feature = "encoded-words"))]
        if !crate::message::header::subject_is_plain(s) {
            return Err(InputError::new(
                Field::Subject,
                InputErrorKind::NeedsEncodedWords,
            ));
        }
        Ok(HeaderText(s))
    }

    /// The text as given.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atext_table() {
        for c in 0..=255u8 {
            let atext =
                c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c) || c >= 0x80;
            assert_eq!(is_atext(c), atext, "{c:#x}");
        }
    }

    #[test]
    fn domains() {
        assert!(Domain::try_new("mail.example.com").is_ok());
        assert!(Domain::try_new("[192.0.2.1]").is_ok());
        assert!(Domain::try_new("[IPv6:2001:db8::1]").is_ok());
        assert_eq!(
            Domain::try_new("").map_err(|e| e.kind()),
            Err(InputErrorKind::Empty)
        );
        assert_eq!(
            Domain::try_new("a\r\nMAIL").map_err(|e| e.kind()),
            Err(InputErrorKind::LineBreak)
        );
        assert_eq!(
            Domain::try_new("a\0b").map_err(|e| e.kind()),
            Err(InputErrorKind::Nul)
        );
        assert_eq!(
            Domain::try_new("a b").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidDomain)
        );
        assert_eq!(
            Domain::try_new("-a.com").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidDomain)
        );
        assert_eq!(
            Domain::try_new("a..com").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidDomain)
        );
        assert_eq!(
            Domain::try_new("[1.2.3.4").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidDomain)
        );
        let long = "a.".repeat(128);
        assert_eq!(
            Domain::try_new(&long).map_err(|e| e.kind()),
            Err(InputErrorKind::TooLong { max: 255 })
        );
    }

    #[test]
    fn addresses() {
        let a = Address::try_new("alert.bot+x@example.com").unwrap();
        assert_eq!(a.local_part(), "alert.bot+x");
        assert_eq!(a.domain(), "example.com");
        assert_eq!(a.at_domain(), "@example.com");
        assert!(a.is_ascii());
        assert!(Address::try_new("\"john doe\"@example.com").is_ok());
        assert!(!Address::try_new("用户@例子.中国").unwrap().is_ascii());
        assert_eq!(
            Address::try_new("a@b.com\r\nRCPT TO:<x@y>").map_err(|e| e.kind()),
            Err(InputErrorKind::LineBreak)
        );
        assert_eq!(
            Address::try_new("a@b.com>").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidDomain)
        );
        assert_eq!(
            Address::try_new("a b@c.com").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidLocalPart)
        );
        assert_eq!(
            Address::try_new("ab.com").map_err(|e| e.kind()),
            Err(InputErrorKind::MissingAt)
        );
        assert_eq!(
            Address::try_new("@b.com").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidLocalPart)
        );
        assert_eq!(
            Address::try_new("a@").map_err(|e| e.kind()),
            Err(InputErrorKind::Empty)
        );
        assert_eq!(
            Address::try_new("a..b@c.com").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidLocalPart)
        );
        let local = "x".repeat(65);
        assert_eq!(
            Address::try_new(&[&local, "@a.com"].concat()).map_err(|e| e.kind()),
            Err(InputErrorKind::TooLong { max: 64 })
        );
    }

    #[test]
    fn mailboxes() {
        let m = Mailbox::parse("Alarm Panel <panel@example.com>").unwrap();
        assert_eq!(m.name(), Some("Alarm Panel"));
        assert_eq!(m.address().as_str(), "panel@example.com");
        let m = Mailbox::parse("\"Doe, John\" <j@example.com>").unwrap();
        assert_eq!(m.name(), Some("Doe, John"));
        let m = Mailbox::parse("<j@example.com>").unwrap();
        assert_eq!(m.name(), None);
        let m = Mailbox::parse("  j@example.com ").unwrap();
        assert_eq!(m.address().as_str(), "j@example.com");
        assert_eq!(
            Mailbox::parse("x <a@b.com").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidMailbox)
        );
        assert_eq!(
            Mailbox::parse("x\r\nBcc: y <a@b.com>").map_err(|e| e.kind()),
            Err(InputErrorKind::LineBreak)
        );
        assert_eq!(
            Mailbox::parse("x <a@b.com> <c@d.com>").map_err(|e| e.kind()),
            Err(InputErrorKind::InvalidMailbox)
        );
    }

    #[test]
    fn header_text() {
        assert!(HeaderText::try_new("Door opened\tat 3:00").is_ok());
        assert_eq!(
            HeaderText::try_new("Door opened\tat 3:00 — 温度").is_ok(),
            cfg!(feature = "encoded-words")
        );
        assert_eq!(
            HeaderText::try_new("x\r\nBcc: a@b").map_err(|e| e.kind()),
            Err(InputErrorKind::LineBreak)
        );
        assert_eq!(
            HeaderText::try_new("x\ny").map_err(|e| e.kind()),
            Err(InputErrorKind::LineBreak)
        );
        assert_eq!(
            HeaderText::try_new("x\u{7f}").map_err(|e| e.kind()),
            Err(InputErrorKind::Control)
        );
    }
}
