//! Build script of each function crate: how its Lambda bundle (arm64, release, as
//! `sam build` makes it with cargo-lambda) is linked, smaller (docs/cost.md,
//! "Package size"): a position-dependent executable (no PIE: its ~50,000 dynamic
//! relocations were 1.3 MB of each bootstrap; the stack, heap and libraries are
//! still placed at random) without unwind tables (`infra/bundle.ld`: panics abort,
//! nothing unwinds; a panic still prints its message and location). Other targets
//! and profiles (tests, `cargo local`) are linked as usual.

use std::path::Path;

fn main() {
    let script = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../infra/bundle.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    let target = std::env::var("TARGET").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    if target == "aarch64-unknown-linux-gnu" && profile == "release" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    }
}
