//! Unit tests of the header writers, on byte vectors.

use super::*;
use crate::address::Address;
use crate::error::InputErrorKind;
use std::string::String;
use std::vec::Vec;

fn render(f: impl FnOnce(&mut Sink<'_>)) -> String {
    let mut out = std::vec![0u8; 8192];
    let mut sink = Sink::new(&mut out, 0);
    f(&mut sink);
    assert!(!sink.overflowed());
    let n = sink.written();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

fn date_str(unix_seconds: u64, offset_minutes: i16) -> String {
    render(|s| {
        date(
            s,
            DateTime {
                unix_seconds,
                offset_minutes,
            },
        )
    })
}

#[test]
fn dates() {
    // Cross-checked with GNU date: TZ=Asia/Shanghai date -R -d @1795850183
    assert_eq!(
        date_str(1_795_850_183, 480),
        "Date: Sat, 28 Nov 2026 15:16:23 +0800\r\n"
    );
    assert_eq!(date_str(0, 0), "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n");
    assert_eq!(
        date_str(0, -90),
        "Date: Wed, 31 Dec 1969 22:30:00 -0130\r\n"
    );
    // 2000-02-29 (leap day of a century leap year), 2100-03-01 (not a leap year).
    assert_eq!(
        date_str(951_825_600, 0),
        "Date: Tue, 29 Feb 2000 12:00:00 +0000\r\n"
    );
    assert_eq!(
        date_str(4_107_542_400, 0),
        "Date: Mon, 1 Mar 2100 00:00:00 +0000\r\n"
    );
    assert_eq!(
        date_str(1_700_000_000, 345),
        "Date: Wed, 15 Nov 2023 03:58:20 +0545\r\n"
    );
    // Out-of-range input does not panic and stays in the grammar.
    assert_eq!(
        date_str(0, i16::MAX),
        "Date: Mon, 5 Jan 1970 03:59:00 +9959\r\n"
    );
    let far = date_str(u64::MAX, i16::MIN);
    assert!(
        far.starts_with("Date: ") && far.ends_with(" -9959\r\n"),
        "{far}"
    );
    // Beyond the year 9999: its last second.
    assert_eq!(
        date_str(u64::MAX, 0),
        "Date: Fri, 31 Dec 9999 23:59:59 +0000\r\n"
    );
    // Its local time ahead of UTC falls in the year 10 000, written as 0000.
    assert_eq!(
        date_str(u64::MAX, 5999),
        "Date: Wed, 5 Jan 0000 03:58:59 +9959\r\n"
    );
}

/// The 32-bit calendar against the plain 64-bit one it replaced, over a spread
/// of timestamps and offsets.
#[test]
fn dates_match_the_64_bit_reference() {
    fn reference(unix: u64, offset: i16) -> String {
        let local = i128::from(unix) + i128::from(offset) * 60;
        let days = local.div_euclid(86_400) as i64;
        let secs = local.rem_euclid(86_400) as u64;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let wd =
            ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][(days + 4).rem_euclid(7) as usize];
        let mo = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let off = offset.unsigned_abs();
        std::format!(
            "Date: {wd}, {day} {} {year:04} {:02}:{:02}:{:02} {}{:04}\r\n",
            mo[month as usize - 1],
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            if offset < 0 { '-' } else { '+' },
            off / 60 * 100 + off % 60
        )
    }
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for i in 0..20_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let unix = match i % 3 {
            0 => x % 4_102_444_800,    // 1970..2100
            1 => x % MAX_UNIX_SECONDS, // up to 9999
            _ => x % 200_000,          // around the epoch
        };
        let offset = ((x >> 40) % (2 * 5999 + 1)) as i16 - 5999;
        assert_eq!(
            date_str(unix, offset),
            reference(unix, offset),
            "{unix} {offset}"
        );
    }
}

#[test]
fn decimal() {
    assert_eq!(render(|s| put_dec(s, 0, 1)), "0");
    assert_eq!(render(|s| put_dec(s, 7, 2)), "07");
    assert_eq!(render(|s| put_dec(s, 2026, 4)), "2026");
    assert_eq!(render(|s| put_dec(s, 12345, 2)), "12345");
    assert_eq!(render(|s| put_dec(s, u64::MAX, 4)), "18446744073709551615");
    assert_eq!(render(|s| put_hex(s, &[0, 0xab, 0x5f], false)), "00ab5f");
    assert_eq!(render(|s| put_hex(s, &[0, 0xab, 0x5f], true)), "5fab00");
}

fn mb<'a>(name: Option<&'a str>, addr: &'a str) -> Mailbox<'a> {
    let a = Address::try_new(addr).unwrap();
    match name {
        Some(n) => Mailbox::with_name(n, a).unwrap(),
        None => Mailbox::new(a),
    }
}

fn list(field: &str, l: &[Mailbox<'_>]) -> String {
    let field = std::format!("{field}:");
    let field = field.as_str();
    let mut all = String::new();
    let mut col = 0;
    for i in 0..l.len() {
        all += &render(|s| col = list_item(s, field, l, i, col));
    }
    all
}

#[cfg(feature = "encoded-words")]
#[test]
fn display_names() {
    assert_eq!(name_form("Alarm Panel"), NameForm::Bare);
    assert_eq!(name_form("J. Doe"), NameForm::Quoted);
    assert_eq!(name_form("Doe, \"J\""), NameForm::Quoted);
    assert_eq!(name_form("=?utf-8?q?x?="), NameForm::Encoded);
    assert_eq!(name_form("温度"), NameForm::Encoded);
    assert_eq!(
        list("From", &[mb(Some("Alarm Panel"), "panel@example.com")]),
        "From: Alarm Panel <panel@example.com>\r\n"
    );
    assert_eq!(
        list("To", &[mb(Some("Doe, \"J\" \\x"), "j@example.com")]),
        "To: \"Doe, \\\"J\\\" \\\\x\" <j@example.com>\r\n"
    );
    assert_eq!(
        list("To", &[mb(Some("温度传感器"), "t@example.com")]),
        "To: =?UTF-8?B?5rip5bqm5Lyg5oSf5Zmo?= <t@example.com>\r\n"
    );
    assert_eq!(
        list("Cc", &[mb(None, "a@b.example"), mb(None, "c@d.example")]),
        "Cc: a@b.example, c@d.example\r\n"
    );
}

#[test]
fn lists_fold_after_commas() {
    let l: Vec<Mailbox<'_>> = (0..6)
        .map(|_| mb(Some("Operations Team"), "operations-team@example.com"))
        .collect();
    let out = list("To", &l);
    let lines: Vec<&str> = out.split("\r\n").collect();
    assert_eq!(lines.last(), Some(&""));
    for line in &lines {
        assert!(line.len() <= FOLD, "{line:?}");
    }
    assert_eq!(
        lines[0],
        "To: Operations Team <operations-team@example.com>,"
    );
    assert_eq!(lines[1], " Operations Team <operations-team@example.com>,");
    assert_eq!(
        out.replace("\r\n", "").matches("Operations Team <").count(),
        6
    );
}

#[cfg(feature = "encoded-words")]
#[test]
fn long_names_fold_between_words() {
    let name = "传感器".repeat(20); // 180 bytes
    let out = list("From", &[mb(Some(&name), "a@example.com")]);
    let mut decoded = Vec::new();
    for line in out.split("\r\n").filter(|l| !l.is_empty()) {
        assert!(line.len() <= FOLD, "{line:?}");
        for word in line.split(' ') {
            if let Some(b64) = word.strip_prefix("=?UTF-8?B?") {
                let b64 = b64.strip_suffix("?=").unwrap();
                assert!(word.len() <= MAX_WORD);
                let mut buf = [0u8; 64];
                let n = ::base64::Engine::decode_slice(
                    &::base64::engine::general_purpose::STANDARD,
                    b64,
                    &mut buf,
                )
                .unwrap();
                // Each word holds whole characters.
                assert!(core::str::from_utf8(&buf[..n]).is_ok());
                decoded.extend_from_slice(&buf[..n]);
            }
        }
    }
    assert_eq!(decoded, name.as_bytes());
    assert!(out.ends_with(" <a@example.com>\r\n"));
}

fn subject(text: &str) -> String {
    let plain = subject_is_plain(text);
    let mut all = String::new();
    let mut pos = 0;
    loop {
        let mut next = 0;
        all += &render(|s| next = subject_line(s, text, plain, pos));
        if next >= text.len() {
            return all;
        }
        assert!(next > pos);
        pos = next;
    }
}

#[test]
fn plain_subjects() {
    assert_eq!(subject(""), "Subject:\r\n");
    assert_eq!(subject("Door opened"), "Subject: Door opened\r\n");
    let text = "Sensor 12 reported a temperature above the configured threshold of 40 degrees Celsius  twice";
    let out = subject(text);
    assert_eq!(
        out,
        "Subject: Sensor 12 reported a temperature above the configured threshold of 40\r\n degrees Celsius  twice\r\n"
    );
    // Unfolding (removing CRLF) gives the text back.
    assert_eq!(out.replace("\r\n", ""), ["Subject: ", text].concat());
    // Trailing blanks are not folded onto a blank line.
    let text = ["word ".repeat(20), "   ".into()].concat();
    let out = subject(&text);
    assert!(out.lines().all(|l| !l.trim().is_empty()));
    assert_eq!(out.replace("\r\n", ""), ["Subject: ", &text].concat());
}

#[cfg(feature = "encoded-words")]
#[test]
fn long_words_become_encoded() {
    let word = "x".repeat(2000);
    assert!(!subject_is_plain(&word));
    let out = subject(&word);
    for line in out.split("\r\n") {
        assert!(line.len() <= FOLD, "{line:?}");
    }
    // A long word with room to spare stays plain.
    let word = "y".repeat(900);
    assert!(subject_is_plain(&["a ", &word, " b"].concat()));
    assert!(!subject_is_plain("a =?x?q?y?= b"));
}

#[cfg(feature = "encoded-words")]
#[test]
fn encoded_subject_words() {
    let out = subject("温度告警");
    assert_eq!(out, "Subject: =?UTF-8?B?5rip5bqm5ZGK6K2m?=\r\n");
    let out = subject(&"温".repeat(40));
    let lines: Vec<&str> = out.split("\r\n").collect();
    // 39 bytes (13 characters) on the first line, then 45 (15) per line.
    assert_eq!(lines.len(), 3 + 1);
    assert!(lines[0].len() <= FOLD && lines[1].len() <= FOLD);
    assert_eq!(lines[0].len(), "Subject: ".len() + 12 + 52);
    assert_eq!(lines[1].len(), 1 + 12 + 60);
}

#[test]
fn content_types() {
    assert_eq!(check_content_type("text/csv"), Ok(()));
    assert_eq!(check_content_type("application/vnd.ms-excel"), Ok(()));
    assert_eq!(check_content_type(""), Err(InputErrorKind::Empty));
    assert_eq!(check_content_type("text/"), Err(InputErrorKind::Empty));
    assert_eq!(
        check_content_type("text"),
        Err(InputErrorKind::InvalidContentType)
    );
    assert_eq!(
        check_content_type("text/csv; charset=utf-8"),
        Err(InputErrorKind::InvalidContentType)
    );
    assert_eq!(
        check_content_type("text/a/b"),
        Err(InputErrorKind::InvalidContentType)
    );
    assert_eq!(
        check_content_type("text/csv\r\nBcc: x"),
        Err(InputErrorKind::LineBreak)
    );
    assert_eq!(check_filename("a\nb"), Err(InputErrorKind::LineBreak));
    assert_eq!(check_filename("a\0b"), Err(InputErrorKind::Nul));
    assert_eq!(check_filename("a\tb"), Err(InputErrorKind::Control));
    assert_eq!(check_filename(""), Err(InputErrorKind::Empty));
    assert_eq!(
        check_filename(&"x".repeat(256)),
        Err(InputErrorKind::TooLong { max: 255 })
    );
}

#[cfg(feature = "encoded-words")]
#[test]
fn dispositions() {
    assert_eq!(
        render(|s| disposition(s, "report.csv", false)),
        "Content-Disposition: attachment; filename=\"report.csv\"\r\n"
    );
    assert_eq!(
        render(|s| disposition(s, "a \"b\".txt", false)),
        "Content-Disposition: attachment; filename*=UTF-8''a%20%22b%22.txt\r\n"
    );
    assert_eq!(
        render(|s| disposition(s, "温度.csv", false)),
        "Content-Disposition: attachment; filename*=UTF-8''%E6%B8%A9%E5%BA%A6.csv\r\n"
    );
    assert_eq!(
        render(|s| disposition(s, "温度数据.csv", false)),
        "Content-Disposition: attachment;\r\n filename*=UTF-8''%E6%B8%A9%E5%BA%A6%E6%95%B0%E6%8D%AE.csv\r\n"
    );
    let long = "数据".repeat(10);
    let out = render(|s| disposition(s, &long, false));
    let lines: Vec<&str> = out.split("\r\n").collect();
    assert_eq!(lines[0], "Content-Disposition: attachment;");
    assert!(lines[1].starts_with(" filename*0*=UTF-8''%E6%95%B0"));
    assert!(lines[2].starts_with(" filename*1*=%"));
    let mut joined = String::new();
    for line in &lines[1..lines.len() - 1] {
        assert!(line.len() <= SOFT, "{line}");
        let v = line.split_once("*=").unwrap().1.trim_end_matches(';');
        joined += v;
    }
    let expect: String = long.bytes().map(|c| std::format!("%{c:02X}")).collect();
    assert_eq!(joined, ["UTF-8''", &expect].concat());
    let out = render(|s| disposition(s, &"€".repeat(85), false));
    assert!(out.contains(" filename*10*="));
    assert!(out.split("\r\n").all(|l| l.len() <= SOFT));
}

/// Without the encoders, text they would carry is refused when it is built, and
/// everything that is accepted goes out as is.
#[cfg(not(feature = "encoded-words"))]
#[test]
fn without_encoded_words() {
    use crate::HeaderText;
    use crate::error::{Field, InputErrorKind::NeedsEncodedWords};
    use crate::message::{Attachment, Header};
    let a = Address::try_new("t@example.com").unwrap();
    let kind = |r: Result<Mailbox<'static>, crate::InputError>| {
        r.map(|_| ()).map_err(|e| (e.field(), e.kind()))
    };
    assert_eq!(
        kind(Mailbox::with_name("温度", a)),
        Err((Field::DisplayName, NeedsEncodedWords))
    );
    assert_eq!(
        kind(Mailbox::with_name("=?utf-8?q?x?=", a)),
        Err((Field::DisplayName, NeedsEncodedWords))
    );
    assert_eq!(
        kind(Mailbox::parse("Température <t@example.com>")),
        Err((Field::DisplayName, NeedsEncodedWords))
    );
    // Specials are quoted, not encoded: still accepted.
    let quoted = Mailbox::with_name("Doe, \"J\"", a).unwrap();
    assert_eq!(
        list("To", &[quoted]),
        "To: \"Doe, \\\"J\\\"\" <t@example.com>\r\n"
    );

    for text in ["Kühlraum", "a =?x?= b"] {
        assert_eq!(
            HeaderText::try_new(text).map_err(|e| (e.field(), e.kind())),
            Err((Field::Subject, NeedsEncodedWords))
        );
        assert_eq!(
            Header::try_new("X-Note", text).map_err(|e| (e.field(), e.kind())),
            Err((Field::HeaderValue, NeedsEncodedWords))
        );
    }
    // The longest word a Subject line carries, and one more octet.
    let word = "w".repeat(crate::limits::MAX_MESSAGE_LINE - "Subject: ".len());
    assert!(HeaderText::try_new(&word).is_ok());
    assert_eq!(subject(&word), ["Subject: ", &word, "\r\n"].concat());
    let longer = [word.as_str(), "w"].concat();
    assert_eq!(
        HeaderText::try_new(&longer).map_err(|e| e.kind()),
        Err(NeedsEncodedWords)
    );
    // A longer field name leaves less room for the same word.
    assert_eq!(
        Header::try_new("X-Subject", &word).map_err(|e| e.kind()),
        Err(NeedsEncodedWords)
    );

    let csv: &[u8] = b"";
    let name = "n".repeat(MAX_PLAIN_FILENAME);
    assert!(Attachment::new(&name, "text/csv", csv).is_ok());
    assert_eq!(
        render(|s| disposition(s, &name, false)),
        [
            "Content-Disposition: attachment;\r\n filename=\"",
            &name,
            "\"\r\n"
        ]
        .concat()
    );
    let longer = [name.as_str(), "n"].concat();
    for bad in [
        "温度.csv",
        "a \"b\".txt",
        "a\\b",
        "=?x?=.csv",
        longer.as_str(),
    ] {
        assert_eq!(
            Attachment::new(bad, "text/csv", csv)
                .map(|_| ())
                .map_err(|e| (e.field(), e.kind())),
            Err((Field::FileName, NeedsEncodedWords)),
            "{bad}"
        );
    }
}

#[test]
fn character_tables() {
    for c in 0..=255u8 {
        let atext = c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c);
        assert_eq!(is_atext(c), atext, "{c:#x}");
        let token = (b'!'..=b'~').contains(&c) && !b"()<>@,;:\\\"/[]?=".contains(&c);
        assert_eq!(params::is_token_char(c), token, "{c:#x}");
    }
}
