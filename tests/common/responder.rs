//! A small SMTP server in memory: answers every command line, keeps the data of
//! each message, and can refuse the session or cut the connection after a number
//! of data bytes. For the resend and retry tests.

use embedded_io::ErrorKind;
use embedded_smtp::blocking::Deadline;

/// The connection was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut;

impl core::fmt::Display for Cut {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("connection cut")
    }
}

impl core::error::Error for Cut {}

impl embedded_io::Error for Cut {
    fn kind(&self) -> ErrorKind {
        ErrorKind::ConnectionReset
    }
}

/// An SMTP server in memory: answers every command line, keeps the data of each
/// message, and fails every call once `cut_after` data bytes have arrived.
pub struct Responder {
    out: Vec<u8>,
    line: Vec<u8>,
    in_data: bool,
    data: Vec<u8>,
    /// The data of each message accepted (up to the final dot, excluded).
    pub messages: Vec<Vec<u8>>,
    /// Every command line received, without its CRLF.
    pub commands: Vec<String>,
    cut_after: Option<usize>,
    cut: bool,
    /// Answers nothing more after the first reply.
    refuse: bool,
}

impl Responder {
    /// A server that greets with 220 and cuts the connection after `cut_after`
    /// data bytes (never when `None`).
    pub fn new(cut_after: Option<usize>) -> Self {
        Responder {
            out: b"220 mem.test ESMTP\r\n".to_vec(),
            line: vec![],
            in_data: false,
            data: vec![],
            messages: vec![],
            commands: vec![],
            cut_after,
            cut: false,
            refuse: false,
        }
    }

    /// A server that answers everything with `reply` (e.g. a `421` greeting).
    pub fn refusing(reply: &[u8]) -> Self {
        let mut r = Responder::new(None);
        r.out = reply.to_vec();
        r.refuse = true;
        r
    }

    fn on_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        if self.in_data {
            if line == b".\r\n" {
                self.in_data = false;
                self.messages.push(std::mem::take(&mut self.data));
                self.out.extend_from_slice(b"250 2.0.0 queued\r\n");
            } else {
                self.data.extend_from_slice(&line);
            }
            return;
        }
        let cmd = String::from_utf8_lossy(&line).trim_end().to_string();
        if self.refuse {
            self.commands.push(cmd);
            return;
        }
        let reply: &[u8] = match cmd.get(..4).unwrap_or("") {
            "EHLO" => b"250-mem.test\r\n250 PIPELINING\r\n",
            "DATA" => {
                self.in_data = true;
                b"354 go\r\n"
            }
            "QUIT" => b"221 bye\r\n",
            _ => b"250 ok\r\n",
        };
        self.commands.push(cmd);
        self.out.extend_from_slice(reply);
    }
}

impl embedded_io::ErrorType for Responder {
    type Error = Cut;
}

impl embedded_io::Read for Responder {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Cut> {
        if self.cut {
            return Err(Cut);
        }
        let n = self.out.len().min(buf.len());
        buf[..n].copy_from_slice(&self.out[..n]);
        self.out.drain(..n);
        Ok(n)
    }
}

impl embedded_io::Write for Responder {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Cut> {
        if self.cut {
            return Err(Cut);
        }
        for &b in buf {
            self.line.push(b);
            if self.in_data
                && let Some(limit) = self.cut_after
                && self.data.len() + self.line.len() > limit
            {
                self.cut = true;
                return Err(Cut);
            }
            if b == b'\n' {
                self.on_line();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Cut> {
        Ok(())
    }
}

/// A test double: it answers at once.
impl Deadline for Responder {
    fn start_wait(&mut self, _: Option<core::time::Duration>) {}
}

#[cfg(feature = "async")]
impl embedded_io_async::Read for Responder {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Cut> {
        embedded_io::Read::read(self, buf)
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Write for Responder {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Cut> {
        embedded_io::Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), Cut> {
        Ok(())
    }
}
