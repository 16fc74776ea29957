//! The desktop-only TLS backend: rustls, for servers that speak only TLS 1.2,
//! which embedded-tls (TLS 1.3 only) cannot reach, and so no firmware build can.
//!
//! The certificate is checked by the crate's own `Verifier`, built by the same
//! [`verifier_for`] as on the embedded-tls path: the same anchors, the same pin
//! check on the leaf's SubjectPublicKeyInfo, the same name and time checks, and
//! `--danger-accept-invalid-certs` the same. rustls only verifies the handshake
//! signature (TLS 1.2 ServerKeyExchange or TLS 1.3 CertificateVerify) with the
//! leaf's key, as the verifier does for embedded-tls.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embedded_io::{ErrorKind, ErrorType, Read, Write};
use embedded_smtp::blocking::{Deadline, Upgrade};
use embedded_smtp::tls::TlsFailure;
use embedded_smtp::verify::{TimeSource, TrustAnchor, VerifyError, anchor_from_der};
use embedded_smtp::{Error, nal};
use embedded_tls::{Aes128GcmSha256, CertificateEntryRef, CertificateRef, TlsVerifier};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use crate::net::{Socket, TcpError, verifier_for};
use crate::transcript::Transcript;

/// The crate's `Verifier` as a rustls [`ServerCertVerifier`]. It owns copies of
/// the anchors and pins (rustls wants a `'static` verifier) and builds a
/// `Verifier` over them for each certificate.
#[derive(Debug)]
pub(crate) struct SameChecks {
    host: String,
    danger: bool,
    pins: Vec<[u8; 32]>,
    anchors: Vec<Vec<u8>>,
    algorithms: WebPkiSupportedAlgorithms,
    /// Why the last certificate was refused, to report it as the embedded path does.
    refused: Mutex<Option<VerifyError>>,
}

impl SameChecks {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), VerifyError> {
        let anchors = self
            .anchors
            .iter()
            .map(|der| anchor_from_der(der))
            .collect::<Result<Vec<TrustAnchor<'_>>, _>>()?;
        let time = TimeSource::Now(now.as_secs());
        // The anchors and pins were checked when the options were read.
        let mut verifier = verifier_for(self.danger, &self.pins, &anchors, time)
            .map_err(|_| VerifyError::UnknownIssuer)?;
        let mut chain = CertificateRef::with_context(&[]);
        for der in core::iter::once(end_entity).chain(intermediates) {
            chain
                .add(CertificateEntryRef::X509(der.as_ref()))
                .map_err(|_| VerifyError::ChainTooComplex)?;
        }
        // The name, as embedded-tls hands it over from `TlsConfig::with_server_name`.
        TlsVerifier::<Aes128GcmSha256>::set_hostname_verification(&mut verifier, &self.host)
            .map_err(|_| VerifyError::InvalidServerName)?;
        verifier.verify_server_certificate(&[], &chain)
    }

    /// The reason the last certificate was refused, if it was.
    fn refused(&self) -> Option<VerifyError> {
        *self.refused.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ServerCertVerifier for SameChecks {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.check(end_entity, intermediates, now);
        *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = result.err();
        match result {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(e))),
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.danger && self.pins.is_empty() {
            return Ok(HandshakeSignatureValid::assertion());
        }
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.danger && self.pins.is_empty() {
            return Ok(HandshakeSignatureValid::assertion());
        }
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What the rustls backend needs to make connections: the configuration and the
/// verifier it shares.
pub(crate) struct RustlsTls {
    config: Arc<ClientConfig>,
    checks: Arc<SameChecks>,
    name: ServerName<'static>,
}

impl RustlsTls {
    /// TLS 1.2 and 1.3 with ring's algorithms, the certificate checked by
    /// [`SameChecks`].
    pub(crate) fn new(
        host: &str,
        danger: bool,
        pins: &[[u8; 32]],
        anchors: &[Vec<u8>],
    ) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let checks = Arc::new(SameChecks {
            host: host.to_string(),
            danger,
            pins: pins.to_vec(),
            anchors: anchors.to_vec(),
            algorithms: provider.signature_verification_algorithms,
            refused: Mutex::new(None),
        });
        let config =
            ClientConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| format!("rustls: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(checks.clone())
                .with_no_client_auth();
        let name =
            ServerName::try_from(host.to_string()).map_err(|e| format!("--server {host}: {e}"))?;
        Ok(RustlsTls {
            config: Arc::new(config),
            checks,
            name,
        })
    }

    /// The handshake on `stream`'s socket; afterwards every byte goes through TLS.
    pub(crate) fn handshake(&self, stream: &mut RustlsStream) -> Result<(), Error<RustlsError>> {
        let conn = ClientConnection::new(Arc::clone(&self.config), self.name.clone())
            .map_err(|e| Error::Io(RustlsError::Tls(e)))?;
        stream.conn = Some(conn);
        match stream.complete_handshake() {
            Ok(()) => {
                eprintln!("{}", stream.backend_line());
                Ok(())
            }
            Err(e) => {
                stream.failed = true;
                Err(match (self.checks.refused(), e) {
                    (Some(v), _) => Error::Tls(TlsFailure::Verify(v)),
                    (None, e) => Error::Io(e),
                })
            }
        }
    }
}

/// A failure of the rustls stream.
#[derive(Debug)]
pub(crate) enum RustlsError {
    /// The socket's.
    Socket(nal::Error<TcpError>),
    /// rustls's: the handshake or a record.
    Tls(rustls::Error),
    /// The stream failed before and cannot be used.
    Broken,
}

impl fmt::Display for RustlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RustlsError::Socket(e) => write!(f, "{e}"),
            RustlsError::Tls(e) => write!(f, "TLS (rustls): {e}"),
            RustlsError::Broken => write!(f, "TLS (rustls): the connection failed before"),
        }
    }
}

impl std::error::Error for RustlsError {}

impl embedded_io::Error for RustlsError {
    fn kind(&self) -> ErrorKind {
        match self {
            RustlsError::Socket(e) => e.kind(),
            RustlsError::Tls(_) => ErrorKind::InvalidData,
            RustlsError::Broken => ErrorKind::NotConnected,
        }
    }
}

/// [`Socket`] as `std::io`, for rustls's `read_tls` and `write_tls`; the socket's
/// own error is kept aside so that it is not flattened into an `io::Error`.
struct Io<'a> {
    socket: &'a mut Socket,
    error: Option<nal::Error<TcpError>>,
}

impl std::io::Read for Io<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.socket.read(buf).map_err(|e| {
            self.error = Some(e);
            std::io::Error::other("socket")
        })
    }
}

impl std::io::Write for Io<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.socket.write(buf).map_err(|e| {
            self.error = Some(e);
            std::io::Error::other("socket")
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The socket, in plain text until [`RustlsTls::handshake`], then through rustls.
pub(crate) struct RustlsStream {
    socket: Socket,
    conn: Option<ClientConnection>,
    failed: bool,
}

impl RustlsStream {
    pub(crate) fn new(socket: Socket) -> Self {
        RustlsStream {
            socket,
            conn: None,
            failed: false,
        }
    }

    /// `send: TLS 1.2 with rustls` (the version negotiated).
    fn backend_line(&self) -> String {
        let version = match self.conn.as_ref().and_then(|c| c.protocol_version()) {
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
            _ => "TLS",
        };
        format!("send: {version} with rustls")
    }

    /// Runs a rustls call that reads from or writes to the socket.
    fn io<T>(
        socket: &mut Socket,
        call: impl FnOnce(&mut Io<'_>) -> std::io::Result<T>,
    ) -> Result<T, RustlsError> {
        let mut io = Io {
            socket,
            error: None,
        };
        let result = call(&mut io);
        match (result, io.error) {
            (Ok(v), _) => Ok(v),
            (Err(_), Some(e)) => Err(RustlsError::Socket(e)),
            (Err(e), None) => Err(RustlsError::Tls(rustls::Error::General(e.to_string()))),
        }
    }

    /// Hands everything rustls has to send to the socket (which holds it until the
    /// next read).
    fn push(&mut self) -> Result<(), RustlsError> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        while conn.wants_write() {
            Self::io(&mut self.socket, |io| conn.write_tls(io))?;
        }
        Ok(())
    }

    /// Reads one batch of records into rustls. `false` at the end of the stream.
    fn pull(&mut self) -> Result<bool, RustlsError> {
        self.push()?;
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        if Self::io(&mut self.socket, |io| conn.read_tls(io))? == 0 {
            return Ok(false);
        }
        let processed = conn.process_new_packets();
        if let Err(e) = processed {
            // Send the alert rustls queued; the error is what counts.
            let _ = self.push();
            let _ = self.socket.flush();
            return Err(RustlsError::Tls(e));
        }
        Ok(true)
    }

    fn complete_handshake(&mut self) -> Result<(), RustlsError> {
        while self.conn.as_ref().is_some_and(|c| c.is_handshaking()) {
            if !self.pull()? {
                return Err(RustlsError::Tls(rustls::Error::General(
                    "the server closed the connection during the handshake".into(),
                )));
            }
        }
        self.push()
    }

    fn check(&self) -> Result<(), RustlsError> {
        if self.failed {
            Err(RustlsError::Broken)
        } else {
            Ok(())
        }
    }

    fn fail<T>(&mut self, e: RustlsError) -> Result<T, RustlsError> {
        self.failed = true;
        Err(e)
    }
}

impl Deadline for RustlsStream {
    fn start_wait(&mut self, limit: Option<Duration>) {
        self.socket.start_wait(limit);
    }
}

impl ErrorType for RustlsStream {
    type Error = RustlsError;
}

impl Read for RustlsStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, RustlsError> {
        self.check()?;
        if self.conn.is_none() {
            return self.socket.read(buf).map_err(RustlsError::Socket);
        }
        loop {
            let conn = self.conn.as_mut().ok_or(RustlsError::Broken)?;
            match std::io::Read::read(&mut conn.reader(), buf) {
                Ok(n) => return Ok(n),
                // The server's close_notify, or the socket closed without one:
                // either way the end of the stream.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    return self.fail(RustlsError::Tls(rustls::Error::General(e.to_string())));
                }
            }
            match self.pull() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) => return self.fail(e),
            }
        }
    }
}

impl Write for RustlsStream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, RustlsError> {
        self.check()?;
        let Some(conn) = self.conn.as_mut() else {
            return self.socket.write(buf).map_err(RustlsError::Socket);
        };
        let n = match std::io::Write::write(&mut conn.writer(), buf) {
            Ok(n) => n,
            Err(e) => return self.fail(RustlsError::Tls(rustls::Error::General(e.to_string()))),
        };
        match self.push() {
            Ok(()) => Ok(n),
            Err(e) => self.fail(e),
        }
    }

    fn flush(&mut self) -> Result<(), RustlsError> {
        self.check()?;
        if let Err(e) = self.push() {
            return self.fail(e);
        }
        self.socket.flush().map_err(RustlsError::Socket)
    }
}

/// The upgrader of the rustls path (the implicit handshake and STARTTLS); the
/// second field names the server in the transcript.
pub(crate) struct ViaRustls(pub(crate) RustlsTls, pub(crate) String);

impl Upgrade<Transcript<RustlsStream>> for ViaRustls {
    fn upgrade(&mut self, stream: &mut Transcript<RustlsStream>) -> Result<(), Error<RustlsError>> {
        self.0.handshake(&mut stream.inner)?;
        if stream.on {
            eprintln!("-- TLS established; EHLO again");
        }
        Ok(())
    }

    /// The implicit handshake: the session's first step, within the engine's
    /// limit for it.
    fn open(&mut self, stream: &mut Transcript<RustlsStream>) -> Result<(), Error<RustlsError>> {
        self.0.handshake(&mut stream.inner)?;
        if stream.on {
            eprintln!("-- TLS established with {}", self.1);
        }
        Ok(())
    }
}
