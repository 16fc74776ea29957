//! Errors as one actionable line.

use std::fmt::Debug;

use embedded_smtp::engine::Stage;
use embedded_smtp::nal;
use embedded_smtp::tls::{StreamError, TlsFailure};
use embedded_smtp::verify::VerifyError;
use embedded_smtp::{Error, Mailbox};

use crate::args::{Mode, Opts};
use crate::net::TcpError;
use crate::rustls_backend::RustlsError;

/// The transport errors of this program, as a short line.
pub(crate) trait Transport {
    fn describe(&self) -> String;
}

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
pub(crate) fn describe<E: Transport + Debug>(e: &Error<E>, o: &Opts) -> String {
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
                && response.text_lossy().to_ascii_lowercase().contains("from") =>
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

impl Transport for RustlsError {
    fn describe(&self) -> String {
        match self {
            RustlsError::Socket(e) => e.describe(),
            other => other.to_string(),
        }
    }
}
