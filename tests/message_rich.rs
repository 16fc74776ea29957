//! Messages with everything a mail reader shows: the optional header fields
//! (`Reply-To`, threading, `Auto-Submitted`, `Importance`, the caller's own
//! fields), HTML alternatives, inline images and attachments of different reader
//! types in one message.
//!
//! Each shape is compared byte for byte with a golden file in `tests/data/`
//! (`BLESS=1` rewrites them; review the diff), written through several buffer
//! sizes. The `loopback_*` tests send each shape to the loopback SMTP peer and read
//! what it stored back with Python's `email` package
//! (`tests/loopback/mime_parts.py`): the parts, their types, the decoded bytes,
//! and the HTML naming the image's Content-ID.

// The messages here use RFC 2047 words and quoted-printable bodies.
#![cfg(all(feature = "encoded-words", feature = "quoted-printable"))]

mod common;

use embedded_io::{ErrorKind, ErrorType, Read, Seek, SeekFrom};
use embedded_smtp::error::Field;
use embedded_smtp::message::{
    AnyReader, Attachment, AutoSubmitted, BodySource, DateTime, Header, Importance, Message, MsgId,
};
use embedded_smtp::{HeaderText, InputError, InputErrorKind, Mailbox};

const CHUNKS: [usize; 4] = [1, 7, 64, 4096];

/// 2026-11-28 15:16:23 in China (+08:00).
const DATE: DateTime = DateTime {
    unix_seconds: 1_795_850_183,
    offset_minutes: 480,
};
const ID: [u8; 16] = [
    0x3f, 0x2a, 0x91, 0x07, 0xc4, 0x5e, 0x18, 0xb2, 0x6d, 0x00, 0xfe, 0x83, 0x4b, 0x29, 0x75, 0xea,
];

/// A 2×2 RGB PNG (red, green / blue, white).
const PNG: [u8; 75] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a,
    0x73, 0x00, 0x00, 0x00, 0x12, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xc0,
    0x00, 0xc2, 0x0c, 0xff, 0x81, 0x00, 0x00, 0x1f, 0xee, 0x05, 0xfb, 0x0b, 0xd9, 0x68, 0x8b, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

const TEXT: &str =
    "Cold room 3 is at -4.5 °C (limit -15 °C).\n.\nSee the chart in the HTML view.\n";
const HTML: &str = "<html><body><h1>Cold room 3: -4.5 °C</h1>\n\
<p>Limit: -15 °C. Chart:</p>\n\
<img src=\"cid:chart.cold-room-3@panel.example\" alt=\"chart\">\n\
</body></html>\n";
const CID: &str = "chart.cold-room-3@panel.example";
const CSV: &[u8] = b"time,celsius\n15:00,-14.9\n15:01,-9.2\n15:02,-4.5\n";

/// A log in "flash" with an error type of its own, read 10 bytes at a time.
struct FlashLog {
    data: Vec<u8>,
    at: usize,
}

#[derive(Debug)]
struct FlashError;

impl std::fmt::Display for FlashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flash read failed")
    }
}

impl std::error::Error for FlashError {}

impl embedded_io::Error for FlashError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

impl ErrorType for FlashLog {
    type Error = FlashError;
}

impl Read for FlashLog {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, FlashError> {
        let rest = &self.data[self.at..];
        let n = rest.len().min(buf.len()).min(10);
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

impl Seek for FlashLog {
    fn seek(&mut self, pos: SeekFrom) -> Result<u64, FlashError> {
        match pos {
            SeekFrom::Start(n) => {
                self.at = (n as usize).min(self.data.len());
                Ok(self.at as u64)
            }
            _ => Err(FlashError),
        }
    }
}

fn log_data() -> Vec<u8> {
    (0..300u32).map(|i| (i * 7 + i / 13) as u8).collect()
}

fn mb(s: &str) -> Mailbox<'_> {
    Mailbox::parse(s).unwrap()
}

fn drain(src: &mut impl BodySource, chunk: usize) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = src.fill(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
    }
    assert_eq!(src.fill(&mut buf), Ok(0));
    all
}

/// CRLF everywhere, no line over 998 octets, header lines within 78.
fn check_shape(out: &[u8]) {
    for (i, &c) in out.iter().enumerate() {
        if c == b'\r' {
            assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
        if c == b'\n' {
            assert_eq!(out[i - 1], b'\r', "bare LF at {i}");
        }
    }
    for line in out.split(|&c| c == b'\n') {
        assert!(line.len() <= 999, "line of {} octets", line.len());
    }
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    for line in std::str::from_utf8(&out[..end]).unwrap().split("\r\n") {
        assert!(line.len() <= 78, "header line over 78: {line:?}");
    }
}

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
    assert!(
        want == reference,
        "{name} differs from the golden file\n--- got:\n{}",
        String::from_utf8_lossy(&reference)
    );
    reference
}

// ---------------------------------------------------------------------------------
// The shapes

/// An alert with every optional header field, threaded under the device's root.
fn alert_headers(chunk: usize) -> Vec<u8> {
    let to = [mb("Operations <ops@example.com>")];
    let reply_to = [mb("Facilities desk <facilities@example.com>")];
    let root = MsgId::try_new("<alerts.cold-room-3@panel.example>").unwrap();
    let long = "Building 3, north wing, ground floor, cold room 3 (frozen goods, \
                pallets 12 to 48), sensor bus 2";
    let hs = [
        Header::try_new("X-Device-Id", "panel-7").unwrap(),
        Header::try_new("X-Site", "Bâtiment 3 — chambre froide").unwrap(),
        Header::try_new("X-Location", long).unwrap(),
    ];
    let mut msg = Message::new(
        mb("Alarm Panel <panel@example.com>"),
        HeaderText::try_new("Cold room 3: -4.5 °C").unwrap(),
    )
    .to(&to)
    .reply_to(&reply_to)
    .date(DATE)
    .message_id(ID)
    .thread(&root)
    .auto_submitted(AutoSubmitted::AutoGenerated)
    .importance(Importance::High)
    .headers(&hs)
    .text(TEXT);
    drain(&mut msg.writer(), chunk)
}

/// Text and HTML as `multipart/alternative`.
fn html_alternative(chunk: usize) -> Vec<u8> {
    let to = [mb("ops@example.com")];
    let mut msg = Message::new(
        mb("Alarm Panel <panel@example.com>"),
        HeaderText::try_new("Cold room 3").unwrap(),
    )
    .to(&to)
    .date(DATE)
    .message_id(ID)
    .text(TEXT)
    .html(HTML);
    drain(&mut msg.writer(), chunk)
}

/// Text, HTML and the chart it shows inline (`multipart/related`).
fn html_inline(chunk: usize) -> Vec<u8> {
    let to = [mb("ops@example.com")];
    let cid = MsgId::try_new(CID).unwrap();
    let mut atts = [Attachment::from_bytes("chart.png", "image/png", &PNG)
        .unwrap()
        .inline(cid)];
    let mut msg = Message::new(
        mb("Alarm Panel <panel@example.com>"),
        HeaderText::try_new("Cold room 3").unwrap(),
    )
    .to(&to)
    .date(DATE)
    .message_id(ID)
    .text(TEXT)
    .html(HTML)
    .attachments(&mut atts);
    drain(&mut msg.writer(), chunk)
}

/// Text, HTML, the inline chart and two attachments read from different reader
/// types (bytes in memory, a log with its own error type) in one message.
fn everything(chunk: usize) -> Vec<u8> {
    let to = [mb("ops@example.com")];
    let cid = MsgId::try_new(CID).unwrap();
    let mut log = FlashLog {
        data: log_data(),
        at: 0,
    };
    let mut atts = [
        Attachment::rewindable("readings.csv", "text/csv", AnyReader::bytes(CSV)).unwrap(),
        Attachment::rewindable("chart.png", "image/png", AnyReader::bytes(&PNG))
            .unwrap()
            .inline(cid),
        Attachment::rewindable(
            "журнал.bin",
            "application/octet-stream",
            AnyReader::seekable(&mut log),
        )
        .unwrap(),
    ];
    let mut msg = Message::new(
        mb("Alarm Panel <panel@example.com>"),
        HeaderText::try_new("Cold room 3").unwrap(),
    )
    .to(&to)
    .date(DATE)
    .message_id(ID)
    .auto_submitted(AutoSubmitted::AutoGenerated)
    .text(TEXT)
    .html(HTML)
    .attachments(&mut atts);
    let first = drain(&mut msg.writer(), chunk);
    // Rewound, every reader starts again and the bytes are the same.
    msg.rewind().unwrap();
    assert!(drain(&mut msg.writer(), chunk) == first);
    first
}

fn field(out: &str, name: &str) -> String {
    let head = out.split("\r\n\r\n").next().unwrap();
    let mut lines = head.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if let Some(v) = line.strip_prefix(&format!("{name}: ")) {
            let mut v = v.to_string();
            while lines.peek().is_some_and(|l| l.starts_with(' ')) {
                v += lines.next().unwrap();
            }
            return v;
        }
    }
    panic!("no {name} in {head}");
}

#[test]
fn golden_alert_headers() {
    let out = golden("alert_headers.eml", alert_headers);
    let s = std::str::from_utf8(&out).unwrap();
    assert!(s.starts_with(
        "Date: Sat, 28 Nov 2026 15:16:23 +0800\r\n\
         From: Alarm Panel <panel@example.com>\r\n\
         To: Operations <ops@example.com>\r\n\
         Subject: =?UTF-8?B?Q29sZCByb29tIDM6IC00LjUgwrBD?=\r\n\
         Message-ID: <3f2a9107c45e18b26d00fe834b2975ea@example.com>\r\n\
         Reply-To: Facilities desk <facilities@example.com>\r\n\
         In-Reply-To: <alerts.cold-room-3@panel.example>\r\n\
         References: <alerts.cold-room-3@panel.example>\r\n\
         Auto-Submitted: auto-generated\r\n\
         Importance: high\r\n\
         X-Priority: 1 (Highest)\r\n\
         X-Device-Id: panel-7\r\n"
    ));
    assert_eq!(
        field(s, "X-Location"),
        "Building 3, north wing, ground floor, cold room 3 (frozen goods, \
         pallets 12 to 48), sensor bus 2"
    );
    assert!(s.contains("X-Site: =?UTF-8?B?"));
}

#[test]
fn golden_html_alternative() {
    let out = golden("html_alternative.eml", html_alternative);
    let s = std::str::from_utf8(&out).unwrap();
    assert_eq!(
        field(s, "Content-Type"),
        "multipart/alternative; boundary=\"=_aea75294b83fe006db2185ec407912a3f\""
    );
    // Non-ASCII text goes as quoted-printable in both parts.
    assert_eq!(
        s.matches("Content-Transfer-Encoding: quoted-printable")
            .count(),
        2
    );
    assert!(s.ends_with("--=_aea75294b83fe006db2185ec407912a3f--\r\n"));
}

#[test]
fn golden_html_inline() {
    let out = golden("html_inline.eml", html_inline);
    let s = std::str::from_utf8(&out).unwrap();
    assert_eq!(
        field(s, "Content-Type"),
        "multipart/related; boundary=\"=_rea75294b83fe006db2185ec407912a3f\"; \
         type=\"multipart/alternative\""
    );
    assert!(s.contains(
        "Content-Type: image/png\r\n\
         Content-ID: <chart.cold-room-3@panel.example>\r\n\
         Content-Disposition: inline; filename=\"chart.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    ));
}

#[test]
fn golden_everything() {
    let out = golden("html_inline_attachments.eml", everything);
    let s = std::str::from_utf8(&out).unwrap();
    assert!(field(s, "Content-Type").starts_with("multipart/mixed; boundary=\"=_ea75"));
    // The nesting: mixed ⊃ related ⊃ alternative; inline part in related, the
    // attachments after it in mixed, in their order.
    let order: Vec<usize> = [
        "Content-Type: multipart/related",
        "Content-Type: multipart/alternative",
        "Content-Type: text/plain",
        "Content-Type: text/html",
        "--=_aea75294b83fe006db2185ec407912a3f--",
        "Content-ID: <chart.cold-room-3@panel.example>",
        "--=_rea75294b83fe006db2185ec407912a3f--",
        "filename=\"readings.csv\"",
        "filename*=UTF-8''%D0%B6%D1%83%D1%80%D0%BD%D0%B0%D0%BB.bin",
        "--=_ea75294b83fe006db2185ec407912a3f--",
    ]
    .iter()
    .map(|n| s.find(n).unwrap_or_else(|| panic!("{n}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn a_once_reader_is_spent_after_one_send() {
    let mut log = FlashLog {
        data: log_data(),
        at: 0,
    };
    let mut atts = [
        Attachment::rewindable("a.csv", "text/csv", AnyReader::bytes(CSV)).unwrap(),
        Attachment::rewindable(
            "b.bin",
            "application/octet-stream",
            AnyReader::once(&mut log),
        )
        .unwrap(),
    ];
    let mut msg = Message::new(mb("p@example.com"), HeaderText::try_new("x").unwrap())
        .date(DATE)
        .attachments(&mut atts);
    msg.rewind().unwrap();
    let out = drain(&mut msg.writer(), 100);
    assert!(out.len() > 400);
    let err = msg.rewind().unwrap_err();
    assert_eq!(
        err,
        InputError::new(Field::Attachment(2), InputErrorKind::AttachmentSpent)
    );
    assert_eq!(
        err.to_string(),
        "attachment number 2: read by an earlier send and cannot be read again (use a rewindable source)"
    );
}

#[test]
fn reader_errors_pass_through_any_reader() {
    struct Broken;
    impl ErrorType for Broken {
        type Error = ErrorKind;
    }
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> Result<usize, ErrorKind> {
            Err(ErrorKind::BrokenPipe)
        }
    }
    let mut broken = Broken;
    let mut atts = [Attachment::new(
        "x.bin",
        "application/octet-stream",
        AnyReader::once(&mut broken),
    )
    .unwrap()];
    let mut msg = Message::new(mb("p@example.com"), HeaderText::try_new("x").unwrap())
        .html("<p>x</p>")
        .attachments(&mut atts);
    let mut w = msg.writer();
    let mut buf = [0u8; 64];
    let err = loop {
        match w.fill(&mut buf) {
            Ok(0) => panic!("the reader's error was lost"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err, ErrorKind::BrokenPipe);
}

/// A message with neither a Date nor `without_date` is refused before `MAIL`, by
/// both clients: nothing after EHLO reaches the server.
#[test]
fn a_message_without_date_is_refused_before_mail() {
    use common::{AnyClient, GREETING, Mode, Scripted, config, matrix, script};
    let t = format!("{GREETING}\n S: 250 mx.example.net");
    for (driver, mode) in matrix(&[Mode::Whole, Mode::Bytewise]) {
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
        let stream = Scripted::new(script(&t), mode);
        let mut c = AnyClient::new(driver, stream, config(), &mut rx, &mut tx).unwrap();
        c.connect().unwrap();
        let to = [mb("ops@example.com")];
        let mut msg = Message::new(mb("p@example.com"), HeaderText::try_new("x").unwrap())
            .to(&to)
            .text("y\n");
        assert_eq!(
            c.send(&mut msg).unwrap_err(),
            embedded_smtp::Error::Input(InputError::new(Field::Date, InputErrorKind::MissingDate))
        );
        c.stream_mut().assert_finished();
        assert_eq!(
            msg.rewind().map_err(|e| e.kind()),
            Err(InputErrorKind::MissingDate)
        );
        let mut msg = msg.without_date();
        assert_eq!(msg.rewind(), Ok(()));
        assert!(!drain(&mut msg.writer(), 64).starts_with(b"Date:"));
    }
}

/// `stamp` fills Date from the system clock and Message-ID from the OS RNG.
#[cfg(feature = "std")]
#[test]
fn stamp_fills_date_and_message_id() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let make = || {
        let mut m = Message::new(mb("p@panel.example"), HeaderText::try_new("x").unwrap())
            .stamp()
            .unwrap();
        assert_eq!(m.rewind(), Ok(()));
        String::from_utf8(drain(&mut m.writer(), 64)).unwrap()
    };
    let (a, b) = (make(), make());
    let date = a.lines().next().unwrap();
    assert!(
        date.starts_with("Date: ") && date.ends_with(" +0000"),
        "{date}"
    );
    let year = (1970 + before / 31_556_952).to_string();
    assert!(date.contains(&year) || date.contains(&(1971 + before / 31_556_952).to_string()));
    let id = |s: &str| -> String {
        s.lines()
            .find_map(|l| l.strip_prefix("Message-ID: <"))
            .unwrap()
            .to_string()
    };
    let (ia, ib) = (id(&a), id(&b));
    assert!(
        ia.ends_with("@panel.example>") && ia.len() == 32 + 15,
        "{ia}"
    );
    assert_ne!(ia, ib, "two stamps, two identifiers");
}

/// Each error names the value it refused.
#[test]
fn errors_name_the_field() {
    use embedded_smtp::{Address, Credentials, Domain};
    let e = Credentials::try_new("user", "pass\0word").unwrap_err();
    assert_eq!(e, InputError::new(Field::Password, InputErrorKind::Nul));
    assert_eq!(e.to_string(), "the password: NUL byte in a value");
    assert_eq!(
        Credentials::try_new("", "x").unwrap_err().field(),
        Field::Username
    );
    assert_eq!(
        HeaderText::try_new("Door\r\nBcc: x@y").unwrap_err(),
        InputError::new(Field::Subject, InputErrorKind::LineBreak)
    );
    let e = Header::try_new("Content-Type", "x").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the header name: the message writer writes this header field itself"
    );
    assert_eq!(
        Header::try_new("X-A", "a\nb").unwrap_err().field(),
        Field::HeaderValue
    );
    assert_eq!(Domain::try_new("a b").unwrap_err().field(), Field::Domain);
    assert_eq!(Address::try_new("ab").unwrap_err().field(), Field::Address);
    assert_eq!(
        Mailbox::parse("A <a@b").unwrap_err().field(),
        Field::Mailbox
    );
    assert_eq!(
        Mailbox::parse("A <a@@>").unwrap_err().field(),
        Field::Address
    );
    assert_eq!(MsgId::try_new("x").unwrap_err().field(), Field::MessageId);
    assert_eq!(
        Attachment::new("a\n", "text/plain", &b""[..])
            .unwrap_err()
            .field(),
        Field::FileName
    );
    assert_eq!(
        Attachment::new("a", "text", &b""[..]).unwrap_err().field(),
        Field::ContentType
    );
    // A caller that knows where a value belongs says so.
    let e = Mailbox::parse("ops@example.com\r\nRCPT TO:<x@y>")
        .unwrap_err()
        .at(Field::To(2));
    assert_eq!(e.kind(), InputErrorKind::LineBreak);
    assert_eq!(
        e.to_string(),
        "To number 2: CR or LF in a value (would inject a command or header)"
    );
}

#[test]
fn invalid_fields_are_refused() {
    assert_eq!(
        Header::try_new("Content-Type", "x").map_err(|e| e.kind()),
        Err(InputErrorKind::ReservedHeader)
    );
    assert_eq!(
        Header::try_new("From", "x").map_err(|e| e.kind()),
        Err(InputErrorKind::ReservedHeader)
    );
    assert_eq!(
        Header::try_new("X-A", "b\r\nBcc: x@y").map_err(|e| e.kind()),
        Err(InputErrorKind::LineBreak)
    );
    assert_eq!(
        Header::try_new("X A", "b").map_err(|e| e.kind()),
        Err(InputErrorKind::InvalidHeaderName)
    );
    assert_eq!(
        MsgId::try_new("no-at-sign").map_err(|e| e.kind()),
        Err(InputErrorKind::InvalidMessageId)
    );
    assert_eq!(
        MsgId::try_new("a@b\r\n").map_err(|e| e.kind()),
        Err(InputErrorKind::LineBreak)
    );
}

// ---------------------------------------------------------------------------------
// Read back by Python's `email` package after a trip through the loopback peer

#[cfg(feature = "std")]
mod loopback {
    use super::*;
    use common::peer::{connect, start, stored};
    use embedded_smtp::blocking::Client;
    use embedded_smtp::{Config, Domain};

    /// A part as Python's parser saw it.
    #[derive(Debug)]
    struct Part {
        depth: usize,
        ty: String,
        charset: String,
        disposition: String,
        filename: String,
        content_id: String,
        data: Vec<u8>,
    }

    struct Parsed {
        headers: Vec<(String, String)>,
        defects: Vec<String>,
        parts: Vec<Part>,
    }

    impl Parsed {
        fn header(&self, name: &str) -> &str {
            &self.headers.iter().find(|(n, _)| n == name).unwrap().1
        }

        fn text(&self, i: usize) -> String {
            String::from_utf8(self.parts[i].data.clone())
                .unwrap()
                .replace("\r\n", "\n")
        }
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn parse(eml: &[u8]) -> Parsed {
        let path =
            std::env::temp_dir().join(format!("embedded-smtp-mime-{}.eml", std::process::id()));
        std::fs::write(&path, eml).unwrap();
        let script = format!(
            "{}/tests/loopback/mime_parts.py",
            env!("CARGO_MANIFEST_DIR")
        );
        let out = std::process::Command::new("python3")
            .arg(script)
            .arg(&path)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut p = Parsed {
            headers: vec![],
            defects: vec![],
            parts: vec![],
        };
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let f: Vec<&str> = line.split('\t').collect();
            match f[0] {
                "header" => p.headers.push((f[1].into(), f[2].into())),
                "defect" => p.defects.push(line.into()),
                "part" => p.parts.push(Part {
                    depth: f[1].parse().unwrap(),
                    ty: f[2].into(),
                    charset: f[3].into(),
                    disposition: f[4].into(),
                    filename: f[5].into(),
                    content_id: f[6].into(),
                    data: unhex(f[7]),
                }),
                other => panic!("{other}"),
            }
        }
        p
    }

    /// Sends `expected`'s message through the loopback peer and returns what Python
    /// read from the stored copy, which must equal `expected` byte for byte.
    fn deliver(
        expected: &[u8],
        send: impl FnOnce(&mut Client<'_, embedded_smtp::blocking::FromStdTcp>),
    ) -> Parsed {
        let server = start(&["--mode", "plain"]);
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
        let cfg = Config::new(Domain::try_new("panel-7.loopback.test").unwrap());
        let mut client = Client::new(connect(server.port), cfg, &mut rx, &mut tx).unwrap();
        client.connect().unwrap();
        send(&mut client);
        client.quit().unwrap();
        let (eml, _) = stored(&server, 1);
        assert!(
            eml == expected,
            "stored bytes differ:\n{}",
            String::from_utf8_lossy(&eml)
        );
        let parsed = parse(&eml);
        assert_eq!(parsed.defects, Vec::<String>::new());
        parsed
    }

    #[test]
    #[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
    fn loopback_headers() {
        let expected = alert_headers(4096);
        let p = deliver(&expected, |c| {
            let to = [mb("Operations <ops@example.com>")];
            let reply_to = [mb("Facilities desk <facilities@example.com>")];
            let root = MsgId::try_new("<alerts.cold-room-3@panel.example>").unwrap();
            let long = "Building 3, north wing, ground floor, cold room 3 (frozen goods, \
                        pallets 12 to 48), sensor bus 2";
            let hs = [
                Header::try_new("X-Device-Id", "panel-7").unwrap(),
                Header::try_new("X-Site", "Bâtiment 3 — chambre froide").unwrap(),
                Header::try_new("X-Location", long).unwrap(),
            ];
            let mut msg = Message::new(
                mb("Alarm Panel <panel@example.com>"),
                HeaderText::try_new("Cold room 3: -4.5 °C").unwrap(),
            )
            .to(&to)
            .reply_to(&reply_to)
            .date(DATE)
            .message_id(ID)
            .thread(&root)
            .auto_submitted(AutoSubmitted::AutoGenerated)
            .importance(Importance::High)
            .headers(&hs)
            .text(TEXT);
            c.send(&mut msg).unwrap();
        });
        assert_eq!(p.header("Subject"), "Cold room 3: -4.5 °C");
        assert_eq!(
            p.header("Reply-To"),
            "Facilities desk <facilities@example.com>"
        );
        assert_eq!(
            p.header("In-Reply-To"),
            "<alerts.cold-room-3@panel.example>"
        );
        assert_eq!(p.header("References"), "<alerts.cold-room-3@panel.example>");
        assert_eq!(p.header("Auto-Submitted"), "auto-generated");
        assert_eq!(p.header("Importance"), "high");
        assert_eq!(p.header("X-Priority"), "1 (Highest)");
        assert_eq!(p.header("X-Device-Id"), "panel-7");
        assert_eq!(p.header("X-Site"), "Bâtiment 3 — chambre froide");
        assert_eq!(p.parts.len(), 1);
        assert_eq!(p.parts[0].ty, "text/plain");
        assert_eq!(p.text(0), TEXT);
    }

    #[test]
    #[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
    fn loopback_html_alternative() {
        let expected = html_alternative(4096);
        let p = deliver(&expected, |c| {
            let to = [mb("ops@example.com")];
            let mut msg = Message::new(
                mb("Alarm Panel <panel@example.com>"),
                HeaderText::try_new("Cold room 3").unwrap(),
            )
            .to(&to)
            .date(DATE)
            .message_id(ID)
            .text(TEXT)
            .html(HTML);
            c.send(&mut msg).unwrap();
        });
        let types: Vec<(usize, &str)> = p.parts.iter().map(|x| (x.depth, x.ty.as_str())).collect();
        assert_eq!(
            types,
            [
                (0, "multipart/alternative"),
                (1, "text/plain"),
                (1, "text/html")
            ]
        );
        assert_eq!(p.parts[1].charset, "utf-8");
        // The line break before a delimiter belongs to it (RFC 2046 §5.1.1).
        assert_eq!(p.text(1) + "\n", TEXT);
        assert_eq!(p.text(2) + "\n", HTML);
    }

    #[test]
    #[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
    fn loopback_html_inline() {
        let expected = html_inline(4096);
        let p = deliver(&expected, |c| {
            let to = [mb("ops@example.com")];
            let cid = MsgId::try_new(CID).unwrap();
            let mut atts = [Attachment::from_bytes("chart.png", "image/png", &PNG)
                .unwrap()
                .inline(cid)];
            let mut msg = Message::new(
                mb("Alarm Panel <panel@example.com>"),
                HeaderText::try_new("Cold room 3").unwrap(),
            )
            .to(&to)
            .date(DATE)
            .message_id(ID)
            .text(TEXT)
            .html(HTML)
            .attachments(&mut atts);
            c.send(&mut msg).unwrap();
        });
        let types: Vec<(usize, &str)> = p.parts.iter().map(|x| (x.depth, x.ty.as_str())).collect();
        assert_eq!(
            types,
            [
                (0, "multipart/related"),
                (1, "multipart/alternative"),
                (2, "text/plain"),
                (2, "text/html"),
                (1, "image/png"),
            ]
        );
        let img = &p.parts[4];
        assert_eq!(img.data, PNG);
        assert_eq!(img.disposition, "inline");
        assert_eq!(img.filename, "chart.png");
        assert_eq!(img.content_id, format!("<{CID}>"));
        assert_eq!(p.text(2) + "\n", TEXT);
        assert_eq!(p.text(3) + "\n", HTML);
        // The HTML names the image by its Content-ID.
        assert!(p.text(3).contains(&format!(
            "src=\"cid:{}\"",
            &img.content_id[1..img.content_id.len() - 1]
        )));
    }

    #[test]
    #[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
    fn loopback_html_inline_and_attachments() {
        let expected = everything(4096);
        let p = deliver(&expected, |c| {
            let to = [mb("ops@example.com")];
            let cid = MsgId::try_new(CID).unwrap();
            let mut log = FlashLog {
                data: log_data(),
                at: 0,
            };
            let mut atts = [
                Attachment::rewindable("readings.csv", "text/csv", AnyReader::bytes(CSV)).unwrap(),
                Attachment::rewindable("chart.png", "image/png", AnyReader::bytes(&PNG))
                    .unwrap()
                    .inline(cid),
                Attachment::rewindable(
                    "журнал.bin",
                    "application/octet-stream",
                    AnyReader::seekable(&mut log),
                )
                .unwrap(),
            ];
            let mut msg = Message::new(
                mb("Alarm Panel <panel@example.com>"),
                HeaderText::try_new("Cold room 3").unwrap(),
            )
            .to(&to)
            .date(DATE)
            .message_id(ID)
            .auto_submitted(AutoSubmitted::AutoGenerated)
            .text(TEXT)
            .html(HTML)
            .attachments(&mut atts);
            c.send(&mut msg).unwrap();
        });
        let types: Vec<(usize, &str)> = p.parts.iter().map(|x| (x.depth, x.ty.as_str())).collect();
        assert_eq!(
            types,
            [
                (0, "multipart/mixed"),
                (1, "multipart/related"),
                (2, "multipart/alternative"),
                (3, "text/plain"),
                (3, "text/html"),
                (2, "image/png"),
                (1, "text/csv"),
                (1, "application/octet-stream"),
            ]
        );
        assert_eq!(p.text(3) + "\n", TEXT);
        assert_eq!(p.text(4) + "\n", HTML);
        assert_eq!(p.parts[5].data, PNG);
        assert_eq!(p.parts[5].content_id, format!("<{CID}>"));
        assert_eq!(p.parts[5].disposition, "inline");
        assert!(p.text(4).contains(&format!("cid:{CID}")));
        assert_eq!(p.parts[6].data, CSV);
        assert_eq!(p.parts[6].disposition, "attachment");
        assert_eq!(p.parts[6].filename, "readings.csv");
        assert_eq!(p.parts[7].data, log_data());
        assert_eq!(p.parts[7].filename, "журнал.bin");
        assert_eq!(p.header("Auto-Submitted"), "auto-generated");
    }
}
