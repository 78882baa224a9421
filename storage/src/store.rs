//! The data directory: a lock file against a second broker, the clean-shutdown
//! marker, the partition logs in it, and atomic checkpoint files for the broker's
//! own metadata (topic registry, producer state snapshots, ...).
//!
//! STUB: signatures agreed with the broker; bodies to be written (issue 2).

use crate::config::LogConfig;
use crate::error::Result;
use crate::log::PartitionLog;
use std::path::Path;
use std::sync::Arc;

/// A topic name and partition index; the directory is `<topic>-<partition>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition { topic: topic.into(), partition }
    }
    /// Directory name, `<topic>-<partition>`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }
    /// Parse a directory name (splits at the last '-').
    pub fn parse_dir_name(name: &str) -> Option<TopicPartition> {
        let (topic, partition) = name.rsplit_once('-')?;
        let partition = partition.parse().ok()?;
        (!topic.is_empty()).then(|| TopicPartition::new(topic, partition))
    }
}

/// An open data directory.
pub struct Store {
    _private: (),
}

impl Store {
    /// Open (creating if needed) a data directory; takes the lock file
    /// (`StorageError::Locked` if another process holds it) and notes whether the
    /// last stop was clean (then logs open lazily without scanning data; after an
    /// unclean stop each log is recovered when opened).
    pub fn open(dir: &Path) -> Result<Store> {
        let _ = dir;
        todo!()
    }

    pub fn dir(&self) -> &Path {
        todo!()
    }

    /// Whether the previous run ended with a clean shutdown.
    pub fn was_clean_shutdown(&self) -> bool {
        todo!()
    }

    /// The partition logs present on disk (from directory names).
    pub fn list_logs(&self) -> Result<Vec<TopicPartition>> {
        todo!()
    }

    /// Open the log of `tp`, creating it if absent. Returns the same `Arc` for
    /// repeated calls.
    pub fn open_log(&self, tp: &TopicPartition, config: LogConfig) -> Result<Arc<PartitionLog>> {
        let _ = (tp, config);
        todo!()
    }

    /// The already-open log of `tp`, if any.
    pub fn get_log(&self, tp: &TopicPartition) -> Option<Arc<PartitionLog>> {
        let _ = tp;
        todo!()
    }

    /// Close and delete the log of `tp` and its directory.
    pub fn delete_log(&self, tp: &TopicPartition) -> Result<()> {
        let _ = tp;
        todo!()
    }

    /// Atomically replace the file `name` (relative to the data dir; may contain
    /// one level of subdirectory) with `data`: temp file, fsync, rename, fsync dir.
    pub fn write_checkpoint(&self, name: &str, data: &[u8]) -> Result<()> {
        let _ = (name, data);
        todo!()
    }

    /// Read a checkpoint file written by [`Store::write_checkpoint`]; `None` if absent.
    pub fn read_checkpoint(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let _ = name;
        todo!()
    }

    /// Flush every open log, write the clean-shutdown marker, release the lock.
    pub fn close(&self) -> Result<()> {
        todo!()
    }
}
