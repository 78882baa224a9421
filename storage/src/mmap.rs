//! All of the crate's `unsafe`: memory maps of segment and index files
//! (memmap2), the `mincore(2)` call that tells whether a range of a file is
//! in the page cache, the `getrusage(2)` call that counts a thread's major page
//! faults, and the `flock(2)` call behind the data-directory lock.
//!
//! Invariants the rest of the crate keeps so this code is sound:
//! - weir holds the data directory's lock file, so no other process of ours
//!   writes or truncates these files while they are mapped;
//! - bytes of a `.log` file below a [`ReadMap`]'s `valid` length are never
//!   rewritten or truncated away while that map is shared (appends write past
//!   `valid` and only then publish the new length; truncation shrinks a map only
//!   when it holds the sole reference, see [`ReadMap::shrink_exclusive`]).

use bytes::Bytes;
use memmap2::{MmapMut, MmapOptions, MmapRaw};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, OnceLock};

/// A read-only shared mapping of a `.log` file, reserved at `capacity` bytes (it
/// may extend past the end of the file, so the active segment is mapped once),
/// of which the first `valid` bytes are written and readable.
pub(crate) struct ReadMap {
    raw: Option<MmapRaw>,
    capacity: usize,
    valid: AtomicUsize,
}

impl std::fmt::Debug for ReadMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadMap")
            .field("capacity", &self.capacity)
            .field("valid", &self.valid.load(Ordering::Relaxed))
            .finish()
    }
}

impl ReadMap {
    /// Map `file` read-only with `capacity` bytes of address space; `valid` bytes
    /// (at most the file's current length) are readable.
    pub(crate) fn new(file: &File, capacity: usize, valid: usize) -> io::Result<ReadMap> {
        let capacity = capacity.max(valid);
        let raw = if capacity == 0 {
            None
        } else {
            Some(MmapOptions::new().len(capacity).map_raw_read_only(file)?)
        };
        Ok(ReadMap {
            raw,
            capacity,
            valid: AtomicUsize::new(valid),
        })
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn valid(&self) -> usize {
        self.valid.load(Ordering::Acquire)
    }

    /// Publish that the file now holds written data up to `len` (must not shrink,
    /// must be within capacity). Called by the single writer after its write.
    pub(crate) fn publish(&self, len: usize) {
        assert!(len <= self.capacity, "publish past the mapping");
        let old = self.valid.load(Ordering::Relaxed);
        assert!(len >= old, "publish may only grow the valid length");
        self.valid.store(len, Ordering::Release);
    }

    /// Shrink the valid length, only when the caller holds the sole reference
    /// (no reader can be looking at the bytes being cut). Returns false otherwise.
    pub(crate) fn shrink_exclusive(this: &mut Arc<ReadMap>, len: usize) -> bool {
        match Arc::get_mut(this) {
            Some(map) => {
                let v = map.valid.get_mut();
                *v = (*v).min(len);
                true
            }
            None => false,
        }
    }

    /// The bytes `[start, end)`; panics if `end` is past the valid length.
    pub(crate) fn slice(&self, start: usize, end: usize) -> &[u8] {
        let valid = self.valid();
        assert!(
            start <= end && end <= valid,
            "slice {start}..{end} outside valid {valid}"
        );
        if start == end {
            return &[];
        }
        let raw = self
            .raw
            .as_ref()
            .expect("non-empty valid range implies a mapping");
        // SAFETY: `end <= valid <= capacity`, so the range lies inside the mapping,
        // and `valid` only covers bytes that were written to the file before being
        // published (Release/Acquire above), so those pages are backed by the file.
        // Per the module invariants nobody rewrites or truncates them while this
        // map (and so this borrow) is alive; the mapping is read-only (PROT_READ)
        // so no `&mut` aliasing exists. The slice borrows `self`, which keeps the
        // mapping alive.
        unsafe { std::slice::from_raw_parts(raw.as_ptr().add(start), end - start) }
    }

    /// Whether every page of `[start, end)` (within the valid length) is in the
    /// page cache, so that reading or sending it waits on no disk
    /// (`mincore(2)`: for a file mapping it reports page-cache residency,
    /// whether or not this process has touched the page). False when the
    /// kernel cannot tell (the caller then treats the range as cold).
    pub(crate) fn resident(&self, start: usize, end: usize) -> bool {
        let _ = self.slice(start, end); // bounds check
        let Some(raw) = self.raw.as_ref().filter(|_| start < end) else {
            return true;
        };
        let page = page_size();
        let base = raw.as_ptr() as usize; // page-aligned: the start of the mapping
        let mut addr = (base + start) & !(page - 1);
        let stop = base + end;
        // One status byte per page, 1 MiB of 4 KiB pages per call.
        let mut status = [0u8; 256];
        while addr < stop {
            let len = (stop - addr).min(status.len() * page);
            let pages = len.div_ceil(page);
            // SAFETY: `[addr, addr + len)` lies inside this mapping (it starts at
            // or after the mapping's page-aligned base and ends at or before
            // `base + end`, `end <= valid <= capacity`), which `self` keeps
            // mapped for the call. mincore reads no memory of the range; it
            // writes one byte per page of it, `pages <= status.len()` bytes.
            let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, status.as_mut_ptr()) };
            if rc != 0 || status[..pages].iter().any(|s| s & 1 == 0) {
                return false;
            }
            addr += len;
        }
        true
    }

    /// The bytes `[start, end)` as `Bytes` that keep this mapping alive (no copy).
    pub(crate) fn bytes(self: &Arc<Self>, start: usize, end: usize) -> Bytes {
        let _ = self.slice(start, end); // bounds check now, not at first use
        Bytes::from_owner(MapSlice {
            map: Arc::clone(self),
            start,
            end,
        })
    }
}

/// Major page faults the calling thread has taken so far (`getrusage(2)`,
/// `RUSAGE_THREAD`): faults on a mapped file page that was not in the page
/// cache, so the thread waited on the disk. A caller that walks a mapping can
/// tell from the count before and after whether the walk found its data in
/// memory (the walk itself brings pages in, so a residency check after it
/// cannot). 0 when the kernel cannot tell.
pub fn thread_major_faults() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one `rusage` into the pointed-to memory, which
    // is that large and writable; it reads nothing of ours.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    if rc != 0 {
        return 0;
    }
    // SAFETY: the call succeeded and filled it (and it was zeroed before).
    let usage = unsafe { usage.assume_init() };
    u64::try_from(usage.ru_majflt).unwrap_or(0)
}

/// The size of a memory page.
fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf only reads a configuration value.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(n)
            .ok()
            .filter(|n| n.is_power_of_two())
            .unwrap_or(4096)
    })
}

/// Mappings of at least this many bytes are unmapped on a background thread
/// when dropped: `munmap` of a large mapping with resident pages tears down a
/// page table entry per page (milliseconds for a few hundred MiB), and the last
/// reference to a retired map (the active segment's mapping grows by doubling)
/// is usually dropped by a connection task on an async worker, right after it
/// sent a tailing consumer's response, or by the appender.
const UNMAP_IN_BACKGROUND: usize = 16 << 20;

/// Mappings unmapped by the background thread since the process started.
static UNMAPPED_IN_BACKGROUND: AtomicUsize = AtomicUsize::new(0);

/// Mappings unmapped by the background thread since the process started.
#[cfg(test)]
pub(crate) fn unmapped_in_background() -> usize {
    UNMAPPED_IN_BACKGROUND.load(Ordering::Relaxed)
}

impl Drop for ReadMap {
    fn drop(&mut self) {
        if self.capacity >= UNMAP_IN_BACKGROUND {
            if let Some(raw) = self.raw.take() {
                unmap_in_background(raw);
            }
        }
    }
}

/// Hand `raw` to the unmapper thread (started on first use); unmapped here if
/// that thread cannot be started.
fn unmap_in_background(raw: MmapRaw) {
    static UNMAPPER: OnceLock<Option<Sender<MmapRaw>>> = OnceLock::new();
    let tx = UNMAPPER.get_or_init(|| {
        let (tx, rx) = channel::<MmapRaw>();
        std::thread::Builder::new()
            .name("weir-unmap".into())
            .spawn(move || {
                for raw in rx {
                    drop(raw);
                    UNMAPPED_IN_BACKGROUND.fetch_add(1, Ordering::Relaxed);
                }
            })
            .ok()
            .map(|_| tx)
    });
    match tx {
        Some(tx) => {
            if let Err(unsent) = tx.send(raw) {
                drop(unsent.0);
            }
        }
        None => drop(raw),
    }
}

struct MapSlice {
    map: Arc<ReadMap>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for MapSlice {
    fn as_ref(&self) -> &[u8] {
        self.map.slice(self.start, self.end)
    }
}

/// Map `len` bytes of an index file read-write. The file must already be at
/// least `len` bytes long (the caller sets its length first).
pub(crate) fn map_index(file: &File, len: usize) -> io::Result<Option<MmapMut>> {
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: the caller sized the file to >= `len` bytes, so every page is backed.
    // Index files are only changed through this mapping by the log's single writer
    // (holding the index lock), and are truncated only after the mapping is
    // dropped; the lock file keeps other weir processes away.
    let map = unsafe { MmapOptions::new().len(len).map_mut(file)? };
    // Lookups are binary searches, and a preallocated index is mostly a hole:
    // without this, the first fault reads ahead 128 KiB of zero pages and maps
    // 64 KiB of them (fault-around), ~130 KiB of RSS per idle partition.
    let _ = map.advise(memmap2::Advice::Random);
    Ok(Some(map))
}

/// Try to take an exclusive `flock(2)` on `file` without blocking. `Ok(false)`
/// when another open file description holds it.
pub(crate) fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    // SAFETY: flock only reads the file descriptor number, which `file` keeps open
    // for the duration of the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// A new empty file `x` in `dir`, open for reading and writing.
    fn empty_file(dir: &std::path::Path) -> File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join("x"))
            .unwrap()
    }

    #[test]
    fn read_map_sees_bytes_written_after_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let f = empty_file(dir.path());
        let map = Arc::new(ReadMap::new(&f, 1 << 20, 0).unwrap());
        f.write_all_at(b"hello world", 0).unwrap();
        map.publish(11);
        let b = map.bytes(6, 11);
        assert_eq!(&b[..], b"world");
        assert_eq!(map.slice(0, 5), b"hello");
    }

    #[test]
    fn large_maps_are_unmapped_in_the_background_after_their_last_reference() {
        let dir = tempfile::tempdir().unwrap();
        let f = empty_file(dir.path());
        f.write_all_at(&[7u8; 4096], 0).unwrap();
        let before = unmapped_in_background();
        let small = Arc::new(ReadMap::new(&f, 1 << 20, 4096).unwrap());
        let b = small.bytes(0, 4096);
        drop(small);
        assert_eq!(b[4095], 7, "a Bytes keeps its mapping alive");
        drop(b);
        let large = Arc::new(ReadMap::new(&f, UNMAP_IN_BACKGROUND, 4096).unwrap());
        let b = large.bytes(0, 4096);
        drop(large);
        assert_eq!(b[0], 7);
        drop(b); // the last reference: queued for the unmapper thread
        let t0 = std::time::Instant::now();
        while unmapped_in_background() == before {
            assert!(t0.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn resident_tells_cached_pages_from_dropped_ones() {
        let dir = tempfile::tempdir().unwrap();
        let f = empty_file(dir.path());
        let len = 3 << 20;
        f.write_all_at(&vec![5u8; len], 0).unwrap();
        let map = ReadMap::new(&f, 4 << 20, len).unwrap();
        // Just written: in the page cache, though never touched through the map.
        assert!(map.resident(0, len));
        assert!(map.resident(4097, 2 << 20));
        assert!(map.resident(7, 7));
        // Written back and dropped from the page cache (not mapped, so dropped);
        // tmpfs keeps its pages in memory whatever the advice.
        f.sync_all().unwrap();
        let _ = rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed);
        let tmpfs = rustix::fs::fstatfs(&f).unwrap().f_type as i64 == 0x0102_1994;
        if !tmpfs {
            assert!(!map.resident(0, len));
            assert!(!map.resident(len - 10, len));
        }
        // Read back in: resident again.
        let mut buf = vec![0u8; 8192];
        f.read_exact_at(&mut buf, 1 << 20).unwrap();
        assert!(map.resident(1 << 20, (1 << 20) + 8192));
        // Touching a dropped page through the map is a major fault of this
        // thread (the disk was waited on); a resident one is not.
        if !tmpfs {
            let before = thread_major_faults();
            std::hint::black_box(map.slice(2 << 20, (2 << 20) + 1)[0]);
            assert!(thread_major_faults() > before, "no major fault counted");
        }
        let before = thread_major_faults();
        std::hint::black_box(map.slice(1 << 20, (1 << 20) + 1)[0]);
        assert_eq!(thread_major_faults(), before, "a resident page");
    }

    #[test]
    #[should_panic]
    fn slicing_past_valid_panics() {
        let dir = tempfile::tempdir().unwrap();
        let f = File::create(dir.path().join("x")).unwrap();
        let map = ReadMap::new(&f, 4096, 0).unwrap();
        let _ = map.slice(0, 1);
    }

    #[test]
    fn second_flock_on_same_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".lock");
        let a = File::create(&p).unwrap();
        let b = File::options().write(true).open(&p).unwrap();
        assert!(try_lock_exclusive(&a).unwrap());
        assert!(!try_lock_exclusive(&b).unwrap());
        drop(a);
        assert!(try_lock_exclusive(&b).unwrap());
    }
}
