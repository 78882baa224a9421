//! The topic registry and the partitions behind it: topic name, topic id (UUID),
//! partition count and config (resolved once per change, read lock-free),
//! persisted with `Store::write_checkpoint`; per partition the log (log start /
//! end offset = high watermark on this single node), the idempotent-producer
//! and transaction state (last stable offset, aborted transactions, transaction
//! markers), and wake-ups for waiting fetches.
//!
//! Handlers go through this module for everything that touches partition data:
//! [`Partition`] is the only door to a partition's log (its `log` is private),
//! and this is the only broker module that calls the storage crate's log API.
//!
//! - `partition`: one partition: its log, producer state, waiting fetches.
//! - `topic`: a topic (its partitions and resolved config) and Kafka's topic-name rules.
//! - `registry`: every topic, created / altered / deleted / reopened at start-up.
//! - `news`: the marks telling fetch sessions which of their partitions moved.
//! - `checkpoint`: the on-disk formats of the registry and producer-state checkpoints.
//! - `error`: why a topic operation or an append failed.

mod checkpoint;
mod error;
pub mod news;
mod partition;
mod registry;
mod topic;

pub use checkpoint::{PRODUCER_SNAPSHOT, TOPICS_CHECKPOINT};
pub use error::{AppendError, TopicError};
pub use partition::{AppendOutcome, OffsetSpec, Partition, TxnVerification};
pub use registry::{NewTopic, Registry};
pub use topic::{validate_topic_name, Topic, INTERNAL_TOPICS, MAX_TOPIC_NAME_LEN};

/// The topics checkpoint and producer-snapshot decoders on arbitrary bytes (for
/// the fuzz targets, src/fuzzing.rs): whether each accepted them.
pub fn decode_checkpoints(data: &[u8]) -> (bool, bool) {
    (
        checkpoint::decode_registry(data).is_ok(),
        checkpoint::decode_snapshots(data).is_some(),
    )
}
