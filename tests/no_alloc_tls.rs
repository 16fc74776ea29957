//! A whole session over implicit TLS 1.3 (handshake with certificate verification
//! against the test root, AUTH, a message with an attachment, QUIT) makes zero heap
//! allocations on the client's thread. The server is rustls in another thread: the
//! counting allocator counts only allocations made by the thread that set its
//! (thread-local) flag.
#![cfg(all(
    feature = "tls",
    feature = "encoded-words",
    feature = "quoted-printable"
))]

#[path = "common/rustls_server.rs"]
#[allow(dead_code)]
mod rustls_server;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use embedded_smtp::blocking::Client;
use embedded_smtp::blocking::FromStdTcp;
use embedded_smtp::message::{Attachment, DateTime, Message};
use embedded_smtp::tls::{self, Connector, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
use embedded_smtp::verify::{TimeSource, Verifier, anchor_from_der};
use embedded_smtp::{Config, Credentials, Domain, HeaderText, Mailbox, Security};
use rand_core::OsRng;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const LIMIT: Duration = Duration::from_secs(20);
const NOW: u64 = 1_780_000_000;
const CSV: &[u8] = b"time,celsius\n15:00,74.9\n15:01,78.2\n15:02,81.5\n";

/// A small SMTP server over implicit TLS: one reply per command line, message
/// data swallowed up to the final dot. Returns how many messages it accepted.
fn server(config: std::sync::Arc<rustls::ServerConfig>) -> (u16, thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(LIMIT)).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
        let say = |tls: &mut BufReader<rustls::StreamOwned<_, _>>, text: &[u8]| {
            tls.get_mut().write_all(text).unwrap();
            tls.get_mut().flush().unwrap();
        };
        say(&mut tls, b"220 test ESMTP\r\n");
        let (mut messages, mut in_data) = (0, false);
        let mut line = String::new();
        loop {
            line.clear();
            if tls.read_line(&mut line).unwrap_or(0) == 0 {
                return messages;
            }
            let upper = line.trim_end().to_ascii_uppercase();
            let reply: &[u8] = if in_data {
                if upper != "." {
                    continue;
                }
                in_data = false;
                messages += 1;
                b"250 queued\r\n"
            } else if upper.starts_with("EHLO") {
                b"250-test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n"
            } else if upper.starts_with("AUTH") {
                b"235 ok\r\n"
            } else if upper == "DATA" {
                in_data = true;
                b"354 go\r\n"
            } else if upper == "QUIT" {
                say(&mut tls, b"221 bye\r\n");
                return messages;
            } else {
                b"250 ok\r\n"
            };
            say(&mut tls, reply);
        }
    });
    (port, handle)
}

#[test]
fn implicit_tls_session_makes_no_allocation() {
    session_makes_no_allocation(rustls_server::ecdsa_server());
}

/// The same against an RSA server (RSA-2048 leaf, RSA-4096 intermediate): the
/// heapless RSA of `tls-rsa` verifies the chain and the RSA-PSS CertificateVerify
/// without allocating.
#[test]
#[cfg(feature = "tls-rsa")]
fn rsa_server_session_makes_no_allocation() {
    session_makes_no_allocation(rustls_server::rsa_server());
}

fn session_makes_no_allocation(server_config: std::sync::Arc<rustls::ServerConfig>) {
    let (port, server) = server(server_config);
    // Everything that may allocate (the socket, test values) happens before counting.
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    let anchors = [anchor_from_der(include_bytes!("data/certs/root-ca.der")).unwrap()];
    let from = [Mailbox::parse("Sensor 7 <sensor7@example.org>").unwrap()];
    let to = [Mailbox::parse("ops@example.org").unwrap()];
    let subject = HeaderText::try_new("Cold room 2: 81.5 °C").unwrap();
    let config = Config::new(Domain::try_new("sensor-7.test").unwrap())
        .with_security(Security::Implicit)
        .with_credentials(Credentials::try_new("sensor7", "code").unwrap());
    let mut tls_read = [0u8; TLS_READ_BUFFER];
    let mut tls_write = [0u8; TLS_WRITE_BUFFER];
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);

    COUNTING.with(|c| c.set(true));
    let connector = Connector::new(
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
        OsRng,
    );
    let mut client: Client<'_, _, 4, _> = tls::blocking::client(
        FromStdTcp::new(tcp),
        connector,
        config,
        embedded_smtp::tls::Buffers {
            rx: &mut rx,
            tx: &mut tx,
            tls_read: &mut tls_read,
            tls_write: &mut tls_write,
        },
    )
    .unwrap();
    client.connect().unwrap();
    let mut attachments = [Attachment::new("readings.csv", "text/csv", CSV).unwrap()];
    let mut message = Message::new(from[0], subject)
        .to(&to)
        .date(DateTime {
            unix_seconds: NOW,
            offset_minutes: 0,
        })
        .message_id([7; 16])
        .text("Cold room 2 is at 81.5 °C.\n")
        .attachments(&mut attachments);
    let accepted = client.send(&mut message).unwrap().accepted();
    client.quit().unwrap();
    COUNTING.with(|c| c.set(false));

    assert_eq!(accepted, 1);
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 0);
    drop(client);
    assert_eq!(server.join().unwrap(), 1);
}
