//! Stub: replaced by EHLO capability parsing.
