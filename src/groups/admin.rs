//! Admin views and operations on groups: ListGroups, DescribeGroups,
//! ConsumerGroupDescribe, DeleteGroups, consumer lag, with their answer types.

use super::classic::ClassicState;
use super::coordinator::GroupKind;
use super::log::LogRecord;
use super::records::RecordKey;
use super::{Assignment, Coordinator};
use kafka_protocol::ResponseError as E;

/// One partition's committed offset and lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    pub committed: i64,
    pub log_end_offset: i64,
    /// `log_end_offset - committed`, never negative.
    pub lag: i64,
}

/// A group as ListGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: String,
    /// "classic" or "consumer".
    pub group_type: String,
}

/// A classic group as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

/// One member in DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: bytes::Bytes,
    pub assignment: bytes::Bytes,
}

/// A consumer group as ConsumerGroupDescribe shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupDescription {
    pub state: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: String,
    pub members: Vec<ConsumerMemberDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerMemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub assignment: Assignment,
    pub target_assignment: Assignment,
}

impl Coordinator {
    /// ConsumerGroupDescribe of one group; `Err` is the error code (GROUP_ID_NOT_FOUND).
    pub fn consumer_describe(&self, group_id: &str) -> Result<ConsumerGroupDescription, i16> {
        let groups = self.lock();
        let Some(GroupKind::Consumer(cg)) = groups.get(group_id).map(|g| &g.kind) else {
            return Err(E::GroupIdNotFound.code());
        };
        Ok(ConsumerGroupDescription {
            state: cg.state_name().to_string(),
            group_epoch: cg.group_epoch,
            assignment_epoch: cg.assignment_epoch,
            assignor: cg.assignor.clone(),
            members: cg
                .members
                .values()
                .map(|m| ConsumerMemberDescription {
                    member_id: m.member_id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    member_epoch: m.member_epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed_topic_names: m.subscribed_topic_names.clone(),
                    subscribed_topic_regex: m.subscribed_topic_regex.clone(),
                    assignment: m.assigned.clone(),
                    target_assignment: cg.target.get(&m.member_id).cloned().unwrap_or_default(),
                })
                .collect(),
        })
    }

    // ---------------------------------------------------------------- admin

    /// ListGroups, filtered by states and types (case-insensitive; empty = all).
    pub fn list_groups(&self, states: &[String], types: &[String]) -> Vec<GroupListing> {
        let groups = self.lock();
        groups
            .iter()
            .map(|(id, g)| match &g.kind {
                GroupKind::Classic(c) => GroupListing {
                    group_id: id.clone(),
                    protocol_type: c.protocol_type.clone().unwrap_or_default(),
                    state: c.state.name().to_string(),
                    group_type: "classic".into(),
                },
                GroupKind::Consumer(cg) => GroupListing {
                    group_id: id.clone(),
                    protocol_type: "consumer".into(),
                    state: cg.state_name().to_string(),
                    group_type: "consumer".into(),
                },
                GroupKind::Streams(sg) => GroupListing {
                    group_id: id.clone(),
                    protocol_type: "streams".into(),
                    state: sg.state_name().to_string(),
                    group_type: "streams".into(),
                },
            })
            .filter(|l| {
                states.is_empty() || states.iter().any(|s| s.eq_ignore_ascii_case(&l.state))
            })
            .filter(|l| {
                types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(&l.group_type))
            })
            .collect()
    }

    /// DescribeGroups of one classic group; `None` if there is no such group,
    /// `Some(Err)` if it is a consumer (KIP-848) group.
    pub fn describe_group(&self, group_id: &str) -> Option<Result<GroupDescription, ()>> {
        let groups = self.lock();
        let g = groups.get(group_id)?;
        let GroupKind::Classic(c) = &g.kind else {
            return Some(Err(()));
        };
        let stable = c.state == ClassicState::Stable;
        let protocol = c.protocol_name.clone().unwrap_or_default();
        Some(Ok(GroupDescription {
            state: c.state.name().to_string(),
            protocol_type: c.protocol_type.clone().unwrap_or_default(),
            protocol: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: c
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Default::default()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Default::default()
                    },
                })
                .collect(),
        }))
    }

    /// DeleteGroups: error code per group.
    pub async fn delete_groups(&self, group_ids: &[String]) -> Vec<i16> {
        let mut out = Vec::new();
        let mut last = None;
        {
            let mut groups = self.lock();
            for id in group_ids {
                let code = match groups.get(id) {
                    None => E::GroupIdNotFound.code(),
                    Some(g) if g.has_members() => E::NonEmptyGroup.code(),
                    Some(g) => {
                        let mut records: Vec<LogRecord> = g
                            .offsets
                            .keys()
                            .map(|(t, p)| LogRecord {
                                key: RecordKey::Offset {
                                    group: id.clone(),
                                    topic: t.clone(),
                                    partition: *p,
                                }
                                .encode(),
                                value: None,
                            })
                            .collect();
                        let key = match g.kind {
                            GroupKind::Classic(_) => RecordKey::ClassicGroup { group: id.clone() },
                            GroupKind::Consumer(_) => {
                                RecordKey::ConsumerGroup { group: id.clone() }
                            }
                            GroupKind::Streams(_) => RecordKey::StreamsGroup { group: id.clone() },
                        };
                        records.push(LogRecord {
                            key: key.encode(),
                            value: None,
                        });
                        match self.log().and_then(|l| l.append(&records)) {
                            Ok(off) => {
                                last = Some(off);
                                if let Some(mut g) = groups.remove(id) {
                                    if let GroupKind::Classic(c) = &mut g.kind {
                                        c.mark_dead();
                                    }
                                }
                                0
                            }
                            Err(e) => {
                                tracing::error!("delete of group {id} failed: {e}");
                                E::CoordinatorNotAvailable.code()
                            }
                        }
                    }
                };
                out.push(code);
            }
        }
        if let Some(off) = last {
            self.sync(off).await;
        }
        out
    }

    /// Committed offset and lag of every partition the group has committed;
    /// `log_end` gives a partition's log end offset (None if it is gone).
    pub fn lag(
        &self,
        group_id: &str,
        log_end: &dyn Fn(&str, i32) -> Option<i64>,
    ) -> Vec<PartitionLag> {
        let groups = self.lock();
        let Some(g) = groups.get(group_id) else {
            return Vec::new();
        };
        g.offsets
            .iter()
            .filter_map(|((t, p), v)| {
                let end = log_end(t, *p)?;
                Some(PartitionLag {
                    topic: t.clone(),
                    partition: *p,
                    committed: v.offset,
                    log_end_offset: end,
                    lag: (end - v.offset).max(0),
                })
            })
            .collect()
    }

    /// Every group id known.
    pub fn group_ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }
}
