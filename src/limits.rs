//! Size and time limits from RFC 5321 §4.5.3 and RFC 5322 §2.1.1, one const each.
//!
//! The engine enforces the size limits on what it sends and receives; the drivers
//! enforce the time limits it reports through [`Engine::timeout`](crate::engine::Engine::timeout).

use core::time::Duration;

/// Maximum length of a local part (the part of an address before `@`), RFC 5321 §4.5.3.1.1.
pub const MAX_LOCAL_PART: usize = 64;
/// Maximum length of a domain name, RFC 5321 §4.5.3.1.2.
pub const MAX_DOMAIN: usize = 255;
/// Maximum length of a reverse or forward path including `<` and `>`, RFC 5321 §4.5.3.1.3.
pub const MAX_PATH: usize = 256;
/// Maximum length of a command line including the final CRLF, RFC 5321 §4.5.3.1.4.
pub const MAX_COMMAND_LINE: usize = 512;
/// Maximum length of a reply line including the reply code and the final CRLF, RFC 5321 §4.5.3.1.5.
pub const MAX_REPLY_LINE: usize = 512;
/// Maximum length of a text line in a message, excluding CRLF, RFC 5322 §2.1.1 (and RFC 5321 §4.5.3.1.6 with CRLF: 1000).
pub const MAX_MESSAGE_LINE: usize = 998;
/// Recommended length of a header or body line, excluding CRLF, RFC 5322 §2.1.1.
pub const RECOMMENDED_LINE: usize = 78;
/// Default cap on the number of lines in one reply (not from the RFC: a bound against endless replies).
pub const DEFAULT_MAX_REPLY_LINES: u16 = 64;
/// Smallest receive buffer the engine accepts: one reply line, RFC 5321 §4.5.3.1.5.
pub const MIN_RX_BUFFER: usize = MAX_REPLY_LINE;
/// Smallest transmit buffer the engine accepts: one command line, RFC 5321 §4.5.3.1.4.
pub const MIN_TX_BUFFER: usize = MAX_COMMAND_LINE;
/// Maximum number of `334` challenges answered in one AUTH exchange before the client gives up.
pub const MAX_AUTH_CHALLENGES: u8 = 4;

/// Time to wait for the initial `220` greeting, RFC 5321 §4.5.3.2.1: 5 minutes.
pub const TIMEOUT_GREETING: Duration = Duration::from_secs(5 * 60);
/// Time to wait for the reply to `MAIL`, RFC 5321 §4.5.3.2.2: 5 minutes.
pub const TIMEOUT_MAIL: Duration = Duration::from_secs(5 * 60);
/// Time to wait for the reply to each `RCPT`, RFC 5321 §4.5.3.2.3: 5 minutes.
pub const TIMEOUT_RCPT: Duration = Duration::from_secs(5 * 60);
/// Time to wait for the `354` reply to `DATA`, RFC 5321 §4.5.3.2.4: 2 minutes.
pub const TIMEOUT_DATA_INIT: Duration = Duration::from_secs(2 * 60);
/// Time allowed for each write of the message body, RFC 5321 §4.5.3.2.5: 3 minutes.
pub const TIMEOUT_DATA_BLOCK: Duration = Duration::from_secs(3 * 60);
/// Time to wait for the reply to the end of data, RFC 5321 §4.5.3.2.6: 10 minutes.
pub const TIMEOUT_DATA_TERMINATION: Duration = Duration::from_secs(10 * 60);
/// Time allowed for a TLS handshake (implicit TLS, or after `STARTTLS`). RFC 5321
/// gives no figure; 2 minutes, the crate's choice, covers a handshake of several
/// round trips of 2 s each on a slow cellular link with ample margin. Like every
/// limit, [`Config::with_timeout`](crate::Config::with_timeout) overrides it.
pub const TIMEOUT_TLS_HANDSHAKE: Duration = Duration::from_secs(2 * 60);
/// Time to wait for any other reply (EHLO, STARTTLS, AUTH, RSET, QUIT). RFC 5321 §4.5.3.2 gives
/// no figure for these; 5 minutes, like `MAIL`, is the crate's choice.
pub const TIMEOUT_OTHER: Duration = Duration::from_secs(5 * 60);
