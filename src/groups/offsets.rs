//! Committed offsets: OffsetCommit (durable on return), OffsetFetch,
//! OffsetDelete, TxnOffsetCommit's checks and the offsets a committed
//! transaction applies, with the request and answer types.

use super::classic::ClassicState;
use super::coordinator::{Group, GroupKind};
use super::log::LogRecord;
use super::records::{OffsetValue, RecordKey};
use super::Coordinator;
use kafka_protocol::ResponseError as E;
use std::collections::BTreeMap;

/// One partition of an OffsetCommit: (partition, offset, leader epoch, metadata).
pub type CommitPartition = (i32, i64, i32, Option<String>);

/// An OffsetCommit request, version-independent.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    pub api_version: i16,
    pub group_id: String,
    pub generation_id_or_member_epoch: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// (topic, partitions)
    pub topics: Vec<(String, Vec<CommitPartition>)>,
    /// OffsetCommit v1's per-partition commit timestamps (Kafka stores a
    /// client's timestamp other than -1 as the commit time); empty otherwise.
    pub commit_timestamps: BTreeMap<(String, i32), i64>,
}

/// One partition of an OffsetFetch answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    pub topic: String,
    pub partition: i32,
    /// -1 when nothing is committed.
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    pub error: i16,
}

impl Coordinator {
    // ---------------------------------------------------------------- offsets

    /// OffsetCommit. `exists` says whether a topic partition exists. Returns
    /// (topic, partition, error) per requested partition, after the commit is durable.
    pub async fn commit_offsets(
        &self,
        req: CommitRequest,
        exists: &(dyn Fn(&str, i32) -> bool + Sync),
    ) -> Vec<(String, i32, i16)> {
        let all = |code: i16| -> Vec<(String, i32, i16)> {
            req.topics
                .iter()
                .flat_map(|(t, ps)| ps.iter().map(move |p| (t.clone(), p.0, code)))
                .collect()
        };
        // No check of an empty group id: Kafka 4.x commits for the group "" too
        // (only a null one is INVALID_GROUP_ID).
        // As Kafka's KafkaApis: partitions of unknown topics are answered
        // UNKNOWN_TOPIC_OR_PARTITION before the coordinator sees the request, so a
        // commit naming only those neither validates nor creates the group.
        if req
            .topics
            .iter()
            .all(|(t, ps)| ps.iter().all(|p| !exists(t, p.0)))
        {
            return all(E::UnknownTopicOrPartition.code());
        }
        let (results, last_offset) = {
            let mut groups = self.lock();
            if let Err(code) = self.validate_commit(&mut groups, &req) {
                return req
                    .topics
                    .iter()
                    .flat_map(|(t, ps)| {
                        ps.iter().map(move |p| {
                            let c = if exists(t, p.0) {
                                code
                            } else {
                                E::UnknownTopicOrPartition.code()
                            };
                            (t.clone(), p.0, c)
                        })
                    })
                    .collect();
            }
            let mut results = Vec::new();
            let mut records = Vec::new();
            let mut values = Vec::new();
            let ts = self.wall();
            for (topic, parts) in &req.topics {
                for (partition, offset, leader_epoch, metadata) in parts {
                    let metadata = metadata.clone().unwrap_or_default();
                    let code = if metadata.len() > self.inner.cfg.offset_metadata_max_bytes {
                        E::OffsetMetadataTooLarge.code()
                    } else if !exists(topic, *partition) {
                        E::UnknownTopicOrPartition.code()
                    } else {
                        let commit_timestamp = req
                            .commit_timestamps
                            .get(&(topic.clone(), *partition))
                            .copied()
                            .unwrap_or(ts);
                        let v = OffsetValue {
                            offset: *offset,
                            leader_epoch: *leader_epoch,
                            metadata,
                            commit_timestamp,
                        };
                        records.push(LogRecord {
                            key: RecordKey::Offset {
                                group: req.group_id.clone(),
                                topic: topic.clone(),
                                partition: *partition,
                            }
                            .encode(),
                            value: Some(v.encode()),
                        });
                        values.push(((topic.clone(), *partition), v));
                        0
                    };
                    results.push((topic.clone(), *partition, code));
                }
            }
            if records.is_empty() {
                return results;
            }
            let last = match self.log().and_then(|l| l.append(&records)) {
                Ok(last) => last,
                Err(e) => {
                    tracing::error!("offset commit for group {} failed: {e}", req.group_id);
                    for r in results.iter_mut().filter(|r| r.2 == 0) {
                        r.2 = E::CoordinatorNotAvailable.code();
                    }
                    return results;
                }
            };
            let g = groups.get_mut(&req.group_id).expect("validated");
            g.offsets.extend(values);
            (results, last)
        };
        // An append succeeded above, so the log is attached.
        let Ok(log) = self.log().cloned() else {
            return results;
        };
        let synced = match tokio::runtime::Handle::try_current() {
            Ok(_) => tokio::task::spawn_blocking(move || log.sync_to(last_offset))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string())),
            Err(_) => log.sync_to(last_offset).map_err(|e| e.to_string()),
        };
        match synced {
            Ok(()) => results,
            Err(e) => {
                tracing::error!("offset commit for group {} not durable: {e}", req.group_id);
                results
                    .into_iter()
                    .map(|(t, p, c)| {
                        (
                            t,
                            p,
                            if c == 0 {
                                E::KafkaStorageError.code()
                            } else {
                                c
                            },
                        )
                    })
                    .collect()
            }
        }
    }

    /// Group-level checks of an OffsetCommit; creates the group for a standalone commit.
    fn validate_commit(
        &self,
        groups: &mut BTreeMap<String, Group>,
        req: &CommitRequest,
    ) -> Result<(), i16> {
        let generation = req.generation_id_or_member_epoch;
        let Some(g) = groups.get_mut(&req.group_id) else {
            if generation < 0 {
                groups.insert(req.group_id.clone(), Group::classic(&req.group_id));
                return Ok(());
            }
            // As Kafka's OffsetMetadataManager: GROUP_ID_NOT_FOUND from v9 on,
            // ILLEGAL_GENERATION for older clients.
            return Err(if req.api_version >= 9 {
                E::GroupIdNotFound
            } else {
                E::IllegalGeneration
            }
            .code());
        };
        match &mut g.kind {
            GroupKind::Classic(c) => {
                if let Some(inst) = &req.group_instance_id {
                    if c.static_members
                        .get(inst)
                        .is_some_and(|id| *id != req.member_id)
                    {
                        return Err(E::FencedInstanceId.code());
                    }
                }
                if generation < 0 && c.state == ClassicState::Empty {
                    return Ok(());
                }
                if c.state == ClassicState::CompletingRebalance {
                    return Err(E::RebalanceInProgress.code());
                }
                if !c.members.contains_key(&req.member_id) {
                    return Err(E::UnknownMemberId.code());
                }
                if generation != c.generation {
                    return Err(E::IllegalGeneration.code());
                }
                Ok(())
            }
            GroupKind::Consumer(cg) => {
                if generation < 0 && req.member_id.is_empty() && cg.members.is_empty() {
                    return Ok(());
                }
                let Some(m) = cg.members.get(&req.member_id) else {
                    return Err(E::UnknownMemberId.code());
                };
                if generation > m.member_epoch {
                    // A classic member (KIP-848 migration) knows generations only:
                    // Kafka answers it ILLEGAL_GENERATION.
                    return Err(if m.classic.is_some() {
                        E::IllegalGeneration
                    } else {
                        E::FencedMemberEpoch
                    }
                    .code());
                }
                if generation < m.member_epoch {
                    return Err(if req.api_version >= 9 {
                        E::StaleMemberEpoch
                    } else {
                        E::IllegalGeneration
                    }
                    .code());
                }
                Ok(())
            }
            GroupKind::Streams(sg) => {
                // Kafka's StreamsGroup.validateOffsetCommit.
                if generation < 0 && req.member_id.is_empty() && sg.members.is_empty() {
                    return Ok(());
                }
                let Some(m) = sg.members.get(&req.member_id) else {
                    return Err(E::UnknownMemberId.code());
                };
                if generation > m.member_epoch {
                    return Err(E::FencedMemberEpoch.code());
                }
                if generation < m.member_epoch {
                    // TxnOffsetCommit (validated as version 8) knows generations only.
                    return Err(if req.api_version >= 9 {
                        E::StaleMemberEpoch
                    } else {
                        E::IllegalGeneration
                    }
                    .code());
                }
                Ok(())
            }
        }
    }

    /// OffsetFetch for one group. `topics == None` means every committed
    /// partition. `member` = (member id, member epoch) sent by v9+ consumers
    /// of KIP-848 groups, checked when present.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
        member: Option<(&str, i32)>,
    ) -> Result<Vec<FetchedOffset>, i16> {
        // The empty group id is a group like any other here, as in Kafka 4.x.
        let groups = self.lock();
        let g = groups.get(group_id);
        if let (
            Some(Group {
                kind: GroupKind::Streams(sg),
                ..
            }),
            Some((member_id, epoch)),
        ) = (g, member)
        {
            if !member_id.is_empty() || epoch >= 0 {
                let Some(m) = sg.members.get(member_id) else {
                    return Err(E::UnknownMemberId.code());
                };
                if epoch != m.member_epoch {
                    return Err(E::StaleMemberEpoch.code());
                }
            }
        }
        if let (
            Some(Group {
                kind: GroupKind::Consumer(cg),
                ..
            }),
            Some((member_id, epoch)),
        ) = (g, member)
        {
            if !member_id.is_empty() || epoch >= 0 {
                let Some(m) = cg.members.get(member_id) else {
                    return Err(E::UnknownMemberId.code());
                };
                if epoch != m.member_epoch {
                    return Err(E::StaleMemberEpoch.code());
                }
            }
        }
        let found = |topic: &str, p: i32| -> FetchedOffset {
            match g.and_then(|g| g.offsets.get(&(topic.to_string(), p))) {
                Some(v) => FetchedOffset {
                    topic: topic.to_string(),
                    partition: p,
                    offset: v.offset,
                    leader_epoch: v.leader_epoch,
                    metadata: Some(v.metadata.clone()),
                    error: 0,
                },
                None => FetchedOffset {
                    topic: topic.to_string(),
                    partition: p,
                    offset: -1,
                    leader_epoch: -1,
                    metadata: Some(String::new()),
                    error: 0,
                },
            }
        };
        Ok(match topics {
            Some(topics) => topics
                .iter()
                .flat_map(|(t, ps)| ps.iter().map(|p| found(t, *p)))
                .collect(),
            None => g
                .map(|g| g.offsets.keys().map(|(t, p)| found(t, *p)).collect())
                .unwrap_or_default(),
        })
    }

    /// TxnOffsetCommit's group checks (Kafka's `validateOffsetCommit` with
    /// `isTransactional`): a producer outside the group (generation < 0, no
    /// member id, no instance id) is not checked; otherwise the member and
    /// generation are checked as OffsetCommit checks them.
    pub fn check_txn_offset_commit(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<(), i16> {
        if group_id.is_empty() {
            return Err(E::InvalidGroupId.code());
        }
        if generation < 0 && member_id.is_empty() && group_instance_id.is_none() {
            return Ok(());
        }
        let req = CommitRequest {
            api_version: 8,
            group_id: group_id.to_string(),
            generation_id_or_member_epoch: generation,
            member_id: member_id.to_string(),
            group_instance_id: group_instance_id.map(str::to_string),
            topics: Vec::new(),
            commit_timestamps: BTreeMap::new(),
        };
        let mut groups = self.lock();
        self.validate_commit(&mut groups, &req)
    }

    /// Apply the offsets a committed transaction carried (TxnOffsetCommit), as
    /// (topic, partition, offset, leader epoch, metadata): stored like
    /// OffsetCommit's, durable on return. Blocking (an fsync).
    pub fn commit_transactional_offsets(
        &self,
        group_id: &str,
        offsets: &[(String, i32, i64, i32, String)],
    ) -> Result<(), String> {
        if offsets.is_empty() {
            return Ok(());
        }
        let ts = self.wall();
        let last = {
            let mut groups = self.lock();
            let mut records = Vec::with_capacity(offsets.len());
            let mut values = Vec::with_capacity(offsets.len());
            for (topic, partition, offset, leader_epoch, metadata) in offsets {
                let v = OffsetValue {
                    offset: *offset,
                    leader_epoch: *leader_epoch,
                    metadata: metadata.clone(),
                    commit_timestamp: ts,
                };
                records.push(LogRecord {
                    key: RecordKey::Offset {
                        group: group_id.to_string(),
                        topic: topic.clone(),
                        partition: *partition,
                    }
                    .encode(),
                    value: Some(v.encode()),
                });
                values.push(((topic.clone(), *partition), v));
            }
            let last = self
                .log()
                .and_then(|l| l.append(&records))
                .map_err(|e| e.to_string())?;
            groups
                .entry(group_id.to_string())
                .or_insert_with(|| Group::classic(group_id))
                .offsets
                .extend(values);
            last
        };
        self.log()
            .and_then(|l| l.sync_to(last))
            .map_err(|e| e.to_string())
    }

    /// The committed offset of one partition, if any.
    pub fn committed(&self, group_id: &str, topic: &str, partition: i32) -> Option<i64> {
        self.lock()
            .get(group_id)?
            .offsets
            .get(&(topic.to_string(), partition))
            .map(|v| v.offset)
    }

    /// OffsetDelete: per partition error codes, or a group-level error.
    pub async fn delete_offsets(
        &self,
        group_id: &str,
        topics: &[(String, Vec<i32>)],
    ) -> Result<Vec<(String, i32, i16)>, i16> {
        let last = {
            let mut groups = self.lock();
            let Some(g) = groups.get_mut(group_id) else {
                return Err(E::GroupIdNotFound.code());
            };
            let subscribed = match &g.kind {
                GroupKind::Classic(c) if c.is_empty() => Default::default(),
                GroupKind::Classic(c) => match c.subscribed_topics() {
                    Some(t) => t,
                    None => return Err(E::NonEmptyGroup.code()),
                },
                GroupKind::Consumer(cg) => cg.subscribed_topics(),
                GroupKind::Streams(sg) => sg.source_topics(),
            };
            let mut out = Vec::new();
            let mut records = Vec::new();
            for (t, ps) in topics {
                for p in ps {
                    if subscribed.contains(t) {
                        out.push((t.clone(), *p, E::GroupSubscribedToTopic.code()));
                    } else {
                        if g.offsets.remove(&(t.clone(), *p)).is_some() {
                            records.push(LogRecord {
                                key: RecordKey::Offset {
                                    group: group_id.into(),
                                    topic: t.clone(),
                                    partition: *p,
                                }
                                .encode(),
                                value: None,
                            });
                        }
                        out.push((t.clone(), *p, 0));
                    }
                }
            }
            if records.is_empty() {
                return Ok(out);
            }
            match self.log().and_then(|l| l.append(&records)) {
                Ok(last) => (out, last),
                Err(e) => {
                    tracing::error!("offset delete for group {group_id} failed: {e}");
                    return Err(E::CoordinatorNotAvailable.code());
                }
            }
        };
        self.sync(last.1).await;
        Ok(last.0)
    }

    pub(super) async fn sync(&self, offset: i64) {
        let Ok(log) = self.log().cloned() else {
            return;
        };
        let res = match tokio::runtime::Handle::try_current() {
            Ok(_) => tokio::task::spawn_blocking(move || log.sync_to(offset))
                .await
                .unwrap_or(Ok(())),
            Err(_) => log.sync_to(offset),
        };
        if let Err(e) = res {
            tracing::error!("group log sync failed: {e}");
        }
    }
}
