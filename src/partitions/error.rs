//! Why a topic operation or an append failed; handlers map these to Kafka error codes.

use crate::config::topic::TopicConfigError;
use crate::producer_state::ProducerError;
use weir_storage::StorageError;

/// Why a topic operation failed; handlers map these to Kafka error codes.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The name and why (Kafka's wording).
    #[error("Topic name is invalid: {1}")]
    InvalidName(String, String),
    #[error("Topic '{0}' already exists.")]
    AlreadyExists(String),
    #[error("unknown topic '{0}'")]
    UnknownTopic(String),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error(transparent)]
    InvalidConfig(#[from] TopicConfigError),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("topic registry checkpoint is corrupt: {0}")]
    CorruptRegistry(String),
}

/// Why an append failed.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error(transparent)]
    Producer(#[from] ProducerError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A transaction marker was written here after the transaction
    /// coordinator was asked about this record set: ask again.
    #[error("a transaction marker was written since the transaction check")]
    TxnVerificationExpired,
}
