//! A hostile SMTP server on 127.0.0.1 that drips one reply a byte at a time, for
//! ever (bounded: it stops after `MAX_RUN` or when the client goes away), so that
//! only a deadline spanning the whole wait can end the client's wait.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// Which reply drips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drip {
    /// The greeting.
    Greeting,
    /// The reply to EHLO.
    Ehlo,
    /// The reply to the end of data.
    EndOfData,
}

/// Time between two dripped bytes.
pub const EVERY: Duration = Duration::from_millis(100);
/// The server gives up after this long.
const MAX_RUN: Duration = Duration::from_secs(20);

/// Starts the server; returns its port and its thread (which ends by itself).
pub fn start(drip: Drip) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        tcp.set_read_timeout(Some(MAX_RUN)).unwrap();
        let _ = serve(tcp, drip);
    });
    (port, handle)
}

fn serve(tcp: TcpStream, drip: Drip) -> std::io::Result<()> {
    let mut out = tcp.try_clone()?;
    let mut lines = BufReader::new(tcp);
    let mut line = String::new();
    let mut next = |lines: &mut BufReader<TcpStream>| -> std::io::Result<String> {
        line.clear();
        lines.read_line(&mut line)?;
        Ok(line.clone())
    };
    if drip == Drip::Greeting {
        return drip_forever(&mut out, b"220-");
    }
    out.write_all(b"220 drip.test ESMTP\r\n")?;
    next(&mut lines)?; // EHLO
    if drip == Drip::Ehlo {
        return drip_forever(&mut out, b"250-");
    }
    out.write_all(b"250 drip.test\r\n")?;
    for reply in [&b"250 ok\r\n"[..], b"250 ok\r\n", b"354 go\r\n"] {
        next(&mut lines)?; // MAIL, RCPT, DATA
        out.write_all(reply)?;
    }
    while next(&mut lines)? != ".\r\n" {}
    drip_forever(&mut out, b"250-")
}

/// Sends `code` then a continuation line, again and again, one byte at a time.
fn drip_forever(out: &mut TcpStream, code: &[u8]) -> std::io::Result<()> {
    let start = Instant::now();
    let mut line = code.to_vec();
    line.extend_from_slice(b"still here\r\n");
    while start.elapsed() < MAX_RUN {
        for b in &line {
            out.write_all(std::slice::from_ref(b))?;
            thread::sleep(EVERY);
        }
    }
    Ok(())
}
