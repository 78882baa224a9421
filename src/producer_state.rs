//! Idempotent-producer and transaction state of one partition: per producer id
//! the epoch and the metadata of its last 5 batches (sequence range and
//! offsets), as Kafka keeps it; the first offset of every ongoing transaction
//! (which gives the last stable offset); and the aborted transactions (producer
//! id, first offset, marker offset), Kafka's aborted-transaction index, kept per
//! partition in marker order and trimmed as retention moves the log start.
//!
//! [`ProducerStateTable::check`] decides whether a batch is new, a retry of one
//! already stored (answered with the original offsets, not stored again), or
//! rejected (OUT_OF_ORDER_SEQUENCE_NUMBER / INVALID_PRODUCER_EPOCH). The table is
//! snapshotted to a checkpoint on shutdown and rebuilt from batch headers after
//! (transactional batches and COMMIT/ABORT control batches included).

use std::collections::{HashMap, VecDeque};

/// How many batches per producer are remembered for duplicate detection.
pub const BATCHES_RETAINED: usize = 5;

/// Metadata of one stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
    /// LogAppendTime stamped, or -1.
    pub log_append_time: i64,
    /// The batch's largest timestamp as stored (the LogAppendTime when stamped):
    /// the producer's last timestamp once recorded (not kept per batch).
    pub max_timestamp: i64,
}

/// One producer's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    pub epoch: i16,
    pub batches: VecDeque<BatchMeta>,
    /// Timestamp of its last batch or marker here (Kafka's `lastTimestamp`), -1 if unknown.
    pub last_timestamp: i64,
    /// Coordinator epoch of its last marker here (Kafka's `coordinatorEpoch`), -1 if none.
    pub coordinator_epoch: i32,
}

impl ProducerEntry {
    fn new(epoch: i16) -> ProducerEntry {
        ProducerEntry {
            epoch,
            batches: VecDeque::new(),
            last_timestamp: -1,
            coordinator_epoch: -1,
        }
    }

    pub fn last_seq(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_seq)
    }
}

/// The verdict on an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// Store it.
    Append,
    /// Already stored: answer with this batch's offsets.
    Duplicate(BatchMeta),
}

/// An aborted transaction on one partition: its producer, its first offset there
/// and the offset of its ABORT marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// What a COMMIT / ABORT marker carries besides its producer and outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkerMeta {
    /// The writing coordinator's epoch (-1 when not known, e.g. not parsed).
    pub coordinator_epoch: i32,
    /// The marker batch's timestamp.
    pub timestamp: i64,
}

/// Why a batch was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProducerError {
    /// A non-transactional batch from a producer with an ongoing transaction, or
    /// a transactional batch to a partition not in the producer's transaction.
    #[error("invalid transaction state for producer {producer_id}: {reason}")]
    InvalidTxnState {
        producer_id: i64,
        reason: &'static str,
    },
    /// A transactional batch whose producer id is not the transactional id's.
    #[error("producer id {producer_id} is not the one of its transactional id")]
    InvalidProducerIdMapping { producer_id: i64 },
    /// A control batch (transaction marker) sent by a client.
    #[error("clients are not allowed to write control records")]
    ControlBatch,
    /// A transactional batch sent without a transactional id.
    #[error("transactional records from producer {producer_id} without a transactional id")]
    MissingTransactionalId { producer_id: i64 },
    #[error("producer {producer_id} epoch {epoch} is older than the current epoch {current}")]
    InvalidEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error("out of order sequence for producer {producer_id}: expected {expected}, got {got}")]
    OutOfOrder {
        producer_id: i64,
        expected: i32,
        got: i32,
    },
}

fn in_sequence(last: i32, next: i32) -> bool {
    next == last.wrapping_add(1) || (next == 0 && last == i32::MAX)
}

/// All producers' state for one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerStateTable {
    producers: HashMap<i64, ProducerEntry>,
    /// Ongoing transactions: producer id -> offset of its first batch here.
    ongoing: HashMap<i64, i64>,
    /// Aborted transactions in marker order (so `last_offset` ascends).
    aborted: VecDeque<AbortedTxn>,
}

impl ProducerStateTable {
    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer with state here (DescribeProducers).
    pub fn producers(&self) -> impl Iterator<Item = (i64, &ProducerEntry)> + '_ {
        self.producers.iter().map(|(p, e)| (*p, e))
    }

    /// The first offset of `producer_id`'s ongoing transaction here, if any.
    pub fn ongoing_start(&self, producer_id: i64) -> Option<i64> {
        self.ongoing.get(&producer_id).copied()
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// Check a batch from an idempotent producer (Kafka's `ProducerAppendInfo`
    /// rules): older epoch -> InvalidEpoch; a known sequence range -> Duplicate;
    /// a new epoch must start at sequence 0; otherwise the first sequence must
    /// follow the last one. A producer id never seen is accepted at any sequence
    /// (its state may have been removed with old data, as in Kafka).
    pub fn check(
        &self,
        producer_id: i64,
        epoch: i16,
        first_seq: i32,
        last_seq: i32,
    ) -> Result<SeqCheck, ProducerError> {
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(SeqCheck::Append);
        };
        if epoch < entry.epoch {
            return Err(ProducerError::InvalidEpoch {
                producer_id,
                epoch,
                current: entry.epoch,
            });
        }
        if epoch == entry.epoch {
            if let Some(dup) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
            {
                return Ok(SeqCheck::Duplicate(*dup));
            }
        }
        if epoch != entry.epoch {
            if first_seq != 0 {
                return Err(ProducerError::OutOfOrder {
                    producer_id,
                    expected: 0,
                    got: first_seq,
                });
            }
            return Ok(SeqCheck::Append);
        }
        match entry.last_seq() {
            Some(last) if !in_sequence(last, first_seq) => Err(ProducerError::OutOfOrder {
                producer_id,
                expected: last.wrapping_add(1),
                got: first_seq,
            }),
            _ => Ok(SeqCheck::Append),
        }
    }

    /// Record a stored batch.
    pub fn record(&mut self, producer_id: i64, epoch: i16, meta: BatchMeta) {
        let entry = self
            .producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry::new(epoch));
        if epoch != entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.last_timestamp = meta.max_timestamp;
        entry.batches.push_back(BatchMeta {
            max_timestamp: -1,
            ..meta
        });
        while entry.batches.len() > BATCHES_RETAINED {
            entry.batches.pop_front();
        }
    }

    /// Forget batches at or after `offset` (after a truncation) and producers left
    /// empty, with the transactions that started or were aborted there.
    pub fn truncate_from(&mut self, offset: i64) {
        self.producers.retain(|_, e| {
            e.batches.retain(|b| b.last_offset < offset);
            !e.batches.is_empty()
        });
        self.ongoing.retain(|_, first| *first < offset);
        self.aborted.retain(|a| a.last_offset < offset);
    }

    /// Check a batch against the transaction state: a producer with an ongoing
    /// transaction here may only send transactional batches (Kafka's INVALID_TXN_STATE).
    pub fn check_txn(&self, producer_id: i64, transactional: bool) -> Result<(), ProducerError> {
        if !transactional && self.ongoing.contains_key(&producer_id) {
            return Err(ProducerError::InvalidTxnState {
                producer_id,
                reason: "non-transactional batch while its transaction is ongoing",
            });
        }
        Ok(())
    }

    /// Record a stored transactional data batch: the first one of a producer
    /// starts its ongoing transaction at `base_offset`.
    pub fn record_txn_batch(&mut self, producer_id: i64, base_offset: i64) {
        self.ongoing.entry(producer_id).or_insert(base_offset);
    }

    /// Whether `epoch` is older than the producer's epoch here (a marker or batch
    /// from a fenced producer).
    pub fn is_stale_epoch(&self, producer_id: i64, epoch: i16) -> bool {
        self.producers
            .get(&producer_id)
            .is_some_and(|e| epoch < e.epoch)
    }

    /// Record a stored COMMIT / ABORT marker at `offset` (written by coordinator
    /// epoch `marker.coordinator_epoch` at `marker.timestamp`): the producer's
    /// epoch moves up to the marker's (a bumped epoch fences older instances here
    /// too), its last timestamp and coordinator epoch become the marker's (as
    /// Kafka's `ProducerStateEntry.update`), its ongoing transaction ends, and an
    /// aborted one enters the index.
    pub fn record_marker(
        &mut self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        offset: i64,
        marker: MarkerMeta,
    ) {
        let entry = self
            .producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry::new(epoch));
        if epoch > entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.last_timestamp = marker.timestamp;
        if marker.coordinator_epoch >= 0 {
            entry.coordinator_epoch = marker.coordinator_epoch;
        }
        if let Some(first_offset) = self.ongoing.remove(&producer_id) {
            if !commit {
                self.aborted.push_back(AbortedTxn {
                    producer_id,
                    first_offset,
                    last_offset: offset,
                });
            }
        }
    }

    /// The first offset of the earliest ongoing transaction (the last stable
    /// offset when there is one).
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.values().copied().min()
    }

    /// Ongoing transactions: (producer id, first offset).
    pub fn ongoing(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ongoing.iter().map(|(p, o)| (*p, *o))
    }

    /// Aborted transactions that overlap `[fetch_offset, upper_bound)`: their
    /// marker is at or after `fetch_offset` and they start before `upper_bound`
    /// (Kafka's `collectAbortedTransactions`).
    pub fn aborted_in(&self, fetch_offset: i64, upper_bound: i64) -> Vec<AbortedTxn> {
        let from = self
            .aborted
            .partition_point(|a| a.last_offset < fetch_offset);
        self.aborted
            .range(from..)
            .filter(|a| a.first_offset < upper_bound)
            .copied()
            .collect()
    }

    /// Number of aborted transactions indexed.
    pub fn aborted_len(&self) -> usize {
        self.aborted.len()
    }

    /// Drop aborted transactions whose marker is below the log start offset
    /// (retention removed them): keeps the index bounded by the log.
    pub fn trim_aborted(&mut self, log_start_offset: i64) {
        while self
            .aborted
            .front()
            .is_some_and(|a| a.last_offset < log_start_offset)
        {
            self.aborted.pop_front();
        }
    }

    /// Serialise: `u32 count`, per producer `i64 id, i16 epoch, u8 n`, per batch
    /// `i32 first, i32 last, i64 base, i64 last_offset, i64 append_time` (big-endian);
    /// then `u32 count` of ongoing transactions `i64 id, i64 first_offset` and
    /// `u32 count` of aborted ones `i64 id, i64 first_offset, i64 last_offset`
    /// (a snapshot without these two sections decodes with none); then, per
    /// producer in the order of the first section, `i64 last_timestamp, i32
    /// coordinator_epoch` (a snapshot without it decodes with -1 for both).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.producers.len() as u32).to_be_bytes());
        let mut ids: Vec<_> = self.producers.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let e = &self.producers[&id];
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&e.epoch.to_be_bytes());
            out.push(e.batches.len() as u8);
            for b in &e.batches {
                out.extend_from_slice(&b.first_seq.to_be_bytes());
                out.extend_from_slice(&b.last_seq.to_be_bytes());
                out.extend_from_slice(&b.base_offset.to_be_bytes());
                out.extend_from_slice(&b.last_offset.to_be_bytes());
                out.extend_from_slice(&b.log_append_time.to_be_bytes());
            }
        }
        let mut ongoing: Vec<_> = self.ongoing.iter().collect();
        ongoing.sort_unstable();
        out.extend_from_slice(&(ongoing.len() as u32).to_be_bytes());
        for (id, first) in ongoing {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&first.to_be_bytes());
        }
        out.extend_from_slice(&(self.aborted.len() as u32).to_be_bytes());
        for a in &self.aborted {
            out.extend_from_slice(&a.producer_id.to_be_bytes());
            out.extend_from_slice(&a.first_offset.to_be_bytes());
            out.extend_from_slice(&a.last_offset.to_be_bytes());
        }
        let mut ids: Vec<_> = self.producers.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let e = &self.producers[&id];
            out.extend_from_slice(&e.last_timestamp.to_be_bytes());
            out.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
        }
        out
    }

    /// Inverse of [`ProducerStateTable::encode`]; `None` if malformed.
    pub fn decode(mut buf: &[u8]) -> Option<Self> {
        fn take<const N: usize>(buf: &mut &[u8]) -> Option<[u8; N]> {
            let (head, rest) = buf.split_at_checked(N)?;
            *buf = rest;
            head.try_into().ok()
        }
        let count = u32::from_be_bytes(take(&mut buf)?);
        let mut table = ProducerStateTable::default();
        for _ in 0..count {
            let id = i64::from_be_bytes(take(&mut buf)?);
            let epoch = i16::from_be_bytes(take(&mut buf)?);
            let [n] = take::<1>(&mut buf)?;
            let mut batches = VecDeque::new();
            for _ in 0..n {
                batches.push_back(BatchMeta {
                    first_seq: i32::from_be_bytes(take(&mut buf)?),
                    last_seq: i32::from_be_bytes(take(&mut buf)?),
                    base_offset: i64::from_be_bytes(take(&mut buf)?),
                    last_offset: i64::from_be_bytes(take(&mut buf)?),
                    log_append_time: i64::from_be_bytes(take(&mut buf)?),
                    max_timestamp: -1,
                });
            }
            let mut entry = ProducerEntry::new(epoch);
            entry.batches = batches;
            table.producers.insert(id, entry);
        }
        if buf.is_empty() {
            return Some(table);
        }
        let ongoing = u32::from_be_bytes(take(&mut buf)?);
        for _ in 0..ongoing {
            let id = i64::from_be_bytes(take(&mut buf)?);
            let first = i64::from_be_bytes(take(&mut buf)?);
            table.ongoing.insert(id, first);
        }
        let aborted = u32::from_be_bytes(take(&mut buf)?);
        for _ in 0..aborted {
            table.aborted.push_back(AbortedTxn {
                producer_id: i64::from_be_bytes(take(&mut buf)?),
                first_offset: i64::from_be_bytes(take(&mut buf)?),
                last_offset: i64::from_be_bytes(take(&mut buf)?),
            });
        }
        if buf.is_empty() {
            return Some(table);
        }
        let mut ids: Vec<_> = table.producers.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let e = table.producers.get_mut(&id)?;
            e.last_timestamp = i64::from_be_bytes(take(&mut buf)?);
            e.coordinator_epoch = i32::from_be_bytes(take(&mut buf)?);
        }
        buf.is_empty().then_some(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(first: i32, last: i32, base: i64) -> BatchMeta {
        BatchMeta {
            first_seq: first,
            last_seq: last,
            base_offset: base,
            last_offset: base + (last - first) as i64,
            log_append_time: -1,
            max_timestamp: -1,
        }
    }

    const MARKER: MarkerMeta = MarkerMeta {
        coordinator_epoch: 0,
        timestamp: 1_000,
    };

    #[test]
    fn last_timestamp_and_coordinator_epoch_follow_batches_and_markers_and_survive_the_snapshot() {
        let mut t = ProducerStateTable::default();
        t.record(
            1,
            0,
            BatchMeta {
                max_timestamp: 500,
                ..meta(0, 0, 0)
            },
        );
        assert_eq!(
            (
                t.get(1).unwrap().last_timestamp,
                t.get(1).unwrap().coordinator_epoch
            ),
            (500, -1)
        );
        t.record_txn_batch(1, 0);
        t.record_marker(
            1,
            0,
            false,
            1,
            MarkerMeta {
                coordinator_epoch: 3,
                timestamp: 900,
            },
        );
        assert_eq!(
            (
                t.get(1).unwrap().last_timestamp,
                t.get(1).unwrap().coordinator_epoch
            ),
            (900, 3)
        );
        let bytes = t.encode();
        assert_eq!(ProducerStateTable::decode(&bytes), Some(t.clone()));
        // A snapshot from before these fields: -1 for both.
        let older = &bytes[..bytes.len() - 12];
        let decoded = ProducerStateTable::decode(older).unwrap();
        assert_eq!(
            (
                decoded.get(1).unwrap().last_timestamp,
                decoded.get(1).unwrap().coordinator_epoch
            ),
            (-1, -1)
        );
    }

    #[test]
    fn retry_of_a_recent_batch_is_a_duplicate_with_original_offsets() {
        let mut t = ProducerStateTable::default();
        assert_eq!(t.check(7, 0, 0, 2), Ok(SeqCheck::Append));
        t.record(7, 0, meta(0, 2, 100));
        assert_eq!(t.check(7, 0, 3, 5), Ok(SeqCheck::Append));
        t.record(7, 0, meta(3, 5, 103));
        assert_eq!(
            t.check(7, 0, 0, 2),
            Ok(SeqCheck::Duplicate(meta(0, 2, 100)))
        );
        assert_eq!(
            t.check(7, 0, 3, 5),
            Ok(SeqCheck::Duplicate(meta(3, 5, 103)))
        );
    }

    #[test]
    fn gap_in_sequence_is_out_of_order() {
        let mut t = ProducerStateTable::default();
        t.record(7, 0, meta(0, 0, 0));
        assert_eq!(
            t.check(7, 0, 5, 5),
            Err(ProducerError::OutOfOrder {
                producer_id: 7,
                expected: 1,
                got: 5
            })
        );
    }

    #[test]
    fn old_epoch_is_rejected_and_new_epoch_must_start_at_zero() {
        let mut t = ProducerStateTable::default();
        t.record(7, 3, meta(0, 0, 0));
        assert!(matches!(
            t.check(7, 2, 1, 1),
            Err(ProducerError::InvalidEpoch { .. })
        ));
        assert!(matches!(
            t.check(7, 4, 1, 1),
            Err(ProducerError::OutOfOrder { .. })
        ));
        assert_eq!(t.check(7, 4, 0, 0), Ok(SeqCheck::Append));
        t.record(7, 4, meta(0, 0, 1));
        assert_eq!(t.get(7).unwrap().batches.len(), 1);
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut t = ProducerStateTable::default();
        for i in 0..7 {
            t.record(1, 0, meta(i, i, i as i64));
        }
        assert_eq!(t.get(1).unwrap().batches.len(), BATCHES_RETAINED);
        assert_eq!(
            t.check(1, 0, 0, 0),
            Err(ProducerError::OutOfOrder {
                producer_id: 1,
                expected: 7,
                got: 0
            })
        );
        assert_eq!(t.check(1, 0, 6, 6), Ok(SeqCheck::Duplicate(meta(6, 6, 6))));
    }

    #[test]
    fn sequence_wraps_at_i32_max() {
        let mut t = ProducerStateTable::default();
        t.record(1, 0, meta(i32::MAX, i32::MAX, 0));
        assert_eq!(t.check(1, 0, 0, 0), Ok(SeqCheck::Append));
    }

    #[test]
    fn snapshot_round_trips_and_rejects_garbage() {
        let mut t = ProducerStateTable::default();
        t.record(1, 0, meta(0, 4, 0));
        t.record(2, 5, meta(10, 10, 5));
        let bytes = t.encode();
        assert_eq!(ProducerStateTable::decode(&bytes), Some(t));
        assert_eq!(ProducerStateTable::decode(&bytes[..bytes.len() - 1]), None);
    }

    #[test]
    fn transactions_give_the_first_unstable_offset_and_the_aborted_index() {
        let mut t = ProducerStateTable::default();
        assert_eq!(t.first_unstable_offset(), None);
        t.record(1, 0, meta(0, 1, 10));
        t.record_txn_batch(1, 10);
        t.record_txn_batch(1, 12); // a later batch of the same transaction
        t.record(2, 0, meta(0, 0, 13));
        t.record_txn_batch(2, 13);
        assert_eq!(t.first_unstable_offset(), Some(10));
        assert!(matches!(
            t.check_txn(1, false),
            Err(ProducerError::InvalidTxnState { .. })
        ));
        assert_eq!(t.check_txn(1, true), Ok(()));
        assert_eq!(t.check_txn(3, false), Ok(()));
        t.record_marker(1, 0, false, 14, MARKER);
        assert_eq!(t.first_unstable_offset(), Some(13));
        t.record_marker(2, 0, true, 15, MARKER);
        assert_eq!(t.first_unstable_offset(), None);
        let aborted = AbortedTxn {
            producer_id: 1,
            first_offset: 10,
            last_offset: 14,
        };
        assert_eq!(t.aborted_in(0, 100), vec![aborted]);
        assert_eq!(t.aborted_in(14, 100), vec![aborted]);
        assert_eq!(t.aborted_in(15, 100), vec![]);
        assert_eq!(t.aborted_in(0, 10), vec![]);
        // A marker with a bumped epoch fences the old epoch on this partition.
        t.record_marker(1, 1, false, 16, MARKER);
        assert!(t.is_stale_epoch(1, 0));
        assert_eq!(t.check(1, 1, 0, 0), Ok(SeqCheck::Append));
        t.trim_aborted(15);
        assert_eq!(t.aborted_len(), 0);
    }

    #[test]
    fn transaction_state_survives_the_snapshot_and_old_snapshots_still_decode() {
        let mut t = ProducerStateTable::default();
        t.record(1, 0, meta(0, 0, 0));
        t.record_txn_batch(1, 0);
        t.record_marker(1, 0, false, 1, MARKER);
        t.record(1, 0, meta(1, 1, 2));
        t.record_txn_batch(1, 2);
        let bytes = t.encode();
        assert_eq!(ProducerStateTable::decode(&bytes), Some(t.clone()));
        // The pre-transaction layout: producers only.
        let mut old = ProducerStateTable::default();
        old.record(1, 0, meta(0, 0, 0));
        let old_bytes = old.encode();
        // (without the two empty transaction sections and the timestamps section)
        let producers_only = &old_bytes[..old_bytes.len() - 8 - 12];
        assert_eq!(ProducerStateTable::decode(producers_only), Some(old));
        assert_eq!(ProducerStateTable::decode(&bytes[..bytes.len() - 3]), None);
    }

    #[test]
    fn truncation_forgets_later_batches() {
        let mut t = ProducerStateTable::default();
        t.record(1, 0, meta(0, 0, 0));
        t.record(1, 0, meta(1, 1, 1));
        t.record(2, 0, meta(0, 0, 2));
        t.truncate_from(1);
        assert_eq!(t.get(1).unwrap().batches.len(), 1);
        assert!(t.get(2).is_none());
    }
}
