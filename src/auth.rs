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
            if v.as_bytes().contains(&0) {
                return Err(InputError::new(field, InputErrorKind::Nul));
            }
            if v.as_bytes().contains(&1) {
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
    /// `Username:` (any case, any text containing "user").
    Username,
    /// `Password:` (any case, any text containing "pass").
    Password,
    /// Valid base64 saying something else: answered by position.
    Other,
}

/// Reads a LOGIN prompt. `Err(())` when the text is not valid base64.
// Not inlined: the base64 decoder's frame is then on the stack only while a
// LOGIN prompt is read, not in the engine's frame for the whole session.
#[inline(never)]
pub(crate) fn login_prompt(challenge: &[u8]) -> Result<Prompt, ()> {
    let challenge = trim(challenge);
    if !is_base64(challenge) {
        return Err(());
    }
    // Only the start matters; decode at most 48 characters.
    let mut buf = [0u8; 36];
    let take = challenge.len().min(48);
    let n = base64::Engine::decode_slice(
        &base64::engine::general_purpose::STANDARD,
        challenge.get(..take).unwrap_or_default(),
        &mut buf,
    )
    .map_err(|_| ())?;
    let text = buf.get(..n).unwrap_or_default();
    let has = |needle: &[u8]| {
        text.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    Ok(if has(b"user") {
        Prompt::Username
    } else if has(b"pass") {
        Prompt::Password
    } else {
        Prompt::Other
    })
}

/// Whether `b` is canonical padded base64 (empty counts).
pub(crate) fn is_base64(b: &[u8]) -> bool {
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    pad <= 2
        && b.iter()
            .take(b.len() - pad)
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or_default()
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
