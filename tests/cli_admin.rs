//! The admin commands (`weir topic|group|produce|consume|cluster`) of the real
//! binary against an in-process broker over real sockets: every command, its
//! `--json` output parsed, exit codes, and one-line errors.

mod support;

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use support::*;

/// `weir ARGS... -b ADDR` with `stdin`; the output.
fn weir(addr: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .args(["-b", addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run weir");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs and expects success; stdout.
fn ok(addr: &str, args: &[&str], stdin: &str) -> String {
    let out = weir(addr, args, stdin);
    assert!(
        out.status.success(),
        "weir {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(addr: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    serde_json::from_str(&ok(addr, &a, "")).expect("JSON output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_described_altered_grown_and_deleted() {
    let b = TestBroker::start(&[]).await;
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        let a = addr.as_str();
        let out = ok(a, &["topic", "create", "orders", "-p", "3", "-c", "retention.ms=60000"], "");
        assert_eq!(out, "created topic orders with 3 partition(s)\n");
        let list = json(a, &["topic", "list"]);
        assert_eq!(list, serde_json::json!([{"name": "orders", "partitions": 3, "internal": false}]));
        let table = ok(a, &["topic", "list"], "");
        assert_eq!(table, "TOPIC   PARTITIONS\norders  3\n");

        let d = json(a, &["topic", "describe", "orders"]);
        assert_eq!(d["partitions"].as_array().unwrap().len(), 3);
        assert_eq!(d["configs"], serde_json::json!([{"name": "retention.ms", "value": "60000", "source": 1}]));

        ok(a, &["topic", "alter-config", "orders", "--set", "cleanup.policy=compact", "--delete", "retention.ms"], "");
        let d = json(a, &["topic", "describe", "orders"]);
        assert_eq!(d["configs"], serde_json::json!([{"name": "cleanup.policy", "value": "compact", "source": 1}]));

        ok(a, &["topic", "add-partitions", "orders", "--total", "5"], "");
        assert_eq!(json(a, &["topic", "describe", "orders"])["partitions"].as_array().unwrap().len(), 5);

        // Kafka's error, one line, exit code 1.
        let out = weir(a, &["topic", "add-partitions", "orders", "--total", "2"], "");
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            err,
            "weir: add partitions to topic orders: INVALID_PARTITIONS (error code 37): The topic orders currently has 5 partition(s); 2 would not be an increase.\n"
        );

        ok(a, &["topic", "delete", "orders"], "");
        let out = weir(a, &["topic", "describe", "orders"], "");
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            "weir: topic orders: UNKNOWN_TOPIC_OR_PARTITION (error code 3)\n"
        );
        // A bad command line: clap's message, exit code 2.
        assert_eq!(weir(a, &["topic", "frobnicate"], "").status.code(), Some(2));
        assert_eq!(weir(a, &["topic", "create"], "").status.code(), Some(2));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_are_produced_and_consumed_with_keys_headers_and_formats() {
    let b = TestBroker::start(&[]).await;
    b.create_topic("lines", 2);
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        let a = addr.as_str();
        let input: String = (0..20).map(|i| format!("k{}:value {i}\n", i % 4)).collect();
        ok(
            a,
            &["produce", "lines", "-K", ":", "-H", "src=cli", "-z", "zstd"],
            &input,
        );
        let out = ok(a, &["consume", "lines", "--json"], "");
        let records: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 20);
        // Same key, same partition (murmur2), in order.
        for k in 0..4 {
            let mine: Vec<&Value> = records
                .iter()
                .filter(|r| r["key"] == format!("k{k}"))
                .collect();
            assert_eq!(mine.len(), 5);
            assert!(mine.iter().all(|r| r["partition"] == mine[0]["partition"]));
            let values: Vec<String> = mine
                .iter()
                .map(|r| r["value"].as_str().unwrap().to_string())
                .collect();
            let want: Vec<String> = (0..20)
                .filter(|i| i % 4 == k)
                .map(|i| format!("value {i}"))
                .collect();
            assert_eq!(values, want);
        }
        assert!(records
            .iter()
            .all(|r| r["headers"] == serde_json::json!({"src": "cli"})));

        // kcat-like format, count, from an offset, one partition.
        let p = records[0]["partition"].as_i64().unwrap().to_string();
        let out = ok(
            a,
            &[
                "consume",
                "lines",
                "-p",
                &p,
                "-o",
                "1",
                "-c",
                "2",
                "--format",
                "%p:%o %k=%s|%h\\n",
            ],
            "",
        );
        let want: String = records
            .iter()
            .filter(|r| r["partition"].as_i64().unwrap().to_string() == p)
            .skip(1)
            .take(2)
            .map(|r| {
                format!(
                    "{p}:{} {}={}|src=cli\n",
                    r["offset"],
                    r["key"].as_str().unwrap(),
                    r["value"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(out, want);
        // From latest with no --follow: nothing, and it ends.
        assert_eq!(ok(a, &["consume", "lines", "-o", "latest"], ""), "");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_show_lag_and_reset_offsets_only_with_execute() {
    let b = TestBroker::start(&[]).await;
    b.create_topic("work", 2);
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        let a = addr.as_str();
        let input: String = (0..10).map(|i| format!("{i}\n")).collect();
        ok(a, &["produce", "work", "-p", "0"], &input);
        ok(a, &["produce", "work", "-p", "1"], &input[..6]);

        // Dry run: nothing is committed.
        let dry = ok(a, &["group", "reset-offsets", "g", "--topic", "work", "--to-offset", "4"], "");
        assert!(dry.contains("(dry run"), "{dry}");
        assert_eq!(json(a, &["group", "list"]), serde_json::json!([]));

        // Executed: to-offset clamps to the log's end (partition 1 has 3 records).
        let done = json(a, &["group", "reset-offsets", "g", "--topic", "work", "--to-offset", "4", "--execute"]);
        assert_eq!(done["offsets"], serde_json::json!([{"partition": 0, "new_offset": 4}, {"partition": 1, "new_offset": 3}]));
        let d = json(a, &["group", "describe", "g"]);
        assert_eq!(d["state"], "Empty");
        let lag: Vec<(i64, i64, i64)> = d["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["current_offset"].as_i64().unwrap(), p["log_end_offset"].as_i64().unwrap(), p["lag"].as_i64().unwrap()))
            .collect();
        assert_eq!(lag, vec![(4, 10, 6), (3, 3, 0)]);
        let table = ok(a, &["group", "describe", "g"], "");
        assert!(table.contains("work   0          4               10              6    -"), "{table}");

        ok(a, &["group", "reset-offsets", "g", "--topic", "work", "--shift-by", "-2", "--execute"], "");
        let d = json(a, &["group", "describe", "g"]);
        assert_eq!(d["partitions"][0]["current_offset"], 2);
        assert_eq!(d["partitions"][1]["current_offset"], 1);
        ok(a, &["group", "reset-offsets", "g", "--topic", "work", "--to-earliest", "--execute"], "");
        assert_eq!(json(a, &["group", "describe", "g"])["partitions"][0]["lag"], 10);

        let listed = json(a, &["group", "list"]);
        assert_eq!(listed[0]["group"], "g");
        ok(a, &["group", "delete", "g"], "");
        assert_eq!(json(a, &["group", "list"]), serde_json::json!([]));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_info_names_the_one_broker() {
    let b = TestBroker::start(&[]).await;
    let addr = b.bootstrap();
    let port = b.addr().port() as i64;
    tokio::task::spawn_blocking(move || {
        let info = json(&addr, &["cluster", "info"]);
        assert_eq!(
            info["brokers"],
            serde_json::json!([{"node_id": 1, "host": "127.0.0.1", "port": port, "rack": null}])
        );
        assert_eq!(info["controller_id"], 1);
        assert!(info["cluster_id"].as_str().is_some_and(|c| !c.is_empty()));
        // An unreachable broker: one line, exit code 1.
        let out = weir("127.0.0.1:1", &["cluster", "info"], "");
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("weir: 127.0.0.1:1: ") && err.lines().count() == 1,
            "{err}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_from_files_shows_progress_on_a_terminal_only() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIP: util-linux's script (a pseudo-terminal) is not installed");
        return;
    }
    let b = TestBroker::start(&[]).await;
    let addr = b.bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lines.txt");
    let lines: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&file, &lines).unwrap();
    tokio::task::spawn_blocking(move || {
        let a = addr.as_str();
        ok(a, &["topic", "create", "files"], "");
        let f = file.to_str().unwrap();
        // On a pipe: no bar, only the summary.
        let out = weir(a, &["produce", "files", f], "");
        assert!(out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err, "produced 20000 record(s) to files\n");
        // On a terminal (script(1) gives it one): the bar with bytes, rate and ETA.
        let cmd = format!("{} produce -b {a} files {f}", env!("CARGO_BIN_EXE_weir"));
        let out = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let tty = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{tty}");
        assert!(
            tty.contains(" KiB/") && tty.contains("iB/s") && tty.contains("ETA"),
            "{tty}"
        );
        assert!(tty.contains("produced 20000 record(s) to files"), "{tty}");
    })
    .await
    .unwrap();
}
