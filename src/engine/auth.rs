//! AUTH (RFC 4954): choosing the mechanism, the initial response and the `334`
//! exchanges, and which bytes of `tx` are secret.

use super::{Engine, Head, State};
use crate::auth::{self, Chosen, Credentials, Prompt};
use crate::command::Command;
use crate::error::{Invariant, ProtocolError, Unsupported, broken};
use crate::limits;
use crate::reply::ReplyCode;
use crate::stage::Stage;

impl<const N: usize> Engine<'_, N> {
    /// After EHLO (and STARTTLS): refuses to send credentials in the clear unless
    /// allowed, chooses the mechanism and queues `AUTH`.
    pub(super) fn start_auth(&mut self, cred: Credentials<'_>) {
        if !self.encrypted && !self.config.allow_plaintext_auth {
            self.fail(Unsupported::PlaintextAuth);
            return;
        }
        let Some(chosen) = auth::choose(cred.mechanism(), self.caps.auth) else {
            self.fail(Unsupported::AuthMechanism);
            return;
        };
        debug!("AUTH {}", chosen.name());
        self.auth = Some(chosen);
        self.challenges = 0;
        self.login_step = 0;
        self.state = State::Auth;
        let (user, secret) = (cred.username().as_bytes(), cred.secret().as_bytes());
        // The initial response's pieces (PLAIN's padded with an empty one): one
        // array, so that one `AUTH` command serves every mechanism.
        let initial: Option<[&[u8]; 5]> = match chosen {
            Chosen::Plain => Some([b"\0", user, b"\0", secret, b""]),
            Chosen::Login => None,
            Chosen::XOAuth2 => Some([b"user=", user, b"\x01auth=Bearer ", secret, b"\x01\x01"]),
        };
        self.queue(
            Command::Auth {
                mechanism: chosen.name(),
                initial: initial.as_ref().map(|p| &p[..]),
            },
            initial.is_some(),
        );
    }

    /// Acts on a reply to `AUTH` or to an AUTH response line.
    pub(super) fn on_auth_reply(&mut self, head: Head) {
        let r = head.response;
        if r.code.is_positive() {
            self.state = State::Ready;
            return;
        }
        if r.code != ReplyCode::AUTH_CONTINUE {
            self.reject(&r);
            return;
        }
        self.challenges += 1;
        if self.challenges > limits::MAX_AUTH_CHALLENGES {
            self.fail(ProtocolError::TooManyChallenges);
            return;
        }
        let Some(cred) = self.config.credentials else {
            self.fail(broken(Invariant::State));
            return;
        };
        // The response line, and whether it is secret; `None` for a challenge the
        // mechanism does not expect.
        let response: Option<(&[u8], bool)> = match self.auth {
            Some(Chosen::Login) => {
                let prompt = match head.prompt {
                    Ok(p) => p,
                    Err(()) => {
                        self.fail(ProtocolError::InvalidChallenge);
                        return;
                    }
                };
                let want_user = match prompt {
                    Prompt::Username => true,
                    Prompt::Password => false,
                    Prompt::Other => self.login_step == 0,
                };
                // A password prompt before the user name, or a third prompt: `None`.
                if !want_user && self.login_step == 0 || self.login_step >= 2 {
                    None
                } else {
                    self.login_step += 1;
                    let piece = if want_user {
                        cred.username()
                    } else {
                        cred.secret()
                    };
                    Some((piece.as_bytes(), true))
                }
            }
            // XOAUTH2 failure: the server sends a 334 with JSON error details and
            // expects an empty response before its final 5yz.
            Some(Chosen::XOAuth2) => Some((&[], false)),
            // PLAIN sent everything in the initial response: a challenge is unexpected.
            _ => None,
        };
        match response {
            Some((piece, secret)) => self.queue(Command::AuthResponse(&[piece]), secret),
            None => self.fail(ProtocolError::UnexpectedReply {
                stage: Stage::Auth,
                code: r.code,
            }),
        }
    }

    /// Whether the bytes of the current [`Action::Send`](super::Action::Send) carry
    /// a secret (an AUTH payload): the same as that action's
    /// [`Outgoing::secret`](super::Outgoing::secret) being `Some`.
    pub fn is_sending_secret(&self) -> bool {
        let (s, e) = self.secret;
        s.max(self.tx_sent) < e.min(self.tx_flush)
    }
}
