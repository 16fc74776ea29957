//! Every fuzz corpus and regression input, replayed on stable through the same
//! checks the fuzz targets run (`fuzz/src/checks.rs`), so a crash found once stays
//! fixed and the seeds keep meaning something.

#[path = "../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

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
