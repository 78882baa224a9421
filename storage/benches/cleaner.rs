//! Cleaner throughput: MB of log cleaned per second (bytes read by the cleaner
//! over its wall time), for a log of 20k keys x 10 updates (~17 MB
//! uncompressed; also lz4), 64 MiB segments merged into 256 MiB cleaned ones.
//! Run: `cargo bench -p weir-storage --bench cleaner`.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::sync::Arc;
use weir_storage::cleaner::{clean, CleanerConfig};
use weir_storage::{
    AppendOptions, BatchBuilder, Compression, LogConfig, PartitionLog, Record, Store,
    TopicPartition,
};

const KEYS: usize = 20_000;
const ROUNDS: usize = 10;
const PER_BATCH: usize = 100;

fn build_log(codec: Compression) -> (tempfile::TempDir, Store, Arc<PartitionLog>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let cfg = LogConfig {
        segment_bytes: 4 << 20,
        ..LogConfig::default()
    };
    let log = store
        .open_log(&TopicPartition::new("bench", 0), cfg)
        .unwrap();
    let value = Bytes::from(vec![b'v'; 64]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for _round in 0..ROUNDS {
        for chunk in 0..KEYS / PER_BATCH {
            let mut b = BatchBuilder::new();
            b.compression = codec;
            for i in 0..PER_BATCH {
                b.push(Record {
                    offset: i as i64,
                    timestamp: now,
                    key: Some(Bytes::from(format!("key-{:06}", chunk * PER_BATCH + i))),
                    value: Some(value.clone()),
                    headers: vec![],
                });
            }
            log.append(&b.build().unwrap(), AppendOptions::default())
                .unwrap();
        }
    }
    // Seal the last segment so everything is cleanable.
    log.set_config(LogConfig {
        segment_bytes: 100,
        ..LogConfig::default()
    });
    let mut b = BatchBuilder::new();
    b.push(Record {
        offset: 0,
        timestamp: now,
        key: Some(Bytes::from_static(b"tail")),
        value: None,
        headers: vec![],
    });
    log.append(&b.build().unwrap(), AppendOptions::default())
        .unwrap();
    (dir, store, log)
}

fn bench(c: &mut Criterion) {
    let cfg = CleanerConfig {
        segment_bytes: 256 << 20,
        ..CleanerConfig::default()
    };
    let mut g = c.benchmark_group("cleaner");
    g.sample_size(10);
    for codec in [Compression::None, Compression::Lz4] {
        let (_d, _s, probe) = build_log(codec);
        let size = probe.size_bytes();
        g.throughput(Throughput::Bytes(size));
        g.bench_function(format!("clean_20k_keys_x10_{}", codec.name()), |b| {
            b.iter_batched(
                || build_log(codec),
                |(_d, _s, log)| {
                    let stats = clean(&log, &cfg, log.log_end_offset(), true)
                        .unwrap()
                        .unwrap();
                    assert_eq!(stats.records_kept as usize, KEYS);
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
