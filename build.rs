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
//! - The C runtime linked in statically (a static PIE, what `-C
//!   target-feature=+crt-static` gives, for the `weir` binary only): dynamically
//!   linked, an idle broker had 2.3 MB of libc, libm, libgcc_s and ld.so
//!   resident (shared pages, but counted in its RSS: the 64 KiB fault-around
//!   windows of the few dozen C functions and IFUNC resolvers it touches); linked
//!   in, only the C functions it calls are in the binary, next to its own code.
//!   Rust's flag cannot be set for one binary (cargo's rustflags reach every
//!   crate, and proc-macros then fail to build on linux-gnu), so this does it at
//!   the link: `-static-pie`, and a directory searched first whose `libc.so`,
//!   `libm.so` and `libgcc_s.so` are linker scripts naming the static archives,
//!   so rustc's `-lc -lm -lgcc_s` pick those (`-lpthread -lrt -ldl -lutil` are
//!   empty archives since glibc 2.34). Host names still resolve: glibc's `files`
//!   and `dns` lookups are built into the static library; other NSS modules of
//!   /etc/nsswitch.conf (mdns, ldap, ...) are loaded only from a C library of
//!   the same version. `WEIRBUILD_DYNAMIC_CRT=1` at build time links as before.

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if !target.contains("linux-gnu") || target != host {
        return;
    }
    let relr = links_and_runs(&["-Wl,-z,pack-relative-relocs"]);
    if relr {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-env-changed=WEIRBUILD_DYNAMIC_CRT");
    if std::env::var_os("WEIRBUILD_DYNAMIC_CRT").is_none_or(|v| v.is_empty() || v == "0") {
        if let Some(dir) = static_crt_dir() {
            let mut flags = vec!["-static-pie".to_string(), format!("-L{}", dir.display())];
            if relr {
                flags.push("-Wl,-z,pack-relative-relocs".to_string());
            }
            // rustc's own libraries for a dynamically linked binary, in its order.
            let libs = [
                "-lgcc_s",
                "-lutil",
                "-lrt",
                "-lpthread",
                "-lm",
                "-ldl",
                "-lc",
            ];
            let mut probe: Vec<&str> = flags.iter().map(String::as_str).collect();
            probe.extend(["-nodefaultlibs", "-Wl,-Bdynamic"]);
            probe.extend(libs);
            if links_and_runs(&probe) && probe_is_static() {
                for f in &flags[..2] {
                    println!("cargo:rustc-link-arg-bins={f}");
                }
                // For tests/cli.rs: the binary must then come out without a loader.
                println!("cargo:rustc-env=WEIRBUILD_STATIC_CRT=1");
            }
        }
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

/// The directory of linker scripts that send rustc's `-lc`, `-lm` and
/// `-lgcc_s` to the static archives (`OUT_DIR/static-crt`), or None when the
/// static C library is not installed (`libc.a`, from libc6-dev / glibc-static).
fn static_crt_dir() -> Option<PathBuf> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    for archive in ["libc.a", "libm.a", "libgcc_eh.a"] {
        let out = Command::new(&cc)
            .arg(format!("-print-file-name={archive}"))
            .output()
            .ok()?;
        // cc prints the bare name back when it does not find the file.
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if !path.is_absolute() || !path.exists() {
            return None;
        }
    }
    let dir = PathBuf::from(std::env::var_os("OUT_DIR")?).join("static-crt");
    std::fs::create_dir_all(&dir).ok()?;
    let scripts = [
        (
            "libc.so",
            "GROUP ( -l:libc.a -l:libgcc_eh.a -l:libgcc.a )\n",
        ),
        (
            "libgcc_s.so",
            "GROUP ( -l:libgcc_eh.a -l:libgcc.a -l:libc.a )\n",
        ),
        ("libm.so", "INPUT ( -l:libm.a )\n"),
    ];
    for (name, text) in scripts {
        std::fs::write(dir.join(name), text).ok()?;
    }
    Some(dir)
}

/// Whether the probe `links_and_runs` linked last has no program interpreter
/// (no PT_INTERP program header): statically linked, not a dynamic binary
/// that found some shared library after all.
fn probe_is_static() -> bool {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let Ok(elf) = std::fs::read(out.join("link-probe")) else {
        return false;
    };
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
    };
    // ELF64, little-endian: e_phoff at 0x20, e_phentsize at 0x36, e_phnum at 0x38.
    if !elf.starts_with(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..phnum).all(|i| {
        let at = phoff + i * phentsize;
        // p_type 3 = PT_INTERP.
        elf.get(at..at + 4)
            .is_some_and(|t| u32::from_le_bytes(t.try_into().expect("4 bytes")) != 3)
    })
}

/// Whether the C toolchain links a trivial program with `flags` and the program
/// then runs here.
fn links_and_runs(flags: &[&str]) -> bool {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let exe = out.join("link-probe");
    let _ = std::fs::remove_file(&exe);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut child = match Command::new(cc)
        .args(["-x", "c", "-", "-o"])
        .arg(&exe)
        .args(flags)
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
