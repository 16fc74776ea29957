//! Whole SMTP sessions with the unchanged blocking client on a bare Cortex-M core
//! under QEMU, against an SMTP responder in the same image. Prints each check, a
//! `N passed, M failed` line and the stack high-water, then exits through
//! semihosting (status 0 only when every check passed).
//!
//! With feature `baseline` the same runtime and responder are linked without any
//! SMTP call: the difference in size is the cost of the core.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

/// An SMTP server in memory: answers each complete command line, swallows message
/// data until the final dot, and remembers what it saw.
struct Responder {
    out: [u8; 512],
    out_start: usize,
    out_end: usize,
    line: [u8; 600],
    line_len: usize,
    in_data: bool,
    messages: u32,
    data_bytes: u32,
    auth_ok: bool,
    refuse: &'static [u8],
    quit: bool,
}

impl Responder {
    fn new(refuse: &'static [u8]) -> Self {
        let mut r = Responder {
            out: [0; 512],
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
            if self.auth_ok { b"235 2.7.0 ok\r\n" } else { b"535 5.7.8 no\r\n" }
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
}

impl embedded_io::ErrorType for Responder {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Responder {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = (self.out_end - self.out_start).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.out_start..self.out_start + n]);
        self.out_start += n;
        if self.out_start == self.out_end {
            self.out_start = 0;
            self.out_end = 0;
        }
        Ok(n)
    }
}

impl embedded_io::Write for Responder {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        for &b in buf {
            if self.line_len < self.line.len() {
                self.line[self.line_len] = b;
                self.line_len += 1;
            }
            if b == b'\n' {
                self.on_line();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(not(feature = "baseline"))]
mod smtp {
    use super::Responder;
    use embedded_smtp::blocking::Client;
    use embedded_smtp::message::{Attachment, DateTime, Message};
    use embedded_smtp::{Config, Credentials, Domain, Error, HeaderText, Mailbox};

    pub(crate) const CSV: &[u8] = b"time,celsius\n15:00,74.9\n15:01,78.2\n15:02,81.5\n";

    /// EHLO, AUTH PLAIN, a message with an attachment to two recipients (one
    /// refused when `refuse` names it), QUIT. Returns (accepted, responder).
    pub(crate) fn session(refuse: &'static [u8]) -> Result<(usize, Responder), Error<core::convert::Infallible>> {
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
        let config = Config::new(Domain::try_new("sensor-7.qemu")?)
            .with_credentials(Credentials::try_new("sensor", "code")?)
            .allow_plaintext_auth();
        let mut client: Client<'_, Responder> = Client::new(Responder::new(refuse), config, &mut rx, &mut tx)?;
        client.connect()?;
        let from = Mailbox::parse("Sensor 7 <sensor7@qemu.test>")?;
        let to = [Mailbox::parse("ops@qemu.test")?, Mailbox::parse("Night shift <night@qemu.test>")?];
        let mut attachments = [Attachment::new("readings.csv", "text/csv", CSV)?];
        let mut message = Message::new(from, HeaderText::try_new("Kühlraum 2: 81,5 °C")?)
            .to(&to)
            .date(DateTime { unix_seconds: 1_795_874_400, offset_minutes: 60 })
            .message_id([0x5a; 16])
            .text("Cold room 2 is at 81.5 °C (limit 75 °C).\n")
            .attachments(&mut attachments);
        let report = client.send(&mut message)?;
        client.quit()?;
        Ok((report.accepted(), client.into_inner()))
    }
}

/// Lowest stack address touched since reset: the first word above the stack's
/// bottom that no longer holds the paint value (cortex-m-rt `paint-stack`).
fn stack_used() -> u32 {
    unsafe extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }
    let top = core::ptr::addr_of!(_stack_start) as u32;
    let bottom = core::ptr::addr_of!(_stack_end) as u32;
    let mut p = bottom;
    while p < top {
        // SAFETY: [bottom, top) is the stack region; reading painted words is harmless.
        let v = unsafe { core::ptr::read_volatile(p as *const u32) };
        if v != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        p += 4;
    }
    top - p
}

#[entry]
fn main() -> ! {
    let (mut passed, mut failed) = (0u32, 0u32);
    let mut check = |name: &str, ok: bool| {
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
        hprintln!("{} {}", if ok { "ok  " } else { "FAIL" }, name);
    };
    #[cfg(not(feature = "baseline"))]
    {
        match smtp::session(b"") {
            Ok((accepted, r)) => {
                check("session: both recipients accepted", accepted == 2);
                check("session: AUTH PLAIN sent the right credentials", r.auth_ok);
                check("session: one message delivered", r.messages == 1);
                hprintln!("message data: {} bytes", r.data_bytes);
                check("session: the attachment went over the wire", r.data_bytes > 600);
                check("session: QUIT answered", r.quit);
            }
            Err(_) => check("session: completes", false),
        }
        match smtp::session(b"<night@") {
            Ok((accepted, r)) => {
                check("refused recipient: one of two accepted", accepted == 1);
                check("refused recipient: message still delivered", r.messages == 1);
            }
            Err(_) => check("refused recipient: completes", false),
        }
    }
    #[cfg(feature = "baseline")]
    {
        // The same runtime and responder, no SMTP code.
        let mut r = Responder::new(b"");
        let mut buf = [0u8; 64];
        let n = embedded_io::Read::read(&mut r, &mut buf).unwrap_or(0);
        let _ = embedded_io::Write::write(&mut r, b"QUIT\r\n");
        check("baseline: responder greets", n > 0 && r.quit);
    }
    hprintln!("stack high-water: {} bytes", stack_used());
    hprintln!("{} passed, {} failed", passed, failed);
    debug::exit(if failed == 0 { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {}
}
