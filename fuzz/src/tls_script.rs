//! A scripted TLS 1.3 server: one implicit-TLS SMTP session recorded against
//! rustls (`fuzz/data/tls_session.bin`, made by `tests/common/tls_recorder.rs`), played back
//! to the crate's clients with records added, split, corrupted or cut.
//!
//! The recording holds the server's records as they went over the wire and its two
//! traffic secrets (RFC 8446 §7.1: `server_handshake_traffic_secret` and
//! `server_application_traffic_secret_0`, TLS_AES_128_GCM_SHA256). On loading,
//! every encrypted record is opened with its secret (§7.3 keys, §5.2-5.3 record
//! protection); on playback each is sealed again with the script's own sequence
//! numbers, so records can be inserted anywhere and still decrypt: what a man in the
//! middle who ran the key exchange himself can send during the handshake, and what
//! the authenticated server can send after it. Plaintext records go out as given.
//!
//! The client's RNG is seeded, so it sends the same ClientHello and key share as when
//! the session was recorded, and the recorded answers fit. Each server record is
//! released once the client has written as many bytes as it had when the server
//! sent it; an unreleased read gets end of stream. Reads and writes can fail, or (in
//! the async client) stall once, so that the client's [`Timer`] gives up on the
//! wait and drops the future.
//!
//! Included by the fuzz crate (`tls_records` target, with `tls_checks.rs`) and by
//! the library's tests (`tests/tls_guard.rs`, `tests/fuzz_corpus.rs`); it uses
//! only `std`, `embedded_smtp`, `embedded_io(_async)`, `rand_core` and the
//! RustCrypto crates that embedded-tls already uses.

use std::sync::OnceLock;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce, Tag};
use embedded_io::ErrorKind;
use embedded_smtp::asynch::{TimedOut, Timer};
use embedded_smtp::message::RawMessage;
use embedded_smtp::tls::{Connector, StreamError, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
use embedded_smtp::verify::Verifier;
use embedded_smtp::{Address, Config, Domain, Error, Security};
use hkdf::Hkdf;
use sha2::Sha256;

/// The committed recording (checked and made again by `recording_still_replays` in
/// `tests/tls_guard.rs`).
pub const RECORDING: &[u8] = include_bytes!("../data/tls_session.bin");

/// The recording file, from the repository root.
pub const RECORDING_PATH: &str = "fuzz/data/tls_session.bin";

/// TLS_AES_128_GCM_SHA256 (RFC 8446 §B.4), the one suite the recording uses.
pub const CIPHER_SUITE: u16 = 0x1301;

/// Record content types (RFC 8446 §5.1).
pub const CHANGE_CIPHER_SPEC: u8 = 20;
/// An alert record.
pub const ALERT: u8 = 21;
/// A handshake record.
pub const HANDSHAKE: u8 = 22;
/// An application data record (every encrypted record's outer type).
pub const APPLICATION_DATA: u8 = 23;

/// Handshake message types (RFC 8446 §4).
pub const NEW_SESSION_TICKET: u8 = 4;
/// Finished.
pub const FINISHED: u8 = 20;
/// KeyUpdate.
pub const KEY_UPDATE: u8 = 24;

/// The handshake messages embedded-tls 0.19 parses (`ServerHandshake::parse`):
/// ServerHello, NewSessionTicket, EncryptedExtensions, Certificate,
/// CertificateRequest, CertificateVerify, Finished. After the handshake it panics
/// (`unimplemented!`) on each but NewSessionTicket once it arrives decrypted.
pub const PARSED_HANDSHAKE_TYPES: [u8; 7] = [2, 4, 8, 11, 13, 15, 20];

/// The AEAD tag length of AES-128-GCM.
pub const TAG_LEN: usize = 16;

/// The message the client sends (the same as when recorded).
pub const MESSAGE: &[u8] = b"From: <alert@example.com>\r\nTo: <ops@example.com>\r\n\
Subject: door 3 opened\r\n\r\nDoor 3 opened at 02:14.\r\n.hidden dot line\r\n";

/// The text of the server's reply to the end of data, in the recording.
pub const QUEUED: &[u8] = b"250 2.0.0 queued as 7F3A\r\n";

/// The seed of the client's RNG in the recording.
pub const SEED: u64 = 0x7153_C0DE_5EED_0001;

/// SHA-256 of leaf-ecdsa's SubjectPublicKeyInfo (`tests/data/certs/spki-sha256.txt`):
/// the client pins the recorded server's key, so the certificate and its
/// CertificateVerify are really checked in every replay.
pub const PIN: [u8; 32] = [
    0x36, 0xa3, 0x73, 0x4d, 0x88, 0x07, 0x45, 0x97, 0x31, 0x1f, 0xce, 0xb8, 0x5e, 0x21, 0xb4, 0x4a,
    0x37, 0xe4, 0xd0, 0x9d, 0x1d, 0xac, 0x9a, 0x10, 0xe8, 0x0b, 0xce, 0xcc, 0x56, 0x75, 0xb7, 0x17,
];

static PINS: [[u8; 32]; 1] = [PIN];

// ------------------------------------------------------------- the recording --

/// What went over the wire in the recorded session, and the server's secrets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recording {
    /// `server_handshake_traffic_secret`.
    pub handshake_secret: [u8; 32],
    /// `server_application_traffic_secret_0`.
    pub application_secret: [u8; 32],
    /// How many bytes the client sent in all.
    pub client_len: usize,
    /// Each server record (header and body) with the number of client bytes the
    /// server had received when it sent it.
    pub records: Vec<(usize, Vec<u8>)>,
}

const MAGIC: &[u8; 8] = b"TLSREC1\n";

impl Recording {
    /// The file format: `TLSREC1\n`, the cipher suite (`u16` BE), the two secrets
    /// (32 bytes each), the client's byte count (`u32` LE), then per record the
    /// client-bytes threshold (`u32` LE), and the record itself.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&CIPHER_SUITE.to_be_bytes());
        out.extend_from_slice(&self.handshake_secret);
        out.extend_from_slice(&self.application_secret);
        out.extend_from_slice(&(self.client_len as u32).to_le_bytes());
        for (threshold, record) in &self.records {
            out.extend_from_slice(&(*threshold as u32).to_le_bytes());
            out.extend_from_slice(record);
        }
        out
    }

    /// Reads [`Recording::encode`]'s format; `None` if it is not that.
    pub fn decode(bytes: &[u8]) -> Option<Recording> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let (suite, rest) = rest.split_at_checked(2)?;
        if suite != CIPHER_SUITE.to_be_bytes() {
            return None;
        }
        let (hs, rest) = rest.split_at_checked(32)?;
        let (app, rest) = rest.split_at_checked(32)?;
        let (client, mut rest) = rest.split_at_checked(4)?;
        let mut rec = Recording {
            handshake_secret: hs.try_into().ok()?,
            application_secret: app.try_into().ok()?,
            client_len: u32::from_le_bytes(client.try_into().ok()?) as usize,
            records: vec![],
        };
        while !rest.is_empty() {
            let (threshold, tail) = rest.split_at_checked(4)?;
            let header = tail.get(..5)?;
            let len = 5 + usize::from(u16::from_be_bytes([header[3], header[4]]));
            let (record, tail) = tail.split_at_checked(len)?;
            let threshold = u32::from_le_bytes(threshold.try_into().ok()?) as usize;
            rec.records.push((threshold, record.to_vec()));
            rest = tail;
        }
        Some(rec)
    }
}

// ---------------------------------------------------------- record crypto --

/// HKDF-Expand-Label (RFC 8446 §7.1) with SHA-256 and an empty context.
fn expand_label(secret: &[u8; 32], label: &str, out: &mut [u8]) {
    let full = format!("tls13 {label}");
    let mut info = vec![];
    info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    Hkdf::<Sha256>::from_prk(secret)
        .expect("a 32-byte secret is a valid PRK")
        .expand(&info, out)
        .expect("16 and 12 bytes are valid lengths");
}

/// One direction's record protection keys (RFC 8446 §7.3).
#[derive(Clone)]
pub struct Keys {
    cipher: Aes128Gcm,
    iv: [u8; 12],
}

impl Keys {
    /// The write key and IV of a traffic secret.
    pub fn new(secret: &[u8; 32]) -> Keys {
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        expand_label(secret, "key", &mut key);
        expand_label(secret, "iv", &mut iv);
        Keys {
            cipher: Aes128Gcm::new(&key.into()),
            iv,
        }
    }

    /// The per-record nonce: the IV XOR the 64-bit sequence number (§5.3).
    fn nonce(&self, seq: u64) -> [u8; 12] {
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        nonce
    }

    /// A whole record (header and body) carrying `inner` (TLSInnerPlaintext:
    /// content, type, zero padding) sealed with sequence number `seq`.
    pub fn seal(&self, seq: u64, inner: &[u8]) -> Vec<u8> {
        let len = (inner.len() + TAG_LEN) as u16;
        let mut record = vec![APPLICATION_DATA, 3, 3];
        record.extend_from_slice(&len.to_be_bytes());
        let header: [u8; 5] = record[..5].try_into().unwrap();
        let mut body = inner.to_vec();
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&self.nonce(seq)), &header, &mut body)
            .expect("records of the script are small");
        record.extend_from_slice(&body);
        record.extend_from_slice(&tag);
        record
    }

    /// The TLSInnerPlaintext of a sealed `record`, or `None` if it does not open.
    pub fn open(&self, seq: u64, record: &[u8]) -> Option<Vec<u8>> {
        let (header, body) = record.split_at_checked(5)?;
        let split = body.len().checked_sub(TAG_LEN)?;
        let (ciphertext, tag) = body.split_at(split);
        let mut plain = ciphertext.to_vec();
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&self.nonce(seq)),
                header,
                &mut plain,
                Tag::from_slice(tag),
            )
            .ok()?;
        Some(plain)
    }
}

/// Which traffic key protects a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// No protection (ServerHello, ChangeCipherSpec, or injected plaintext).
    Plain,
    /// The server's handshake traffic key.
    Handshake,
    /// The server's first application traffic key.
    Application,
}

/// One recorded server record, opened.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Client bytes the server had received when it sent the record.
    pub threshold: usize,
    /// The key that protected it.
    pub epoch: Epoch,
    /// The (inner) content type.
    pub content_type: u8,
    /// The (decrypted) content, without type byte or padding.
    pub content: Vec<u8>,
    /// The record as recorded.
    pub wire: Vec<u8>,
}

/// The recording, opened: every record decrypted, the landmarks found.
#[derive(Debug, Clone)]
pub struct Session {
    /// The server's records, in order.
    pub records: Vec<Recorded>,
    /// Index of the record that carries the server's Finished: records after it
    /// arrive after the handshake.
    pub finished: usize,
    /// Index of the record that carries the final `250` to the message.
    pub queued: usize,
    /// How many bytes the client sent in the recorded session.
    pub client_len: usize,
    handshake_keys: Keys,
    application_keys: Keys,
}

impl core::fmt::Debug for Keys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Keys")
    }
}

static SESSION: OnceLock<Session> = OnceLock::new();

/// Why a recording does not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Not the recording format.
    Format,
    /// Record `n` does not decrypt with the recorded secret.
    Decrypt(usize),
    /// Record `n` holds no inner content type.
    InnerType(usize),
    /// No server Finished, or no `250` to the message, was found.
    Landmarks,
}

/// Splits a TLSInnerPlaintext into content and type (RFC 8446 §5.2).
fn inner_split(mut inner: Vec<u8>) -> Option<(u8, Vec<u8>)> {
    while inner.last() == Some(&0) {
        inner.pop();
    }
    let t = inner.pop()?;
    Some((t, inner))
}

/// The handshake message types in `content` (one record's worth).
pub fn message_types(content: &[u8]) -> Vec<u8> {
    let mut types = vec![];
    let mut at = 0;
    while let Some(head) = content.get(at..at + 4) {
        types.push(head[0]);
        at += 4 + (usize::from(head[1]) << 16 | usize::from(head[2]) << 8 | usize::from(head[3]));
    }
    types
}

impl Session {
    /// Opens a recording: decrypts each record with its key and sequence number.
    ///
    /// # Errors
    /// See [`OpenError`].
    pub fn open(rec: &Recording) -> Result<Session, OpenError> {
        let handshake_keys = Keys::new(&rec.handshake_secret);
        let application_keys = Keys::new(&rec.application_secret);
        let mut epoch = Epoch::Plain;
        let (mut seq, mut finished, mut queued) = (0u64, None, None);
        let mut records = vec![];
        for (n, (threshold, wire)) in rec.records.iter().enumerate() {
            let (content_type, content) = if wire[0] == APPLICATION_DATA {
                if epoch == Epoch::Plain {
                    epoch = Epoch::Handshake;
                }
                let keys = match epoch {
                    Epoch::Application => &application_keys,
                    _ => &handshake_keys,
                };
                let inner = keys.open(seq, wire).ok_or(OpenError::Decrypt(n))?;
                seq += 1;
                inner_split(inner).ok_or(OpenError::InnerType(n))?
            } else {
                (wire[0], wire[5..].to_vec())
            };
            let this_epoch = if wire[0] == APPLICATION_DATA {
                epoch
            } else {
                Epoch::Plain
            };
            if epoch == Epoch::Handshake
                && content_type == HANDSHAKE
                && message_types(&content).contains(&FINISHED)
            {
                finished = Some(n);
                epoch = Epoch::Application;
                seq = 0;
            }
            if content_type == APPLICATION_DATA
                && content.windows(QUEUED.len()).any(|w| w == QUEUED)
            {
                queued = Some(n);
            }
            records.push(Recorded {
                threshold: *threshold,
                epoch: this_epoch,
                content_type,
                content,
                wire: wire.clone(),
            });
        }
        Ok(Session {
            records,
            finished: finished.ok_or(OpenError::Landmarks)?,
            queued: queued.ok_or(OpenError::Landmarks)?,
            client_len: rec.client_len,
            handshake_keys,
            application_keys,
        })
    }

    /// The committed recording, opened once per process.
    pub fn get() -> &'static Session {
        SESSION.get_or_init(|| {
            let rec = Recording::decode(RECORDING).expect("fuzz/data/tls_session.bin is readable");
            Session::open(&rec).expect("fuzz/data/tls_session.bin opens with its secrets")
        })
    }

    /// The position of the first record after the handshake: what is injected here
    /// reaches the client once it is authenticated and the handshake is over.
    pub fn after_handshake(&self) -> usize {
        self.finished + 1
    }

    /// The key in force at position `pos` (before recorded record `pos`).
    pub fn epoch_at(&self, pos: usize) -> Epoch {
        if pos > self.finished {
            Epoch::Application
        } else {
            Epoch::Handshake
        }
    }
}

// --------------------------------------------------------------- the plan --

/// A record the script adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A plaintext record: its header says `content_type`, `version` and
    /// `claimed_len`; `body` follows (a body shorter than the claim leaves the
    /// rest to whatever comes next).
    Plain {
        /// Header content type.
        content_type: u8,
        /// Header legacy_record_version.
        version: u16,
        /// Header length.
        claimed_len: u16,
        /// The bytes after the header.
        body: Vec<u8>,
    },
    /// An encrypted record under the key in force where it is inserted:
    /// TLSInnerPlaintext = `content`, the type byte (none: `None`, and then no
    /// content either), `pad` zero bytes.
    Sealed {
        /// The inner content type; `None` leaves the type byte out.
        inner_type: Option<u8>,
        /// The content.
        content: Vec<u8>,
        /// Zero padding after the type byte.
        pad: usize,
    },
}

impl Record {
    /// A plaintext record whose header is true to its body.
    pub fn plain(content_type: u8, body: &[u8]) -> Record {
        Record::Plain {
            content_type,
            version: 0x0303,
            claimed_len: body.len() as u16,
            body: body.to_vec(),
        }
    }

    /// An encrypted record with content of type `inner_type`.
    pub fn sealed(inner_type: u8, content: &[u8]) -> Record {
        Record::Sealed {
            inner_type: Some(inner_type),
            content: content.to_vec(),
            pad: 0,
        }
    }

    /// An encrypted record whose inner plaintext is empty: only the 16-byte tag.
    pub fn sealed_empty() -> Record {
        Record::Sealed {
            inner_type: None,
            content: vec![],
            pad: 0,
        }
    }
}

/// A handshake message: type, 24-bit length, body.
pub fn handshake_message(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len() as u32;
    let mut m = vec![msg_type];
    m.extend_from_slice(&len.to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// A well-formed NewSessionTicket (RFC 8446 §4.6.1) with no extensions.
pub fn new_session_ticket(lifetime: u32, nonce: &[u8], ticket: &[u8]) -> Vec<u8> {
    let mut body = vec![];
    body.extend_from_slice(&lifetime.to_be_bytes());
    body.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    body.push(nonce.len() as u8);
    body.extend_from_slice(nonce);
    body.extend_from_slice(&(ticket.len() as u16).to_be_bytes());
    body.extend_from_slice(ticket);
    body.extend_from_slice(&[0, 0]);
    handshake_message(NEW_SESSION_TICKET, &body)
}

/// A fault on one socket call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call fails with the plan's error kind.
    Error,
    /// The call waits once (async only: the client's timer then drops the future;
    /// a wait nobody bounds just goes on). The blocking client gets an error.
    Stall,
}

/// Which client runs the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// `tls::blocking::client`.
    Blocking,
    /// `tls::asynch::client`, polled by hand with a timer that gives up on any wait
    /// that is not ready at once.
    Async,
}

/// How to play the recording back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The client.
    pub driver: Driver,
    /// The error kind of [`Fault::Error`].
    pub fault_kind: ErrorKind,
    /// Seeds the sizes of reads (0: each read gets all that is available).
    pub read_seed: u8,
    /// Records added before recorded record `pos` (`records.len()`: after all).
    pub injections: Vec<(usize, Record)>,
    /// Recorded record `n` is sent as records of at most `size` content bytes.
    pub splits: Vec<(usize, usize)>,
    /// Byte `offset` (modulo its length) of recorded record `n` on the wire, XOR `mask`.
    pub flips: Vec<(usize, usize, u8)>,
    /// Faults on the `n`th read call (from 0).
    pub read_faults: Vec<(usize, Fault)>,
    /// Faults on the `n`th write call (from 0).
    pub write_faults: Vec<(usize, Fault)>,
}

impl Plan {
    /// The recorded session, unchanged.
    pub fn clean(driver: Driver) -> Plan {
        Plan {
            driver,
            fault_kind: ErrorKind::ConnectionReset,
            read_seed: 0,
            injections: vec![],
            splits: vec![],
            flips: vec![],
            read_faults: vec![],
            write_faults: vec![],
        }
    }

    /// Adds `record` before recorded record `pos`.
    pub fn inject(mut self, pos: usize, record: Record) -> Plan {
        self.injections.push((pos, record));
        self
    }

    /// Sends recorded record `n` in pieces of `size` bytes of content.
    pub fn split(mut self, n: usize, size: usize) -> Plan {
        self.splits.push((n, size));
        self
    }

    /// A fault on read call `n`.
    pub fn read_fault(mut self, n: usize, fault: Fault) -> Plan {
        self.read_faults.push((n, fault));
        self
    }

    /// The server's bytes, each with the number of client bytes after which they
    /// are sent, and the wire offset where the record with the final `250` ends.
    pub fn wire(&self, session: &Session) -> Wire {
        let mut wire = Wire::default();
        let (mut hs_seq, mut app_seq) = (0u64, 0u64);
        let count = session.records.len();
        for pos in 0..=count {
            let threshold = session
                .records
                .get(pos)
                .or(session.records.last())
                .map_or(0, |r| r.threshold);
            let epoch = session.epoch_at(pos);
            for (_, record) in self.injections.iter().filter(|(p, _)| *p == pos) {
                let bytes = match record {
                    Record::Plain {
                        content_type,
                        version,
                        claimed_len,
                        body,
                    } => {
                        let mut b = vec![*content_type];
                        b.extend_from_slice(&version.to_be_bytes());
                        b.extend_from_slice(&claimed_len.to_be_bytes());
                        b.extend_from_slice(body);
                        b
                    }
                    Record::Sealed {
                        inner_type,
                        content,
                        pad,
                    } => {
                        let mut inner = vec![];
                        if let Some(t) = inner_type {
                            inner.extend_from_slice(content);
                            inner.push(*t);
                        }
                        inner.resize(inner.len() + pad, 0);
                        let seq = match epoch {
                            Epoch::Application => &mut app_seq,
                            _ => &mut hs_seq,
                        };
                        let keys = match epoch {
                            Epoch::Application => &session.application_keys,
                            _ => &session.handshake_keys,
                        };
                        *seq += 1;
                        keys.seal(*seq - 1, &inner)
                    }
                };
                wire.push(threshold, &bytes);
            }
            let Some(rec) = session.records.get(pos) else {
                break;
            };
            let start = wire.bytes.len();
            let size = self
                .splits
                .iter()
                .rev()
                .find(|(n, _)| *n == pos)
                .map(|(_, size)| (*size).max(1));
            let pieces: Vec<&[u8]> = match size {
                Some(size) if !rec.content.is_empty() => rec.content.chunks(size).collect(),
                _ => vec![&rec.content],
            };
            for piece in pieces {
                let bytes = match rec.epoch {
                    Epoch::Plain => {
                        let mut b = vec![rec.content_type];
                        b.extend_from_slice(&rec.wire[1..3]);
                        b.extend_from_slice(&(piece.len() as u16).to_be_bytes());
                        b.extend_from_slice(piece);
                        b
                    }
                    epoch => {
                        let mut inner = piece.to_vec();
                        inner.push(rec.content_type);
                        let (seq, keys) = match epoch {
                            Epoch::Application => (&mut app_seq, &session.application_keys),
                            _ => (&mut hs_seq, &session.handshake_keys),
                        };
                        *seq += 1;
                        keys.seal(*seq - 1, &inner)
                    }
                };
                wire.push(rec.threshold, &bytes);
            }
            wire.spans.push((start, wire.bytes.len()));
            if pos == session.queued {
                wire.queued_end = wire.bytes.len();
            }
        }
        for &(n, offset, mask) in &self.flips {
            if let Some(&(start, end)) = wire.spans.get(n)
                && end > start
            {
                wire.bytes[start + offset % (end - start)] ^= mask;
            }
        }
        wire
    }

    /// Plays the session back through the plan's client.
    pub fn run(&self, session: &Session) -> Run {
        let mut socket = Socket::new(self, self.wire(session));
        let mut run = match self.driver {
            Driver::Blocking => blocking_session(&mut socket),
            Driver::Async => async_session(&mut socket, self.stalls()),
        };
        run.socket = socket.report();
        run
    }

    /// Runs only the TLS handshake, on a stream of the plan's driver, then (if it
    /// failed) reads, writes and flushes on it, and a close.
    pub fn handshake(&self, session: &Session) -> (Result<(), SessionError>, Vec<Later>) {
        let mut socket = Socket::new(self, self.wire(session));
        match self.driver {
            Driver::Blocking => blocking_handshake(&mut socket),
            Driver::Async => async_handshake(&mut socket, self.stalls()),
        }
    }

    fn stalls(&self) -> usize {
        self.read_faults
            .iter()
            .chain(&self.write_faults)
            .filter(|(_, f)| *f == Fault::Stall)
            .count()
    }
}

/// The server's side of the connection, laid out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wire {
    /// Every byte the server sends.
    pub bytes: Vec<u8>,
    /// `(end, threshold)`: the bytes before `end` are sent once the client has
    /// written `threshold` bytes.
    pub flights: Vec<(usize, usize)>,
    /// Where the record with the final `250` ends (its last piece, if split).
    pub queued_end: usize,
    /// Where each recorded record lies (all its pieces, if split).
    pub spans: Vec<(usize, usize)>,
}

impl Wire {
    fn push(&mut self, threshold: usize, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
        self.flights.push((self.bytes.len(), threshold));
    }
}

// ------------------------------------------------------------- the socket --

/// Cuts reads into pieces whose sizes come from a seed.
struct Cuts {
    state: u64,
    max: usize,
}

impl Cuts {
    fn new(seed: u8) -> Option<Cuts> {
        const MAX: [usize; 8] = [1, 2, 5, 17, 64, 300, 1500, 20_000];
        (seed != 0).then(|| Cuts {
            state: u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            max: MAX[usize::from(seed & 7)],
        })
    }

    fn next(&mut self) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        1 + (self.state as usize) % self.max
    }
}

/// What the socket saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketReport {
    /// Server bytes the client read.
    pub read: usize,
    /// Bytes the client wrote.
    pub written: usize,
    /// Faults that took effect (errors returned, stalls whose wait was dropped).
    pub faults: usize,
    /// Whether one of them took effect before the client had the final `250`.
    pub fault_before_queued: bool,
    /// Whether the client read all of the record with the final `250`.
    pub got_queued: bool,
}

/// The scripted server's socket: blocking and async `embedded_io` traits.
pub struct Socket {
    wire: Wire,
    read: usize,
    written: usize,
    reads: usize,
    writes: usize,
    read_faults: Vec<(usize, Fault)>,
    write_faults: Vec<(usize, Fault)>,
    kind: ErrorKind,
    cuts: Option<Cuts>,
    faults: usize,
    fault_before_queued: bool,
    /// Stalls now waiting; a stall that is dropped while waiting took effect.
    stalled_before_queued: usize,
    stalled: usize,
}

impl Socket {
    /// A socket that serves `wire` as `plan` says.
    pub fn new(plan: &Plan, wire: Wire) -> Socket {
        Socket {
            wire,
            read: 0,
            written: 0,
            reads: 0,
            writes: 0,
            read_faults: plan.read_faults.clone(),
            write_faults: plan.write_faults.clone(),
            kind: plan.fault_kind,
            cuts: Cuts::new(plan.read_seed),
            faults: 0,
            fault_before_queued: false,
            stalled_before_queued: 0,
            stalled: 0,
        }
    }

    /// What happened.
    pub fn report(&self) -> SocketReport {
        SocketReport {
            read: self.read,
            written: self.written,
            faults: self.faults + self.stalled,
            fault_before_queued: self.fault_before_queued || self.stalled_before_queued > 0,
            got_queued: self.wire.queued_end > 0 && self.read >= self.wire.queued_end,
        }
    }

    fn before_queued(&self) -> bool {
        self.read < self.wire.queued_end
    }

    fn fault(&mut self, write: bool) -> Option<Fault> {
        let (calls, faults) = if write {
            (&mut self.writes, &self.write_faults)
        } else {
            (&mut self.reads, &self.read_faults)
        };
        let call = *calls;
        *calls += 1;
        faults.iter().find(|(n, _)| *n == call).map(|(_, f)| *f)
    }

    fn fail(&mut self) -> ErrorKind {
        self.faults += 1;
        self.fault_before_queued |= self.before_queued();
        self.kind
    }

    fn take(&mut self, buf: &mut [u8]) -> usize {
        let available = self
            .wire
            .flights
            .iter()
            .take_while(|(_, threshold)| *threshold <= self.written)
            .last()
            .map_or(0, |(end, _)| *end);
        let mut n = available.saturating_sub(self.read).min(buf.len());
        if let Some(cuts) = &mut self.cuts {
            n = n.min(cuts.next());
        }
        buf[..n].copy_from_slice(&self.wire.bytes[self.read..self.read + n]);
        self.read += n;
        n
    }

    fn put(&mut self, buf: &[u8]) -> usize {
        self.written += buf.len();
        buf.len()
    }
}

impl embedded_io::ErrorType for Socket {
    type Error = ErrorKind;
}

/// The script decides when a wait ends (a fault), not a clock.
impl embedded_smtp::blocking::Deadline for Socket {
    fn start_wait(&mut self, _: Option<core::time::Duration>) {}
}

impl embedded_io::Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        match self.fault(false) {
            Some(_) => Err(self.fail()),
            None => Ok(self.take(buf)),
        }
    }
}

impl embedded_io::Write for Socket {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        match self.fault(true) {
            Some(_) => Err(self.fail()),
            None => Ok(self.put(buf)),
        }
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// Pending once, then ready.
#[derive(Default)]
struct Stall(bool);

impl Future for Stall {
    type Output = ();

    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        _: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        if self.0 {
            core::task::Poll::Ready(())
        } else {
            self.0 = true;
            core::task::Poll::Pending
        }
    }
}

impl Socket {
    /// Waits once; if the wait is dropped, the stall counts as a fault.
    async fn stall(&mut self) {
        let before = self.before_queued();
        self.stalled += 1;
        self.stalled_before_queued += usize::from(before);
        Stall::default().await;
        self.stalled -= 1;
        self.stalled_before_queued -= usize::from(before);
    }
}

impl embedded_io_async::Read for Socket {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        match self.fault(false) {
            Some(Fault::Error) => return Err(self.fail()),
            Some(Fault::Stall) => self.stall().await,
            None => {}
        }
        Ok(self.take(buf))
    }
}

impl embedded_io_async::Write for Socket {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        match self.fault(true) {
            Some(Fault::Error) => return Err(self.fail()),
            Some(Fault::Stall) => self.stall().await,
            None => {}
        }
        Ok(self.put(buf))
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// A [`Timer`] that gives up on every wait that is not ready at once: the wait's
/// future is dropped where it stands, as a real timer would drop it when its time
/// ran out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impatient;

impl Timer for Impatient {
    fn start_wait(&mut self, _: Option<core::time::Duration>) {}

    async fn with_timeout<F: Future>(&mut self, f: F) -> Result<F::Output, TimedOut> {
        let mut f = core::pin::pin!(f);
        core::future::poll_fn(|cx| match f.as_mut().poll(cx) {
            core::task::Poll::Ready(v) => core::task::Poll::Ready(Ok(v)),
            core::task::Poll::Pending => core::task::Poll::Ready(Err(TimedOut)),
        })
        .await
    }
}

/// Polls `f` with a no-op waker until it is ready; every [`Stall`] makes one more
/// poll necessary, so `stalls + 1` polls always suffice.
pub fn block_on<F: Future>(f: F, stalls: usize) -> F::Output {
    let mut f = core::pin::pin!(f);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    for _ in 0..=stalls {
        if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("the session waited on something other than the script's stalls");
}

// ----------------------------------------------------------- the sessions --

/// The error of a client over the script's socket.
pub type SessionError = Error<StreamError<ErrorKind>>;

/// What a call on the stream returned after the session failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Later {
    /// `read` into a 64-byte buffer.
    Read(Result<usize, StreamError<ErrorKind>>),
    /// `write` of 4 bytes.
    Write(Result<usize, StreamError<ErrorKind>>),
    /// `flush`.
    Flush(Result<(), StreamError<ErrorKind>>),
    /// `close`.
    Close(Result<(), embedded_smtp::tls::TlsFailure>),
}

impl Later {
    /// The call's error, if it failed.
    pub fn error(&self) -> Option<StreamError<ErrorKind>> {
        match self {
            Later::Read(Err(e)) | Later::Write(Err(e)) | Later::Flush(Err(e)) => Some(e.clone()),
            Later::Close(Err(f)) => Some(StreamError::Tls(*f)),
            _ => None,
        }
    }
}

/// What a played-back session gave.
#[derive(Debug, Clone)]
pub struct Run {
    /// `connect` then `send_raw`: the number of accepted recipients.
    pub sent: Result<usize, SessionError>,
    /// `quit`, if the message was sent.
    pub quit: Option<Result<(), SessionError>>,
    /// After a failure of `connect`, `send_raw` or `quit`: two rounds of read,
    /// write and flush on the client's stream, then close. Empty when
    /// the implicit handshake failed (there is no stream) or nothing failed.
    pub later: Vec<Later>,
    /// What the socket saw.
    pub socket: SocketReport,
}

impl Run {
    fn handshake_failed(e: SessionError) -> Run {
        Run {
            sent: Err(e),
            quit: None,
            later: vec![],
            socket: SocketReport::default(),
        }
    }

    /// The first error of the session, if any.
    pub fn failure(&self) -> Option<&SessionError> {
        match (&self.sent, &self.quit) {
            (Err(e), _) | (Ok(_), Some(Err(e))) => Some(e),
            _ => None,
        }
    }
}

fn connector() -> Connector<'static, Seeded> {
    Connector::new("localhost", Verifier::with_pins(&PINS), Seeded(SEED))
}

/// A socket the sessions run on: the script's, or the live server's when recording.
pub trait Stream:
    embedded_io::Read
    + embedded_io::Write
    + embedded_smtp::blocking::Deadline
    + embedded_io_async::Read
    + embedded_io_async::Write
    + embedded_io::ErrorType<Error = ErrorKind>
{
}

impl<S> Stream for S where
    S: embedded_io::Read
        + embedded_io::Write
        + embedded_smtp::blocking::Deadline
        + embedded_io_async::Read
        + embedded_io_async::Write
        + embedded_io::ErrorType<Error = ErrorKind>
{
}

/// The client's configuration: implicit TLS, no AUTH.
pub fn config() -> Config<'static> {
    Config::new(Domain::try_new("sensor-7.example").unwrap()).with_security(Security::Implicit)
}

fn addresses() -> (Address<'static>, [Address<'static>; 1]) {
    (
        Address::try_new("alert@example.com").unwrap(),
        [Address::try_new("ops@example.com").unwrap()],
    )
}

/// The client's session over `socket` with the blocking client.
pub fn blocking_session<S: Stream>(socket: &mut S) -> Run {
    use embedded_io::{Read, Write};
    use embedded_smtp::tls::blocking::client;
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let mut c = match client(
        &mut *socket,
        connector(),
        config(),
        embedded_smtp::tls::Buffers {
            rx: &mut rx,
            tx: &mut tx,
            tls_read: &mut tls_read,
            tls_write: &mut tls_write,
        },
    ) {
        Ok(c) => c,
        Err(e) => return Run::handshake_failed(e),
    };
    let (from, to) = addresses();
    let sent = c
        .connect()
        .and_then(|()| c.send_raw(from, to, &mut RawMessage::new(MESSAGE)))
        .map(|report| report.accepted());
    let quit = sent.is_ok().then(|| c.quit());
    let mut later = vec![];
    if sent.is_err() || quit.as_ref().is_some_and(Result::is_err) {
        let stream = c.stream_mut();
        for _ in 0..2 {
            later.push(Later::Read(stream.read(&mut [0u8; 64])));
            later.push(Later::Write(stream.write(b"QUIT")));
            later.push(Later::Flush(stream.flush()));
        }
        later.push(Later::Close(c.into_inner().close()));
    }
    Run {
        sent,
        quit,
        later,
        socket: SocketReport::default(),
    }
}

/// The client's session over `socket` with the async client and the
/// [`Impatient`] timer.
pub fn async_session<S: Stream>(socket: &mut S, stalls: usize) -> Run {
    use embedded_io_async::{Read, Write};
    use embedded_smtp::tls::asynch::client;
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let session = async {
        let mut c = match client(
            &mut *socket,
            connector(),
            Impatient,
            config(),
            embedded_smtp::tls::Buffers {
                rx: &mut rx,
                tx: &mut tx,
                tls_read: &mut tls_read,
                tls_write: &mut tls_write,
            },
        ) {
            Ok(c) => c,
            Err(e) => return Run::handshake_failed(e),
        };
        let (from, to) = addresses();
        let sent = match c.connect().await {
            Ok(()) => c
                .send_raw(from, to, &mut RawMessage::new(MESSAGE))
                .await
                .map(|report| report.accepted()),
            Err(e) => Err(e),
        };
        let quit = match sent {
            Ok(_) => Some(c.quit().await),
            Err(_) => None,
        };
        let mut later = vec![];
        if sent.is_err() || quit.as_ref().is_some_and(Result::is_err) {
            let stream = c.stream_mut();
            for _ in 0..2 {
                later.push(Later::Read(stream.read(&mut [0u8; 64]).await));
                later.push(Later::Write(stream.write(b"QUIT").await));
                later.push(Later::Flush(stream.flush().await));
            }
            later.push(Later::Close(c.into_inner().close().await));
        }
        Run {
            sent,
            quit,
            later,
            socket: SocketReport::default(),
        }
    };
    // Each stall costs at most one more poll (one per call after the session).
    block_on(session, stalls)
}

/// The handshake alone on a blocking `TlsStream`, then calls on the stream.
pub fn blocking_handshake(socket: &mut Socket) -> (Result<(), SessionError>, Vec<Later>) {
    use embedded_io::{Read, Write};
    use embedded_smtp::tls::blocking::TlsStream;
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let mut stream = TlsStream::new(&mut *socket, &mut tls_read, &mut tls_write);
    let mut connector = connector();
    let result = stream.start_tls(&mut connector);
    let mut later = vec![];
    if result.is_err() {
        for _ in 0..2 {
            later.push(Later::Read(stream.read(&mut [0u8; 64])));
            later.push(Later::Write(stream.write(b"QUIT")));
            later.push(Later::Flush(stream.flush()));
        }
        later.push(Later::Close(stream.close()));
    }
    (result, later)
}

/// The handshake alone on an async `TlsStream` under the [`Impatient`] timer,
/// then calls on the stream.
pub fn async_handshake(
    socket: &mut Socket,
    stalls: usize,
) -> (Result<(), SessionError>, Vec<Later>) {
    use embedded_io_async::{Read, Write};
    use embedded_smtp::tls::asynch::TlsStream;
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let run = async {
        let mut stream = TlsStream::new(&mut *socket, &mut tls_read, &mut tls_write);
        let mut connector = connector();
        let result = match Impatient
            .with_timeout(stream.start_tls(&mut connector))
            .await
        {
            Ok(r) => r,
            Err(TimedOut) => Err(Error::TimedOut {
                stage: embedded_smtp::engine::Stage::TlsHandshake,
            }),
        };
        let mut later = vec![];
        if result.is_err() {
            for _ in 0..2 {
                later.push(Later::Read(stream.read(&mut [0u8; 64]).await));
                later.push(Later::Write(stream.write(b"QUIT").await));
                later.push(Later::Flush(stream.flush().await));
            }
            later.push(Later::Close(stream.close().await));
        }
        (result, later)
    };
    block_on(run, stalls)
}

// ---------------------------------------------------------------- the RNG --

/// A seeded RNG (xorshift64*), so that the client sends the recorded ClientHello
/// and key share again. Never use a seeded RNG for real TLS.
pub struct Seeded(pub u64);

impl rand_core::RngCore for Seeded {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Seeded {}
