//! One partition of a topic: its log, the idempotent-producer and transaction
//! state (last stable offset, aborted transactions, markers), and wake-ups for
//! fetches waiting on it.

//!
//! [`Partition`] is the only door to the partition's log: produce, fetch,
//! offset lookups, record deletion, flushes, retention and cleaning all go
//! through its methods (the log itself is private).
//!
//! Nothing is read at start-up: the log opens on first use (see
//! [`PartitionLog`]) and the producer state is loaded then too (the snapshot
//! entry read at start-up plus the batches after it), so a broker with
//! 100,000 partitions starts in milliseconds.

use super::error::AppendError;
use super::news::NewsMark;
use crate::producer_state::{BatchMeta, MarkerMeta, ProducerError, ProducerStateTable, SeqCheck};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Weak};
use tokio::sync::Notify;
use weir_storage::batch::iter_batches_lenient;
use weir_storage::cleaner::{self, CleanStats, CleanerConfig, DirtyInfo};
use weir_storage::retention::{apply_retention, RetentionOutcome, RetentionPolicy};
use weir_storage::{
    AppendOptions, LogConfig, PartitionLog, ReadResult, StorageError, TopicPartition,
    ValidatedBatches,
};

/// What a produce did (or found: a duplicate retry reports the original offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    pub base_offset: i64,
    pub last_offset: i64,
    /// LogAppendTime stamped, or -1.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    /// True when the batch was a retry of one already stored (nothing was written).
    pub duplicate: bool,
}

/// The transaction coordinator's answers for the transactional producers of
/// a record set (is this partition in the producer's ongoing transaction?),
/// asked before [`Partition::produce`] and applied by it under the append
/// lock. The answers hold only while no transaction marker is written here:
/// `generation` is [`Partition::txn_generation`] read before asking, and a
/// marker written since makes the produce fail with
/// [`AppendError::TxnVerificationExpired`] (ask again), so no batch of an
/// ended transaction lands after its marker.
#[derive(Debug, Clone, Default)]
pub struct TxnVerification {
    generation: u64,
    answers: Vec<(i64, i16, Result<(), ProducerError>)>,
}

impl TxnVerification {
    /// Start collecting answers, at the partition's current marker generation.
    pub fn new(generation: u64) -> Self {
        TxnVerification {
            generation,
            answers: Vec::new(),
        }
    }

    /// Whether (`producer_id`, `epoch`) already has an answer.
    pub fn has(&self, producer_id: i64, epoch: i16) -> bool {
        self.answers
            .iter()
            .any(|(p, e, _)| *p == producer_id && *e == epoch)
    }

    /// Record the coordinator's answer for (`producer_id`, `epoch`).
    pub fn add(&mut self, producer_id: i64, epoch: i16, answer: Result<(), ProducerError>) {
        self.answers.push((producer_id, epoch, answer));
    }

    /// The answer for (`producer_id`, `epoch`); a producer nobody asked about
    /// sent transactional records without a transactional id.
    fn check(&self, producer_id: i64, epoch: i16) -> Result<(), ProducerError> {
        match self
            .answers
            .iter()
            .find(|(p, e, _)| *p == producer_id && *e == epoch)
        {
            Some((_, _, answer)) => answer.clone(),
            None => Err(ProducerError::MissingTransactionalId { producer_id }),
        }
    }
}

/// Which offset a ListOffsets lookup asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The high watermark (the last stable offset for read_committed).
    Latest,
    /// The log start offset.
    Earliest,
    /// The record with the largest timestamp.
    MaxTimestamp,
    /// The first record with a timestamp at or after this one.
    Timestamp(i64),
}

/// Who waits on a partition's moves.
#[derive(Default)]
struct Watchers {
    fetches: Vec<Weak<Notify>>,
    sessions: Vec<NewsMark>,
}

/// One partition of a topic.
pub struct Partition {
    pub topic: String,
    pub index: i32,
    log: Arc<PartitionLog>,
    /// Idempotent-producer state; its lock also serialises appends to this partition.
    /// Empty until [`Partition::ensure_loaded`] fills it.
    producers: Mutex<ProducerStateTable>,
    /// `producers` holds this partition's state (loaded on first use).
    loaded: std::sync::atomic::AtomicBool,
    /// The producer-state snapshot entry read at start-up (log end offset it is
    /// valid at, table), until the state is loaded.
    snapshot: Mutex<Option<(i64, ProducerStateTable)>>,
    /// Producer state changed since the last snapshot.
    producers_dirty: std::sync::atomic::AtomicBool,
    /// First offset of the earliest ongoing transaction, -1 when none: a copy of
    /// the producer state's, readable without the append lock (fetches). It is
    /// lowered before transactional data becomes visible and raised after a
    /// marker, so a reader that loads the high watermark first never sees a
    /// last stable offset past an open transaction.
    first_unstable: AtomicI64,
    /// The log start offset after the last retention pass or DeleteRecords
    /// here (0 before): the last stable offset is never below it, as Kafka
    /// raises the first unstable offset to the log start
    /// (`UnifiedLog.maybeIncrementFirstUnstableOffset`) when the records of an
    /// open transaction are deleted. An atomic, so the fetch path takes no lock.
    log_start_floor: AtomicI64,
    /// Transaction markers written here (see [`TxnVerification`]); changed
    /// under the append lock.
    markers_written: AtomicU64,
    /// Waiting fetches, and the fetch sessions holding this partition (told
    /// of every move: [`super::news`]).
    waiters: Mutex<Watchers>,
    /// The log end offset at which the cleaner last found nothing dirty (-1:
    /// not looked at yet): until the log grows, it has nothing to look at.
    cleaner_quiet_end: AtomicI64,
    /// Bytes and records in and out since start-up (`/metrics`, per topic).
    pub traffic: crate::telemetry::Traffic,
}

impl Partition {
    /// A partition over `log` (not opened yet), with the producer-state
    /// snapshot entry read at start-up; nothing is read until first use.
    pub(super) fn new(
        topic: &str,
        index: i32,
        log: Arc<PartitionLog>,
        snapshot: Option<(i64, ProducerStateTable)>,
    ) -> Self {
        let first_unstable = AtomicI64::new(-1);
        Partition {
            topic: topic.to_string(),
            index,
            log,
            producers: Mutex::new(ProducerStateTable::default()),
            loaded: std::sync::atomic::AtomicBool::new(false),
            snapshot: Mutex::new(snapshot),
            producers_dirty: std::sync::atomic::AtomicBool::new(false),
            first_unstable,
            log_start_floor: AtomicI64::new(0),
            markers_written: AtomicU64::new(0),
            waiters: Mutex::new(Watchers::default()),
            cleaner_quiet_end: AtomicI64::new(-1),
            traffic: Default::default(),
        }
    }

    /// Load the producer state (and so open the log) if not done yet: the
    /// snapshot entry plus the batches after it. Every method that reads the
    /// producer state or the last stable offset calls this first (a single
    /// atomic load once loaded). Call it before taking the producers lock.
    #[inline]
    pub fn ensure_loaded(&self) -> Result<(), StorageError> {
        if self.loaded.load(AtomicOrdering::Acquire) {
            return Ok(());
        }
        self.load_slow()
    }

    #[cold]
    fn load_slow(&self) -> Result<(), StorageError> {
        let mut producers = self.producers.lock();
        if self.loaded.load(AtomicOrdering::Acquire) {
            return Ok(());
        }
        let snapshot = self.snapshot.lock().clone();
        let table = load_producer_state(&self.log, snapshot)?;
        *producers = table;
        self.sync_first_unstable(&producers);
        *self.snapshot.lock() = None;
        self.loaded.store(true, AtomicOrdering::Release);
        Ok(())
    }

    pub fn tp(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.index)
    }

    /// The high watermark: on a single node, everything appended is committed.
    pub fn high_watermark(&self) -> i64 {
        self.log.log_end_offset()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log.log_start_offset()
    }

    /// Append a record set that passed the validator
    /// ([`weir_storage::validate::validate`]). Batches from idempotent
    /// producers are checked against the producer state first: a retry of a
    /// stored batch is answered with its original offsets and not stored again.
    /// Each transactional batch's producer must have an answer in `txn` that
    /// admits it (see [`TxnVerification`]); the check runs under this
    /// partition's append lock, which marker writes also take.
    pub fn produce(
        &self,
        batches: &ValidatedBatches<'_>,
        opts: AppendOptions,
        txn: &TxnVerification,
    ) -> Result<AppendOutcome, AppendError> {
        self.ensure_loaded()?;
        let mut producers = self.producers.lock();
        // Producer checks, on a scratch copy when there are several batches.
        let mut idempotent = Vec::new();
        for batch in batches.batches() {
            if batch.control {
                // Markers are the coordinator's alone (Kafka's LogValidator).
                return Err(ProducerError::ControlBatch.into());
            }
            if batch.producer_id >= 0 {
                if batch.transactional {
                    if producers.is_stale_epoch(batch.producer_id, batch.producer_epoch) {
                        let current = producers.get(batch.producer_id).map_or(-1, |e| e.epoch);
                        return Err(ProducerError::InvalidEpoch {
                            producer_id: batch.producer_id,
                            epoch: batch.producer_epoch,
                            current,
                        }
                        .into());
                    }
                    if self.markers_written.load(AtomicOrdering::SeqCst) != txn.generation {
                        return Err(AppendError::TxnVerificationExpired);
                    }
                    txn.check(batch.producer_id, batch.producer_epoch)?;
                }
                producers.check_txn(batch.producer_id, batch.transactional)?;
                idempotent.push((
                    batch.producer_id,
                    batch.producer_epoch,
                    batch.base_sequence,
                    batch.last_sequence,
                ));
            }
        }
        if let [(pid, epoch, first, last)] = idempotent[..] {
            if let SeqCheck::Duplicate(meta) = producers.check(pid, epoch, first, last)? {
                return Ok(AppendOutcome {
                    base_offset: meta.base_offset,
                    last_offset: meta.last_offset,
                    log_append_time: meta.log_append_time,
                    log_start_offset: self.log.log_start_offset(),
                    duplicate: true,
                });
            }
        } else if idempotent.len() > 1 {
            let mut scratch = producers.clone();
            for (i, &(pid, epoch, first, last)) in idempotent.iter().enumerate() {
                match scratch.check(pid, epoch, first, last)? {
                    SeqCheck::Append => scratch.record(
                        pid,
                        epoch,
                        BatchMeta {
                            first_seq: first,
                            last_seq: last,
                            base_offset: i as i64,
                            last_offset: i as i64,
                            log_append_time: -1,
                            max_timestamp: -1,
                        },
                    ),
                    SeqCheck::Duplicate(_) => {
                        return Err(ProducerError::OutOfOrder {
                            producer_id: pid,
                            expected: last.wrapping_add(1),
                            got: first,
                        }
                        .into())
                    }
                }
            }
        }
        // A transaction starting here holds the last stable offset back from
        // before its data becomes visible (offsets are assigned from the log end,
        // and appends to this log are serialised by the lock held here).
        let mut next = self.log.log_end_offset();
        for batch in batches.batches() {
            if batch.transactional && !producers.ongoing().any(|(pid, _)| pid == batch.producer_id)
            {
                self.lower_first_unstable(next);
                break;
            }
            next += batch.last_offset_delta as i64 + 1;
        }
        let appended = self.log.append_validated(batches, opts);
        let info = match appended {
            Ok(info) => info,
            Err(e) => {
                self.sync_first_unstable(&producers);
                return Err(e.into());
            }
        };
        // Record every idempotent batch with the offsets it got.
        let mut next = info.base_offset;
        for batch in batches.batches() {
            let base = next;
            let last = base + batch.last_offset_delta as i64;
            next = last + 1;
            if batch.producer_id >= 0 {
                self.producers_dirty
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                producers.record(
                    batch.producer_id,
                    batch.producer_epoch,
                    BatchMeta {
                        first_seq: batch.base_sequence,
                        last_seq: batch.last_sequence,
                        base_offset: base,
                        last_offset: last,
                        log_append_time: info.log_append_time,
                        max_timestamp: if info.log_append_time >= 0 {
                            info.log_append_time
                        } else {
                            batch.max_timestamp
                        },
                    },
                );
                if batch.transactional {
                    producers.record_txn_batch(batch.producer_id, base);
                }
            }
        }
        self.sync_first_unstable(&producers);
        drop(producers);
        self.wake_waiters();
        self.traffic.produced(info.bytes, info.record_count);
        Ok(AppendOutcome {
            base_offset: info.base_offset,
            last_offset: info.last_offset,
            log_append_time: info.log_append_time,
            log_start_offset: info.log_start_offset,
            duplicate: false,
        })
    }

    /// The count of transaction markers written here: read it before asking
    /// the coordinator for a [`TxnVerification`].
    pub fn txn_generation(&self) -> u64 {
        self.markers_written.load(AtomicOrdering::SeqCst)
    }

    /// Read whole batches from `offset` (Fetch): zero-copy from the log's
    /// memory map, at least one whole batch when there is one, none at or past
    /// `upper_bound` (the high watermark or the last stable offset).
    /// See [`PartitionLog::read`]. May touch cold pages: the caller decides
    /// where to run it.
    #[inline]
    pub fn fetch(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound: Option<i64>,
    ) -> Result<ReadResult, StorageError> {
        self.log.read(offset, max_bytes, upper_bound)
    }

    /// [`Partition::fetch`] that waits on no disk, for an async worker:
    /// `Ok(None)`, having touched nothing that was not in memory, unless all
    /// it reads is a backlog this process appended that is still in the page
    /// cache (and not a cold catch-up's read-ahead data; see
    /// [`PartitionLog::read_in_memory`]).
    #[inline]
    pub fn fetch_in_memory(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound: Option<i64>,
    ) -> Result<Option<ReadResult>, StorageError> {
        self.log.read_in_memory(offset, max_bytes, upper_bound)
    }

    /// ListOffsets: (offset, timestamp) for `spec`, timestamp -1 where the
    /// lookup is not by time; `None` when no record matches. With
    /// `read_committed`, nothing at or past the last stable offset is returned.
    pub fn list_offset(
        &self,
        spec: OffsetSpec,
        read_committed: bool,
    ) -> Result<Option<(i64, i64)>, StorageError> {
        match spec {
            OffsetSpec::Latest if read_committed => Ok(Some((self.last_stable_offset(), -1))),
            OffsetSpec::Latest => Ok(Some((self.high_watermark(), -1))),
            OffsetSpec::Earliest => Ok(Some((self.log_start_offset(), -1))),
            OffsetSpec::MaxTimestamp => self
                .log
                .max_timestamp()
                .map(|o| o.map(|(ts, off)| (off, ts))),
            OffsetSpec::Timestamp(ts) if read_committed => {
                let lso = self.last_stable_offset();
                self.log
                    .offset_for_timestamp(ts)
                    .map(|o| o.filter(|(off, _)| *off < lso))
            }
            OffsetSpec::Timestamp(ts) => self.log.offset_for_timestamp(ts),
        }
    }

    /// DeleteRecords: move the log start offset up to `offset` (whole segments
    /// below it go); returns the log start offset afterwards.
    pub fn delete_records(&self, offset: i64) -> Result<i64, StorageError> {
        let before = self.log.log_start_offset();
        let result = self.log.advance_log_start_offset(offset);
        if let Ok(start) = &result {
            self.log_start_floor
                .fetch_max(*start, AtomicOrdering::SeqCst);
        }
        // The floor first: a session told of the move reads the new one.
        if self.log.log_start_offset() != before {
            self.tell_sessions();
        }
        result
    }

    /// fsync everything appended so far.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.log.flush()
    }

    /// Block until everything up to and including `offset` is fsynced (group
    /// commit: many callers share one fsync). Blocking.
    pub fn sync_to(&self, offset: i64) -> Result<(), StorageError> {
        self.log.sync_to(offset)
    }

    /// Whether the flush policy asks for an fsync now.
    #[inline]
    pub fn flush_due(&self) -> bool {
        self.log.flush_due()
    }

    /// Whether appending `records` now would first roll or reopen a segment
    /// (file work rather than a page-cache copy).
    #[inline]
    pub fn append_needs_setup(&self, records: &[u8]) -> bool {
        self.needs_load() || self.log.append_needs_setup(records)
    }

    /// Whether using this partition now would first open its log (recovering it
    /// after an unclean stop) or load its producer state: blocking file work,
    /// for the blocking pool rather than an async worker.
    #[inline]
    pub fn needs_load(&self) -> bool {
        !self.loaded.load(AtomicOrdering::Acquire) || !self.log.is_open()
    }

    /// Apply a topic config change to the log.
    pub(super) fn set_log_config(&self, config: LogConfig) {
        self.log.set_config(config);
    }

    /// Whether a retention pass has nothing to look at here: the log holds
    /// only an empty active segment (known without opening it).
    pub fn retention_idle(&self) -> bool {
        self.log.retention_stamp() == weir_storage::RetentionStamp::Empty
    }

    /// What retention could find here without opening the log
    /// ([`weir_storage::PartitionLog::retention_stamp`]).
    pub fn retention_stamp(&self) -> weir_storage::RetentionStamp {
        self.log.retention_stamp()
    }

    /// One retention pass (time, size, log start) up to the high watermark.
    pub fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> Result<RetentionOutcome, StorageError> {
        let start = self.log.log_start_offset();
        let result = apply_retention(&self.log, policy, self.high_watermark(), now_ms);
        if let Ok(outcome) = &result {
            self.log_start_floor
                .fetch_max(outcome.log_start_offset, AtomicOrdering::SeqCst);
        }
        // The floor first: a session told of the move reads the new one.
        if self.log.log_start_offset() != start {
            self.tell_sessions();
        }
        let outcome = result?;
        if !outcome.deleted.is_empty() && self.loaded.load(AtomicOrdering::Acquire) {
            // The next producer-state snapshot is taken at the log end, past
            // the new log start (one valid below it is no longer used after
            // an unclean stop), as Kafka snapshots at the roll before it
            // deletes every segment.
            self.mark_producer_state_dirty();
        }
        Ok(outcome)
    }

    /// When a retention pass could next delete something here under
    /// `policy` (see [`weir_storage::retention::next_due_ms`]), from the
    /// segments as they are now.
    pub fn retention_due(&self, policy: &RetentionPolicy, now_ms: i64) -> Option<i64> {
        weir_storage::retention::next_due_ms(
            &self.log.segments(),
            self.log.log_start_offset(),
            policy,
            now_ms,
        )
    }

    /// How much of the log the cleaner could compact (up to
    /// [`Partition::cleaner_upper_bound`]).
    pub fn dirty_info(&self, config: &CleanerConfig) -> DirtyInfo {
        cleaner::dirty_info(&self.log, config, self.cleaner_upper_bound())
    }

    /// Whether the cleaner found nothing dirty here at the current log end, so
    /// a pass can skip the partition without opening or reading its log.
    pub fn cleaner_quiet(&self) -> bool {
        let quiet = self.cleaner_quiet_end.load(AtomicOrdering::Relaxed);
        quiet >= 0 && quiet == self.log.log_end_offset()
    }

    /// Record that the cleaner found nothing dirty with the log ending at `end`.
    pub fn set_cleaner_quiet(&self, end: i64) {
        self.cleaner_quiet_end.store(end, AtomicOrdering::Relaxed);
    }

    /// Compact the log up to [`Partition::cleaner_upper_bound`] (open
    /// transactions are never cleaned); `stop` abandons a clean in progress.
    pub fn clean(
        &self,
        config: &CleanerConfig,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<CleanStats>, StorageError> {
        cleaner::clean_until(&self.log, config, self.cleaner_upper_bound(), false, stop)
    }

    /// The log of an internal topic's partition, for the coordinator that
    /// keeps its state there (`__consumer_offsets`, `__transaction_state`):
    /// the coordinators write their own record batches. Not for client data.
    pub fn coordinator_log(&self) -> Arc<PartitionLog> {
        self.log.clone()
    }

    /// Write the COMMIT or ABORT marker of `producer_id`'s transaction here (the
    /// transaction coordinator's WriteTxnMarkers) and end its ongoing transaction
    /// on this partition; returns the marker's offset. A marker from an epoch
    /// older than the producer's here is refused (INVALID_PRODUCER_EPOCH).
    /// Writing a marker when no transaction is ongoing here is harmless (retries
    /// after a restart do that).
    pub fn append_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
    ) -> Result<i64, AppendError> {
        self.ensure_loaded()?;
        let mut producers = self.producers.lock();
        if producers.is_stale_epoch(producer_id, producer_epoch) {
            let current = producers.get(producer_id).map_or(-1, |e| e.epoch);
            return Err(ProducerError::InvalidEpoch {
                producer_id,
                epoch: producer_epoch,
                current,
            }
            .into());
        }
        let now = weir_storage::clock::now_ms();
        let batch = weir_storage::control::end_txn_marker_batch(
            producer_id,
            producer_epoch,
            commit,
            coordinator_epoch,
            now,
        )
        .map_err(StorageError::from)?;
        let info = self.log.append(
            &batch,
            AppendOptions {
                log_append_time: None,
                leader_epoch: Some(0),
            },
        )?;
        self.markers_written.fetch_add(1, AtomicOrdering::SeqCst);
        producers.record_marker(
            producer_id,
            producer_epoch,
            commit,
            info.base_offset,
            MarkerMeta {
                coordinator_epoch,
                timestamp: now,
            },
        );
        producers.trim_aborted(info.log_start_offset);
        self.sync_first_unstable(&producers);
        self.producers_dirty
            .store(true, std::sync::atomic::Ordering::Relaxed);
        drop(producers);
        // The last stable offset may have moved: read_committed fetches wake up.
        self.wake_waiters();
        Ok(info.base_offset)
    }

    /// The last stable offset: the first offset of the earliest ongoing
    /// transaction here, else the high watermark. Lock-free.
    pub fn last_stable_offset(&self) -> i64 {
        // (A log that cannot be loaded fails the read that follows.)
        let _ = self.ensure_loaded();
        // The high watermark first: see `first_unstable`.
        let hw = self.high_watermark();
        match self.first_unstable.load(AtomicOrdering::SeqCst) {
            f if f < 0 => hw,
            f => f
                .max(self.log_start_floor.load(AtomicOrdering::SeqCst))
                .min(hw),
        }
    }

    /// Where the log cleaner must stop: the last stable offset, or earlier when an
    /// aborted transaction starts before it but has its ABORT marker at or after
    /// it (the cleaner only learns that records are aborted from markers inside
    /// the range it cleans; without the marker they would look committed and
    /// could shadow older values of their keys).
    pub fn cleaner_upper_bound(&self) -> i64 {
        let _ = self.ensure_loaded();
        let producers = self.producers.lock();
        let lso = self.last_stable_offset();
        producers
            .aborted_in(lso, i64::MAX)
            .iter()
            .map(|a| a.first_offset)
            .fold(lso, i64::min)
    }

    fn lower_first_unstable(&self, offset: i64) {
        let _ =
            self.first_unstable
                .fetch_update(AtomicOrdering::SeqCst, AtomicOrdering::SeqCst, |f| {
                    (f < 0 || offset < f).then_some(offset)
                });
    }

    /// Copy the producer state's first unstable offset (call with its lock held).
    fn sync_first_unstable(&self, producers: &ProducerStateTable) {
        self.first_unstable.store(
            producers.first_unstable_offset().unwrap_or(-1),
            AtomicOrdering::SeqCst,
        );
    }

    /// (producer id, first offset) of the aborted transactions overlapping
    /// `[fetch_offset, upper_bound)` (a read_committed fetch's `aborted_transactions`).
    pub fn aborted_transactions(&self, fetch_offset: i64, upper_bound: i64) -> Vec<(i64, i64)> {
        let _ = self.ensure_loaded();
        self.producers
            .lock()
            .aborted_in(fetch_offset, upper_bound)
            .into_iter()
            .map(|a| (a.producer_id, a.first_offset))
            .collect()
    }

    /// Register a fetch waiting for data here; it is notified by the next append.
    /// (Register before checking for data, so no append can slip in between.)
    pub fn add_waiter(&self, waiter: &Arc<Notify>) {
        let mut w = self.waiters.lock();
        w.fetches.retain(|n| n.strong_count() > 0);
        w.fetches.push(Arc::downgrade(waiter));
    }

    /// Wake the waiting fetches and tell the sessions holding this partition
    /// (an append, a marker, the topic deleted).
    pub fn wake_waiters(&self) {
        let mut w = self.waiters.lock();
        for s in &w.sessions {
            s.mark();
        }
        let waiters = std::mem::take(&mut w.fetches);
        drop(w);
        for w in waiters {
            if let Some(n) = w.upgrade() {
                n.notify_one();
            }
        }
    }

    /// Tell the sessions holding this partition that it moved (its log start
    /// offset), without waking waiting fetches.
    pub fn tell_sessions(&self) {
        for s in &self.waiters.lock().sessions {
            s.mark();
        }
    }

    /// A fetch session holds this partition in the slot of `mark`.
    pub fn watch(&self, mark: NewsMark) {
        self.waiters.lock().sessions.push(mark);
    }

    /// The session slot of `mark` no longer holds this partition.
    pub fn unwatch(&self, mark: &NewsMark) {
        let mut w = self.waiters.lock();
        if let Some(i) = w.sessions.iter().position(|m| m.same(mark)) {
            w.sessions.swap_remove(i);
        }
    }

    /// Fetch sessions holding this partition now (tests).
    pub fn watching_sessions(&self) -> usize {
        self.waiters.lock().sessions.len()
    }

    pub(super) fn producer_state_dirty(&self) -> bool {
        self.producers_dirty
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Mark the producer state as changed (a snapshot write failed).
    pub(super) fn mark_producer_state_dirty(&self) {
        self.producers_dirty
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The log end offset and the encoded producer state valid at it, taken
    /// together under the append lock; clears the dirty flag. A partition not
    /// loaded yet gives back its start-up snapshot entry as it was (`None`
    /// without one): nothing changed it.
    pub(super) fn producer_snapshot(&self) -> Option<(i64, Vec<u8>)> {
        let producers = self.producers.lock();
        if !self.loaded.load(AtomicOrdering::Acquire) {
            return self
                .snapshot
                .lock()
                .as_ref()
                .map(|(at, table)| (*at, table.encode()));
        }
        self.producers_dirty
            .store(false, std::sync::atomic::Ordering::Relaxed);
        Some((self.log.log_end_offset(), producers.encode()))
    }

    /// A copy of the producer state (tests, snapshots).
    pub fn producer_state(&self) -> ProducerStateTable {
        let _ = self.ensure_loaded();
        self.producers.lock().clone()
    }

    /// Number of segments of this partition's log.
    pub fn segment_count(&self) -> usize {
        self.log.segment_count()
    }

    /// Bytes this partition's log takes on disk (all segments).
    pub fn size_bytes(&self) -> u64 {
        self.log.size_bytes()
    }
}

/// The producer state of a partition: its snapshot (if valid and not beyond the
/// log end) plus the idempotent batches after it, read from the log's batch headers.
fn load_producer_state(
    log: &PartitionLog,
    snapshot: Option<(i64, ProducerStateTable)>,
) -> Result<ProducerStateTable, StorageError> {
    let end = log.log_end_offset();
    let start = log.log_start_offset();
    let (mut table, mut offset) = match snapshot {
        Some((at, table)) if at <= end && at >= start => (table, at),
        _ => (ProducerStateTable::default(), start),
    };
    const CHUNK: usize = 16 << 20;
    while offset < end {
        let read = match log.read(offset, CHUNK, None) {
            Ok(r) => r,
            Err(StorageError::OffsetOutOfRange { .. }) => break,
            Err(e) => return Err(e),
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
