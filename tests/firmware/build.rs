//! Puts the memory map of the QEMU board for the target on the linker's path.
use std::path::PathBuf;

fn main() {
    let target = std::env::var("TARGET").unwrap();
    let board = match target.as_str() {
        "thumbv7em-none-eabihf" => "mps2-an386",
        "thumbv6m-none-eabi" => "microbit",
        _ => "lm3s6965evb",
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::copy(format!("memory/{board}.x"), out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-changed=build.rs");
}
