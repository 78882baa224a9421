//! The state of one transactional id and its legal transitions, as Kafka's
//! `TransactionMetadata` / `TransactionCoordinator` define them for clients
//! that do not use transaction version 2 (the epoch is bumped only by
//! InitProducerId and by fencing, never per transaction).
//!
//! ```text
//!            AddPartitions/AddOffsets          EndTxn(commit)            markers written
//! Empty ────────────────────────────> Ongoing ───────────────> PrepareCommit ───────> CompleteCommit
//! Complete* ─────────────────────────>   │     EndTxn(abort), fencing, timeout        markers written
//!                                        └───────────────────> PrepareAbort ────────> CompleteAbort
//! ```
//!
//! Every function here is pure: it checks a request against the current
//! metadata and returns the next metadata or the Kafka error (as a typed
//! [`TxnError`]); the coordinator persists the result before it takes effect.

use std::collections::{BTreeMap, BTreeSet};

/// A transaction's state (Kafka's numbering, used in the persisted record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    Empty = 0,
    Ongoing = 1,
    PrepareCommit = 2,
    PrepareAbort = 3,
    CompleteCommit = 4,
    CompleteAbort = 5,
}

impl TxnState {
    pub fn from_i8(v: i8) -> Option<TxnState> {
        Some(match v {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            _ => return None,
        })
    }

    /// The name DescribeTransactions / ListTransactions report.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }

    pub fn is_prepare(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }

    /// No transaction in progress: a new one may begin.
    pub fn is_idle(self) -> bool {
        matches!(
            self,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        )
    }
}

/// Why a transactional request was refused; [`TxnError::code`] is the Kafka error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    #[error("the producer id does not belong to this transactional id")]
    InvalidProducerIdMapping,
    #[error("producer epoch {got} is not the current epoch {current}: fenced by a newer producer")]
    ProducerFenced { got: i16, current: i16 },
    #[error("another operation on this transaction is in progress")]
    ConcurrentTransactions,
    #[error("{0}")]
    InvalidTxnState(String),
    #[error("transaction timeout {0} ms is not within 1..=transaction.max.timeout.ms")]
    InvalidTransactionTimeout(i32),
    #[error("the transaction state log is not available: {0}")]
    CoordinatorNotAvailable(String),
    #[error("an empty transactional id is not allowed")]
    EmptyTransactionalId,
}

impl TxnError {
    /// The Kafka error code. Clients older than KIP-588 do not know
    /// PRODUCER_FENCED: they get INVALID_PRODUCER_EPOCH (`fenced_known = false`).
    pub fn code(&self, fenced_known: bool) -> i16 {
        use kafka_protocol::ResponseError as E;
        match self {
            TxnError::InvalidProducerIdMapping => E::InvalidProducerIdMapping,
            TxnError::ProducerFenced { .. } if fenced_known => E::ProducerFenced,
            TxnError::ProducerFenced { .. } => E::InvalidProducerEpoch,
            TxnError::ConcurrentTransactions => E::ConcurrentTransactions,
            TxnError::InvalidTxnState(_) => E::InvalidTxnState,
            TxnError::InvalidTransactionTimeout(_) => E::InvalidTransactionTimeout,
            TxnError::CoordinatorNotAvailable(_) => E::CoordinatorNotAvailable,
            TxnError::EmptyTransactionalId => E::InvalidRequest,
        }
        .code()
    }
}

/// An offset committed inside a transaction (TxnOffsetCommit), applied to the
/// group when the transaction commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
}

/// Per group added with AddOffsetsToTxn: (topic, partition) -> pending offset.
pub type GroupOffsets = BTreeMap<String, BTreeMap<(String, i32), PendingOffset>>;

/// Everything the coordinator knows about one transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// The partitions in the current transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// The groups added to the current transaction and the offsets it carries.
    pub offsets: GroupOffsets,
    /// Wall-clock ms when the current transaction began (-1 when none).
    pub start_ms: i64,
    pub last_update_ms: i64,
}

/// The largest epoch handed out; past it a new producer id is allocated.
pub const MAX_EPOCH: i16 = i16::MAX - 1;

/// What InitProducerId must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitStep {
    /// Persist this (state Empty, epoch bumped or a new id) and answer with it.
    Ready(TxnMetadata),
    /// A transaction is ongoing: fence it (epoch bump) and abort it first.
    AbortFirst,
}

impl TxnMetadata {
    /// A new transactional id with a fresh producer id at epoch 0.
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now: i64) -> Self {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            producer_epoch: 0,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            offsets: BTreeMap::new(),
            start_ms: -1,
            last_update_ms: now,
        }
    }

    /// The request names this producer at its current epoch (Kafka checks the
    /// id first: INVALID_PRODUCER_ID_MAPPING, then the epoch: PRODUCER_FENCED).
    pub fn check_producer(&self, producer_id: i64, epoch: i16) -> Result<(), TxnError> {
        if producer_id != self.producer_id {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        if epoch != self.producer_epoch {
            return Err(TxnError::ProducerFenced {
                got: epoch,
                current: self.producer_epoch,
            });
        }
        Ok(())
    }

    /// InitProducerId for an existing transactional id. `expected` is the
    /// (producer id, epoch) a KIP-360 client names when it re-initialises; it
    /// must be the current one. `new_id` allocates a producer id when the epoch
    /// is exhausted.
    pub fn init(
        &self,
        expected: Option<(i64, i16)>,
        timeout_ms: i32,
        now: i64,
        new_id: impl FnOnce() -> Result<i64, TxnError>,
    ) -> Result<InitStep, TxnError> {
        if let Some((pid, epoch)) = expected {
            if (pid, epoch) != (self.producer_id, self.producer_epoch) {
                return Err(TxnError::ProducerFenced {
                    got: epoch,
                    current: self.producer_epoch,
                });
            }
        }
        match self.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                Err(TxnError::ConcurrentTransactions)
            }
            TxnState::Ongoing => Ok(InitStep::AbortFirst),
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let mut next = self.clone();
                if self.producer_epoch >= MAX_EPOCH {
                    next.producer_id = new_id()?;
                    next.producer_epoch = 0;
                } else {
                    next.producer_epoch += 1;
                }
                next.timeout_ms = timeout_ms;
                next.state = TxnState::Empty;
                next.partitions.clear();
                next.offsets.clear();
                next.start_ms = -1;
                next.last_update_ms = now;
                Ok(InitStep::Ready(next))
            }
        }
    }

    /// The common checks of AddPartitionsToTxn / AddOffsetsToTxn, and the next
    /// metadata in state Ongoing (a transaction begins on its first add).
    fn begin_or_continue(&self, producer_id: i64, epoch: i16, now: i64) -> Result<Self, TxnError> {
        self.check_producer(producer_id, epoch)?;
        match self.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                Err(TxnError::ConcurrentTransactions)
            }
            TxnState::Ongoing => {
                let mut next = self.clone();
                next.last_update_ms = now;
                Ok(next)
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let mut next = self.clone();
                next.state = TxnState::Ongoing;
                next.partitions.clear();
                next.offsets.clear();
                next.start_ms = now;
                next.last_update_ms = now;
                Ok(next)
            }
        }
    }

    /// AddPartitionsToTxn. `None` when every partition is in the transaction
    /// already (nothing to persist; Kafka answers at once).
    pub fn add_partitions(
        &self,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
        now: i64,
    ) -> Result<Option<Self>, TxnError> {
        let mut next = self.begin_or_continue(producer_id, epoch, now)?;
        if self.state == TxnState::Ongoing && partitions.iter().all(|p| self.partitions.contains(p))
        {
            return Ok(None);
        }
        next.partitions.extend(partitions.iter().cloned());
        Ok(Some(next))
    }

    /// AddOffsetsToTxn: the group's offsets will be part of this transaction.
    pub fn add_offsets(
        &self,
        producer_id: i64,
        epoch: i16,
        group: &str,
        now: i64,
    ) -> Result<Option<Self>, TxnError> {
        let mut next = self.begin_or_continue(producer_id, epoch, now)?;
        if self.state == TxnState::Ongoing && self.offsets.contains_key(group) {
            return Ok(None);
        }
        next.offsets.entry(group.to_string()).or_default();
        Ok(Some(next))
    }

    /// TxnOffsetCommit: record offsets pending until the transaction ends. The
    /// group must have been added with AddOffsetsToTxn (INVALID_TXN_STATE otherwise).
    pub fn commit_offsets(
        &self,
        producer_id: i64,
        epoch: i16,
        group: &str,
        offsets: &[((String, i32), PendingOffset)],
        now: i64,
    ) -> Result<Self, TxnError> {
        self.check_producer(producer_id, epoch)?;
        if self.state != TxnState::Ongoing || !self.offsets.contains_key(group) {
            return Err(TxnError::InvalidTxnState(format!(
                "group {group} was not added to the transaction (state {})",
                self.state.name()
            )));
        }
        let mut next = self.clone();
        next.offsets
            .entry(group.to_string())
            .or_default()
            .extend(offsets.iter().cloned());
        next.last_update_ms = now;
        Ok(next)
    }

    /// EndTxn: `Ok(Some(next))` moves to PrepareCommit / PrepareAbort; `Ok(None)`
    /// is a retry of an EndTxn already completed the same way.
    pub fn end(
        &self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        now: i64,
    ) -> Result<Option<Self>, TxnError> {
        self.check_producer(producer_id, epoch)?;
        match (self.state, commit) {
            (TxnState::Ongoing, _) => {
                let mut next = self.clone();
                next.state = if commit {
                    TxnState::PrepareCommit
                } else {
                    TxnState::PrepareAbort
                };
                next.last_update_ms = now;
                Ok(Some(next))
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(None),
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                Err(TxnError::ConcurrentTransactions)
            }
            (state, _) => Err(TxnError::InvalidTxnState(format!(
                "cannot {} a transaction in state {}",
                if commit { "commit" } else { "abort" },
                state.name()
            ))),
        }
    }

    /// Fence the current producer and abort its transaction (InitProducerId
    /// from a new instance, or the transaction timed out): PrepareAbort with
    /// the epoch bumped, so the old instance's requests are refused.
    pub fn fence_and_abort(&self, now: i64) -> Result<Self, TxnError> {
        if self.state != TxnState::Ongoing {
            return Err(TxnError::InvalidTxnState(format!(
                "cannot abort a transaction in state {}",
                self.state.name()
            )));
        }
        let mut next = self.clone();
        next.producer_epoch = self.producer_epoch.saturating_add(1);
        next.state = TxnState::PrepareAbort;
        next.last_update_ms = now;
        Ok(next)
    }

    /// After every marker is written: Prepare* -> Complete*; the transaction's
    /// partitions and offsets are forgotten.
    pub fn complete(&self, now: i64) -> Result<Self, TxnError> {
        let state = match self.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            s => {
                return Err(TxnError::InvalidTxnState(format!(
                    "cannot complete a transaction in state {}",
                    s.name()
                )))
            }
        };
        let mut next = self.clone();
        next.state = state;
        next.partitions.clear();
        next.offsets.clear();
        next.start_ms = -1;
        next.last_update_ms = now;
        Ok(next)
    }

    /// When an ongoing transaction times out (wall-clock ms), if it is ongoing.
    pub fn deadline(&self) -> Option<i64> {
        (self.state == TxnState::Ongoing)
            .then(|| self.start_ms.saturating_add(self.timeout_ms as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::ResponseError as E;

    fn tp(t: &str, p: i32) -> (String, i32) {
        (t.to_string(), p)
    }

    fn ongoing() -> TxnMetadata {
        let m = TxnMetadata::new("tx", 7, 60_000, 0);
        m.add_partitions(7, 0, &[tp("a", 0)], 1).unwrap().unwrap()
    }

    fn no_id() -> Result<i64, TxnError> {
        panic!("no new producer id expected")
    }

    #[test]
    fn first_add_begins_a_transaction_and_end_prepares_then_completes() {
        let m = ongoing();
        assert_eq!(m.state, TxnState::Ongoing);
        assert_eq!(m.start_ms, 1);
        assert_eq!(m.deadline(), Some(60_001));
        // Adding a partition already in it changes nothing.
        assert_eq!(m.add_partitions(7, 0, &[tp("a", 0)], 2), Ok(None));
        let m = m.add_partitions(7, 0, &[tp("b", 3)], 2).unwrap().unwrap();
        assert_eq!(m.partitions.len(), 2);
        assert_eq!(m.start_ms, 1, "start time is the first add's");
        let prep = m.end(7, 0, true, 3).unwrap().unwrap();
        assert_eq!(prep.state, TxnState::PrepareCommit);
        assert_eq!(prep.partitions.len(), 2, "markers still to write");
        let done = prep.complete(4).unwrap();
        assert_eq!(done.state, TxnState::CompleteCommit);
        assert!(done.partitions.is_empty() && done.offsets.is_empty());
        assert_eq!(done.deadline(), None);
        // A retried commit is answered OK; an abort now is INVALID_TXN_STATE.
        assert_eq!(done.end(7, 0, true, 5), Ok(None));
        assert_eq!(
            done.end(7, 0, false, 5).unwrap_err().code(true),
            E::InvalidTxnState.code()
        );
        // The next transaction starts from a completed one.
        let again = done
            .add_partitions(7, 0, &[tp("c", 0)], 6)
            .unwrap()
            .unwrap();
        assert_eq!(again.state, TxnState::Ongoing);
        assert_eq!(again.partitions.len(), 1);
    }

    #[test]
    fn wrong_producer_id_or_epoch_is_refused_with_kafkas_codes() {
        let m = ongoing();
        let id = m.add_partitions(8, 0, &[tp("a", 1)], 2).unwrap_err();
        assert_eq!(id.code(true), E::InvalidProducerIdMapping.code());
        let old = m.end(7, -1, true, 2).unwrap_err();
        assert_eq!(old.code(true), E::ProducerFenced.code());
        // Clients before KIP-588 get INVALID_PRODUCER_EPOCH instead.
        assert_eq!(old.code(false), E::InvalidProducerEpoch.code());
        let newer = m.add_offsets(7, 1, "g", 2).unwrap_err();
        assert_eq!(newer.code(true), E::ProducerFenced.code());
        let off = m.commit_offsets(7, 3, "g", &[], 2).unwrap_err();
        assert_eq!(off.code(true), E::ProducerFenced.code());
    }

    #[test]
    fn operations_during_prepare_are_concurrent_transactions() {
        let prep = ongoing().end(7, 0, false, 2).unwrap().unwrap();
        assert_eq!(prep.state, TxnState::PrepareAbort);
        fn code<T>(r: Result<T, TxnError>) -> i16 {
            r.map(|_| ()).unwrap_err().code(true)
        }
        let cc = E::ConcurrentTransactions.code();
        assert_eq!(code(prep.add_partitions(7, 0, &[tp("z", 0)], 3)), cc);
        assert_eq!(code(prep.add_offsets(7, 0, "g", 3)), cc);
        assert_eq!(code(prep.end(7, 0, false, 3)), cc);
        assert_eq!(code(prep.init(None, 1000, 3, no_id)), cc);
        // The other outcome while preparing one is not allowed at all.
        assert_eq!(code(prep.end(7, 0, true, 3)), E::InvalidTxnState.code());
        assert_eq!(code(prep.fence_and_abort(3)), E::InvalidTxnState.code());
    }

    #[test]
    fn ending_or_completing_without_a_transaction_is_invalid_txn_state() {
        let empty = TxnMetadata::new("tx", 7, 1000, 0);
        for commit in [true, false] {
            assert_eq!(
                empty.end(7, 0, commit, 1).unwrap_err().code(true),
                E::InvalidTxnState.code()
            );
        }
        assert_eq!(
            empty.complete(1).unwrap_err().code(true),
            E::InvalidTxnState.code()
        );
        assert_eq!(
            ongoing().complete(1).unwrap_err().code(true),
            E::InvalidTxnState.code()
        );
        assert_eq!(
            empty.fence_and_abort(1).unwrap_err().code(true),
            E::InvalidTxnState.code()
        );
    }

    #[test]
    fn txn_offset_commit_needs_the_group_in_an_ongoing_transaction() {
        let m = ongoing();
        let off = |o| {
            vec![(
                tp("in", 0),
                PendingOffset {
                    offset: o,
                    leader_epoch: -1,
                    metadata: String::new(),
                },
            )]
        };
        assert_eq!(
            m.commit_offsets(7, 0, "g", &off(5), 2)
                .unwrap_err()
                .code(true),
            E::InvalidTxnState.code()
        );
        let m = m.add_offsets(7, 0, "g", 2).unwrap().unwrap();
        assert_eq!(m.add_offsets(7, 0, "g", 2), Ok(None));
        let m = m.commit_offsets(7, 0, "g", &off(5), 3).unwrap();
        let m = m.commit_offsets(7, 0, "g", &off(9), 4).unwrap();
        assert_eq!(m.offsets["g"][&tp("in", 0)].offset, 9, "the latest wins");
        // AddOffsetsToTxn alone begins a transaction.
        let fresh = TxnMetadata::new("tx", 7, 1000, 0);
        let begun = fresh.add_offsets(7, 0, "g", 1).unwrap().unwrap();
        assert_eq!(begun.state, TxnState::Ongoing);
        let empty = TxnMetadata::new("tx", 7, 1000, 0);
        assert_eq!(
            empty
                .commit_offsets(7, 0, "g", &off(1), 1)
                .unwrap_err()
                .code(true),
            E::InvalidTxnState.code()
        );
    }

    #[test]
    fn init_bumps_the_epoch_aborts_an_ongoing_transaction_first_and_checks_kip360_ids() {
        let m = TxnMetadata::new("tx", 7, 1000, 0);
        let InitStep::Ready(next) = m.init(None, 2000, 1, no_id).unwrap() else {
            panic!("expected Ready");
        };
        assert_eq!(
            (next.producer_id, next.producer_epoch, next.timeout_ms),
            (7, 1, 2000)
        );
        assert_eq!(next.state, TxnState::Empty);
        // A re-initialising client must name the current id and epoch.
        assert!(matches!(
            next.init(Some((7, 1)), 2000, 2, no_id),
            Ok(InitStep::Ready(_))
        ));
        assert_eq!(
            next.init(Some((7, 0)), 2000, 2, no_id)
                .unwrap_err()
                .code(true),
            E::ProducerFenced.code()
        );
        assert_eq!(
            ongoing().init(None, 1000, 2, no_id),
            Ok(InitStep::AbortFirst)
        );
        // Fencing: PrepareAbort at a bumped epoch; the old epoch is then fenced.
        let fenced = ongoing().fence_and_abort(3).unwrap();
        assert_eq!(
            (fenced.state, fenced.producer_epoch),
            (TxnState::PrepareAbort, 1)
        );
        let done = fenced.complete(4).unwrap();
        assert_eq!(
            done.end(7, 0, true, 5).unwrap_err().code(true),
            E::ProducerFenced.code()
        );
        // An exhausted epoch gets a new producer id.
        let mut worn = TxnMetadata::new("tx", 7, 1000, 0);
        worn.producer_epoch = MAX_EPOCH;
        let InitStep::Ready(fresh) = worn.init(None, 1000, 1, || Ok(99)).unwrap() else {
            panic!("expected Ready");
        };
        assert_eq!((fresh.producer_id, fresh.producer_epoch), (99, 0));
    }

    #[test]
    fn states_round_trip_through_their_numbers() {
        for v in 0..6 {
            assert_eq!(TxnState::from_i8(v).unwrap() as i8, v);
        }
        assert_eq!(TxnState::from_i8(6), None);
    }
}
