//! Runs the harness against a real broker over real sockets. Needs a broker, so it is gated:
//! set `WEIR_BENCH_BOOTSTRAP=HOST:PORT` (weir, Apache Kafka, Redpanda or Tansu) to run it;
//! without it each test prints a note and passes without checking anything.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use weir_bench::args::{parse, Command, Config};
use weir_bench::report::Report;
use weir_bench::runner::run_against;

fn bootstrap() -> Option<String> {
    let b = std::env::var("WEIR_BENCH_BOOTSTRAP").ok();
    if b.is_none() {
        eprintln!("WEIR_BENCH_BOOTSTRAP not set: skipping live-broker test");
    }
    b
}

fn unique_topic(tag: &str) -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("weir-bench-test-{tag}-{n}")
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
    let Some(b) = bootstrap() else { return };
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
    let Some(b) = bootstrap() else { return };
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
    let Some(b) = bootstrap() else { return };
    let topic = unique_topic("prefill");
    let r = run(&config(&format!(
        "consume --bootstrap {b} --topic {topic} --create --prefill 3000 --records 3000 \
         --record-size 64 --compression gzip --quiet"
    )));
    assert_eq!(r.consumed_records, 3000);
    assert_eq!(r.consumed_payload_bytes, 3000 * 64);
}
