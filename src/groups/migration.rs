//! KIP-848 online migration, as `group.consumer.migration.policy` allows it
//! (Kafka's default `bidirectional`): a member using the consumer
//! protocol that joins a live classic group converts it into a consumer group
//! (upgrade), keeping every classic member with its epoch (the generation) and
//! its partitions; classic members of a consumer group are served through
//! JoinGroup / SyncGroup / Heartbeat / LeaveGroup against the broker-side
//! assignment, as Kafka's `GroupMetadataManager` serves them; when the last
//! member using the consumer protocol leaves, the group converts back into a
//! classic group in PreparingRebalance (downgrade) and its members rejoin.
//!
//! A classic member learns of a new assignment from its Heartbeat
//! (REBALANCE_IN_PROGRESS), rejoins (reporting the partitions it still owns in
//! its subscription), and gets its partitions from SyncGroup; partitions it must
//! give up leave its assignment before any other member gets them.

use super::assignor::Assignment;
use super::classic::{
    ClassicGroup, DowngradedMember, JoinRequest, JoinResponse, SyncRequest, SyncResponse,
};
use super::consumer::{ClassicMeta, ConsumerGroup, ConsumerMember, MemberState, TopicCatalog};
use super::{new_member_id, GroupConfig};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::ResponseError as E;

/// Why a live classic group cannot be upgraded: Kafka's GROUP_ID_NOT_FOUND texts.
pub fn upgrade_refusal(c: &ClassicGroup, cfg: &GroupConfig) -> Option<String> {
    let id = &c.group_id;
    if !cfg.migration_policy.upgrade() {
        return Some(format!(
            "Cannot upgrade classic group {id} to consumer group because online upgrade is \
             disabled."
        ));
    }
    if c.protocol_type.as_deref() != Some("consumer") {
        return Some(format!(
            "Cannot upgrade classic group {id} to consumer group because the group does not \
             use the consumer embedded protocol."
        ));
    }
    if c.members.len() > cfg.consumer_max_size {
        return Some(format!(
            "Cannot upgrade classic group {id} to consumer group because the group size \
             exceeds the consumer group maximum size."
        ));
    }
    None
}

/// A ConsumerProtocolSubscription: (topics, owned partitions by topic name).
fn subscription(metadata: &Bytes) -> (Vec<String>, Vec<(String, Vec<i32>)>) {
    let mut buf = metadata.clone();
    if buf.remaining() < 2 {
        return (Vec::new(), Vec::new());
    }
    let version = buf.get_i16().clamp(0, 3);
    match ConsumerProtocolSubscription::decode(&mut buf, version) {
        Ok(sub) => (
            sub.topics.iter().map(|t| t.to_string()).collect(),
            sub.owned_partitions
                .iter()
                .map(|tp| (tp.topic.to_string(), tp.partitions.clone()))
                .collect(),
        ),
        Err(_) => (Vec::new(), Vec::new()),
    }
}

/// Partitions by topic name -> by topic id (unknown topics are left out).
fn by_id(parts: &[(String, Vec<i32>)], catalog: &dyn TopicCatalog) -> Assignment {
    let mut a = Assignment::new();
    for (name, ps) in parts {
        if let Some((id, _)) = catalog.topic(name) {
            a.entry(id).or_default().extend(ps.iter().copied());
        }
    }
    a.retain(|_, ps| !ps.is_empty());
    a
}

/// A classic member's assignment bytes -> partitions by topic id.
fn decode_assignment(bytes: &Bytes, catalog: &dyn TopicCatalog) -> Assignment {
    let mut buf = bytes.clone();
    if buf.remaining() < 2 {
        return Assignment::new();
    }
    let version = buf.get_i16().clamp(0, 3);
    match ConsumerProtocolAssignment::decode(&mut buf, version) {
        Ok(a) => by_id(
            &a.assigned_partitions
                .iter()
                .map(|tp| (tp.topic.to_string(), tp.partitions.clone()))
                .collect::<Vec<_>>(),
            catalog,
        ),
        Err(_) => Assignment::new(),
    }
}

/// Partitions by topic id -> a ConsumerProtocolAssignment (version 0) for SyncGroup.
pub fn encode_assignment(a: &Assignment, catalog: &dyn TopicCatalog) -> Bytes {
    let assigned = a
        .iter()
        .filter_map(|(id, ps)| {
            catalog.topic_name(*id).map(|name| {
                TopicPartition::default()
                    .with_topic(TopicName(StrBytes::from_string(name)))
                    .with_partitions(ps.iter().copied().collect())
            })
        })
        .collect();
    let mut out = BytesMut::new();
    out.put_i16(0);
    ConsumerProtocolAssignment::default()
        .with_assigned_partitions(assigned)
        .encode(&mut out, 0)
        .expect("a ConsumerProtocolAssignment encodes");
    out.freeze()
}

fn classic_member(
    member_id: String,
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    rebalance_timeout_ms: i32,
    meta: ClassicMeta,
    now: u64,
) -> ConsumerMember {
    let session = meta.session_timeout_ms.max(0) as u64;
    ConsumerMember {
        member_id,
        instance_id,
        rack_id: None,
        client_id,
        client_host,
        rebalance_timeout_ms,
        subscribed_topic_names: Vec::new(),
        subscribed_topic_regex: None,
        server_assignor: None,
        member_epoch: 0,
        previous_member_epoch: 0,
        state: MemberState::Stable,
        assigned: Assignment::new(),
        pending_revocation: Assignment::new(),
        left_static: false,
        classic: Some(meta),
        session_deadline: now + session,
        revocation_deadline: None,
        last_sent: None,
    }
}

impl ConsumerGroup {
    /// Upgrade: the consumer group a live classic group becomes. Every member
    /// keeps its partitions and gets the generation as its epoch; the group
    /// epoch is the generation, with the current assignment as its target.
    /// Waiting JoinGroup / SyncGroup requests are answered REBALANCE_IN_PROGRESS.
    pub fn from_classic(
        c: &mut ClassicGroup,
        catalog: &dyn TopicCatalog,
        now: u64,
    ) -> ConsumerGroup {
        c.release_waiting(E::RebalanceInProgress);
        let mut g = ConsumerGroup::new(&c.group_id);
        let protocol = c.protocol_name.clone().unwrap_or_default();
        for m in c.members.values() {
            let (topics, _) = subscription(&m.metadata(&protocol));
            let meta = ClassicMeta {
                protocols: m.protocols.clone(),
                session_timeout_ms: m.session_timeout_ms,
            };
            let mut cm = classic_member(
                m.member_id.clone(),
                m.group_instance_id.clone(),
                m.client_id.clone(),
                m.client_host.clone(),
                m.rebalance_timeout_ms,
                meta,
                now,
            );
            let mut topics = topics;
            topics.sort();
            topics.dedup();
            cm.subscribed_topic_names = topics;
            cm.member_epoch = c.generation;
            cm.previous_member_epoch = c.generation;
            cm.assigned = decode_assignment(&m.assignment, catalog);
            g.target.insert(cm.member_id.clone(), cm.assigned.clone());
            g.members.insert(cm.member_id.clone(), cm);
        }
        g.group_epoch = c.generation;
        g.assignment_epoch = c.generation;
        g.metadata = g.resolve_subscriptions(catalog);
        g.mark_dirty();
        g
    }

    /// Whether a member still uses the consumer protocol.
    pub fn has_consumer_protocol_member(&self) -> bool {
        self.members.values().any(|m| m.classic.is_none())
    }

    /// Downgrade when the members left (all classic) use the classic protocol
    /// only: the classic group, at `generation`.
    pub fn downgrade(
        &self,
        generation: i32,
        catalog: &dyn TopicCatalog,
        now: u64,
        cfg: &GroupConfig,
    ) -> ClassicGroup {
        let members = self
            .members
            .values()
            .filter_map(|m| {
                let c = m.classic.as_ref()?;
                Some(DowngradedMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    protocols: c.protocols.clone(),
                    session_timeout_ms: c.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    assignment: encode_assignment(&m.assigned, catalog),
                })
            })
            .collect();
        ClassicGroup::from_consumer(&self.group_id, generation, members, now, cfg)
    }

    /// A classic member's view of whether it must rejoin: its epoch is behind
    /// the assignment, or it has partitions to give up or still to get.
    fn classic_needs_rejoin(&self, m: &ConsumerMember) -> bool {
        m.member_epoch != self.assignment_epoch
            || m.state != MemberState::Stable
            || self
                .target
                .get(&m.member_id)
                .is_some_and(|t| *t != m.assigned)
    }

    /// JoinGroup from a classic member (Kafka's `classicGroupJoinToConsumerGroup`):
    /// answered at once with the member's epoch as generation, the member's
    /// preferred protocol, no leader and no member list (the broker assigns).
    pub fn classic_join(
        &mut self,
        req: JoinRequest,
        now: u64,
        cfg: &GroupConfig,
        catalog: &dyn TopicCatalog,
    ) -> JoinResponse {
        if req.protocol_type != "consumer" || req.protocols.is_empty() {
            return JoinResponse::error(E::InconsistentGroupProtocol, &req.member_id);
        }
        let mut member_id = req.member_id.clone();
        // A static member coming back with an empty member id takes over its entry.
        if member_id.is_empty() {
            if let Some(inst) = &req.group_instance_id {
                if let Some(old) = self
                    .members
                    .values()
                    .find(|m| m.instance_id.as_ref() == Some(inst))
                    .map(|m| m.member_id.clone())
                {
                    let new_id = format!("{inst}-{}", new_member_id());
                    let mut m = self.members.shift_remove(&old).expect("found");
                    m.member_id = new_id.clone();
                    if let Some(t) = self.target.remove(&old) {
                        self.target.insert(new_id.clone(), t);
                    }
                    self.members.insert(new_id.clone(), m);
                    member_id = new_id;
                }
            }
        }
        if member_id.is_empty() {
            let id = match &req.group_instance_id {
                Some(inst) => format!("{inst}-{}", new_member_id()),
                None => format!(
                    "{}-{}",
                    if req.client_id.is_empty() {
                        "member"
                    } else {
                        &req.client_id
                    },
                    new_member_id()
                ),
            };
            if req.api_version >= 4 && req.group_instance_id.is_none() {
                return JoinResponse::error(E::MemberIdRequired, &id);
            }
            member_id = id;
        }
        let meta = ClassicMeta {
            protocols: req.protocols.clone(),
            session_timeout_ms: req.session_timeout_ms,
        };
        let mut changed = false;
        match self.members.get(&member_id) {
            Some(m) if m.classic.is_none() => {
                return JoinResponse::error(E::UnknownMemberId, &member_id);
            }
            Some(_) => {}
            None => {
                if self.members.len() >= cfg.consumer_max_size {
                    return JoinResponse::error(E::GroupMaxSizeReached, &member_id);
                }
                let m = classic_member(
                    member_id.clone(),
                    req.group_instance_id.clone(),
                    req.client_id.clone(),
                    req.client_host.clone(),
                    req.rebalance_timeout_ms,
                    meta.clone(),
                    now,
                );
                self.members.insert(member_id.clone(), m);
                changed = true;
            }
        }
        let (mut topics, owned) = subscription(&req.protocols[0].1);
        topics.sort();
        topics.dedup();
        let owned = by_id(&owned, catalog);
        {
            let m = self.members.get_mut(&member_id).expect("member");
            m.session_deadline = now + req.session_timeout_ms.max(0) as u64;
            m.rebalance_timeout_ms = req.rebalance_timeout_ms;
            m.client_id = req.client_id.clone();
            m.client_host = req.client_host.clone();
            m.classic = Some(meta);
            if m.subscribed_topic_names != topics {
                m.subscribed_topic_names = topics;
                changed = true;
            }
        }
        let resolved = self.resolve_subscriptions(catalog);
        if resolved != self.metadata {
            self.metadata = resolved;
            changed = true;
        }
        if changed {
            self.bump_epoch();
        }
        self.maybe_compute_target();
        self.reconcile(&member_id, Some(&owned), now);
        self.mark_dirty();
        let m = &self.members[&member_id];
        JoinResponse {
            error: 0,
            generation_id: m.member_epoch,
            protocol_type: Some("consumer".to_string()),
            protocol_name: Some(req.protocols[0].0.clone()),
            leader: String::new(),
            skip_assignment: false,
            member_id,
            members: Vec::new(),
        }
    }

    /// The classic member `member_id` of this group, checked as Kafka checks it.
    fn classic_member_checked(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<&ConsumerMember, E> {
        let m = match self.members.get(member_id) {
            Some(m) if m.classic.is_some() => m,
            _ => return Err(E::UnknownMemberId),
        };
        if instance_id.is_some() && m.instance_id.as_deref() != instance_id {
            return Err(E::FencedInstanceId);
        }
        if generation != m.member_epoch {
            return Err(E::IllegalGeneration);
        }
        Ok(m)
    }

    /// SyncGroup from a classic member: its current partitions, at once.
    pub fn classic_sync(
        &mut self,
        req: &SyncRequest,
        now: u64,
        catalog: &dyn TopicCatalog,
    ) -> SyncResponse {
        let m = match self.classic_member_checked(
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id,
        ) {
            Ok(m) => m,
            Err(e) => return SyncResponse::error(e),
        };
        let protocol = m
            .classic
            .as_ref()
            .and_then(|c| c.protocols.first())
            .map(|(n, _)| n.clone());
        if req
            .protocol_type
            .as_deref()
            .is_some_and(|p| p != "consumer")
            || req
                .protocol_name
                .as_ref()
                .is_some_and(|p| Some(p) != protocol.as_ref())
        {
            return SyncResponse::error(E::InconsistentGroupProtocol);
        }
        let assignment = encode_assignment(&m.assigned, catalog);
        let session = m.classic.as_ref().map_or(0, |c| c.session_timeout_ms);
        let m = self.members.get_mut(&req.member_id).expect("member");
        m.session_deadline = now + session.max(0) as u64;
        SyncResponse {
            error: 0,
            protocol_type: Some("consumer".to_string()),
            protocol_name: protocol,
            assignment,
        }
    }

    /// Heartbeat from a classic member: REBALANCE_IN_PROGRESS while it must rejoin.
    pub fn classic_heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: u64,
    ) -> i16 {
        self.maybe_compute_target();
        let m = match self.classic_member_checked(member_id, instance_id, generation) {
            Ok(m) => m,
            Err(e) => return e.code(),
        };
        let rejoin = self.classic_needs_rejoin(m);
        let session = m.classic.as_ref().map_or(0, |c| c.session_timeout_ms);
        let m = self.members.get_mut(member_id).expect("member");
        m.session_deadline = now + session.max(0) as u64;
        if rejoin {
            E::RebalanceInProgress.code()
        } else {
            0
        }
    }

    /// LeaveGroup of a classic member.
    pub fn classic_leave(&mut self, member_id: &str, instance_id: Option<&str>) -> i16 {
        let id = match instance_id {
            Some(inst) => {
                let Some(m) = self
                    .members
                    .values()
                    .find(|m| m.instance_id.as_deref() == Some(inst))
                else {
                    return E::UnknownMemberId.code();
                };
                if !member_id.is_empty() && m.member_id != member_id {
                    return E::FencedInstanceId.code();
                }
                m.member_id.clone()
            }
            None => member_id.to_string(),
        };
        match self.members.get(&id) {
            Some(m) if m.classic.is_some() => {
                self.remove_member(&id);
                0
            }
            _ => E::UnknownMemberId.code(),
        }
    }
}
