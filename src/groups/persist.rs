//! Durability of the group state: replaying `__consumer_offsets` into the
//! coordinator at start-up (or when the log is attached) and appending the
//! snapshot of a group that changed.

use super::classic::{ClassicGroup, GroupSnapshot};
use super::consumer::ConsumerGroup;
use super::coordinator::{CoordinatorError, Group, GroupKind};
use super::log::{self, LogRecord};
use super::records::{OffsetValue, RecordKey};
use super::streams::StreamsGroup;
use super::Coordinator;

impl Coordinator {
    pub(super) fn replay(&self) -> Result<(), CoordinatorError> {
        let now = self.now();
        let cfg = self.inner.cfg.clone();
        let mut groups = self.lock();
        let mut bad = 0usize;
        self.log()?.replay(&mut |rec: LogRecord| {
            let key = match RecordKey::decode(&rec.key) {
                Ok(Some(k)) => k,
                Ok(None) => return,
                Err(_) => {
                    bad += 1;
                    return;
                }
            };
            match key {
                RecordKey::Offset {
                    group,
                    topic,
                    partition,
                } => match rec.value {
                    Some(v) => match OffsetValue::decode(&v) {
                        Ok(v) => {
                            groups
                                .entry(group.clone())
                                .or_insert_with(|| Group::classic(&group))
                                .offsets
                                .insert((topic, partition), v);
                        }
                        Err(_) => bad += 1,
                    },
                    None => {
                        if let Some(g) = groups.get_mut(&group) {
                            g.offsets.remove(&(topic, partition));
                        }
                    }
                },
                RecordKey::ClassicGroup { group } => match rec.value {
                    Some(v) => match GroupSnapshot::decode(&group, &v) {
                        Ok(s) => {
                            let g = groups
                                .entry(group.clone())
                                .or_insert_with(|| Group::classic(&group));
                            g.kind = GroupKind::Classic(ClassicGroup::restore(s, now));
                        }
                        Err(_) => bad += 1,
                    },
                    None => {
                        if groups
                            .get(&group)
                            .is_some_and(|g| matches!(g.kind, GroupKind::Classic(_)))
                        {
                            groups.remove(&group);
                        }
                    }
                },
                RecordKey::StreamsGroup { group } => match rec.value {
                    Some(v) => {
                        match StreamsGroup::decode(&group, &v, now, cfg.streams.session_timeout_ms)
                        {
                            Ok(sg) => {
                                let g = groups
                                    .entry(group.clone())
                                    .or_insert_with(|| Group::classic(&group));
                                g.kind = GroupKind::Streams(sg);
                            }
                            Err(_) => bad += 1,
                        }
                    }
                    None => {
                        if groups
                            .get(&group)
                            .is_some_and(|g| matches!(g.kind, GroupKind::Streams(_)))
                        {
                            groups.remove(&group);
                        }
                    }
                },
                RecordKey::ConsumerGroup { group } => match rec.value {
                    Some(v) => match ConsumerGroup::decode(&group, &v, now, &cfg) {
                        Ok(cg) => {
                            let g = groups
                                .entry(group.clone())
                                .or_insert_with(|| Group::classic(&group));
                            g.kind = GroupKind::Consumer(cg);
                        }
                        Err(_) => bad += 1,
                    },
                    None => {
                        if groups
                            .get(&group)
                            .is_some_and(|g| matches!(g.kind, GroupKind::Consumer(_)))
                        {
                            groups.remove(&group);
                        }
                    }
                },
            }
        })?;
        if bad > 0 {
            tracing::warn!(
                "group coordinator skipped {bad} undecodable records of {}",
                log::OFFSETS_TOPIC
            );
        }
        Ok(())
    }

    /// Append the snapshot of a group that changed (best effort: group metadata is
    /// rebuilt by the members' next rebalance if it is lost).
    pub(super) fn persist(&self, group_id: &str, g: &mut Group) {
        let rec = match &mut g.kind {
            GroupKind::Classic(c) => {
                if !c.take_dirty() {
                    return;
                }
                LogRecord {
                    key: RecordKey::ClassicGroup {
                        group: group_id.to_string(),
                    }
                    .encode(),
                    value: Some(c.snapshot().encode()),
                }
            }
            GroupKind::Consumer(c) => {
                if !c.take_dirty() {
                    return;
                }
                LogRecord {
                    key: RecordKey::ConsumerGroup {
                        group: group_id.to_string(),
                    }
                    .encode(),
                    value: Some(c.encode()),
                }
            }
            GroupKind::Streams(c) => {
                if !c.take_dirty() {
                    return;
                }
                LogRecord {
                    key: RecordKey::StreamsGroup {
                        group: group_id.to_string(),
                    }
                    .encode(),
                    value: Some(c.encode()),
                }
            }
        };
        if let Err(e) = self.log().and_then(|l| l.append(&[rec])) {
            tracing::error!("could not persist group {group_id}: {e}");
        }
    }
}
