//! Partition log behaviour through the public API: append, read, roll, flush,
//! truncation, log start offset, reopen (clean and unclean).

mod common;

use common::{batch, values};
use std::sync::Arc;
use weir_storage::batch::iter_batches;
use weir_storage::{AppendOptions, LogConfig, PartitionLog, StorageError, Store, TopicPartition};

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        index_interval_bytes: 100,
        ..LogConfig::default()
    }
}

fn open(dir: &std::path::Path, cfg: LogConfig) -> (Store, Arc<PartitionLog>) {
    let store = Store::open(dir).unwrap();
    let log = store.open_log(&tp(), cfg).unwrap();
    (store, log)
}

fn read_all(log: &PartitionLog, from: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut next = from;
    while next < log.log_end_offset() {
        let r = log.read(next, 1, None).unwrap();
        let v = values(&r.records);
        if v.is_empty() {
            // Only a gap left by truncating inside a batch ends a read early.
            break;
        }
        next = iter_batches(&r.records)
            .last()
            .unwrap()
            .unwrap()
            .last_offset()
            + 1;
        out.extend(v.into_iter().filter(|(o, _)| *o >= from));
    }
    out
}

#[test]
fn append_assigns_offsets_and_read_returns_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), LogConfig::default());
    let a = log
        .append(&batch(3, 100, "a"), AppendOptions::default())
        .unwrap();
    assert_eq!((a.base_offset, a.last_offset, a.record_count), (0, 2, 3));
    assert_eq!(a.max_timestamp, 102);
    assert_eq!(a.log_append_time, -1);
    let mut two = batch(2, 200, "b");
    two.extend_from_slice(&batch(1, 300, "c"));
    let b = log.append(&two, AppendOptions::default()).unwrap();
    assert_eq!((b.base_offset, b.last_offset, b.record_count), (3, 5, 3));
    assert_eq!(log.log_end_offset(), 6);

    // Reading from inside the first batch returns that whole batch first.
    let r = log.read(1, usize::MAX, None).unwrap();
    assert_eq!(r.log_end_offset, 6);
    let v = values(&r.records);
    assert_eq!(v.first().unwrap(), &(0, "a-0".to_string()));
    assert_eq!(v.len(), 6);
    // max_bytes smaller than a batch still gives one whole batch.
    let r = log.read(3, 1, None).unwrap();
    assert_eq!(
        values(&r.records),
        vec![(3, "b-0".into()), (4, "b-1".into())]
    );
    // Upper bound (e.g. last stable offset) stops before batches at or past it.
    let r = log.read(0, usize::MAX, Some(3)).unwrap();
    assert_eq!(values(&r.records).len(), 3);
    // At the end: empty. Past it or before the start: out of range.
    assert!(log.read(6, 100, None).unwrap().records.is_empty());
    assert!(matches!(
        log.read(7, 100, None),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    assert!(matches!(
        log.read(-1, 100, None),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn invalid_batches_are_rejected_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), LogConfig::default());
    let mut bad = batch(2, 0, "x");
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert!(matches!(
        log.append(&bad, AppendOptions::default()),
        Err(StorageError::InvalidBatch(
            weir_storage::BatchError::CrcMismatch { .. }
        ))
    ));
    assert!(log.append(&[], AppendOptions::default()).is_err());
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.size_bytes(), 0);
}

#[test]
fn rolls_by_size_and_reads_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), small_segments());
    let mut expected = Vec::new();
    for i in 0..40 {
        let info = log
            .append(&batch(2, i, &format!("v{i}")), AppendOptions::default())
            .unwrap();
        expected.push((info.base_offset, format!("v{i}-0")));
        expected.push((info.base_offset + 1, format!("v{i}-1")));
    }
    let segs = log.segments();
    assert!(
        segs.len() > 5,
        "tiny segment.bytes rolls: {} segments",
        segs.len()
    );
    assert!(segs.iter().all(|s| s.size_bytes <= 600));
    assert!(segs.last().unwrap().is_active);
    for w in segs.windows(2) {
        assert_eq!(w[0].next_offset, w[1].base_offset);
    }
    assert_eq!(read_all(&log, 0), expected);
    assert_eq!(read_all(&log, 37), expected[37..].to_vec());
    // Kafka's file names.
    let d = dir.path().join("t-0");
    assert!(d.join("00000000000000000000.log").exists());
    assert!(d
        .join(format!("{:020}.index", segs[1].base_offset))
        .exists());
    assert!(d
        .join(format!("{:020}.timeindex", segs[1].base_offset))
        .exists());
}

/// `append_needs_setup` predicts exactly the appends that roll a segment (the slow ones
/// a broker keeps off its async threads), and the first append after a clean reopen.
#[test]
fn append_needs_setup_predicts_rolls_and_reopened_segments() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (s, log) = open(dir.path(), small_segments());
        let mut predicted = 0;
        for i in 0..40 {
            let b = batch(2, i, &format!("v{i}"));
            let before = log.segments().len();
            let says = log.append_needs_setup(&b);
            log.append(&b, AppendOptions::default()).unwrap();
            let rolled = log.segments().len() > before;
            assert_eq!(
                says, rolled,
                "append {i}: predicted {says}, rolled {rolled}"
            );
            predicted += says as usize;
        }
        assert!(predicted >= 5, "only {predicted} rolls in 40 appends");
        s.close().unwrap();
    }
    let (_s, log) = open(dir.path(), small_segments());
    // Opened sealed after a clean stop: the first append must reopen the active segment.
    assert!(log.append_needs_setup(&[0u8]));
    log.append(&batch(1, 0, "after"), AppendOptions::default())
        .unwrap();
    let b = batch(1, 1, "x");
    let fits_now = log.segments().last().unwrap().size_bytes + b.len() as u64 <= 600;
    assert_eq!(log.append_needs_setup(&b), !fits_now);
}

#[test]
fn clean_reopen_keeps_everything_without_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let expected;
    {
        let (s, log) = open(dir.path(), small_segments());
        for i in 0..25 {
            log.append(&batch(3, 1000 + i, "c"), AppendOptions::default())
                .unwrap();
        }
        expected = read_all(&log, 0);
        s.close().unwrap();
        assert!(matches!(
            log.append(&batch(1, 0, "z"), AppendOptions::default()),
            Err(StorageError::Closed)
        ));
    }
    let (s, log) = open(dir.path(), small_segments());
    assert!(s.was_clean_shutdown());
    assert_eq!(log.log_end_offset(), 75);
    assert_eq!(read_all(&log, 0), expected);
    let info = log
        .append(&batch(1, 5, "after"), AppendOptions::default())
        .unwrap();
    assert_eq!(info.base_offset, 75);
}

/// A clean close syncs the whole file system once instead of each file, and
/// leaves the checkpointed recovery point where the last fsync put it: a crash in
/// the next run must still recover everything, from that older point.
#[test]
fn clean_close_then_a_crash_in_the_next_run_recovers_everything() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (s, log) = open(dir.path(), small_segments());
        for i in 0..25 {
            log.append(&batch(3, 1000 + i, "c"), AppendOptions::default())
                .unwrap();
        }
        s.close().unwrap();
    }
    let expected;
    {
        let (s, log) = open(dir.path(), small_segments());
        assert!(s.was_clean_shutdown());
        assert_eq!(
            log.offset_for_timestamp(1010).unwrap().map(|(o, _)| o),
            Some(26)
        );
        for i in 0..10 {
            log.append(&batch(2, 2000 + i, "d"), AppendOptions::default())
                .unwrap();
        }
        expected = read_all(&log, 0);
        assert_eq!(expected.len(), 95);
        // Dropped without close: like a crash (the page cache keeps the data).
    }
    let (s, log) = open(dir.path(), small_segments());
    assert!(!s.was_clean_shutdown());
    assert_eq!(read_all(&log, 0), expected);
    assert_eq!(
        log.offset_for_timestamp(2005).unwrap().map(|(o, _)| o),
        Some(84)
    );
}

#[test]
fn unclean_reopen_recovers_everything_written() {
    let dir = tempfile::tempdir().unwrap();
    let expected;
    {
        let (_s, log) = open(dir.path(), small_segments());
        for i in 0..25 {
            log.append(&batch(3, 1000 + i, "u"), AppendOptions::default())
                .unwrap();
        }
        expected = read_all(&log, 0);
        // Dropped without close: like a crash (the page cache keeps the data).
    }
    let (s, log) = open(dir.path(), small_segments());
    assert!(!s.was_clean_shutdown());
    assert_eq!(read_all(&log, 0), expected);
}

#[test]
fn torn_tail_is_truncated_at_the_first_bad_batch() {
    let dir = tempfile::tempdir().unwrap();
    let seg_path;
    {
        let (_s, log) = open(dir.path(), LogConfig::default());
        for i in 0..10 {
            log.append(&batch(2, i, "t"), AppendOptions::default())
                .unwrap();
        }
        seg_path = dir.path().join("t-0/00000000000000000000.log");
    }
    // Append half a batch of garbage, as a crash mid-write leaves it.
    let mut data = std::fs::read(&seg_path).unwrap();
    let good_len = data.len();
    data.extend_from_slice(&batch(2, 0, "torn")[..40]);
    std::fs::write(&seg_path, &data).unwrap();
    let (_s, log) = open(dir.path(), LogConfig::default());
    assert_eq!(log.log_end_offset(), 20);
    assert_eq!(
        std::fs::metadata(&seg_path).unwrap().len() as usize,
        good_len
    );
    assert_eq!(
        log.append(&batch(1, 0, "next"), AppendOptions::default())
            .unwrap()
            .base_offset,
        20
    );
}

#[test]
fn flush_and_sync_to_advance_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        flush: weir_storage::FlushPolicy {
            messages: Some(5),
            interval_ms: None,
        },
        ..LogConfig::default()
    };
    let (_s, log) = open(dir.path(), cfg);
    log.append(&batch(3, 0, "f"), AppendOptions::default())
        .unwrap();
    assert!(!log.flush_due());
    log.append(&batch(3, 0, "f"), AppendOptions::default())
        .unwrap();
    assert!(log.flush_due());
    log.sync_to(5).unwrap();
    assert!(log.recovery_point() >= 6);
    assert!(!log.flush_due());
    log.append(&batch(1, 0, "f"), AppendOptions::default())
        .unwrap();
    log.flush().unwrap();
    assert_eq!(log.recovery_point(), 7);
}

#[test]
fn flush_interval_makes_flush_due_after_the_time() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        flush: weir_storage::FlushPolicy {
            messages: None,
            interval_ms: Some(30),
        },
        ..LogConfig::default()
    };
    let (_s, log) = open(dir.path(), cfg);
    log.append(&batch(1, 0, "f"), AppendOptions::default())
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !log.flush_due() {
        assert!(
            std::time::Instant::now() < deadline,
            "flush never became due"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    log.flush().unwrap();
    assert!(!log.flush_due());
}

#[test]
fn truncate_to_removes_the_tail_even_while_a_reader_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), small_segments());
    for i in 0..30 {
        log.append(&batch(2, i, &format!("v{i}")), AppendOptions::default())
            .unwrap();
    }
    let held = log.read(50, usize::MAX, None).unwrap().records;
    let before = values(&held);
    log.truncate_to(51).unwrap();
    assert_eq!(log.log_end_offset(), 51);
    // The held bytes stay intact (they borrow the old mapping).
    assert_eq!(values(&held), before);
    let all = read_all(&log, 0);
    assert_eq!(
        all.last().unwrap().0,
        49,
        "the batch straddling 51 is removed whole"
    );
    log.truncate_to(10).unwrap();
    assert_eq!(read_all(&log, 0).len(), 10);
    assert_eq!(
        log.append(&batch(1, 0, "n"), AppendOptions::default())
            .unwrap()
            .base_offset,
        10
    );
    drop(held);
}

#[test]
fn truncation_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (s, log) = open(dir.path(), small_segments());
        for i in 0..30 {
            log.append(&batch(2, i, "r"), AppendOptions::default())
                .unwrap();
        }
        log.truncate_to(20).unwrap();
        s.close().unwrap();
    }
    let (_s, log) = open(dir.path(), small_segments());
    assert_eq!(log.log_end_offset(), 20);
    assert_eq!(read_all(&log, 0).len(), 20);
}

#[test]
fn advance_log_start_deletes_whole_segments_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_s, log) = open(dir.path(), small_segments());
        for i in 0..30 {
            log.append(&batch(2, i, "d"), AppendOptions::default())
                .unwrap();
        }
        let segs_before = log.segments().len();
        assert_eq!(log.advance_log_start_offset(25).unwrap(), 25);
        assert_eq!(
            log.advance_log_start_offset(3).unwrap(),
            25,
            "never moves backwards"
        );
        assert_eq!(log.log_start_offset(), 25);
        let segs = log.segments();
        assert!(segs.len() < segs_before);
        assert!(segs[0].base_offset <= 25 && segs[0].next_offset > 25);
        assert!(matches!(
            log.read(24, 10, None),
            Err(StorageError::OffsetOutOfRange { .. })
        ));
        let r = log.read(25, 1, None).unwrap();
        assert!(values(&r.records).iter().any(|(o, _)| *o == 25));
        // Unclean stop.
    }
    let (_s, log) = open(dir.path(), small_segments());
    assert_eq!(log.log_start_offset(), 25);
    assert_eq!(log.log_end_offset(), 60);
    assert_eq!(
        log.advance_log_start_offset(1000).unwrap(),
        60,
        "at most the log end"
    );
    assert_eq!(log.size_bytes(), 0);
    assert_eq!(
        log.append(&batch(1, 0, "n"), AppendOptions::default())
            .unwrap()
            .base_offset,
        60
    );
}

#[test]
fn concurrent_reads_during_appends_see_only_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(
        dir.path(),
        LogConfig {
            segment_bytes: 20_000,
            ..LogConfig::default()
        },
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let log = log.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let end = log.log_end_offset();
                if end == 0 {
                    continue;
                }
                let r = log.read(end - 1, usize::MAX, None).unwrap();
                for b in iter_batches(&r.records) {
                    b.unwrap().validate_crc().unwrap();
                }
                reads += 1;
            }
            reads
        })
    };
    for i in 0..500 {
        log.append(&batch(5, i, "c"), AppendOptions::default())
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(read_all(&log, 0).len(), 2500);
}

#[test]
fn delete_oldest_segments_moves_the_log_start_to_the_next_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), small_segments());
    for i in 0..30 {
        log.append(&batch(2, i, "o"), AppendOptions::default())
            .unwrap();
    }
    let segs = log.segments();
    assert_eq!(log.delete_oldest_segments(2).unwrap(), segs[2].base_offset);
    assert_eq!(log.segments()[0], segs[2]);
    assert_eq!(
        log.delete_oldest_segments(1000).unwrap(),
        60,
        "all of them, active included"
    );
    assert_eq!(log.size_bytes(), 0);
    assert_eq!(
        log.append(&batch(1, 0, "n"), AppendOptions::default())
            .unwrap()
            .base_offset,
        60
    );
}

#[test]
fn clean_start_without_appends_writes_nothing_to_the_log_dir() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (s, log) = open(dir.path(), small_segments());
        for i in 0..20 {
            log.append(&batch(2, i, "s"), AppendOptions::default())
                .unwrap();
        }
        s.close().unwrap();
    }
    let snapshot = || {
        let mut v: Vec<_> = std::fs::read_dir(dir.path().join("t-0"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                (e.file_name(), m.len(), m.modified().unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot();
    std::thread::sleep(std::time::Duration::from_millis(20));
    for _ in 0..2 {
        let (s, log) = open(dir.path(), small_segments());
        assert!(s.was_clean_shutdown());
        assert_eq!(log.log_end_offset(), 40);
        assert_eq!(read_all(&log, 0).len(), 40);
        s.close().unwrap();
    }
    assert_eq!(
        snapshot(),
        before,
        "no file of the log was written, grown or trimmed"
    );
}

#[test]
fn concurrent_appenders_flushers_and_readers_agree_on_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 4_000,
        flush: weir_storage::FlushPolicy {
            messages: Some(7),
            interval_ms: None,
        },
        ..LogConfig::default()
    };
    let (_s, log) = open(dir.path(), cfg);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..100 {
                    let info = log
                        .append(&batch(2, i, &format!("w{w}")), AppendOptions::default())
                        .unwrap();
                    if log.flush_due() {
                        log.sync_to(info.last_offset).unwrap();
                        assert!(log.recovery_point() > info.last_offset);
                    }
                    mine.push(info.base_offset);
                }
                mine
            })
        })
        .collect();
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            for _ in 0..200 {
                let end = log.log_end_offset();
                if end > 0 {
                    let r = log.read(end / 2, 10_000, None).unwrap();
                    for b in iter_batches(&r.records) {
                        b.unwrap().validate_crc().unwrap();
                    }
                }
            }
        })
    };
    let mut bases: Vec<i64> = writers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    reader.join().unwrap();
    bases.sort_unstable();
    assert_eq!(
        bases,
        (0..400).map(|i| i * 2).collect::<Vec<_>>(),
        "every batch got its own offsets"
    );
    assert_eq!(read_all(&log, 0).len(), 800);
    log.flush().unwrap();
    assert_eq!(log.recovery_point(), 800);
}
