//! The group coordinator: consumer groups and their committed offsets.
//!
//! The broker is coordinator for every group (one node). This module owns the
//! group state (classic protocol and KIP-848), the committed offsets, and their
//! durability in an internal compacted log like Kafka's `__consumer_offsets`,
//! replayed at start-up so that a restart loses no commit and no group.
//!
//! # Layout
//! - [`classic`]: the classic protocol's state machine (JoinGroup, SyncGroup,
//!   Heartbeat, LeaveGroup; static membership; rebalance/session/sync timeouts).
//! - [`consumer`]: KIP-848 consumer groups (ConsumerGroupHeartbeat: member
//!   epochs, broker-side assignment, incremental revocation, regex subscriptions).
//! - [`assignor`]: the broker-side assignors (`uniform`, `range`).
//! - [`expiry`]: committed-offset expiry (`offsets.retention.minutes`).
//! - [`protocol`]: reading the classic `consumer` embedded protocol metadata.
//! - [`records`]: keys and values of the internal log.
//! - [`log`]: the [`log::GroupLog`] seam: in memory, or a storage partition log.
//! - [`wiring`]: the coordinator inside the broker (internal topic, settings, topics).
//! - this file: [`Coordinator`], the thread-safe front the handlers call: it
//!   validates requests, routes them to the group, persists what changed, and
//!   drives every timer from one background task (deadlines, no polling).
//!
//! Time inside the state machines is milliseconds since the coordinator
//! started (monotonic); commit and state timestamps, and offset expiry, use the
//! (injectable) wall clock.

pub mod assignor;
pub mod classic;
pub mod consumer;
pub mod expiry;
pub mod log;
pub mod protocol;
pub mod records;
pub mod wiring;

use self::classic::{
    ClassicGroup, ClassicState, GroupSnapshot, JoinRequest, JoinResponse, Reply, SyncRequest,
    SyncResponse,
};
use self::consumer::{ConsumerGroup, HeartbeatRequest, HeartbeatResponse, TopicCatalog};
use self::log::{GroupLog, LogRecord};
use self::records::{OffsetValue, RecordKey};
use kafka_protocol::ResponseError as E;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::Notify;

pub use self::assignor::Assignment;

/// Broker settings of the coordinator (Kafka's property names in [`GroupConfig::KEYS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms` (3000).
    pub initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms` (6000).
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (1800000).
    pub max_session_timeout_ms: i32,
    /// `group.max.size` (unbounded).
    pub max_size: usize,
    /// `group.consumer.session.timeout.ms` (45000).
    pub consumer_session_timeout_ms: u64,
    /// `group.consumer.heartbeat.interval.ms` (5000).
    pub consumer_heartbeat_interval_ms: u64,
    /// `group.consumer.max.size` (unbounded).
    pub consumer_max_size: usize,
    /// `offset.metadata.max.bytes` (4096).
    pub offset_metadata_max_bytes: usize,
    /// `offsets.retention.minutes` (10080), in milliseconds.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms` (600000).
    pub offsets_retention_check_interval_ms: u64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: 3000,
            min_session_timeout_ms: 6000,
            max_session_timeout_ms: 1_800_000,
            max_size: i32::MAX as usize,
            consumer_session_timeout_ms: 45_000,
            consumer_heartbeat_interval_ms: 5000,
            consumer_max_size: i32::MAX as usize,
            offset_metadata_max_bytes: 4096,
            offsets_retention_ms: 10080 * 60_000,
            offsets_retention_check_interval_ms: 600_000,
        }
    }
}

impl GroupConfig {
    /// The broker property names this module reads.
    pub const KEYS: [&'static str; 10] = [
        "group.initial.rebalance.delay.ms",
        "group.min.session.timeout.ms",
        "group.max.session.timeout.ms",
        "group.max.size",
        "group.consumer.session.timeout.ms",
        "group.consumer.heartbeat.interval.ms",
        "group.consumer.max.size",
        "offset.metadata.max.bytes",
        "offsets.retention.minutes",
        "offsets.retention.check.interval.ms",
    ];

    /// Build from broker settings; `get` returns the configured value of a key.
    /// An unparsable value is an error naming the key.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<GroupConfig, String> {
        fn parse<T: std::str::FromStr>(
            key: &str,
            v: Option<String>,
            default: T,
        ) -> Result<T, String> {
            match v {
                None => Ok(default),
                Some(s) => s
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid value {s:?} for {key}")),
            }
        }
        let d = GroupConfig::default();
        let k = Self::KEYS;
        let cfg = GroupConfig {
            initial_rebalance_delay_ms: parse(k[0], get(k[0]), d.initial_rebalance_delay_ms)?,
            min_session_timeout_ms: parse(k[1], get(k[1]), d.min_session_timeout_ms)?,
            max_session_timeout_ms: parse(k[2], get(k[2]), d.max_session_timeout_ms)?,
            max_size: parse(k[3], get(k[3]), d.max_size)?,
            consumer_session_timeout_ms: parse(k[4], get(k[4]), d.consumer_session_timeout_ms)?,
            consumer_heartbeat_interval_ms: parse(
                k[5],
                get(k[5]),
                d.consumer_heartbeat_interval_ms,
            )?,
            consumer_max_size: parse(k[6], get(k[6]), d.consumer_max_size)?,
            offset_metadata_max_bytes: parse(k[7], get(k[7]), d.offset_metadata_max_bytes)?,
            offsets_retention_ms: parse::<i64>(k[8], get(k[8]), 10080)?.saturating_mul(60_000),
            offsets_retention_check_interval_ms: parse(
                k[9],
                get(k[9]),
                d.offsets_retention_check_interval_ms,
            )?,
        };
        if cfg.offsets_retention_ms < 60_000 {
            return Err("offsets.retention.minutes must be at least 1".into());
        }
        if cfg.offsets_retention_check_interval_ms == 0 {
            return Err("offsets.retention.check.interval.ms must be at least 1".into());
        }
        if cfg.min_session_timeout_ms > cfg.max_session_timeout_ms {
            return Err(
                "group.min.session.timeout.ms is above group.max.session.timeout.ms".into(),
            );
        }
        Ok(cfg)
    }
}

/// A fresh member id: 32 hex digits, unique within this process and across restarts.
pub fn new_member_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut words = [0u64; 2];
    for (i, w) in words.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u128(nanos);
        h.write_usize(i);
        *w = h.finish();
    }
    format!("{:016x}{:016x}", words[0], words[1])
}

/// A group of either kind, with its committed offsets.
#[derive(Debug)]
pub enum GroupKind {
    Classic(ClassicGroup),
    Consumer(ConsumerGroup),
}

#[derive(Debug)]
struct Group {
    kind: GroupKind,
    offsets: BTreeMap<(String, i32), OffsetValue>,
}

impl Group {
    fn classic(id: &str) -> Group {
        Group {
            kind: GroupKind::Classic(ClassicGroup::new(id)),
            offsets: BTreeMap::new(),
        }
    }
    fn has_members(&self) -> bool {
        match &self.kind {
            GroupKind::Classic(g) => !g.is_empty(),
            GroupKind::Consumer(g) => !g.members.is_empty(),
        }
    }
    fn next_deadline(&self) -> Option<u64> {
        match &self.kind {
            GroupKind::Classic(g) => g.next_deadline(),
            GroupKind::Consumer(g) => g.next_deadline(),
        }
    }
}

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

struct Inner {
    state: Mutex<BTreeMap<String, Group>>,
    cfg: GroupConfig,
    /// Set at start-up when the internal topic exists, else on first use ([`Coordinator::attach_log`]).
    log: std::sync::OnceLock<Arc<dyn GroupLog>>,
    wake: Notify,
    clock: Instant,
    /// Wall-clock milliseconds: commit timestamps, state timestamps, offset expiry.
    wall: WallClock,
    stopped: AtomicBool,
}

/// The coordinator's wall clock (milliseconds since the epoch); injectable so
/// that tests of offset expiry do not sleep.
pub type WallClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// What one offset expiry pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiryOutcome {
    /// (group, topic, partition) of every committed offset removed.
    pub offsets: Vec<(String, String, i32)>,
    /// Empty groups removed because none of their offsets remained.
    pub groups: Vec<String>,
}

/// Why the coordinator could not start.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    #[error(transparent)]
    Log(#[from] log::GroupLogError),
}

/// The group coordinator; cheap to clone (shared state).
#[derive(Clone)]
pub struct Coordinator {
    inner: Arc<Inner>,
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Coordinator {
    /// Open the coordinator over its log, replaying every record in it.
    pub fn open(cfg: GroupConfig, log: Arc<dyn GroupLog>) -> Result<Coordinator, CoordinatorError> {
        let c = Coordinator::open_lazy(cfg);
        c.attach_log(log)?;
        Ok(c)
    }

    /// A coordinator without its log yet (the internal topic is created on first
    /// use, as Kafka does): anything that must be written fails with
    /// COORDINATOR_NOT_AVAILABLE until [`Coordinator::attach_log`].
    pub fn open_lazy(cfg: GroupConfig) -> Coordinator {
        Coordinator::open_lazy_with_clock(cfg, Arc::new(wall_ms))
    }

    /// [`Coordinator::open_lazy`] with the given wall clock.
    pub fn open_lazy_with_clock(cfg: GroupConfig, wall: WallClock) -> Coordinator {
        let inner = Inner {
            state: Mutex::new(BTreeMap::new()),
            cfg,
            log: std::sync::OnceLock::new(),
            wake: Notify::new(),
            clock: Instant::now(),
            wall,
            stopped: AtomicBool::new(false),
        };
        Coordinator {
            inner: Arc::new(inner),
        }
    }

    /// [`Coordinator::open`] with the given wall clock.
    pub fn open_with_clock(
        cfg: GroupConfig,
        log: Arc<dyn GroupLog>,
        wall: WallClock,
    ) -> Result<Coordinator, CoordinatorError> {
        let c = Coordinator::open_lazy_with_clock(cfg, wall);
        c.attach_log(log)?;
        Ok(c)
    }

    /// Whether the internal log is attached.
    pub fn has_log(&self) -> bool {
        self.inner.log.get().is_some()
    }

    /// Attach the internal log and replay it; a no-op if one is attached already.
    pub fn attach_log(&self, log: Arc<dyn GroupLog>) -> Result<(), CoordinatorError> {
        if self.inner.log.set(log).is_ok() {
            self.replay()?;
        }
        Ok(())
    }

    fn log(&self) -> Result<&Arc<dyn GroupLog>, log::GroupLogError> {
        self.inner.log.get().ok_or(log::GroupLogError::NotReady)
    }

    pub fn config(&self) -> &GroupConfig {
        &self.inner.cfg
    }

    fn now(&self) -> u64 {
        self.inner.clock.elapsed().as_millis() as u64
    }

    fn wall(&self) -> i64 {
        (self.inner.wall)()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Group>> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn replay(&self) -> Result<(), CoordinatorError> {
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
            eprintln!(
                "weir: group coordinator skipped {bad} undecodable records of {}",
                log::OFFSETS_TOPIC
            );
        }
        Ok(())
    }

    /// Append the snapshot of a group that changed (best effort: group metadata is
    /// rebuilt by the members' next rebalance if it is lost).
    fn persist(&self, group_id: &str, g: &mut Group) {
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
        };
        if let Err(e) = self.log().and_then(|l| l.append(&[rec])) {
            eprintln!("weir: could not persist group {group_id}: {e}");
        }
    }

    /// Run the coordinator's timers until [`Coordinator::shutdown`]. Spawn it once.
    pub async fn run_timers(self) {
        let interval = self.inner.cfg.offsets_retention_check_interval_ms.max(1);
        let mut next_expiry = self.now().saturating_add(interval);
        while !self.inner.stopped.load(Ordering::Acquire) {
            if self.now() >= next_expiry {
                self.expire_offsets().await;
                next_expiry = self.now().saturating_add(interval);
            }
            let next = {
                let now = self.now();
                let mut groups = self.lock();
                let ids: Vec<String> = groups.keys().cloned().collect();
                let mut next: Option<u64> = None;
                for id in ids {
                    let g = groups.get_mut(&id).unwrap();
                    if g.next_deadline().is_some_and(|d| d <= now) {
                        match &mut g.kind {
                            GroupKind::Classic(c) => {
                                let before = c.state;
                                c.expire(now, &self.inner.cfg);
                                self.stamp(c, before);
                            }
                            GroupKind::Consumer(c) => c.expire(now),
                        }
                        self.persist(&id, g);
                    }
                    if let Some(d) = g.next_deadline() {
                        next = Some(next.map_or(d, |n| n.min(d)));
                    }
                }
                Some(next.map_or(next_expiry, |n| n.min(next_expiry)))
            };
            let sleep_ms = next.map_or(60_000, |d| d.saturating_sub(self.now()).clamp(1, 60_000));
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(sleep_ms)) => {}
                _ = self.inner.wake.notified() => {}
            }
        }
    }

    /// Kafka's `currentStateTimestamp`: the wall-clock time a classic group last
    /// changed state (persisted with the group; offset expiry of an Empty group
    /// counts from it).
    fn stamp(&self, c: &mut ClassicGroup, before: ClassicState) {
        if c.state != before {
            c.state_timestamp = Some(self.wall());
        }
    }

    /// Stop the timer task (group state stays as persisted).
    pub fn shutdown(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        self.inner.wake.notify_one();
    }

    fn touched(&self) {
        self.inner.wake.notify_one();
    }

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
            eprintln!("weir: could not persist group {group_id}: {e}");
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
        match groups.get_mut(group_id).map(|g| &mut g.kind) {
            Some(GroupKind::Classic(c)) => c.heartbeat(member_id, instance_id, generation, now),
            _ => E::UnknownMemberId.code(),
        }
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
        if req.group_id.is_empty() {
            return all(E::InvalidGroupId.code());
        }
        let (results, last_offset) = {
            let mut groups = self.lock();
            if let Err(code) = self.validate_commit(&mut groups, &req) {
                return all(code);
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
                        let v = OffsetValue {
                            offset: *offset,
                            leader_epoch: *leader_epoch,
                            metadata,
                            commit_timestamp: ts,
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
                    eprintln!("weir: offset commit for group {} failed: {e}", req.group_id);
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
                eprintln!(
                    "weir: offset commit for group {} not durable: {e}",
                    req.group_id
                );
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
            return Err(E::IllegalGeneration.code());
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
                    return Err(E::FencedMemberEpoch.code());
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
        if group_id.is_empty() {
            return Err(E::InvalidGroupId.code());
        }
        let groups = self.lock();
        let g = groups.get(group_id);
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
                    eprintln!("weir: offset delete for group {group_id} failed: {e}");
                    return Err(E::CoordinatorNotAvailable.code());
                }
            }
        };
        self.sync(last.1).await;
        Ok(last.0)
    }

    async fn sync(&self, offset: i64) {
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
            eprintln!("weir: group log sync failed: {e}");
        }
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
                                eprintln!("weir: delete of group {id} failed: {e}");
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

#[cfg(test)]
mod tests;
