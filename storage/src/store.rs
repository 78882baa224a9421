//! The data directory: a lock file against a second broker, the clean-shutdown
//! marker, the partition logs in it (handles that open on first use, under a
//! cap on open segments, see [`crate::open_logs`]), and atomic checkpoint files
//! for the broker's own metadata (topic registry, producer state snapshots, ...).

use crate::config::LogConfig;
use crate::durability::{atomic_write, io_err};
use crate::error::{Result, StorageError};
use crate::fs::{self, Fs};
use crate::log::PartitionLog;
use crate::open_logs::{default_max_open_segments, OpenLogs};
use crate::stats::{StorageStats, TimedFs};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Lock file name in the data directory.
pub const LOCK_FILE: &str = ".lock";
/// Clean-shutdown marker (Kafka's name), written by `close`, removed on open.
/// It holds the logs that may have more than one segment (see
/// `encode_marker`): the others need no look by retention until they open.
pub const CLEAN_SHUTDOWN_FILE: &str = ".clean_shutdown";

/// The first line of a clean-shutdown marker that lists the logs of more than
/// one segment and stamps the non-empty one-segment logs. Older markers
/// (`weir-multi-segment-logs v1`, which did not stamp, or an empty one) are
/// read as "nothing known": the first retention pass then looks at every log.
const MARKER_HEADER: &str = "weir-retention-logs v2";

/// What a clean-shutdown marker says: the logs that may hold more than one
/// segment (or are not known), and the one-segment, non-empty logs with their
/// segment's largest timestamp. Every other log holds one empty segment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Marker {
    multi: HashSet<String>,
    stamps: HashMap<String, i64>,
}

/// The clean-shutdown marker's text: a header, one line per log retention
/// may have work in (its directory name; for a log of one non-empty segment
/// followed by a space and that segment's largest timestamp), and a CRC-32
/// of what precedes it (`crc <hex>`), so that a marker torn by a crash during
/// the shutdown is not believed.
fn encode_marker(multi: &[String], stamps: &[(String, i64)]) -> Vec<u8> {
    let mut text = String::from(MARKER_HEADER);
    text.push('\n');
    for name in multi {
        text.push_str(name);
        text.push('\n');
    }
    for (name, ts) in stamps {
        text.push_str(&format!("{name} {ts}\n"));
    }
    let crc = crc32fast::hash(text.as_bytes());
    text.push_str(&format!("crc {crc:08x}\n"));
    text.into_bytes()
}

/// Inverse of `encode_marker`: `None` for an empty, older or damaged marker
/// (nothing is known then: retention looks at each log once).
fn decode_marker(data: &[u8]) -> Option<Marker> {
    let text = std::str::from_utf8(data).ok()?;
    let body_end = text.trim_end_matches('\n').rfind('\n')? + 1;
    let (body, trailer) = text.split_at(body_end);
    let crc = u32::from_str_radix(trailer.trim_end().strip_prefix("crc ")?, 16).ok()?;
    if crc32fast::hash(body.as_bytes()) != crc {
        return None;
    }
    let mut lines = body.lines();
    if lines.next()? != MARKER_HEADER {
        return None;
    }
    let mut m = Marker::default();
    for line in lines {
        match line.split_once(' ') {
            Some((name, ts)) => {
                m.stamps.insert(name.to_string(), ts.parse().ok()?);
            }
            None => {
                m.multi.insert(line.to_string());
            }
        }
    }
    Some(m)
}

/// A topic name and partition index; the directory is `<topic>-<partition>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
    /// Directory name, `<topic>-<partition>`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }
    /// Parse a directory name (splits at the last '-').
    pub fn parse_dir_name(name: &str) -> Option<TopicPartition> {
        let (topic, partition) = name.rsplit_once('-')?;
        let partition = partition.parse().ok()?;
        (!topic.is_empty()).then(|| TopicPartition::new(topic, partition))
    }
}

/// An open data directory.
pub struct Store {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    lock: Mutex<Option<File>>,
    was_clean: bool,
    /// From the clean-shutdown marker: the logs that may hold more than one
    /// segment and the stamped one-segment ones (`None`: not known; every
    /// other log holds one empty segment).
    multi_segment: Option<Marker>,
    /// One handle per log; a handle's own lock is held while that log opens
    /// (and recovers), so different logs can open in parallel.
    logs: Mutex<HashMap<TopicPartition, Arc<PartitionLog>>>,
    /// The open logs and the cap on open segments.
    open: Arc<OpenLogs>,
    closed: AtomicBool,
    /// Fsync timings (every fsync goes through `fs`, which times it).
    stats: Arc<StorageStats>,
    /// Whether an I/O error took the data dir offline ([`fs::Guarded`]).
    health: Arc<fs::DirHealth>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("was_clean", &self.was_clean)
            .finish()
    }
}

impl Store {
    /// Open (creating if needed) a data directory; takes the lock file
    /// (`StorageError::Locked` if another process holds it) and notes whether the
    /// last stop was clean (then logs open lazily without scanning data; after an
    /// unclean stop each log is recovered when opened).
    pub fn open(dir: &Path) -> Result<Store> {
        Self::open_with_fs(dir, fs::real())
    }

    pub(crate) fn open_with_fs(dir: &Path, fs: Arc<dyn Fs>) -> Result<Store> {
        let stats = Arc::new(StorageStats::default());
        let fs = TimedFs::wrap(fs, stats.clone());
        // Outermost, so every fault any layer sees takes the dir offline.
        let health = Arc::new(fs::DirHealth::default());
        let fs: Arc<dyn Fs> = Arc::new(fs::Guarded::new(fs, health.clone()));
        fs.create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = fs
            .open_rw(&lock_path, true)
            .map_err(|e| io_err(&lock_path, e))?;
        if !crate::mmap::try_lock_exclusive(&lock).map_err(|e| io_err(&lock_path, e))? {
            return Err(StorageError::Locked(dir.to_path_buf()));
        }
        let marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let was_clean = marker.exists();
        let mut multi_segment = None;
        if was_clean {
            // (An unreadable marker still means a clean stop: only the list is lost.)
            multi_segment = std::fs::read(&marker).ok().and_then(|d| decode_marker(&d));
            // From now on a crash must count as unclean.
            fs.remove_file(&marker).map_err(|e| io_err(&marker, e))?;
            fs.sync_dir(dir).map_err(|e| io_err(dir, e))?;
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            fs,
            lock: Mutex::new(Some(lock)),
            was_clean,
            multi_segment,
            logs: Mutex::new(HashMap::new()),
            open: Arc::new(OpenLogs::new(default_max_open_segments())),
            closed: AtomicBool::new(false),
            stats,
            health,
        })
    }

    /// Fsync timings of this data dir, for the broker's metrics.
    pub fn stats(&self) -> &StorageStats {
        &self.stats
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the data dir is usable (an EIO takes it offline for good), and
    /// where the broker hears about it.
    pub fn health(&self) -> &fs::DirHealth {
        &self.health
    }

    /// Total and usable bytes of the file system holding the data dir (Kafka's
    /// `FileStore.getTotalSpace`/`getUsableSpace`; a value that overflows is
    /// `i64::MAX`, as its `adjustForLargeFileSystems`).
    pub fn disk_space(&self) -> std::io::Result<(i64, i64)> {
        let st = rustix::fs::statvfs(&self.dir)?;
        let bytes =
            |blocks: u64| i64::try_from(blocks as u128 * st.f_frsize as u128).unwrap_or(i64::MAX);
        Ok((bytes(st.f_blocks), bytes(st.f_bavail)))
    }

    /// Whether the previous run ended with a clean shutdown.
    pub fn was_clean_shutdown(&self) -> bool {
        self.was_clean
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        Ok(())
    }

    /// Cap the segments open at once (`weir.log.max.open.segments`); beyond it
    /// the least recently used logs close their files until used again.
    pub fn set_max_open_segments(&self, cap: usize) {
        self.open.set_cap(cap);
    }

    pub fn max_open_segments(&self) -> usize {
        self.open.cap()
    }

    /// Whether some open log's flush policy asks for an fsync now (the
    /// flusher's poll: looks at the open logs only, never at idle ones).
    pub fn flush_due(&self) -> bool {
        !self.open.flush_due().is_empty()
    }

    /// fsync the open logs whose flush policy asks for it now. Blocking.
    /// Returns the failures (log directory, error).
    pub fn flush_due_logs(&self) -> Vec<(String, StorageError)> {
        self.open
            .flush_due()
            .into_iter()
            .filter_map(|l| l.flush().err().map(|e| (l.describe(), e)))
            .collect()
    }

    /// The logs whose segment list changed (a roll, a truncation, a log
    /// start move, a cleaner swap) since the last call: what the retention
    /// schedule looks at again, instead of walking every log.
    pub fn take_changed_logs(&self) -> Vec<TopicPartition> {
        self.open
            .take_changed()
            .iter()
            .filter_map(|dir| TopicPartition::parse_dir_name(&dir.file_name()?.to_string_lossy()))
            .collect()
    }

    /// After a clean stop whose marker lists them: the logs that may hold
    /// more than one segment (every other log holds at most its active one
    /// and needs no recovery). `None`: not known (an unclean stop, an old or
    /// torn marker): every log has to be looked at.
    pub fn multi_segment_logs(&self) -> Option<Vec<TopicPartition>> {
        let names = &self.multi_segment.as_ref()?.multi;
        Some(
            names
                .iter()
                .filter_map(|n| TopicPartition::parse_dir_name(n))
                .collect(),
        )
    }

    /// After a clean stop: the logs of one non-empty segment the marker
    /// stamped with that segment's largest timestamp (empty otherwise), so
    /// retention can schedule them without opening them.
    pub fn stamped_logs(&self) -> Vec<(TopicPartition, i64)> {
        let Some(m) = &self.multi_segment else {
            return Vec::new();
        };
        m.stamps
            .iter()
            .filter_map(|(n, ts)| Some((TopicPartition::parse_dir_name(n)?, *ts)))
            .collect()
    }

    /// Forget that `tp`'s segment list changed (the caller changed it and
    /// reads it again after this call, so nothing after is missed).
    pub fn forget_changed_log(&self, tp: &TopicPartition) {
        if let Ok(dir) = self.log_dir(tp) {
            self.open.forget_changed(&dir);
        }
    }

    /// Logs whose files are open (or were closed since and not yet looked at).
    pub fn open_log_count(&self) -> usize {
        self.open.len()
    }

    /// The partition logs present on disk (from directory names; no per-entry
    /// `stat`, the directory entry's type is enough).
    pub fn list_logs(&self) -> Result<Vec<TopicPartition>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| io_err(&self.dir, e))? {
            let entry = entry.map_err(|e| io_err(&self.dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let Some(tp) = TopicPartition::parse_dir_name(&name) else {
                continue;
            };
            if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            out.push(tp);
        }
        out.sort();
        Ok(out)
    }

    /// Open the log of `tp` now, creating it if absent. Returns the same `Arc`
    /// for repeated calls. Different logs may be opened (recovered) in parallel
    /// from several threads.
    pub fn open_log(&self, tp: &TopicPartition, config: LogConfig) -> Result<Arc<PartitionLog>> {
        let log = self.log(tp, config)?;
        log.open_now()?;
        Ok(log)
    }

    /// The log of `tp` without opening it: its files are opened (created,
    /// recovered after an unclean stop) on first use. Returns the same `Arc` for
    /// repeated calls.
    pub fn log(&self, tp: &TopicPartition, config: LogConfig) -> Result<Arc<PartitionLog>> {
        self.check_open()?;
        let dir = self.log_dir(tp)?;
        let mut logs = self.logs.lock();
        if let Some(log) = logs.get(tp) {
            return Ok(log.clone());
        }
        let name = tp.dir_name();
        let one_segment = self
            .multi_segment
            .as_ref()
            .is_some_and(|m| !m.multi.contains(&name));
        let log = PartitionLog::new(
            self.fs.clone(),
            &dir,
            config,
            !self.was_clean,
            one_segment,
            Some(self.open.clone()),
        );
        if one_segment {
            let m = self
                .multi_segment
                .as_ref()
                .expect("one_segment comes from the marker");
            log.set_marker_stamp(m.stamps.get(&name).copied());
        }
        logs.insert(tp.clone(), log.clone());
        Ok(log)
    }

    /// Create the directories of many new logs with one fsync of the data
    /// directory (bulk topic creation); their segment files are created on first
    /// use. Directories that exist already are left as they are.
    pub fn create_log_dirs(&self, tps: &[TopicPartition]) -> Result<()> {
        self.check_open()?;
        let mut made = false;
        for tp in tps {
            let dir = self.log_dir(tp)?;
            match std::fs::create_dir(&dir) {
                Ok(()) => made = true,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err(&dir, e)),
            }
        }
        if made {
            self.fs
                .sync_dir(&self.dir)
                .map_err(|e| io_err(&self.dir, e))?;
        }
        Ok(())
    }

    /// The logs that still have to be recovered after an unclean stop (a
    /// background task opens them; a log is never served before).
    pub fn logs_to_recover(&self) -> Vec<Arc<PartitionLog>> {
        self.logs
            .lock()
            .values()
            .filter(|l| l.needs_recovery())
            .cloned()
            .collect()
    }

    fn log_dir(&self, tp: &TopicPartition) -> Result<PathBuf> {
        let name = tp.dir_name();
        if tp.topic.is_empty()
            || tp.topic.contains('/')
            || tp.topic == "."
            || tp.topic == ".."
            || tp.partition < 0
        {
            return Err(StorageError::NoSuchLog(name));
        }
        Ok(self.dir.join(name))
    }

    /// The log of `tp` if it was opened or asked for with [`Store::log`].
    pub fn get_log(&self, tp: &TopicPartition) -> Option<Arc<PartitionLog>> {
        self.logs.lock().get(tp).cloned()
    }

    /// Close and delete the log of `tp` and its directory.
    pub fn delete_log(&self, tp: &TopicPartition) -> Result<()> {
        self.check_open()?;
        let dir = self.log_dir(tp)?;
        let removed = self.logs.lock().remove(tp);
        if let Some(log) = &removed {
            log.mark_deleted();
        }
        if !dir.exists() {
            return match removed {
                Some(_) => Ok(()),
                None => Err(StorageError::NoSuchLog(tp.dir_name())),
            };
        }
        self.fs.remove_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| io_err(&self.dir, e))
    }

    fn checkpoint_path(&self, name: &str) -> Result<PathBuf> {
        let rel = Path::new(name);
        let parts: Vec<_> = rel.components().collect();
        let ok = !parts.is_empty()
            && parts.len() <= 2
            && parts.iter().all(|c| matches!(c, Component::Normal(_)));
        if !ok {
            return Err(StorageError::Corrupt {
                path: rel.to_path_buf(),
                reason: "checkpoint name must be a relative path of at most two plain parts".into(),
            });
        }
        Ok(self.dir.join(rel))
    }

    /// Atomically replace the file `name` (relative to the data dir; may contain
    /// one level of subdirectory) with `data`: temp file, fsync, rename, fsync dir.
    pub fn write_checkpoint(&self, name: &str, data: &[u8]) -> Result<()> {
        let path = self.checkpoint_path(name)?;
        if let Some(parent) = path.parent() {
            if !parent.exists() {
                self.fs
                    .create_dir_all(parent)
                    .map_err(|e| io_err(parent, e))?;
                self.fs
                    .sync_dir(&self.dir)
                    .map_err(|e| io_err(&self.dir, e))?;
            }
        }
        atomic_write(&*self.fs, &path, data)
    }

    /// Read a checkpoint file written by [`Store::write_checkpoint`]; `None` if absent.
    pub fn read_checkpoint(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let path = self.checkpoint_path(name)?;
        match std::fs::read(&path) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    /// Close every log, make everything durable, write the clean-shutdown
    /// marker (naming the logs that may hold more than one segment, see
    /// `encode_marker`), release the lock. Every log written since it opened (or closed
    /// earlier with unflushed data) is made durable by one `syncfs(2)` of the
    /// data dir's file system rather than an fsync per file: with 100,000
    /// partitions that is one call instead of half a million. When logs are
    /// left that were never recovered after an unclean stop, no marker is
    /// written: the next start recovers them.
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let logs: Vec<_> = self.logs.lock().drain().collect();
        let mut unflushed = false;
        let mut unrecovered = false;
        // The logs that may hold more than one segment, for the marker.
        let mut multi = Vec::new();
        let mut seen = HashSet::with_capacity(logs.len());
        let mut stamps = Vec::new();
        for (tp, log) in logs {
            match log.retention_stamp() {
                crate::log::RetentionStamp::Empty => {}
                crate::log::RetentionStamp::OneSegment(ts) => stamps.push((tp.dir_name(), ts)),
                crate::log::RetentionStamp::Unknown => multi.push(tp.dir_name()),
            }
            unflushed |= log.close_for_shutdown()?;
            unrecovered |= log.needs_recovery();
            seen.insert(tp);
        }
        if unflushed {
            self.fs
                .sync_fs(&self.dir)
                .map_err(|e| io_err(&self.dir, e))?;
        }
        if unrecovered {
            self.lock.lock().take();
            return Ok(());
        }
        // Logs on disk nobody asked for in this run are as the last run left
        // them: as its marker says, else not known (a listing that fails
        // leaves the marker without a list: the next start lists every log).
        let complete = match &self.multi_segment {
            Some(prior) => {
                let unseen = |name: &String| {
                    TopicPartition::parse_dir_name(name).is_none_or(|tp| !seen.contains(&tp))
                        && self.dir.join(name).exists()
                };
                multi.extend(prior.multi.iter().filter(|n| unseen(n)).cloned());
                stamps.extend(
                    prior
                        .stamps
                        .iter()
                        .filter(|(n, _)| unseen(n))
                        .map(|(n, ts)| (n.clone(), *ts)),
                );
                true
            }
            None => match self.list_logs() {
                Ok(on_disk) => {
                    let unseen = on_disk.into_iter().filter(|tp| !seen.contains(tp));
                    multi.extend(unseen.map(|tp| tp.dir_name()));
                    true
                }
                Err(_) => false,
            },
        };
        multi.sort();
        stamps.sort();
        let marker = self.dir.join(CLEAN_SHUTDOWN_FILE);
        let mut f = self
            .fs
            .open_rw(&marker, true)
            .map_err(|e| io_err(&marker, e))?;
        f.set_len(0).map_err(|e| io_err(&marker, e))?;
        if complete {
            std::io::Write::write_all(&mut f, &encode_marker(&multi, &stamps))
                .map_err(|e| io_err(&marker, e))?;
        }
        self.fs.sync(&f, &marker).map_err(|e| io_err(&marker, e))?;
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| io_err(&self.dir, e))?;
        self.lock.lock().take();
        Ok(())
    }
}
