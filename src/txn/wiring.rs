//! The transaction coordinator inside the broker: its log is the internal topic
//! `__transaction_state` (one partition, `cleanup.policy=compact`, 100 MiB
//! segments; registered as an internal topic and created on first use, as
//! Kafka does). [`write_marker`] and [`commit_offsets`] are what the broker's
//! [`super::TxnEnv`] does with the pieces it is given (the topic registry and
//! the group coordinator); the broker state implements the trait with them.

use super::coordinator::{MarkerError, TxnCoordinator};
use super::state::PendingOffset;
use crate::config::Settings;
use crate::groups::log::PartitionGroupLog;
use crate::groups::Coordinator;
use crate::partitions::{AppendError, Registry};
use crate::producer_state::ProducerError;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The internal topic holding the transaction log.
pub const TXN_TOPIC: &str = "__transaction_state";

/// Open the coordinator: over `__transaction_state` (replayed) if it exists;
/// otherwise the topic is created on first use ([`ensure_log`]).
pub fn open(settings: &Settings, registry: &Registry) -> Result<TxnCoordinator, String> {
    let coordinator = TxnCoordinator::new(
        settings.i64("transaction.max.timeout.ms"),
        settings.i64("transactional.id.expiration.ms"),
    );
    if registry.topic_if_built(TXN_TOPIC).is_some() {
        attach(&coordinator, registry)?;
    }
    Ok(coordinator)
}

/// Make sure the coordinator has its log, creating the topic if needed. On
/// failure requests get COORDINATOR_NOT_AVAILABLE.
pub fn ensure_log(coordinator: &TxnCoordinator, registry: &Registry) {
    if !coordinator.has_log() {
        if let Err(e) = attach(coordinator, registry) {
            tracing::error!("transaction coordinator not available: {e}");
        }
    }
}

fn attach(coordinator: &TxnCoordinator, registry: &Registry) -> Result<(), String> {
    let partition = registry.internal_state_partition(TXN_TOPIC)?;
    coordinator.attach_log(Arc::new(PartitionGroupLog::new(
        partition.coordinator_log(),
    )))
}

/// Write the COMMIT or ABORT marker of `producer_id` at `producer_epoch` to one
/// partition and make it durable ([`super::TxnEnv::write_marker`]).
pub fn write_marker(
    registry: &Registry,
    topic: &str,
    partition: i32,
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
) -> Result<(), MarkerError> {
    // A deleted topic has nothing left to mark.
    let Some(p) = registry.partition(topic, partition) else {
        return Ok(());
    };
    match p.append_marker(
        producer_id,
        producer_epoch,
        commit,
        super::coordinator::COORDINATOR_EPOCH,
    ) {
        Ok(offset) => p
            .sync_to(offset)
            .map_err(|e| MarkerError::Retry(e.to_string())),
        // A newer epoch already wrote here: this transaction is over on it.
        Err(AppendError::Producer(e @ ProducerError::InvalidEpoch { .. })) => {
            tracing::info!("marker on {topic}-{partition} skipped: {e}");
            Ok(())
        }
        Err(e) => Err(MarkerError::Retry(e.to_string())),
    }
}

/// Apply a committed transaction's offsets to the group coordinator
/// ([`super::TxnEnv::commit_offsets`]).
pub fn commit_offsets(
    groups: &Coordinator,
    registry: &Registry,
    group: &str,
    offsets: &BTreeMap<(String, i32), PendingOffset>,
) -> Result<(), String> {
    crate::groups::wiring::ensure_log(groups, registry);
    let list: Vec<_> = offsets
        .iter()
        .map(|((t, p), o)| (t.clone(), *p, o.offset, o.leader_epoch, o.metadata.clone()))
        .collect();
    groups.commit_transactional_offsets(group, &list)
}
