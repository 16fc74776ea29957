//! EHLO capabilities (RFC 5321 §4.1.1.1): the service extensions a server lists after
//! the first line of its `250` reply to EHLO, one keyword per line.
//!
//! Only the extensions the crate acts on are kept, as bit sets; unknown keywords,
//! unknown SASL mechanisms and malformed parameters are ignored, so any bytes are
//! accepted and nothing is copied.

use core::ops::{BitOr, BitOrAssign};

use super::Reply;

/// A bit set of the EHLO extensions the crate acts on (RFC 5321 §4.1.1.1 keywords,
/// matched without regard to case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Extensions(u16);

impl Extensions {
    /// `PIPELINING`: commands may be sent in groups (RFC 2920).
    pub const PIPELINING: Extensions = Extensions(1 << 0);
    /// `SIZE`: the server states its message size limit (RFC 1870).
    pub const SIZE: Extensions = Extensions(1 << 1);
    /// `8BITMIME`: 8-bit message bodies (RFC 6152).
    pub const EIGHTBITMIME: Extensions = Extensions(1 << 2);
    /// `SMTPUTF8`: UTF-8 addresses and headers (RFC 6531).
    pub const SMTPUTF8: Extensions = Extensions(1 << 3);
    /// `STARTTLS`: the connection can be upgraded to TLS (RFC 3207).
    pub const STARTTLS: Extensions = Extensions(1 << 4);
    /// `ENHANCEDSTATUSCODES`: replies start with RFC 3463 codes (RFC 2034).
    pub const ENHANCEDSTATUSCODES: Extensions = Extensions(1 << 5);
    /// `CHUNKING`: the `BDAT` command (RFC 3030).
    pub const CHUNKING: Extensions = Extensions(1 << 6);
    /// `DSN`: delivery status notifications (RFC 3461).
    pub const DSN: Extensions = Extensions(1 << 7);
    /// `AUTH`: SMTP authentication (RFC 4954), with the mechanisms in [`AuthMechanisms`].
    pub const AUTH: Extensions = Extensions(1 << 8);
    /// `BINARYMIME`: binary message bodies with `BDAT` (RFC 3030).
    pub const BINARYMIME: Extensions = Extensions(1 << 9);

    /// The keyword of each extension, as sent by servers, in the order of their
    /// bits (keyword `i` is bit `i`): one string rather than a table of slices,
    /// each name followed by a space.
    const KEYWORDS: &'static [u8] =
        b"PIPELINING SIZE 8BITMIME SMTPUTF8 STARTTLS ENHANCEDSTATUSCODES CHUNKING DSN AUTH BINARYMIME ";

    /// No extension.
    pub const fn empty() -> Self {
        Extensions(0)
    }

    /// Whether every extension in `other` is in `self` (always true for an empty `other`).
    pub const fn contains(self, other: Extensions) -> bool {
        self.0 & other.0 == other.0
    }

    /// Adds the extensions in `other`.
    pub fn insert(&mut self, other: Extensions) {
        self.0 |= other.0;
    }

    /// The extensions in either set.
    pub const fn union(self, other: Extensions) -> Self {
        Extensions(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The extension named by an EHLO keyword, ignoring case.
    fn from_keyword(keyword: &[u8]) -> Option<Extensions> {
        bit_of(Extensions::KEYWORDS, keyword).map(|i| Extensions(1 << i))
    }
}

impl BitOr for Extensions {
    type Output = Extensions;

    fn bitor(self, rhs: Extensions) -> Extensions {
        self.union(rhs)
    }
}

impl BitOrAssign for Extensions {
    fn bitor_assign(&mut self, rhs: Extensions) {
        self.insert(rhs);
    }
}

/// A bit set of SASL mechanisms (RFC 4954 §3) the crate knows, matched without
/// regard to case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AuthMechanisms(u8);

impl AuthMechanisms {
    /// `PLAIN` (RFC 4616).
    pub const PLAIN: AuthMechanisms = AuthMechanisms(1 << 0);
    /// `LOGIN` (draft-murchison-sasl-login).
    pub const LOGIN: AuthMechanisms = AuthMechanisms(1 << 1);
    /// `XOAUTH2` (Google and Microsoft OAuth 2.0 bearer tokens).
    pub const XOAUTH2: AuthMechanisms = AuthMechanisms(1 << 2);
    /// `CRAM-MD5` (RFC 2195).
    pub const CRAM_MD5: AuthMechanisms = AuthMechanisms(1 << 3);
    /// `OAUTHBEARER` (RFC 7628).
    pub const OAUTHBEARER: AuthMechanisms = AuthMechanisms(1 << 4);

    /// The name of each mechanism, as sent by servers, in the order of their bits,
    /// each followed by a space.
    const NAMES: &'static [u8] = b"PLAIN LOGIN XOAUTH2 CRAM-MD5 OAUTHBEARER ";

    /// No mechanism.
    pub const fn empty() -> Self {
        AuthMechanisms(0)
    }

    /// Whether every mechanism in `other` is in `self` (always true for an empty `other`).
    pub const fn contains(self, other: AuthMechanisms) -> bool {
        self.0 & other.0 == other.0
    }

    /// Adds the mechanisms in `other`.
    pub fn insert(&mut self, other: AuthMechanisms) {
        self.0 |= other.0;
    }

    /// The mechanisms in either set.
    pub const fn union(self, other: AuthMechanisms) -> Self {
        AuthMechanisms(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The mechanism with this SASL name, ignoring case.
    fn from_name(name: &[u8]) -> Option<AuthMechanisms> {
        bit_of(AuthMechanisms::NAMES, name).map(|i| AuthMechanisms(1 << i))
    }
}

impl BitOr for AuthMechanisms {
    type Output = AuthMechanisms;

    fn bitor(self, rhs: AuthMechanisms) -> AuthMechanisms {
        self.union(rhs)
    }
}

impl BitOrAssign for AuthMechanisms {
    fn bitor_assign(&mut self, rhs: AuthMechanisms) {
        self.insert(rhs);
    }
}

/// What a server said it supports in its reply to EHLO (RFC 5321 §4.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Capabilities {
    /// The extensions advertised.
    pub extensions: Extensions,
    /// The SASL mechanisms advertised with `AUTH` (RFC 4954 §3) or the legacy `AUTH=`.
    pub auth: AuthMechanisms,
    /// The `SIZE` limit in octets (RFC 1870 §4), up to `u64::MAX`.
    ///
    /// `None` when `SIZE` is absent, has no value, or is `0` (no fixed limit). A value
    /// that is not a number or does not fit a `u64` is taken as no limit as well;
    /// [`Extensions::SIZE`] stays set.
    pub size_limit: Option<u64>,
}

impl Capabilities {
    /// No extension, no mechanism, no size limit.
    pub const fn new() -> Self {
        Capabilities {
            extensions: Extensions::empty(),
            auth: AuthMechanisms::empty(),
            size_limit: None,
        }
    }

    /// Takes in the text of one EHLO reply line after the first (the first line is the
    /// server's domain and greeting, never a capability).
    ///
    /// The keyword runs up to the first space or `=` and is matched without regard to
    /// case; unknown keywords are ignored. `AUTH PLAIN LOGIN XOAUTH2` (RFC 4954 §3) and
    /// the legacy `AUTH=LOGIN PLAIN` both add mechanisms; unknown mechanism names are
    /// ignored. A later `SIZE` line replaces the limit of an earlier one. Never fails,
    /// whatever the bytes.
    pub fn apply_line(&mut self, text: &[u8]) {
        let at = text.iter().position(|&b| b == b' ' || b == b'=');
        let (keyword, params) = text
            .split_at_checked(at.unwrap_or(text.len()))
            .unwrap_or_default();
        let Some(ext) = Extensions::from_keyword(keyword) else {
            return;
        };
        self.extensions.insert(ext);
        if ext == Extensions::SIZE {
            self.size_limit = None;
        }
        // The parameters start after the space or `=` that ends the keyword.
        let params = params.get(1..).unwrap_or_default();
        for param in params.split(|&b| b == b' ' || b == b'\t') {
            if param.is_empty() {
                continue;
            }
            if ext == Extensions::SIZE {
                self.size_limit = parse_size(param);
                return;
            }
            if ext != Extensions::AUTH {
                return;
            }
            if let Some(mech) = AuthMechanisms::from_name(param) {
                self.auth.insert(mech);
            }
        }
    }

    /// Builds the capabilities from a whole reply to EHLO, skipping its first line.
    /// The reply code is not looked at: callers check for `250` first.
    pub fn from_reply(reply: &Reply<'_>) -> Self {
        let mut caps = Capabilities::new();
        for text in reply.lines().skip(1) {
            caps.apply_line(text);
        }
        caps
    }

    /// Whether every extension in `ext` was advertised.
    pub fn has(&self, ext: Extensions) -> bool {
        self.extensions.contains(ext)
    }
}

/// The position of `name` (ignoring case) in `names`, each of them followed by a space.
fn bit_of(names: &[u8], name: &[u8]) -> Option<usize> {
    // One pass over `names` (upper case, never an empty name): `at` counts the
    // octets of the current name seen so far, `same` whether they all matched.
    let (mut bit, mut at, mut same) = (0, 0, true);
    for &c in names {
        if c == b' ' {
            if same && at == name.len() {
                return Some(bit);
            }
            (bit, at, same) = (bit + 1, 0, true);
        } else {
            // `names` holds no lower-case letter, so upper-casing `name` alone is enough.
            same &= name.get(at).is_some_and(|n| n.to_ascii_uppercase() == c);
            at += 1;
        }
    }
    None
}

/// A `SIZE` value (RFC 1870 §4): decimal octets, `0` meaning no fixed limit. Values
/// that are not numbers or overflow `u64` give `None`.
fn parse_size(value: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() || n > u64::MAX / 10 {
            return None;
        }
        // `n * 10` as shifts: an overflow-checked 64-bit multiply is two calls to
        // the runtime's multiply on a Cortex-M0; the bound above is the same check.
        n = ((n << 3) + (n << 1)).checked_add(u64::from(b - b'0'))?;
    }
    if n == 0 { None } else { Some(n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Extensions = Extensions::empty();

    /// `name: [lines] => (extensions, mechanisms, size_limit);` feeds each line to
    /// `apply_line` and checks the whole result.
    macro_rules! caps {
        ($($name:ident: [$($line:expr),* $(,)?] => ($ext:expr, $auth:expr, $size:expr);)*) => {$(
            #[test]
            fn $name() {
                let lines: &[&[u8]] = &[$($line),*];
                let mut caps = Capabilities::new();
                for line in lines {
                    caps.apply_line(line);
                }
                assert_eq!(
                    caps,
                    Capabilities { extensions: $ext, auth: $auth, size_limit: $size }
                );
            }
        )*};
    }

    use AuthMechanisms as M;
    use Extensions as E;

    caps! {
        nothing: [] => (NONE, M::empty(), None);
        pipelining: [b"PIPELINING"] => (E::PIPELINING, M::empty(), None);
        lower_case: [b"pipelining", b"starttls"] => (E::PIPELINING | E::STARTTLS, M::empty(), None);
        mixed_case: [b"StartTls"] => (E::STARTTLS, M::empty(), None);
        every_keyword: [
            b"PIPELINING", b"SIZE", b"8BITMIME", b"SMTPUTF8", b"STARTTLS",
            b"ENHANCEDSTATUSCODES", b"CHUNKING", b"DSN", b"AUTH", b"BINARYMIME",
        ] => (
            E::PIPELINING | E::SIZE | E::EIGHTBITMIME | E::SMTPUTF8 | E::STARTTLS
                | E::ENHANCEDSTATUSCODES | E::CHUNKING | E::DSN | E::AUTH | E::BINARYMIME,
            M::empty(),
            None
        );
        unknown_ignored: [b"VRFY", b"ETRN", b"MAILCOMPRESS", b"X-FOO bar"] => (NONE, M::empty(), None);
        prefix_not_keyword: [b"SIZEX 10", b"PIPELININGX", b"AUT"] => (NONE, M::empty(), None);
        keyword_with_trailing_space: [b"DSN "] => (E::DSN, M::empty(), None);
        empty_line: [b""] => (NONE, M::empty(), None);
        leading_space: [b" SIZE 10"] => (NONE, M::empty(), None);

        size_value: [b"SIZE 35882577"] => (E::SIZE, M::empty(), Some(35_882_577));
        size_zero: [b"SIZE 0"] => (E::SIZE, M::empty(), None);
        size_no_value: [b"SIZE"] => (E::SIZE, M::empty(), None);
        size_space_no_value: [b"SIZE "] => (E::SIZE, M::empty(), None);
        size_max: [b"SIZE 18446744073709551615"] => (E::SIZE, M::empty(), Some(u64::MAX));
        size_overflow: [b"SIZE 18446744073709551616"] => (E::SIZE, M::empty(), None);
        size_huge: [b"SIZE 99999999999999999999999999"] => (E::SIZE, M::empty(), None);
        size_not_number: [b"SIZE ten"] => (E::SIZE, M::empty(), None);
        size_trailing_junk: [b"SIZE 10x"] => (E::SIZE, M::empty(), None);
        size_negative: [b"SIZE -1"] => (E::SIZE, M::empty(), None);
        size_leading_zeros: [b"SIZE 007"] => (E::SIZE, M::empty(), Some(7));
        size_extra_spaces: [b"SIZE  1024 "] => (E::SIZE, M::empty(), Some(1024));
        size_equals: [b"SIZE=2048"] => (E::SIZE, M::empty(), Some(2048));
        size_lower: [b"size 10"] => (E::SIZE, M::empty(), Some(10));
        size_last_wins: [b"SIZE 10", b"SIZE 20"] => (E::SIZE, M::empty(), Some(20));

        auth_list: [b"AUTH PLAIN LOGIN XOAUTH2"] => (E::AUTH, M::PLAIN | M::LOGIN | M::XOAUTH2, None);
        auth_legacy: [b"AUTH=LOGIN PLAIN"] => (E::AUTH, M::LOGIN | M::PLAIN, None);
        auth_both_forms: [b"AUTH CRAM-MD5", b"AUTH=OAUTHBEARER"] => (E::AUTH, M::CRAM_MD5 | M::OAUTHBEARER, None);
        auth_lower: [b"auth plain cram-md5 xoauth2"] => (E::AUTH, M::PLAIN | M::CRAM_MD5 | M::XOAUTH2, None);
        auth_unknown: [b"AUTH GSSAPI NTLM XOAUTH PLAIN-CLIENTTOKEN"] => (E::AUTH, M::empty(), None);
        auth_no_mechanism: [b"AUTH"] => (E::AUTH, M::empty(), None);
        auth_tabs_spaces: [b"AUTH  PLAIN\tLOGIN "] => (E::AUTH, M::PLAIN | M::LOGIN, None);
        auth_non_utf8: [b"AUTH \xff\xfe PLAIN"] => (E::AUTH, M::PLAIN, None);
        mechanisms_not_keywords: [b"PLAIN", b"LOGIN"] => (NONE, M::empty(), None);
    }

    #[test]
    fn bit_sets() {
        let mut e = Extensions::empty();
        assert!(e.is_empty());
        assert!(e.contains(Extensions::empty()));
        assert!(!e.contains(Extensions::AUTH));
        e.insert(Extensions::AUTH);
        e |= Extensions::SIZE;
        assert!(e.contains(Extensions::AUTH | Extensions::SIZE));
        assert!(!e.contains(Extensions::AUTH | Extensions::DSN));
        assert_eq!(
            e,
            Extensions::default().union(Extensions::SIZE | Extensions::AUTH)
        );

        let mut m = AuthMechanisms::empty();
        assert!(m.is_empty());
        m |= AuthMechanisms::LOGIN;
        m.insert(AuthMechanisms::PLAIN);
        assert!(!m.is_empty());
        assert!(m.contains(AuthMechanisms::LOGIN | AuthMechanisms::PLAIN));
        assert!(!m.contains(AuthMechanisms::XOAUTH2));
        assert_eq!(Capabilities::new(), Capabilities::default());
    }

    #[test]
    fn every_name_gives_its_flag() {
        // The name lists are in bit order: keyword `i` is bit `i`.
        let extensions = [
            (&b"pipelining"[..], Extensions::PIPELINING),
            (b"SIZE", Extensions::SIZE),
            (b"8BITMIME", Extensions::EIGHTBITMIME),
            (b"SMTPUTF8", Extensions::SMTPUTF8),
            (b"STARTTLS", Extensions::STARTTLS),
            (b"ENHANCEDSTATUSCODES", Extensions::ENHANCEDSTATUSCODES),
            (b"CHUNKING", Extensions::CHUNKING),
            (b"DSN", Extensions::DSN),
            (b"AUTH", Extensions::AUTH),
            (b"BINARYMIME", Extensions::BINARYMIME),
        ];
        let mut seen = 0u16;
        for (name, ext) in extensions {
            assert_eq!(Extensions::from_keyword(name), Some(ext));
            assert_eq!(ext.0.count_ones(), 1);
            assert_eq!(seen & ext.0, 0);
            seen |= ext.0;
        }
        assert_eq!(Extensions::from_keyword(b""), None);
        assert_eq!(Extensions::from_keyword(b"SIZ"), None);
        let mechanisms = [
            (&b"PLAIN"[..], AuthMechanisms::PLAIN),
            (b"login", AuthMechanisms::LOGIN),
            (b"XOAUTH2", AuthMechanisms::XOAUTH2),
            (b"CRAM-MD5", AuthMechanisms::CRAM_MD5),
            (b"OAUTHBEARER", AuthMechanisms::OAUTHBEARER),
        ];
        let mut seen = 0u8;
        for (name, mech) in mechanisms {
            assert_eq!(AuthMechanisms::from_name(name), Some(mech));
            assert_eq!(mech.0.count_ones(), 1);
            assert_eq!(seen & mech.0, 0);
            seen |= mech.0;
        }
        assert_eq!(AuthMechanisms::from_name(b""), None);
    }

    #[test]
    fn from_reply_skips_greeting() {
        let input = b"250-SIZE 100 greets you\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n";
        let Ok(crate::reply::Status::Complete((reply, _))) = crate::reply::parse_reply(input)
        else {
            panic!("not complete");
        };
        let caps = Capabilities::from_reply(&reply);
        assert!(!caps.has(Extensions::SIZE));
        assert_eq!(caps.size_limit, None);
        assert!(caps.has(Extensions::PIPELINING | Extensions::AUTH));
        assert_eq!(caps.auth, AuthMechanisms::PLAIN);
    }
}
