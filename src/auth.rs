//! SASL for SMTP AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN (the de-facto mechanism
//! most providers and the classic scripts use) and XOAUTH2 (Gmail, Outlook).
//!
//! The engine decides when to authenticate; this module only chooses the mechanism,
//! lays out the SASL messages as pieces for [`Command`](crate::command::Command) to
//! base64 straight into the transmit buffer, and reads LOGIN prompts.

use crate::error::{Field, InputError, InputErrorKind};
use crate::reply::AuthMechanisms;

/// Which SASL mechanism to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Mechanism {
    /// The best password mechanism the server offers: PLAIN (one round trip, with an
    /// initial response), else LOGIN (three round trips). Never XOAUTH2, whose secret
    /// is a token rather than a password.
    #[default]
    Auto,
    /// `AUTH PLAIN` with an initial response (RFC 4616).
    Plain,
    /// `AUTH LOGIN`: user name and password each answer a `334` prompt.
    Login,
    /// `AUTH XOAUTH2` with an OAuth 2.0 bearer token as the secret.
    XOAuth2,
}

/// A user name and a secret (password, authorization code, app password or OAuth token).
///
/// The secret is only ever base64-encoded into the transmit buffer, which the engine
/// zeroes once it is sent; it is never logged.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    mechanism: Mechanism,
    username: &'a str,
    secret: &'a str,
}

impl core::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl<'a> Credentials<'a> {
    /// Credentials used with [`Mechanism::Auto`].
    ///
    /// # Errors
    /// [`InputErrorKind::Nul`] or [`InputErrorKind::Control`] when a NUL (PLAIN's
    /// separator) or `\x01` (XOAUTH2's separator) appears in either value, and
    /// [`InputErrorKind::Empty`] for an empty user name; the error names
    /// [`Field::Username`] or [`Field::Password`].
    pub fn try_new(username: &'a str, secret: &'a str) -> Result<Self, InputError> {
        for (v, field) in [(username, Field::Username), (secret, Field::Password)] {
            if v.bytes().any(|c| c == 0) {
                return Err(InputError::new(field, InputErrorKind::Nul));
            }
            if v.bytes().any(|c| c == 1) {
                return Err(InputError::new(field, InputErrorKind::Control));
            }
        }
        if username.is_empty() {
            return Err(InputError::new(Field::Username, InputErrorKind::Empty));
        }
        Ok(Credentials {
            mechanism: Mechanism::Auto,
            username,
            secret,
        })
    }

    /// Uses `mechanism` instead of [`Mechanism::Auto`].
    pub fn with_mechanism(mut self, mechanism: Mechanism) -> Self {
        self.mechanism = mechanism;
        self
    }

    /// The mechanism asked for.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The user name.
    pub fn username(&self) -> &'a str {
        self.username
    }

    pub(crate) fn secret(&self) -> &'a str {
        self.secret
    }
}

/// A mechanism the engine will actually run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) enum Chosen {
    Plain,
    Login,
    XOAuth2,
}

impl Chosen {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Chosen::Plain => "PLAIN",
            Chosen::Login => "LOGIN",
            Chosen::XOAuth2 => "XOAUTH2",
        }
    }
}

/// Picks the mechanism to run, or `None` when the server offers none the caller allows.
pub(crate) fn choose(wanted: Mechanism, offered: AuthMechanisms) -> Option<Chosen> {
    let has = |m| offered.contains(m);
    match wanted {
        Mechanism::Auto if has(AuthMechanisms::PLAIN) => Some(Chosen::Plain),
        Mechanism::Auto if has(AuthMechanisms::LOGIN) => Some(Chosen::Login),
        Mechanism::Plain if has(AuthMechanisms::PLAIN) => Some(Chosen::Plain),
        Mechanism::Login if has(AuthMechanisms::LOGIN) => Some(Chosen::Login),
        Mechanism::XOAuth2 if has(AuthMechanisms::XOAUTH2) => Some(Chosen::XOAuth2),
        _ => None,
    }
}

/// What a LOGIN `334` prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prompt {
    /// A text starting with "use" in any case (`Username:`, `User Name`).
    Username,
    /// A text starting with "pas" in any case (`Password:`).
    Password,
    /// Valid base64 saying something else: answered by position (the first
    /// prompt gets the user name, the second the password).
    Other,
}

/// Reads a LOGIN prompt. `Err(())` when the text is not valid base64.
///
/// The prompt is told by the first three bytes of its text, decoded from the
/// first four base64 characters: every server seen sends `Username:` and
/// `Password:` (in some case) or `User Name`, and whatever else a server says is
/// answered by position. Decoding only those four characters keeps a general
/// base64 decoder (about 2 KB of flash) out of the core.
pub(crate) fn login_prompt(challenge: &[u8]) -> Result<Prompt, ()> {
    let challenge = challenge.trim_ascii();
    // Canonical padded base64 in one pass: a multiple of four characters of the
    // alphabet, then at most two `=` (nothing after the first `=` but `=`).
    // `word` takes the first four characters' sextets under a marker bit, which
    // reaches bit 24 with the fourth.
    let mut word = 1u32;
    let mut pad = 0usize;
    for &c in challenge {
        let v = match c {
            b'=' => {
                pad += 1;
                0
            }
            _ if pad > 0 => return Err(()),
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(()),
        };
        if word < 1 << 24 {
            word = (word << 6) | u32::from(v);
        }
    }
    if !challenge.len().is_multiple_of(4) || pad > 2 {
        return Err(());
    }
    // The three bytes, lower-cased where they are letters (`| 0x20` maps only
    // `U`/`u` to `u`, and so on for the letters compared below); the marker bit
    // is still there: fewer than four characters are no prompt.
    let head = word | 0x0020_2020;
    Ok(if head == u32::from_be_bytes([1, b'u', b's', b'e']) {
        Prompt::Username
    } else if head == u32::from_be_bytes([1, b'p', b'a', b's']) {
        Prompt::Password
    } else {
        Prompt::Other
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choosing() {
        let mut both = AuthMechanisms::empty();
        both.insert(AuthMechanisms::LOGIN);
        both.insert(AuthMechanisms::PLAIN);
        let mut login = AuthMechanisms::empty();
        login.insert(AuthMechanisms::LOGIN);
        assert_eq!(choose(Mechanism::Auto, both), Some(Chosen::Plain));
        assert_eq!(choose(Mechanism::Auto, login), Some(Chosen::Login));
        assert_eq!(choose(Mechanism::Plain, login), None);
        assert_eq!(choose(Mechanism::Login, both), Some(Chosen::Login));
        assert_eq!(choose(Mechanism::XOAuth2, both), None);
        assert_eq!(choose(Mechanism::Auto, AuthMechanisms::empty()), None);
    }

    #[test]
    fn prompts() {
        assert_eq!(login_prompt(b"VXNlcm5hbWU6"), Ok(Prompt::Username));
        assert_eq!(login_prompt(b"dXNlcm5hbWU6"), Ok(Prompt::Username));
        assert_eq!(login_prompt(b"UGFzc3dvcmQ6"), Ok(Prompt::Password));
        assert_eq!(login_prompt(b"UEFTU1dPUkQ6 "), Ok(Prompt::Password));
        assert_eq!(login_prompt(b""), Ok(Prompt::Other));
        assert_eq!(login_prompt(b"not base64!"), Err(()));
        assert_eq!(login_prompt(b"VXNlcm5hbWU"), Err(()));
        assert_eq!(login_prompt(b"VX=lcm5hbWU6"), Err(()));
        // `User Name` followed by a NUL (some servers), `us` alone, and a text that
        // says "password" later on (answered by position).
        assert_eq!(login_prompt(b"VXNlciBOYW1lAA=="), Ok(Prompt::Username));
        assert_eq!(login_prompt(b"dXM="), Ok(Prompt::Other));
        assert_eq!(login_prompt(b"RW50ZXIgcGFzc3dvcmQ="), Ok(Prompt::Other));
    }

    /// The four-character reading agrees with a full decode for every text
    /// starting with any case of "use" or "pas" and with near misses.
    #[test]
    fn login_prompt_matches_a_full_decode() {
        use ::base64::Engine as _;
        let starts: [&[u8]; 10] = [
            b"use", b"USE", b"uSe", b"pas", b"PAS", b"pAs", b"usf", b"pat", b"u", b"",
        ];
        for start in starts {
            for tail in [&b""[..], b"rname:", b"sword:", b"\0\xff x"] {
                let text = [start, tail].concat();
                let encoded = ::base64::engine::general_purpose::STANDARD.encode(&text);
                let lower = text.to_ascii_lowercase();
                let want = if lower.starts_with(b"use") {
                    Prompt::Username
                } else if lower.starts_with(b"pas") {
                    Prompt::Password
                } else {
                    Prompt::Other
                };
                assert_eq!(login_prompt(encoded.as_bytes()), Ok(want), "{text:?}");
            }
        }
    }

    #[test]
    fn credentials() {
        assert!(Credentials::try_new("a@qq.com", "abcdefghijklmnop").is_ok());
        assert_eq!(
            Credentials::try_new("a\0b", "x").map_err(|e| e.kind()),
            Err(InputErrorKind::Nul)
        );
        assert_eq!(
            Credentials::try_new("a", "x\x01").map_err(|e| e.kind()),
            Err(InputErrorKind::Control)
        );
        assert_eq!(
            Credentials::try_new("", "x").map_err(|e| e.kind()),
            Err(InputErrorKind::Empty)
        );
        let c = Credentials::try_new("u", "hunter2").unwrap();
        assert!(!std::format!("{c:?}").contains("hunter2"));
    }
}
