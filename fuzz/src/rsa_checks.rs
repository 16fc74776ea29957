//! The `rsa` target's check: the heapless RSA verifier (`src/verify/rsa.rs`, feature
//! `tls-rsa`), reached through its public `SignatureVerificationAlgorithm`s, against
//! the `rsa` crate as the reference.
//!
//! Included by the fuzz crate (`src/lib.rs`) and by the library's tests
//! (`tests/fuzz_corpus.rs`), which replay the corpus on stable.
//!
//! # Input
//!
//! Byte 0: bits 0–2 the algorithm (mod 6: PKCS#1 v1.5 with SHA-256, SHA-384,
//! SHA-512, then PSS with the same three), bits 3–4 the source:
//!
//! - 0, **signed**: the reference signs the message with the 2048-bit test key
//!   (`leaf-rsa`). Byte 1 is the corruption (mod 6: none, a byte of the signature,
//!   of the message or of the key changed, the signature's first byte cut off, a
//!   zero byte put in front of it), bytes 2–3 the position (big-endian, mod the
//!   length), byte 4 the XOR mask (0 counts as 1), bytes 5–12 the seed of the PSS
//!   salt; the rest is the message.
//! - 1, **encoded**: the fuzzer writes the encoded message `EM` itself, the block
//!   that the public operation gives back (RFC 8017 §8.1.2 step 2, §8.2.2 step 2),
//!   and the check signs it with the 2048-bit key's raw private operation. Byte 1 is
//!   the message's length `L`, then `L` bytes of message; the rest is `EM`, cut or
//!   padded with zero bytes to the modulus's 256 bytes (its first byte set to 0 if
//!   it is not below the modulus). This reaches the padding checks with any
//!   near-miss encoding, which no random signature does.
//! - 2, **signed with the 4096-bit test key** (`rsa4096-ca`) over a fixed message
//!   (signed once: a 4096-bit private operation per input would starve the
//!   fuzzer). Bytes 1–4 as for source 0.
//! - 3, **raw**: a big-endian `u16` length and that many bytes of `RSAPublicKey`
//!   DER, a `u16` length and the signature, and the rest is the message.
//!
//! # Properties
//!
//! - No panic, whatever the key, signature and message.
//! - Accepted by this crate ⇒ the reference parses the key and accepts too.
//! - Where the reference parses the key and the key is within this crate's limits
//!   (2048 to 4096 bits, odd modulus, odd exponent from 3 to 2^33 − 1), both give
//!   the same verdict. The reference's PSS verifier asks for a salt as long as the
//!   hash, as this crate does, and both want a signature exactly as long as the
//!   modulus and below it.
//! - A signature made by the reference over the message is accepted; with a byte of
//!   the signature or the message changed, or its length changed, it is refused.
//! - PKCS#1 v1.5 with a fuzzer-written `EM`: accepted exactly when `EM` is the one
//!   encoding of RFC 8017 §9.2 (`00 01 FF..FF 00 DigestInfo`), built here on its own.

use std::sync::OnceLock;

use embedded_smtp::verify::pki_types::SignatureVerificationAlgorithm;
use embedded_smtp::verify::{
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
    RSA_PSS_SHA512,
};
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::rand_core;
use rsa::sha2::{Sha256, Sha384, Sha512};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey, pkcs1v15, pss};

/// The algorithms, in the order byte 0 names them.
const ALGS: [&dyn SignatureVerificationAlgorithm; 6] = [
    RSA_PKCS1_SHA256,
    RSA_PKCS1_SHA384,
    RSA_PKCS1_SHA512,
    RSA_PSS_SHA256,
    RSA_PSS_SHA384,
    RSA_PSS_SHA512,
];

/// A test key and its `RSAPublicKey` DER.
struct TestKey {
    private: RsaPrivateKey,
    public_der: Vec<u8>,
}

/// The test PKI's private keys (`tests/data/certs/`), parsed once.
fn key(big: bool) -> &'static TestKey {
    static SMALL: OnceLock<TestKey> = OnceLock::new();
    static BIG: OnceLock<TestKey> = OnceLock::new();
    let load = |der: &[u8]| {
        let private = RsaPrivateKey::from_pkcs8_der(der).unwrap();
        let public_der = RsaPublicKey::from(&private)
            .to_pkcs1_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        TestKey {
            private,
            public_der,
        }
    };
    if big {
        BIG.get_or_init(|| load(include_bytes!("../../tests/data/certs/rsa4096-ca.key.der")))
    } else {
        SMALL.get_or_init(|| load(include_bytes!("../../tests/data/certs/leaf-rsa.key.der")))
    }
}

/// Runs the check on one input; returns whether this crate's verifier accepted.
pub fn rsa(data: &[u8]) -> bool {
    let [head, rest @ ..] = data else {
        return false;
    };
    let alg = usize::from(head & 7) % ALGS.len();
    match (head >> 3) & 3 {
        0 => signed(alg, false, rest),
        1 => encoded(alg, rest),
        2 => signed(alg, true, rest),
        _ => raw(alg, rest),
    }
}

/// The message the 4096-bit key signs (a TLS 1.3 CertificateVerify's content).
const FIXED_MESSAGE: &[u8] = b"TLS 1.3, server CertificateVerify\x00 transcript hash";

/// The reference's signature over `message` with `private`, by algorithm.
fn sign(alg: usize, private: &RsaPrivateKey, message: &[u8], seed: [u8; 8]) -> Vec<u8> {
    let key = private.clone();
    let mut rng = SeededRng::new(seed);
    match alg {
        0 => pkcs1v15::SigningKey::<Sha256>::new(key)
            .sign(message)
            .to_vec(),
        1 => pkcs1v15::SigningKey::<Sha384>::new(key)
            .sign(message)
            .to_vec(),
        2 => pkcs1v15::SigningKey::<Sha512>::new(key)
            .sign(message)
            .to_vec(),
        3 => pss::SigningKey::<Sha256>::new(key)
            .sign_with_rng(&mut rng, message)
            .to_vec(),
        4 => pss::SigningKey::<Sha384>::new(key)
            .sign_with_rng(&mut rng, message)
            .to_vec(),
        _ => pss::SigningKey::<Sha512>::new(key)
            .sign_with_rng(&mut rng, message)
            .to_vec(),
    }
}

/// The 4096-bit key's signatures over [`FIXED_MESSAGE`], one per algorithm.
fn fixed_signatures() -> &'static [Vec<u8>] {
    static SIGS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SIGS.get_or_init(|| {
        (0..ALGS.len())
            .map(|alg| sign(alg, &key(true).private, FIXED_MESSAGE, [7; 8]))
            .collect()
    })
}

/// Key, signature and message from the input.
fn raw(alg: usize, mut input: &[u8]) -> bool {
    let take = |input: &mut &[u8]| -> Vec<u8> {
        let Some((len, tail)) = input.split_first_chunk::<2>() else {
            *input = &[];
            return Vec::new();
        };
        let (v, tail) = tail.split_at(usize::from(u16::from_be_bytes(*len)).min(tail.len()));
        *input = tail;
        v.to_vec()
    };
    let key = take(&mut input);
    let signature = take(&mut input);
    compare(alg, &key, input, &signature)
}

/// A signature the reference made, perhaps corrupted.
fn signed(alg: usize, big: bool, input: &[u8]) -> bool {
    let Some((&[corruption, hi, lo, mask], rest)) = input.split_first_chunk::<4>() else {
        return false;
    };
    let k = key(big);
    let (message, signature) = if big {
        (FIXED_MESSAGE, fixed_signatures()[alg].clone())
    } else {
        let Some((seed, message)) = rest.split_first_chunk::<8>() else {
            return false;
        };
        (message, sign(alg, &k.private, message, *seed))
    };
    let (mut key, mut message, mut signature) = (k.public_der.clone(), message.to_vec(), signature);
    let at = usize::from(u16::from_be_bytes([hi, lo]));
    let mask = mask.max(1);
    let flip = |v: &mut Vec<u8>| {
        if !v.is_empty() {
            let i = at % v.len();
            v[i] ^= mask;
        }
    };
    let corruption = corruption % 6;
    match corruption {
        0 => {}
        1 => flip(&mut signature),
        2 if message.is_empty() => message.push(mask),
        2 => flip(&mut message),
        3 => flip(&mut key),
        4 => {
            signature.remove(0);
        }
        _ => signature.insert(0, 0),
    }
    let accepted = compare(alg, &key, &message, &signature);
    match corruption {
        0 => assert!(accepted, "refused a genuine signature"),
        1 | 2 | 4 | 5 => assert!(!accepted, "accepted a corrupted signature or message"),
        _ => {}
    }
    accepted
}

/// A signature whose public operation gives back the fuzzer's `EM`.
fn encoded(alg: usize, input: &[u8]) -> bool {
    let Some((&len, rest)) = input.split_first() else {
        return false;
    };
    let (message, em_in) = rest.split_at(usize::from(len).min(rest.len()));
    let k = key(false);
    let size = k.private.size();
    let mut em = em_in.to_vec();
    em.resize(size, 0);
    let mut value = rsa::BigUint::from_bytes_be(&em);
    if value >= *k.private.n() {
        em[0] = 0;
        value = rsa::BigUint::from_bytes_be(&em);
    }
    let s = rsa::hazmat::rsa_decrypt::<SeededRng>(None, &k.private, &value)
        .expect("the raw private operation on a value below the modulus")
        .to_bytes_be();
    let mut signature = vec![0u8; size - s.len()];
    signature.extend_from_slice(&s);
    let accepted = compare(alg, &k.public_der, message, &signature);
    if let Some(expected) = pkcs1_encoding(alg, message, size) {
        assert_eq!(
            accepted,
            em == expected,
            "PKCS#1 v1.5 verdict is not whether EM is the RFC 8017 §9.2 encoding"
        );
    }
    accepted
}

/// The one EMSA-PKCS1-v1_5 encoding of `message` (RFC 8017 §9.2) in `len` bytes, for
/// the PKCS#1 algorithms; `None` for PSS.
fn pkcs1_encoding(alg: usize, message: &[u8], len: usize) -> Option<Vec<u8>> {
    use rsa::sha2::Digest;
    // DigestInfo prefixes, RFC 8017 §9.2 note 1.
    const PREFIX: [&[u8]; 3] = [
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    ];
    let hash = match alg {
        0 => Sha256::digest(message).to_vec(),
        1 => Sha384::digest(message).to_vec(),
        2 => Sha512::digest(message).to_vec(),
        _ => return None,
    };
    let t = [PREFIX[alg], &hash].concat();
    let mut em = vec![0x00, 0x01];
    em.resize(len - t.len() - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(&t);
    Some(em)
}

/// This crate's verdict, held against the reference's; returns this crate's.
fn compare(alg: usize, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let ours = ALGS[alg].verify_signature(key, message, signature).is_ok();
    let Ok(public) = RsaPublicKey::from_pkcs1_der(key) else {
        assert!(!ours, "accepted a key the reference cannot parse");
        return false;
    };
    let reference = reference(alg, public.clone(), message, signature);
    if ours {
        assert!(reference, "accepted a signature the reference refuses");
    }
    if within_limits(&public) {
        assert_eq!(
            ours, reference,
            "the verdicts differ on a key within the limits"
        );
    }
    ours
}

/// The reference's verdict.
fn reference(alg: usize, public: RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
    fn check<V: Verifier<S>, S: for<'a> TryFrom<&'a [u8]>>(
        v: V,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        S::try_from(signature).is_ok_and(|s| v.verify(message, &s).is_ok())
    }
    match alg {
        0 => check::<_, pkcs1v15::Signature>(
            pkcs1v15::VerifyingKey::<Sha256>::new(public),
            message,
            signature,
        ),
        1 => check::<_, pkcs1v15::Signature>(
            pkcs1v15::VerifyingKey::<Sha384>::new(public),
            message,
            signature,
        ),
        2 => check::<_, pkcs1v15::Signature>(
            pkcs1v15::VerifyingKey::<Sha512>::new(public),
            message,
            signature,
        ),
        3 => {
            check::<_, pss::Signature>(pss::VerifyingKey::<Sha256>::new(public), message, signature)
        }
        4 => {
            check::<_, pss::Signature>(pss::VerifyingKey::<Sha384>::new(public), message, signature)
        }
        _ => {
            check::<_, pss::Signature>(pss::VerifyingKey::<Sha512>::new(public), message, signature)
        }
    }
}

/// The keys this crate takes (`src/verify/rsa.rs`, "What is refused").
fn within_limits(public: &RsaPublicKey) -> bool {
    let (n, e) = (public.n(), public.e());
    let bits = n.bits();
    let odd = |v: &rsa::BigUint| v.bits() > 0 && v.to_bytes_le()[0] & 1 == 1;
    (2048..=4096).contains(&bits)
        && odd(n)
        && odd(e)
        && *e >= rsa::BigUint::from(3u8)
        && *e <= rsa::BigUint::from((1u64 << 33) - 1)
}

/// A deterministic RNG for the PSS salt (and the signer's blinding): SHA-256 of the
/// seed and a counter, so that an input always makes the same signature.
struct SeededRng {
    seed: [u8; 8],
    counter: u64,
}

impl SeededRng {
    fn new(seed: [u8; 8]) -> Self {
        SeededRng { seed, counter: 0 }
    }
}

impl rand_core::RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        use rsa::sha2::Digest;
        for chunk in dest.chunks_mut(32) {
            let block = Sha256::new()
                .chain_update(self.seed)
                .chain_update(self.counter.to_le_bytes())
                .finalize();
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for SeededRng {}
