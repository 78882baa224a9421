//! Client quotas with real clients: Kafka's own `kafka-configs`
//! (`org.apache.kafka.tools.ConfigCommand`) sets and describes them, the Java
//! producer (`kafka-producer-perf-test`, `ProducerPerformance`) reports the
//! throttling in its `produce-throttle-time-*` metrics and runs at the quota,
//! and librdkafka (confluent-kafka-python, `quotas_confluent.py`) sees it in
//! its throttle callback and statistics, producing and consuming at the quota.
//! The throughput is printed and asserted within 25% of the quota (a loose
//! band for a noisy machine; runs here measure within a few percent).
//!
//! The broker measures over `quota.window.num=3` windows of 1 s so a run of
//! a few seconds shows the steady rate (with Kafka's default of 11 windows the
//! first 10 s allow a burst of ten times the quota).
//!
//! They need Kafka's tools jars and a Python with confluent-kafka, hence are
//! ignored by plain `cargo test`:
//! `WEIR_TEST_PYTHON=conformance/.venv/bin/python
//! WEIR_TEST_KAFKA_CLI_CLASSPATH=conformance/java/target/cli-4.4/classpath.txt
//! cargo test --test quotas_clients -- --ignored --test-threads=1`.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::TestBroker;

const SETS: &[(&str, &str)] = &[
    ("quota.window.num", "3"),
    ("quota.window.size.seconds", "1"),
];

/// Run `cmd`, killed after `secs`.
fn run_bounded(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

fn classpath() -> String {
    let file = std::env::var("WEIR_TEST_KAFKA_CLI_CLASSPATH").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/conformance/java/target/cli-4.4/classpath.txt"
        )
        .into()
    });
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .trim()
        .to_string()
}

/// Run a Kafka tool class; its stdout.
fn java(classpath: &str, class: &str, args: &[&str], secs: u64) -> String {
    let out = run_bounded(
        Command::new("java")
            .args(["-Xmx256m", "-cp", classpath, class])
            .args(args),
        secs,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{class} {args:?}:\n{stdout}\n{stderr}"
    );
    stdout
}

fn within(what: &str, measured: f64, quota: f64) {
    let ratio = measured / quota;
    eprintln!(
        "{what}: {measured:.0} B/s against a quota of {quota:.0} B/s ({:.1}%)",
        ratio * 100.0
    );
    assert!(
        (0.75..=1.25).contains(&ratio),
        "{what}: {measured} B/s vs quota {quota}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs java and Kafka's tools jars (conformance/java/build)"]
async fn kafka_configs_sets_quotas_and_the_java_producer_is_held_to_them() {
    let b = TestBroker::start(SETS).await;
    let bootstrap = b.bootstrap();
    let quota = 500_000.0;
    let stdout = tokio::task::spawn_blocking(move || {
        let cp = classpath();
        let configs = |args: &[&str]| {
            let mut all = vec!["--bootstrap-server", &bootstrap];
            all.extend_from_slice(args);
            java(&cp, "org.apache.kafka.tools.ConfigCommand", &all, 90)
        };
        let out = configs(&[
            "--alter",
            "--entity-type",
            "clients",
            "--entity-name",
            "perf-java",
            "--add-config",
            "producer_byte_rate=500000",
        ]);
        assert!(
            out.contains("Completed updating config for client perf-java"),
            "{out}"
        );
        let out = configs(&[
            "--alter",
            "--entity-type",
            "users",
            "--entity-default",
            "--add-config",
            "consumer_byte_rate=2048,request_percentage=400",
        ]);
        assert!(
            out.contains("Completed updating default config for users"),
            "{out}"
        );
        let out = configs(&[
            "--describe",
            "--entity-type",
            "clients",
            "--entity-name",
            "perf-java",
        ]);
        assert!(
            out.contains("Quota configs for client-id 'perf-java' are producer_byte_rate=500000.0"),
            "{out}"
        );
        let out = configs(&["--describe", "--entity-type", "users"]);
        assert!(
            out.contains("Quota configs for the default user-principal are")
                && out.contains("consumer_byte_rate=2048.0")
                && out.contains("request_percentage=400.0"),
            "{out}"
        );
        // remove the user default again so it does not limit the producer
        configs(&[
            "--alter",
            "--entity-type",
            "users",
            "--entity-default",
            "--delete-config",
            "consumer_byte_rate,request_percentage",
        ]);
        java(
            &cp,
            "org.apache.kafka.tools.ProducerPerformance",
            &[
                "--topic",
                "perf",
                "--num-records",
                "5000",
                "--record-size",
                "1000",
                "--throughput",
                "-1",
                "--print-metrics",
                "--producer-props",
                &format!("bootstrap.servers={bootstrap}"),
                "client.id=perf-java",
                "acks=all",
            ],
            120,
        )
    })
    .await
    .unwrap();
    // "5000 records sent, 466.679111 records/sec (0.45 MB/sec), ..."
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("5000 records sent"))
        .unwrap_or_else(|| panic!("no summary:\n{stdout}"));
    eprintln!("{summary}");
    let per_sec: f64 = summary
        .split(", ")
        .nth(1)
        .and_then(|f| f.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    let metric = |name: &str| -> f64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("producer-metrics:{name}:")))
            .unwrap_or_else(|| panic!("no {name}:\n{stdout}"));
        eprintln!("{line}");
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(metric("produce-throttle-time-avg") > 0.0);
    assert!(metric("produce-throttle-time-max") > 0.0);
    within("Java producer (record bytes)", per_sec * 1000.0, quota);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with confluent-kafka"]
async fn librdkafka_sees_the_throttling_and_runs_at_the_quota() {
    let b = TestBroker::start(SETS).await;
    b.create_topic("qt", 1);
    let quota = 1_000_000.0;
    {
        use weir::quota::Alteration;
        let set = |client: &str, key: &str| Alteration {
            entity: vec![("client-id".into(), Some(client.into()))],
            ops: vec![(key.into(), Some(quota))],
        };
        let r = b.state().quotas.alter(
            &[
                set("quota-p", "producer_byte_rate"),
                set("quota-c", "consumer_byte_rate"),
            ],
            false,
        );
        assert!(r.iter().all(|(_, r)| r.is_ok()), "{r:?}");
    }
    let addr = b.bootstrap();
    let out = tokio::task::spawn_blocking(move || {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/quotas_confluent.py");
        let python = std::env::var("WEIR_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        run_bounded(Command::new(&python).args([script, &addr, "qt", "8"]), 120)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("OK"),
        "confluent-kafka failed:\n{stdout}\n{stderr}"
    );
    let rate = |what: &str| -> f64 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("RATE {what} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {what} rate:\n{stdout}"))
    };
    within("librdkafka producer (record bytes)", rate("produce"), quota);
    within("librdkafka consumer (record bytes)", rate("consume"), quota);
    b.stop().await;
}
