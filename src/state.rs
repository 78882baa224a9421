//! Broker-wide state handed to every handler as `Arc<BrokerState>`: settings and
//! identity (node id, cluster id, advertised address), the [`Store`], the topic /
//! partition [`Registry`], the producer-id allocator, the group and transaction
//! coordinators, the request pipeline's stages, and the shutdown signal.

use crate::config::Settings;
use crate::error::StartError;
use crate::ids;
use crate::partitions::Registry;
use crate::pipeline::Pipeline;
use crate::txn::{MarkerError, PendingOffset, TxnEnv};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;
use weir_storage::{StorageError, Store};

/// Checkpoint with the cluster id and the producer-id high-water mark.
pub const META_CHECKPOINT: &str = "weir-meta.checkpoint";
/// Producer ids are reserved on disk in blocks of this size.
const PRODUCER_ID_BLOCK: i64 = 1000;

/// Log what the data dir's health reports: one ERROR line when an I/O error
/// takes it offline (its partitions answer KAFKA_STORAGE_ERROR from then on,
/// as Kafka's offline log dir; the broker keeps serving everything else), a
/// WARN line when a write finds the disk full (again only after a write
/// succeeded in between).
fn log_dir_faults(store: &Store) {
    let dir = store.dir().display().to_string();
    store.health().set_listener(move |event| match event {
        weir_storage::FsEvent::Offline { path, error } => tracing::error!(
            "Stopping serving logs in dir {dir}: I/O error on {}: {error}; its partitions \
             answer KAFKA_STORAGE_ERROR until the broker is restarted",
            path.display()
        ),
        weir_storage::FsEvent::DiskFull { path, error } => tracing::warn!(
            "disk full writing {} in dir {dir}: {error}; produce requests fail with \
             KAFKA_STORAGE_ERROR until space is freed",
            path.display()
        ),
    });
}

/// Everything handlers share.
pub struct BrokerState {
    pub settings: Arc<Settings>,
    pub node_id: i32,
    pub cluster_id: String,
    /// Host and port clients are told to connect to (Metadata, FindCoordinator, ...).
    pub advertised_host: String,
    pub advertised_port: i32,
    /// Every listener's advertised address (the server fills it in at start-up;
    /// empty = only `advertised_host`/`advertised_port`).
    pub advertised_listeners: Vec<crate::security::AdvertisedListener>,
    pub store: Arc<Store>,
    pub partitions: Registry,
    pub producer_ids: ProducerIds,
    /// The group coordinator (consumer groups and committed offsets).
    pub groups: crate::groups::Coordinator,
    /// The transaction coordinator (transactional ids, markers).
    pub txn: crate::txn::TxnCoordinator,
    /// The share-group coordinator (KIP-932 share groups and share-partitions).
    pub share: crate::share::Coordinator,
    /// The stages every request passes around its handler.
    pub pipeline: Pipeline,
    /// Dynamic broker configs (IncrementalAlterConfigs / AlterConfigs on a
    /// BROKER resource); `settings` stays the static ones, the registry holds
    /// the effective ones.
    pub dynamic_configs: Mutex<crate::config::dynamic::DynamicConfigs>,
    /// SCRAM credentials (AlterUserScramCredentials, SCRAM authentication).
    pub scram: Arc<crate::security::scram_store::ScramStore>,
    /// Connection and request-memory limits of the accept and read side.
    pub limits: crate::limits::Limits,
    /// Live figures the request paths feed (connections, waiting fetches, ...).
    pub telemetry: crate::telemetry::Telemetry,
    /// Client quotas (AlterClientQuotas / DescribeClientQuotas, throttling).
    pub quotas: Arc<crate::quota::ClientQuotas>,
    /// KIP-227 incremental fetch sessions.
    pub fetch_sessions: crate::fetch_sessions::FetchSessions,
    shutdown: watch::Receiver<bool>,
    next_connection_id: AtomicU64,
}

impl BrokerState {
    /// Build the state over an opened store.
    pub fn new(
        settings: Arc<Settings>,
        store: Arc<Store>,
        advertised_host: String,
        advertised_port: u16,
        shutdown: watch::Receiver<bool>,
        pipeline: Pipeline,
    ) -> Result<BrokerState, StartError> {
        let meta = Meta::load(&store)?;
        let cluster_id = if settings.source("cluster.id") != crate::config::Source::Default {
            settings.str("cluster.id").to_string()
        } else {
            meta.cluster_id.clone()
        };
        let producer_ids = ProducerIds::new(store.clone(), meta)?;
        let scram = Arc::new(crate::security::scram_store::ScramStore::open(
            store.clone(),
        )?);
        let limits = crate::limits::Limits::from_settings(&settings).map_err(StartError::Other)?;
        log_dir_faults(&store);
        let quotas = Arc::new(crate::quota::ClientQuotas::open(store.clone(), &settings)?);
        let pipeline = pipeline
            .with_configured_authorizer(&settings, &store)
            .map_err(|e| StartError::Other(e.to_string()))?
            .also_throttle(quotas.clone());
        let dynamic_configs =
            crate::config::dynamic::load(&store, &settings).map_err(StartError::Other)?;
        let effective = Arc::new(dynamic_configs.effective(&settings));
        let partitions = Registry::open(store.clone(), effective)?;
        let groups =
            crate::groups::wiring::open(&settings, &partitions).map_err(StartError::Other)?;
        let txn = crate::txn::wiring::open(&settings, &partitions).map_err(StartError::Other)?;
        let share = crate::share::Coordinator::open(
            crate::share::ShareConfig::from_settings(&settings),
            Some(store.clone()),
        )
        .map_err(StartError::Other)?;
        let settings_slots = settings
            .i64("max.incremental.fetch.session.cache.slots")
            .max(0) as usize;
        let group_configs = dynamic_configs.groups.clone();
        let state = BrokerState {
            node_id: settings.node_id(),
            settings,
            cluster_id,
            advertised_host,
            advertised_port: advertised_port as i32,
            advertised_listeners: Vec::new(),
            store,
            partitions,
            producer_ids,
            groups,
            txn,
            share,
            pipeline,
            dynamic_configs: Mutex::new(dynamic_configs),
            scram,
            limits,
            telemetry: Default::default(),
            quotas,
            fetch_sessions: crate::fetch_sessions::FetchSessions::new(settings_slots),
            shutdown,
            next_connection_id: AtomicU64::new(1),
        };
        // Group configs (GROUP resources) take effect from the start.
        for (g, set) in &group_configs {
            state.apply_group_configs(g, set);
        }
        Ok(state)
    }

    /// Hand a group's configs (GROUP resource, [`crate::config::group`]) to the
    /// share coordinator and the consumer / streams coordinator: in effect at once.
    pub fn apply_group_configs(
        &self,
        name: &str,
        set: &std::collections::BTreeMap<String, String>,
    ) {
        let settings = self.partitions.settings();
        let share = (!set.is_empty())
            .then(|| crate::share::group_config::GroupShareSettings::of(set, &settings));
        self.share.set_group_settings(name, share);
        let int = |k: &str| set.get(k).and_then(|v| v.trim().parse::<i64>().ok());
        let o = crate::groups::group_configs::GroupOverrides {
            consumer_session_timeout_ms: int("consumer.session.timeout.ms").map(|v| v as u64),
            consumer_heartbeat_interval_ms: int("consumer.heartbeat.interval.ms").map(|v| v as u64),
            streams_session_timeout_ms: int("streams.session.timeout.ms").map(|v| v as u64),
            streams_heartbeat_interval_ms: int("streams.heartbeat.interval.ms").map(|v| v as i32),
            streams_num_standby_replicas: int("streams.num.standby.replicas").map(|v| v as usize),
            streams_initial_rebalance_delay_ms: int("streams.initial.rebalance.delay.ms")
                .map(|v| v as u64),
            streams_assignment_interval_ms: int("streams.assignment.interval.ms").map(|v| v as u64),
            streams_rack_aware_assignment_tags: set
                .get("streams.rack.aware.assignment.tags")
                .map(|v| crate::groups::group_configs::tag_list(v)),
        };
        self.groups.set_group_overrides(name, Some(o));
    }

    /// True once shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves when shutdown begins (long polls use it to return early).
    pub async fn shutting_down(&self) {
        let mut rx = self.shutdown.clone();
        let _ = rx.wait_for(|v| *v).await;
    }

    /// The host and port to give a client that came in on `listener` (Kafka answers
    /// Metadata and FindCoordinator with the endpoint of the client's own listener).
    pub fn advertised_for(&self, listener: &str) -> (&str, i32) {
        self.advertised_listeners
            .iter()
            .find(|l| &*l.name == listener)
            .map(|l| (l.host.as_str(), l.port))
            .unwrap_or((self.advertised_host.as_str(), self.advertised_port))
    }

    pub fn next_connection_id(&self) -> u64 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Make sure the group coordinator has its log (`__consumer_offsets` is
    /// created on first use); the one-time creation runs off the async workers.
    pub async fn ensure_group_log(self: &Arc<Self>) {
        if !self.groups.has_log() {
            let st = self.clone();
            let _ = tokio::task::spawn_blocking(move || {
                crate::groups::wiring::ensure_log(&st.groups, &st.partitions)
            })
            .await;
        }
    }

    /// Make sure the transaction coordinator has its log
    /// (`__transaction_state` is created on first use), off the async workers.
    pub async fn ensure_txn_log(self: &Arc<Self>) {
        if !self.txn.has_log() {
            let st = self.clone();
            let _ = tokio::task::spawn_blocking(move || {
                crate::txn::wiring::ensure_log(&st.txn, &st.partitions)
            })
            .await;
        }
    }
}

/// The broker as the transaction coordinator's environment: producer ids from
/// [`ProducerIds`], markers through the topic registry, committed offsets into
/// the group coordinator ([`crate::txn::wiring`] does the work).
impl TxnEnv for BrokerState {
    fn allocate_producer_id(&self) -> Result<i64, String> {
        self.producer_ids.allocate().map_err(|e| e.to_string())
    }

    fn write_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> Result<(), MarkerError> {
        crate::txn::wiring::write_marker(
            &self.partitions,
            topic,
            partition,
            producer_id,
            producer_epoch,
            commit,
        )
    }

    fn commit_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<(String, i32), PendingOffset>,
    ) -> Result<(), String> {
        crate::txn::wiring::commit_offsets(&self.groups, &self.partitions, group, offsets)
    }
}

/// The persisted broker metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Meta {
    cluster_id: String,
    /// Producer ids below this may have been handed out.
    producer_id_limit: i64,
}

impl Meta {
    fn load(store: &Store) -> Result<Meta, StorageError> {
        if let Some(data) = store.read_checkpoint(META_CHECKPOINT)? {
            if let Some(meta) = Meta::decode(&data) {
                return Ok(meta);
            }
        }
        let meta = Meta {
            cluster_id: ids::random_cluster_id(),
            producer_id_limit: 0,
        };
        store.write_checkpoint(META_CHECKPOINT, &meta.encode())?;
        Ok(meta)
    }

    fn encode(&self) -> Vec<u8> {
        format!(
            "cluster.id={}\nproducer.id.limit={}\n",
            self.cluster_id, self.producer_id_limit
        )
        .into_bytes()
    }

    fn decode(data: &[u8]) -> Option<Meta> {
        let text = std::str::from_utf8(data).ok()?;
        let mut cluster_id = None;
        let mut limit = None;
        for line in text.lines() {
            match line.split_once('=')? {
                ("cluster.id", v) => cluster_id = Some(v.to_string()),
                ("producer.id.limit", v) => limit = v.parse().ok(),
                _ => {}
            }
        }
        Some(Meta {
            cluster_id: cluster_id?,
            producer_id_limit: limit?,
        })
    }
}

/// Hands out producer ids (never reused across restarts: blocks are reserved on
/// disk before use). Transactional ids' ids and epochs live in [`crate::txn`].
pub struct ProducerIds {
    store: Arc<Store>,
    inner: Mutex<ProducerIdsInner>,
}

struct ProducerIdsInner {
    meta: Meta,
    next: i64,
}

impl ProducerIds {
    fn new(store: Arc<Store>, meta: Meta) -> Result<ProducerIds, StorageError> {
        let next = meta.producer_id_limit;
        Ok(ProducerIds {
            store,
            inner: Mutex::new(ProducerIdsInner { meta, next }),
        })
    }

    /// A fresh producer id.
    pub fn allocate(&self) -> Result<i64, StorageError> {
        let mut inner = self.inner.lock();
        if inner.next >= inner.meta.producer_id_limit {
            let mut meta = inner.meta.clone();
            meta.producer_id_limit = inner.next + PRODUCER_ID_BLOCK;
            self.store
                .write_checkpoint(META_CHECKPOINT, &meta.encode())?;
            inner.meta = meta;
        }
        let id = inner.next;
        inner.next += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips() {
        let m = Meta {
            cluster_id: "abc".into(),
            producer_id_limit: 3000,
        };
        assert_eq!(Meta::decode(&m.encode()), Some(m));
        assert_eq!(Meta::decode(b"garbage"), None);
    }
}
