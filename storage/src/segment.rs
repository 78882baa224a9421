//! One segment: a `.log` file of record batches plus its `.index` and
//! `.timeindex`, named by base offset (`<20 digits>.log`) as in Apache Kafka.
//!
//! Writes go through the [`Fs`] seam (pwrite at the end); reads go through a
//! read-only mapping of the `.log` ([`ReadMap`]). The active segment's mapping
//! reserves a little more than is written ([`INITIAL_MAP`] at first) and is
//! replaced by one twice as large when an append would pass its end (readers
//! keep the mapping they hold), so an idle partition reserves next to no
//! address space. The index files are closed once mapped. A batch becomes visible
//! to readers only after it is fully written (the mapping's valid length and the
//! segment size are published after the write), so a reader never sees half a
//! batch. The single writer is the owning log, which serialises appends.
//! Large appends reserve disk blocks ahead of the data without changing the
//! file's size ([`PREALLOCATE_MAX_AHEAD`]); sealing or closing the segment
//! gives back what was not written.

use crate::batch::{
    be_i32, be_i64, BatchHeader, HEADER_LEN, LAST_OFFSET_DELTA_POS, LOG_OVERHEAD, MAX_TIMESTAMP_POS,
};
use crate::durability::io_err;
use crate::error::Result;
use crate::fs::Fs;
use crate::index::{IndexFile, OffsetIndex, TimeIndex, OFFSET_ENTRY, TIME_ENTRY};
use crate::mmap::ReadMap;
use crate::region::FileRegion;
use bytes::Bytes;
use parking_lot::RwLock;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

pub(crate) const LOG_SUFFIX: &str = ".log";
pub(crate) const INDEX_SUFFIX: &str = ".index";
pub(crate) const TIME_INDEX_SUFFIX: &str = ".timeindex";

/// Address space first reserved for an active segment's mapping.
pub(crate) const INITIAL_MAP: usize = 1 << 20;

/// How far past a byte it must read [`Segment::read_region_in_memory`] checks
/// the page cache at once, at least (one `mincore` walk): twice the read's
/// `max_bytes` and this much more, so that one check usually covers the index
/// scan (from the entry of the batch before the one read: the index maps last
/// offsets), the walk and the region.
const IN_MEMORY_STEP: usize = 64 << 10;

/// A read that waits on no disk could not be done: some of the bytes it
/// needs may not be in memory ([`Segment::read_region_in_memory`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotInMemory;

/// Appends smaller than this never preallocate: a trickling partition
/// reserves no disk beyond its data.
const PREALLOCATE_MIN_APPEND: u64 = 64 << 10;

/// How far past an append's end a large append reserves disk blocks
/// ([`Fs::preallocate`], `FALLOC_FL_KEEP_SIZE`): 16 appends' worth, at most
/// this much, never past `segment.bytes`. Writing into blocks already
/// allocated saves ext4 its per-page delayed-allocation work (reserving,
/// extent-status lookups and inserts: ~8% of the broker's CPU when produce
/// runs at page-cache speed). The file's size is unchanged (readers,
/// recovery, retention and the reported sizes see only the data); the
/// reserved tail is released when the segment is sealed (roll) or closed.
const PREALLOCATE_MAX_AHEAD: u64 = 16 << 20;

/// Address space to reserve for an active segment holding `size` bytes, at
/// most `max` (`segment.bytes`) unless the data is already larger.
fn active_reservation(size: usize, max: usize) -> usize {
    size.max(INITIAL_MAP).next_power_of_two().min(max.max(size))
}

/// `<base offset, 20 digits><suffix>`.
pub(crate) fn file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}{suffix}")
}

/// Best-effort removal of the files of the segment at `base_offset` (used when
/// opening a log drops segments that are not a valid part of it).
pub(crate) fn remove_files(fs: &dyn Fs, dir: &Path, base_offset: i64) {
    for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
        let _ = fs.remove_file(&dir.join(file_name(base_offset, suffix)));
    }
}

/// Parse a `.log` file name back into its base offset.
pub(crate) fn parse_log_name(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(LOG_SUFFIX)?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit())).then(|| stem.parse().ok())?
}

/// Offsets of one batch as stored (trusting validated data).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub len: usize,
}

/// Read the header fields of the batch at `pos`; None if it does not fit in `data`.
pub(crate) fn stored_batch_at(data: &[u8], pos: usize) -> Option<StoredBatch> {
    if data.len() < pos + HEADER_LEN {
        return None;
    }
    let len = LOG_OVERHEAD as i64 + be_i32(data, pos + 8) as i64;
    if len < HEADER_LEN as i64 || pos as i64 + len > data.len() as i64 {
        return None;
    }
    let base = be_i64(data, pos);
    Some(StoredBatch {
        base_offset: base,
        last_offset: base + be_i32(data, pos + LAST_OFFSET_DELTA_POS) as i64,
        max_timestamp: be_i64(data, pos + MAX_TIMESTAMP_POS),
        len: len as usize,
    })
}

#[derive(Debug)]
struct Indexes {
    offset: OffsetIndex,
    time: TimeIndex,
    bytes_since_entry: u64,
}

/// One batch being appended: its place in the write buffer and its offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AppendBatch {
    pub pos_in_buf: usize,
    pub len: usize,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

/// Outcome of scanning a segment's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanOutcome {
    /// Bytes cut from the end because they did not hold valid batches.
    pub truncated_bytes: u64,
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base_offset: i64,
    log_path: PathBuf,
    file: Arc<File>,
    /// How far into the file a catching-up reader has asked the disk to read
    /// ahead ([`FileRegion::will_need`]); shared by this segment's regions.
    read_ahead: Arc<AtomicU64>,
    /// The file's size when this process created or opened it: bytes from
    /// here on were appended by this process.
    opened_size: u64,
    map: RwLock<Arc<ReadMap>>,
    /// Smaller mappings this one replaced, still held by readers perhaps: the
    /// file is never cut in place while one of them is alive.
    retired: parking_lot::Mutex<Vec<std::sync::Weak<ReadMap>>>,
    size: AtomicU64,
    /// Where the disk blocks this process preallocated end (at most the
    /// size while nothing is preallocated); written by the single writer.
    allocated: AtomicU64,
    next_offset: AtomicI64,
    max_ts: AtomicI64,
    /// Last offset of the batch carrying `max_ts`.
    offset_of_max_ts: AtomicI64,
    /// When this process created (or opened) the segment: what `segment.ms`
    /// counts from while the first batch has no timestamp.
    roll_base_ms: AtomicI64,
    /// The first batch's max timestamp (-1 while empty or without one): as
    /// Kafka's `LogSegment.timeWaitedForRoll`, `segment.ms` compares an
    /// appended batch's max timestamp with it.
    first_batch_ts: AtomicI64,
    idx: RwLock<Indexes>,
}

pub(crate) use crate::clock::now_ms;

/// Sizes a segment is opened with (from the log's config).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentParams {
    /// Bytes of address space reserved for the active segment's mapping.
    pub capacity: usize,
    /// Preallocated size of each index file of the active segment.
    pub max_index_bytes: usize,
    /// Bytes of log between sparse index entries.
    pub index_interval: u32,
}

/// How to open an existing segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenMode {
    /// Trust the data; check the indexes cheaply, rebuild them if they fail.
    Trusted,
    /// Re-validate every batch (CRC, offsets), truncate at the first bad one,
    /// rebuild the indexes.
    Recover,
}

/// Whether `path` is in the listing `names` of its directory (or, without
/// one, exists).
fn listed_or_exists(path: &Path, names: Option<&[String]>) -> bool {
    match (names, path.file_name().and_then(|n| n.to_str())) {
        (Some(names), Some(name)) => names.iter().any(|n| n == name),
        _ => path.exists(),
    }
}

impl Segment {
    fn paths(dir: &Path, base: i64) -> (PathBuf, PathBuf, PathBuf) {
        (
            dir.join(file_name(base, LOG_SUFFIX)),
            dir.join(file_name(base, INDEX_SUFFIX)),
            dir.join(file_name(base, TIME_INDEX_SUFFIX)),
        )
    }

    /// Create a new, empty segment (the caller fsyncs the directory).
    pub(crate) fn create(
        fs: &dyn Fs,
        dir: &Path,
        base: i64,
        capacity: usize,
        max_index_bytes: usize,
    ) -> Result<Segment> {
        Self::create_listed(fs, dir, base, capacity, max_index_bytes, None)
    }

    /// [`Segment::create`] where the directory was just listed (`names`):
    /// stale index files are looked for there rather than with a stat each.
    pub(crate) fn create_listed(
        fs: &dyn Fs,
        dir: &Path,
        base: i64,
        capacity: usize,
        max_index_bytes: usize,
        names: Option<&[String]>,
    ) -> Result<Segment> {
        let (log, index, time) = Self::paths(dir, base);
        let file = fs.open_rw(&log, true).map_err(|e| io_err(&log, e))?;
        fs.set_len(&file, &log, 0).map_err(|e| io_err(&log, e))?;
        for p in [&index, &time] {
            if listed_or_exists(p, names) {
                fs.remove_file(p).map_err(|e| io_err(p, e))?;
            }
        }
        let offset = OffsetIndex(IndexFile::open(
            fs,
            &index,
            OFFSET_ENTRY,
            Some(max_index_bytes),
        )?);
        let time = TimeIndex(IndexFile::open(
            fs,
            &time,
            TIME_ENTRY,
            Some(max_index_bytes),
        )?);
        let map =
            ReadMap::new(&file, active_reservation(0, capacity), 0).map_err(|e| io_err(&log, e))?;
        crate::open_logs::segment_opened();
        Ok(Segment {
            base_offset: base,
            log_path: log,
            file: Arc::new(file),
            read_ahead: Default::default(),
            opened_size: 0,
            map: RwLock::new(Arc::new(map)),
            retired: Default::default(),
            size: AtomicU64::new(0),
            allocated: AtomicU64::new(0),
            next_offset: AtomicI64::new(base),
            max_ts: AtomicI64::new(-1),
            offset_of_max_ts: AtomicI64::new(-1),
            roll_base_ms: AtomicI64::new(now_ms()),
            first_batch_ts: AtomicI64::new(-1),
            idx: RwLock::new(Indexes {
                offset,
                time,
                bytes_since_entry: 0,
            }),
        })
    }

    /// Open an existing segment. `active` preallocates the indexes for appends
    /// and reserves `capacity` bytes of mapping.
    pub(crate) fn open(
        fs: &dyn Fs,
        dir: &Path,
        base: i64,
        active: bool,
        params: SegmentParams,
        mode: OpenMode,
    ) -> Result<(Segment, ScanOutcome)> {
        Self::open_listed(fs, dir, base, active, params, mode, None)
    }

    /// [`Segment::open`] where the directory was just listed (`names`): the
    /// index files are looked for there rather than with a stat each.
    pub(crate) fn open_listed(
        fs: &dyn Fs,
        dir: &Path,
        base: i64,
        active: bool,
        params: SegmentParams,
        mode: OpenMode,
        names: Option<&[String]>,
    ) -> Result<(Segment, ScanOutcome)> {
        let SegmentParams {
            capacity,
            max_index_bytes,
            index_interval,
        } = params;
        let (log, index, time) = Self::paths(dir, base);
        let file = fs.open_rw(&log, false).map_err(|e| io_err(&log, e))?;
        let size = file.metadata().map_err(|e| io_err(&log, e))?.len();
        let had_indexes = listed_or_exists(&index, names) && listed_or_exists(&time, names);
        // Indexes open as they are on disk (sealed); the log unseals the active
        // segment's on its first append, so a clean start writes nothing.
        let _ = (active, max_index_bytes);
        let prealloc = None;
        let offset = OffsetIndex(IndexFile::open(fs, &index, OFFSET_ENTRY, prealloc)?);
        let time = TimeIndex(IndexFile::open(fs, &time, TIME_ENTRY, prealloc)?);
        let cap = if active {
            active_reservation(size as usize, capacity)
        } else {
            size as usize
        };
        let map = ReadMap::new(&file, cap, size as usize).map_err(|e| io_err(&log, e))?;
        crate::open_logs::segment_opened();
        let seg = Segment {
            base_offset: base,
            log_path: log,
            file: Arc::new(file),
            read_ahead: Default::default(),
            opened_size: size,
            map: RwLock::new(Arc::new(map)),
            retired: Default::default(),
            size: AtomicU64::new(size),
            allocated: AtomicU64::new(size),
            next_offset: AtomicI64::new(base),
            max_ts: AtomicI64::new(-1),
            offset_of_max_ts: AtomicI64::new(-1),
            roll_base_ms: AtomicI64::new(now_ms()),
            first_batch_ts: AtomicI64::new(-1),
            idx: RwLock::new(Indexes {
                offset,
                time,
                bytes_since_entry: 0,
            }),
        };
        let outcome = match mode {
            OpenMode::Recover => seg.scan(fs, true, index_interval)?,
            OpenMode::Trusted => {
                let ok =
                    had_indexes && seg.indexes_look_sane().is_ok() && seg.load_tail().is_some();
                if ok {
                    ScanOutcome { truncated_bytes: 0 }
                } else {
                    // A missing or damaged index is rebuilt from the data, never trusted.
                    seg.scan(fs, false, index_interval)?
                }
            }
        };
        if let Some(first) = stored_batch_at(seg.map().slice(0, seg.size() as usize), 0) {
            seg.first_batch_ts
                .store(first.max_timestamp, Ordering::Relaxed);
        }
        Ok((seg, outcome))
    }

    fn indexes_look_sane(&self) -> std::result::Result<(), String> {
        let idx = self.idx.read();
        idx.offset.check(self.size())?;
        idx.time.check(u32::MAX as i64)
    }

    /// After a trusted open: find the next offset by scanning from the last
    /// index entry, and take the max timestamp from the time index. None if the
    /// data after the last index entry does not parse (then rebuild).
    fn load_tail(&self) -> Option<()> {
        let map = self.map();
        let size = self.size() as usize;
        let data = map.slice(0, size);
        let (last, tmax) = {
            let idx = self.idx.read();
            (idx.offset.last(), idx.time.last())
        };
        let mut pos = match last {
            Some((rel, p)) => {
                // The last entry must name a batch boundary, or the index is rebuilt.
                let b = stored_batch_at(data, p as usize)?;
                if b.last_offset != self.base_offset + rel as i64 {
                    return None;
                }
                p as usize
            }
            None => 0,
        };
        let mut next = self.base_offset;
        let mut max_ts = -1;
        let mut off_of_max = -1;
        while pos < size {
            let b = stored_batch_at(data, pos)?;
            next = b.last_offset + 1;
            if b.max_timestamp > max_ts {
                max_ts = b.max_timestamp;
                off_of_max = b.last_offset;
            }
            pos += b.len;
        }
        if let Some((t, rel)) = tmax {
            if t >= max_ts {
                max_ts = t;
                off_of_max = self.base_offset + rel as i64;
            }
        }
        self.next_offset.store(next, Ordering::Release);
        self.max_ts.store(max_ts, Ordering::Release);
        self.offset_of_max_ts.store(off_of_max, Ordering::Release);
        Some(())
    }

    /// Rebuild the indexes from the data. With `validate`, check each batch's
    /// structure, CRC and offsets and truncate the file at the first bad one.
    pub(crate) fn scan(
        &self,
        fs: &dyn Fs,
        validate: bool,
        index_interval: u32,
    ) -> Result<ScanOutcome> {
        let map = self.map();
        let size = self.size() as usize;
        let data = map.slice(0, size);
        let mut idx = self.idx.write();
        idx.offset.0.truncate_entries(0);
        idx.time.0.truncate_entries(0);
        idx.bytes_since_entry = 0;
        let sealed = idx.offset.0.is_sealed();
        if sealed {
            // At most one entry per `index_interval` bytes, plus the final one.
            let most = size / (index_interval as usize + 1) + 2;
            idx.offset.0.reserve(fs, most)?;
            idx.time.0.reserve(fs, most)?;
        }
        let mut pos = 0usize;
        let mut next = self.base_offset;
        let mut max_ts = -1i64;
        let mut off_of_max = -1i64;
        while pos < size {
            let b = if validate {
                match BatchHeader::parse(&data[pos..]) {
                    Ok(h)
                        if h.validate_crc().is_ok()
                            && h.last_offset_delta() >= 0
                            && h.base_offset() >= next =>
                    {
                        StoredBatch {
                            base_offset: h.base_offset(),
                            last_offset: h.last_offset(),
                            max_timestamp: h.max_timestamp(),
                            len: h.total_len(),
                        }
                    }
                    _ => break,
                }
            } else {
                match stored_batch_at(data, pos) {
                    Some(b) => b,
                    None => break,
                }
            };
            if b.last_offset - self.base_offset > u32::MAX as i64 {
                break;
            }
            if b.max_timestamp > max_ts {
                max_ts = b.max_timestamp;
                off_of_max = b.last_offset;
            }
            if idx.bytes_since_entry > index_interval as u64 {
                let rel = (b.last_offset - self.base_offset) as u32;
                idx.offset.push(rel, pos as u32);
                if max_ts >= 0 && off_of_max >= self.base_offset {
                    idx.time
                        .maybe_push(max_ts, (off_of_max - self.base_offset) as u32);
                }
                idx.bytes_since_entry = 0;
            }
            idx.bytes_since_entry += b.len as u64;
            next = b.last_offset + 1;
            pos += b.len;
        }
        if sealed {
            if max_ts >= 0 && off_of_max >= self.base_offset {
                idx.time
                    .maybe_push(max_ts, (off_of_max - self.base_offset) as u32);
            }
            idx.offset.0.seal(fs)?;
            idx.time.0.seal(fs)?;
        }
        drop(idx);
        drop(map);
        let truncated = (size - pos) as u64;
        if truncated > 0 {
            if validate {
                self.cut_file(fs, pos as u64)?;
            } else {
                return Err(crate::index::corrupt(
                    &self.log_path,
                    format!("unparseable batch at position {pos} of a trusted segment"),
                ));
            }
        }
        self.next_offset.store(next, Ordering::Release);
        self.max_ts.store(max_ts, Ordering::Release);
        self.offset_of_max_ts.store(off_of_max, Ordering::Release);
        Ok(ScanOutcome {
            truncated_bytes: truncated,
        })
    }

    /// Shrink the file to `pos` in place. Only possible while no reader holds the
    /// mapping; returns false (and changes nothing) otherwise.
    fn cut_file(&self, fs: &dyn Fs, pos: u64) -> Result<bool> {
        let mut map = self.map.write();
        let mut retired = self.retired.lock();
        retired.retain(|w| w.strong_count() > 0);
        if !retired.is_empty() || !ReadMap::shrink_exclusive(&mut map, pos as usize) {
            return Ok(false);
        }
        self.size.store(pos, Ordering::Release);
        fs.set_len(&self.file, &self.log_path, pos)
            .map_err(|e| io_err(&self.log_path, e))?;
        // The cut released any blocks reserved past `pos` too.
        self.allocated.store(pos, Ordering::Relaxed);
        Ok(true)
    }

    /// Remove everything from the first batch whose last offset is >= `offset`.
    /// Returns false when readers hold the mapping (the caller then rewrites the
    /// segment into a new file instead).
    pub(crate) fn truncate_to_offset(
        &self,
        fs: &dyn Fs,
        offset: i64,
        index_interval: u32,
    ) -> Result<bool> {
        let pos = self.position_for(offset).unwrap_or(self.size() as usize);
        if !self.cut_file(fs, pos as u64)? {
            return Ok(false);
        }
        self.scan(fs, false, index_interval)?;
        Ok(true)
    }

    /// The position of the first batch whose last offset is >= `offset`.
    pub(crate) fn position_for(&self, offset: i64) -> Option<usize> {
        self.position_with(&self.map(), offset, &mut |_, _| true)
            .unwrap_or(None)
    }

    /// [`Segment::position_for`] in `map`, reading a byte range of the
    /// `.log` only once `may_touch` allows it (`Err` when it does not).
    fn position_with(
        &self,
        map: &ReadMap,
        offset: i64,
        may_touch: &mut impl FnMut(usize, usize) -> bool,
    ) -> std::result::Result<Option<usize>, NotInMemory> {
        let size = self.size().min(map.valid() as u64) as usize;
        let data = map.slice(0, size);
        let mut header_at = |pos: usize| match may_touch(pos, (pos + HEADER_LEN).min(size)) {
            true => Ok(stored_batch_at(data, pos)),
            false => Err(NotInMemory),
        };
        let entry = self.idx.read().offset.lookup(offset - self.base_offset);
        let mut pos = match entry {
            // Trust an entry only if a batch starts there and ends at its offset;
            // a damaged index then costs a scan, never a misaligned read.
            Some((rel, p)) => match header_at(p as usize)? {
                Some(b)
                    if b.last_offset == self.base_offset + rel as i64
                        && data[p as usize + 16] == 2 =>
                {
                    p as usize
                }
                _ => 0,
            },
            None => 0,
        };
        while pos < size {
            let Some(b) = header_at(pos)? else {
                return Ok(None);
            };
            if b.last_offset >= offset {
                return Ok(Some(pos));
            }
            pos += b.len;
        }
        Ok(None)
    }

    /// Copy the bytes before `pos` into `dest` (used to rewrite a truncated
    /// segment into a new file when readers still map the old one).
    pub(crate) fn prefix(&self, len: usize) -> Bytes {
        let map = self.map();
        map.bytes(0, len.min(self.size() as usize))
    }

    /// Append `buf` (whole batches with offsets assigned) at the end.
    #[cfg(test)]
    pub(crate) fn append(
        &self,
        fs: &dyn Fs,
        buf: &[u8],
        batches: &[AppendBatch],
        index_interval: u32,
    ) -> Result<()> {
        self.append_parts(fs, &[buf], batches, index_interval, 0)
    }

    /// Append the concatenation of `parts` (whole batches with offsets
    /// assigned; `AppendBatch::pos_in_buf` counts from the first part) at the
    /// end, in one vectored write. A large append first reserves disk blocks
    /// ahead, up to `segment_bytes` ([`PREALLOCATE_MAX_AHEAD`]).
    pub(crate) fn append_parts(
        &self,
        fs: &dyn Fs,
        parts: &[&[u8]],
        batches: &[AppendBatch],
        index_interval: u32,
        segment_bytes: u64,
    ) -> Result<()> {
        let pos = self.size();
        let len = parts.iter().map(|p| p.len() as u64).sum::<u64>();
        let end = pos + len;
        self.preallocate(fs, pos, end, len, segment_bytes);
        {
            let cap = self.map().capacity() as u64;
            if end > cap {
                // Grow the reservation: a new mapping twice as large (or as large as
                // needed); readers keep the old one, which maps the same bytes.
                let want = end.max(cap.saturating_mul(2)).max(INITIAL_MAP as u64);
                let fresh = ReadMap::new(&self.file, want as usize, pos as usize)
                    .map_err(|e| io_err(&self.log_path, e))?;
                let old = std::mem::replace(&mut *self.map.write(), Arc::new(fresh));
                let mut retired = self.retired.lock();
                retired.retain(|w| w.strong_count() > 0);
                retired.push(Arc::downgrade(&old));
            }
        }
        if let Err(e) = fs.write_parts_at(&self.file, &self.log_path, parts, pos) {
            // Cut whatever part of the write landed so it cannot resurface (as
            // batches nobody acknowledged) after a restart. If this fails too,
            // recovery truncates it at the next unclean open.
            let _ = fs.set_len(&self.file, &self.log_path, pos);
            return Err(io_err(&self.log_path, e));
        }
        self.map().publish(end as usize);
        self.size.store(end, Ordering::Release);
        if pos == 0 {
            if let Some(first) = batches.first() {
                self.first_batch_ts
                    .store(first.max_timestamp, Ordering::Relaxed);
            }
        }
        let mut idx = self.idx.write();
        let mut max_ts = self.max_ts.load(Ordering::Relaxed);
        let mut off_of_max = self.offset_of_max_ts.load(Ordering::Relaxed);
        for b in batches {
            if b.max_timestamp > max_ts {
                max_ts = b.max_timestamp;
                off_of_max = b.last_offset;
            }
            if idx.bytes_since_entry > index_interval as u64 {
                let rel = (b.last_offset - self.base_offset) as u32;
                idx.offset.push(rel, (pos as usize + b.pos_in_buf) as u32);
                if max_ts >= 0 && off_of_max >= self.base_offset {
                    // (Batches without timestamps, -1, never enter the time index.)
                    idx.time
                        .maybe_push(max_ts, (off_of_max - self.base_offset) as u32);
                }
                idx.bytes_since_entry = 0;
            }
            idx.bytes_since_entry += b.len as u64;
        }
        drop(idx);
        self.max_ts.store(max_ts, Ordering::Release);
        self.offset_of_max_ts.store(off_of_max, Ordering::Release);
        if let Some(last) = batches.last() {
            self.next_offset
                .store(last.last_offset + 1, Ordering::Release);
        }
        Ok(())
    }

    /// Reserve disk blocks from `pos` to well past `end` when an append of
    /// `len` bytes passes what is reserved (see [`PREALLOCATE_MAX_AHEAD`]).
    /// A hint: a failure (a full disk, a filesystem without `fallocate`)
    /// leaves the write to allocate as it would have.
    fn preallocate(&self, fs: &dyn Fs, pos: u64, end: u64, len: u64, segment_bytes: u64) {
        let allocated = self.allocated.load(Ordering::Relaxed);
        if end <= allocated || len < PREALLOCATE_MIN_APPEND {
            return;
        }
        let target = end
            .saturating_add(len.saturating_mul(16).min(PREALLOCATE_MAX_AHEAD))
            .min(segment_bytes);
        let from = allocated.max(pos);
        if target <= from {
            return;
        }
        let _ = fs.preallocate(&self.file, &self.log_path, from, target - from);
        self.allocated.store(target, Ordering::Relaxed);
    }

    /// Give back the disk blocks reserved past the data (the file is cut to
    /// its own size, which changes no byte of it). Best effort: a failure
    /// only leaves the reservation in place.
    fn release_preallocated(&self, fs: &dyn Fs) {
        let size = self.size();
        if self.allocated.load(Ordering::Relaxed) > size {
            let _ = fs.set_len(&self.file, &self.log_path, size);
            self.allocated.store(size, Ordering::Relaxed);
        }
    }

    /// Whether an append of `len` bytes ending at `last_offset` fits here.
    pub(crate) fn fits(&self, len: u64, last_offset: i64, segment_bytes: u64) -> bool {
        let size = self.size();
        if size == 0 {
            return last_offset - self.base_offset <= i32::MAX as i64;
        }
        size + len <= segment_bytes
            && last_offset - self.base_offset <= i32::MAX as i64
            && !self.idx.read().offset.0.is_full()
            && !self.idx.read().time.0.is_full()
    }

    pub(crate) fn roll_base_ms(&self) -> i64 {
        self.roll_base_ms.load(Ordering::Relaxed)
    }

    /// Kafka's `LogSegment.timeWaitedForRoll`: how long, for `segment.ms`, this
    /// segment has waited when a batch stamped `batch_max_ts` arrives: the gap from
    /// the first batch's max timestamp (record time), or the wall-clock age when
    /// that batch had none.
    pub(crate) fn waited_for_roll(&self, batch_max_ts: i64) -> i64 {
        match self.first_batch_ts.load(Ordering::Relaxed) {
            first if first >= 0 => batch_max_ts.saturating_sub(first),
            _ => now_ms().saturating_sub(self.roll_base_ms()),
        }
    }

    /// Read whole batches starting with the one containing `offset`: at most
    /// `max_bytes` unless the first batch alone is bigger (`min_one`), stopping
    /// before any batch whose base offset is >= `bound`. None if no batch here
    /// has a last offset >= `offset` below `bound`.
    #[cfg(test)]
    pub(crate) fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        bound: i64,
        min_one: bool,
    ) -> Option<Bytes> {
        self.read_region(offset, max_bytes, bound, min_one)
            .map(|(r, _)| r.bytes())
    }

    /// [`Segment::read`] as a region of the `.log` file (which also gives the
    /// bytes through the mmap), with the offset after its last batch.
    pub(crate) fn read_region(
        &self,
        offset: i64,
        max_bytes: usize,
        bound: i64,
        min_one: bool,
    ) -> Option<(FileRegion, i64)> {
        self.read_region_with(self.map(), offset, max_bytes, bound, min_one, |_, _| true)
            .unwrap_or(None)
    }

    /// [`Segment::read_region`] that waits on no disk: it reads a byte of the
    /// `.log` only once it knows the page to be in the page cache (`mincore`
    /// of the next MiBs from there), and
    /// only bytes that this process appended ([`FileRegion::written_since_open`])
    /// and that no catching-up read asked the disk to read ahead
    /// ([`FileRegion::was_read_ahead`]): a backlog written moments ago, which
    /// an async worker may read and send itself. `Err(NotInMemory)` when any
    /// byte the read needs (its batch headers, the region) is not such a byte,
    /// before reading it. (The offset index is looked up as for any read: its
    /// entries are a few pages, used by every read of the segment.)
    pub(crate) fn read_region_in_memory(
        &self,
        offset: i64,
        max_bytes: usize,
        bound: i64,
        min_one: bool,
    ) -> std::result::Result<Option<(FileRegion, i64)>, NotInMemory> {
        let map = self.map();
        let size = self.size().min(map.valid() as u64) as usize;
        let floor = self
            .opened_size
            .max(self.read_ahead.load(Ordering::Relaxed));
        // [from, to): known to be in the page cache.
        let (mut from, mut to) = (0, 0);
        let step = max_bytes.saturating_mul(2).saturating_add(IN_MEMORY_STEP);
        let check = map.clone();
        let may_touch = move |a: usize, b: usize| {
            if (a as u64) < floor {
                return false;
            }
            if a >= from && b <= to {
                return true;
            }
            let end = b.max(a.saturating_add(step)).min(size);
            // A read moving on past the known range checks from its end, so
            // the range stays one (and covers the region read at the end).
            let lo = match a > to && from < to {
                true => to,
                false => a,
            };
            let resident = check.resident(lo, end);
            if resident {
                (from, to) = match lo <= to && end >= from && from < to {
                    true => (from.min(lo), to.max(end)),
                    false => (lo, end),
                };
            }
            resident
        };
        self.read_region_with(map, offset, max_bytes, bound, min_one, may_touch)
    }

    fn read_region_with(
        &self,
        map: Arc<ReadMap>,
        offset: i64,
        max_bytes: usize,
        bound: i64,
        min_one: bool,
        mut may_touch: impl FnMut(usize, usize) -> bool,
    ) -> std::result::Result<Option<(FileRegion, i64)>, NotInMemory> {
        let size = self.size().min(map.valid() as u64) as usize;
        let Some(start) = self.position_with(&map, offset, &mut may_touch)? else {
            return Ok(None);
        };
        let data = map.slice(0, size);
        let mut end = start;
        let mut next = offset;
        while end < size {
            if !may_touch(end, (end + HEADER_LEN).min(size)) {
                return Err(NotInMemory);
            }
            let Some(b) = stored_batch_at(data, end) else {
                break;
            };
            if b.base_offset >= bound {
                break;
            }
            if end + b.len - start > max_bytes && !(min_one && end == start) {
                break;
            }
            end += b.len;
            next = b.last_offset + 1;
        }
        if end > start && !may_touch(start, end) {
            return Err(NotInMemory);
        }
        Ok((end > start).then(|| {
            (
                FileRegion::new(
                    self.file.clone(),
                    self.read_ahead.clone(),
                    self.opened_size,
                    map,
                    start,
                    end,
                ),
                next,
            )
        }))
    }

    /// Iterate the stored batches from the one containing `offset`.
    pub(crate) fn batches_from(&self, offset: i64) -> Vec<(usize, StoredBatch)> {
        let Some(mut pos) = self.position_for(offset) else {
            return Vec::new();
        };
        let map = self.map();
        let size = self.size().min(map.valid() as u64) as usize;
        let data = map.slice(0, size);
        let mut out = Vec::new();
        while let Some(b) = stored_batch_at(data, pos) {
            out.push((pos, b));
            pos += b.len;
        }
        out
    }

    /// The bytes of the batch at `pos` with length `len`.
    pub(crate) fn batch_bytes(&self, pos: usize, len: usize) -> Bytes {
        self.map().bytes(pos, pos + len)
    }

    /// Relative offset of the last time-index entry with a timestamp < `ts`.
    pub(crate) fn time_lookup(&self, ts: i64) -> i64 {
        self.idx
            .read()
            .time
            .last_before(ts)
            .map(|r| self.base_offset + r as i64)
            .unwrap_or(self.base_offset)
    }

    pub(crate) fn map(&self) -> Arc<ReadMap> {
        self.map.read().clone()
    }
    pub(crate) fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }
    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset.load(Ordering::Acquire)
    }
    pub(crate) fn max_timestamp(&self) -> (i64, i64) {
        (
            self.max_ts.load(Ordering::Acquire),
            self.offset_of_max_ts.load(Ordering::Acquire),
        )
    }
    pub(crate) fn last_modified_ms(&self) -> i64 {
        self.file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// fsync the log data.
    pub(crate) fn sync(&self, fs: &dyn Fs) -> Result<()> {
        fs.sync(&self.file, &self.log_path)
            .map_err(|e| io_err(&self.log_path, e))
    }

    /// The segment stops being active: record the final time-index entry, trim
    /// the indexes to their entries and make everything durable.
    pub(crate) fn seal(&self, fs: &dyn Fs) -> Result<()> {
        self.release_preallocated(fs);
        let mut idx = self.idx.write();
        let (max_ts, off) = self.max_timestamp();
        if max_ts >= 0 && off >= self.base_offset {
            idx.time.maybe_push(max_ts, (off - self.base_offset) as u32);
        }
        idx.offset.0.seal(fs)?;
        idx.time.0.seal(fs)
        // The log data is fsynced by the log's flush (in the background after a
        // roll, before this at close), not here on the append path.
    }

    pub(crate) fn index_sealed(&self) -> bool {
        self.idx.read().offset.0.is_sealed()
    }

    /// Trim the indexes to their entries without an fsync (the log is being
    /// closed to free its files; see `IndexFile::trim`).
    pub(crate) fn trim_indexes(&self, fs: &dyn Fs) -> Result<()> {
        self.release_preallocated(fs);
        let mut idx = self.idx.write();
        if idx.offset.0.is_sealed() {
            return Ok(());
        }
        let (max_ts, off) = self.max_timestamp();
        if max_ts >= 0 && off >= self.base_offset {
            idx.time.maybe_push(max_ts, (off - self.base_offset) as u32);
        }
        idx.offset.0.trim(fs)?;
        idx.time.0.trim(fs)
    }

    /// Undo [`Segment::seal`]'s trim so the segment can take appends again.
    pub(crate) fn unseal(&self, fs: &dyn Fs, max_index_bytes: usize) -> Result<()> {
        let mut idx = self.idx.write();
        idx.offset.0.unseal(fs, max_index_bytes)?;
        idx.time.0.unseal(fs, max_index_bytes)
    }

    /// Delete the segment's files after `delay_ms` (`file.delete.delay.ms`):
    /// renamed `.deleted` now, removed by [`crate::deleter`] later; at once for 0.
    pub(crate) fn delete_after(&self, fs: &dyn Fs, delay_ms: u64) -> Result<()> {
        if delay_ms == 0 {
            return self.delete(fs);
        }
        let idx = self.idx.read();
        let mut renamed = Vec::with_capacity(3);
        for p in [
            self.log_path.as_path(),
            idx.offset.0.path(),
            idx.time.0.path(),
        ] {
            let mut to = p.as_os_str().to_owned();
            to.push(crate::deleter::DELETED_SUFFIX);
            let to = PathBuf::from(to);
            match fs.rename(p, &to) {
                Ok(()) => renamed.push(to),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(p, e)),
            }
        }
        crate::deleter::schedule(renamed, delay_ms);
        Ok(())
    }

    /// Delete the segment's files (readers holding its mapping keep working).
    pub(crate) fn delete(&self, fs: &dyn Fs) -> Result<()> {
        let idx = self.idx.read();
        for p in [
            self.log_path.as_path(),
            idx.offset.0.path(),
            idx.time.0.path(),
        ] {
            match fs.remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(p, e)),
            }
        }
        Ok(())
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        crate::open_logs::segment_closed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{BatchBuilder, Record};
    use crate::fs::RealFs;

    fn batch(base: i64, n: i64, ts: i64) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.base_offset = base;
        for i in 0..n {
            b.push(Record {
                offset: base + i,
                timestamp: ts + i,
                key: None,
                value: Some(Bytes::from(vec![b'x'; 100])),
                headers: vec![],
            });
        }
        b.build().unwrap()
    }

    fn append(seg: &Segment, base: i64, n: i64, ts: i64) {
        let buf = batch(base, n, ts);
        let ab = AppendBatch {
            pos_in_buf: 0,
            len: buf.len(),
            last_offset: base + n - 1,
            max_timestamp: ts + n - 1,
        };
        seg.append(&RealFs, &buf, &[ab], 200).unwrap();
    }

    #[test]
    fn regions_know_how_far_the_segment_was_read_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Segment::create(&RealFs, dir.path(), 0, 1 << 20, 1024).unwrap();
        for i in 0..20 {
            append(&seg, i * 3, 3, 1000 + i * 10);
        }
        let first = seg.read_region(0, 1, i64::MAX, true).unwrap().0;
        let second = seg.read_region(3, 1, i64::MAX, true).unwrap().0;
        let last = seg.read_region(57, 1, i64::MAX, true).unwrap().0;
        assert_eq!(second.offset(), first.offset() + first.len() as u64);
        // Nothing asked for readahead yet: no region of the segment was.
        assert!(![&first, &second, &last].iter().any(|r| r.was_read_ahead()));
        // The first region and one region's length after it.
        first.will_need(second.len());
        assert!(first.was_read_ahead());
        assert!(second.was_read_ahead(), "read ahead with the first");
        assert!(!last.was_read_ahead(), "past the readahead");
        // The mark is the segment's (a region read later sees it), and never
        // moves back.
        let again = seg.read_region(3, 1, i64::MAX, true).unwrap().0;
        assert!(again.was_read_ahead());
        last.will_need(0);
        first.will_need(0);
        assert!(last.was_read_ahead() && second.was_read_ahead());
    }

    /// Bytes of disk a file holds (its allocated blocks).
    fn on_disk(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).unwrap().blocks() * 512
    }

    #[test]
    fn large_appends_reserve_blocks_ahead_and_sealing_gives_them_back() {
        let dir = tempfile::tempdir().unwrap();
        // Whether this filesystem preallocates at all (tmpfs, ext4, xfs do).
        let probe = dir.path().join("probe");
        let f = std::fs::File::create(&probe).unwrap();
        let supported = RealFs.preallocate(&f, &probe, 0, 1 << 20).is_ok();
        let seg = Segment::create(&RealFs, dir.path(), 0, 1 << 20, 1024).unwrap();
        let path = dir.path().join(file_name(0, LOG_SUFFIX));
        // A small append reserves nothing past its data.
        append(&seg, 0, 3, 1000);
        assert!(on_disk(&path) <= 4096, "{}", on_disk(&path));
        let big = batch(3, 1000, 2000);
        assert!(big.len() as u64 >= PREALLOCATE_MIN_APPEND);
        let ab = AppendBatch {
            pos_in_buf: 0,
            len: big.len(),
            last_offset: 1002,
            max_timestamp: 2999,
        };
        let segment_bytes = 64 << 20;
        seg.append_parts(&RealFs, &[&big], &[ab], 200, segment_bytes)
            .unwrap();
        let size = seg.size();
        // The file's size is the data's; what is reserved is past it.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
        if supported {
            let want = size + (16 * big.len() as u64).min(PREALLOCATE_MAX_AHEAD);
            assert!(on_disk(&path) >= want - 4096, "{} < {want}", on_disk(&path));
        }
        // Never past segment.bytes.
        let seg2 = Segment::create(&RealFs, dir.path(), 5000, 1 << 20, 1024).unwrap();
        let path2 = dir.path().join(file_name(5000, LOG_SUFFIX));
        let small_segment = big.len() as u64 + 8192;
        let ab2 = AppendBatch {
            last_offset: 5999,
            ..ab
        };
        seg2.append_parts(&RealFs, &[&big], &[ab2], 200, small_segment)
            .unwrap();
        assert!(
            on_disk(&path2) <= small_segment + 4096,
            "{}",
            on_disk(&path2)
        );
        // Sealed (a roll): the reservation is released, the data kept.
        seg.seal(&RealFs).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
        assert!(on_disk(&path) < size + 4096, "{} vs {size}", on_disk(&path));
        let (rb, _) = seg.read_region(3, 1, i64::MAX, true).unwrap();
        assert_eq!(rb.len(), big.len());
    }

    #[test]
    fn a_read_in_memory_reads_only_what_this_process_wrote_and_is_resident() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Segment::create(&RealFs, dir.path(), 0, 1 << 20, 1024).unwrap();
        for i in 0..20 {
            append(&seg, i * 3, 3, 1000 + i * 10);
        }
        // Just written: the same region as a read that may wait.
        let (r, next) = seg.read_region(3, 100, i64::MAX, true).unwrap();
        let (m, m_next) = seg
            .read_region_in_memory(3, 100, i64::MAX, true)
            .unwrap()
            .unwrap();
        assert_eq!((m.offset(), m.len(), m_next), (r.offset(), r.len(), next));
        assert!(m.is_resident() && m.written_since_open() && !m.was_read_ahead());
        assert!(matches!(
            seg.read_region_in_memory(60, 100, i64::MAX, true),
            Ok(None)
        ));
        // Read ahead for a catch-up up to the third batch: a read from there
        // on is one, before it not.
        let third = seg.read_region(6, 1, i64::MAX, true).unwrap().0;
        let first = seg.read_region(0, 1, i64::MAX, true).unwrap().0;
        first.will_need((third.offset() - first.offset()) as usize + 1);
        assert!(matches!(
            seg.read_region_in_memory(0, 100, i64::MAX, true),
            Err(NotInMemory)
        ));
        assert!(matches!(
            seg.read_region_in_memory(6, 100, i64::MAX, true),
            Err(NotInMemory)
        ));
        // (A read well past the mark: its index entry is past it too.)
        let later = seg
            .read_region_in_memory(30, 100, i64::MAX, true)
            .unwrap()
            .unwrap();
        let expect = seg.read_region(30, 100, i64::MAX, true).unwrap();
        assert_eq!(later.0.offset(), expect.0.offset());
        assert!(later.0.offset() > third.offset());

        // Written, then dropped from the page cache before anything mapped it:
        // refused without touching it (no major fault).
        let seg = Segment::create(&RealFs, dir.path(), 1000, 1 << 20, 1024).unwrap();
        for i in 0..20 {
            append(&seg, 1000 + i * 3, 3, 1000 + i * 10);
        }
        seg.sync(&RealFs).unwrap();
        let _ = rustix::fs::fadvise(&*seg.file, 0, None, rustix::fs::Advice::DontNeed);
        let tmpfs = rustix::fs::fstatfs(&*seg.file).unwrap().f_type as i64 == 0x0102_1994;
        if !tmpfs {
            let faults = crate::mmap::thread_major_faults();
            let read = seg.read_region_in_memory(1030, 100, i64::MAX, true);
            assert_eq!(read.map(|r| r.is_some()), Err(NotInMemory));
            assert_eq!(crate::mmap::thread_major_faults(), faults);
        }
        // A read that may wait reads it; then it is in memory again.
        assert!(seg.read_region(1030, 100, i64::MAX, true).is_some());
        assert!(seg
            .read_region_in_memory(1030, 100, i64::MAX, true)
            .unwrap()
            .is_some());
    }

    #[test]
    fn names_are_twenty_digits() {
        assert_eq!(file_name(42, LOG_SUFFIX), "00000000000000000042.log");
        assert_eq!(parse_log_name("00000000000000000042.log"), Some(42));
        assert_eq!(parse_log_name("42.log"), None);
        assert_eq!(parse_log_name("00000000000000000042.index"), None);
    }

    #[test]
    fn append_then_read_from_any_offset_and_reopen_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Segment::create(&RealFs, dir.path(), 100, 1 << 20, 1024).unwrap();
        for i in 0..20 {
            append(&seg, 100 + i * 3, 3, 1000 + i * 10);
        }
        assert_eq!(seg.next_offset(), 160);
        let all = seg.read_region(100, usize::MAX, i64::MAX, true).unwrap().0;
        assert!(all.written_since_open(), "created by this process");
        let one = seg.read(131, 1, i64::MAX, true).unwrap();
        let h = BatchHeader::parse(&one).unwrap();
        assert_eq!(h.base_offset(), 130, "the batch containing the offset");
        assert_eq!(one.len(), h.total_len());
        assert!(seg.read(160, 1000, i64::MAX, true).is_none());
        let all = seg.read(100, usize::MAX, 130, true).unwrap();
        assert_eq!(crate::batch::iter_batches(&all).count(), 10);
        assert!(
            seg.idx.read().offset.0.len() > 0,
            "sparse index has entries"
        );
        seg.seal(&RealFs).unwrap();
        drop(seg);
        let (seg, out) = Segment::open(
            &RealFs,
            dir.path(),
            100,
            true,
            SegmentParams {
                capacity: 1 << 20,
                max_index_bytes: 1024,
                index_interval: 200,
            },
            OpenMode::Trusted,
        )
        .unwrap();
        assert_eq!(out.truncated_bytes, 0);
        assert_eq!(seg.next_offset(), 160);
        assert_eq!(seg.max_timestamp(), (1192, 159));
        let b = seg.read(157, 1, i64::MAX, true).unwrap();
        assert_eq!(BatchHeader::parse(&b).unwrap().base_offset(), 157);
        // What was there at the open was not written by this process; what is
        // appended after it was.
        let old = seg.read_region(100, usize::MAX, i64::MAX, true).unwrap().0;
        assert!(!old.written_since_open());
        append(&seg, 160, 3, 2000);
        let new = seg.read_region(160, usize::MAX, i64::MAX, true).unwrap().0;
        assert!(new.written_since_open());
        assert_eq!(new.offset(), old.offset() + old.len() as u64);
    }

    #[test]
    fn recover_truncates_at_first_bad_batch() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Segment::create(&RealFs, dir.path(), 0, 1 << 20, 1024).unwrap();
        for i in 0..5 {
            append(&seg, i * 2, 2, 0);
        }
        let good = seg.size();
        drop(seg);
        // Flip a byte inside the 4th batch.
        let p = dir.path().join(file_name(0, LOG_SUFFIX));
        let mut bytes = std::fs::read(&p).unwrap();
        let per = good as usize / 5;
        bytes[3 * per + 70] ^= 0x40;
        std::fs::write(&p, &bytes).unwrap();
        let (seg, out) = Segment::open(
            &RealFs,
            dir.path(),
            0,
            true,
            SegmentParams {
                capacity: 1 << 20,
                max_index_bytes: 1024,
                index_interval: 200,
            },
            OpenMode::Recover,
        )
        .unwrap();
        assert_eq!(out.truncated_bytes, 2 * per as u64);
        assert_eq!(seg.next_offset(), 6);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 3 * per as u64);
    }

    #[test]
    fn truncation_waits_for_readers_to_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Segment::create(&RealFs, dir.path(), 0, 1 << 20, 1024).unwrap();
        for i in 0..4 {
            append(&seg, i, 1, 0);
        }
        let held = seg.read(0, usize::MAX, i64::MAX, true).unwrap();
        assert!(
            !seg.truncate_to_offset(&RealFs, 2, 200).unwrap(),
            "a reader holds the bytes"
        );
        assert_eq!(crate::batch::iter_batches(&held).count(), 4);
        drop(held);
        assert!(seg.truncate_to_offset(&RealFs, 2, 200).unwrap());
        assert_eq!(seg.next_offset(), 2);
    }
}
