//! weir-storage: the partition log engine of weir.
//!
//! A data directory holds many partition logs, laid out as Apache Kafka does:
//! `DIR/<topic>-<partition>/<base offset, 20 digits>.{log,index,timeindex}`.
//! Each log is a list of segments holding Kafka record batches (format v2,
//! magic 2) exactly as clients sent them, with only the base offset (and, for
//! LogAppendTime topics, the max timestamp + CRC) rewritten.
//!
//! This crate knows nothing of sockets or of the Kafka wire protocol crate; its
//! errors carry no Kafka error codes (the broker maps them).
//!
//! # Layout
//! - [`error`]: the typed errors of this crate.
//! - [`batch`]: record batch v2: zero-copy header view, CRC-32C validation,
//!   record iteration, a builder for new batches.
//! - [`compression`]: gzip, snappy (raw and xerial framing), lz4 (frame), zstd.
//! - [`control`]: control records: the key parser and the COMMIT / ABORT
//!   end-transaction markers (shared by the cleaner and the broker).
//! - [`config`]: per-log settings (segment size/age, flush policy, timestamps).
//! - [`store`]: the data directory: lock file, clean-shutdown marker, the set of
//!   partition logs, atomic checkpoint files.
//! - [`log`]: one partition's log: append, read, offset lookups, truncation,
//!   log start offset; opened on first use, closed again when idle.
//! - [`open_logs`]: the cap on open segment files (CLOCK over open logs) and
//!   the process limits it is sized from.
//! - [`region`]: a read as a region of a segment file (for `sendfile(2)`).
//! - [`retention`]: which old segments go by time, size and log start; deleting them.
//! - [`validate`]: one-pass validation of a produced record set (Kafka's
//!   `LogValidator`): what [`PartitionLog::append_validated`] appends.
//! - [`legacy`]: message formats v0/v1 (MessageSet): up-conversion of produced
//!   message sets to v2 batches, down-conversion for Fetch v0-3.
//! - [`cleaner`]: compaction (latest record per key) with a crash-safe segment swap.
//! - [`clock`]: wall-clock milliseconds, the one definition storage and broker share.
//! - [`stats`]: fsync timings (atomics) for the broker's metrics, and the
//!   slow-fsync warning.
//!
//! Private modules:
//! - `segment`: one `.log` + `.index` + `.timeindex`; append, read, scan/recover.
//! - `index`: the sparse memory-mapped offset and time indexes.
//! - `mmap`: every `unsafe` of the crate (memory maps, `flock`), with SAFETY notes.
//! - `fs`: the filesystem seam (writes, fsyncs, renames) so tests inject faults.
//! - `durability`: atomic rewrite, checkpoint sealing, group commit.
//! - `swap`: the crash-safe swap of cleaned segments into a log (used by the
//!   cleaner and the log; recovery of an interrupted swap on open).
//!
//! # Durability and recovery
//! An append returns once the bytes are in the page cache; `sync_to` /
//! `flush` fsync (many waiters share one fsync). A rolled segment is fsynced
//! in the background. Each log keeps `weir-log.checkpoint` (log start offset,
//! recovery point). `Store::close` writes `.clean_shutdown` (naming the logs
//! of more than one segment: retention need not list the others); the next open
//! trusts the data (indexes checked in O(1), entries verified when used) and
//! writes nothing. After an unclean stop every segment from the one holding
//! the recovery point is re-validated (structure, CRC-32C, offsets), the file
//! is cut at the first bad batch, later segments are dropped and the indexes
//! rebuilt.

pub mod batch;
pub mod cleaner;
pub mod clock;
pub mod compression;
pub mod config;
pub mod control;
pub mod error;
pub mod legacy;
pub mod log;
pub mod open_logs;
pub mod region;
pub mod retention;
pub mod stats;
pub mod store;
pub mod validate;

#[cfg(test)]
mod crash_tests;
mod deleter;
mod durability;
mod fs;
mod index;
mod mmap;
#[cfg(test)]
mod power_tests;
mod segment;
mod swap;

pub use batch::{BatchBuilder, BatchHeader, Record, RecordHeader};
pub use cleaner::{CleanStats, CleanerConfig, DirtyInfo};
pub use compression::Compression;
pub use config::{FlushPolicy, LogConfig, TimestampType};
pub use error::{BatchError, StorageError};
pub use fs::{DirHealth, FsEvent};
pub use log::{AppendInfo, AppendOptions, PartitionLog, ReadResult, RetentionStamp, SegmentInfo};
pub use mmap::thread_major_faults;
pub use open_logs::{default_max_open_segments, live_segments, raise_open_file_limit};
pub use region::FileRegion;
pub use retention::{RetentionOutcome, RetentionPolicy, RetentionReason};
pub use store::{Store, TopicPartition};
pub use validate::{
    ProduceRules, RecordError, TimestampBounds, ValidatedBatch, ValidatedBatches, ValidationError,
};
