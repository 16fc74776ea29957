//! The `send` example (its command line is a public interface) as a program: run against the aiosmtpd peer
//! (`tests/loopback/smtp_server.py`) on 127.0.0.1, checking its exit status, its
//! stderr and the bytes the server stored.
//!
//! Ignored like `tests/loopback.rs` unless run with `-- --include-ignored`.
//! The binary must be built first (`cargo test --all-features` builds the
//! examples; `.ci/run` runs `cargo build --all-features --example send`): it is
//! looked up in `target/<profile>/examples/` beside this test's executable.

// The `send` example is built with both encoders.
#![cfg(all(feature = "encoded-words", feature = "quoted-printable"))]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// `target/<profile>/examples/send`, from `target/<profile>/deps/<this test>`.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("send{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --all-features --example send` first",
        bin.display()
    );
    bin
}

/// A running server; killed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch(what: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "embedded-smtp-send-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn start(args: &[&str]) -> Server {
    start_mode("plain", args)
}

/// A server in `mode`; the TLS modes present `leaf-ecdsa` (for `localhost` and
/// 127.0.0.1) with the intermediate, under the test root `root-ca`.
fn start_mode(mode: &str, args: &[&str]) -> Server {
    start_with_chain(mode, &["leaf-ecdsa", "intermediate-ca"], args)
}

/// A server in `mode` presenting `chain` (names in tests/data/certs, leaf first,
/// the leaf's key beside it).
fn start_with_chain(mode: &str, chain_names: &[&str], args: &[&str]) -> Server {
    let dir = scratch("mail");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("python3");
    cmd.arg(root.join("tests/loopback/smtp_server.py"))
        .args(["--mode", mode, "--auth", "alice:s3cret-code-16ch"])
        .args(args)
        .arg("--out")
        .arg(&dir)
        .args(["--idle-timeout", "60"]);
    if mode != "plain" {
        let chain = scratch("chain").join("chain.pem");
        let mut pem = Vec::new();
        for name in chain_names {
            pem.extend(std::fs::read(certs().join(format!("{name}.pem"))).unwrap());
        }
        std::fs::write(&chain, pem).unwrap();
        cmd.arg("--cert")
            .arg(&chain)
            .arg("--key")
            .arg(certs().join(format!("{}.key.pem", chain_names[0])));
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 tests/loopback/smtp_server.py");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("READY ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("server did not start: {line:?}"));
    Server { child, port, dir }
}

fn certs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/certs")
}

fn cert(name: &str) -> String {
    certs().join(name).to_str().unwrap().to_string()
}

/// Runs `send` against `server` with `args`, `password` in `$SMTP_PASSWORD` and
/// `stdin` on its standard input.
fn send(server: &Server, password: Option<&str>, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.arg("--server")
        .arg(format!("127.0.0.1:{}", server.port))
        .args(["--timeout", "20", "--helo", "sender.loopback.test"])
        .args(args)
        .env_remove("SMTP_PASSWORD")
        .env_remove("SMTP_OAUTH_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("SMTP_PASSWORD", p);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stored(server: &Server, n: usize) -> (String, String) {
    let eml = std::fs::read(server.dir.join(format!("{n:04}.eml"))).unwrap();
    let json = std::fs::read_to_string(server.dir.join(format!("{n:04}.json"))).unwrap();
    (String::from_utf8(eml).unwrap(), json)
}

fn count(server: &Server) -> usize {
    std::fs::read_dir(&server.dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.ends_with(".eml") && !name.starts_with('.')
        })
        .count()
}

/// Replaces the parts that change from run to run (Date, the random Message-ID
/// and the MIME boundary made from it) with fixed tokens, after checking their shape.
fn normalise(eml: &str) -> String {
    let date = eml
        .lines()
        .find_map(|l| l.strip_prefix("Date: "))
        .expect("a Date header");
    // e.g. "Sat, 28 Nov 2026 16:16:05 +0000": the example writes UTC.
    assert!(
        date.ends_with(" +0000") && date.split(' ').count() == 6,
        "{date}"
    );
    let id = eml
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: <"))
        .and_then(|l| l.strip_suffix("@example.org>"))
        .expect("a Message-ID header");
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let mut out = eml.replace(date, "<date>").replace(id, "<id>");
    if let Some(i) = out.find("boundary=\"=_") {
        let start = i + "boundary=\"=_".len();
        let b = out[start..start + 32].to_string();
        assert!(b.bytes().all(|c| c.is_ascii_hexdigit()), "{b}");
        out = out.replace(&b, "<boundary>");
    }
    out
}

const AUTH: &[&str] = &["--tls", "none", "--user", "alice", "--allow-plaintext-auth"];

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn sends_with_cc_bcc_and_an_attachment_and_exits_0() {
    let server = start(&["--allow-plaintext-auth"]);
    let files = scratch("files");
    let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let attachment = files.join("readings.bin");
    std::fs::write(&attachment, &data).unwrap();
    let out = send(
        &server,
        Some("s3cret-code-16ch"),
        &[
            AUTH,
            &[
                "--from",
                "Alice <alice@example.org>",
                "--to",
                "bob@example.org",
                "--cc",
                "Dave <dave@example.org>",
                "--bcc",
                "carol@example.org",
                "--subject",
                "Kühlraum 2: alarm",
                "--attach",
                attachment.to_str().unwrap(),
            ],
        ]
        .concat(),
        // The body comes from stdin; a lone dot must survive.
        b"Cold room 2 is at 81.5 C.\n.\nEnd.\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "send: accepted for 3 recipient(s): 250 OK\n");
    assert!(out.stdout.is_empty());
    let (eml, json) = stored(&server, 1);
    // Bcc is an envelope recipient only.
    assert_eq!(
        json,
        r#"{"mail_from": "alice@example.org", "rcpt_tos": ["bob@example.org", "dave@example.org", "carol@example.org"], "mail_options": [], "rcpt_options": [], "auth_user": "alice"}"#
            .to_owned()
            + "\n"
    );
    assert!(!eml.to_ascii_lowercase().contains("carol"), "{eml}");
    assert!(!eml.contains("Bcc"), "{eml}");
    let b64: String = STANDARD
        .encode(&data)
        .as_bytes()
        .chunks(76)
        .map(|l| format!("{}\r\n", std::str::from_utf8(l).unwrap()))
        .collect();
    let expected = format!(
        "Date: <date>\r\n\
         From: Alice <alice@example.org>\r\n\
         To: bob@example.org\r\n\
         Cc: Dave <dave@example.org>\r\n\
         Subject: =?UTF-8?B?{subject}?=\r\n\
         Message-ID: <<id>@example.org>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"=_<boundary>\"\r\n\
         \r\n\
         --=_<boundary>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n\
         Cold room 2 is at 81.5 C.\r\n\
         .\r\n\
         End.\r\n\
         --=_<boundary>\r\n\
         Content-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"readings.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {b64}\
         --=_<boundary>--\r\n",
        subject = STANDARD.encode("Kühlraum 2: alarm"),
    );
    assert_eq!(normalise(&eml), expected);
    let _ = std::fs::remove_dir_all(files);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn a_refused_recipient_exits_2_and_is_listed() {
    let server = start(&[
        "--allow-plaintext-auth",
        "--reject-rcpt",
        "nobody@example.org",
    ]);
    let out = send(
        &server,
        Some("s3cret-code-16ch"),
        &[
            AUTH,
            &[
                "--from",
                "alice@example.org",
                "--to",
                "bob@example.org",
                "--to",
                "nobody@example.org",
                "--subject",
                "hi",
                "--body",
                "Hello.",
            ],
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "send: accepted for 1 recipient(s): 250 OK\n\
         send: refused: nobody@example.org: 550 5.1.1 No such user\n"
    );
    let (eml, json) = stored(&server, 1);
    assert!(
        json.contains(r#""rcpt_tos": ["bob@example.org"]"#),
        "{json}"
    );
    // The refused address is still in the To header: it is what the sender wrote.
    assert!(
        eml.contains("To: bob@example.org, nobody@example.org\r\n"),
        "{eml}"
    );
    assert!(eml.ends_with("\r\n\r\nHello.\r\n"), "{eml}");

    // Every recipient refused: nothing is sent, still exit 2 with the list.
    let out = send(
        &server,
        Some("s3cret-code-16ch"),
        &[
            AUTH,
            &[
                "--from",
                "alice@example.org",
                "--to",
                "nobody@example.org",
                "--subject",
                "hi",
                "--body",
                "Hello.",
            ],
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "send: no message sent: every recipient was refused\n\
         send: refused: nobody@example.org: 550 5.1.1 No such user\n"
    );
    assert_eq!(count(&server), 1);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn a_wrong_password_exits_1_with_the_authorization_code_hint() {
    let server = start(&["--allow-plaintext-auth"]);
    let out = send(
        &server,
        Some("the-qq-account-password"),
        &[
            AUTH,
            &[
                "--from",
                "alice@example.org",
                "--to",
                "bob@example.org",
                "--subject",
                "hi",
                "--body",
                "x",
            ],
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "send: error: AUTH refused: 535 5.7.8 Authentication credentials invalid (hint: "
        ),
        "{err}"
    );
    assert!(err.contains("16-character authorization code"), "{err}");
    assert!(err.contains("app password"), "{err}");
    assert_eq!(count(&server), 0);

    // No password in the environment: refused before connecting.
    let out = send(
        &server,
        None,
        &[
            AUTH,
            &[
                "--from",
                "alice@example.org",
                "--to",
                "b@example.org",
                "--body",
                "x",
            ],
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "send: error: --user needs the password or authorization code in $SMTP_PASSWORD\n"
    );

    // Plaintext AUTH without the explicit permission.
    let out = send(
        &server,
        Some("s3cret-code-16ch"),
        &[
            "--tls",
            "none",
            "--user",
            "alice",
            "--from",
            "alice@example.org",
            "--to",
            "b@example.org",
            "--body",
            "x",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("send: error: not supported by the server: refusing to send credentials"),
        "{err}"
    );
    assert!(err.contains("--allow-plaintext-auth"), "{err}");
    assert_eq!(count(&server), 0);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn verbose_transcript_redacts_auth() {
    let server = start(&["--allow-plaintext-auth"]);
    let secret = "s3cret-code-16ch";
    let b64_plain = STANDARD.encode(format!("\0alice\0{secret}"));
    for (mech, auth_lines) in [
        ("plain", vec!["C: AUTH PLAIN <redacted>"]),
        (
            "login",
            vec![
                "C: AUTH LOGIN",
                "S: 334 VXNlciBOYW1lAA==",
                "C: <redacted>",
                "S: 334 UGFzc3dvcmQA",
                "C: <redacted>",
            ],
        ),
    ] {
        let out = send(
            &server,
            Some(secret),
            &[
                AUTH,
                &[
                    "--auth",
                    mech,
                    "--from",
                    "alice@example.org",
                    "--to",
                    "bob@example.org",
                    "--subject",
                    "v",
                    "--body",
                    "Body line.",
                    "-v",
                ],
            ]
            .concat(),
            b"",
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let err = stderr(&out);
        for leak in [
            secret,
            b64_plain.as_str(),
            &STANDARD.encode(secret),
            "YWxpY2U=",
        ] {
            assert!(!err.contains(leak), "{leak} leaked:\n{err}");
        }
        let lines: Vec<&str> = err.lines().collect();
        let ehlo = lines.iter().position(|l| *l == "S: 250 HELP").unwrap();
        let mut expected = vec![
            "S: 220 localhost Python SMTP 1.4.6",
            "C: EHLO sender.loopback.test",
            "S: 250-localhost",
            "S: 250-SIZE 33554432",
            "S: 250-8BITMIME",
            "S: 250-SMTPUTF8",
            "S: 250-AUTH LOGIN PLAIN",
            "S: 250-PIPELINING",
            "S: 250 HELP",
        ];
        expected.extend(auth_lines);
        expected.extend([
            "S: 235 2.7.0 Authentication successful",
            "C: MAIL FROM:<alice@example.org>",
            "C: RCPT TO:<bob@example.org>",
            "C: DATA",
            "S: 250 OK",
            "S: 250 OK",
            "S: 354 End data with <CR><LF>.<CR><LF>",
        ]);
        assert_eq!(lines[..expected.len()], expected[..], "{err}");
        assert_eq!(ehlo, 8);
        // The only message goes out with `send_and_quit`: the server pipelines, so
        // QUIT leaves in the same write as the end of data.
        let tail = &lines[lines.len() - 6..];
        assert_eq!(
            tail,
            [
                "C: Body line.",
                "C: .",
                "C: QUIT",
                "S: 250 OK",
                "S: 221 Bye",
                "send: accepted for 1 recipient(s): 250 OK",
            ],
            "{err}"
        );
    }
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn repeat_sends_the_same_message_over_one_session() {
    let server = start(&[]);
    let out = send(
        &server,
        None,
        &[
            "--tls",
            "none",
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.org",
            "--subject",
            "again",
            "--body",
            "Same text.",
            "--repeat",
            "3",
            "-v",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("C: EHLO").count(), 1, "{err}");
    assert_eq!(err.matches("C: MAIL FROM").count(), 3, "{err}");
    assert_eq!(err.matches("C: QUIT").count(), 1, "{err}");
    // The first two messages end with `send`, the last with `send_and_quit`: QUIT
    // follows the third end of data in the same write.
    let lines: Vec<&str> = err.lines().collect();
    let after_dots: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == "C: .")
        .map(|(i, _)| lines[i + 1])
        .collect();
    assert_eq!(after_dots, ["S: 250 OK", "S: 250 OK", "C: QUIT"], "{err}");
    let rate = err
        .lines()
        .find(|l| l.starts_with("send: 3 message(s) in "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(rate.ends_with(" messages/s"), "{rate}");
    assert_eq!(count(&server), 3);
    let first = normalise(&stored(&server, 1).0);
    for n in 2..=3 {
        assert_eq!(normalise(&stored(&server, n).0), first);
    }
    assert!(first.ends_with("Subject: again\r\nMessage-ID: <<id>@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nSame text.\r\n"), "{first}");
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn tls_modes_and_bad_arguments_are_clear_errors() {
    let server = start(&[]);
    let base = [
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--body",
        "x",
    ];
    let out = send(
        &server,
        None,
        &[&["--tls", "tls1.2"][..], &base].concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "send: error: --tls tls1.2: expected implicit, starttls or none (see --help)\n"
    );
    let out = send(&server, None, &[&["--frm", "x"][..], &base].concat(), b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "send: error: unknown argument \"--frm\" (see --help)\n"
    );
    let out = send(
        &server,
        None,
        &[
            "--tls",
            "none",
            "--from",
            "no-at-sign",
            "--to",
            "b@example.org",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "send: error: --from \"no-at-sign\": address without '@'\n"
    );
    assert_eq!(count(&server), 0);
}

// ------------------------------------------------------------------ TLS --

/// The stored message of a one-line body, to compare after TLS runs.
fn assert_stored_hello(server: &Server, n: usize) {
    let (eml, json) = stored(server, n);
    assert_eq!(
        normalise(&eml),
        "Date: <date>\r\nFrom: alice@example.org\r\nTo: bob@example.org\r\nSubject: over TLS\r\n\
         Message-ID: <<id>@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello.\r\n"
    );
    assert!(
        json.starts_with(r#"{"mail_from": "alice@example.org", "rcpt_tos": ["bob@example.org"]"#),
        "{json}"
    );
}

const HELLO: &[&str] = &[
    "--from",
    "alice@example.org",
    "--to",
    "bob@example.org",
    "--subject",
    "over TLS",
    "--body",
    "Hello.",
];

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn starttls_with_a_ca_file_and_auth_login() {
    let server = start_mode("starttls", &["--require-auth"]);
    let root = cert("root-ca.pem");
    let out = send(
        &server,
        Some("s3cret-code-16ch"),
        &[
            &[
                "--tls",
                "starttls",
                "--ca-file",
                &root,
                "--user",
                "alice",
                "--auth",
                "login",
                "-v",
            ],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("s3cret"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let tls = lines
        .iter()
        .position(|l| *l == "-- TLS 1.3 established; EHLO again")
        .unwrap_or_else(|| panic!("{err}"));
    // A TLS 1.3 server: embedded-tls carries the session, and says so.
    assert_eq!(
        lines[tls - 3..tls],
        [
            "C: STARTTLS",
            "S: 220 Ready to start TLS",
            "send: TLS 1.3 with embedded-tls"
        ]
    );
    // AUTH only after TLS, and only offered there.
    assert_eq!(lines[tls + 1], "C: EHLO sender.loopback.test");
    assert!(!lines[..tls].iter().any(|l| l.contains("AUTH")), "{err}");
    let auth = lines.iter().position(|l| *l == "C: AUTH LOGIN").unwrap();
    assert!(auth > tls);
    assert_eq!(lines[auth + 2], "C: <redacted>");
    assert_eq!(lines[auth + 4], "C: <redacted>");
    assert_stored_hello(&server, 1);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn implicit_tls_with_a_der_ca_file_and_with_a_pin() {
    let server = start_mode("implicit", &[]);
    let root = cert("root-ca.der");
    let out = send(
        &server,
        Some("s3cret-code-16ch"),
        &[
            &[
                "--tls",
                "implicit",
                "--ca-file",
                &root,
                "--user",
                "alice",
                "-v",
            ],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "send: TLS 1.3 with embedded-tls\n\
             -- TLS 1.3 established with 127.0.0.1 (certificate verified)\n\
             S: 220 localhost Python SMTP 1.4.6\n"
        ),
        "{err}"
    );
    assert!(err.contains("\nC: AUTH PLAIN <redacted>\n"), "{err}");
    assert_stored_hello(&server, 1);

    // The leaf's SPKI pin from tests/data/certs/spki-sha256.txt, as hex and base64.
    let pins = std::fs::read_to_string(certs().join("spki-sha256.txt")).unwrap();
    let hex = pins
        .lines()
        .find_map(|l| l.strip_prefix("leaf-ecdsa "))
        .unwrap()
        .trim()
        .to_string();
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    for pin in [hex.clone(), STANDARD.encode(&bytes)] {
        let out = send(
            &server,
            None,
            &[&["--tls", "implicit", "--pin", &pin], HELLO].concat(),
            b"",
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(count(&server), 3);
    assert_stored_hello(&server, 3);
}

#[test]
#[cfg(feature = "tls-rsa")]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn implicit_tls_to_an_rsa_server_under_an_rsa_4096_intermediate() {
    // The big providers' shape, verified by the heapless RSA of `tls-rsa`: the
    // leaf's RSA-2048 key signs the CertificateVerify (RSA-PSS), the RSA-4096
    // intermediate signed the leaf (PKCS#1 v1.5).
    let server = start_with_chain("implicit", &["leaf-rsa-by-rsa4096", "rsa4096-ca"], &[]);
    let root = cert("root-ca.pem");
    let out = send(
        &server,
        Some("s3cret-code-16ch"),
        &[
            &[
                "--tls",
                "implicit",
                "--ca-file",
                &root,
                "--user",
                "alice",
                "-v",
            ],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(
            "send: TLS 1.3 with embedded-tls\n\
             -- TLS 1.3 established with 127.0.0.1 (certificate verified)\n"
        ),
        "{}",
        stderr(&out)
    );
    assert_stored_hello(&server, 1);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn tls_refusals_are_one_clear_line() {
    let implicit = start_mode("implicit", &[]);
    let starttls = start_mode("starttls", &[]);
    let other_root = cert("other-root-ca.pem");
    let root = cert("root-ca.pem");
    let zero_pin = "00".repeat(32);
    let cases: [(&Server, Vec<&str>, &str); 4] = [
        (
            &implicit,
            vec!["--tls", "implicit", "--ca-file", &other_root],
            "TLS: the server was not authenticated: ",
        ),
        (
            &implicit,
            vec!["--tls", "implicit", "--pin", &zero_pin],
            "TLS: the server was not authenticated: ",
        ),
        (
            &starttls,
            vec!["--tls", "implicit", "--ca-file", &root],
            "TLS: the server did not answer in TLS",
        ),
        (
            &starttls,
            vec!["--tls", "starttls", "--ca-file", &other_root],
            "TLS: the server was not authenticated: ",
        ),
    ];
    for (server, args, expected) in cases {
        let out = send(server, None, &[&args[..], HELLO].concat(), b"");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("send: error: "), "{err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert_eq!(count(&implicit) + count(&starttls), 0);

    // Turning verification off works, and says so.
    let out = send(
        &implicit,
        None,
        &[
            &["--tls", "implicit", "--danger-accept-invalid-certs"],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("send: WARNING: --danger-accept-invalid-certs: "));
    assert_stored_hello(&implicit, 1);
}

// ------------------------------------------------------- TLS 1.2 servers --

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn a_tls_1_2_only_server_is_named_as_such_with_the_embedded_backend() {
    let server = start_mode("implicit", &["--tls12-only"]);
    let root = cert("root-ca.pem");
    let out = send(
        &server,
        None,
        &[
            &[
                "--tls",
                "implicit",
                "--ca-file",
                &root,
                "--tls-backend",
                "embedded",
            ],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "send: error: connect to 127.0.0.1:{}: TLS: the server does not speak TLS 1.3; ",
            server.port
        )),
        "{err}"
    );
    assert!(err.contains("embedded-tls speaks TLS 1.3 only"), "{err}");
    assert_eq!(count(&server), 0);
}

/// The line `send` prints when it falls back to rustls.
fn fallback_line(server: &Server) -> String {
    format!(
        "send: 127.0.0.1:{} speaks only TLS 1.2, and embedded-tls only TLS 1.3: falling back \
         to rustls (a firmware build cannot reach this server)",
        server.port
    )
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn implicit_tls_1_2_falls_back_to_rustls_with_the_same_checks() {
    let server = start_mode("implicit", &["--tls12-only"]);
    let root = cert("root-ca.pem");
    let out = send(
        &server,
        Some("s3cret-code-16ch"),
        &[
            &[
                "--tls",
                "implicit",
                "--ca-file",
                &root,
                "--pin",
                &leaf_pin(),
                "--user",
                "alice",
                "-v",
            ],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "{}\n\
             send: TLS 1.2 with rustls\n\
             -- TLS established with 127.0.0.1 (certificate verified and public key matches a --pin)\n\
             S: 220 localhost Python SMTP 1.4.6\n",
            fallback_line(&server)
        )),
        "{err}"
    );
    assert!(err.contains("\nC: AUTH PLAIN <redacted>\n"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    assert_stored_hello(&server, 1);
    assert!(
        stored(&server, 1)
            .1
            .ends_with("\"auth_user\": \"alice\"}\n"),
        "{:?}",
        stored(&server, 1).1
    );

    // The refusals are the embedded path's, word for word.
    let other_root = cert("other-root-ca.pem");
    let zero_pin = "00".repeat(32);
    for (args, expected) in [
        (
            vec!["--ca-file", other_root.as_str()],
            "TLS: the server was not authenticated: ",
        ),
        (
            vec!["--ca-file", root.as_str(), "--pin", zero_pin.as_str()],
            "TLS: the server was not authenticated: the server's key matches no pin",
        ),
        (
            vec!["--pin", zero_pin.as_str()],
            "TLS: the server was not authenticated: the server's key matches no pin",
        ),
    ] {
        let out = send(
            &server,
            None,
            &[&["--tls", "implicit"], &args[..], HELLO].concat(),
            b"",
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert_eq!(lines[0], fallback_line(&server));
        assert!(
            lines[1].starts_with(&format!(
                "send: error: connect to 127.0.0.1:{}: {expected}",
                server.port
            )),
            "{args:?}: {err}"
        );
    }
    // What the embedded path says for the other root, the rustls path says too.
    let embedded = start_mode("implicit", &[]);
    let out = send(
        &embedded,
        None,
        &[&["--tls", "implicit", "--ca-file", &other_root], HELLO].concat(),
        b"",
    );
    let reason = |err: String| {
        err.split_once(": TLS: ")
            .map(|(_, r)| r.trim_end().to_string())
    };
    let out12 = send(
        &server,
        None,
        &[&["--tls", "implicit", "--ca-file", &other_root], HELLO].concat(),
        b"",
    );
    assert_eq!(
        reason(stderr(&out)),
        reason(stderr(&out12).lines().nth(1).unwrap().to_string())
    );
    assert!(reason(stderr(&out)).is_some(), "{}", stderr(&out));
    // The pin alone, and danger, are enough on rustls as on embedded-tls.
    let pin = leaf_pin();
    for args in [
        vec!["--pin", pin.as_str()],
        vec!["--danger-accept-invalid-certs"],
    ] {
        let out = send(
            &server,
            None,
            &[&["--tls", "implicit"], &args[..], HELLO].concat(),
            b"",
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("send: TLS 1.2 with rustls\n"));
    }
    assert_eq!(count(&server), 3);
    assert_eq!(count(&embedded), 0);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn starttls_1_2_falls_back_to_rustls_and_starts_again() {
    let server = start_mode("starttls", &["--tls12-only", "--require-auth"]);
    let root = cert("root-ca.pem");
    let out = send(
        &server,
        Some("s3cret-code-16ch"),
        &[
            &[
                "--tls",
                "starttls",
                "--ca-file",
                &root,
                "--user",
                "alice",
                "-v",
            ],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    // embedded-tls tries first and fails at the handshake; nothing was sent but
    // EHLO and STARTTLS. Then rustls on a new connection.
    let fallback = lines
        .iter()
        .position(|l| *l == fallback_line(&server))
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(
        lines[fallback - 2..fallback],
        ["C: STARTTLS", "S: 220 Ready to start TLS"],
        "{err}"
    );
    assert!(
        !lines[..fallback]
            .iter()
            .any(|l| l.contains("AUTH") || l.contains("MAIL")),
        "{err}"
    );
    assert_eq!(lines[fallback + 1], "S: 220 localhost Python SMTP 1.4.6");
    let tls = lines
        .iter()
        .position(|l| *l == "send: TLS 1.2 with rustls")
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(lines[tls - 1], "S: 220 Ready to start TLS");
    assert_eq!(lines[tls + 1], "-- TLS established; EHLO again");
    assert_eq!(lines[tls + 2], "C: EHLO sender.loopback.test");
    assert!(lines[tls..].contains(&"C: AUTH PLAIN <redacted>"), "{err}");
    assert!(
        !err.contains("embedded-tls\n") && !err.contains("send: TLS 1.3"),
        "{err}"
    );
    assert_stored_hello(&server, 1);
    assert_eq!(count(&server), 1);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn the_rustls_backend_by_choice_on_a_tls_1_3_server() {
    let root = cert("root-ca.pem");
    for mode in ["implicit", "starttls"] {
        let server = start_mode(mode, &[]);
        let out = send(
            &server,
            None,
            &[
                &["--tls", mode, "--ca-file", &root, "--tls-backend", "rustls"],
                HELLO,
            ]
            .concat(),
            b"",
        );
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "send: TLS 1.3 with rustls\nsend: accepted for 1 recipient(s): 250 OK\n",
            "{mode}"
        );
        assert_stored_hello(&server, 1);
        // The default on the same server: embedded-tls.
        let out = send(
            &server,
            None,
            &[&["--tls", mode, "--ca-file", &root], HELLO].concat(),
            b"",
        );
        assert_eq!(
            stderr(&out),
            "send: TLS 1.3 with embedded-tls\nsend: accepted for 1 recipient(s): 250 OK\n",
            "{mode}"
        );
        assert_eq!(count(&server), 2);
    }
}

#[path = "common/drip.rs"]
#[allow(dead_code)]
mod drip;

/// `send --timeout 2` against a server that drips its greeting, its EHLO reply or
/// its reply to the end of data one byte every 100 ms: the program ends within
/// 3 s with exit status 1 and one line naming the stage. No aiosmtpd needed: the
/// server is a thread on 127.0.0.1; only the binary must be built first.
#[test]
#[cfg(all(feature = "nal", feature = "std", feature = "tls"))]
#[ignore = "needs the send binary (cargo build --all-features --example send): .ci/run's loopback gate builds it and runs this file with --include-ignored"]
fn timeout_ends_a_dripping_server_within_three_seconds() {
    for (d, stage) in [
        (drip::Drip::Greeting, "greeting"),
        (drip::Drip::Ehlo, "EHLO"),
        (drip::Drip::EndOfData, "end of data"),
    ] {
        let (port, server) = drip::start(d);
        let started = std::time::Instant::now();
        let out = Command::new(binary())
            .args(["--server", &format!("127.0.0.1:{port}"), "--tls", "none"])
            .args(["--from", "alice@example.org", "--to", "bob@example.org"])
            .args(["--subject", "drip", "--body", "x", "--timeout", "2"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let took = started.elapsed();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{d:?}: {err}");
        assert!(
            err.contains(stage) && err.contains("did not answer in time"),
            "{d:?}: {err}"
        );
        assert!(took < std::time::Duration::from_secs(3), "{d:?}: {took:?}");
        server.join().unwrap();
    }
}

// ------------------------------------------------- flags as curl and swaks --

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn without_pipelining_quit_follows_the_reply_to_the_end_of_data() {
    let server = start(&["--no-pipelining"]);
    let out = send(
        &server,
        None,
        &[&["--tls", "none", "-v"], HELLO].concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[lines.len() - 5..],
        [
            "C: .",
            "S: 250 OK",
            "C: QUIT",
            "S: 221 Bye",
            "send: accepted for 1 recipient(s): 250 OK"
        ],
        "{err}"
    );
    assert_stored_hello(&server, 1);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn comma_separated_recipients_are_split_outside_quotes() {
    let server = start(&["--reject-rcpt", "nobody@example.org"]);
    let out = send(
        &server,
        None,
        &[
            "--tls",
            "none",
            "--from",
            "alice@example.org",
            "--to",
            r#""Doe, Jane" <jane@example.org>, bob@example.org"#,
            "--cc",
            "carol@example.org,dave@example.org",
            "--bcc",
            "erin@example.org , nobody@example.org",
            "--subject",
            "list",
            "--body",
            "x",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "send: accepted for 5 recipient(s): 250 OK\n\
         send: refused: nobody@example.org: 550 5.1.1 No such user\n"
    );
    let (eml, json) = stored(&server, 1);
    assert!(
        json.contains(
            r#""rcpt_tos": ["jane@example.org", "bob@example.org", "carol@example.org", "dave@example.org", "erin@example.org"]"#
        ),
        "{json}"
    );
    assert!(
        eml.contains("\r\nTo: \"Doe, Jane\" <jane@example.org>, bob@example.org\r\n"),
        "{eml}"
    );
    assert!(
        eml.contains("\r\nCc: carol@example.org, dave@example.org\r\n"),
        "{eml}"
    );
    assert!(!eml.contains("erin"), "{eml}");

    // An empty entry is refused before connecting.
    let out = send(
        &server,
        None,
        &[
            "--tls",
            "none",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org,,c@example.org",
            "--body",
            "x",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "send: error: --to \"b@example.org,,c@example.org\": an empty address in the list (see --help)\n"
    );
    assert_eq!(count(&server), 1);
}

/// The leaf-ecdsa key's pin (tests/data/certs/spki-sha256.txt), as hex.
fn leaf_pin() -> String {
    let pins = std::fs::read_to_string(certs().join("spki-sha256.txt")).unwrap();
    pins.lines()
        .find_map(|l| l.strip_prefix("leaf-ecdsa "))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn pin_with_ca_file_needs_both_to_hold() {
    let server = start_mode("implicit", &[]);
    let root = cert("root-ca.pem");
    let other_root = cert("other-root-ca.pem");
    let pin = leaf_pin();
    let wrong_pin = "00".repeat(32);
    // Both hold.
    let out = send(
        &server,
        None,
        &[
            &["--tls", "implicit", "--ca-file", &root, "--pin", &pin, "-v"],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(
            "send: TLS 1.3 with embedded-tls\n\
             -- TLS 1.3 established with 127.0.0.1 (certificate verified and public key matches a --pin)\n"
        ),
        "{}",
        stderr(&out)
    );
    assert_stored_hello(&server, 1);
    // The chain is good, the key is not pinned.
    let out = send(
        &server,
        None,
        &[
            &["--tls", "implicit", "--ca-file", &root, "--pin", &wrong_pin],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("TLS: the server was not authenticated: the server's key matches no pin"),
        "{}",
        stderr(&out)
    );
    // The key is pinned, the chain leads to no given anchor.
    let out = send(
        &server,
        None,
        &[
            &["--tls", "implicit", "--ca-file", &other_root, "--pin", &pin],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("TLS: the server was not authenticated: "),
        "{err}"
    );
    assert!(!err.contains("pin"), "{err}");
    assert_eq!(count(&server), 1);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn danger_wins_over_ca_file_with_a_warning_but_keeps_a_pin() {
    let server = start_mode("implicit", &[]);
    let other_root = cert("other-root-ca.pem");
    // The CA file alone refuses this server...
    let out = send(
        &server,
        None,
        &[&["--tls", "implicit", "--ca-file", &other_root], HELLO].concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // ...and `-k` wins over it, saying so.
    let out = send(
        &server,
        None,
        &[
            &[
                "--tls",
                "implicit",
                "--ca-file",
                &other_root,
                "--danger-accept-invalid-certs",
                "-v",
            ],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "send: warning: --danger-accept-invalid-certs wins over --ca-file: the certificate chain is not checked",
            "send: WARNING: --danger-accept-invalid-certs: the server is not authenticated; anyone on the path can read the password and the message",
            "send: TLS 1.3 with embedded-tls",
            "-- TLS 1.3 established with 127.0.0.1 (certificate NOT verified)",
        ],
        "{err}"
    );
    assert_stored_hello(&server, 1);
    // A pin is still checked under it, as curl keeps --pinnedpubkey under -k.
    let out = send(
        &server,
        None,
        &[
            &[
                "--tls",
                "implicit",
                "--danger-accept-invalid-certs",
                "--pin",
                &"00".repeat(32),
            ],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("matches no pin"), "{}", stderr(&out));
    let out = send(
        &server,
        None,
        &[
            &[
                "--tls",
                "implicit",
                "--danger-accept-invalid-certs",
                "--pin",
                &leaf_pin(),
            ],
            HELLO,
        ]
        .concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(count(&server), 2);
}

// ------------------------------------------------------------ message flags --

/// What Python's `email` package reads in a stored message
/// (`tests/loopback/mime_parts.py`): one tab-separated row per header and part.
fn mime_parts(server: &Server, n: usize) -> Vec<Vec<String>> {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loopback/mime_parts.py"))
        .arg(server.dir.join(format!("{n:04}.eml")))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn headers_reply_to_and_auto_submitted_are_stored() {
    let server = start(&[]);
    let out = send(
        &server,
        None,
        &[
            "--tls",
            "none",
            "--from",
            "Panel <panel@example.org>",
            "--to",
            "ops@example.org",
            "--reply-to",
            "Facilities desk <desk@example.org>, night@example.org",
            "--header",
            "X-Device-Id: panel-7",
            "--header",
            "X-Site:Kühlraum 2",
            "--auto-submitted",
            "--subject",
            "fields",
            "--body",
            "Body.",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (eml, _) = stored(&server, 1);
    assert_eq!(
        normalise(&eml),
        "Date: <date>\r\n\
         From: Panel <panel@example.org>\r\n\
         To: ops@example.org\r\n\
         Subject: fields\r\n\
         Message-ID: <<id>@example.org>\r\n\
         Reply-To: Facilities desk <desk@example.org>, night@example.org\r\n\
         Auto-Submitted: auto-generated\r\n\
         X-Device-Id: panel-7\r\n\
         X-Site: =?UTF-8?B?S8O8aGxyYXVtIDI=?=\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n\
         Body.\r\n"
    );
    let parts = mime_parts(&server, 1);
    assert!(
        parts.contains(&vec!["header".into(), "X-Site".into(), "Kühlraum 2".into()]),
        "{parts:?}"
    );

    // A header the writer owns, or a malformed one, is refused before connecting.
    for (arg, expected) in [
        (
            "Subject: again",
            "send: error: --header \"Subject: again\": ",
        ),
        (
            "no colon",
            "send: error: --header \"no colon\": expected \"Name: value\" (see --help)\n",
        ),
        ("Bad Name: x", "send: error: --header \"Bad Name: x\": "),
    ] {
        let out = send(
            &server,
            None,
            &[
                "--tls",
                "none",
                "--from",
                "a@example.org",
                "--to",
                "b@example.org",
                "--body",
                "x",
                "--header",
                arg,
            ],
            b"",
        );
        assert_eq!(out.status.code(), Some(1), "{arg}");
        assert!(
            stderr(&out).starts_with(expected),
            "{arg}: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
    assert_eq!(count(&server), 1);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn html_with_an_inline_image_and_an_attachment_is_stored() {
    let server = start(&[]);
    let files = scratch("html");
    let png: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
    let image = files.join("chart.png");
    std::fs::write(&image, &png).unwrap();
    let csv = files.join("readings.csv");
    std::fs::write(&csv, "t,v\n1,2\n").unwrap();
    let html_file = files.join("body.html");
    let html = "<p>Cold room 2:</p>\n<img src=\"cid:chart.png@example.org\">\n";
    std::fs::write(&html_file, html).unwrap();
    let out = send(
        &server,
        None,
        &[
            "--tls",
            "none",
            "--from",
            "panel@example.org",
            "--to",
            "ops@example.org",
            "--subject",
            "chart",
            "--body",
            "See the chart.",
            "--html-file",
            html_file.to_str().unwrap(),
            "--inline",
            image.to_str().unwrap(),
            "--attach",
            csv.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "send: --inline chart.png: Content-ID <chart.png@example.org>; the HTML shows it as cid:chart.png@example.org\n\
         send: accepted for 1 recipient(s): 250 OK\n"
    );
    // (The line break before a boundary belongs to the boundary: Python's parts end
    // without it.)
    let parts = mime_parts(&server, 1);
    let rows: Vec<Vec<String>> = parts.into_iter().filter(|r| r[0] != "header").collect();
    let row = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    assert_eq!(
        rows,
        [
            row(&["part", "0", "multipart/mixed", "-", "-", "-", "-", ""]),
            row(&["part", "1", "multipart/related", "-", "-", "-", "-", ""]),
            row(&["part", "2", "multipart/alternative", "-", "-", "-", "-", ""]),
            row(&[
                "part",
                "3",
                "text/plain",
                "utf-8",
                "-",
                "-",
                "-",
                &hex(b"See the chart.")
            ]),
            row(&[
                "part",
                "3",
                "text/html",
                "utf-8",
                "-",
                "-",
                "-",
                &hex(html.trim_end().as_bytes())
            ]),
            row(&[
                "part",
                "2",
                "image/png",
                "-",
                "inline",
                "chart.png",
                "<chart.png@example.org>",
                &hex(&png)
            ]),
            row(&[
                "part",
                "1",
                "text/csv",
                "-",
                "attachment",
                "readings.csv",
                "-",
                &hex(b"t,v\n1,2\n")
            ]),
        ],
    );

    // --html inline text, without an image: multipart/alternative only; a warning
    // when an --inline image is not referred to.
    let out = send(
        &server,
        None,
        &[
            "--tls",
            "none",
            "--from",
            "panel@example.org",
            "--to",
            "ops@example.org",
            "--subject",
            "x",
            "--body",
            "plain",
            "--html",
            "<b>bold</b>",
            "--inline",
            image.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("send: warning: the HTML does not refer to cid:chart.png@example.org\n"),
        "{}",
        stderr(&out)
    );
    let out = send(
        &server,
        None,
        &[
            "--tls",
            "none",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--body",
            "x",
            "--inline",
            image.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "send: error: --inline needs --html or --html-file (the HTML shows the image) (see --help)\n"
    );
    let out = send(
        &server,
        None,
        &[
            "--tls",
            "none",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--subject",
            "h",
            "--body",
            "plain",
            "--html",
            "<i>rich</i>",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<Vec<String>> = mime_parts(&server, 3)
        .into_iter()
        .filter(|r| r[0] != "header")
        .collect();
    assert_eq!(
        rows,
        [
            row(&["part", "0", "multipart/alternative", "-", "-", "-", "-", ""]),
            row(&[
                "part",
                "1",
                "text/plain",
                "utf-8",
                "-",
                "-",
                "-",
                &hex(b"plain")
            ]),
            row(&[
                "part",
                "1",
                "text/html",
                "utf-8",
                "-",
                "-",
                "-",
                &hex(b"<i>rich</i>")
            ]),
        ]
    );
    assert_eq!(count(&server), 3);
    let _ = std::fs::remove_dir_all(files);
}
