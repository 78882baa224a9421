//! Group membership requests: the classic protocol (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup) and KIP-848's ConsumerGroupHeartbeat, routed to the
//! group's state machine ([`super::classic`], [`super::consumer`]), with the
//! switch of a memberless group between the two kinds and the online
//! migration of a live one ([`super::migration`]).

use super::classic::{ClassicGroup, JoinRequest, JoinResponse, Reply, SyncRequest, SyncResponse};
use super::consumer::{ConsumerGroup, HeartbeatRequest, HeartbeatResponse, TopicCatalog};
use super::coordinator::{Group, GroupKind};
use super::log::LogRecord;
use super::records::RecordKey;
use super::Coordinator;
use kafka_protocol::ResponseError as E;

impl Coordinator {
    // ---------------------------------------------------------------- classic

    /// JoinGroup; waits until the rebalance completes when it must. A classic
    /// member of a consumer group is answered at once ([`super::migration`]).
    pub async fn join_group(
        &self,
        req: JoinRequest,
        catalog: &(dyn TopicCatalog + Sync),
    ) -> JoinResponse {
        let cfg = &self.inner.cfg;
        if req.group_id.is_empty() {
            return JoinResponse::error(E::InvalidGroupId, &req.member_id);
        }
        if req.session_timeout_ms < cfg.min_session_timeout_ms
            || req.session_timeout_ms > cfg.max_session_timeout_ms
        {
            return JoinResponse::error(E::InvalidSessionTimeout, &req.member_id);
        }
        if req.protocol_type.is_empty() || req.protocols.is_empty() {
            return JoinResponse::error(E::InconsistentGroupProtocol, &req.member_id);
        }
        let reply = {
            let now = self.now();
            let mut groups = self.lock();
            let group_id = req.group_id.clone();
            if !groups.contains_key(&group_id) {
                if !req.member_id.is_empty() {
                    return JoinResponse::error(E::UnknownMemberId, &req.member_id);
                }
                groups.insert(group_id.clone(), Group::classic(&group_id));
            }
            let g = groups.get_mut(&group_id).unwrap();
            // A consumer group left with classic members only (its last
            // consumer-protocol member's session expired) downgrades now.
            self.downgrade(&group_id, g, catalog, now, None);
            // A streams group: its members speak StreamsGroupHeartbeat only;
            // an empty one becomes a classic group, as Kafka converts it.
            if let GroupKind::Streams(sg) = &g.kind {
                if !sg.members.is_empty() {
                    return JoinResponse::error(E::InconsistentGroupProtocol, &req.member_id);
                }
                self.replace_kind(
                    &group_id,
                    g,
                    GroupKind::Classic(ClassicGroup::new(&group_id)),
                );
            }
            if let GroupKind::Consumer(cg) = &mut g.kind {
                if !cg.members.is_empty() {
                    if cfg.migration_policy == super::MigrationPolicy::Disabled {
                        return JoinResponse::error(E::InconsistentGroupProtocol, &req.member_id);
                    }
                    // KIP-848 migration: a classic member of a consumer group.
                    let r = cg.classic_join(req, now, cfg, catalog);
                    self.persist(&group_id, g);
                    self.touched();
                    return r;
                }
                self.convert(&group_id, g, false);
            }
            let GroupKind::Classic(c) = &mut g.kind else {
                unreachable!()
            };
            if req.member_id.is_empty()
                && req.group_instance_id.is_none()
                && c.members.len() >= cfg.max_size
            {
                return JoinResponse::error(E::GroupMaxSizeReached, &req.member_id);
            }
            let member_id = req.member_id.clone();
            let before = c.state;
            let reply = c.join(req, now, cfg);
            self.stamp(c, before);
            self.persist(&group_id, g);
            self.touched();
            match reply {
                Reply::Now(r) => return r,
                Reply::Wait(rx) => (rx, member_id),
            }
        };
        reply
            .0
            .await
            .unwrap_or_else(|_| JoinResponse::error(E::UnknownMemberId, &reply.1))
    }

    /// Switch a memberless group to the other kind, keeping its offsets.
    fn convert(&self, group_id: &str, g: &mut Group, to_consumer: bool) {
        let (old_key, kind) = if to_consumer {
            (
                RecordKey::ClassicGroup {
                    group: group_id.into(),
                },
                GroupKind::Consumer(ConsumerGroup::new(group_id)),
            )
        } else {
            (
                RecordKey::ConsumerGroup {
                    group: group_id.into(),
                },
                GroupKind::Classic(ClassicGroup::new(group_id)),
            )
        };
        if let Err(e) = self.log().and_then(|l| {
            l.append(&[LogRecord {
                key: old_key.encode(),
                value: None,
            }])
        }) {
            tracing::error!("could not persist group {group_id}: {e}");
        }
        g.kind = kind;
    }

    /// SyncGroup; a follower waits for the leader's assignment.
    pub async fn sync_group(
        &self,
        req: SyncRequest,
        catalog: &(dyn TopicCatalog + Sync),
    ) -> SyncResponse {
        if req.group_id.is_empty() {
            return SyncResponse::error(E::InvalidGroupId);
        }
        let rx = {
            let now = self.now();
            let mut groups = self.lock();
            let Some(g) = groups.get_mut(&req.group_id) else {
                return SyncResponse::error(E::UnknownMemberId);
            };
            let c = match &mut g.kind {
                GroupKind::Classic(c) => c,
                GroupKind::Consumer(cg) => {
                    let r = cg.classic_sync(&req, now, catalog);
                    self.touched();
                    return r;
                }
                GroupKind::Streams(_) => return SyncResponse::error(E::UnknownMemberId),
            };
            let group_id = req.group_id.clone();
            let before = c.state;
            // A deadline that passed is acted on before the request, as Kafka's
            // timer would have (a sync timeout of 0 expires before any SyncGroup).
            if c.next_deadline().is_some_and(|d| d <= now) {
                c.expire(now, &self.inner.cfg);
            }
            let reply = c.sync(req, now);
            self.stamp(c, before);
            self.persist(&group_id, g);
            self.touched();
            match reply {
                Reply::Now(r) => return r,
                Reply::Wait(rx) => rx,
            }
        };
        rx.await
            .unwrap_or_else(|_| SyncResponse::error(E::RebalanceInProgress))
    }

    /// Heartbeat; returns the error code.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> i16 {
        if group_id.is_empty() {
            return E::InvalidGroupId.code();
        }
        let now = self.now();
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(group_id) else {
            return E::UnknownMemberId.code();
        };
        let c = match &mut g.kind {
            GroupKind::Classic(c) => c,
            GroupKind::Consumer(cg) => {
                let code = cg.classic_heartbeat(member_id, instance_id, generation, now);
                self.touched();
                return code;
            }
            GroupKind::Streams(_) => return E::UnknownMemberId.code(),
        };
        if c.next_deadline().is_some_and(|d| d <= now) {
            let before = c.state;
            c.expire(now, &self.inner.cfg);
            self.stamp(c, before);
            let code = c.heartbeat(member_id, instance_id, generation, now);
            self.persist(group_id, g);
            self.touched();
            return code;
        }
        c.heartbeat(member_id, instance_id, generation, now)
    }

    /// LeaveGroup for several members: (member id, instance id) -> error code each.
    pub fn leave_group(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<i16>, i16> {
        if group_id.is_empty() {
            return Err(E::InvalidGroupId.code());
        }
        let now = self.now();
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(group_id) else {
            return Ok(vec![E::UnknownMemberId.code(); members.len()]);
        };
        let c = match &mut g.kind {
            GroupKind::Classic(c) => c,
            GroupKind::Consumer(cg) => {
                let out = members
                    .iter()
                    .map(|(m, i)| cg.classic_leave(m, i.as_deref()))
                    .collect();
                self.persist(group_id, g);
                self.touched();
                return Ok(out);
            }
            GroupKind::Streams(_) => return Ok(vec![E::UnknownMemberId.code(); members.len()]),
        };
        let before = c.state;
        let out = members
            .iter()
            .map(|(m, i)| c.leave(m, i.as_deref(), now, &self.inner.cfg))
            .collect();
        self.stamp(c, before);
        self.persist(group_id, g);
        self.touched();
        Ok(out)
    }

    // ---------------------------------------------------------------- KIP-848

    /// ConsumerGroupHeartbeat.
    pub fn consumer_heartbeat(
        &self,
        req: HeartbeatRequest,
        catalog: &dyn TopicCatalog,
    ) -> HeartbeatResponse {
        if req.group_id.trim().is_empty() {
            return HeartbeatResponse::error(E::InvalidRequest, "GroupId can't be empty.");
        }
        if req.member_epoch != 0 && req.member_id.trim().is_empty() {
            return HeartbeatResponse::error(E::InvalidRequest, "MemberId can't be empty.");
        }
        let now = self.now();
        let mut groups = self.lock();
        let group_id = req.group_id.clone();
        // As Kafka's GroupMetadataManager: only a joining member (epoch 0) creates
        // the group; a leave names the group "Group", a heartbeat "Consumer group".
        let created = !groups.contains_key(&group_id);
        if created {
            if req.member_epoch < 0 {
                return HeartbeatResponse::error(
                    E::GroupIdNotFound,
                    &format!("Group {group_id} not found."),
                );
            }
            if req.member_epoch != 0 {
                return HeartbeatResponse::error(
                    E::GroupIdNotFound,
                    &format!("Consumer group {group_id} not found."),
                );
            }
            groups.insert(group_id.clone(), Group::classic(&group_id));
        }
        let g = groups.get_mut(&group_id).unwrap();
        if let GroupKind::Streams(sg) = &g.kind {
            if !sg.members.is_empty() {
                return HeartbeatResponse::error(
                    E::GroupIdNotFound,
                    &format!("Group {group_id} is not a consumer group."),
                );
            }
            self.replace_kind(
                &group_id,
                g,
                GroupKind::Classic(ClassicGroup::new(&group_id)),
            );
        }
        if let GroupKind::Classic(c) = &mut g.kind {
            if !c.is_empty() && req.member_epoch == 0 {
                // KIP-848 online upgrade of a live classic group.
                if let Some(why) = super::migration::upgrade_refusal(c, &self.inner.cfg) {
                    return HeartbeatResponse::error(E::GroupIdNotFound, &why);
                }
                let cg = ConsumerGroup::from_classic(c, catalog, now);
                self.replace_kind(&group_id, g, GroupKind::Consumer(cg));
            } else if !c.is_empty() {
                // A member that is not joining (epoch != 0): Kafka's text.
                return HeartbeatResponse::error(
                    E::GroupIdNotFound,
                    &format!("Group {group_id} is not a consumer group."),
                );
            } else {
                self.convert(&group_id, g, true);
            }
        }
        let GroupKind::Consumer(cg) = &mut g.kind else {
            unreachable!()
        };
        // KIP-848 online downgrade: the last member using the consumer protocol
        // leaves a group of classic members.
        let last_consumer_leaves = req.member_epoch == -1
            && cg
                .members
                .get(&req.member_id)
                .is_some_and(|m| m.classic.is_none())
            && cg
                .members
                .values()
                .all(|m| m.member_id == req.member_id || m.classic.is_some())
            && cg.members.len() > 1;
        // Kafka builds the classic group at the epoch before the member left.
        let generation = cg.group_epoch;
        let cfg = self.config_of(&group_id);
        let resp = cg.heartbeat(req, now, &cfg, catalog);
        if created && resp.error != 0 {
            // As Kafka: a refused join leaves no group behind (it would list as Empty).
            groups.remove(&group_id);
            return resp;
        }
        if last_consumer_leaves {
            self.downgrade(&group_id, g, catalog, now, Some(generation));
        }
        self.persist(&group_id, g);
        self.touched();
        resp
    }

    /// Replace the group's kind (an online migration), durably dropping the old
    /// kind's record; the new kind is persisted by the caller.
    pub(super) fn replace_kind(&self, group_id: &str, g: &mut Group, kind: GroupKind) {
        let old_key = match &g.kind {
            GroupKind::Classic(_) => RecordKey::ClassicGroup {
                group: group_id.into(),
            },
            GroupKind::Consumer(_) => RecordKey::ConsumerGroup {
                group: group_id.into(),
            },
            GroupKind::Streams(_) => RecordKey::StreamsGroup {
                group: group_id.into(),
            },
        };
        if let Err(e) = self.log().and_then(|l| {
            l.append(&[LogRecord {
                key: old_key.encode(),
                value: None,
            }])
        }) {
            tracing::error!("could not persist group {group_id}: {e}");
        }
        g.kind = kind;
    }

    /// Convert a consumer group whose members all use the classic protocol back
    /// into a classic group (they rejoin it); a no-op otherwise.
    pub(super) fn downgrade(
        &self,
        group_id: &str,
        g: &mut Group,
        catalog: &dyn TopicCatalog,
        now: u64,
        generation: Option<i32>,
    ) {
        let GroupKind::Consumer(cg) = &g.kind else {
            return;
        };
        if cg.members.is_empty()
            || cg.has_consumer_protocol_member()
            || !self.inner.cfg.migration_policy.downgrade()
        {
            return;
        }
        let generation = generation.unwrap_or(cg.group_epoch);
        let mut c = cg.downgrade(generation, catalog, now, &self.inner.cfg);
        c.state_timestamp = Some(self.wall());
        self.replace_kind(group_id, g, GroupKind::Classic(c));
    }
}
