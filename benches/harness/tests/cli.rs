//! The `weir-bench` binary's contract: help on stdout with exit 0, one clear stderr line and
//! exit 2 for bad flags, exit 1 with one line when the broker cannot be reached.

use std::net::TcpListener;
use std::process::Command;

fn bench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weir-bench"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_goes_to_stdout_with_exit_zero() {
    let (code, out, _) = bench(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("usage: weir bench produce|consume|e2e"));
    assert!(out.contains("1-topic-16-partitions-1kb"));
}

#[test]
fn bad_flag_is_one_line_and_exit_two() {
    let (code, out, err) = bench(&["produce", "--bootstrap", "127.0.0.1:9092", "--acks", "7"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("--acks"), "{err}");
}

#[test]
fn unreachable_broker_is_one_line_and_exit_one() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let (code, _, err) = bench(&[
        "produce",
        "--bootstrap",
        &addr,
        "--records",
        "10",
        "--quiet",
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&addr), "{err}");
}
