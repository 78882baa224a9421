//! The real `weir` binary: start-up errors are one line and a non-zero exit;
//! SIGTERM shuts down cleanly (exit 0, clean-shutdown marker written).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{sigterm, spawn_weir, wait_exit, TestBroker, WEIR};

/// Run weir to completion (bounded) and return (exit code, stderr).
fn run_to_exit(args: &[&str], dir: &std::path::Path) -> (i32, String) {
    let mut child = Command::new(WEIR)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("weir {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_one_line_failure(args: &[&str], dir: &std::path::Path, needle: &str) {
    let (code, err) = run_to_exit(args, dir);
    assert_ne!(code, 0, "{args:?} should fail; stderr: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected, got: {err}"
    );
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
}

#[test]
fn bad_flags_and_settings_exit_non_zero_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert_one_line_failure(&["serve", "--bogus"], dir.path(), "--bogus");
    assert_one_line_failure(
        &["serve", "--data-dir", d, "--set", "no.such.key=1"],
        dir.path(),
        "no.such.key",
    );
    assert_one_line_failure(
        &["serve", "--data-dir", d, "--set", "num.partitions=zero"],
        dir.path(),
        "num.partitions",
    );
    assert_one_line_failure(&["serve", "--listen", "nowhere"], dir.path(), "--listen");
    let (code, err) = {
        let mut c = Command::new(WEIR);
        c.args(["serve", "--data-dir", d, "--listen", "127.0.0.1:0"])
            .env("WEIR_NOT_A_SETTING", "1");
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    assert_ne!(code, 0);
    assert!(err.contains("not.a.setting"), "{err}");
}

#[test]
fn unusable_data_dir_is_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert_one_line_failure(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            file.to_str().unwrap(),
        ],
        dir.path(),
        "data directory",
    );
}

#[test]
fn sigterm_exits_zero_within_five_seconds_and_leaves_clean_marker() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = TestBroker::spawn(dir.path(), &[]);
    // An idle client connection must not hold shutdown up.
    let _conn = std::net::TcpStream::connect(r.addr()).unwrap();
    sigterm(r.child());
    let Some(exit) = wait_exit(r.child(), Duration::from_secs(5)) else {
        panic!("weir did not exit within 5 s of SIGTERM");
    };
    assert_eq!(exit.code(), Some(0));
    assert!(dir
        .path()
        .join(weir_storage::store::CLEAN_SHUTDOWN_FILE)
        .exists());
}

#[test]
fn second_broker_on_same_dir_or_port_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let mut r = TestBroker::spawn(dir.path(), &[]);
    let addr = r.bootstrap();
    assert_one_line_failure(
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", d],
        other.path(),
        "locked",
    );
    assert_one_line_failure(
        &[
            "serve",
            "--listen",
            &addr,
            "--data-dir",
            other.path().join("x").to_str().unwrap(),
        ],
        other.path(),
        "cannot listen",
    );
    sigterm(r.child());
    assert!(wait_exit(r.child(), Duration::from_secs(5)).is_some());
}

#[test]
fn config_file_settings_apply_and_unknown_keys_fail() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let bad = dir.path().join("bad.properties");
    std::fs::write(&bad, "num.partitions=2\nbogus.setting=1\n").unwrap();
    assert_one_line_failure(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            d.to_str().unwrap(),
            "--config",
            bad.to_str().unwrap(),
        ],
        dir.path(),
        "bogus.setting",
    );
    let missing = dir.path().join("nope.toml");
    assert_one_line_failure(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            missing.to_str().unwrap(),
        ],
        dir.path(),
        "nope.toml",
    );
    let good = dir.path().join("weir.toml");
    std::fs::write(&good, "[log.retention]\nms = 1000\n").unwrap();
    let mut r = TestBroker::spawn(&d, &["--config", good.to_str().unwrap()]);
    sigterm(r.child());
    assert_eq!(
        wait_exit(r.child(), Duration::from_secs(5)).and_then(|s| s.code()),
        Some(0)
    );
}

/// Start `weir serve ARGS` in `dir`, SIGTERM it once ready, and return its stderr.
fn stderr_of_a_short_run(args: &[&str], dir: &std::path::Path) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(WEIR)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.join("data/.lock").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).is_some());
    reader.join().unwrap().join("\n")
}

#[test]
fn json_logs_keep_the_readiness_line_verbatim_and_say_what_started() {
    let dir = tempfile::tempdir().unwrap();
    let err = stderr_of_a_short_run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "data",
            "--log-format",
            "json",
            "--set",
            "num.partitions=3",
            "--set",
            "ssl.key.password=hunter2",
        ],
        dir.path(),
    );
    let mut ready = 0;
    let mut started = None;
    for line in err.lines() {
        if line.starts_with("weir listening on 127.0.0.1:") {
            ready += 1;
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let msg = v["message"].as_str().unwrap_or_default();
        if msg.starts_with("weir ") && msg.contains(" started: ") {
            assert_eq!(v["level"], "INFO");
            started = Some(msg.to_string());
        }
    }
    assert_eq!(ready, 1, "{err}");
    let started = started.unwrap_or_else(|| panic!("no start line in: {err}"));
    assert!(
        started.contains("listeners PLAINTEXT://127.0.0.1:"),
        "{started}"
    );
    assert!(started.contains("data dir data"), "{started}");
    assert!(started.contains("num.partitions=3"), "{started}");
    assert!(started.contains("weir.log.format=json"), "{started}");
    assert!(
        started.contains("ssl.key.password=[hidden]") && !err.contains("hunter2"),
        "{started}"
    );

    // Text format, a level that hides INFO: only the readiness line.
    let dir = tempfile::tempdir().unwrap();
    let err = stderr_of_a_short_run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "data",
            "--log-level",
            "warn",
        ],
        dir.path(),
    );
    assert!(
        err.lines()
            .all(|l| l.starts_with("weir listening on ") || l.contains("WARN")),
        "{err}"
    );
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("weir listening on "))
            .count(),
        1
    );
}

#[test]
fn bad_log_flags_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    assert_one_line_failure(&["serve", "--log-format", "xml"], dir.path(), "log format");
    assert_one_line_failure(&["serve", "--log-level", "loud=="], dir.path(), "log level");
}

/// build.rs links the C runtime into the binary where the toolchain can
/// (issue #13, idle RSS): then it has no program interpreter (PT_INTERP), so
/// no shared library is loaded at start. Fails if the link arguments stop
/// taking effect (e.g. rustc's link line changes under them).
#[test]
fn binary_links_the_c_runtime_in_when_build_rs_chose_to() {
    if option_env!("WEIRBUILD_STATIC_CRT").is_none() {
        eprintln!(
            "build.rs linked the C runtime dynamically here (no libc.a, or WEIRBUILD_DYNAMIC_CRT)"
        );
        return;
    }
    let elf = std::fs::read(WEIR).unwrap();
    assert!(
        elf.starts_with(b"\x7fELF\x02\x01"),
        "64-bit little-endian ELF"
    );
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    assert!(phnum > 0);
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let p_type = u32::from_le_bytes(elf[at..at + 4].try_into().unwrap());
        assert_ne!(p_type, 3, "PT_INTERP: {WEIR} is dynamically linked");
        // PT_DYNAMIC's entries must not name a shared library (DT_NEEDED = 1).
        if p_type == 2 {
            let off = u64::from_le_bytes(elf[at + 8..at + 16].try_into().unwrap()) as usize;
            let size = u64::from_le_bytes(elf[at + 32..at + 40].try_into().unwrap()) as usize;
            for e in elf[off..off + size].chunks_exact(16) {
                let tag = u64::from_le_bytes(e[..8].try_into().unwrap());
                assert_ne!(tag, 1, "DT_NEEDED in {WEIR}");
            }
        }
    }
}

/// Host names still resolve in the binary as linked (statically, glibc's
/// built-in `files` lookup): `--listen localhost:0` binds through
/// getaddrinfo and the broker answers there; a per-IP connection override
/// naming a host resolves at start.
#[test]
fn host_names_resolve_in_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let (mut child, addr) = spawn_weir(&[
        "serve",
        "--listen",
        "localhost:0",
        "--data-dir",
        d.to_str().unwrap(),
        "--set",
        "max.connections.per.ip.overrides=localhost:7",
    ]);
    assert!(addr.ip().is_loopback(), "{addr}");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // ApiVersions v0, correlation id 7, client id "t".
    let body = [0u8, 18, 0, 0, 0, 0, 0, 7, 0, 1, b't'];
    let mut req = (body.len() as u32).to_be_bytes().to_vec();
    req.extend_from_slice(&body);
    std::io::Write::write_all(&mut s, &req).unwrap();
    let mut head = [0u8; 8];
    std::io::Read::read_exact(&mut s, &mut head).unwrap();
    assert_eq!(&head[4..], &7i32.to_be_bytes(), "correlation id");
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(5)).is_some());
}
