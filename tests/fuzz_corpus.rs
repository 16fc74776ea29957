//! Every fuzz corpus and regression input, replayed on stable through the same
//! checks the fuzz targets run (`fuzz/src/checks.rs`), so a crash found once stays
//! fixed and the seeds keep meaning something.

#[path = "../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

#[cfg(all(feature = "tls", feature = "async"))]
#[path = "../fuzz/src/tls_script.rs"]
#[allow(dead_code)]
mod tls_script;

#[cfg(all(feature = "tls", feature = "async"))]
#[path = "../fuzz/src/tls_checks.rs"]
#[allow(dead_code)]
mod tls_checks;

#[cfg(feature = "tls-rsa")]
#[path = "../fuzz/src/rsa_checks.rs"]
mod rsa_checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "{} fails its check", f.display());
            n += 1;
        }
    }
    assert!(n > 0, "no inputs for fuzz target {target}");
}

#[test]
fn reply() {
    replay("reply", checks::reply);
}

#[test]
fn ehlo() {
    replay("ehlo", checks::ehlo);
}

#[test]
fn address() {
    replay("address", checks::address);
}

#[test]
fn dot() {
    replay("dot", checks::dot);
}

#[test]
fn message() {
    replay("message", checks::message);
}

#[test]
fn session() {
    replay("session", checks::session);
}

#[cfg(feature = "tls")]
#[test]
fn verify() {
    replay("verify", |data| {
        checks::verify(data);
    });
}

#[cfg(all(feature = "tls", feature = "async"))]
#[test]
fn tls_records() {
    replay("tls_records", tls_checks::tls_records);
}

/// The `verify` seeds reach both verdicts: the genuine chains with the genuine
/// signature pass, and the same input with one bit of the signature flipped, or
/// read with no time source, does not.
#[cfg(feature = "tls")]
#[test]
fn verify_seeds_reach_both_verdicts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/verify");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    for good in [
        "seed_good_chain_signed",
        "seed_good_chain_raw_der_signed",
        "seed_good_chain_ip_name_signed",
        "seed_good_chain_both_roots_signed",
        "seed_pin_signed",
        "seed_good_chain_no_time_check",
    ] {
        let mut data = read(good);
        assert!(checks::verify(&data), "{good} refused");
        *data.last_mut().unwrap() ^= 1;
        assert!(!checks::verify(&data), "{good} with a flipped bit accepted");
    }
    for bad in [
        "seed_good_chain_bad_signature",
        "seed_good_chain_no_time",
        "seed_good_chain_after_expiry",
        "seed_good_chain_other_root",
        "seed_good_chain_long_transcript",
        "seed_wrong_host",
        "seed_expired_leaf",
        "seed_leaf_by_not_a_ca",
        "seed_client_only_leaf",
    ] {
        assert!(!checks::verify(&read(bad)), "{bad} accepted");
    }
}

#[cfg(feature = "tls-rsa")]
#[test]
fn rsa() {
    replay("rsa", |data| {
        rsa_checks::rsa(data);
    });
}

/// The `rsa` seeds reach both verdicts: every genuine signature and encoding passes
/// (both key sizes, every algorithm), and each corrupted or malformed one does not.
#[cfg(feature = "tls-rsa")]
#[test]
fn rsa_seeds_reach_both_verdicts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/rsa");
    let (mut good, mut bad) = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.starts_with("seed_") {
            continue; // found by the fuzzer: any verdict
        }
        let accepted = rsa_checks::rsa(&std::fs::read(&path).unwrap());
        // A signature or encoding made as the RFC says, and nothing changed after.
        let genuine = name == "seed_signed_2048_empty_message"
            || (name.starts_with("seed_signed_") || name.starts_with("seed_encoded_"))
                && ["sha256", "sha384", "sha512"]
                    .iter()
                    .any(|h| name.ends_with(h));
        assert_eq!(accepted, genuine, "{name}");
        if genuine { good += 1 } else { bad += 1 }
    }
    assert!(good >= 15 && bad >= 15, "{good} genuine, {bad} not");
}
