//! One partition's log: a list of segments, the active one last.
//!
//! [`PartitionLog`] is the handle the rest of the system holds: it opens the
//! log's files on first use and can close them again (see `open_logs`); the
//! open log itself is a `LoadedLog`. Both are `Send + Sync`. Appends are
//! serialised inside; reads never wait for an append (they see a consistent
//! snapshot of the segment list and the committed end of the tail).
//!
//! State on disk besides the segments: `weir-log.checkpoint` in the log's
//! directory holds the log start offset and the recovery point (written by
//! atomic rewrite whenever the log start moves or the recovery point enters a
//! new segment — recovery scans whole segments from the one holding it).

use crate::batch::{
    rewrite_header_crc, BatchHeader, ATTRIBUTES_POS, HEADER_LEN, LEADER_EPOCH_POS,
    MAX_TIMESTAMP_POS, TIMESTAMP_TYPE_BIT,
};
use crate::config::{LogConfig, TimestampType};
use crate::durability::{atomic_write, io_err, seal, unseal, GroupCommit};
use crate::error::{BatchError, Result, StorageError};
use crate::fs::Fs;
use crate::open_logs::{Evict, OpenLogs};
use crate::region::FileRegion;
use crate::segment::{self, now_ms, AppendBatch, NotInMemory, OpenMode, Segment, SegmentParams};
use crate::swap;
use crate::validate::{validate, ProduceRules, ValidatedBatch, ValidatedBatches, ValidationError};
use arc_swap::ArcSwapOption;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};

/// Suffix of the copy a truncation writes while readers still map the old file.
const TRUNCATING_SUFFIX: &str = ".log.truncating";

/// File in each log directory holding the log start offset and recovery point.
pub(crate) const LOG_CHECKPOINT: &str = "weir-log.checkpoint";

/// How to append.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppendOptions {
    /// `Some(now_ms)` for LogAppendTime topics: stamp every batch's max timestamp
    /// with it (and set the timestamp-type bit, recompute the CRC).
    pub log_append_time: Option<i64>,
    /// Partition leader epoch to write into each batch (`None` keeps the client's).
    pub leader_epoch: Option<i32>,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset given to the first record appended.
    pub base_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// The LogAppendTime stamped, or -1 for CreateTime.
    pub log_append_time: i64,
    /// Largest record timestamp in the appended batches.
    pub max_timestamp: i64,
    /// Log start offset after the append.
    pub log_start_offset: i64,
    pub record_count: i64,
    pub bytes: usize,
}

/// What a read returned.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Whole batches, borrowed from the mmap'd segment (no copy); empty at the end of log.
    pub records: Bytes,
    /// The same batches as a region of the segment file (`None` when `records`
    /// is empty), for a writer that sends them with `sendfile(2)`.
    pub region: Option<FileRegion>,
    /// The offset after the last returned batch (the read offset when none):
    /// below the read's bound, more data was there than the limit let through
    /// (or it is in the next segment).
    pub next_offset: i64,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

/// Facts about one segment, for retention and admin tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub base_offset: i64,
    /// Offset after the last batch in this segment.
    pub next_offset: i64,
    pub size_bytes: u64,
    /// Largest batch max timestamp in this segment (-1 if empty).
    pub max_timestamp: i64,
    /// File modification time in ms, for segments with no timestamps (-1,
    /// not looked up, when `max_timestamp` is set).
    pub last_modified_ms: i64,
    pub is_active: bool,
}

impl SegmentInfo {
    /// Kafka's `LogSegment.largestTimestamp`: the largest record timestamp,
    /// or the file's modification time for a segment without timestamps.
    pub fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 {
            self.max_timestamp
        } else {
            self.last_modified_ms
        }
    }
}

/// How a checkpoint write changes the recovery point.
#[derive(Debug, Clone, Copy)]
enum Rp {
    /// Move forward to this offset (never backwards).
    Advance(i64),
    /// Set exactly (after truncation).
    Set(i64),
    Keep,
}

/// An immutable snapshot of the segment list, swapped atomically.
#[derive(Debug)]
struct View {
    segments: Vec<Arc<Segment>>,
    log_start: i64,
}

impl View {
    fn active(&self) -> &Arc<Segment> {
        self.segments
            .last()
            .expect("a log always has an active segment")
    }
    /// Index of the segment that would hold `offset`.
    fn index_for(&self, offset: i64) -> usize {
        self.segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1)
    }
}

struct Inner {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    /// Serialises appends, rolls, truncation and log-start changes.
    writer: Mutex<()>,
    view: RwLock<Arc<View>>,
    log_end: AtomicI64,
    config: RwLock<LogConfig>,
    commit: GroupCommit,
    /// Held by a running fsync pass and by truncation, so a truncation never
    /// interleaves with the computation of what an fsync covered.
    sync_pass: Mutex<()>,
    /// Time of the oldest append not yet fsynced, -1 if none.
    first_unflushed_ms: AtomicI64,
    /// (log start, recovery point) last written to the checkpoint file.
    persisted: Mutex<(i64, i64)>,
    closed: AtomicBool,
    /// Closed to free its files (not for good): the caller reopens and retries.
    evicted: AtomicBool,
    /// Changed since open (appends, truncation, log start): close has work to do.
    dirty: AtomicBool,
    /// Where a change of the segment list is reported (the store's; see
    /// [`OpenLogs::segments_changed`]); set before the log is first used.
    changes: std::sync::OnceLock<Arc<OpenLogs>>,
}

/// One partition's log while it is open (its segments' files and maps held).
/// [`PartitionLog`] opens one on first use and drops it when the open-segment
/// cap needs the files.
pub(crate) struct LoadedLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LoadedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedLog")
            .field("dir", &self.inner.dir)
            .field("log_start_offset", &self.log_start_offset())
            .field("log_end_offset", &self.log_end_offset())
            .finish()
    }
}

/// Clamp `segment.bytes` to what 32-bit index positions can address.
fn segment_bytes(cfg: &LogConfig) -> u64 {
    cfg.segment_bytes
        .clamp(crate::batch::HEADER_LEN as u64, i32::MAX as u64)
}

fn read_log_checkpoint(dir: &Path) -> Result<Option<(i64, i64)>> {
    let path = dir.join(LOG_CHECKPOINT);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path, e)),
    };
    let corrupt = || StorageError::Corrupt {
        path: path.clone(),
        reason: "bad log checkpoint".into(),
    };
    let payload = unseal(&data).ok_or_else(corrupt)?;
    let text = std::str::from_utf8(payload).map_err(|_| corrupt())?;
    let mut lines = text.lines();
    if lines.next() != Some("weir-log 1") {
        return Err(corrupt());
    }
    let mut num = || -> Result<i64> {
        lines
            .next()
            .and_then(|l| l.parse().ok())
            .ok_or_else(corrupt)
    };
    Ok(Some((num()?, num()?)))
}

impl Inner {
    fn view(&self) -> Arc<View> {
        self.view.read().clone()
    }
    fn set_view(&self, v: View) {
        *self.view.write() = Arc::new(v);
        if let Some(changes) = self.changes.get() {
            changes.segments_changed(&self.dir);
        }
    }
    fn config(&self) -> LogConfig {
        self.config.read().clone()
    }
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        if self.fs.offline() {
            return Err(StorageError::LogDirOffline(self.dir.clone()));
        }
        Ok(())
    }

    /// Update and write the checkpoint. The persisted pair is the source of
    /// truth for the log start (callers pass a new one only when they move it),
    /// so a slow background flush can never write back a stale log start.
    /// Without `force`, writes only when the recovery point entered a different
    /// segment than the persisted one (recovery scans from that segment).
    fn persist_state(&self, log_start: Option<i64>, rp: Rp, force: bool) -> Result<()> {
        let mut p = self.persisted.lock();
        if !force && self.closed.load(Ordering::Acquire) {
            // A background flush that outlived its log must not write stale state.
            return Err(StorageError::Closed);
        }
        let new_start = log_start.unwrap_or(p.0);
        let new_rp = match rp {
            Rp::Advance(r) => p.1.max(r),
            Rp::Set(r) => r,
            Rp::Keep => p.1,
        };
        let view = self.view();
        let seg_of = |o: i64| view.segments[view.index_for(o)].base_offset;
        if !force && new_start == p.0 && seg_of(p.1) == seg_of(new_rp) {
            return Ok(());
        }
        let text = format!("weir-log 1\n{new_start}\n{new_rp}\n");
        atomic_write(
            &*self.fs,
            &self.dir.join(LOG_CHECKPOINT),
            &seal(text.as_bytes()),
        )?;
        *p = (new_start, new_rp);
        Ok(())
    }

    /// Group commit: make everything appended so far durable if `offset` is not yet.
    fn sync_to(&self, offset: i64) -> Result<()> {
        self.commit.sync_to(offset, || {
            let _pass = self.sync_pass.lock();
            self.check_open()?;
            let end = self.log_end.load(Ordering::Acquire);
            let durable = self.commit.durable();
            let view = self.view();
            for seg in &view.segments {
                if seg.next_offset() > durable || seg.base_offset >= durable {
                    seg.sync(&*self.fs)?;
                }
            }
            let end_now = self.log_end.load(Ordering::Acquire);
            self.persist_state(None, Rp::Advance(end.min(end_now)), false)?;
            if self.log_end.load(Ordering::Acquire) == end {
                self.first_unflushed_ms.store(-1, Ordering::Release);
            }
            Ok(end)
        })
    }

    fn capacity(cfg: &LogConfig) -> usize {
        segment_bytes(cfg) as usize
    }

    fn params(cfg: &LogConfig) -> SegmentParams {
        SegmentParams {
            capacity: Self::capacity(cfg),
            max_index_bytes: cfg.max_index_bytes as usize,
            index_interval: cfg.index_interval_bytes,
        }
    }

    /// Start a new active segment at `base` (caller holds the writer lock).
    fn roll(&self, view: &View, base: i64, cfg: &LogConfig) -> Result<Arc<Segment>> {
        let old = view.active().clone();
        if old.base_offset == base {
            return Ok(old);
        }
        old.seal(&*self.fs)?;
        let seg = Arc::new(Segment::create(
            &*self.fs,
            &self.dir,
            base,
            Self::capacity(cfg),
            cfg.max_index_bytes as usize,
        )?);
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| io_err(&self.dir, e))?;
        let mut segments = view.segments.clone();
        segments.push(seg.clone());
        self.set_view(View {
            segments,
            log_start: view.log_start,
        });
        Ok(seg)
    }
}

impl Drop for LoadedLog {
    fn drop(&mut self) {
        // Background work (roll flushes) still holding the inner state stops
        // touching the files once the last handle is gone.
        let _p = self.inner.persisted.lock();
        self.inner.closed.store(true, Ordering::Release);
    }
}

/// The one line a recovery that changed data writes: where the torn tail was
/// cut and how many bytes went, which later segments were dropped.
fn log_recovery(dir: &Path, cut: &[(i64, u64)], dropped: usize, dropped_bytes: u64, end: i64) {
    let truncated: u64 = cut.iter().map(|c| c.1).sum();
    let at = cut
        .iter()
        .map(|(o, b)| format!("{b} bytes at offset {o}"))
        .collect::<Vec<_>>()
        .join(", ");
    tracing::warn!(
        "recovered log {}: truncated {truncated} bytes{}, dropped {dropped} later segments ({dropped_bytes} bytes); log end offset {end}",
        dir.display(),
        if at.is_empty() { String::new() } else { format!(" ({at})") },
    );
}

/// The file names in `dir` (one `getdents` pass).
fn list_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

impl LoadedLog {
    /// Open (or create) the log in `dir`. With `recover`, segments from the one
    /// holding the recovery point onwards are re-validated and the torn tail cut;
    /// otherwise data is trusted and only the indexes are checked cheaply.
    pub(crate) fn open(
        fs: Arc<dyn Fs>,
        dir: &Path,
        config: LogConfig,
        recover: bool,
    ) -> Result<LoadedLog> {
        // One mkdir: the directory usually exists (made at topic creation).
        let created = match fs.create_dir(dir) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs.create_dir_all(dir).map_err(|e| io_err(dir, e))?;
                true
            }
            Err(e) => return Err(io_err(dir, e)),
        };
        if created {
            if let Some(parent) = dir.parent() {
                fs.sync_dir(parent).map_err(|e| io_err(parent, e))?;
            }
        }
        let checkpoint = match read_log_checkpoint(dir) {
            Ok(c) => c,
            // A damaged checkpoint is not trusted: recover everything.
            Err(StorageError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        };
        let (mut log_start, mut recovery_point) = checkpoint.unwrap_or((0, 0));
        let recover = recover || created;
        // One listing of the directory, unless completing or discarding an
        // interrupted cleaner swap (done first) changed it.
        let mut names = list_names(dir)?;
        if swap::recover_swaps(&*fs, dir, &names)? {
            names = list_names(dir)?;
        }
        let mut bases = Vec::new();
        for name in &names {
            if let Some(b) = segment::parse_log_name(name) {
                bases.push(b);
            } else if name.ends_with(".tmp")
                || name.ends_with(TRUNCATING_SUFFIX)
                || name.ends_with(crate::deleter::DELETED_SUFFIX)
            {
                // Leftovers of an interrupted atomic rewrite or truncation copy.
                // (`.cleaned` / `.swap` files belong to the log cleaner.)
                let p = dir.join(name);
                fs.remove_file(&p).map_err(|e| io_err(&p, e))?;
            }
        }
        bases.sort_unstable();
        // Drop segments wholly below the log start (a crash between the
        // checkpoint and the deletion).
        while bases.len() > 1 && bases[1] <= log_start {
            let b = bases.remove(0);
            segment::remove_files(&*fs, dir, b);
        }
        let cap = Inner::capacity(&config);
        let max_index = config.max_index_bytes as usize;
        let params = Inner::params(&config);
        let mut segments: Vec<Arc<Segment>> = Vec::new();
        let mut recovered_any = false;
        // Recovery cut or dropped something (else what it scanned is left as it
        // was: no fsync, the recovery point stays, the next crash scans it again).
        let mut changed = false;
        let mut recovered: Vec<Arc<Segment>> = Vec::new();
        // For the recovery line: bytes cut from torn tails (where), and later
        // segments dropped with their bytes.
        let mut cut: Vec<(i64, u64)> = Vec::new();
        let (mut dropped, mut dropped_bytes) = (0usize, 0u64);
        let log_bytes = |b: i64| {
            std::fs::metadata(dir.join(segment::file_name(b, segment::LOG_SUFFIX)))
                .map_or(0, |m| m.len())
        };
        if bases.is_empty() {
            let seg = Segment::create_listed(&*fs, dir, log_start, cap, max_index, Some(&names))?;
            fs.sync_dir(dir).map_err(|e| io_err(dir, e))?;
            segments.push(Arc::new(seg));
        } else {
            let rp_seg = bases
                .iter()
                .rev()
                .find(|&&b| b <= recovery_point)
                .copied()
                .unwrap_or(bases[0]);
            let mut i = 0;
            while i < bases.len() {
                let base = bases[i];
                let active = i + 1 == bases.len();
                let mode = if recover && base >= rp_seg {
                    OpenMode::Recover
                } else {
                    OpenMode::Trusted
                };
                let opened =
                    Segment::open_listed(&*fs, dir, base, active, params, mode, Some(&names));
                let (seg, outcome) = match opened {
                    Err(StorageError::Corrupt { .. }) if mode == OpenMode::Trusted => {
                        Segment::open(&*fs, dir, base, active, params, OpenMode::Recover)?
                    }
                    other => other?,
                };
                let prev_next = segments.last().map(|s| s.next_offset()).unwrap_or(i64::MIN);
                let seg = Arc::new(seg);
                if mode == OpenMode::Recover || outcome.truncated_bytes > 0 {
                    recovered_any = true;
                    recovered.push(seg.clone());
                }
                changed |= outcome.truncated_bytes > 0;
                if outcome.truncated_bytes > 0 {
                    cut.push((seg.next_offset(), outcome.truncated_bytes));
                }
                let out_of_order = base < prev_next;
                if out_of_order {
                    // Overlaps the previous segment (damage): not a valid
                    // continuation. As at the first bad batch, it and everything
                    // after it go; the previous segment takes appends again.
                    for &later in &bases[i..] {
                        dropped += 1;
                        dropped_bytes += log_bytes(later);
                        segment::remove_files(&*fs, dir, later);
                    }
                    bases.truncate(i);
                    recovered_any = true;
                    changed = true;
                    break;
                }
                segments.push(seg.clone());
                if outcome.truncated_bytes > 0 && !active {
                    // Everything after a torn batch is gone: drop later segments
                    // and keep appending to this one.
                    for &later in &bases[i + 1..] {
                        dropped += 1;
                        dropped_bytes += log_bytes(later);
                        segment::remove_files(&*fs, dir, later);
                    }
                    bases.truncate(i + 1);
                    seg.unseal(&*fs, max_index)?;
                    break;
                }
                i += 1;
            }
            if segments.is_empty() {
                let seg = Segment::create(&*fs, dir, log_start, cap, max_index)?;
                segments.push(Arc::new(seg));
            }
        }
        let log_end = segments
            .last()
            .expect("non-empty")
            .next_offset()
            .max(log_start);
        log_start = log_start.max(segments[0].base_offset).min(log_end);
        let view = View {
            segments,
            log_start,
        };
        if recovered_any && changed {
            // What recovery kept is now known good; make it durable and move the
            // recovery point to the end so the next unclean start scans less.
            // (Only when it changed something: a tail that checked out whole is
            // left as the crash left it, so recovering 100,000 logs costs no
            // fsyncs for those.)
            for s in recovered
                .iter()
                .filter(|s| view.segments.iter().any(|v| Arc::ptr_eq(v, s)))
            {
                s.sync(&*fs)?;
            }
            fs.sync_dir(dir).map_err(|e| io_err(dir, e))?;
            recovery_point = log_end;
            log_recovery(dir, &cut, dropped, dropped_bytes, log_end);
        }
        recovery_point = recovery_point.min(log_end);
        let inner = Inner {
            dir: dir.to_path_buf(),
            fs,
            writer: Mutex::new(()),
            view: RwLock::new(Arc::new(view)),
            log_end: AtomicI64::new(log_end),
            config: RwLock::new(config),
            commit: GroupCommit::new(recovery_point),
            sync_pass: Mutex::new(()),
            first_unflushed_ms: AtomicI64::new(-1),
            persisted: Mutex::new((log_start, recovery_point)),
            closed: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
            changes: std::sync::OnceLock::new(),
        };
        if checkpoint.unwrap_or((0, 0)) != (log_start, recovery_point) {
            // Only when something changed: a clean start writes nothing.
            inner.persist_state(None, Rp::Keep, true)?;
        }
        Ok(LoadedLog {
            inner: Arc::new(inner),
        })
    }

    /// Append one or more whole v2 batches from the broker's own writers
    /// (transaction markers, coordinator state, tests): checked with
    /// [`ProduceRules::internal`] first, then [`PartitionLog::append_validated`].
    pub fn append(&self, batches: &[u8], opts: AppendOptions) -> Result<AppendInfo> {
        let validated =
            validate(batches, &ProduceRules::internal(), "", -1).map_err(|e| match e {
                ValidationError::Batch(b) => StorageError::InvalidBatch(b),
                other => StorageError::InvalidBatch(BatchError::CorruptRecord(other.to_string())),
            })?;
        self.append_validated(&validated, opts)
    }

    /// Append a record set that passed [`crate::validate::validate`], assigning
    /// offsets from the log end offset (rewriting each batch's base offset, and
    /// its max timestamp + CRC where LogAppendTime applies or the header's max
    /// timestamp is not the records'). Rolls segments as the config says.
    /// Returns once the data is in the page cache; call
    /// [`PartitionLog::sync_to`] (group commit) when durability is wanted.
    pub fn append_validated(
        &self,
        batches: &ValidatedBatches<'_>,
        opts: AppendOptions,
    ) -> Result<AppendInfo> {
        let inner = &*self.inner;
        inner.check_open()?;
        let cfg = inner.config();
        let lat = opts
            .log_append_time
            .or_else(|| (cfg.timestamp_type == TimestampType::LogAppendTime).then(now_ms));
        // The request's bytes are written as they are but for each batch's
        // header, patched in a copy of its own (no copy of the records).
        let src = batches.bytes();
        // The first batch's header on the stack (most record sets are one batch),
        // the others' in a Vec.
        let mut first_head = [0u8; HEADER_LEN];
        let mut more_heads: Vec<[u8; HEADER_LEN]> = Vec::new();
        let _w = inner.writer.lock();
        inner.check_open()?;
        let log_end = inner.log_end.load(Ordering::Acquire);
        let mut next = log_end;
        let mut metas = Vec::with_capacity(batches.batches().len());
        let mut records = 0i64;
        let mut max_ts = -1i64;
        for vb in batches.batches() {
            let (pos, len) = (vb.position, vb.len);
            let lod = vb.last_offset_delta as i64;
            let body = &src[pos + HEADER_LEN..pos + len];
            let b = if metas.is_empty() {
                &mut first_head
            } else {
                more_heads.push([0u8; HEADER_LEN]);
                more_heads.last_mut().expect("just pushed")
            };
            b.copy_from_slice(&src[pos..pos + HEADER_LEN]);
            b[..8].copy_from_slice(&next.to_be_bytes());
            if let Some(epoch) = opts.leader_epoch {
                b[LEADER_EPOCH_POS..LEADER_EPOCH_POS + 4].copy_from_slice(&epoch.to_be_bytes());
            }
            if let Some(t) = lat {
                let attrs = i16::from_be_bytes([b[ATTRIBUTES_POS], b[ATTRIBUTES_POS + 1]])
                    | TIMESTAMP_TYPE_BIT;
                b[ATTRIBUTES_POS..ATTRIBUTES_POS + 2].copy_from_slice(&attrs.to_be_bytes());
                b[MAX_TIMESTAMP_POS..MAX_TIMESTAMP_POS + 8].copy_from_slice(&t.to_be_bytes());
                rewrite_header_crc(b, body);
            } else if crate::batch::be_i64(b, MAX_TIMESTAMP_POS) != vb.max_timestamp {
                // Some clients (sarama) leave the header's max timestamp unset (-1);
                // as Kafka does, store the one the records give, so lookups by time
                // and retention see the real timestamps.
                b[MAX_TIMESTAMP_POS..MAX_TIMESTAMP_POS + 8]
                    .copy_from_slice(&vb.max_timestamp.to_be_bytes());
                rewrite_header_crc(b, body);
            }
            let batch_max = crate::batch::be_i64(b, MAX_TIMESTAMP_POS);
            max_ts = max_ts.max(batch_max);
            metas.push(AppendBatch {
                pos_in_buf: pos,
                len,
                last_offset: next + lod,
                max_timestamp: batch_max,
            });
            next += lod + 1;
            records += vb.record_count as i64;
        }
        inner.dirty.store(true, Ordering::Release);
        let view = inner.view();
        let mut active = view.active().clone();
        if active.index_sealed() {
            // Opened sealed (a clean start touches nothing); make room to append.
            active.unseal(&*inner.fs, cfg.max_index_bytes as usize)?;
        }
        let seg_bytes = segment_bytes(&cfg);
        // As Kafka's LogSegment.shouldRoll: by record time (this append's max
        // timestamp against the segment's first batch), strictly past segment.ms.
        let aged = active.size() > 0 && active.waited_for_roll(max_ts) > cfg.segment_ms as i64;
        let mut rolled = false;
        // The parts to write: each batch's patched header, then its records.
        let vbs = batches.batches();
        let body = |vb: &ValidatedBatch| &src[vb.position + HEADER_LEN..vb.position + vb.len];
        let one: [&[u8]; 2];
        let many: Vec<&[u8]>;
        let parts: &[&[u8]] = if vbs.len() == 1 {
            one = [&first_head, body(&vbs[0])];
            &one
        } else {
            let heads = std::iter::once(&first_head).chain(&more_heads);
            many = vbs
                .iter()
                .zip(heads)
                .flat_map(|(vb, head)| [&head[..], body(vb)])
                .collect();
            &many
        };
        debug_assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), src.len());
        if aged || !active.fits(src.len() as u64, next - 1, seg_bytes) {
            active = inner.roll(&view, log_end, &cfg)?;
            rolled = true;
        }
        // An append into an empty active segment (not one just rolled, which
        // noted its change) gives the log its first retention work: noted
        // once, as a roll is; later appends note nothing.
        let first_in_segment = !rolled && active.size() == 0;
        active.append_parts(
            &*inner.fs,
            parts,
            &metas,
            cfg.index_interval_bytes,
            seg_bytes,
        )?;
        inner.log_end.store(next, Ordering::Release);
        let _ = inner.first_unflushed_ms.compare_exchange(
            -1,
            now_ms(),
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
        let log_start = inner.view().log_start;
        drop(_w);
        if first_in_segment {
            if let Some(changes) = inner.changes.get() {
                changes.segments_changed(&inner.dir);
            }
        }
        if rolled {
            // Flush the finished segment in the background (as Kafka does), which
            // also moves the recovery point past it.
            let bg = self.inner.clone();
            std::thread::spawn(move || {
                let _ = bg.sync_to(log_end);
            });
        }
        Ok(AppendInfo {
            base_offset: log_end,
            last_offset: next - 1,
            log_append_time: lat.unwrap_or(-1),
            max_timestamp: max_ts,
            log_start_offset: log_start,
            record_count: records,
            bytes: src.len(),
        })
    }

    /// Read whole batches starting with the one containing `offset`, up to
    /// `max_bytes`, but always at least one whole batch if there is one at or after
    /// `offset` (Kafka's rule). Batches whose base offset is at or past
    /// `upper_bound` (exclusive; e.g. the last stable offset) are not returned.
    /// `offset == log_end_offset` gives empty records; outside
    /// `[log_start_offset, log_end_offset]` gives `OffsetOutOfRange`.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound: Option<i64>,
    ) -> Result<ReadResult> {
        self.read_with(offset, max_bytes, upper_bound, false)
            .map(|r| r.expect("a read that may wait always reads"))
    }

    /// [`LoadedLog::read`] that waits on no disk: `Ok(None)`, having read
    /// nothing that was not in memory, unless every byte it needs was
    /// appended by this process, not read ahead for a catch-up, and is in the
    /// page cache (see `Segment::read_region_in_memory`).
    pub fn read_in_memory(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound: Option<i64>,
    ) -> Result<Option<ReadResult>> {
        self.read_with(offset, max_bytes, upper_bound, true)
    }

    fn read_with(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound: Option<i64>,
        in_memory: bool,
    ) -> Result<Option<ReadResult>> {
        let inner = &*self.inner;
        inner.check_open()?;
        let log_end = inner.log_end.load(Ordering::Acquire);
        let view = inner.view();
        let log_start = view.log_start;
        if offset < log_start || offset > log_end {
            return Err(StorageError::OffsetOutOfRange {
                offset,
                log_start,
                log_end,
            });
        }
        let bound = upper_bound.unwrap_or(i64::MAX).min(log_end);
        let mut region = None;
        let mut next_offset = offset;
        if offset < bound {
            for seg in &view.segments[view.index_for(offset)..] {
                if seg.base_offset >= bound {
                    break;
                }
                let from = offset.max(seg.base_offset);
                let read = match in_memory {
                    false => seg.read_region(from, max_bytes, bound, true),
                    true => match seg.read_region_in_memory(from, max_bytes, bound, true) {
                        Ok(read) => read,
                        Err(NotInMemory) => return Ok(None),
                    },
                };
                if let Some((r, next)) = read {
                    region = Some(r);
                    next_offset = next;
                    break;
                }
            }
        }
        Ok(Some(ReadResult {
            records: region.as_ref().map_or_else(Bytes::new, FileRegion::bytes),
            region,
            next_offset,
            log_start_offset: log_start,
            log_end_offset: log_end,
        }))
    }

    /// Block until everything appended up to and including `offset` is fsynced.
    /// Many callers share one fsync (group commit). Blocking: call it off the
    /// async workers.
    pub fn sync_to(&self, offset: i64) -> Result<()> {
        self.check_online()?;
        self.inner.sync_to(offset.saturating_add(1))
    }

    /// fsync everything appended so far.
    pub fn flush(&self) -> Result<()> {
        self.check_online()?;
        let end = self.inner.log_end.load(Ordering::Acquire);
        self.inner.sync_to(end)
    }

    /// Nothing is durable on an offline dir, whatever was synced before.
    fn check_online(&self) -> Result<()> {
        if self.inner.fs.offline() {
            return Err(StorageError::LogDirOffline(self.inner.dir.clone()));
        }
        Ok(())
    }

    /// Whether appending `records` now would first roll a new segment or reopen a
    /// sealed one: creating and mapping files, milliseconds of blocking work rather than
    /// a page-cache copy. A caller appending on an async thread hands such appends to a
    /// blocking pool. (A hint: another append may change the answer before this one;
    /// the record time `segment.ms` goes by is read from the first batch's header.)
    pub fn append_needs_setup(&self, records: &[u8]) -> bool {
        let inner = &*self.inner;
        let cfg = inner.config();
        let view = inner.view();
        let active = view.active();
        if active.index_sealed() {
            return true;
        }
        let batch_ts = if cfg.timestamp_type == TimestampType::LogAppendTime {
            now_ms()
        } else {
            records
                .get(crate::batch::MAX_TIMESTAMP_POS..crate::batch::MAX_TIMESTAMP_POS + 8)
                .map_or(-1, |b| crate::batch::be_i64(b, 0))
        };
        let aged = active.size() > 0 && active.waited_for_roll(batch_ts) > cfg.segment_ms as i64;
        let log_end = inner.log_end.load(Ordering::Acquire);
        aged || !active.fits(records.len() as u64, log_end, segment_bytes(&cfg))
    }

    /// Whether the flush policy (`flush.messages` / `flush.ms`) asks for an fsync now.
    /// The broker calls `sync_to` when this is true after an append.
    pub fn flush_due(&self) -> bool {
        let inner = &*self.inner;
        let cfg = inner.config();
        let unflushed = inner.log_end.load(Ordering::Acquire) - inner.commit.durable();
        if unflushed <= 0 {
            return false;
        }
        if let Some(m) = cfg.flush.messages {
            if unflushed as u64 >= m {
                return true;
            }
        }
        if let Some(ms) = cfg.flush.interval_ms {
            let first = inner.first_unflushed_ms.load(Ordering::Acquire);
            if first >= 0 && now_ms().saturating_sub(first) >= ms as i64 {
                return true;
            }
        }
        false
    }

    pub fn log_start_offset(&self) -> i64 {
        self.inner.view().log_start
    }

    /// Offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.inner.log_end.load(Ordering::Acquire)
    }

    /// Offset below which everything is known to be fsynced (the recovery point).
    pub fn recovery_point(&self) -> i64 {
        self.inner.commit.durable()
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.inner.view().segments.iter().map(|s| s.size()).sum()
    }

    /// First offset whose record timestamp is >= `timestamp`, with that record's
    /// timestamp (ListOffsets by time). `None` if there is none.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        let inner = &*self.inner;
        inner.check_open()?;
        let log_end = inner.log_end.load(Ordering::Acquire);
        let view = inner.view();
        for seg in &view.segments {
            if seg.max_timestamp().0 < timestamp {
                continue;
            }
            let start = seg.time_lookup(timestamp).max(view.log_start);
            for (pos, b) in seg.batches_from(start) {
                if b.base_offset >= log_end {
                    break;
                }
                if b.max_timestamp < timestamp || b.last_offset < view.log_start {
                    continue;
                }
                let bytes = seg.batch_bytes(pos, b.len);
                let h = BatchHeader::parse(&bytes)?;
                for r in h.records()? {
                    if r.timestamp >= timestamp && r.offset >= view.log_start {
                        return Ok(Some((r.offset, r.timestamp)));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The largest timestamp in the log and the offset of the record carrying it
    /// (ListOffsets MAX_TIMESTAMP). `None` for an empty log.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>> {
        let inner = &*self.inner;
        inner.check_open()?;
        let view = inner.view();
        let mut best: Option<(&Arc<Segment>, i64, i64)> = None;
        for seg in &view.segments {
            let (ts, off) = seg.max_timestamp();
            if off >= 0 && best.is_none_or(|(_, bts, _)| ts > bts) {
                best = Some((seg, ts, off));
            }
        }
        let Some((seg, ts, off)) = best else {
            return Ok(None);
        };
        if let Some((pos, b)) = seg.batches_from(off).into_iter().next() {
            let bytes = seg.batch_bytes(pos, b.len);
            let h = BatchHeader::parse(&bytes)?;
            if let Some(r) = h.records()?.into_iter().find(|r| r.timestamp == ts) {
                return Ok(Some((ts, r.offset)));
            }
            return Ok(Some((ts, b.base_offset)));
        }
        Ok(None)
    }

    /// Remove everything at and after `offset` (log end becomes `offset`).
    pub fn truncate_to(&self, offset: i64) -> Result<()> {
        let inner = &*self.inner;
        inner.check_open()?;
        let _w = inner.writer.lock();
        let log_end = inner.log_end.load(Ordering::Acquire);
        if offset >= log_end {
            return Ok(());
        }
        let _pass = inner.sync_pass.lock();
        inner.dirty.store(true, Ordering::Release);
        let cfg = inner.config();
        let fs = &*inner.fs;
        let view = inner.view();
        let offset = offset.max(0);
        if offset < view.log_start || offset <= view.segments[0].base_offset {
            // Nothing survives: start afresh at `offset`.
            let seg = Arc::new(Segment::create(
                fs,
                &inner.dir,
                offset,
                Inner::capacity(&cfg),
                cfg.max_index_bytes as usize,
            )?);
            let fresh = View {
                segments: vec![seg],
                log_start: offset,
            };
            for s in &view.segments {
                if s.base_offset != offset {
                    s.delete(fs)?;
                }
            }
            fs.sync_dir(&inner.dir).map_err(|e| io_err(&inner.dir, e))?;
            inner.log_end.store(offset, Ordering::Release);
            inner.commit.lower_to(offset);
            inner.set_view(fresh);
            inner.persist_state(Some(offset), Rp::Set(offset), true)?;
            return Ok(());
        }
        let idx = view.index_for(offset);
        let mut segments: Vec<Arc<Segment>> = view.segments[..=idx].to_vec();
        let target = segments[idx].clone();
        let was_active = idx + 1 == view.segments.len();
        if !target.truncate_to_offset(fs, offset, cfg.index_interval_bytes)? {
            // Readers still map the bytes being cut: rewrite the kept prefix into a
            // new file and swap it in; the old inode lives on for those readers.
            let pos = target
                .position_for(offset)
                .unwrap_or(target.size() as usize);
            let prefix = target.prefix(pos);
            let log_path = inner
                .dir
                .join(segment::file_name(target.base_offset, segment::LOG_SUFFIX));
            let swap = inner
                .dir
                .join(segment::file_name(target.base_offset, TRUNCATING_SUFFIX));
            let f = fs.open_rw(&swap, true).map_err(|e| io_err(&swap, e))?;
            fs.set_len(&f, &swap, 0).map_err(|e| io_err(&swap, e))?;
            fs.write_at(&f, &swap, &prefix, 0)
                .map_err(|e| io_err(&swap, e))?;
            fs.sync(&f, &swap).map_err(|e| io_err(&swap, e))?;
            drop(f);
            fs.rename(&swap, &log_path)
                .map_err(|e| io_err(&log_path, e))?;
            for suffix in [segment::INDEX_SUFFIX, segment::TIME_INDEX_SUFFIX] {
                let p = inner
                    .dir
                    .join(segment::file_name(target.base_offset, suffix));
                let _ = fs.remove_file(&p);
            }
            let (seg, _) = Segment::open(
                fs,
                &inner.dir,
                target.base_offset,
                true,
                Inner::params(&cfg),
                OpenMode::Trusted,
            )?;
            segments[idx] = Arc::new(seg);
        } else if !was_active {
            target.unseal(fs, cfg.max_index_bytes as usize)?;
        }
        for s in &view.segments[idx + 1..] {
            s.delete(fs)?;
        }
        let kept = segments.last().expect("target kept").clone();
        if kept.next_offset() < offset {
            // `offset` fell inside a batch, which went whole: start an empty
            // segment at `offset` so the log end survives a restart.
            kept.seal(fs)?;
            segments.push(Arc::new(Segment::create(
                fs,
                &inner.dir,
                offset,
                Inner::capacity(&cfg),
                cfg.max_index_bytes as usize,
            )?));
        }
        fs.sync_dir(&inner.dir).map_err(|e| io_err(&inner.dir, e))?;
        let fresh = View {
            segments,
            log_start: view.log_start,
        };
        inner.log_end.store(offset, Ordering::Release);
        inner.commit.lower_to(offset);
        inner.set_view(fresh);
        inner.persist_state(None, Rp::Set(inner.commit.durable()), true)?;
        Ok(())
    }

    /// Advance the log start offset (DeleteRecords, retention); deletes whole
    /// segments that end at or below it. Never moves backwards; at most the log end offset.
    pub fn advance_log_start_offset(&self, offset: i64) -> Result<i64> {
        let inner = &*self.inner;
        inner.check_open()?;
        let _w = inner.writer.lock();
        self.advance_locked(offset)
    }

    /// Retention's deletion, atomic with appends: under the writer lock (the
    /// one every append takes), `select` gets the segments (oldest first) and
    /// the log start as they are now and says how many of the oldest go; the
    /// log start moves to the base offset of the first kept segment, or, when
    /// every segment goes, a new empty active segment is rolled at the log end
    /// first (as Kafka's `UnifiedLog.deleteSegments`) and the log start
    /// becomes the log end. An append cannot slip between the choice and the
    /// deletion. Returns the segments `select` saw, how many went, and the
    /// log start after.
    pub fn delete_oldest_where(
        &self,
        select: &dyn Fn(&[SegmentInfo], i64) -> usize,
    ) -> Result<(Vec<SegmentInfo>, usize, i64)> {
        let inner = &*self.inner;
        inner.check_open()?;
        let _w = inner.writer.lock();
        inner.check_open()?;
        let segments = self.segments();
        let log_start = inner.view().log_start;
        let n = select(&segments, log_start).min(segments.len());
        if n == 0 {
            return Ok((segments, 0, log_start));
        }
        let target = match segments.get(n) {
            Some(s) => s.base_offset,
            None => inner.log_end.load(Ordering::Acquire),
        };
        let start = self.advance_locked(target)?;
        Ok((segments, n, start))
    }

    /// [`Self::advance_log_start_offset`] with the writer lock held.
    fn advance_locked(&self, offset: i64) -> Result<i64> {
        let inner = &*self.inner;
        let log_end = inner.log_end.load(Ordering::Acquire);
        let mut view = inner.view();
        let offset = offset.min(log_end);
        if offset <= view.log_start {
            return Ok(view.log_start);
        }
        inner.dirty.store(true, Ordering::Release);
        let cfg = inner.config();
        if view.active().size() > 0 && view.active().next_offset() <= offset {
            // Even the active segment is wholly below: roll so it can go too.
            inner.roll(&view, log_end, &cfg)?;
            view = inner.view();
        }
        // Delete the segments wholly below `offset` whose successor starts at or
        // below it, so the first kept segment never starts past the log start.
        let keep_from = view.index_for(offset);
        let fresh = View {
            segments: view.segments[keep_from..].to_vec(),
            log_start: offset,
        };
        // Persist the new log start before deleting, so a crash in between
        // cannot bring the deleted records back.
        inner.set_view(fresh);
        inner.persist_state(Some(offset), Rp::Keep, true)?;
        for s in &view.segments[..keep_from] {
            s.delete_after(&*inner.fs, cfg.file_delete_delay_ms)?;
        }
        Ok(offset)
    }

    /// Retention seam: delete the `count` oldest segments (rolling first if
    /// that includes the active one) by moving the log start to the base offset
    /// of the first kept segment. Returns the new log start offset.
    pub fn delete_oldest_segments(&self, count: usize) -> Result<i64> {
        if count == 0 {
            return Ok(self.log_start_offset());
        }
        let view = self.inner.view();
        let target = match view.segments.get(count) {
            Some(s) => s.base_offset,
            None => self.log_end_offset(),
        };
        self.advance_log_start_offset(target)
    }

    /// Number of segments (metrics), without building [`Self::segments`].
    pub fn segment_count(&self) -> usize {
        self.inner.view().segments.len()
    }

    /// The segments, oldest first (for retention and admin tools).
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let view = self.inner.view();
        let n = view.segments.len();
        view.segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let max_timestamp = s.max_timestamp().0;
                SegmentInfo {
                    base_offset: s.base_offset,
                    next_offset: s.next_offset(),
                    size_bytes: s.size(),
                    max_timestamp,
                    // An fstat only where it is used (retention, under the
                    // writer lock when it deletes).
                    last_modified_ms: if max_timestamp >= 0 {
                        -1
                    } else {
                        s.last_modified_ms()
                    },
                    is_active: i + 1 == n,
                }
            })
            .collect()
    }

    /// Replace the settings (AlterConfigs); takes effect from the next append.
    pub fn set_config(&self, config: LogConfig) {
        *self.inner.config.write() = config;
    }

    /// Clean shutdown without an fsync per file: trim the active segment's
    /// indexes and refuse further use. The store makes every file durable with
    /// one `syncfs(2)` before it writes the clean-shutdown marker (a crash before
    /// that recovers as after any unclean stop). The checkpoint keeps the last
    /// fsynced recovery point, so an unclean stop in a later run never trusts
    /// data this close did not sync. Returns whether the log was written since
    /// it opened (what the syncfs must cover).
    pub(crate) fn close_unsynced(&self) -> Result<bool> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Ok(false);
        }
        let _w = self.inner.writer.lock();
        let dirty = self.inner.dirty.load(Ordering::Acquire);
        let result = if dirty {
            self.inner.view().active().trim_indexes(&*self.inner.fs)
        } else {
            Ok(())
        };
        self.inner.closed.store(true, Ordering::Release);
        result.map(|()| dirty)
    }

    /// The current segments (active last) and log start offset.
    pub(crate) fn segment_snapshot(&self) -> (Vec<Arc<Segment>>, i64) {
        let view = self.inner.view();
        (view.segments.clone(), view.log_start)
    }

    /// Cleaner hook: atomically replace `old` (contiguous, not active) with the
    /// fsynced cleaned data at `cleaned` covering `[old[0].base, end)`, following
    /// the swap protocol of [`crate::swap`]. Returns false (touching nothing)
    /// when `old` is no longer in the log (retention or truncation got there first).
    pub(crate) fn swap_cleaned(
        &self,
        old: &[Arc<Segment>],
        cleaned: &Path,
        end: i64,
    ) -> Result<bool> {
        let inner = &*self.inner;
        inner.check_open()?;
        let _w = inner.writer.lock();
        inner.check_open()?;
        let view = inner.view();
        let Some(first) = view.segments.iter().position(|s| Arc::ptr_eq(s, &old[0])) else {
            return Ok(false);
        };
        let last = first + old.len();
        if last >= view.segments.len()
            || !view.segments[first..last]
                .iter()
                .zip(old)
                .all(|(a, b)| Arc::ptr_eq(a, b))
        {
            return Ok(false);
        }
        let fs = &*inner.fs;
        let base = old[0].base_offset;
        let has_segment = swap::commit_swap(fs, &inner.dir, cleaned, base, end)?;
        let mut segments = view.segments[..first].to_vec();
        if has_segment {
            let (seg, _) = Segment::open(
                fs,
                &inner.dir,
                base,
                false,
                Inner::params(&inner.config()),
                OpenMode::Trusted,
            )?;
            segments.push(Arc::new(seg));
        }
        segments.extend_from_slice(&view.segments[last..]);
        inner.set_view(View {
            segments,
            log_start: view.log_start,
        });
        Ok(true)
    }

    /// Refuse further use without flushing (the log is being deleted).
    pub(crate) fn mark_deleted(&self) {
        let _w = self.inner.writer.lock();
        self.inner.closed.store(true, Ordering::Release);
    }

    /// Whether this log was closed to free its files (reopen and retry).
    fn was_evicted(&self) -> bool {
        self.inner.evicted.load(Ordering::Acquire)
    }

    /// Close to free the files, not for good: trim the active segment's indexes
    /// (no fsync; under a flush policy, fsync what is unflushed first) and
    /// refuse further use (callers reopen). Returns what the closed log leaves
    /// behind and whether data is left unflushed.
    fn evict(&self) -> Result<(ClosedState, bool)> {
        let inner = &*self.inner;
        let _w = inner.writer.lock();
        let view = inner.view();
        let mut unflushed = false;
        let result = (|| {
            if inner.closed.load(Ordering::Acquire) || !inner.dirty.load(Ordering::Acquire) {
                return Ok(());
            }
            let cfg = inner.config();
            let end = inner.log_end.load(Ordering::Acquire);
            if end > inner.commit.durable() {
                if cfg.flush.messages.is_some() || cfg.flush.interval_ms.is_some() {
                    inner.sync_to(end)?;
                } else {
                    unflushed = true;
                }
            }
            view.active().trim_indexes(&*inner.fs)
        })();
        let state = ClosedState {
            log_start: view.log_start,
            log_end: inner.log_end.load(Ordering::Acquire),
            recovery_point: inner.commit.durable(),
            segments: self.segments(),
        };
        inner.evicted.store(true, Ordering::Release);
        inner.closed.store(true, Ordering::Release);
        result.map(|()| (state, unflushed))
    }
}

/// `PartitionLog::marker_stamp`: nothing known (look at the log).
const STAMP_UNKNOWN: i64 = i64::MIN;
/// `PartitionLog::marker_stamp`: the log's one segment is empty.
const STAMP_EMPTY: i64 = i64::MIN + 1;

/// What retention could find in a log, known without opening it
/// ([`PartitionLog::retention_stamp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionStamp {
    /// At most one segment, and it is empty: nothing to delete until an append.
    Empty,
    /// One non-empty segment with this largest timestamp (the file's
    /// modification time when it has no timestamps): due by `retention.ms`
    /// at `stamp + retention.ms + 1` at the earliest.
    OneSegment(i64),
    /// More segments, or not known: look at the log.
    Unknown,
}

fn stamp_of(segments: &[SegmentInfo]) -> RetentionStamp {
    match segments {
        [] => RetentionStamp::Empty,
        [s] if s.size_bytes == 0 => RetentionStamp::Empty,
        [s] => RetentionStamp::OneSegment(s.largest_timestamp()),
        _ => RetentionStamp::Unknown,
    }
}

/// What a log closed to free its files leaves behind: enough to answer offset
/// and retention questions without reopening it (nothing changes while closed).
#[derive(Debug, Clone)]
struct ClosedState {
    log_start: i64,
    log_end: i64,
    recovery_point: i64,
    segments: Vec<SegmentInfo>,
}

/// One partition's log. Opened on first use (recovering its tail first after an
/// unclean stop: nothing is served before that), and closed again, files and
/// maps released, when more segments are open than the store's cap allows and
/// it is among the least recently used (see [`crate::store::Store`]). Every
/// method reopens it as needed; the read and append paths of an open log take
/// no lock for this (one atomic load).
///
/// Concurrency: `Send + Sync`, shared as `Arc<PartitionLog>`. Appends are
/// serialised inside; reads never wait for an append.
pub struct PartitionLog {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    config: RwLock<LogConfig>,
    loaded: ArcSwapOption<LoadedLog>,
    /// Held while the log opens (and recovers) or closes.
    open_lock: Mutex<()>,
    /// Re-validate the tail at the next open (the last stop was unclean and
    /// this log has not been recovered since).
    recover: AtomicBool,
    /// Closed for good (store closed, log deleted).
    closed: AtomicBool,
    /// Used since the ring last looked (CLOCK's bit; relaxed stores only).
    referenced: AtomicBool,
    in_ring: AtomicBool,
    /// Closed to free its files with data not yet fsynced.
    unflushed_closed: AtomicBool,
    last: Mutex<Option<ClosedState>>,
    /// A listing found at most one segment on disk while the log was not
    /// opened yet (it stays true until the log opens: only an open log adds
    /// segments, and then the open or closed state answers).
    one_segment_on_disk: AtomicBool,
    /// From the clean-shutdown marker, for a log not opened yet: its one
    /// segment's largest timestamp, or [`STAMP_EMPTY`] / [`STAMP_UNKNOWN`].
    marker_stamp: AtomicI64,
    ring: Option<Arc<OpenLogs>>,
    me: Weak<PartitionLog>,
}

impl std::fmt::Debug for PartitionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionLog")
            .field("dir", &self.dir)
            .field("open", &self.is_open())
            .finish()
    }
}

impl PartitionLog {
    /// A log handle: nothing is read or opened until first use. `one_segment`:
    /// the log is known to hold at most one segment on disk (the clean-shutdown
    /// marker said so), so retention passes it by without listing it.
    pub(crate) fn new(
        fs: Arc<dyn Fs>,
        dir: &Path,
        config: LogConfig,
        recover: bool,
        one_segment: bool,
        ring: Option<Arc<OpenLogs>>,
    ) -> Arc<PartitionLog> {
        Arc::new_cyclic(|me| PartitionLog {
            dir: dir.to_path_buf(),
            fs,
            config: RwLock::new(config),
            loaded: ArcSwapOption::empty(),
            open_lock: Mutex::new(()),
            recover: AtomicBool::new(recover),
            closed: AtomicBool::new(false),
            referenced: AtomicBool::new(false),
            in_ring: AtomicBool::new(false),
            unflushed_closed: AtomicBool::new(false),
            last: Mutex::new(None),
            one_segment_on_disk: AtomicBool::new(one_segment && !recover),
            marker_stamp: AtomicI64::new(STAMP_UNKNOWN),
            ring,
            me: me.clone(),
        })
    }

    #[inline]
    fn touch(&self) {
        if !self.referenced.load(Ordering::Relaxed) {
            self.referenced.store(true, Ordering::Relaxed);
        }
    }

    #[inline]
    fn loaded(&self) -> Result<Arc<LoadedLog>> {
        if let Some(log) = &*self.loaded.load() {
            self.touch();
            return Ok(log.clone());
        }
        self.open_slow()
    }

    #[cold]
    fn open_slow(&self) -> Result<Arc<LoadedLog>> {
        let guard = self.open_lock.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        if let Some(log) = &*self.loaded.load() {
            return Ok(log.clone());
        }
        let config = self.config.read().clone();
        let recover = self.recover.load(Ordering::Acquire);
        let log = Arc::new(LoadedLog::open(
            self.fs.clone(),
            &self.dir,
            config,
            recover,
        )?);
        self.recover.store(false, Ordering::Release);
        *self.last.lock() = None;
        if let Some(ring) = &self.ring {
            let _ = log.inner.changes.set(ring.clone());
        }
        self.loaded.store(Some(log.clone()));
        drop(guard);
        self.referenced.store(true, Ordering::Relaxed);
        if let Some(ring) = &self.ring {
            let me: Weak<dyn Evict> = self.me.clone();
            if !self.in_ring.swap(true, Ordering::AcqRel) {
                ring.opened(me);
            } else {
                ring.trim(Some(me.as_ptr() as *const ()));
            }
        }
        Ok(log)
    }

    /// Run `f` on the open log, reopening (and retrying) if it was closed to
    /// free its files meanwhile.
    #[inline]
    fn with<T>(&self, f: impl Fn(&LoadedLog) -> Result<T>) -> Result<T> {
        loop {
            let log = self.loaded()?;
            match f(&log) {
                Err(StorageError::Closed) if log.was_evicted() => continue,
                other => return other,
            }
        }
    }

    /// A value from the open log, else from what the closed log left behind,
    /// else from the log opened now (`default` if that fails).
    #[inline]
    fn peek<T>(
        &self,
        open: impl Fn(&LoadedLog) -> T,
        closed: impl Fn(&ClosedState) -> T,
        default: T,
    ) -> T {
        if let Some(log) = &*self.loaded.load() {
            self.touch();
            return open(log);
        }
        if let Some(c) = &*self.last.lock() {
            return closed(c);
        }
        match self.loaded() {
            Ok(log) => open(&log),
            Err(_) => default,
        }
    }

    /// Open the log now if it is not (recovering its tail first if needed).
    pub fn open_now(&self) -> Result<()> {
        self.loaded().map(|_| ())
    }

    /// Whether the log's files are open now.
    pub fn is_open(&self) -> bool {
        self.loaded.load().is_some()
    }

    /// Whether the log still has to be recovered (re-validated) before use.
    pub fn needs_recovery(&self) -> bool {
        self.recover.load(Ordering::Acquire)
    }

    /// Forget that the log was used since it opened, so the cap closes it
    /// before logs in real use (a background scan opened it).
    pub fn release(&self) {
        self.referenced.store(false, Ordering::Relaxed);
    }

    /// Whether the log holds at most its active segment, found without
    /// opening it: from the open log, from what a closed log left, or, for a
    /// log not opened in this process, from one listing of its directory (at
    /// most one segment, no cleaner swap; never for a log still to be
    /// recovered). Retention asks [`Self::retention_stamp`] instead (an
    /// expired, non-empty active segment is deleted too).
    pub fn only_active_segment(&self) -> bool {
        if let Some(log) = &*self.loaded.load() {
            return log.segment_count() <= 1;
        }
        if let Some(c) = &*self.last.lock() {
            return c.segments.len() <= 1;
        }
        if self.needs_recovery() {
            return false;
        }
        if self.one_segment_on_disk.load(Ordering::Relaxed) {
            return true;
        }
        let Ok(names) = list_names(&self.dir) else {
            return false;
        };
        let one = names
            .iter()
            .filter(|n| segment::parse_log_name(n).is_some())
            .count()
            <= 1
            && !names.iter().any(|n| swap::parse_swap_name(n).is_some());
        self.one_segment_on_disk.store(one, Ordering::Relaxed);
        one
    }

    /// What retention could find here, known without opening the log: from
    /// the open log, from what a closed log left, or, for a log not opened in
    /// this process, from the clean-shutdown marker (never for a log still to
    /// be recovered, nor one whose segments only a listing counted).
    pub fn retention_stamp(&self) -> RetentionStamp {
        if let Some(log) = &*self.loaded.load() {
            let view = log.inner.view();
            return match &view.segments[..] {
                [s] if s.size() == 0 => RetentionStamp::Empty,
                [s] => {
                    let ts = s.max_timestamp().0;
                    RetentionStamp::OneSegment(if ts >= 0 { ts } else { s.last_modified_ms() })
                }
                _ => RetentionStamp::Unknown,
            };
        }
        if let Some(c) = &*self.last.lock() {
            return stamp_of(&c.segments);
        }
        if self.needs_recovery() || !self.one_segment_on_disk.load(Ordering::Relaxed) {
            return RetentionStamp::Unknown;
        }
        match self.marker_stamp.load(Ordering::Relaxed) {
            STAMP_UNKNOWN => RetentionStamp::Unknown,
            STAMP_EMPTY => RetentionStamp::Empty,
            ts => RetentionStamp::OneSegment(ts),
        }
    }

    /// What the clean-shutdown marker said of this log's one segment
    /// (`None`: empty). Set by the store before the log is used.
    pub(crate) fn set_marker_stamp(&self, stamp: Option<i64>) {
        let v = stamp.map_or(STAMP_EMPTY, |ts| ts.max(STAMP_EMPTY + 1));
        self.marker_stamp.store(v, Ordering::Relaxed);
    }

    /// The segments of a closed log as it left them, and its log start: `None`
    /// when the log is open or was not opened yet in this process.
    pub fn closed_segments(&self) -> Option<(Vec<SegmentInfo>, i64)> {
        if self.is_open() {
            return None;
        }
        self.last
            .lock()
            .as_ref()
            .map(|c| (c.segments.clone(), c.log_start))
    }

    /// Whether the log was closed to free its files with data not yet fsynced.
    pub(crate) fn closed_unflushed(&self) -> bool {
        self.unflushed_closed.load(Ordering::Acquire)
    }

    /// Append one or more whole v2 batches from the broker's own writers
    /// (transaction markers, coordinator state, tests): checked with
    /// [`ProduceRules::internal`] first, then [`PartitionLog::append_validated`].
    pub fn append(&self, batches: &[u8], opts: AppendOptions) -> Result<AppendInfo> {
        self.with(|l| l.append(batches, opts))
    }

    /// Append a record set that passed [`crate::validate::validate`], assigning
    /// offsets from the log end offset (rewriting each batch's base offset, and
    /// its max timestamp + CRC where LogAppendTime applies or the header's max
    /// timestamp is not the records'). Rolls segments as the config says.
    /// Returns once the data is in the page cache; call
    /// [`PartitionLog::sync_to`] (group commit) when durability is wanted.
    #[inline]
    pub fn append_validated(
        &self,
        batches: &ValidatedBatches<'_>,
        opts: AppendOptions,
    ) -> Result<AppendInfo> {
        self.with(|l| l.append_validated(batches, opts))
    }

    /// Read whole batches starting with the one containing `offset`, up to
    /// `max_bytes`, but always at least one whole batch if there is one at or after
    /// `offset` (Kafka's rule). Batches whose base offset is at or past
    /// `upper_bound` (exclusive; e.g. the last stable offset) are not returned.
    /// `offset == log_end_offset` gives empty records; outside
    /// `[log_start_offset, log_end_offset]` gives `OffsetOutOfRange`.
    #[inline]
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound: Option<i64>,
    ) -> Result<ReadResult> {
        self.with(|l| l.read(offset, max_bytes, upper_bound))
    }

    /// [`PartitionLog::read`] that waits on no disk ([`LoadedLog::read_in_memory`]):
    /// `Ok(None)` when it would, and when the log is not open (opening it is
    /// file work).
    pub fn read_in_memory(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound: Option<i64>,
    ) -> Result<Option<ReadResult>> {
        let Some(log) = &*self.loaded.load() else {
            return Ok(None);
        };
        self.touch();
        match log.read_in_memory(offset, max_bytes, upper_bound) {
            Err(StorageError::Closed) => Ok(None),
            other => other,
        }
    }

    /// Block until everything appended up to and including `offset` is fsynced.
    /// Many callers share one fsync (group commit). Blocking: call it off the
    /// async workers.
    pub fn sync_to(&self, offset: i64) -> Result<()> {
        self.with(|l| l.sync_to(offset))
    }

    /// fsync everything appended so far.
    pub fn flush(&self) -> Result<()> {
        if !self.is_open() {
            // Closed logs keep nothing in memory; what they left unflushed is
            // made durable at close (`Store::close`).
            return Ok(());
        }
        self.with(|l| l.flush())
    }

    /// Whether appending `records` now would first roll a new segment or
    /// reopen a sealed one (or open the log): file work, milliseconds of blocking
    /// rather than a page-cache copy. A caller appending on an async thread hands
    /// such appends to a blocking pool. (A hint: another append may change the
    /// answer before this one.)
    #[inline]
    pub fn append_needs_setup(&self, records: &[u8]) -> bool {
        match &*self.loaded.load() {
            Some(log) => log.append_needs_setup(records),
            None => true,
        }
    }

    /// Whether the flush policy (`flush.messages` / `flush.ms`) asks for an fsync
    /// now. The broker calls `sync_to` when this is true after an append. A
    /// closed log never does (closing fsyncs under a flush policy).
    #[inline]
    pub fn flush_due(&self) -> bool {
        match &*self.loaded.load() {
            Some(log) => log.flush_due(),
            None => false,
        }
    }

    pub fn log_start_offset(&self) -> i64 {
        self.peek(|l| l.log_start_offset(), |c| c.log_start, 0)
    }

    /// Offset the next appended record will get.
    #[inline]
    pub fn log_end_offset(&self) -> i64 {
        self.peek(|l| l.log_end_offset(), |c| c.log_end, 0)
    }

    /// Offset below which everything is known to be fsynced (the recovery point).
    pub fn recovery_point(&self) -> i64 {
        self.peek(|l| l.recovery_point(), |c| c.recovery_point, 0)
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.peek(
            |l| l.size_bytes(),
            |c| c.segments.iter().map(|s| s.size_bytes).sum(),
            0,
        )
    }

    /// First offset whose record timestamp is >= `timestamp`, with that record's
    /// timestamp (ListOffsets by time). `None` if there is none.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        self.with(|l| l.offset_for_timestamp(timestamp))
    }

    /// The largest timestamp in the log and the offset of the record carrying it
    /// (ListOffsets MAX_TIMESTAMP). `None` for an empty log.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>> {
        self.with(|l| l.max_timestamp())
    }

    /// Remove everything at and after `offset` (log end becomes `offset`).
    pub fn truncate_to(&self, offset: i64) -> Result<()> {
        self.with(|l| l.truncate_to(offset))
    }

    /// Advance the log start offset (DeleteRecords, retention); deletes whole
    /// segments that end at or below it. Never moves backwards; at most the log end offset.
    pub fn advance_log_start_offset(&self, offset: i64) -> Result<i64> {
        self.with(|l| l.advance_log_start_offset(offset))
    }

    /// Retention's deletion, atomic with appends (see
    /// `LoadedLog::delete_oldest_where`); opens the log.
    pub fn delete_oldest_where(
        &self,
        select: &dyn Fn(&[SegmentInfo], i64) -> usize,
    ) -> Result<(Vec<SegmentInfo>, usize, i64)> {
        self.with(|l| l.delete_oldest_where(select))
    }

    /// Retention seam: delete the `count` oldest segments (rolling first if
    /// that includes the active one) by moving the log start to the base offset
    /// of the first kept segment. Returns the new log start offset.
    pub fn delete_oldest_segments(&self, count: usize) -> Result<i64> {
        self.with(|l| l.delete_oldest_segments(count))
    }

    /// The segments, oldest first (for retention and admin tools).
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.peek(|l| l.segments(), |c| c.segments.clone(), Vec::new())
    }

    /// Number of segments (metrics), without opening an idle log.
    pub fn segment_count(&self) -> usize {
        self.peek(|l| l.segment_count(), |c| c.segments.len(), 0)
    }

    /// Replace the settings (AlterConfigs); takes effect from the next append.
    pub fn set_config(&self, config: LogConfig) {
        let _g = self.open_lock.lock();
        *self.config.write() = config.clone();
        if let Some(log) = &*self.loaded.load() {
            log.set_config(config);
        }
    }

    pub fn config(&self) -> LogConfig {
        self.config.read().clone()
    }

    /// Refuse further use for a clean shutdown, leaving the fsync to the store's
    /// one `syncfs(2)` (see `LoadedLog::close_unsynced`). Returns whether data
    /// may be left unsynced.
    pub(crate) fn close_for_shutdown(&self) -> Result<bool> {
        let _g = self.open_lock.lock();
        self.closed.store(true, Ordering::Release);
        let written = match self.loaded.swap(None) {
            Some(log) => log.close_unsynced()?,
            None => false,
        };
        Ok(written || self.closed_unflushed())
    }

    /// The log's directory (for the cleaner's files).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn fs(&self) -> &dyn Fs {
        &*self.fs
    }

    /// The current segments (active last) and log start offset (empty if the
    /// log cannot be opened).
    pub(crate) fn segment_snapshot(&self) -> (Vec<Arc<Segment>>, i64) {
        match self.loaded() {
            Ok(log) => log.segment_snapshot(),
            Err(_) => (Vec::new(), self.log_start_offset()),
        }
    }

    /// Cleaner hook, see `LoadedLog::swap_cleaned` (false when the log was
    /// closed and reopened since `old` was taken: its segments are new objects).
    pub(crate) fn swap_cleaned(
        &self,
        old: &[Arc<Segment>],
        cleaned: &Path,
        end: i64,
    ) -> Result<bool> {
        self.loaded()?.swap_cleaned(old, cleaned, end)
    }

    /// Refuse further use without flushing (the log is being deleted).
    pub(crate) fn mark_deleted(&self) {
        let _g = self.open_lock.lock();
        self.closed.store(true, Ordering::Release);
        if let Some(log) = self.loaded.swap(None) {
            log.mark_deleted();
        }
    }
}

impl Evict for PartitionLog {
    fn take_referenced(&self) -> bool {
        self.referenced.swap(false, Ordering::Relaxed)
    }

    fn flush_due(&self) -> bool {
        PartitionLog::flush_due(self)
    }

    fn flush(&self) -> Result<()> {
        PartitionLog::flush(self)
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn try_evict(&self) -> bool {
        let Some(_g) = self.open_lock.try_lock() else {
            return false;
        };
        if let Some(log) = self.loaded.swap(None) {
            // On an error the state is not kept: the next use reopens the log
            // (rebuilding an index that was not trimmed).
            if let Ok((state, unflushed)) = log.evict() {
                if unflushed {
                    self.unflushed_closed.store(true, Ordering::Release);
                }
                *self.last.lock() = Some(state);
            }
        }
        self.in_ring.store(false, Ordering::Release);
        true
    }
}
