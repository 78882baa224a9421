//! The admin operations on a share group's state (Kafka's
//! `GroupCoordinatorService.alterShareGroupOffsets`,
//! `deleteShareGroupOffsets`, `deleteGroups` for share groups): only while
//! the group has no members; each persists the whole checkpoint at once.

use super::group::ShareGroup;
use super::partition::SharePartition;
use super::Coordinator;

/// The group still has members (Kafka's GROUP_NOT_EMPTY / NON_EMPTY_GROUP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The group is not empty.")]
pub struct NotEmpty;

impl Coordinator {
    fn check_empty(&self, group_id: &str) -> Result<(), NotEmpty> {
        let now = super::now_ms();
        let mut inner = self.inner.lock();
        self.expire_members(&mut inner, group_id, now);
        match inner.groups.get(group_id) {
            Some(g) if !g.members.is_empty() => Err(NotEmpty),
            _ => Ok(()),
        }
    }

    /// AlterShareGroupOffsets: each (topic id, partition) starts at the given
    /// offset with nothing in flight; a negative offset makes it uninitialized
    /// again (it starts where `share.auto.offset.reset` says on its next
    /// fetch). An unknown group is created empty, as Kafka does.
    pub fn alter_start_offsets(
        &self,
        group_id: &str,
        parts: &[(u128, i32, i64)],
    ) -> Result<(), NotEmpty> {
        self.check_empty(group_id)?;
        let limits = self.settings_of(group_id).limits;
        let mut inner = self.inner.lock();
        inner
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| ShareGroup::new(group_id));
        for (t, p, start) in parts {
            let key = (group_id.to_string(), *t, *p);
            if *start < 0 {
                inner.partitions.remove(&key);
            } else {
                inner
                    .partitions
                    .insert(key, SharePartition::new(*start, limits));
            }
        }
        Ok(())
    }

    /// DeleteShareGroupOffsets of one topic: whether the group had state for it.
    pub fn delete_topic_state(&self, group_id: &str, topic_id: u128) -> Result<bool, NotEmpty> {
        self.check_empty(group_id)?;
        let mut inner = self.inner.lock();
        let before = inner.partitions.len();
        inner
            .partitions
            .retain(|(g, t, _), _| !(g == group_id && *t == topic_id));
        Ok(inner.partitions.len() != before)
    }

    /// DeleteGroups of a share group: the group and all its share-partitions.
    /// `Ok(false)` when there is no such share group.
    pub fn delete_group(&self, group_id: &str) -> Result<bool, NotEmpty> {
        self.check_empty(group_id)?;
        let mut inner = self.inner.lock();
        let existed = inner.groups.remove(group_id).is_some();
        let before = inner.partitions.len();
        inner.partitions.retain(|(g, _, _), _| g != group_id);
        Ok(existed || inner.partitions.len() != before)
    }
}
