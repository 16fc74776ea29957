//! The message writer against golden files in `tests/data/*.eml`, plus structural
//! checks (line lengths, CRLF, Bcc, RFC 2047, base64 and quoted-printable round trips)
//! and the dot-stuffer on whole messages.
//!
//! `BLESS=1 cargo test --test message` rewrites the golden files from the current
//! output; review the diff before committing it.

// The messages here use RFC 2047 words and quoted-printable bodies.
#![cfg(all(feature = "encoded-words", feature = "quoted-printable"))]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use embedded_io::ErrorKind;
use embedded_smtp::message::{
    Attachment, BodySource, DateTime, DotStuffer, Message, RawMessage, TextEncoding,
};
use embedded_smtp::{Address, HeaderText, InputErrorKind, Mailbox};

const CHUNKS: [usize; 4] = [1, 7, 64, 4096];

/// 2026-11-28 15:16:23 in China (+08:00).
const DATE: DateTime = DateTime {
    unix_seconds: 1_795_850_183,
    offset_minutes: 480,
};
const ID: [u8; 16] = [
    0x3f, 0x2a, 0x91, 0x07, 0xc4, 0x5e, 0x18, 0xb2, 0x6d, 0x00, 0xfe, 0x83, 0x4b, 0x29, 0x75, 0xea,
];

fn mb(s: &str) -> Mailbox<'_> {
    Mailbox::parse(s).unwrap()
}

fn text(s: &str) -> HeaderText<'_> {
    HeaderText::try_new(s).unwrap()
}

/// Pulls everything out of `src` with a buffer of `chunk` bytes.
fn drain(src: &mut impl BodySource, chunk: usize) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = src.fill(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert!(n <= chunk);
        all.extend_from_slice(&buf[..n]);
    }
    assert_eq!(src.fill(&mut buf), Ok(0), "Ok(0) must repeat");
    all
}

/// Checks every property a written message must have.
fn check_shape(out: &[u8]) {
    for (i, &c) in out.iter().enumerate() {
        if c == b'\r' {
            assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
        if c == b'\n' {
            assert_eq!(out[i - 1], b'\r', "bare LF at {i}");
        }
    }
    assert!(out.ends_with(b"\r\n"));
    for line in out.split(|&c| c == b'\n') {
        assert!(line.len() <= 998 + 1, "line of {} octets", line.len());
    }
    let head = header_block(out);
    for line in head.split("\r\n") {
        assert!(line.len() <= 78, "header line over 78: {line:?}");
        assert!(!line.trim().is_empty() || line.is_empty());
    }
    assert!(!contains(out, b"Bcc"));
    assert!(!contains(out, b"secret-archive"));
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn header_block(out: &[u8]) -> &str {
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header block ends");
    std::str::from_utf8(&out[..end]).unwrap()
}

/// Writes the message from `make` with each chunk size, checks they agree and have the
/// right shape, and compares with (or, with `BLESS=1`, writes) `tests/data/<name>`.
fn golden(name: &str, make: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
    let reference = make(CHUNKS[0]);
    for &chunk in &CHUNKS[1..] {
        assert!(make(chunk) == reference, "{name}: chunk {chunk} differs");
    }
    check_shape(&reference);
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &reference).unwrap();
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (run with BLESS=1)"));
    if want != reference {
        panic!(
            "{name} differs from the golden file\n--- got:\n{}",
            String::from_utf8_lossy(&reference)
        );
    }
    reference
}

// ---------------------------------------------------------------------------------
// Decoders for the checks (independent of the writer's code).

fn b64(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    let mut buf = vec![0u8; s.len()];
    let n = STANDARD.decode_slice(s.as_bytes(), &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Unfolds header field `name` (RFC 5322 §2.2.3).
fn field(out: &[u8], name: &str) -> Option<String> {
    let head = header_block(out);
    let mut lines = head.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if let Some(v) = line.strip_prefix(&format!("{name}:")) {
            let mut v = v.to_string();
            while lines.peek().is_some_and(|l| l.starts_with([' ', '\t'])) {
                v += lines.next().unwrap();
            }
            return Some(v.strip_prefix(' ').unwrap_or(&v).to_string());
        }
    }
    None
}

/// Decodes RFC 2047 `B` words (UTF-8); whitespace between adjacent encoded words is
/// dropped (RFC 2047 §6.2). Returns the text and the number of words.
fn decode_2047(v: &str) -> (String, usize) {
    let mut out = Vec::new();
    let mut words = 0;
    let mut last_was_word = false;
    let mut pending_space = String::new();
    for token in v.split_inclusive([' ', '\t']) {
        let t = token.trim_end_matches([' ', '\t']);
        let ws = &token[t.len()..];
        if t.is_empty() {
            pending_space += ws;
            continue;
        }
        if let Some(inner) = t
            .strip_prefix("=?UTF-8?B?")
            .and_then(|x| x.strip_suffix("?="))
        {
            assert!(t.len() <= 75, "encoded word over 75: {t}");
            let bytes = b64(inner);
            assert!(
                std::str::from_utf8(&bytes).is_ok(),
                "word splits a character"
            );
            if !last_was_word {
                out.extend_from_slice(pending_space.as_bytes());
            }
            out.extend_from_slice(&bytes);
            words += 1;
            last_was_word = true;
        } else {
            out.extend_from_slice(pending_space.as_bytes());
            out.extend_from_slice(t.as_bytes());
            last_was_word = false;
        }
        pending_space = ws.to_string();
    }
    out.extend_from_slice(pending_space.as_bytes());
    (String::from_utf8(out).unwrap(), words)
}

/// Decodes quoted-printable (RFC 2045 §6.7), checking line lengths.
fn decode_qp(body: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let lines: Vec<&str> = body.split("\r\n").collect();
    for (i, line) in lines.iter().enumerate() {
        assert!(line.len() <= 76, "qp line over 76: {line:?}");
        assert!(!line.ends_with([' ', '\t']), "trailing blank: {line:?}");
        let (line, soft) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (*line, false),
        };
        let b = line.as_bytes();
        let mut j = 0;
        while j < b.len() {
            if b[j] == b'=' {
                out.push(u8::from_str_radix(&line[j + 1..j + 3], 16).unwrap());
                j += 3;
            } else {
                assert!(b[j] == b'\t' || (32..127).contains(&b[j]));
                out.push(b[j]);
                j += 1;
            }
        }
        if !soft && i + 1 < lines.len() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// The body after the header block.
fn body(out: &[u8]) -> &str {
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    std::str::from_utf8(&out[end + 4..]).unwrap()
}

/// The parts of a multipart body: (header block, body) of each, split at the
/// boundary given in the top-level `Content-Type`.
fn parts(out: &[u8]) -> Vec<(String, String)> {
    let ct = field(out, "Content-Type").unwrap();
    let boundary = ct
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let body = body(out);
    let open = format!("--{boundary}\r\n");
    let close = format!("\r\n--{boundary}--\r\n");
    assert!(body.starts_with(&open));
    assert!(body.ends_with(&close));
    let inner = &body[open.len()..body.len() - close.len()];
    inner
        .split(&format!("\r\n--{boundary}\r\n"))
        .map(|p| {
            let (h, b) = p.split_once("\r\n\r\n").unwrap();
            (h.to_string(), b.to_string())
        })
        .collect()
}

fn crlf(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n")
}

// ---------------------------------------------------------------------------------
// Golden messages

const ALERT_TEXT: &str = "Front door of building 3 opened at 15:16:23 (local time).\n\
\n\
Zone:    north wing, ground floor\n\
Sensor:  reed switch #12\n\
State:   OPEN for 45 s\n\
.\n\
.hidden line starting with a dot\n\
From here on the alarm is armed again.\n";

fn alert_ascii(chunk: usize) -> Vec<u8> {
    let to = [
        mb("Operations <ops@example.com>"),
        mb("security@example.com"),
    ];
    let cc = [mb("\"Doe, Jane (on call)\" <jane.doe@example.net>")];
    let bcc = [mb("Archive <secret-archive@example.org>")];
    let mut msg = Message::new(
        mb("Alarm Panel <panel@example.com>"),
        text("[ALARM] Door 3 opened (north wing)"),
    )
    .to(&to)
    .cc(&cc)
    .bcc(&bcc)
    .date(DATE)
    .message_id(ID)
    .text(ALERT_TEXT);
    assert!(!msg.needs_smtputf8());
    drain(&mut msg.writer(), chunk)
}

#[test]
fn golden_alert_ascii() {
    let out = golden("alert_ascii.eml", alert_ascii);
    assert_eq!(
        field(&out, "Date").unwrap(),
        "Sat, 28 Nov 2026 15:16:23 +0800"
    );
    assert_eq!(
        field(&out, "Message-ID").unwrap(),
        "<3f2a9107c45e18b26d00fe834b2975ea@example.com>"
    );
    assert_eq!(field(&out, "Content-Transfer-Encoding").unwrap(), "7bit");
    assert_eq!(body(&out), crlf(ALERT_TEXT));
}

const SUBJECT_ZH: &str =
    "【告警】3号冷库温度超过阈值：当前 -12.5°C，阈值 -18.0°C，请尽快检查压缩机与门封 (Cold room 3)";
const NAME_ZH: &str = "冷库监控 3号";

fn subject_utf8(chunk: usize) -> Vec<u8> {
    let to = [
        mb("张伟 <zhang.wei@example.cn>"),
        mb("Li Na <li.na@example.cn>"),
    ];
    let from =
        Mailbox::with_name(NAME_ZH, Address::try_new("monitor@example.cn").unwrap()).unwrap();
    let mut msg = Message::new(from, text(SUBJECT_ZH))
        .to(&to)
        .date(DATE)
        .message_id(ID)
        .text("Temperature alarm, see subject.\n");
    drain(&mut msg.writer(), chunk)
}

#[test]
fn golden_subject_utf8() {
    let out = golden("subject_utf8.eml", subject_utf8);
    let subject = field(&out, "Subject").unwrap();
    let (decoded, words) = decode_2047(&subject);
    assert_eq!(decoded, SUBJECT_ZH);
    assert!(words >= 3, "folded into several words");
    // One word per line.
    let head = header_block(&out);
    let start = head.find("Subject:").unwrap();
    let lines: Vec<&str> = head[start..].split("\r\n").take(words).collect();
    for line in &lines {
        assert_eq!(line.matches("=?UTF-8?B?").count(), 1, "{line}");
        assert!(line.len() <= 76);
    }
    let from = field(&out, "From").unwrap();
    let (name, _) = decode_2047(from.trim_end_matches(" <monitor@example.cn>"));
    assert_eq!(name, NAME_ZH);
    let to = field(&out, "To").unwrap();
    assert_eq!(
        decode_2047(&to).0,
        "张伟 <zhang.wei@example.cn>, Li Na <li.na@example.cn>"
    );
    assert!(head.is_ascii());
}

const QP_TEXT: &str = "Bonjour,\n\
\n\
La température du capteur « salle serveurs » a dépassé le seuil : 31,5 °C (seuil = 28 °C).\n\
Cette ligne est volontairement très longue pour vérifier le repli souple à soixante-seize colonnes, avec des accents éparpillés çà et là.\n\
Espaces en fin de ligne   \n\
.point en début de ligne\n\
Tabulation\tau milieu et à la fin\t\n\
— L'équipe technique";

fn body_qp(chunk: usize) -> Vec<u8> {
    let to = [mb("ops@example.fr")];
    let mut msg = Message::new(
        mb("Capteurs <capteurs@example.fr>"),
        text("Alerte température"),
    )
    .to(&to)
    .date(DateTime {
        unix_seconds: 1_795_850_183,
        offset_minutes: 60,
    })
    .message_id(ID)
    .text(QP_TEXT);
    drain(&mut msg.writer(), chunk)
}

#[test]
fn golden_body_qp() {
    let out = golden("body_qp.eml", body_qp);
    assert_eq!(
        field(&out, "Content-Transfer-Encoding").unwrap(),
        "quoted-printable"
    );
    assert_eq!(
        decode_2047(&field(&out, "Subject").unwrap()).0,
        "Alerte température"
    );
    let decoded = decode_qp(body(&out));
    assert_eq!(String::from_utf8(decoded).unwrap(), crlf(QP_TEXT) + "\r\n");
}

const B64_TEXT: &str = "您好：\n\n3号冷库的温度在 15:16 超过了设定阈值，目前为 -12.5°C。\n请值班人员尽快到现场检查压缩机、门封和除霜装置，并在处理完毕后回复本邮件。\n\n—— 冷库监控系统\n";

fn body_base64(chunk: usize) -> Vec<u8> {
    let to = [mb("值班室 <duty@example.cn>")];
    let mut msg = Message::new(mb("monitor@example.cn"), text("冷库温度告警"))
        .to(&to)
        .date(DATE)
        .text(B64_TEXT);
    drain(&mut msg.writer(), chunk)
}

#[test]
fn golden_body_base64() {
    let out = golden("body_base64.eml", body_base64);
    assert_eq!(field(&out, "Content-Transfer-Encoding").unwrap(), "base64");
    assert_eq!(field(&out, "Message-ID"), None);
    let body = body(&out);
    let lines: Vec<&str> = body.trim_end_matches("\r\n").split("\r\n").collect();
    for line in &lines[..lines.len() - 1] {
        assert_eq!(line.len(), 76);
    }
    assert!(lines.last().unwrap().len() <= 76);
    assert_eq!(String::from_utf8(b64(body)).unwrap(), crlf(B64_TEXT));
}

fn csv_data() -> Vec<u8> {
    let mut s = String::from("time,sensor,celsius\n");
    for i in 0..16 {
        s += &format!(
            "2026-11-28T15:{:02}:00+08:00,cold-room-3,{}.{}\n",
            i,
            -18 + i,
            i % 10
        );
    }
    s.into_bytes()
}

fn binary_data() -> Vec<u8> {
    // A small xorshift stream: every byte value, no structure.
    let mut x: u32 = 0x1234_5678;
    (0..700)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

const MP_TEXT: &str = "Daily report attached: readings as CSV and the raw log.\n";

fn multipart(chunk: usize) -> Vec<u8> {
    let csv = csv_data();
    let bin = binary_data();
    let to = [mb("Reports <reports@example.com>")];
    let mut atts = [
        Attachment::new("readings.csv", "text/csv", &csv[..]).unwrap(),
        Attachment::new("冷库-3 日志.bin", "application/octet-stream", &bin[..]).unwrap(),
    ];
    let mut msg = Message::new(mb("Alarm Panel <panel@example.com>"), text("Daily report"))
        .to(&to)
        .date(DATE)
        .message_id(ID)
        .text(MP_TEXT)
        .attachments(&mut atts);
    drain(&mut msg.writer(), chunk)
}

#[test]
fn golden_multipart_attachment() {
    let out = golden("multipart_attachment.eml", multipart);
    assert_eq!(
        field(&out, "Content-Type").unwrap(),
        "multipart/mixed; boundary=\"=_ea75294b83fe006db2185ec407912a3f\""
    );
    let p = parts(&out);
    assert_eq!(p.len(), 3);
    assert_eq!(
        p[0].0,
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit"
    );
    // The CRLF before a delimiter belongs to it (RFC 2046 §5.1.1).
    assert_eq!(p[0].1.clone() + "\r\n", crlf(MP_TEXT));
    assert_eq!(
        p[1].0,
        "Content-Type: text/csv\r\n\
         Content-Disposition: attachment; filename=\"readings.csv\"\r\n\
         Content-Transfer-Encoding: base64"
    );
    assert_eq!(b64(&p[1].1), csv_data());
    assert!(csv_data().len() > 300);
    assert_eq!(
        p[2].0,
        "Content-Type: application/octet-stream\r\n\
         Content-Disposition: attachment;\r\n \
         filename*=UTF-8''%E5%86%B7%E5%BA%93-3%20%E6%97%A5%E5%BF%97.bin\r\n\
         Content-Transfer-Encoding: base64"
    );
    assert_eq!(b64(&p[2].1), binary_data());
    for part in &p[1..] {
        for line in part.1.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 76 && line.len() % 4 == 0, "{line}");
        }
    }
}

// ---------------------------------------------------------------------------------
// Other properties

#[test]
fn long_word_in_subject() {
    let word = "A".repeat(2000);
    for subject in [word.clone(), format!("Alarm {word} end"), " ".repeat(1500)] {
        let mut msg = Message::new(mb("a@example.com"), text(&subject));
        let out = drain(&mut msg.writer(), 64);
        check_shape(&out);
        let (decoded, _) = decode_2047(&field(&out, "Subject").unwrap());
        assert_eq!(decoded, subject);
    }
}

#[test]
fn header_injection_is_refused_at_construction() {
    for bad in ["x\r\nBcc: victim@example.com", "x\ny", "x\ry"] {
        assert_eq!(
            HeaderText::try_new(bad).map_err(|e| e.kind()),
            Err(InputErrorKind::LineBreak)
        );
        let a = Address::try_new("a@example.com").unwrap();
        assert_eq!(
            Mailbox::with_name(bad, a).map_err(|e| e.kind()),
            Err(InputErrorKind::LineBreak)
        );
        assert_eq!(
            Attachment::new(bad, "text/plain", &b""[..])
                .map(|_| ())
                .map_err(|e| e.kind()),
            Err(InputErrorKind::LineBreak)
        );
        let ct = format!("text/plain{bad}");
        assert_eq!(
            Attachment::new("a.txt", &ct, &b""[..])
                .map(|_| ())
                .map_err(|e| e.kind()),
            Err(InputErrorKind::LineBreak)
        );
    }
    assert_eq!(
        Mailbox::parse("Eve <a@example.com>\r\nBcc: b@example.com").map_err(|e| e.kind()),
        Err(InputErrorKind::LineBreak)
    );
    assert_eq!(
        Address::try_new("a@example.com\r\nRCPT TO:<b@example.com>").map_err(|e| e.kind()),
        Err(InputErrorKind::LineBreak)
    );
    assert_eq!(
        Attachment::new("a\0b", "text/plain", &b""[..])
            .map(|_| ())
            .map_err(|e| e.kind()),
        Err(InputErrorKind::Nul)
    );
    assert_eq!(
        Attachment::new("a.txt", "text/plain; charset=utf-8", &b""[..])
            .map(|_| ())
            .map_err(|e| e.kind()),
        Err(InputErrorKind::InvalidContentType)
    );
    assert_eq!(
        Attachment::new("", "text/plain", &b""[..])
            .map(|_| ())
            .map_err(|e| e.kind()),
        Err(InputErrorKind::Empty)
    );
}

/// Yields `good` bytes in small reads, then fails.
struct Failing {
    good: usize,
    reads: usize,
}

impl embedded_io::ErrorType for Failing {
    type Error = ErrorKind;
}

impl embedded_io::Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.reads += 1;
        if self.good == 0 {
            return Err(ErrorKind::BrokenPipe);
        }
        let n = buf.len().min(self.good).min(10);
        buf[..n].fill(b'x');
        self.good -= n;
        Ok(n)
    }
}

#[test]
fn failing_attachment_reader() {
    for chunk in CHUNKS {
        let mut atts = [Attachment::new(
            "log.txt",
            "text/plain",
            Failing {
                good: 130,
                reads: 0,
            },
        )
        .unwrap()];
        let mut msg = Message::new(mb("a@example.com"), text("x"))
            .text("hello")
            .attachments(&mut atts);
        let mut w = msg.writer();
        let mut buf = vec![0u8; chunk];
        let mut got = Vec::new();
        let err = loop {
            match w.fill(&mut buf) {
                Ok(0) => panic!("finished despite the failing reader"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(kind) => break kind,
            }
        };
        assert_eq!(err, ErrorKind::BrokenPipe);
        // The error repeats; nothing produced before it was lost.
        assert_eq!(w.fill(&mut buf), Err(ErrorKind::BrokenPipe));
        let s = String::from_utf8(got).unwrap();
        let lines: Vec<&str> = s.rsplit("\r\n\r\n").next().unwrap().split("\r\n").collect();
        // Two full lines of 57 bytes went out; the 16 bytes after them wait for more.
        assert_eq!(
            lines,
            [&*b64_line(&[b'x'; 57]), &*b64_line(&[b'x'; 57]), ""]
        );
    }
}

fn b64_line(b: &[u8]) -> String {
    let mut buf = [0u8; 80];
    let n = STANDARD.encode_slice(b, &mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn boundary_lookalike_in_7bit_text_is_quoted() {
    let mut atts = [Attachment::new("a.txt", "text/plain", &b"data"[..]).unwrap()];
    let txt = "before\n--=_embedded-smtp_part_boundary--\nafter\n";
    let mut msg = Message::new(mb("a@example.com"), text("x"))
        .text(txt)
        .text_encoding(TextEncoding::SevenBit)
        .attachments(&mut atts);
    let out = drain(&mut msg.writer(), 4096);
    let p = parts(&out);
    assert_eq!(p.len(), 2);
    assert!(p[0].0.ends_with("quoted-printable"));
    assert_eq!(decode_qp(&p[0].1), crlf(txt).trim_end().as_bytes());
    assert_eq!(b64(&p[1].1), b"data");
}

#[test]
fn utf8_addresses_are_written_raw_and_flagged() {
    let to = [mb("用户 <用户@例子.中国>")];
    let mut msg = Message::new(mb("a@example.com"), text("x")).to(&to);
    assert!(msg.needs_smtputf8());
    let out = drain(&mut msg.writer(), 7);
    let to = field(&out, "To").unwrap();
    assert_eq!(decode_2047(&to).0, "用户 <用户@例子.中国>");
}

/// Through the dot-stuffer, as the engine sends it: one terminator, at the end, and
/// un-stuffing gives the message back.
#[test]
fn dot_stuffed_messages_round_trip() {
    let makers: [fn(usize) -> Vec<u8>; 5] =
        [alert_ascii, subject_utf8, body_qp, body_base64, multipart];
    for make in makers {
        let msg = make(4096);
        for out_len in [2, 5, 64, 1000] {
            let mut d = DotStuffer::new();
            let mut wire = Vec::new();
            let mut rest = &msg[..];
            let mut out = vec![0u8; out_len];
            while !rest.is_empty() {
                let (used, n) = d.encode(rest, &mut out);
                wire.extend_from_slice(&out[..n]);
                rest = &rest[used..];
            }
            let mut fin = [0u8; 5];
            let n = d.finish(&mut fin).unwrap();
            wire.extend_from_slice(&fin[..n]);
            assert!(wire.ends_with(b"\r\n.\r\n"));
            let body = &wire[..wire.len() - 3];
            assert!(!contains(body, b"\r\n.\r\n"));
            let mut back = Vec::new();
            let mut start = true;
            for &c in body {
                if !(start && c == b'.') {
                    back.push(c);
                }
                start = c == b'\n';
            }
            assert_eq!(back, msg);
        }
    }
    // Lines starting with a dot are doubled on the wire.
    let mut raw = RawMessage::new(b".\n.x\n");
    let bytes = drain(&mut raw, 3);
    let mut d = DotStuffer::new();
    let mut out = [0u8; 32];
    let (_, n) = d.encode(&bytes, &mut out);
    assert_eq!(&out[..n], b"..\r\n..x\r\n");
}

#[test]
fn empty_text_and_empty_attachment() {
    let mut atts = [Attachment::new("empty.bin", "application/octet-stream", &b""[..]).unwrap()];
    let mut msg = Message::new(mb("a@example.com"), text("")).attachments(&mut atts);
    let out = drain(&mut msg.writer(), 1);
    check_shape(&out);
    let p = parts(&out);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].1, "");
    assert_eq!(p[1].1, "");
    assert!(body(&out).starts_with("--=_embedded-smtp_part_boundary\r\n"));
}

/// A small xorshift generator for the randomised test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn string(&mut self, alphabet: &[&str], max: usize) -> String {
        let len = self.below(max + 1);
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

/// Random messages: the output must not depend on the sequence of fill sizes, must
/// keep its shape, and the subject, names and text must decode back.
#[test]
fn random_messages_any_fill_sizes() {
    const WORDY: &[&str] = &[
        "a", "Z", "7", " ", " ", "é", "温", "度", "😀", "=", "?", "\"", "\\", ".", "-", "_", ",",
        "(", "<", "--", "=?", "--=_",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..300 {
        let mut subject = rng.string(&[WORDY, &["\t", "  "]].concat(), 120);
        if round % 25 == 0 {
            subject += &"x".repeat(1200);
        }
        let name = rng.string(WORDY, 80);
        let body_alphabet = [WORDY, &["\n", "\r", "\r\n", "\n.", "\t"]].concat();
        let mut body = rng.string(&body_alphabet, 600);
        if round % 30 == 0 {
            body += &"y".repeat(1100);
        }
        let files: Vec<(String, Vec<u8>)> = (0..rng.below(3))
            .map(|_| {
                let mut f = rng.string(WORDY, 40);
                f.insert(0, 'f');
                let data = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
                (f, data)
            })
            .collect();
        let enc = [
            TextEncoding::Auto,
            TextEncoding::SevenBit,
            TextEncoding::QuotedPrintable,
            TextEncoding::Base64,
        ][rng.below(4)];
        let seed = rng.next();
        let write = |sizes: &mut dyn FnMut() -> usize| {
            let from =
                Mailbox::with_name(&name, Address::try_new("a@example.com").unwrap()).unwrap();
            let to = [from, mb("b@example.com")];
            let mut atts: Vec<Attachment<'_, &[u8]>> = files
                .iter()
                .map(|(f, d)| Attachment::new(f, "application/octet-stream", &d[..]).unwrap())
                .collect();
            let mut msg = Message::new(from, text(&subject))
                .to(&to)
                .text(&body)
                .text_encoding(enc)
                .message_id(seed.to_le_bytes().repeat(2).try_into().unwrap())
                .attachments(&mut atts);
            let mut w = msg.writer();
            let mut all = Vec::new();
            let mut buf = [0u8; 200];
            loop {
                let n = w.fill(&mut buf[..sizes()]).unwrap();
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
            }
            all
        };
        let whole = write(&mut || 200);
        let mut r2 = Rng(seed | 1);
        let pieces = write(&mut || 1 + r2.below(199));
        assert!(whole == pieces, "round {round}");
        let ones = write(&mut || 1);
        assert!(whole == ones, "round {round}");

        for (i, &c) in whole.iter().enumerate() {
            assert!(c != b'\r' || whole.get(i + 1) == Some(&b'\n'));
            assert!(c != b'\n' || whole[i - 1] == b'\r');
        }
        assert!(whole.split(|&c| c == b'\n').all(|l| l.len() <= 999));
        assert!(whole.is_ascii(), "round {round}: output must be 7-bit");
        assert_eq!(decode_2047(&field(&whole, "Subject").unwrap()).0, subject);
        let from = field(&whole, "From").unwrap();
        let shown = decode_2047(from.trim_end_matches(" <a@example.com>")).0;
        // A quoted string (and only that) is unquoted.
        let shown = match from.strip_prefix('"').and(shown.strip_prefix('"')) {
            Some(q) => q
                .strip_suffix('"')
                .unwrap()
                .replace("\\\"", "\"")
                .replace("\\\\", "\\"),
            None => shown,
        };
        let trimmed = name.trim();
        if trimmed.is_empty() {
            assert_eq!(from, "a@example.com");
        } else {
            assert_eq!(shown, trimmed, "round {round}");
        }
        let canonical = crlf(&body);
        let (cte, raw) = if files.is_empty() {
            let cte = field(&whole, "Content-Transfer-Encoding").unwrap();
            (cte, self::body(&whole).to_string())
        } else {
            let p = parts(&whole);
            assert_eq!(p.len(), files.len() + 1);
            for ((_, data), part) in files.iter().zip(&p[1..]) {
                assert_eq!(&b64(&part.1), data);
            }
            let cte = p[0].0.rsplit(' ').next().unwrap().to_string();
            // The delimiter took the body's last CRLF.
            (cte, p[0].1.clone() + "\r\n")
        };
        let got = String::from_utf8(body_of_text(&raw, &cte)).unwrap();
        let want = if cte == "base64" || canonical.is_empty() || canonical.ends_with("\r\n") {
            canonical.clone()
        } else {
            canonical.clone() + "\r\n"
        };
        if canonical.is_empty() && !files.is_empty() {
            // An empty text part is one empty line.
            assert!(got.is_empty() || got == "\r\n", "round {round}");
        } else {
            assert_eq!(got, want, "round {round} ({cte})");
        }
        if enc == TextEncoding::Auto
            && body.is_ascii()
            && !body.contains('\0')
            && !body.contains("--=_")
        {
            let long = body.split(['\r', '\n']).any(|l| l.len() > 998);
            assert_eq!(cte == "7bit", !long, "round {round}");
        }
    }
}

fn body_of_text(b: &str, cte: &str) -> Vec<u8> {
    match cte {
        "7bit" => b.as_bytes().to_vec(),
        "quoted-printable" => decode_qp(b),
        "base64" => b64(b),
        other => panic!("{other}"),
    }
}
