//! Unit tests of the reply parser, on byte vectors.

use super::*;

fn code(n: u16) -> ReplyCode {
    ReplyCode::new(n).unwrap()
}

fn done(
    n: u16,
    last: bool,
    text: &'static [u8],
    consumed: usize,
) -> Result<Status<(Line<'static>, usize)>, ReplyError> {
    Ok(Status::Complete((
        Line {
            code: code(n),
            last,
            text,
        },
        consumed,
    )))
}

const PARTIAL: Result<Status<(Line<'static>, usize)>, ReplyError> = Ok(Status::Partial);

/// `name: input => expected;` runs `parse_line` with the default config.
macro_rules! line {
    ($($name:ident: $input:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_eq!(parse_line($input, &ParserConfig::DEFAULT), $expected);
        }
    )*};
}

line! {
    last_with_text: b"250 ok\r\n" => done(250, true, b"ok", 8);
    continuation: b"250-text\r\n" => done(250, false, b"text", 10);
    no_text: b"250\r\n" => done(250, true, b"", 5);
    continuation_no_text: b"250-\r\n" => done(250, false, b"", 6);
    space_no_text: b"250 \r\n" => done(250, true, b"", 6);
    leaves_next_line: b"250-a\r\n250 b\r\n" => done(250, false, b"a", 7);
    keeps_inner_spaces: b"220  two  spaces \r\n" => done(220, true, b" two  spaces ", 19);
    tab_in_text: b"250 a\tb\r\n" => done(250, true, b"a\tb", 9);
    non_utf8_text: b"250 \xff\xfe\x80\r\n" => done(250, true, b"\xff\xfe\x80", 9);
    hyphen_in_text: b"250 a-b\r\n" => done(250, true, b"a-b", 9);
    code_554: b"554 no\r\n" => done(554, true, b"no", 8);
    code_334_base64: b"334 VXNlcm5hbWU6\r\n" => done(334, true, b"VXNlcm5hbWU6", 18);

    empty: b"" => PARTIAL;
    one_digit: b"2" => PARTIAL;
    two_digits: b"25" => PARTIAL;
    code_only: b"250" => PARTIAL;
    no_crlf: b"250 ok" => PARTIAL;
    cr_only: b"250 ok\r" => PARTIAL;
    code_cr: b"250\r" => PARTIAL;

    first_digit_1: b"1" => Err(ReplyError::InvalidCode);
    first_digit_6: b"6" => Err(ReplyError::InvalidCode);
    first_digit_0: b"0" => Err(ReplyError::InvalidCode);
    second_digit_6: b"26" => Err(ReplyError::InvalidCode);
    letter_digit: b"2x0 ok\r\n" => Err(ReplyError::InvalidCode);
    third_letter: b"25a" => Err(ReplyError::InvalidCode);
    code_000: b"000 x\r\n" => Err(ReplyError::InvalidCode);
    code_099: b"099 x\r\n" => Err(ReplyError::InvalidCode);
    code_600: b"600 x\r\n" => Err(ReplyError::InvalidCode);
    code_199: b"199 x\r\n" => Err(ReplyError::InvalidCode);
    leading_space: b" 250 ok\r\n" => Err(ReplyError::InvalidCode);
    four_digits: b"2500 ok\r\n" => Err(ReplyError::InvalidSeparator);
    bad_separator: b"250x" => Err(ReplyError::InvalidSeparator);
    lf_separator: b"250\n" => Err(ReplyError::InvalidSeparator);
    tab_separator: b"250\tok\r\n" => Err(ReplyError::InvalidSeparator);
    bare_lf: b"250 ok\n" => Err(ReplyError::BareLf);
    bare_lf_no_text: b"250-\n" => Err(ReplyError::BareLf);
    bare_cr: b"250 o\rk\r\n" => Err(ReplyError::BareCr);
    bare_cr_after_code: b"250\rx" => Err(ReplyError::BareCr);
    cr_cr_lf: b"250 ok\r\r\n" => Err(ReplyError::BareCr);
    nul: b"250 o\0k\r\n" => Err(ReplyError::Nul);
    nul_partial: b"250 \0" => Err(ReplyError::Nul);
}

/// `name: (max_line_len, input) => expected;` runs `parse_line` with a line limit.
macro_rules! limited {
    ($($name:ident: ($max:expr, $input:expr) => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let config = ParserConfig::DEFAULT.with_max_line_len($max);
            assert_eq!(parse_line($input, &config), $expected);
        }
    )*};
}

limited! {
    exactly_at_limit: (8, b"250 ok\r\n") => done(250, true, b"ok", 8);
    one_over_limit: (7, b"250 ok\r\n") => Err(ReplyError::LineTooLong);
    over_limit_partial: (7, b"250 abcdefgh") => Err(ReplyError::LineTooLong);
    cr_at_limit: (7, b"250 ok\r") => Err(ReplyError::LineTooLong);
    under_limit_partial: (8, b"250 ok\r") => PARTIAL;
    zero_limit_empty: (0, b"") => Err(ReplyError::LineTooLong);
    zero_limit: (0, b"250 ok\r\n") => Err(ReplyError::LineTooLong);
    error_before_limit: (5, b"2x0 ok\r\n") => Err(ReplyError::InvalidCode);
    nul_before_limit: (6, b"250 \0k\r\n") => Err(ReplyError::Nul);
}

/// `name: text => Some((class, subject, detail, rest)) | None;` runs `Line::enhanced`.
macro_rules! enhanced {
    ($($name:ident: $text:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let line = Line { code: code(550), last: true, text: $text };
            let expected: Option<(u8, u16, u16, &[u8])> = $expected;
            let expected = expected.map(|(class, subject, detail, rest)| {
                (EnhancedCode { class, subject, detail }, rest)
            });
            assert_eq!(line.enhanced(), expected);
        }
    )*};
}

enhanced! {
    enh_auth_failed: b"5.7.8 Authentication failed" => Some((5, 7, 8, b"Authentication failed"));
    enh_ok: b"2.0.0 OK" => Some((2, 0, 0, b"OK"));
    enh_transient: b"4.2.2 Mailbox full" => Some((4, 2, 2, b"Mailbox full"));
    enh_alone: b"2.1.5" => Some((2, 1, 5, b""));
    enh_trailing_space: b"2.1.5 " => Some((2, 1, 5, b""));
    enh_two_spaces: b"2.1.5  x" => Some((2, 1, 5, b"x"));
    enh_three_digits: b"5.7.999 x" => Some((5, 7, 999, b"x"));
    enh_subject_three: b"5.123.4 x" => Some((5, 123, 4, b"x"));
    enh_four_digits: b"5.7.1000 x" => None;
    enh_subject_four: b"5.1000.1 x" => None;
    enh_class_7: b"7.1.1 x" => None;
    enh_class_3: b"3.1.1 x" => None;
    enh_class_two_digits: b"55.1.1 x" => None;
    enh_missing_detail: b"5.7. x" => None;
    enh_missing_dot: b"5.7 x" => None;
    enh_no_space: b"5.7.1x" => None;
    enh_tab: b"5.7.1\tx" => None;
    enh_dot_after: b"5.7.1. x" => None;
    enh_plain_text: b"OK" => None;
    enh_empty: b"" => None;
    enh_leading_space: b" 5.7.1 x" => None;
}

fn line_of(n: u16, last: bool) -> Line<'static> {
    Line {
        code: code(n),
        last,
        text: b"",
    }
}

#[test]
fn assembler_counts_and_resets() {
    let mut a = Assembler::new(ParserConfig::DEFAULT);
    assert!(!a.in_progress());
    assert_eq!(a.push(&line_of(250, false)), Ok(false));
    assert_eq!(a.push(&line_of(250, false)), Ok(false));
    assert!(a.in_progress());
    assert_eq!(a.lines(), 2);
    assert_eq!(a.push(&line_of(250, true)), Ok(true));
    assert!(!a.in_progress());
    assert_eq!(a.lines(), 0);
    // The next reply may have another code.
    assert_eq!(a.push(&line_of(354, true)), Ok(true));
    assert_eq!(a.config(), &ParserConfig::DEFAULT);
}

#[test]
fn assembler_mismatched_code() {
    let mut a = Assembler::new(ParserConfig::DEFAULT);
    assert_eq!(a.push(&line_of(250, false)), Ok(false));
    assert_eq!(a.push(&line_of(251, true)), Err(ReplyError::MismatchedCode));
    assert_eq!(a.lines(), 1);
    a.reset();
    assert!(!a.in_progress());
    assert_eq!(a.push(&line_of(251, true)), Ok(true));
}

#[test]
fn assembler_line_limit() {
    let mut a = Assembler::new(ParserConfig::DEFAULT.with_max_lines(3));
    assert_eq!(a.push(&line_of(250, false)), Ok(false));
    assert_eq!(a.push(&line_of(250, false)), Ok(false));
    // A third line may end the reply...
    let mut b = a;
    assert_eq!(b.push(&line_of(250, true)), Ok(true));
    // ...but a third continuation line means a fourth line would follow.
    assert_eq!(a.push(&line_of(250, false)), Err(ReplyError::TooManyLines));
}

#[test]
fn assembler_zero_lines() {
    let mut a = Assembler::new(ParserConfig::DEFAULT.with_max_lines(0));
    assert_eq!(a.push(&line_of(250, true)), Err(ReplyError::TooManyLines));
    let mut a = Assembler::new(ParserConfig::DEFAULT.with_max_lines(1));
    assert_eq!(a.push(&line_of(250, true)), Ok(true));
    assert_eq!(a.push(&line_of(250, false)), Err(ReplyError::TooManyLines));
}

/// `name: input => Ok((code, [texts], consumed)) | Partial() | Err(e);` runs `parse_reply`.
macro_rules! reply {
    ($($name:ident: $input:expr => $kind:ident $args:tt;)*) => {$(
        #[test]
        fn $name() {
            reply!(@check parse_reply($input), $kind $args);
        }
    )*};
    (@check $result:expr, Ok(($code:expr, [$($text:expr),*], $consumed:expr))) => {{
        let Ok(Status::Complete((reply, consumed))) = $result else {
            panic!("not complete: {:?}", $result);
        };
        let texts: &[&[u8]] = &[$($text),*];
        assert_eq!(reply.code(), code($code));
        assert_eq!(consumed, $consumed);
        assert_eq!(usize::from(reply.line_count()), texts.len());
        assert_eq!(reply.lines().len(), texts.len());
        assert!(reply.lines().eq(texts.iter().copied()));
        assert_eq!(reply.first_line(), texts[0]);
    }};
    (@check $result:expr, Partial()) => {
        assert_eq!($result, Ok(Status::Partial));
    };
    (@check $result:expr, Err($e:expr)) => {
        assert_eq!($result, Err($e));
    };
}

reply! {
    reply_one_line: b"250 ok\r\n" => Ok((250, [b"ok"], 8));
    reply_bare_code: b"250\r\n" => Ok((250, [b""], 5));
    reply_empty_continuation: b"250-\r\n250 ok\r\n" => Ok((250, [b"", b"ok"], 14));
    reply_three: b"250-a\r\n250-b\r\n250 c\r\n" => Ok((250, [b"a", b"b", b"c"], 21));
    reply_leaves_next: b"250 a\r\n354 b\r\n" => Ok((250, [b"a"], 7));
    reply_partial_second: b"250-a\r\n250 b" => Partial();
    reply_partial_after_continuation: b"250-a\r\n" => Partial();
    reply_empty: b"" => Partial();
    reply_mismatch: b"250-a\r\n251 b\r\n" => Err(ReplyError::MismatchedCode);
    reply_bad_second: b"250-a\r\n2x" => Err(ReplyError::InvalidCode);
    reply_bare_lf_second: b"250-a\r\n250 b\n" => Err(ReplyError::BareLf);
}

#[test]
fn reply_enhanced_of_first_line() {
    let Ok(Status::Complete((reply, _))) =
        parse_reply(b"550-5.1.1 No such user\r\n550 5.1.1 see docs\r\n")
    else {
        panic!("not complete");
    };
    assert_eq!(
        reply.enhanced(),
        Some(EnhancedCode {
            class: 5,
            subject: 1,
            detail: 1
        })
    );
    assert_eq!(reply.first_line(), b"5.1.1 No such user");
    let Ok(Status::Complete((reply, _))) = parse_reply(b"250 OK\r\n") else {
        panic!("not complete");
    };
    assert_eq!(reply.enhanced(), None);
}

#[test]
fn reply_too_many_lines() {
    let config = ParserConfig::DEFAULT.with_max_lines(2);
    let input = b"250-a\r\n250-b\r\n250 c\r\n";
    assert_eq!(
        parse_reply_with(input, &config),
        Err(ReplyError::TooManyLines)
    );
    // Known after the second continuation line, before the third line arrives.
    assert_eq!(
        parse_reply_with(&input[..14], &config),
        Err(ReplyError::TooManyLines)
    );
    assert!(matches!(
        parse_reply_with(&input[7..], &config),
        Ok(Status::Complete((_, 14)))
    ));
}

#[test]
fn reply_lines_is_fused() {
    let Ok(Status::Complete((reply, _))) = parse_reply(b"250-a\r\n250 b\r\n") else {
        panic!("not complete");
    };
    let mut lines = reply.lines();
    assert_eq!(lines.size_hint(), (2, Some(2)));
    assert_eq!(lines.next(), Some(&b"a"[..]));
    assert_eq!(lines.next(), Some(&b"b"[..]));
    assert_eq!(lines.next(), None);
    assert_eq!(lines.next(), None);
    assert_eq!(lines.size_hint(), (0, Some(0)));
}

#[test]
fn config_default() {
    assert_eq!(ParserConfig::default(), ParserConfig::DEFAULT);
    assert_eq!(ParserConfig::DEFAULT.max_line_len, 512);
    assert_eq!(ParserConfig::DEFAULT.max_lines, 64);
}
