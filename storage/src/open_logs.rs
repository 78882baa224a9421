//! The cap on open segment files (in the spirit of RocksDB's `max_open_files`):
//! a log holds its segments' files and memory maps only while it is open; when
//! more segments are open than the cap allows, the least recently used logs are
//! closed (CLOCK, a second-chance approximation of LRU: each access to a log
//! sets its "referenced" bit with a relaxed store, so the read and append paths
//! take no lock; the ring of open logs is touched only when a log opens or is
//! closed). A closed log reopens on its next use.
//!
//! Also the process limits the default cap is sized from: `RLIMIT_NOFILE`
//! (raised to its hard limit at start) and `vm.max_map_count`.

use parking_lot::Mutex;
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Weak;

/// Segments alive in this process (each holds one `.log` file descriptor and
/// up to three memory maps).
static LIVE_SEGMENTS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn segment_opened() {
    LIVE_SEGMENTS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn segment_closed() {
    LIVE_SEGMENTS.fetch_sub(1, Ordering::Relaxed);
}

/// Segments currently open in this process (all stores).
pub fn live_segments() -> usize {
    LIVE_SEGMENTS.load(Ordering::Relaxed)
}

/// A log the ring can close.
pub(crate) trait Evict: Send + Sync {
    /// Clear the "used since last looked at" bit; returns whether it was set.
    fn take_referenced(&self) -> bool;
    /// Close the log's files unless someone is opening or closing it right now
    /// (then false: it stays in the ring).
    fn try_evict(&self) -> bool;
    /// Whether the log's flush policy asks for an fsync now.
    fn flush_due(&self) -> bool {
        false
    }
    /// fsync what the log appended so far (the flusher's work).
    fn flush(&self) -> crate::error::Result<()> {
        Ok(())
    }
    /// For the flusher's error line.
    fn describe(&self) -> String {
        String::new()
    }
}

/// The ring of open logs and the cap.
pub(crate) struct OpenLogs {
    cap: AtomicUsize,
    ring: Mutex<VecDeque<Weak<dyn Evict>>>,
    /// The directories of the logs whose segment list changed (a roll, a
    /// truncation, a log start move, a cleaner swap) since the retention
    /// schedule last took them ([`crate::store::Store::take_changed_logs`]).
    changed: Mutex<HashSet<PathBuf>>,
}

impl std::fmt::Debug for OpenLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenLogs")
            .field("cap", &self.cap.load(Ordering::Relaxed))
            .field("open", &self.ring.lock().len())
            .finish()
    }
}

impl OpenLogs {
    pub(crate) fn new(cap: usize) -> OpenLogs {
        OpenLogs {
            cap: AtomicUsize::new(cap.max(1)),
            ring: Mutex::new(VecDeque::new()),
            changed: Mutex::new(HashSet::new()),
        }
    }

    /// The segment list of the log in `dir` changed (rare: file work, not
    /// every append).
    pub(crate) fn segments_changed(&self, dir: &Path) {
        let mut changed = self.changed.lock();
        if !changed.contains(dir) {
            changed.insert(dir.to_path_buf());
        }
    }

    /// Forget a note about `dir` (the retention pass that caused it looked
    /// at the log again afterwards).
    pub(crate) fn forget_changed(&self, dir: &Path) {
        self.changed.lock().remove(dir);
    }

    /// The directories noted by [`OpenLogs::segments_changed`] since the last call.
    pub(crate) fn take_changed(&self) -> Vec<PathBuf> {
        self.changed.lock().drain().collect()
    }

    pub(crate) fn set_cap(&self, cap: usize) {
        self.cap.store(cap.max(1), Ordering::Relaxed);
        self.trim(None);
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap.load(Ordering::Relaxed)
    }

    /// Logs in the ring (open, or closed since and not yet looked at).
    pub(crate) fn len(&self) -> usize {
        self.ring.lock().len()
    }

    /// The open logs whose flush policy asks for an fsync now: a look at the
    /// logs in the ring only, so a poll costs the open logs, not every log.
    pub(crate) fn flush_due(&self) -> Vec<std::sync::Arc<dyn Evict>> {
        self.ring
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|l| l.flush_due())
            .collect()
    }

    /// A log just opened: add it to the ring, then close others if over the cap.
    pub(crate) fn opened(&self, log: Weak<dyn Evict>) {
        let me = log.as_ptr() as *const ();
        self.ring.lock().push_back(log);
        self.trim(Some(me));
    }

    /// Close least recently used logs while more segments are open than the cap,
    /// never `keep` (the log whose opening called this: closing it would undo
    /// the open its caller is about to use, forever if it alone passes the cap).
    /// Each log is looked at at most twice per call (second chance), so a call
    /// ends even when everything is busy or hot.
    pub(crate) fn trim(&self, keep: Option<*const ()>) {
        let cap = self.cap();
        if live_segments() <= cap {
            return;
        }
        let mut budget = 2 * self.ring.lock().len() + 1;
        while budget > 0 && live_segments() > cap {
            budget -= 1;
            let Some(weak) = self.ring.lock().pop_front() else {
                return;
            };
            if Some(weak.as_ptr() as *const ()) == keep {
                self.ring.lock().push_back(weak);
                continue;
            }
            let Some(log) = weak.upgrade() else {
                continue;
            };
            if log.take_referenced() || !log.try_evict() {
                self.ring.lock().push_back(weak);
            }
        }
    }
}

/// Raise the soft `RLIMIT_NOFILE` to the hard limit; returns (soft, hard)
/// afterwards (`u64::MAX` for unlimited).
pub fn raise_open_file_limit() -> std::io::Result<(u64, u64)> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum;
    if lim.current != hard {
        let mut raised = lim;
        raised.current = hard;
        setrlimit(Resource::Nofile, raised)?;
    }
    let now = getrlimit(Resource::Nofile);
    Ok((
        now.current.unwrap_or(u64::MAX),
        now.maximum.unwrap_or(u64::MAX),
    ))
}

/// `vm.max_map_count` (Linux), if readable.
pub fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The default cap on open segments: half the soft open-file limit (the rest
/// is for sockets and the broker's own files) and a quarter of
/// `vm.max_map_count` (a segment maps up to three files), at least 64.
pub fn default_max_open_segments() -> usize {
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(1 << 20);
    let maps = max_map_count().unwrap_or(65_530);
    (nofile / 2).min(maps / 4).max(64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    struct Fake {
        referenced: AtomicBool,
        evicted: AtomicBool,
    }
    impl Evict for Fake {
        fn take_referenced(&self) -> bool {
            self.referenced.swap(false, Ordering::Relaxed)
        }
        fn try_evict(&self) -> bool {
            self.evicted.store(true, Ordering::Relaxed);
            true
        }
    }

    #[test]
    fn a_ring_under_its_cap_closes_nothing() {
        let ring = OpenLogs::new(usize::MAX);
        let a = Arc::new(Fake {
            referenced: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
        });
        let w: Weak<dyn Evict> = Arc::downgrade(&(a.clone() as Arc<dyn Evict>));
        ring.opened(w);
        assert!(!a.evicted.load(Ordering::Relaxed));
        assert_eq!(ring.len(), 1);
    }

    #[test]
    fn raising_the_open_file_limit_reaches_the_hard_limit() {
        let (soft, hard) = raise_open_file_limit().unwrap();
        assert_eq!(soft, hard);
        assert!(default_max_open_segments() >= 64);
    }
}
