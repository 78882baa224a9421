//! Client quotas (KIP-13, KIP-124, KIP-219, KIP-546, KIP-599): the configs
//! AlterClientQuotas sets and DescribeClientQuotas reads (persisted in
//! [`checkpoint::QUOTA_CHECKPOINT`]), and their enforcement as Kafka's
//! `ClientQuotaManager` does it:
//!
//! - `producer_byte_rate`: Produce request bytes, recorded after the handler;
//! - `consumer_byte_rate`: Fetch response bytes (the fetch handler bounds its
//!   read by the quota window and answers an empty response when throttled);
//! - `request_percentage`: handler time ([`timing`]), in percent of one core;
//! - `controller_mutation_rate`: partitions created or deleted per second
//!   (CreateTopics, CreatePartitions, DeleteTopics), a token bucket; from
//!   CreateTopics v6 / CreatePartitions v3 / DeleteTopics v5 a request that
//!   finds the bucket empty gets THROTTLING_QUOTA_EXCEEDED for the topic.
//!
//! A quota applies to the request's principal name (`ANONYMOUS` without
//! authentication) and client id, looked up in Kafka's order: user+client-id,
//! user+default client-id, user, default user+client-id, default user+default
//! client-id, default user, client-id, default client-id. The entity found
//! decides which requests share one measurement (Kafka's metric tags). Rates
//! are measured over `quota.window.num` windows of `quota.window.size.seconds`
//! (`controller.quota.window.*` for mutations) and the throttle time is
//! computed from the excess ([`rate`]); it goes into the response's
//! `throttle_time_ms` and the session mutes the connection for that long.
//!
//! With no quota configured every check is one atomic load.
//!
//! Layout: [`entity`] (entities, keys, validation, describe filters),
//! [`rate`] (the measurements), [`checkpoint`] (the file), [`timing`] (what
//! request time is), this module (configs, lookup, enforcement).

pub mod checkpoint;
pub mod entity;
pub mod rate;
pub mod timing;

use crate::config::Settings;
use crate::pipeline::{Quotas, RequestContext};
use arc_swap::ArcSwap;
use entity::{
    Entity, Filter, QuotaError, CLIENT_ID, CONSUMER_BYTE_RATE, CONTROLLER_MUTATION_RATE,
    PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, USER,
};
use kafka_protocol::messages::ApiKey;
use parking_lot::Mutex;
use rate::{Rate, TokenBucket, Window};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_storage::{StorageError, Store};

/// Every entity's quotas: entity -> key -> value.
pub type Configs = BTreeMap<Entity, BTreeMap<String, f64>>;

/// The four enforced quota types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    Produce,
    Fetch,
    Request,
    ControllerMutation,
}

impl QuotaKind {
    const ALL: [QuotaKind; 4] = [
        QuotaKind::Produce,
        QuotaKind::Fetch,
        QuotaKind::Request,
        QuotaKind::ControllerMutation,
    ];

    pub fn key(self) -> &'static str {
        match self {
            QuotaKind::Produce => PRODUCER_BYTE_RATE,
            QuotaKind::Fetch => CONSUMER_BYTE_RATE,
            QuotaKind::Request => REQUEST_PERCENTAGE,
            QuotaKind::ControllerMutation => CONTROLLER_MUTATION_RATE,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A measurement shared by the requests of one quota entity.
#[derive(Debug)]
enum Meter {
    Rate(Rate),
    Bucket(TokenBucket),
}

type Sensor = Arc<Mutex<Meter>>;

/// What applies to one (user, client id) for one quota kind.
#[derive(Debug, Clone)]
struct Applied {
    bound: f64,
    sensor: Sensor,
}

/// The quotas resolved for one (user, client id).
#[derive(Debug, Default)]
struct Resolved([Option<Applied>; 4]);

#[derive(Default)]
struct Sensors {
    /// user -> client id -> resolved quotas (cleared when the configs change).
    resolved: HashMap<String, HashMap<String, Arc<Resolved>>>,
    resolved_count: usize,
    /// (kind, user tag, client tag) -> measurement (kept across config changes).
    sensors: HashMap<(QuotaKind, String, String), Sensor>,
}

/// Past this many (user, client id) pairs or sensors, the maps start over
/// (Kafka expires sensors idle for an hour; this bounds memory instead).
const MAX_TRACKED: usize = 100_000;

/// One AlterClientQuotas entry: the entity as the request gave it and its
/// operations (key, `None` = remove).
#[derive(Debug, Clone)]
pub struct Alteration {
    pub entity: Vec<(String, Option<String>)>,
    pub ops: Vec<(String, Option<f64>)>,
}

/// The client-quota manager, one per broker.
pub struct ClientQuotas {
    store: Option<Arc<Store>>,
    configs: ArcSwap<Configs>,
    /// Per [`QuotaKind`]: some entity sets it (the zero-cost check).
    enabled: [AtomicBool; 4],
    window: Window,
    controller_window: Window,
    sensors: Mutex<Sensors>,
    /// Serialises alterations (write to disk, then swap).
    write: Mutex<()>,
    epoch: Instant,
}

impl std::fmt::Debug for ClientQuotas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientQuotas")
    }
}

impl ClientQuotas {
    /// Load the configs from the data dir (none when the file does not exist).
    pub fn open(store: Arc<Store>, settings: &Settings) -> Result<ClientQuotas, StorageError> {
        let configs = match store.read_checkpoint(checkpoint::QUOTA_CHECKPOINT)? {
            Some(data) => checkpoint::decode(&data)?,
            None => Configs::new(),
        };
        let q = ClientQuotas::in_memory(settings);
        q.install(configs);
        Ok(ClientQuotas {
            store: Some(store),
            ..q
        })
    }

    /// Without persistence (tests).
    pub fn in_memory(settings: &Settings) -> ClientQuotas {
        let window = |n: &str, s: &str| {
            Window::new(
                settings.i64(n).clamp(1, u32::MAX as i64) as u32,
                settings.i64(s).max(1) as u64,
            )
        };
        ClientQuotas {
            store: None,
            configs: ArcSwap::from_pointee(Configs::new()),
            enabled: Default::default(),
            window: window("quota.window.num", "quota.window.size.seconds"),
            controller_window: window(
                "controller.quota.window.num",
                "controller.quota.window.size.seconds",
            ),
            sensors: Mutex::new(Sensors::default()),
            write: Mutex::new(()),
            epoch: Instant::now(),
        }
    }

    fn install(&self, configs: Configs) {
        for kind in QuotaKind::ALL {
            let on = configs
                .iter()
                .any(|(e, v)| (e.has(USER) || e.has(CLIENT_ID)) && v.contains_key(kind.key()));
            self.enabled[kind.index()].store(on, Ordering::Release);
        }
        self.configs.store(Arc::new(configs));
        let mut s = self.sensors.lock();
        s.resolved.clear();
        s.resolved_count = 0;
    }

    /// Whether some entity has a quota of this kind.
    pub fn enabled(&self, kind: QuotaKind) -> bool {
        self.enabled[kind.index()].load(Ordering::Relaxed)
    }

    /// Whether any quota is configured.
    pub fn any_enabled(&self) -> bool {
        QuotaKind::ALL.iter().any(|k| self.enabled(*k))
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Every entity's configs.
    pub fn configs(&self) -> Arc<Configs> {
        self.configs.load_full()
    }

    /// The entities a DescribeClientQuotas filter matches, with their quotas.
    pub fn describe(&self, filter: &Filter) -> Vec<(Entity, BTreeMap<String, f64>)> {
        self.configs
            .load()
            .iter()
            .filter(|(e, _)| filter.matches(e))
            .map(|(e, v)| (e.clone(), v.clone()))
            .collect()
    }

    /// Apply AlterClientQuotas entries as Kafka's `ClientQuotaControlManager`
    /// does: each entity is checked and changed as a whole; the result per
    /// entity in the order first named. Persisted before it takes effect;
    /// blocking (fsync): call off the async workers.
    pub fn alter(
        &self,
        alterations: &[Alteration],
        validate_only: bool,
    ) -> Vec<(Entity, Result<(), QuotaError>)> {
        let _w = self.write.lock();
        let mut next: Configs = (**self.configs.load()).clone();
        let mut results: Vec<(Entity, Result<(), QuotaError>)> = Vec::new();
        let mut changed = false;
        for alt in alterations {
            // As the request's `entries()`: a type given twice keeps its last name.
            let entity = Entity(alt.entity.iter().cloned().collect());
            let mut ops: Vec<(String, Option<f64>)> = Vec::with_capacity(alt.ops.len());
            let mut error = None;
            for (key, value) in &alt.ops {
                if ops.iter().any(|(k, _)| k == key) {
                    error = Some(QuotaError::InvalidRequest(format!(
                        "Duplicate quota key {key} not updating quota for this entity {entity}"
                    )));
                } else {
                    ops.push((key.clone(), *value));
                }
            }
            let seen = results.iter().position(|(e, _)| *e == entity);
            if seen.is_some() || error.is_some() {
                let why = Err(QuotaError::InvalidRequest(format!(
                    "Ignoring duplicate entity {entity}"
                )));
                match seen {
                    Some(i) => results[i].1 = why,
                    None => results.push((entity, why)),
                }
                continue;
            }
            let outcome = alter_one(&mut next, &entity, &ops);
            changed |= outcome == Ok(true);
            results.push((entity, outcome.map(|_| ())));
        }
        if validate_only || !changed {
            return results;
        }
        if let Some(store) = &self.store {
            if let Err(e) =
                store.write_checkpoint(checkpoint::QUOTA_CHECKPOINT, &checkpoint::encode(&next))
            {
                tracing::error!("could not write {}: {e}", checkpoint::QUOTA_CHECKPOINT);
                for r in results.iter_mut().filter(|r| r.1.is_ok()) {
                    r.1 = Err(QuotaError::Storage(e.to_string()));
                }
                return results;
            }
        }
        self.install(next);
        results
    }

    /// The quota of `kind` that applies to `user` and `client`, and the
    /// measurement it is enforced with.
    fn applied(&self, kind: QuotaKind, user: &str, client: &str) -> Option<Applied> {
        let resolved = {
            let mut s = self.sensors.lock();
            match s.resolved.get(user).and_then(|m| m.get(client)) {
                Some(r) => r.clone(),
                None => {
                    let r = Arc::new(self.resolve(&mut s, user, client));
                    if s.resolved_count >= MAX_TRACKED {
                        s.resolved.clear();
                        s.resolved_count = 0;
                    }
                    s.resolved_count += 1;
                    s.resolved
                        .entry(user.to_string())
                        .or_default()
                        .insert(client.to_string(), r.clone());
                    r
                }
            }
        };
        resolved.0[kind.index()].clone()
    }

    /// Kafka's lookup order (`DefaultQuotaCallback.quotaMetricTags`), for
    /// every kind: the first entity that sets the key gives the bound, and the
    /// level it is found at gives the sensor's (user, client id) tags.
    fn resolve(&self, s: &mut Sensors, user: &str, client: &str) -> Resolved {
        let configs = self.configs.load();
        let u = Some(user);
        let c = Some(client);
        // (entity, user tag, client tag)
        let levels: [(Entity, &str, &str); 8] = [
            (Entity::of(&[(USER, u), (CLIENT_ID, c)]), user, client),
            (Entity::of(&[(USER, u), (CLIENT_ID, None)]), user, client),
            (Entity::of(&[(USER, u)]), user, ""),
            (Entity::of(&[(USER, None), (CLIENT_ID, c)]), user, client),
            (Entity::of(&[(USER, None), (CLIENT_ID, None)]), user, client),
            (Entity::of(&[(USER, None)]), user, ""),
            (Entity::of(&[(CLIENT_ID, c)]), "", client),
            (Entity::of(&[(CLIENT_ID, None)]), "", client),
        ];
        let mut out = Resolved::default();
        for kind in QuotaKind::ALL {
            if !self.enabled(kind) {
                continue;
            }
            let found = levels.iter().find_map(|(e, ut, ct)| {
                configs
                    .get(e)
                    .and_then(|v| v.get(kind.key()))
                    .map(|b| (*b, *ut, *ct))
            });
            if let Some((bound, ut, ct)) = found {
                if s.sensors.len() >= MAX_TRACKED {
                    s.sensors.clear();
                }
                let window = match kind {
                    QuotaKind::ControllerMutation => self.controller_window,
                    _ => self.window,
                };
                let sensor = s
                    .sensors
                    .entry((kind, ut.to_string(), ct.to_string()))
                    .or_insert_with(|| {
                        Arc::new(Mutex::new(match kind {
                            QuotaKind::ControllerMutation => {
                                Meter::Bucket(TokenBucket::new(window))
                            }
                            _ => Meter::Rate(Rate::new(window)),
                        }))
                    })
                    .clone();
                out.0[kind.index()] = Some(Applied { bound, sensor });
            }
        }
        out
    }

    fn applied_for(&self, kind: QuotaKind, ctx: &RequestContext) -> Option<Applied> {
        if !self.enabled(kind) {
            return None;
        }
        self.applied(
            kind,
            ctx.principal.name(),
            ctx.client_id.as_deref().unwrap_or(""),
        )
    }

    /// Record `value` against the rate quota of `kind`; the throttle time in ms.
    fn record_rate(&self, kind: QuotaKind, ctx: &RequestContext, value: f64) -> i32 {
        let Some(a) = self.applied_for(kind, ctx) else {
            return 0;
        };
        let now = self.now_ms();
        let mut m = a.sensor.lock();
        let Meter::Rate(rate) = &mut *m else {
            return 0;
        };
        let mut t = rate.record_and_throttle(value, a.bound, now);
        if kind == QuotaKind::Request {
            // ClientRequestQuotaManager bounds the throttle time by one window.
            t = t.min(self.window.size_ms);
        }
        t as i32
    }

    /// Produce: record the request's size; the throttle time.
    pub fn record_produce(&self, ctx: &RequestContext, request_bytes: usize) -> i32 {
        self.record_rate(QuotaKind::Produce, ctx, request_bytes as f64)
    }

    /// Any request: record the handler's time (see [`timing`]); the throttle time.
    pub fn record_request_time(&self, ctx: &RequestContext, busy: Duration) -> i32 {
        // percent of one core, per second of window
        self.record_rate(
            QuotaKind::Request,
            ctx,
            busy.as_nanos() as f64 * 100.0 / 1e9,
        )
    }

    /// Fetch: the most bytes one fetch may return under the consumer quota
    /// (`quota * (num - 1) * size`, Kafka's `maxValueInQuotaWindow`).
    pub fn fetch_window_bytes(&self, ctx: &RequestContext) -> Option<usize> {
        let a = self.applied_for(QuotaKind::Fetch, ctx)?;
        let secs = (self.window.samples as u64 - 1) * self.window.size_ms / 1000;
        Some((a.bound * secs as f64).min(usize::MAX as f64) as usize)
    }

    /// Fetch: record the response's size; the throttle time. When throttled
    /// the record is taken back, as Kafka answers an empty response then.
    pub fn record_fetch(&self, ctx: &RequestContext, response_bytes: usize) -> i32 {
        let Some(a) = self.applied_for(QuotaKind::Fetch, ctx) else {
            return 0;
        };
        let now = self.now_ms();
        let mut m = a.sensor.lock();
        let Meter::Rate(rate) = &mut *m else {
            return 0;
        };
        let t = rate.record_and_throttle(response_bytes as f64, a.bound, now);
        if t > 0 {
            rate.record(-(response_bytes as f64), now);
        }
        t as i32
    }

    /// The controller-mutation quota of one CreateTopics / CreatePartitions /
    /// DeleteTopics request; `strict` from the versions that answer
    /// THROTTLING_QUOTA_EXCEEDED.
    pub fn mutations(self: &Arc<Self>, ctx: &RequestContext, strict: bool) -> MutationQuota {
        MutationQuota {
            applied: self.applied_for(QuotaKind::ControllerMutation, ctx),
            quotas: self.clone(),
            strict,
            throttle_ms: 0,
        }
    }
}

/// One entity's alteration on `next`: `Ok(true)` when it changed something.
fn alter_one(
    next: &mut Configs,
    entity: &Entity,
    ops: &[(String, Option<f64>)],
) -> Result<bool, QuotaError> {
    // the entity as the request's map (a repeated type collapsed)
    let components: Vec<(String, Option<String>)> = entity
        .0
        .iter()
        .map(|(t, n)| (t.clone(), n.clone()))
        .collect();
    entity::validate_entity(&components)?;
    let mut values = next.get(entity).cloned().unwrap_or_default();
    let mut changed = false;
    for (key, value) in ops {
        match value {
            None => changed |= values.remove(key).is_some(),
            Some(v) => {
                entity::validate_value(entity, key, *v)?;
                changed |= values.insert(key.clone(), *v) != Some(*v);
            }
        }
    }
    if values.is_empty() {
        next.remove(entity);
    } else {
        next.insert(entity.clone(), values);
    }
    Ok(changed)
}

/// The controller-mutation quota of one request: [`MutationQuota::record`]
/// per topic, then [`MutationQuota::throttle_time_ms`] for the response.
pub struct MutationQuota {
    quotas: Arc<ClientQuotas>,
    applied: Option<Applied>,
    strict: bool,
    throttle_ms: i32,
}

impl MutationQuota {
    /// Take `permits` (partitions). Strict: refused, with the throttle time,
    /// when the bucket is already empty (`StrictControllerMutationQuota`).
    pub fn record(&mut self, permits: usize) -> Result<(), i32> {
        let Some(a) = &self.applied else {
            return Ok(());
        };
        let now = self.quotas.now_ms();
        let mut m = a.sensor.lock();
        let Meter::Bucket(bucket) = &mut *m else {
            return Ok(());
        };
        if self.strict {
            let t = bucket.throttle(a.bound, now);
            if t > 0 {
                self.throttle_ms = self.throttle_ms.max(t as i32);
                return Err(t as i32);
            }
        }
        bucket.record(permits as f64, a.bound, now);
        Ok(())
    }

    /// The throttle time for the response: the time until the bucket is back
    /// to zero, or the largest refusal's.
    pub fn throttle_time_ms(&self) -> i32 {
        let Some(a) = &self.applied else {
            return 0;
        };
        let now = self.quotas.now_ms();
        let mut m = a.sensor.lock();
        let t = match &mut *m {
            Meter::Bucket(bucket) => bucket.throttle(a.bound, now) as i32,
            Meter::Rate(_) => 0,
        };
        t.max(self.throttle_ms)
    }
}

/// The pipeline's quota stage: produce bytes and request time after the handler.
impl Quotas for ClientQuotas {
    fn throttle_time_ms(&self, _ctx: &RequestContext, _request_bytes: usize) -> i32 {
        0
    }

    fn measures_request_time(&self) -> bool {
        self.enabled(QuotaKind::Request)
    }

    fn enabled(&self) -> bool {
        self.enabled(QuotaKind::Produce) || self.enabled(QuotaKind::Request)
    }

    fn after_handler(&self, ctx: &RequestContext, request_bytes: usize, busy: Duration) -> i32 {
        let mut t = 0;
        if ctx.api_key == ApiKey::Produce {
            t = self.record_produce(ctx, request_bytes);
        }
        if self.enabled(QuotaKind::Request) {
            t = t.max(self.record_request_time(ctx, busy));
        }
        t
    }
}

/// From which version of each API the client throttles itself on
/// `throttle_time_ms` (KIP-219, Kafka's `shouldClientThrottle`): before it,
/// the broker delays the response instead of sending it at once.
pub fn client_throttles(api_key: ApiKey, version: i16) -> bool {
    let from = match api_key {
        ApiKey::Produce | ApiKey::Metadata => 6,
        ApiKey::Fetch => 8,
        ApiKey::ListOffsets | ApiKey::CreateTopics | ApiKey::JoinGroup => 3,
        ApiKey::OffsetFetch | ApiKey::OffsetCommit => 4,
        ApiKey::Heartbeat
        | ApiKey::DescribeGroups
        | ApiKey::DescribeConfigs
        | ApiKey::SyncGroup
        | ApiKey::LeaveGroup
        | ApiKey::DeleteTopics
        | ApiKey::FindCoordinator
        | ApiKey::ListGroups
        | ApiKey::ApiVersions => 2,
        ApiKey::AlterConfigs
        | ApiKey::CreateAcls
        | ApiKey::DescribeAcls
        | ApiKey::DeleteAcls
        | ApiKey::DescribeLogDirs
        | ApiKey::AddPartitionsToTxn
        | ApiKey::AddOffsetsToTxn
        | ApiKey::CreatePartitions
        | ApiKey::DeleteRecords
        | ApiKey::InitProducerId
        | ApiKey::TxnOffsetCommit
        | ApiKey::DeleteGroups
        | ApiKey::EndTxn => 1,
        _ => 0,
    };
    version >= from
}

#[cfg(test)]
mod tests;
