//! The rustls server configuration the TLS tests share: TLS 1.3 only, ring, the
//! test PKI's certificates (`tests/data/certs/`). Included with `#[path]` by the
//! tests that run a rustls server.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A TLS 1.3 server presenting `chain` (leaf first) with the PKCS#8 `key`.
pub fn server_config(chain: &[&'static [u8]], key: &'static [u8]) -> Arc<rustls::ServerConfig> {
    let chain: Vec<CertificateDer<'static>> =
        chain.iter().map(|d| CertificateDer::from(*d)).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    Arc::new(config)
}

/// The usual server: leaf-ecdsa (localhost, P-256) with its intermediate.
pub fn ecdsa_server() -> Arc<rustls::ServerConfig> {
    server_config(
        &[
            include_bytes!("../data/certs/leaf-ecdsa.der"),
            include_bytes!("../data/certs/intermediate-ca.der"),
        ],
        include_bytes!("../data/certs/leaf-ecdsa.key.der"),
    )
}

/// An RSA server in the big providers' shape: leaf-rsa-by-rsa4096 (RSA-2048,
/// localhost) under rsa4096-ca (RSA-4096), which root-ca signed.
pub fn rsa_server() -> Arc<rustls::ServerConfig> {
    server_config(
        &[
            include_bytes!("../data/certs/leaf-rsa-by-rsa4096.der"),
            include_bytes!("../data/certs/rsa4096-ca.der"),
        ],
        include_bytes!("../data/certs/leaf-rsa-by-rsa4096.key.der"),
    )
}
