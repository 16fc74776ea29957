//! Logging shim: `trace!`, `debug!` and `warn!` go to `defmt`, to `log`, or nowhere.
//!
//! Only this file knows which logger is active, so the rest of the crate logs with
//! one set of macros. Arguments must be simple values (integers, `&str`, `bool`):
//! they have to format under both `defmt` and `log`. AUTH payloads and passwords
//! are never passed to these macros.

#![allow(unused_macros)]

// With both `defmt` and `log` enabled (e.g. `--all-features`), `defmt` wins: features
// stay additive and nothing is logged twice.

macro_rules! trace {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::trace!($($arg)*);
        #[cfg(all(feature = "log", not(feature = "defmt")))]
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
        #[cfg(all(feature = "log", not(feature = "defmt")))]
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
        #[cfg(all(feature = "log", not(feature = "defmt")))]
        ::log::warn!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            let _ = || { let _ = ($($arg)*); };
        }
    }};
}
