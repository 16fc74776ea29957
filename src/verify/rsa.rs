//! RSA signature verification without a heap: RSASSA-PKCS1-v1_5 and RSASSA-PSS
//! (RFC 8017 §8.1.2 and §8.2.2) for moduli of 2048 to 4096 bits.
//!
//! # Arithmetic
//!
//! Numbers are arrays of crypto-bigint [`Limb`]s (32 bits on Cortex-M, 64 on
//! desktops) and the words are multiplied with crypto-bigint's `Limb::mac`, `adc`
//! and `sbb`. The public operation `s^e mod n` is a Montgomery exponentiation
//! (CIOS, one loop over the modulus's own limbs): a 2048-bit key costs a quarter of
//! what a 4096-bit one does, with one copy of the code for every size. crypto-bigint's
//! `DynResidue` was not used: every residue carries a copy of its four-number
//! parameter set (about 2.5 KB per value at 4096 bits), so an exponentiation would
//! hold about 10 KB of stack, and one instance per size (`U2048`, `U3072`, `U4096`)
//! would triple the code. Here the exponentiation holds three 4096-bit numbers
//! besides the key (about 1.5 KB), whatever the key size.
//!
//! Only public values pass through this module (key, signature, message), so the
//! exponentiation is not constant-time; the padding checks are written with a fixed
//! structure anyway, and compare every byte before deciding.
//!
//! # What is refused
//!
//! - keys that are not a DER `RSAPublicKey` (RFC 8017 §A.1.1) with minimal,
//!   positive INTEGERs and nothing after them;
//! - moduli below 2048 or above 4096 bits, or even;
//! - public exponents that are even, below 3 or above 2^33 - 1 (the range ring and
//!   rustls-webpki's own RSA algorithms accept; real keys use 65 537);
//! - signatures whose length is not exactly the modulus's length in bytes
//!   (RFC 8017 §8.2.2 step 1, §8.1.2 step 1: no shorter, zero-stripped or longer
//!   encodings), or whose value is not below the modulus (RSAVP1, §5.2.2 step 1);
//! - PKCS#1 v1.5: any encoded message other than the one §9.2 builds (the whole
//!   `00 01 FF..FF 00 DigestInfo` is compared, the DigestInfo with its NULL
//!   parameters, as §9.2 note 1 writes it; the form without NULL is refused);
//! - PSS: anything but MGF1 with the message's hash and a salt exactly as long as
//!   the hash, which TLS 1.3 requires (RFC 8446 §4.2.3) and the RFC 4055 §3.1
//!   certificate parameters that rustls-webpki accepts fix as well.

use crypto_bigint::{Limb, U4096};
use rustls_pki_types::InvalidSignature;

use super::algs::Hash;

/// Smallest modulus accepted, in bits (as rustls-webpki's own RSA algorithms).
pub(crate) const MIN_BITS: usize = 2048;
/// Largest modulus accepted, in bits.
pub(crate) const MAX_BITS: usize = 4096;
/// Largest modulus, in bytes.
const MAX_BYTES: usize = MAX_BITS / 8;
/// Limbs of the largest modulus.
const MAX_LIMBS: usize = U4096::LIMBS;
/// Largest public exponent accepted: 2^33 - 1.
const MAX_EXPONENT: u64 = (1 << 33) - 1;
/// Longest hash output (SHA-512).
const MAX_HASH: usize = 64;

/// A number of up to [`MAX_BITS`] bits, little-endian limbs.
type Num = [Limb; MAX_LIMBS];

/// A parsed `RSAPublicKey`: the modulus as limbs, with what Montgomery needs.
struct PublicKey {
    n: Num,
    /// Limbs in use (the modulus's own length).
    limbs: usize,
    /// Modulus length in bytes (`k` in RFC 8017).
    len: usize,
    /// Modulus length in bits.
    bits: usize,
    e: u64,
    /// `-n^-1 mod 2^W`.
    n0_inv: Limb,
}

/// RSASSA-PKCS1-V1_5-VERIFY (RFC 8017 §8.2.2) with EMSA-PKCS1-v1_5 (§9.2).
/// `public_key` is a DER `RSAPublicKey`.
pub(crate) fn verify_pkcs1(
    hash: Hash,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), InvalidSignature> {
    let key = PublicKey::from_der(public_key).ok_or(InvalidSignature)?;
    let mut em = [0u8; MAX_BYTES];
    let em = key.rsavp1(signature, &mut em).ok_or(InvalidSignature)?;

    let mut digest = [0u8; MAX_HASH];
    let digest = hash_parts(hash, &[message], &mut digest);
    let prefix = digest_info_prefix(hash);
    // §9.2 step 5: EM = 0x00 || 0x01 || PS || 0x00 || T, PS at least 8 bytes of 0xff.
    let t_len = prefix.len() + digest.len();
    let ps_len = em.len().checked_sub(t_len + 3).ok_or(InvalidSignature)?;
    if ps_len < 8 {
        return Err(InvalidSignature);
    }
    // Every byte is compared; the verdict is taken once at the end.
    let mut diff = 0u8;
    for (i, &b) in em.iter().enumerate() {
        let want = match i {
            0 => 0x00,
            1 => 0x01,
            _ if i < 2 + ps_len => 0xff,
            _ if i == 2 + ps_len => 0x00,
            _ => {
                let at = i - 3 - ps_len;
                match prefix.get(at) {
                    Some(&p) => p,
                    None => digest.get(at - prefix.len()).copied().unwrap_or(!b),
                }
            }
        };
        diff |= b ^ want;
    }
    if diff == 0 {
        Ok(())
    } else {
        Err(InvalidSignature)
    }
}

/// RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) with EMSA-PSS-VERIFY (§9.1.2), MGF1 over
/// `hash` (§B.2.1) and a salt as long as the hash. `public_key` is a DER
/// `RSAPublicKey`.
pub(crate) fn verify_pss(
    hash: Hash,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), InvalidSignature> {
    let key = PublicKey::from_der(public_key).ok_or(InvalidSignature)?;
    let mut buf = [0u8; MAX_BYTES];
    let m = key.rsavp1(signature, &mut buf).ok_or(InvalidSignature)?;

    // §8.1.2 step 2c: EM = I2OSP(m, emLen) with emBits = modBits - 1. When emLen
    // is one byte shorter than k, m's first byte must be zero.
    let em_bits = key.bits - 1;
    let em_len = em_bits.div_ceil(8);
    let (high, em) = m.split_at_mut(m.len() - em_len);
    if high.iter().any(|&b| b != 0) {
        return Err(InvalidSignature);
    }

    let mut m_hash = [0u8; MAX_HASH];
    let m_hash = hash_parts(hash, &[message], &mut m_hash);
    let h_len = m_hash.len();
    let s_len = h_len;
    // §9.1.2 step 3.
    if em_len < h_len + s_len + 2 {
        return Err(InvalidSignature);
    }
    // Step 4: the trailer.
    let (rest, trailer) = em.split_at_mut(em_len - 1);
    if trailer != [0xbc] {
        return Err(InvalidSignature);
    }
    // Step 5: maskedDB || H.
    let (db, h) = rest.split_at_mut(em_len - h_len - 1);
    // Step 6: the top 8*emLen - emBits bits of maskedDB must be zero.
    let top_mask = 0xffu8 >> (8 * em_len - em_bits);
    if db.first().is_some_and(|&b| b & !top_mask != 0) {
        return Err(InvalidSignature);
    }
    // Steps 7-8: DB = maskedDB xor MGF1(H, emLen - hLen - 1).
    mgf1_xor(hash, h, db);
    // Step 9.
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    // Step 10: DB = PS (zeros) || 0x01 || salt.
    let ps_len = em_len - h_len - s_len - 2;
    let (ps, after) = db.split_at(ps_len);
    let (one, salt) = after.split_first().ok_or(InvalidSignature)?;
    let mut diff = ps.iter().fold(0u8, |acc, &b| acc | b);
    diff |= one ^ 0x01;
    // Steps 12-14: H' = Hash(0x00 * 8 || mHash || salt) must equal H.
    let mut h2 = [0u8; MAX_HASH];
    let h2 = hash_parts(hash, &[&[0u8; 8], m_hash, salt], &mut h2);
    diff |= h2
        .iter()
        .zip(h.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff == 0 && h2.len() == h.len() {
        Ok(())
    } else {
        Err(InvalidSignature)
    }
}

/// MGF1 (RFC 8017 §B.2.1) over `seed`, xored into `out`.
fn mgf1_xor(hash: Hash, seed: &[u8], out: &mut [u8]) {
    let mut block = [0u8; MAX_HASH];
    // At most MAX_BYTES / 32 + 1 = 17 blocks.
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(hash.len())) {
        let mask = hash_parts(hash, &[seed, &counter.to_be_bytes()], &mut block);
        for (o, m) in chunk.iter_mut().zip(mask.iter()) {
            *o ^= m;
        }
    }
}

/// The hash of the concatenated `parts`, written into `out`; returns its length.
fn hash_parts<'o>(hash: Hash, parts: &[&[u8]], out: &'o mut [u8; MAX_HASH]) -> &'o [u8] {
    fn run<D: sha2::Digest>(parts: &[&[u8]], out: &mut [u8]) -> usize {
        let mut d = D::new();
        for p in parts {
            d.update(p);
        }
        let digest = d.finalize();
        let n = digest.len().min(out.len());
        if let (Some(o), Some(i)) = (out.get_mut(..n), digest.get(..n)) {
            o.copy_from_slice(i);
        }
        n
    }
    let n = match hash {
        Hash::Sha256 => run::<sha2::Sha256>(parts, out),
        Hash::Sha384 => run::<sha2::Sha384>(parts, out),
        Hash::Sha512 => run::<sha2::Sha512>(parts, out),
    };
    out.get(..n).unwrap_or(&[])
}

/// The DER `DigestInfo` before the hash value, with the NULL parameters
/// (RFC 8017 §9.2 note 1).
fn digest_info_prefix(hash: Hash) -> &'static [u8] {
    match hash {
        Hash::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        Hash::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        Hash::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

impl PublicKey {
    /// Parses a DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent
    /// INTEGER }` (RFC 8017 §A.1.1) and checks the limits in the module docs.
    fn from_der(der: &[u8]) -> Option<PublicKey> {
        let (seq, rest) = der_tlv(der, 0x30)?;
        if !rest.is_empty() {
            return None;
        }
        let (n, rest) = der_tlv(seq, 0x02)?;
        let (e, rest) = der_tlv(rest, 0x02)?;
        if !rest.is_empty() {
            return None;
        }
        let n = positive_integer(n)?;
        let e = positive_integer(e)?;

        let len = n.len();
        let first = *n.first()?;
        let bits = 8 * len - first.leading_zeros() as usize;
        if !(MIN_BITS..=MAX_BITS).contains(&bits) || n.last()? & 1 == 0 {
            return None;
        }
        if e.len() > 8 {
            return None;
        }
        let e = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        if !(3..=MAX_EXPONENT).contains(&e) || e & 1 == 0 {
            return None;
        }

        let mut key = PublicKey {
            n: [Limb::ZERO; MAX_LIMBS],
            limbs: len.div_ceil(Limb::BYTES),
            len,
            bits,
            e,
            n0_inv: Limb::ZERO,
        };
        from_be_bytes(n, &mut key.n);
        key.n0_inv = neg_inv(key.n[0]);
        Some(key)
    }

    /// RSAVP1 (RFC 8017 §5.2.2) on a signature of exactly `k` bytes (§8.1.2 and
    /// §8.2.2 step 1): `s^e mod n`, written big-endian as `k` bytes into `out`.
    ///
    /// Three numbers live at once (`s`, the accumulator and the CIOS row inside
    /// [`mont_mul_assign`]) besides the key: about 1.5 KB of stack at 4096 bits.
    fn rsavp1<'o>(&self, signature: &[u8], out: &'o mut [u8; MAX_BYTES]) -> Option<&'o mut [u8]> {
        if signature.len() != self.len {
            return None;
        }
        let l = self.limbs;
        let n = self.n.get(..l)?;
        let mut s: Num = [Limb::ZERO; MAX_LIMBS];
        from_be_bytes(signature, &mut s);
        let s = s.get_mut(..l)?;
        // s must be below n (§5.2.2 step 1).
        if !less_than(s, n) {
            return None;
        }
        // The accumulator first holds R^2 mod n, to bring s into the Montgomery
        // domain (R = 2^(W * limbs)): s <- s * R^2 / R = s * R.
        let mut acc: Num = [Limb::ZERO; MAX_LIMBS];
        let acc = acc.get_mut(..l)?;
        self.r_squared(acc);
        mont_mul_assign(s, Some(acc), n, self.n0_inv);
        // Left-to-right square-and-multiply over the bits of e (at most 33).
        acc.copy_from_slice(s);
        let top = 63 - self.e.leading_zeros();
        for bit in (0..top).rev() {
            mont_mul_assign(acc, None, n, self.n0_inv);
            if (self.e >> bit) & 1 == 1 {
                mont_mul_assign(acc, Some(s), n, self.n0_inv);
            }
        }
        // Out of the Montgomery domain: acc * 1 / R.
        s.fill(Limb::ZERO);
        *s.first_mut()? = Limb::ONE;
        mont_mul_assign(acc, Some(s), n, self.n0_inv);
        let out = out.get_mut(..self.len)?;
        to_be_bytes(acc, out);
        Some(out)
    }

    /// `R^2 mod n` into `x` (the modulus's limbs). `R mod n` is made by doubling
    /// `2^(bits - 1)` (which is below `n`), then `R * 2^j mod n` for
    /// `W * limbs = j * 2^t`, which `t` Montgomery squarings turn into
    /// `R * 2^(j * 2^t) = R^2`.
    fn r_squared(&self, x: &mut [Limb]) {
        let n = &self.n[..x.len()];
        let width = x.len() * Limb::BITS;
        let t = width.trailing_zeros() as usize;
        let j = width >> t;
        let top = self.bits - 1;
        x.fill(Limb::ZERO);
        if let Some(limb) = x.get_mut(top / Limb::BITS) {
            *limb = Limb(1 << (top % Limb::BITS));
        }
        // 2^(bits-1) -> 2^width = R (mod n) -> R * 2^j (mod n).
        for _ in 0..(width - top + j) {
            mod_double(x, n);
        }
        for _ in 0..t {
            mont_mul_assign(x, None, n, self.n0_inv);
        }
    }
}

/// Montgomery multiplication, CIOS (coarsely integrated operand scanning): `a = a * b / R
/// mod n` (`b = a` when `None`) for `a, b < n`, all slices `n.len()` limbs long and
/// `n` odd. `a` is read throughout and written once at the end, so it can be the
/// accumulator and the squared operand without a second buffer.
fn mont_mul_assign(a: &mut [Limb], b: Option<&[Limb]>, n: &[Limb], n0_inv: Limb) {
    let l = n.len();
    let mut t = [Limb::ZERO; MAX_LIMBS + 2];
    let t = &mut t[..l + 2];
    // Read-only views while the row is built; `a` is written after the loop.
    let a_in: &[Limb] = a;
    for &bi in b.unwrap_or(a_in) {
        // t += a * b[i]
        let mut carry = Limb::ZERO;
        for (tj, &aj) in t.iter_mut().zip(a_in) {
            (*tj, carry) = tj.mac(aj, bi, carry);
        }
        let (s, c) = t[l].adc(carry, Limb::ZERO);
        t[l] = s;
        t[l + 1] = c;
        // t = (t + m * n) / W, with m making the low limb zero.
        let m = t[0].wrapping_mul(n0_inv);
        let (_, mut carry) = t[0].mac(m, n[0], Limb::ZERO);
        for j in 1..l {
            (t[j - 1], carry) = t[j].mac(m, n[j], carry);
        }
        let (s, c) = t[l].adc(carry, Limb::ZERO);
        t[l - 1] = s;
        t[l] = t[l + 1].wrapping_add(c);
    }
    // t < 2n: subtract n once if t >= n.
    let needs_sub = t[l] != Limb::ZERO || !less_than(&t[..l], n);
    let mut borrow = Limb::ZERO;
    for ((o, &tj), &nj) in a.iter_mut().zip(t.iter()).zip(n) {
        let (d, b) = tj.sbb(if needs_sub { nj } else { Limb::ZERO }, borrow);
        *o = d;
        borrow = b;
    }
}

/// `x = 2x mod n` for `x < n`.
fn mod_double(x: &mut [Limb], n: &[Limb]) {
    let mut carry = Limb::ZERO;
    for xi in x.iter_mut() {
        let (s, c) = xi.adc(*xi, carry);
        *xi = s;
        carry = c;
    }
    if carry != Limb::ZERO || !less_than(x, n) {
        let mut borrow = Limb::ZERO;
        for (xi, &ni) in x.iter_mut().zip(n) {
            (*xi, borrow) = xi.sbb(ni, borrow);
        }
    }
}

/// `a < b` for numbers of the same number of limbs.
fn less_than(a: &[Limb], b: &[Limb]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x.0 != y.0 {
            return x.0 < y.0;
        }
    }
    false
}

/// `-n0^-1 mod 2^W` for odd `n0`, by Newton's iteration (each step doubles the
/// correct low bits: 3, 6, 12, 24, 48, 96).
fn neg_inv(n0: Limb) -> Limb {
    let mut inv = n0;
    for _ in 0..5 {
        let two_minus = Limb::from_u8(2).wrapping_sub(n0.wrapping_mul(inv));
        inv = inv.wrapping_mul(two_minus);
    }
    inv.wrapping_neg()
}

/// Big-endian bytes (at most `MAX_BYTES`) into little-endian limbs.
fn from_be_bytes(bytes: &[u8], out: &mut Num) {
    for (limb, chunk) in out.iter_mut().zip(bytes.rchunks(Limb::BYTES)) {
        *limb = Limb(chunk.iter().fold(0, |acc: crypto_bigint::Word, &b| {
            (acc << 8) | b as crypto_bigint::Word
        }));
    }
}

/// Little-endian limbs into big-endian bytes, filling `out` (its length is the
/// modulus length, at most the limbs' bytes).
fn to_be_bytes(limbs: &[Limb], out: &mut [u8]) {
    for (i, o) in out.iter_mut().rev().enumerate() {
        let limb = limbs.get(i / Limb::BYTES).map_or(0, |l| l.0);
        *o = (limb >> (8 * (i % Limb::BYTES))) as u8;
    }
}

/// One DER TLV with tag `tag`, definite length; returns `(value, rest)`.
fn der_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if !(1..=2).contains(&count) {
            return None;
        }
        let (octets, after) = rest.split_at_checked(count)?;
        rest = after;
        let len = octets
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        // DER: the shortest length form.
        if len < 0x80 || octets.first() == Some(&0) {
            return None;
        }
        len
    };
    rest.split_at_checked(len)
}

/// The magnitude of a DER INTEGER that must be positive and minimally encoded
/// (X.690 §8.3.2): no sign byte unless the next byte has its top bit set.
fn positive_integer(value: &[u8]) -> Option<&[u8]> {
    match value {
        [] => None,
        [0, rest @ ..] => match rest.first() {
            Some(&b) if b >= 0x80 => Some(rest),
            _ => None,
        },
        [b, ..] if *b >= 0x80 => None,
        _ => Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neg_inv_is_an_inverse() {
        for n0 in [1u64, 3, 0xffff_ffff, 0x1234_5677, u64::MAX] {
            let n0 = Limb(n0 as crypto_bigint::Word);
            assert_eq!(n0.wrapping_mul(neg_inv(n0)), Limb::MAX);
        }
    }

    #[test]
    fn integers_must_be_minimal_and_positive() {
        assert_eq!(positive_integer(&[]), None);
        assert_eq!(positive_integer(&[0x00]), None);
        assert_eq!(positive_integer(&[0x00, 0x7f]), None);
        assert_eq!(positive_integer(&[0x80]), None);
        assert_eq!(positive_integer(&[0x00, 0x80]), Some(&[0x80][..]));
        assert_eq!(positive_integer(&[0x01, 0x00]), Some(&[0x01, 0x00][..]));
    }

    #[test]
    fn der_lengths_must_be_minimal() {
        assert_eq!(
            der_tlv(&[0x02, 0x01, 0x05], 0x02),
            Some((&[5][..], &[][..]))
        );
        assert_eq!(der_tlv(&[0x02, 0x81, 0x01, 0x05], 0x02), None);
        assert_eq!(der_tlv(&[0x02, 0x82, 0x00, 0x81], 0x02), None);
        assert_eq!(der_tlv(&[0x02, 0x02, 0x05], 0x02), None);
        assert_eq!(der_tlv(&[0x03, 0x01, 0x05], 0x02), None);
        assert_eq!(der_tlv(&[0x02, 0x80], 0x02), None);
    }

    #[test]
    fn bytes_round_trip_through_limbs() {
        let mut bytes = [0u8; 257];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8 ^ 0x5a;
        }
        let mut n: Num = [Limb::ZERO; MAX_LIMBS];
        from_be_bytes(&bytes, &mut n);
        let mut back = [0u8; 257];
        to_be_bytes(&n[..257usize.div_ceil(Limb::BYTES)], &mut back);
        assert_eq!(bytes, back);
    }

    #[test]
    fn small_modexp() {
        // The exponentiation is checked end to end by tests/verify_rsa.rs; here the
        // two steps on one limb: n = 251, R = 2^W.
        let n = [Limb(251)];
        let inv = neg_inv(n[0]);
        // a = 5, b = R mod 251 -> a * R / R = 5.
        let r_mod = (1u128 << Limb::BITS) % 251;
        let mut a = [Limb(5)];
        mont_mul_assign(&mut a, Some(&[Limb(r_mod as crypto_bigint::Word)]), &n, inv);
        assert_eq!(a[0].0, 5);
        // Squaring in place: (7R)^2 / R = 49R.
        let mut a = [Limb(((7 * r_mod) % 251) as crypto_bigint::Word)];
        mont_mul_assign(&mut a, None, &n, inv);
        assert_eq!(u128::from(a[0].0), (49 * r_mod) % 251);
        let mut x = [Limb(200)];
        mod_double(&mut x, &n);
        assert_eq!(x[0].0, 149);
    }
}
