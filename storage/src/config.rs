//! Per-log settings. The broker fills these from Kafka's topic configs
//! (`segment.bytes`, `segment.ms`, `flush.messages`, `flush.ms`,
//! `message.timestamp.type`, `index.interval.bytes`, `segment.index.bytes`).

/// When appended data is forced to disk (fsync).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushPolicy {
    /// fsync once this many messages are unflushed (`flush.messages`); `None` = never by count.
    pub messages: Option<u64>,
    /// fsync once the oldest unflushed data is this old in ms (`flush.ms`); `None` = never by time.
    pub interval_ms: Option<u64>,
}

impl FlushPolicy {
    /// Kafka's default: leave flushing to the OS.
    pub const NEVER: FlushPolicy = FlushPolicy {
        messages: None,
        interval_ms: None,
    };
}

/// Which timestamp a topic stores (`message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    #[default]
    CreateTime,
    LogAppendTime,
}

/// Settings of one partition log; may be changed at run time with
/// [`crate::PartitionLog::set_config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the active segment would exceed this (default 1 GiB).
    pub segment_bytes: u64,
    /// `segment.ms`: roll when the active segment's first batch is older (default 7 days).
    pub segment_ms: u64,
    /// `index.interval.bytes`: bytes between sparse index entries (default 4096).
    pub index_interval_bytes: u32,
    /// `segment.index.bytes`: max size of an index file; roll when full (default 10 MiB).
    pub max_index_bytes: u32,
    pub flush: FlushPolicy,
    pub timestamp_type: TimestampType,
    /// `file.delete.delay.ms`: how long the files of a segment dropped by
    /// retention or DeleteRecords stay (renamed `.deleted`) before removal
    /// (default 60 s; 0 removes them at once).
    pub file_delete_delay_ms: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            index_interval_bytes: 4096,
            max_index_bytes: 10 << 20,
            flush: FlushPolicy::NEVER,
            timestamp_type: TimestampType::CreateTime,
            file_delete_delay_ms: 60_000,
        }
    }
}
