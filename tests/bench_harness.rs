//! Runs the `weir bench` harness against a real broker over real sockets: an
//! in-process weir on 127.0.0.1:0, or the broker named by
//! `WEIR_BENCH_BOOTSTRAP=HOST:PORT` (weir, Apache Kafka, Redpanda or Tansu).

mod support;

use std::sync::{Arc, OnceLock};

use support::{unique_name, TestBroker};

use weir_bench::args::{parse, Command, Config};
use weir_bench::report::Report;
use weir_bench::runner::run_against;

/// The broker under test, started once for all tests of this file.
fn bootstrap() -> String {
    static BROKER: OnceLock<String> = OnceLock::new();
    let addr = BROKER.get_or_init(|| {
        if let Ok(b) = std::env::var("WEIR_BENCH_BOOTSTRAP") {
            return b;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let broker = TestBroker::start(&[]).await;
                tx.send(broker.bootstrap()).unwrap();
                // Serve until the test process exits.
                std::future::pending::<()>().await;
                drop(broker);
            });
        });
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .expect("in-process broker ready")
    });
    addr.clone()
}

fn unique_topic(tag: &str) -> String {
    unique_name(&format!("weir-bench-test-{tag}"))
}

fn config(args: &str) -> Arc<Config> {
    let args: Vec<String> = args.split_whitespace().map(String::from).collect();
    match parse(&args).expect("valid args") {
        Command::Run(c) => Arc::new(*c),
        Command::Help => panic!("help"),
    }
}

fn run(cfg: &Arc<Config>) -> Report {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run_against(cfg, &cfg.bootstrap, true))
        .expect("run succeeds")
}

#[test]
fn produced_records_are_all_acked_then_consumed_exactly_once() {
    let b = bootstrap();
    let topic = unique_topic("pc");
    let p = run(&config(&format!(
        "produce --bootstrap {b} --topic {topic} --create --partitions 3 --records 5000 \
         --record-size 200 --keys uniform:50 --linger 2ms --batch-bytes 16KiB --quiet"
    )));
    assert_eq!(p.produce_errors, 0);
    assert_eq!(p.acked_records, 5000);
    assert_eq!(p.acked_payload_bytes, p.acked_records * 200 + key_bytes(&p));
    assert_eq!(p.ack.expect("ack latency measured").count, 5000);

    // Consume everything that is there (no --records/--duration: stop when caught up).
    let c = run(&config(&format!(
        "consume --bootstrap {b} --topic {topic} --consumers 2 --quiet"
    )));
    assert_eq!(c.consumed_records, 5000);
    assert_eq!(c.consumed_payload_bytes, p.acked_payload_bytes);
}

/// Key bytes produced: payload counts key + value, so recover the key part from the report.
fn key_bytes(p: &Report) -> u64 {
    p.acked_payload_bytes - p.acked_records * 200
}

#[test]
fn e2e_with_compression_sees_every_acked_record_with_latency() {
    let b = bootstrap();
    let topic = unique_topic("e2e");
    let r = run(&config(&format!(
        "e2e --bootstrap {b} --topic {topic} --create --partitions 2 --rate 2000 --duration 2s \
         --record-size 100 --compression lz4 --fetch-max-wait-ms 100 --quiet"
    )));
    assert_eq!(r.produce_errors, 0);
    assert!(
        r.acked_records >= 3000,
        "paced at 2000/s for 2 s: {}",
        r.acked_records
    );
    assert!(
        r.acked_records <= 4001,
        "pacing overshoot: {}",
        r.acked_records
    );
    assert_eq!(r.consumed_records, r.acked_records);
    assert_eq!(r.e2e.expect("e2e measured").count, r.consumed_records);
    assert!(!r.timeline.is_empty());
}

#[test]
fn prefilled_consume_reads_the_requested_count() {
    let b = bootstrap();
    let topic = unique_topic("prefill");
    let r = run(&config(&format!(
        "consume --bootstrap {b} --topic {topic} --create --prefill 3000 --records 3000 \
         --record-size 64 --compression gzip --quiet"
    )));
    assert_eq!(r.consumed_records, 3000);
    assert_eq!(r.consumed_payload_bytes, 3000 * 64);
}

/// A consume of more records than the topic holds gives up once none came for 10 s
/// (as kafka-consumer-perf-test's --timeout does), with an error that says how many it
/// read, instead of waiting forever.
#[test]
fn consuming_more_than_the_topic_holds_gives_up_with_the_count() {
    let b = bootstrap();
    let topic = unique_topic("short");
    let cfg = config(&format!(
        "consume --bootstrap {b} --topic {topic} --create --prefill 100 --records 150 \
         --record-size 64 --quiet"
    ));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(run_against(&cfg, &cfg.bootstrap, true))
        .expect_err("150 of 100 records cannot be consumed");
    let msg = err.to_string();
    assert!(msg.contains("consumed 100 records of 150"), "{msg}");
}

#[test]
fn every_codec_the_harness_writes_is_accepted_and_read_back() {
    let b = bootstrap();
    for codec in ["snappy", "zstd", "gzip", "lz4", "none"] {
        let topic = unique_topic(&format!("codec-{codec}"));
        let p = run(&config(&format!(
            "produce --bootstrap {b} --topic {topic} --create --partitions 1 --records 500 \
             --record-size 64 --linger 2ms --batch-bytes 8KiB --compression {codec} --quiet"
        )));
        assert_eq!(p.produce_errors, 0, "{codec}");
        assert_eq!(p.acked_records, 500, "{codec}");
        let c = run(&config(&format!(
            "consume --bootstrap {b} --topic {topic} --quiet"
        )));
        assert_eq!(c.consumed_records, 500, "{codec}");
        assert_eq!(c.consumed_payload_bytes, 500 * 64, "{codec}");
    }
}
