//! [`TxnCoordinator`]: the thread-safe front of the transaction coordinator.
//! It serialises the operations on one transactional id, checks them with the
//! state machine ([`super::state`]), persists every new state to the
//! transaction log before it takes effect, writes the markers through a
//! [`TxnEnv`] and drives the timers (transaction timeouts; completing a
//! transaction whose markers could not all be written, e.g. after a restart).
//!
//! Every method except [`TxnCoordinator::run_timers`] blocks (log appends and
//! fsyncs): handlers call them on the blocking pool.

use super::records;
use super::state::{InitStep, PendingOffset, TxnError, TxnMetadata, TxnState};
use crate::groups::log::{GroupLog, LogRecord};
use crate::producer_state::ProducerError;
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use weir_storage::clock::now_ms as wall_ms;

/// The coordinator epoch written into markers (one coordinator, never moves).
pub const COORDINATOR_EPOCH: i32 = 0;

/// How long a request waits for another operation on the same transactional id
/// (a few log writes) before it is answered CONCURRENT_TRANSACTIONS.
const BUSY_WAIT: Duration = Duration::from_secs(2);

/// How soon a transaction whose markers failed is tried again.
const RETRY_MS: i64 = 1000;

/// Why a marker could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    /// Try again later (storage trouble); the transaction stays in Prepare*.
    #[error("{0}")]
    Retry(String),
}

/// What the coordinator needs from the rest of the broker.
pub trait TxnEnv: Send + Sync {
    /// A fresh producer id (never reused).
    fn allocate_producer_id(&self) -> Result<i64, String>;
    /// Write the COMMIT / ABORT marker of `producer_id` to one partition, durably.
    /// A partition that no longer exists counts as written.
    fn write_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> Result<(), MarkerError>;
    /// Apply a committed transaction's offsets to a group, durably.
    fn commit_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<(String, i32), PendingOffset>,
    ) -> Result<(), String>;
}

/// One transactional id: its persisted metadata (None while a first
/// InitProducerId is being persisted) and whether an operation holds it.
struct Entry {
    current: Option<TxnMetadata>,
    busy: bool,
    /// Wall-clock ms before which a failed completion is not retried.
    retry_after: i64,
}

struct Inner {
    txns: Mutex<HashMap<String, Entry>>,
    released: Condvar,
    log: OnceLock<Arc<dyn GroupLog>>,
    max_timeout_ms: i64,
    /// `transactional.id.expiration.ms`: an idle transactional id is forgotten
    /// after this long without a request.
    id_expiration_ms: i64,
    wake: Notify,
    stopped: AtomicBool,
}

/// The transaction coordinator; cheap to clone (shared state).
#[derive(Clone)]
pub struct TxnCoordinator {
    inner: Arc<Inner>,
}

/// Exclusive hold on one transactional id; released on drop.
struct Held<'a> {
    c: &'a TxnCoordinator,
    tid: String,
    current: Option<TxnMetadata>,
}

impl Held<'_> {
    /// Persist `next` and make it the current metadata.
    fn install(&mut self, next: TxnMetadata) -> Result<(), TxnError> {
        self.c.persist(&next)?;
        if let Some(e) = self.c.lock().get_mut(&self.tid) {
            e.current = Some(next.clone());
        }
        self.current = Some(next);
        Ok(())
    }

    /// Forget the transactional id: a tombstone in the log, then out of memory.
    fn forget(&mut self) -> Result<(), TxnError> {
        self.c.persist_tombstone(&self.tid)?;
        if let Some(e) = self.c.lock().get_mut(&self.tid) {
            e.current = None;
        }
        self.current = None;
        Ok(())
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut txns = self.c.lock();
        if let Some(e) = txns.get_mut(&self.tid) {
            e.busy = false;
            if e.current.is_none() {
                txns.remove(&self.tid);
            }
        }
        drop(txns);
        self.c.inner.released.notify_all();
    }
}

impl TxnCoordinator {
    /// A coordinator without its log (attached on first use or at start-up).
    /// `max_timeout_ms` is `transaction.max.timeout.ms`, `id_expiration_ms`
    /// `transactional.id.expiration.ms`.
    pub fn new(max_timeout_ms: i64, id_expiration_ms: i64) -> TxnCoordinator {
        TxnCoordinator {
            inner: Arc::new(Inner {
                txns: Mutex::new(HashMap::new()),
                released: Condvar::new(),
                log: OnceLock::new(),
                max_timeout_ms,
                id_expiration_ms,
                wake: Notify::new(),
                stopped: AtomicBool::new(false),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.txns.lock()
    }

    pub fn has_log(&self) -> bool {
        self.inner.log.get().is_some()
    }

    /// Attach the transaction log and replay it (a no-op when one is attached).
    /// Transactions found in Prepare* are completed by the timers; ongoing ones
    /// are aborted when their timeout expires.
    pub fn attach_log(&self, log: Arc<dyn GroupLog>) -> Result<(), String> {
        if self.inner.log.set(log).is_err() {
            return Ok(());
        }
        let log = self.inner.log.get().expect("just set");
        let mut loaded: HashMap<String, TxnMetadata> = HashMap::new();
        let mut bad = 0usize;
        log.replay(&mut |rec: LogRecord| {
            let tid = match records::decode_key(&rec.key) {
                Ok(Some(t)) => t,
                Ok(None) => return,
                Err(_) => {
                    bad += 1;
                    return;
                }
            };
            match rec.value {
                None => {
                    loaded.remove(&tid);
                }
                Some(v) => match records::decode_value(&tid, &v) {
                    Ok(m) => {
                        loaded.insert(tid, m);
                    }
                    Err(_) => bad += 1,
                },
            }
        })
        .map_err(|e| e.to_string())?;
        if bad > 0 {
            tracing::warn!("transaction coordinator skipped {bad} undecodable records");
        }
        let mut txns = self.lock();
        for (tid, m) in loaded {
            txns.insert(
                tid,
                Entry {
                    current: Some(m),
                    busy: false,
                    retry_after: 0,
                },
            );
        }
        drop(txns);
        self.inner.wake.notify_one();
        Ok(())
    }

    fn persist(&self, m: &TxnMetadata) -> Result<(), TxnError> {
        let log = self.inner.log.get().ok_or_else(|| {
            TxnError::CoordinatorNotAvailable("the transaction log is not open".into())
        })?;
        let rec = LogRecord {
            key: records::encode_key(&m.transactional_id),
            value: Some(records::encode_value(m)),
        };
        let unavailable = |e: crate::groups::log::GroupLogError| {
            tracing::error!("cannot persist transaction {}: {e}", m.transactional_id);
            TxnError::CoordinatorNotAvailable(e.to_string())
        };
        let last = log.append(&[rec]).map_err(unavailable)?;
        log.sync_to(last).map_err(unavailable)
    }

    fn persist_tombstone(&self, tid: &str) -> Result<(), TxnError> {
        let log = self.inner.log.get().ok_or_else(|| {
            TxnError::CoordinatorNotAvailable("the transaction log is not open".into())
        })?;
        let rec = LogRecord {
            key: records::encode_key(tid),
            value: None,
        };
        let unavailable =
            |e: crate::groups::log::GroupLogError| TxnError::CoordinatorNotAvailable(e.to_string());
        let last = log.append(&[rec]).map_err(unavailable)?;
        log.sync_to(last).map_err(unavailable)
    }

    /// When an idle transactional id expires (wall-clock ms), if it is idle.
    fn expiry(&self, m: &TxnMetadata) -> Option<i64> {
        m.state
            .is_idle()
            .then(|| m.last_update_ms.saturating_add(self.inner.id_expiration_ms))
    }

    /// Hold `tid`, waiting up to `wait` for another operation on it to finish.
    fn hold(&self, tid: &str, wait: Duration) -> Result<Held<'_>, TxnError> {
        let deadline = Instant::now() + wait;
        let mut txns = self.lock();
        loop {
            match txns.get_mut(tid) {
                None => {
                    txns.insert(
                        tid.to_string(),
                        Entry {
                            current: None,
                            busy: true,
                            retry_after: 0,
                        },
                    );
                    return Ok(Held {
                        c: self,
                        tid: tid.to_string(),
                        current: None,
                    });
                }
                Some(e) if !e.busy => {
                    e.busy = true;
                    return Ok(Held {
                        c: self,
                        tid: tid.to_string(),
                        current: e.current.clone(),
                    });
                }
                Some(_) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(TxnError::ConcurrentTransactions);
                    }
                    self.inner.released.wait_for(&mut txns, deadline - now);
                }
            }
        }
    }

    /// InitProducerId with a transactional id: the producer id and epoch to use.
    /// The first call allocates an id (epoch 0); each later one bumps the epoch,
    /// fencing older instances, after aborting their ongoing transaction.
    /// `expected` is the (producer id, epoch) a re-initialising client names.
    pub fn init_producer_id(
        &self,
        env: &dyn TxnEnv,
        tid: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<(i64, i16), TxnError> {
        if tid.is_empty() {
            return Err(TxnError::EmptyTransactionalId);
        }
        if timeout_ms <= 0 || timeout_ms as i64 > self.inner.max_timeout_ms {
            return Err(TxnError::InvalidTransactionTimeout(timeout_ms));
        }
        let mut held = self.hold(tid, BUSY_WAIT)?;
        let new_id = || {
            env.allocate_producer_id()
                .map_err(TxnError::CoordinatorNotAvailable)
        };
        let mut expected = expected;
        loop {
            let now = wall_ms();
            let Some(cur) = held.current.clone() else {
                if let Some((_, epoch)) = expected {
                    return Err(TxnError::ProducerFenced {
                        got: epoch,
                        current: -1,
                    });
                }
                let m = TxnMetadata::new(tid, new_id()?, timeout_ms, now);
                let ids = (m.producer_id, m.producer_epoch);
                held.install(m)?;
                return Ok(ids);
            };
            match cur.init(expected, timeout_ms, now, new_id)? {
                InitStep::Ready(next) => {
                    let ids = (next.producer_id, next.producer_epoch);
                    held.install(next)?;
                    return Ok(ids);
                }
                InitStep::AbortFirst => {
                    held.install(cur.fence_and_abort(now)?)?;
                    self.complete(env, &mut held)?;
                    expected = None;
                }
            }
        }
    }

    /// Write the markers of a transaction in Prepare*, apply its offsets on
    /// commit, and move it to Complete*. On failure it stays in Prepare* (and
    /// requests on it get CONCURRENT_TRANSACTIONS) until the timers retry.
    fn complete(&self, env: &dyn TxnEnv, held: &mut Held<'_>) -> Result<(), TxnError> {
        let Some(m) = held.current.clone() else {
            return Ok(());
        };
        if !m.state.is_prepare() {
            return Ok(());
        }
        let commit = m.state == TxnState::PrepareCommit;
        let retry_later = |why: String| {
            if let Some(e) = self.lock().get_mut(&m.transactional_id) {
                e.retry_after = wall_ms() + RETRY_MS;
            }
            self.inner.wake.notify_one();
            TxnError::CoordinatorNotAvailable(why)
        };
        for (topic, partition) in &m.partitions {
            env.write_marker(topic, *partition, m.producer_id, m.producer_epoch, commit)
                .map_err(|e| {
                    tracing::warn!(
                        "marker for transaction {} on {topic}-{partition} failed: {e}",
                        m.transactional_id
                    );
                    retry_later(e.to_string())
                })?;
        }
        if commit {
            for (group, offsets) in &m.offsets {
                if !offsets.is_empty() {
                    env.commit_offsets(group, offsets).map_err(|e| {
                        tracing::warn!(
                            "offsets of transaction {} for group {group} failed: {e}",
                            m.transactional_id
                        );
                        retry_later(e)
                    })?;
                }
            }
        }
        held.install(m.complete(wall_ms())?)
    }

    /// The metadata of `tid`, for a request that needs it to exist.
    fn existing(held: &Held<'_>) -> Result<TxnMetadata, TxnError> {
        held.current
            .clone()
            .ok_or(TxnError::InvalidProducerIdMapping)
    }

    /// AddPartitionsToTxn (the partitions are known to exist).
    pub fn add_partitions(
        &self,
        tid: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<(), TxnError> {
        let mut held = self.hold(tid, BUSY_WAIT)?;
        let cur = Self::existing(&held)?;
        if let Some(next) = cur.add_partitions(producer_id, epoch, partitions, wall_ms())? {
            held.install(next)?;
            self.inner.wake.notify_one();
        }
        Ok(())
    }

    /// Whether `partitions` could be added now (AddPartitionsToTxn v4+ `verify_only`):
    /// the producer is current and they are all in its ongoing transaction.
    pub fn verify_partitions(
        &self,
        tid: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<Vec<bool>, TxnError> {
        let txns = self.lock();
        let cur = txns
            .get(tid)
            .and_then(|e| e.current.as_ref())
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        cur.check_producer(producer_id, epoch)?;
        Ok(partitions
            .iter()
            .map(|p| cur.state == TxnState::Ongoing && cur.partitions.contains(p))
            .collect())
    }

    /// AddOffsetsToTxn.
    pub fn add_offsets(
        &self,
        tid: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
    ) -> Result<(), TxnError> {
        let mut held = self.hold(tid, BUSY_WAIT)?;
        let cur = Self::existing(&held)?;
        if let Some(next) = cur.add_offsets(producer_id, epoch, group, wall_ms())? {
            held.install(next)?;
            self.inner.wake.notify_one();
        }
        Ok(())
    }

    /// TxnOffsetCommit: keep the offsets with the transaction until it ends.
    pub fn txn_offset_commit(
        &self,
        tid: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
        offsets: &[((String, i32), PendingOffset)],
    ) -> Result<(), TxnError> {
        let mut held = self.hold(tid, BUSY_WAIT)?;
        let cur = Self::existing(&held)?;
        let next = cur.commit_offsets(producer_id, epoch, group, offsets, wall_ms())?;
        held.install(next)
    }

    /// EndTxn: prepare, write the markers (and apply offsets on commit), complete.
    /// Answered OK once the outcome is decided (prepared durably): if a marker
    /// cannot be written now, the timers finish the transaction later.
    pub fn end_txn(
        &self,
        env: &dyn TxnEnv,
        tid: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<(), TxnError> {
        let mut held = self.hold(tid, BUSY_WAIT)?;
        let cur = Self::existing(&held)?;
        let Some(prepared) = cur.end(producer_id, epoch, commit, wall_ms())? else {
            return Ok(());
        };
        held.install(prepared)?;
        if let Err(e) = self.complete(env, &mut held) {
            tracing::warn!("transaction {tid} decided, completion deferred: {e}");
        }
        Ok(())
    }

    /// Whether a transactional batch of (`producer_id`, `epoch`) may be appended to
    /// `topic`-`partition`: the producer is the transactional id's current one and
    /// the partition is in its ongoing transaction. Called under the partition's
    /// append lock; takes only the coordinator's short lock.
    pub fn verify_produce(
        &self,
        tid: Option<&str>,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), ProducerError> {
        let Some(tid) = tid.filter(|t| !t.is_empty()) else {
            return Err(ProducerError::MissingTransactionalId { producer_id });
        };
        let txns = self.lock();
        let Some(cur) = txns.get(tid).and_then(|e| e.current.as_ref()) else {
            return Err(ProducerError::InvalidProducerIdMapping { producer_id });
        };
        if cur.producer_id != producer_id {
            return Err(ProducerError::InvalidProducerIdMapping { producer_id });
        }
        if cur.producer_epoch != epoch {
            return Err(ProducerError::InvalidEpoch {
                producer_id,
                epoch,
                current: cur.producer_epoch,
            });
        }
        if cur.state != TxnState::Ongoing
            || !cur.partitions.contains(&(topic.to_string(), partition))
        {
            return Err(ProducerError::InvalidTxnState {
                producer_id,
                reason: "the partition is not in the producer's ongoing transaction",
            });
        }
        Ok(())
    }

    /// Whether an open transaction carries an offset for this group partition
    /// (OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT then).
    pub fn has_pending_offset(&self, group: &str, topic: &str, partition: i32) -> bool {
        let key = (topic.to_string(), partition);
        self.lock().values().any(|e| {
            e.current.as_ref().is_some_and(|m| {
                !m.state.is_idle() && m.offsets.get(group).is_some_and(|o| o.contains_key(&key))
            })
        })
    }

    /// The metadata of one transactional id (DescribeTransactions).
    pub fn describe(&self, tid: &str) -> Option<TxnMetadata> {
        self.lock().get(tid).and_then(|e| e.current.clone())
    }

    /// Every transactional id's metadata (ListTransactions).
    pub fn list(&self) -> Vec<TxnMetadata> {
        let mut all: Vec<_> = self
            .lock()
            .values()
            .filter_map(|e| e.current.clone())
            .collect();
        all.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        all
    }

    /// One pass of the timers at wall-clock `now`: abort (fencing the producer)
    /// every ongoing transaction past its timeout, finish every transaction
    /// left in Prepare*, and forget transactional ids idle for longer than
    /// `transactional.id.expiration.ms`. Returns when the next pass is due (ms).
    pub fn expire(&self, env: &dyn TxnEnv, now: i64) -> Option<i64> {
        let due: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, e)| !e.busy)
            .filter_map(|(tid, e)| {
                let m = e.current.as_ref()?;
                let expired = m.deadline().is_some_and(|d| d <= now);
                let unfinished = m.state.is_prepare() && e.retry_after <= now;
                let idle_too_long = self.expiry(m).is_some_and(|x| x <= now);
                (expired || unfinished || idle_too_long).then(|| tid.clone())
            })
            .collect();
        for tid in due {
            let Ok(mut held) = self.hold(&tid, Duration::ZERO) else {
                continue;
            };
            let Some(cur) = held.current.clone() else {
                continue;
            };
            let result = if cur.deadline().is_some_and(|d| d <= now) {
                tracing::info!(
                    "transaction {tid} (producer {} epoch {}) timed out after {} ms: aborting",
                    cur.producer_id,
                    cur.producer_epoch,
                    cur.timeout_ms
                );
                cur.fence_and_abort(wall_ms())
                    .and_then(|next| held.install(next))
                    .and_then(|()| self.complete(env, &mut held))
            } else if cur.state.is_prepare() {
                self.complete(env, &mut held)
            } else if self.expiry(&cur).is_some_and(|x| x <= now) {
                held.forget()
            } else {
                Ok(())
            };
            if let Err(e) = result {
                tracing::warn!("transaction {tid}: {e}; will retry");
            }
        }
        self.next_due()
    }

    /// The earliest wall-clock ms at which [`TxnCoordinator::expire`] has work.
    fn next_due(&self) -> Option<i64> {
        self.lock()
            .values()
            .filter_map(|e| {
                let m = e.current.as_ref()?;
                if m.state.is_prepare() {
                    Some(e.retry_after)
                } else {
                    m.deadline().or_else(|| self.expiry(m))
                }
            })
            .min()
    }

    /// Run the timers until [`TxnCoordinator::shutdown`]; spawn once.
    pub async fn run_timers<E: TxnEnv + 'static>(self, env: Arc<E>) {
        while !self.inner.stopped.load(Ordering::Acquire) {
            let c = self.clone();
            let e = env.clone();
            let next = tokio::task::spawn_blocking(move || c.expire(&*e, wall_ms()))
                .await
                .unwrap_or(None);
            let sleep_ms = next.map_or(60_000, |d| (d - wall_ms()).clamp(1, 60_000) as u64);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
                _ = self.inner.wake.notified() => {}
            }
        }
    }

    /// Stop the timer task.
    pub fn shutdown(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        self.inner.wake.notify_one();
    }
}
