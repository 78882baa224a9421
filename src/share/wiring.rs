//! The share coordinator's view of the topic registry: topics by name for the
//! assignment, and where a new share-partition starts (Kafka's default
//! `share.auto.offset.reset=latest`: the partition's high watermark).

use super::ShareCatalog;
use crate::config::group::AutoOffsetResetStrategy;
use crate::partitions::{OffsetSpec, Partition, Registry};
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

    fn start_offset_with(
        &self,
        topic_id: u128,
        partition: i32,
        reset: AutoOffsetResetStrategy,
    ) -> Option<i64> {
        let p = self
            .0
            .topic_by_id(Uuid::from_u128(topic_id))?
            .partition(partition)?;
        Some(initial_offset(&p, reset))
    }
}

/// Where a new share-partition of `p` starts under `reset`, as Kafka's
/// `SharePartition` initializes it: the log start offset (earliest), the high
/// watermark (latest), or the first offset with a timestamp at or after now
/// minus the duration (the high watermark when there is none).
pub fn initial_offset(p: &Partition, reset: AutoOffsetResetStrategy) -> i64 {
    match reset {
        AutoOffsetResetStrategy::Earliest => p.log_start_offset(),
        AutoOffsetResetStrategy::Latest => p.high_watermark(),
        AutoOffsetResetStrategy::ByDurationMs(d) => {
            let ts = super::now_ms() as i64 - d;
            match p.list_offset(OffsetSpec::Timestamp(ts), false) {
                Ok(Some((off, _))) => off,
                _ => p.high_watermark(),
            }
        }
    }
}
