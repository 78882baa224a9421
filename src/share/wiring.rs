//! The share coordinator's view of the topic registry: topics by name for the
//! assignment, and where a new share-partition starts (Kafka's default
//! `share.auto.offset.reset=latest`: the partition's high watermark).

use super::ShareCatalog;
use crate::partitions::Registry;
use uuid::Uuid;

/// [`ShareCatalog`] over the topic registry (internal topics are never assigned).
pub struct RegistryShareCatalog<'a>(pub &'a Registry);

impl ShareCatalog for RegistryShareCatalog<'_> {
    fn topic(&self, name: &str) -> Option<(u128, i32)> {
        let t = self.0.topic(name)?;
        (!t.internal).then(|| (t.id.as_u128(), t.partition_count()))
    }

    fn start_offset(&self, topic_id: u128, partition: i32) -> Option<i64> {
        let p = self
            .0
            .topic_by_id(Uuid::from_u128(topic_id))?
            .partition(partition)?;
        Some(p.high_watermark())
    }
}
