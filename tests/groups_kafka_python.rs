//! Classic consumer groups with kafka-python (not librdkafka), run as a
//! script against an in-process broker: see `groups_kafka_python.py`.
//! Needs a Python with kafka-python, hence ignored by plain `cargo test`;
//! `scripts/test` runs it with the conformance suite's pinned kafka-python:
//! `WEIR_TEST_PYTHON=conformance/.venv/bin/python cargo test --test
//! groups_kafka_python -- --ignored` (default interpreter: `python3`).

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with kafka-python"]
async fn kafka_python_group_splits_partitions_consumes_once_and_commits() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("py-topic", 6);
    let addr = b.bootstrap();
    let out = tokio::task::spawn_blocking(move || {
        produce(&addr, "py-topic", 6, 10);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/groups_kafka_python.py");
        let python = std::env::var("WEIR_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = std::process::Command::new(&python)
            .args([script, &addr, "py-topic", "6", "10"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        // The script bounds itself at 60 s; kill it if it hangs past 90 s.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "kafka-python failed:\n{stdout}\n{stderr}"
    );
    b.stop().await;
}
