//! `send`: a small swaks-like command that sends one email (or the same one N
//! times) through any SMTP server, with the same code a firmware runs:
//! std-embedded-nal → the crate's `nal` adapter → embedded-tls with the crate's
//! certificate verifier (`tls`) → the blocking client.
//!
//! ```text
//! SMTP_PASSWORD=... cargo run --release --features nal,std,tls-rsa,webpki-roots --example send -- \
//!     --server 127.0.0.1:2525 --tls none --user me@example.com --allow-plaintext-auth \
//!     --from me@example.com --to you@example.com --subject hi --body "hello"
//! ```
//!
//! The command line is a public interface (scripts and tests depend on it); `--help` prints it.
//! Exit status: 0 when every recipient was accepted, 2 when some (or all) were
//! refused (each listed on stderr), 1 on any other error, with one line that
//! says the stage, the reply code, the enhanced code and the server's text.
//!
//! With `-v` the SMTP dialogue goes to stderr as `C:`/`S:` lines. AUTH is
//! redacted by the transcript itself, line by line: an `AUTH` command keeps
//! only its mechanism, and every line the client sends in answer to a `334`
//! challenge is replaced by `<redacted>`. (The engine knows exactly which bytes
//! are secret, `Engine::is_sending_secret`, but the transcript sits in the
//! stream below the client and cannot ask it; these two rules cover every SASL
//! mechanism the client speaks.)

use std::fmt::Debug;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use embedded_io::{ErrorType, Read, Write};
use embedded_smtp::blocking::{Client, Deadline, Upgrade};
use embedded_smtp::engine::{Report, Stage};
use embedded_smtp::message::{Attachment, DateTime, Message};
use embedded_smtp::nal::{self, Backoff, FromNal};
use embedded_smtp::tls::blocking::TlsStream;
use embedded_smtp::tls::{
    Connector, StreamError, TLS_READ_BUFFER, TLS_WRITE_BUFFER, TlsFailure, decode_certificates,
};
use embedded_smtp::verify::{TimeSource, Verifier, VerifyError, anchor_from_der};
use embedded_smtp::{
    Config, Credentials, Domain, Error, HeaderText, Mailbox, Mechanism, Response, Security,
};
use embedded_tls::CryptoRngCore;
use rand_core::OsRng;

/// Most recipients (To + Cc + Bcc) of one message.
const MAX_RCPT: usize = 32;
/// Limit for resolving and connecting when `--timeout` is not given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

const USAGE: &str = "\
send: send an email through an SMTP server (embedded-smtp example)

usage: send [OPTIONS]
  --server HOST[:PORT]     default smtp.qq.com:465
  --tls implicit|starttls|none   default: implicit for port 465, starttls otherwise
  --ca-file FILE           PEM or DER trust anchor; repeatable; default: webpki-roots
  --pin SHA256             base64 SHA-256 of the server's SubjectPublicKeyInfo; repeatable
  --danger-accept-invalid-certs
  --user NAME              the password or authorization code is read from $SMTP_PASSWORD
  --auth auto|plain|login|xoauth2      xoauth2 token from $SMTP_OAUTH_TOKEN
  --allow-plaintext-auth   needed to authenticate without TLS
  --from ADDR              \"Name <a@b>\" or \"a@b\"; envelope sender and From:
  --to ADDR  --cc ADDR  --bcc ADDR     repeatable; Bcc never appears in headers
  --subject TEXT
  --body TEXT | --body-file FILE       otherwise the body is read from stdin
  --attach FILE            repeatable
  --helo NAME              default: the local host name
  --timeout SECS           overrides every phase limit
  --repeat N               send the same message N times over one session and
                           print messages per second to stderr
  -v, --verbose            the SMTP dialogue on stderr (C:/S: lines, AUTH redacted)
  -h, --help               this text

exit status: 0 every recipient accepted; 2 some or all recipients refused
(each listed on stderr); 1 any other error (one line on stderr).
";

// ------------------------------------------------------------- the options --

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Implicit,
    StartTls,
    None,
}

#[derive(Debug)]
enum Body {
    Text(String),
    File(PathBuf),
    Stdin,
}

#[derive(Debug)]
struct Opts {
    host: String,
    port: u16,
    tls: Mode,
    ca_files: Vec<PathBuf>,
    pins: Vec<[u8; 32]>,
    danger_accept_invalid_certs: bool,
    user: Option<String>,
    auth: Mechanism,
    allow_plaintext_auth: bool,
    from: String,
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    subject: String,
    body: Body,
    attach: Vec<PathBuf>,
    helo: Option<String>,
    timeout: Option<Duration>,
    repeat: Option<u32>,
    verbose: bool,
}

/// Parses the command line (without the program name). `Ok(None)` is `--help`.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Opts>, String> {
    let mut server: Option<String> = None;
    let mut tls: Option<Mode> = None;
    let mut o = Opts {
        host: String::new(),
        port: 0,
        tls: Mode::Implicit,
        ca_files: vec![],
        pins: vec![],
        danger_accept_invalid_certs: false,
        user: None,
        auth: Mechanism::Auto,
        allow_plaintext_auth: false,
        from: String::new(),
        to: vec![],
        cc: vec![],
        bcc: vec![],
        subject: String::new(),
        body: Body::Stdin,
        attach: vec![],
        helo: None,
        timeout: None,
        repeat: None,
        verbose: false,
    };
    let mut from = None;
    let mut auth_given = false;
    let mut body_given = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // `--flag=value` is accepted as well as `--flag value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "-v" | "--verbose" => o.verbose = true,
            "--server" => server = Some(value("--server")?),
            "--tls" => {
                tls = Some(match value("--tls")?.as_str() {
                    "implicit" => Mode::Implicit,
                    "starttls" => Mode::StartTls,
                    "none" => Mode::None,
                    v => return Err(format!("--tls {v}: expected implicit, starttls or none")),
                })
            }
            "--ca-file" => o.ca_files.push(value("--ca-file")?.into()),
            "--pin" => {
                let v = value("--pin")?;
                o.pins.push(
                    embedded_smtp::tls::parse_pin(&v).map_err(|e| format!("--pin {v}: {e}"))?,
                );
            }
            "--danger-accept-invalid-certs" => o.danger_accept_invalid_certs = true,
            "--user" => o.user = Some(value("--user")?),
            "--auth" => {
                auth_given = true;
                o.auth = match value("--auth")?.as_str() {
                    "auto" => Mechanism::Auto,
                    "plain" => Mechanism::Plain,
                    "login" => Mechanism::Login,
                    "xoauth2" => Mechanism::XOAuth2,
                    v => {
                        return Err(format!(
                            "--auth {v}: expected auto, plain, login or xoauth2"
                        ));
                    }
                }
            }
            "--allow-plaintext-auth" => o.allow_plaintext_auth = true,
            "--from" => from = Some(value("--from")?),
            "--to" => o.to.push(value("--to")?),
            "--cc" => o.cc.push(value("--cc")?),
            "--bcc" => o.bcc.push(value("--bcc")?),
            "--subject" => o.subject = value("--subject")?,
            "--body" | "--body-file" if body_given => {
                return Err("give --body or --body-file once".into());
            }
            "--body" => {
                body_given = true;
                o.body = Body::Text(value("--body")?);
            }
            "--body-file" => {
                body_given = true;
                o.body = Body::File(value("--body-file")?.into());
            }
            "--attach" => o.attach.push(value("--attach")?.into()),
            "--helo" => o.helo = Some(value("--helo")?),
            "--timeout" => {
                let v = value("--timeout")?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .ok_or_else(|| {
                        format!("--timeout {v}: expected a positive number of seconds")
                    })?;
                o.timeout = Some(Duration::from_secs_f64(secs));
            }
            "--repeat" => {
                let v = value("--repeat")?;
                o.repeat = Some(
                    v.parse()
                        .ok()
                        .filter(|&n: &u32| n > 0)
                        .ok_or_else(|| format!("--repeat {v}: expected a positive count"))?,
                );
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    let (host, port) = split_server(server.as_deref().unwrap_or("smtp.qq.com:465"), tls)?;
    o.host = host;
    o.port = port;
    o.tls = tls.unwrap_or(if port == 465 {
        Mode::Implicit
    } else {
        Mode::StartTls
    });
    o.from = from.ok_or("--from is required")?;
    if o.to.is_empty() && o.cc.is_empty() && o.bcc.is_empty() {
        return Err("at least one --to, --cc or --bcc is required".into());
    }
    if auth_given && o.user.is_none() {
        return Err("--auth needs --user".into());
    }
    if o.tls == Mode::None
        && (!o.ca_files.is_empty() || !o.pins.is_empty() || o.danger_accept_invalid_certs)
    {
        return Err(
            "--ca-file, --pin and --danger-accept-invalid-certs need TLS, not --tls none".into(),
        );
    }
    if !o.pins.is_empty() && !o.ca_files.is_empty() {
        return Err("give --pin or --ca-file, not both (a pin replaces the chain check)".into());
    }
    if o.danger_accept_invalid_certs && (!o.pins.is_empty() || !o.ca_files.is_empty()) {
        return Err(
            "--danger-accept-invalid-certs turns off what --pin and --ca-file ask for".into(),
        );
    }
    Ok(Some(o))
}

/// `HOST[:PORT]`, `[v6]:PORT` or a bare IPv6 address. Without a port: 465 for
/// implicit TLS (or no `--tls`), 587 for STARTTLS, 25 without TLS.
fn split_server(s: &str, tls: Option<Mode>) -> Result<(String, u16), String> {
    let default_port = match tls {
        None | Some(Mode::Implicit) => 465,
        Some(Mode::StartTls) => 587,
        Some(Mode::None) => 25,
    };
    let bad = || format!("--server {s}: expected HOST[:PORT]");
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(bad()),
        }
    } else if s.matches(':').count() == 1 {
        let (h, p) = s.split_once(':').ok_or_else(bad)?;
        (h, Some(p))
    } else {
        (s, None)
    };
    let port = match port {
        Some(p) => p.parse().ok().filter(|&p| p != 0).ok_or_else(bad)?,
        None => default_port,
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// The local host name for EHLO, or `localhost` when it is unknown or not a
/// valid domain.
fn local_host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty() && Domain::try_new(s).is_ok())
        .unwrap_or_else(|| "localhost".into())
}

// ---------------------------------------------------------- the transcript --

/// The stream the client sees: copies the SMTP dialogue to stderr as `C:`/`S:`
/// lines when `on`, with AUTH redacted (see the file's docs). It sits above TLS,
/// so the dialogue is shown in clear text in every mode. The client's deadline
/// passes through it to the socket.
struct Transcript<S> {
    inner: S,
    on: bool,
    sent: Vec<u8>,
    received: Vec<u8>,
    /// The last complete server line was a `334` challenge.
    challenged: bool,
}

impl<S> Transcript<S> {
    fn new(inner: S, on: bool) -> Self {
        Transcript {
            inner,
            on,
            sent: vec![],
            received: vec![],
            challenged: false,
        }
    }

    fn client_line(&mut self, line: &[u8]) {
        eprintln!(
            "C: {}",
            redact(self.challenged, &String::from_utf8_lossy(line))
        );
    }

    fn server_line(&mut self, line: &[u8]) {
        self.challenged = line.starts_with(b"334");
        eprintln!("S: {}", String::from_utf8_lossy(line));
    }
}

/// A client line as the transcript shows it: an answer to a `334` challenge is
/// `<redacted>`; an `AUTH` command keeps its verb and mechanism only.
fn redact(challenged: bool, line: &str) -> String {
    if challenged {
        return "<redacted>".into();
    }
    if !line
        .get(..5)
        .is_some_and(|v| v.eq_ignore_ascii_case("AUTH "))
    {
        return line.into();
    }
    let mut words = line.split(' ');
    let (verb, mech) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    match words.next() {
        Some(_) => format!("{verb} {mech} <redacted>"),
        None => format!("{verb} {mech}"),
    }
}

/// Takes each complete CRLF (or LF) line out of `buf`.
fn lines(buf: &mut Vec<u8>, mut each: impl FnMut(&[u8])) {
    while let Some(i) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=i).collect();
        let end = line.len() - 1 - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r');
        each(&line[..end]);
    }
}

impl<S: Deadline> Deadline for Transcript<S> {
    fn start_wait(&mut self, limit: Option<Duration>) {
        self.inner.start_wait(limit);
    }
}

impl<S: ErrorType> ErrorType for Transcript<S> {
    type Error = S::Error;
}

impl<S: Read> Read for Transcript<S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, S::Error> {
        let n = self.inner.read(buf)?;
        if self.on {
            self.received.extend_from_slice(&buf[..n]);
            let mut got = std::mem::take(&mut self.received);
            lines(&mut got, |l| self.server_line(l));
            self.received = got;
        }
        Ok(n)
    }
}

impl<S: Write> Write for Transcript<S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, S::Error> {
        let n = self.inner.write(buf)?;
        if self.on {
            self.sent.extend_from_slice(&buf[..n]);
            let mut out = std::mem::take(&mut self.sent);
            lines(&mut out, |l| self.client_line(l));
            self.sent = out;
        }
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), S::Error> {
        self.inner.flush()
    }
}

// ---------------------------------------------------------------- the socket --

type Tcp = FromNal<std_embedded_nal::Stack, Backoff>;

/// The TCP stream under everything: the crate's `nal` adapter over
/// std-embedded-nal, whose reads and writes of one wait share that wait's limit
/// (the client's [`Deadline`]), and the program's writes held until it next reads.
///
/// The holding matters for speed: std-embedded-nal leaves Nagle's algorithm on
/// (its socket offers no `set_nodelay`), and both the client (the end of data
/// after the body) and TLS (a record per flush) make small writes after larger
/// ones, which Nagle keeps back until the server's delayed ACK, about 40 ms
/// later. This program never waits for anything but the server's answer, so
/// everything written is sent, in one write, before each read; `flush` only
/// sends when the next read would not come (it is called before every wait).
struct Socket {
    tcp: Tcp,
    pending: Vec<u8>,
}

/// Most bytes [`Socket`] holds before writing them out: enough for a whole
/// message with attachments, so that it leaves in one write. (Two writes
/// without a read between them meet Nagle's algorithm as above: a 100 KB
/// message held to 32 KiB a write stalled 40 ms, like a 1 KB one not held.)
const HOLD: usize = 4 * 1024 * 1024;

impl Socket {
    fn new(tcp: Tcp) -> Self {
        Socket {
            tcp,
            pending: Vec::new(),
        }
    }

    /// Writes out everything held.
    fn drain(&mut self) -> Result<(), nal::Error<TcpError>> {
        let mut done = 0;
        let result = loop {
            if done == self.pending.len() {
                break Ok(());
            }
            match self.tcp.write(&self.pending[done..]) {
                // Closed: leave the rest; the next read sees the end of the stream.
                Ok(0) => break Ok(()),
                Ok(n) => done += n,
                Err(e) => break Err(e),
            }
        };
        self.pending.drain(..done);
        result
    }
}

impl Deadline for Socket {
    fn start_wait(&mut self, limit: Option<Duration>) {
        self.tcp.start_wait(limit);
    }
}

impl ErrorType for Socket {
    type Error = nal::Error<TcpError>;
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.drain()?;
        self.tcp.read(buf)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if self.pending.len() >= HOLD {
            self.drain()?;
            if self.pending.len() >= HOLD {
                return Ok(0); // closed
            }
        }
        let n = buf.len().min(HOLD - self.pending.len());
        self.pending.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// Deferred to the next read (see [`Socket`]).
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

// ------------------------------------------------------------ the session --

/// Owned parts of the message, read before connecting.
struct Parts {
    body: String,
    attachments: Vec<(String, &'static str, Vec<u8>)>,
}

fn read_parts(o: &Opts) -> Result<Parts, String> {
    let body = match &o.body {
        Body::Text(t) => t.clone(),
        Body::File(p) => {
            std::fs::read_to_string(p).map_err(|e| format!("--body-file {}: {e}", p.display()))?
        }
        Body::Stdin => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("reading the body from stdin: {e}"))?;
            s
        }
    };
    let mut attachments = vec![];
    for p in &o.attach {
        let bytes = std::fs::read(p).map_err(|e| format!("--attach {}: {e}", p.display()))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("--attach {}: not a file name", p.display()))?;
        attachments.push((name, content_type(p), bytes));
    }
    Ok(Parts { body, attachments })
}

fn content_type(p: &Path) -> &'static str {
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "htm" | "html" => "text/html",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        _ => "application/octet-stream",
    }
}

/// Random bytes for the Message-ID without an RNG crate: std's hasher keys are random.
fn random_bytes() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 16];
    for half in out.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(1);
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// How the sending went, for the exit status.
struct Summary {
    /// Refused recipients as (address, reply), over every message sent.
    refused: Vec<(String, Response)>,
}

/// Everything after the TCP (and TLS) connection is up: greeting, EHLO, AUTH,
/// the message `--repeat` times, QUIT. Generic over the stream so the plain and
/// TLS paths share it.
fn session<S, U>(
    client: &mut Client<'_, S, MAX_RCPT, U>,
    o: &Opts,
    parts: &Parts,
    mailboxes: &Mailboxes<'_>,
) -> Result<Summary, Error<S::Error>>
where
    S: Read + Write + Deadline,
    U: Upgrade<S>,
{
    client.connect()?;
    let subject = HeaderText::try_new(&o.subject)?;
    let all: Vec<&Mailbox<'_>> = mailboxes
        .to
        .iter()
        .chain(&mailboxes.cc)
        .chain(&mailboxes.bcc)
        .collect();
    let count = o.repeat.unwrap_or(1);
    let mut summary = Summary { refused: vec![] };
    let start = Instant::now();
    let mut sent = 0u32;
    for _ in 0..count {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut atts: Vec<Attachment<'_, &[u8]>> = parts
            .attachments
            .iter()
            .map(|(name, ct, bytes)| Attachment::new(name, ct, &bytes[..]))
            .collect::<Result<_, _>>()?;
        let mut message = Message::new(mailboxes.from, subject)
            .to(&mailboxes.to)
            .cc(&mailboxes.cc)
            .bcc(&mailboxes.bcc)
            .date(DateTime {
                unix_seconds: now,
                offset_minutes: 0,
            })
            .message_id(random_bytes())
            .text(&parts.body)
            .attachments(&mut atts);
        let report: Report<MAX_RCPT> = match client.send(&mut message) {
            Ok(r) => r,
            // Every recipient refused: nothing was sent; the report lists them.
            Err(Error::NoRecipients { .. }) => {
                let report = client.engine().report().clone();
                refused(&report, &all, &mut summary);
                eprintln!("send: no message sent: every recipient was refused");
                break;
            }
            Err(e) => return Err(e),
        };
        refused(&report, &all, &mut summary);
        sent += 1;
        if o.repeat.is_none()
            && let Some(reply) = report.reply()
        {
            eprintln!(
                "send: accepted for {} recipient(s): {reply}",
                report.accepted()
            );
        }
    }
    let elapsed = start.elapsed();
    if o.repeat.is_some() {
        let secs = elapsed.as_secs_f64();
        eprintln!(
            "send: {sent} message(s) in {secs:.3} s: {:.1} messages/s",
            f64::from(sent) / secs.max(1e-9)
        );
    }
    // The messages are accepted whatever QUIT does: a failure here is only a warning,
    // so that a script does not send them again.
    if let Err(e) = client.quit() {
        eprintln!("send: warning: QUIT failed after sending: {e}");
    }
    Ok(summary)
}

fn refused(report: &Report<MAX_RCPT>, all: &[&Mailbox<'_>], summary: &mut Summary) {
    for (i, r) in report.refused() {
        let who = all.get(i).map(|m| m.address().as_str()).unwrap_or("?");
        summary.refused.push((who.to_string(), *r));
    }
}

struct Mailboxes<'a> {
    from: Mailbox<'a>,
    to: Vec<Mailbox<'a>>,
    cc: Vec<Mailbox<'a>>,
    bcc: Vec<Mailbox<'a>>,
}

fn mailbox<'a>(flag: &str, s: &'a str) -> Result<Mailbox<'a>, String> {
    Mailbox::parse(s).map_err(|e| format!("{flag} {s:?}: {e}"))
}

fn mailbox_list<'a>(flag: &str, v: &'a [String]) -> Result<Vec<Mailbox<'a>>, String> {
    v.iter().map(|s| mailbox(flag, s)).collect()
}

fn mailboxes(o: &Opts) -> Result<Mailboxes<'_>, String> {
    Ok(Mailboxes {
        from: mailbox("--from", &o.from)?,
        to: mailbox_list("--to", &o.to)?,
        cc: mailbox_list("--cc", &o.cc)?,
        bcc: mailbox_list("--bcc", &o.bcc)?,
    })
}

// --------------------------------------------------------------- errors --

/// The transport errors of this program, as a short line.
trait Transport {
    fn describe(&self) -> String;
}

/// std-embedded-nal's TCP error (its type is not exported by name).
type TcpError = <std_embedded_nal::Stack as embedded_nal::TcpClientStack>::Error;

impl Transport for nal::Error<TcpError> {
    fn describe(&self) -> String {
        match self {
            nal::Error::Stack(e) => format!("network error: {}", e.0),
            nal::Error::TimedOut => "timed out".into(),
            other => format!("{other}"),
        }
    }
}

impl Transport for StreamError<nal::Error<TcpError>> {
    fn describe(&self) -> String {
        match self {
            StreamError::Socket(e) => e.describe(),
            StreamError::Tls(TlsFailure::Tls(embedded_tls::TlsError::Io(kind))) => {
                format!("TLS: the connection failed ({kind:?})")
            }
            StreamError::Tls(f) => format!("TLS: {f}"),
        }
    }
}

/// One actionable line for an error of the session.
fn describe<E: Transport + Debug>(e: &Error<E>, o: &Opts) -> String {
    let mut line = match e {
        Error::Io(io) => io.describe(),
        other => other.to_string(),
    };
    match e {
        Error::Rejected {
            stage: Stage::Auth,
            response,
        } if matches!(response.code.get(), 534 | 535) => {
            // The library's own hint is general; this one says what to put where.
            line = format!(
                "AUTH refused: {response} (hint: SMTP_PASSWORD must be the authorization code, \
                 not the account password: for QQ Mail the 16-character authorization code \
                 from Settings > Account > POP3/IMAP/SMTP service, for Gmail an app password)"
            );
        }
        Error::Rejected { response, .. }
            if response.code.get() == 550
                && response
                    .text
                    .as_str_lossy()
                    .to_ascii_lowercase()
                    .contains("from") =>
        {
            let from = Mailbox::parse(&o.from).map(|m| m.address().as_str().to_string());
            match (&o.user, from) {
                (Some(user), Ok(from)) if !user.eq_ignore_ascii_case(&from) => line.push_str(
                    &format!("; --from {from} is not the account you log in as (--user {user})"),
                ),
                _ => line.push_str("; --from must be the address of the account you log in as"),
            }
        }
        // `VerifyError::AlgorithmNotBuilt` names the feature itself.
        Error::Tls(TlsFailure::Verify(VerifyError::UnknownIssuer)) if o.ca_files.is_empty() => {
            line.push_str(" (for a private CA give --ca-file, or pin the key with --pin)");
        }
        Error::Unsupported(embedded_smtp::Unsupported::PlaintextAuth) => {
            line.push_str("; use TLS, or --allow-plaintext-auth for a server on a trusted network");
        }
        Error::Unsupported(embedded_smtp::Unsupported::StartTls) if o.tls == Mode::StartTls => {
            line.push_str("; try --tls implicit on port 465");
        }
        _ => {}
    }
    line
}

// ------------------------------------------------------------------ main --

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("send: error: {e} (see --help)");
            return ExitCode::from(1);
        }
    };
    match run(&opts) {
        Ok(summary) if summary.refused.is_empty() => ExitCode::SUCCESS,
        Ok(summary) => {
            for (who, r) in &summary.refused {
                eprintln!("send: refused: {who}: {r}");
            }
            ExitCode::from(2)
        }
        Err(line) => {
            eprintln!("send: error: {line}");
            ExitCode::from(1)
        }
    }
}

fn run(o: &Opts) -> Result<Summary, String> {
    // Everything that can fail on input fails before connecting.
    let secret = match (&o.user, o.auth) {
        (None, _) => None,
        (Some(_), Mechanism::XOAuth2) => Some(
            std::env::var("SMTP_OAUTH_TOKEN")
                .map_err(|_| "--auth xoauth2 needs the token in $SMTP_OAUTH_TOKEN")?,
        ),
        (Some(_), _) => Some(
            std::env::var("SMTP_PASSWORD")
                .map_err(|_| "--user needs the password or authorization code in $SMTP_PASSWORD")?,
        ),
    };
    let helo = o.helo.clone().unwrap_or_else(local_host_name);
    let client_id = Domain::try_new(&helo).map_err(|e| format!("--helo {helo:?}: {e}"))?;
    let mut config = Config::new(client_id);
    if let (Some(user), Some(secret)) = (&o.user, &secret) {
        let creds = Credentials::try_new(user, secret)
            .map_err(|e| format!("--user or its secret: {e}"))?
            .with_mechanism(o.auth);
        config = config.with_credentials(creds);
    }
    if o.allow_plaintext_auth {
        config = config.allow_plaintext_auth();
    }
    if let Some(t) = o.timeout {
        config = config.with_timeout(t);
    }
    let mailboxes = mailboxes(o)?;
    if mailboxes.to.len() + mailboxes.cc.len() + mailboxes.bcc.len() > MAX_RCPT {
        return Err(format!("at most {MAX_RCPT} recipients"));
    }
    HeaderText::try_new(&o.subject).map_err(|e| format!("--subject: {e}"))?;
    let parts = read_parts(o)?;

    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 8192]);

    if o.tls == Mode::None {
        let socket = Socket::new(connect(o)?);
        let stream = Transcript::new(socket, o.verbose);
        let config = config.with_security(Security::None);
        let mut client: Client<'_, _, MAX_RCPT> =
            Client::with_max_recipients(stream, config, &mut rx, &mut tx)
                .map_err(|e| describe(&e, o))?;
        return session(&mut client, o, &parts, &mailboxes).map_err(|e| describe(&e, o));
    }

    // TLS: how the server is authenticated.
    let ca_certs = read_ca_files(o)?;
    let anchors = ca_certs
        .iter()
        .map(|der| anchor_from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--ca-file: {e}"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .ok();
    let verifier = if o.danger_accept_invalid_certs {
        eprintln!(
            "send: WARNING: --danger-accept-invalid-certs: the server is not authenticated; \
             anyone on the path can read the password and the message"
        );
        Verifier::danger_no_verify()
    } else if !o.pins.is_empty() {
        Verifier::with_pins(&o.pins)
    } else if !anchors.is_empty() {
        Verifier::with_anchors(&anchors, TimeSource::from(now))
    } else {
        default_roots(TimeSource::from(now))?
    };
    let connector = Connector::new(&o.host, verifier, OsRng);
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let socket = Socket::new(connect(o)?);
    // The implicit handshake is the session's first step (in `connect`), bounded
    // like every other wait.
    let stream = TlsStream::new(socket, &mut tls_read, &mut tls_write);
    let security = if o.tls == Mode::Implicit {
        Security::Implicit
    } else {
        Security::StartTls
    };
    let stream = Transcript::new(stream, o.verbose);
    let config = config.with_security(security);
    let upgrade = Via(connector, tls_peer(o));
    let mut client: Client<'_, _, MAX_RCPT, _> =
        Client::with_upgrade(stream, upgrade, config, &mut rx, &mut tx)
            .map_err(|e| describe(&e, o))?;
    session(&mut client, o, &parts, &mailboxes).map_err(|e| {
        let line = describe(&e, o);
        if o.tls == Mode::Implicit && !client.engine().is_encrypted() {
            format!("connect to {}:{}: {line}", o.host, o.port)
        } else {
            line
        }
    })
}

/// How the transcript names the server after a handshake.
fn tls_peer(o: &Opts) -> String {
    if o.danger_accept_invalid_certs {
        format!("{} (certificate NOT verified)", o.host)
    } else if o.pins.is_empty() {
        format!("{} (certificate verified)", o.host)
    } else {
        format!("{} (public key matches a --pin)", o.host)
    }
}

/// Mozilla's roots when built with them.
#[cfg(feature = "webpki-roots")]
fn default_roots(time: TimeSource) -> Result<Verifier<'static>, String> {
    Ok(Verifier::with_webpki_roots(time))
}

#[cfg(not(feature = "webpki-roots"))]
fn default_roots(_: TimeSource) -> Result<Verifier<'static>, String> {
    Err(
        "this build has no default trust anchors (feature `webpki-roots`): give --ca-file or --pin"
            .into(),
    )
}

/// Every certificate of every `--ca-file` (PEM bundles or DER), as DER.
fn read_ca_files(o: &Opts) -> Result<Vec<Vec<u8>>, String> {
    let mut ders = vec![];
    for path in &o.ca_files {
        let file = std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        let mut out = vec![0u8; file.len()];
        let certs = decode_certificates::<256>(&file, &mut out)
            .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        ders.extend(certs.iter().map(|c| c.to_vec()));
    }
    Ok(ders)
}

/// The upgrader of the client's stream (the implicit handshake and STARTTLS):
/// runs the crate's [`Connector`] on the TLS stream under the transcript, and
/// names the server (the second field) in the transcript.
struct Via<C>(C, String);

impl<'b, T, Rng> Upgrade<Transcript<TlsStream<'b, T>>> for Via<Connector<'_, Rng>>
where
    T: Read + Write + Deadline + 'b,
    Rng: CryptoRngCore,
{
    fn upgrade(
        &mut self,
        stream: &mut Transcript<TlsStream<'b, T>>,
    ) -> Result<(), Error<StreamError<T::Error>>> {
        stream.inner.start_tls(&mut self.0)?;
        if stream.on {
            eprintln!("-- TLS 1.3 established; EHLO again");
        }
        Ok(())
    }

    fn open(
        &mut self,
        stream: &mut Transcript<TlsStream<'b, T>>,
    ) -> Result<(), Error<StreamError<T::Error>>> {
        stream.inner.start_tls(&mut self.0)?;
        if stream.on {
            eprintln!("-- TLS 1.3 established with {}", self.1);
        }
        Ok(())
    }
}

/// Resolves and connects with std-embedded-nal through the crate's adapter.
fn connect(o: &Opts) -> Result<Tcp, String> {
    let mut dns = std_embedded_nal::Stack;
    nal::connect(
        std_embedded_nal::Stack,
        &mut dns,
        &o.host,
        o.port,
        Backoff::default(),
        Some(o.timeout.unwrap_or(CONNECT_TIMEOUT)),
    )
    .map_err(|e| {
        let what = match e {
            nal::ConnectError::Resolve(e) => format!("cannot resolve the host name: {e}"),
            nal::ConnectError::Connect(e) => format!("{}", e.0),
            nal::ConnectError::TimedOut => "timed out".into(),
            other => other.to_string(),
        };
        format!("connect to {}:{}: {what}", o.host, o.port)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn server_and_tls_defaults() {
        let o = parse(args("--from a@b --to c@d")).unwrap().unwrap();
        assert_eq!(
            (o.host.as_str(), o.port, o.tls),
            ("smtp.qq.com", 465, Mode::Implicit)
        );
        let o = parse(args("--server mx:587 --from a@b --to c@d"))
            .unwrap()
            .unwrap();
        assert_eq!((o.port, o.tls), (587, Mode::StartTls));
        let o = parse(args("--server mx --tls none --from a@b --to c@d"))
            .unwrap()
            .unwrap();
        assert_eq!((o.port, o.tls), (25, Mode::None));
        let o = parse(args("--server [::1]:2525 --tls=none --from a@b --to c@d"))
            .unwrap()
            .unwrap();
        assert_eq!((o.host.as_str(), o.port), ("::1", 2525));
        assert!(parse(args("--server mx:0 --from a@b --to c@d")).is_err());
        assert!(parse(args("--from a@b")).is_err());
        assert!(parse(args("--to a@b")).is_err());
        assert!(parse(args("--from a@b --to c@d --auth login")).is_err());
        assert!(parse(args("--from a@b --to c@d --tls none --pin x")).is_err());
        assert!(parse(args("--help")).unwrap().is_none());
    }

    #[test]
    fn transcript_redaction() {
        assert_eq!(
            redact(false, "AUTH PLAIN AGFsaWNlAHMzY3JldA=="),
            "AUTH PLAIN <redacted>"
        );
        assert_eq!(
            redact(false, "auth xoauth2 dXNlcj1h"),
            "auth xoauth2 <redacted>"
        );
        assert_eq!(redact(false, "AUTH LOGIN"), "AUTH LOGIN");
        assert_eq!(redact(true, "YWxpY2U="), "<redacted>");
        assert_eq!(redact(true, ""), "<redacted>");
        assert_eq!(redact(false, "MAIL FROM:<a@b>"), "MAIL FROM:<a@b>");
        assert_eq!(redact(false, "AUTHOR: me"), "AUTHOR: me");
        assert_eq!(redact(false, "Añ"), "Añ");
        let mut buf = b"250-a\r\n250 b\nrest".to_vec();
        let mut got = vec![];
        lines(&mut buf, |l| got.push(l.to_vec()));
        assert_eq!(got, [b"250-a".to_vec(), b"250 b".to_vec()]);
        assert_eq!(buf, b"rest");
    }
}
