//! The record guard: a socket wrapper between the network and embedded-tls that
//! lets through only the TLS records that may arrive at that point of a TLS 1.3
//! client connection, judged from what can be seen without keys.
//!
//! embedded-tls 0.19 panics on some records a peer can send (see
//! `docs/embedded-tls.md`): an encrypted record with an empty inner plaintext, a
//! plaintext handshake message after the handshake. Everything that needs no key to
//! judge is checked here, before embedded-tls sees a byte of the record:
//!
//! | phase | allowed records (RFC 8446 §5) |
//! |---|---|
//! | before ServerHello | one handshake record that starts with a whole ServerHello (type 2); an alert of 2 bytes |
//! | after ServerHello, before the first encrypted record | at most one ChangeCipherSpec, exactly the byte `01` (§5, middlebox compatibility); application data |
//! | from the first encrypted record on | application data only |
//!
//! Application data (every encrypted record in TLS 1.3) must be 17 ..= 2^14 + 256
//! bytes long (§5.2: at least the 16-byte AEAD tag and the content-type byte; at
//! most the expansion limit), and never longer than the read buffer. Records carry
//! version 0x0303 (§5.1; 0x0301 and 0x0302 are accepted before the ServerHello,
//! so that an old server still gets its `protocol_version` answer).
//!
//! embedded-tls reads a record's 5-byte header, then exactly its body, so the guard
//! follows the record boundaries of the bytes it passes on. A refused record is
//! reported to embedded-tls as an I/O error of kind `InvalidData` and recorded in a
//! [`Verdict`], through which the TLS stream names it ([`RecordError`]); from then
//! on the guard refuses every read and write.
//!
//! What the guard cannot see is inside encrypted records: which handshake message
//! an authenticated server sends after the handshake. That residual is documented
//! in the README's TLS section.

use core::cell::Cell;
use core::fmt;

use super::error::RecordError;
use core::time::Duration;

use embedded_io::ErrorKind;

/// The largest TLSPlaintext fragment, 2^14 (RFC 8446 §5.1).
pub(super) const MAX_PLAINTEXT: usize = 1 << 14;
/// The largest TLSCiphertext fragment, 2^14 + 256 (RFC 8446 §5.2).
pub(super) const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 256;
/// The bytes of a [`Verdict`]'s refusal.
const REFUSAL_LEN: usize = 4;
/// The bytes of a [`Verdict`]'s deadline mailbox: a sequence number, whether there
/// is a limit, and the limit in milliseconds.
const MAILBOX_LEN: usize = 10;
/// The bytes of the caller's write buffer that hold the [`Verdict`].
pub(super) const VERDICT_LEN: usize = 16;

const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
const SERVER_HELLO: u8 = 2;
/// The AEAD tag of every TLS 1.3 cipher suite embedded-tls offers (AES-GCM).
const AEAD_TAG: usize = 16;
const TLS12: u16 = 0x0303;
const TLS10: u16 = 0x0301;

impl RecordError {
    fn encode(self) -> [u8; REFUSAL_LEN] {
        match self {
            RecordError::UnexpectedType {
                content_type,
                after_server_hello,
            } => [1, content_type, after_server_hello as u8, 0],
            RecordError::Length { content_type, len } => {
                let [hi, lo] = len.to_be_bytes();
                [2, content_type, hi, lo]
            }
            RecordError::ChangeCipherSpec => [3, 0, 0, 0],
            RecordError::ServerHello { msg_type } => [4, msg_type, 0, 0],
            RecordError::Version(v) => {
                let [hi, lo] = v.to_be_bytes();
                [5, hi, lo, 0]
            }
        }
    }

    fn decode(b: [u8; REFUSAL_LEN]) -> Option<RecordError> {
        Some(match b {
            [1, content_type, after, _] => RecordError::UnexpectedType {
                content_type,
                after_server_hello: after != 0,
            },
            [2, content_type, hi, lo] => RecordError::Length {
                content_type,
                len: u16::from_be_bytes([hi, lo]),
            },
            [3, ..] => RecordError::ChangeCipherSpec,
            [4, msg_type, ..] => RecordError::ServerHello { msg_type },
            [5, hi, lo, _] => RecordError::Version(u16::from_be_bytes([hi, lo])),
            _ => return None,
        })
    }
}

/// What the TLS stream and the guard share once embedded-tls owns the guard (so
/// the stream cannot reach it): the guard's refusal, for the stream to name, and
/// the stream's deadline mailbox, for the guard to pass on to the socket
/// ([`Deadline`](crate::blocking::Deadline)). [`VERDICT_LEN`] bytes of the caller's
/// write buffer, shared as cells.
#[derive(Clone, Copy)]
pub(super) struct Verdict<'b>(&'b [Cell<u8>]);

impl<'b> Verdict<'b> {
    /// Cells over `bytes` (at least [`VERDICT_LEN`] long), cleared.
    pub(super) fn new(bytes: &'b mut [u8]) -> Self {
        let cells = Cell::from_mut(bytes).as_slice_of_cells();
        for c in cells {
            c.set(0);
        }
        Verdict(cells)
    }

    /// The guard's refusal, if it refused anything.
    pub(super) fn get(&self) -> Option<RecordError> {
        let mut b = [0u8; REFUSAL_LEN];
        for (d, c) in b.iter_mut().zip(self.0) {
            *d = c.get();
        }
        RecordError::decode(b)
    }

    fn set(&self, e: RecordError) {
        for (c, v) in self.0.iter().zip(e.encode()) {
            c.set(v);
        }
    }

    fn mailbox(&self) -> &'b [Cell<u8>] {
        self.0
            .get(REFUSAL_LEN..REFUSAL_LEN + MAILBOX_LEN)
            .unwrap_or(&[])
    }

    /// Posts a new wait of at most `limit` for the guard to start on the socket
    /// before its next read or write.
    pub(super) fn post_wait(&self, limit: Option<Duration>) {
        let m = self.mailbox();
        let millis = limit.map_or(0, |l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX));
        let mut bytes = [0u8; MAILBOX_LEN];
        bytes[0] = m.first().map_or(0, |c| c.get()).wrapping_add(1);
        bytes[1] = limit.is_some() as u8;
        bytes[2..].copy_from_slice(&millis.to_le_bytes());
        for (c, b) in m.iter().zip(bytes) {
            c.set(b);
        }
    }

    /// The posted wait: its sequence number and limit.
    fn posted(&self) -> (u8, Option<Duration>) {
        let mut bytes = [0u8; MAILBOX_LEN];
        for (d, c) in bytes.iter_mut().zip(self.mailbox()) {
            *d = c.get();
        }
        let [seq, has, m @ ..] = bytes;
        let limit = (has != 0).then(|| Duration::from_millis(u64::from_le_bytes(m)));
        (seq, limit)
    }
}

/// Which records may come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the ServerHello.
    Hello,
    /// After the ServerHello, before any encrypted record.
    AfterHello {
        /// Whether the one ChangeCipherSpec allowed has arrived.
        ccs: bool,
    },
    /// From the first encrypted record on.
    Encrypted,
}

/// The guard's reading of the inbound byte stream, record by record; no I/O.
#[derive(Debug, Clone)]
pub(super) struct RecordCheck {
    phase: Phase,
    header: [u8; 5],
    /// Header bytes of the current record seen (5: in its body).
    have: usize,
    /// Body bytes of the current record still to come.
    left: usize,
    /// Body bytes of the current record seen.
    seen: usize,
    /// The first four body bytes of a handshake record before the ServerHello.
    hello: [u8; 4],
    /// The longest encrypted record accepted.
    max_ciphertext: usize,
}

impl RecordCheck {
    /// A check for a connection whose read buffer is `read_buffer` bytes.
    pub(super) fn new(read_buffer: usize) -> Self {
        RecordCheck {
            phase: Phase::Hello,
            header: [0; 5],
            have: 0,
            left: 0,
            seen: 0,
            hello: [0; 4],
            max_ciphertext: read_buffer.min(MAX_CIPHERTEXT),
        }
    }

    /// Follows `bytes`, the next bytes from the server.
    ///
    /// # Errors
    /// The first record that may not arrive, as soon as enough of it has been seen.
    pub(super) fn check(&mut self, mut bytes: &[u8]) -> Result<(), RecordError> {
        while let Some((&b, rest)) = bytes.split_first() {
            if self.have < self.header.len() {
                if let Some(slot) = self.header.get_mut(self.have) {
                    *slot = b;
                }
                self.have += 1;
                bytes = rest;
                if self.have == self.header.len() {
                    self.begin()?;
                }
            } else {
                let take = self.left.min(bytes.len());
                let (body, rest) = bytes.split_at(take);
                self.body(body)?;
                bytes = rest;
            }
            if self.have == self.header.len() && self.left == 0 {
                self.end();
            }
        }
        Ok(())
    }

    fn content_type(&self) -> u8 {
        self.header[0]
    }

    /// A whole header has arrived: may such a record come now?
    fn begin(&mut self) -> Result<(), RecordError> {
        let [content_type, v0, v1, l0, l1] = self.header;
        let version = u16::from_be_bytes([v0, v1]);
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let length = RecordError::Length {
            content_type,
            len: len as u16,
        };
        let unexpected = |after_server_hello| RecordError::UnexpectedType {
            content_type,
            after_server_hello,
        };
        match (self.phase, content_type) {
            (Phase::Hello, HANDSHAKE | ALERT) => {
                if !(TLS10..=TLS12).contains(&version) {
                    return Err(RecordError::Version(version));
                }
                let ok = match content_type {
                    ALERT => len == 2,
                    _ => (4..=MAX_PLAINTEXT).contains(&len),
                };
                if !ok {
                    return Err(length);
                }
            }
            (Phase::Hello, _) => return Err(unexpected(false)),
            (Phase::AfterHello { ccs: false }, CHANGE_CIPHER_SPEC) => {
                self.version(version)?;
                if len != 1 {
                    return Err(RecordError::ChangeCipherSpec);
                }
            }
            (Phase::AfterHello { .. } | Phase::Encrypted, CHANGE_CIPHER_SPEC) => {
                return Err(RecordError::ChangeCipherSpec);
            }
            (Phase::AfterHello { .. } | Phase::Encrypted, APPLICATION_DATA) => {
                self.version(version)?;
                if !(AEAD_TAG + 1..=self.max_ciphertext).contains(&len) {
                    return Err(length);
                }
                self.phase = Phase::Encrypted;
            }
            (Phase::AfterHello { .. } | Phase::Encrypted, _) => return Err(unexpected(true)),
        }
        self.left = len;
        self.seen = 0;
        Ok(())
    }

    fn version(&self, version: u16) -> Result<(), RecordError> {
        if version == TLS12 {
            Ok(())
        } else {
            Err(RecordError::Version(version))
        }
    }

    /// Body bytes of the current record.
    fn body(&mut self, body: &[u8]) -> Result<(), RecordError> {
        match (self.phase, self.content_type()) {
            (Phase::AfterHello { .. }, CHANGE_CIPHER_SPEC) if body.iter().any(|&b| b != 1) => {
                return Err(RecordError::ChangeCipherSpec);
            }
            (Phase::Hello, HANDSHAKE) => {
                for &b in body {
                    if let Some(slot) = self.hello.get_mut(self.seen) {
                        *slot = b;
                        if self.seen + 1 == self.hello.len() {
                            self.server_hello()?;
                        }
                    }
                    self.seen += 1;
                }
                self.left -= body.len();
                return Ok(());
            }
            _ => {}
        }
        self.seen += body.len();
        self.left -= body.len();
        Ok(())
    }

    /// The first four bytes of the first handshake record: a ServerHello that the
    /// record holds whole?
    fn server_hello(&self) -> Result<(), RecordError> {
        let [msg_type, l0, l1, l2] = self.hello;
        let msg_len = u32::from_be_bytes([0, l0, l1, l2]) as usize;
        let record_len = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
        if msg_type != SERVER_HELLO || msg_len + 4 > record_len {
            return Err(RecordError::ServerHello { msg_type });
        }
        Ok(())
    }

    /// The current record has been seen whole.
    fn end(&mut self) {
        self.phase = match (self.phase, self.content_type()) {
            (Phase::Hello, HANDSHAKE) => Phase::AfterHello { ccs: false },
            (Phase::AfterHello { .. }, CHANGE_CIPHER_SPEC) => Phase::AfterHello { ccs: true },
            (phase, _) => phase,
        };
        self.have = 0;
        self.seen = 0;
    }
}

/// The socket as embedded-tls sees it: reads pass through a [`RecordCheck`];
/// after a refusal, or after the socket failed, every call fails.
pub(super) struct Guard<'b, T> {
    socket: T,
    check: RecordCheck,
    verdict: Verdict<'b>,
    failed: bool,
    /// The sequence number of the last wait passed on to the socket.
    wait: u8,
}

impl<'b, T> Guard<'b, T> {
    pub(super) fn new(socket: T, read_buffer: usize, verdict: Verdict<'b>) -> Self {
        Guard {
            socket,
            check: RecordCheck::new(read_buffer),
            verdict,
            failed: false,
            wait: 0,
        }
    }

    /// Passes a wait the stream posted on to the socket (blocking sockets only: the
    /// async client bounds its waits with its timer).
    fn deadline(&mut self)
    where
        T: crate::blocking::Deadline,
    {
        let (seq, limit) = self.verdict.posted();
        if seq != self.wait {
            self.wait = seq;
            self.socket.start_wait(limit);
        }
    }

    /// Checks `n` bytes just read into `buf`.
    fn inbound<E>(&mut self, buf: &[u8], n: usize) -> Result<usize, GuardError<E>> {
        match self.check.check(buf.get(..n).unwrap_or(buf)) {
            Ok(()) => Ok(n),
            Err(e) => {
                warn!("TLS record refused by the guard");
                self.verdict.set(e);
                self.failed = true;
                Err(GuardError::Refused)
            }
        }
    }

    fn outcome<R, E>(&mut self, r: Result<R, E>) -> Result<R, GuardError<E>> {
        r.map_err(|e| {
            self.failed = true;
            GuardError::Socket(e)
        })
    }

    fn usable<E>(&self) -> Result<(), GuardError<E>> {
        if self.failed {
            Err(GuardError::Refused)
        } else {
            Ok(())
        }
    }
}

/// The guard's error as embedded-tls sees it: it keeps only the kind.
#[derive(Debug)]
pub(super) enum GuardError<E> {
    /// The socket's own.
    Socket(E),
    /// A record was refused, or the stream failed earlier.
    Refused,
}

impl<E: fmt::Debug> fmt::Display for GuardError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardError::Socket(e) => write!(f, "socket error: {e:?}"),
            GuardError::Refused => f.write_str("refused by the TLS record guard"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for GuardError<E> {}

impl<E: embedded_io::Error> embedded_io::Error for GuardError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            GuardError::Socket(e) => e.kind(),
            GuardError::Refused => ErrorKind::InvalidData,
        }
    }
}

impl<T: embedded_io::ErrorType> embedded_io::ErrorType for Guard<'_, T> {
    type Error = GuardError<T::Error>;
}

impl<T: embedded_io::Read + crate::blocking::Deadline> embedded_io::Read for Guard<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.usable()?;
        self.deadline();
        let r = self.socket.read(buf);
        let n = self.outcome(r)?;
        self.inbound(buf, n)
    }
}

impl<T: embedded_io::Write + crate::blocking::Deadline> embedded_io::Write for Guard<'_, T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.usable()?;
        self.deadline();
        let r = self.socket.write(buf);
        self.outcome(r)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.usable()?;
        self.deadline();
        let r = self.socket.flush();
        self.outcome(r)
    }
}

#[cfg(feature = "async")]
impl<T: embedded_io_async::Read> embedded_io_async::Read for Guard<'_, T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.usable()?;
        let r = self.socket.read(buf).await;
        let n = self.outcome(r)?;
        self.inbound(buf, n)
    }
}

#[cfg(feature = "async")]
impl<T: embedded_io_async::Write> embedded_io_async::Write for Guard<'_, T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.usable()?;
        let r = self.socket.write(buf).await;
        self.outcome(r)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.usable()?;
        let r = self.socket.flush().await;
        self.outcome(r)
    }
}

#[cfg(test)]
mod tests;
