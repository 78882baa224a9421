//! Idempotent-producer state of one partition: per producer id the epoch, and the
//! metadata of its last 5 batches (sequence range and offsets), as Kafka keeps it.
//!
//! [`ProducerStateTable::check`] decides whether a batch is new, a retry of one
//! already stored (answered with the original offsets, not stored again), or
//! rejected (OUT_OF_ORDER_SEQUENCE_NUMBER / INVALID_PRODUCER_EPOCH). The table is
//! snapshotted to a checkpoint on shutdown and rebuilt from batch headers after.

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
}

/// One producer's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    pub epoch: i16,
    pub batches: VecDeque<BatchMeta>,
}

impl ProducerEntry {
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

/// Why a batch was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProducerError {
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
}

impl ProducerStateTable {
    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
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
            .or_insert_with(|| ProducerEntry {
                epoch,
                batches: VecDeque::new(),
            });
        if epoch != entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(meta);
        while entry.batches.len() > BATCHES_RETAINED {
            entry.batches.pop_front();
        }
    }

    /// Forget batches at or after `offset` (after a truncation) and producers left empty.
    pub fn truncate_from(&mut self, offset: i64) {
        self.producers.retain(|_, e| {
            e.batches.retain(|b| b.last_offset < offset);
            !e.batches.is_empty()
        });
    }

    /// Serialise: `u32 count`, per producer `i64 id, i16 epoch, u8 n`, per batch
    /// `i32 first, i32 last, i64 base, i64 last_offset, i64 append_time` (big-endian).
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
                });
            }
            table.producers.insert(id, ProducerEntry { epoch, batches });
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
        }
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
