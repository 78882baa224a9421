//! One share-partition (KIP-932, Kafka's `SharePartition`): which records of a
//! topic partition a share group has delivered, to whom, how often, and which
//! are done.
//!
//! The partition's records below the *start offset* are done (acknowledged or
//! archived). Records from the start offset up to the *end offset* are in
//! flight, each in one of four states: available (to be delivered, again),
//! acquired (delivered to one member, under an acquisition lock that expires),
//! acknowledged, or archived (rejected, skipped, or delivered
//! `delivery.count.limit` times). Records at and past the end offset have not
//! been delivered yet. Whenever the first in-flight records are done, the start
//! offset moves past them.
//!
//! Pure state: no I/O and no clock (callers pass `now_ms`), so every
//! transition is unit-tested here; [`super::Coordinator`] holds the locks and
//! persists [`SharePartition::encode`].

use std::collections::VecDeque;
use std::sync::Arc;

/// A record's state (the numbers are Kafka's `RecordState` ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordState {
    Available = 0,
    Acquired = 1,
    Acknowledged = 2,
    Archived = 4,
}

/// An acknowledgement type (Kafka's `AcknowledgeType`, KIP-932 and KIP-1222).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckType {
    /// An offset of an acquired range without a record (compaction, control records).
    Gap = 0,
    Accept = 1,
    Release = 2,
    Reject = 3,
    /// Extend the acquisition lock (KIP-1222), if the group allows it.
    Renew = 4,
}

impl AckType {
    pub fn from_i8(v: i8) -> Option<AckType> {
        Some(match v {
            0 => AckType::Gap,
            1 => AckType::Accept,
            2 => AckType::Release,
            3 => AckType::Reject,
            4 => AckType::Renew,
            _ => return None,
        })
    }
}

/// Why an acknowledgement was refused (Kafka's error codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// Not acquired by this member (any more), or RENEW while it is disabled.
    #[error("INVALID_RECORD_STATE")]
    InvalidRecordState,
    /// Malformed batch: bad range, unknown type, wrong number of types.
    #[error("INVALID_REQUEST")]
    InvalidRequest,
    /// RENEW while `share.renew.acknowledge.enable` is false (Kafka answers
    /// INVALID_RECORD_STATE with its own message).
    #[error("Renewing acquisition locks is not enabled for the group.")]
    RenewDisabled,
}

/// The settings a share-partition obeys (group configs or the broker's `group.share.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `group.share.delivery.count.limit`: a record delivered this often is archived
    /// instead of made available again.
    pub delivery_count_limit: i16,
    /// `group.share.record.lock.duration.ms`.
    pub lock_duration_ms: u64,
    /// `group.share.partition.max.record.locks`: at most this many records in flight.
    pub max_in_flight: usize,
    /// `share.renew.acknowledge.enable`.
    pub renew_enabled: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            delivery_count_limit: 5,
            lock_duration_ms: 30_000,
            max_in_flight: 2000,
            renew_enabled: false,
        }
    }
}

/// One in-flight record.
#[derive(Clone, Debug)]
struct InFlight {
    state: RecordState,
    delivery_count: i16,
    /// When the acquisition lock expires (acquired records only).
    lock_until_ms: u64,
    /// The member that acquired it (acquired records only).
    owner: Option<Arc<str>>,
}

impl InFlight {
    fn done(&self) -> bool {
        matches!(
            self.state,
            RecordState::Acknowledged | RecordState::Archived
        )
    }
}

/// A batch of the log as a fetch returned it: its offsets, and whether its
/// records must never be delivered (control batches, aborted transactions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub skip: bool,
}

/// How `max_records` bounds an acquisition (ShareFetch v2's `ShareAcquireMode`,
/// KIP-1206; v1 requests are batch-optimized, as Kafka serves them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcquireMode {
    /// 0: whole log batches, so `max_records` may be exceeded to end a batch.
    BatchOptimized,
    /// 1: at most `max_records`, splitting a batch if need be.
    RecordLimit,
}

impl AcquireMode {
    pub fn from_i8(v: i8) -> Option<AcquireMode> {
        match v {
            0 => Some(AcquireMode::BatchOptimized),
            1 => Some(AcquireMode::RecordLimit),
            _ => None,
        }
    }
}

/// A contiguous range of records acquired in one go, with their delivery count
/// (ShareFetch's `AcquiredRecords`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acquired {
    pub first_offset: i64,
    pub last_offset: i64,
    pub delivery_count: i16,
}

/// The state of one share-partition.
#[derive(Clone, Debug)]
pub struct SharePartition {
    start_offset: i64,
    /// Records `start_offset ..` in order; `end_offset = start_offset + len`.
    records: VecDeque<InFlight>,
    pub limits: Limits,
    /// Changed since last persisted.
    dirty: bool,
    /// No acquisition lock expires before this (a lower bound: locks set
    /// lower it, releases leave it), so most requests skip the scan of the
    /// in-flight window for expired locks.
    earliest_lock_ms: u64,
}

impl SharePartition {
    /// A new share-partition that starts delivering at `start_offset`.
    pub fn new(start_offset: i64, limits: Limits) -> SharePartition {
        SharePartition {
            start_offset,
            records: VecDeque::new(),
            limits,
            dirty: true,
            earliest_lock_ms: u64::MAX,
        }
    }

    pub fn start_offset(&self) -> i64 {
        self.start_offset
    }

    /// The first offset never delivered.
    pub fn end_offset(&self) -> i64 {
        self.start_offset + self.records.len() as i64
    }

    /// How many in-flight records are done with (acknowledged or archived):
    /// with the start offset, what a share-partition's lag discounts (KIP-1226).
    pub fn delivery_complete_count(&self) -> i64 {
        self.records.iter().filter(|r| r.done()).count() as i64
    }

    /// The state and delivery count of `offset` (`None` outside the in-flight window).
    pub fn record(&self, offset: i64) -> Option<(RecordState, i16)> {
        let r = self.records.get(self.index(offset)?)?;
        Some((r.state, r.delivery_count))
    }

    fn index(&self, offset: i64) -> Option<usize> {
        (offset >= self.start_offset && offset < self.end_offset())
            .then(|| (offset - self.start_offset) as usize)
    }

    /// Whether something changed since [`SharePartition::mark_clean`].
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn mark_clean(&mut self) {
        self.dirty = false;
    }

    /// The log start offset moved past the start offset (retention, DeleteRecords):
    /// records below it can no longer be delivered.
    pub fn move_start_to(&mut self, log_start: i64) {
        while self.start_offset < log_start {
            if self.records.pop_front().is_none() {
                self.start_offset = log_start;
                break;
            }
            self.start_offset += 1;
        }
        self.dirty = true;
    }

    /// Acquisition locks that ran out by `now_ms`: the records are available
    /// again, or archived when they were delivered `delivery_count_limit` times.
    pub fn expire_locks(&mut self, now_ms: u64) {
        if now_ms < self.earliest_lock_ms {
            return;
        }
        let limit = self.limits.delivery_count_limit;
        let mut any = false;
        let mut earliest = u64::MAX;
        for r in self.records.iter_mut() {
            if r.state == RecordState::Acquired {
                if r.lock_until_ms <= now_ms {
                    release(r, limit);
                    any = true;
                } else {
                    earliest = earliest.min(r.lock_until_ms);
                }
            }
        }
        self.earliest_lock_ms = earliest;
        if any {
            self.dirty = true;
            self.advance_start();
        }
    }

    /// When the next acquisition lock expires, if any record is acquired.
    pub fn next_lock_expiry(&self) -> Option<u64> {
        self.records
            .iter()
            .filter(|r| r.state == RecordState::Acquired)
            .map(|r| r.lock_until_ms)
            .min()
    }

    /// Where to read the log for the next acquisition: the first available
    /// in-flight record, else the end offset; `None` when the in-flight window
    /// is full and nothing in it is available.
    pub fn next_fetch_offset(&self) -> Option<i64> {
        if let Some(i) = self
            .records
            .iter()
            .position(|r| r.state == RecordState::Available)
        {
            return Some(self.start_offset + i as i64);
        }
        (self.records.len() < self.limits.max_in_flight).then(|| self.end_offset())
    }

    /// Acquire for `member`, under a lock until `now_ms + lock_duration_ms`,
    /// deliverable records of `batches` (the log as read from
    /// [`SharePartition::next_fetch_offset`]): available in-flight records, then
    /// records past the end offset (extending the window, at most
    /// `max_in_flight`). Offsets the log does not hold and records of skipped
    /// batches are archived, never delivered.
    ///
    /// `max_records` bounds it as KIP-1206's acquire modes do: in
    /// [`AcquireMode::BatchOptimized`] no batch is started once `max_records`
    /// are taken, but a started batch is taken whole (Kafka's soft limit); in
    /// [`AcquireMode::RecordLimit`] never more than `max_records`.
    pub fn acquire(
        &mut self,
        member: &Arc<str>,
        now_ms: u64,
        max_records: usize,
        mode: AcquireMode,
        batches: &[LogBatch],
    ) -> Vec<Acquired> {
        let lock_until = now_ms + self.limits.lock_duration_ms;
        let mut out: Vec<Acquired> = Vec::new();
        let mut taken = 0usize;
        for b in batches {
            if taken >= max_records {
                break;
            }
            let limit = match mode {
                AcquireMode::RecordLimit => max_records,
                AcquireMode::BatchOptimized => usize::MAX,
            };
            let mut offset = b.base_offset.max(self.start_offset);
            while offset <= b.last_offset && taken < limit {
                let idx = match self.index(offset) {
                    Some(i) => i,
                    None => {
                        // Past the end: extend the window (archiving any hole before it).
                        if self.records.len() >= self.limits.max_in_flight {
                            break;
                        }
                        while self.end_offset() < offset {
                            self.records.push_back(archived());
                        }
                        self.records.push_back(InFlight {
                            state: RecordState::Available,
                            delivery_count: 0,
                            lock_until_ms: 0,
                            owner: None,
                        });
                        self.records.len() - 1
                    }
                };
                let r = &mut self.records[idx];
                if b.skip && r.state == RecordState::Available {
                    r.state = RecordState::Archived;
                    self.dirty = true;
                } else if r.state == RecordState::Available {
                    r.state = RecordState::Acquired;
                    r.delivery_count = r.delivery_count.saturating_add(1);
                    r.lock_until_ms = lock_until;
                    self.earliest_lock_ms = self.earliest_lock_ms.min(lock_until);
                    r.owner = Some(member.clone());
                    self.dirty = true;
                    taken += 1;
                    let dc = r.delivery_count;
                    match out.last_mut() {
                        Some(a) if a.last_offset + 1 == offset && a.delivery_count == dc => {
                            a.last_offset = offset
                        }
                        _ => out.push(Acquired {
                            first_offset: offset,
                            last_offset: offset,
                            delivery_count: dc,
                        }),
                    }
                }
                offset += 1;
            }
        }
        self.advance_start();
        out
    }

    /// Apply one acknowledgement batch of `member`: `types` has one type for the
    /// whole range or one per offset. All or nothing: every offset must be
    /// acquired by `member` (RENEW only when enabled).
    pub fn acknowledge(
        &mut self,
        member: &str,
        first_offset: i64,
        last_offset: i64,
        types: &[i8],
        now_ms: u64,
    ) -> Result<(), AckError> {
        if last_offset < first_offset {
            return Err(AckError::InvalidRequest);
        }
        let n = (last_offset - first_offset + 1) as usize;
        if types.len() != 1 && types.len() != n {
            return Err(AckError::InvalidRequest);
        }
        let ty = |i: usize| AckType::from_i8(types[if types.len() == 1 { 0 } else { i }]);
        for i in 0..n {
            let t = ty(i).ok_or(AckError::InvalidRequest)?;
            if t == AckType::Renew && !self.limits.renew_enabled {
                return Err(AckError::RenewDisabled);
            }
            let idx = self
                .index(first_offset + i as i64)
                .ok_or(AckError::InvalidRecordState)?;
            let r = &self.records[idx];
            if r.state != RecordState::Acquired || r.owner.as_deref() != Some(member) {
                return Err(AckError::InvalidRecordState);
            }
        }
        let limit = self.limits.delivery_count_limit;
        let lock_until = now_ms + self.limits.lock_duration_ms;
        let base = (first_offset - self.start_offset) as usize;
        for i in 0..n {
            let r = &mut self.records[base + i];
            match ty(i).expect("checked") {
                AckType::Gap | AckType::Accept => set_done(r, RecordState::Acknowledged),
                AckType::Reject => set_done(r, RecordState::Archived),
                AckType::Release => release(r, limit),
                AckType::Renew => {
                    r.lock_until_ms = lock_until;
                    self.earliest_lock_ms = self.earliest_lock_ms.min(lock_until);
                }
            }
        }
        self.dirty = true;
        self.advance_start();
        Ok(())
    }

    /// Release every record `member` holds (it left the group or closed its
    /// share session): available again, or archived at the delivery limit.
    pub fn release_member(&mut self, member: &str) {
        let limit = self.limits.delivery_count_limit;
        let mut any = false;
        for r in self.records.iter_mut() {
            if r.state == RecordState::Acquired && r.owner.as_deref() == Some(member) {
                release(r, limit);
                any = true;
            }
        }
        if any {
            self.dirty = true;
            self.advance_start();
        }
    }

    fn advance_start(&mut self) {
        while self.records.front().is_some_and(InFlight::done) {
            self.records.pop_front();
            self.start_offset += 1;
        }
    }

    /// The durable form: start offset, then the in-flight records as runs of
    /// equal (state, delivery count): run count (u32), then per run its length
    /// (u32), state (u8) and delivery count (i16). Acquired records are stored
    /// as available: their locks do not survive a restart, their delivery
    /// counts do. Runs keep it small (a window of 2000 records acquired in a
    /// few batches is a few runs), so it can be written per request.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.start_offset.to_be_bytes());
        let count_at = out.len();
        out.extend_from_slice(&0u32.to_be_bytes());
        let durable = |r: &InFlight| match r.state {
            RecordState::Acquired => RecordState::Available,
            s => s,
        };
        let mut runs = 0u32;
        let mut iter = self.records.iter().peekable();
        while let Some(r) = iter.next() {
            let (s, dc) = (durable(r), r.delivery_count);
            let mut len = 1u32;
            while iter
                .peek()
                .is_some_and(|n| durable(n) == s && n.delivery_count == dc)
            {
                iter.next();
                len += 1;
            }
            out.extend_from_slice(&len.to_be_bytes());
            out.push(s as u8);
            out.extend_from_slice(&dc.to_be_bytes());
            runs += 1;
        }
        out[count_at..count_at + 4].copy_from_slice(&runs.to_be_bytes());
    }

    /// Read what [`SharePartition::encode`] wrote from the front of `buf`,
    /// returning the partition and the bytes it used. Records that reached the
    /// delivery limit are archived.
    pub fn decode(buf: &[u8], limits: Limits) -> Option<(SharePartition, usize)> {
        let start_offset = i64::from_be_bytes(buf.get(0..8)?.try_into().ok()?);
        let n = u32::from_be_bytes(buf.get(8..12)?.try_into().ok()?) as usize;
        let body = buf.get(12..12 + n.checked_mul(7)?)?;
        let mut records = VecDeque::new();
        for c in body.chunks_exact(7) {
            let len = u32::from_be_bytes(c[..4].try_into().ok()?) as usize;
            // A window is bounded by max_in_flight: refuse absurd lengths.
            if len == 0 || records.len() + len > MAX_DECODED_RECORDS {
                return None;
            }
            let r = durable_record(c[4], i16::from_be_bytes([c[5], c[6]]), limits)?;
            records.extend(std::iter::repeat_n(r, len));
        }
        Some((Self::decoded(start_offset, records, limits), 12 + n * 7))
    }

    /// The length of what [`SharePartition::encode`] wrote at the front of
    /// `buf` (without decoding it), if `buf` holds that much.
    pub fn encoded_len(buf: &[u8]) -> Option<usize> {
        let n = u32::from_be_bytes(buf.get(8..12)?.try_into().ok()?) as usize;
        let len = n.checked_mul(7)?.checked_add(12)?;
        (buf.len() >= len).then_some(len)
    }

    /// Read the first format (version 1 checkpoints): start offset, record
    /// count (u32), then per record its state (u8) and delivery count (i16).
    pub fn decode_v1(buf: &[u8], limits: Limits) -> Option<(SharePartition, usize)> {
        let start_offset = i64::from_be_bytes(buf.get(0..8)?.try_into().ok()?);
        let n = u32::from_be_bytes(buf.get(8..12)?.try_into().ok()?) as usize;
        let body = buf.get(12..12 + n.checked_mul(3)?)?;
        let mut records = VecDeque::with_capacity(n);
        for c in body.chunks_exact(3) {
            records.push_back(durable_record(
                c[0],
                i16::from_be_bytes([c[1], c[2]]),
                limits,
            )?);
        }
        Some((Self::decoded(start_offset, records, limits), 12 + n * 3))
    }

    fn decoded(start_offset: i64, records: VecDeque<InFlight>, limits: Limits) -> SharePartition {
        let mut sp = SharePartition {
            start_offset,
            records,
            limits,
            dirty: false,
            earliest_lock_ms: u64::MAX,
        };
        sp.advance_start();
        sp
    }
}

/// The most in-flight records one decoded share-partition may hold (far above
/// any `group.share.partition.max.record.locks`; guards against damaged input).
const MAX_DECODED_RECORDS: usize = 1 << 24;

/// A stored record (state id, delivery count) as it comes back after a
/// restart: available, acknowledged or archived; available at the delivery
/// limit is archived.
fn durable_record(state: u8, delivery_count: i16, limits: Limits) -> Option<InFlight> {
    let mut state = match state {
        0 => RecordState::Available,
        2 => RecordState::Acknowledged,
        4 => RecordState::Archived,
        _ => return None,
    };
    if state == RecordState::Available && delivery_count >= limits.delivery_count_limit {
        state = RecordState::Archived;
    }
    Some(InFlight {
        state,
        delivery_count,
        lock_until_ms: 0,
        owner: None,
    })
}

fn archived() -> InFlight {
    InFlight {
        state: RecordState::Archived,
        delivery_count: 0,
        lock_until_ms: 0,
        owner: None,
    }
}

fn set_done(r: &mut InFlight, state: RecordState) {
    r.state = state;
    r.owner = None;
    r.lock_until_ms = 0;
}

/// An acquired record back to available, or archived at the delivery limit.
fn release(r: &mut InFlight, limit: i16) {
    if r.delivery_count >= limit {
        set_done(r, RecordState::Archived);
    } else {
        r.state = RecordState::Available;
        r.owner = None;
        r.lock_until_ms = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    fn batch(base: i64, last: i64) -> LogBatch {
        LogBatch {
            base_offset: base,
            last_offset: last,
            skip: false,
        }
    }

    fn sp() -> SharePartition {
        SharePartition::new(0, Limits::default())
    }

    #[test]
    fn new_records_are_acquired_with_delivery_count_one() {
        let mut p = sp();
        assert_eq!(p.next_fetch_offset(), Some(0));
        let a = p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 4)]);
        assert_eq!(
            a,
            vec![Acquired {
                first_offset: 0,
                last_offset: 4,
                delivery_count: 1
            }]
        );
        assert_eq!(p.end_offset(), 5);
        assert_eq!(p.record(3), Some((RecordState::Acquired, 1)));
        // Nothing available: the next read starts at the end.
        assert_eq!(p.next_fetch_offset(), Some(5));
        assert!(p
            .acquire(&m("b"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 4)])
            .is_empty());
    }

    #[test]
    fn max_records_bounds_an_acquisition() {
        let mut p = sp();
        let a = p.acquire(&m("a"), 0, 3, AcquireMode::RecordLimit, &[batch(0, 9)]);
        assert_eq!(a[0].last_offset, 2);
        assert_eq!(p.end_offset(), 3);
        let b = p.acquire(&m("b"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 9)]);
        assert_eq!((b[0].first_offset, b[0].last_offset), (3, 9));
    }

    #[test]
    fn batch_optimized_takes_whole_batches_and_starts_none_past_max_records() {
        // Kafka 4.4 with batches of 5 and max_records 7: offsets 0-9 (two whole batches).
        let mut p = sp();
        let log = [batch(0, 4), batch(5, 9), batch(10, 14)];
        let a = p.acquire(&m("a"), 0, 7, AcquireMode::BatchOptimized, &log);
        assert_eq!((a[0].first_offset, a[0].last_offset), (0, 9));
        assert_eq!(p.end_offset(), 10);
        // Record-limit mode splits the batch: exactly 2.
        let b = p.acquire(&m("b"), 0, 2, AcquireMode::RecordLimit, &log);
        assert_eq!((b[0].first_offset, b[0].last_offset), (10, 11));
        // A batch whose records are all taken counts nothing: the next one is started.
        let c = p.acquire(&m("c"), 0, 1, AcquireMode::BatchOptimized, &log);
        assert_eq!((c[0].first_offset, c[0].last_offset), (12, 14));
        assert_eq!(AcquireMode::from_i8(1), Some(AcquireMode::RecordLimit));
        assert_eq!(AcquireMode::from_i8(2), None);
    }

    #[test]
    fn accept_moves_the_start_offset_and_is_never_redelivered() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 4)]);
        p.acknowledge("a", 0, 4, &[1], 1).unwrap();
        assert_eq!(p.start_offset(), 5);
        assert_eq!(p.next_fetch_offset(), Some(5));
        assert!(p
            .acquire(&m("a"), 2, 100, AcquireMode::RecordLimit, &[batch(0, 4)])
            .is_empty());
    }

    #[test]
    fn accept_in_the_middle_waits_for_the_first_records() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 4)]);
        p.acknowledge("a", 2, 4, &[1], 1).unwrap();
        assert_eq!(p.start_offset(), 0);
        assert_eq!(p.record(2), Some((RecordState::Acknowledged, 1)));
        p.acknowledge("a", 0, 1, &[1, 3], 1).unwrap();
        assert_eq!(p.start_offset(), 5);
    }

    #[test]
    fn release_makes_records_available_again_with_a_higher_delivery_count() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 1)]);
        p.acknowledge("a", 0, 1, &[2], 1).unwrap();
        assert_eq!(p.record(0), Some((RecordState::Available, 1)));
        assert_eq!(p.next_fetch_offset(), Some(0));
        let a = p.acquire(&m("b"), 2, 100, AcquireMode::RecordLimit, &[batch(0, 1)]);
        assert_eq!(
            a,
            vec![Acquired {
                first_offset: 0,
                last_offset: 1,
                delivery_count: 2
            }]
        );
    }

    #[test]
    fn reject_archives() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 1)]);
        p.acknowledge("a", 1, 1, &[3], 1).unwrap();
        assert_eq!(p.record(1), Some((RecordState::Archived, 1)));
        p.acknowledge("a", 0, 0, &[3], 1).unwrap();
        assert_eq!(p.start_offset(), 2);
    }

    #[test]
    fn only_the_acquiring_member_may_acknowledge() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 1)]);
        assert_eq!(
            p.acknowledge("b", 0, 0, &[1], 1),
            Err(AckError::InvalidRecordState)
        );
        // Outside the window, or already acknowledged: invalid state too.
        assert_eq!(
            p.acknowledge("a", 5, 5, &[1], 1),
            Err(AckError::InvalidRecordState)
        );
        p.acknowledge("a", 1, 1, &[1], 1).unwrap();
        assert_eq!(
            p.acknowledge("a", 1, 1, &[1], 1),
            Err(AckError::InvalidRecordState)
        );
    }

    #[test]
    fn a_refused_batch_changes_nothing() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 1, AcquireMode::RecordLimit, &[batch(0, 0)]);
        p.acquire(&m("b"), 0, 1, AcquireMode::RecordLimit, &[batch(1, 1)]);
        assert_eq!(
            p.acknowledge("a", 0, 1, &[1], 1),
            Err(AckError::InvalidRecordState)
        );
        assert_eq!(p.record(0), Some((RecordState::Acquired, 1)));
    }

    #[test]
    fn malformed_batches_are_invalid_requests() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 3)]);
        assert_eq!(
            p.acknowledge("a", 0, 3, &[1, 1], 1),
            Err(AckError::InvalidRequest)
        );
        assert_eq!(
            p.acknowledge("a", 0, 0, &[9], 1),
            Err(AckError::InvalidRequest)
        );
        assert_eq!(
            p.acknowledge("a", 3, 0, &[1], 1),
            Err(AckError::InvalidRequest)
        );
    }

    #[test]
    fn renew_is_invalid_record_state_unless_enabled() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 0)]);
        assert_eq!(
            p.acknowledge("a", 0, 0, &[4], 1),
            Err(AckError::RenewDisabled)
        );
        p.limits.renew_enabled = true;
        p.acknowledge("a", 0, 0, &[4], 20_000).unwrap();
        // The lock now runs from the renewal: not expired at the first deadline.
        p.expire_locks(30_000);
        assert_eq!(p.record(0), Some((RecordState::Acquired, 1)));
        p.expire_locks(50_000);
        assert_eq!(p.record(0), Some((RecordState::Available, 1)));
    }

    #[test]
    fn expired_locks_make_records_available_again() {
        let mut p = sp();
        p.acquire(&m("a"), 1000, 100, AcquireMode::RecordLimit, &[batch(0, 2)]);
        assert_eq!(p.next_lock_expiry(), Some(31_000));
        p.expire_locks(30_999);
        assert_eq!(p.record(0), Some((RecordState::Acquired, 1)));
        p.expire_locks(31_000);
        assert_eq!(p.record(0), Some((RecordState::Available, 1)));
        assert_eq!(p.next_lock_expiry(), None);
        // The late acknowledgement of the old owner is refused.
        assert_eq!(
            p.acknowledge("a", 0, 2, &[1], 31_001),
            Err(AckError::InvalidRecordState)
        );
        let a = p.acquire(
            &m("b"),
            31_001,
            100,
            AcquireMode::RecordLimit,
            &[batch(0, 2)],
        );
        assert_eq!(a[0].delivery_count, 2);
    }

    #[test]
    fn locks_taken_at_different_times_expire_each_at_its_time() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 1, AcquireMode::RecordLimit, &[batch(0, 1)]);
        p.acquire(&m("b"), 10_000, 1, AcquireMode::RecordLimit, &[batch(1, 1)]);
        p.expire_locks(29_999);
        assert_eq!(p.record(0), Some((RecordState::Acquired, 1)));
        p.expire_locks(30_000);
        assert_eq!(p.record(0), Some((RecordState::Available, 1)));
        assert_eq!(p.record(1), Some((RecordState::Acquired, 1)));
        // A renewed lock (re-acquired here) moves the bound down again.
        p.acquire(&m("c"), 5_000, 1, AcquireMode::RecordLimit, &[batch(0, 0)]);
        p.expire_locks(35_000);
        assert_eq!(p.record(0), Some((RecordState::Available, 2)));
        assert_eq!(p.record(1), Some((RecordState::Acquired, 1)));
        p.expire_locks(40_000);
        assert_eq!(p.record(1), Some((RecordState::Available, 1)));
        assert_eq!(p.next_lock_expiry(), None);
    }

    #[test]
    fn the_delivery_count_limit_archives() {
        let mut p = sp();
        for n in 1..=5 {
            let a = p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 0)]);
            assert_eq!(a[0].delivery_count, n);
            p.acknowledge("a", 0, 0, &[2], 0).unwrap();
        }
        // The fifth release archives: the record is never delivered again.
        assert_eq!(p.start_offset(), 1);
        assert!(p
            .acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 0)])
            .is_empty());
    }

    #[test]
    fn the_delivery_count_limit_archives_on_lock_expiry() {
        let mut p = SharePartition::new(
            0,
            Limits {
                delivery_count_limit: 2,
                ..Limits::default()
            },
        );
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 0)]);
        p.expire_locks(u64::MAX / 2);
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 0)]);
        p.expire_locks(u64::MAX / 2);
        assert_eq!(p.start_offset(), 1);
    }

    #[test]
    fn releasing_a_member_frees_only_its_records() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 2, AcquireMode::RecordLimit, &[batch(0, 3)]);
        p.acquire(&m("b"), 0, 2, AcquireMode::RecordLimit, &[batch(0, 3)]);
        p.release_member("a");
        assert_eq!(p.record(0), Some((RecordState::Available, 1)));
        assert_eq!(p.record(2), Some((RecordState::Acquired, 1)));
    }

    #[test]
    fn skipped_batches_and_holes_are_archived_not_delivered() {
        let mut p = sp();
        let a = p.acquire(
            &m("a"),
            0,
            100,
            AcquireMode::RecordLimit,
            &[
                batch(0, 1),
                LogBatch {
                    base_offset: 2,
                    last_offset: 2,
                    skip: true,
                },
                batch(5, 6),
            ],
        );
        assert_eq!(
            a.iter()
                .map(|a| (a.first_offset, a.last_offset))
                .collect::<Vec<_>>(),
            vec![(0, 1), (5, 6)]
        );
        assert_eq!(p.record(3), Some((RecordState::Archived, 0)));
        p.acknowledge("a", 0, 1, &[1], 0).unwrap();
        assert_eq!(p.start_offset(), 5);
    }

    #[test]
    fn the_in_flight_window_is_bounded() {
        let mut p = SharePartition::new(
            0,
            Limits {
                max_in_flight: 3,
                ..Limits::default()
            },
        );
        let a = p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 9)]);
        assert_eq!(a[0].last_offset, 2);
        assert_eq!(p.next_fetch_offset(), None);
        p.acknowledge("a", 0, 0, &[1], 0).unwrap();
        assert_eq!(p.next_fetch_offset(), Some(3));
    }

    #[test]
    fn a_batch_starting_before_the_start_offset_is_acquired_from_it() {
        let mut p = SharePartition::new(10, Limits::default());
        let a = p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(5, 12)]);
        assert_eq!((a[0].first_offset, a[0].last_offset), (10, 12));
    }

    #[test]
    fn encode_decode_keeps_done_records_and_delivery_counts_and_drops_locks() {
        let mut p = sp();
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 3)]);
        p.acknowledge("a", 1, 1, &[1], 0).unwrap();
        p.acknowledge("a", 2, 2, &[2], 0).unwrap();
        let mut buf = Vec::new();
        p.encode(&mut buf);
        buf.extend_from_slice(b"trailing");
        let (q, used) = SharePartition::decode(&buf, Limits::default()).unwrap();
        assert_eq!(&buf[used..], b"trailing");
        assert_eq!(q.start_offset(), 0);
        assert_eq!(q.record(0), Some((RecordState::Available, 1)));
        assert_eq!(q.record(1), Some((RecordState::Acknowledged, 1)));
        assert_eq!(q.record(2), Some((RecordState::Available, 1)));
        assert_eq!(q.record(3), Some((RecordState::Available, 1)));
        assert_eq!(q.end_offset(), 4);
        assert!(SharePartition::decode(&buf[..10], Limits::default()).is_none());
    }

    #[test]
    fn decode_archives_records_at_the_delivery_limit() {
        let mut p = SharePartition::new(
            0,
            Limits {
                delivery_count_limit: 2,
                ..Limits::default()
            },
        );
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 0)]);
        p.acknowledge("a", 0, 0, &[2], 0).unwrap();
        p.acquire(&m("a"), 0, 100, AcquireMode::RecordLimit, &[batch(0, 0)]);
        // Acquired a second time when the broker dies: never delivered a third time.
        let mut buf = Vec::new();
        p.encode(&mut buf);
        let (q, _) = SharePartition::decode(
            &buf,
            Limits {
                delivery_count_limit: 2,
                ..Limits::default()
            },
        )
        .unwrap();
        assert_eq!(q.start_offset(), 1);
    }
}
