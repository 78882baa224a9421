//! Timestamps: LogAppendTime stamping, ListOffsets by time and max timestamp,
//! and rolling by segment age and by a full index.

mod common;

use bytes::Bytes;
use common::batch_with;
use weir_storage::batch::BatchHeader;
use weir_storage::{
    AppendOptions, BatchBuilder, Compression, LogConfig, Record, Store, TimestampType,
    TopicPartition,
};

fn open(
    dir: &std::path::Path,
    cfg: LogConfig,
) -> (Store, std::sync::Arc<weir_storage::PartitionLog>) {
    let s = Store::open(dir).unwrap();
    let l = s.open_log(&TopicPartition::new("ts", 0), cfg).unwrap();
    (s, l)
}

/// A batch whose records carry exactly these timestamps.
fn with_timestamps(ts: &[i64], codec: Compression) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.compression = codec;
    for (i, t) in ts.iter().enumerate() {
        b.push(Record {
            offset: i as i64,
            timestamp: *t,
            key: None,
            value: Some(Bytes::from("v")),
            headers: vec![],
        });
    }
    b.build().unwrap()
}

#[test]
fn log_append_time_is_stamped_with_a_valid_crc() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), LogConfig::default());
    let opts = AppendOptions {
        log_append_time: Some(1_700_000_000_123),
        leader_epoch: Some(7),
    };
    let info = log
        .append(&batch_with(3, 5, "lat", Compression::Lz4), opts)
        .unwrap();
    assert_eq!(info.log_append_time, 1_700_000_000_123);
    assert_eq!(info.max_timestamp, 1_700_000_000_123);
    let r = log.read(0, 1 << 20, None).unwrap();
    let b = BatchHeader::parse(&r.records).unwrap();
    b.validate_crc().unwrap();
    assert!(b.is_log_append_time());
    assert_eq!(b.max_timestamp(), 1_700_000_000_123);
    assert_eq!(b.partition_leader_epoch(), 7);
    assert!(b
        .records()
        .unwrap()
        .iter()
        .all(|r| r.timestamp == 1_700_000_000_123));
}

#[test]
fn topic_config_log_append_time_stamps_without_an_explicit_time() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let (_s, log) = open(dir.path(), cfg);
    let info = log
        .append(
            &batch_with(1, 5, "x", Compression::None),
            AppendOptions::default(),
        )
        .unwrap();
    assert!(info.log_append_time > 1_600_000_000_000);
    let r = log.read(0, 1 << 20, None).unwrap();
    assert!(BatchHeader::parse(&r.records).unwrap().is_log_append_time());
}

#[test]
fn offset_for_timestamp_finds_the_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 400,
        index_interval_bytes: 64,
        ..LogConfig::default()
    };
    let (_s, log) = open(dir.path(), cfg);
    // Timestamps grow by 10 per record, but one batch is out of order.
    let mut t = 1000;
    for i in 0..30 {
        let codec = if i % 2 == 0 {
            Compression::None
        } else {
            Compression::Gzip
        };
        let ts: Vec<i64> = (0..3).map(|k| t + 10 * k).collect();
        log.append(&with_timestamps(&ts, codec), AppendOptions::default())
            .unwrap();
        t += 30;
    }
    assert!(log.segments().len() > 3);
    // Offsets o have timestamp 1000 + 10*o.
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 1000)));
    assert_eq!(log.offset_for_timestamp(1000).unwrap(), Some((0, 1000)));
    assert_eq!(log.offset_for_timestamp(1001).unwrap(), Some((1, 1010)));
    assert_eq!(log.offset_for_timestamp(1455).unwrap(), Some((46, 1460)));
    assert_eq!(log.offset_for_timestamp(1890).unwrap(), Some((89, 1890)));
    assert_eq!(log.offset_for_timestamp(1891).unwrap(), None);
    assert_eq!(log.max_timestamp().unwrap(), Some((1890, 89)));
    // An old-timestamped batch does not change the answers for later times.
    log.append(
        &with_timestamps(&[5, 6], Compression::None),
        AppendOptions::default(),
    )
    .unwrap();
    assert_eq!(log.offset_for_timestamp(1455).unwrap(), Some((46, 1460)));
    assert_eq!(log.offset_for_timestamp(3).unwrap(), Some((0, 1000)));
    // After the log start moves, earlier offsets are not answers.
    log.advance_log_start_offset(50).unwrap();
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((50, 1500)));
}

#[test]
fn max_timestamp_points_at_the_record_inside_a_compressed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), LogConfig::default());
    assert_eq!(log.max_timestamp().unwrap(), None);
    log.append(
        &with_timestamps(&[10, 20], Compression::None),
        AppendOptions::default(),
    )
    .unwrap();
    log.append(
        &with_timestamps(&[30, 99, 40], Compression::Zstd),
        AppendOptions::default(),
    )
    .unwrap();
    log.append(
        &with_timestamps(&[50], Compression::None),
        AppendOptions::default(),
    )
    .unwrap();
    assert_eq!(log.max_timestamp().unwrap(), Some((99, 3)));
}

#[test]
fn timestamps_survive_clean_and_unclean_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 400,
        index_interval_bytes: 64,
        ..LogConfig::default()
    };
    {
        let (s, log) = open(dir.path(), cfg.clone());
        for i in 0..20 {
            log.append(
                &with_timestamps(&[100 * i, 100 * i + 50], Compression::None),
                AppendOptions::default(),
            )
            .unwrap();
        }
        s.close().unwrap();
    }
    {
        let (_s, log) = open(dir.path(), cfg.clone());
        assert_eq!(log.max_timestamp().unwrap(), Some((1950, 39)));
        assert_eq!(log.offset_for_timestamp(1020).unwrap(), Some((21, 1050)));
        log.append(
            &with_timestamps(&[5000], Compression::None),
            AppendOptions::default(),
        )
        .unwrap();
        // crash
    }
    let (_s, log) = open(dir.path(), cfg);
    assert_eq!(log.max_timestamp().unwrap(), Some((5000, 40)));
    assert_eq!(log.offset_for_timestamp(1020).unwrap(), Some((21, 1050)));
    let segs = log.segments();
    assert_eq!(segs.last().unwrap().max_timestamp, 5000);
}

/// As Kafka's `LogSegment.timeWaitedForRoll`: `segment.ms` goes by record time, an
/// appended batch's max timestamp against the segment's first batch's, and rolls
/// only strictly past it; whatever the wall clock says.
#[test]
fn rolls_when_the_segment_is_older_than_segment_ms() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_ms: 1_000,
        ..LogConfig::default()
    };
    let (_s, log) = open(dir.path(), cfg);
    let append = |ts: i64, tag: &str| {
        log.append(
            &batch_with(1, ts, tag, Compression::None),
            AppendOptions::default(),
        )
        .unwrap();
    };
    append(5, "a");
    append(1_005, "b");
    assert_eq!(log.segments().len(), 1, "exactly segment.ms is not past it");
    // The wall clock passing segment.ms changes nothing while records carry time.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    append(900, "c");
    assert_eq!(log.segments().len(), 1);
    append(1_006, "d");
    let segs = log.segments();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[1].base_offset, 3);
    // A batch stamped far back, then current ones: the new segment's first batch
    // is old, so the next one rolls at once (the log splits as Kafka's does).
    append(1_000_000, "e");
    assert_eq!(log.segments().len(), 3);
}

/// A segment whose first batch has no timestamp rolls by wall-clock age.
#[test]
fn rolls_by_wall_clock_age_without_record_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_ms: 1_000,
        ..LogConfig::default()
    };
    let (_s, log) = open(dir.path(), cfg);
    let untimed = || with_timestamps(&[-1], Compression::None);
    log.append(&untimed(), AppendOptions::default()).unwrap();
    log.append(&untimed(), AppendOptions::default()).unwrap();
    assert_eq!(log.segments().len(), 1);
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    log.append(&untimed(), AppendOptions::default()).unwrap();
    assert_eq!(log.segments().len(), 2);
}

#[test]
fn rolls_when_the_index_is_full() {
    let dir = tempfile::tempdir().unwrap();
    // Two offset-index entries fit; an entry is added every ~1 batch.
    let cfg = LogConfig {
        index_interval_bytes: 1,
        max_index_bytes: 24,
        ..LogConfig::default()
    };
    let (_s, log) = open(dir.path(), cfg);
    for _ in 0..12 {
        log.append(
            &batch_with(1, 5, "i", Compression::None),
            AppendOptions::default(),
        )
        .unwrap();
    }
    let segs = log.segments();
    assert!(segs.len() >= 3, "{} segments", segs.len());
    for s in &segs[..segs.len() - 1] {
        assert!(s.next_offset - s.base_offset <= 4, "{s:?}");
    }
}

#[test]
fn batches_without_timestamps_stay_out_of_the_time_index() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        index_interval_bytes: 1,
        ..LogConfig::default()
    };
    {
        let (s, log) = open(dir.path(), cfg.clone());
        for _ in 0..5 {
            log.append(
                &with_timestamps(&[-1, -1], Compression::None),
                AppendOptions::default(),
            )
            .unwrap();
        }
        assert_eq!(log.max_timestamp().unwrap(), None);
        assert_eq!(log.offset_for_timestamp(0).unwrap(), None);
        log.append(
            &with_timestamps(&[7], Compression::None),
            AppendOptions::default(),
        )
        .unwrap();
        s.close().unwrap();
    }
    let t = std::fs::read(dir.path().join("ts-0/00000000000000000000.timeindex")).unwrap();
    assert_eq!(t.len(), 12, "one entry: (7, offset 10)");
    assert_eq!(i64::from_be_bytes(t[..8].try_into().unwrap()), 7);
    let (_s, log) = open(dir.path(), cfg);
    assert_eq!(log.max_timestamp().unwrap(), Some((7, 10)));
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((10, 7)));
}

/// Regression: sarama 1.22 sends batches whose header max timestamp is -1; the
/// time lookup trusted the header and found nothing. Kafka stores the max the
/// records give; so must we.
#[test]
fn unset_header_max_timestamp_is_replaced_by_the_records_max() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, log) = open(dir.path(), LogConfig::default());
    for (base, codec) in [(1_000i64, Compression::None), (5_000, Compression::Gzip)] {
        let mut bytes = with_timestamps(&[base, base + 300, base + 200], codec);
        // Header max timestamp at byte 35 (after attributes, lastOffsetDelta, baseTimestamp).
        bytes[35..43].copy_from_slice(&(-1i64).to_be_bytes());
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let info = log.append(&bytes, AppendOptions::default()).unwrap();
        assert_eq!(info.max_timestamp, base + 300);
    }
    let r = log.read(0, 1 << 20, None).unwrap();
    let stored = BatchHeader::parse(&r.records).unwrap();
    stored.validate_crc().unwrap();
    assert_eq!(stored.max_timestamp(), 1_300);
    assert_eq!(log.offset_for_timestamp(1_250).unwrap(), Some((1, 1_300)));
    assert_eq!(log.offset_for_timestamp(5_100).unwrap(), Some((4, 5_300)));
    assert_eq!(log.max_timestamp().unwrap(), Some((5_300, 4)));
}
