//! KIP-848 consumer groups (`group.protocol=consumer`): the broker computes the
//! assignment and hands it out through ConsumerGroupHeartbeat, member by member,
//! with member epochs and incremental revocation.
//!
//! Model (as Apache Kafka's `GroupMetadataManager` / `CurrentAssignmentBuilder`):
//! - the group epoch is bumped whenever membership, subscriptions or the
//!   subscribed topics' partition counts change;
//! - when the group epoch is ahead of the assignment epoch, the assignor computes
//!   a new target assignment;
//! - each member converges on its target on its own heartbeats: first it revokes
//!   what it must give up (state UnrevokedPartitions, epoch unchanged), then it
//!   gets the new epoch and whatever of its target no other member still holds
//!   (UnreleasedPartitions until the rest is released).
//!
//! Pure logic: time is passed in, topics are looked up through [`TopicCatalog`].

use super::assignor::{self, Assignment, AssignorMember};
use super::member_epochs::{self as epochs, Fenced, StaticLeave};
use super::records::{Reader, RecordError, Writer};
use super::{new_member_id, GroupConfig};
use bytes::Bytes;
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::ResponseError as E;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The broker's topics as the coordinator needs them.
pub trait TopicCatalog {
    /// Topic id and partition count of a topic.
    fn topic(&self, name: &str) -> Option<(u128, i32)>;
    /// Name of a topic id.
    fn topic_name(&self, id: u128) -> Option<String>;
    /// Every topic name (for regex subscriptions).
    fn topic_names(&self) -> Vec<String>;
}

/// A ConsumerGroupHeartbeat request.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub owned: Option<Vec<(u128, Vec<i32>)>>,
    pub client_id: String,
    pub client_host: String,
}

/// A ConsumerGroupHeartbeat response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatResponse {
    pub error: i16,
    pub error_message: Option<String>,
    pub member_id: Option<String>,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// `None` when the assignment did not change since the last response.
    pub assignment: Option<Assignment>,
}

impl HeartbeatResponse {
    pub fn error(e: E, message: &str) -> HeartbeatResponse {
        HeartbeatResponse {
            error: e.code(),
            error_message: Some(message.to_string()),
            member_id: None,
            // Kafka's error responses leave the member epoch at its default, 0.
            member_epoch: 0,
            heartbeat_interval_ms: 0,
            assignment: None,
        }
    }
}

/// Where a member is in converging on its target assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Stable,
    UnrevokedPartitions,
    UnreleasedPartitions,
}

/// One member of a consumer group.
#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    /// A static member that left with epoch -2: its assignment is kept for its successor.
    pub left_static: bool,
    /// A member using the classic protocol (JoinGroup / SyncGroup / Heartbeat),
    /// from an online upgrade or joining a consumer group (KIP-848 migration).
    pub classic: Option<ClassicMeta>,
    pub(super) session_deadline: u64,
    pub(super) revocation_deadline: Option<u64>,
    pub(super) last_sent: Option<Assignment>,
}

/// What a classic-protocol member of a consumer group keeps of its JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicMeta {
    /// Its protocols (name, metadata) in its order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub session_timeout_ms: i32,
}

/// A consumer group.
#[derive(Debug)]
pub struct ConsumerGroup {
    pub group_id: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: String,
    pub members: IndexMap<String, ConsumerMember>,
    pub target: HashMap<String, Assignment>,
    /// Subscribed topics (name -> id, partitions) when the group epoch was last bumped.
    pub metadata: BTreeMap<String, (u128, i32)>,
    dirty: bool,
}

fn is_subset(small: &Assignment, big: &Assignment) -> bool {
    small
        .iter()
        .all(|(t, ps)| ps.is_empty() || big.get(t).is_some_and(|b| ps.is_subset(b)))
}

fn normalize(a: Assignment) -> Assignment {
    a.into_iter().filter(|(_, ps)| !ps.is_empty()).collect()
}

fn owned_to_assignment(owned: &[(u128, Vec<i32>)]) -> Assignment {
    let mut a = Assignment::new();
    for (t, ps) in owned {
        a.entry(*t).or_default().extend(ps.iter().copied());
    }
    normalize(a)
}

fn intersects(a: &Assignment, b: &Assignment) -> bool {
    a.iter()
        .any(|(t, ps)| b.get(t).is_some_and(|o| !ps.is_disjoint(o)))
}

impl ConsumerGroup {
    pub fn new(group_id: &str) -> ConsumerGroup {
        ConsumerGroup {
            group_id: group_id.to_string(),
            group_epoch: 0,
            assignment_epoch: 0,
            assignor: assignor::ASSIGNORS[0].to_string(),
            members: IndexMap::new(),
            target: HashMap::new(),
            metadata: BTreeMap::new(),
            dirty: false,
        }
    }

    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub(super) fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Kafka's consumer group state names.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.group_epoch != self.assignment_epoch {
            "Assigning"
        } else if self
            .members
            .values()
            .any(|m| m.member_epoch != self.assignment_epoch || m.state != MemberState::Stable)
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    /// Topic names the members subscribe to (including regex matches).
    pub fn subscribed_topics(&self) -> BTreeSet<String> {
        self.metadata.keys().cloned().collect()
    }

    pub(super) fn bump_epoch(&mut self) {
        self.group_epoch += 1;
        self.dirty = true;
    }

    pub(super) fn resolve_subscriptions(
        &self,
        catalog: &dyn TopicCatalog,
    ) -> BTreeMap<String, (u128, i32)> {
        let mut out = BTreeMap::new();
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut all_names: Option<Vec<String>> = None;
        for m in self.members.values() {
            names.extend(m.subscribed_topic_names.iter().cloned());
            if let Some(re) = &m.subscribed_topic_regex {
                let all = all_names.get_or_insert_with(|| catalog.topic_names());
                names.extend(
                    all.iter()
                        .filter(|t| !t.starts_with("__") && regex_matches(re, t))
                        .cloned(),
                );
            }
        }
        for n in names {
            if let Some(t) = catalog.topic(&n) {
                out.insert(n, t);
            }
        }
        out
    }

    /// Handle a ConsumerGroupHeartbeat.
    pub fn heartbeat(
        &mut self,
        req: HeartbeatRequest,
        now: u64,
        cfg: &GroupConfig,
        catalog: &dyn TopicCatalog,
    ) -> HeartbeatResponse {
        if let Some(a) = &req.server_assignor {
            if !assignor::ASSIGNORS.contains(&a.as_str()) {
                return HeartbeatResponse::error(
                    E::UnsupportedAssignor,
                    &format!("assignor {a} is not supported"),
                );
            }
        }
        if let Some(re) = req
            .subscribed_topic_regex
            .as_deref()
            .filter(|r| !r.is_empty())
        {
            if let Err(e) = compile_regex(re) {
                return HeartbeatResponse::error(
                    E::InvalidRegularExpression,
                    &format!("invalid regular expression: {e}"),
                );
            }
        }
        let session = cfg.consumer_session_timeout_ms;
        if req.member_epoch < 0 {
            return self.leave(req, now, session);
        }
        let mut member_id = req.member_id.clone();
        let fresh = self.group_epoch == 0 && self.members.is_empty();
        // Membership, subscription and topic changes bump the group epoch once.
        let mut bump = false;
        if req.member_epoch == 0 {
            if req.subscribed_topic_names.is_none() && req.subscribed_topic_regex.is_none() {
                return HeartbeatResponse::error(
                    E::InvalidRequest,
                    "SubscribedTopicNames or SubscribedTopicRegex must be set when joining",
                );
            }
            if member_id.is_empty() {
                member_id = new_member_id();
            }
            let static_holder = req.instance_id.as_ref().and_then(|inst| {
                self.members
                    .values()
                    .find(|m| m.instance_id.as_ref() == Some(inst))
                    .map(|m| m.member_id.clone())
            });
            match static_holder {
                Some(holder) if holder != member_id => {
                    if !self.members[&holder].left_static {
                        return HeartbeatResponse::error(
                            E::UnreleasedInstanceId,
                            "the instance id is still in use by another member",
                        );
                    }
                    // The static member comes back: take over its epoch and assignment.
                    let mut m = self.members.shift_remove(&holder).unwrap();
                    m.member_id = member_id.clone();
                    m.left_static = false;
                    m.member_epoch = m.previous_member_epoch;
                    m.last_sent = None;
                    if let Some(t) = self.target.remove(&holder) {
                        self.target.insert(member_id.clone(), t);
                    }
                    self.members.insert(member_id.clone(), m);
                    self.dirty = true;
                }
                _ => {
                    if self.members.contains_key(&member_id)
                        && !self.members[&member_id].left_static
                    {
                        // Rejoining with epoch 0 (it lost its state): start afresh.
                        self.members.shift_remove(&member_id);
                    }
                    if let Some(m) = self.members.get_mut(&member_id) {
                        m.left_static = false;
                        m.member_epoch = m.previous_member_epoch;
                    } else {
                        if self.members.len() >= cfg.consumer_max_size {
                            return HeartbeatResponse::error(
                                E::GroupMaxSizeReached,
                                "the group is full",
                            );
                        }
                        self.members.insert(
                            member_id.clone(),
                            ConsumerMember {
                                member_id: member_id.clone(),
                                instance_id: req.instance_id.clone(),
                                rack_id: None,
                                client_id: String::new(),
                                client_host: String::new(),
                                rebalance_timeout_ms: req.rebalance_timeout_ms,
                                subscribed_topic_names: Vec::new(),
                                subscribed_topic_regex: None,
                                server_assignor: None,
                                member_epoch: 0,
                                previous_member_epoch: 0,
                                state: MemberState::Stable,
                                assigned: Assignment::new(),
                                pending_revocation: Assignment::new(),
                                left_static: false,
                                classic: None,
                                session_deadline: now + session,
                                revocation_deadline: None,
                                last_sent: None,
                            },
                        );
                        bump = true;
                    }
                }
            }
        } else {
            let Some(m) = self.members.get(&member_id) else {
                return HeartbeatResponse::error(
                    E::UnknownMemberId,
                    &epochs::not_a_member(&member_id, &self.group_id),
                );
            };
            let owned = req.owned.as_deref().map(owned_to_assignment);
            // Kafka's throwIfConsumerGroupMemberEpochIsInvalid, with its texts.
            let fenced = |which: &str| {
                HeartbeatResponse::error(
                    E::FencedMemberEpoch,
                    &format!(
                        "The consumer group member has a {which} member epoch ({}) than the one \
                         known by the group coordinator ({}). The member must abandon all its \
                         partitions and rejoin.",
                        req.member_epoch, m.member_epoch
                    ),
                )
            };
            let owned_is_assigned = owned.as_ref().is_some_and(|o| is_subset(o, &m.assigned));
            match epochs::check_epoch(
                req.member_epoch,
                m.member_epoch,
                m.previous_member_epoch,
                owned_is_assigned,
            ) {
                Err(Fenced::Greater) => return fenced("greater"),
                Err(Fenced::Smaller) => return fenced("smaller"),
                Ok(()) if m.left_static => return fenced("smaller"),
                Ok(()) => {}
            }
        }

        // Update the member from the request.
        let mut subscription_changed = false;
        {
            let m = self.members.get_mut(&member_id).unwrap();
            m.session_deadline = now + session;
            if req.rebalance_timeout_ms > 0 {
                m.rebalance_timeout_ms = req.rebalance_timeout_ms;
            }
            if let Some(names) = &req.subscribed_topic_names {
                let mut names = names.clone();
                names.sort();
                names.dedup();
                if names != m.subscribed_topic_names {
                    m.subscribed_topic_names = names;
                    subscription_changed = true;
                }
            }
            if let Some(re) = &req.subscribed_topic_regex {
                let re = (!re.is_empty()).then(|| re.clone());
                if re != m.subscribed_topic_regex {
                    m.subscribed_topic_regex = re;
                    subscription_changed = true;
                }
            }
            if req.server_assignor.is_some() && req.server_assignor != m.server_assignor {
                m.server_assignor = req.server_assignor.clone();
                subscription_changed = true;
            }
            if req.rack_id.is_some() {
                m.rack_id = req.rack_id.clone();
            }
            if !req.client_id.is_empty() {
                m.client_id = req.client_id.clone();
            }
            if !req.client_host.is_empty() {
                m.client_host = req.client_host.clone();
            }
        }
        let meta = self.resolve_subscriptions(catalog);
        if meta != self.metadata {
            self.metadata = meta;
            bump = true;
        }
        if bump || subscription_changed {
            self.bump_epoch();
        }
        // As Kafka 4.4 answers (observed against the reference broker): in a group
        // this heartbeat creates, a first member subscribing to topic names takes
        // the group to epoch 2 (an empty subscription, or a regex until it is
        // resolved, to 1); joins and subscription changes in an existing group
        // bump once.
        if fresh
            && self
                .members
                .get(&member_id)
                .is_some_and(|m| !m.subscribed_topic_names.is_empty())
        {
            self.bump_epoch();
        }
        self.maybe_compute_target();
        let owned = req.owned.as_deref().map(owned_to_assignment);
        self.reconcile(&member_id, owned.as_ref(), now);

        let full = req.member_epoch == 0 || req.owned.is_some();
        let m = self.members.get_mut(&member_id).unwrap();
        let send = full || m.last_sent.as_ref() != Some(&m.assigned);
        if send {
            m.last_sent = Some(m.assigned.clone());
        }
        HeartbeatResponse {
            error: 0,
            error_message: None,
            member_id: Some(member_id),
            member_epoch: m.member_epoch,
            heartbeat_interval_ms: cfg.consumer_heartbeat_interval_ms as i32,
            assignment: send.then(|| m.assigned.clone()),
        }
    }

    fn leave(&mut self, req: HeartbeatRequest, now: u64, session: u64) -> HeartbeatResponse {
        let Some(m) = self.members.get_mut(&req.member_id) else {
            return HeartbeatResponse::error(
                E::UnknownMemberId,
                &epochs::not_a_member(&req.member_id, &self.group_id),
            );
        };
        if req.member_epoch == -2 && m.instance_id.is_some() {
            // Static member stepping out temporarily: keep its assignment for a session.
            StaticLeave {
                member_epoch: &mut m.member_epoch,
                previous_member_epoch: &mut m.previous_member_epoch,
                left_static: &mut m.left_static,
                session_deadline: &mut m.session_deadline,
            }
            .step_out(now + session);
            self.dirty = true;
        } else {
            self.remove_member(&req.member_id);
        }
        HeartbeatResponse {
            error: 0,
            error_message: None,
            member_id: Some(req.member_id),
            member_epoch: req.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        }
    }

    pub(super) fn remove_member(&mut self, member_id: &str) {
        if self.members.shift_remove(member_id).is_some() {
            self.target.remove(member_id);
            self.bump_epoch();
        }
    }

    pub(super) fn maybe_compute_target(&mut self) {
        if self.group_epoch <= self.assignment_epoch {
            return;
        }
        if let Some(a) = self
            .members
            .values()
            .rev()
            .find_map(|m| m.server_assignor.clone())
        {
            self.assignor = a;
        }
        let partitions: HashMap<u128, i32> = self.metadata.values().copied().collect();
        let all_names: Vec<String> = self.metadata.keys().cloned().collect();
        let members: Vec<AssignorMember> = self
            .members
            .values()
            .map(|m| {
                let mut topics: BTreeSet<u128> = m
                    .subscribed_topic_names
                    .iter()
                    .filter_map(|n| self.metadata.get(n).map(|(id, _)| *id))
                    .collect();
                if let Some(Ok(re)) = m.subscribed_topic_regex.as_deref().map(compile_regex) {
                    topics.extend(
                        all_names
                            .iter()
                            .filter(|n| re.is_match(n))
                            .filter_map(|n| self.metadata.get(n))
                            .map(|(id, _)| *id),
                    );
                }
                AssignorMember {
                    member_id: m.member_id.clone(),
                    topics,
                }
            })
            .collect();
        let target = assignor::assign(&self.assignor, &members, &partitions, &self.target)
            .or_else(|| assignor::assign("uniform", &members, &partitions, &self.target))
            .unwrap_or_default();
        self.target = target.into_iter().map(|(k, v)| (k, normalize(v))).collect();
        self.assignment_epoch = self.group_epoch;
        self.dirty = true;
    }

    /// Partitions held (assigned or being revoked) by members other than `except`.
    fn held_by_others(&self, except: &str) -> Assignment {
        epochs::union(
            self.members
                .values()
                .filter(|m| m.member_id != except)
                .flat_map(|m| [&m.assigned, &m.pending_revocation]),
        )
    }

    /// Move one member towards its target assignment.
    pub(super) fn reconcile(&mut self, member_id: &str, owned: Option<&Assignment>, now: u64) {
        let assignment_epoch = self.assignment_epoch;
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let held = self.held_by_others(member_id);
        let m = self.members.get_mut(member_id).unwrap();
        if m.state == MemberState::UnrevokedPartitions {
            match owned {
                Some(o) if !intersects(o, &m.pending_revocation) => {
                    m.pending_revocation.clear();
                    m.revocation_deadline = None;
                    m.state = MemberState::Stable;
                    self.dirty = true;
                }
                _ => return,
            }
        }
        if m.member_epoch == assignment_epoch && m.state == MemberState::Stable {
            return;
        }
        let (keep, revoke) = epochs::keep_and_revoke(&m.assigned, &target);
        self.dirty = true;
        if !revoke.is_empty() {
            m.assigned = keep;
            m.pending_revocation = revoke;
            m.state = MemberState::UnrevokedPartitions;
            m.revocation_deadline = Some(now + m.rebalance_timeout_ms.max(0) as u64);
            return;
        }
        let (assigned, unreleased) = epochs::take_released(keep, &target, &held);
        m.assigned = assigned;
        if m.member_epoch != assignment_epoch {
            m.previous_member_epoch = m.member_epoch;
            m.member_epoch = assignment_epoch;
        }
        m.state = if unreleased {
            MemberState::UnreleasedPartitions
        } else {
            MemberState::Stable
        };
    }

    /// Expel members whose session ended or who did not revoke in time.
    pub fn expire(&mut self, now: u64) {
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| epochs::is_due(m.session_deadline, m.revocation_deadline, now))
            .map(|m| m.member_id.clone())
            .collect();
        for id in gone {
            self.remove_member(&id);
        }
    }

    pub fn next_deadline(&self) -> Option<u64> {
        epochs::earliest(
            self.members
                .values()
                .map(|m| (m.session_deadline, m.revocation_deadline)),
        )
    }

    /// Snapshot for the internal log.
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::default();
        w.i16(1);
        w.i32(self.group_epoch);
        w.i32(self.assignment_epoch);
        w.string(&self.assignor);
        w.i32(self.metadata.len() as i32);
        for (name, (id, n)) in &self.metadata {
            w.string(name);
            w.u128(*id);
            w.i32(*n);
        }
        w.i32(self.members.len() as i32);
        for m in self.members.values() {
            w.string(&m.member_id);
            w.opt_string(m.instance_id.as_deref());
            w.opt_string(m.rack_id.as_deref());
            w.string(&m.client_id);
            w.string(&m.client_host);
            w.i32(m.rebalance_timeout_ms);
            w.i32(m.subscribed_topic_names.len() as i32);
            for n in &m.subscribed_topic_names {
                w.string(n);
            }
            w.opt_string(m.subscribed_topic_regex.as_deref());
            w.opt_string(m.server_assignor.as_deref());
            w.i32(m.member_epoch);
            w.i32(m.previous_member_epoch);
            w.i8(match m.state {
                MemberState::Stable => 0,
                MemberState::UnrevokedPartitions => 1,
                MemberState::UnreleasedPartitions => 2,
            });
            w.i8(i8::from(m.left_static));
            write_assignment(&mut w, &m.assigned);
            write_assignment(&mut w, &m.pending_revocation);
            write_assignment(
                &mut w,
                self.target.get(&m.member_id).unwrap_or(&Assignment::new()),
            );
            // Version 1: the classic protocol's metadata of the member, if any.
            match &m.classic {
                None => w.i8(0),
                Some(c) => {
                    w.i8(1);
                    w.i32(c.session_timeout_ms);
                    w.i32(c.protocols.len() as i32);
                    for (name, metadata) in &c.protocols {
                        w.string(name);
                        w.bytes(metadata);
                    }
                }
            }
        }
        w.finish()
    }

    /// Rebuild from a snapshot; members get a fresh session to come back in.
    pub fn decode(
        group_id: &str,
        buf: &[u8],
        now: u64,
        cfg: &GroupConfig,
    ) -> Result<ConsumerGroup, RecordError> {
        let mut r = Reader::new(buf);
        let version = r.i16()?;
        let mut g = ConsumerGroup::new(group_id);
        g.group_epoch = r.i32()?;
        g.assignment_epoch = r.i32()?;
        g.assignor = r.string()?;
        for _ in 0..r.count(22)? {
            let name = r.string()?;
            let id = r.u128()?;
            let n = r.i32()?;
            g.metadata.insert(name, (id, n));
        }
        for _ in 0..r.count(20)? {
            let member_id = r.string()?;
            let instance_id = r.opt_string()?;
            let rack_id = r.opt_string()?;
            let client_id = r.string()?;
            let client_host = r.string()?;
            let rebalance_timeout_ms = r.i32()?;
            let mut subscribed_topic_names = Vec::new();
            for _ in 0..r.count(2)? {
                subscribed_topic_names.push(r.string()?);
            }
            let subscribed_topic_regex = r.opt_string()?;
            let server_assignor = r.opt_string()?;
            let member_epoch = r.i32()?;
            let previous_member_epoch = r.i32()?;
            let state = match r.i8()? {
                1 => MemberState::UnrevokedPartitions,
                2 => MemberState::UnreleasedPartitions,
                _ => MemberState::Stable,
            };
            let left_static = r.i8()? != 0;
            let assigned = read_assignment(&mut r)?;
            let pending_revocation = read_assignment(&mut r)?;
            let target = read_assignment(&mut r)?;
            let classic = if version >= 1 && r.i8()? == 1 {
                let session_timeout_ms = r.i32()?;
                let mut protocols = Vec::new();
                for _ in 0..r.count(6)? {
                    protocols.push((r.string()?, r.bytes()?));
                }
                Some(ClassicMeta {
                    protocols,
                    session_timeout_ms,
                })
            } else {
                None
            };
            g.target.insert(member_id.clone(), target);
            let revocation_deadline = (state == MemberState::UnrevokedPartitions)
                .then(|| now + rebalance_timeout_ms.max(0) as u64);
            g.members.insert(
                member_id.clone(),
                ConsumerMember {
                    member_id,
                    instance_id,
                    rack_id,
                    client_id,
                    client_host,
                    rebalance_timeout_ms,
                    subscribed_topic_names,
                    subscribed_topic_regex,
                    server_assignor,
                    member_epoch,
                    previous_member_epoch,
                    state,
                    assigned,
                    pending_revocation,
                    left_static,
                    session_deadline: now
                        + classic
                            .as_ref()
                            .map_or(cfg.consumer_session_timeout_ms, |c| {
                                c.session_timeout_ms.max(0) as u64
                            }),
                    classic,
                    revocation_deadline,
                    last_sent: None,
                },
            );
        }
        Ok(g)
    }
}

fn write_assignment(w: &mut Writer, a: &Assignment) {
    w.i32(a.len() as i32);
    for (t, ps) in a {
        w.u128(*t);
        w.i32(ps.len() as i32);
        for p in ps {
            w.i32(*p);
        }
    }
}

fn read_assignment(r: &mut Reader<'_>) -> Result<Assignment, RecordError> {
    let mut a = Assignment::new();
    for _ in 0..r.count(20)? {
        let t = r.u128()?;
        let mut ps = BTreeSet::new();
        for _ in 0..r.count(4)? {
            ps.insert(r.i32()?);
        }
        a.insert(t, ps);
    }
    Ok(a)
}

/// A subscription regex compiled as Kafka matches it (RE2 syntax, whole topic name).
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
}

/// Whether `topic` fully matches `pattern` (false for an invalid pattern).
pub fn regex_matches(pattern: &str, topic: &str) -> bool {
    compile_regex(pattern).is_ok_and(|re| re.is_match(topic))
}
