//! `/metrics`, `/ready` and the JSON admin API on the `--http` listener, over real
//! sockets: values after a known workload (records in, a group that committed
//! half, then all), the text checked by Debian's `promtool` and scraped by a real
//! Prometheus server when they are installed (scripts/test installs them).

mod support;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::TopicPartitionList;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;
use weir::{Broker, BrokerConfig};

/// `GET path` over a fresh connection: (status code, body).
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the HTTP endpoint");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: weir\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the HTTP response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// The samples of one metric name: label text (`{a="b",...}`) -> value.
fn samples(text: &str, name: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            if !(rest.starts_with('{') || rest.starts_with(' ')) {
                return None;
            }
            let (labels, value) = rest.rsplit_once(' ')?;
            Some((labels.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn commit(addr: &str, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    let c: BaseConsumer = client_config(addr, group, &[]).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for (p, o) in offsets {
        tpl.add_partition_offset(topic, *p, rdkafka::Offset::Offset(*o))
            .unwrap();
    }
    c.commit(&tpl, CommitMode::Sync).expect("commit");
}

fn group_key(group: &str, topic: &str, p: i32) -> String {
    format!("{{consumergroup=\"{group}\",topic=\"{topic}\",partition=\"{p}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_records_requests_and_group_lag_after_a_known_workload() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path());
    config.http = Some("127.0.0.1:0".into());
    let broker = Broker::start(config).await.expect("broker starts");
    let http = broker.http_addr().expect("http listener");
    let addr = broker.addr().to_string();
    broker
        .state()
        .partitions
        .create_topic("lagged", 2, Default::default(), false)
        .unwrap();

    tokio::task::spawn_blocking(move || {
        assert_eq!(http_get(http, "/ready"), (200, "ready\n".into()));
        assert_eq!(http_get(http, "/health"), (200, "ok\n".into()));
        assert_eq!(http_get(http, "/nope").0, 404);

        produce(&addr, "lagged", 2, 10);
        std::thread::sleep(Duration::from_millis(60));
        commit(&addr, "lag-g", "lagged", &[(0, 5), (1, 5)]);

        let (status, text) = http_get(http, "/metrics");
        assert_eq!(status, 200);
        assert_eq!(samples(&text, "kafka_brokers").values().sum::<f64>(), 1.0);
        assert_eq!(
            samples(&text, "kafka_topic_partitions")["{topic=\"lagged\"}"],
            2.0
        );
        let current = samples(&text, "kafka_topic_partition_current_offset");
        assert_eq!(current["{topic=\"lagged\",partition=\"0\"}"], 10.0);
        assert_eq!(current["{topic=\"lagged\",partition=\"1\"}"], 10.0);
        let lag = samples(&text, "kafka_consumergroup_lag");
        let committed = samples(&text, "kafka_consumergroup_current_offset");
        let age = samples(&text, "weir_consumergroup_lag_seconds");
        for p in 0..2 {
            let k = group_key("lag-g", "lagged", p);
            assert_eq!(lag[&k], 5.0, "{text}");
            assert_eq!(committed[&k], 5.0);
            assert!(age[&k] >= 0.05 && age[&k] < 60.0, "age {}", age[&k]);
        }
        let size = samples(&text, "weir_log_size_bytes");
        assert!(size["{topic=\"lagged\",partition=\"0\"}"] > 0.0);
        let produced = samples(&text, "weir_requests_total")["{api=\"Produce\"}"];
        assert!(produced >= 1.0, "{produced}");
        let handled = samples(&text, "weir_request_duration_seconds_count");
        assert_eq!(
            handled["{api=\"Produce\",phase=\"handled\"}"], produced,
            "every produce request is timed"
        );

        // JSON admin API.
        let (status, body) = http_get(http, "/api/groups/lag-g");
        assert_eq!(status, 200);
        let g: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(g["group_id"], "lag-g");
        assert_eq!(g["partitions"].as_array().unwrap().len(), 2);
        assert_eq!(g["partitions"][0]["lag"], 5);
        let (status, body) = http_get(http, "/api/topics/lagged");
        assert_eq!(status, 200);
        let t: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(t["partitions"][1]["log_end_offset"], 10);
        assert_eq!(http_get(http, "/api/groups/none").0, 404);

        // Caught up: lag and its age are 0.
        commit(&addr, "lag-g", "lagged", &[(0, 10), (1, 10)]);
        let (_, text) = http_get(http, "/metrics");
        let lag = samples(&text, "kafka_consumergroup_lag");
        let age = samples(&text, "weir_consumergroup_lag_seconds");
        for p in 0..2 {
            assert_eq!(lag[&group_key("lag-g", "lagged", p)], 0.0);
            assert_eq!(age[&group_key("lag-g", "lagged", p)], 0.0);
        }
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_exposition_and_prometheus_scrapes_the_lag() {
    let has = |bin: &str| {
        Command::new(bin)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !has("promtool") || !has("prometheus") {
        eprintln!("SKIP: Debian's prometheus package (promtool, prometheus) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path().join("data"));
    config.http = Some("127.0.0.1:0".into());
    let broker = Broker::start(config).await.expect("broker starts");
    let http = broker.http_addr().unwrap();
    let addr = broker.addr().to_string();
    broker
        .state()
        .partitions
        .create_topic("scraped", 1, Default::default(), false)
        .unwrap();
    let prom_dir = dir.path().join("prometheus");
    tokio::task::spawn_blocking(move || {
        produce(&addr, "scraped", 1, 7);
        commit(&addr, "scraped-g", "scraped", &[(0, 3)]);

        // promtool lints the exposition read from stdin.
        let (_, text) = http_get(http, "/metrics");
        let mut lint = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        lint.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = lint.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );

        // A real Prometheus server scrapes weir every 200 ms; its query API
        // returns the lag the commit above left (7 - 3).
        std::fs::create_dir_all(&prom_dir).unwrap();
        let cfg = prom_dir.join("prometheus.yml");
        std::fs::write(
            &cfg,
            format!(
                "global:\n  scrape_interval: 200ms\nscrape_configs:\n  - job_name: weir\n    static_configs:\n      - targets: ['{http}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let mut prom = Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", prom_dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let query = "/api/v1/query?query=kafka_consumergroup_lag%7Bconsumergroup%3D%22scraped-g%22%7D";
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = String::new();
        let mut seen = None;
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(api) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = write!(s, "GET {query} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n");
                let mut raw = String::new();
                let _ = s.read_to_string(&mut raw);
                if let Some((_, body)) = raw.split_once("\r\n\r\n") {
                    last = body.to_string();
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
                        if let Some(r) = v["data"]["result"].as_array().and_then(|r| r.first()) {
                            seen = r["value"][1].as_str().map(str::to_string);
                            if seen.is_some() {
                                break;
                            }
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = prom.kill();
        let _ = prom.wait();
        assert_eq!(seen.as_deref(), Some("4"), "Prometheus query answered: {last}");
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Metric names in a PromQL expression: identifiers of weir's families
/// (`kafka_*`, `weir_*`), not label names, functions or label values.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_braces = false;
    let mut in_string = false;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if word.starts_with("kafka_") || word.starts_with("weir_") {
            out.push(std::mem::take(word));
        }
        word.clear();
    };
    for c in expr.chars() {
        if in_string {
            in_string = c != '"';
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => {
                flush(&mut word, &mut out);
                in_braces = true;
            }
            '}' => in_braces = false,
            c if (c.is_ascii_alphanumeric() || c == '_') && !in_braces => word.push(c),
            _ => flush(&mut word, &mut out),
        }
    }
    flush(&mut word, &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_grafana_dashboard_queries_is_exported() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/contrib/grafana/weir-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut queried = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            queried.extend(metric_names(target["expr"].as_str().unwrap()));
        }
    }
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(q) = var["query"].as_str() {
            queried.extend(metric_names(q));
        }
    }
    assert!(queried.len() >= 12, "{queried:?}");

    // A workload that makes every family appear: a topic, records, a group commit.
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path());
    config.http = Some("127.0.0.1:0".into());
    let broker = Broker::start(config).await.expect("broker starts");
    let http = broker.http_addr().unwrap();
    let addr = broker.addr().to_string();
    broker
        .state()
        .partitions
        .create_topic("dash", 1, Default::default(), false)
        .unwrap();
    let exported = tokio::task::spawn_blocking(move || {
        produce(&addr, "dash", 1, 3);
        commit(&addr, "dash-g", "dash", &[(0, 1)]);
        http_get(http, "/metrics").1
    })
    .await
    .unwrap();
    // Every histogram's buckets are cumulative: never decreasing, and +Inf is its count.
    let mut last: Option<(String, f64)> = None;
    for l in exported.lines().filter(|l| l.contains("_bucket{")) {
        let (series, value) = l.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap();
        let key = series
            .split(",le=")
            .next()
            .unwrap()
            .replace("le=", "")
            .to_string();
        if let Some((k, v)) = &last {
            if *k == key {
                assert!(value >= *v, "buckets decrease: {l}");
            }
        }
        if series.contains("le=\"+Inf\"") {
            let count_line = series
                .replace("_bucket{", "_count{")
                .replace(",le=\"+Inf\"", "")
                .replace("{le=\"+Inf\"}", "");
            let count_line = count_line.trim_end_matches("{}").to_string();
            let count = exported
                .lines()
                .find_map(|c| c.strip_prefix(&format!("{count_line} ")))
                .unwrap_or_else(|| panic!("no {count_line} for {l}"));
            assert_eq!(
                value,
                count.parse::<f64>().unwrap(),
                "{l}: +Inf is not the count"
            );
        }
        last = Some((key, value));
    }
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    for name in &queried {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        assert!(
            exported
                .lines()
                .any(|l| l.starts_with(name.as_str()) && l[name.len()..].starts_with(['{', ' '])),
            "the dashboard queries {name}, which /metrics does not export"
        );
        assert!(
            docs.contains(&format!("`{family}`")),
            "{family} is not documented in docs/metrics.md"
        );
    }
    broker.shutdown().await.unwrap();
}

#[test]
fn metric_names_are_read_from_promql() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.99, sum by (le, api) (rate(weir_request_duration_seconds_bucket{phase="handled", x="kafka_no"}[5m])))"#
        ),
        vec!["weir_request_duration_seconds_bucket"]
    );
    assert_eq!(
        metric_names("label_values(kafka_consumergroup_lag, consumergroup)"),
        vec!["kafka_consumergroup_lag"]
    );
}

/// Produce `n` records of `size` bytes with keys `k<i % keys>` to partition 0.
fn produce_sized(addr: &str, topic: &str, n: usize, size: usize, keys: usize) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let p: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("linger.ms", "0")
        .set("batch.num.messages", "1")
        .create()
        .expect("producer created");
    let value = "v".repeat(size);
    for i in 0..n {
        let key = format!("k{}", i % keys);
        loop {
            match p.send(BaseRecord::to(topic).partition(0).key(&key).payload(&value)) {
                Ok(()) => break,
                Err((e, _))
                    if e.rdkafka_error_code()
                        == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) =>
                {
                    p.poll(Duration::from_millis(10));
                }
                Err((e, _)) => panic!("produce failed: {e}"),
            }
        }
    }
    p.flush(Duration::from_secs(30))
        .expect("all records acknowledged");
}

/// The one sample of `name` with `labels` (`""` for none), or 0 when absent.
fn value(text: &str, name: &str, labels: &str) -> f64 {
    samples(text, name).get(labels).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_connections_long_polls_and_fsyncs_are_counted_after_a_known_workload() {
    use rdkafka::consumer::BaseConsumer;
    use rdkafka::Message;
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path());
    config.http = Some("127.0.0.1:0".into());
    let broker = Broker::start(config).await.expect("broker starts");
    let http = broker.http_addr().expect("http listener");
    let addr = broker.addr().to_string();
    broker
        .state()
        .partitions
        .create_topic("traffic", 1, Default::default(), false)
        .unwrap();
    tokio::task::spawn_blocking(move || {
        let (_, text) = http_get(http, "/metrics");
        assert_eq!(
            value(&text, "weir_topic_bytes_in_total", "{topic=\"traffic\"}"),
            0.0
        );
        assert_eq!(value(&text, "weir_fetch_waiting", ""), 0.0);

        produce(&addr, "traffic", 1, 20);
        let (_, text) = http_get(http, "/metrics");
        let t = "{topic=\"traffic\"}";
        let size = value(
            &text,
            "weir_log_size_bytes",
            "{topic=\"traffic\",partition=\"0\"}",
        );
        assert!(size > 0.0);
        // Batches are stored as produced: bytes in is the log's size.
        assert_eq!(value(&text, "weir_topic_bytes_in_total", t), size, "{text}");
        assert_eq!(value(&text, "weir_topic_records_in_total", t), 20.0);
        assert_eq!(value(&text, "weir_topic_bytes_out_total", t), 0.0);
        // Opening the new log fsynced its directory at least.
        assert!(
            value(&text, "weir_fsync_duration_seconds_count", "") >= 1.0,
            "{text}"
        );
        let plaintext = "{listener=\"PLAINTEXT\"}";
        assert!(value(&text, "weir_connections_accepted_total", plaintext) >= 1.0);

        // A consumer reads all 20 records, then long-polls at the log end.
        let c: BaseConsumer = client_config(&addr, "traffic-g", &[("fetch.wait.max.ms", "1000")])
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("traffic", 0, rdkafka::Offset::Beginning)
            .unwrap();
        c.assign(&tpl).unwrap();
        let mut got = 0;
        let deadline = Instant::now() + Duration::from_secs(20);
        while got < 20 && Instant::now() < deadline {
            if let Some(m) = c.poll(Duration::from_millis(100)) {
                m.expect("a record").offset();
                got += 1;
            }
        }
        assert_eq!(got, 20);
        let mut text = String::new();
        wait_for(20, "a fetch waiting at the log end", || {
            c.poll(Duration::ZERO);
            text = http_get(http, "/metrics").1;
            value(&text, "weir_fetch_waiting", "") == 1.0
        });
        // Every batch went out once.
        assert_eq!(
            value(&text, "weir_topic_bytes_out_total", t),
            size,
            "{text}"
        );
        assert_eq!(value(&text, "weir_topic_records_out_total", t), 20.0);
        assert!(value(&text, "weir_connections", plaintext) >= 1.0, "{text}");
        drop(c);

        // The consumer is gone: no connection, no waiting fetch; the waits it
        // made were timed (each up to fetch.wait.max.ms).
        wait_for(20, "the consumer's connections to close", || {
            text = http_get(http, "/metrics").1;
            value(&text, "weir_connections", plaintext) == 0.0
                && value(&text, "weir_fetch_waiting", "") == 0.0
        });
        let waits = value(&text, "weir_fetch_wait_seconds_count", "");
        let waited = value(&text, "weir_fetch_wait_seconds_sum", "");
        assert!(waits >= 1.0, "{text}");
        assert!(
            waited > 0.1 && waited <= waits * 1.5,
            "{waited} s over {waits} waits"
        );
        assert!(value(&text, "weir_connections_accepted_total", plaintext) >= 2.0);
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_cleaner_work_is_counted() {
    use weir::config::topic::TopicConfig;
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path());
    config.http = Some("127.0.0.1:0".into());
    for (k, v) in [
        ("log.retention.check.interval.ms", "100"),
        ("log.cleaner.backoff.ms", "100"),
    ] {
        config
            .settings
            .set(k, v, weir::config::Source::Cli)
            .unwrap();
    }
    let broker = Broker::start(config).await.expect("broker starts");
    let http = broker.http_addr().expect("http listener");
    let addr = broker.addr().to_string();
    let topic = |name: &str, pairs: &[(&str, &str)]| {
        let mut c = TopicConfig::default();
        for (k, v) in pairs {
            c.set(k, v).unwrap();
        }
        broker
            .state()
            .partitions
            .create_topic(name, 1, c, false)
            .unwrap();
    };
    topic(
        "old",
        &[("segment.bytes", "4096"), ("retention.bytes", "8192")],
    );
    topic(
        "compact",
        &[
            ("cleanup.policy", "compact"),
            ("segment.bytes", "4096"),
            ("min.cleanable.dirty.ratio", "0.01"),
        ],
    );
    tokio::task::spawn_blocking(move || {
        produce_sized(&addr, "old", 100, 300, 100);
        produce_sized(&addr, "compact", 100, 300, 5);
        let mut text = String::new();
        wait_for(20, "retention to delete segments and settle", || {
            text = http_get(http, "/metrics").1;
            let deleted = value(&text, "weir_retention_deleted_bytes_total", "");
            let kept = value(
                &text,
                "weir_log_size_bytes",
                "{topic=\"old\",partition=\"0\"}",
            );
            let produced = value(&text, "weir_topic_bytes_in_total", "{topic=\"old\"}");
            // Everything produced is either still on disk or was deleted.
            deleted > 0.0 && kept <= 8192.0 + 4096.0 && deleted + kept == produced
        });
        assert!(
            value(&text, "weir_retention_deleted_segments_total", "") >= 4.0,
            "{text}"
        );
        assert!(value(&text, "weir_retention_runs_total", "") >= 1.0);
        wait_for(20, "the cleaner to compact", || {
            text = http_get(http, "/metrics").1;
            value(&text, "weir_cleaner_cleaned_bytes_total", "") > 0.0
        });
        let read = value(&text, "weir_cleaner_cleaned_bytes_total", "");
        let written = value(&text, "weir_cleaner_written_bytes_total", "");
        assert!(
            written > 0.0 && written < read,
            "5 keys of 100 records: {written} of {read}"
        );
        assert!(value(&text, "weir_cleaner_runs_total", "") >= 1.0);
        assert!(
            samples(&text, "weir_cleaner_dirty_ratio")
                .contains_key("{topic=\"compact\",partition=\"0\"}"),
            "{text}"
        );
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}
