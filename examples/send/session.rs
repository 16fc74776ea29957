//! The message and the session: what is read before connecting, and the
//! exchange once the connection is up.

use std::io::Read as _;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use embedded_io::{Read, Write};
use embedded_smtp::blocking::{Client, Deadline, Upgrade};
use embedded_smtp::engine::Report;
use embedded_smtp::message::{Attachment, AutoSubmitted, DateTime, Header, Message, MsgId};
use embedded_smtp::{Error, HeaderText, InputError, Mailbox, Response};

use crate::MAX_RCPT;
use crate::args::{Body, Opts};

/// Owned parts of the message, read before connecting.
pub(crate) struct Parts {
    pub(crate) body: String,
    pub(crate) html: Option<String>,
    pub(crate) attachments: Vec<(String, &'static str, Vec<u8>)>,
    /// `--inline` images: file name, content type, bytes and Content-ID.
    pub(crate) inline: Vec<(String, &'static str, Vec<u8>, String)>,
}

/// Reads the body, the HTML and the files, and names each `--inline` image's
/// Content-ID (printed on stderr: the HTML refers to it as `cid:` and the ID).
/// `domain` is the domain of `--from`.
pub(crate) fn read_parts(o: &Opts, domain: &str) -> Result<Parts, String> {
    let html = match &o.html {
        None => None,
        Some(Body::Text(t)) => Some(t.clone()),
        Some(Body::File(p)) => Some(
            std::fs::read_to_string(p).map_err(|e| format!("--html-file {}: {e}", p.display()))?,
        ),
        Some(Body::Stdin) => None,
    };
    let mut inline: Vec<(String, &'static str, Vec<u8>, String)> = vec![];
    for p in &o.inline {
        let bytes = std::fs::read(p).map_err(|e| format!("--inline {}: {e}", p.display()))?;
        let name = file_name("--inline", p)?;
        let id = content_id(&name, domain);
        MsgId::try_new(&id).map_err(|e| {
            format!(
                "--inline {}: {id:?} is no Content-ID: {}",
                p.display(),
                e.kind()
            )
        })?;
        if inline.iter().any(|i| i.3 == id) {
            return Err(format!(
                "--inline {}: another --inline has the same file name",
                p.display()
            ));
        }
        eprintln!("send: --inline {name}: Content-ID <{id}>; the HTML shows it as cid:{id}");
        if let Some(html) = &html
            && !html.contains(&format!("cid:{id}"))
        {
            eprintln!("send: warning: the HTML does not refer to cid:{id}");
        }
        inline.push((name, content_type(p), bytes, id));
    }
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
        let name = file_name("--attach", p)?;
        attachments.push((name, content_type(p), bytes));
    }
    Ok(Parts {
        body,
        html,
        attachments,
        inline,
    })
}

/// The file name of `p`, for `flag`'s error.
fn file_name(flag: &str, p: &Path) -> Result<String, String> {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{flag} {}: not a file name", p.display()))
}

/// The Content-ID of an inline image: its file name with every character that
/// may not stand in a message ID (RFC 5322 `atext` and dots) replaced by `-`, `@`,
/// the domain of `--from`: `chart.png@example.org`. Known before sending, so that
/// the HTML can be written to refer to it.
fn content_id(name: &str, domain: &str) -> String {
    let mut left: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    // No empty atoms: no leading, trailing or doubled dots.
    while left.contains("..") {
        left = left.replace("..", ".");
    }
    let left = left.trim_matches('.');
    format!("{}@{domain}", if left.is_empty() { "image" } else { left })
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
pub(crate) struct Summary {
    /// Refused recipients as (address, reply), over every message sent.
    pub(crate) refused: Vec<(String, Response)>,
}

/// Everything after the TCP (and TLS) connection is up: greeting, EHLO, AUTH,
/// the message `--repeat` times, QUIT. The last (or only) message goes out with
/// [`Client::send_and_quit`], so QUIT rides with its end of data when the server
/// pipelines. Generic over the stream so the plain and
/// TLS paths share it.
pub(crate) fn session<S, U>(
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
    // Whether QUIT has been sent (with the last message, or after a refusal of every
    // recipient of it).
    let mut quit = false;
    for i in 0..count {
        let last = i + 1 == count;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut atts: Vec<Attachment<'_, &[u8]>> = parts
            .inline
            .iter()
            .map(|(name, ct, bytes, id)| {
                Ok(Attachment::new(name, ct, &bytes[..])?.inline(MsgId::try_new(id)?))
            })
            .chain(
                parts
                    .attachments
                    .iter()
                    .map(|(name, ct, bytes)| Attachment::new(name, ct, &bytes[..])),
            )
            .collect::<Result<_, InputError>>()?;
        let mut message = Message::new(mailboxes.from, subject)
            .to(&mailboxes.to)
            .cc(&mailboxes.cc)
            .bcc(&mailboxes.bcc)
            .date(DateTime {
                unix_seconds: now,
                offset_minutes: 0,
            })
            .message_id(random_bytes())
            .text(&parts.body);
        if !mailboxes.reply_to.is_empty() {
            message = message.reply_to(&mailboxes.reply_to);
        }
        if !mailboxes.headers.is_empty() {
            message = message.headers(&mailboxes.headers);
        }
        if o.auto_submitted {
            message = message.auto_submitted(AutoSubmitted::AutoGenerated);
        }
        if let Some(html) = &parts.html {
            message = message.html(html);
        }
        let mut message = message.attachments(&mut atts);
        // The report is kept past the next send: a copy, not the client's.
        let result = if last {
            quit = true;
            client.send_and_quit(&mut message).cloned()
        } else {
            client.send(&mut message).cloned()
        };
        let report: Report<MAX_RCPT> = match result {
            Ok(r) => r,
            // Every recipient refused: nothing was sent; the report lists them.
            Err(Error::NoRecipients { .. }) => {
                let report = client.engine().report().clone();
                refused(&report, &all, &mut summary);
                eprintln!("send: no message sent: every recipient was refused");
                break;
            }
            // The message was accepted and only the QUIT after it failed: the message
            // stands (a script must not send it again); only a warning.
            Err(e) if last && client.engine().report().reply().is_some() => {
                eprintln!("send: warning: QUIT failed after sending: {e}");
                client.engine().report().clone()
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
    if quit {
        return Ok(summary);
    }
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

pub(crate) struct Mailboxes<'a> {
    /// `--reply-to`.
    pub(crate) reply_to: Vec<Mailbox<'a>>,
    /// `--header`.
    pub(crate) headers: Vec<Header<'a>>,
    pub(crate) from: Mailbox<'a>,
    pub(crate) to: Vec<Mailbox<'a>>,
    pub(crate) cc: Vec<Mailbox<'a>>,
    pub(crate) bcc: Vec<Mailbox<'a>>,
}

fn mailbox<'a>(flag: &str, s: &'a str) -> Result<Mailbox<'a>, String> {
    Mailbox::parse(s).map_err(|e| format!("{flag} {s:?}: {}", e.kind()))
}

fn mailbox_list<'a>(flag: &str, v: &'a [String]) -> Result<Vec<Mailbox<'a>>, String> {
    v.iter().map(|s| mailbox(flag, s)).collect()
}

pub(crate) fn mailboxes(o: &Opts) -> Result<Mailboxes<'_>, String> {
    Ok(Mailboxes {
        from: mailbox("--from", &o.from)?,
        to: mailbox_list("--to", &o.to)?,
        cc: mailbox_list("--cc", &o.cc)?,
        bcc: mailbox_list("--bcc", &o.bcc)?,
        reply_to: mailbox_list("--reply-to", &o.reply_to)?,
        headers: o
            .headers
            .iter()
            .map(|(name, value)| {
                Header::try_new(name, value)
                    .map_err(|e| format!("--header \"{name}: {value}\": {e}"))
            })
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_are_message_ids_made_from_the_file_name() {
        for (name, id) in [
            ("chart.png", "chart.png@example.org"),
            ("Kühlraum 2.png", "K-hlraum-2.png@example.org"),
            ("..hidden..x.", "hidden.x@example.org"),
            ("...", "image@example.org"),
            ("a<b>@c.gif", "a-b--c.gif@example.org"),
        ] {
            let made = content_id(name, "example.org");
            assert_eq!(made, id, "{name}");
            assert_eq!(MsgId::try_new(&made).map(|m| m.as_str()), Ok(id));
        }
    }
}
