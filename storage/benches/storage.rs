//! Storage engine benchmarks (criterion). Run once, near release:
//!   cargo bench -p weir-storage --bench storage
//! Groups: append (16 KiB and 1 MiB batches of 1 KiB records into the page
//! cache; no fsync on the append path, rolled 256 MiB segments are fsynced by
//! the log's background flush as in Kafka), read (warm mmap, zero-copy; and then CRC-32C of every byte read),
//! lookup (a one-batch read at a random offset: index lookup + scan), and
//! recovery (unclean open of a 1 GiB log, re-validating every batch), and
//! startup (clean open of a data dir with 1000 partition logs).

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::Path;
use std::time::{Duration, Instant};
use weir_storage::{AppendOptions, BatchBuilder, LogConfig, Record, Store, TopicPartition};

const RECORD: usize = 1024;

fn batch(records: usize) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..records {
        b.push(Record {
            offset: i as i64,
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(vec![b'v'; RECORD])),
            headers: vec![],
        });
    }
    b.build().unwrap()
}

fn tp() -> TopicPartition {
    TopicPartition::new("bench", 0)
}

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 256 << 20,
        ..LogConfig::default()
    }
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.measurement_time(Duration::from_secs(8));
    for (name, records) in [("16KiB", 16), ("1MiB", 1024)] {
        let b = batch(records);
        g.throughput(Throughput::Bytes(b.len() as u64));
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let log = store.open_log(&tp(), cfg()).unwrap();
        g.bench_function(BenchmarkId::new("batch", name), |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let chunk = (iters - done).min(256);
                    let t = Instant::now();
                    for _ in 0..chunk {
                        log.append(&b, AppendOptions::default()).unwrap();
                    }
                    total += t.elapsed();
                    done += chunk;
                    if log.size_bytes() > 768 << 20 {
                        // Retention, untimed: keep the disk footprint bounded.
                        log.advance_log_start_offset(log.log_end_offset()).unwrap();
                    }
                }
                total
            })
        });
        drop(log);
        store.close().unwrap();
    }
    g.finish();
}

/// A log of ~`bytes` of 16 KiB batches.
fn build_log(
    dir: &Path,
    bytes: usize,
    cfg: LogConfig,
) -> (Store, std::sync::Arc<weir_storage::PartitionLog>) {
    let store = Store::open(dir).unwrap();
    let log = store.open_log(&tp(), cfg).unwrap();
    let b = batch(16);
    for _ in 0..bytes / b.len() {
        log.append(&b, AppendOptions::default()).unwrap();
    }
    (store, log)
}

fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = build_log(dir.path(), 256 << 20, cfg());
    let end = log.log_end_offset();
    let mut g = c.benchmark_group("read");
    let max = 1 << 20;
    g.throughput(Throughput::Bytes(max as u64));
    let mut next = 0;
    g.bench_function("1MiB_zero_copy", |bench| {
        bench.iter(|| {
            let r = log.read(next, max, None).unwrap();
            next = if next + 2048 >= end { 0 } else { next + 1024 };
            r.records.len()
        })
    });
    let mut next = 0;
    g.bench_function("1MiB_then_crc32c_every_byte", |bench| {
        bench.iter(|| {
            let r = log.read(next, max, None).unwrap();
            next = if next + 2048 >= end { 0 } else { next + 1024 };
            // Reading every byte once (what validating or sending it costs).
            crc32c::crc32c(&r.records)
        })
    });
    g.finish();
    let mut g = c.benchmark_group("lookup");
    let mut x: u64 = 0x9E3779B97F4A7C15;
    g.bench_function("random_offset_one_batch", |bench| {
        bench.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let off = (x % end as u64) as i64;
            log.read(off, 1, None).unwrap().records.len()
        })
    });
    g.finish();
}

fn recovery(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let gib = 1usize << 30;
    let big = LogConfig {
        segment_bytes: 1 << 30,
        ..LogConfig::default()
    };
    {
        let (store, log) = build_log(dir.path(), gib, big.clone());
        assert!(log.size_bytes() as usize > gib - (64 << 10));
        drop(log);
        store.close().unwrap();
    }
    let mut g = c.benchmark_group("recovery");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(gib as u64));
    g.bench_function("unclean_open_1GiB", |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Make the next open unclean with nothing known flushed.
                let _ = std::fs::remove_file(dir.path().join(".clean_shutdown"));
                let cp = dir.path().join("bench-0/weir-log.checkpoint");
                let _ = std::fs::remove_file(&cp);
                let t = Instant::now();
                let store = Store::open(dir.path()).unwrap();
                let log = store.open_log(&tp(), big.clone()).unwrap();
                total += t.elapsed();
                assert!(
                    log.size_bytes() as usize > gib - (64 << 10),
                    "nothing was truncated"
                );
                drop(log);
                drop(store);
            }
            total
        })
    });
    g.finish();
}

/// Start-up after a clean stop: open a data dir of 1000 partition logs.
fn startup(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let n = 1000;
    {
        let store = Store::open(dir.path()).unwrap();
        let b = batch(4);
        for p in 0..n {
            let log = store
                .open_log(&TopicPartition::new("many", p), LogConfig::default())
                .unwrap();
            for _ in 0..8 {
                log.append(&b, AppendOptions::default()).unwrap();
            }
        }
        store.close().unwrap();
    }
    let mut g = c.benchmark_group("startup");
    g.sample_size(10);
    g.bench_function("clean_open_1000_logs", |bench| {
        bench.iter(|| {
            let store = Store::open(dir.path()).unwrap();
            assert!(store.was_clean_shutdown());
            for tp in store.list_logs().unwrap() {
                store.open_log(&tp, LogConfig::default()).unwrap();
            }
            store.close().unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, append, read, recovery, startup);
criterion_main!(benches);
