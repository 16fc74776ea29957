//! Messages larger than `tx` over CHUNKING: several `BDAT` chunks, with and without
//! PIPELINING, against a small in-test server that parses `BDAT` by its counts and
//! reassembles the message. The reassembled bytes must be the CRLF-normalised
//! message, with dots untouched. `BDAT` is built with feature `chunking` only.

#![cfg(feature = "chunking")]

use embedded_smtp::blocking::Client;
use embedded_smtp::message::RawMessage;
use embedded_smtp::{Address, Config, Domain};

/// A server that understands EHLO, MAIL, RCPT, BDAT and QUIT.
struct BdatServer {
    pipelining: bool,
    out: Vec<u8>,
    input: Vec<u8>,
    /// Bytes of chunk data still expected.
    pending: usize,
    last: bool,
    message: Vec<u8>,
    chunks: Vec<(usize, bool)>,
    /// Most replies queued but unread at once (pipelined chunks in flight).
    max_backlog: usize,
    backlog: usize,
}

impl BdatServer {
    fn new(pipelining: bool) -> Self {
        BdatServer {
            pipelining,
            out: b"220 ready\r\n".to_vec(),
            input: Vec::new(),
            pending: 0,
            last: false,
            message: Vec::new(),
            chunks: Vec::new(),
            max_backlog: 0,
            backlog: 1,
        }
    }

    fn reply(&mut self, r: &[u8]) {
        self.out.extend_from_slice(r);
        self.backlog += 1;
        self.max_backlog = self.max_backlog.max(self.backlog);
    }

    fn process(&mut self) {
        loop {
            if self.pending > 0 {
                let n = self.pending.min(self.input.len());
                if n == 0 {
                    return;
                }
                self.message.extend(self.input.drain(..n));
                self.pending -= n;
                if self.pending == 0 {
                    self.reply(if self.last {
                        b"250 2.0.0 queued\r\n"
                    } else {
                        b"250 2.0.0 chunk ok\r\n"
                    });
                }
                continue;
            }
            let Some(end) = self.input.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line: Vec<u8> = self.input.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 2]).to_string();
            if text.starts_with("EHLO") {
                let caps: &[u8] = if self.pipelining {
                    b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
                } else {
                    b"250-mx\r\n250 CHUNKING\r\n"
                };
                self.reply(caps);
            } else if text.starts_with("MAIL") || text.starts_with("RCPT") {
                self.reply(b"250 ok\r\n");
            } else if let Some(rest) = text.strip_prefix("BDAT ") {
                let mut parts = rest.split(' ');
                let size: usize = parts.next().unwrap().parse().unwrap();
                self.last = parts.next() == Some("LAST");
                self.chunks.push((size, self.last));
                self.pending = size;
                if size == 0 {
                    self.reply(b"250 2.0.0 queued\r\n");
                }
            } else if text == "QUIT" {
                self.reply(b"221 bye\r\n");
            } else {
                panic!("unexpected command {text:?}");
            }
        }
    }
}

/// A test double: it answers at once, so there is no wait to bound.
impl embedded_smtp::blocking::Deadline for BdatServer {
    fn start_wait(&mut self, _: Option<core::time::Duration>) {}
}

impl embedded_io::ErrorType for BdatServer {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for BdatServer {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.out.len().min(buf.len());
        assert!(n > 0, "client reads with no reply pending");
        buf[..n].copy_from_slice(&self.out[..n]);
        self.out.drain(..n);
        if self.out.is_empty() {
            self.backlog = 0;
        }
        Ok(n)
    }
}

impl embedded_io::Write for BdatServer {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.input.extend_from_slice(buf);
        self.process();
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn body() -> Vec<u8> {
    let mut b = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..400 {
        // Leading dots, bare LFs and CRLFs mixed.
        b.extend_from_slice(format!(".line {i} of the log\n").as_bytes());
    }
    b.extend_from_slice(b"no final newline");
    b
}

fn normalised() -> Vec<u8> {
    let text = String::from_utf8(body())
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    [text.as_bytes(), b"\r\n"].concat()
}

fn send(pipelining: bool) -> BdatServer {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 700]);
    let cfg = Config::new(Domain::try_new("client.example").unwrap());
    let mut client: Client<'_, BdatServer> =
        Client::new(BdatServer::new(pipelining), cfg, &mut rx, &mut tx).unwrap();
    client.connect().unwrap();
    let a = Address::try_new("a@example.com").unwrap();
    let body = body();
    let report = client
        .send_raw(a, [a], &mut RawMessage::new(&body))
        .unwrap();
    assert_eq!(report.reply().unwrap().text_lossy(), "queued");
    client.quit().unwrap();
    client.into_inner()
}

#[test]
fn a_large_message_in_many_chunks() {
    for pipelining in [false, true] {
        let server = send(pipelining);
        assert!(
            server.message == normalised(),
            "reassembled message differs (pipelining {pipelining})"
        );
        assert!(server.chunks.len() > 10, "{:?}", server.chunks);
        let lasts: Vec<bool> = server.chunks.iter().map(|c| c.1).collect();
        assert_eq!(lasts.iter().filter(|&&l| l).count(), 1);
        assert!(lasts[lasts.len() - 1], "the final chunk carries LAST");
        // Chunks fill most of the 700-byte buffer.
        assert!(
            server.chunks[..server.chunks.len() - 1]
                .iter()
                .all(|c| c.0 > 400),
            "{:?}",
            server.chunks
        );
        if pipelining {
            // Chunks go out without waiting, but never more than 16 at once.
            assert!(
                server.max_backlog > 2 && server.max_backlog <= 17,
                "backlog {}",
                server.max_backlog
            );
        } else {
            assert!(server.max_backlog <= 2, "backlog {}", server.max_backlog);
        }
    }
}
