//! The settings of a session ([`Config`], [`Security`]), the facts about one
//! message ([`MailParams`]) and what the server said to it ([`Report`]).

use core::time::Duration;

use crate::address::Domain;
use crate::auth::Credentials;
use crate::error::Response;
use crate::reply::ParserConfig;

/// How the connection is (to be) encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Security {
    /// Plain TCP. AUTH is refused unless [`Config::allow_plaintext_auth`] is set.
    #[default]
    None,
    /// TLS from the first byte (port 465, RFC 8314): the driver connects TLS before
    /// the greeting and the engine treats the session as encrypted.
    Implicit,
    /// Plain TCP upgraded with `STARTTLS` (port 587, RFC 3207). Required: when the
    /// server does not offer it or refuses it the session stops; there is no
    /// fallback to plaintext.
    StartTls,
}

/// Settings of a session. Cheap to copy; build with [`Config::new`] and the `with_*`
/// methods.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    pub(super) client_id: Domain<'a>,
    pub(super) security: Security,
    pub(super) credentials: Option<Credentials<'a>>,
    pub(super) allow_plaintext_auth: bool,
    pub(super) pipelining: bool,
    pub(super) chunking: bool,
    pub(super) timeout: Option<Duration>,
    pub(super) parser: ParserConfig,
}

impl<'a> Config<'a> {
    /// A session that greets with `EHLO client_id`, without TLS or AUTH, using
    /// PIPELINING when offered and the RFC 5321 §4.5.3.2 time limits.
    pub fn new(client_id: Domain<'a>) -> Self {
        Config {
            client_id,
            security: Security::None,
            credentials: None,
            allow_plaintext_auth: false,
            pipelining: true,
            chunking: true,
            timeout: None,
            parser: ParserConfig::DEFAULT,
        }
    }

    /// Sets how the connection is encrypted.
    pub fn with_security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    /// Authenticates with these credentials after EHLO (and STARTTLS).
    pub fn with_credentials(mut self, credentials: Credentials<'a>) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Allows AUTH over an unencrypted connection, which sends the password in the
    /// clear. Only for a server on the same host or a trusted network.
    pub fn allow_plaintext_auth(mut self) -> Self {
        self.allow_plaintext_auth = true;
        self
    }

    /// Whether to use PIPELINING (RFC 2920) when the server offers it (default true).
    pub fn with_pipelining(mut self, on: bool) -> Self {
        self.pipelining = on;
        self
    }

    /// Whether to send the message with `BDAT` (CHUNKING, RFC 3030) instead of `DATA`
    /// when the server offers it (default true). With PIPELINING too, the envelope
    /// and a message that fits `tx` go out in one write and need one round trip.
    ///
    /// `BDAT` is built with feature `chunking` only; without it every message goes
    /// with `DATA` whatever this says.
    pub fn with_chunking(mut self, on: bool) -> Self {
        self.chunking = on;
        self
    }

    /// One time limit for every wait instead of the RFC 5321 §4.5.3.2 figures.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Reply parser limits (line length, lines per reply).
    pub fn with_parser(mut self, parser: ParserConfig) -> Self {
        self.parser = parser;
        self
    }

    /// The EHLO name.
    pub fn client_id(&self) -> Domain<'a> {
        self.client_id
    }

    /// The security mode.
    pub fn security(&self) -> Security {
        self.security
    }

    /// The limit set with [`Config::with_timeout`], if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

/// ESMTP facts about the message of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MailParams {
    /// The message size in octets if known; sent as `SIZE=` when the server offers
    /// SIZE (RFC 1870), and checked against the server's limit before `MAIL`.
    pub size: Option<u64>,
    /// The body holds 8-bit octets: needs 8BITMIME (RFC 6152), sent as `BODY=8BITMIME`.
    pub body_8bit: bool,
    /// The headers hold UTF-8 addresses: needs SMTPUTF8 (RFC 6531). Non-ASCII
    /// envelope addresses set this on their own.
    pub smtputf8: bool,
}

/// What happened to each recipient of the last transaction, and the server's final
/// reply (its text usually carries the queue id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<const N: usize> {
    pub(super) recipients: heapless::Vec<Response, N>,
    pub(super) reply: Option<Response>,
}

impl<const N: usize> Report<N> {
    pub(super) const fn new() -> Self {
        Report {
            recipients: heapless::Vec::new(),
            reply: None,
        }
    }

    /// Each recipient's reply, in the order the recipients were given. `2yz`
    /// (250, 251, 252) means accepted.
    pub fn recipients(&self) -> &[Response] {
        &self.recipients
    }

    /// How many recipients were accepted.
    pub fn accepted(&self) -> usize {
        self.recipients
            .iter()
            .filter(|r| r.code.is_positive())
            .count()
    }

    /// The refused recipients as (index in the recipient list, reply).
    pub fn refused(&self) -> impl Iterator<Item = (usize, &Response)> {
        self.recipients
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.code.is_positive())
    }

    /// The reply to the end of data, once the message was accepted.
    pub fn reply(&self) -> Option<&Response> {
        self.reply.as_ref()
    }
}

impl<const N: usize> Default for Report<N> {
    fn default() -> Self {
        Report::new()
    }
}
