//! Decimal numbers without 64-bit division: on 32-bit cores a `u64` divided by a
//! constant becomes a call to a 64-bit division routine of about 1 KB of flash;
//! these do the same with 32-bit divisions.

/// `(x / d, x % d)` for a divisor below 2¹⁶, by long division in 16-bit digits.
pub(crate) fn div_rem_small(x: u64, d: u16) -> (u64, u32) {
    // Divisions by a `NonZeroU32` have no division-by-zero panic path.
    let d = core::num::NonZeroU32::new(u32::from(d)).unwrap_or(core::num::NonZeroU32::MIN);
    // r < d < 2^16, so `cur` fits a u32 and each quotient digit is below 2^16.
    let step = |r: u32, digit: u32| {
        let cur = (r << 16) | digit;
        (cur / d, cur % d)
    };
    // Shifts by constants only: a variable 64-bit shift is a library call
    // (`__aeabi_llsr`, `__aeabi_llsl`) on a 32-bit core.
    let (hi, lo) = ((x >> 32) as u32, x as u32);
    let (q3, r) = step(0, hi >> 16);
    let (q2, r) = step(r, hi & 0xFFFF);
    let (q1, r) = step(r, lo >> 16);
    let (q0, r) = step(r, lo & 0xFFFF);
    (u64::from(q3 << 16 | q2) << 32 | u64::from(q1 << 16 | q0), r)
}

/// The decimal digits of `v`, zero-padded to at least `width` (at most 20), into
/// `buf`; returns where they start.
pub(crate) fn decimal(buf: &mut [u8; 20], mut v: u64, width: usize) -> usize {
    // Every position gets a digit (the leading ones '0'), rather than a `fill`
    // first: no `memset` in the image for it.
    let mut i = buf.len();
    for (at, slot) in buf.iter_mut().enumerate().rev() {
        if v > 0 {
            i = at;
        }
        let (q, r) = div_rem_small(v, 10);
        *slot = b'0' + r as u8;
        v = q;
    }
    i.min(buf.len().saturating_sub(width.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_matches() {
        let xs = [
            0,
            1,
            9,
            10,
            65_535,
            65_536,
            86_399,
            86_400,
            1 << 40,
            u64::MAX,
            u64::MAX - 1,
        ];
        for &x in &xs {
            for d in [1u16, 7, 10, 675, 60_000, u16::MAX] {
                assert_eq!(
                    div_rem_small(x, d),
                    (x / u64::from(d), (x % u64::from(d)) as u32)
                );
            }
        }
        let mut buf = [0u8; 20];
        let at = decimal(&mut buf, u64::MAX, 1);
        assert_eq!(&buf[at..], b"18446744073709551615");
        let at = decimal(&mut buf, 7, 3);
        assert_eq!(&buf[at..], b"007");
        let at = decimal(&mut buf, 0, 1);
        assert_eq!(&buf[at..], b"0");
    }
}
