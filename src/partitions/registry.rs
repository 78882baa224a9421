//! The registry of all topics: create (one at a time or many with one registry
//! write and one directory fsync), alter, grow and delete topics, persist the
//! registry, and rebuild every partition at start-up without opening any log
//! (logs and producer state load on first use).
//!
//! Start-up builds only the internal topics; the other topics of the
//! checkpoint (and the partition directories it does not know, adopted) are
//! built by [`Registry::finish_loading`], which the server runs on its own
//! thread once the listeners accept, so the first request is answered in
//! milliseconds even with 100,000 partitions. Until then a lookup that finds
//! its topic answers at once and every other one waits for the load (or does
//! it itself, when nobody started it).

use super::checkpoint::{
    decode_registry, decode_snapshots, encode_registry, SnapshotWriter, TopicSpec,
    PRODUCER_SNAPSHOT, TOPICS_CHECKPOINT,
};
use super::error::TopicError;
use super::partition::Partition;
use super::topic::{validate_topic_name, Topic, INTERNAL_TOPICS};
use crate::config::topic::{ResolvedTopicConfig, TopicConfig};
use crate::config::Settings;
use crate::ids;
use crate::producer_state::ProducerStateTable;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use uuid::Uuid;
use weir_storage::{LogConfig, StorageError, Store, TopicPartition};

/// A topic to create with [`Registry::create_topics`]; `partitions` of -1
/// means `num.partitions`.
#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    pub partitions: i32,
    pub config: TopicConfig,
}

#[derive(Default)]
struct Topics {
    by_name: BTreeMap<String, Arc<Topic>>,
    by_id: HashMap<Uuid, Arc<Topic>>,
}

/// The registry of all topics.
pub struct Registry {
    store: Arc<Store>,
    /// The broker settings topic configs fall back to; replaced when a
    /// dynamic broker config changes ([`Registry::set_broker_settings`]).
    settings: arc_swap::ArcSwap<Settings>,
    topics: RwLock<Topics>,
    /// Serialises changes (create / delete / alter) and their checkpoint writes.
    change: Mutex<()>,
    /// Producer-state snapshots read at start-up, consumed as partitions open.
    snapshots: Mutex<HashMap<TopicPartition, (i64, ProducerStateTable)>>,
    /// Serialises producer-state snapshot writes.
    snapshot_write: Mutex<()>,
    /// The topics not built yet at start-up (see [`Registry::finish_loading`]).
    load: Mutex<Load>,
    load_done: Condvar,
    /// Every topic is built (the fast path of the lookups).
    loaded: AtomicBool,
    /// Bumped after any topic is added or deleted, grows, or has its config
    /// changed ([`Registry::topics_generation`]).
    topics_generation: AtomicU64,
    /// Bumped after any topic's resolved config changes
    /// ([`Registry::config_generation`]).
    config_generation: AtomicU64,
}

/// The start-up load: the specs to build until a thread takes them, then
/// `done` once they are all in the maps.
#[derive(Default)]
struct Load {
    pending: Option<Vec<TopicSpec>>,
    done: bool,
}

/// Marks the load done even if building a topic panicked (waiters never hang).
struct LoadDone<'a>(&'a Registry);

impl Drop for LoadDone<'_> {
    fn drop(&mut self) {
        let mut load = self.0.load.lock();
        load.done = true;
        self.0.loaded.store(true, Ordering::Release);
        self.0.load_done.notify_all();
    }
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

    /// Load the registry from its checkpoint and build the internal topics;
    /// the others (and the adoption of partition directories the checkpoint
    /// does not know, whose data is kept under a new topic id) wait for
    /// [`Registry::finish_loading`] or the first lookup that needs them.
    pub fn open(store: Arc<Store>, settings: Arc<Settings>) -> Result<Registry, TopicError> {
        let reg = Registry {
            store,
            settings: arc_swap::ArcSwap::new(settings),
            topics: RwLock::new(Topics::default()),
            change: Mutex::new(()),
            snapshots: Mutex::new(HashMap::new()),
            snapshot_write: Mutex::new(()),
            load: Mutex::new(Load::default()),
            load_done: Condvar::new(),
            loaded: AtomicBool::new(false),
            topics_generation: AtomicU64::new(0),
            config_generation: AtomicU64::new(0),
        };
        if let Some(data) = reg.store.read_checkpoint(PRODUCER_SNAPSHOT)? {
            // A damaged snapshot only costs a longer scan of the logs.
            *reg.snapshots.lock() = decode_snapshots(&data).unwrap_or_default();
        }
        let specs = match reg.store.read_checkpoint(TOPICS_CHECKPOINT)? {
            Some(data) => decode_registry(&data)?,
            None => Vec::new(),
        };
        let (internal, rest): (Vec<_>, Vec<_>) = specs
            .into_iter()
            .partition(|s| INTERNAL_TOPICS.contains(&s.name.as_str()));
        for spec in internal {
            let topic = reg.build_topic(spec)?;
            reg.insert(topic);
        }
        reg.load.lock().pending = Some(rest);
        Ok(reg)
    }

    /// Build the topics [`Registry::open`] left (the server calls this on its
    /// own thread once it accepts connections); returns at once if another
    /// thread did or does it. A topic that cannot be built is logged and left
    /// out, as a start-up failure would leave the whole broker out.
    pub fn finish_loading(&self) {
        let Some(mut specs) = self.load.lock().pending.take() else {
            return;
        };
        let done = LoadDone(self);
        let started = std::time::Instant::now();
        let adopted = self.adopt_dirs(&mut specs);
        let total = specs.len();
        let mut specs = specs.into_iter().peekable();
        while specs.peek().is_some() {
            // In chunks, so lookups of topics already built go on meanwhile.
            let mut built = Vec::with_capacity(256);
            for spec in specs.by_ref().take(256) {
                let name = spec.name.clone();
                match self.build_topic(spec) {
                    Ok(t) => built.push(t),
                    Err(e) => tracing::error!("could not load topic {name}: {e}"),
                }
            }
            let mut topics = self.topics.write();
            for topic in built {
                topics.by_id.insert(topic.id, topic.clone());
                topics.by_name.insert(topic.name.clone(), topic);
            }
            drop(topics);
            self.topics_changed();
        }
        drop(done);
        if adopted {
            let _guard = self.change.lock();
            if let Err(e) = self.persist() {
                tracing::error!("could not write the registry after adopting directories: {e}");
            }
        }
        tracing::info!(
            "loaded {total} topics in {:.3} s",
            started.elapsed().as_secs_f64()
        );
    }

    /// Whether every topic is built (see [`Registry::finish_loading`]).
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Block until every topic is built, building them here if nobody started.
    /// On a tokio worker the wait steps off the worker first
    /// (`block_in_place`), so requests that need no load (ApiVersions, a
    /// produce to a topic already built) go on being served meanwhile.
    pub fn wait_loaded(&self) {
        if self.is_loaded() {
            return;
        }
        let wait = || {
            self.finish_loading();
            let mut load = self.load.lock();
            while !load.done {
                self.load_done.wait(&mut load);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }

    /// Add to `specs` the partition directories nobody knows (the data is
    /// kept: a topic under a new id, or more partitions of a known one);
    /// returns whether any were.
    fn adopt_dirs(&self, specs: &mut Vec<TopicSpec>) -> bool {
        let dirs = match self.store.list_logs() {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("could not list the partition directories: {e}");
                return false;
            }
        };
        let mut adopted = false;
        let mut by_name: HashMap<String, usize> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        for tp in dirs {
            if let Some(topic) = self.topics.read().by_name.get(&tp.topic).cloned() {
                // Built at open (an internal topic): grow it in place.
                let count = topic.partition_count();
                if tp.partition >= count {
                    let config = topic.resolved().log.clone();
                    let new: Result<Vec<_>, _> = (count..=tp.partition)
                        .map(|i| self.open_partition(&tp.topic, i, &config))
                        .collect();
                    match new {
                        Ok(new) => {
                            topic.partitions.write().extend(new);
                            self.topics_changed();
                            adopted = true;
                        }
                        Err(e) => tracing::error!("could not adopt {}: {e}", tp.dir_name()),
                    }
                }
                continue;
            }
            match by_name.get(&tp.topic).map(|&i| &mut specs[i]) {
                Some(spec) if tp.partition >= spec.partitions => {
                    spec.partitions = tp.partition + 1;
                    adopted = true;
                }
                Some(_) => {}
                None if validate_topic_name(&tp.topic).is_ok() && tp.partition >= 0 => {
                    by_name.insert(tp.topic.clone(), specs.len());
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
        adopted
    }

    fn insert(&self, topic: Arc<Topic>) {
        let mut topics = self.topics.write();
        topics.by_id.insert(topic.id, topic.clone());
        topics.by_name.insert(topic.name.clone(), topic);
        drop(topics);
        self.topics_changed();
    }

    fn topics_changed(&self) {
        self.topics_generation.fetch_add(1, Ordering::AcqRel);
    }

    fn configs_changed(&self) {
        self.config_generation.fetch_add(1, Ordering::AcqRel);
        self.topics_changed();
    }

    /// A count that changes (after the change is visible) whenever a topic is
    /// added, deleted or grown, or a config changes: read it before walking
    /// the topics, and a walk cached under the same count is still current.
    pub fn topics_generation(&self) -> u64 {
        self.topics_generation.load(Ordering::Acquire)
    }

    /// A count that changes (after the change is visible) whenever a topic's
    /// resolved config changes (AlterConfigs on the topic, a dynamic broker
    /// config): the retention schedule recomputes its due times then.
    pub fn config_generation(&self) -> u64 {
        self.config_generation.load(Ordering::Acquire)
    }

    fn build_topic(&self, spec: TopicSpec) -> Result<Arc<Topic>, TopicError> {
        let config = ResolvedTopicConfig::resolve(spec.config, &self.settings.load());
        let mut parts = Vec::with_capacity(spec.partitions as usize);
        for i in 0..spec.partitions {
            parts.push(self.open_partition(&spec.name, i, &config.log)?);
        }
        Ok(Arc::new(Topic {
            internal: INTERNAL_TOPICS.contains(&spec.name.as_str()),
            name: spec.name,
            id: spec.id,
            partitions: RwLock::new(parts),
            config: arc_swap::ArcSwap::from_pointee(config),
        }))
    }

    fn open_partition(
        &self,
        topic: &str,
        index: i32,
        log_config: &LogConfig,
    ) -> Result<Arc<Partition>, TopicError> {
        let tp = TopicPartition::new(topic, index);
        let log = self.store.log(&tp, log_config.clone())?;
        let snapshot = self.snapshots.lock().remove(&tp);
        Ok(Arc::new(Partition::new(topic, index, log, snapshot)))
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings.load_full()
    }

    /// Take new broker settings (a dynamic broker config changed) and
    /// re-resolve every topic's config against them, applying them to the
    /// partition logs at once.
    pub fn set_broker_settings(&self, settings: Arc<Settings>) {
        // (Before the change lock: the load takes it to persist an adoption.)
        self.wait_loaded();
        let _guard = self.change.lock();
        self.settings.store(settings.clone());
        for topic in self.topics() {
            let overrides = topic.config();
            let resolved = Arc::new(ResolvedTopicConfig::resolve(overrides, &settings));
            for p in topic.partitions() {
                p.set_log_config(resolved.log.clone());
            }
            topic.config.store(resolved);
        }
        self.configs_changed();
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        if let Some(t) = self.topics.read().by_name.get(name) {
            return Some(t.clone());
        }
        if self.is_loaded() {
            return None;
        }
        self.wait_loaded();
        self.topics.read().by_name.get(name).cloned()
    }

    /// The topic `name` if it is built already, without waiting for the
    /// start-up load (the internal topics are built at open).
    pub fn topic_if_built(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().by_name.get(name).cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        if let Some(t) = self.topics.read().by_id.get(&id) {
            return Some(t.clone());
        }
        if self.is_loaded() {
            return None;
        }
        self.wait_loaded();
        self.topics.read().by_id.get(&id).cloned()
    }

    /// All topics, by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.wait_loaded();
        self.topics.read().by_name.values().cloned().collect()
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
        let new = NewTopic {
            name: name.to_string(),
            partitions,
            config,
        };
        self.create_topics(vec![new], validate_only)
            .pop()
            .expect("one result per topic")
    }

    /// Create many topics (or only validate them) with one registry write and one
    /// fsync of the data directory for all their partitions' directories; no log
    /// file is created before first use. One result per topic, in order.
    pub fn create_topics(
        &self,
        new: Vec<NewTopic>,
        validate_only: bool,
    ) -> Vec<Result<Option<Arc<Topic>>, TopicError>> {
        self.wait_loaded();
        let _guard = self.change.lock();
        let mut results = Vec::with_capacity(new.len());
        let mut created = Vec::new();
        for t in new {
            let r = self.create_one(t, validate_only);
            if let Ok(Some(topic)) = &r {
                created.push(topic.clone());
            }
            results.push(r);
        }
        if created.is_empty() {
            return results;
        }
        // The registry first: a crash before the directories exist leaves
        // partitions whose directories are made on first use (directories
        // without a registry entry would be adopted with default configs).
        let done = self.persist().and_then(|()| {
            let tps: Vec<_> = created
                .iter()
                .flat_map(|t| {
                    (0..t.partition_count()).map(|i| TopicPartition::new(t.name.clone(), i))
                })
                .collect();
            self.store.create_log_dirs(&tps).map_err(TopicError::from)
        });
        if let Err(e) = done {
            let msg = e.to_string();
            for r in results.iter_mut().filter(|r| matches!(r, Ok(Some(_)))) {
                *r = Err(TopicError::Storage(StorageError::Io {
                    path: self.store.dir().join(TOPICS_CHECKPOINT),
                    source: std::io::Error::other(msg.clone()),
                }));
            }
        }
        results
    }

    /// Check and (unless `validate_only`) register one new topic; the caller
    /// holds the change lock and persists.
    fn create_one(
        &self,
        t: NewTopic,
        validate_only: bool,
    ) -> Result<Option<Arc<Topic>>, TopicError> {
        let NewTopic {
            name,
            partitions,
            config,
        } = t;
        validate_topic_name(&name)?;
        let partitions = if partitions == -1 {
            self.settings.load().i64("num.partitions") as i32
        } else {
            partitions
        };
        if partitions < 1 {
            return Err(TopicError::InvalidPartitions(
                "Number of partitions was set to an invalid non-positive value.".into(),
            ));
        }
        if partitions > 100_000 {
            return Err(TopicError::InvalidPartitions(format!(
                "{partitions} partitions is more than weir allows (100000)"
            )));
        }
        if self.topic(&name).is_some() {
            return Err(TopicError::AlreadyExists(name));
        }
        if validate_only {
            return Ok(None);
        }
        let mut id = ids::random_uuid();
        while self.topic_by_id(id).is_some() {
            id = ids::random_uuid();
        }
        let topic = self.build_topic(TopicSpec {
            name,
            id,
            partitions,
            config,
        })?;
        let mut topics = self.topics.write();
        topics.by_id.insert(topic.id, topic.clone());
        topics.by_name.insert(topic.name.clone(), topic.clone());
        drop(topics);
        self.topics_changed();
        Ok(Some(topic))
    }

    /// Auto-create `name` with the broker defaults if `auto.create.topics.enable`
    /// allows it; returns the topic (existing or new).
    pub fn get_or_auto_create(&self, name: &str) -> Result<Option<Arc<Topic>>, TopicError> {
        if let Some(t) = self.topic(name) {
            return Ok(Some(t));
        }
        if !self.settings.load().bool("auto.create.topics.enable") {
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
        self.wait_loaded();
        let _guard = self.change.lock();
        let topic = {
            let mut topics = self.topics.write();
            let topic = topics
                .by_name
                .remove(name)
                .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))?;
            topics.by_id.remove(&topic.id);
            topic
        };
        self.topics_changed();
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
        // (Before the change lock: the load takes it to persist an adoption.)
        self.wait_loaded();
        let _guard = self.change.lock();
        let topic = self
            .topic(name)
            .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))?;
        let current = topic.partition_count();
        if total < current {
            return Err(TopicError::InvalidPartitions(format!(
                "The topic {name} currently has {current} partition(s); {total} would not be an increase."
            )));
        }
        if total == current {
            return Err(TopicError::InvalidPartitions(format!(
                "Topic already has {current} partition(s)."
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
        let config = topic.resolved();
        let mut new = Vec::new();
        for i in current..total {
            new.push(self.open_partition(name, i, &config.log)?);
        }
        topic.partitions.write().extend(new);
        self.topics_changed();
        self.persist()
    }

    /// Replace a topic's config overrides (AlterConfigs); applies to the logs at once.
    pub fn set_topic_config(&self, name: &str, config: TopicConfig) -> Result<(), TopicError> {
        // (Before the change lock: the load takes it to persist an adoption.)
        self.wait_loaded();
        let _guard = self.change.lock();
        let topic = self
            .topic(name)
            .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))?;
        let resolved = Arc::new(ResolvedTopicConfig::resolve(config, &self.settings.load()));
        for p in topic.partitions() {
            p.set_log_config(resolved.log.clone());
        }
        topic.config.store(resolved);
        self.configs_changed();
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
        if only_if_changed && !self.is_loaded() {
            // Topics not built yet changed nothing; the built ones wait too.
            return Ok(false);
        }
        let _guard = self.snapshot_write.lock();
        let partitions: Vec<_> = self.topics().iter().flat_map(|t| t.partitions()).collect();
        if only_if_changed && !partitions.iter().any(|p| p.producer_state_dirty()) {
            return Ok(false);
        }
        let entries: Vec<_> = partitions
            .iter()
            .filter_map(|p| p.producer_snapshot().map(|e| (p, e)))
            .collect();
        let mut data = SnapshotWriter::new(entries.len());
        for (p, (offset, table)) in &entries {
            data.push(&p.topic, p.index, *offset, table);
        }
        let data = data.finish();
        if let Err(e) = self.store.write_checkpoint(PRODUCER_SNAPSHOT, &data) {
            for p in &partitions {
                p.mark_producer_state_dirty();
            }
            return Err(e.into());
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path) -> (Arc<Store>, Registry) {
        let store = Arc::new(Store::open(dir).unwrap());
        let reg = Registry::open(store.clone(), Arc::new(Settings::default())).unwrap();
        (store, reg)
    }

    /// A lookup waiting for the start-up load must not hold its tokio
    /// worker: with one worker, another task still runs meanwhile.
    #[test]
    fn waiting_for_the_load_leaves_the_tokio_worker_free() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, reg) = open(dir.path());
            reg.create_topic("a", 1, TopicConfig::default(), false)
                .unwrap();
            store.close().unwrap();
        }
        let (_store, reg) = open(dir.path());
        let reg = Arc::new(reg);
        // As if the load thread had taken the specs and were still building.
        let specs = reg.load.lock().pending.take().expect("specs pending");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        rt.block_on(async {
            let waiter = {
                let reg = reg.clone();
                tokio::spawn(async move { reg.topic("a").is_some() })
            };
            // Let the waiter start and block first (a plain sleep: with its
            // only worker blocked, the runtime's timer would not run).
            std::thread::sleep(std::time::Duration::from_millis(50));
            let other = tokio::spawn(async move { tx.send(()).unwrap() });
            let ran = tokio::task::spawn_blocking(move || {
                rx.recv_timeout(std::time::Duration::from_secs(10)).is_ok()
            })
            .await
            .unwrap();
            // Finish the "load" as the load thread would (before asserting,
            // so a failure frees a blocked worker rather than hanging).
            reg.load.lock().pending = Some(specs);
            reg.finish_loading();
            assert!(ran, "a task on the only worker ran while a lookup waited");
            other.await.unwrap();
            assert!(waiter.await.unwrap());
        });
    }

    #[test]
    fn start_builds_internal_topics_only_and_lookups_wait_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, reg) = open(dir.path());
            reg.create_topic("__consumer_offsets", 1, TopicConfig::default(), false)
                .unwrap();
            reg.create_topic("a", 3, TopicConfig::default(), false)
                .unwrap();
            store.close().unwrap();
        }
        // A directory the checkpoint does not know (adopted on load).
        std::fs::create_dir(dir.path().join("stray-1")).unwrap();
        let (store, reg) = open(dir.path());
        assert!(!reg.is_loaded());
        assert!(reg.topic_if_built("__consumer_offsets").is_some());
        assert!(reg.topic_if_built("a").is_none());
        // Found without loading the rest.
        assert!(reg.topic("__consumer_offsets").is_some());
        assert!(!reg.is_loaded());
        // Not built yet: the lookup loads everything first.
        assert_eq!(reg.topic("a").unwrap().partition_count(), 3);
        assert!(reg.is_loaded());
        assert_eq!(reg.topic("stray").unwrap().partition_count(), 2);
        assert_eq!(reg.topics().len(), 3);
        store.close().unwrap();
        // The adoption was persisted.
        let (store, reg) = open(dir.path());
        reg.finish_loading();
        assert!(reg.is_loaded());
        assert_eq!(reg.topic("stray").unwrap().partition_count(), 2);
        store.close().unwrap();
    }

    #[test]
    fn a_change_before_the_load_loads_first_and_persists_an_adoption() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, reg) = open(dir.path());
            reg.create_topic("__consumer_offsets", 1, TopicConfig::default(), false)
                .unwrap();
            store.close().unwrap();
        }
        std::fs::create_dir(dir.path().join("stray-0")).unwrap();
        let (store, reg) = open(dir.path());
        assert!(!reg.is_loaded());
        // Under the change lock the load would persist the adoption: it must
        // run before (a hang here is that deadlock).
        reg.set_topic_config("__consumer_offsets", TopicConfig::default())
            .unwrap();
        assert!(reg.is_loaded());
        assert!(reg.topic("stray").is_some());
        store.close().unwrap();
    }

    #[test]
    fn a_missing_topic_is_missing_only_once_everything_is_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let (store, reg) = open(dir.path());
        assert!(reg.topic("nope").is_none());
        assert!(reg.is_loaded());
        assert!(reg.topic_by_id(Uuid::nil()).is_none());
        store.close().unwrap();
    }
}
