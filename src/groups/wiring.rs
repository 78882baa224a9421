//! The coordinator inside the broker: opening it over the internal topic
//! `__consumer_offsets` (one partition, `cleanup.policy=compact`, registered
//! in the topic registry as an internal topic, created on first use), the
//! broker settings it reads, and the broker's topics seen through [`TopicCatalog`].

use super::consumer::TopicCatalog;
use super::log::{PartitionGroupLog, OFFSETS_TOPIC};
use super::{Coordinator, GroupConfig};
use crate::config::Settings;
use crate::partitions::Registry;
use std::sync::Arc;

/// Open the coordinator for a broker: over `__consumer_offsets` (replayed) if
/// it exists; otherwise the topic is created on first use ([`ensure_log`]), as
/// Kafka creates it on the first group request.
pub fn open(settings: &Settings, registry: &Registry) -> Result<Coordinator, String> {
    let cfg = GroupConfig::from_settings(|k| settings.get(k).map(|s| s.raw.clone()))?;
    let coordinator = Coordinator::open_lazy(cfg);
    if registry.topic_if_built(OFFSETS_TOPIC).is_some() {
        attach(&coordinator, registry)?;
    }
    Ok(coordinator)
}

/// Make sure the coordinator has its log, creating `__consumer_offsets` (one
/// partition, `cleanup.policy=compact`, 100 MiB segments) if needed. Cheap
/// once done. On failure the coordinator answers COORDINATOR_NOT_AVAILABLE.
pub fn ensure_log(coordinator: &Coordinator, registry: &Registry) {
    if !coordinator.has_log() {
        if let Err(e) = attach(coordinator, registry) {
            tracing::error!("group coordinator not available: {e}");
        }
    }
}

fn attach(coordinator: &Coordinator, registry: &Registry) -> Result<(), String> {
    let partition = registry.internal_state_partition(OFFSETS_TOPIC)?;
    let log = Arc::new(PartitionGroupLog::new(partition.coordinator_log()));
    coordinator.attach_log(log).map_err(|e| e.to_string())
}

/// The registry as the coordinator needs it (internal topics are left out).
pub struct RegistryCatalog<'a>(pub &'a Registry);

impl TopicCatalog for RegistryCatalog<'_> {
    fn topic(&self, name: &str) -> Option<(u128, i32)> {
        let t = self.0.topic(name)?;
        (!t.internal).then(|| (t.id.as_u128(), t.partition_count()))
    }
    fn topic_name(&self, id: u128) -> Option<String> {
        self.0
            .topic_by_id(uuid::Uuid::from_u128(id))
            .map(|t| t.name.clone())
    }
    fn topic_names(&self) -> Vec<String> {
        self.0
            .topics()
            .iter()
            .filter(|t| !t.internal)
            .map(|t| t.name.clone())
            .collect()
    }
}

/// Whether a topic partition exists (OffsetCommit's UNKNOWN_TOPIC_OR_PARTITION check).
pub fn partition_exists(registry: &Registry, topic: &str, partition: i32) -> bool {
    registry.partition(topic, partition).is_some()
}

/// Consumer lag per partition of a group: committed offset against the high watermark.
pub fn lag(
    coordinator: &Coordinator,
    registry: &Registry,
    group_id: &str,
) -> Vec<super::PartitionLag> {
    coordinator.lag(group_id, &|t, p| {
        registry.partition(t, p).map(|p| p.high_watermark())
    })
}
