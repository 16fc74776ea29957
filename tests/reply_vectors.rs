//! Reply parser vectors: RFC 5321 §4.2 replies, EHLO replies of real providers,
//! malformed input, limits, and property-style checks that the streaming parser
//! gives the same answer however the bytes are split.

use embedded_smtp::reply::{
    Assembler, AuthMechanisms, Capabilities, EnhancedCode, Extensions, Line, ParserConfig, Reply,
    ReplyCode, ReplyError, Status, parse_line, parse_reply, parse_reply_with,
};

type M = AuthMechanisms;
type E = Extensions;

fn code(n: u16) -> ReplyCode {
    ReplyCode::new(n).expect("valid code")
}

/// Parses `input` as one whole reply; panics unless it is complete.
fn complete(input: &[u8]) -> (Reply<'_>, usize) {
    match parse_reply(input) {
        Ok(Status::Complete(done)) => done,
        other => panic!("expected a complete reply, got {other:?}"),
    }
}

fn texts<'a>(reply: &Reply<'a>) -> Vec<&'a [u8]> {
    reply.lines().collect()
}

fn enhanced(class: u8, subject: u16, detail: u16) -> EnhancedCode {
    EnhancedCode {
        class,
        subject,
        detail,
    }
}

// ---------------------------------------------------------------- RFC 5321 §4.2

#[test]
fn code_alone_is_a_reply() {
    let (reply, consumed) = complete(b"250\r\n");
    assert_eq!(consumed, 5);
    assert_eq!(reply.code(), ReplyCode::OK);
    assert_eq!(reply.line_count(), 1);
    assert_eq!(texts(&reply), [&b""[..]]);
    assert_eq!(reply.first_line(), b"");
    assert_eq!(reply.enhanced(), None);
}

#[test]
fn empty_continuation_then_text() {
    let (reply, consumed) = complete(b"250-\r\n250 ok\r\n");
    assert_eq!(consumed, 14);
    assert_eq!(reply.code(), ReplyCode::OK);
    assert_eq!(texts(&reply), [&b""[..], b"ok"]);
}

#[test]
fn single_lines_of_each_class() {
    for (input, n, text) in [
        (
            &b"220 mx.example.org ESMTP ready\r\n"[..],
            220,
            &b"mx.example.org ESMTP ready"[..],
        ),
        (
            b"354 End data with <CR><LF>.<CR><LF>\r\n",
            354,
            b"End data with <CR><LF>.<CR><LF>",
        ),
        (
            b"421 4.3.2 Service shutting down\r\n",
            421,
            b"4.3.2 Service shutting down",
        ),
        (b"554 5.7.1 Rejected\r\n", 554, b"5.7.1 Rejected"),
    ] {
        let (reply, consumed) = complete(input);
        assert_eq!(consumed, input.len());
        assert_eq!(reply.code(), code(n));
        assert_eq!(reply.first_line(), text);
    }
}

#[test]
fn auth_challenge_with_base64_text() {
    // RFC 4954 §4: the challenge is base64 ("Username:", "Password:").
    let (reply, _) = complete(b"334 VXNlcm5hbWU6\r\n");
    assert_eq!(reply.code(), ReplyCode::AUTH_CONTINUE);
    assert_eq!(reply.first_line(), b"VXNlcm5hbWU6");
    // An empty challenge (RFC 4954 §4: "334 " followed by nothing) is valid too.
    let (reply, _) = complete(b"334 \r\n");
    assert_eq!(reply.first_line(), b"");
    // Base64 padding and '+' / '/' are plain text octets.
    let (reply, _) = complete(b"334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+/w==\r\n");
    assert_eq!(
        reply.first_line(),
        b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+/w=="
    );
}

#[test]
fn mismatched_continuation_codes() {
    assert_eq!(
        parse_reply(b"250-first\r\n251 second\r\n"),
        Err(ReplyError::MismatchedCode)
    );
    assert_eq!(
        parse_reply(b"250-first\r\n250-second\r\n550 third\r\n"),
        Err(ReplyError::MismatchedCode)
    );
    // Known once the mismatching line is complete.
    assert_eq!(parse_reply(b"250-first\r\n251 sec"), Ok(Status::Partial));
}

#[test]
fn invalid_codes() {
    for input in [
        &b"000 x\r\n"[..],
        b"099 x\r\n",
        b"600 x\r\n",
        b"199 x\r\n",
        b"260 x\r\n",
        b"2a0 x\r\n",
        b"abc\r\n",
        b"\r\n",
    ] {
        assert_eq!(
            parse_reply(input),
            Err(ReplyError::InvalidCode),
            "{input:?}"
        );
        assert_eq!(
            parse_line(input, &ParserConfig::DEFAULT),
            Err(ReplyError::InvalidCode)
        );
    }
    // Eager: the first digit alone already rules out 1yz and 6yz.
    assert_eq!(parse_reply(b"1"), Err(ReplyError::InvalidCode));
    assert_eq!(parse_reply(b"6"), Err(ReplyError::InvalidCode));
}

#[test]
fn invalid_separators() {
    for input in [&b"250x\r\n"[..], b"250\t\r\n", b"250\n", b"2500 x\r\n"] {
        assert_eq!(
            parse_reply(input),
            Err(ReplyError::InvalidSeparator),
            "{input:?}"
        );
    }
}

#[test]
fn bare_lf_bare_cr_nul() {
    assert_eq!(parse_reply(b"250 ok\n"), Err(ReplyError::BareLf));
    assert_eq!(parse_reply(b"250-a\n250 ok\r\n"), Err(ReplyError::BareLf));
    assert_eq!(parse_reply(b"250 o\rk\r\n"), Err(ReplyError::BareCr));
    assert_eq!(parse_reply(b"250 ok\r\r\n"), Err(ReplyError::BareCr));
    // A trailing CR is not yet an error: an LF may follow.
    assert_eq!(parse_reply(b"250 ok\r"), Ok(Status::Partial));
    assert_eq!(parse_reply(b"250 o\0k\r\n"), Err(ReplyError::Nul));
    assert_eq!(parse_reply(b"250 \0"), Err(ReplyError::Nul));
}

#[test]
fn non_utf8_text_is_kept() {
    let input = b"550 \xc3\x28 caf\xe9 \xff\xfe\tok\r\n";
    let (reply, consumed) = complete(input);
    assert_eq!(consumed, input.len());
    assert_eq!(reply.first_line(), b"\xc3\x28 caf\xe9 \xff\xfe\tok");
}

// ------------------------------------------------------------------- limits

/// A reply line of exactly `len` bytes including "250 " and CRLF.
fn line_of_len(len: usize) -> Vec<u8> {
    let mut v = b"250 ".to_vec();
    v.resize(len - 2, b'a');
    v.extend_from_slice(b"\r\n");
    assert_eq!(v.len(), len);
    v
}

#[test]
fn line_of_512_bytes_is_accepted() {
    let input = line_of_len(512);
    let (reply, consumed) = complete(&input);
    assert_eq!(consumed, 512);
    assert_eq!(reply.first_line().len(), 506);
    assert!(matches!(
        parse_line(&input, &ParserConfig::DEFAULT),
        Ok(Status::Complete((_, 512)))
    ));
}

#[test]
fn line_of_513_bytes_is_refused() {
    let input = line_of_len(513);
    assert_eq!(parse_reply(&input), Err(ReplyError::LineTooLong));
    // Refused as soon as 512 bytes have arrived without CRLF, not later.
    assert_eq!(parse_reply(&input[..512]), Err(ReplyError::LineTooLong));
    assert_eq!(parse_reply(&input[..511]), Ok(Status::Partial));
    // A continuation line counts the same.
    let mut cont = line_of_len(513);
    cont[3] = b'-';
    assert_eq!(parse_reply(&cont), Err(ReplyError::LineTooLong));
    // The knob accepts it.
    let config = ParserConfig::DEFAULT.with_max_line_len(1024);
    assert!(matches!(
        parse_reply_with(&input, &config),
        Ok(Status::Complete((_, 513)))
    ));
}

/// A reply of `n` lines of code 250.
fn reply_of_lines(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        let sep = if i + 1 == n { ' ' } else { '-' };
        v.extend_from_slice(format!("250{sep}line {i}\r\n").as_bytes());
    }
    v
}

#[test]
fn too_many_lines() {
    let ok = reply_of_lines(64);
    let (reply, consumed) = complete(&ok);
    assert_eq!(consumed, ok.len());
    assert_eq!(reply.line_count(), 64);
    assert_eq!(reply.lines().nth(63), Some(&b"line 63"[..]));

    let too_many = reply_of_lines(65);
    assert_eq!(parse_reply(&too_many), Err(ReplyError::TooManyLines));
    // The 64th line is a continuation: the reply cannot end within 64 lines.
    let end_of_64th = too_many
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"\r\n")
        .nth(63)
        .map(|(i, _)| i + 2)
        .unwrap();
    assert_eq!(
        parse_reply(&too_many[..end_of_64th]),
        Err(ReplyError::TooManyLines)
    );
    assert_eq!(
        parse_reply(&too_many[..end_of_64th - 1]),
        Ok(Status::Partial)
    );

    let config = ParserConfig::DEFAULT.with_max_lines(65);
    assert!(matches!(
        parse_reply_with(&too_many, &config),
        Ok(Status::Complete((r, _))) if r.line_count() == 65
    ));
}

// --------------------------------------------------------------- streaming

#[test]
fn split_at_every_byte_boundary() {
    // "25" then "0 ok\r\n", and every other split.
    let input = b"250 ok\r\n";
    let whole = parse_reply(input);
    assert!(matches!(whole, Ok(Status::Complete((_, 8)))));
    for split in 0..=input.len() {
        let (first, _) = input.split_at(split);
        let expected = if split == input.len() {
            whole
        } else {
            Ok(Status::Partial)
        };
        assert_eq!(parse_reply(first), expected, "split at {split}");
        assert_eq!(
            parse_line(first, &ParserConfig::DEFAULT).map(|s| matches!(s, Status::Partial)),
            Ok(split < input.len())
        );
    }
    // Fed through a receive buffer in two pieces, the result equals the whole.
    let mut buf = b"25".to_vec();
    assert_eq!(parse_reply(&buf), Ok(Status::Partial));
    buf.extend_from_slice(b"0 ok\r\n");
    assert_eq!(parse_reply(&buf), whole);
}

#[test]
fn multi_line_split_at_every_byte_boundary() {
    let input = GMAIL;
    let (whole, consumed) = complete(input);
    assert_eq!(consumed, input.len());
    for split in 0..input.len() {
        assert_eq!(
            parse_reply(&input[..split]),
            Ok(Status::Partial),
            "split at {split}"
        );
    }
    let mut buf = Vec::new();
    for &b in input {
        buf.push(b);
        if let Ok(Status::Complete((reply, n))) = parse_reply(&buf) {
            assert_eq!(n, input.len());
            assert_eq!(reply, whole);
        }
    }
}

#[test]
fn several_replies_in_one_buffer() {
    // Pipelined MAIL, RCPT, RCPT, DATA replies (RFC 2920 §3.1) arriving together.
    let input: &[u8] = b"250 2.1.0 Ok\r\n\
        250 2.1.5 Ok\r\n\
        550-5.1.1 The email account that you tried to reach does not exist.\r\n\
        550 5.1.1 Please try again.\r\n\
        354 End data with <CR><LF>.<CR><LF>\r\n\
        25";
    let mut rest = input;
    let mut seen = Vec::new();
    while let Ok(Status::Complete((reply, consumed))) = parse_reply(rest) {
        assert!(consumed > 0 && consumed <= rest.len());
        seen.push((
            reply.code().get(),
            reply.line_count(),
            reply.enhanced(),
            consumed,
        ));
        rest = &rest[consumed..];
    }
    assert_eq!(
        seen,
        [
            (250, 1, Some(enhanced(2, 1, 0)), 14),
            (250, 1, Some(enhanced(2, 1, 5)), 14),
            (550, 2, Some(enhanced(5, 1, 1)), 98),
            (354, 1, None, 37),
        ]
    );
    assert_eq!(rest, b"25");
    assert_eq!(parse_reply(rest), Ok(Status::Partial));
}

#[test]
fn line_by_line_with_one_line_of_buffer() {
    // A 100-line reply read through a 512-byte buffer, one line at a time.
    let input = reply_of_lines(100);
    let config = ParserConfig::DEFAULT.with_max_lines(200);
    let mut assembler = Assembler::new(config);
    let mut buf = [0u8; 512];
    let mut filled = 0;
    let mut fed = 0;
    let mut lines = 0;
    loop {
        match parse_line(&buf[..filled], assembler.config()).unwrap() {
            Status::Complete((line, consumed)) => {
                assert_eq!(line.text, format!("line {lines}").as_bytes());
                lines += 1;
                let done = assembler.push(&line).unwrap();
                buf.copy_within(consumed..filled, 0);
                filled -= consumed;
                if done {
                    break;
                }
                assert_eq!(assembler.lines(), lines);
                assert!(assembler.in_progress());
            }
            Status::Partial => {
                // Deliver 7 bytes at a time.
                let n = (input.len() - fed).min(7).min(buf.len() - filled);
                assert!(n > 0, "ran out of input");
                buf[filled..filled + n].copy_from_slice(&input[fed..fed + n]);
                filled += n;
                fed += n;
            }
        }
    }
    assert_eq!(lines, 100);
    assert_eq!(fed, input.len());
    assert!(!assembler.in_progress());
}

// ------------------------------------------------------- enhanced codes

#[test]
fn enhanced_codes() {
    let line = |text: &'static [u8]| Line {
        code: code(550),
        last: true,
        text,
    };
    assert_eq!(
        line(b"5.7.8 Authentication failed").enhanced(),
        Some((enhanced(5, 7, 8), &b"Authentication failed"[..]))
    );
    assert_eq!(
        line(b"5.7.999 x").enhanced(),
        Some((enhanced(5, 7, 999), &b"x"[..]))
    );
    assert_eq!(line(b"5.7.1000 x").enhanced(), None);
    assert_eq!(line(b"7.1.1 x").enhanced(), None);
    assert_eq!(line(b"5.7 x").enhanced(), None);
    assert_eq!(line(b"Authentication failed").enhanced(), None);

    // Through whole replies.
    let (reply, _) = complete(b"535 5.7.8 Username and Password not accepted.\r\n");
    assert_eq!(reply.enhanced(), Some(enhanced(5, 7, 8)));
    let (reply, _) =
        complete(b"535 Login Fail. Please enter your authorization code to login.\r\n");
    assert_eq!(reply.enhanced(), None);
    let (reply, _) = complete(b"250 5.7.999 x\r\n");
    assert_eq!(reply.enhanced(), Some(enhanced(5, 7, 999)));
    let (reply, _) = complete(b"250 5.7.1000 x\r\n");
    assert_eq!(reply.enhanced(), None);
    let (reply, _) = complete(b"250 7.1.1 x\r\n");
    assert_eq!(reply.enhanced(), None);
}

// ------------------------------------------------------ EHLO of providers
//
// Representative replies to EHLO from each provider (addresses and host names
// replaced with documentation values).

/// smtp.gmail.com, port 465 (after TLS).
const GMAIL: &[u8] = b"250-smtp.gmail.com at your service, [203.0.113.7]\r\n\
    250-SIZE 35882577\r\n\
    250-8BITMIME\r\n\
    250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n\
    250-ENHANCEDSTATUSCODES\r\n\
    250-PIPELINING\r\n\
    250-CHUNKING\r\n\
    250 SMTPUTF8\r\n";

/// smtp.qq.com, port 465.
const QQ: &[u8] = b"250-newxmesmtplogicsvrsza1-0.qq.com\r\n\
    250-PIPELINING\r\n\
    250-SIZE 73400320\r\n\
    250-AUTH LOGIN PLAIN XOAUTH XOAUTH2\r\n\
    250-AUTH=LOGIN\r\n\
    250-MAILCOMPRESS\r\n\
    250 8BITMIME\r\n";

/// smtp.office365.com, port 587, before STARTTLS.
const OUTLOOK_PLAIN: &[u8] = b"250-SN4PR0201CA0045.outlook.office365.com Hello [203.0.113.7]\r\n\
    250-SIZE 157286400\r\n\
    250-PIPELINING\r\n\
    250-DSN\r\n\
    250-ENHANCEDSTATUSCODES\r\n\
    250-STARTTLS\r\n\
    250-8BITMIME\r\n\
    250-BINARYMIME\r\n\
    250-CHUNKING\r\n\
    250 SMTPUTF8\r\n";

/// smtp.office365.com, port 587, after STARTTLS.
const OUTLOOK_TLS: &[u8] = b"250-SN4PR0201CA0045.outlook.office365.com Hello [203.0.113.7]\r\n\
    250-SIZE 157286400\r\n\
    250-PIPELINING\r\n\
    250-DSN\r\n\
    250-ENHANCEDSTATUSCODES\r\n\
    250-AUTH LOGIN XOAUTH2\r\n\
    250-8BITMIME\r\n\
    250-BINARYMIME\r\n\
    250-CHUNKING\r\n\
    250 SMTPUTF8\r\n";

/// Postfix with its default submission settings, before STARTTLS.
const POSTFIX: &[u8] = b"250-mail.example.org\r\n\
    250-PIPELINING\r\n\
    250-SIZE 10240000\r\n\
    250-VRFY\r\n\
    250-ETRN\r\n\
    250-STARTTLS\r\n\
    250-ENHANCEDSTATUSCODES\r\n\
    250-8BITMIME\r\n\
    250-DSN\r\n\
    250-SMTPUTF8\r\n\
    250 CHUNKING\r\n";

/// `name: input => (first line, line count, extensions, mechanisms, size);`
macro_rules! ehlo {
    ($($name:ident: $input:expr => ($first:expr, $count:expr, $ext:expr, $auth:expr, $size:expr);)*) => {$(
        #[test]
        fn $name() {
            let (reply, consumed) = complete($input);
            assert_eq!(consumed, $input.len());
            assert_eq!(reply.code(), ReplyCode::OK);
            assert_eq!(reply.first_line(), &$first[..]);
            assert_eq!(reply.line_count(), $count);
            assert_eq!(
                Capabilities::from_reply(&reply),
                Capabilities { extensions: $ext, auth: $auth, size_limit: $size }
            );
        }
    )*};
}

ehlo! {
    ehlo_gmail: GMAIL => (
        b"smtp.gmail.com at your service, [203.0.113.7]",
        8,
        E::SIZE | E::EIGHTBITMIME | E::AUTH | E::ENHANCEDSTATUSCODES | E::PIPELINING
            | E::CHUNKING | E::SMTPUTF8,
        M::LOGIN | M::PLAIN | M::XOAUTH2 | M::OAUTHBEARER,
        Some(35_882_577)
    );
    ehlo_qq: QQ => (
        b"newxmesmtplogicsvrsza1-0.qq.com",
        7,
        E::PIPELINING | E::SIZE | E::AUTH | E::EIGHTBITMIME,
        M::LOGIN | M::PLAIN | M::XOAUTH2,
        Some(73_400_320)
    );
    ehlo_outlook_plain: OUTLOOK_PLAIN => (
        b"SN4PR0201CA0045.outlook.office365.com Hello [203.0.113.7]",
        10,
        E::SIZE | E::PIPELINING | E::DSN | E::ENHANCEDSTATUSCODES | E::STARTTLS
            | E::EIGHTBITMIME | E::BINARYMIME | E::CHUNKING | E::SMTPUTF8,
        M::empty(),
        Some(157_286_400)
    );
    ehlo_outlook_tls: OUTLOOK_TLS => (
        b"SN4PR0201CA0045.outlook.office365.com Hello [203.0.113.7]",
        10,
        E::SIZE | E::PIPELINING | E::DSN | E::ENHANCEDSTATUSCODES | E::AUTH
            | E::EIGHTBITMIME | E::BINARYMIME | E::CHUNKING | E::SMTPUTF8,
        M::LOGIN | M::XOAUTH2,
        Some(157_286_400)
    );
    ehlo_postfix: POSTFIX => (
        b"mail.example.org",
        11,
        E::PIPELINING | E::SIZE | E::STARTTLS | E::ENHANCEDSTATUSCODES | E::EIGHTBITMIME
            | E::DSN | E::SMTPUTF8 | E::CHUNKING,
        M::empty(),
        Some(10_240_000)
    );
    ehlo_greeting_only: b"250 mail.example.org\r\n" => (
        b"mail.example.org", 1, E::empty(), M::empty(), None
    );
    ehlo_size_zero: b"250-mx\r\n250 SIZE 0\r\n" => (b"mx", 2, E::SIZE, M::empty(), None);
    ehlo_size_no_value: b"250-mx\r\n250 SIZE\r\n" => (b"mx", 2, E::SIZE, M::empty(), None);
    ehlo_size_u64_max: b"250-mx\r\n250 SIZE 18446744073709551615\r\n" => (
        b"mx", 2, E::SIZE, M::empty(), Some(u64::MAX)
    );
    ehlo_size_overflow: b"250-mx\r\n250 SIZE 18446744073709551616\r\n" => (
        b"mx", 2, E::SIZE, M::empty(), None
    );
    ehlo_size_not_number: b"250-mx\r\n250 SIZE lots\r\n" => (b"mx", 2, E::SIZE, M::empty(), None);
    ehlo_keyword_in_greeting: b"250-STARTTLS AUTH PLAIN\r\n250 DSN\r\n" => (
        b"STARTTLS AUTH PLAIN", 2, E::DSN, M::empty(), None
    );
}

#[test]
fn capabilities_by_line_equal_from_reply() {
    for input in [GMAIL, QQ, OUTLOOK_PLAIN, OUTLOOK_TLS, POSTFIX] {
        let (reply, _) = complete(input);
        let mut caps = Capabilities::new();
        let mut assembler = Assembler::new(ParserConfig::DEFAULT);
        let mut rest = input;
        let mut first = true;
        loop {
            let Ok(Status::Complete((line, n))) = parse_line(rest, &ParserConfig::DEFAULT) else {
                panic!("line did not parse");
            };
            if !first {
                caps.apply_line(line.text);
            }
            first = false;
            rest = &rest[n..];
            if assembler.push(&line).unwrap() {
                break;
            }
        }
        assert!(rest.is_empty());
        assert_eq!(caps, Capabilities::from_reply(&reply));
        assert!(caps.has(E::PIPELINING | E::SIZE));
    }
}

// ------------------------------------------------------- property-style

/// xorshift64: deterministic, no extra crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Pieces that steer random input into every state of the grammar.
const PIECES: &[&[u8]] = &[
    b"250",
    b"250-",
    b"250 ",
    b"251-",
    b"334 ",
    b"554 ",
    b"5.7.1 ",
    b"ok",
    b"\r\n",
    b"\r\n",
    b"\r\n",
    b"\r",
    b"\n",
    b"\0",
    b"-",
    b" ",
    b"\t",
    b"\xff",
    b"2",
    b"6",
    b"1",
    b"0",
    b"SIZE 10",
    b"AUTH PLAIN",
];

fn random_input(rng: &mut Rng, max_pieces: usize) -> Vec<u8> {
    // Most inputs start like a reply line, so that the text and CRLF states are reached.
    const STARTS: &[&[u8]] = &[b"250 ", b"250-", b"250", b"554 ", b"334 "];
    let mut v = Vec::new();
    if rng.below(4) != 0 {
        v.extend_from_slice(STARTS[rng.below(STARTS.len())]);
    }
    for _ in 0..rng.below(max_pieces + 1) {
        if rng.below(5) == 0 {
            v.push(rng.byte());
        } else {
            v.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
    }
    v
}

fn random_config(rng: &mut Rng) -> ParserConfig {
    match rng.below(3) {
        0 => ParserConfig {
            max_line_len: rng.below(40),
            max_lines: rng.below(5) as u16,
        },
        _ => ParserConfig::DEFAULT,
    }
}

#[test]
fn random_lines_agree_whole_and_bytewise() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut complete_seen, mut errors_seen) = (0, [0; 6]);
    for _ in 0..20_000 {
        let input = random_input(&mut rng, 12);
        let config = random_config(&mut rng);
        let whole = parse_line(&input, &config);
        match whole {
            Ok(Status::Complete((line, n))) => {
                complete_seen += 1;
                assert!(n >= 5 && n <= input.len() && n <= config.max_line_len);
                assert_eq!(&input[n - 2..n], b"\r\n");
                assert!(!line.text.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
                assert_eq!(&input[..3], line.code.get().to_string().as_bytes());
                assert!(n == line.text.len() + 6 || (n == 5 && line.text.is_empty()));
                let _ = line.enhanced();
            }
            Ok(Status::Partial) => {}
            Err(e) => {
                let kind = match e {
                    ReplyError::InvalidCode => 0,
                    ReplyError::InvalidSeparator => 1,
                    ReplyError::BareLf => 2,
                    ReplyError::BareCr => 3,
                    ReplyError::Nul => 4,
                    ReplyError::LineTooLong => 5,
                    other => panic!("parse_line cannot give {other:?}"),
                };
                errors_seen[kind] += 1;
            }
        }
        // Byte by byte: every prefix is Partial until the answer is known, and from
        // then on it is the whole input's answer.
        let mut decided = false;
        for k in 0..=input.len() {
            let r = parse_line(&input[..k], &config);
            if let Ok(Status::Complete((_, n))) = r {
                assert!(n <= k);
            }
            if decided {
                assert_eq!(r, whole, "input {input:?}, prefix {k}");
            } else if r != Ok(Status::Partial) {
                assert_eq!(r, whole, "input {input:?}, prefix {k}");
                decided = true;
            }
        }
    }
    // The generator reaches every outcome often.
    assert!(complete_seen > 1_000, "{complete_seen}");
    assert!(errors_seen.iter().all(|&n| n > 500), "{errors_seen:?}");
}

/// What a receiver sees, in order, when `input` arrives in the given chunk sizes.
#[derive(Debug, PartialEq)]
enum Event {
    Reply {
        code: u16,
        lines: Vec<Vec<u8>>,
        consumed: usize,
    },
    Error(ReplyError),
    End {
        leftover: usize,
    },
}

fn receive(input: &[u8], config: &ParserConfig, mut chunk: impl FnMut() -> usize) -> Vec<Event> {
    let mut events = Vec::new();
    let mut buf = Vec::new();
    let mut fed = 0;
    loop {
        match parse_reply_with(&buf, config) {
            Ok(Status::Complete((reply, consumed))) => {
                assert!(consumed > 0 && consumed <= buf.len());
                assert_eq!(reply.lines().count(), usize::from(reply.line_count()));
                events.push(Event::Reply {
                    code: reply.code().get(),
                    lines: reply.lines().map(<[u8]>::to_vec).collect(),
                    consumed,
                });
                buf.drain(..consumed);
            }
            Err(e) => {
                events.push(Event::Error(e));
                return events;
            }
            Ok(Status::Partial) if fed == input.len() => {
                events.push(Event::End {
                    leftover: buf.len(),
                });
                return events;
            }
            Ok(Status::Partial) => {
                let n = chunk().clamp(1, input.len() - fed);
                buf.extend_from_slice(&input[fed..fed + n]);
                fed += n;
            }
        }
    }
}

/// A stream of mostly valid replies, sometimes corrupted.
fn random_stream(rng: &mut Rng) -> Vec<u8> {
    const CODES: &[&[u8]] = &[b"220", b"250", b"334", b"354", b"421", b"550"];
    const TEXT: &[u8] = b"abc XYZ.-=0123456789\t";
    let mut v = Vec::new();
    for _ in 0..rng.below(5) {
        let code = CODES[rng.below(CODES.len())];
        let lines = 1 + rng.below(4);
        for i in 0..lines {
            v.extend_from_slice(code);
            let last = i + 1 == lines;
            // A last line may be the bare code ("250\r\n"), without text.
            let bare = last && rng.below(6) == 0;
            if !bare {
                v.push(if last { b' ' } else { b'-' });
                for _ in 0..rng.below(12) {
                    v.push(TEXT[rng.below(TEXT.len())]);
                }
            }
            v.extend_from_slice(b"\r\n");
        }
    }
    if !v.is_empty() && rng.below(4) == 0 {
        let at = rng.below(v.len());
        v[at] = rng.byte();
    }
    if !v.is_empty() && rng.below(4) == 0 {
        v.truncate(rng.below(v.len()));
    }
    v
}

#[test]
fn random_splits_of_a_reply_stream_agree_with_whole() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut replies, mut errors) = (0, 0);
    for _ in 0..5_000 {
        let input = random_stream(&mut rng);
        let config = match rng.below(4) {
            0 => ParserConfig {
                max_line_len: 8 + rng.below(16),
                max_lines: 1 + rng.below(3) as u16,
            },
            _ => ParserConfig::DEFAULT,
        };
        let whole = receive(&input, &config, || usize::MAX);
        let bytewise = receive(&input, &config, || 1);
        let mut split_rng = Rng(rng.next() | 1);
        let random = receive(&input, &config, || 1 + split_rng.below(9));
        assert_eq!(whole, bytewise, "input {input:?}");
        assert_eq!(whole, random, "input {input:?}");
        for event in &whole {
            match event {
                Event::Reply { .. } => replies += 1,
                Event::Error(_) => errors += 1,
                Event::End { .. } => {}
            }
        }
    }
    assert!(replies > 1_000, "{replies}");
    assert!(errors > 200, "{errors}");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..20_000 {
        let len = rng.below(64);
        let input: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        let config = random_config(&mut rng);
        if let Ok(Status::Complete((_, n))) = parse_line(&input, &config) {
            assert!(n <= input.len());
        }
        if let Ok(Status::Complete((reply, n))) = parse_reply_with(&input, &config) {
            assert!(n <= input.len());
            let _ = (
                reply.lines().count(),
                reply.enhanced(),
                Capabilities::from_reply(&reply),
            );
        }
        let mut caps = Capabilities::new();
        caps.apply_line(&input);
        let _ = Line {
            code: ReplyCode::OK,
            last: true,
            text: &input,
        }
        .enhanced();
    }
}
