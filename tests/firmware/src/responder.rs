//! An SMTP server in memory: answers each complete command line, swallows message
//! data until the final dot, and remembers what it saw.

/// The responder's state.
pub struct Responder {
    out: [u8; 256],
    out_start: usize,
    out_end: usize,
    line: [u8; 600],
    line_len: usize,
    in_data: bool,
    /// Messages accepted (final dot seen).
    pub messages: u32,
    /// Bytes of message data received.
    pub data_bytes: u32,
    /// Whether AUTH PLAIN carried the expected credentials.
    pub auth_ok: bool,
    refuse: &'static [u8],
    /// Whether QUIT was answered.
    pub quit: bool,
}

impl Responder {
    /// A responder that greets at once and refuses the recipient whose RCPT line
    /// contains `refuse` (nothing when empty).
    pub fn new(refuse: &'static [u8]) -> Self {
        let mut r = Responder {
            out: [0; 256],
            out_start: 0,
            out_end: 0,
            line: [0; 600],
            line_len: 0,
            in_data: false,
            messages: 0,
            data_bytes: 0,
            auth_ok: false,
            refuse,
            quit: false,
        };
        r.reply(b"220 qemu.test ESMTP\r\n");
        r
    }

    fn reply(&mut self, r: &[u8]) {
        let end = (self.out_end + r.len()).min(self.out.len());
        self.out[self.out_end..end].copy_from_slice(&r[..end - self.out_end]);
        self.out_end = end;
    }

    fn on_line(&mut self) {
        let l = &self.line[..self.line_len];
        let r: &[u8] = if self.in_data {
            self.data_bytes += l.len() as u32;
            if l == b".\r\n" {
                self.in_data = false;
                self.messages += 1;
                b"250 2.0.0 queued\r\n"
            } else {
                b""
            }
        } else if l.starts_with(b"EHLO") {
            b"250-qemu.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n"
        } else if l.starts_with(b"AUTH PLAIN ") {
            // base64("\0sensor\0code")
            self.auth_ok = l == b"AUTH PLAIN AHNlbnNvcgBjb2Rl\r\n";
            if self.auth_ok {
                b"235 2.7.0 ok\r\n"
            } else {
                b"535 5.7.8 no\r\n"
            }
        } else if l.starts_with(b"MAIL") {
            b"250 2.1.0 ok\r\n"
        } else if l.starts_with(b"RCPT") {
            if !self.refuse.is_empty() && l.windows(self.refuse.len()).any(|w| w == self.refuse) {
                b"550 5.1.1 no such user\r\n"
            } else {
                b"250 2.1.5 ok\r\n"
            }
        } else if l.starts_with(b"DATA") {
            self.in_data = true;
            b"354 go\r\n"
        } else if l.starts_with(b"RSET") {
            b"250 ok\r\n"
        } else if l.starts_with(b"QUIT") {
            self.quit = true;
            b"221 bye\r\n"
        } else {
            b"500 what\r\n"
        };
        self.reply(r);
        self.line_len = 0;
    }

    /// Takes what the client sent.
    pub fn take(&mut self, buf: &[u8]) {
        for &b in buf {
            if self.line_len < self.line.len() {
                self.line[self.line_len] = b;
                self.line_len += 1;
            }
            if b == b'\n' {
                self.on_line();
            }
        }
    }

    /// Gives what the server has to say (0 when nothing).
    pub fn give(&mut self, buf: &mut [u8]) -> usize {
        let n = (self.out_end - self.out_start).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.out_start..self.out_start + n]);
        self.out_start += n;
        if self.out_start == self.out_end {
            self.out_start = 0;
            self.out_end = 0;
        }
        n
    }

    /// Bytes waiting for the client.
    pub fn pending(&self) -> usize {
        self.out_end - self.out_start
    }
}

impl embedded_io::ErrorType for Responder {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Responder {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.give(buf))
    }
}

impl embedded_io::Write for Responder {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.take(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl embedded_io_async::Read for Responder {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.give(buf))
    }
}

impl embedded_io_async::Write for Responder {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.take(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
