//! The property checks behind each fuzz target, in one file (`checks.rs`) that the
//! library's test suite also includes (`tests/fuzz_corpus.rs`), so every corpus
//! input is re-checked on stable by `cargo test`.

#[path = "checks.rs"]
pub mod checks;
