//! A whole session (greeting to QUIT, two messages, one with an attachment) makes
//! zero heap allocations. A counting global allocator counts every allocation made
//! while the client runs; the scripted server is prepared before counting starts
//! and its own bookkeeping does not allocate during the session.

// The messages here use RFC 2047 words and quoted-printable bodies.
#![cfg(all(feature = "encoded-words", feature = "quoted-printable"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::Ordering;

use embedded_smtp::blocking::Client;
use embedded_smtp::message::{
    AnyReader, Attachment, AutoSubmitted, Bytes, DateTime, Header, Importance, Message, MsgId,
};
use embedded_smtp::{Config, Credentials, Domain, HeaderText, Mailbox};

struct Counting;

// Counting is per thread, so tests running in parallel (and the test harness)
// do not count each other's allocations.
thread_local! {
    static COUNTING_HERE: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    static ALLOCATED_HERE: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// Switches counting on or off for the calling thread.
struct Flag;

impl Flag {
    fn store(&self, on: bool, _: Ordering) {
        COUNTING_HERE.with(|c| c.set(on));
    }

    fn load(&self, _: Ordering) -> bool {
        COUNTING_HERE.try_with(|c| c.get()).unwrap_or(false)
    }
}

static COUNTING: Flag = Flag;
/// Allocations counted on the calling thread.
struct Count;

impl Count {
    fn fetch_add(&self, n: usize, _: Ordering) {
        let _ = ALLOCATED_HERE.try_with(|c| c.set(c.get() + n));
    }

    fn load(&self, _: Ordering) -> usize {
        ALLOCATED_HERE.with(|c| c.get())
    }
}

static ALLOCATIONS: Count = Count;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::SeqCst) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::SeqCst) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A stream that answers like a permissive server without allocating: each
/// complete command line appends its reply to a fixed queue; message data is
/// swallowed until the final dot.
struct Sink {
    out: [u8; 1024],
    out_start: usize,
    out_end: usize,
    line: [u8; 1024],
    line_len: usize,
    in_data: bool,
    messages: usize,
    bytes_in: usize,
}

impl Sink {
    fn new() -> Self {
        let mut s = Sink {
            out: [0; 1024],
            out_start: 0,
            out_end: 0,
            line: [0; 1024],
            line_len: 0,
            in_data: false,
            messages: 0,
            bytes_in: 0,
        };
        s.reply(b"220 sink ready\r\n");
        s
    }

    fn reply(&mut self, r: &[u8]) {
        self.out[self.out_end..self.out_end + r.len()].copy_from_slice(r);
        self.out_end += r.len();
    }

    fn on_line(&mut self) {
        let l = &self.line[..self.line_len];
        let r: &[u8] = if self.in_data {
            if l == b".\r\n" {
                self.in_data = false;
                self.messages += 1;
                b"250 2.0.0 queued\r\n"
            } else {
                b""
            }
        } else if l.starts_with(b"EHLO") {
            b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n"
        } else if l.starts_with(b"AUTH") {
            b"235 2.7.0 ok\r\n"
        } else if l.starts_with(b"MAIL") || l.starts_with(b"RCPT") {
            b"250 2.1.0 ok\r\n"
        } else if l.starts_with(b"DATA") {
            self.in_data = true;
            b"354 go\r\n"
        } else if l.starts_with(b"QUIT") {
            b"221 bye\r\n"
        } else {
            b"500 what\r\n"
        };
        self.reply(r);
        self.line_len = 0;
    }
}

/// A test double: it answers at once, so there is no wait to bound.
impl embedded_smtp::blocking::Deadline for Sink {
    fn start_wait(&mut self, _: Option<core::time::Duration>) {}
}

impl embedded_io::ErrorType for Sink {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Sink {
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

impl embedded_io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        for &b in buf {
            self.bytes_in += 1;
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

#[test]
fn a_whole_session_makes_no_allocation() {
    let csv = [b'7'; 3000];
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let from = Mailbox::parse("Sensor 7 <sensor7@example.com>").unwrap();
    let to = [Mailbox::parse("Ops <ops@example.com>").unwrap()];
    let subject = HeaderText::try_new("Temperaturalarm: 81,5 °C").unwrap();
    let config = Config::new(Domain::try_new("sensor-7.local").unwrap())
        .with_credentials(Credentials::try_new("sensor7@example.com", "code").unwrap())
        .allow_plaintext_auth();

    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let mut client: Client<'_, Sink> = Client::new(Sink::new(), config, &mut rx, &mut tx).unwrap();
    client.connect().unwrap();
    let mut plain: Message<'_> = Message::new(from, subject)
        .to(&to)
        .without_date()
        .text("first message\n");
    let r1 = client.send(&mut plain).unwrap().accepted();
    let mut attachments = [Attachment::new("log.csv", "text/csv", &csv[..]).unwrap()];
    let mut with_attachment = Message::new(from, subject)
        .to(&to)
        .date(DateTime {
            unix_seconds: 1_795_000_000,
            offset_minutes: 480,
        })
        .message_id([9; 16])
        .text("second message, über alles\n")
        .attachments(&mut attachments);
    let r2 = client.send(&mut with_attachment).unwrap().accepted();
    // HTML with an inline image and two attachments of different reader types
    // (bytes in memory, and a seekable reader behind a trait object), with every
    // optional header field.
    let png = [0x89u8; 700];
    let mut log = Bytes::new(&csv[..1000]);
    let cid = MsgId::try_new("chart@sensor7.example.com").unwrap();
    let root = MsgId::try_new("alerts.sensor7@example.com").unwrap();
    let headers = [Header::try_new("X-Device-Id", "sensor-7 Kühlraum").unwrap()];
    let mut parts = [
        Attachment::rewindable("chart.png", "image/png", AnyReader::bytes(&png))
            .unwrap()
            .inline(cid),
        Attachment::rewindable("a.csv", "text/csv", AnyReader::bytes(&csv[..500])).unwrap(),
        Attachment::rewindable("log.csv", "text/csv", AnyReader::seekable(&mut log)).unwrap(),
    ];
    let mut rich = Message::new(from, subject)
        .to(&to)
        .reply_to(&to)
        .thread(&root)
        .auto_submitted(AutoSubmitted::AutoGenerated)
        .importance(Importance::High)
        .headers(&headers)
        .date(DateTime {
            unix_seconds: 1_795_000_000,
            offset_minutes: 480,
        })
        .message_id([7; 16])
        .text("third message\n")
        .html("<p>Kühlraum: <img src=\"cid:chart@sensor7.example.com\"></p>")
        .attachments(&mut parts);
    let r3 = client.send(&mut rich).unwrap().accepted();
    client.quit().unwrap();
    COUNTING.store(false, Ordering::SeqCst);

    let sink = client.into_inner();
    assert_eq!((r1, r2, r3), (1, 1, 1));
    assert_eq!(sink.messages, 3, "the sink saw the three messages end");
    assert!(
        sink.bytes_in > 4000,
        "the attachment went over the wire ({} bytes)",
        sink.bytes_in
    );
    assert_eq!(
        ALLOCATIONS.load(Ordering::SeqCst) - before,
        0,
        "heap allocations during the session"
    );
}

#[cfg(feature = "async")]
impl embedded_io_async::Read for Sink {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io::Read::read(self, buf)
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Write for Sink {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The same session through the async client, polled with a no-op waker (the
/// sink is always ready, so nothing ever waits).
#[cfg(feature = "async")]
#[test]
fn an_async_session_makes_no_allocation() {
    use embedded_smtp::asynch;
    fn block_on<F: core::future::Future>(f: F) -> F::Output {
        let mut f = core::pin::pin!(f);
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        loop {
            if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
    let csv = [b'7'; 3000];
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let from = Mailbox::parse("Sensor 7 <sensor7@example.com>").unwrap();
    let to = [Mailbox::parse("Ops <ops@example.com>").unwrap()];
    let subject = HeaderText::try_new("Temperaturalarm: 81,5 °C").unwrap();
    let config = Config::new(Domain::try_new("sensor-7.local").unwrap())
        .with_credentials(Credentials::try_new("sensor7@example.com", "code").unwrap())
        .allow_plaintext_auth();
    let mut attachments = [Attachment::new("log.csv", "text/csv", &csv[..]).unwrap()];
    let mut message = Message::new(from, subject)
        .to(&to)
        .without_date()
        .text("über alles\n")
        .attachments(&mut attachments);

    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let mut client: asynch::Client<'_, Sink> =
        asynch::Client::new(Sink::new(), asynch::NoTimer, config, &mut rx, &mut tx).unwrap();
    let accepted = block_on(async {
        client.connect().await.unwrap();
        client.send_and_quit(&mut message).await.unwrap().accepted()
    });
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(accepted, 1);
    assert_eq!(client.into_inner().messages, 1);
    assert_eq!(
        ALLOCATIONS.load(Ordering::SeqCst) - before,
        0,
        "heap allocations during the async session"
    );
}
