//! The coordinator over an in-memory log and a recording [`TxnEnv`]: markers,
//! offsets, persistence and replay, fencing, timeouts and retries.

use super::coordinator::{MarkerError, TxnCoordinator, TxnEnv};
use super::state::{PendingOffset, TxnError, TxnState};
use crate::groups::log::MemoryGroupLog;
use crate::producer_state::ProducerError;
use kafka_protocol::ResponseError as E;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use weir_storage::clock::now_ms;

/// (topic, partition, producer id, epoch, commit)
type Marker = (String, i32, i64, i16, bool);
/// (group, offsets) applied at a commit.
type Applied = (String, BTreeMap<(String, i32), PendingOffset>);

#[derive(Default)]
struct FakeEnv {
    next_id: AtomicI64,
    markers: Mutex<Vec<Marker>>,
    offsets: Mutex<Vec<Applied>>,
    fail_markers: AtomicBool,
}

impl TxnEnv for FakeEnv {
    fn allocate_producer_id(&self) -> Result<i64, String> {
        Ok(1000 + self.next_id.fetch_add(1, Ordering::Relaxed))
    }
    fn write_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> Result<(), MarkerError> {
        if self.fail_markers.load(Ordering::Relaxed) {
            return Err(MarkerError::Retry("disk on fire".into()));
        }
        self.markers.lock().push((
            topic.to_string(),
            partition,
            producer_id,
            producer_epoch,
            commit,
        ));
        Ok(())
    }
    fn commit_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<(String, i32), PendingOffset>,
    ) -> Result<(), String> {
        self.offsets
            .lock()
            .push((group.to_string(), offsets.clone()));
        Ok(())
    }
}

const WEEK: i64 = 604_800_000;

fn setup() -> (TxnCoordinator, Arc<MemoryGroupLog>, FakeEnv) {
    let log = MemoryGroupLog::new();
    let c = TxnCoordinator::new(900_000, WEEK);
    c.attach_log(log.clone()).unwrap();
    (c, log, FakeEnv::default())
}

fn tp(t: &str, p: i32) -> (String, i32) {
    (t.to_string(), p)
}

fn off(o: i64) -> PendingOffset {
    PendingOffset {
        offset: o,
        leader_epoch: -1,
        metadata: String::new(),
    }
}

fn code(r: Result<impl Sized, TxnError>) -> i16 {
    r.map(|_| ()).unwrap_err().code(true)
}

#[test]
fn commit_writes_commit_markers_to_every_partition_and_applies_offsets() {
    let (c, _log, env) = setup();
    let (pid, epoch) = c.init_producer_id(&env, "tx", 60_000, None).unwrap();
    assert_eq!((pid, epoch), (1000, 0));
    c.add_partitions("tx", pid, epoch, &[tp("a", 0), tp("b", 1)])
        .unwrap();
    c.add_offsets("tx", pid, epoch, "g").unwrap();
    c.txn_offset_commit("tx", pid, epoch, "g", &[(tp("in", 0), off(42))])
        .unwrap();
    assert!(c.has_pending_offset("g", "in", 0));
    assert!(!c.has_pending_offset("g", "in", 1));
    assert!(!c.has_pending_offset("other", "in", 0));
    c.end_txn(&env, "tx", pid, epoch, true).unwrap();
    assert!(!c.has_pending_offset("g", "in", 0));
    assert_eq!(
        *env.markers.lock(),
        vec![
            ("a".to_string(), 0, pid, 0, true),
            ("b".to_string(), 1, pid, 0, true)
        ]
    );
    let applied = env.offsets.lock().clone();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].0, "g");
    assert_eq!(applied[0].1[&tp("in", 0)].offset, 42);
    let m = c.describe("tx").unwrap();
    assert_eq!(m.state, TxnState::CompleteCommit);
    assert!(m.partitions.is_empty());
    // A retried EndTxn(commit) is fine and writes nothing more.
    c.end_txn(&env, "tx", pid, epoch, true).unwrap();
    assert_eq!(env.markers.lock().len(), 2);
}

#[test]
fn abort_writes_abort_markers_and_drops_the_offsets() {
    let (c, _log, env) = setup();
    let (pid, epoch) = c.init_producer_id(&env, "tx", 60_000, None).unwrap();
    c.add_partitions("tx", pid, epoch, &[tp("a", 0)]).unwrap();
    c.add_offsets("tx", pid, epoch, "g").unwrap();
    c.txn_offset_commit("tx", pid, epoch, "g", &[(tp("in", 0), off(42))])
        .unwrap();
    c.end_txn(&env, "tx", pid, epoch, false).unwrap();
    assert_eq!(
        *env.markers.lock(),
        vec![("a".to_string(), 0, pid, 0, false)]
    );
    assert!(env.offsets.lock().is_empty());
    assert_eq!(c.describe("tx").unwrap().state, TxnState::CompleteAbort);
}

#[test]
fn a_new_instance_fences_the_old_one_after_aborting_its_transaction() {
    let (c, _log, env) = setup();
    let (pid, e0) = c.init_producer_id(&env, "tx", 60_000, None).unwrap();
    c.add_partitions("tx", pid, e0, &[tp("a", 0)]).unwrap();
    let (pid2, e2) = c.init_producer_id(&env, "tx", 60_000, None).unwrap();
    assert_eq!(pid2, pid, "the transactional id keeps its producer id");
    // Aborted at a bumped epoch (fencing), then bumped again for the new instance.
    assert_eq!(
        *env.markers.lock(),
        vec![("a".to_string(), 0, pid, e0 + 1, false)]
    );
    assert_eq!(e2, e0 + 2);
    // The old instance is fenced everywhere.
    assert_eq!(
        code(c.add_partitions("tx", pid, e0, &[tp("a", 0)])),
        E::ProducerFenced.code()
    );
    assert_eq!(
        code(c.end_txn(&env, "tx", pid, e0, true)),
        E::ProducerFenced.code()
    );
    assert_eq!(
        c.verify_produce(Some("tx"), pid, e0, "a", 0),
        Err(ProducerError::InvalidEpoch {
            producer_id: pid,
            epoch: e0,
            current: e2
        })
    );
    // KIP-360 re-initialisation must name the current epoch.
    assert_eq!(
        code(c.init_producer_id(&env, "tx", 60_000, Some((pid, e0)))),
        E::ProducerFenced.code()
    );
    assert_eq!(
        c.init_producer_id(&env, "tx", 60_000, Some((pid, e2)))
            .unwrap(),
        (pid, e2 + 1)
    );
}

#[test]
fn produce_is_verified_against_the_ongoing_transaction() {
    let (c, _log, env) = setup();
    let (pid, epoch) = c.init_producer_id(&env, "tx", 60_000, None).unwrap();
    assert!(matches!(
        c.verify_produce(Some("tx"), pid, epoch, "a", 0),
        Err(ProducerError::InvalidTxnState { .. })
    ));
    c.add_partitions("tx", pid, epoch, &[tp("a", 0)]).unwrap();
    assert_eq!(c.verify_produce(Some("tx"), pid, epoch, "a", 0), Ok(()));
    assert!(matches!(
        c.verify_produce(Some("tx"), pid, epoch, "a", 1),
        Err(ProducerError::InvalidTxnState { .. })
    ));
    assert!(matches!(
        c.verify_produce(Some("tx"), pid + 1, epoch, "a", 0),
        Err(ProducerError::InvalidProducerIdMapping { .. })
    ));
    assert!(matches!(
        c.verify_produce(Some("other"), pid, epoch, "a", 0),
        Err(ProducerError::InvalidProducerIdMapping { .. })
    ));
    assert!(matches!(
        c.verify_produce(None, pid, epoch, "a", 0),
        Err(ProducerError::MissingTransactionalId { .. })
    ));
    c.end_txn(&env, "tx", pid, epoch, true).unwrap();
    assert!(matches!(
        c.verify_produce(Some("tx"), pid, epoch, "a", 0),
        Err(ProducerError::InvalidTxnState { .. })
    ));
}

#[test]
fn requests_for_unknown_ids_timeouts_and_empty_ids_get_kafkas_errors() {
    let (c, _log, env) = setup();
    assert_eq!(
        code(c.add_partitions("nope", 1, 0, &[tp("a", 0)])),
        E::InvalidProducerIdMapping.code()
    );
    assert_eq!(
        code(c.end_txn(&env, "nope", 1, 0, true)),
        E::InvalidProducerIdMapping.code()
    );
    assert_eq!(
        code(c.init_producer_id(&env, "tx", 900_001, None)),
        E::InvalidTransactionTimeout.code()
    );
    assert_eq!(
        code(c.init_producer_id(&env, "tx", 0, None)),
        E::InvalidTransactionTimeout.code()
    );
    assert_eq!(
        code(c.init_producer_id(&env, "", 1000, None)),
        E::InvalidRequest.code()
    );
    // A failed request leaves nothing behind.
    assert!(c.describe("nope").is_none());
    assert!(c.list().is_empty());
    // No log: nothing can be persisted.
    let detached = TxnCoordinator::new(900_000, WEEK);
    assert_eq!(
        code(detached.init_producer_id(&env, "tx", 1000, None)),
        E::CoordinatorNotAvailable.code()
    );
    assert!(detached.describe("tx").is_none());
}

#[test]
fn state_survives_a_restart_and_a_prepared_commit_is_completed_after_it() {
    let (c, log, env) = setup();
    let (pid, epoch) = c.init_producer_id(&env, "tx", 60_000, None).unwrap();
    c.add_partitions("tx", pid, epoch, &[tp("a", 0)]).unwrap();
    c.add_offsets("tx", pid, epoch, "g").unwrap();
    c.txn_offset_commit("tx", pid, epoch, "g", &[(tp("in", 3), off(7))])
        .unwrap();
    // The markers cannot be written: the commit is decided but not complete.
    env.fail_markers.store(true, Ordering::Relaxed);
    c.end_txn(&env, "tx", pid, epoch, true).unwrap();
    assert_eq!(c.describe("tx").unwrap().state, TxnState::PrepareCommit);
    assert_eq!(
        code(c.add_partitions("tx", pid, epoch, &[tp("b", 0)])),
        E::ConcurrentTransactions.code()
    );
    // "Restart": a new coordinator replays the same log.
    let c2 = TxnCoordinator::new(900_000, WEEK);
    c2.attach_log(log.clone()).unwrap();
    let m = c2.describe("tx").unwrap();
    assert_eq!(m.state, TxnState::PrepareCommit);
    assert_eq!((m.producer_id, m.producer_epoch), (pid, epoch));
    assert_eq!(m.offsets["g"][&tp("in", 3)].offset, 7);
    env.fail_markers.store(false, Ordering::Relaxed);
    assert_eq!(
        c2.expire(&env, now_ms()),
        Some(c2.describe("tx").unwrap().last_update_ms + WEEK),
        "only the id's expiry is left"
    );
    assert_eq!(
        *env.markers.lock(),
        vec![("a".to_string(), 0, pid, epoch, true)]
    );
    assert_eq!(env.offsets.lock()[0].1[&tp("in", 3)].offset, 7);
    assert_eq!(c2.describe("tx").unwrap().state, TxnState::CompleteCommit);
    // And the next incarnation keeps the producer id with a bumped epoch.
    let c3 = TxnCoordinator::new(900_000, WEEK);
    c3.attach_log(log).unwrap();
    assert_eq!(c3.describe("tx").unwrap().state, TxnState::CompleteCommit);
    assert_eq!(
        c3.init_producer_id(&env, "tx", 60_000, None).unwrap(),
        (pid, epoch + 1)
    );
}

#[test]
fn an_expired_transaction_is_aborted_and_its_producer_fenced() {
    let (c, _log, env) = setup();
    let (pid, epoch) = c.init_producer_id(&env, "tx", 1000, None).unwrap();
    c.add_partitions("tx", pid, epoch, &[tp("a", 0)]).unwrap();
    let m = c.describe("tx").unwrap();
    let deadline = m.start_ms + 1000;
    // Not yet due: the next pass is at the deadline.
    assert_eq!(c.expire(&env, deadline - 1), Some(deadline));
    assert!(env.markers.lock().is_empty());
    c.expire(&env, deadline);
    assert_eq!(
        *env.markers.lock(),
        vec![("a".to_string(), 0, pid, epoch + 1, false)]
    );
    let m = c.describe("tx").unwrap();
    assert_eq!(
        (m.state, m.producer_epoch),
        (TxnState::CompleteAbort, epoch + 1)
    );
    assert_eq!(
        code(c.end_txn(&env, "tx", pid, epoch, true)),
        E::ProducerFenced.code()
    );
}

#[test]
fn a_failed_completion_is_retried_by_the_timers() {
    let (c, _log, env) = setup();
    let (pid, epoch) = c.init_producer_id(&env, "tx", 60_000, None).unwrap();
    c.add_partitions("tx", pid, epoch, &[tp("a", 0)]).unwrap();
    env.fail_markers.store(true, Ordering::Relaxed);
    c.end_txn(&env, "tx", pid, epoch, false).unwrap();
    // Not retried before the back-off.
    let due = c.expire(&env, now_ms()).expect("a retry is scheduled");
    assert_eq!(c.describe("tx").unwrap().state, TxnState::PrepareAbort);
    // Still failing at the retry: scheduled again.
    assert!(c.expire(&env, due).is_some());
    env.fail_markers.store(false, Ordering::Relaxed);
    let due = c.expire(&env, now_ms()).expect("still backing off");
    c.expire(&env, due);
    assert_eq!(c.describe("tx").unwrap().state, TxnState::CompleteAbort);
    assert_eq!(env.markers.lock().len(), 1);
}

#[test]
fn an_idle_transactional_id_expires_and_stays_forgotten_after_a_restart() {
    let (c, log, env) = setup();
    let (pid, epoch) = c.init_producer_id(&env, "idle", 60_000, None).unwrap();
    c.add_partitions("idle", pid, epoch, &[tp("a", 0)]).unwrap();
    let busy = c.describe("idle").unwrap();
    // An ongoing transaction never expires as an id (it times out instead).
    assert_eq!(
        c.expire(&env, busy.start_ms + 59_000),
        Some(busy.start_ms + 60_000)
    );
    c.end_txn(&env, "idle", pid, epoch, true).unwrap();
    let done = c.describe("idle").unwrap();
    let expiry = done.last_update_ms + WEEK;
    assert_eq!(c.expire(&env, expiry - 1), Some(expiry));
    assert!(c.describe("idle").is_some());
    assert_eq!(c.expire(&env, expiry), None);
    assert!(c.describe("idle").is_none());
    let replayed = TxnCoordinator::new(900_000, WEEK);
    replayed.attach_log(log).unwrap();
    assert!(
        replayed.describe("idle").is_none(),
        "the tombstone is replayed"
    );
    // The id starts over with a fresh producer id.
    let (pid2, epoch2) = replayed.init_producer_id(&env, "idle", 1000, None).unwrap();
    assert_ne!(pid2, pid);
    assert_eq!(epoch2, 0);
}
