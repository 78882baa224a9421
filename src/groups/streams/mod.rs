//! KIP-1071 streams groups (`group.protocol=streams`): the broker holds the
//! application's topology, works out its tasks from the source topics'
//! partition counts, assigns active and standby tasks to the members
//! ([`assignor`]) and hands them out through StreamsGroupHeartbeat, member by
//! member, with member epochs and revocation before reassignment.
//!
//! Model (as Apache Kafka's `StreamsGroup` / streams `CurrentAssignmentBuilder`,
//! shaped like this crate's [`super::consumer`]):
//! - the topology arrives with the first member (epoch 0); the group's
//!   "configured topology" gives each subtopology its task count (the most
//!   partitions among its source topics), the repartition topics their
//!   partition counts, and the internal topics the broker creates
//!   ([`configure`]); while a source topic is missing the group is `NotReady`
//!   and its members are told MISSING_SOURCE_TOPICS;
//! - the group epoch is bumped by membership, topology, process/endpoint and
//!   partition-count changes; a group epoch ahead of the assignment epoch
//!   computes a new target assignment;
//! - each member converges on its target on its own heartbeats: first it gives
//!   up the tasks it must (UnrevokedTasks, epoch unchanged), then it gets the
//!   new epoch and whatever of its active target no other member still holds
//!   (UnreleasedTasks until the rest is released);
//! - static members (instance id) leaving with epoch -2 keep their tasks for a
//!   session so that the same instance gets them back;
//! - a new target assignment is computed at most once per
//!   `group.streams.assignment.interval.ms` (ASSIGNMENT_DELAYED meanwhile), and
//!   not before the initial rebalance delay of a group that was empty is over;
//! - the endpoint-information epoch is the group's own: it moves when a
//!   member's endpoint, or the tasks of a member with one, change, and a
//!   heartbeat gets the partitions by endpoint only when it knows another;
//! - no warm-up tasks: Kafka 4.4's `AssignmentRefiner` hands out none either
//!   (its refinement returns the target as it is).
//!
//! Pure logic: time is passed in, topics are looked up through [`TopicCatalog`].

pub mod assignor;

use super::consumer::{regex_matches, TopicCatalog};
use super::member_epochs::{self as epochs, Fenced, StaticLeave};
use super::records::{Reader, RecordError, Writer};
use bytes::Bytes;
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::ResponseError as E;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A task: (subtopology id, partition).
pub type TaskId = (String, i32);

/// Task sets by subtopology id.
pub type TaskSet = BTreeMap<String, BTreeSet<i32>>;

/// Active, standby and warm-up tasks of a member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tasks {
    pub active: TaskSet,
    pub standby: TaskSet,
    pub warmup: TaskSet,
}

impl Tasks {
    pub fn is_empty(&self) -> bool {
        [&self.active, &self.standby, &self.warmup]
            .iter()
            .all(|s| s.values().all(|p| p.is_empty()))
    }
    fn normalized(mut self) -> Tasks {
        for s in [&mut self.active, &mut self.standby, &mut self.warmup] {
            s.retain(|_, p| !p.is_empty());
        }
        self
    }
    fn intersects(&self, other: &Tasks) -> bool {
        fn x(a: &TaskSet, b: &TaskSet) -> bool {
            a.iter()
                .any(|(s, ps)| b.get(s).is_some_and(|o| !ps.is_disjoint(o)))
        }
        x(&self.active, &other.active)
            || x(&self.standby, &other.standby)
            || x(&self.warmup, &other.warmup)
    }
    fn flat(s: &TaskSet) -> impl Iterator<Item = TaskId> + '_ {
        s.iter()
            .flat_map(|(sub, ps)| ps.iter().map(move |p| (sub.clone(), *p)))
    }
}

/// An internal or declared topic of a subtopology (Kafka's `TopicInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    /// 0 = not fixed by the application (derived by the broker).
    pub partitions: i32,
    pub replication_factor: i16,
    pub configs: Vec<(String, String)>,
}

/// Source topics that must be co-partitioned, as indexes into the subtopology's lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopartitionGroup {
    pub source_topics: Vec<i16>,
    pub source_topic_regex: Vec<i16>,
    pub repartition_source_topics: Vec<i16>,
}

/// One subtopology of the application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subtopology {
    pub id: String,
    pub source_topics: Vec<String>,
    pub source_topic_regex: Vec<String>,
    pub changelog_topics: Vec<TopicInfo>,
    pub repartition_sink_topics: Vec<String>,
    pub repartition_source_topics: Vec<TopicInfo>,
    pub copartition_groups: Vec<CopartitionGroup>,
}

/// The application's topology as its members declare it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    pub epoch: i32,
    pub subtopologies: Vec<Subtopology>,
}

/// An Interactive Queries endpoint (`application.server`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// A StreamsGroupHeartbeat request (the fields the broker acts on).
#[derive(Debug, Clone, Default)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub endpoint_information_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub topology: Option<Topology>,
    /// Tasks the member owns; `None` = unchanged since its last heartbeat.
    pub owned: Option<Tasks>,
    pub process_id: Option<String>,
    pub user_endpoint: Option<Endpoint>,
    pub client_tags: Option<Vec<(String, String)>>,
    pub shutdown_application: bool,
    /// Cumulative changelog offsets by task; `None` = unchanged.
    pub task_offsets: Option<Vec<TaskOffset>>,
    /// Changelog end offsets by task; `None` = unchanged.
    pub task_end_offsets: Option<Vec<TaskOffset>>,
    pub client_id: String,
    pub client_host: String,
    /// The request's version (MISSING_CLIENT_TAGS is a v1+ status).
    pub version: i16,
}

/// A task's offset as members report them: (subtopology, partition, offset).
pub type TaskOffset = (String, i32, i64);

/// A status of the group in a heartbeat response (Kafka's status codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: i8,
    pub detail: String,
}

/// Status codes of StreamsGroupHeartbeatResponse.
pub mod status {
    pub const STALE_TOPOLOGY: i8 = 0;
    pub const MISSING_SOURCE_TOPICS: i8 = 1;
    pub const INCORRECTLY_PARTITIONED_TOPICS: i8 = 2;
    pub const MISSING_INTERNAL_TOPICS: i8 = 3;
    pub const SHUTDOWN_APPLICATION: i8 = 4;
    pub const ASSIGNMENT_DELAYED: i8 = 5;
    /// v1+: the member lacks a client tag `group.streams.rack.aware.assignment.tags` names.
    pub const MISSING_CLIENT_TAGS: i8 = 6;
}

/// The partitions an endpoint's member materializes (for Interactive Queries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPartitions {
    pub endpoint: Endpoint,
    pub active: Vec<(String, Vec<i32>)>,
    pub standby: Vec<(String, Vec<i32>)>,
}

/// A StreamsGroupHeartbeat response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeartbeatResponse {
    pub error: i16,
    pub error_message: Option<String>,
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    pub status: Option<Vec<Status>>,
    /// `None` when unchanged since the last response.
    pub assignment: Option<Tasks>,
    pub endpoint_information_epoch: i32,
    pub partitions_by_endpoint: Option<Vec<EndpointPartitions>>,
}

impl HeartbeatResponse {
    /// An error answer: Kafka's has every other field at its default (epoch 0,
    /// an empty status list).
    pub fn error(e: E, message: &str) -> HeartbeatResponse {
        HeartbeatResponse {
            error: e.code(),
            error_message: Some(message.to_string()),
            status: Some(Vec::new()),
            ..Default::default()
        }
    }
}

/// The broker settings a streams group reads (`group.streams.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamsConfig {
    pub session_timeout_ms: u64,
    pub heartbeat_interval_ms: i32,
    pub num_standby_replicas: usize,
    pub max_size: usize,
    /// `group.streams.initial.rebalance.delay.ms`: how long the first target
    /// assignment of a group that was empty waits for more members.
    pub initial_rebalance_delay_ms: u64,
    /// `group.streams.assignment.interval.ms`: the least time between two
    /// target assignments of a group (0: none); a heartbeat that would
    /// recompute it sooner is answered ASSIGNMENT_DELAYED, as Kafka 4.4.
    pub assignment_interval_ms: u64,
    /// `group.streams.rack.aware.assignment.tags`: client tag keys each member
    /// must send when standbys are configured (MISSING_CLIENT_TAGS otherwise).
    /// Kafka 4.4's sticky assignor does not place standbys by them either.
    pub rack_aware_assignment_tags: Vec<String>,
}

impl Default for StreamsConfig {
    /// Kafka 4.4's defaults.
    fn default() -> Self {
        StreamsConfig {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
            num_standby_replicas: 0,
            max_size: i32::MAX as usize,
            initial_rebalance_delay_ms: 3_000,
            assignment_interval_ms: 1_000,
            rack_aware_assignment_tags: Vec::new(),
        }
    }
}

/// Where a member is in converging on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Stable,
    UnrevokedTasks,
    UnreleasedTasks,
}

impl MemberState {
    /// Kafka's names (StreamsGroupDescribe does not show them; logs and tests do).
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Stable => "STABLE",
            MemberState::UnrevokedTasks => "UNREVOKED_TASKS",
            MemberState::UnreleasedTasks => "UNRELEASED_TASKS",
        }
    }
}

/// One member of a streams group (a stream thread's consumer).
#[derive(Debug, Clone)]
pub struct StreamsMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub process_id: String,
    pub user_endpoint: Option<Endpoint>,
    pub client_tags: Vec<(String, String)>,
    pub topology_epoch: i32,
    pub rebalance_timeout_ms: i32,
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub assigned: Tasks,
    pub pending_revocation: Tasks,
    /// A static member that left with epoch -2: its tasks are kept for its successor.
    pub left_static: bool,
    pub(in crate::groups) session_deadline: u64,
    /// While revoking: the member is expelled if it has not revoked by then
    /// (its rebalance timeout), as Kafka fences it.
    revocation_deadline: Option<u64>,
    last_sent: Option<Tasks>,
    /// The last task offsets and end offsets the member reported (Kafka's
    /// `MemberTaskOffsets`: shown by StreamsGroupDescribe, not persisted).
    pub task_offsets: BTreeMap<(String, i32), i64>,
    pub task_end_offsets: BTreeMap<(String, i32), i64>,
}

/// The configured topology: what the topology means against the broker's topics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configured {
    /// Task count per subtopology (empty when not ready).
    pub tasks: BTreeMap<String, i32>,
    /// Source topics that do not exist (the group is not ready).
    pub missing_source_topics: Vec<String>,
    /// Why the topology cannot be configured otherwise (INCORRECTLY_PARTITIONED_TOPICS).
    pub error: Option<String>,
    /// The internal topics the topology needs: repartition then changelog topics.
    pub internal_topics: Vec<TopicInfo>,
    /// Those of them that do not exist (the group is not ready).
    pub missing_internal_topics: Vec<String>,
    /// Source topic names by subtopology (regexes resolved), for endpoints.
    pub sources: BTreeMap<String, Vec<String>>,
}

impl Configured {
    pub fn is_ready(&self) -> bool {
        self.missing_source_topics.is_empty()
            && self.error.is_none()
            && self.missing_internal_topics.is_empty()
    }
}

/// Work out task counts and internal topics of `topology` against the topics
/// of `catalog` (Kafka's `InternalTopicManager.configureTopics`).
pub fn configure(topology: &Topology, catalog: &dyn TopicCatalog) -> Configured {
    let mut c = Configured::default();
    let mut counts: HashMap<String, i32> = HashMap::new();
    let internal: BTreeSet<&str> = topology
        .subtopologies
        .iter()
        .flat_map(|s| s.repartition_source_topics.iter().map(|t| t.name.as_str()))
        .collect();
    let mut all_names: Option<Vec<String>> = None;
    let mut missing = BTreeSet::new();
    for s in &topology.subtopologies {
        let mut sources = Vec::new();
        for t in &s.source_topics {
            match catalog.topic(t) {
                Some((_, n)) => {
                    counts.insert(t.clone(), n);
                }
                None => {
                    missing.insert(t.clone());
                }
            }
            sources.push(t.clone());
        }
        for re in &s.source_topic_regex {
            let all = all_names.get_or_insert_with(|| catalog.topic_names());
            let matched: Vec<&String> = all
                .iter()
                .filter(|t| !internal.contains(t.as_str()) && regex_matches(re, t))
                .collect();
            if matched.is_empty() {
                missing.insert(re.clone());
            }
            for t in matched {
                if let Some((_, n)) = catalog.topic(t) {
                    counts.insert(t.clone(), n);
                    sources.push(t.clone());
                }
            }
        }
        sources.extend(s.repartition_source_topics.iter().map(|t| t.name.clone()));
        c.sources.insert(s.id.clone(), sources);
    }
    c.missing_source_topics = missing.into_iter().collect();
    if !c.is_ready() {
        return c;
    }
    // Repartition topics: as declared, else as many partitions as the
    // subtopologies writing to them have tasks.
    let mut repartition: HashMap<&str, i32> = HashMap::new();
    for s in &topology.subtopologies {
        for t in &s.repartition_source_topics {
            if t.partitions > 0 {
                repartition.insert(&t.name, t.partitions);
            }
        }
    }
    let task_count = |s: &Subtopology, repartition: &HashMap<&str, i32>| -> Option<i32> {
        let mut max = 0;
        for t in &c.sources[&s.id] {
            let n = match counts.get(t) {
                Some(n) => *n,
                None => *repartition.get(t.as_str())?,
            };
            max = max.max(n);
        }
        Some(max)
    };
    for _ in 0..=topology.subtopologies.len() {
        let mut changed = false;
        for s in &topology.subtopologies {
            for sink in &s.repartition_sink_topics {
                if repartition.contains_key(sink.as_str()) || !internal.contains(sink.as_str()) {
                    continue;
                }
                if let Some(n) = task_count(s, &repartition).filter(|n| *n > 0) {
                    let key = internal.get(sink.as_str()).copied().unwrap();
                    repartition.insert(key, n);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    if internal.iter().any(|t| !repartition.contains_key(t)) {
        c.error = Some(
            "Failed to compute number of partitions for all repartition topics. There may be \
             loops in the topology that cannot be resolved."
                .into(),
        );
        return c;
    }
    // Co-partitioned source topics must agree.
    for s in &topology.subtopologies {
        for g in &s.copartition_groups {
            let mut names: Vec<&str> = Vec::new();
            names.extend(
                g.source_topics
                    .iter()
                    .filter_map(|i| s.source_topics.get(*i as usize))
                    .map(|t| t.as_str()),
            );
            names.extend(
                g.repartition_source_topics
                    .iter()
                    .filter_map(|i| s.repartition_source_topics.get(*i as usize))
                    .map(|t| t.name.as_str()),
            );
            let ns: BTreeSet<i32> = names
                .iter()
                .filter_map(|t| counts.get(*t).or_else(|| repartition.get(t)).copied())
                .collect();
            if ns.len() > 1 {
                c.error = Some(format!(
                    "Following topics do not have the same number of partitions: [{}]",
                    names.join(", ")
                ));
                return c;
            }
        }
    }
    for s in &topology.subtopologies {
        let n = task_count(s, &repartition).unwrap_or(0);
        c.tasks.insert(s.id.clone(), n);
    }
    for s in &topology.subtopologies {
        for t in &s.repartition_source_topics {
            let mut t = t.clone();
            t.partitions = repartition[t.name.as_str()];
            if !t.configs.iter().any(|(k, _)| k == "cleanup.policy") {
                t.configs.push(("cleanup.policy".into(), "delete".into()));
            }
            c.internal_topics.push(t);
        }
    }
    for s in &topology.subtopologies {
        for t in &s.changelog_topics {
            let mut t = t.clone();
            t.partitions = c.tasks[&s.id];
            if !t.configs.iter().any(|(k, _)| k == "cleanup.policy") {
                t.configs.push(("cleanup.policy".into(), "compact".into()));
            }
            c.internal_topics.push(t);
        }
    }
    c.missing_internal_topics = c
        .internal_topics
        .iter()
        .filter(|t| catalog.topic(&t.name).is_none())
        .map(|t| t.name.clone())
        .collect();
    c
}

/// A streams group.
#[derive(Debug)]
pub struct StreamsGroup {
    pub group_id: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub topology: Option<Topology>,
    /// The configured topology when the group epoch was last bumped.
    pub configured: Configured,
    pub members: IndexMap<String, StreamsMember>,
    pub target: HashMap<String, Tasks>,
    /// The member that asked the whole application to shut down.
    pub shutdown_requested_by: Option<String>,
    /// Restored from the log: only the task counts of `configured` are known
    /// until the next heartbeat recomputes it (without a rebalance when they agree).
    restored: bool,
    /// While a first member's initial rebalance delay runs (Kafka's
    /// "initial-rebalance" timer): no target assignment before then.
    initial_delay_until: Option<u64>,
    /// When the target assignment was last computed (Kafka's assignment
    /// timestamp, for `assignment_interval_ms`); in memory, as the clock is
    /// the coordinator's since start.
    assignment_time: Option<u64>,
    /// The standby count and rack-aware tags of the last heartbeat (Kafka's
    /// "last assignment configs"): a change recomputes the assignment.
    last_assignment_config: Option<(usize, Vec<String>)>,
    /// Kafka's endpoint-information epoch: bumped when a member's endpoint
    /// changes, or the tasks of a member with an endpoint; a heartbeat gets
    /// the partitions by endpoint only when it knows another epoch. In
    /// memory, as Kafka's.
    pub endpoint_information_epoch: i32,
    dirty: bool,
}

/// Why a heartbeat did not get a new target assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delay {
    InitialRebalance,
    Interval,
}

impl StreamsGroup {
    pub fn new(group_id: &str) -> StreamsGroup {
        StreamsGroup {
            group_id: group_id.to_string(),
            group_epoch: 0,
            assignment_epoch: 0,
            topology: None,
            configured: Configured::default(),
            members: IndexMap::new(),
            target: HashMap::new(),
            shutdown_requested_by: None,
            restored: false,
            initial_delay_until: None,
            assignment_time: None,
            last_assignment_config: None,
            endpoint_information_epoch: 0,
            dirty: false,
        }
    }

    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Kafka's streams group state names.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.topology.is_none() || !self.configured.is_ready() {
            "NotReady"
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

    /// Every source topic of the topology (offset expiry keeps their offsets).
    pub fn source_topics(&self) -> BTreeSet<String> {
        self.configured
            .sources
            .values()
            .flatten()
            .cloned()
            .collect()
    }

    fn bump_epoch(&mut self) {
        self.group_epoch += 1;
        self.dirty = true;
    }

    /// Handle a StreamsGroupHeartbeat.
    pub fn heartbeat(
        &mut self,
        req: HeartbeatRequest,
        now: u64,
        cfg: &StreamsConfig,
        catalog: &dyn TopicCatalog,
    ) -> HeartbeatResponse {
        if req.member_epoch < 0 {
            return self.leave(req, now, cfg.session_timeout_ms);
        }
        let member_id = req.member_id.clone();
        let mut bump = false;
        let was_empty = self.members.is_empty();
        if req.member_epoch == 0 {
            let Some(topology) = &req.topology else {
                return HeartbeatResponse::error(
                    E::InvalidRequest,
                    "Topology must be non-null when (re-)joining.",
                );
            };
            if let Some(mine) = &self.topology {
                // Kafka 4.4 answers any other topology of a live group so.
                if topology.epoch >= mine.epoch && topology != mine && !self.members.is_empty() {
                    return HeartbeatResponse::error(
                        E::InvalidRequest,
                        "Topology updates are not supported yet.",
                    );
                }
            }
            if self.members.is_empty() && self.topology.as_ref() != Some(topology) {
                self.topology = Some(topology.clone());
                bump = true;
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
                            &format!(
                                "Static member {holder} with instance id {} cannot be replaced \
                                 because it has not left the group.",
                                req.instance_id.as_deref().unwrap_or_default()
                            ),
                        );
                    }
                    // The static member comes back: its epoch and tasks move to the new id.
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
                    // A live member joining again with epoch 0 stays as it is
                    // (its epoch, tasks and state), as Kafka's
                    // `getOrCreateDefaultMember`: it reconciles from there.
                    if let Some(m) = self.members.get_mut(&member_id) {
                        if m.left_static {
                            m.left_static = false;
                            m.member_epoch = m.previous_member_epoch;
                        }
                    } else {
                        if self.members.len() >= cfg.max_size {
                            return HeartbeatResponse::error(
                                E::GroupMaxSizeReached,
                                &format!(
                                    "The streams group has reached its maximum capacity of {} \
                                     members.",
                                    cfg.max_size
                                ),
                            );
                        }
                        self.members.insert(
                            member_id.clone(),
                            StreamsMember {
                                member_id: member_id.clone(),
                                instance_id: req.instance_id.clone(),
                                rack_id: None,
                                client_id: String::new(),
                                client_host: String::new(),
                                process_id: String::new(),
                                user_endpoint: None,
                                client_tags: Vec::new(),
                                topology_epoch: topology.epoch,
                                rebalance_timeout_ms: req.rebalance_timeout_ms,
                                member_epoch: 0,
                                previous_member_epoch: 0,
                                state: MemberState::Stable,
                                assigned: Tasks::default(),
                                pending_revocation: Tasks::default(),
                                left_static: false,
                                session_deadline: now + cfg.session_timeout_ms,
                                revocation_deadline: None,
                                last_sent: None,
                                task_offsets: BTreeMap::new(),
                                task_end_offsets: BTreeMap::new(),
                            },
                        );
                        bump = true;
                    }
                }
            }
            if let Some(m) = self.members.get_mut(&member_id) {
                m.topology_epoch = topology.epoch;
            }
        } else {
            let Some(m) = self.members.get(&member_id) else {
                return HeartbeatResponse::error(
                    E::UnknownMemberId,
                    &epochs::not_a_member(&member_id, &self.group_id),
                );
            };
            let owned_ok = req.owned.as_ref().is_some_and(|o| {
                Tasks::flat(&o.active).all(|(s, p)| {
                    m.assigned.active.get(&s).is_some_and(|ps| ps.contains(&p))
                        || m.pending_revocation
                            .active
                            .get(&s)
                            .is_some_and(|ps| ps.contains(&p))
                })
            });
            let fenced = match epochs::check_epoch(
                req.member_epoch,
                m.member_epoch,
                m.previous_member_epoch,
                owned_ok,
            ) {
                _ if m.left_static => Some(Fenced::Greater),
                r => r.err(),
            };
            if fenced == Some(Fenced::Greater) {
                return HeartbeatResponse::error(
                    E::FencedMemberEpoch,
                    &format!(
                        "The streams group member has a greater member epoch ({}) than the one \
                         known by the group coordinator ({}). The member must abandon all its \
                         partitions and rejoin.",
                        req.member_epoch, m.member_epoch
                    ),
                );
            }
            if fenced == Some(Fenced::Smaller) {
                return HeartbeatResponse::error(
                    E::FencedMemberEpoch,
                    &format!(
                        "The received member epoch {} does not match the expected member epoch \
                         {}.",
                        req.member_epoch, m.member_epoch
                    ),
                );
            }
        }

        let (old_tasks, old_endpoint) = {
            let m = &self.members[&member_id];
            (m.assigned.clone(), m.user_endpoint.clone())
        };
        // Update the member from the request.
        {
            let m = self.members.get_mut(&member_id).unwrap();
            m.session_deadline = now + cfg.session_timeout_ms;
            if req.rebalance_timeout_ms > 0 {
                m.rebalance_timeout_ms = req.rebalance_timeout_ms;
            }
            if let Some(p) = &req.process_id {
                if *p != m.process_id {
                    m.process_id = p.clone();
                    bump = true;
                }
            }
            if req.user_endpoint.is_some() && req.user_endpoint != m.user_endpoint {
                m.user_endpoint = req.user_endpoint.clone();
                bump = true;
            }
            if let Some(tags) = &req.client_tags {
                if *tags != m.client_tags {
                    m.client_tags = tags.clone();
                    bump = true;
                }
            }
            if req.instance_id.is_some() {
                m.instance_id = req.instance_id.clone();
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
            // As Kafka's `MemberTaskOffsets.update`: a list replaces, null keeps.
            let by_task = |xs: &[TaskOffset]| -> BTreeMap<(String, i32), i64> {
                xs.iter().map(|(s, p, o)| ((s.clone(), *p), *o)).collect()
            };
            if let Some(xs) = &req.task_offsets {
                m.task_offsets = by_task(xs);
            }
            if let Some(xs) = &req.task_end_offsets {
                m.task_end_offsets = by_task(xs);
            }
        }
        // As Kafka: a change of the assignment configs (standby replicas,
        // rack-aware tags, with the group's overrides) recomputes the target.
        let assignment_config = (
            cfg.num_standby_replicas,
            cfg.rack_aware_assignment_tags.clone(),
        );
        if self.last_assignment_config.as_ref() != Some(&assignment_config) {
            bump |= self.last_assignment_config.is_some();
            self.last_assignment_config = Some(assignment_config);
        }
        if req.shutdown_application && self.shutdown_requested_by.is_none() {
            self.shutdown_requested_by = Some(member_id.clone());
            self.dirty = true;
        }
        let configured = self
            .topology
            .as_ref()
            .map(|t| configure(t, catalog))
            .unwrap_or_default();
        if configured != self.configured {
            let same_tasks = configured.tasks == self.configured.tasks;
            self.configured = configured;
            bump |= !(std::mem::take(&mut self.restored) && same_tasks);
        }
        self.restored = false;
        if bump {
            self.bump_epoch();
        }
        // As Kafka: a member joining an empty group starts the initial
        // rebalance delay (unless one runs); the target waits for it.
        // Meanwhile the target is empty at the group epoch and the group epoch
        // moves one ahead for the computation at the end of the delay (what a
        // Kafka 4.4 broker answers: member epoch 1 without tasks, then 2).
        if was_empty && cfg.initial_rebalance_delay_ms > 0 && self.initial_delay_until.is_none() {
            self.initial_delay_until = Some(now + cfg.initial_rebalance_delay_ms);
            self.target.clear();
            self.assignment_epoch = self.group_epoch;
            self.bump_epoch();
        }
        let delayed = self.maybe_compute_target(cfg, now).err();
        self.reconcile(&member_id, req.owned.as_ref(), now);
        {
            // Kafka's `hasUserEndpointChanged` / `hasAssignedTasksChanged`.
            let m = &self.members[&member_id];
            if m.user_endpoint != old_endpoint
                || (m.user_endpoint.is_some() && m.assigned != old_tasks)
            {
                self.endpoint_information_epoch += 1;
            }
        }

        let mut statuses = Vec::new();
        if let Some(d) = delayed {
            let why = match d {
                Delay::InitialRebalance => "initial rebalance delay",
                Delay::Interval => "assignment interval",
            };
            statuses.push(Status {
                code: status::ASSIGNMENT_DELAYED,
                detail: format!("Assignment delayed due to the configured {why}."),
            });
        }
        if let Some(by) = &self.shutdown_requested_by {
            statuses.push(Status {
                code: status::SHUTDOWN_APPLICATION,
                detail: format!(
                    "Streams group member {by} encountered a fatal error and requested a \
                     shutdown for the entire application."
                ),
            });
        }
        if !self.configured.missing_source_topics.is_empty() {
            statuses.push(Status {
                code: status::MISSING_SOURCE_TOPICS,
                detail: format!(
                    "Source topics {} are missing.",
                    self.configured.missing_source_topics.join(", ")
                ),
            });
        }
        if !self.configured.missing_internal_topics.is_empty() {
            statuses.push(Status {
                code: status::MISSING_INTERNAL_TOPICS,
                detail: format!(
                    "Internal topics are missing: {}",
                    self.configured.missing_internal_topics.join(", ")
                ),
            });
        }
        if let Some(e) = &self.configured.error {
            statuses.push(Status {
                code: status::INCORRECTLY_PARTITIONED_TOPICS,
                detail: e.clone(),
            });
        }
        let group_topology_epoch = self.topology.as_ref().map_or(-1, |t| t.epoch);
        let full = req.member_epoch == 0 || req.owned.is_some();
        let endpoints = (req.endpoint_information_epoch != self.endpoint_information_epoch)
            .then(|| self.endpoint_partitions());
        let m = self.members.get_mut(&member_id).unwrap();
        if m.topology_epoch < group_topology_epoch {
            statuses.push(Status {
                code: status::STALE_TOPOLOGY,
                detail: format!(
                    "The member's topology epoch {} is behind the group's topology epoch {}.",
                    m.topology_epoch, group_topology_epoch
                ),
            });
        }
        // As Kafka 4.4 (v1+): with standbys and rack-aware tags configured, a
        // member without one of the tags is told so (it still gets tasks).
        if req.version >= 1 && cfg.num_standby_replicas >= 1 {
            let missing: Vec<&str> = cfg
                .rack_aware_assignment_tags
                .iter()
                .filter(|t| !m.client_tags.iter().any(|(k, _)| k == *t))
                .map(|t| t.as_str())
                .collect();
            if !missing.is_empty() {
                statuses.push(Status {
                    code: status::MISSING_CLIENT_TAGS,
                    detail: format!(
                        "Missing required client tags for rack-aware standby assignment: [{}]. \
                         Configure them via 'client.tag.<tagKey>' in your Streams config.",
                        missing.join(", ")
                    ),
                });
            }
        }
        let send = full || m.last_sent.as_ref() != Some(&m.assigned);
        if send {
            m.last_sent = Some(m.assigned.clone());
        }
        HeartbeatResponse {
            error: 0,
            error_message: None,
            member_id,
            member_epoch: m.member_epoch,
            heartbeat_interval_ms: cfg.heartbeat_interval_ms,
            status: Some(statuses),
            assignment: send.then(|| m.assigned.clone()),
            endpoint_information_epoch: self.endpoint_information_epoch,
            partitions_by_endpoint: endpoints,
        }
    }

    /// The topic partitions each member with an endpoint materializes.
    fn endpoint_partitions(&self) -> Vec<EndpointPartitions> {
        let parts = |s: &TaskSet| -> Vec<(String, Vec<i32>)> {
            let mut by_topic: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
            for (sub, ps) in s {
                for t in self.configured.sources.get(sub).into_iter().flatten() {
                    by_topic.entry(t.clone()).or_default().extend(ps);
                }
            }
            by_topic
                .into_iter()
                .map(|(t, ps)| (t, ps.into_iter().collect()))
                .collect()
        };
        self.members
            .values()
            .filter_map(|m| {
                let e = m.user_endpoint.clone()?;
                Some(EndpointPartitions {
                    endpoint: e,
                    active: parts(&m.assigned.active),
                    standby: parts(&m.assigned.standby),
                })
            })
            .collect()
    }

    fn leave(&mut self, req: HeartbeatRequest, now: u64, session: u64) -> HeartbeatResponse {
        let Some(m) = self.members.get_mut(&req.member_id) else {
            return HeartbeatResponse::error(
                E::UnknownMemberId,
                &epochs::not_a_member(&req.member_id, &self.group_id),
            );
        };
        if req.member_epoch == -2 && m.instance_id.is_some() {
            // A static member stepping out: its tasks wait a session for it.
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
            member_id: req.member_id,
            member_epoch: req.member_epoch,
            status: Some(Vec::new()),
            ..Default::default()
        }
    }

    pub fn remove_member(&mut self, member_id: &str) {
        if self.members.shift_remove(member_id).is_some() {
            self.target.remove(member_id);
            if self.shutdown_requested_by.as_deref() == Some(member_id) || self.members.is_empty() {
                self.shutdown_requested_by = None;
            }
            self.bump_epoch();
        }
    }

    /// Compute a new target assignment when the group epoch is ahead of it,
    /// unless the initial rebalance delay or the assignment interval (since
    /// the last computation, as Kafka's `canComputeNextTargetAssignment`)
    /// holds it back.
    fn maybe_compute_target(&mut self, cfg: &StreamsConfig, now: u64) -> Result<(), Delay> {
        match self.initial_delay_until {
            Some(until) if now < until => return Err(Delay::InitialRebalance),
            Some(_) => self.initial_delay_until = None,
            None => {}
        }
        if self.group_epoch <= self.assignment_epoch {
            return Ok(());
        }
        if let Some(at) = self.assignment_time {
            if cfg.assignment_interval_ms > 0 && now < at + cfg.assignment_interval_ms {
                return Err(Delay::Interval);
            }
        }
        // A topology that is not ready has no tasks (Kafka's empty target).
        let ready = self.configured.is_ready();
        let tasks: Vec<TaskId> = self
            .configured
            .tasks
            .iter()
            .filter(|_| ready)
            .flat_map(|(s, n)| (0..*n).map(move |p| (s.clone(), p)))
            .collect();
        let members: Vec<assignor::AssignorMember> = self
            .members
            .values()
            .map(|m| assignor::AssignorMember {
                member_id: m.member_id.clone(),
                process_id: m.process_id.clone(),
                prev_active: Tasks::flat(&m.assigned.active)
                    .chain(Tasks::flat(&m.pending_revocation.active))
                    .collect(),
                prev_standby: Tasks::flat(&m.assigned.standby)
                    .chain(Tasks::flat(&m.assigned.warmup))
                    .collect(),
            })
            .collect();
        self.target = assignor::assign(&members, &tasks, cfg.num_standby_replicas)
            .into_iter()
            .map(|(k, v)| (k, v.normalized()))
            .collect();
        self.assignment_epoch = self.group_epoch;
        self.assignment_time = Some(now);
        self.dirty = true;
        Ok(())
    }

    /// Active tasks held (assigned or being revoked) by members other than `except`.
    fn active_held_by_others(&self, except: &str) -> TaskSet {
        epochs::union(
            self.members
                .values()
                .filter(|m| m.member_id != except)
                .flat_map(|m| [&m.assigned.active, &m.pending_revocation.active]),
        )
    }

    /// Move one member towards its target (Kafka's streams `CurrentAssignmentBuilder`).
    fn reconcile(&mut self, member_id: &str, owned: Option<&Tasks>, now: u64) {
        let assignment_epoch = self.assignment_epoch;
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let held = self.active_held_by_others(member_id);
        let m = self.members.get_mut(member_id).unwrap();
        if m.state == MemberState::UnrevokedTasks {
            match owned {
                Some(o) if !o.intersects(&m.pending_revocation) => {
                    m.pending_revocation = Tasks::default();
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
        let (keep_a, rev_a) = epochs::keep_and_revoke(&m.assigned.active, &target.active);
        let (keep_s, rev_s) = epochs::keep_and_revoke(&m.assigned.standby, &target.standby);
        let (keep_w, rev_w) = epochs::keep_and_revoke(&m.assigned.warmup, &target.warmup);
        self.dirty = true;
        if !(rev_a.is_empty() && rev_s.is_empty() && rev_w.is_empty()) {
            m.assigned = Tasks {
                active: keep_a,
                standby: keep_s,
                warmup: keep_w,
            };
            m.pending_revocation = Tasks {
                active: rev_a,
                standby: rev_s,
                warmup: rev_w,
            };
            m.state = MemberState::UnrevokedTasks;
            m.revocation_deadline = Some(now + m.rebalance_timeout_ms.max(0) as u64);
            return;
        }
        let (active, unreleased) = epochs::take_released(keep_a, &target.active, &held);
        m.assigned = Tasks {
            active,
            standby: target.standby.clone(),
            warmup: target.warmup.clone(),
        };
        if m.member_epoch != assignment_epoch {
            m.previous_member_epoch = m.member_epoch;
            m.member_epoch = assignment_epoch;
        }
        m.state = if unreleased {
            MemberState::UnreleasedTasks
        } else {
            MemberState::Stable
        };
    }

    /// Expel members whose session ended or who did not revoke in time; at
    /// the end of the initial rebalance delay, compute the target assignment
    /// (members pick it up on their next heartbeats).
    pub fn expire(&mut self, now: u64, cfg: &StreamsConfig) {
        if self.initial_delay_until.is_some_and(|d| d <= now) {
            if self.members.is_empty() {
                self.initial_delay_until = None;
            } else {
                let _ = self.maybe_compute_target(cfg, now);
            }
        }
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
        let members = self
            .members
            .values()
            .map(|m| (m.session_deadline, m.revocation_deadline));
        epochs::earliest(members)
            .into_iter()
            .chain(self.initial_delay_until)
            .min()
    }

    /// Snapshot for the internal log.
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::default();
        w.i16(0);
        w.i32(self.group_epoch);
        w.i32(self.assignment_epoch);
        match &self.topology {
            None => w.i8(0),
            Some(t) => {
                w.i8(1);
                write_topology(&mut w, t);
            }
        }
        w.opt_string(self.shutdown_requested_by.as_deref());
        w.i32(self.members.len() as i32);
        for m in self.members.values() {
            w.string(&m.member_id);
            w.opt_string(m.instance_id.as_deref());
            w.opt_string(m.rack_id.as_deref());
            w.string(&m.client_id);
            w.string(&m.client_host);
            w.string(&m.process_id);
            match &m.user_endpoint {
                None => w.i8(0),
                Some(e) => {
                    w.i8(1);
                    w.string(&e.host);
                    w.i32(e.port as i32);
                }
            }
            write_pairs(&mut w, &m.client_tags);
            w.i32(m.topology_epoch);
            w.i32(m.rebalance_timeout_ms);
            w.i32(m.member_epoch);
            w.i32(m.previous_member_epoch);
            w.i8(match m.state {
                MemberState::Stable => 0,
                MemberState::UnrevokedTasks => 1,
                MemberState::UnreleasedTasks => 2,
            });
            w.i8(i8::from(m.left_static));
            write_tasks(&mut w, &m.assigned);
            write_tasks(&mut w, &m.pending_revocation);
            write_tasks(
                &mut w,
                self.target.get(&m.member_id).unwrap_or(&Tasks::default()),
            );
        }
        w.i32(self.configured.tasks.len() as i32);
        for (sub, n) in &self.configured.tasks {
            w.string(sub);
            w.i32(*n);
        }
        w.finish()
    }

    /// Rebuild from a snapshot; members get a fresh session to come back in.
    /// The configured topology is recomputed on the next heartbeat.
    pub fn decode(
        group_id: &str,
        buf: &[u8],
        now: u64,
        session_timeout_ms: u64,
    ) -> Result<StreamsGroup, RecordError> {
        let mut r = Reader::new(buf);
        let _version = r.i16()?;
        let mut g = StreamsGroup::new(group_id);
        g.group_epoch = r.i32()?;
        g.assignment_epoch = r.i32()?;
        if r.i8()? == 1 {
            g.topology = Some(read_topology(&mut r)?);
        }
        g.shutdown_requested_by = r.opt_string()?;
        for _ in 0..r.count(20)? {
            let member_id = r.string()?;
            let instance_id = r.opt_string()?;
            let rack_id = r.opt_string()?;
            let client_id = r.string()?;
            let client_host = r.string()?;
            let process_id = r.string()?;
            let user_endpoint = if r.i8()? == 1 {
                Some(Endpoint {
                    host: r.string()?,
                    port: r.i32()? as u16,
                })
            } else {
                None
            };
            let client_tags = read_pairs(&mut r)?;
            let topology_epoch = r.i32()?;
            let rebalance_timeout_ms = r.i32()?;
            let member_epoch = r.i32()?;
            let previous_member_epoch = r.i32()?;
            let state = match r.i8()? {
                1 => MemberState::UnrevokedTasks,
                2 => MemberState::UnreleasedTasks,
                _ => MemberState::Stable,
            };
            let left_static = r.i8()? != 0;
            let assigned = read_tasks(&mut r)?;
            let pending_revocation = read_tasks(&mut r)?;
            let target = read_tasks(&mut r)?;
            if !target.is_empty() {
                g.target.insert(member_id.clone(), target);
            }
            g.members.insert(
                member_id.clone(),
                StreamsMember {
                    member_id,
                    instance_id,
                    rack_id,
                    client_id,
                    client_host,
                    process_id,
                    user_endpoint,
                    client_tags,
                    topology_epoch,
                    rebalance_timeout_ms,
                    member_epoch,
                    previous_member_epoch,
                    state,
                    assigned,
                    pending_revocation,
                    left_static,
                    session_deadline: now + session_timeout_ms,
                    revocation_deadline: (state == MemberState::UnrevokedTasks)
                        .then_some(now + rebalance_timeout_ms.max(0) as u64),
                    last_sent: None,
                    task_offsets: BTreeMap::new(),
                    task_end_offsets: BTreeMap::new(),
                },
            );
        }
        for _ in 0..r.count(6)? {
            let sub = r.string()?;
            g.configured.tasks.insert(sub, r.i32()?);
        }
        g.restored = true;
        Ok(g)
    }
}

fn write_pairs(w: &mut Writer, pairs: &[(String, String)]) {
    w.i32(pairs.len() as i32);
    for (k, v) in pairs {
        w.string(k);
        w.string(v);
    }
}

fn read_pairs(r: &mut Reader) -> Result<Vec<(String, String)>, RecordError> {
    let mut out = Vec::new();
    for _ in 0..r.count(4)? {
        out.push((r.string()?, r.string()?));
    }
    Ok(out)
}

fn write_strings(w: &mut Writer, xs: &[String]) {
    w.i32(xs.len() as i32);
    for x in xs {
        w.string(x);
    }
}

fn read_strings(r: &mut Reader) -> Result<Vec<String>, RecordError> {
    let mut out = Vec::new();
    for _ in 0..r.count(2)? {
        out.push(r.string()?);
    }
    Ok(out)
}

fn write_i16s(w: &mut Writer, xs: &[i16]) {
    w.i32(xs.len() as i32);
    for x in xs {
        w.i16(*x);
    }
}

fn read_i16s(r: &mut Reader) -> Result<Vec<i16>, RecordError> {
    let mut out = Vec::new();
    for _ in 0..r.count(2)? {
        out.push(r.i16()?);
    }
    Ok(out)
}

fn write_topic_infos(w: &mut Writer, ts: &[TopicInfo]) {
    w.i32(ts.len() as i32);
    for t in ts {
        w.string(&t.name);
        w.i32(t.partitions);
        w.i16(t.replication_factor);
        write_pairs(w, &t.configs);
    }
}

fn read_topic_infos(r: &mut Reader) -> Result<Vec<TopicInfo>, RecordError> {
    let mut out = Vec::new();
    for _ in 0..r.count(12)? {
        out.push(TopicInfo {
            name: r.string()?,
            partitions: r.i32()?,
            replication_factor: r.i16()?,
            configs: read_pairs(r)?,
        });
    }
    Ok(out)
}

fn write_topology(w: &mut Writer, t: &Topology) {
    w.i32(t.epoch);
    w.i32(t.subtopologies.len() as i32);
    for s in &t.subtopologies {
        w.string(&s.id);
        write_strings(w, &s.source_topics);
        write_strings(w, &s.source_topic_regex);
        write_topic_infos(w, &s.changelog_topics);
        write_strings(w, &s.repartition_sink_topics);
        write_topic_infos(w, &s.repartition_source_topics);
        w.i32(s.copartition_groups.len() as i32);
        for g in &s.copartition_groups {
            write_i16s(w, &g.source_topics);
            write_i16s(w, &g.source_topic_regex);
            write_i16s(w, &g.repartition_source_topics);
        }
    }
}

fn read_topology(r: &mut Reader) -> Result<Topology, RecordError> {
    let epoch = r.i32()?;
    let mut subtopologies = Vec::new();
    for _ in 0..r.count(22)? {
        let id = r.string()?;
        let source_topics = read_strings(r)?;
        let source_topic_regex = read_strings(r)?;
        let changelog_topics = read_topic_infos(r)?;
        let repartition_sink_topics = read_strings(r)?;
        let repartition_source_topics = read_topic_infos(r)?;
        let mut copartition_groups = Vec::new();
        for _ in 0..r.count(12)? {
            copartition_groups.push(CopartitionGroup {
                source_topics: read_i16s(r)?,
                source_topic_regex: read_i16s(r)?,
                repartition_source_topics: read_i16s(r)?,
            });
        }
        subtopologies.push(Subtopology {
            id,
            source_topics,
            source_topic_regex,
            changelog_topics,
            repartition_sink_topics,
            repartition_source_topics,
            copartition_groups,
        });
    }
    Ok(Topology {
        epoch,
        subtopologies,
    })
}

fn write_task_set(w: &mut Writer, s: &TaskSet) {
    w.i32(s.len() as i32);
    for (sub, ps) in s {
        w.string(sub);
        w.i32(ps.len() as i32);
        for p in ps {
            w.i32(*p);
        }
    }
}

fn read_task_set(r: &mut Reader) -> Result<TaskSet, RecordError> {
    let mut s = TaskSet::new();
    for _ in 0..r.count(6)? {
        let sub = r.string()?;
        let mut ps = BTreeSet::new();
        for _ in 0..r.count(4)? {
            ps.insert(r.i32()?);
        }
        s.insert(sub, ps);
    }
    Ok(s)
}

fn write_tasks(w: &mut Writer, t: &Tasks) {
    write_task_set(w, &t.active);
    write_task_set(w, &t.standby);
    write_task_set(w, &t.warmup);
}

fn read_tasks(r: &mut Reader) -> Result<Tasks, RecordError> {
    Ok(Tasks {
        active: read_task_set(r)?,
        standby: read_task_set(r)?,
        warmup: read_task_set(r)?,
    })
}

#[cfg(test)]
mod tests;
