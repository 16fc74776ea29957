//! The dialogue in the log (features `log` and `defmt`): each command line with
//! its secret span replaced by `[secret]`.

use super::Engine;
#[cfg(any(feature = "log", feature = "defmt"))]
use super::part;

impl<const N: usize> Engine<'_, N> {
    /// Logs the command lines in `tx[from..to]` at trace level, the secret span
    /// replaced by `[secret]`.
    #[cfg(any(feature = "log", feature = "defmt"))]
    pub(super) fn log_sent(&self, from: usize, to: usize) {
        let mut at = from;
        while at < to {
            let rest = part(self.tx, at, to);
            let len = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1);
            let line = part(rest, 0, len);
            let text = line.strip_suffix(b"\r\n").unwrap_or(line);
            let (s, e) = self.secret;
            if s < e && at < e && s < at + text.len() {
                let keep = s.saturating_sub(at).min(text.len());
                trace!("C: {}[secret]", printable(part(text, 0, keep)));
            } else {
                trace!("C: {}", printable(text));
            }
            at += len;
        }
    }

    #[cfg(not(any(feature = "log", feature = "defmt")))]
    pub(super) fn log_sent(&self, _: usize, _: usize) {}
}

/// `bytes` as text for the log (replies and commands are ASCII, or UTF-8 with
/// SMTPUTF8).
#[cfg(any(feature = "log", feature = "defmt"))]
pub(super) fn printable(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("<not UTF-8>")
}
