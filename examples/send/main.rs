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
//! A server that speaks only TLS 1.2 is out of embedded-tls's reach (TLS 1.3 only),
//! and so of every firmware build: `send` says so and, unless `--tls-backend
//! embedded`, starts again over rustls with the same certificate checks. It names
//! the backend it used on stderr.
//!
//! The program's parts: [`args`] (the command line), [`net`] (the socket and the
//! TLS setup), [`rustls_backend`] (the desktop-only TLS 1.2 path), [`transcript`]
//! (`-v`), [`session`] (the message and the exchange) and [`errors`] (one
//! actionable line per failure).

mod args;
mod errors;
mod net;
mod rustls_backend;
mod session;
mod transcript;

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use embedded_smtp::blocking::Client;
use embedded_smtp::tls::blocking::TlsStream;
use embedded_smtp::tls::{Connector, TLS_READ_BUFFER, TLS_WRITE_BUFFER, TlsFailure};
use embedded_smtp::verify::{TimeSource, Verifier, anchor_from_der};
use embedded_smtp::{Config, Credentials, Domain, Error, HeaderText, Mechanism, Security};
use rand_core::OsRng;

use args::{Backend, Mode, Opts, USAGE, local_host_name, parse};
use errors::describe;
use net::{Socket, Via, connect, read_ca_files, tls_peer, verifier_for, warn_verification};
use rustls_backend::{RustlsStream, RustlsTls, ViaRustls};
use session::{Mailboxes, Parts, Summary, mailboxes, read_parts, session};
use transcript::Transcript;

/// Most recipients (To + Cc + Bcc) of one message.
const MAX_RCPT: usize = 32;
/// Limit for resolving and connecting when `--timeout` is not given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

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
    let client_id = Domain::try_new(&helo).map_err(|e| format!("--helo {helo:?}: {}", e.kind()))?;
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
    HeaderText::try_new(&o.subject).map_err(|e| format!("--subject: {}", e.kind()))?;
    let parts = read_parts(o, mailboxes.from.address().domain())?;

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

    // TLS: how the server is authenticated, the same on both backends.
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
    let verifier = verifier_for(
        o.danger_accept_invalid_certs,
        &o.pins,
        &anchors,
        TimeSource::from(now),
    )?;
    warn_verification(o);
    let security = if o.tls == Mode::Implicit {
        Security::Implicit
    } else {
        Security::StartTls
    };
    let config = config.with_security(security);
    let job = Job {
        o,
        parts: &parts,
        mailboxes: &mailboxes,
        config,
    };
    match o.tls_backend {
        Backend::Rustls => job.with_rustls(&ca_certs),
        Backend::Embedded => job.with_embedded(verifier).map_err(|f| f.line),
        Backend::Auto => match job.with_embedded(verifier) {
            Err(Failed {
                tls13_only: true, ..
            }) => {
                eprintln!(
                    "send: {}:{} speaks only TLS 1.2, and embedded-tls only TLS 1.3: falling \
                     back to rustls (a firmware build cannot reach this server)",
                    o.host, o.port
                );
                job.with_rustls(&ca_certs)
            }
            other => other.map_err(|f| f.line),
        },
    }
}

/// A failure of the embedded-tls path: the line to print, and whether the server
/// speaks only an older TLS (so that rustls may try).
struct Failed {
    line: String,
    tls13_only: bool,
}

/// What a TLS session needs, whichever backend carries it.
struct Job<'a> {
    o: &'a Opts,
    parts: &'a Parts,
    mailboxes: &'a Mailboxes<'a>,
    config: Config<'a>,
}

impl Job<'_> {
    /// The session over embedded-tls, as a firmware runs it.
    fn with_embedded(&self, verifier: Verifier<'_>) -> Result<Summary, Failed> {
        let o = self.o;
        let failed = |e: &Error<_>, prefix: String| Failed {
            line: format!("{prefix}{}", describe(e, o)),
            tls13_only: matches!(e, Error::Tls(TlsFailure::ProtocolVersion)),
        };
        let connector = Connector::new(&o.host, verifier, OsRng);
        let (mut tls_read, mut tls_write) =
            (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
        let socket = Socket::new(connect(o).map_err(|line| Failed {
            line,
            tls13_only: false,
        })?);
        // With implicit TLS the handshake is the session's first step (in
        // `connect`), bounded by the engine's limit like every other wait.
        let stream = Transcript::new(
            TlsStream::new(socket, &mut tls_read, &mut tls_write),
            o.verbose,
        );
        let (mut rx, mut tx) = ([0u8; 1024], [0u8; 8192]);
        let upgrade = Via(connector, tls_peer(o));
        let mut client: Client<'_, _, MAX_RCPT, _> =
            Client::with_upgrade(stream, upgrade, self.config, &mut rx, &mut tx)
                .map_err(|e| failed(&e, String::new()))?;
        session(&mut client, o, self.parts, self.mailboxes)
            .map_err(|e| failed(&e, implicit_prefix(o, client.engine().is_encrypted())))
    }

    /// The session over rustls (desktop only), with the same certificate checks.
    fn with_rustls(&self, ca_certs: &[Vec<u8>]) -> Result<Summary, String> {
        let o = self.o;
        let tls = RustlsTls::new(&o.host, o.danger_accept_invalid_certs, &o.pins, ca_certs)?;
        let socket = Socket::new(connect(o)?);
        let stream = Transcript::new(RustlsStream::new(socket), o.verbose);
        let (mut rx, mut tx) = ([0u8; 1024], [0u8; 8192]);
        let upgrade = ViaRustls(tls, tls_peer(o));
        let mut client: Client<'_, _, MAX_RCPT, _> =
            Client::with_upgrade(stream, upgrade, self.config, &mut rx, &mut tx)
                .map_err(|e| describe(&e, o))?;
        session(&mut client, o, self.parts, self.mailboxes).map_err(|e| {
            let prefix = implicit_prefix(o, client.engine().is_encrypted());
            format!("{prefix}{}", describe(&e, o))
        })
    }
}

/// A failed implicit handshake is a failure to connect: its line says where to.
fn implicit_prefix(o: &Opts, encrypted: bool) -> String {
    if o.tls == Mode::Implicit && !encrypted {
        format!("connect to {}:{}: ", o.host, o.port)
    } else {
        String::new()
    }
}
