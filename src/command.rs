//! SMTP commands (RFC 5321 §4.1) emitted into caller buffers.
//!
//! A [`Command`] is built from validated values ([`Domain`], [`Address`]), so
//! emitting it cannot inject a line break; the only failure is a buffer that is too
//! small, reported as [`Capacity`] with nothing written. [`Command::len`] gives the
//! exact size beforehand (smoltcp's `Repr::buffer_len` / `emit` pair).
//!
//! AUTH payloads are given as pieces of raw bytes (`["\0", user, "\0", secret]` for
//! PLAIN) and base64-encoded straight into the output, so the secret is never copied
//! to a second buffer.

use crate::address::{Address, Domain};

/// The output buffer is too small; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Capacity {
    /// Bytes the command needs.
    pub required: usize,
}

/// Raw bytes sent base64-encoded as one SASL message (RFC 4954 §4): the pieces are
/// concatenated before encoding.
pub type Sasl<'a> = &'a [&'a [u8]];

/// One command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `EHLO <domain>` (RFC 5321 §4.1.1.1).
    Ehlo(Domain<'a>),
    /// `HELO <domain>` (RFC 5321 §4.1.1.1).
    Helo(Domain<'a>),
    /// `STARTTLS` (RFC 3207 §4).
    StartTls,
    /// `AUTH <mechanism> [initial-response]` (RFC 4954 §4). An initial response of
    /// zero bytes is sent as `=`.
    Auth {
        /// The SASL mechanism name, e.g. `PLAIN`.
        mechanism: &'a str,
        /// The initial response, before base64.
        initial: Option<Sasl<'a>>,
    },
    /// A base64 response to a `334` challenge (RFC 4954 §4).
    AuthResponse(Sasl<'a>),
    /// `*`: cancels an AUTH exchange (RFC 4954 §4).
    AuthCancel,
    /// `MAIL FROM:<reverse-path>` with ESMTP parameters (RFC 5321 §4.1.1.2).
    Mail {
        /// The sender, or `None` for the null reverse path `<>` (bounces).
        from: Option<Address<'a>>,
        /// `SIZE=` (RFC 1870), sent only when the server offers SIZE.
        size: Option<u64>,
        /// `BODY=8BITMIME` (RFC 6152).
        body_8bit: bool,
        /// `SMTPUTF8` (RFC 6531).
        smtputf8: bool,
    },
    /// `RCPT TO:<forward-path>` (RFC 5321 §4.1.1.3).
    Rcpt(Address<'a>),
    /// `DATA` (RFC 5321 §4.1.1.4).
    Data,
    /// `BDAT <size> [LAST]` (RFC 3030 §2): announces a chunk of `size` octets of
    /// message data that follows the line. With feature `chunking` only.
    #[cfg(feature = "chunking")]
    Bdat {
        /// Octets of data that follow.
        size: u64,
        /// The last chunk of the message.
        last: bool,
    },
    /// `RSET` (RFC 5321 §4.1.1.5).
    Rset,
    /// `NOOP` (RFC 5321 §4.1.1.9).
    Noop,
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
}

impl Command<'_> {
    /// The exact number of bytes [`emit`](Self::emit) writes, CRLF included.
    pub fn len(&self) -> usize {
        // A writer with no room only counts.
        let mut c = Writer {
            out: &mut [],
            pos: 0,
        };
        self.write(&mut c);
        c.pos
    }

    /// Always false: every command has at least its CRLF.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the command line with its CRLF into `out` and returns its length.
    ///
    /// # Errors
    /// [`Capacity`] when `out` is shorter than [`len`](Self::len); `out` is untouched.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Capacity> {
        let required = self.len();
        if out.len() < required {
            return Err(Capacity { required });
        }
        let mut w = Writer { out, pos: 0 };
        self.write(&mut w);
        Ok(w.pos)
    }

    fn write(&self, s: &mut Writer<'_>) {
        match self {
            Command::Ehlo(d) => {
                s.put(b"EHLO ");
                s.put(d.as_str().as_bytes());
            }
            Command::Helo(d) => {
                s.put(b"HELO ");
                s.put(d.as_str().as_bytes());
            }
            Command::StartTls => s.put(b"STARTTLS"),
            Command::Auth { mechanism, initial } => {
                s.put(b"AUTH ");
                s.put(mechanism.as_bytes());
                if let Some(pieces) = initial {
                    s.put(b" ");
                    if pieces.iter().all(|p| p.is_empty()) {
                        s.put(b"=");
                    } else {
                        put_base64(s, pieces);
                    }
                }
            }
            Command::AuthResponse(pieces) => put_base64(s, pieces),
            Command::AuthCancel => s.put(b"*"),
            Command::Mail {
                from,
                size,
                body_8bit,
                smtputf8,
            } => {
                s.put(b"MAIL FROM:<");
                if let Some(a) = from {
                    s.put(a.as_str().as_bytes());
                }
                s.put(b">");
                if let Some(n) = size {
                    s.put(b" SIZE=");
                    put_u64(s, *n);
                }
                if *body_8bit {
                    s.put(b" BODY=8BITMIME");
                }
                if *smtputf8 {
                    s.put(b" SMTPUTF8");
                }
            }
            Command::Rcpt(a) => {
                s.put(b"RCPT TO:<");
                s.put(a.as_str().as_bytes());
                s.put(b">");
            }
            Command::Data => s.put(b"DATA"),
            #[cfg(feature = "chunking")]
            Command::Bdat { size, last } => {
                s.put(b"BDAT ");
                put_u64(s, *size);
                if *last {
                    s.put(b" LAST");
                }
            }
            Command::Rset => s.put(b"RSET"),
            Command::Noop => s.put(b"NOOP"),
            Command::Quit => s.put(b"QUIT"),
        }
        s.put(b"\r\n");
    }
}

/// Writes a command line into `out`, or, for bytes that do not fit, only counts
/// them. One type for [`Command::len`] (an empty `out`) and [`Command::emit`]
/// (which checks the length first), so the command code exists once.
struct Writer<'o> {
    out: &'o mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.pos..self.pos + b.len()) {
            crate::bytes::copy(dst, b);
        }
        self.pos += b.len();
    }
}

fn put_u64(s: &mut Writer<'_>, n: u64) {
    let mut digits = [0u8; 20];
    let at = crate::num::decimal(&mut digits, n, 1);
    s.put(digits.get(at..).unwrap_or_default());
}

/// Base64 of the concatenated pieces, one 3-byte group at a time through 7 bytes
/// of stack that are zeroed afterwards (they may hold a secret).
fn put_base64(s: &mut Writer<'_>, pieces: &[&[u8]]) {
    let mut group = [0u8; 3];
    let mut chars = [0u8; 4];
    let mut n = 0;
    for piece in pieces {
        for &b in *piece {
            if let Some(slot) = group.get_mut(n) {
                *slot = b;
            }
            n += 1;
            if n == group.len() {
                let m = crate::b64::encode(&group, &mut chars);
                s.put(chars.get(..m).unwrap_or_default());
                n = 0;
            }
        }
    }
    if let Some(rest) = group.get(..n).filter(|r| !r.is_empty()) {
        let m = crate::b64::encode(rest, &mut chars);
        s.put(chars.get(..m).unwrap_or_default());
    }
    group.fill(0);
    chars.fill(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    fn emit(c: Command<'_>) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 600];
        let n = c.emit(&mut buf).unwrap();
        assert_eq!(n, c.len());
        buf[..n].to_vec()
    }

    #[test]
    fn construct() {
        let d = Domain::try_new("sensor-7.example.com").unwrap();
        let a = Address::try_new("alert@example.com").unwrap();
        assert_eq!(emit(Command::Ehlo(d)), b"EHLO sensor-7.example.com\r\n");
        assert_eq!(emit(Command::Helo(d)), b"HELO sensor-7.example.com\r\n");
        assert_eq!(emit(Command::StartTls), b"STARTTLS\r\n");
        assert_eq!(
            emit(Command::Mail {
                from: Some(a),
                size: None,
                body_8bit: false,
                smtputf8: false
            }),
            b"MAIL FROM:<alert@example.com>\r\n"
        );
        assert_eq!(
            emit(Command::Mail {
                from: None,
                size: Some(18_446_744_073_709_551_615),
                body_8bit: true,
                smtputf8: true
            }),
            b"MAIL FROM:<> SIZE=18446744073709551615 BODY=8BITMIME SMTPUTF8\r\n"
        );
        assert_eq!(
            emit(Command::Mail {
                from: Some(a),
                size: Some(0),
                body_8bit: false,
                smtputf8: false
            }),
            b"MAIL FROM:<alert@example.com> SIZE=0\r\n"
        );
        assert_eq!(emit(Command::Rcpt(a)), b"RCPT TO:<alert@example.com>\r\n");
        assert_eq!(emit(Command::Data), b"DATA\r\n");
        #[cfg(feature = "chunking")]
        {
            assert_eq!(
                emit(Command::Bdat {
                    size: 986,
                    last: false
                }),
                b"BDAT 986\r\n"
            );
            assert_eq!(
                emit(Command::Bdat {
                    size: 0,
                    last: true
                }),
                b"BDAT 0 LAST\r\n"
            );
            assert_eq!(
                Command::Bdat {
                    size: u64::MAX,
                    last: true
                }
                .len(),
                32
            );
        }
        assert_eq!(emit(Command::Rset), b"RSET\r\n");
        assert_eq!(emit(Command::Noop), b"NOOP\r\n");
        assert_eq!(emit(Command::Quit), b"QUIT\r\n");
        assert_eq!(emit(Command::AuthCancel), b"*\r\n");
    }

    #[test]
    fn auth_lines() {
        // RFC 4954 §4 example: "\0tim\0tanstaaftanstaaf" -> AHRpbQB0YW5zdGFhZnRhbnN0YWFm
        let p: &[&[u8]] = &[b"\0", b"tim", b"\0", b"tanstaaftanstaaf"];
        assert_eq!(
            emit(Command::Auth {
                mechanism: "PLAIN",
                initial: Some(p)
            }),
            b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"
        );
        assert_eq!(
            emit(Command::Auth {
                mechanism: "LOGIN",
                initial: None
            }),
            b"AUTH LOGIN\r\n"
        );
        assert_eq!(
            emit(Command::Auth {
                mechanism: "EXTERNAL",
                initial: Some(&[b""])
            }),
            b"AUTH EXTERNAL =\r\n"
        );
        assert_eq!(
            emit(Command::AuthResponse(&[b"user@qq.com"])),
            b"dXNlckBxcS5jb20=\r\n"
        );
        // Longer than one 48-byte chunk: must equal one-shot encoding.
        let long = [b'x'; 100];
        let mut expect = [0u8; 200];
        let m = STANDARD.encode_slice(long, &mut expect).unwrap();
        let mut e = expect[..m].to_vec();
        e.extend_from_slice(b"\r\n");
        assert_eq!(emit(Command::AuthResponse(&[&long[..30], &long[30..]])), e);
    }

    #[test]
    fn capacity() {
        let mut small = [0xAAu8; 5];
        assert_eq!(
            Command::Quit.emit(&mut small[..5]),
            Err(Capacity { required: 6 })
        );
        assert_eq!(small, [0xAA; 5]);
        assert_eq!(Command::Quit.emit(&mut [0u8; 6]), Ok(6));
    }
}
