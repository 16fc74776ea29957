//! The streaming message writer (stub).
