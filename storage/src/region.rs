//! [`FileRegion`]: a read's whole batches as a byte range of a segment's `.log`
//! file, for a caller that sends them to a socket without copying them through
//! user space (`sendfile(2)`), next to the same bytes as `Bytes` over the mmap.
//!
//! A region is validated when it is taken, exactly as the `Bytes` read is: it
//! covers whole batches below the read's bound and below the segment's
//! published (written) length. It holds the segment's file descriptor, so a
//! segment deleted by retention or replaced by the cleaner while a send is in
//! flight keeps its inode (and bytes) until the region is dropped; and it holds
//! the segment's mapping, so the file is never cut in place under it (a
//! truncation that finds the mapping shared rewrites the segment into a new
//! file instead, see `Segment::truncate_to_offset`).

use crate::mmap::ReadMap;
use bytes::Bytes;
use rustix::fs::Advice;
use std::fs::File;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes `[offset, offset + len)` of a segment's `.log` file, all written,
/// whole batches.
#[derive(Clone)]
pub struct FileRegion {
    file: Arc<File>,
    /// The segment's read-ahead mark (see [`FileRegion::was_read_ahead`]).
    read_ahead: Arc<AtomicU64>,
    /// The segment file's size when this process opened it.
    opened_size: u64,
    map: Arc<ReadMap>,
    start: usize,
    end: usize,
}

impl std::fmt::Debug for FileRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRegion")
            .field("offset", &self.start)
            .field("len", &self.len())
            .finish()
    }
}

impl FileRegion {
    /// `[start, end)` of `map` (the mapping of `file`); panics if `end` is past
    /// the mapping's valid length, as `ReadMap::slice` does.
    pub(crate) fn new(
        file: Arc<File>,
        read_ahead: Arc<AtomicU64>,
        opened_size: u64,
        map: Arc<ReadMap>,
        start: usize,
        end: usize,
    ) -> FileRegion {
        let _ = map.slice(start, end); // bounds check now
        FileRegion {
            file,
            read_ahead,
            opened_size,
            map,
            start,
            end,
        }
    }

    /// The segment file (kept open, and so alive, by this region).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Position of the region in the file.
    pub fn offset(&self) -> u64 {
        self.start as u64
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The same bytes through the mmap, as `Bytes` that keep it alive (no copy).
    pub fn bytes(&self) -> Bytes {
        self.map.bytes(self.start, self.end)
    }

    /// Start reading this region and the `ahead` bytes after it into the page
    /// cache without waiting for them (`posix_fadvise(WILLNEED)`): one large
    /// request to the disk instead of a readahead window per page fault, and a
    /// sequential reader's next fetch finds its data cached or on its way.
    /// Best effort (past the end of the file the kernel ignores it). Blocking
    /// at worst for the request submission: call it where cold reads go.
    /// The segment remembers how far such requests went
    /// ([`FileRegion::was_read_ahead`]).
    pub fn will_need(&self, ahead: usize) {
        let len = NonZeroU64::new((self.len() + ahead) as u64);
        let _ = rustix::fs::fadvise(&*self.file, self.offset(), len, Advice::WillNeed);
        let until = (self.end + ahead) as u64;
        self.read_ahead.fetch_max(until, Ordering::Relaxed);
    }

    /// Whether the region starts before the furthest point a [`FileRegion::will_need`]
    /// of its segment asked the disk to read to: its pages may be in the page
    /// cache only because a catching-up reader's readahead put them there (the
    /// reader is then streaming cold data, and the disk may still be filling
    /// them), not because they were just written.
    pub fn was_read_ahead(&self) -> bool {
        (self.start as u64) < self.read_ahead.load(Ordering::Relaxed)
    }

    /// Whether all of the region is in the page cache: reading or sending it
    /// then waits on no disk (`mincore(2)` of the mapping: a page-cache lookup
    /// per page, ~17 us per MiB); false when the kernel cannot tell.
    pub fn is_resident(&self) -> bool {
        self.map.resident(self.start, self.end)
    }

    /// Whether all of the region was appended by this process (after it created
    /// or opened the segment): data it wrote itself, in the page cache unless
    /// the kernel dropped it since, rather than data that was on the disk
    /// before it started, which a reader finding resident may have only because
    /// the kernel's readahead for a sequential reader brought it in.
    pub fn written_since_open(&self) -> bool {
        self.start as u64 >= self.opened_size
    }

    /// Whether `b` is this region's own bytes (the very memory [`FileRegion::bytes`]
    /// hands out, not merely equal contents): a writer holding both uses this to
    /// find which part of a response it may send from the file.
    pub fn is_same(&self, b: &[u8]) -> bool {
        b.len() == self.len() && b.as_ptr() == self.map.slice(self.start, self.end).as_ptr()
    }
}
