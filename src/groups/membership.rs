//! Group membership requests: the classic protocol (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup) and KIP-848's ConsumerGroupHeartbeat, routed to the
//! group's state machine ([`super::classic`], [`super::consumer`]), with the
//! switch of a memberless group between the two kinds.

use super::classic::{ClassicGroup, JoinRequest, JoinResponse, Reply, SyncRequest, SyncResponse};
use super::consumer::{ConsumerGroup, HeartbeatRequest, HeartbeatResponse, TopicCatalog};
use super::coordinator::{Group, GroupKind};
use super::log::LogRecord;
use super::records::RecordKey;
use super::Coordinator;
use kafka_protocol::ResponseError as E;

impl Coordinator {
    // ---------------------------------------------------------------- classic

    /// JoinGroup; waits until the rebalance completes when it must.
    pub async fn join_group(&self, req: JoinRequest) -> JoinResponse {
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
            if let GroupKind::Consumer(cg) = &g.kind {
                if !cg.members.is_empty() {
                    return JoinResponse::error(E::InconsistentGroupProtocol, &req.member_id);
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
    pub async fn sync_group(&self, req: SyncRequest) -> SyncResponse {
        if req.group_id.is_empty() {
            return SyncResponse::error(E::InvalidGroupId);
        }
        let rx = {
            let now = self.now();
            let mut groups = self.lock();
            let Some(g) = groups.get_mut(&req.group_id) else {
                return SyncResponse::error(E::UnknownMemberId);
            };
            let GroupKind::Classic(c) = &mut g.kind else {
                return SyncResponse::error(E::UnknownMemberId);
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
        let GroupKind::Classic(c) = &mut g.kind else {
            return E::UnknownMemberId.code();
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
        let GroupKind::Classic(c) = &mut g.kind else {
            return Ok(vec![E::UnknownMemberId.code(); members.len()]);
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
        if req.group_id.is_empty() {
            return HeartbeatResponse::error(E::InvalidRequest, "GroupId can't be empty");
        }
        if req.member_epoch > 0 && req.member_id.is_empty() {
            return HeartbeatResponse::error(E::InvalidRequest, "MemberId can't be empty");
        }
        let now = self.now();
        let mut groups = self.lock();
        let group_id = req.group_id.clone();
        if !groups.contains_key(&group_id) {
            if req.member_epoch != 0 {
                return HeartbeatResponse::error(E::UnknownMemberId, "unknown member id");
            }
            groups.insert(group_id.clone(), Group::classic(&group_id));
        }
        let g = groups.get_mut(&group_id).unwrap();
        if let GroupKind::Classic(c) = &g.kind {
            if !c.is_empty() {
                return HeartbeatResponse::error(
                    E::GroupIdNotFound,
                    &format!("group {group_id} is not a consumer group"),
                );
            }
            self.convert(&group_id, g, true);
        }
        let GroupKind::Consumer(cg) = &mut g.kind else {
            unreachable!()
        };
        let resp = cg.heartbeat(req, now, &self.inner.cfg, catalog);
        self.persist(&group_id, g);
        self.touched();
        resp
    }
}
