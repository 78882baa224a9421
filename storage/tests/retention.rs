//! Retention through the public API: segments go by time, size and log start;
//! files leave the disk; readers below the log start get OffsetOutOfRange.

use weir_storage::retention::{apply_retention, RetentionPolicy, RetentionReason};
use weir_storage::{AppendOptions, LogConfig, StorageError, Store, TopicPartition};

mod common;

fn files(dir: &std::path::Path, suffix: &str) -> usize {
    std::fs::read_dir(dir.join("r-0"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(suffix)
        })
        .count()
}

fn open(dir: &std::path::Path) -> (Store, std::sync::Arc<weir_storage::PartitionLog>) {
    let store = Store::open(dir).unwrap();
    let cfg = LogConfig {
        segment_bytes: 1_000,
        ..LogConfig::default()
    };
    let log = store.open_log(&TopicPartition::new("r", 0), cfg).unwrap();
    (store, log)
}

#[test]
fn old_segments_expire_by_time_and_the_log_start_advances() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path());
    // Ten batches stamped at t=1000.., then ten at t=10_000_000..
    for i in 0..20 {
        log.append(
            &common::batch(5, 1_000 + i, "old"),
            AppendOptions::default(),
        )
        .unwrap();
    }
    let old_end = log.log_end_offset();
    for i in 0..20 {
        log.append(
            &common::batch(5, 10_000_000 + i, "new"),
            AppendOptions::default(),
        )
        .unwrap();
    }
    let segs = log.segments().len();
    assert!(segs > 3, "{segs}");
    let log_files = files(dir.path(), ".log");
    let out = apply_retention(
        &log,
        &RetentionPolicy::from_kafka(1_000_000, -1),
        log.log_end_offset(),
        10_500_000,
    )
    .unwrap();
    assert!(!out.deleted.is_empty());
    assert!(out.deleted.iter().all(|(_, r)| *r == RetentionReason::Time));
    assert_eq!(out.log_start_offset, log.log_start_offset());
    assert!(log.log_start_offset() > 0 && log.log_start_offset() <= old_end);
    assert_eq!(files(dir.path(), ".log"), log_files - out.deleted.len());
    assert_eq!(files(dir.path(), ".index"), log_files - out.deleted.len());
    assert_eq!(
        files(dir.path(), ".timeindex"),
        log_files - out.deleted.len()
    );
    assert!(matches!(
        log.read(0, 1 << 20, None),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    // Every record of the new era is still there.
    let r = log.read(old_end, 1 << 20, None).unwrap();
    assert!(common::values(&r.records)
        .iter()
        .any(|(_, v)| v.starts_with("new")));
    // The new log start survives a restart.
    let start = log.log_start_offset();
    drop(log);
    drop(_s);
    let (_s, log) = open(dir.path());
    assert_eq!(log.log_start_offset(), start);
}

#[test]
fn retention_bytes_bounds_the_log_size_and_time_takes_the_active_segment_too() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path());
    for i in 0..60 {
        log.append(&common::batch(5, 1_000 + i, "v"), AppendOptions::default())
            .unwrap();
    }
    let limit = 2_500u64;
    assert!(log.size_bytes() > limit);
    apply_retention(
        &log,
        &RetentionPolicy::from_kafka(-1, limit as i64),
        i64::MAX,
        0,
    )
    .unwrap();
    let size = log.size_bytes();
    let biggest = log.segments().iter().map(|s| s.size_bytes).max().unwrap();
    assert!(size >= limit && size < limit + biggest, "size {size}");
    // Everything expired by time: every segment goes, the active one too (as
    // Kafka), and the log keeps a new empty active segment at its end.
    let end = log.log_end_offset();
    apply_retention(
        &log,
        &RetentionPolicy::from_kafka(0, -1),
        i64::MAX,
        i64::MAX / 2,
    )
    .unwrap();
    let segs = log.segments();
    assert_eq!(segs.len(), 1);
    assert!(segs[0].is_active && segs[0].size_bytes == 0);
    assert_eq!((segs[0].base_offset, log.log_start_offset()), (end, end));
}

#[test]
fn delete_records_then_retention_removes_segments_wholly_below_the_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path());
    for i in 0..30 {
        log.append(&common::batch(5, 1_000 + i, "v"), AppendOptions::default())
            .unwrap();
    }
    let target = log.segments()[2].base_offset + 1;
    log.advance_log_start_offset(target).unwrap();
    assert_eq!(log.log_start_offset(), target);
    assert_eq!(log.segments()[0].base_offset, target - 1);
    let out = apply_retention(&log, &RetentionPolicy::default(), i64::MAX, 0).unwrap();
    assert!(
        out.deleted.is_empty(),
        "the segment holding the log start stays"
    );
    assert_eq!(log.log_start_offset(), target);
}

#[test]
fn a_closed_log_is_judged_from_what_it_left_and_opened_only_to_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.set_max_open_segments(1);
    let cfg = LogConfig {
        segment_bytes: 1_000,
        ..LogConfig::default()
    };
    let log = store
        .log(&TopicPartition::new("r", 0), cfg.clone())
        .unwrap();
    for i in 0..40 {
        log.append(
            &common::batch(5, 1_000 + i, "old"),
            AppendOptions::default(),
        )
        .unwrap();
    }
    let segments = log.segments().len();
    assert!(segments > 3, "{segments}");
    // Opening another log closes this one (cap of one segment).
    let other = store.log(&TopicPartition::new("o", 0), cfg).unwrap();
    other
        .append(&common::batch(1, 5, "x"), AppendOptions::default())
        .unwrap();
    assert!(!log.is_open(), "closed under the cap");
    let (left, start) = log
        .closed_segments()
        .expect("a closed log leaves its segments");
    assert_eq!(left.len(), segments);
    assert_eq!(start, 0);
    let end = log.log_end_offset();
    assert_eq!(end, 200);
    let keep_all = RetentionPolicy::from_kafka(-1, -1);
    let out = apply_retention(&log, &keep_all, end, 2_000).unwrap();
    assert!(out.deleted.is_empty());
    assert!(!log.is_open(), "nothing to delete: not reopened");
    let by_time = RetentionPolicy::from_kafka(100, -1);
    let out = apply_retention(&log, &by_time, end, 10_000_000).unwrap();
    assert_eq!(out.deleted.len(), segments, "the active segment too");
    assert_eq!(log.log_start_offset(), end);
    assert!(out.deleted.iter().all(|(_, r)| *r == RetentionReason::Time));
    assert_eq!(files(dir.path(), ".log"), 1);
    store.close().unwrap();
}

/// A log of one segment: `n` batches of one record stamped `ts`.
fn one_segment(
    dir: &std::path::Path,
    n: usize,
    ts: i64,
) -> (Store, std::sync::Arc<weir_storage::PartitionLog>) {
    let (s, log) = open(dir);
    for _ in 0..n {
        log.append(&common::batch(1, ts, "v"), AppendOptions::default())
            .unwrap();
    }
    assert_eq!(log.segments().len(), 1);
    (s, log)
}

#[test]
fn an_expired_active_segment_is_rolled_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (s, log) = one_segment(dir.path(), 10, 1_000);
    let p = RetentionPolicy::from_kafka(1_000, -1);
    // Not before `now - 1,000 > 1,000`.
    let out = apply_retention(&log, &p, 10, 2_000).unwrap();
    assert!(out.deleted.is_empty());
    assert_eq!(out.next_due_ms, Some(2_001));
    let out = apply_retention(&log, &p, 10, 2_001).unwrap();
    assert_eq!(out.deleted, vec![(0, RetentionReason::Time)]);
    assert_eq!(out.log_start_offset, 10);
    assert_eq!(out.next_due_ms, None, "only an empty segment left");
    let segs = log.segments();
    assert_eq!(segs.len(), 1);
    assert_eq!((segs[0].base_offset, segs[0].size_bytes), (10, 0));
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (10, 10));
    assert!(matches!(
        log.read(0, 1 << 20, None),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    // The next append gets the next offset, in the new segment.
    let info = log
        .append(&common::batch(1, 5_000, "after"), AppendOptions::default())
        .unwrap();
    assert_eq!(info.base_offset, 10);
    // The log start survives a restart.
    drop(log);
    drop(s);
    let (_s, log) = open(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (10, 11));
}

#[test]
fn an_empty_active_segment_is_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = one_segment(dir.path(), 0, 0);
    let all = RetentionPolicy::from_kafka(0, 0);
    let out = apply_retention(&log, &all, i64::MAX, i64::MAX / 2).unwrap();
    assert!(out.deleted.is_empty());
    assert_eq!(out.next_due_ms, None);
    // Nor the one a deletion left.
    log.append(&common::batch(1, 1, "v"), AppendOptions::default())
        .unwrap();
    let out = apply_retention(&log, &all, i64::MAX, i64::MAX / 2).unwrap();
    assert_eq!(out.deleted.len(), 1);
    let out = apply_retention(&log, &all, i64::MAX, i64::MAX / 2).unwrap();
    assert!(out.deleted.is_empty());
    assert_eq!(log.segments().len(), 1);
}

#[test]
fn size_retention_takes_the_active_segment_only_when_kafka_would() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = one_segment(dir.path(), 3, 1_000);
    let size = log.size_bytes();
    // `size - limit - size >= 0` only for a limit of 0.
    for limit in [1, size as i64 - 1, size as i64, size as i64 + 1] {
        let p = RetentionPolicy::from_kafka(-1, limit);
        let out = apply_retention(&log, &p, i64::MAX, 0).unwrap();
        assert!(out.deleted.is_empty(), "limit {limit}");
        assert_eq!(out.next_due_ms, None, "limit {limit}");
    }
    let p = RetentionPolicy::from_kafka(-1, 0);
    let out = apply_retention(&log, &p, i64::MAX, 0).unwrap();
    assert_eq!(out.deleted, vec![(0, RetentionReason::Size)]);
    assert_eq!(log.log_start_offset(), 3);
    // Not past the high watermark: the active segment's bound is the log end.
    log.append(&common::batch(1, 1, "v"), AppendOptions::default())
        .unwrap();
    let out = apply_retention(&log, &p, 3, 0).unwrap();
    assert!(out.deleted.is_empty());
    let out = apply_retention(&log, &p, 4, 0).unwrap();
    assert_eq!(out.deleted.len(), 1);
}

#[test]
fn an_append_racing_retention_is_never_deleted_and_gets_the_next_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = one_segment(dir.path(), 0, 0);
    // Every record is expired; what bounds a pass is the high watermark it
    // read first: records appended after that (racing the pass) must stay.
    let p = RetentionPolicy::from_kafka(0, -1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let log = log.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            for next in 0..1_000 {
                let info = log
                    .append(&common::batch(1, 0, "v"), AppendOptions::default())
                    .unwrap();
                assert_eq!(info.base_offset, next, "offsets stay consecutive");
            }
            stop.store(true, std::sync::atomic::Ordering::Release);
        })
    };
    let (mut passes, mut deleted) = (0, 0);
    while !stop.load(std::sync::atomic::Ordering::Acquire) {
        let hw = log.log_end_offset();
        let out = apply_retention(&log, &p, hw, 1_000).unwrap();
        assert!(
            out.log_start_offset <= hw,
            "deleted past the high watermark {hw}: log start {}",
            out.log_start_offset
        );
        passes += 1;
        deleted += out.deleted.len();
    }
    writer.join().unwrap();
    assert!(
        passes > 10 && deleted > 0,
        "{passes} passes, {deleted} deleted"
    );
    assert_eq!(log.log_end_offset(), 1_000);
    // What is left reads back contiguously from the log start.
    let mut at = log.log_start_offset();
    while at < 1_000 {
        let r = log.read(at, 1 << 20, None).unwrap();
        let offsets: Vec<i64> = common::values(&r.records).iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets.first(), Some(&at));
        assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1));
        at = r.next_offset;
    }
}
