//! The registry of all topics: create, alter, grow and delete topics, persist
//! the registry, and reopen every partition (with its producer state) at start-up.

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
use crate::producer_state::{BatchMeta, MarkerMeta, ProducerStateTable};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;
use weir_storage::batch::iter_batches_lenient;
use weir_storage::{LogConfig, PartitionLog, StorageError, Store, TopicPartition};

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
            *reg.snapshots.lock() = decode_snapshots(&data).unwrap_or_default();
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
            let mut topics = reg.topics.write();
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
        let config = ResolvedTopicConfig::resolve(spec.config, &self.settings);
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
        let log = self.store.open_log(&tp, log_config.clone())?;
        let producers = self.load_producer_state(&tp, &log)?;
        Ok(Arc::new(Partition::new(topic, index, log, producers)))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().by_name.get(name).cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.topics.read().by_id.get(&id).cloned()
    }

    /// All topics, by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
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
        validate_topic_name(name)?;
        let partitions = if partitions == -1 {
            self.settings.i64("num.partitions") as i32
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
        let _guard = self.change.lock();
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
            let mut topics = self.topics.write();
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
        self.persist()
    }

    /// Replace a topic's config overrides (AlterConfigs); applies to the logs at once.
    pub fn set_topic_config(&self, name: &str, config: TopicConfig) -> Result<(), TopicError> {
        let _guard = self.change.lock();
        let topic = self
            .topic(name)
            .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))?;
        let resolved = Arc::new(ResolvedTopicConfig::resolve(config, &self.settings));
        for p in topic.partitions() {
            p.set_log_config(resolved.log.clone());
        }
        topic.config.store(resolved);
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
        let _guard = self.snapshot_write.lock();
        let partitions: Vec<_> = self.topics().iter().flat_map(|t| t.partitions()).collect();
        if only_if_changed && !partitions.iter().any(|p| p.producer_state_dirty()) {
            return Ok(false);
        }
        let mut data = SnapshotWriter::new(partitions.len());
        for p in &partitions {
            let (offset, table) = p.producer_snapshot();
            data.push(&p.topic, p.index, offset, &table);
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

    /// The producer state of a partition: its snapshot (if valid and not beyond the
    /// log end) plus the idempotent batches after it, read from the log's batch headers.
    fn load_producer_state(
        &self,
        tp: &TopicPartition,
        log: &PartitionLog,
    ) -> Result<ProducerStateTable, TopicError> {
        let end = log.log_end_offset();
        let start = log.log_start_offset();
        let snapshot = self.snapshots.lock().remove(tp);
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
                        MarkerMeta {
                            coordinator_epoch: -1,
                            timestamp: batch.max_timestamp(),
                        },
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
                            max_timestamp: batch.max_timestamp(),
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
