//! One file per API. Each exposes a type implementing [`crate::handler::Handler`]
//! (key, versions, typed request and response) that the dispatch table lists.
//! Shared helpers live here.

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod alter_client_quotas;
pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod alter_share_group_offsets;
pub mod alter_user_scram_credentials;
pub mod api_versions;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod create_acls;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_acls;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_share_group_offsets;
pub mod delete_topics;
pub mod describe_acls;
pub mod describe_client_quotas;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_producers;
pub mod describe_share_group_offsets;
pub mod describe_topic_partitions;
pub mod describe_transactions;
pub mod describe_user_scram_credentials;
pub mod elect_leaders;
pub mod end_txn;
pub mod fetch;
pub mod find_coordinator;
pub mod group_configs;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod list_transactions;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod share_acknowledge;
pub mod share_fetch;
pub mod share_group_describe;
pub mod share_group_heartbeat;
pub mod streams_group_describe;
pub mod streams_group_heartbeat;
pub mod streams_group_topology_description_update;
pub mod sync_group;
pub mod txn_offset_commit;
pub mod write_txn_markers;

use crate::partitions::{AppendError, TopicError};
use crate::producer_state::ProducerError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use weir_storage::{BatchError, StorageError};

/// `StrBytes` from a `String`.
pub fn sb(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// A `TopicName` from a `&str`.
pub fn topic_name(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// The Kafka error for a topic-registry failure.
pub fn topic_error_code(e: &TopicError) -> ResponseError {
    match e {
        TopicError::InvalidName(..) => ResponseError::InvalidTopicException,
        TopicError::AlreadyExists(_) => ResponseError::TopicAlreadyExists,
        TopicError::UnknownTopic(_) => ResponseError::UnknownTopicOrPartition,
        TopicError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
        TopicError::InvalidConfig(_) => ResponseError::InvalidConfig,
        TopicError::Storage(e) => storage_error_code(e),
        TopicError::CorruptRegistry(_) => ResponseError::KafkaStorageError,
    }
}

/// The Kafka error for a storage failure.
pub fn storage_error_code(e: &StorageError) -> ResponseError {
    match e {
        StorageError::InvalidBatch(b) => batch_error_code(b),
        StorageError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        StorageError::NoSuchLog(_) | StorageError::Closed => ResponseError::UnknownTopicOrPartition,
        StorageError::Io { .. }
        | StorageError::Corrupt { .. }
        | StorageError::Locked(_)
        | StorageError::LogDirOffline(_) => {
            // Logged (rate-limited): a full disk is otherwise only seen by clients.
            crate::telemetry::storage_error(e);
            ResponseError::KafkaStorageError
        }
    }
}

/// CRC and structural failures are CORRUPT_MESSAGE; bad record contents INVALID_RECORD
/// (as Kafka's LogValidator reports them). Compressed data the codec cannot read is
/// UNKNOWN_SERVER_ERROR, as Kafka 4.4 answers it (its record stream throws a plain
/// `KafkaException("Failed to decompress record stream")`); records inflating past
/// weir's bound (64x `max.message.bytes`, a decompression bomb: Kafka has no such
/// bound) are CORRUPT_MESSAGE.
pub fn batch_error_code(e: &BatchError) -> ResponseError {
    match e {
        BatchError::CrcMismatch { .. }
        | BatchError::TooShort(_)
        | BatchError::LengthMismatch { .. }
        | BatchError::BadMagic(_)
        | BatchError::InflateLimit { .. }
        | BatchError::Empty => ResponseError::CorruptMessage,
        BatchError::RecordCountMismatch { .. }
        | BatchError::UnknownCodec(_)
        | BatchError::CorruptRecord(_) => ResponseError::InvalidRecord,
        BatchError::Decompression(_) => ResponseError::UnknownServerError,
    }
}

/// The Kafka error for a failed append.
pub fn append_error_code(e: &AppendError) -> ResponseError {
    match e {
        AppendError::Producer(ProducerError::OutOfOrder { .. }) => {
            ResponseError::OutOfOrderSequenceNumber
        }
        AppendError::Producer(ProducerError::InvalidEpoch { .. }) => {
            ResponseError::InvalidProducerEpoch
        }
        AppendError::Producer(ProducerError::InvalidTxnState { .. }) => {
            ResponseError::InvalidTxnState
        }
        AppendError::Producer(ProducerError::InvalidProducerIdMapping { .. }) => {
            ResponseError::InvalidProducerIdMapping
        }
        AppendError::Producer(ProducerError::ControlBatch) => ResponseError::InvalidRecord,
        // As Kafka: transactional records need an (authorized) transactional id.
        AppendError::Producer(ProducerError::MissingTransactionalId { .. }) => {
            ResponseError::TransactionalIdAuthorizationFailed
        }
        AppendError::Storage(s) => storage_error_code(s),
        AppendError::TxnVerificationExpired => ResponseError::ConcurrentTransactions,
    }
}

/// Why CreateAcls and DeleteAcls refuse every entry, in Kafka's order: no ALTER on
/// the cluster, then no authorizer configured. `None` when they may go on.
pub fn acl_change_refusal(
    state: &crate::state::BrokerState,
    ctx: &crate::handler::RequestContext,
) -> Option<(ResponseError, &'static str)> {
    if !state
        .pipeline
        .allows_cluster(ctx, crate::acl::AclOperation::Alter)
    {
        return Some((
            ResponseError::ClusterAuthorizationFailed,
            "Cluster authorization failed.",
        ));
    }
    if state.pipeline.authorizer().acls().is_none() {
        return Some((
            ResponseError::SecurityDisabled,
            "No Authorizer is configured.",
        ));
    }
    None
}
