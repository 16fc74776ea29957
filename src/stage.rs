//! [`Stage`]: the step of a session a command, a wait or an error belongs to. A leaf
//! that the engine, the errors and the drivers all use (public as
//! [`engine::Stage`](crate::engine::Stage)).

use core::fmt;

/// The step of a session a command, a wait or an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Stage {
    /// Opening the connection.
    Connect,
    /// Waiting for the `220` greeting (RFC 5321 §3.1).
    Greeting,
    /// `EHLO` (RFC 5321 §4.1.1.1).
    Ehlo,
    /// `HELO`, sent when `EHLO` is answered `500` or `502`.
    Helo,
    /// `STARTTLS` (RFC 3207) and its reply.
    StartTls,
    /// The TLS handshake: at once for implicit TLS (port 465, RFC 8314), or after
    /// the server's `220` to `STARTTLS`.
    TlsHandshake,
    /// `AUTH` (RFC 4954), including its `334` exchanges.
    Auth,
    /// `MAIL FROM` (RFC 5321 §4.1.1.2).
    Mail,
    /// `RCPT TO` (RFC 5321 §4.1.1.3).
    Rcpt,
    /// `DATA` and its `354` reply (RFC 5321 §4.1.1.4).
    Data,
    /// Sending the message body.
    Body,
    /// The reply to the end of data (`.`): the server's acceptance of the message.
    EndOfData,
    /// `RSET` (RFC 5321 §4.1.1.5).
    Rset,
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connect",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::Helo => "HELO",
            Stage::StartTls => "STARTTLS",
            Stage::TlsHandshake => "TLS handshake",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Body => "message body",
            Stage::EndOfData => "end of data",
            Stage::Rset => "RSET",
            Stage::Quit => "QUIT",
        })
    }
}
