//! The log cleaner (compaction): keeps the latest record per key in the
//! cleanable part of a log, as Apache Kafka's `LogCleaner` does.
//!
//! One pass over a log:
//! 1. The cleanable range runs from the log start to the first uncleanable
//!    offset: the active segment's base, the caller's `upper_bound` (the last
//!    stable offset: open transactions are never cleaned), and the first
//!    segment holding a record younger than `min.compaction.lag.ms`. Only
//!    whole segments are cleaned.
//! 2. The dirty part starts at the cleaner checkpoint (`weir-cleaner.checkpoint`
//!    in the log directory; the log start when absent). The log is cleaned when
//!    dirty bytes / cleanable bytes >= `min.cleanable.dirty.ratio`, or when dirty
//!    data is older than `max.compaction.lag.ms`.
//! 3. Transactions are resolved from the control batches (COMMIT/ABORT, read
//!    by [`crate::control`]; a control record of another type ends nothing and
//!    is kept); records of aborted transactions are dropped and never enter the
//!    key map.
//! 4. A key -> latest offset map is built over the dirty segments (bounded by
//!    `max_map_entries`; when full, this pass stops at that segment boundary).
//! 5. Segments from the log start up to the map's end are rewritten in groups
//!    whose total size fits `segment.bytes` (small segments merge). A record is
//!    kept unless a later offset holds the same key, it has no key, it belongs to
//!    an aborted transaction, or it is a tombstone older than
//!    `delete.retention.ms`. Offsets never change: each rewritten batch keeps its
//!    base offset, last offset delta, producer fields and codec; batches with
//!    every record kept are copied byte for byte; control batches are kept.
//! 6. Each group is written to a `.cleaned` file and swapped in atomically by
//!    the log ([`PartitionLog`]'s cleaner hook, following the crash-safe swap
//!    protocol of the private `swap` module: a crash leaves either the old
//!    segments or the cleaned ones, never both and never neither); then the
//!    checkpoint moves to the map's end.
//!
//! The expensive work (decoding, re-encoding, writing) runs without any lock;
//! only the swap takes the log's writer lock, briefly. `io_max_bytes_per_sec`
//! throttles the reads so producers and tailing consumers are not starved.

use crate::batch::{
    self, BatchBuilder, BatchHeader, Record, LAST_OFFSET_DELTA_POS, MAX_TIMESTAMP_POS,
};
use crate::control;
use crate::durability::{atomic_write, io_err, seal, unseal};
use crate::error::{Result, StorageError};
use crate::fs::Fs;
use crate::log::PartitionLog;
use crate::segment::{now_ms, Segment};
use crate::swap::cleaned_path;
use bytes::Bytes;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// File in each log directory holding the cleaner's first dirty offset.
pub(crate) const CLEANER_CHECKPOINT: &str = "weir-cleaner.checkpoint";

/// Compaction settings of one log (Kafka's topic configs of the same names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleanerConfig {
    /// `min.compaction.lag.ms`: records younger than this are not cleaned.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: dirty data older than this is cleaned whatever the ratio.
    pub max_compaction_lag_ms: i64,
    /// `delete.retention.ms`: how long tombstones stay readable.
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`.
    pub min_cleanable_dirty_ratio: f64,
    /// `segment.bytes`: the largest cleaned (merged) segment.
    pub segment_bytes: u64,
    /// Most distinct keys per pass (Kafka's `log.cleaner.dedupe.buffer.size`).
    pub max_map_entries: usize,
    /// `log.cleaner.io.max.bytes.per.second`; `None` = unthrottled.
    pub io_max_bytes_per_sec: Option<u64>,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig {
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            delete_retention_ms: 86_400_000,
            min_cleanable_dirty_ratio: 0.5,
            segment_bytes: 1 << 30,
            max_map_entries: 4_000_000,
            io_max_bytes_per_sec: None,
        }
    }
}

/// What one cleaning pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanStats {
    /// Old segments replaced.
    pub segments_in: usize,
    /// Cleaned segments written (groups with no surviving record write none).
    pub segments_out: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_kept: u64,
    pub tombstones_removed: u64,
    /// Records dropped because they belonged to aborted transactions.
    pub aborted_removed: u64,
    /// The first dirty offset before and after the pass.
    pub first_dirty_before: i64,
    pub first_dirty_after: i64,
    /// Groups skipped because the log changed under the cleaner (retention,
    /// DeleteRecords or truncation removed one of their segments).
    pub groups_skipped: usize,
    pub elapsed: Duration,
}

/// How dirty a log is, for scheduling (dirtiest log first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DirtyInfo {
    pub first_dirty: i64,
    /// End of the cleanable range (exclusive).
    pub first_uncleanable: i64,
    pub cleanable_bytes: u64,
    pub dirty_bytes: u64,
    /// Largest timestamp in the oldest dirty segment (-1 if none).
    pub oldest_dirty_ts: i64,
}

impl DirtyInfo {
    pub fn ratio(&self) -> f64 {
        if self.cleanable_bytes == 0 {
            0.0
        } else {
            self.dirty_bytes as f64 / self.cleanable_bytes as f64
        }
    }
    /// Whether `cfg` asks for a pass now.
    pub fn should_clean(&self, cfg: &CleanerConfig, now_ms: i64) -> bool {
        if self.dirty_bytes == 0 {
            return false;
        }
        let overdue = self.oldest_dirty_ts >= 0
            && now_ms.saturating_sub(self.oldest_dirty_ts) > cfg.max_compaction_lag_ms;
        overdue || self.ratio() >= cfg.min_cleanable_dirty_ratio
    }
}

/// Read the cleaner checkpoint of the log in `dir` (None if absent or damaged).
pub(crate) fn read_checkpoint(dir: &Path) -> Option<i64> {
    let data = std::fs::read(dir.join(CLEANER_CHECKPOINT)).ok()?;
    let text = std::str::from_utf8(unseal(&data)?).ok()?;
    text.strip_prefix("weir-cleaner 1\n")?.trim().parse().ok()
}

fn write_checkpoint(fs: &dyn Fs, dir: &Path, first_dirty: i64) -> Result<()> {
    let text = format!("weir-cleaner 1\n{first_dirty}\n");
    atomic_write(fs, &dir.join(CLEANER_CHECKPOINT), &seal(text.as_bytes()))
}

/// Facts about one batch gathered without decoding its records.
struct BatchRef {
    pos: usize,
    len: usize,
}

/// The segments of the cleanable range and its dirty part.
struct Plan {
    segments: Vec<Arc<Segment>>,
    /// Index in `segments` of the first dirty segment.
    first_dirty_seg: usize,
    info: DirtyInfo,
}

fn plan(log: &PartitionLog, cfg: &CleanerConfig, upper_bound: i64, now: i64) -> Plan {
    let (all, log_start) = log.segment_snapshot();
    let checkpoint = read_checkpoint(log.dir()).unwrap_or(log_start);
    let first_dirty = checkpoint.max(log_start);
    let active_base = all.last().map(|s| s.base_offset).unwrap_or(0);
    let mut first_uncleanable = active_base.min(upper_bound);
    let mut segments = Vec::new();
    for s in &all[..all.len().saturating_sub(1)] {
        if s.next_offset() <= log_start {
            continue;
        }
        let young = s.base_offset >= first_dirty
            && s.max_timestamp().0 >= 0
            && now.saturating_sub(s.max_timestamp().0) < cfg.min_compaction_lag_ms;
        if young || s.next_offset() > first_uncleanable {
            first_uncleanable = first_uncleanable.min(s.base_offset);
            break;
        }
        segments.push(s.clone());
    }
    let first_dirty_seg = segments
        .iter()
        .position(|s| s.next_offset() > first_dirty)
        .unwrap_or(segments.len());
    let cleanable_bytes = segments.iter().map(|s| s.size()).sum();
    let dirty_bytes = segments[first_dirty_seg..].iter().map(|s| s.size()).sum();
    let oldest_dirty_ts = segments
        .get(first_dirty_seg)
        .map(|s| s.max_timestamp().0)
        .unwrap_or(-1);
    Plan {
        segments,
        first_dirty_seg,
        info: DirtyInfo {
            first_dirty,
            first_uncleanable,
            cleanable_bytes,
            dirty_bytes,
            oldest_dirty_ts,
        },
    }
}

/// How dirty `log` is now (for the broker's scheduler).
pub fn dirty_info(log: &PartitionLog, cfg: &CleanerConfig, upper_bound: i64) -> DirtyInfo {
    plan(log, cfg, upper_bound, now_ms()).info
}

/// Simple byte-rate throttle.
struct Throttle<'a> {
    rate: Option<u64>,
    start: Instant,
    bytes: u64,
    stop: &'a AtomicBool,
}

impl Throttle<'_> {
    /// Account for `n` bytes read; sleeps to keep under the rate. Errs once stopped.
    fn take(&mut self, n: usize) -> Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(StorageError::Closed);
        }
        self.bytes += n as u64;
        if let Some(rate) = self.rate.filter(|r| *r > 0) {
            let due = Duration::from_secs_f64(self.bytes as f64 / rate as f64);
            let spent = self.start.elapsed();
            if due > spent {
                std::thread::sleep(due - spent);
            }
        }
        Ok(())
    }
}

/// Clean `log` if `cfg` says it is due (or always, with `force`). `upper_bound`
/// is the last stable offset (pass the log end when there are no open
/// transactions). Blocking and CPU-heavy: run it on a background thread.
/// Returns `None` when there was nothing to do.
pub fn clean(
    log: &PartitionLog,
    cfg: &CleanerConfig,
    upper_bound: i64,
    force: bool,
) -> Result<Option<CleanStats>> {
    clean_until(log, cfg, upper_bound, force, &AtomicBool::new(false))
}

/// [`clean`], giving up (with [`StorageError::Closed`], leaving the log as it
/// was before the group in progress) as soon as `stop` is set (shutdown).
pub fn clean_until(
    log: &PartitionLog,
    cfg: &CleanerConfig,
    upper_bound: i64,
    force: bool,
    stop: &AtomicBool,
) -> Result<Option<CleanStats>> {
    let started = Instant::now();
    let now = now_ms();
    let plan = plan(log, cfg, upper_bound, now);
    if plan.info.dirty_bytes == 0 || !(force || plan.info.should_clean(cfg, now)) {
        return Ok(None);
    }
    let mut stats = CleanStats {
        first_dirty_before: plan.info.first_dirty,
        ..CleanStats::default()
    };
    let mut throttle = Throttle {
        rate: cfg.io_max_bytes_per_sec,
        start: Instant::now(),
        bytes: 0,
        stop,
    };
    let segs = &plan.segments;

    // Transactions: base offset of each transactional data batch -> committed?
    let mut pending: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut outcome: HashMap<i64, bool> = HashMap::new();
    let mut batches: Vec<Vec<BatchRef>> = Vec::with_capacity(segs.len());
    for s in segs.iter() {
        let mut refs = Vec::new();
        for (pos, b) in s.batches_from(s.base_offset) {
            let bytes = s.batch_bytes(pos, b.len);
            let h = BatchHeader::parse(&bytes)?;
            if h.is_transactional() {
                if h.is_control() {
                    if let Some(commit) = control::end_txn_marker(&h)? {
                        for base in pending.remove(&h.producer_id()).unwrap_or_default() {
                            outcome.insert(base, commit);
                        }
                    }
                } else {
                    pending
                        .entry(h.producer_id())
                        .or_default()
                        .push(h.base_offset());
                }
            }
            refs.push(BatchRef { pos, len: b.len });
        }
        batches.push(refs);
    }
    let aborted = |h: &BatchHeader<'_>| {
        h.is_transactional() && !h.is_control() && outcome.get(&h.base_offset()) == Some(&false)
    };

    // The key map over the dirty segments, stopping at a segment boundary when full.
    let mut map: HashMap<Bytes, i64> = HashMap::new();
    let mut map_end_seg = plan.first_dirty_seg;
    for si in plan.first_dirty_seg..segs.len() {
        if map_end_seg > plan.first_dirty_seg && map.len() >= cfg.max_map_entries {
            break;
        }
        let s = &segs[si];
        for r in &batches[si] {
            let bytes = s.batch_bytes(r.pos, r.len);
            throttle.take(r.len)?;
            let h = BatchHeader::parse(&bytes)?;
            if h.is_control() || aborted(&h) {
                continue;
            }
            for rec in h.records()? {
                if let Some(k) = rec.key {
                    map.insert(k, rec.offset);
                }
            }
        }
        map_end_seg = si + 1;
    }
    let map_end = segs[map_end_seg - 1].next_offset();

    // Rewrite groups of segments from the start of the cleanable range.
    let mut gi = 0;
    while gi < map_end_seg {
        let mut gj = gi + 1;
        let mut size = segs[gi].size();
        while gj < map_end_seg
            && size + segs[gj].size() <= cfg.segment_bytes
            && segs[gj].next_offset() - segs[gi].base_offset <= i32::MAX as i64
        {
            size += segs[gj].size();
            gj += 1;
        }
        let group = &segs[gi..gj];
        let base = group[0].base_offset;
        let end = group.last().expect("non-empty group").next_offset();
        let cleaned = cleaned_path(log.dir(), base);
        let fs = log.fs();
        let mut write_group = || -> Result<u64> {
            let file = fs
                .open_rw(&cleaned, true)
                .map_err(|e| io_err(&cleaned, e))?;
            fs.set_len(&file, &cleaned, 0)
                .map_err(|e| io_err(&cleaned, e))?;
            let mut out: Vec<u8> = Vec::with_capacity(1 << 20);
            let mut written = 0u64;
            for si in gi..gj {
                let s = &segs[si];
                for r in &batches[si] {
                    let bytes = s.batch_bytes(r.pos, r.len);
                    throttle.take(r.len)?;
                    stats.bytes_read += r.len as u64;
                    let h = BatchHeader::parse(&bytes)?;
                    if h.is_control() {
                        out.extend_from_slice(&bytes);
                        continue;
                    }
                    let recs = h.records()?;
                    stats.records_read += recs.len() as u64;
                    if aborted(&h) {
                        stats.aborted_removed += recs.len() as u64;
                        continue;
                    }
                    let horizon_ts = |rec: &Record| {
                        if h.is_log_append_time() {
                            h.max_timestamp()
                        } else {
                            rec.timestamp
                        }
                    };
                    let n = recs.len();
                    let kept: Vec<Record> = recs
                        .into_iter()
                        .filter(|rec| {
                            let Some(k) = &rec.key else { return false };
                            if map.get(k).is_some_and(|&latest| latest > rec.offset) {
                                return false;
                            }
                            if rec.value.is_none()
                                && now.saturating_sub(horizon_ts(rec)) > cfg.delete_retention_ms
                            {
                                stats.tombstones_removed += 1;
                                return false;
                            }
                            true
                        })
                        .collect();
                    stats.records_kept += kept.len() as u64;
                    if kept.len() == n {
                        out.extend_from_slice(&bytes);
                    } else if !kept.is_empty() {
                        out.extend_from_slice(&rebuild(&h, kept)?);
                    }
                    if out.len() >= 1 << 20 {
                        fs.write_at(&file, &cleaned, &out, written)
                            .map_err(|e| io_err(&cleaned, e))?;
                        written += out.len() as u64;
                        out.clear();
                    }
                }
            }
            if !out.is_empty() {
                fs.write_at(&file, &cleaned, &out, written)
                    .map_err(|e| io_err(&cleaned, e))?;
                written += out.len() as u64;
            }
            fs.sync(&file, &cleaned).map_err(|e| io_err(&cleaned, e))?;
            Ok(written)
        };
        let written = match write_group() {
            Ok(w) => w,
            Err(e) => {
                // Nothing refers to the half-written file: drop it now (open would too).
                let _ = fs.remove_file(&cleaned);
                return Err(e);
            }
        };
        match log.swap_cleaned(group, &cleaned, end)? {
            true => {
                stats.segments_in += group.len();
                stats.segments_out += usize::from(written > 0);
                stats.bytes_written += written;
            }
            false => {
                stats.groups_skipped += 1;
                let _ = fs.remove_file(&cleaned);
            }
        }
        gi = gj;
    }
    write_checkpoint(log.fs(), log.dir(), map_end)?;
    stats.first_dirty_after = map_end;
    stats.elapsed = started.elapsed();
    Ok(Some(stats))
}

/// Re-encode `h` with only `kept` records, keeping its base offset, last offset
/// delta (so the producer's last sequence stays right), producer fields,
/// leader epoch, codec and timestamp type.
fn rebuild(h: &BatchHeader<'_>, kept: Vec<Record>) -> Result<Vec<u8>> {
    let mut b = BatchBuilder::like(h)?;
    for r in kept {
        b.push(r);
    }
    let mut out = b.build().map_err(StorageError::InvalidBatch)?;
    out[LAST_OFFSET_DELTA_POS..LAST_OFFSET_DELTA_POS + 4]
        .copy_from_slice(&h.last_offset_delta().to_be_bytes());
    if h.is_log_append_time() {
        out[MAX_TIMESTAMP_POS..MAX_TIMESTAMP_POS + 8]
            .copy_from_slice(&h.max_timestamp().to_be_bytes());
    }
    batch::rewrite_crc(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::iter_batches;
    use crate::fs::faulty::FaultyFs;
    use crate::{AppendOptions, LogConfig, Store, TopicPartition};
    use std::collections::BTreeMap;

    fn open(dir: &Path, fs: Arc<dyn Fs>) -> (Store, Arc<PartitionLog>) {
        let store = Store::open_with_fs(dir, fs).unwrap();
        let cfg = LogConfig {
            segment_bytes: 2_048,
            ..LogConfig::default()
        };
        let log = store.open_log(&TopicPartition::new("c", 0), cfg).unwrap();
        (store, log)
    }

    /// 50 keys x 6 rounds, 10 records per batch, then a tail record.
    fn fill(log: &PartitionLog) {
        let ts = now_ms();
        for round in 0..6 {
            for chunk in 0..5 {
                let mut b = BatchBuilder::new();
                for i in 0..10 {
                    b.push(Record {
                        offset: i,
                        timestamp: ts,
                        key: Some(Bytes::from(format!("k{}", chunk * 10 + i))),
                        value: Some(Bytes::from(format!("r{round}"))),
                        headers: vec![],
                    });
                }
                log.append(&b.build().unwrap(), AppendOptions::default())
                    .unwrap();
            }
        }
    }

    /// (offset, key, value) of every record, and the latest value per key.
    fn contents(log: &PartitionLog) -> (Vec<(i64, String)>, BTreeMap<String, String>) {
        let mut recs = Vec::new();
        let mut latest = BTreeMap::new();
        let mut next = log.log_start_offset();
        while next < log.log_end_offset() {
            let r = log.read(next, 1 << 20, None).unwrap();
            if r.records.is_empty() {
                break;
            }
            for b in iter_batches(&r.records) {
                let b = b.unwrap();
                b.validate_crc().unwrap();
                for rec in b.records().unwrap() {
                    let k = String::from_utf8(rec.key.unwrap().to_vec()).unwrap();
                    let v = String::from_utf8(rec.value.unwrap().to_vec()).unwrap();
                    recs.push((rec.offset, k.clone()));
                    latest.insert(k, v);
                }
                next = b.last_offset() + 1;
            }
        }
        (recs, latest)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir.join("c-0"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("cleaned") || n.contains("swap"))
            .collect()
    }

    fn cfg() -> CleanerConfig {
        CleanerConfig {
            segment_bytes: 1 << 20,
            ..CleanerConfig::default()
        }
    }

    /// Die at `rename_to`, reopen with the real fs; returns (before, after reopen,
    /// what a clean without crash gives).
    fn crash_at(rename_to: &str) -> (usize, usize, usize, BTreeMap<String, String>) {
        let dir = tempfile::tempdir().unwrap();
        let faulty = Arc::new(FaultyFs::default());
        let (before, expected) = {
            let (_s, log) = open(dir.path(), faulty.clone());
            fill(&log);
            let (before, expected) = contents(&log);
            faulty.faults.lock().die_at_rename_to = Some(rename_to.into());
            let err = clean(&log, &cfg(), log.log_end_offset(), true).unwrap_err();
            assert!(matches!(err, StorageError::Io { .. }), "{err}");
            (before.len(), expected)
        };
        let (_s, log) = open(dir.path(), crate::fs::real());
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
        let (after, latest) = contents(&log);
        assert_eq!(latest, expected, "latest value per key survives the crash");
        // Cleaning again (no fault) converges to the fully cleaned state.
        clean(&log, &cfg(), log.log_end_offset(), true).unwrap();
        let (cleaned, latest) = contents(&log);
        assert_eq!(latest, expected);
        (before, after.len(), cleaned.len(), expected)
    }

    #[test]
    fn crash_before_the_swap_is_committed_keeps_the_old_segments() {
        let (before, after, cleaned, latest) = crash_at(crate::swap::SWAP_SUFFIX);
        assert_eq!(after, before, "nothing was replaced");
        assert!(cleaned < before);
        assert_eq!(latest.len(), 50);
    }

    #[test]
    fn crash_after_the_swap_is_committed_completes_it_on_open() {
        // The rename of the swap over `<base>.log` is the last step.
        let (before, after, cleaned, latest) = crash_at(".log");
        assert!(after < before, "the committed swap was completed");
        assert_eq!(after, cleaned, "exactly the cleaned state");
        assert_eq!(latest.len(), 50);
    }
}
