//! The topic registry and the partitions behind it: topic name, topic id (UUID),
//! partition count and config overrides, persisted with `Store::write_checkpoint`;
//! per partition the log (log start / end offset = high watermark on this single
//! node), the idempotent-producer and transaction state (last stable offset,
//! aborted transactions, transaction markers), and wake-ups for waiting fetches.
//!
//! Handlers go through this module for everything that touches partition data;
//! it is the only broker module that calls the storage crate's log API.

use crate::config::topic::{TopicConfig, TopicConfigError};
use crate::config::Settings;
use crate::ids;
use crate::producer_state::{BatchMeta, ProducerError, ProducerStateTable, SeqCheck};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use tokio::sync::Notify;
use uuid::Uuid;
use weir_storage::batch::{iter_batches, iter_batches_lenient};
use weir_storage::{AppendOptions, PartitionLog, StorageError, Store, TopicPartition};

/// Checkpoint holding the topic registry.
pub const TOPICS_CHECKPOINT: &str = "weir-topics.checkpoint";
/// Checkpoint holding every partition's idempotent-producer state snapshot.
pub const PRODUCER_SNAPSHOT: &str = "weir-producer-state.checkpoint";
/// Kafka's internal topics (reported with `is_internal`).
pub const INTERNAL_TOPICS: &[&str] = &["__consumer_offsets", "__transaction_state"];
/// Kafka's maximum topic name length.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// Why a topic operation failed; handlers map these to Kafka error codes.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("invalid topic name '{0}': {1}")]
    InvalidName(String, &'static str),
    #[error("topic '{0}' already exists")]
    AlreadyExists(String),
    #[error("unknown topic '{0}'")]
    UnknownTopic(String),
    #[error("invalid partition count: {0}")]
    InvalidPartitions(String),
    #[error(transparent)]
    InvalidConfig(#[from] TopicConfigError),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("topic registry checkpoint is corrupt: {0}")]
    CorruptRegistry(String),
}

/// Why an append failed.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error(transparent)]
    Producer(#[from] ProducerError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Check a topic name as Kafka does: 1-249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    let bad = |why| Err(TopicError::InvalidName(name.to_string(), why));
    if name.is_empty() {
        return bad("the empty string is not allowed");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are not allowed");
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return bad("longer than 249 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return bad("only ASCII alphanumerics, '.', '_' and '-' are allowed");
    }
    Ok(())
}

/// What an append did (or found: a duplicate retry reports the original offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub base_offset: i64,
    pub last_offset: i64,
    /// LogAppendTime stamped, or -1.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    /// True when the batch was a retry of one already stored (nothing was written).
    pub duplicate: bool,
}

/// One partition of a topic.
pub struct Partition {
    pub topic: String,
    pub index: i32,
    pub log: Arc<PartitionLog>,
    /// Idempotent-producer state; its lock also serialises appends to this partition.
    producers: Mutex<ProducerStateTable>,
    /// Producer state changed since the last snapshot.
    producers_dirty: std::sync::atomic::AtomicBool,
    /// First offset of the earliest ongoing transaction, -1 when none: a copy of
    /// the producer state's, readable without the append lock (fetches). It is
    /// lowered before transactional data becomes visible and raised after a
    /// marker, so a reader that loads the high watermark first never sees a
    /// last stable offset past an open transaction.
    first_unstable: AtomicI64,
    waiters: Mutex<Vec<Weak<Notify>>>,
}

impl Partition {
    fn new(topic: &str, index: i32, log: Arc<PartitionLog>, producers: ProducerStateTable) -> Self {
        let first_unstable = AtomicI64::new(producers.first_unstable_offset().unwrap_or(-1));
        Partition {
            topic: topic.to_string(),
            index,
            log,
            producers: Mutex::new(producers),
            producers_dirty: std::sync::atomic::AtomicBool::new(false),
            first_unstable,
            waiters: Mutex::new(Vec::new()),
        }
    }

    pub fn tp(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.index)
    }

    /// The high watermark: on a single node, everything appended is committed.
    pub fn high_watermark(&self) -> i64 {
        self.log.log_end_offset()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log.log_start_offset()
    }

    /// Append a validated record set. Batches from idempotent producers are
    /// checked against the producer state first: a retry of a stored batch is
    /// answered with its original offsets and not stored again. Transactional
    /// batches are refused (no check can admit them here): use
    /// [`Partition::append_verified`].
    pub fn append(&self, records: &[u8], opts: AppendOptions) -> Result<AppendResult, AppendError> {
        self.append_verified(records, opts, &|pid, _| {
            Err(ProducerError::MissingTransactionalId { producer_id: pid })
        })
    }

    /// [`Partition::append`], where every transactional batch's (producer id,
    /// epoch) is first checked by `verify_txn` (the transaction coordinator: is
    /// this partition in that producer's ongoing transaction?). The check runs
    /// under this partition's append lock, which the coordinator's marker writes
    /// also take, so no batch of an ended transaction can land after its marker.
    pub fn append_verified(
        &self,
        records: &[u8],
        opts: AppendOptions,
        verify_txn: &dyn Fn(i64, i16) -> Result<(), ProducerError>,
    ) -> Result<AppendResult, AppendError> {
        let mut producers = self.producers.lock().unwrap_or_else(|e| e.into_inner());
        // Producer checks, on a scratch copy when there are several batches.
        let mut idempotent = Vec::new();
        for batch in iter_batches(records) {
            let batch = batch.map_err(StorageError::from)?;
            if batch.is_control() {
                // Markers are the coordinator's alone (Kafka's LogValidator).
                return Err(ProducerError::ControlBatch.into());
            }
            if batch.producer_id() >= 0 {
                if batch.is_transactional() {
                    if producers.is_stale_epoch(batch.producer_id(), batch.producer_epoch()) {
                        let current = producers.get(batch.producer_id()).map_or(-1, |e| e.epoch);
                        return Err(ProducerError::InvalidEpoch {
                            producer_id: batch.producer_id(),
                            epoch: batch.producer_epoch(),
                            current,
                        }
                        .into());
                    }
                    verify_txn(batch.producer_id(), batch.producer_epoch())?;
                }
                producers.check_txn(batch.producer_id(), batch.is_transactional())?;
                idempotent.push((
                    batch.producer_id(),
                    batch.producer_epoch(),
                    batch.base_sequence(),
                    batch.last_sequence(),
                ));
            }
        }
        if let [(pid, epoch, first, last)] = idempotent[..] {
            if let SeqCheck::Duplicate(meta) = producers.check(pid, epoch, first, last)? {
                return Ok(AppendResult {
                    base_offset: meta.base_offset,
                    last_offset: meta.last_offset,
                    log_append_time: meta.log_append_time,
                    log_start_offset: self.log.log_start_offset(),
                    duplicate: true,
                });
            }
        } else if idempotent.len() > 1 {
            let mut scratch = producers.clone();
            for (i, &(pid, epoch, first, last)) in idempotent.iter().enumerate() {
                match scratch.check(pid, epoch, first, last)? {
                    SeqCheck::Append => scratch.record(
                        pid,
                        epoch,
                        BatchMeta {
                            first_seq: first,
                            last_seq: last,
                            base_offset: i as i64,
                            last_offset: i as i64,
                            log_append_time: -1,
                        },
                    ),
                    SeqCheck::Duplicate(_) => {
                        return Err(ProducerError::OutOfOrder {
                            producer_id: pid,
                            expected: last.wrapping_add(1),
                            got: first,
                        }
                        .into())
                    }
                }
            }
        }
        // A transaction starting here holds the last stable offset back from
        // before its data becomes visible (offsets are assigned from the log end,
        // and appends to this log are serialised by the lock held here).
        let mut next = self.log.log_end_offset();
        for batch in iter_batches_lenient(records) {
            if batch.is_transactional()
                && !batch.is_control()
                && !producers
                    .ongoing()
                    .any(|(pid, _)| pid == batch.producer_id())
            {
                self.lower_first_unstable(next);
                break;
            }
            next += batch.last_offset_delta() as i64 + 1;
        }
        let appended = self.log.append(records, opts);
        let info = match appended {
            Ok(info) => info,
            Err(e) => {
                self.sync_first_unstable(&producers);
                return Err(e.into());
            }
        };
        // Record every idempotent batch with the offsets it got.
        let mut next = info.base_offset;
        for batch in iter_batches_lenient(records) {
            let base = next;
            let last = base + batch.last_offset_delta() as i64;
            next = last + 1;
            if batch.producer_id() >= 0 && !batch.is_control() {
                self.producers_dirty
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                producers.record(
                    batch.producer_id(),
                    batch.producer_epoch(),
                    BatchMeta {
                        first_seq: batch.base_sequence(),
                        last_seq: batch.last_sequence(),
                        base_offset: base,
                        last_offset: last,
                        log_append_time: info.log_append_time,
                    },
                );
                if batch.is_transactional() {
                    producers.record_txn_batch(batch.producer_id(), base);
                }
            }
        }
        self.sync_first_unstable(&producers);
        drop(producers);
        self.wake_waiters();
        Ok(AppendResult {
            base_offset: info.base_offset,
            last_offset: info.last_offset,
            log_append_time: info.log_append_time,
            log_start_offset: info.log_start_offset,
            duplicate: false,
        })
    }

    /// Write the COMMIT or ABORT marker of `producer_id`'s transaction here (the
    /// transaction coordinator's WriteTxnMarkers) and end its ongoing transaction
    /// on this partition; returns the marker's offset. A marker from an epoch
    /// older than the producer's here is refused (INVALID_PRODUCER_EPOCH).
    /// Writing a marker when no transaction is ongoing here is harmless (retries
    /// after a restart do that).
    pub fn append_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
    ) -> Result<i64, AppendError> {
        let mut producers = self.producers.lock().unwrap_or_else(|e| e.into_inner());
        if producers.is_stale_epoch(producer_id, producer_epoch) {
            let current = producers.get(producer_id).map_or(-1, |e| e.epoch);
            return Err(ProducerError::InvalidEpoch {
                producer_id,
                epoch: producer_epoch,
                current,
            }
            .into());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let batch = weir_storage::control::end_txn_marker_batch(
            producer_id,
            producer_epoch,
            commit,
            coordinator_epoch,
            now,
        )
        .map_err(StorageError::from)?;
        let info = self.log.append(
            &batch,
            AppendOptions {
                log_append_time: None,
                leader_epoch: Some(0),
            },
        )?;
        producers.record_marker(producer_id, producer_epoch, commit, info.base_offset);
        producers.trim_aborted(info.log_start_offset);
        self.sync_first_unstable(&producers);
        self.producers_dirty
            .store(true, std::sync::atomic::Ordering::Relaxed);
        drop(producers);
        // The last stable offset may have moved: read_committed fetches wake up.
        self.wake_waiters();
        Ok(info.base_offset)
    }

    /// The last stable offset: the first offset of the earliest ongoing
    /// transaction here, else the high watermark. Lock-free.
    pub fn last_stable_offset(&self) -> i64 {
        // The high watermark first: see `first_unstable`.
        let hw = self.high_watermark();
        match self.first_unstable.load(AtomicOrdering::SeqCst) {
            f if f < 0 => hw,
            f => f.min(hw),
        }
    }

    /// Where the log cleaner must stop: the last stable offset, or earlier when an
    /// aborted transaction starts before it but has its ABORT marker at or after
    /// it (the cleaner only learns that records are aborted from markers inside
    /// the range it cleans; without the marker they would look committed and
    /// could shadow older values of their keys).
    pub fn cleaner_upper_bound(&self) -> i64 {
        let producers = self.producers.lock().unwrap_or_else(|e| e.into_inner());
        let lso = self.last_stable_offset();
        producers
            .aborted_in(lso, i64::MAX)
            .iter()
            .map(|a| a.first_offset)
            .fold(lso, i64::min)
    }

    fn lower_first_unstable(&self, offset: i64) {
        let _ =
            self.first_unstable
                .fetch_update(AtomicOrdering::SeqCst, AtomicOrdering::SeqCst, |f| {
                    (f < 0 || offset < f).then_some(offset)
                });
    }

    /// Copy the producer state's first unstable offset (call with its lock held).
    fn sync_first_unstable(&self, producers: &ProducerStateTable) {
        self.first_unstable.store(
            producers.first_unstable_offset().unwrap_or(-1),
            AtomicOrdering::SeqCst,
        );
    }

    /// (producer id, first offset) of the aborted transactions overlapping
    /// `[fetch_offset, upper_bound)` (a read_committed fetch's `aborted_transactions`).
    pub fn aborted_transactions(&self, fetch_offset: i64, upper_bound: i64) -> Vec<(i64, i64)> {
        self.producers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .aborted_in(fetch_offset, upper_bound)
            .into_iter()
            .map(|a| (a.producer_id, a.first_offset))
            .collect()
    }

    /// Register a fetch waiting for data here; it is notified by the next append.
    /// (Register before checking for data, so no append can slip in between.)
    pub fn add_waiter(&self, waiter: &Arc<Notify>) {
        let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        w.retain(|n| n.strong_count() > 0);
        w.push(Arc::downgrade(waiter));
    }

    /// Wake every fetch waiting on this partition (called after each append).
    pub fn wake_waiters(&self) {
        let waiters = std::mem::take(&mut *self.waiters.lock().unwrap_or_else(|e| e.into_inner()));
        for w in waiters {
            if let Some(n) = w.upgrade() {
                n.notify_one();
            }
        }
    }

    /// A copy of the producer state (tests, snapshots).
    pub fn producer_state(&self) -> ProducerStateTable {
        self.producers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A topic.
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub internal: bool,
    partitions: RwLock<Vec<Arc<Partition>>>,
    config: RwLock<TopicConfig>,
}

impl Topic {
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub fn partition(&self, index: i32) -> Option<Arc<Partition>> {
        let parts = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        usize::try_from(index)
            .ok()
            .and_then(|i| parts.get(i).cloned())
    }
    pub fn partition_count(&self) -> i32 {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len() as i32
    }
    pub fn config(&self) -> TopicConfig {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[derive(Default)]
struct Topics {
    by_name: BTreeMap<String, Arc<Topic>>,
    by_id: HashMap<Uuid, Arc<Topic>>,
}

/// The registry of all topics.
pub struct Registry {
    store: Arc<Store>,
    settings: Arc<Settings>,
    topics: RwLock<Topics>,
    /// Serialises changes (create / delete / alter) and their checkpoint writes.
    change: Mutex<()>,
    /// Producer-state snapshots read at start-up, consumed as partitions open.
    snapshots: Mutex<HashMap<TopicPartition, (i64, ProducerStateTable)>>,
    /// Serialises producer-state snapshot writes.
    snapshot_write: Mutex<()>,
}

impl Registry {
    /// Partition 0 of a compacted internal topic that a coordinator keeps its state in
    /// (`__consumer_offsets`, `__transaction_state`), created on first use.
    pub fn internal_state_partition(&self, name: &str) -> Result<Arc<Partition>, String> {
        let topic = match self.topic(name) {
            Some(t) => t,
            None => {
                let config = TopicConfig::from_pairs([
                    ("cleanup.policy", "compact"),
                    ("segment.bytes", "104857600"),
                ])
                .map_err(|e| e.to_string())?;
                match self.create_topic(name, 1, config, false) {
                    Ok(Some(t)) => t,
                    Ok(None) => return Err(format!("could not create {name}")),
                    Err(TopicError::AlreadyExists(_)) => {
                        self.topic(name).ok_or_else(|| format!("{name} vanished"))?
                    }
                    Err(e) => return Err(format!("could not create {name}: {e}")),
                }
            }
        };
        topic
            .partition(0)
            .ok_or_else(|| format!("{name} has no partition 0"))
    }

    /// Load the registry from its checkpoint and open every partition log,
    /// adopting partition directories the checkpoint does not know (their data is
    /// kept, under a new topic id).
    pub fn open(store: Arc<Store>, settings: Arc<Settings>) -> Result<Registry, TopicError> {
        let reg = Registry {
            store,
            settings,
            topics: RwLock::new(Topics::default()),
            change: Mutex::new(()),
            snapshots: Mutex::new(HashMap::new()),
            snapshot_write: Mutex::new(()),
        };
        if let Some(data) = reg.store.read_checkpoint(PRODUCER_SNAPSHOT)? {
            // A damaged snapshot only costs a longer scan of the logs.
            *reg.snapshots.lock().unwrap_or_else(|e| e.into_inner()) =
                decode_snapshots(&data).unwrap_or_default();
        }
        let mut specs = match reg.store.read_checkpoint(TOPICS_CHECKPOINT)? {
            Some(data) => decode_registry(&data)?,
            None => Vec::new(),
        };
        let mut adopted = false;
        for tp in reg.store.list_logs()? {
            match specs.iter_mut().find(|s| s.name == tp.topic) {
                Some(spec) if tp.partition >= spec.partitions => {
                    spec.partitions = tp.partition + 1;
                    adopted = true;
                }
                Some(_) => {}
                None if validate_topic_name(&tp.topic).is_ok() && tp.partition >= 0 => {
                    specs.push(TopicSpec {
                        name: tp.topic.clone(),
                        id: ids::random_uuid(),
                        partitions: tp.partition + 1,
                        config: TopicConfig::default(),
                    });
                    adopted = true;
                }
                None => {}
            }
        }
        {
            let mut topics = reg.topics.write().unwrap_or_else(|e| e.into_inner());
            for spec in specs {
                let topic = reg.build_topic(spec)?;
                topics.by_id.insert(topic.id, topic.clone());
                topics.by_name.insert(topic.name.clone(), topic);
            }
        }
        if adopted {
            reg.persist()?;
        }
        Ok(reg)
    }

    fn build_topic(&self, spec: TopicSpec) -> Result<Arc<Topic>, TopicError> {
        let mut parts = Vec::with_capacity(spec.partitions as usize);
        for i in 0..spec.partitions {
            parts.push(self.open_partition(&spec.name, i, &spec.config)?);
        }
        Ok(Arc::new(Topic {
            internal: INTERNAL_TOPICS.contains(&spec.name.as_str()),
            name: spec.name,
            id: spec.id,
            partitions: RwLock::new(parts),
            config: RwLock::new(spec.config),
        }))
    }

    fn open_partition(
        &self,
        topic: &str,
        index: i32,
        config: &TopicConfig,
    ) -> Result<Arc<Partition>, TopicError> {
        let tp = TopicPartition::new(topic, index);
        let log = self
            .store
            .open_log(&tp, config.log_config(&self.settings))?;
        let producers = self.load_producer_state(&tp, &log)?;
        Ok(Arc::new(Partition::new(topic, index, log, producers)))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_name
            .get(name)
            .cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .get(&id)
            .cloned()
    }

    /// All topics, by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_name
            .values()
            .cloned()
            .collect()
    }

    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.topic(topic)?.partition(index)
    }

    /// Create a topic (or only validate, with `validate_only`). `partitions` of -1
    /// means `num.partitions`.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        config: TopicConfig,
        validate_only: bool,
    ) -> Result<Option<Arc<Topic>>, TopicError> {
        validate_topic_name(name)?;
        let partitions = if partitions == -1 {
            self.settings.i64("num.partitions") as i32
        } else {
            partitions
        };
        if partitions < 1 {
            return Err(TopicError::InvalidPartitions(
                "number of partitions must be larger than 0".into(),
            ));
        }
        if partitions > 100_000 {
            return Err(TopicError::InvalidPartitions(format!(
                "{partitions} partitions is more than weir allows (100000)"
            )));
        }
        let _guard = self.change.lock().unwrap_or_else(|e| e.into_inner());
        if self.topic(name).is_some() {
            return Err(TopicError::AlreadyExists(name.to_string()));
        }
        if validate_only {
            return Ok(None);
        }
        let mut id = ids::random_uuid();
        while self.topic_by_id(id).is_some() {
            id = ids::random_uuid();
        }
        let topic = self.build_topic(TopicSpec {
            name: name.to_string(),
            id,
            partitions,
            config,
        })?;
        {
            let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
            topics.by_id.insert(topic.id, topic.clone());
            topics.by_name.insert(topic.name.clone(), topic.clone());
        }
        self.persist()?;
        Ok(Some(topic))
    }

    /// Auto-create `name` with the broker defaults if `auto.create.topics.enable`
    /// allows it; returns the topic (existing or new).
    pub fn get_or_auto_create(&self, name: &str) -> Result<Option<Arc<Topic>>, TopicError> {
        if let Some(t) = self.topic(name) {
            return Ok(Some(t));
        }
        if !self.settings.bool("auto.create.topics.enable") {
            return Ok(None);
        }
        match self.create_topic(name, -1, TopicConfig::default(), false) {
            Ok(t) => Ok(t),
            Err(TopicError::AlreadyExists(_)) => Ok(self.topic(name)),
            Err(e) => Err(e),
        }
    }

    /// Delete a topic and its data.
    pub fn delete_topic(&self, name: &str) -> Result<Arc<Topic>, TopicError> {
        let _guard = self.change.lock().unwrap_or_else(|e| e.into_inner());
        let topic = {
            let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
            let topic = topics
                .by_name
                .remove(name)
                .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))?;
            topics.by_id.remove(&topic.id);
            topic
        };
        // Forget the topic durably first: a crash before the data is gone leaves
        // directories that are adopted again on restart rather than lost silently.
        self.persist()?;
        for p in topic.partitions() {
            p.wake_waiters();
            self.store.delete_log(&p.tp())?;
        }
        Ok(topic)
    }

    /// Grow a topic to `total` partitions.
    pub fn create_partitions(
        &self,
        name: &str,
        total: i32,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        let _guard = self.change.lock().unwrap_or_else(|e| e.into_inner());
        let topic = self
            .topic(name)
            .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))?;
        let current = topic.partition_count();
        if total < current {
            return Err(TopicError::InvalidPartitions(format!(
                "topic currently has {current} partitions, which is higher than the requested {total}"
            )));
        }
        if total == current {
            return Err(TopicError::InvalidPartitions(format!(
                "topic already has {current} partitions"
            )));
        }
        if total > 100_000 {
            return Err(TopicError::InvalidPartitions(format!(
                "{total} partitions is more than weir allows (100000)"
            )));
        }
        if validate_only {
            return Ok(());
        }
        let config = topic.config();
        let mut new = Vec::new();
        for i in current..total {
            new.push(self.open_partition(name, i, &config)?);
        }
        topic
            .partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(new);
        self.persist()
    }

    /// Replace a topic's config overrides (AlterConfigs); applies to the logs at once.
    pub fn set_topic_config(&self, name: &str, config: TopicConfig) -> Result<(), TopicError> {
        let _guard = self.change.lock().unwrap_or_else(|e| e.into_inner());
        let topic = self
            .topic(name)
            .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))?;
        let log_config = config.log_config(&self.settings);
        *topic.config.write().unwrap_or_else(|e| e.into_inner()) = config;
        for p in topic.partitions() {
            p.log.set_config(log_config.clone());
        }
        self.persist()
    }

    fn persist(&self) -> Result<(), TopicError> {
        let data = encode_registry(&self.topics());
        self.store.write_checkpoint(TOPICS_CHECKPOINT, &data)?;
        Ok(())
    }

    /// Write every partition's producer state (with the log end offset it is
    /// valid at) to one checkpoint; with `only_if_changed`, skip the write when
    /// no partition's state changed since the last one. Returns whether it wrote.
    /// Called at shutdown and periodically, so a restart after a crash only
    /// rescans the log tails written since.
    pub fn snapshot_producer_state(&self, only_if_changed: bool) -> Result<bool, TopicError> {
        use std::sync::atomic::Ordering;
        let _guard = self
            .snapshot_write
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let partitions: Vec<_> = self.topics().iter().flat_map(|t| t.partitions()).collect();
        if only_if_changed
            && !partitions
                .iter()
                .any(|p| p.producers_dirty.load(Ordering::Relaxed))
        {
            return Ok(false);
        }
        let mut data = Vec::new();
        data.extend_from_slice(b"WPS2");
        data.extend_from_slice(&(partitions.len() as u32).to_be_bytes());
        for p in &partitions {
            let (offset, table) = {
                let producers = p.producers.lock().unwrap_or_else(|e| e.into_inner());
                p.producers_dirty.store(false, Ordering::Relaxed);
                (p.log.log_end_offset(), producers.encode())
            };
            data.extend_from_slice(&(p.topic.len() as u16).to_be_bytes());
            data.extend_from_slice(p.topic.as_bytes());
            data.extend_from_slice(&p.index.to_be_bytes());
            data.extend_from_slice(&offset.to_be_bytes());
            data.extend_from_slice(&(table.len() as u32).to_be_bytes());
            data.extend_from_slice(&table);
        }
        let crc = crc32fast::hash(&data);
        data.extend_from_slice(&crc.to_be_bytes());
        if let Err(e) = self.store.write_checkpoint(PRODUCER_SNAPSHOT, &data) {
            for p in &partitions {
                p.producers_dirty.store(true, Ordering::Relaxed);
            }
            return Err(e.into());
        }
        Ok(true)
    }

    /// The producer state of a partition: its snapshot (if valid and not beyond the
    /// log end) plus the idempotent batches after it, read from the log's batch headers.
    fn load_producer_state(
        &self,
        tp: &TopicPartition,
        log: &PartitionLog,
    ) -> Result<ProducerStateTable, TopicError> {
        let end = log.log_end_offset();
        let start = log.log_start_offset();
        let snapshot = self
            .snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(tp);
        let (mut table, mut offset) = match snapshot {
            Some((at, table)) if at <= end && at >= start => (table, at),
            _ => (ProducerStateTable::default(), start),
        };
        const CHUNK: usize = 16 << 20;
        while offset < end {
            let read = match log.read(offset, CHUNK, None) {
                Ok(r) => r,
                Err(StorageError::OffsetOutOfRange { .. }) => break,
                Err(e) => return Err(e.into()),
            };
            let mut progressed = false;
            for batch in iter_batches_lenient(&read.records) {
                progressed = true;
                offset = batch.last_offset() + 1;
                if let Ok(Some(commit)) = weir_storage::control::end_txn_marker(&batch) {
                    table.record_marker(
                        batch.producer_id(),
                        batch.producer_epoch(),
                        commit,
                        batch.base_offset(),
                    );
                }
                if batch.producer_id() >= 0 && batch.is_transactional() && !batch.is_control() {
                    table.record_txn_batch(batch.producer_id(), batch.base_offset());
                }
                if batch.producer_id() >= 0 && !batch.is_control() {
                    table.record(
                        batch.producer_id(),
                        batch.producer_epoch(),
                        BatchMeta {
                            first_seq: batch.base_sequence(),
                            last_seq: batch.last_sequence(),
                            base_offset: batch.base_offset(),
                            last_offset: batch.last_offset(),
                            log_append_time: if batch.is_log_append_time() {
                                batch.max_timestamp()
                            } else {
                                -1
                            },
                        },
                    );
                }
            }
            if !progressed {
                break;
            }
        }
        table.trim_aborted(start);
        Ok(table)
    }
}

/// Inverse of the encoding in [`Registry::snapshot_producer_state`]; `None` if damaged.
fn decode_snapshots(data: &[u8]) -> Option<HashMap<TopicPartition, (i64, ProducerStateTable)>> {
    fn take<'a>(buf: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = buf.split_at_checked(n)?;
        *buf = rest;
        Some(head)
    }
    if data.len() < 12 || &data[..4] != b"WPS2" {
        return None;
    }
    let (body, crc) = data.split_at(data.len() - 4);
    if crc32fast::hash(body).to_be_bytes() != crc {
        return None;
    }
    let mut buf = &body[4..];
    let count = u32::from_be_bytes(take(&mut buf, 4)?.try_into().ok()?);
    let mut out = HashMap::new();
    for _ in 0..count {
        let name_len = u16::from_be_bytes(take(&mut buf, 2)?.try_into().ok()?) as usize;
        let name = std::str::from_utf8(take(&mut buf, name_len)?)
            .ok()?
            .to_string();
        let partition = i32::from_be_bytes(take(&mut buf, 4)?.try_into().ok()?);
        let offset = i64::from_be_bytes(take(&mut buf, 8)?.try_into().ok()?);
        let len = u32::from_be_bytes(take(&mut buf, 4)?.try_into().ok()?) as usize;
        let table = ProducerStateTable::decode(take(&mut buf, len)?)?;
        out.insert(TopicPartition::new(name, partition), (offset, table));
    }
    buf.is_empty().then_some(out)
}

/// A topic as the checkpoint records it.
#[derive(Debug, Clone, PartialEq)]
struct TopicSpec {
    name: String,
    id: Uuid,
    partitions: i32,
    config: TopicConfig,
}

/// Text format: a `weir-topics 1` line; per topic `topic NAME UUID PARTITIONS`,
/// followed by `config KEY=VALUE` lines; a final `crc HEX` over everything before it.
fn encode_registry(topics: &[Arc<Topic>]) -> Vec<u8> {
    let mut s = String::from("weir-topics 1\n");
    for t in topics {
        s.push_str(&format!(
            "topic {} {} {}\n",
            t.name,
            t.id.as_simple(),
            t.partition_count()
        ));
        for line in t.config().to_lines() {
            s.push_str(&format!("config {line}\n"));
        }
    }
    let crc = crc32fast::hash(s.as_bytes());
    s.push_str(&format!("crc {crc:08x}\n"));
    s.into_bytes()
}

fn decode_registry(data: &[u8]) -> Result<Vec<TopicSpec>, TopicError> {
    let corrupt = |why: String| TopicError::CorruptRegistry(why);
    let text = std::str::from_utf8(data).map_err(|e| corrupt(e.to_string()))?;
    let crc_pos = text
        .rfind("crc ")
        .ok_or_else(|| corrupt("missing crc".into()))?;
    let (body, crc_line) = text.split_at(crc_pos);
    let stored = u32::from_str_radix(crc_line.trim_start_matches("crc ").trim(), 16)
        .map_err(|e| corrupt(e.to_string()))?;
    if crc32fast::hash(body.as_bytes()) != stored {
        return Err(corrupt("crc mismatch".into()));
    }
    let mut lines = body.lines();
    if lines.next() != Some("weir-topics 1") {
        return Err(corrupt("unknown header".into()));
    }
    let mut out: Vec<TopicSpec> = Vec::new();
    for line in lines {
        let mut words = line.splitn(2, ' ');
        match (words.next(), words.next()) {
            (Some("topic"), Some(rest)) => {
                let f: Vec<&str> = rest.split(' ').collect();
                let [name, id, parts] = f[..] else {
                    return Err(corrupt(format!("bad line '{line}'")));
                };
                out.push(TopicSpec {
                    name: name.to_string(),
                    id: Uuid::parse_str(id).map_err(|e| corrupt(e.to_string()))?,
                    partitions: parts
                        .parse()
                        .map_err(|_| corrupt(format!("bad line '{line}'")))?,
                    config: TopicConfig::default(),
                });
            }
            (Some("config"), Some(kv)) => {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| corrupt(format!("bad line '{line}'")))?;
                let t = out
                    .last_mut()
                    .ok_or_else(|| corrupt("config before topic".into()))?;
                // A key this version no longer knows is dropped rather than failing start-up.
                let _ = t.config.set(k, v);
            }
            _ => return Err(corrupt(format!("bad line '{line}'"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        for ok in ["a", "my-topic", "A.b_c-9", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "has space", "slash/", "ü", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registry_checkpoint_round_trips_and_detects_damage() {
        let spec = TopicSpec {
            name: "t1".into(),
            id: ids::random_uuid(),
            partitions: 3,
            config: TopicConfig::from_pairs([
                ("retention.ms", "1000"),
                ("cleanup.policy", "compact,delete"),
            ])
            .unwrap(),
        };
        let topic = Arc::new(Topic {
            name: spec.name.clone(),
            id: spec.id,
            internal: false,
            partitions: RwLock::new(Vec::new()),
            config: RwLock::new(spec.config.clone()),
        });
        let mut data = encode_registry(&[topic]);
        let decoded = decode_registry(&data).unwrap();
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].name, "t1");
        assert_eq!(decoded[0].id, spec.id);
        assert_eq!(decoded[0].partitions, 0); // no partitions were attached above
        assert_eq!(decoded[0].config, spec.config);
        data[15] ^= 1;
        assert!(matches!(
            decode_registry(&data),
            Err(TopicError::CorruptRegistry(_))
        ));
    }
}
