//! A hostile or broken server: every case ends in a typed error or the right
//! per-recipient report, never a panic, never a reported success that the server
//! did not give, and memory stays within the caller's buffers.

mod common;

use common::{BODY, BODY_WIRE, E, GREETING, MODES, Mode, Scripted, Step, addr, config, script};
use embedded_smtp::auth::{Credentials, Mechanism};
use embedded_smtp::engine::{Config, Stage};
use embedded_smtp::error::{Error, ProtocolError};
use embedded_smtp::message::RawMessage;
use embedded_smtp::reply::ReplyError;

type C<'a> = common::AnyClient<'a>;

fn session(c: &mut C<'_>) -> Result<usize, E> {
    c.connect()?;
    let r = c.send_raw(
        addr("alert@example.com"),
        [
            addr("a@example.com"),
            addr("b@example.com"),
            addr("c@example.com"),
        ],
        &mut RawMessage::new(BODY),
    )?;
    c.quit()?;
    Ok(r.accepted())
}

/// Runs `session` over `steps` in every mode; checks that the client played the
/// script to its end (or its final `CLOSE`/`FAIL`), so that a script cannot
/// silently stop testing half-way; returns the result (the same in all modes).
fn run(steps: Vec<Step>, cfg: Config<'static>) -> Result<usize, E> {
    run_to(steps, cfg, true)
}

/// [`run`] for a script the client must stop reading before its end (a reply too
/// long to buffer, an endless reply): the rest is what it refused to read.
fn run_partial(steps: Vec<Step>, cfg: Config<'static>) -> Result<usize, E> {
    run_to(steps, cfg, false)
}

fn run_to(steps: Vec<Step>, cfg: Config<'static>, whole: bool) -> Result<usize, E> {
    let mut first = None;
    for (driver, mode) in common::matrix(&MODES) {
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
        let mut c: C<'_> = C::new(
            driver,
            Scripted::new(steps.clone(), mode),
            cfg,
            &mut rx,
            &mut tx,
        )
        .unwrap();
        let r = session(&mut c);
        if whole {
            c.stream_mut().assert_finished();
        }
        match &first {
            None => first = Some(r),
            Some(f) => assert_eq!(&r, f, "{mode:?}"),
        }
    }
    first.unwrap()
}

fn after_ehlo(reply: &str) -> Vec<Step> {
    script(&format!("{GREETING}\n {reply}"))
}

#[test]
fn malformed_replies() {
    let cases: &[(&str, ReplyError)] = &[
        ("S: 2x0 ok", ReplyError::InvalidCode),
        ("S: 000 ok", ReplyError::InvalidCode),
        ("S: 099 ok", ReplyError::InvalidCode),
        ("S: 600 ok", ReplyError::InvalidCode),
        ("S: 160 ok", ReplyError::InvalidCode),
        ("S: 250_ok", ReplyError::InvalidSeparator),
        ("S: 250-a\n S: 220 b", ReplyError::MismatchedCode),
        ("S! 250 ok\\n", ReplyError::BareLf),
        ("S! 250 o\\rk\\r\\n", ReplyError::BareCr),
        ("S: 250 o\\x00k", ReplyError::Nul),
    ];
    // The parser stops at the first bad byte (in bytewise delivery, before the
    // rest of the line arrives): the rest is left unread.
    for (reply, err) in cases {
        assert_eq!(
            run_partial(after_ehlo(reply), config()),
            Err(Error::Reply(*err)),
            "{reply}"
        );
    }
}

#[test]
fn oversized_replies_stay_bounded() {
    // A 10 KB line: refused once 512 bytes hold no line end.
    let t = format!("{GREETING}\n S: 250 {}", "x".repeat(10 * 1024));
    let mut steps = script(&t);
    steps.push(Step::Close);
    assert_eq!(
        run_partial(steps, config()),
        Err(Error::Reply(ReplyError::LineTooLong))
    );
    // 100 KB of continuation lines that never end: refused at the line limit.
    let mut t = String::from(GREETING);
    for i in 0..2000 {
        t.push_str(&format!(
            "\n S: 250-EXTENSION{i} with some padding text to make it long"
        ));
    }
    assert_eq!(
        run_partial(script(&t), config()),
        Err(Error::Reply(ReplyError::TooManyLines))
    );
}

#[test]
fn odd_but_valid_replies_are_accepted() {
    // Non-UTF-8 text, "250" with no text, several replies in one read.
    let t = format!(
        "{GREETING}
         S: 250-mx \\xff\\xfe caf\\xe9
         S: 250-PIPELINING
         S: 250
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<a@example.com>
         C: RCPT TO:<b@example.com>
         C: RCPT TO:<c@example.com>
         C: DATA
         S: 250
         S: 251 2.1.5 will forward
         S: 252 2.1.5 cannot verify, will try
         S: 550 5.1.1 \\xc0\\xc1 unknown
         S: 354
         {BODY_WIRE}
         S: 250
         C: QUIT
         S: 221"
    );
    assert_eq!(run(script(&t), config()), Ok(2));
}

#[test]
fn two_of_three_recipients_refused() {
    let t = format!(
        "{GREETING}
         S: 250 mx
         C: MAIL FROM:<alert@example.com>
         S: 250 ok
         C: RCPT TO:<a@example.com>
         S: 550 no
         C: RCPT TO:<b@example.com>
         S: 250 ok
         C: RCPT TO:<c@example.com>
         S: 450 busy
         C: DATA
         S: 354 go
         {BODY_WIRE}
         S: 250 ok
         C: QUIT
         S: 221 bye"
    );
    assert_eq!(run(script(&t), config()), Ok(1));
}

#[test]
fn service_closing_at_every_stage() {
    let prefixes = [
        ("", Stage::Greeting),
        (GREETING, Stage::Ehlo),
        (
            "S: 220 mx\n C: EHLO client.example\n S: 250-mx\n S: 250 AUTH PLAIN\n C: AUTH PLAIN AGFsZXJ0AHMzY3JldA==",
            Stage::Auth,
        ),
        (
            "S: 220 mx\n C: EHLO client.example\n S: 250 mx\n C: MAIL FROM:<alert@example.com>",
            Stage::Mail,
        ),
        (
            "S: 220 mx\n C: EHLO client.example\n S: 250 mx\n C: MAIL FROM:<alert@example.com>\n S: 250 ok\n C: RCPT TO:<a@example.com>",
            Stage::Rcpt,
        ),
        (
            "S: 220 mx\n C: EHLO client.example\n S: 250 mx\n C: MAIL FROM:<alert@example.com>\n S: 250 ok\n C: RCPT TO:<a@example.com>\n S: 250 ok\n C: RCPT TO:<b@example.com>\n S: 250 ok\n C: RCPT TO:<c@example.com>\n S: 250 ok\n C: DATA",
            Stage::Data,
        ),
    ];
    let auth = config()
        .with_credentials(
            Credentials::try_new("alert", "s3cret")
                .unwrap()
                .with_mechanism(Mechanism::Plain),
        )
        .allow_plaintext_auth();
    for (prefix, stage) in prefixes {
        let cfg = if stage == Stage::Auth { auth } else { config() };
        let t = format!("{prefix}\n S: 421 4.3.2 closing");
        let r = run(script(&t), cfg);
        match r {
            Err(Error::Rejected { stage: s, response }) => {
                assert_eq!((s, response.code.get()), (stage, 421));
            }
            other => panic!("{stage:?}: {other:?}"),
        }
    }
}

#[test]
fn eof_mid_reply() {
    let mut steps = script(&format!("{GREETING}\n S! 250-mx\\r\\n250-PIPE"));
    steps.push(Step::Close);
    assert_eq!(
        run(steps, config()),
        Err(Error::Closed { stage: Stage::Ehlo })
    );
}

#[test]
fn auth_454_versus_535() {
    for (code, transient) in [
        ("454 4.7.0 try later", true),
        ("535 5.7.8 bad credentials", false),
    ] {
        let t = format!(
            "{GREETING}\n S: 250-mx\n S: 250 AUTH PLAIN\n C: AUTH PLAIN AGFsZXJ0AHMzY3JldA==\n S: {code}"
        );
        let cfg = config()
            .with_credentials(Credentials::try_new("alert", "s3cret").unwrap())
            .allow_plaintext_auth();
        let e = run(script(&t), cfg).unwrap_err();
        assert_eq!(e.is_transient(), transient, "{code}");
    }
}

#[test]
fn invalid_base64_challenge() {
    let t = format!("{GREETING}\n S: 250-mx\n S: 250 AUTH LOGIN\n C: AUTH LOGIN\n S: 334 ***");
    let cfg = config()
        .with_credentials(Credentials::try_new("alert", "s3cret").unwrap())
        .allow_plaintext_auth();
    assert_eq!(
        run(script(&t), cfg),
        Err(Error::Protocol(ProtocolError::InvalidChallenge))
    );
}

/// The full session cut after every byte the CLIENT sends: the write fails, the
/// result is a typed error, and success is never reported.
#[test]
fn connection_cut_at_every_client_byte() {
    let t = format!(
        "{GREETING}
         S: 250-mx
         S: 250 PIPELINING
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<a@example.com>
         C: RCPT TO:<b@example.com>
         C: RCPT TO:<c@example.com>
         C: DATA
         S: 250 ok
         S: 250 ok
         S: 250 ok
         S: 250 ok
         S: 354 go
         {BODY_WIRE}
         S: 250 ok
         C: QUIT
         S: 221 bye"
    );
    let full = script(&t);
    assert_eq!(run(full.clone(), config()), Ok(3));
    let client_total: usize = full
        .iter()
        .map(|s| if let Step::Client(b) = s { b.len() } else { 0 })
        .sum();
    let mut checked = 0;
    for cut in 0..client_total {
        let mut left = cut;
        let mut steps = vec![];
        for s in &full {
            match s {
                Step::Client(b) if left < b.len() => {
                    if left > 0 {
                        steps.push(Step::Client(b[..left].to_vec()));
                    }
                    steps.push(Step::Close);
                    break;
                }
                Step::Client(b) => {
                    left -= b.len();
                    steps.push(s.clone());
                }
                other => steps.push(other.clone()),
            }
        }
        for (driver, mode) in common::matrix(&[Mode::Whole, Mode::Bytewise]) {
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
            let mut c: C<'_> = C::new(
                driver,
                Scripted::new(steps.clone(), mode),
                config(),
                &mut rx,
                &mut tx,
            )
            .unwrap();
            let r = session(&mut c);
            // A cut inside QUIT comes after the message's 250 was read: `session`
            // still fails, at QUIT, and the report of the message was already given.
            match r {
                Err(Error::Io(common::Broken)) | Err(Error::Closed { .. }) => {}
                other => panic!("cut at client byte {cut} ({mode:?}): {other:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked}");
}

/// A code that is neither the success a command awaits nor a 4yz/5yz refusal is a
/// protocol error naming the stage and the code (never `Rejected`), and nothing
/// more is sent on that connection.
#[test]
fn replies_of_the_wrong_class_are_protocol_errors() {
    let unexpected = |stage, code| {
        Err(Error::Protocol(ProtocolError::UnexpectedReply {
            stage,
            code: embedded_smtp::reply::ReplyCode::new(code).unwrap(),
        }))
    };
    // 250 instead of the 220 greeting.
    let steps = script("S: 250 mx.example.net hello");
    assert_eq!(run(steps, config()), unexpected(Stage::Greeting, 250));
    // 354 to EHLO.
    let steps = script(&format!("{GREETING}\n S: 354 go ahead"));
    assert_eq!(run(steps, config()), unexpected(Stage::Ehlo, 354));
    // 354 to MAIL, without PIPELINING: MAIL is alone on the wire.
    let t = format!(
        "{GREETING}
         S: 250 mx.example.net
         C: MAIL FROM:<alert@example.com>
         S: 354 send the data"
    );
    let e = run(script(&t), config());
    assert_eq!(e, unexpected(Stage::Mail, 354));
    let e = e.unwrap_err();
    assert!(e.is_permanent());
    assert_eq!(e.code().map(|c| c.get()), Some(354));
    // 334 to the end of data.
    let t = format!(
        "{GREETING}
         S: 250 mx.example.net
         C: MAIL FROM:<alert@example.com>
         S: 250 ok
         C: RCPT TO:<a@example.com>
         S: 250 ok
         C: RCPT TO:<b@example.com>
         S: 250 ok
         C: RCPT TO:<c@example.com>
         S: 250 ok
         C: DATA
         S: 354 go ahead
         {BODY_WIRE}
         S: 334 what"
    );
    assert_eq!(run(script(&t), config()), unexpected(Stage::EndOfData, 334));
}
