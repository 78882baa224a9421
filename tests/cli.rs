//! The real `weir` binary: start-up errors are one line and a non-zero exit;
//! SIGTERM shuts down cleanly (exit 0, clean-shutdown marker written).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{sigterm, wait_exit, TestBroker, WEIR};

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
