//! The command line: `--help`'s text, the options and their checks.

use std::path::PathBuf;
use std::time::Duration;

use embedded_smtp::{Domain, Mechanism};

pub(crate) const USAGE: &str = "\
send: send an email through an SMTP server (embedded-smtp example)

usage: send [OPTIONS]
  --server HOST[:PORT]     default smtp.qq.com:465
  --tls implicit|starttls|none   default: implicit for port 465, starttls otherwise
  --ca-file FILE           PEM or DER trust anchor; repeatable; default: webpki-roots
  --pin SHA256             base64 (or hex) SHA-256 of the server's SubjectPublicKeyInfo;
                           repeatable. Alone: the key is all that is checked. With
                           --ca-file: both must hold (as curl's --pinnedpubkey)
  --tls-backend embedded|rustls|auto   default auto: embedded-tls (TLS 1.3, what a
                           firmware runs), rustls when the server speaks only TLS 1.2
  --danger-accept-invalid-certs
                           check no certificate (curl's -k); wins over --ca-file,
                           with a warning; a --pin is still checked
  --user NAME              the password or authorization code is read from $SMTP_PASSWORD
  --auth auto|plain|login|xoauth2      xoauth2 token from $SMTP_OAUTH_TOKEN
  --allow-plaintext-auth   needed to authenticate without TLS
  --from ADDR              \"Name <a@b>\" or \"a@b\"; envelope sender and From:
  --to ADDR  --cc ADDR  --bcc ADDR     repeatable, or several in one value separated
                           by commas (outside quotes); Bcc never appears in headers
  --reply-to ADDR          repeatable, or several separated by commas
  --subject TEXT
  --header \"Name: value\"   a header field of your own; repeatable
  --auto-submitted         Auto-Submitted: auto-generated (no vacation replies)
  --body TEXT | --body-file FILE       otherwise the body is read from stdin
  --html TEXT | --html-file FILE       an HTML alternative of the body
  --inline FILE            an image the HTML shows; repeatable; prints the
                           Content-ID to refer to (cid:NAME@DOMAIN-OF-FROM)
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Implicit,
    StartTls,
    None,
}

/// Which TLS implementation carries the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// embedded-tls with the crate's verifier, what a firmware runs (TLS 1.3 only).
    Embedded,
    /// rustls with the same certificate checks (TLS 1.2 and 1.3), desktop only.
    Rustls,
    /// embedded-tls, then rustls when the server speaks only TLS 1.2.
    Auto,
}

#[derive(Debug)]
pub(crate) enum Body {
    Text(String),
    File(PathBuf),
    Stdin,
}

#[derive(Debug)]
pub(crate) struct Opts {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: Mode,
    pub(crate) tls_backend: Backend,
    pub(crate) ca_files: Vec<PathBuf>,
    pub(crate) pins: Vec<[u8; 32]>,
    pub(crate) danger_accept_invalid_certs: bool,
    pub(crate) user: Option<String>,
    pub(crate) auth: Mechanism,
    pub(crate) allow_plaintext_auth: bool,
    pub(crate) from: String,
    pub(crate) to: Vec<String>,
    pub(crate) cc: Vec<String>,
    pub(crate) bcc: Vec<String>,
    pub(crate) subject: String,
    pub(crate) body: Body,
    pub(crate) reply_to: Vec<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) auto_submitted: bool,
    pub(crate) html: Option<Body>,
    pub(crate) inline: Vec<PathBuf>,
    pub(crate) attach: Vec<PathBuf>,
    pub(crate) helo: Option<String>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) repeat: Option<u32>,
    pub(crate) verbose: bool,
}

/// Parses the command line (without the program name). `Ok(None)` is `--help`.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Opts>, String> {
    let mut server: Option<String> = None;
    let mut tls: Option<Mode> = None;
    let mut backend_given = false;
    let mut o = Opts {
        host: String::new(),
        port: 0,
        tls: Mode::Implicit,
        tls_backend: Backend::Auto,
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
        reply_to: vec![],
        headers: vec![],
        auto_submitted: false,
        html: None,
        inline: vec![],
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
            "--tls-backend" => {
                backend_given = true;
                o.tls_backend = match value("--tls-backend")?.as_str() {
                    "embedded" => Backend::Embedded,
                    "rustls" => Backend::Rustls,
                    "auto" => Backend::Auto,
                    v => {
                        return Err(format!(
                            "--tls-backend {v}: expected embedded, rustls or auto"
                        ));
                    }
                }
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
            "--to" => o.to.extend(address_list("--to", &value("--to")?)?),
            "--cc" => o.cc.extend(address_list("--cc", &value("--cc")?)?),
            "--bcc" => o.bcc.extend(address_list("--bcc", &value("--bcc")?)?),
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
            "--reply-to" => o
                .reply_to
                .extend(address_list("--reply-to", &value("--reply-to")?)?),
            "--header" => {
                let v = value("--header")?;
                let (name, field) = v
                    .split_once(':')
                    .ok_or_else(|| format!("--header {v:?}: expected \"Name: value\""))?;
                o.headers
                    .push((name.to_string(), field.trim_start().to_string()));
            }
            "--auto-submitted" => o.auto_submitted = true,
            "--html" | "--html-file" if o.html.is_some() => {
                return Err("give --html or --html-file once".into());
            }
            "--html" => o.html = Some(Body::Text(value("--html")?)),
            "--html-file" => o.html = Some(Body::File(value("--html-file")?.into())),
            "--inline" => o.inline.push(value("--inline")?.into()),
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
    if !o.inline.is_empty() && o.html.is_none() {
        return Err("--inline needs --html or --html-file (the HTML shows the image)".into());
    }
    if auth_given && o.user.is_none() {
        return Err("--auth needs --user".into());
    }
    if o.tls == Mode::None
        && (!o.ca_files.is_empty()
            || !o.pins.is_empty()
            || o.danger_accept_invalid_certs
            || backend_given)
    {
        return Err(
            "--ca-file, --pin, --danger-accept-invalid-certs and --tls-backend \
                    need TLS, not --tls none"
                .into(),
        );
    }
    Ok(Some(o))
}

/// Splits one `--to`, `--cc` or `--bcc` value at the commas outside double quotes
/// and angle brackets (`"Doe, Jane" <j@x>, b@y` is two addresses), as a mail
/// header lists them; each part is trimmed. An empty part (`a@x,,b@y`, a trailing
/// comma) or an unclosed quote or bracket is an error.
pub(crate) fn address_list(flag: &str, s: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    let (mut start, mut quoted, mut escaped, mut angle) = (0, false, false, 0u32);
    let mut push = |part: &str| {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!("{flag} {s:?}: an empty address in the list"));
        }
        out.push(part.to_string());
        Ok(())
    };
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle += 1,
            '>' if !quoted => angle = angle.saturating_sub(1),
            ',' if !quoted && angle == 0 => {
                push(&s[start..i])?;
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted || angle > 0 {
        return Err(format!("{flag} {s:?}: an unclosed quote or '<'"));
    }
    push(&s[start..])?;
    Ok(out)
}

/// `HOST[:PORT]`, `[v6]:PORT` or a bare IPv6 address. Without a port: 465 for
/// implicit TLS (or no `--tls`), 587 for STARTTLS, 25 without TLS.
pub(crate) fn split_server(s: &str, tls: Option<Mode>) -> Result<(String, u16), String> {
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
pub(crate) fn local_host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty() && Domain::try_new(s).is_ok())
        .unwrap_or_else(|| "localhost".into())
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
        assert_eq!(o.tls_backend, Backend::Auto);
        let o = parse(args("--from a@b --to c@d --tls-backend rustls"))
            .unwrap()
            .unwrap();
        assert_eq!(o.tls_backend, Backend::Rustls);
        assert!(parse(args("--from a@b --to c@d --tls-backend openssl")).is_err());
        assert!(
            parse(args(
                "--from a@b --to c@d --tls none --tls-backend embedded"
            ))
            .is_err()
        );
    }

    #[test]
    fn address_lists_split_outside_quotes_and_brackets() {
        let split = |s| address_list("--to", s);
        assert_eq!(split("a@x"), Ok(vec!["a@x".to_string()]));
        assert_eq!(
            split("a@x, b@y ,c@z"),
            Ok(vec!["a@x".into(), "b@y".into(), "c@z".into()])
        );
        assert_eq!(
            split(r#""Doe, Jane" <j@x>, Bob <b@y>"#),
            Ok(vec![r#""Doe, Jane" <j@x>"#.into(), "Bob <b@y>".into()])
        );
        assert_eq!(
            split(r#""a \" , b" <q@x>,r@y"#),
            Ok(vec![r#""a \" , b" <q@x>"#.into(), "r@y".into()])
        );
        assert_eq!(
            split(r#"<"odd,local"@x>"#),
            Ok(vec![r#"<"odd,local"@x>"#.into()])
        );
        for bad in [
            "a@x,,b@y",
            "a@x,",
            ",a@x",
            "",
            " ",
            r#""Doe, Jane <j@x>"#,
            "<a@x",
        ] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
        let o = parse(
            [
                "--from", "a@b", "--to", "c@d,e@f", "--cc", "g@h", "--bcc", "i@j, k@l",
            ]
            .map(String::from),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (o.to, o.cc, o.bcc),
            (
                vec!["c@d".to_string(), "e@f".into()],
                vec!["g@h".to_string()],
                vec!["i@j".to_string(), "k@l".into()]
            )
        );
    }

    #[test]
    fn message_flags() {
        let o = parse(
            [
                "--from",
                "a@b",
                "--to",
                "c@d",
                "--header",
                "X-A:  one",
                "--header",
                "X-B:",
                "--reply-to",
                "r@s, t@u",
                "--auto-submitted",
                "--html",
                "<p>",
                "--inline",
                "i.png",
            ]
            .map(String::from),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            o.headers,
            [
                ("X-A".to_string(), "one".to_string()),
                ("X-B".into(), String::new())
            ]
        );
        assert_eq!(o.reply_to, ["r@s", "t@u"]);
        assert!(o.auto_submitted);
        assert!(matches!(o.html, Some(Body::Text(ref t)) if t == "<p>"));
        assert_eq!(o.inline, [PathBuf::from("i.png")]);
        assert!(parse(args("--from a@b --to c@d --header X-A")).is_err());
        assert!(parse(args("--from a@b --to c@d --html x --html-file y")).is_err());
        assert!(parse(args("--from a@b --to c@d --inline i.png")).is_err());
    }

    /// The README's option list is `--help`'s, line for line.
    #[test]
    fn readme_lists_the_options_of_help() {
        let readme = include_str!("../../README.md");
        let options = USAGE
            .split_once("usage: send [OPTIONS]\n")
            .and_then(|(_, rest)| rest.split_once("  -h, --help"))
            .map(|(options, _)| options)
            .unwrap();
        assert!(options.lines().count() > 20, "{options}");
        assert!(
            readme.contains(&format!("```text\n{options}```\n")),
            "README.md's option list differs from --help:\n{options}"
        );
    }

    #[test]
    fn pin_with_ca_file_and_danger_with_ca_file_are_accepted() {
        let pin = "00".repeat(32);
        let o = parse(args(&format!(
            "--from a@b --to c@d --ca-file r.pem --pin {pin}"
        )))
        .unwrap()
        .unwrap();
        assert_eq!((o.ca_files.len(), o.pins.len()), (1, 1));
        let o = parse(args(
            "--from a@b --to c@d --ca-file r.pem --danger-accept-invalid-certs",
        ))
        .unwrap()
        .unwrap();
        assert!(o.danger_accept_invalid_certs);
    }
}
