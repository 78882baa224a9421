//! Figures the storage engine keeps for the broker's metrics, with atomics only
//! (this crate knows nothing of Prometheus): how long fsyncs take. Every fsync
//! of a file or directory through the [`crate::fs`] seam is timed by
//! [`TimedFs`], which the [`crate::Store`] wraps around its filesystem; an
//! fsync slower than [`SLOW_FSYNC`] is also logged (a warning per slow fsync).

use crate::fs::Fs;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An fsync slower than this is logged: the disk (or the page cache behind
/// it) is struggling and every producer with `acks` waiting on a flush feels it.
pub const SLOW_FSYNC: Duration = Duration::from_secs(1);

/// Upper bounds of the fsync latency buckets, in seconds (100 µs .. 10 s).
pub const FSYNC_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0,
];

/// A histogram of durations over [`FSYNC_BUCKETS`], recorded with relaxed atomics.
#[derive(Debug, Default)]
pub struct DurationHistogram {
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    buckets: [AtomicU64; FSYNC_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl DurationHistogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let slot = FSYNC_BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(FSYNC_BUCKETS.len());
        self.buckets[slot].fetch_add(1, Relaxed);
        self.sum_nanos
            .fetch_add(d.as_nanos().min(u64::MAX as u128) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    /// (sum in seconds, count, buckets (le, count in that bucket alone)):
    /// what `prometheus-client`'s histogram encoder takes (it accumulates them
    /// into Prometheus's cumulative `_bucket` lines itself).
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut buckets = Vec::with_capacity(FSYNC_BUCKETS.len() + 1);
        for (i, b) in self.buckets.iter().enumerate() {
            let le = FSYNC_BUCKETS.get(i).copied().unwrap_or(f64::INFINITY);
            buckets.push((le, b.load(Relaxed)));
        }
        let sum = self.sum_nanos.load(Relaxed) as f64 / 1e9;
        (sum, self.count.load(Relaxed), buckets)
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }
}

/// The storage figures of one [`crate::Store`].
#[derive(Debug, Default)]
pub struct StorageStats {
    /// Every fsync (file data and directories), successful or not.
    pub fsync: DurationHistogram,
    /// Fsyncs that took longer than [`SLOW_FSYNC`].
    pub slow_fsyncs: AtomicU64,
}

/// The filesystem seam with every fsync timed into [`StorageStats`].
#[derive(Debug)]
pub(crate) struct TimedFs {
    inner: Arc<dyn Fs>,
    stats: Arc<StorageStats>,
}

impl TimedFs {
    pub(crate) fn wrap(inner: Arc<dyn Fs>, stats: Arc<StorageStats>) -> Arc<dyn Fs> {
        Arc::new(TimedFs { inner, stats })
    }

    fn timed(&self, path: &Path, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let started = Instant::now();
        let r = sync();
        let took = started.elapsed();
        self.stats.fsync.observe(took);
        if took > SLOW_FSYNC {
            self.stats.slow_fsyncs.fetch_add(1, Relaxed);
            tracing::warn!(
                "slow fsync: {} took {:.3} s (over {} s)",
                path.display(),
                took.as_secs_f64(),
                SLOW_FSYNC.as_secs()
            );
        }
        r
    }
}

impl Fs for TimedFs {
    fn open_rw(&self, path: &Path, create: bool) -> io::Result<File> {
        self.inner.open_rw(path, create)
    }
    fn write_at(&self, file: &File, path: &Path, buf: &[u8], pos: u64) -> io::Result<()> {
        self.inner.write_at(file, path, buf, pos)
    }
    fn write_parts_at(
        &self,
        file: &File,
        path: &Path,
        parts: &[&[u8]],
        pos: u64,
    ) -> io::Result<()> {
        self.inner.write_parts_at(file, path, parts, pos)
    }
    fn sync(&self, file: &File, path: &Path) -> io::Result<()> {
        self.timed(path, || self.inner.sync(file, path))
    }
    fn set_len(&self, file: &File, path: &Path, len: u64) -> io::Result<()> {
        self.inner.set_len(file, path, len)
    }
    fn preallocate(&self, file: &File, path: &Path, pos: u64, len: u64) -> io::Result<()> {
        self.inner.preallocate(file, path, pos, len)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.timed(dir, || self.inner.sync_dir(dir))
    }
    fn sync_fs(&self, dir: &Path) -> io::Result<()> {
        self.timed(dir, || self.inner.sync_fs(dir))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_dir_all(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fsync_through_the_store_is_timed() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        let before = store.stats().fsync.count();
        let log = store
            .open_log(
                &crate::TopicPartition::new("t", 0),
                crate::LogConfig::default(),
            )
            .unwrap();
        log.flush().unwrap();
        assert!(store.stats().fsync.count() > before);
        let (sum, count, buckets) = store.stats().fsync.snapshot();
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), count);
        assert!(sum >= 0.0);
    }

    /// The real filesystem with fsyncs that take `delay`.
    #[derive(Debug)]
    struct SlowFs(Duration);

    impl Fs for SlowFs {
        fn sync(&self, file: &File, _path: &Path) -> io::Result<()> {
            std::thread::sleep(self.0);
            file.sync_data()
        }
    }

    #[test]
    fn an_fsync_over_a_second_counts_as_slow() {
        let dir = tempfile::tempdir().unwrap();
        let stats = Arc::new(StorageStats::default());
        let file = std::fs::File::create(dir.path().join("f")).unwrap();
        let fast = TimedFs::wrap(Arc::new(SlowFs(Duration::ZERO)), stats.clone());
        fast.sync(&file, Path::new("f")).unwrap();
        assert_eq!(stats.slow_fsyncs.load(Relaxed), 0);
        let slow = TimedFs::wrap(
            Arc::new(SlowFs(SLOW_FSYNC + Duration::from_millis(50))),
            stats.clone(),
        );
        slow.sync(&file, Path::new("f")).unwrap();
        assert_eq!(stats.slow_fsyncs.load(Relaxed), 1);
        let (sum, count, buckets) = stats.fsync.snapshot();
        assert_eq!(count, 2);
        assert!(sum > SLOW_FSYNC.as_secs_f64());
        // The slow one is above the 1 s bucket.
        let one_s = FSYNC_BUCKETS.iter().position(|&b| b == 1.0).unwrap();
        assert_eq!(buckets[..=one_s].iter().map(|b| b.1).sum::<u64>(), 1);
    }

    #[test]
    fn durations_land_in_their_bucket() {
        let h = DurationHistogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(20));
        let (_, count, buckets) = h.snapshot();
        assert_eq!(count, 3);
        assert_eq!(buckets[0], (0.0001, 1));
        assert_eq!(buckets[5], (0.005, 1));
        assert_eq!(buckets[13], (10.0, 0));
        assert_eq!(buckets[14], (f64::INFINITY, 1));
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 3);
    }
}
