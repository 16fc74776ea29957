//! One check per fuzz target: it feeds the input to the crate and panics when a
//! property fails. Input formats are described in `fuzz/corpus/README.md`.
//!
//! This file uses only `embedded_smtp` and `std` (and, for `verify`, `embedded_tls`
//! and `p256`, dev-dependencies of the library), so the library's own test suite
//! includes it (`tests/fuzz_corpus.rs`) and replays every corpus file on stable.

use embedded_smtp::auth::{Credentials, Mechanism};
use embedded_smtp::command::Command;
use embedded_smtp::engine::{Action, Config, Engine, MailParams, Outcome, Security};
use embedded_smtp::message::{
    Attachment, AutoSubmitted, BodySource, DotStuffer, Header, Importance, Message, MsgId,
    RawMessage, TextEncoding,
};
use embedded_smtp::reply::{
    Assembler, Capabilities, Extensions, ParserConfig, Status, parse_line, parse_reply_with,
};
use embedded_smtp::{Address, Domain, HeaderText, Mailbox};

/// Cuts `data` into pieces whose sizes come from `seed` (1..=max each).
struct Cuts {
    seed: u64,
}

impl Cuts {
    fn new(seed: u8) -> Self {
        Cuts {
            seed: u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    fn next(&mut self, max: usize) -> usize {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        1 + (self.seed as usize) % max.max(1)
    }
}

/// `reply`: byte 0 seeds the splits, the rest is server output.
///
/// Lines are parsed one after another; consumed never exceeds the input, every
/// prefix of a line gives `Partial` or the same answer as the whole, and whole
/// replies parse the same way.
pub fn reply(data: &[u8]) {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let config = ParserConfig::DEFAULT;
    let mut cuts = Cuts::new(seed);
    let mut assembler = Assembler::new(config);
    let mut pos = 0;
    while pos < input.len() {
        let rest = &input[pos..];
        let whole = parse_line(rest, &config);
        // A prefix never contradicts the whole.
        let k = cuts.next(rest.len());
        match (parse_line(&rest[..k], &config), &whole) {
            (Ok(Status::Partial), _) => {}
            (a, b) => assert_eq!(&a, b, "prefix of {k} bytes disagrees"),
        }
        match whole {
            Ok(Status::Complete((line, used))) => {
                assert!(used > 0 && used <= rest.len());
                assert!(used <= config.max_line_len);
                assert!(line.text.len() < used);
                if assembler.push(&line).is_err() {
                    assembler.reset();
                }
                pos += used;
            }
            Ok(Status::Partial) => {
                assert!(rest.len() < config.max_line_len);
                break;
            }
            Err(_) => break,
        }
    }
    if let Ok(Status::Complete((r, used))) = parse_reply_with(input, &config) {
        assert!(used <= input.len());
        assert!(r.line_count() >= 1 && r.lines().count() == usize::from(r.line_count()));
    }
}

/// `ehlo`: EHLO reply lines separated by LF (no code prefix: the text of each line
/// after the first). Never panics; applying the lines twice changes nothing.
pub fn ehlo(data: &[u8]) {
    let mut once = Capabilities::new();
    for line in data.split(|&b| b == b'\n') {
        once.apply_line(line);
    }
    let mut twice = once;
    for line in data.split(|&b| b == b'\n') {
        twice.apply_line(line);
    }
    assert_eq!(once, twice);
    if once.size_limit.is_some() {
        assert!(once.has(Extensions::SIZE));
    }
}

/// `address`: UTF-8 text tried as a domain, an address, a mailbox and header text.
/// Whatever is accepted yields command lines with exactly one CRLF, at the end.
pub fn address(data: &[u8]) {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    let mut buf = [0u8; 1024];
    let mut check = |cmd: Command<'_>| {
        let n = cmd.emit(&mut buf).expect("validated values fit 1024 bytes");
        assert_eq!(n, cmd.len());
        let line = &buf[..n];
        assert!(line.ends_with(b"\r\n"));
        assert!(
            !line[..n - 2].iter().any(|&b| b == b'\r' || b == b'\n'),
            "line break inside {line:?}"
        );
        assert!(!line.contains(&0));
    };
    if let Ok(d) = Domain::try_new(s) {
        check(Command::Ehlo(d));
        check(Command::Helo(d));
    }
    if let Ok(a) = Address::try_new(s) {
        check(Command::Rcpt(a));
        check(Command::Mail {
            from: Some(a),
            size: Some(u64::MAX),
            body_8bit: true,
            smtputf8: !a.is_ascii(),
        });
        assert_eq!(
            a.as_str().len(),
            a.local_part().len() + 1 + a.domain().len()
        );
    }
    if let Ok(m) = Mailbox::parse(s) {
        check(Command::Rcpt(m.address()));
        if let Some(name) = m.name() {
            assert!(!name.contains(['\r', '\n']));
        }
    }
    if let Ok(h) = HeaderText::try_new(s) {
        assert!(!h.as_str().contains(['\r', '\n', '\0']));
        // Without the encoders only text the writer can send as is gets through.
        #[cfg(not(feature = "encoded-words"))]
        assert!(h.as_str().is_ascii() && !h.as_str().contains("=?"));
    }
}

/// CRLF-normalises like the stuffer: CR LF, bare CR and bare LF each become CR LF.
fn normalise(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 2);
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// `dot`: byte 0 seeds the chunk and output sizes, the rest is message text.
///
/// The output ends with the terminator and holds no other `CRLF . CRLF`; it has
/// only CRLF line ends; removing one leading dot from each line gives back the
/// normalised input.
pub fn dot(data: &[u8]) {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let mut cuts = Cuts::new(seed);
    let mut d = DotStuffer::new();
    let mut wire = Vec::new();
    let mut rest = input;
    let mut out = [0u8; 64];
    while !rest.is_empty() {
        let take = cuts.next(rest.len().min(40));
        let mut chunk = &rest[..take];
        while !chunk.is_empty() {
            let room = 2 + cuts.next(62);
            let (used, made) = d.encode(chunk, &mut out[..room]);
            assert!(used > 0, "no progress with {room} bytes of room");
            assert!(made <= room);
            wire.extend_from_slice(&out[..made]);
            chunk = &chunk[used..];
        }
        rest = &rest[take..];
    }
    let body_len = wire.len();
    let n = d.finish(&mut out).expect("5 bytes fit");
    wire.extend_from_slice(&out[..n]);
    // The terminator, and nothing like it before.
    assert!(wire.ends_with(b".\r\n"));
    let body = &wire[..body_len];
    let framed = [b"\r\n".as_slice(), body].concat();
    assert!(
        !framed.windows(5).any(|w| w == b"\r\n.\r\n"),
        "early end of data"
    );
    // CRLF only.
    for (i, &b) in wire.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && wire[i - 1] == b'\r');
        }
        if b == b'\r' {
            assert_eq!(wire.get(i + 1), Some(&b'\n'));
        }
    }
    // Un-stuffing gives the normalised input back.
    let mut unstuffed = Vec::new();
    for line in body.split_inclusive(|&b| b == b'\n') {
        unstuffed.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    let expected = normalise(input);
    assert_eq!(unstuffed, expected);
    assert!(n == 3 || n == 5);
    assert_eq!(n == 3, expected.is_empty() || expected.ends_with(b"\r\n"));
}

/// `message`: fields separated by 0xFF: subject, display name, body, file name,
/// attachment bytes; byte 0 of the input seeds the fill sizes and the encoding,
/// and its bits 2 to 4 add the body again as HTML, make the attachment an inline
/// part, and add the optional header fields (the subject as a caller's field).
///
/// Lines are at most 998 octets, end in CRLF, the header block parses as
/// `Name: value` lines and folds, Bcc never appears, and every multipart boundary
/// declared is closed exactly once, after its first delimiter.
pub fn message(data: &[u8]) {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let mut fields = rest.split(|&b| b == 0xFF);
    let mut next = || core::str::from_utf8(fields.next().unwrap_or(b"")).unwrap_or("");
    let (subject, name, body, filename) = (next(), next(), next(), next());
    let attachment = fields_rest(rest);
    let Ok(subject) = HeaderText::try_new(subject) else {
        return;
    };
    let address = Address::try_new("sensor@example.com").unwrap();
    let from = match Mailbox::with_name(name, address) {
        Ok(m) => m,
        Err(_) => Mailbox::new(address),
    };
    let to = [Mailbox::new(Address::try_new("ops@example.com").unwrap())];
    let bcc = [Mailbox::new(
        Address::try_new("hidden@example.com").unwrap(),
    )];
    let encoding = match seed % 4 {
        0 => TextEncoding::Auto,
        1 => TextEncoding::SevenBit,
        #[cfg(feature = "quoted-printable")]
        2 => TextEncoding::QuotedPrintable,
        _ => TextEncoding::Base64,
    };
    let mut cuts = Cuts::new(seed);
    let mut out = Vec::new();
    let mut buf = [0u8; 300];
    let mut fill = |w: &mut dyn BodySource| loop {
        let n = w
            .fill(&mut buf[..cuts.next(300)])
            .expect("slice attachments never fail");
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    };
    let (html, inline, fields) = (seed & 4 != 0, seed & 8 != 0, seed & 16 != 0);
    let root = MsgId::try_new("alerts.sensor@example.com").unwrap();
    let cid = MsgId::try_new("part.1@example.com").unwrap();
    let note = [Header::try_new("X-Note", subject.as_str()).unwrap()];
    let mut base = Message::new(from, subject)
        .to(&to)
        .bcc(&bcc)
        .text(body)
        .text_encoding(encoding);
    if html {
        base = base.html(body).html_encoding(encoding);
    }
    if fields {
        base = base
            .reply_to(&to)
            .thread(&root)
            .auto_submitted(AutoSubmitted::AutoGenerated)
            .importance(Importance::Low)
            .headers(&note);
    }
    match Attachment::new(
        if filename.is_empty() {
            "a.bin"
        } else {
            filename
        },
        "application/octet-stream",
        attachment,
    ) {
        Ok(a) => {
            let mut atts = [if inline { a.inline(cid) } else { a }];
            let mut m = base.attachments(&mut atts);
            fill(&mut m.writer());
        }
        Err(_) => {
            let mut m = base;
            fill(&mut m.writer());
        }
    }
    let text = &out;
    assert!(text.ends_with(b"\r\n") || text.is_empty());
    let mut in_headers = true;
    for line in text.split_inclusive(|&b| b == b'\n') {
        assert!(line.ends_with(b"\r\n"), "line without CRLF");
        let content = &line[..line.len() - 2];
        assert!(content.len() <= 998, "line of {} octets", content.len());
        assert!(!content.contains(&b'\r') && !content.contains(&b'\n'));
        if in_headers {
            if content.is_empty() {
                in_headers = false;
            } else if content[0] != b' ' && content[0] != b'\t' {
                let colon = content
                    .iter()
                    .position(|&b| b == b':')
                    .expect("header line without a colon");
                assert!(colon > 0 && content[..colon].iter().all(|&b| b.is_ascii_graphic()));
                assert!(
                    !content[..colon].eq_ignore_ascii_case(b"bcc"),
                    "Bcc in headers"
                );
            }
        }
    }
    assert!(!in_headers, "no end of headers");
    // Each declared boundary: its first delimiter line comes before its one close
    // delimiter line, and no other boundary is a prefix of it.
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let mut boundaries: Vec<&[u8]> = Vec::new();
    for w in text
        .windows(10)
        .enumerate()
        .filter(|(_, w)| w == b"boundary=\"")
    {
        let rest = &text[w.0 + 10..];
        let end = rest.iter().position(|&b| b == b'"').expect("boundary ends");
        boundaries.push(&rest[..end]);
    }
    for b in &boundaries {
        let open = [b"--".as_slice(), b, b"\r"].concat();
        let close = [b"--".as_slice(), b, b"--\r"].concat();
        let first = lines.iter().position(|l| *l == open.as_slice());
        let closes: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i] == close.as_slice())
            .collect();
        assert_eq!(closes.len(), 1, "boundary closed once");
        assert!(
            first.is_some_and(|f| f < closes[0]),
            "delimiter before close"
        );
        for other in &boundaries {
            assert!(
                other == b || !b.starts_with(other),
                "boundary prefix of another"
            );
        }
    }
    // (The Bcc address may still appear in caller text such as the subject: the
    // property is that no Bcc header is written, checked above.)
}

/// Everything after the fifth 0xFF-separated field.
fn fields_rest(data: &[u8]) -> &[u8] {
    let mut n = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == 0xFF {
            n += 1;
            if n == 4 {
                return &data[i + 1..];
            }
        }
    }
    b""
}

const SECRET: &str = "Zq9-secret-Zq9";

/// `session`: byte 0 picks the configuration (bits: pipelining, chunking,
/// STARTTLS, implicit TLS, credentials, mechanism, and bit 7 refuses AUTH in the
/// clear), byte 1 the buffer sizes and recipient count, byte 2 seeds the
/// fragmentation; the rest is what the server sends.
///
/// Invariants, read from the engine's actions and the replies as the crate's parser
/// reads them (no substring search): no body byte before a `354` reply (or with
/// BDAT, which needs none); nothing after `QUIT`; a secret only inside the secret
/// span of a `Send`, which holds exactly one AUTH payload, only at the AUTH stage
/// after the server offered AUTH, and over an unencrypted connection only when
/// plaintext AUTH was allowed; a bounded number of steps; no panic.
pub fn session(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let (flags, sizes, seed, server) = (data[0], data[1], data[2], &data[3..]);
    let mut rx = vec![0u8; 512 + usize::from(sizes & 0x0F) * 64];
    let mut tx = vec![0u8; 512 + usize::from(sizes >> 4) * 64];
    let mechanism = match (flags >> 5) & 3 {
        0 => Mechanism::Auto,
        1 => Mechanism::Plain,
        2 => Mechanism::Login,
        _ => Mechanism::XOAuth2,
    };
    let security = match (flags >> 2) & 3 {
        1 => Security::StartTls,
        2 => Security::Implicit,
        _ => Security::None,
    };
    let chunking = flags & 2 != 0;
    let plaintext_auth = flags & 0x80 == 0;
    let mut config = Config::new(Domain::try_new("fuzz.example").unwrap())
        .with_pipelining(flags & 1 != 0)
        .with_chunking(chunking)
        .with_security(security);
    if flags & 0x10 != 0 {
        config = config.with_credentials(
            Credentials::try_new("user", SECRET)
                .unwrap()
                .with_mechanism(mechanism),
        );
        if plaintext_auth {
            config = config.allow_plaintext_auth();
        }
    }
    let Ok(mut engine) = Engine::<'_, 3>::new(config, &mut rx, &mut tx) else {
        return;
    };
    // What may be in a secret span: each mechanism's payload (LOGIN sends the
    // user name and the password as two).
    let payloads = [
        b64(&[b"\0user\0", SECRET.as_bytes()].concat()),
        b64(SECRET.as_bytes()),
        b64(format!("user=user\x01auth=Bearer {SECRET}\x01\x01").as_bytes()),
        b64(b"user"),
    ];
    let secrets = &payloads[..3];
    let a = Address::try_new("a@example.com").unwrap();
    let recipients = 1 + usize::from((sizes >> 2) & 1) + usize::from((sizes >> 6) & 1);
    let body = b"Subject: fuzz\r\n\r\nBODY-MARK line\r\n.\r\n";
    let mut raw = RawMessage::new(body);
    let mut cuts = Cuts::new(seed);
    let mut delivered = 0;
    let mut sent = Vec::new();
    let mut began = false;
    let mut quit_sent = false;
    // The Sends after an `Action::Body` carry the message until the next Recv.
    let mut body_out = false;
    for _ in 0..10_000 {
        let stage = engine.stage();
        let encrypted = engine.is_encrypted();
        let auth_offered = !engine.capabilities().auth.is_empty();
        // BDAT only in a build with it (feature `chunking` here and in the library).
        let bdat = cfg!(feature = "chunking")
            && chunking
            && engine.capabilities().has(Extensions::CHUNKING);
        match engine.poll_action() {
            Action::Send(out) => {
                let bytes = out.bytes();
                assert!(!quit_sent, "bytes after QUIT: {bytes:?}");
                if body_out && !bdat {
                    assert!(
                        reply_codes(&server[..delivered]).contains(&354),
                        "body before 354"
                    );
                }
                let (before, secret, after) = out.split();
                for part in [before, after] {
                    for s in secrets {
                        assert!(
                            !part.windows(s.len()).any(|w| w == s.as_slice()),
                            "a secret outside the secret span"
                        );
                    }
                }
                if out.secret().is_some() {
                    assert_eq!(stage, embedded_smtp::engine::Stage::Auth);
                    assert!(auth_offered, "secret before AUTH was offered");
                    assert!(
                        encrypted || plaintext_auth,
                        "a secret in the clear without permission"
                    );
                    assert!(
                        payloads.iter().any(|p| p.as_slice() == secret),
                        "the secret span is not one AUTH payload"
                    );
                }
                let n = bytes.len();
                sent.extend_from_slice(bytes);
                if sent.ends_with(b"QUIT\r\n") {
                    quit_sent = true;
                }
                engine.handle_sent(n);
            }
            Action::Recv(buf) => {
                body_out = false;
                if delivered == server.len() {
                    engine.handle_eof();
                } else {
                    let n = cuts.next(server.len() - delivered).min(buf.len());
                    buf[..n].copy_from_slice(&server[delivered..delivered + n]);
                    delivered += n;
                    engine.handle_received(n);
                }
            }
            Action::Body => {
                body_out = true;
                engine.handle_body(&mut raw);
            }
            Action::Handshake | Action::StartTls => engine.handle_tls_ready(),
            Action::Done(Outcome::Ready) if !began => {
                began = true;
                let _ = engine.begin_transaction(
                    Some(a),
                    core::iter::repeat_n(a, recipients),
                    MailParams::default(),
                );
                if seed & 1 != 0 {
                    let _ = engine.quit_after_transaction();
                }
            }
            Action::Done(Outcome::Ready | Outcome::Sent) => {
                if engine.quit().is_err() {
                    return;
                }
            }
            Action::Failed(embedded_smtp::Error::Unsupported(
                embedded_smtp::Unsupported::PlaintextAuth,
            )) => {
                assert!(
                    !plaintext_auth && !encrypted,
                    "plaintext AUTH refused wrongly"
                );
                return;
            }
            Action::Done(_) | Action::Failed(_) => return,
            _ => return,
        }
    }
    panic!("the session did not end within 10 000 steps");
}

/// The codes of the complete replies in `bytes`, as the crate's parser reads them
/// (up to the first malformed or incomplete line).
fn reply_codes(mut bytes: &[u8]) -> Vec<u16> {
    let config = ParserConfig::DEFAULT;
    let mut assembler = Assembler::new(config);
    let mut codes = Vec::new();
    while let Ok(Status::Complete((line, used))) = parse_line(bytes, &config) {
        match assembler.push(&line) {
            Ok(true) => codes.push(line.code.get()),
            Ok(false) => {}
            Err(_) => break,
        }
        bytes = &bytes[used..];
    }
    codes
}

fn b64(data: &[u8]) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    for c in data.chunks(3) {
        let n = c.len();
        let v = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= n {
                T[(v >> (18 - 6 * i) & 63) as usize]
            } else {
                b'='
            });
        }
    }
    out
}

/// The test PKI (`tests/data/certs/`, made by its `make.sh`).
#[cfg(feature = "tls")]
mod pki {
    macro_rules! cert {
        ($name:literal) => {
            include_bytes!(concat!("../../tests/data/certs/", $name, ".der")).as_slice()
        };
    }
    pub const ROOT: &[u8] = cert!("root-ca");
    pub const OTHER_ROOT: &[u8] = cert!("other-root-ca");
    /// Every certificate the fuzzer can name by index (`0xFFnn` as a length).
    pub const KNOWN: [&[u8]; 18] = [
        cert!("root-ca"),
        cert!("intermediate-ca"),
        cert!("rsa-ca"),
        cert!("other-root-ca"),
        cert!("not-a-ca"),
        cert!("leaf-ecdsa"),
        cert!("leaf-rsa"),
        cert!("leaf-p384"),
        cert!("leaf-ed25519"),
        cert!("leaf-rsa-pkcs1"),
        cert!("leaf-rsa-pss"),
        cert!("leaf-wrong-host"),
        cert!("leaf-cn-only"),
        cert!("leaf-expired"),
        cert!("leaf-not-yet-valid"),
        cert!("leaf-client-only"),
        cert!("leaf-by-not-a-ca"),
        cert!("leaf-ecdsa"),
    ];
    /// The leaves that legitimately chain to `ROOT` as server certificates for
    /// `localhost` / `127.0.0.1`, valid from 2025 to 2125.
    pub const GOOD: [&[u8]; 6] = [
        cert!("leaf-ecdsa"),
        cert!("leaf-rsa"),
        cert!("leaf-p384"),
        cert!("leaf-ed25519"),
        cert!("leaf-rsa-pkcs1"),
        cert!("leaf-rsa-pss"),
    ];
    /// The same, but out of their validity period (accepted only without a time
    /// check).
    pub const GOOD_BUT_DATED: [&[u8]; 2] = [cert!("leaf-expired"), cert!("leaf-not-yet-valid")];
    pub const LEAF_ECDSA: &[u8] = cert!("leaf-ecdsa");
    /// A genuine leaf under the intermediate whose only SAN is other.example.
    pub const LEAF_OTHER_HOST: &[u8] = cert!("leaf-wrong-host");
    /// A genuine server certificate straight under the root (CA:FALSE, so it
    /// may not issue), whose only SAN is innocent.example.
    pub const NOT_A_CA: &[u8] = cert!("not-a-ca");
    /// SHA-256 of leaf-ecdsa's SubjectPublicKeyInfo, as openssl computed it
    /// (`spki-sha256.txt`).
    pub const LEAF_ECDSA_PIN: [u8; 32] = [
        0x36, 0xa3, 0x73, 0x4d, 0x88, 0x07, 0x45, 0x97, 0x31, 0x1f, 0xce, 0xb8, 0x5e, 0x21, 0xb4,
        0x4a, 0x37, 0xe4, 0xd0, 0x9d, 0x1d, 0xac, 0x9a, 0x10, 0xe8, 0x0b, 0xce, 0xcc, 0x56, 0x75,
        0xb7, 0x17,
    ];
}

/// `verify`: byte 0 picks the policy (bits 0–1: anchors {root}, anchors {other
/// root}, anchors {root, other root}, pin of leaf-ecdsa), the time (bits 2–3: now
/// = 2026-05-28, unknown, no time check, 2128), the server name (bits 4–5:
/// `localhost`, `127.0.0.1`, `other.example`, `innocent.example`) and the
/// transcript hash length (bits 6–7: 32, 48, 64, 65 bytes, each byte `0xA5`);
/// byte 1 the number of certificate entries (mod 18; 17 is refused as
/// embedded-tls refuses it); then each entry as a
/// big-endian `u16` length and that many bytes, where a length `0xFFnn` names the
/// test certificate `nn` (mod 18, see `pki::KNOWN`); then a `u16` index into the
/// signature schemes and the CertificateVerify signature (the rest).
///
/// Properties: no panic; a chain is accepted only if its leaf is one of the test
/// PKI's genuine server certificates for the name under the trusted root, valid at
/// the time (any time when time checks are off) — a fuzzer cannot forge a
/// signature, so anything else accepted is a verifier bug; a pin is accepted only
/// for a leaf carrying the pinned key; nothing is accepted with no time source
/// under anchors, or with the unrelated root alone; a CertificateVerify is accepted
/// only after an accepted Certificate and only if its P-256 signature verifies
/// with the leaf's key under an independent check (the `p256` crate).
///
/// Returns whether the whole server authentication (Certificate and
/// CertificateVerify) was accepted.
#[cfg(feature = "tls")]
pub fn verify(data: &[u8]) -> bool {
    use embedded_smtp::verify::{TimeSource, Verifier, anchor_from_der};
    use embedded_tls::{
        Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef,
        SignatureScheme as S, TlsVerifier,
    };

    const SCHEMES: [S; 25] = [
        S::EcdsaSecp256r1Sha256,
        S::EcdsaSecp384r1Sha384,
        S::EcdsaSecp521r1Sha512,
        S::Ed25519,
        S::RsaPssRsaeSha256,
        S::RsaPssRsaeSha384,
        S::RsaPssRsaeSha512,
        S::RsaPkcs1Sha256,
        S::RsaPkcs1Sha384,
        S::RsaPkcs1Sha512,
        S::Ed448,
        S::RsaPssPssSha256,
        S::RsaPssPssSha384,
        S::RsaPssPssSha512,
        S::Sha224Ecdsa,
        S::Sha224Rsa,
        S::Sha224Dsa,
        S::RsaPkcs1Sha1,
        S::EcdsaSha1,
        S::Sha256BrainpoolP256r1,
        S::Sha384BrainpoolP384r1,
        S::Sha512BrainpoolP512r1,
        S::MlDsa44,
        S::MlDsa65,
        S::MlDsa87,
    ];
    const NOW: u64 = 1_780_000_000;
    const NAMES: [&str; 4] = [
        "localhost",
        "127.0.0.1",
        "other.example",
        "innocent.example",
    ];

    let [mode, count, rest @ ..] = data else {
        return false;
    };
    let root = [anchor_from_der(pki::ROOT).unwrap()];
    let other = [anchor_from_der(pki::OTHER_ROOT).unwrap()];
    let both = [
        anchor_from_der(pki::ROOT).unwrap(),
        anchor_from_der(pki::OTHER_ROOT).unwrap(),
    ];
    let pins = [pki::LEAF_ECDSA_PIN];
    let time = match (mode >> 2) & 3 {
        0 => TimeSource::Now(NOW),
        1 => TimeSource::Unknown,
        2 => TimeSource::DangerNoTimeCheck,
        _ => TimeSource::Now(5_000_000_000),
    };
    let policy = mode & 3;
    let mut verifier = match policy {
        0 => Verifier::with_anchors(&root, time),
        1 => Verifier::with_anchors(&other, time),
        2 => Verifier::with_anchors(&both, time),
        _ => Verifier::with_pins(&pins),
    };
    let name = NAMES[usize::from((mode >> 4) & 3)];
    let transcript = [0xA5u8; 65];
    let transcript = &transcript[..[32, 48, 64, 65][usize::from(mode >> 6)]];

    // The Certificate message.
    let mut input = rest;
    let take_u16 = |input: &mut &[u8]| -> Option<u16> {
        let (v, tail) = input.split_first_chunk::<2>()?;
        *input = tail;
        Some(u16::from_be_bytes(*v))
    };
    let mut certificate = CertificateRef::with_context(&[]);
    for _ in 0..count % 18 {
        let Some(len) = take_u16(&mut input) else {
            break;
        };
        let der = if len >= 0xFF00 {
            pki::KNOWN[usize::from(len & 0xFF) % pki::KNOWN.len()]
        } else {
            let (der, tail) = input.split_at(usize::from(len).min(input.len()));
            input = tail;
            der
        };
        if certificate.add(CertificateEntryRef::X509(der)).is_err() {
            // embedded-tls refuses a Certificate of more than 16 entries before
            // any verifier sees it.
            return false;
        }
    }
    let scheme = SCHEMES[usize::from(take_u16(&mut input).unwrap_or(0)) % SCHEMES.len()];
    let signature = input;

    TlsVerifier::<Aes128GcmSha256>::set_hostname_verification(&mut verifier, name).unwrap();
    let leaf = match certificate.entries.first() {
        Some(CertificateEntryRef::X509(der)) => Some(*der),
        _ => None,
    };
    let accepted = verifier
        .verify_server_certificate(transcript, &certificate)
        .is_ok();
    if accepted {
        let leaf = leaf.expect("accepted a Certificate with no X.509 leaf");
        if policy == 3 {
            let spki = p256_spki(pki::LEAF_ECDSA).unwrap();
            assert!(
                leaf.windows(spki.len()).any(|w| w == spki),
                "pin accepted for a leaf without the pinned key"
            );
        } else {
            assert_ne!(policy, 1, "accepted a chain under the unrelated root alone");
            assert!(
                !matches!(time, TimeSource::Unknown),
                "accepted a chain with no time source"
            );
            // A genuine server certificate of the test PKI, for the name asked:
            // the localhost leaves (SAN localhost and 127.0.0.1); leaf-wrong-host,
            // whose one SAN is other.example (wrong for localhost, right for itself);
            // or not-a-ca, a server certificate for innocent.example straight under
            // the root (it may not issue, but it may serve).
            let genuine = match name {
                "localhost" | "127.0.0.1" => {
                    pki::GOOD.contains(&leaf)
                        || (matches!(time, TimeSource::DangerNoTimeCheck)
                            && pki::GOOD_BUT_DATED.contains(&leaf))
                }
                "other.example" => leaf == pki::LEAF_OTHER_HOST,
                "innocent.example" => leaf == pki::NOT_A_CA,
                _ => false,
            };
            assert!(
                genuine,
                "accepted a chain for {name} whose leaf is not a genuine certificate for it"
            );
            assert!(
                !matches!(time, TimeSource::Now(t) if t > NOW),
                "accepted a chain after it expired"
            );
        }
        assert!(
            transcript.len() <= 64,
            "accepted an oversized transcript hash"
        );
    }

    // The CertificateVerify.
    let verify = CertificateVerifyRef {
        signature_scheme: scheme,
        signature,
    };
    let signed = verifier.verify_certificate_verify(&verify).is_ok();
    assert_eq!(
        verifier.check_verified().is_ok(),
        signed,
        "check_verified disagrees with the handshake"
    );
    if signed {
        assert!(accepted, "CertificateVerify accepted without a Certificate");
        let leaf = leaf.unwrap();
        assert_eq!(scheme, S::EcdsaSecp256r1Sha256, "accepted {scheme:?}");
        let spki = p256_spki(leaf).expect("accepted a signature from a non-P-256 leaf");
        assert!(
            p256_verifies(spki, transcript, signature),
            "accepted a signature the p256 crate refuses"
        );
    }
    signed
}

/// The P-256 SubjectPublicKeyInfo (91 bytes) inside a certificate, found by its
/// fixed prefix.
#[cfg(feature = "tls")]
fn p256_spki(der: &[u8]) -> Option<&[u8]> {
    const PREFIX: &[u8] = &[
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let at = der.windows(PREFIX.len()).position(|w| w == PREFIX)?;
    der.get(at..at + 91)
}

/// Whether `signature` (DER) is a valid ECDSA P-256/SHA-256 signature by `spki` over
/// the TLS 1.3 server CertificateVerify content for `transcript`.
#[cfg(feature = "tls")]
fn p256_verifies(spki: &[u8], transcript: &[u8], signature: &[u8]) -> bool {
    use p256::ecdsa::{Signature, VerifyingKey, signature::Verifier as _};
    use p256::pkcs8::DecodePublicKey;
    let mut content = vec![0x20u8; 64];
    content.extend_from_slice(b"TLS 1.3, server CertificateVerify\x00");
    content.extend_from_slice(transcript);
    let (Ok(key), Ok(signature)) = (
        VerifyingKey::from_public_key_der(spki),
        Signature::from_der(signature),
    ) else {
        return false;
    };
    key.verify(&content, &signature).is_ok()
}
