//! Stub: replaced by the streaming nom parser.
