//! Logging shim: `trace!`, `debug!` and `warn!` go to `defmt`, to `log`, or nowhere.
//!
//! Only this file knows which logger is active, so the rest of the crate logs with
//! one set of macros. Arguments must be simple values (integers, `&str`, `bool`):
//! they have to format under both `defmt` and `log`. AUTH payloads and passwords
//! are never passed to these macros: the engine logs every command and reply line
//! at trace level with the secret span of its [`Action::Send`](crate::engine::Action::Send)
//! replaced by `[secret]`.

#![allow(unused_macros)]

// With both `defmt` and `log` enabled (e.g. `--all-features`) each line goes to
// both: they are different sinks (a probe and the host's logger), and features stay
// additive.

macro_rules! trace {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::trace!($($arg)*);
        #[cfg(feature = "log")]
        ::log::trace!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            let _ = || { let _ = ($($arg)*); };
        }
    }};
}

macro_rules! debug {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::debug!($($arg)*);
        #[cfg(feature = "log")]
        ::log::debug!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            let _ = || { let _ = ($($arg)*); };
        }
    }};
}

macro_rules! warn {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::warn!($($arg)*);
        #[cfg(feature = "log")]
        ::log::warn!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            let _ = || { let _ = ($($arg)*); };
        }
    }};
}
