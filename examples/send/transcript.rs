//! `-v`: the SMTP dialogue on stderr, AUTH redacted.
//!
//! With `-v` the SMTP dialogue goes to stderr as `C:`/`S:` lines. AUTH is
//! redacted by the transcript itself, line by line: an `AUTH` command keeps
//! only its mechanism, and every line the client sends in answer to a `334`
//! challenge is replaced by `<redacted>`. (The engine knows exactly which bytes
//! are secret, `Engine::is_sending_secret`, but the transcript sits in the
//! stream below the client and cannot ask it; these two rules cover every SASL
//! mechanism the client speaks.)

use std::time::Duration;

use embedded_io::{ErrorType, Read, Write};
use embedded_smtp::blocking::Deadline;

/// The stream the client sees: copies the SMTP dialogue to stderr as `C:`/`S:`
/// lines when `on`, with AUTH redacted (see the module's docs). It sits above TLS,
/// so the dialogue is shown in clear text in every mode. The client's deadline
/// passes through it to the socket.
pub(crate) struct Transcript<S> {
    pub(crate) inner: S,
    pub(crate) on: bool,
    sent: Vec<u8>,
    received: Vec<u8>,
    /// The last complete server line was a `334` challenge.
    challenged: bool,
}

impl<S> Transcript<S> {
    pub(crate) fn new(inner: S, on: bool) -> Self {
        Transcript {
            inner,
            on,
            sent: vec![],
            received: vec![],
            challenged: false,
        }
    }

    fn client_line(&mut self, line: &[u8]) {
        eprintln!(
            "C: {}",
            redact(self.challenged, &String::from_utf8_lossy(line))
        );
    }

    fn server_line(&mut self, line: &[u8]) {
        self.challenged = line.starts_with(b"334");
        eprintln!("S: {}", String::from_utf8_lossy(line));
    }
}

/// A client line as the transcript shows it: an answer to a `334` challenge is
/// `<redacted>`; an `AUTH` command keeps its verb and mechanism only.
pub(crate) fn redact(challenged: bool, line: &str) -> String {
    if challenged {
        return "<redacted>".into();
    }
    if !line
        .get(..5)
        .is_some_and(|v| v.eq_ignore_ascii_case("AUTH "))
    {
        return line.into();
    }
    let mut words = line.split(' ');
    let (verb, mech) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    match words.next() {
        Some(_) => format!("{verb} {mech} <redacted>"),
        None => format!("{verb} {mech}"),
    }
}

/// Takes each complete CRLF (or LF) line out of `buf`.
pub(crate) fn lines(buf: &mut Vec<u8>, mut each: impl FnMut(&[u8])) {
    while let Some(i) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=i).collect();
        let end = line.len() - 1 - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r');
        each(&line[..end]);
    }
}

impl<S: Deadline> Deadline for Transcript<S> {
    fn start_wait(&mut self, limit: Option<Duration>) {
        self.inner.start_wait(limit);
    }
}

impl<S: ErrorType> ErrorType for Transcript<S> {
    type Error = S::Error;
}

impl<S: Read> Read for Transcript<S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, S::Error> {
        let n = self.inner.read(buf)?;
        if self.on {
            self.received.extend_from_slice(&buf[..n]);
            let mut got = std::mem::take(&mut self.received);
            lines(&mut got, |l| self.server_line(l));
            self.received = got;
        }
        Ok(n)
    }
}

impl<S: Write> Write for Transcript<S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, S::Error> {
        let n = self.inner.write(buf)?;
        if self.on {
            self.sent.extend_from_slice(&buf[..n]);
            let mut out = std::mem::take(&mut self.sent);
            lines(&mut out, |l| self.client_line(l));
            self.sent = out;
        }
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), S::Error> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_redaction() {
        assert_eq!(
            redact(false, "AUTH PLAIN AGFsaWNlAHMzY3JldA=="),
            "AUTH PLAIN <redacted>"
        );
        assert_eq!(
            redact(false, "auth xoauth2 dXNlcj1h"),
            "auth xoauth2 <redacted>"
        );
        assert_eq!(redact(false, "AUTH LOGIN"), "AUTH LOGIN");
        assert_eq!(redact(true, "YWxpY2U="), "<redacted>");
        assert_eq!(redact(true, ""), "<redacted>");
        assert_eq!(redact(false, "MAIL FROM:<a@b>"), "MAIL FROM:<a@b>");
        assert_eq!(redact(false, "AUTHOR: me"), "AUTHOR: me");
        assert_eq!(redact(false, "Añ"), "Añ");
        let mut buf = b"250-a\r\n250 b\nrest".to_vec();
        let mut got = vec![];
        lines(&mut buf, |l| got.push(l.to_vec()));
        assert_eq!(got, [b"250-a".to_vec(), b"250 b".to_vec()]);
        assert_eq!(buf, b"rest");
    }
}
