//! Crash tests through the filesystem seam: damage the files the way a crash or
//! a bad disk does, reopen, and assert exactly which offsets survive.

use crate::batch::iter_batches;
use crate::fs::faulty::FaultyFs;
use crate::fs::{self, Fs};
use crate::{
    AppendOptions, BatchBuilder, LogConfig, PartitionLog, Record, StorageError, Store,
    TopicPartition,
};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn tp() -> TopicPartition {
    TopicPartition::new("c", 0)
}

fn batch(n: usize, tag: &str) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..n {
        b.push(Record {
            offset: i as i64,
            timestamp: 1_000 + i as i64,
            key: None,
            value: Some(Bytes::from(format!("{tag}-{i}-{}", "x".repeat(50)))),
            headers: vec![],
        });
    }
    b.build().unwrap()
}

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 2_000,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, fs: Arc<dyn Fs>) -> (Store, Arc<PartitionLog>) {
    let store = Store::open_with_fs(dir, fs).unwrap();
    let log = store.open_log(&tp(), cfg()).unwrap();
    (store, log)
}

/// Every offset readable from the start, checking every batch's CRC.
fn offsets(log: &PartitionLog) -> Vec<i64> {
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
            for rec in b.records().unwrap() {
                if rec.offset >= next {
                    out.push(rec.offset);
                }
            }
            next = b.last_offset() + 1;
        }
    }
    out
}

fn log_dir(dir: &Path) -> PathBuf {
    dir.join("c-0")
}

fn segment_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(log_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

/// Append `count` batches of 3 records; returns the log.
fn fill(log: &PartitionLog, count: usize) {
    for i in 0..count {
        log.append(&batch(3, &format!("b{i}")), AppendOptions::default())
            .unwrap();
    }
}

#[test]
fn write_cut_half_way_then_crash_keeps_exactly_the_acknowledged_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = Arc::new(FaultyFs::default());
    {
        let (_s, log) = open(dir.path(), faulty.clone());
        fill(&log, 4); // offsets 0..12
        {
            let mut f = faulty.faults.lock();
            f.cut_next_write = Some((".log".into(), 40));
            f.die_after_cut = true;
        }
        let err = log
            .append(&batch(3, "torn"), AppendOptions::default())
            .unwrap_err();
        assert!(matches!(err, StorageError::Io { .. }), "{err}");
        // The process "dies" here: no cleanup reached the disk.
    }
    let last = segment_files(dir.path(), ".log").pop().unwrap();
    let (_s, log) = open(dir.path(), fs::real());
    assert_eq!(offsets(&log), (0..12).collect::<Vec<_>>());
    assert_eq!(log.log_end_offset(), 12);
    let size = std::fs::metadata(&last).unwrap().len();
    assert_eq!(
        size as usize,
        4 * batch(3, "b0").len(),
        "the torn bytes are gone"
    );
    assert_eq!(
        log.append(&batch(1, "after"), AppendOptions::default())
            .unwrap()
            .base_offset,
        12
    );
}

#[test]
fn write_cut_half_way_without_crash_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = Arc::new(FaultyFs::default());
    {
        let (s, log) = open(dir.path(), faulty.clone());
        fill(&log, 2);
        faulty.faults.lock().cut_next_write = Some((".log".into(), 40));
        assert!(log
            .append(&batch(3, "torn"), AppendOptions::default())
            .is_err());
        assert_eq!(log.log_end_offset(), 6);
        // The broker keeps going; a later append lands where the torn one would have.
        assert_eq!(
            log.append(&batch(1, "ok"), AppendOptions::default())
                .unwrap()
                .base_offset,
            6
        );
        s.close().unwrap();
    }
    let (s, log) = open(dir.path(), fs::real());
    assert!(s.was_clean_shutdown());
    assert_eq!(offsets(&log), (0..7).collect::<Vec<_>>());
}

#[test]
fn garbage_appended_to_the_last_segment_is_cut_on_unclean_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_s, log) = open(dir.path(), fs::real());
        fill(&log, 20);
    }
    let last = segment_files(dir.path(), ".log").pop().unwrap();
    let good = std::fs::metadata(&last).unwrap().len();
    let mut data = std::fs::read(&last).unwrap();
    data.extend_from_slice(&[0xAB; 100]);
    std::fs::write(&last, &data).unwrap();
    let (_s, log) = open(dir.path(), fs::real());
    assert_eq!(offsets(&log), (0..60).collect::<Vec<_>>());
    assert_eq!(std::fs::metadata(&last).unwrap().len(), good);
}

#[test]
fn garbage_after_a_clean_close_is_still_never_served() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (s, log) = open(dir.path(), fs::real());
        fill(&log, 5);
        s.close().unwrap();
    }
    let last = segment_files(dir.path(), ".log").pop().unwrap();
    let mut data = std::fs::read(&last).unwrap();
    data.extend_from_slice(&[0x00, 0x01, 0x02]);
    std::fs::write(&last, &data).unwrap();
    let (_s, log) = open(dir.path(), fs::real());
    assert_eq!(offsets(&log), (0..15).collect::<Vec<_>>());
}

#[test]
fn flipped_byte_in_the_middle_of_the_last_segment_truncates_from_that_batch() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_s, log) = open(dir.path(), fs::real());
        fill(&log, 20);
    }
    let last = segment_files(dir.path(), ".log").pop().unwrap();
    let base: i64 = last.file_stem().unwrap().to_string_lossy().parse().unwrap();
    let mut data = std::fs::read(&last).unwrap();
    // Find the batch holding the middle byte.
    let mid = data.len() / 2;
    let mut pos = 0;
    let mut bad_base = None;
    for b in iter_batches(&data) {
        let b = b.unwrap();
        if pos + b.total_len() > mid {
            bad_base = Some(b.base_offset());
            break;
        }
        pos += b.total_len();
    }
    let bad_base = bad_base.unwrap();
    assert!(
        bad_base > base,
        "the damaged batch is not the segment's first"
    );
    data[mid] ^= 0x10;
    std::fs::write(&last, &data).unwrap();
    let (_s, log) = open(dir.path(), fs::real());
    assert_eq!(offsets(&log), (0..bad_base).collect::<Vec<_>>());
    assert_eq!(log.log_end_offset(), bad_base);
    assert_eq!(std::fs::metadata(&last).unwrap().len() as usize, pos);
}

#[test]
fn flipped_byte_in_an_older_segment_past_the_recovery_point_drops_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_s, log) = open(dir.path(), fs::real());
        fill(&log, 40);
        assert!(log.segments().len() >= 3);
        // Drop without close; no flush happened, so the recovery point is 0
        // (the background roll flushes may or may not have run).
    }
    // Make sure no roll flush advanced the recovery point: rewrite the checkpoint.
    let segs = segment_files(dir.path(), ".log");
    let second = &segs[1];
    let second_base: i64 = second
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .parse()
        .unwrap();
    let cp = log_dir(dir.path()).join(crate::log::LOG_CHECKPOINT);
    std::fs::write(&cp, crate::durability::seal(b"weir-log 1\n0\n0\n")).unwrap();
    let mut data = std::fs::read(second).unwrap();
    data[70] ^= 0x01; // inside the first batch of the second segment
    std::fs::write(second, &data).unwrap();
    let (_s, log) = open(dir.path(), fs::real());
    assert_eq!(offsets(&log), (0..second_base).collect::<Vec<_>>());
    assert_eq!(
        segment_files(dir.path(), ".log").len(),
        2,
        "later segments are deleted"
    );
    assert_eq!(
        log.append(&batch(1, "n"), AppendOptions::default())
            .unwrap()
            .base_offset,
        second_base
    );
}

#[test]
fn recovery_scans_only_from_the_recovery_point_segment() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_s, log) = open(dir.path(), fs::real());
        fill(&log, 40);
        log.flush().unwrap(); // recovery point = log end, in the last segment
        fill(&log, 2);
    }
    // Damage a byte in the first segment: before the recovery point, so an
    // unclean open trusts it (that is what keeps start-up fast) ...
    let first = &segment_files(dir.path(), ".log")[0];
    let mut data = std::fs::read(first).unwrap();
    data[70] ^= 0x01;
    std::fs::write(first, &data).unwrap();
    let (_s, log) = open(dir.path(), fs::real());
    assert_eq!(log.log_end_offset(), 126, "nothing was truncated");
    // ... but the damaged batch is still never handed out as valid: its CRC fails.
    let r = log.read(0, 1, None).unwrap();
    let b = crate::BatchHeader::parse(&r.records).unwrap();
    assert!(b.validate_crc().is_err());
}

#[test]
fn deleted_index_file_is_rebuilt_on_clean_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (s, log) = open(dir.path(), fs::real());
        fill(&log, 40);
        s.close().unwrap();
    }
    let indexes = segment_files(dir.path(), ".index");
    let victim = &indexes[1];
    let len_before = std::fs::metadata(victim).unwrap().len();
    assert!(len_before > 0, "the index had entries");
    std::fs::remove_file(victim).unwrap();
    std::fs::remove_file(victim.with_extension("timeindex")).unwrap();
    let (s, log) = open(dir.path(), fs::real());
    assert!(s.was_clean_shutdown());
    assert_eq!(offsets(&log), (0..120).collect::<Vec<_>>());
    // Reads from the middle of the rebuilt segment land on the right batch.
    let segs = log.segments();
    let target = segs[1].base_offset + 4;
    let r = log.read(target, 1, None).unwrap();
    let b = crate::BatchHeader::parse(&r.records).unwrap();
    assert!(b.base_offset() <= target && target <= b.last_offset());
    s.close().unwrap();
    assert_eq!(
        std::fs::metadata(victim).unwrap().len(),
        len_before,
        "rebuilt with the same entries"
    );
}

#[test]
fn damaged_index_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (s, log) = open(dir.path(), fs::real());
        fill(&log, 40);
        s.close().unwrap();
    }
    let idx = &segment_files(dir.path(), ".index")[0];
    let mut data = std::fs::read(idx).unwrap();
    assert!(data.len() >= 16);
    data[4..8].copy_from_slice(&u32::MAX.to_be_bytes()); // position past the log
    std::fs::write(idx, &data).unwrap();
    let (_s, log) = open(dir.path(), fs::real());
    assert_eq!(offsets(&log), (0..120).collect::<Vec<_>>());
}

#[test]
fn failed_fsync_is_reported_and_does_not_advance_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = Arc::new(FaultyFs::default());
    let (_s, log) = open(dir.path(), faulty.clone());
    fill(&log, 2);
    let before = log.recovery_point();
    faulty.faults.lock().fail_sync = true;
    assert!(matches!(log.flush(), Err(StorageError::Io { .. })));
    assert_eq!(log.recovery_point(), before);
    faulty.faults.lock().fail_sync = false;
    log.flush().unwrap();
    assert_eq!(log.recovery_point(), 6);
}

#[test]
fn log_start_offset_survives_a_crash_after_deleting_segments() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_s, log) = open(dir.path(), fs::real());
        fill(&log, 40);
        log.advance_log_start_offset(70).unwrap();
    }
    let (_s, log) = open(dir.path(), fs::real());
    assert_eq!(log.log_start_offset(), 70);
    assert_eq!(offsets(&log), (70..120).collect::<Vec<_>>());
}

#[test]
fn wrong_middle_index_entry_never_misaligns_a_read() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (s, log) = open(dir.path(), fs::real());
        fill(&log, 40);
        s.close().unwrap();
    }
    let idx = &segment_files(dir.path(), ".index")[0];
    let mut data = std::fs::read(idx).unwrap();
    let entries = data.len() / 8;
    assert!(entries >= 3, "{entries} entries");
    // Point the middle entry 5 bytes into a batch: the O(1) open check passes.
    let mid = entries / 2 * 8;
    let pos = u32::from_be_bytes(data[mid + 4..mid + 8].try_into().unwrap());
    data[mid + 4..mid + 8].copy_from_slice(&(pos + 5).to_be_bytes());
    std::fs::write(idx, &data).unwrap();
    let (_s, log) = open(dir.path(), fs::real());
    for o in 0..120 {
        let r = log.read(o, 1, None).unwrap();
        let b = crate::BatchHeader::parse(&r.records).unwrap();
        b.validate_crc().unwrap();
        assert!(b.base_offset() <= o && o <= b.last_offset() || b.base_offset() > o);
    }
    assert_eq!(offsets(&log), (0..120).collect::<Vec<_>>());
}

#[test]
fn overlapping_segment_ends_the_log_and_its_files_go() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_s, log) = open(dir.path(), fs::real());
        fill(&log, 40);
    }
    let segs = segment_files(dir.path(), ".log");
    assert!(segs.len() >= 3);
    let second: i64 = segs[1]
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .parse()
        .unwrap();
    // A stray copy of the second segment named one offset lower overlaps the first.
    let stray = log_dir(dir.path()).join(crate::segment::file_name(second - 1, ".log"));
    std::fs::copy(&segs[1], &stray).unwrap();
    let (_s, log) = open(dir.path(), fs::real());
    assert_eq!(offsets(&log), (0..second).collect::<Vec<_>>());
    assert_eq!(
        segment_files(dir.path(), ".log").len(),
        1,
        "the overlap and all after it are removed"
    );
    assert_eq!(
        log.append(&batch(1, "n"), AppendOptions::default())
            .unwrap()
            .base_offset,
        second
    );
}

fn eio_then_offline(suffix: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ffs = Arc::new(FaultyFs::default());
    let (store, log) = open(dir.path(), ffs.clone());
    let events = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let seen = events.clone();
    store
        .health()
        .set_listener(move |e| seen.lock().push(format!("{e:?}")));
    fill(&log, 3);
    log.flush().unwrap();
    let before = offsets(&log);
    ffs.faults.lock().os_error = Some((suffix.to_string(), libc::EIO));
    let failed = log
        .append(&batch(1, "eio"), AppendOptions::default())
        .and_then(|_| log.flush());
    assert!(failed.is_err(), "the EIO is reported");
    // the disk "recovers", the dir stays offline: nothing is read or written
    ffs.faults.lock().os_error = None;
    assert!(matches!(
        log.append(&batch(1, "after"), AppendOptions::default()),
        Err(StorageError::LogDirOffline(_))
    ));
    assert!(matches!(
        log.read(0, 1 << 20, None),
        Err(StorageError::LogDirOffline(_))
    ));
    assert!(matches!(log.flush(), Err(StorageError::LogDirOffline(_))));
    assert!(store.health().offline_reason().is_some());
    assert!(store.write_checkpoint("x.checkpoint", b"x").is_err());
    let events = events.lock().clone();
    assert_eq!(events.len(), 1, "reported once: {events:?}");
    assert!(events[0].starts_with("Offline"), "{events:?}");
    drop(log);
    drop(store);
    // after a restart (the operator replaced the disk) what was acknowledged is there
    let (_store, log) = open(dir.path(), fs::real());
    let after = offsets(&log);
    assert_eq!(&after[..before.len()], &before[..]);
}

#[test]
fn eio_on_a_segment_write_takes_the_log_dir_offline() {
    eio_then_offline(".log");
}

#[test]
fn eio_on_fsync_takes_the_log_dir_offline() {
    // an fsync of the segment: the append itself lands in the page cache
    let dir = tempfile::tempdir().unwrap();
    let ffs = Arc::new(FaultyFs::default());
    let (store, log) = open(dir.path(), ffs.clone());
    fill(&log, 2);
    log.append(&batch(1, "x"), AppendOptions::default())
        .unwrap();
    ffs.faults.lock().os_error = Some((".log".to_string(), libc::EIO));
    assert!(log.flush().is_err());
    ffs.faults.lock().os_error = None;
    assert!(matches!(log.flush(), Err(StorageError::LogDirOffline(_))));
    assert!(store.health().offline_reason().unwrap().contains("c-0"));
}

#[test]
fn a_full_disk_fails_the_write_and_keeps_the_log_usable() {
    let dir = tempfile::tempdir().unwrap();
    let ffs = Arc::new(FaultyFs::default());
    let (store, log) = open(dir.path(), ffs.clone());
    let events = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let seen = events.clone();
    store
        .health()
        .set_listener(move |e| seen.lock().push(format!("{e:?}")));
    fill(&log, 2);
    let before = offsets(&log);
    ffs.faults.lock().os_error = Some((".log".to_string(), libc::ENOSPC));
    for _ in 0..3 {
        assert!(log
            .append(&batch(1, "full"), AppendOptions::default())
            .is_err());
    }
    assert_eq!(offsets(&log), before, "nothing half-written is served");
    ffs.faults.lock().os_error = None;
    log.append(&batch(1, "room"), AppendOptions::default())
        .unwrap();
    log.flush().unwrap();
    assert_eq!(offsets(&log).len(), before.len() + 1);
    assert!(store.health().offline_reason().is_none());
    let events = events.lock().clone();
    assert_eq!(events.len(), 1, "one report per full spell: {events:?}");
    assert!(events[0].starts_with("DiskFull"), "{events:?}");
}
