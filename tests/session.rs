//! Transcript tests: whole sessions through the blocking client against a scripted
//! server, asserting every byte the client sends. Each transcript runs whole, one
//! byte per read/write, and in random fragments (see `common::MODES`), and every
//! mode must give the same result.

mod common;

use common::{BODY, BODY_WIRE, E, GREETING, MODES, Mode, Scripted, Step, addr, config, script};
use embedded_smtp::auth::{Credentials, Mechanism};
use embedded_smtp::engine::{Config, MailParams, Security, Stage};
use embedded_smtp::error::{
    Error, Failure, Field, InputError, InputErrorKind, ProtocolError, Unsupported,
};
use embedded_smtp::message::RawMessage;
use embedded_smtp::reply::ReplyError;

type C<'a> = common::AnyClient<'a>;

const CAPS_PIPE: &str =
    "S: 250-mx.example.net\n S: 250-PIPELINING\n S: 250-AUTH LOGIN PLAIN\n S: 250 8BITMIME";
const CAPS_PLAIN: &str = "S: 250-mx.example.net\n S: 250 AUTH LOGIN PLAIN";
const AUTH_PLAIN: &str = "C: AUTH PLAIN AGFsZXJ0QGV4YW1wbGUuY29tAHMzY3JldC1jb2Rl\n S: 235 2.7.0 Authentication successful";
const QUIT: &str = "C: QUIT\n S: 221 2.0.0 Bye";

fn with_auth(m: Mechanism) -> Config<'static> {
    config()
        .with_credentials(
            Credentials::try_new("alert@example.com", "s3cret-code")
                .unwrap()
                .with_mechanism(m),
        )
        .allow_plaintext_auth()
}

/// Runs `f` on a fresh client over the transcript in every mode, checks that the
/// whole script was played and that every mode gave the same result, and returns it.
fn run<T: std::fmt::Debug + PartialEq>(
    text: &str,
    cfg: Config<'static>,
    f: impl Fn(&mut C<'_>) -> T,
) -> T {
    run_steps(script(text), cfg, f)
}

fn run_steps<T: std::fmt::Debug + PartialEq>(
    steps: Vec<Step>,
    cfg: Config<'static>,
    f: impl Fn(&mut C<'_>) -> T,
) -> T {
    let mut first: Option<T> = None;
    for (driver, mode) in common::matrix(&MODES) {
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
        let mut client: C<'_> = C::new(
            driver,
            Scripted::new(steps.clone(), mode),
            cfg,
            &mut rx,
            &mut tx,
        )
        .unwrap();
        let out = f(&mut client);
        client.stream_mut().assert_finished();
        match &first {
            None => first = Some(out),
            Some(f) => assert_eq!(&out, f, "mode {mode:?} differs from {:?}", MODES[0]),
        }
    }
    first.unwrap()
}

/// Connects, sends BODY to `to`, returns (accepted, refused codes) or the error.
fn send(c: &mut C<'_>, to: &[&str]) -> Result<(usize, Vec<u16>), E> {
    c.connect()?;
    let r = c.send_raw(
        addr("alert@example.com"),
        to.iter().map(|a| addr(a)),
        &mut RawMessage::new(BODY),
    )?;
    Ok((
        r.accepted(),
        r.refused().map(|(_, x)| x.code.get()).collect(),
    ))
}

fn send_quit(c: &mut C<'_>, to: &[&str]) -> Result<(usize, Vec<u16>), E> {
    let r = send(c, to)?;
    c.quit()?;
    Ok(r)
}

fn rejected(e: &E) -> (Stage, u16) {
    match e {
        Error::Rejected { stage, response } => (*stage, response.code.get()),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn happy_path_pipelining_auth_plain() {
    let t = format!(
        "{GREETING}
         {CAPS_PIPE}
         {AUTH_PLAIN}
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<ops@example.com>
         C: DATA
         S: 250 2.1.0 Ok
         S: 250 2.1.5 Ok
         S: 354 End data with <CR><LF>.<CR><LF>
         {BODY_WIRE}
         S: 250 2.0.0 Ok: queued as 4F2A
         {QUIT}"
    );
    let r = run(&t, with_auth(Mechanism::Auto), |c| {
        c.connect()?;
        let report = c.send_raw(
            addr("alert@example.com"),
            [addr("ops@example.com")],
            &mut RawMessage::new(BODY),
        )?;
        c.quit()?;
        let reply = *report.reply().unwrap();
        Ok::<_, E>((
            report.accepted(),
            reply.code.get(),
            reply.enhanced().map(|e| e.to_string()),
            reply.text_lossy().to_string(),
        ))
    });
    assert_eq!(
        r.unwrap(),
        (1, 250, Some("2.0.0".into()), "Ok: queued as 4F2A".into())
    );
}

#[test]
fn happy_path_without_pipelining() {
    let t = format!(
        "{GREETING}
         {CAPS_PLAIN}
         {AUTH_PLAIN}
         C: MAIL FROM:<alert@example.com>
         S: 250 Ok
         C: RCPT TO:<ops@example.com>
         S: 250 Ok
         C: RCPT TO:<cto@example.com>
         S: 251 User not local; will forward
         C: DATA
         S: 354 go ahead
         {BODY_WIRE}
         S: 250 Ok
         {QUIT}"
    );
    assert_eq!(
        run(&t, with_auth(Mechanism::Auto), |c| send_quit(
            c,
            &["ops@example.com", "cto@example.com"]
        )),
        Ok((2, vec![]))
    );
}

#[test]
fn pipelining_offered_but_disabled() {
    let t = format!(
        "{GREETING}
         {CAPS_PIPE}
         C: MAIL FROM:<alert@example.com>
         S: 250 Ok
         C: RCPT TO:<ops@example.com>
         S: 250 Ok
         C: DATA
         S: 354 go ahead
         {BODY_WIRE}
         S: 250 Ok
         {QUIT}"
    );
    assert_eq!(
        run(&t, config().with_pipelining(false), |c| send_quit(
            c,
            &["ops@example.com"]
        )),
        Ok((1, vec![]))
    );
}

#[test]
fn auth_login_with_prompts() {
    for (user_prompt, pass_prompt) in [
        ("VXNlcm5hbWU6", "UGFzc3dvcmQ6"),
        ("dXNlcm5hbWU6", "cGFzc3dvcmQ6"),
    ] {
        let t = format!(
            "{GREETING}
             S: 250-mx.example.net
             S: 250 AUTH=LOGIN
             C: AUTH LOGIN
             S: 334 {user_prompt}
             C: YWxlcnRAZXhhbXBsZS5jb20=
             S: 334 {pass_prompt}
             C: czNjcmV0LWNvZGU=
             S: 235 2.7.0 Accepted"
        );
        assert_eq!(run(&t, with_auth(Mechanism::Auto), |c| c.connect()), Ok(()));
        assert_eq!(
            run(&t, with_auth(Mechanism::Login), |c| c.connect()),
            Ok(())
        );
    }
}

#[test]
fn auth_login_password_before_user_is_refused() {
    let t = format!(
        "{GREETING}
         S: 250-mx.example.net
         S: 250 AUTH LOGIN
         C: AUTH LOGIN
         S: 334 UGFzc3dvcmQ6"
    );
    let e = run(&t, with_auth(Mechanism::Login), |c| c.connect()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Protocol(ProtocolError::UnexpectedReply {
                stage: Stage::Auth,
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn auth_login_rejected_535_with_hint() {
    let t = format!(
        "{GREETING}
         S: 250-mx.example.net
         S: 250 AUTH LOGIN
         C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: YWxlcnRAZXhhbXBsZS5jb20=
         S: 334 UGFzc3dvcmQ6
         C: czNjcmV0LWNvZGU=
         S: 535 Login Fail. Please enter your authorization code to login."
    );
    let e = run(&t, with_auth(Mechanism::Auto), |c| c.connect()).unwrap_err();
    assert_eq!(rejected(&e), (Stage::Auth, 535));
    assert!(e.is_permanent());
    let shown = e.to_string();
    assert!(
        shown.starts_with("AUTH refused: 535 Login Fail."),
        "{shown}"
    );
    assert!(
        shown.contains("authorization code or app password"),
        "{shown}"
    );
}

#[test]
fn auth_454_is_transient() {
    let t = format!(
        "{GREETING}
         {CAPS_PLAIN}
         {}
         S: 454 4.7.0 Temporary authentication failure",
        AUTH_PLAIN.lines().next().unwrap()
    );
    let e = run(&t, with_auth(Mechanism::Plain), |c| c.connect()).unwrap_err();
    assert_eq!(rejected(&e), (Stage::Auth, 454));
    assert!(e.is_transient());
}

#[test]
fn auth_xoauth2_success_and_failure() {
    let ok = format!(
        "{GREETING}
         S: 250-mx.example.net
         S: 250 AUTH LOGIN PLAIN XOAUTH2
         C: AUTH XOAUTH2 dXNlcj1hbGVydEBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciBzM2NyZXQtY29kZQEB
         S: 235 2.7.0 Accepted"
    );
    assert_eq!(
        run(&ok, with_auth(Mechanism::XOAuth2), |c| c.connect()),
        Ok(())
    );
    let fail = format!(
        "{GREETING}
         S: 250-mx.example.net
         S: 250 AUTH XOAUTH2
         C: AUTH XOAUTH2 dXNlcj1hbGVydEBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciBzM2NyZXQtY29kZQEB
         S: 334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==
         C:
         S: 535-5.7.8 Username and Password not accepted.
         S: 535 5.7.8 Learn more"
    );
    let e = run(&fail, with_auth(Mechanism::XOAuth2), |c| c.connect()).unwrap_err();
    assert_eq!(rejected(&e), (Stage::Auth, 535));
}

#[test]
fn auth_mechanism_not_offered() {
    let t = format!("{GREETING}\n S: 250-mx\n S: 250 AUTH LOGIN");
    assert_eq!(
        run(&t, with_auth(Mechanism::Plain), |c| c.connect()),
        Err(Error::Unsupported(Unsupported::AuthMechanism))
    );
    let t = format!("{GREETING}\n S: 250-mx\n S: 250 PIPELINING");
    assert_eq!(
        run(&t, with_auth(Mechanism::Auto), |c| c.connect()),
        Err(Error::Unsupported(Unsupported::AuthMechanism))
    );
}

#[test]
fn auth_refused_over_plaintext_without_permission() {
    let cfg = config().with_credentials(Credentials::try_new("u", "p").unwrap());
    // The script ends after EHLO: any further byte from the client fails the test.
    let t = format!("{GREETING}\n {CAPS_PLAIN}");
    assert_eq!(
        run(&t, cfg, |c| c.connect()),
        Err(Error::Unsupported(Unsupported::PlaintextAuth))
    );
}

#[test]
fn endless_challenges_are_cut_off() {
    let mut t = format!(
        "{GREETING}\n S: 250-mx\n S: 250 AUTH XOAUTH2\n C: AUTH XOAUTH2 dXNlcj1hbGVydEBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciBzM2NyZXQtY29kZQEB\n"
    );
    for _ in 0..4 {
        t.push_str("S: 334 e30=\nC:\n");
    }
    t.push_str("S: 334 e30=\n");
    assert_eq!(
        run(&t, with_auth(Mechanism::XOAuth2), |c| c.connect()),
        Err(Error::Protocol(ProtocolError::TooManyChallenges))
    );
}

#[test]
fn login_challenge_not_base64() {
    let t =
        format!("{GREETING}\n S: 250-mx\n S: 250 AUTH LOGIN\n C: AUTH LOGIN\n S: 334 Username:");
    assert_eq!(
        run(&t, with_auth(Mechanism::Login), |c| c.connect()),
        Err(Error::Protocol(ProtocolError::InvalidChallenge))
    );
}

#[test]
fn helo_fallback() {
    for code in [
        "500 5.5.1 Unrecognized command",
        "502 Command not implemented",
    ] {
        let t = format!(
            "{GREETING}
             S: {code}
             C: HELO client.example
             S: 250 mx.example.net
             C: MAIL FROM:<alert@example.com>
             S: 250 ok
             C: RCPT TO:<ops@example.com>
             S: 250 ok
             C: DATA
             S: 354 go
             {BODY_WIRE}
             S: 250 ok
             {QUIT}"
        );
        assert_eq!(
            run(&t, config(), |c| send_quit(c, &["ops@example.com"])),
            Ok((1, vec![]))
        );
    }
}

#[test]
fn ehlo_421_ends_without_helo() {
    let t = format!("{GREETING}\n S: 421 4.3.2 Service shutting down");
    let e = run(&t, config(), |c| c.connect()).unwrap_err();
    assert_eq!(rejected(&e), (Stage::Ehlo, 421));
    assert!(e.is_transient());
}

#[test]
fn ehlo_and_helo_refused() {
    let t = format!("{GREETING}\n S: 554 5.7.1 Go away");
    assert_eq!(
        rejected(&run(&t, config(), |c| c.connect()).unwrap_err()),
        (Stage::Ehlo, 554)
    );
    let t = format!("{GREETING}\n S: 502 no\n C: HELO client.example\n S: 501 bad name");
    assert_eq!(
        rejected(&run(&t, config(), |c| c.connect()).unwrap_err()),
        (Stage::Helo, 501)
    );
}

#[test]
fn greeting_refused() {
    for (code, transient) in [("554 No SMTP service here", false), ("421 Too busy", true)] {
        let e = run(&format!("S: {code}"), config(), |c| c.connect()).unwrap_err();
        assert_eq!(rejected(&e).0, Stage::Greeting);
        assert_eq!(e.is_transient(), transient);
    }
}

/// MAIL, DATA and end-of-data refusals, pipelined and not, with 4yz and 5yz.
#[test]
fn transaction_refusals_reset_and_keep_the_connection() {
    for (code, transient) in [
        ("550 5.7.1 Sender denied", false),
        ("451 4.3.0 Try later", true),
    ] {
        // MAIL refused, one command at a time: no RCPT is sent, RSET follows.
        let t = format!(
            "{GREETING}
             S: 250 mx.example.net
             C: MAIL FROM:<alert@example.com>
             S: {code}
             C: RSET
             S: 250 Ok
             {QUIT}"
        );
        let e = run(&t, config(), |c| {
            send_quit(c, &["ops@example.com"])
                .map_err(|e| (rejected(&e), e.is_transient(), c.quit()))
        });
        assert_eq!(
            e,
            Err(((Stage::Mail, code[..3].parse().unwrap()), transient, Ok(())))
        );

        // MAIL refused in a pipelined group: the other replies are read, then RSET.
        let t = format!(
            "{GREETING}
             S: 250-mx.example.net
             S: 250 PIPELINING
             C: MAIL FROM:<alert@example.com>
             C: RCPT TO:<ops@example.com>
             C: DATA
             S: {code}
             S: 503 5.5.1 Error: need MAIL command
             S: 503 5.5.1 Error: need RCPT command
             C: RSET
             S: 250 Ok"
        );
        let e = run(&t, config(), |c| {
            send(c, &["ops@example.com"]).map_err(|e| (rejected(&e), e.is_transient()))
        });
        assert_eq!(
            e,
            Err(((Stage::Mail, code[..3].parse().unwrap()), transient))
        );

        // DATA refused.
        let t = format!(
            "{GREETING}
             S: 250 mx.example.net
             C: MAIL FROM:<alert@example.com>
             S: 250 ok
             C: RCPT TO:<ops@example.com>
             S: 250 ok
             C: DATA
             S: {code}
             C: RSET
             S: 250 Ok"
        );
        let e = run(&t, config(), |c| {
            send(c, &["ops@example.com"]).map_err(|e| rejected(&e))
        });
        assert_eq!(e, Err((Stage::Data, code[..3].parse().unwrap())));

        // End of data refused: the transaction is over, the connection still usable.
        let t = format!(
            "{GREETING}
             S: 250 mx.example.net
             C: MAIL FROM:<alert@example.com>
             S: 250 ok
             C: RCPT TO:<ops@example.com>
             S: 250 ok
             C: DATA
             S: 354 go
             {BODY_WIRE}
             S: {code}
             {QUIT}"
        );
        let e = run(&t, config(), |c| {
            send(c, &["ops@example.com"]).map_err(|e| {
                (
                    rejected(&e),
                    e.is_transient(),
                    c.engine().is_usable(),
                    c.quit(),
                )
            })
        });
        assert_eq!(
            e,
            Err((
                (Stage::EndOfData, code[..3].parse().unwrap()),
                transient,
                true,
                Ok(())
            ))
        );
    }
}

#[test]
fn one_of_three_recipients_refused() {
    let t = format!(
        "{GREETING}
         {CAPS_PIPE}
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<a@example.com>
         C: RCPT TO:<nobody@example.com>
         C: RCPT TO:<c@example.com>
         C: DATA
         S: 250 2.1.0 Ok
         S: 250 2.1.5 Ok
         S: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown
         S: 252 2.1.5 Cannot VRFY user, but will accept message
         S: 354 go
         {BODY_WIRE}
         S: 250 2.0.0 Ok
         {QUIT}"
    );
    let r = run(&t, config(), |c| {
        c.connect()?;
        let rep = c.send_raw(
            addr("alert@example.com"),
            ["a@example.com", "nobody@example.com", "c@example.com"].map(addr),
            &mut RawMessage::new(BODY),
        )?;
        c.quit()?;
        let refused: Vec<_> = rep
            .refused()
            .map(|(i, r)| {
                (
                    i,
                    r.code.get(),
                    r.enhanced().unwrap().to_string(),
                    r.text_lossy().to_string(),
                )
            })
            .collect();
        Ok::<_, E>((
            rep.accepted(),
            refused,
            rep.recipients()
                .iter()
                .map(|r| r.code.get())
                .collect::<Vec<_>>(),
        ))
    });
    let (accepted, refused, codes) = r.unwrap();
    assert_eq!(accepted, 2);
    assert_eq!(codes, vec![250, 550, 252]);
    assert_eq!(
        refused,
        vec![(
            1,
            550,
            "5.1.1".to_string(),
            "<nobody@example.com>: Recipient address rejected: User unknown".to_string()
        )]
    );
}

#[test]
fn no_recipient_accepted_one_at_a_time() {
    let t = format!(
        "{GREETING}
         S: 250 mx.example.net
         C: MAIL FROM:<alert@example.com>
         S: 250 ok
         C: RCPT TO:<a@example.com>
         S: 550 5.1.1 unknown a
         C: RCPT TO:<b@example.com>
         S: 450 4.2.0 mailbox busy
         C: RSET
         S: 250 ok
         {QUIT}"
    );
    let r = run(&t, config(), |c| {
        let e = send(c, &["a@example.com", "b@example.com"]).unwrap_err();
        let report: Vec<u16> = c
            .engine()
            .report()
            .recipients()
            .iter()
            .map(|r| r.code.get())
            .collect();
        (e.clone(), e.is_transient(), report, c.quit())
    });
    match r.0 {
        Error::NoRecipients { refused, first } => {
            assert_eq!(refused, 2);
            assert_eq!(first.code.get(), 550);
            assert_eq!(first.text_lossy(), "unknown a");
        }
        other => panic!("{other:?}"),
    }
    assert!(!r.1, "the first refusal is permanent");
    assert_eq!(r.2, vec![550, 450]);
    assert_eq!(r.3, Ok(()));
}

#[test]
fn no_recipient_accepted_pipelined_but_data_354() {
    // RFC 2920 §3.1: the client must send "." and the server refuses the empty message.
    let t = format!(
        "{GREETING}
         {CAPS_PIPE}
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<a@example.com>
         C: DATA
         S: 250 ok
         S: 550 5.1.1 unknown
         S: 354 go ahead anyway
         C: .
         S: 554 5.5.1 Error: no valid recipients
         {QUIT}"
    );
    let r = run(&t, config(), |c| {
        (
            send(c, &["a@example.com"]).map_err(|e| e.code().map(|c| c.get())),
            c.quit(),
        )
    });
    assert_eq!(r, (Err(Some(550)), Ok(())));
}

#[test]
fn service_closing_421_mid_session() {
    let t = format!(
        "{GREETING}
         S: 250 mx.example.net
         C: MAIL FROM:<alert@example.com>
         S: 250 ok
         C: RCPT TO:<a@example.com>
         S: 421 4.4.2 mx.example.net Error: timeout exceeded"
    );
    let r = run(&t, config(), |c| {
        let e = send(c, &["a@example.com"]).unwrap_err();
        (
            rejected(&e),
            e.is_transient(),
            c.engine().is_usable(),
            c.quit().unwrap_err(),
        )
    });
    assert_eq!(
        r,
        (
            (Stage::Rcpt, 421),
            true,
            false,
            Error::Unusable {
                stage: Stage::Rcpt,
                failure: Failure::Session
            }
        )
    );
}

#[test]
fn two_messages_on_one_connection_with_a_failure_between() {
    let msg = |to: &str, last: &str| {
        format!(
            "C: MAIL FROM:<alert@example.com>
             C: RCPT TO:<{to}>
             C: DATA
             S: 250 ok
             S: 250 ok
             S: 354 go
             {BODY_WIRE}
             S: {last}"
        )
    };
    let t = format!(
        "{GREETING}
         {CAPS_PIPE}
         {}
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<x@example.com>
         C: DATA
         S: 250 ok
         S: 550 no such user
         S: 554 no valid recipients
         C: RSET
         S: 250 ok
         {}
         {QUIT}",
        msg("a@example.com", "250 queued 1"),
        msg("b@example.com", "250 queued 2")
    );
    let r = run(&t, config(), |c| {
        c.connect()?;
        let mut texts = vec![];
        for to in ["a@example.com", "x@example.com", "b@example.com"] {
            match c.send_raw(
                addr("alert@example.com"),
                [addr(to)],
                &mut RawMessage::new(BODY),
            ) {
                Ok(rep) => texts.push(rep.reply().unwrap().text_lossy().to_string()),
                Err(e) => texts.push(format!("{}", e.code().unwrap())),
            }
        }
        c.quit()?;
        Ok::<_, E>(texts)
    });
    assert_eq!(r.unwrap(), vec!["queued 1", "550", "queued 2"]);
}

#[test]
fn dots_are_stuffed_on_the_wire() {
    let body = b".leading dot\r\n.\r\nRSET\r\nbare\nlf\rand cr\r\n..two\r\nno final newline";
    let t = format!(
        "{GREETING}
         S: 250 mx.example.net
         C: MAIL FROM:<alert@example.com>
         S: 250 ok
         C: RCPT TO:<a@example.com>
         S: 250 ok
         C: DATA
         S: 354 go
         C: ..leading dot
         C: ..
         C: RSET
         C: bare
         C: lf
         C: and cr
         C: ...two
         C: no final newline
         C: .
         S: 250 ok"
    );
    let r = run(&t, config(), |c| {
        c.connect()?;
        c.send_raw(
            addr("alert@example.com"),
            [addr("a@example.com")],
            &mut RawMessage::new(body),
        )
        .map(|r| r.accepted())
    });
    assert_eq!(r, Ok(1));
}

#[test]
fn eight_bit_raw_message_needs_8bitmime() {
    let body = "Subject: x\r\n\r\nTemperatur 81 °C\r\n".as_bytes();
    let ok = format!(
        "{GREETING}
         S: 250-mx.example.net
         S: 250 8BITMIME
         C: MAIL FROM:<alert@example.com> BODY=8BITMIME
         S: 250 ok
         C: RCPT TO:<a@example.com>
         S: 250 ok
         C: DATA
         S: 354 go
         C: Subject: x
         C:
         C: Temperatur 81 \\xc2\\xb0C
         C: .
         S: 250 ok"
    );
    let send8 = |c: &mut C<'_>| {
        c.connect()?;
        c.send_raw(
            addr("alert@example.com"),
            [addr("a@example.com")],
            &mut RawMessage::new(body),
        )
        .map(|r| r.accepted())
    };
    assert_eq!(run(&ok, config(), send8), Ok(1));
    let lacking = format!("{GREETING}\n S: 250 mx.example.net");
    assert_eq!(
        run(&lacking, config(), send8),
        Err(Error::Unsupported(Unsupported::EightBitMime))
    );
}

#[test]
fn utf8_address_needs_smtputf8() {
    let lacking = format!("{GREETING}\n S: 250 mx.example.net");
    let r = run(&lacking, config(), |c| send(c, &["用户@example.com"]));
    assert_eq!(r, Err(Error::Unsupported(Unsupported::SmtpUtf8)));
    let ok = format!(
        "{GREETING}
         S: 250-mx.example.net
         S: 250 SMTPUTF8
         C: MAIL FROM:<alert@example.com> SMTPUTF8
         S: 250 ok
         C: RCPT TO:<用户@example.com>
         S: 250 ok
         C: DATA
         S: 354 go
         {BODY_WIRE}
         S: 250 ok"
    );
    assert_eq!(
        run(&ok, config(), |c| send(c, &["用户@example.com"])),
        Ok((1, vec![]))
    );
}

/// A non-ASCII `Reply-To` address is written raw into the header but is no
/// envelope address: the message itself asks for SMTPUTF8.
#[test]
fn utf8_reply_to_needs_smtputf8() {
    use embedded_smtp::message::Message;
    use embedded_smtp::{HeaderText, Mailbox};
    let to = [Mailbox::parse("ops@example.com").unwrap()];
    let reply_to = [Mailbox::parse("用户@example.com").unwrap()];
    let send = |c: &mut C<'_>| {
        c.connect()?;
        let mut m = Message::new(
            Mailbox::parse("alert@example.com").unwrap(),
            HeaderText::try_new("x").unwrap(),
        )
        .to(&to)
        .reply_to(&reply_to)
        .without_date()
        .text("x\n");
        assert!(m.needs_smtputf8());
        c.send(&mut m).map(|r| r.accepted())
    };
    // Refused before MAIL: the script has no MAIL line to match.
    let lacking = format!("{GREETING}\n S: 250 mx.example.net");
    assert_eq!(
        run(&lacking, config(), send),
        Err(Error::Unsupported(Unsupported::SmtpUtf8))
    );
    let ok = format!(
        "{GREETING}
         S: 250-mx.example.net
         S: 250 SMTPUTF8
         C: MAIL FROM:<alert@example.com> SMTPUTF8
         S: 550 5.6.7 stop here
         C: RSET
         S: 250 Ok"
    );
    let r = run(&ok, config(), |c| send(c).map_err(|e| rejected(&e)));
    assert_eq!(r, Err((Stage::Mail, 550)));
}

#[test]
fn size_is_declared_and_checked() {
    let t = format!(
        "{GREETING}
         S: 250-mx.example.net
         S: 250 SIZE 1000
         C: MAIL FROM:<alert@example.com> SIZE=34
         S: 250 ok
         C: RCPT TO:<a@example.com>
         S: 250 ok
         C: DATA
         S: 354 go
         {BODY_WIRE}
         S: 250 ok"
    );
    let r = run(&t, config(), |c| {
        c.connect()?;
        let big = c.send_with(
            Some(addr("alert@example.com")),
            [addr("a@example.com")],
            MailParams {
                size: Some(1001),
                ..Default::default()
            },
            &mut RawMessage::new(BODY),
        );
        assert_eq!(
            big.unwrap_err(),
            Error::Unsupported(Unsupported::MessageTooLarge { limit: 1000 })
        );
        let params = MailParams {
            size: Some(BODY.len() as u64),
            ..Default::default()
        };
        c.send_with(
            Some(addr("alert@example.com")),
            [addr("a@example.com")],
            params,
            &mut RawMessage::new(BODY),
        )
        .map(|r| r.accepted())
    });
    assert_eq!(r, Ok(1));
}

#[test]
fn recipient_count_is_bounded() {
    let t = format!("{GREETING}\n S: 250 mx.example.net");
    let many = ["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"];
    assert_eq!(
        run(&t, config(), |c| send(c, &many)),
        Err(Error::Input(InputError::new(
            Field::Recipients,
            InputErrorKind::TooManyRecipients { max: 4 }
        )))
    );
    assert_eq!(
        run(&t, config(), |c| send(c, &[])),
        Err(Error::Input(InputError::new(
            Field::Recipients,
            InputErrorKind::NoRecipients
        )))
    );
}

#[test]
fn starttls_rules() {
    let cfg = config().with_security(Security::StartTls);
    // Not offered: stop, never continue in plaintext.
    let t = format!("{GREETING}\n S: 250-mx.example.net\n S: 250 AUTH PLAIN");
    assert_eq!(
        run(&t, cfg, |c| c.connect()),
        Err(Error::Unsupported(Unsupported::StartTls))
    );
    // Refused with 454: stop.
    let t = format!(
        "{GREETING}\n S: 250-mx.example.net\n S: 250 STARTTLS\n C: STARTTLS\n S: 454 4.7.0 TLS not available"
    );
    let e = run(&t, cfg, |c| c.connect()).unwrap_err();
    assert_eq!(rejected(&e), (Stage::StartTls, 454));
    // Response injection: bytes after the 220, in the same read or later.
    let t = format!(
        "{GREETING}\n S: 250-mx.example.net\n S: 250 STARTTLS\n C: STARTTLS\n S: 220 2.0.0 Ready to start TLS\n S: 250-injected\n S: 250 AUTH PLAIN"
    );
    // In one read with the 220 (whole mode) the injected bytes are caught. When the
    // 220 arrives alone, the client stops reading before the handshake, so the
    // injected bytes would reach the TLS layer as garbage instead.
    for (mode, expected) in [
        (
            Mode::Whole,
            Error::Protocol(ProtocolError::StartTlsInjection),
        ),
        (
            Mode::Bytewise,
            Error::Unsupported(Unsupported::TlsUnavailable),
        ),
    ] {
        for &driver in common::DRIVERS {
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
            let mut c: C<'_> = C::new(
                driver,
                Scripted::new(script(&t), mode),
                cfg,
                &mut rx,
                &mut tx,
            )
            .unwrap();
            assert_eq!(c.connect(), Err(expected.clone()));
        }
    }
    // A clean 220 with a stream that cannot do TLS: a clear error, nothing more sent.
    let t = format!(
        "{GREETING}\n S: 250-mx.example.net\n S: 250 STARTTLS\n C: STARTTLS\n S: 220 2.0.0 Ready to start TLS"
    );
    assert_eq!(
        run(&t, cfg, |c| (c.connect(), c.engine().is_usable(), c.quit())),
        (
            Err(Error::Unsupported(Unsupported::TlsUnavailable)),
            false,
            // The engine heard that the upgrade failed.
            Err(Error::Unusable {
                stage: Stage::TlsHandshake,
                failure: Failure::Upgrade
            })
        )
    );
}

#[test]
fn malformed_replies_are_typed_errors() {
    for (reply, err) in [
        ("S: 25x ok", ReplyError::InvalidCode),
        ("S: 600 ok", ReplyError::InvalidCode),
        ("S: 250-a\n S: 251 b", ReplyError::MismatchedCode),
        ("S! 250 ok\\n", ReplyError::BareLf),
    ] {
        let t = format!("{GREETING}\n {reply}");
        let steps = script(&t);
        for (driver, mode) in common::matrix(&MODES) {
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
            let mut c: C<'_> = C::new(
                driver,
                Scripted::new(steps.clone(), mode),
                config(),
                &mut rx,
                &mut tx,
            )
            .unwrap();
            assert_eq!(c.connect(), Err(Error::Reply(err)), "{reply} in {mode:?}");
        }
    }
    // A line longer than 512 octets.
    let t = format!("{GREETING}\n S: 250 {}", "x".repeat(600));
    let steps = script(&t);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut c: C<'_> = C::new(
        common::Driver::Blocking,
        Scripted::new(steps, Mode::Whole),
        config(),
        &mut rx,
        &mut tx,
    )
    .unwrap();
    assert_eq!(c.connect(), Err(Error::Reply(ReplyError::LineTooLong)));
}

#[test]
fn buffers_too_small_are_refused() {
    let (mut rx, mut tx) = ([0u8; 100], [0u8; 512]);
    let r: Result<C<'_>, _> = C::new(
        common::Driver::Blocking,
        Scripted::new(vec![], Mode::Whole),
        config(),
        &mut rx,
        &mut tx,
    );
    assert_eq!(
        r.err(),
        Some(Error::Capacity {
            buffer: embedded_smtp::Buffer::Rx,
            required: 512
        })
    );
    // A recipient group that does not fit tx is refused before anything is sent.
    let t = format!("{GREETING}\n S: 250 mx.example.net");
    let steps = script(&t);
    let long = format!("{}@{}.example.com", "a".repeat(64), "b".repeat(60));
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut c: C<'_> = C::new(
        common::Driver::Blocking,
        Scripted::new(steps, Mode::Whole),
        config(),
        &mut rx,
        &mut tx,
    )
    .unwrap();
    c.connect().unwrap();
    let to = [addr(&long), addr(&long), addr(&long), addr(&long)];
    let e = c
        .send_raw(addr("alert@example.com"), to, &mut RawMessage::new(BODY))
        .unwrap_err();
    assert!(
        matches!(e, Error::Capacity { buffer: embedded_smtp::Buffer::Tx, required } if required > 512),
        "{e:?}"
    );
    assert!(c.engine().is_usable());
}

/// The happy path cut after every byte the server sends: the result is always a
/// typed error and never a reported success, unless the final 250 was complete.
#[test]
fn connection_dropped_at_every_point() {
    let t = format!(
        "{GREETING}
         {CAPS_PIPE}
         {AUTH_PLAIN}
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<ops@example.com>
         C: DATA
         S: 250 2.1.0 Ok
         S: 250 2.1.5 Ok
         S: 354 End data with <CR><LF>.<CR><LF>
         {BODY_WIRE}
         S: 250 2.0.0 Ok: queued as 4F2A"
    );
    let full = script(&t);
    let server_total: usize = full
        .iter()
        .map(|s| if let Step::Server(b) = s { b.len() } else { 0 })
        .sum();
    let mut cuts = 0;
    for cut in 0..server_total {
        // Keep `cut` bytes of server output, then close.
        let mut left = cut;
        let mut steps = vec![];
        for s in &full {
            match s {
                Step::Server(b) if left < b.len() => {
                    if left > 0 {
                        steps.push(Step::Server(b[..left].to_vec()));
                    }
                    steps.push(Step::Close);
                    break;
                }
                Step::Server(b) => {
                    left -= b.len();
                    steps.push(s.clone());
                }
                other => steps.push(other.clone()),
            }
        }
        for (driver, mode) in common::matrix(&[Mode::Whole, Mode::Bytewise, Mode::Fragmented(7)]) {
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
            let mut c: C<'_> = C::new(
                driver,
                Scripted::new(steps.clone(), mode),
                with_auth(Mechanism::Auto),
                &mut rx,
                &mut tx,
            )
            .unwrap();
            let r = send(&mut c, &["ops@example.com"]);
            match r {
                Err(Error::Closed { .. }) | Err(Error::Io(common::Broken)) => {}
                other => panic!("cut at {cut} in {mode:?}: {other:?}"),
            }
            assert!(r.unwrap_err().is_transient());
            cuts += 1;
        }
    }
    assert!(cuts > 300, "only {cuts} cuts");
}

/// Every stage refused once with a 4yz and once with a 5yz reply: the error names
/// the stage and the code, and says whether a retry can help.
#[test]
fn every_stage_refused_with_4yz_and_5yz() {
    let cfg_auth = with_auth(Mechanism::Plain);
    let cfg_tls = config().with_security(Security::StartTls);
    for (code, transient) in [("451 4.3.0 try later", true), ("554 5.7.1 refused", false)] {
        let n: u16 = code[..3].parse().unwrap();
        let to_ehlo = format!("{GREETING}\n S: 250-mx\n S: 250 AUTH PLAIN");
        let txn = "C: MAIL FROM:<alert@example.com>";
        let cases: Vec<(Stage, String, Config<'static>)> = vec![
            (Stage::Greeting, format!("S: {code}"), config()),
            (Stage::Ehlo, format!("{GREETING}\n S: {code}"), config()),
            (
                Stage::Helo,
                format!("{GREETING}\n S: 502 no\n C: HELO client.example\n S: {code}"),
                config(),
            ),
            (
                Stage::StartTls,
                format!("{GREETING}\n S: 250-mx\n S: 250 STARTTLS\n C: STARTTLS\n S: {code}"),
                cfg_tls,
            ),
            (
                Stage::Auth,
                format!(
                    "{to_ehlo}\n C: AUTH PLAIN AGFsZXJ0QGV4YW1wbGUuY29tAHMzY3JldC1jb2Rl\n S: {code}"
                ),
                cfg_auth,
            ),
            (
                Stage::Mail,
                format!("{to_ehlo}\n {txn}\n S: {code}\n C: RSET\n S: 250 ok"),
                config(),
            ),
            (
                Stage::Rcpt,
                format!(
                    "{to_ehlo}\n {txn}\n S: 250 ok\n C: RCPT TO:<a@example.com>\n S: {code}\n C: RSET\n S: 250 ok"
                ),
                config(),
            ),
            (
                Stage::Data,
                format!(
                    "{to_ehlo}\n {txn}\n S: 250 ok\n C: RCPT TO:<a@example.com>\n S: 250 ok\n C: DATA\n S: {code}\n C: RSET\n S: 250 ok"
                ),
                config(),
            ),
            (
                Stage::EndOfData,
                format!(
                    "{to_ehlo}\n {txn}\n S: 250 ok\n C: RCPT TO:<a@example.com>\n S: 250 ok\n C: DATA\n S: 354 go\n {BODY_WIRE}\n S: {code}"
                ),
                config(),
            ),
        ];
        for (stage, text, cfg) in cases {
            let e = run(&text, cfg, |c| send(c, &["a@example.com"])).unwrap_err();
            let got = match &e {
                Error::Rejected { stage, response } => (*stage, response.code.get()),
                Error::NoRecipients { first, .. } => (Stage::Rcpt, first.code.get()),
                other => panic!("{stage:?} {code}: {other:?}"),
            };
            assert_eq!(got, (stage, n), "{stage:?} {code}");
            assert_eq!(e.is_transient(), transient, "{stage:?} {code}");
            assert!(e.to_string().contains(&code[..3]), "{e}");
        }
    }
}

/// A 421 to the RSET after a refused MAIL: the refusal is what the caller hears,
/// and the connection is unusable.
#[test]
fn service_closing_while_resetting_keeps_the_first_error() {
    let t = format!(
        "{GREETING}
         S: 250 mx.example.net
         C: MAIL FROM:<alert@example.com>
         S: 550 5.7.1 sender denied
         C: RSET
         S: 421 4.3.2 shutting down"
    );
    let r = run(&t, config(), |c| {
        let e = send(c, &["a@example.com"]).unwrap_err();
        (rejected(&e), c.engine().is_usable())
    });
    assert_eq!(r, ((Stage::Mail, 550), false));
}

const CAPS_CHUNK_PIPE: &str = "S: 250-mx.example.net\n S: 250-PIPELINING\n S: 250 CHUNKING";

#[cfg(feature = "chunking")]
#[test]
fn bdat_pipelined_one_write_and_no_dot_stuffing() {
    // BDAT data is counted, not terminated: leading dots stay single (RFC 3030).
    let body = b".dot first\r\nsecond\n";
    let t = format!(
        "{GREETING}
         {CAPS_CHUNK_PIPE}
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<a@example.com>
         C: BDAT 20 LAST
         C: .dot first
         C: second
         S: 250 ok
         S: 250 ok
         S: 250 2.0.0 queued as B1"
    );
    let r = run(&t, config(), |c| {
        c.connect()?;
        let rep = c.send_raw(
            addr("alert@example.com"),
            [addr("a@example.com")],
            &mut RawMessage::new(body),
        )?;
        Ok::<_, E>(rep.reply().unwrap().text_lossy().to_string())
    });
    assert_eq!(r.unwrap(), "queued as B1");
}

#[cfg(feature = "chunking")]
#[test]
fn bdat_all_recipients_refused_is_reset() {
    let t = format!(
        "{GREETING}
         {CAPS_CHUNK_PIPE}
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<a@example.com>
         C: BDAT 34 LAST
         {}
         S: 250 ok
         S: 550 5.1.1 no such user
         S: 554 5.5.1 no valid recipients
         C: RSET
         S: 250 ok",
        BODY_WIRE.rsplit_once('\n').unwrap().0
    );
    let r = run(&t, config(), |c| {
        send(c, &["a@example.com"]).map_err(|e| (e.code().map(|c| c.get()), c.engine().is_usable()))
    });
    assert_eq!(r, Err((Some(550), true)));
}

#[cfg(feature = "chunking")]
#[test]
fn bdat_without_pipelining_waits_and_skips_data_when_refused() {
    let t = format!(
        "{GREETING}
         S: 250-mx.example.net
         S: 250 CHUNKING
         C: MAIL FROM:<alert@example.com>
         S: 250 ok
         C: RCPT TO:<a@example.com>
         S: 550 no
         C: RSET
         S: 250 ok
         C: MAIL FROM:<alert@example.com>
         S: 250 ok
         C: RCPT TO:<b@example.com>
         S: 250 ok
         C: BDAT 34 LAST
         {}
         S: 552 5.3.4 message too big
         C: RSET
         S: 250 ok",
        BODY_WIRE.rsplit_once('\n').unwrap().0
    );
    let r = run(&t, config(), |c| {
        let first = send(c, &["a@example.com"]).unwrap_err();
        let second = c
            .send_raw(
                addr("alert@example.com"),
                [addr("b@example.com")],
                &mut RawMessage::new(BODY),
            )
            .unwrap_err();
        (
            first.code().map(|c| c.get()),
            rejected(&second),
            c.engine().is_usable(),
        )
    });
    assert_eq!(r, (Some(550), (Stage::EndOfData, 552), true));
}

#[test]
fn chunking_can_be_turned_off() {
    assert_eq!(
        run(
            &data_though_chunking_offered(),
            config().with_chunking(false),
            |c| send(c, &["a@example.com"])
        ),
        Ok((1, vec![]))
    );
}

/// A build without feature `chunking` has no `BDAT`: a server that offers CHUNKING
/// gets `DATA`, with the default configuration too.
#[cfg(not(feature = "chunking"))]
#[test]
fn without_the_chunking_feature_data_is_used() {
    assert_eq!(
        run(&data_though_chunking_offered(), config(), |c| send(
            c,
            &["a@example.com"]
        )),
        Ok((1, vec![]))
    );
}

/// A pipelined `DATA` transaction with a server that offers CHUNKING.
fn data_though_chunking_offered() -> String {
    format!(
        "{GREETING}
         {CAPS_CHUNK_PIPE}
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<a@example.com>
         C: DATA
         S: 250 ok
         S: 250 ok
         S: 354 go
         {BODY_WIRE}
         S: 250 ok"
    )
}

// ------------------------------------------- the engine hears the transport --

#[test]
fn a_failed_read_makes_every_later_call_name_the_first_failure() {
    let out = run(&format!("{GREETING}\nFAIL"), config(), |c| {
        let first = c.connect().unwrap_err();
        assert_eq!(first, Error::Io(common::Broken));
        assert!(first.is_transient());
        assert!(!c.engine().is_usable());
        let send = c
            .send_raw(
                addr("alert@example.com"),
                [addr("ops@example.com")],
                &mut RawMessage::new(BODY),
            )
            .unwrap_err();
        (send, c.quit().unwrap_err(), c.connect().unwrap_err())
    });
    let unusable = Error::Unusable {
        stage: Stage::Ehlo,
        failure: Failure::Read,
    };
    assert_eq!(out, (unusable.clone(), unusable.clone(), unusable.clone()));
    assert!(!unusable.is_transient());
    assert_eq!(
        unusable.to_string(),
        "the session failed earlier (EHLO: a read failed); make a new connection"
    );
}

#[test]
fn a_failed_write_breaks_the_session_at_its_stage() {
    let text = format!("{GREETING}\n{CAPS_PIPE}\nC: MAIL FROM:<alert@example.com>\nFAIL");
    let out = run(&text, config(), |c| {
        c.connect().unwrap();
        assert!(c.engine().is_usable());
        let first = c
            .send_raw(
                addr("alert@example.com"),
                [addr("ops@example.com")],
                &mut RawMessage::new(BODY),
            )
            .unwrap_err();
        assert!(!c.engine().is_usable());
        (first, c.quit().unwrap_err())
    });
    assert_eq!(out.0, Error::Io(common::Broken));
    assert_eq!(
        out.1,
        Error::Unusable {
            stage: Stage::Mail,
            failure: Failure::Write
        }
    );
}

#[test]
fn a_closed_connection_is_remembered_too() {
    let out = run(&format!("{GREETING}\nCLOSE"), config(), |c| {
        let first = c.connect().unwrap_err();
        (first, c.quit().unwrap_err())
    });
    assert_eq!(out.0, Error::Closed { stage: Stage::Ehlo });
    assert_eq!(
        out.1,
        Error::Unusable {
            stage: Stage::Ehlo,
            failure: Failure::Closed
        }
    );
}

// ------------------------------------------------------------- implicit TLS --

/// An alert from `Message`, and its bytes on the wire (no line starts with a dot).
fn alert() -> (embedded_smtp::message::Message<'static>, String) {
    use embedded_smtp::message::{BodySource, Message};
    use embedded_smtp::{HeaderText, Mailbox};
    let to: &'static [Mailbox<'static>] =
        Box::leak(Box::new([Mailbox::parse("ops@example.com").unwrap()]));
    let make = || {
        Message::new(
            Mailbox::parse("alert@example.com").unwrap(),
            HeaderText::try_new("Door 3 opened").unwrap(),
        )
        .to(to)
        .date(embedded_smtp::message::DateTime {
            unix_seconds: 1_780_000_000,
            offset_minutes: 0,
        })
        .text("Door 3 opened at 04:12.\n")
    };
    let mut m = make();
    let mut w = m.writer();
    let (mut wire, mut buf) = (Vec::new(), [0u8; 256]);
    loop {
        let n = w.fill(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        wire.extend_from_slice(&buf[..n]);
    }
    let wire = String::from_utf8(wire).unwrap();
    assert!(!wire.contains("\n."), "the alert needs no dot-stuffing");
    let lines: Vec<String> = wire.lines().map(|l| format!("C: {l}")).collect();
    (make(), lines.join("\n "))
}

/// Implicit TLS with AUTH PLAIN (no plaintext permission needed: the stream is
/// encrypted), PIPELINING, no CHUNKING, one message with `send_and_quit`.
fn implicit_one_message(end_of_data: &str) -> String {
    let (_, wire) = alert();
    format!(
        "{GREETING}
         {CAPS_PIPE}
         {AUTH_PLAIN}
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<ops@example.com>
         C: DATA
         S: 250 2.1.0 Ok
         S: 250 2.1.5 Ok
         S: 354 End data with <CR><LF>.<CR><LF>
         {wire}
         C: .
         C: QUIT
         S: {end_of_data}
         S: 221 2.0.0 Bye"
    )
}

fn implicit_config() -> Config<'static> {
    config()
        .with_security(Security::Implicit)
        .with_credentials(Credentials::try_new("alert@example.com", "s3cret-code").unwrap())
}

#[test]
fn implicit_tls_one_message_waits_four_times_with_quit_in_the_last_flight() {
    let t = implicit_one_message("250 2.0.0 Ok: queued as 4F2A");
    let out = run(&t, implicit_config(), |c| {
        assert!(!c.engine().is_encrypted());
        assert_eq!(c.engine().stage(), Stage::TlsHandshake);
        c.connect()?;
        assert!(c.engine().is_encrypted());
        let report = c.send_and_quit(&mut alert().0)?;
        let stream = c.stream_mut();
        if !stream.deadlines.is_empty() {
            // The blocking client started the handshake's wait first, then the greeting's.
            assert_eq!(
                stream.deadlines[..2],
                [
                    Some(embedded_smtp::limits::TIMEOUT_TLS_HANDSHAKE),
                    Some(embedded_smtp::limits::TIMEOUT_GREETING)
                ]
            );
        }
        Ok::<_, E>((
            report.accepted(),
            report.reply().unwrap().text_lossy().to_owned(),
            stream.waits,
        ))
    });
    // EHLO, AUTH, MAIL+RCPT+DATA, then body + "." + QUIT: four waits after the greeting.
    assert_eq!(out, Ok((1, "Ok: queued as 4F2A".to_string(), 4)));
}

#[test]
fn implicit_tls_refused_message_still_reads_quit_and_reports_the_refusal() {
    let t = implicit_one_message("554 5.7.1 Message rejected as spam");
    let out = run(&t, implicit_config(), |c| {
        c.connect()?;
        let e = c.send_and_quit(&mut alert().0).unwrap_err();
        assert!(!c.engine().is_usable());
        Ok::<_, E>((rejected(&e), c.stream_mut().waits))
    });
    // QUIT's 221 was read (the script is played to its end by `run`).
    assert_eq!(out, Ok(((Stage::EndOfData, 554), 4)));
}

/// An upgrader whose implicit handshake never ends, and a timer that lets each
/// step of a wait run once: the async driver's handshake runs out of time.
#[cfg(feature = "async")]
#[test]
fn async_implicit_handshake_that_never_ends_times_out_naming_its_stage() {
    use core::future::Future;
    use embedded_smtp::asynch::{Client, TimedOut, Timer, Upgrade};
    use std::cell::RefCell;

    struct Stuck;
    impl Upgrade<Scripted> for Stuck {
        async fn upgrade(&mut self, _: &mut Scripted) -> Result<(), E> {
            core::future::pending().await
        }
    }
    struct OnePoll<'r>(&'r RefCell<Vec<Option<core::time::Duration>>>);
    impl Timer for OnePoll<'_> {
        fn start_wait(&mut self, limit: Option<core::time::Duration>) {
            self.0.borrow_mut().push(limit);
        }
        async fn with_timeout<F: Future>(&mut self, f: F) -> Result<F::Output, TimedOut> {
            let mut f = core::pin::pin!(f);
            let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
            match f.as_mut().poll(&mut cx) {
                core::task::Poll::Ready(v) => Ok(v),
                core::task::Poll::Pending => Err(TimedOut),
            }
        }
    }
    let seen = RefCell::new(vec![]);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let stream = Scripted::new(script(GREETING), Mode::Whole);
    let cfg = config()
        .with_security(Security::Implicit)
        .with_timeout(core::time::Duration::from_secs(9));
    let mut c: Client<'_, _, 4, _, _> =
        Client::with_upgrade(stream, Stuck, OnePoll(&seen), cfg, &mut rx, &mut tx).unwrap();
    let e = common::block_on(c.connect()).unwrap_err();
    assert_eq!(
        e,
        Error::TimedOut {
            stage: Stage::TlsHandshake
        }
    );
    assert_eq!(
        e.to_string(),
        "TLS handshake: the server did not answer in time"
    );
    // The handshake was the first wait, with the configured limit; nothing was read.
    assert_eq!(
        *seen.borrow(),
        vec![Some(core::time::Duration::from_secs(9))]
    );
    assert_eq!(c.stream_mut().reads, 0);
    assert_eq!(
        common::block_on(c.connect()),
        Err(Error::Unusable {
            stage: Stage::TlsHandshake,
            failure: Failure::TimedOut
        })
    );
}

/// An upgrader the caller keeps (`&mut`): the implicit handshake is asked of it
/// once, before the greeting is read, in both drivers.
#[test]
fn a_borrowed_upgrader_runs_the_implicit_handshake_once() {
    struct Counting {
        opens: usize,
        reads_before: Option<usize>,
    }
    impl embedded_smtp::blocking::Upgrade<Scripted> for Counting {
        fn upgrade(&mut self, _: &mut Scripted) -> Result<(), E> {
            panic!("no STARTTLS in this session")
        }
        fn open(&mut self, s: &mut Scripted) -> Result<(), E> {
            self.opens += 1;
            self.reads_before = Some(s.reads);
            Ok(())
        }
    }
    #[cfg(feature = "async")]
    impl embedded_smtp::asynch::Upgrade<Scripted> for Counting {
        async fn upgrade(&mut self, _: &mut Scripted) -> Result<(), E> {
            panic!("no STARTTLS in this session")
        }
        async fn open(&mut self, s: &mut Scripted) -> Result<(), E> {
            self.opens += 1;
            self.reads_before = Some(s.reads);
            Ok(())
        }
    }
    let t = format!("{GREETING}\n {CAPS_PLAIN}\n {QUIT}");
    let cfg = config().with_security(Security::Implicit);
    let mut up = Counting {
        opens: 0,
        reads_before: None,
    };
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut c: embedded_smtp::blocking::Client<'_, _, 4, _> =
        embedded_smtp::blocking::Client::with_upgrade(
            Scripted::new(script(&t), Mode::Bytewise),
            &mut up,
            cfg,
            &mut rx,
            &mut tx,
        )
        .unwrap();
    c.connect().unwrap();
    assert!(c.engine().is_encrypted());
    c.quit().unwrap();
    c.stream_mut().assert_finished();
    drop(c);
    assert_eq!((up.opens, up.reads_before), (1, Some(0)));
    #[cfg(feature = "async")]
    {
        let mut up = Counting {
            opens: 0,
            reads_before: None,
        };
        let mut c: embedded_smtp::asynch::Client<'_, _, 4, _, _> =
            embedded_smtp::asynch::Client::with_upgrade(
                Scripted::new(script(&t), Mode::Bytewise),
                &mut up,
                embedded_smtp::asynch::NoTimer,
                cfg,
                &mut rx,
                &mut tx,
            )
            .unwrap();
        common::block_on(c.connect()).unwrap();
        common::block_on(c.quit()).unwrap();
        c.stream_mut().assert_finished();
        drop(c);
        assert_eq!((up.opens, up.reads_before), (1, Some(0)));
    }
}
