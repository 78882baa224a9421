//! Sparse, memory-mapped segment indexes, as in Apache Kafka:
//! - `.index`: relative offset u32 -> file position u32 (8-byte entries), one
//!   entry per `index.interval.bytes` of log; the offset is the last offset of
//!   the batch starting at that position;
//! - `.timeindex`: timestamp i64 -> relative offset u32 (12-byte entries), the
//!   largest timestamp seen so far and the (last) offset of the batch carrying it.
//!
//! The active segment's index files are preallocated to `segment.index.bytes`
//! and trimmed to their entries when the segment is sealed (roll or close).

use crate::durability::io_err;
use crate::error::{Result, StorageError};
use crate::fs::Fs;
use crate::mmap::map_index;
use memmap2::MmapMut;
use std::fs::File;
use std::path::{Path, PathBuf};

pub(crate) const OFFSET_ENTRY: usize = 8;
pub(crate) const TIME_ENTRY: usize = 12;

/// One index file: fixed-size entries in a mapped file.
#[derive(Debug)]
pub(crate) struct IndexFile {
    path: PathBuf,
    /// The mapping; the file itself is closed once mapped (reopened by path to
    /// change its length or fsync it), so an index costs no file descriptor.
    map: Option<MmapMut>,
    entry_size: usize,
    entries: usize,
    /// Entries the mapping can hold.
    capacity: usize,
    /// Trimmed to its entries (a segment that no longer takes appends).
    sealed: bool,
}

impl IndexFile {
    /// Open (creating if absent) an index file. Existing entries are taken to be
    /// `file length / entry size` (a sealed index is trimmed to its entries);
    /// with `preallocate_bytes` the file is grown to hold that many bytes.
    pub(crate) fn open(
        fs: &dyn Fs,
        path: &Path,
        entry_size: usize,
        preallocate_bytes: Option<usize>,
    ) -> Result<IndexFile> {
        let file = fs.open_rw(path, true).map_err(|e| io_err(path, e))?;
        let len = file.metadata().map_err(|e| io_err(path, e))?.len() as usize;
        let entries = len / entry_size;
        let mut idx = IndexFile {
            path: path.to_path_buf(),
            map: None,
            entry_size,
            entries,
            capacity: 0,
            sealed: preallocate_bytes.is_none(),
        };
        idx.remap_known(
            fs,
            &file,
            len as u64,
            preallocate_bytes
                .map(|b| (b / entry_size).max(entries))
                .unwrap_or(entries),
        )?;
        Ok(idx)
    }

    /// Resize the file and the mapping to hold `capacity` entries (>= entries).
    fn remap(&mut self, fs: &dyn Fs, capacity: usize) -> Result<()> {
        self.map = None; // unmap before changing the length
        let file = fs
            .open_rw(&self.path, true)
            .map_err(|e| io_err(&self.path, e))?;
        self.remap_with(fs, &file, capacity)
    }

    fn remap_with(&mut self, fs: &dyn Fs, file: &File, capacity: usize) -> Result<()> {
        let current = file.metadata().map_err(|e| io_err(&self.path, e))?.len();
        self.remap_known(fs, file, current, capacity)
    }

    /// [`IndexFile::remap_with`] when the file's length `current` is known.
    fn remap_known(
        &mut self,
        fs: &dyn Fs,
        file: &File,
        current: u64,
        capacity: usize,
    ) -> Result<()> {
        let capacity = capacity.max(self.entries);
        self.map = None; // unmap before changing the length
        let bytes = capacity * self.entry_size;
        if current != bytes as u64 {
            // (Not when unchanged: a clean start must not touch the files.)
            fs.set_len(file, &self.path, bytes as u64)
                .map_err(|e| io_err(&self.path, e))?;
        }
        self.map = map_index(file, bytes).map_err(|e| io_err(&self.path, e))?;
        self.capacity = capacity;
        self.prefault_next_entry();
        Ok(())
    }

    /// Take the page fault for the next entry now. The first fault into the unwritten
    /// (sparse) part of a freshly mapped, preallocated file costs milliseconds on some
    /// filesystems (~3 ms on ext4 here, measured with a first write through a new
    /// mapping); later faults are microseconds. Without this, the first append to every
    /// new partition or segment stalled for two of them (offset and time index).
    fn prefault_next_entry(&self) {
        if self.sealed {
            return;
        }
        let at = self.entries * self.entry_size;
        if let Some(map) = &self.map {
            if at < map.len() {
                std::hint::black_box(map[at]);
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
    pub(crate) fn len(&self) -> usize {
        self.entries
    }
    pub(crate) fn is_full(&self) -> bool {
        self.entries >= self.capacity
    }
    fn entry(&self, i: usize) -> &[u8] {
        let map = self.map.as_ref().expect("entry index within capacity");
        &map[i * self.entry_size..(i + 1) * self.entry_size]
    }
    /// Append an entry; false if the index is full.
    fn push(&mut self, bytes: &[u8]) -> bool {
        debug_assert_eq!(bytes.len(), self.entry_size);
        if self.is_full() {
            return false;
        }
        let at = self.entries * self.entry_size;
        let map = self.map.as_mut().expect("capacity > 0 implies a mapping");
        map[at..at + bytes.len()].copy_from_slice(bytes);
        self.entries += 1;
        true
    }
    /// Keep only the first `n` entries.
    pub(crate) fn truncate_entries(&mut self, n: usize) {
        self.entries = self.entries.min(n);
    }
    /// Shrink the file to its entries (sealed segment) and make it durable.
    pub(crate) fn seal(&mut self, fs: &dyn Fs) -> Result<()> {
        self.sealed = true;
        self.remap(fs, self.entries)?;
        if let Some(m) = &self.map {
            m.flush().map_err(|e| io_err(&self.path, e))?;
        }
        let file = fs
            .open_rw(&self.path, false)
            .map_err(|e| io_err(&self.path, e))?;
        fs.sync(&file, &self.path)
            .map_err(|e| io_err(&self.path, e))
    }
    /// Shrink the file to its entries without an fsync (a log closed to free its
    /// files: a trusted reopen reads `length / entry size` entries; the data is
    /// made durable by a later flush, or rebuilt after a crash).
    pub(crate) fn trim(&mut self, fs: &dyn Fs) -> Result<()> {
        self.sealed = true;
        self.remap(fs, self.entries)
    }
    /// Grow the file back to `bytes` (a sealed segment becoming active again).
    pub(crate) fn unseal(&mut self, fs: &dyn Fs, bytes: usize) -> Result<()> {
        self.sealed = false;
        self.remap(fs, bytes / self.entry_size)
    }
    pub(crate) fn is_sealed(&self) -> bool {
        self.sealed
    }
    /// Make room for at least `entries` entries (to rebuild a sealed index).
    pub(crate) fn reserve(&mut self, fs: &dyn Fs, entries: usize) -> Result<()> {
        if self.capacity < entries {
            self.remap(fs, entries)?;
        }
        Ok(())
    }
    /// Binary search: the last entry whose key (given by `key`) is <= `target`.
    fn last_at_or_below(&self, target: i64, key: impl Fn(&[u8]) -> i64) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.entries);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key(self.entry(mid)) <= target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1)
    }
}

fn u32_at(b: &[u8], pos: usize) -> u32 {
    u32::from_be_bytes(b[pos..pos + 4].try_into().expect("4 bytes"))
}
fn i64_at(b: &[u8], pos: usize) -> i64 {
    i64::from_be_bytes(b[pos..pos + 8].try_into().expect("8 bytes"))
}

/// The `.index` file of a segment.
#[derive(Debug)]
pub(crate) struct OffsetIndex(pub(crate) IndexFile);

impl OffsetIndex {
    pub(crate) fn entry(&self, i: usize) -> (u32, u32) {
        let e = self.0.entry(i);
        (u32_at(e, 0), u32_at(e, 4))
    }
    pub(crate) fn last(&self) -> Option<(u32, u32)> {
        self.0.len().checked_sub(1).map(|i| self.entry(i))
    }
    pub(crate) fn push(&mut self, rel_offset: u32, position: u32) -> bool {
        let mut e = [0u8; OFFSET_ENTRY];
        e[..4].copy_from_slice(&rel_offset.to_be_bytes());
        e[4..].copy_from_slice(&position.to_be_bytes());
        self.0.push(&e)
    }
    /// File position from which to scan for relative offset `rel`: that of the last
    /// entry with offset <= `rel`, or 0.
    pub(crate) fn lookup(&self, rel: i64) -> Option<(u32, u32)> {
        self.0
            .last_at_or_below(rel, |e| u32_at(e, 0) as i64)
            .map(|i| self.entry(i))
    }
    /// Cheap (O(1), as Kafka's sanity check) test of a trusted index: the
    /// first and last entries are ordered and the last points inside the log.
    /// Reads double-check every entry they use (see `Segment::position_for`).
    pub(crate) fn check(&self, log_size: u64) -> std::result::Result<(), String> {
        let n = self.0.len();
        if n == 0 {
            return Ok(());
        }
        let (fo, fp) = self.entry(0);
        let (lo, lp) = self.entry(n - 1);
        if lp as u64 >= log_size.max(1) {
            return Err(format!(
                "last entry points at {lp}, past the log size {log_size}"
            ));
        }
        if n > 1 && (lo <= fo || lp <= fp) {
            return Err(format!(
                "entries ({fo}, {fp}) .. ({lo}, {lp}) do not increase"
            ));
        }
        Ok(())
    }
}

/// The `.timeindex` file of a segment.
#[derive(Debug)]
pub(crate) struct TimeIndex(pub(crate) IndexFile);

impl TimeIndex {
    pub(crate) fn entry(&self, i: usize) -> (i64, u32) {
        let e = self.0.entry(i);
        (i64_at(e, 0), u32_at(e, 8))
    }
    pub(crate) fn last(&self) -> Option<(i64, u32)> {
        self.0.len().checked_sub(1).map(|i| self.entry(i))
    }
    /// Append when `timestamp` is larger than the last entry's (as Kafka does).
    /// False only when the index is full.
    pub(crate) fn maybe_push(&mut self, timestamp: i64, rel_offset: u32) -> bool {
        if let Some((t, _)) = self.last() {
            if timestamp <= t {
                return true;
            }
        }
        let mut e = [0u8; TIME_ENTRY];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&rel_offset.to_be_bytes());
        self.0.push(&e)
    }
    /// Relative offset of the last entry whose timestamp is < `timestamp`: every
    /// record at or before that batch is older than `timestamp`.
    pub(crate) fn last_before(&self, timestamp: i64) -> Option<u32> {
        let t = timestamp.checked_sub(1)?;
        self.0
            .last_at_or_below(t, |e| i64_at(e, 0))
            .map(|i| self.entry(i).1)
    }
    pub(crate) fn check(&self, max_rel: i64) -> std::result::Result<(), String> {
        let n = self.0.len();
        if n == 0 {
            return Ok(());
        }
        let (ft, fo) = self.entry(0);
        let (lt, lo) = self.entry(n - 1);
        if lo as i64 > max_rel {
            return Err(format!("last entry offset {lo} past the segment end"));
        }
        if n > 1 && (lt <= ft || lo < fo) {
            return Err(format!(
                "entries ({ft}, {fo}) .. ({lt}, {lo}) do not increase"
            ));
        }
        Ok(())
    }
}

pub(crate) fn corrupt(path: &Path, reason: String) -> StorageError {
    StorageError::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::RealFs;

    #[test]
    fn offset_index_lookup_finds_last_entry_at_or_below() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = OffsetIndex(
            IndexFile::open(&RealFs, &dir.path().join("a.index"), 8, Some(80)).unwrap(),
        );
        assert_eq!(idx.lookup(5), None);
        assert!(idx.push(10, 100));
        assert!(idx.push(20, 200));
        assert!(idx.push(30, 300));
        assert_eq!(idx.lookup(9), None);
        assert_eq!(idx.lookup(10), Some((10, 100)));
        assert_eq!(idx.lookup(29), Some((20, 200)));
        assert_eq!(idx.lookup(1000), Some((30, 300)));
        idx.check(301).unwrap();
        assert!(idx.check(250).is_err());
    }

    #[test]
    fn index_fills_up_and_seal_trims_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.index");
        let mut idx = OffsetIndex(IndexFile::open(&RealFs, &p, 8, Some(24)).unwrap());
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 24);
        assert!(idx.push(1, 1) && idx.push(2, 2) && idx.push(3, 3));
        assert!(idx.0.is_full());
        assert!(!idx.push(4, 4));
        idx.0.truncate_entries(2);
        idx.0.seal(&RealFs).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 16);
        drop(idx);
        let idx = OffsetIndex(IndexFile::open(&RealFs, &p, 8, None).unwrap());
        assert_eq!(idx.last(), Some((2, 2)));
    }

    #[test]
    fn time_index_keeps_only_growing_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = TimeIndex(
            IndexFile::open(&RealFs, &dir.path().join("a.timeindex"), 12, Some(120)).unwrap(),
        );
        assert!(t.maybe_push(100, 0));
        assert!(t.maybe_push(90, 1));
        assert!(t.maybe_push(200, 5));
        assert_eq!(t.0.len(), 2);
        assert_eq!(t.last_before(100), None);
        assert_eq!(t.last_before(101), Some(0));
        assert_eq!(t.last_before(1000), Some(5));
        t.check(5).unwrap();
        assert!(t.check(4).is_err());
    }
}
