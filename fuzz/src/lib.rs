//! The property checks behind each fuzz target, in one file (`checks.rs`) that the
//! library's test suite also includes (`tests/fuzz_corpus.rs`), so every corpus
//! input is re-checked on stable by `cargo test`. The `tls_records` target's
//! scripted TLS server (`tls_script.rs`) and its checks (`tls_checks.rs`), and the
//! `rsa` target's differential check (`rsa_checks.rs`), are included the same way.

#[path = "checks.rs"]
pub mod checks;

#[cfg(feature = "tls")]
#[path = "tls_script.rs"]
pub mod tls_script;

#[cfg(feature = "tls")]
#[path = "tls_checks.rs"]
pub mod tls_checks;

#[cfg(feature = "tls-rsa")]
#[path = "rsa_checks.rs"]
pub mod rsa_checks;
