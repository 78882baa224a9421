//! Where the coordinator's records live: the [`GroupLog`] seam, an in-memory
//! implementation for tests, and the real one over a storage partition log
//! (`__consumer_offsets-0` in the data directory).

use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::Arc;
use weir_storage::clock::now_ms;
use weir_storage::{
    AppendOptions, BatchBuilder, LogConfig, PartitionLog, Record, StorageError, Store,
    TopicPartition,
};

/// The name of the internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Why the internal log failed.
#[derive(Debug, thiserror::Error)]
pub enum GroupLogError {
    #[error("group log storage error: {0}")]
    Storage(#[from] StorageError),
    #[error("the internal topic {OFFSETS_TOPIC} is not open yet")]
    NotReady,
    #[error("group log record batch error: {0}")]
    Batch(#[from] weir_storage::BatchError),
}

/// One key/value record; `value == None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub key: Bytes,
    pub value: Option<Bytes>,
}

/// An append-only, replayable record log.
pub trait GroupLog: Send + Sync {
    /// Append records in order; returns the offset of the last one.
    fn append(&self, records: &[LogRecord]) -> Result<i64, GroupLogError>;
    /// Block until everything up to `offset` is durable.
    fn sync_to(&self, offset: i64) -> Result<(), GroupLogError>;
    /// Every record from the start, in order.
    fn replay(&self, f: &mut dyn FnMut(LogRecord)) -> Result<(), GroupLogError>;
}

/// A log in memory (tests; a broker without a data directory).
#[derive(Default)]
pub struct MemoryGroupLog {
    records: Mutex<Vec<LogRecord>>,
}

impl MemoryGroupLog {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn len(&self) -> usize {
        self.records.lock().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl GroupLog for MemoryGroupLog {
    fn append(&self, records: &[LogRecord]) -> Result<i64, GroupLogError> {
        let mut all = self.records.lock();
        all.extend_from_slice(records);
        Ok(all.len() as i64 - 1)
    }
    fn sync_to(&self, _offset: i64) -> Result<(), GroupLogError> {
        Ok(())
    }
    fn replay(&self, f: &mut dyn FnMut(LogRecord)) -> Result<(), GroupLogError> {
        for r in self.records.lock().iter() {
            f(r.clone());
        }
        Ok(())
    }
}

/// The internal log kept in a storage partition log.
pub struct PartitionGroupLog {
    log: Arc<PartitionLog>,
}

impl PartitionGroupLog {
    pub fn new(log: Arc<PartitionLog>) -> Self {
        PartitionGroupLog { log }
    }

    /// Open (creating) `__consumer_offsets-0` in the store, with Kafka's
    /// `offsets.topic.segment.bytes` (100 MiB).
    pub fn open(store: &Store) -> Result<PartitionGroupLog, GroupLogError> {
        let config = LogConfig {
            segment_bytes: 100 << 20,
            ..LogConfig::default()
        };
        let log = store.open_log(&TopicPartition::new(OFFSETS_TOPIC, 0), config)?;
        Ok(PartitionGroupLog { log })
    }
}

impl GroupLog for PartitionGroupLog {
    fn append(&self, records: &[LogRecord]) -> Result<i64, GroupLogError> {
        let mut builder = BatchBuilder::new();
        let ts = now_ms();
        for (i, r) in records.iter().enumerate() {
            builder.push(Record {
                offset: i as i64,
                timestamp: ts,
                key: Some(r.key.clone()),
                value: r.value.clone(),
                headers: Vec::new(),
            });
        }
        let batch = builder.build()?;
        let info = self.log.append(&batch, AppendOptions::default())?;
        Ok(info.last_offset)
    }

    fn sync_to(&self, offset: i64) -> Result<(), GroupLogError> {
        Ok(self.log.sync_to(offset)?)
    }

    fn replay(&self, f: &mut dyn FnMut(LogRecord)) -> Result<(), GroupLogError> {
        let mut offset = self.log.log_start_offset();
        loop {
            let end = self.log.log_end_offset();
            if offset >= end {
                return Ok(());
            }
            let read = self.log.read(offset, 1 << 20, None)?;
            if read.records.is_empty() {
                return Ok(());
            }
            let mut progressed = false;
            for batch in weir_storage::batch::iter_batches_lenient(&read.records) {
                if batch.last_offset() < offset {
                    continue;
                }
                if !batch.is_control() {
                    for rec in batch.records()? {
                        if rec.offset < offset {
                            continue;
                        }
                        if let Some(key) = rec.key {
                            f(LogRecord {
                                key,
                                value: rec.value,
                            });
                        }
                    }
                }
                offset = batch.last_offset() + 1;
                progressed = true;
            }
            if !progressed {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(k: &str, v: Option<&str>) -> LogRecord {
        LogRecord {
            key: Bytes::copy_from_slice(k.as_bytes()),
            value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        }
    }

    #[test]
    fn partition_log_replays_records_and_tombstones_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let log = PartitionGroupLog::open(&store).unwrap();
            let last = log
                .append(&[rec("a", Some("1")), rec("b", Some("2"))])
                .unwrap();
            assert_eq!(last, 1);
            let last = log.append(&[rec("a", None)]).unwrap();
            log.sync_to(last).unwrap();
            store.close().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let log = PartitionGroupLog::open(&store).unwrap();
        let mut got = Vec::new();
        log.replay(&mut |r| got.push(r)).unwrap();
        assert_eq!(
            got,
            vec![rec("a", Some("1")), rec("b", Some("2")), rec("a", None)]
        );
        store.close().unwrap();
    }
}
