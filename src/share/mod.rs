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
//! - [`persist`]: the durable form of every share-partition (a state log of
//!   changes, one frame per request, compacted into a checkpoint).
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
use partition::{AckError, AcquireMode, Acquired, Limits, LogBatch, SharePartition};
use session::{Session, SessionError, Sessions};
use std::collections::{BTreeSet, HashMap, HashSet};
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
    /// When the state log is fsynced (the broker's `log.flush.interval.*`).
    pub flush: persist::FlushPolicy,
}

impl ShareConfig {
    pub fn from_settings(s: &crate::config::Settings) -> ShareConfig {
        ShareConfig {
            limits: Limits {
                delivery_count_limit: s.i64("group.share.delivery.count.limit") as i16,
                lock_duration_ms: s.i64("group.share.record.lock.duration.ms") as u64,
                max_in_flight: s.i64("group.share.partition.max.record.locks") as usize,
                // `share.renew.acknowledge.enable` defaults to true, as in Kafka 4.4
                // (a group config only: no broker key).
                renew_enabled: true,
            },
            heartbeat_interval_ms: s.i64("group.share.heartbeat.interval.ms") as i32,
            session_timeout_ms: s.i64("group.share.session.timeout.ms") as u64,
            flush: persist::FlushPolicy {
                messages: s.flush_interval_messages(),
                interval_ms: s.flush_interval_ms(),
            },
        }
    }
}

#[derive(Default)]
struct Inner {
    groups: HashMap<String, ShareGroup>,
    partitions: HashMap<SpKey, SharePartition>,
    sessions: Sessions,
    /// Share-partitions changed since the last persist.
    dirty: HashSet<SpKey>,
    /// Share-partitions deleted since the last persist.
    removed: HashSet<SpKey>,
}

impl Inner {
    /// Note that `key`'s share-partition may have changed (persisted if it did).
    fn touched(&mut self, key: &SpKey) {
        if !self.dirty.contains(key) && self.partitions.get(key).is_some_and(|p| p.is_dirty()) {
            self.dirty.insert(key.clone());
        }
    }
}

/// The persistence side of the coordinator (see [`persist`]).
struct Durable {
    store: Arc<Store>,
    log: persist::StateLog,
    /// The sequence number of the last frame written.
    seq: u64,
    /// The last checkpoint's size (the log is compacted at 4x).
    checkpoint_len: u64,
    /// A frame could not be written: the next persist writes a checkpoint.
    needs_checkpoint: bool,
    /// Reused frame buffer.
    buf: Vec<u8>,
}

/// The share-group coordinator: groups, share-partitions and sessions.
pub struct Coordinator {
    pub config: ShareConfig,
    inner: Mutex<Inner>,
    /// The state log and checkpoint (`None`: not persisted). Its lock
    /// serializes writes, so frames reach the log in the order of the changes.
    durable: Mutex<Option<Durable>>,
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
        let mut durable = None;
        if let Some(store) = store {
            let (parts, replayed) = persist::load(store.dir(), config.limits)
                .map_err(|e| format!("share-group state: {e}"))?;
            inner.partitions = parts;
            let log = persist::StateLog::open(store.dir(), replayed.valid_len)
                .map_err(|e| format!("{}: {e}", persist::STATE_LOG))?;
            let checkpoint_len = std::fs::metadata(store.dir().join(persist::CHECKPOINT))
                .map(|m| m.len())
                .unwrap_or(0);
            durable = Some(Durable {
                store,
                log,
                seq: replayed.seq,
                checkpoint_len,
                needs_checkpoint: false,
                buf: Vec::new(),
            });
        }
        Ok(Coordinator {
            config,
            inner: Mutex::new(inner),
            durable: Mutex::new(durable),
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
                            inner.dirty.insert((group_id.to_string(), *t, *p));
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
            let key = (group_id.to_string(), *t, *p);
            if let Some(sp) = inner.partitions.get_mut(&key) {
                sp.release_member(member_id);
                inner.touched(&key);
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
        let mut result = Ok(());
        for (first, last, types) in batches {
            result = sp.acknowledge(member, *first, *last, types, now);
            if result.is_err() {
                break;
            }
        }
        inner.touched(key);
        result
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
        let next = sp.next_fetch_offset();
        inner.touched(key);
        next
    }

    /// Acquire records of `batches` for `member` in share-partition `key`.
    pub fn acquire(
        &self,
        key: &SpKey,
        member: &Arc<str>,
        max_records: usize,
        mode: AcquireMode,
        batches: &[LogBatch],
    ) -> Vec<Acquired> {
        let now = now_ms();
        let mut inner = self.inner.lock();
        let acquired = match inner.partitions.get_mut(key) {
            Some(sp) => sp.acquire(member, now, max_records, mode, batches),
            None => Vec::new(),
        };
        inner.touched(key);
        acquired
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

    /// A share-partition's (start offset, delivery-complete count): what its
    /// lag is computed from (DescribeShareGroupOffsets v1, KIP-1226).
    pub fn lag_basis(&self, key: &SpKey) -> Option<(i64, i64)> {
        self.inner
            .lock()
            .partitions
            .get(key)
            .map(|p| (p.start_offset(), p.delivery_complete_count()))
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

    /// Delete a share-partition (DeleteShareGroupOffsets): `false` when it
    /// did not exist. The deletion is persisted by the next [`Coordinator::persist`].
    pub fn delete_partition(&self, key: &SpKey) -> bool {
        let mut inner = self.inner.lock();
        let gone = inner.partitions.remove(key).is_some();
        if gone {
            inner.dirty.remove(key);
            inner.removed.insert(key.clone());
        }
        gone
    }

    /// Make the share-partitions changed since the last call durable against
    /// a SIGKILL: one frame appended to the state log (one `write(2)`, fsynced
    /// by the flush policy), compacted into the checkpoint now and then.
    /// Returns once the frame is written: call it before answering a request
    /// that changed share state. Blocking: call it off the async workers.
    pub fn persist(&self) -> Result<(), String> {
        let mut guard = self.durable.lock();
        let Some(d) = guard.as_mut() else {
            return Ok(());
        };
        if d.needs_checkpoint {
            return self.checkpoint(d);
        }
        {
            let mut inner = self.inner.lock();
            if inner.dirty.is_empty() && inner.removed.is_empty() {
                return Ok(());
            }
            let inner = &mut *inner;
            d.seq += 1;
            d.buf.clear();
            let changed = inner
                .dirty
                .iter()
                .filter_map(|k| Some((k, Some(inner.partitions.get(k)?))));
            let removed = inner.removed.iter().map(|k| (k, None));
            persist::encode_frame(d.seq, changed.chain(removed), &mut d.buf);
            for k in inner.dirty.drain() {
                if let Some(sp) = inner.partitions.get_mut(&k) {
                    sp.mark_clean();
                }
            }
            inner.removed.clear();
        }
        if let Err(e) = d.log.append(&d.buf, self.config.flush) {
            // The changes are no longer marked dirty: a checkpoint holds them all.
            tracing::warn!("{}: {e}; writing a checkpoint instead", persist::STATE_LOG);
            d.needs_checkpoint = true;
            return self.checkpoint(d);
        }
        if d.log.len() >= persist::COMPACT_MIN_BYTES && d.log.len() >= 4 * d.checkpoint_len {
            return self.checkpoint(d);
        }
        Ok(())
    }

    /// Write every share-partition to the checkpoint now (and empty the state
    /// log): for changes made to `partitions` directly, outside the dirty
    /// tracking of [`Coordinator::persist`] (admin operations that insert or
    /// remove share-partitions). Blocking (fsync).
    pub fn persist_all(&self) -> Result<(), String> {
        match self.durable.lock().as_mut() {
            Some(d) => self.checkpoint(d),
            None => Ok(()),
        }
    }

    /// Compact: every share-partition into the checkpoint (atomic, fsynced),
    /// then an empty state log.
    fn checkpoint(&self, d: &mut Durable) -> Result<(), String> {
        let data = {
            let mut inner = self.inner.lock();
            let inner = &mut *inner;
            inner.dirty.clear();
            inner.removed.clear();
            for sp in inner.partitions.values_mut() {
                sp.mark_clean();
            }
            persist::encode(&inner.partitions, d.seq)
        };
        d.store
            .write_checkpoint(persist::CHECKPOINT, &data)
            .map_err(|e| e.to_string())?;
        d.needs_checkpoint = false;
        d.checkpoint_len = data.len() as u64;
        // Frames left behind by a failed truncation carry sequence numbers the
        // checkpoint holds: recovery skips them.
        d.log.truncate().map_err(|e| e.to_string())
    }

    /// Whether the state log holds frames older than `log.flush.interval.ms`
    /// (the flusher then calls [`Coordinator::flush`]). Never waits.
    pub fn flush_due(&self) -> bool {
        self.durable.try_lock().is_some_and(|d| {
            d.as_ref()
                .is_some_and(|d| d.log.sync_due(self.config.flush))
        })
    }

    /// fsync the state log. Blocking.
    pub fn flush(&self) -> Result<(), String> {
        match self.durable.lock().as_mut() {
            Some(d) => d.log.sync().map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// At a clean shutdown: persist what changed and compact, so the next
    /// start reads one fsynced checkpoint. Blocking.
    pub fn close(&self) -> Result<(), String> {
        self.persist()?;
        let mut guard = self.durable.lock();
        match guard.as_mut() {
            Some(d) if !d.log.is_empty() || d.needs_checkpoint => self.checkpoint(d),
            _ => Ok(()),
        }
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
    let Inner {
        partitions, dirty, ..
    } = inner;
    for (k, sp) in partitions.iter_mut() {
        if k.0 == group_id {
            sp.release_member(member_id);
            if sp.is_dirty() && !dirty.contains(k) {
                dirty.insert(k.clone());
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use partition::{LogBatch, RecordState};

    fn config(messages: Option<u64>) -> ShareConfig {
        ShareConfig {
            limits: Limits::default(),
            heartbeat_interval_ms: 5000,
            session_timeout_ms: 45_000,
            flush: persist::FlushPolicy {
                messages,
                interval_ms: None,
            },
        }
    }

    fn open(dir: &std::path::Path) -> Coordinator {
        let store = Arc::new(Store::open(dir).unwrap());
        Coordinator::open(config(None), Some(store)).unwrap()
    }

    fn batch(base: i64, last: i64) -> [LogBatch; 1] {
        [LogBatch {
            base_offset: base,
            last_offset: last,
            skip: false,
        }]
    }

    /// One request's worth of work: acquire `first..=last` and accept it, persist.
    fn consume(c: &Coordinator, key: &SpKey, first: i64, last: i64) {
        let m: Arc<str> = Arc::from("m");
        assert_eq!(c.next_fetch_offset(key, 0, 0), Some(first));
        let a = c.acquire(key, &m, 1000, AcquireMode::RecordLimit, &batch(first, last));
        assert_eq!(a.len(), 1);
        c.persist().unwrap();
        c.acknowledge(key, "m", &[(first, last, vec![1])]).unwrap();
        c.persist().unwrap();
    }

    #[test]
    fn state_survives_a_crash_through_the_log_and_compaction_truncates_it() {
        let dir = tempfile::tempdir().unwrap();
        let key: SpKey = ("g".into(), 9, 0);
        {
            let c = open(dir.path());
            consume(&c, &key, 0, 9);
            let m: Arc<str> = Arc::from("m");
            c.acquire(&key, &m, 1000, AcquireMode::RecordLimit, &batch(10, 14));
            c.acknowledge(&key, "m", &[(12, 12, vec![1])]).unwrap();
            c.persist().unwrap();
            // Nothing changed: nothing written.
            let len = std::fs::metadata(dir.path().join(persist::STATE_LOG))
                .unwrap()
                .len();
            c.persist().unwrap();
            assert_eq!(
                std::fs::metadata(dir.path().join(persist::STATE_LOG))
                    .unwrap()
                    .len(),
                len
            );
            // Dropped without close: a SIGKILL as far as the files go.
        }
        assert!(!dir.path().join(persist::CHECKPOINT).exists());
        let c = open(dir.path());
        assert_eq!(c.start_offset(&key), Some(10));
        {
            let inner = c.inner.lock();
            let sp = &inner.partitions[&key];
            assert_eq!(sp.record(10), Some((RecordState::Available, 1)));
            assert_eq!(sp.record(12), Some((RecordState::Acknowledged, 1)));
        }
        // A clean close compacts: checkpoint written, log empty, same state after.
        c.close().unwrap();
        drop(c);
        assert_eq!(
            std::fs::metadata(dir.path().join(persist::STATE_LOG))
                .unwrap()
                .len(),
            0
        );
        let c = open(dir.path());
        assert_eq!(c.start_offset(&key), Some(10));
        assert_eq!(
            c.inner.lock().partitions[&key].record(12),
            Some((RecordState::Acknowledged, 1))
        );
        // A deletion is a frame too.
        assert!(c.delete_partition(&key));
        c.persist().unwrap();
        drop(c);
        let c = open(dir.path());
        assert_eq!(c.start_offset(&key), None);
        // Changes made to the map directly (admin operations) are kept by persist_all.
        let other: SpKey = ("g".into(), 9, 1);
        consume(&c, &key, 0, 0);
        c.inner
            .lock()
            .partitions
            .insert(other.clone(), SharePartition::new(7, Limits::default()));
        c.inner.lock().partitions.remove(&key);
        c.persist_all().unwrap();
        drop(c);
        let c = open(dir.path());
        assert_eq!(c.start_offset(&key), None);
        assert_eq!(c.start_offset(&other), Some(7));
    }

    #[test]
    fn a_broker_without_share_groups_writes_no_share_files() {
        let dir = tempfile::tempdir().unwrap();
        let c = open(dir.path());
        c.persist().unwrap();
        c.close().unwrap();
        drop(c);
        assert!(!dir.path().join(persist::STATE_LOG).exists());
        assert!(!dir.path().join(persist::CHECKPOINT).exists());
    }

    #[test]
    fn the_log_is_compacted_once_it_is_large() {
        let dir = tempfile::tempdir().unwrap();
        let key: SpKey = ("g".into(), 9, 0);
        let c = open(dir.path());
        let mut next = 0;
        let mut compacted = false;
        for _ in 0..200_000 {
            consume(&c, &key, next, next);
            next += 1;
            if dir.path().join(persist::CHECKPOINT).exists() {
                compacted = true;
                break;
            }
        }
        assert!(compacted, "no checkpoint after {next} requests");
        let log_len = std::fs::metadata(dir.path().join(persist::STATE_LOG))
            .unwrap()
            .len();
        assert!(log_len < 1000, "log truncated after compaction: {log_len}");
        consume(&c, &key, next, next + 4);
        drop(c);
        assert_eq!(open(dir.path()).start_offset(&key), Some(next + 5));
    }
}
