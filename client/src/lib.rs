//! weir-client: the Kafka client plumbing weir's own tools share (`weir bench`
//! and the admin commands `weir topic|group|produce|consume|cluster`), built on
//! the kafka-protocol crate and knowing nothing of the broker.
//!
//! - [`wire`]: one connection: framing, correlation ids, ApiVersions negotiation,
//!   a writer/reader split for pipelining.
//! - [`partitioner`]: Kafka's murmur2 partition for a keyed record.
//! - [`error`]: [`ClientError`], one clear line per failure.

pub mod error;
pub mod partitioner;
pub mod wire;

pub use error::ClientError;
