//! The real SMTP peer for loopback tests: `tests/loopback/smtp_server.py`
//! (aiosmtpd) on 127.0.0.1, started per test and stopped when dropped.
//! See `tests/loopback/README.md` for its flags and output files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use embedded_smtp::blocking::FromStdTcp;

/// A running server; killed on drop, its folder removed.
pub struct Server {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Where it stores messages.
    pub dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the server with `args` (plus `--out` and an idle time-out).
pub fn start(args: &[&str]) -> Server {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "embedded-smtp-loopback-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loopback/smtp_server.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .arg("--out")
        .arg(&dir)
        .args(["--idle-timeout", "60"])
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

/// A TCP connection to `port` on 127.0.0.1 as an `embedded_io` stream, with
/// 20-second socket time-outs and Nagle off.
/// The client's deadline for every wait comes from the session's configuration
/// (tests use [`limited`] to keep them short).
pub fn connect(port: u16) -> FromStdTcp {
    FromStdTcp::connect(("127.0.0.1", port), Duration::from_secs(20)).unwrap()
}

/// A configuration whose waits are at most 20 s each, so that a test against a
/// stuck peer fails instead of hanging for the RFC's minutes.
pub fn limited(config: embedded_smtp::Config<'_>) -> embedded_smtp::Config<'_> {
    config.with_timeout(Duration::from_secs(20))
}

/// Message `n` (from 1) as stored: the content and the envelope JSON.
pub fn stored(server: &Server, n: usize) -> (Vec<u8>, String) {
    let eml = std::fs::read(server.dir.join(format!("{n:04}.eml"))).unwrap();
    let json = std::fs::read_to_string(server.dir.join(format!("{n:04}.json"))).unwrap();
    (eml, json)
}

/// The message count of a `--sink` server.
pub fn sink_count(server: &Server) -> usize {
    std::fs::read_to_string(server.dir.join("count")).map_or(0, |s| s.trim().parse().unwrap())
}

/// Starts the server in `mode` ("plain", "starttls", "implicit") presenting the test
/// certificate `leaf` (from `tests/data/certs/`) with the intermediate in the TLS
/// modes, plus `extra` flags.
pub fn start_tls(mode: &str, leaf: &str, extra: &[&str]) -> Server {
    static N: AtomicUsize = AtomicUsize::new(0);
    let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/certs");
    // The chain the server sends: leaf first, then the intermediate.
    let chain = std::env::temp_dir().join(format!(
        "embedded-smtp-chain-{}-{}.pem",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let mut pem = std::fs::read(certs.join(format!("{leaf}.pem"))).unwrap();
    pem.extend(std::fs::read(certs.join("intermediate-ca.pem")).unwrap());
    std::fs::write(&chain, pem).unwrap();
    let key = certs.join(format!("{leaf}.key.pem"));
    let mut args = vec!["--mode", mode];
    let (chain_s, key_s) = (
        chain.to_str().unwrap().to_string(),
        key.to_str().unwrap().to_string(),
    );
    if mode != "plain" {
        args.extend(["--cert", &chain_s, "--key", &key_s]);
    }
    args.extend(extra);
    let server = start(&args);
    let _ = std::fs::remove_file(&chain);
    server
}

/// Checks stored message `n`: its bytes equal `expected` (the writer's output), the
/// envelope is alice@example.org → ops@example.org after AUTH as alice, and the
/// `readings.csv` attachment decodes back to `csv`. Returns the message text.
pub fn check_delivered(server: &Server, n: usize, expected: &[u8], csv: &[u8]) -> String {
    use base64::Engine as _;
    let (eml, json) = stored(server, n);
    assert_eq!(
        String::from_utf8_lossy(&eml),
        String::from_utf8_lossy(expected)
    );
    assert_eq!(
        eml, expected,
        "delivered bytes differ from the writer's output"
    );
    assert!(
        json.contains(r#""mail_from": "alice@example.org""#),
        "{json}"
    );
    assert!(
        json.contains(r#""rcpt_tos": ["ops@example.org"]"#),
        "{json}"
    );
    assert!(json.contains(r#""auth_user": "alice""#), "{json}");
    let text = String::from_utf8(eml).unwrap();
    let part = text.split("filename=\"readings.csv\"").nth(1).unwrap();
    let b64: String = part
        .split("\r\n\r\n")
        .nth(1)
        .unwrap()
        .split("\r\n--")
        .next()
        .unwrap()
        .split("\r\n")
        .collect();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
        csv
    );
    text
}
