//! The data directory: lock file, clean-shutdown marker, log registry,
//! checkpoints.

use weir_storage::{
    AppendOptions, BatchBuilder, LogConfig, Record, RetentionStamp, StorageError, Store,
    TopicPartition,
};

fn one_batch() -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.push(Record {
        offset: 0,
        timestamp: 1,
        key: None,
        value: Some("v".into()),
        headers: vec![],
    });
    b.build().unwrap()
}

#[test]
fn second_opener_is_refused_until_close() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(StorageError::Locked(_))
    ));
    s.close().unwrap();
    let s2 = Store::open(dir.path()).unwrap();
    assert!(s2.was_clean_shutdown());
}

#[test]
fn clean_marker_is_written_by_close_and_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join(".clean_shutdown");
    {
        let s = Store::open(dir.path()).unwrap();
        assert!(!s.was_clean_shutdown(), "a fresh dir had no clean stop");
        s.close().unwrap();
        assert!(marker.exists());
    }
    {
        let s = Store::open(dir.path()).unwrap();
        assert!(s.was_clean_shutdown());
        assert!(
            !marker.exists(),
            "removed on open so a crash counts as unclean"
        );
        // dropped without close
    }
    let s = Store::open(dir.path()).unwrap();
    assert!(!s.was_clean_shutdown());
}

#[test]
fn open_log_returns_the_same_log_and_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let a = TopicPartition::new("orders.v1-x", 3);
    let l1 = s.open_log(&a, LogConfig::default()).unwrap();
    let l2 = s.open_log(&a, LogConfig::default()).unwrap();
    assert!(std::sync::Arc::ptr_eq(&l1, &l2));
    assert!(s.get_log(&a).is_some());
    assert!(s.get_log(&TopicPartition::new("nope", 0)).is_none());
    s.open_log(&TopicPartition::new("b", 0), LogConfig::default())
        .unwrap();
    s.write_checkpoint("meta/topics", b"x").unwrap();
    assert_eq!(
        s.list_logs().unwrap(),
        vec![TopicPartition::new("b", 0), a.clone()]
    );
    assert!(dir.path().join("orders.v1-x-3").is_dir());
    assert_eq!(TopicPartition::parse_dir_name("orders.v1-x-3"), Some(a));
}

#[test]
fn delete_log_removes_directory_and_closes_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let tp = TopicPartition::new("gone", 0);
    let log = s.open_log(&tp, LogConfig::default()).unwrap();
    log.append(&one_batch(), AppendOptions::default()).unwrap();
    s.delete_log(&tp).unwrap();
    assert!(!dir.path().join("gone-0").exists());
    assert!(s.get_log(&tp).is_none());
    assert!(matches!(
        log.append(&one_batch(), AppendOptions::default()),
        Err(StorageError::Closed)
    ));
    assert!(matches!(s.delete_log(&tp), Err(StorageError::NoSuchLog(_))));
    // Re-creating starts empty.
    let log = s.open_log(&tp, LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 0);
}

#[test]
fn checkpoints_are_replaced_atomically_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.read_checkpoint("topics").unwrap(), None);
    s.write_checkpoint("topics", b"one").unwrap();
    s.write_checkpoint("topics", b"two").unwrap();
    assert_eq!(
        s.read_checkpoint("topics").unwrap().as_deref(),
        Some(&b"two"[..])
    );
    s.write_checkpoint("producers/t-0", b"snap").unwrap();
    assert_eq!(
        s.read_checkpoint("producers/t-0").unwrap().as_deref(),
        Some(&b"snap"[..])
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
        "{names:?}"
    );
    assert!(s.write_checkpoint("../escape", b"x").is_err());
    assert!(s.write_checkpoint("/abs", b"x").is_err());
    assert!(s.write_checkpoint("a/b/c", b"x").is_err());
}

#[test]
fn logs_open_in_parallel_and_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(Store::open(dir.path()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            std::thread::spawn(move || {
                let tp = TopicPartition::new("par", i % 4);
                let log = s.open_log(&tp, LogConfig::default()).unwrap();
                log.append(&one_batch(), AppendOptions::default()).unwrap();
                log
            })
        })
        .collect();
    let logs: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for i in 0..4 {
        assert!(
            std::sync::Arc::ptr_eq(&logs[i], &logs[i + 4]),
            "one log per partition"
        );
        assert_eq!(logs[i].log_end_offset(), 2);
    }
    s.close().unwrap();
}

fn batch_of(value: &str) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.push(Record {
        offset: 0,
        timestamp: 1,
        key: None,
        value: Some(value.to_string().into()),
        headers: vec![],
    });
    b.build().unwrap()
}

fn value_at(log: &weir_storage::PartitionLog, offset: i64) -> String {
    let r = log.read(offset, 1 << 20, None).unwrap();
    let h = weir_storage::BatchHeader::parse(&r.records).unwrap();
    let rec = h.records().unwrap().into_iter().next().unwrap();
    String::from_utf8(rec.value.unwrap().to_vec()).unwrap()
}

#[test]
fn logs_over_the_open_segment_cap_close_and_reopen_with_their_data() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    s.set_max_open_segments(1);
    let tps: Vec<_> = (0..40).map(|i| TopicPartition::new("many", i)).collect();
    s.create_log_dirs(&tps).unwrap();
    let logs: Vec<_> = tps
        .iter()
        .map(|tp| s.log(tp, LogConfig::default()).unwrap())
        .collect();
    assert!(
        logs.iter().all(|l| !l.is_open()),
        "nothing opens before use"
    );
    for (i, log) in logs.iter().enumerate() {
        log.append(&batch_of(&format!("first-{i}")), AppendOptions::default())
            .unwrap();
    }
    let open = logs.iter().filter(|l| l.is_open()).count();
    assert!(
        open <= 2,
        "{open} logs still open under a cap of one segment"
    );
    // Closed logs answer offsets without reopening.
    let closed = logs.iter().find(|l| !l.is_open()).unwrap();
    assert_eq!(closed.log_end_offset(), 1);
    assert!(!closed.is_open());
    for (i, log) in logs.iter().enumerate() {
        log.append(&batch_of(&format!("second-{i}")), AppendOptions::default())
            .unwrap();
        assert_eq!(value_at(log, 0), format!("first-{i}"));
        assert_eq!(value_at(log, 1), format!("second-{i}"));
    }
    s.close().unwrap();
    drop(logs);
    let s = Store::open(dir.path()).unwrap();
    assert!(s.was_clean_shutdown());
    for (i, tp) in tps.iter().enumerate() {
        let log = s.log(tp, LogConfig::default()).unwrap();
        assert_eq!(log.log_end_offset(), 2);
        assert_eq!(value_at(&log, 1), format!("second-{i}"));
    }
    s.close().unwrap();
}

#[test]
fn after_an_unclean_stop_logs_recover_on_first_use_and_the_marker_waits_for_all() {
    let dir = tempfile::tempdir().unwrap();
    let tps: Vec<_> = (0..6).map(|i| TopicPartition::new("rec", i)).collect();
    {
        let s = Store::open(dir.path()).unwrap();
        for tp in &tps {
            let log = s.open_log(tp, LogConfig::default()).unwrap();
            log.append(&batch_of("kept"), AppendOptions::default())
                .unwrap();
        }
        // Dropped without close: an unclean stop (no marker).
    }
    // A torn batch at the end of one log.
    let seg = dir.path().join("rec-3").join("00000000000000000000.log");
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    std::io::Write::write_all(&mut f, &batch_of("torn")[..30]).unwrap();
    drop(f);
    {
        let s = Store::open(dir.path()).unwrap();
        assert!(!s.was_clean_shutdown());
        let logs: Vec<_> = tps
            .iter()
            .map(|tp| s.log(tp, LogConfig::default()).unwrap())
            .collect();
        assert_eq!(s.logs_to_recover().len(), 6);
        assert_eq!(logs[3].log_end_offset(), 1, "the torn tail is cut on open");
        assert_eq!(value_at(&logs[3], 0), "kept");
        assert!(!logs[3].needs_recovery());
        assert_eq!(s.logs_to_recover().len(), 5);
        s.close().unwrap();
    }
    let s = Store::open(dir.path()).unwrap();
    assert!(
        !s.was_clean_shutdown(),
        "logs never recovered keep the next start unclean"
    );
    for tp in &tps {
        let log = s.open_log(tp, LogConfig::default()).unwrap();
        assert_eq!(log.log_end_offset(), 1);
    }
    s.close().unwrap();
    let s = Store::open(dir.path()).unwrap();
    assert!(s.was_clean_shutdown());
    s.close().unwrap();
}

/// The clean-shutdown marker lists the logs that may hold more than one
/// segment: after a clean restart the others are known to hold one without
/// listing their directories (the first retention pass over 100,000 never
/// opened logs lists none of them), logs nobody used in a run keep what the
/// last marker said, and after a crash nothing is believed.
#[test]
fn clean_marker_lists_the_logs_of_several_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (many, one, idle) = (
        TopicPartition::new("many", 0),
        TopicPartition::new("one", 0),
        TopicPartition::new("idle", 0),
    );
    let small = LogConfig {
        segment_bytes: 200,
        ..LogConfig::default()
    };
    {
        let s = Store::open(dir.path()).unwrap();
        let log = s.open_log(&many, small.clone()).unwrap();
        for _ in 0..5 {
            log.append(&one_batch(), AppendOptions::default()).unwrap();
        }
        assert!(log.segment_count() > 1);
        let log = s.open_log(&one, LogConfig::default()).unwrap();
        log.append(&one_batch(), AppendOptions::default()).unwrap();
        s.open_log(&idle, LogConfig::default()).unwrap();
        s.close().unwrap();
    }
    // A file that would make a listing say "two segments": a log the marker
    // names as single is not listed, so it is not seen.
    let fake = dir.path().join("one-0").join("00000000000000000100.log");
    std::fs::write(&fake, b"").unwrap();
    for round in 0..2 {
        let s = Store::open(dir.path()).unwrap();
        assert!(s.was_clean_shutdown());
        if round == 0 {
            assert!(!s.log(&many, small.clone()).unwrap().only_active_segment());
            assert!(s
                .log(&one, LogConfig::default())
                .unwrap()
                .only_active_segment());
        }
        // Round 1: nothing asked for; the marker carries the last one's answers.
        s.close().unwrap();
    }
    let s = Store::open(dir.path()).unwrap();
    assert!(!s.log(&many, small.clone()).unwrap().only_active_segment());
    assert!(s
        .log(&one, LogConfig::default())
        .unwrap()
        .only_active_segment());
    assert!(s
        .log(&idle, LogConfig::default())
        .unwrap()
        .only_active_segment());
    drop(s); // a crash: no marker, nothing believed
    let s = Store::open(dir.path()).unwrap();
    assert!(!s.was_clean_shutdown());
    assert!(!s
        .log(&one, LogConfig::default())
        .unwrap()
        .only_active_segment());
}

/// A marker torn by a crash during the shutdown (or written by an older
/// version: empty) lists nothing, and then every log is listed as before.
#[test]
fn a_torn_or_empty_marker_is_not_believed() {
    let dir = tempfile::tempdir().unwrap();
    let one = TopicPartition::new("one", 0);
    {
        let s = Store::open(dir.path()).unwrap();
        s.open_log(&one, LogConfig::default()).unwrap();
        s.close().unwrap();
    }
    let marker = dir.path().join(".clean_shutdown");
    let text = std::fs::read(&marker).unwrap();
    assert!(text.starts_with(b"weir-retention-logs v2\n"));
    // The one-segment log, empty: nothing for retention, not opened.
    {
        let s = Store::open(dir.path()).unwrap();
        let log = s.log(&one, LogConfig::default()).unwrap();
        assert_eq!(log.retention_stamp(), RetentionStamp::Empty);
        log.append(&one_batch(), AppendOptions::default()).unwrap();
        s.close().unwrap();
    }
    // Stamped with its largest timestamp after an append.
    {
        let s = Store::open(dir.path()).unwrap();
        let log = s.log(&one, LogConfig::default()).unwrap();
        assert!(!log.is_open());
        assert!(matches!(
            log.retention_stamp(),
            RetentionStamp::OneSegment(_)
        ));
        s.close().unwrap();
    }
    let text = std::fs::read(&marker).unwrap();
    // An older (v1) marker is not believed either: every log is looked at.
    let mut v1 = b"weir-multi-segment-logs v1\n".to_vec();
    let crc = format!("crc {:08x}\n", crc32fast::hash(&v1));
    v1.extend_from_slice(crc.as_bytes());
    std::fs::write(&marker, &v1).unwrap();
    {
        let s = Store::open(dir.path()).unwrap();
        let log = s.log(&one, LogConfig::default()).unwrap();
        assert_eq!(log.retention_stamp(), RetentionStamp::Unknown);
        s.close().unwrap();
    }
    std::fs::write(&marker, &text).unwrap();
    std::fs::write(
        dir.path().join("one-0").join("00000000000000000100.log"),
        b"",
    )
    .unwrap();
    for damaged in [&text[..text.len() - 3], &b""[..]] {
        std::fs::write(&marker, damaged).unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert!(s.was_clean_shutdown());
        let log = s.log(&one, LogConfig::default()).unwrap();
        assert!(!log.only_active_segment(), "listed: two segment files");
        drop(log);
        s.close().unwrap();
    }
}
