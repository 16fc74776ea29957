//! Records the session that `fuzz/src/tls_script.rs` plays back: the client of the
//! script, against a tiny SMTP server over rustls in memory, keeping the server's
//! records and its traffic secrets (rustls's key log). Included with `#[path]` by
//! `tests/tls_guard.rs` (`recording_still_replays`), which mounts `rustls_server`
//! and `tls_script` at its crate root.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};

use embedded_io::ErrorKind;

use crate::tls_script::{Recording, blocking_session};

/// The server's traffic secrets, as rustls logs them (NSS key log labels).
#[derive(Debug, Default)]
struct Secrets(Mutex<HashMap<String, Vec<u8>>>);

impl rustls::KeyLog for Secrets {
    fn log(&self, label: &str, _client_random: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .insert(label.to_owned(), secret.to_vec());
    }
}

/// A tiny SMTP server over rustls in memory, answering each client write at once.
struct Live {
    tls: rustls::ServerConnection,
    greeted: bool,
    lines: Vec<u8>,
    in_data: bool,
    /// Every server byte, and how many of them the client has read.
    out: Vec<u8>,
    read: usize,
    client_len: usize,
    /// `(client bytes received, record)` for every whole record sent.
    records: Vec<(usize, Vec<u8>)>,
    parsed: usize,
}

impl Live {
    fn new(config: Arc<rustls::ServerConfig>) -> Live {
        Live {
            tls: rustls::ServerConnection::new(config).unwrap(),
            greeted: false,
            lines: vec![],
            in_data: false,
            out: vec![],
            read: 0,
            client_len: 0,
            records: vec![],
            parsed: 0,
        }
    }

    fn say(&mut self, text: &[u8]) {
        self.tls.writer().write_all(text).unwrap();
    }

    /// Moves what rustls has to send to `out`, record by record.
    fn ship(&mut self) {
        while self.tls.wants_write() {
            self.tls.write_tls(&mut self.out).unwrap();
        }
        while let Some(header) = self.out.get(self.parsed..self.parsed + 5) {
            let end = self.parsed + 5 + usize::from(u16::from_be_bytes([header[3], header[4]]));
            let Some(record) = self.out.get(self.parsed..end) else {
                break;
            };
            self.records.push((self.client_len, record.to_vec()));
            self.parsed = end;
        }
    }

    fn received(&mut self, mut bytes: &[u8]) {
        self.client_len += bytes.len();
        while !bytes.is_empty() {
            self.tls.read_tls(&mut bytes).unwrap();
            self.tls.process_new_packets().unwrap();
        }
        if !self.tls.is_handshaking() && !self.greeted {
            self.greeted = true;
            self.say(b"220 mx ESMTP over TLS\r\n");
        }
        let mut plain = vec![];
        match self.tls.reader().read_to_end(&mut plain) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        self.lines.extend_from_slice(&plain);
        while let Some(end) = self.lines.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.lines.drain(..end + 2).collect();
            self.line(&line[..end]);
        }
        self.ship();
    }

    fn line(&mut self, line: &[u8]) {
        if self.in_data {
            if line == b"." {
                self.in_data = false;
                self.say(crate::tls_script::QUEUED);
            }
            return;
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with(b"EHLO") {
            self.say(b"250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
        } else if upper.starts_with(b"MAIL") || upper.starts_with(b"RCPT") {
            self.say(b"250 ok\r\n");
        } else if upper == b"DATA" {
            self.in_data = true;
            self.say(b"354 go\r\n");
        } else if upper == b"QUIT" {
            self.say(b"221 bye\r\n");
            self.tls.send_close_notify();
        } else {
            self.say(b"502 no\r\n");
        }
    }
}

impl embedded_io::ErrorType for Live {
    type Error = ErrorKind;
}

/// In memory, every wait ends at once.
impl embedded_smtp::blocking::Deadline for Live {
    fn start_wait(&mut self, _: Option<core::time::Duration>) {}
}

impl embedded_io::Read for Live {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        let n = (self.out.len() - self.read).min(buf.len());
        assert!(n > 0, "the live server has nothing to say");
        buf[..n].copy_from_slice(&self.out[self.read..self.read + n]);
        self.read += n;
        Ok(n)
    }
}

impl embedded_io::Write for Live {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.received(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

impl embedded_io_async::Read for Live {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        embedded_io::Read::read(self, buf)
    }
}

impl embedded_io_async::Write for Live {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        embedded_io::Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// Runs the session against rustls and keeps the server's records and secrets.
pub fn record() -> Recording {
    let secrets = Arc::new(Secrets::default());
    let mut config = (*crate::rustls_server::ecdsa_server()).clone();
    config.key_log = secrets.clone();
    let mut live = Live::new(Arc::new(config));
    let run = blocking_session(&mut live);
    assert_eq!(run.sent, Ok(1));
    assert_eq!(run.quit, Some(Ok(())));
    let secrets = secrets.0.lock().unwrap();
    let secret = |label: &str| -> [u8; 32] { secrets[label].as_slice().try_into().unwrap() };
    Recording {
        handshake_secret: secret("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
        application_secret: secret("SERVER_TRAFFIC_SECRET_0"),
        client_len: live.client_len,
        records: live.records,
    }
}
