//! The log cleaner through the public API: latest value per key, offsets kept,
//! tombstones, transactions, merging, lag and ratio rules, reopen.

use bytes::Bytes;
use std::collections::BTreeMap;
use weir_storage::batch::iter_batches;
use weir_storage::cleaner::{self, CleanerConfig};
use weir_storage::{
    AppendOptions, BatchBuilder, Compression, LogConfig, PartitionLog, Record, Store,
    TopicPartition,
};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn rec(key: Option<&str>, value: Option<&str>, ts: i64) -> Record {
    Record {
        offset: 0,
        timestamp: ts,
        key: key.map(|k| Bytes::from(k.to_string())),
        value: value.map(|v| Bytes::from(v.to_string())),
        headers: vec![],
    }
}

fn build(recs: Vec<Record>, codec: Compression) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.compression = codec;
    for (i, mut r) in recs.into_iter().enumerate() {
        r.offset = i as i64;
        b.push(r);
    }
    b.build().unwrap()
}

fn append(log: &PartitionLog, recs: Vec<Record>) -> i64 {
    log.append(&build(recs, Compression::None), AppendOptions::default())
        .unwrap()
        .base_offset
}

fn cfg(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        index_interval_bytes: 128,
        ..LogConfig::default()
    }
}

fn ccfg() -> CleanerConfig {
    CleanerConfig {
        delete_retention_ms: 3_600_000,
        segment_bytes: 1 << 20,
        ..CleanerConfig::default()
    }
}

/// Every record from the log start: (offset, key, value).
fn all(log: &PartitionLog) -> Vec<(i64, Option<String>, Option<String>)> {
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let r = log.read(next, 1 << 20, None).unwrap();
        if r.records.is_empty() {
            break;
        }
        for b in iter_batches(&r.records) {
            let b = b.unwrap();
            b.validate_crc().unwrap();
            if !b.is_control() {
                for r in b.records().unwrap() {
                    if r.offset >= next {
                        let s =
                            |v: Option<Bytes>| v.map(|v| String::from_utf8(v.to_vec()).unwrap());
                        out.push((r.offset, s(r.key), s(r.value)));
                    }
                }
            }
            next = b.last_offset() + 1;
        }
    }
    out
}

/// Latest value per key, applying records in offset order (tombstones delete).
fn latest(recs: &[(i64, Option<String>, Option<String>)]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (_, k, v) in recs {
        match v {
            Some(v) => m.insert(k.clone().unwrap(), v.clone()),
            None => m.remove(k.as_ref().unwrap()),
        };
    }
    m
}

fn open(dir: &std::path::Path, seg: u64) -> (Store, std::sync::Arc<PartitionLog>) {
    let store = Store::open(dir).unwrap();
    let log = store
        .open_log(&TopicPartition::new("t", 0), cfg(seg))
        .unwrap();
    (store, log)
}

/// 100 keys x 10 rounds, 10 keys per batch; then one batch so the last round's
/// segment is sealed.
fn fill_rounds(log: &PartitionLog, rounds: usize) {
    let ts = now();
    for round in 0..rounds {
        for chunk in 0..10 {
            let recs = (0..10)
                .map(|i| {
                    let k = format!("k{}", chunk * 10 + i);
                    let v = format!("{k}-r{round}");
                    rec(Some(&k), Some(&v), ts)
                })
                .collect();
            append(log, recs);
        }
    }
}

#[test]
fn compaction_keeps_exactly_the_latest_value_per_key_at_its_original_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), 4_096);
    fill_rounds(&log, 10);
    append(&log, vec![rec(Some("tail"), Some("t"), now())]);
    let before = all(&log);
    let expected = latest(&before);
    let end = log.log_end_offset();
    let segs_before = log.segments().len();
    let stats = cleaner::clean(&log, &ccfg(), end, false).unwrap().unwrap();
    let after = all(&log);
    assert_eq!(latest(&after), expected);
    // One record per key survives in the cleaned part: the last one written,
    // at the offset it had.
    let active_base = log.segments().last().unwrap().base_offset;
    let mut keys = std::collections::HashSet::new();
    for (off, k, v) in &after {
        if *off < active_base {
            assert!(keys.insert(k.clone()), "key {k:?} appears twice");
        }
        let orig = before.iter().find(|(o, _, _)| o == off).unwrap();
        assert_eq!((&orig.1, &orig.2), (k, v), "offset {off} changed content");
    }
    let in_active = before.iter().filter(|(o, _, _)| *o >= active_base).count();
    assert_eq!(keys.len(), 100, "every key once in the cleaned part");
    assert_eq!(after.len(), 100 + in_active);
    assert_eq!(log.log_end_offset(), end, "log end unchanged");
    assert!(stats.records_read >= 900 && stats.records_kept < stats.records_read);
    assert!(
        log.segments().len() < segs_before,
        "small segments merged: {} -> {}",
        segs_before,
        log.segments().len()
    );
    // Nothing new is dirty: a second pass has nothing to do.
    assert!(cleaner::clean(&log, &ccfg(), end, false).unwrap().is_none());
    // New appends still get the next offsets.
    assert_eq!(append(&log, vec![rec(Some("k1"), Some("new"), now())]), end);
}

#[test]
fn cleaned_log_reads_back_the_same_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let after = {
        let (_s, log) = open(dir.path(), 4_096);
        fill_rounds(&log, 5);
        append(&log, vec![rec(Some("tail"), Some("t"), now())]);
        cleaner::clean(&log, &ccfg(), log.log_end_offset(), true)
            .unwrap()
            .unwrap();
        all(&log)
    };
    let (_s, log) = open(dir.path(), 4_096);
    assert_eq!(all(&log), after);
    let names: Vec<String> = std::fs::read_dir(dir.path().join("t-0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("cleaned") || n.contains("swap")),
        "{names:?}"
    );
}

#[test]
fn compressed_batches_are_filtered_and_keep_their_codec() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), 1 << 20);
    let ts = now();
    for round in 0..3 {
        let recs = (0..20)
            .map(|i| {
                rec(
                    Some(&format!("k{}", i % 10)),
                    Some(&format!("v{round}-{i}")),
                    ts,
                )
            })
            .collect();
        log.append(&build(recs, Compression::Zstd), AppendOptions::default())
            .unwrap();
    }
    log.append(
        &build(vec![rec(Some("x"), Some("y"), ts)], Compression::None),
        AppendOptions::default(),
    )
    .unwrap();
    // Force a roll so the zstd batches are cleanable.
    log.set_config(LogConfig {
        segment_bytes: 100,
        ..cfg(100)
    });
    append(&log, vec![rec(Some("roll"), Some("r"), ts)]);
    let expected = latest(&all(&log));
    cleaner::clean(&log, &ccfg(), log.log_end_offset(), true)
        .unwrap()
        .unwrap();
    let after = all(&log);
    assert_eq!(latest(&after), expected);
    assert_eq!(after.len(), 12); // k0..k9 from round 2, x, roll
    let r = log.read(0, 1 << 20, None).unwrap();
    let first = iter_batches(&r.records).next().unwrap().unwrap();
    assert_eq!(first.compression().unwrap(), Compression::Zstd);
    assert_eq!(
        first.base_offset(),
        40,
        "rebuilt batch keeps its base offset"
    );
    assert_eq!(first.last_offset(), 59, "and its last offset");
}

#[test]
fn tombstones_stay_until_delete_retention_passes_then_go() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), 300);
    let ts = now();
    append(
        &log,
        vec![rec(Some("a"), Some("1"), ts), rec(Some("b"), Some("1"), ts)],
    );
    append(&log, vec![rec(Some("a"), None, ts)]);
    append(&log, vec![rec(Some("c"), Some("1"), ts)]);
    while log.segments().len() < 3 {
        append(&log, vec![rec(Some("pad"), Some(&"p".repeat(100)), ts)]);
    }
    let end = log.log_end_offset();
    cleaner::clean(&log, &ccfg(), end, true).unwrap().unwrap();
    let after = all(&log);
    assert!(
        after
            .iter()
            .any(|(_, k, v)| k.as_deref() == Some("a") && v.is_none()),
        "tombstone kept within delete.retention.ms: {after:?}"
    );
    assert!(!after
        .iter()
        .any(|(_, k, v)| k.as_deref() == Some("a") && v.is_some()));
    let zero = CleanerConfig {
        delete_retention_ms: -1,
        ..ccfg()
    };
    let stats = cleaner::clean(&log, &zero, end, true).unwrap();
    // Nothing is dirty any more; a forced pass on new dirt removes the tombstone.
    assert!(stats.is_none());
    append(&log, vec![rec(Some("b"), Some("2"), ts)]);
    while log.segments().last().unwrap().base_offset < log.log_end_offset() - 1 {
        append(&log, vec![rec(Some("pad"), Some(&"p".repeat(200)), ts)]);
    }
    append(&log, vec![rec(Some("pad"), Some(&"p".repeat(200)), ts)]);
    let stats = cleaner::clean(&log, &zero, log.log_end_offset(), true)
        .unwrap()
        .unwrap();
    assert_eq!(stats.tombstones_removed, 1);
    let after = all(&log);
    assert!(
        !after.iter().any(|(_, k, _)| k.as_deref() == Some("a")),
        "{after:?}"
    );
    assert_eq!(latest(&after).get("b").map(String::as_str), Some("2"));
    assert_eq!(latest(&after).get("c").map(String::as_str), Some("1"));
}

fn txn_batch(pid: i64, recs: Vec<Record>) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.transactional = true;
    b.producer_id = pid;
    b.producer_epoch = 0;
    b.base_sequence = 0;
    for (i, mut r) in recs.into_iter().enumerate() {
        r.offset = i as i64;
        b.push(r);
    }
    b.build().unwrap()
}

fn marker(pid: i64, commit: bool) -> Vec<u8> {
    control(pid, commit as i16)
}

/// A transactional control batch of control record type `ty`.
fn control(pid: i64, ty: i16) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.transactional = true;
    b.control = true;
    b.producer_id = pid;
    b.producer_epoch = 0;
    let mut key = vec![0u8, 0];
    key.extend_from_slice(&ty.to_be_bytes());
    b.push(Record {
        offset: 0,
        timestamp: now(),
        key: Some(Bytes::from(key)),
        value: Some(Bytes::from_static(&[0, 0, 0, 0, 0, 0])),
        headers: vec![],
    });
    b.build().unwrap()
}

#[test]
fn aborted_transactions_are_dropped_and_never_shadow_committed_values() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), 400);
    let ts = now();
    let o = AppendOptions::default();
    append(&log, vec![rec(Some("a"), Some("plain"), ts)]);
    log.append(
        &txn_batch(7, vec![rec(Some("a"), Some("committed"), ts)]),
        o,
    )
    .unwrap();
    log.append(&marker(7, true), o).unwrap();
    log.append(&txn_batch(8, vec![rec(Some("a"), Some("aborted"), ts)]), o)
        .unwrap();
    log.append(&marker(8, false), o).unwrap();
    while log.segments().len() < 2 {
        append(&log, vec![rec(Some("pad"), Some(&"p".repeat(100)), ts)]);
    }
    let stats = cleaner::clean(&log, &ccfg(), log.log_end_offset(), true)
        .unwrap()
        .unwrap();
    assert_eq!(stats.aborted_removed, 1);
    let after = all(&log);
    let a: Vec<_> = after
        .iter()
        .filter(|(_, k, _)| k.as_deref() == Some("a"))
        .collect();
    assert_eq!(a.len(), 1, "{after:?}");
    assert_eq!(a[0].2.as_deref(), Some("committed"));
    // Both control batches are still there (read_committed consumers need them).
    let r = log.read(log.log_start_offset(), 1 << 20, None).unwrap();
    let controls = iter_batches(&r.records)
        .filter(|b| b.as_ref().unwrap().is_control())
        .count();
    assert_eq!(controls, 2);
}

/// Regression: the cleaner read any control type other than COMMIT as ABORT,
/// dropping the data of a transaction that went on to commit. As in Kafka
/// (`onControlBatchRead`: `default: return false`), an unknown control record
/// ends no transaction and is kept.
#[test]
fn an_unknown_control_type_neither_aborts_nor_commits_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), 400);
    let ts = now();
    let o = AppendOptions::default();
    log.append(&txn_batch(9, vec![rec(Some("a"), Some("txn"), ts)]), o)
        .unwrap();
    log.append(&control(9, 5), o).unwrap();
    log.append(&marker(9, true), o).unwrap();
    while log.segments().len() < 2 {
        append(&log, vec![rec(Some("pad"), Some(&"p".repeat(100)), ts)]);
    }
    let stats = cleaner::clean(&log, &ccfg(), log.log_end_offset(), true)
        .unwrap()
        .unwrap();
    assert_eq!(stats.aborted_removed, 0);
    let after = all(&log);
    assert_eq!(
        latest(&after).get("a").map(String::as_str),
        Some("txn"),
        "{after:?}"
    );
    let r = log.read(log.log_start_offset(), 1 << 20, None).unwrap();
    let controls = iter_batches(&r.records)
        .filter(|b| b.as_ref().unwrap().is_control())
        .count();
    assert_eq!(controls, 2, "the unknown control batch is kept");
}

#[test]
fn records_younger_than_min_compaction_lag_are_not_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), 4_096);
    fill_rounds(&log, 3);
    append(&log, vec![rec(Some("tail"), Some("t"), now())]);
    let lagged = CleanerConfig {
        min_compaction_lag_ms: 3_600_000,
        ..ccfg()
    };
    let before = all(&log);
    assert!(cleaner::clean(&log, &lagged, log.log_end_offset(), true)
        .unwrap()
        .is_none());
    assert_eq!(all(&log), before);
}

#[test]
fn dirty_ratio_gates_cleaning_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), 4_096);
    fill_rounds(&log, 3);
    append(&log, vec![rec(Some("tail"), Some("t"), now())]);
    let end = log.log_end_offset();
    let info = cleaner::dirty_info(&log, &ccfg(), end);
    assert!(
        (info.ratio() - 1.0).abs() < 1e-9,
        "never cleaned: all dirty"
    );
    let strict = CleanerConfig {
        min_cleanable_dirty_ratio: 1.5,
        ..ccfg()
    };
    assert!(cleaner::clean(&log, &strict, end, false).unwrap().is_none());
    // Overdue dirty data is cleaned whatever the ratio.
    let overdue = CleanerConfig {
        max_compaction_lag_ms: 0,
        ..strict
    };
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert!(cleaner::clean(&log, &overdue, end, false)
        .unwrap()
        .is_some());
}

#[test]
fn nothing_at_or_past_the_upper_bound_is_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), 4_096);
    fill_rounds(&log, 4);
    append(&log, vec![rec(Some("tail"), Some("t"), now())]);
    let before = all(&log);
    // An open transaction at offset 0 (LSO = 0) blocks all cleaning.
    assert!(cleaner::clean(&log, &ccfg(), 0, true).unwrap().is_none());
    assert_eq!(all(&log), before);
}

#[test]
fn appends_and_reads_carry_on_while_the_cleaner_swaps_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), 4_096);
    fill_rounds(&log, 10);
    append(&log, vec![rec(Some("tail"), Some("t"), now())]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut passes = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Every read sees whole, CRC-valid batches and the latest values.
                let recs = all(&log);
                let l = latest(&recs);
                for i in 0..100 {
                    assert_eq!(l[&format!("k{i}")], format!("k{i}-r9"));
                }
                passes += 1;
            }
            passes
        })
    };
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                append(&log, vec![rec(Some(&format!("w{i}")), Some("x"), now())]);
            }
        })
    };
    let cfg = CleanerConfig {
        io_max_bytes_per_sec: Some(200_000),
        ..ccfg()
    };
    cleaner::clean(&log, &cfg, log.log_end_offset(), true)
        .unwrap()
        .unwrap();
    writer.join().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let after = all(&log);
    for i in 0..200 {
        assert!(after
            .iter()
            .any(|(_, k, _)| k.as_deref() == Some(&format!("w{i}"))));
    }
    assert_eq!(latest(&after).len(), 100 + 1 + 200);
}
