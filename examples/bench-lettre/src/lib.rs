//! What the benchmarks share: the message body every throughput client sends,
//! and real EHLO replies for the parser benchmark.

/// Characters of one body line before its CRLF (a line is 64 bytes on the wire).
pub const LINE: usize = 62;

/// The message body every client sends: `size` bytes of printable ASCII in lines
/// of [`LINE`] characters ending in CRLF (1024 bytes = 16 lines of 64). No line
/// starts with a dot, so no client needs to dot-stuff it, and it is 7bit text for
/// every writer. The last lines are shorter when `size` is not a multiple of 64;
/// a `size` of 1 or 2 cannot end in CRLF and is padded to 3.
pub fn body(size: usize) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let size = if (1..3).contains(&size) { 3 } else { size };
    let mut out = String::with_capacity(size);
    let mut line = 0usize;
    while out.len() < size {
        let room = size - out.len();
        let chars = if room <= LINE + 2 {
            room - 2
        } else if room < LINE + 2 + 3 {
            // Leave at least a one-character line for the rest.
            room - 5
        } else {
            LINE
        };
        for i in 0..chars {
            out.push(char::from(ALPHABET[(line + i) % ALPHABET.len()]));
        }
        out.push_str("\r\n");
        line += 1;
    }
    out
}

/// Replies to EHLO from real servers, as in the library's `tests/reply_vectors.rs`
/// (host names and addresses replaced with documentation values): `(name, bytes)`.
pub const EHLO_REPLIES: [(&str, &[u8]); 4] = [
    (
        "gmail",
        b"250-smtp.gmail.com at your service, [203.0.113.7]\r\n\
          250-SIZE 35882577\r\n\
          250-8BITMIME\r\n\
          250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n\
          250-ENHANCEDSTATUSCODES\r\n\
          250-PIPELINING\r\n\
          250-CHUNKING\r\n\
          250 SMTPUTF8\r\n",
    ),
    (
        "qq",
        b"250-newxmesmtplogicsvrsza1-0.qq.com\r\n\
          250-PIPELINING\r\n\
          250-SIZE 73400320\r\n\
          250-AUTH LOGIN PLAIN XOAUTH XOAUTH2\r\n\
          250-AUTH=LOGIN\r\n\
          250-MAILCOMPRESS\r\n\
          250 8BITMIME\r\n",
    ),
    (
        "outlook",
        b"250-SN4PR0201CA0045.outlook.office365.com Hello [203.0.113.7]\r\n\
          250-SIZE 157286400\r\n\
          250-PIPELINING\r\n\
          250-DSN\r\n\
          250-ENHANCEDSTATUSCODES\r\n\
          250-AUTH LOGIN XOAUTH2\r\n\
          250-8BITMIME\r\n\
          250-BINARYMIME\r\n\
          250-CHUNKING\r\n\
          250 SMTPUTF8\r\n",
    ),
    (
        "postfix",
        b"250-mail.example.org\r\n\
          250-PIPELINING\r\n\
          250-SIZE 10240000\r\n\
          250-VRFY\r\n\
          250-ETRN\r\n\
          250-STARTTLS\r\n\
          250-ENHANCEDSTATUSCODES\r\n\
          250-8BITMIME\r\n\
          250-DSN\r\n\
          250-SMTPUTF8\r\n\
          250 CHUNKING\r\n",
    ),
];

/// The fixed headers' values every throughput client uses.
pub const FROM: &str = "Bench <bench@example.com>";
/// The recipient of every throughput message.
pub const TO: &str = "sink@example.com";
/// The subject of every throughput message.
pub const SUBJECT: &str = "throughput";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_sizes_and_lines() {
        for size in (0..300).chain([1024, 4000, 64_000]) {
            let b = body(size);
            assert_eq!(
                b.len(),
                size.max(if size > 0 { 3 } else { 0 }),
                "size {size}"
            );
            if size > 0 {
                assert!(b.ends_with("\r\n"));
            }
            assert!(!b.split("\r\n").any(|l| l.starts_with('.')));
            assert!(b.split("\r\n").all(|l| l.len() <= LINE));
        }
        let b = body(1024);
        assert_eq!(b.matches("\r\n").count(), 16);
        assert!(b.starts_with("ABCDEFGHIJ"));
        assert!(b.split("\r\n").nth(1).unwrap().starts_with("BCDEFGHIJ"));
    }
}
