//! The classic group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup)
//! as a pure state machine: one [`ClassicGroup`] per group, time passed in as
//! milliseconds, timers as explicit deadlines that [`ClassicGroup::expire`]
//! acts on. Requests that must wait (a join until the rebalance completes, a
//! follower's sync until the leader's assignment arrives) get a oneshot
//! receiver that the state machine completes later.
//!
//! Follows Apache Kafka's `GroupCoordinator`: states Empty, PreparingRebalance,
//! CompletingRebalance, Stable; the MEMBER_ID_REQUIRED handshake (JoinGroup v4+);
//! static membership with fencing; `group.initial.rebalance.delay.ms` for a
//! group that starts empty; rebalance, session and sync timeouts (the sync
//! timeout, Kafka's pending-sync members: a member of the generation that has
//! not sent its SyncGroup within the rebalance timeout after the join phase is
//! removed, even once the leader's sync made the group Stable). A rebalance
//! completes the moment every known member has rejoined: no fixed stalls.

use super::{new_member_id, GroupConfig};
use bytes::Bytes;
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::ResponseError as E;
use std::collections::{HashMap, HashSet};
use tokio::sync::oneshot;

/// The state of a classic group, as DescribeGroups / ListGroups name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassicState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl ClassicState {
    pub fn name(self) -> &'static str {
        match self {
            ClassicState::Empty => "Empty",
            ClassicState::PreparingRebalance => "PreparingRebalance",
            ClassicState::CompletingRebalance => "CompletingRebalance",
            ClassicState::Stable => "Stable",
            ClassicState::Dead => "Dead",
        }
    }
}

/// A JoinGroup request, version-independent.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub api_version: i16,
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
}

/// One member as the leader sees it in its JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

/// A JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResponse {
    pub error: i16,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub skip_assignment: bool,
    pub member_id: String,
    pub members: Vec<JoinMember>,
}

impl JoinResponse {
    pub fn error(error: E, member_id: &str) -> JoinResponse {
        JoinResponse {
            error: error.code(),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

/// A SyncGroup request.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignments: Vec<(String, Bytes)>,
}

/// A SyncGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResponse {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResponse {
    pub fn error(error: E) -> SyncResponse {
        SyncResponse {
            error: error.code(),
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// An answer now, or a receiver completed when the group gets there.
pub enum Reply<T> {
    Now(T),
    Wait(oneshot::Receiver<T>),
}

/// One member of a classic group.
#[derive(Debug)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub assignment: Bytes,
    awaiting_join: Option<oneshot::Sender<JoinResponse>>,
    awaiting_sync: Option<oneshot::Sender<SyncResponse>>,
    /// When the member is expelled unless it heartbeats (or waits in a join/sync).
    heartbeat_deadline: u64,
}

impl Member {
    /// The metadata this member sent for `protocol`.
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
    fn same_protocols(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }
}

/// A classic group.
#[derive(Debug)]
pub struct ClassicGroup {
    pub group_id: String,
    pub state: ClassicState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    pub members: IndexMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, with their join deadline.
    pending: HashMap<String, u64>,
    /// group.instance.id -> member id.
    pub static_members: HashMap<String, String>,
    /// PreparingRebalance: when members that have not rejoined are dropped.
    rebalance_deadline: Option<u64>,
    /// PreparingRebalance of a group that was empty: (start, current end of the initial delay).
    initial_delay: Option<(u64, u64)>,
    /// Members of this generation that have not sent their SyncGroup yet
    /// (Kafka's `pendingSyncMembers`): still tracked once the leader's sync made
    /// the group Stable.
    pending_sync: HashSet<String>,
    /// When the members in `pending_sync` are removed (the group's rebalance
    /// timeout after the join phase completed), in CompletingRebalance or Stable.
    sync_deadline: Option<u64>,
    /// Set when the group changed in a way that must be persisted.
    dirty: bool,
    /// Wall-clock ms of the last state change (Kafka's `currentStateTimestamp`;
    /// set by the coordinator, persisted; None for a group never persisted with one).
    pub state_timestamp: Option<i64>,
}

impl ClassicGroup {
    pub fn new(group_id: &str) -> ClassicGroup {
        ClassicGroup {
            group_id: group_id.to_string(),
            state: ClassicState::Empty,
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: IndexMap::new(),
            pending: HashMap::new(),
            static_members: HashMap::new(),
            rebalance_deadline: None,
            initial_delay: None,
            pending_sync: HashSet::new(),
            sync_deadline: None,
            dirty: false,
            state_timestamp: None,
        }
    }

    /// Rebuild a group from its persisted snapshot (as Stable or Empty); members
    /// get a fresh session to reconnect in.
    pub fn restore(snapshot: GroupSnapshot, now: u64) -> ClassicGroup {
        let mut g = ClassicGroup::new(&snapshot.group_id);
        g.generation = snapshot.generation;
        g.protocol_type = snapshot.protocol_type;
        g.protocol_name = snapshot.protocol_name;
        g.leader = snapshot.leader;
        g.state_timestamp = snapshot.current_state_timestamp;
        for m in snapshot.members {
            if let Some(inst) = &m.group_instance_id {
                g.static_members.insert(inst.clone(), m.member_id.clone());
            }
            let protocols = match &g.protocol_name {
                Some(p) => vec![(p.clone(), m.metadata)],
                None => Vec::new(),
            };
            g.members.insert(
                m.member_id.clone(),
                Member {
                    member_id: m.member_id,
                    group_instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    protocols,
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    assignment: m.assignment,
                    awaiting_join: None,
                    awaiting_sync: None,
                    heartbeat_deadline: now + m.session_timeout_ms.max(0) as u64,
                },
            );
        }
        g.state = if g.members.is_empty() {
            ClassicState::Empty
        } else {
            ClassicState::Stable
        };
        g
    }

    /// What to persist about this group.
    pub fn snapshot(&self) -> GroupSnapshot {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        GroupSnapshot {
            group_id: self.group_id.clone(),
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_timestamp,
            members: if self.state == ClassicState::Stable {
                self.members
                    .values()
                    .map(|m| MemberSnapshot {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.group_instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        session_timeout_ms: m.session_timeout_ms,
                        rebalance_timeout_ms: m.rebalance_timeout_ms,
                        metadata: m.metadata(&protocol),
                        assignment: m.assignment.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Whether the group changed in a way worth persisting since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.pending.is_empty()
    }

    /// Topics the members subscribe to (from the `consumer` protocol metadata).
    pub fn subscribed_topics(&self) -> Option<std::collections::BTreeSet<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol_name.clone()?;
        let mut topics = std::collections::BTreeSet::new();
        for m in self.members.values() {
            topics.extend(super::protocol::subscription_topics(&m.metadata(&protocol)));
        }
        Some(topics)
    }

    fn max_rebalance_timeout(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms.max(0) as u64)
            .max()
            .unwrap_or(0)
    }

    /// Whether a joining member's protocols fit the group.
    fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        protocols.iter().any(|(name, _)| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    /// Kafka's protocol selection: among the protocols every member supports,
    /// each member votes for its most preferred; the most votes wins.
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == *n))
            })
            .collect();
        let mut votes: Vec<(&String, usize)> = candidates.iter().map(|c| (*c, 0)).collect();
        for m in self.members.values() {
            if let Some((n, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n)) {
                if let Some(v) = votes.iter_mut().find(|(c, _)| *c == n) {
                    v.1 += 1;
                }
            }
        }
        let mut best: Option<(&String, usize)> = None;
        for (c, v) in votes {
            if best.is_none_or(|(_, bv)| v > bv) {
                best = Some((c, v));
            }
        }
        best.map(|(c, _)| c.clone())
    }

    /// Handle a JoinGroup for this group (the request is already validated for
    /// group id, session timeout range and non-empty protocols).
    pub fn join(&mut self, req: JoinRequest, now: u64, cfg: &GroupConfig) -> Reply<JoinResponse> {
        if self.state == ClassicState::Dead {
            return Reply::Now(JoinResponse::error(
                E::CoordinatorNotAvailable,
                &req.member_id,
            ));
        }
        if !self.supports(&req.protocol_type, &req.protocols) {
            return Reply::Now(JoinResponse::error(
                E::InconsistentGroupProtocol,
                &req.member_id,
            ));
        }
        if req.member_id.is_empty() {
            if let Some(inst) = req.group_instance_id.clone() {
                if let Some(old) = self.static_members.get(&inst).cloned() {
                    return self.replace_static_member(&old, req, now, cfg);
                }
                let id = format!("{}-{}", inst, new_member_id());
                return self.add_member_and_rebalance(id, req, now, cfg);
            }
            let id = format!(
                "{}-{}",
                if req.client_id.is_empty() {
                    "member"
                } else {
                    &req.client_id
                },
                new_member_id()
            );
            if req.api_version >= 4 {
                self.pending
                    .insert(id.clone(), now + req.session_timeout_ms.max(0) as u64);
                return Reply::Now(JoinResponse::error(E::MemberIdRequired, &id));
            }
            return self.add_member_and_rebalance(id, req, now, cfg);
        }
        if self.pending.remove(&req.member_id).is_some() {
            let id = req.member_id.clone();
            return self.add_member_and_rebalance(id, req, now, cfg);
        }
        if let Some(err) = self.check_member(&req.member_id, req.group_instance_id.as_deref()) {
            return Reply::Now(JoinResponse::error(err, &req.member_id));
        }
        let member_id = req.member_id.clone();
        match self.state {
            ClassicState::PreparingRebalance => {
                let rx = self.update_member(&member_id, &req, now);
                self.try_complete_join(now);
                Reply::Wait(rx)
            }
            ClassicState::CompletingRebalance => {
                if self.members[&member_id].same_protocols(&req.protocols) {
                    // A retried join: answer with this generation again.
                    Reply::Now(self.join_response_for(&member_id))
                } else {
                    let rx = self.update_member(&member_id, &req, now);
                    self.prepare_rebalance(now, cfg);
                    self.try_complete_join(now);
                    Reply::Wait(rx)
                }
            }
            ClassicState::Stable => {
                let is_leader = self.leader.as_deref() == Some(member_id.as_str());
                if is_leader || !self.members[&member_id].same_protocols(&req.protocols) {
                    let rx = self.update_member(&member_id, &req, now);
                    self.prepare_rebalance(now, cfg);
                    self.try_complete_join(now);
                    Reply::Wait(rx)
                } else {
                    let mut resp = self.join_response_for(&member_id);
                    resp.members.clear();
                    Reply::Now(resp)
                }
            }
            ClassicState::Empty | ClassicState::Dead => {
                Reply::Now(JoinResponse::error(E::UnknownMemberId, &member_id))
            }
        }
    }

    /// UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID checks for a known member id.
    fn check_member(&self, member_id: &str, instance_id: Option<&str>) -> Option<E> {
        if let Some(inst) = instance_id {
            match self.static_members.get(inst) {
                Some(id) if id != member_id => return Some(E::FencedInstanceId),
                None if self.members.contains_key(member_id) => return Some(E::FencedInstanceId),
                None => return Some(E::UnknownMemberId),
                _ => {}
            }
        }
        if !self.members.contains_key(member_id) {
            return Some(E::UnknownMemberId);
        }
        None
    }

    fn join_response_for(&self, member_id: &str) -> JoinResponse {
        let leader = self.leader.clone().unwrap_or_default();
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let members = if leader == member_id {
            self.members
                .values()
                .map(|m| JoinMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    metadata: m.metadata(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResponse {
            error: 0,
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader,
            skip_assignment: false,
            member_id: member_id.to_string(),
            members,
        }
    }

    fn update_member(
        &mut self,
        member_id: &str,
        req: &JoinRequest,
        now: u64,
    ) -> oneshot::Receiver<JoinResponse> {
        let (tx, rx) = oneshot::channel();
        let m = self.members.get_mut(member_id).expect("member exists");
        m.protocols = req.protocols.clone();
        m.session_timeout_ms = req.session_timeout_ms;
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        m.client_id = req.client_id.clone();
        m.client_host = req.client_host.clone();
        m.heartbeat_deadline = now + req.session_timeout_ms.max(0) as u64;
        if let Some(old) = m.awaiting_join.replace(tx) {
            // A second join while the first still waits: the first one is superseded.
            let _ = old.send(JoinResponse::error(E::UnknownMemberId, member_id));
        }
        rx
    }

    fn add_member_and_rebalance(
        &mut self,
        member_id: String,
        req: JoinRequest,
        now: u64,
        cfg: &GroupConfig,
    ) -> Reply<JoinResponse> {
        let (tx, rx) = oneshot::channel();
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        if let Some(inst) = &req.group_instance_id {
            self.static_members.insert(inst.clone(), member_id.clone());
        }
        self.members.insert(
            member_id.clone(),
            Member {
                member_id: member_id.clone(),
                group_instance_id: req.group_instance_id,
                client_id: req.client_id,
                client_host: req.client_host,
                protocol_type: req.protocol_type,
                protocols: req.protocols,
                session_timeout_ms: req.session_timeout_ms,
                rebalance_timeout_ms: req.rebalance_timeout_ms,
                assignment: Bytes::new(),
                awaiting_join: Some(tx),
                awaiting_sync: None,
                heartbeat_deadline: now + req.session_timeout_ms.max(0) as u64,
            },
        );
        if self.leader.is_none() {
            self.leader = Some(member_id);
        }
        match self.state {
            ClassicState::PreparingRebalance => {
                if let Some((start, end)) = self.initial_delay {
                    // Each new member during the initial delay extends it, up to the rebalance timeout.
                    let cap = start + self.max_rebalance_timeout();
                    self.initial_delay = Some((
                        start,
                        end.max((now + cfg.initial_rebalance_delay_ms).min(cap)),
                    ));
                }
            }
            _ => self.prepare_rebalance(now, cfg),
        }
        self.try_complete_join(now);
        Reply::Wait(rx)
    }

    /// A static member rejoined with an empty member id: give it a new id, fence
    /// the old one, and rebalance only if something changed.
    fn replace_static_member(
        &mut self,
        old_id: &str,
        req: JoinRequest,
        now: u64,
        cfg: &GroupConfig,
    ) -> Reply<JoinResponse> {
        let inst = req.group_instance_id.clone().unwrap_or_default();
        let new_id = format!("{}-{}", inst, new_member_id());
        let current_leader = self.leader.clone().unwrap_or_default();
        let Some(mut m) = self.members.shift_remove(old_id) else {
            self.static_members.remove(&inst);
            return self.add_member_and_rebalance(new_id, req, now, cfg);
        };
        if let Some(tx) = m.awaiting_join.take() {
            let _ = tx.send(JoinResponse::error(E::FencedInstanceId, old_id));
        }
        if let Some(tx) = m.awaiting_sync.take() {
            let _ = tx.send(SyncResponse::error(E::FencedInstanceId));
        }
        m.member_id = new_id.clone();
        self.members.insert(new_id.clone(), m);
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.clone());
        }
        self.static_members.insert(inst, new_id.clone());
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        match self.state {
            ClassicState::Stable => {
                let old_protocols =
                    std::mem::replace(&mut self.members[&new_id].protocols, req.protocols.clone());
                if self.select_protocol() == self.protocol_name {
                    let m = &mut self.members[&new_id];
                    m.session_timeout_ms = req.session_timeout_ms;
                    m.rebalance_timeout_ms = req.rebalance_timeout_ms;
                    m.heartbeat_deadline = now + req.session_timeout_ms.max(0) as u64;
                    self.dirty = true;
                    // As Kafka: from v9 (KIP-814) a replaced static leader is told it
                    // leads, with the member list and skip_assignment (it must not
                    // compute an assignment a Stable group would never deliver);
                    // older versions get the old leader id and no members.
                    if req.api_version >= 9 {
                        let mut r = self.join_response_for(&new_id);
                        r.skip_assignment = r.leader == new_id;
                        return Reply::Now(r);
                    }
                    Reply::Now(JoinResponse {
                        error: 0,
                        generation_id: self.generation,
                        protocol_type: self.protocol_type.clone(),
                        protocol_name: self.protocol_name.clone(),
                        leader: current_leader,
                        skip_assignment: false,
                        member_id: new_id,
                        members: Vec::new(),
                    })
                } else {
                    self.members[&new_id].protocols = old_protocols;
                    let rx = self.update_member(&new_id, &req, now);
                    self.prepare_rebalance(now, cfg);
                    self.try_complete_join(now);
                    Reply::Wait(rx)
                }
            }
            _ => {
                let rx = self.update_member(&new_id, &req, now);
                if self.state == ClassicState::CompletingRebalance {
                    self.prepare_rebalance(now, cfg);
                }
                self.try_complete_join(now);
                Reply::Wait(rx)
            }
        }
    }

    /// Move to PreparingRebalance (members must rejoin).
    fn prepare_rebalance(&mut self, now: u64, cfg: &GroupConfig) {
        if self.state == ClassicState::CompletingRebalance {
            for m in self.members.values_mut() {
                m.assignment = Bytes::new();
                if let Some(tx) = m.awaiting_sync.take() {
                    let _ = tx.send(SyncResponse::error(E::RebalanceInProgress));
                }
            }
        }
        self.pending_sync.clear();
        self.sync_deadline = None;
        let timeout = self.max_rebalance_timeout();
        if self.state == ClassicState::Empty && cfg.initial_rebalance_delay_ms > 0 {
            let delay = cfg.initial_rebalance_delay_ms.min(timeout);
            self.initial_delay = Some((now, now + delay));
        } else {
            self.initial_delay = None;
        }
        self.rebalance_deadline = Some(now + timeout);
        self.state = ClassicState::PreparingRebalance;
    }

    fn all_joined(&self) -> bool {
        self.pending.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// Complete the join phase if everyone is in, or if the deadline passed.
    fn try_complete_join(&mut self, now: u64) {
        if self.state != ClassicState::PreparingRebalance {
            return;
        }
        if let Some((_, end)) = self.initial_delay {
            if now < end {
                return;
            }
            self.initial_delay = None;
            self.complete_join(now);
            return;
        }
        if self.all_joined() || self.rebalance_deadline.is_some_and(|d| now >= d) {
            self.complete_join(now);
        }
    }

    fn complete_join(&mut self, now: u64) {
        self.pending.clear();
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in gone {
            self.drop_member(&id);
        }
        self.rebalance_deadline = None;
        self.generation += 1;
        if self.members.is_empty() {
            self.state = ClassicState::Empty;
            self.protocol_name = None;
            self.leader = None;
            self.dirty = true;
            return;
        }
        self.protocol_name = self.select_protocol();
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.state = ClassicState::CompletingRebalance;
        self.pending_sync = self.members.keys().cloned().collect();
        self.sync_deadline = Some(now + self.max_rebalance_timeout());
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let resp = self.join_response_for(&id);
            let m = &mut self.members[&id];
            m.heartbeat_deadline = now + m.session_timeout_ms.max(0) as u64;
            if let Some(tx) = m.awaiting_join.take() {
                let _ = tx.send(resp);
            }
        }
    }

    /// Remove a member without triggering anything; its waiting requests are answered.
    fn drop_member(&mut self, member_id: &str) {
        self.pending_sync.remove(member_id);
        if let Some(mut m) = self.members.shift_remove(member_id) {
            if let Some(tx) = m.awaiting_join.take() {
                let _ = tx.send(JoinResponse::error(E::UnknownMemberId, member_id));
            }
            if let Some(tx) = m.awaiting_sync.take() {
                let _ = tx.send(SyncResponse::error(E::UnknownMemberId));
            }
            if let Some(inst) = &m.group_instance_id {
                if self.static_members.get(inst).map(String::as_str) == Some(member_id) {
                    self.static_members.remove(inst);
                }
            }
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
    }

    /// Remove a member (leave or expiry) and rebalance the rest.
    fn remove_member(&mut self, member_id: &str, now: u64, cfg: &GroupConfig) {
        self.drop_member(member_id);
        match self.state {
            ClassicState::Stable | ClassicState::CompletingRebalance => {
                self.prepare_rebalance(now, cfg);
                self.try_complete_join(now);
            }
            ClassicState::PreparingRebalance => self.try_complete_join(now),
            ClassicState::Empty | ClassicState::Dead => {}
        }
    }

    /// A member of this generation sent its SyncGroup: it is no longer pending;
    /// the sync deadline goes once nobody is.
    fn synced(&mut self, member_id: &str) {
        self.pending_sync.remove(member_id);
        if self.pending_sync.is_empty() {
            self.sync_deadline = None;
        }
    }

    /// Handle a SyncGroup.
    pub fn sync(&mut self, req: SyncRequest, now: u64) -> Reply<SyncResponse> {
        if let Some(err) = self.check_member(&req.member_id, req.group_instance_id.as_deref()) {
            return Reply::Now(SyncResponse::error(err));
        }
        if req.generation_id != self.generation {
            return Reply::Now(SyncResponse::error(E::IllegalGeneration));
        }
        if req
            .protocol_type
            .as_ref()
            .is_some_and(|p| Some(p) != self.protocol_type.as_ref())
            || req
                .protocol_name
                .as_ref()
                .is_some_and(|p| Some(p) != self.protocol_name.as_ref())
        {
            return Reply::Now(SyncResponse::error(E::InconsistentGroupProtocol));
        }
        match self.state {
            ClassicState::Empty | ClassicState::Dead => {
                Reply::Now(SyncResponse::error(E::UnknownMemberId))
            }
            ClassicState::PreparingRebalance => {
                Reply::Now(SyncResponse::error(E::RebalanceInProgress))
            }
            ClassicState::CompletingRebalance => {
                self.synced(&req.member_id);
                let (tx, rx) = oneshot::channel();
                let m = &mut self.members[&req.member_id];
                m.awaiting_sync = Some(tx);
                m.heartbeat_deadline = now + m.session_timeout_ms.max(0) as u64;
                if self.leader.as_deref() == Some(req.member_id.as_str()) {
                    let mut given: HashMap<String, Bytes> = req.assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.member_id).unwrap_or_default();
                    }
                    self.state = ClassicState::Stable;
                    self.dirty = true;
                    let (pt, pn) = (self.protocol_type.clone(), self.protocol_name.clone());
                    for m in self.members.values_mut() {
                        if let Some(tx) = m.awaiting_sync.take() {
                            let _ = tx.send(SyncResponse {
                                error: 0,
                                protocol_type: pt.clone(),
                                protocol_name: pn.clone(),
                                assignment: m.assignment.clone(),
                            });
                        }
                    }
                }
                Reply::Wait(rx)
            }
            ClassicState::Stable => {
                self.synced(&req.member_id);
                let m = &mut self.members[&req.member_id];
                m.heartbeat_deadline = now + m.session_timeout_ms.max(0) as u64;
                Reply::Now(SyncResponse {
                    error: 0,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: self.protocol_name.clone(),
                    assignment: m.assignment.clone(),
                })
            }
        }
    }

    /// Handle a Heartbeat; returns the error code.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: u64,
    ) -> i16 {
        if let Some(err) = self.check_member(member_id, instance_id) {
            return err.code();
        }
        match self.state {
            ClassicState::Empty | ClassicState::Dead => return E::UnknownMemberId.code(),
            _ if generation != self.generation => return E::IllegalGeneration.code(),
            _ => {}
        }
        let m = &mut self.members[member_id];
        m.heartbeat_deadline = now + m.session_timeout_ms.max(0) as u64;
        match self.state {
            ClassicState::PreparingRebalance => E::RebalanceInProgress.code(),
            _ => 0,
        }
    }

    /// Handle one member of a LeaveGroup; returns its error code.
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: u64,
        cfg: &GroupConfig,
    ) -> i16 {
        if let Some(inst) = instance_id {
            let Some(registered) = self.static_members.get(inst).cloned() else {
                return E::UnknownMemberId.code();
            };
            if !member_id.is_empty() && member_id != registered {
                return E::FencedInstanceId.code();
            }
            self.remove_member(&registered, now, cfg);
            return 0;
        }
        if self.pending.remove(member_id).is_some() {
            self.try_complete_join(now);
            return 0;
        }
        if !self.members.contains_key(member_id) {
            return E::UnknownMemberId.code();
        }
        self.remove_member(member_id, now, cfg);
        0
    }

    /// Act on every deadline that has passed.
    pub fn expire(&mut self, now: u64, cfg: &GroupConfig) {
        let before = self.pending.len();
        self.pending.retain(|_, d| *d > now);
        if self.pending.len() != before {
            self.try_complete_join(now);
        }
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                m.awaiting_join.is_none()
                    && m.awaiting_sync.is_none()
                    && m.heartbeat_deadline <= now
            })
            .map(|m| m.member_id.clone())
            .collect();
        for id in expired {
            self.remove_member(&id, now, cfg);
        }
        match self.state {
            ClassicState::PreparingRebalance => self.try_complete_join(now),
            // Kafka's sync timeout: the group's rebalance timeout after the join
            // phase, members that have not sent their SyncGroup are removed and the
            // rest rebalance, whether or not the leader's sync made the group Stable.
            ClassicState::CompletingRebalance | ClassicState::Stable
                if self.sync_deadline.is_some_and(|d| now >= d) =>
            {
                self.sync_deadline = None;
                let unsynced: Vec<String> = self.pending_sync.drain().collect();
                if !unsynced.is_empty() {
                    for id in unsynced {
                        self.drop_member(&id);
                    }
                    self.dirty = true;
                    self.prepare_rebalance(now, cfg);
                    self.try_complete_join(now);
                }
            }
            _ => {}
        }
    }

    /// The earliest deadline this group has, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        let mut next: Option<u64> = None;
        let mut consider = |d: u64| next = Some(next.map_or(d, |n: u64| n.min(d)));
        self.pending.values().for_each(|d| consider(*d));
        for m in self.members.values() {
            if m.awaiting_join.is_none() && m.awaiting_sync.is_none() {
                consider(m.heartbeat_deadline);
            }
        }
        if self.state == ClassicState::PreparingRebalance {
            if let Some((_, end)) = self.initial_delay {
                consider(end);
            }
            if let Some(d) = self.rebalance_deadline {
                consider(d);
            }
        }
        if let Some(d) = self.sync_deadline {
            consider(d);
        }
        next
    }

    /// Answer every waiting JoinGroup and SyncGroup with `error` and forget the
    /// member ids handed out with MEMBER_ID_REQUIRED (the group is converted to a
    /// consumer group: its members rejoin it).
    pub fn release_waiting(&mut self, error: E) {
        for m in self.members.values_mut() {
            if let Some(tx) = m.awaiting_join.take() {
                let _ = tx.send(JoinResponse::error(error, &m.member_id));
            }
            if let Some(tx) = m.awaiting_sync.take() {
                let _ = tx.send(SyncResponse::error(error));
            }
        }
        self.pending.clear();
        self.pending_sync.clear();
    }

    /// The classic group a consumer group becomes when its last member using the
    /// consumer protocol leaves (KIP-848 online downgrade, Kafka's
    /// `ClassicGroup.fromConsumerGroup`): its classic members with their
    /// protocols and current assignments, at generation `generation`, in
    /// PreparingRebalance so that every member rejoins.
    pub fn from_consumer(
        group_id: &str,
        generation: i32,
        members: Vec<DowngradedMember>,
        now: u64,
        cfg: &GroupConfig,
    ) -> ClassicGroup {
        let mut g = ClassicGroup::new(group_id);
        g.generation = generation;
        g.protocol_type = Some("consumer".to_string());
        for m in members {
            if let Some(inst) = &m.group_instance_id {
                g.static_members.insert(inst.clone(), m.member_id.clone());
            }
            g.members.insert(
                m.member_id.clone(),
                Member {
                    member_id: m.member_id,
                    group_instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    protocol_type: "consumer".to_string(),
                    protocols: m.protocols,
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    assignment: m.assignment,
                    awaiting_join: None,
                    awaiting_sync: None,
                    heartbeat_deadline: now + m.session_timeout_ms.max(0) as u64,
                },
            );
        }
        g.protocol_name = g.select_protocol();
        g.leader = g.members.keys().next().cloned();
        g.state = ClassicState::Stable;
        g.dirty = true;
        g.prepare_rebalance(now, cfg);
        g
    }

    /// Mark dead (DeleteGroups); answers anything still waiting.
    pub fn mark_dead(&mut self) {
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            self.drop_member(&id);
        }
        self.state = ClassicState::Dead;
    }
}

/// A classic member of a consumer group, as it goes into the classic group of
/// an online downgrade ([`ClassicGroup::from_consumer`]).
#[derive(Debug, Clone)]
pub struct DowngradedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub protocols: Vec<(String, Bytes)>,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub assignment: Bytes,
}

/// The persisted form of a classic group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSnapshot {
    pub group_id: String,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    pub members: Vec<MemberSnapshot>,
    /// When the group entered its current state (wall-clock ms). Written from
    /// snapshot version 1 on, after the members; version 0 records have none.
    pub current_state_timestamp: Option<i64>,
}

/// The persisted form of a classic member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSnapshot {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// Version of Apache Kafka's `GroupMetadataValue` this broker writes (Kafka 2.3+
/// and 4.x write 3), so that tools reading `__consumer_offsets` (Burrow,
/// `kafka-dump-log --offsets-decoder`) decode weir's group records.
pub const GROUP_METADATA_VALUE_VERSION: i16 = 3;

impl GroupSnapshot {
    /// Kafka's `GroupMetadataValue` v3: protocol type (a string, "" for none),
    /// generation, protocol, leader, current state timestamp (-1 for none), then
    /// members (id, group instance id, client id, client host, rebalance and
    /// session timeouts, subscription and assignment bytes as the client sent them).
    pub fn encode(&self) -> Bytes {
        use super::records::Writer;
        let mut w = Writer::default();
        w.i16(GROUP_METADATA_VALUE_VERSION);
        w.string(self.protocol_type.as_deref().unwrap_or(""));
        w.i32(self.generation);
        w.opt_string(self.protocol_name.as_deref());
        w.opt_string(self.leader.as_deref());
        w.i64(self.current_state_timestamp.unwrap_or(-1));
        w.i32(self.members.len() as i32);
        for m in &self.members {
            w.string(&m.member_id);
            w.opt_string(m.group_instance_id.as_deref());
            w.string(&m.client_id);
            w.string(&m.client_host);
            w.i32(m.rebalance_timeout_ms);
            w.i32(m.session_timeout_ms);
            w.bytes(&m.metadata);
            w.bytes(&m.assignment);
        }
        w.finish()
    }

    /// Decode Kafka's `GroupMetadataValue` v2-3 (v2: no group instance ids), or
    /// the layouts weir wrote before it wrote Kafka's (versions 0 and 1: the
    /// protocol type nullable, members with group instance ids, and in version 1
    /// the state timestamp after them), so that old data dirs still load.
    pub fn decode(
        group_id: &str,
        buf: &[u8],
    ) -> Result<GroupSnapshot, super::records::RecordError> {
        let mut r = super::records::Reader::new(buf);
        let version = r.i16()?;
        let kafka = version >= 2;
        if version > GROUP_METADATA_VALUE_VERSION {
            return Err(super::records::RecordError(
                "unknown group metadata version",
            ));
        }
        let protocol_type = r.opt_string()?.filter(|t| !(kafka && t.is_empty()));
        let generation = r.i32()?;
        let protocol_name = r.opt_string()?;
        let leader = r.opt_string()?;
        let mut current_state_timestamp = None;
        if kafka {
            current_state_timestamp = Some(r.i64()?).filter(|ts| *ts >= 0);
        }
        let n = r.count(20)?;
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            members.push(MemberSnapshot {
                member_id: r.string()?,
                group_instance_id: if version == 2 { None } else { r.opt_string()? },
                client_id: r.string()?,
                client_host: r.string()?,
                rebalance_timeout_ms: r.i32()?,
                session_timeout_ms: r.i32()?,
                metadata: r.bytes()?,
                assignment: r.bytes()?,
            });
        }
        if version == 1 {
            current_state_timestamp = Some(r.i64()?).filter(|ts| *ts >= 0);
        }
        Ok(GroupSnapshot {
            group_id: group_id.to_string(),
            generation,
            protocol_type,
            protocol_name,
            leader,
            members,
            current_state_timestamp,
        })
    }
}
