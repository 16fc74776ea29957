//! The verifier inside real TLS 1.3 handshakes: embedded-tls (blocking) against a
//! rustls server in a thread, on 127.0.0.1 only, with the test PKI of
//! `tests/data/certs/`. Every socket has a time limit, so a stuck handshake fails
//! instead of hanging.
#![cfg(feature = "tls")]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use embedded_io::Write as _;
use embedded_io_adapters::std::FromStd;
#[allow(unused_imports)] // used by the tests of builds without some algorithms
use embedded_smtp::verify::Algorithm;
use embedded_smtp::verify::{
    Provider, TimeSource, TrustAnchor, Verifier, VerifyError, anchor_from_der, spki_sha256,
    tls_config,
};
use embedded_tls::Aes128GcmSha256;
use embedded_tls::blocking::{TlsConnection, TlsContext};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

macro_rules! file {
    ($name:literal) => {
        include_bytes!(concat!("data/certs/", $name, ".der")).as_slice()
    };
}

const LIMIT: Duration = Duration::from_secs(20);
/// Inside every good certificate's validity period.
const NOW: u64 = 1_780_000_000;

/// Always presents the same certificate and key, without checking that they
/// belong together (so a test can make a server that does not hold its key).
#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Starts a TLS 1.3 server on 127.0.0.1 that presents `chain` (leaf first), answers
/// one line with "echo: <line>" and stops. Returns its port.
fn server(chain: &[&'static [u8]], key: &'static [u8]) -> (u16, thread::JoinHandle<()>) {
    let chain: Vec<CertificateDer<'static>> =
        chain.iter().map(|d| CertificateDer::from(*d)).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signing_key = provider.key_provider.load_private_key(key).unwrap();
    let certified = rustls::sign::CertifiedKey::new(chain, signing_key);
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(LIMIT)).unwrap();
        tcp.set_write_timeout(Some(LIMIT)).unwrap();
        let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
        let mut line = String::new();
        // A client that refuses the certificate just closes: not an error here.
        if tls.read_line(&mut line).is_ok() && !line.is_empty() {
            let tls = tls.get_mut();
            let _ = write!(tls, "echo: {line}");
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (port, handle)
}

/// Connects with embedded-tls and `verifier`, sends a line and returns the answer,
/// or the verifier's reason for refusing the server (`None` if the handshake
/// failed before the verifier had a say).
fn client(port: u16, name: &str, verifier: Verifier<'_>) -> Result<String, Option<VerifyError>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    tcp.set_write_timeout(Some(LIMIT)).unwrap();
    let mut read_buf = vec![0u8; 16_640];
    let mut write_buf = vec![0u8; 4_096];
    let mut tls: TlsConnection<'_, _, Aes128GcmSha256> =
        TlsConnection::new(FromStd::new(tcp), &mut read_buf, &mut write_buf);
    let mut provider = Provider::<Aes128GcmSha256, _>::new(rand_core::OsRng, verifier);
    let config = tls_config(name);

    if let Err(e) = tls.open(TlsContext::new(&config, &mut provider)) {
        eprintln!("handshake failed: {e:?}");
        return Err(provider.certificate_verifier().last_error());
    }
    provider.check_verified().map_err(Some)?;

    tls.write_all(b"hello\n").unwrap();
    tls.flush().unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 64];
    while !answer.ends_with(b"\n") {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    Ok(String::from_utf8(answer).unwrap())
}

fn root() -> [TrustAnchor<'static>; 1] {
    [anchor_from_der(file!("root-ca")).unwrap()]
}

fn run(
    chain: &[&'static [u8]],
    key: &'static [u8],
    name: &str,
    verifier: Verifier<'_>,
) -> Result<String, Option<VerifyError>> {
    let (port, server) = server(chain, key);
    let result = client(port, name, verifier);
    server.join().unwrap();
    result
}

#[test]
fn ecdsa_server_is_accepted() {
    let anchors = root();
    let answer = run(
        &[file!("leaf-ecdsa"), file!("intermediate-ca")],
        file!("leaf-ecdsa.key"),
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(answer.as_deref(), Ok("echo: hello\n"));
}

#[test]
fn ecdsa_server_is_accepted_by_pin() {
    let pins = [spki_sha256(file!("leaf-ecdsa")).unwrap()];
    let answer = run(
        &[file!("leaf-ecdsa"), file!("intermediate-ca")],
        file!("leaf-ecdsa.key"),
        "localhost",
        Verifier::with_pins(&pins),
    );
    assert_eq!(answer.as_deref(), Ok("echo: hello\n"));
}

#[test]
#[cfg(feature = "tls-rsa")]
fn rsa_server_is_accepted() {
    let anchors = root();
    let answer = run(
        &[file!("leaf-rsa"), file!("intermediate-ca")],
        file!("leaf-rsa.key"),
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(answer.as_deref(), Ok("echo: hello\n"));
}

#[test]
#[cfg(not(feature = "tls-rsa"))]
fn rsa_server_is_refused_without_tls_rsa() {
    // The RSA schemes are offered in every build, so the server sends its RSA
    // certificate, and the verifier names the feature that would verify it (a
    // permanent error, where an aborted handshake looked like a lost connection).
    let anchors = root();
    let answer = run(
        &[file!("leaf-rsa"), file!("intermediate-ca")],
        file!("leaf-rsa.key"),
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(
        answer,
        Err(Some(VerifyError::AlgorithmNotBuilt(Algorithm::Rsa)))
    );
}

#[test]
fn wrong_root_is_refused() {
    let anchors = [anchor_from_der(file!("other-root-ca")).unwrap()];
    let answer = run(
        &[file!("leaf-ecdsa"), file!("intermediate-ca")],
        file!("leaf-ecdsa.key"),
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(answer, Err(Some(VerifyError::UnknownIssuer)));
}

#[test]
fn wrong_name_is_refused() {
    let anchors = root();
    let answer = run(
        &[file!("leaf-wrong-host"), file!("intermediate-ca")],
        file!("leaf-wrong-host.key"),
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(answer, Err(Some(VerifyError::NotValidForName)));
}

#[test]
fn server_with_a_stolen_certificate_is_refused() {
    // The server presents the good certificate but holds another key: its
    // CertificateVerify does not verify.
    let anchors = root();
    let answer = run(
        &[file!("leaf-ecdsa"), file!("intermediate-ca")],
        file!("leaf-wrong-host.key"),
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(answer, Err(Some(VerifyError::BadSignature)));
}

#[test]
fn ecdsa_server_is_accepted_by_ip_address() {
    let anchors = root();
    let answer = run(
        &[file!("leaf-ecdsa"), file!("intermediate-ca")],
        file!("leaf-ecdsa.key"),
        "127.0.0.1",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(answer.as_deref(), Ok("echo: hello\n"));
}

#[test]
#[cfg(feature = "tls-p384")]
fn p384_server_is_accepted() {
    let anchors = root();
    let answer = run(
        &[file!("leaf-p384"), file!("intermediate-ca")],
        file!("leaf-p384.key"),
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(answer.as_deref(), Ok("echo: hello\n"));
}

#[test]
#[cfg(feature = "tls-ed25519")]
fn ed25519_server_is_accepted() {
    let anchors = root();
    let answer = run(
        &[file!("leaf-ed25519"), file!("intermediate-ca")],
        file!("leaf-ed25519.key"),
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(answer.as_deref(), Ok("echo: hello\n"));
}

#[test]
#[cfg(not(feature = "tls-p384"))]
fn p384_server_is_refused_without_tls_p384() {
    // embedded-tls always offers ecdsa_secp384r1_sha384, so the server picks it and
    // the verifier refuses the key it cannot check.
    let anchors = root();
    let answer = run(
        &[file!("leaf-p384"), file!("intermediate-ca")],
        file!("leaf-p384.key"),
        "localhost",
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    assert_eq!(
        answer,
        Err(Some(VerifyError::AlgorithmNotBuilt(Algorithm::EcdsaP384)))
    );
}
