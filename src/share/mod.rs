//! Share groups (KIP-932, "Queues for Kafka"): the share-group coordinator and
//! the share-partitions it delivers records from.
//!
//! # Layout
//! - [`partition`]: one share-partition's in-flight records, their states,
//!   acquisition locks and delivery counts (pure state machine).
//! - [`group`]: a share group's members and the broker-side assignment.
//! - [`session`]: share sessions (the partitions and epoch of a member's
//!   ShareFetch / ShareAcknowledge sequence).
//! - [`wiring`]: the topic registry as the coordinator's catalog.
//! - [`persist`]: the durable form of every share-partition (one checkpoint
//!   file, rewritten atomically when something changed).
//!
//! [`Coordinator`] puts them behind one lock. The handlers
//! (`share_group_heartbeat`, `share_group_describe`, `share_fetch`,
//! `share_acknowledge`) read the log themselves and hand the batch offsets in.

pub mod admin;
pub mod group;
pub mod group_config;
pub mod partition;
pub mod persist;
pub mod session;
pub mod wiring;

use crate::config::group::AutoOffsetResetStrategy;
use group::{Catalog, Heartbeat, HeartbeatError, HeartbeatOk, ShareGroup};
use group_config::GroupShareSettings;
use parking_lot::Mutex;
use partition::{AckError, Acquired, Limits, LogBatch, SharePartition};
use session::{Session, SessionError, Sessions};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use weir_storage::Store;

/// A share-partition's key: (group id, topic id, partition).
pub type SpKey = (String, u128, i32);

/// Broker settings for share groups (Kafka's `group.share.*`).
#[derive(Clone, Copy, Debug)]
pub struct ShareConfig {
    pub limits: Limits,
    pub heartbeat_interval_ms: i32,
    pub session_timeout_ms: u64,
}

impl ShareConfig {
    pub fn from_settings(s: &crate::config::Settings) -> ShareConfig {
        ShareConfig {
            limits: Limits {
                delivery_count_limit: s.i64("group.share.delivery.count.limit") as i16,
                lock_duration_ms: s.i64("group.share.record.lock.duration.ms") as u64,
                max_in_flight: s.i64("group.share.partition.max.record.locks") as usize,
                renew_enabled: false,
            },
            heartbeat_interval_ms: s.i64("group.share.heartbeat.interval.ms") as i32,
            session_timeout_ms: s.i64("group.share.session.timeout.ms") as u64,
        }
    }
}

#[derive(Default)]
struct Inner {
    groups: HashMap<String, ShareGroup>,
    partitions: HashMap<SpKey, SharePartition>,
    sessions: Sessions,
}

/// The share-group coordinator: groups, share-partitions and sessions.
pub struct Coordinator {
    pub config: ShareConfig,
    inner: Mutex<Inner>,
    store: Option<Arc<Store>>,
    /// Serializes checkpoint writes so a later snapshot is never overwritten by an earlier one.
    persist_lock: Mutex<()>,
    /// Woken when records may have become available again (releases, members leaving).
    available: tokio::sync::Notify,
    /// The settings of the groups that have group configs (others run on `config`).
    group_settings: parking_lot::RwLock<HashMap<String, GroupShareSettings>>,
}

/// Milliseconds since the epoch (the clock of locks and sessions).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Coordinator {
    /// A coordinator whose share-partitions persist in `store` (reloaded now).
    pub fn open(config: ShareConfig, store: Option<Arc<Store>>) -> Result<Coordinator, String> {
        let mut inner = Inner::default();
        if let Some(st) = &store {
            if let Some(data) = st
                .read_checkpoint(persist::CHECKPOINT)
                .map_err(|e| e.to_string())?
            {
                inner.partitions = persist::decode(&data, config.limits)
                    .map_err(|e| format!("{}: {e}", persist::CHECKPOINT))?;
            }
        }
        Ok(Coordinator {
            config,
            inner: Mutex::new(inner),
            store,
            persist_lock: Mutex::new(()),
            available: tokio::sync::Notify::new(),
            group_settings: Default::default(),
        })
    }

    /// ShareGroupHeartbeat (not a leave). Members that missed their session
    /// timeout are dropped first; share-partitions newly assigned start at
    /// `catalog`'s start offset.
    pub fn heartbeat(
        &self,
        group_id: &str,
        hb: Heartbeat,
        catalog: &dyn ShareCatalog,
    ) -> Result<HeartbeatOk, HeartbeatError> {
        let now = now_ms();
        let mut inner = self.inner.lock();
        self.expire_members(&mut inner, group_id, now);
        let settings = self.settings_of(group_id);
        let g = inner
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| ShareGroup::new(group_id));
        let ok = g.heartbeat(hb, &CatalogRef(catalog), now)?;
        if let Some(a) = &ok.assignment {
            for (t, ps) in a {
                for p in ps {
                    let key = (group_id.to_string(), *t, *p);
                    if let std::collections::hash_map::Entry::Vacant(e) =
                        inner.partitions.entry(key)
                    {
                        let reset = settings.auto_offset_reset;
                        if let Some(start) = catalog.start_offset_with(*t, *p, reset) {
                            e.insert(SharePartition::new(start, settings.limits));
                        }
                    }
                }
            }
        }
        Ok(ok)
    }

    /// What a waiting ShareFetch listens to for records made available again
    /// (take `notified()` before looking, then wait on it).
    pub fn available(&self) -> &tokio::sync::Notify {
        &self.available
    }

    /// Wake waiting ShareFetches: records may be available again.
    pub fn notify_available(&self) {
        self.available.notify_waiters();
    }

    /// ShareGroupHeartbeat with epoch -1: the member leaves, its records are released.
    pub fn leave(&self, group_id: &str, member_id: &str) -> bool {
        let mut inner = self.inner.lock();
        let gone = inner
            .groups
            .get_mut(group_id)
            .is_some_and(|g| g.leave(member_id));
        release_member(&mut inner, group_id, member_id);
        drop(inner);
        self.notify_available();
        gone
    }

    fn expire_members(&self, inner: &mut Inner, group_id: &str, now: u64) {
        let Some(g) = inner.groups.get_mut(group_id) else {
            return;
        };
        let timeout = self.settings_of(group_id).session_timeout_ms;
        let gone = g.expired(now, timeout);
        for m in &gone {
            g.leave(m);
        }
        if !gone.is_empty() {
            self.available.notify_waiters();
        }
        for m in gone {
            release_member(inner, group_id, &m);
        }
    }

    /// A copy of a group (ShareGroupDescribe).
    pub fn describe(&self, group_id: &str) -> Option<ShareGroup> {
        let now = now_ms();
        let mut inner = self.inner.lock();
        self.expire_members(&mut inner, group_id, now);
        inner.groups.get(group_id).cloned()
    }

    /// Whether share group `group_id` exists.
    pub fn has_group(&self, group_id: &str) -> bool {
        self.inner.lock().groups.contains_key(group_id)
    }

    /// Every group: (id, state) (ListGroups).
    pub fn list(&self) -> Vec<(String, &'static str)> {
        let inner = self.inner.lock();
        let mut v: Vec<_> = inner
            .groups
            .values()
            .map(|g| (g.group_id.clone(), g.state()))
            .collect();
        v.sort();
        v
    }

    /// Whether `member_id` is a member of share group `group_id`.
    pub fn is_member(&self, group_id: &str, member_id: &str) -> bool {
        let inner = self.inner.lock();
        inner
            .groups
            .get(group_id)
            .is_some_and(|g| g.members.contains_key(member_id))
    }

    /// Enter the member's share session with `epoch`, then add and forget
    /// partitions (not for the final epoch). Returns the session's partitions.
    pub fn enter_session(
        &self,
        group_id: &str,
        member_id: &str,
        epoch: i32,
        add: &[(u128, i32)],
        forget: &[(u128, i32)],
    ) -> Result<BTreeSet<(u128, i32)>, SessionError> {
        let mut inner = self.inner.lock();
        let s: Session = inner.sessions.enter(group_id, member_id, epoch)?;
        if epoch == session::FINAL_EPOCH {
            return Ok(s.partitions);
        }
        Ok(inner.sessions.update(group_id, member_id, add, forget))
    }

    /// Close a member's session (final epoch): the records it holds in the
    /// session's partitions are released.
    pub fn close_session(&self, group_id: &str, member_id: &str, parts: &BTreeSet<(u128, i32)>) {
        let mut inner = self.inner.lock();
        inner.sessions.remove_member(group_id, member_id);
        for (t, p) in parts {
            if let Some(sp) = inner.partitions.get_mut(&(group_id.to_string(), *t, *p)) {
                sp.release_member(member_id);
            }
        }
        drop(inner);
        self.notify_available();
    }

    /// Apply acknowledgement batches (first, last, types) of `member` to one
    /// share-partition: the first refusal, if any (batches before it apply).
    pub fn acknowledge(
        &self,
        key: &SpKey,
        member: &str,
        batches: &[(i64, i64, Vec<i8>)],
    ) -> Result<(), AckError> {
        let now = now_ms();
        let mut inner = self.inner.lock();
        let Some(sp) = inner.partitions.get_mut(key) else {
            return Err(AckError::InvalidRecordState);
        };
        sp.expire_locks(now);
        for (first, last, types) in batches {
            sp.acknowledge(member, *first, *last, types, now)?;
        }
        Ok(())
    }

    /// Where to read the log to acquire records for share-partition `key`
    /// (created at `init_start` when new), after expiring locks: `None` when
    /// nothing can be acquired now. Also the log start offset moves the
    /// share-partition's start.
    pub fn next_fetch_offset(&self, key: &SpKey, init_start: i64, log_start: i64) -> Option<i64> {
        self.next_fetch_offset_with(key, |_| init_start, log_start)
    }

    /// [`Coordinator::next_fetch_offset`], a new share-partition starting
    /// where `init` puts the group's `share.auto.offset.reset`.
    pub fn next_fetch_offset_with(
        &self,
        key: &SpKey,
        init: impl FnOnce(AutoOffsetResetStrategy) -> i64,
        log_start: i64,
    ) -> Option<i64> {
        let now = now_ms();
        let settings = self.settings_of(&key.0);
        let mut inner = self.inner.lock();
        let sp = inner.partitions.entry(key.clone()).or_insert_with(|| {
            SharePartition::new(init(settings.auto_offset_reset), settings.limits)
        });
        if sp.start_offset() < log_start {
            sp.move_start_to(log_start);
        }
        sp.expire_locks(now);
        sp.next_fetch_offset()
    }

    /// Acquire records of `batches` for `member` in share-partition `key`.
    pub fn acquire(
        &self,
        key: &SpKey,
        member: &Arc<str>,
        max_records: usize,
        batches: &[LogBatch],
    ) -> Vec<Acquired> {
        let now = now_ms();
        let mut inner = self.inner.lock();
        match inner.partitions.get_mut(key) {
            Some(sp) => sp.acquire(member, now, max_records, batches),
            None => Vec::new(),
        }
    }

    /// The earliest acquisition-lock expiry among `keys` (a waiting ShareFetch
    /// wakes then: expired records are available again).
    pub fn next_lock_expiry(&self, keys: &[SpKey]) -> Option<u64> {
        let inner = self.inner.lock();
        keys.iter()
            .filter_map(|k| inner.partitions.get(k)?.next_lock_expiry())
            .min()
    }

    /// The start offset of a share-partition, if it exists (DescribeShareGroupOffsets).
    pub fn start_offset(&self, key: &SpKey) -> Option<i64> {
        self.inner
            .lock()
            .partitions
            .get(key)
            .map(|p| p.start_offset())
    }

    /// Every share-partition of a group: (topic id, partition, start offset), sorted.
    pub fn start_offsets(&self, group_id: &str) -> Vec<(u128, i32, i64)> {
        let inner = self.inner.lock();
        let mut v: Vec<_> = inner
            .partitions
            .iter()
            .filter(|((g, _, _), _)| g == group_id)
            .map(|((_, t, p), sp)| (*t, *p, sp.start_offset()))
            .collect();
        v.sort();
        v
    }

    /// Write every share-partition to the checkpoint if any changed. Blocking
    /// (fsync): call it off the async workers.
    pub fn persist(&self) -> Result<(), String> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let _order = self.persist_lock.lock();
        let data = {
            let mut inner = self.inner.lock();
            if !inner.partitions.values().any(SharePartition::is_dirty) {
                return Ok(());
            }
            let data = persist::encode(&inner.partitions);
            for sp in inner.partitions.values_mut() {
                sp.mark_clean();
            }
            data
        };
        store
            .write_checkpoint(persist::CHECKPOINT, &data)
            .map_err(|e| e.to_string())
    }
}

impl Coordinator {
    /// The settings group `group_id` runs on.
    pub fn settings_of(&self, group_id: &str) -> GroupShareSettings {
        self.group_settings
            .read()
            .get(group_id)
            .copied()
            .unwrap_or_else(|| GroupShareSettings::broker(&self.config))
    }

    /// A group's configs changed (`None`: it has none now): effective at once,
    /// also for its existing share-partitions.
    pub fn set_group_settings(&self, group_id: &str, settings: Option<GroupShareSettings>) {
        let limits = settings
            .unwrap_or_else(|| GroupShareSettings::broker(&self.config))
            .limits;
        match settings {
            Some(s) => self.group_settings.write().insert(group_id.to_string(), s),
            None => self.group_settings.write().remove(group_id),
        };
        let mut inner = self.inner.lock();
        for ((g, _, _), sp) in inner.partitions.iter_mut() {
            if g == group_id {
                sp.limits = limits;
            }
        }
        drop(inner);
        self.notify_available();
    }
}

/// Release the records a member holds in every share-partition of its group,
/// and drop its session.
fn release_member(inner: &mut Inner, group_id: &str, member_id: &str) {
    inner.sessions.remove_member(group_id, member_id);
    for ((g, _, _), sp) in inner.partitions.iter_mut() {
        if g == group_id {
            sp.release_member(member_id);
        }
    }
}

/// What the coordinator needs to know about topics: the assignment's catalog
/// and where a new share-partition starts (`share.auto.offset.reset`).
pub trait ShareCatalog {
    fn topic(&self, name: &str) -> Option<(u128, i32)>;
    fn start_offset(&self, topic_id: u128, partition: i32) -> Option<i64>;

    /// Where a new share-partition starts under `reset` (`share.auto.offset.reset`).
    fn start_offset_with(
        &self,
        topic_id: u128,
        partition: i32,
        reset: AutoOffsetResetStrategy,
    ) -> Option<i64> {
        let _ = reset;
        self.start_offset(topic_id, partition)
    }
}

struct CatalogRef<'a>(&'a dyn ShareCatalog);

impl Catalog for CatalogRef<'_> {
    fn topic(&self, name: &str) -> Option<(u128, i32)> {
        self.0.topic(name)
    }
}
