//! Link options for the `weir` binary that cut its resident memory (issue #13,
//! idle RSS). Only the binary is affected (`rustc-link-arg-bins`), never the
//! library or the tests, and only where a probe shows the toolchain and the C
//! library support the option; elsewhere the binary links as before.
//!
//! - Packed relative relocations (`-z pack-relative-relocs`, DT_RELR): the
//!   position-independent binary has ~29,000 relative relocations, which as
//!   RELA entries are ~700 KB of `.rela.dyn` the dynamic loader reads (and
//!   keeps resident) at every start; as RELR bitmaps they are a few KB. Needs
//!   glibc >= 2.36 at run time, which the linker records as a versioned
//!   dependency (GLIBC_ABI_DT_RELR), so an older C library refuses to load the
//!   binary instead of misrunning it.
//! - Start-up code first (release builds linked by lld, Rust's default linker
//!   on x86_64 Linux since 1.90): `link/startup-order.txt` names the ~1,000
//!   functions that run from exec to an idle broker that answered a request
//!   (`scripts/startup-order` regenerates it); `--symbol-ordering-file` puts
//!   them next to each other, so an idle broker maps about 1 MB of its code
//!   instead of the ~100 64 KiB fault-around windows that start-up touched all
//!   over a 14 MB `.text`. Names the file lists that no longer exist are
//!   skipped silently: a stale file only costs resident pages.

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if !target.contains("linux-gnu") || target != host {
        return;
    }
    if links_and_runs("-Wl,-z,pack-relative-relocs") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let order = "link/startup-order.txt";
    println!("cargo:rerun-if-changed={order}");
    if std::env::var("PROFILE").as_deref() == Ok("release") && links_with_rust_lld(&target) {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={dir}/{order}");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether rustc links this target's binaries with its bundled lld (the
/// default for x86_64-unknown-linux-gnu since Rust 1.90) rather than a linker
/// configured for the build, which may not know lld's options.
fn links_with_rust_lld(target: &str) -> bool {
    if target != "x86_64-unknown-linux-gnu" || std::env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker") || flags.contains("link-self-contained") {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let Ok(out) = Command::new(rustc).arg("-V").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&out.stdout);
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}

/// Whether the C toolchain links a trivial program with `flag` and the program
/// then runs here.
fn links_and_runs(flag: &str) -> bool {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let exe = out.join("link-probe");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut child = match Command::new(cc)
        .args(["-x", "c", "-", "-o"])
        .arg(&exe)
        .arg(flag)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => return false,
    };
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        if stdin
            .write_all(b"static int x; int *p = &x; int main(void) { return *p; }\n")
            .is_err()
        {
            return false;
        }
    }
    let linked = child.wait().is_ok_and(|s| s.success());
    linked && Command::new(&exe).status().is_ok_and(|s| s.success())
}
