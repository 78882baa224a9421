//! One partition's log: a list of segments, the active one last.
//!
//! Concurrency: `PartitionLog` is `Send + Sync` and shared as `Arc<PartitionLog>`.
//! Appends are serialised inside; reads never wait for an append (they see a
//! consistent snapshot of the segment list and the committed end of the tail).
//!
//! STUB: signatures agreed with the broker; bodies to be written (issue 2).

use crate::config::LogConfig;
use crate::error::Result;
use bytes::Bytes;

/// How to append.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppendOptions {
    /// `Some(now_ms)` for LogAppendTime topics: stamp every batch's max timestamp
    /// with it (and set the timestamp-type bit, recompute the CRC).
    pub log_append_time: Option<i64>,
    /// Partition leader epoch to write into each batch (`None` keeps the client's).
    pub leader_epoch: Option<i32>,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset given to the first record appended.
    pub base_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// The LogAppendTime stamped, or -1 for CreateTime.
    pub log_append_time: i64,
    /// Largest record timestamp in the appended batches.
    pub max_timestamp: i64,
    /// Log start offset after the append.
    pub log_start_offset: i64,
    pub record_count: i64,
    pub bytes: usize,
}

/// What a read returned.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Whole batches, borrowed from the mmap'd segment (no copy); empty at the end of log.
    pub records: Bytes,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

/// Facts about one segment, for retention and admin tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub base_offset: i64,
    /// Offset after the last batch in this segment.
    pub next_offset: i64,
    pub size_bytes: u64,
    /// Largest batch max timestamp in this segment (-1 if empty).
    pub max_timestamp: i64,
    /// File modification time in ms, for segments with no timestamps.
    pub last_modified_ms: i64,
    pub is_active: bool,
}

/// One partition's log.
pub struct PartitionLog {
    _private: (),
}

impl PartitionLog {
    /// Append one or more whole v2 batches as a produce request carries them.
    /// Validates them (structure, CRC, record counts) and assigns offsets from the
    /// log end offset, rewriting each batch's base offset in place. Rolls segments
    /// as the config says. Returns once the data is in the page cache; call
    /// [`PartitionLog::sync_to`] (group commit) when durability is wanted.
    pub fn append(&self, batches: &[u8], opts: AppendOptions) -> Result<AppendInfo> {
        let _ = (batches, opts);
        todo!()
    }

    /// Read whole batches starting with the one containing `offset`, up to
    /// `max_bytes`, but always at least one whole batch if there is one at or after
    /// `offset` (Kafka's rule). Batches whose base offset is at or past
    /// `upper_bound` (exclusive; e.g. the last stable offset) are not returned.
    /// `offset == log_end_offset` gives empty records; outside
    /// `[log_start_offset, log_end_offset]` gives `OffsetOutOfRange`.
    pub fn read(&self, offset: i64, max_bytes: usize, upper_bound: Option<i64>) -> Result<ReadResult> {
        let _ = (offset, max_bytes, upper_bound);
        todo!()
    }

    /// Block until everything appended up to and including `offset` is fsynced.
    /// Many callers share one fsync (group commit). Blocking: call it off the
    /// async workers.
    pub fn sync_to(&self, offset: i64) -> Result<()> {
        let _ = offset;
        todo!()
    }

    /// fsync everything appended so far.
    pub fn flush(&self) -> Result<()> {
        todo!()
    }

    /// Whether the flush policy (`flush.messages` / `flush.ms`) asks for an fsync now.
    /// The broker calls `sync_to` when this is true after an append.
    pub fn flush_due(&self) -> bool {
        todo!()
    }

    pub fn log_start_offset(&self) -> i64 {
        todo!()
    }

    /// Offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        todo!()
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        todo!()
    }

    /// First offset whose record timestamp is >= `timestamp`, with that record's
    /// timestamp (ListOffsets by time). `None` if there is none.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        let _ = timestamp;
        todo!()
    }

    /// The largest timestamp in the log and the offset of the record carrying it
    /// (ListOffsets MAX_TIMESTAMP). `None` for an empty log.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>> {
        todo!()
    }

    /// Remove everything at and after `offset` (log end becomes `offset`).
    pub fn truncate_to(&self, offset: i64) -> Result<()> {
        let _ = offset;
        todo!()
    }

    /// Advance the log start offset (DeleteRecords, retention); deletes whole
    /// segments that end at or below it. Never moves backwards; at most the log end offset.
    pub fn advance_log_start_offset(&self, offset: i64) -> Result<i64> {
        let _ = offset;
        todo!()
    }

    /// The segments, oldest first (for retention and admin tools).
    pub fn segments(&self) -> Vec<SegmentInfo> {
        todo!()
    }

    /// Replace the settings (AlterConfigs); takes effect from the next append.
    pub fn set_config(&self, config: LogConfig) {
        let _ = config;
        todo!()
    }

    pub fn config(&self) -> LogConfig {
        todo!()
    }
}
