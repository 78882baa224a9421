//! Power-loss tests through the filesystem seam. A SIGKILL keeps the page
//! cache; a power cut does not. [`PowerFs`] remembers, per file, what its last
//! fsync made durable and, per directory, which entries (creates, renames,
//! removals) its last fsync made durable; [`PowerFs::cut`] then drops exactly
//! what was not durable (a file created or renamed since its directory's
//! fsync loses its entry and a renamed file's old name comes back; a file's
//! unsynced bytes are dropped, or torn: an appended tail kept up to a random
//! length, or each unsynced 512-byte sector kept or not), in the spirit of
//! ALICE and of the crash tests of fjall and raft-engine.
//!
//! The power goes either between operations or at a random operation through
//! the seam (a dry run of the same seed counts them), so cuts land inside
//! segment rolls (index and time-index trims), the log-start and
//! recovery-point checkpoint rewrites, retention deletes and DeleteRecords
//! (at once and through `.deleted` files), the cleaner's `.cleaned` file and
//! swap, and the atomic rewrites of the broker's state files
//! (`Store::write_checkpoint`: producer-state snapshot, topics, ACLs, SCRAM,
//! quotas, dynamic configs, share state). Group and transaction state is the
//! compacted log of `__consumer_offsets` / `__transaction_state`, fsynced by
//! the coordinators before they answer: the append, delete and cleaner runs
//! cover it. After each cut the log is opened on the real filesystem and
//! every record is read back (CRC checked), then looked up again through the
//! offset index and the time index.
//!
//! What must hold:
//! - `log.flush.interval.messages=1` (the produce path fsyncs before an
//!   acks=all answer): not one acknowledged record is lost; a completed
//!   delete never comes back and one under way goes at most as far as asked;
//!   a cleaner pass leaves the old or the cleaned segments (never both, never
//!   neither, never a record that was not written at that offset) and the
//!   latest acknowledged record of every key; the next pass works.
//! - A state file is the old one or the new one, whole (never torn, never gone).
//! - Default policy (no fsync before the answer): exactly the records after
//!   the last completed flush (`flush()`, a flush due by `flush.ms`, a clean
//!   close's syncfs) may be lost, as a suffix: the log comes back as a prefix
//!   of what was written, at least up to that flush, with no hole and no torn
//!   batch. A segment roll also flushes the finished segment, in the
//!   background as Kafka does: once that flush is done, what came before the
//!   roll is durable too. With `flush.ms` set, the window is at most that long.
//!
//! Not modelled: files the engine writes without the seam (none on the write
//! path), and directories themselves (created directories are kept).

use crate::batch::iter_batches;
use crate::fs::{self, Fs};
use crate::{AppendOptions, BatchBuilder, LogConfig, PartitionLog, Record, Store, TopicPartition};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
struct FileState {
    /// The content as of the last fsync (`None`: no data was ever synced).
    synced: Option<Vec<u8>>,
    /// Whether the directory entry is durable (the parent was fsynced since the
    /// file was created or renamed here).
    entry_durable: bool,
    /// What the path durably held before a rename onto it that is not durable
    /// yet (`Some(None)`: nothing).
    replaced: Option<Option<Vec<u8>>>,
}

#[derive(Debug, Default)]
struct PowerState {
    files: HashMap<PathBuf, FileState>,
    /// Removed files whose removal is not durable yet, with their durable content.
    removed: HashMap<PathBuf, Option<Vec<u8>>>,
    dead: bool,
    /// Operations that change the disk (or make it durable) done so far.
    ops: u64,
    /// The power goes at this operation (it fails and so does every later one).
    cut_at: Option<u64>,
}

/// A filesystem that forgets what was not fsynced when the power goes.
#[derive(Debug, Default)]
pub(crate) struct PowerFs {
    state: Mutex<PowerState>,
}

fn dead() -> io::Error {
    io::Error::other("injected: the power is off")
}

impl PowerState {
    /// Count one operation; fails once the power is off or goes now.
    fn step(&mut self) -> io::Result<()> {
        if self.dead {
            return Err(dead());
        }
        if self.cut_at.is_some_and(|at| self.ops >= at) {
            self.dead = true;
            return Err(dead());
        }
        self.ops += 1;
        Ok(())
    }

    fn track(&mut self, path: &Path) -> &mut FileState {
        self.files.entry(path.to_path_buf()).or_insert_with(|| {
            // a file that was there before we watched is durable as it is
            match std::fs::read(path) {
                Ok(d) => FileState {
                    synced: Some(d),
                    entry_durable: true,
                    replaced: None,
                },
                Err(_) => FileState::default(),
            }
        })
    }

    fn durable_content(&self, path: &Path) -> Option<Vec<u8>> {
        match self.files.get(path) {
            Some(s) if s.entry_durable => Some(s.synced.clone().unwrap_or_default()),
            Some(s) => s.replaced.clone().flatten(),
            None => std::fs::read(path).ok(),
        }
    }
}

impl Fs for PowerFs {
    fn open_rw(&self, path: &Path, create: bool) -> io::Result<File> {
        let mut s = self.state.lock();
        s.step()?;
        s.track(path);
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
    }
    fn write_at(&self, file: &File, _path: &Path, buf: &[u8], pos: u64) -> io::Result<()> {
        self.state.lock().step()?;
        std::os::unix::fs::FileExt::write_all_at(file, buf, pos)
    }
    fn sync(&self, file: &File, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.step()?;
        file.sync_data()?;
        let now = std::fs::read(path)?;
        s.track(path).synced = Some(now);
        Ok(())
    }
    fn set_len(&self, file: &File, _path: &Path, len: u64) -> io::Result<()> {
        self.state.lock().step()?;
        file.set_len(len)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.step()?;
        for (p, f) in s.files.iter_mut() {
            if p.parent() == Some(dir) {
                f.entry_durable = true;
                f.replaced = None;
            }
        }
        s.removed.retain(|p, _| p.parent() != Some(dir));
        File::open(dir)?.sync_all()
    }
    fn sync_fs(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.step()?;
        // syncfs(2): every file and directory entry on the file system is durable.
        for (p, f) in s.files.iter_mut() {
            f.synced = std::fs::read(p).ok();
            f.entry_durable = true;
            f.replaced = None;
        }
        s.removed.clear();
        let d = File::open(dir)?;
        rustix::fs::syncfs(&d).map_err(io::Error::from)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.step()?;
        s.track(from);
        let before = s.durable_content(to);
        // Until its directory is fsynced, the old name durably holds what it held.
        let source = s.durable_content(from);
        std::fs::rename(from, to)?;
        let mut moved = s.files.remove(from).unwrap_or_default();
        if source.is_some() {
            s.removed.insert(from.to_path_buf(), source);
        }
        moved.entry_durable = false;
        moved.replaced = Some(before);
        s.files.insert(to.to_path_buf(), moved);
        Ok(())
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.step()?;
        let durable = s.durable_content(path);
        std::fs::remove_file(path)?;
        s.files.remove(path);
        s.removed.insert(path.to_path_buf(), durable);
        Ok(())
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.step()?;
        let inside: Vec<PathBuf> = s
            .files
            .keys()
            .filter(|p| p.starts_with(path))
            .cloned()
            .collect();
        for p in inside {
            let durable = s.durable_content(&p);
            s.files.remove(&p);
            s.removed.insert(p, durable);
        }
        std::fs::remove_dir_all(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.state.lock().step()?;
        std::fs::create_dir_all(path)
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        if self.state.lock().dead {
            return Err(dead());
        }
        std::fs::create_dir(path)
    }
}

/// A small deterministic generator (the cut points are reproducible by seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What a power cut does to data written since the last fsync.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tear {
    /// Dropped: the file is as its last fsync left it.
    None,
    /// An appended tail survives up to a random length.
    Tail,
    /// Each 512-byte sector written since the fsync independently survives or
    /// not (an unsynced appended sector that did not may read as zeros), and
    /// the length is anywhere between the synced and the written one.
    Sectors,
}

impl Tear {
    fn pick(rng: &mut Rng) -> Tear {
        [Tear::None, Tear::Tail, Tear::Sectors][rng.below(3) as usize]
    }
}

const SECTOR: usize = 512;

/// The content a file has after a power cut, given its durable and current bytes.
fn torn(durable: &[u8], now: &[u8], rng: &mut Rng, tear: Tear) -> Vec<u8> {
    match tear {
        Tear::None => durable.to_vec(),
        Tear::Tail => {
            let mut keep = durable.to_vec();
            if now.len() > durable.len() && now.starts_with(durable) {
                let extra = rng.below((now.len() - durable.len()) as u64 + 1) as usize;
                keep.extend_from_slice(&now[durable.len()..durable.len() + extra]);
            }
            keep
        }
        Tear::Sectors => {
            let (lo, hi) = (durable.len().min(now.len()), durable.len().max(now.len()));
            let len = lo + rng.below((hi - lo) as u64 + 1) as usize;
            let mut keep = vec![0u8; len];
            for start in (0..len).step_by(SECTOR) {
                let end = (start + SECTOR).min(len);
                let new = rng.below(2) == 0;
                for (i, b) in keep[start..end].iter_mut().enumerate() {
                    let at = start + i;
                    let byte = if new {
                        now.get(at).or(durable.get(at))
                    } else {
                        durable.get(at)
                    };
                    *b = byte.copied().unwrap_or(0);
                }
            }
            keep
        }
    }
}

impl PowerFs {
    /// A filesystem whose power goes at its `at`-th operation that changes the
    /// disk or makes it durable (that operation and every later one fail).
    fn cut_at(at: u64) -> PowerFs {
        let fs = PowerFs::default();
        fs.state.lock().cut_at = Some(at);
        fs
    }

    /// Operations counted so far.
    fn ops(&self) -> u64 {
        self.state.lock().ops
    }

    /// The power goes: every later operation fails, then each file on disk is
    /// put back to what was durable. With `tear`, an unsynced appended tail is
    /// kept up to a random length instead of dropped.
    fn cut(&self, rng: &mut Rng, tear: bool) {
        self.cut_with(rng, if tear { Tear::Tail } else { Tear::None })
    }

    /// [`PowerFs::cut`] with a choice of what happens to unsynced data.
    fn cut_with(&self, rng: &mut Rng, tear: Tear) {
        let mut s = self.state.lock();
        s.dead = true;
        let mut paths: Vec<&PathBuf> = s.files.keys().collect();
        paths.sort(); // the same cut for the same seed
        for path in paths {
            let f = &s.files[path];
            if !f.entry_durable {
                match &f.replaced {
                    Some(Some(old)) => std::fs::write(path, old).unwrap(),
                    _ => {
                        let _ = std::fs::remove_file(path);
                    }
                }
                continue;
            }
            let durable = f.synced.clone().unwrap_or_default();
            let Ok(now) = std::fs::read(path) else {
                continue;
            };
            let keep = torn(&durable, &now, rng, tear);
            if keep != now {
                std::fs::write(path, &keep).unwrap();
            }
        }
        for (path, content) in &s.removed {
            if let Some(c) = content {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, c).unwrap();
            }
        }
    }
}

fn tp() -> TopicPartition {
    TopicPartition::new("p", 0)
}

fn batch(n: usize, tag: u64) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..n {
        b.push(Record {
            offset: i as i64,
            timestamp: 1_000 + i as i64,
            key: None,
            value: Some(Bytes::from(format!("{tag}-{i}-{}", "y".repeat(60)))),
            headers: vec![],
        });
    }
    b.build().unwrap()
}

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 1_500,
        index_interval_bytes: 200,
        ..LogConfig::default()
    }
}

/// Every offset readable from the start, every batch's CRC checked.
fn offsets(log: &PartitionLog) -> Vec<i64> {
    let mut out = Vec::new();
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
                if rec.offset >= next {
                    out.push(rec.offset);
                }
            }
            next = b.last_offset() + 1;
        }
    }
    out
}

/// One run: appends (each acknowledged after its fsync when `fsync_each`,
/// with an occasional flush otherwise), the power cut at a random point, then
/// an unclean open on the real filesystem. Returns (durable offsets the run
/// promised, offsets found).
fn run(seed: u64, fsync_each: bool) -> (Vec<i64>, Vec<i64>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let dir = tempfile::tempdir().unwrap();
    // a first life on the real filesystem leaves some history behind
    {
        let store = Store::open(dir.path()).unwrap();
        let log = store.open_log(&tp(), cfg()).unwrap();
        for i in 0..rng.below(8) {
            log.append(&batch(2, i), AppendOptions::default()).unwrap();
        }
        store.close().unwrap();
    }
    let power = Arc::new(PowerFs::default());
    let mut promised: Vec<i64> = Vec::new();
    {
        let store = Store::open_with_fs(dir.path(), power.clone()).unwrap();
        let log = store.open_log(&tp(), cfg()).unwrap();
        promised.extend(log.log_start_offset()..log.log_end_offset());
        let steps = 1 + rng.below(40);
        for step in 0..steps {
            let n = 1 + rng.below(4) as usize;
            let info = log
                .append(&batch(n, 100 + step), AppendOptions::default())
                .unwrap();
            let appended_end = info.last_offset + 1;
            if fsync_each {
                log.sync_to(info.last_offset).unwrap();
                promised.extend(info.base_offset..=info.last_offset);
            } else if rng.below(5) == 0 {
                log.flush().unwrap();
                let from = promised.last().map_or(0, |o| o + 1);
                promised.extend(from..appended_end);
            }
        }
        let tear = rng.below(2) == 0;
        power.cut(&mut rng, tear);
    }
    let store = Store::open(dir.path()).unwrap();
    let log = store.open_log(&tp(), cfg()).unwrap();
    (promised, offsets(&log))
}

/// A clean close makes everything durable with one `sync_fs` (no fsync per
/// file): a power cut right after it loses nothing, and the next start trusts
/// the logs (clean marker) and finds every record.
#[test]
fn a_clean_close_then_a_power_cut_keeps_every_record() {
    for seed in 1..=30u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let dir = tempfile::tempdir().unwrap();
        let power = Arc::new(PowerFs::default());
        let written;
        {
            let store = Store::open_with_fs(dir.path(), power.clone()).unwrap();
            let log = store.open_log(&tp(), cfg()).unwrap();
            for step in 0..1 + rng.below(40) {
                let n = 1 + rng.below(4) as usize;
                log.append(&batch(n, 100 + step), AppendOptions::default())
                    .unwrap();
            }
            written = offsets(&log);
            store.close().unwrap();
        }
        let tear = rng.below(2) == 0;
        power.cut(&mut rng, tear);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.was_clean_shutdown(), "seed {seed}");
        let log = store.open_log(&tp(), cfg()).unwrap();
        assert_eq!(offsets(&log), written, "seed {seed}");
    }
}

#[test]
fn with_an_fsync_per_append_a_power_cut_loses_no_acknowledged_record() {
    for seed in 1..=60 {
        let (acked, found) = run(seed, true);
        assert!(
            found.len() >= acked.len() && found[..acked.len()] == acked[..],
            "seed {seed}: acknowledged {acked:?}, found {found:?}"
        );
        // and what is there is contiguous and whole
        assert!(
            found.windows(2).all(|w| w[1] == w[0] + 1),
            "seed {seed}: {found:?}"
        );
    }
}

#[test]
fn with_the_default_policy_a_power_cut_loses_only_what_was_not_flushed() {
    for seed in 1..=60 {
        let (flushed, found) = run(seed, false);
        assert!(
            found.len() >= flushed.len() && found[..flushed.len()] == flushed[..],
            "seed {seed}: flushed {flushed:?}, found {found:?}"
        );
        assert!(
            found.windows(2).all(|w| w[1] == w[0] + 1),
            "seed {seed}: {found:?}"
        );
    }
}

#[test]
fn power_fs_drops_unsynced_data_and_undurable_entries() {
    let dir = tempfile::tempdir().unwrap();
    let p = PowerFs::default();
    let a = dir.path().join("a");
    let f = p.open_rw(&a, true).unwrap();
    p.write_at(&f, &a, b"hello", 0).unwrap();
    p.sync(&f, &a).unwrap();
    p.sync_dir(dir.path()).unwrap();
    p.write_at(&f, &a, b" world", 5).unwrap();
    let b = dir.path().join("b");
    let g = p.open_rw(&b, true).unwrap();
    p.write_at(&g, &b, b"new", 0).unwrap();
    p.sync(&g, &b).unwrap();
    p.cut(&mut Rng(1), false);
    assert_eq!(std::fs::read(&a).unwrap(), b"hello");
    assert!(
        !b.exists(),
        "its directory was not fsynced after the create"
    );
    assert!(p.open_rw(&a, false).is_err());
    let _ = fs::real();
}

// ---------------------------------------------------------------------------
// Power cuts in the middle of an operation: a dry run counts the operations a
// workload does through the seam, then the same workload (same seed) runs on
// a filesystem whose power goes at a random one of them, and the cut drops or
// tears what was not fsynced (see [`Tear`]). The workloads cross segment rolls
// with their index and time-index trims, the log-start and recovery-point
// checkpoint rewrites, retention deletes (at once and through `.deleted`
// files), the cleaner's `.cleaned` file and swap, and the atomic rewrites of
// the broker's state files (`Store::write_checkpoint`: producer-state
// snapshot, topics, ACLs, SCRAM, quotas, dynamic configs). The group and
// transaction state is the log of `__consumer_offsets` and
// `__transaction_state` (compacted, fsynced by the coordinators before they
// answer): it is covered by the append, retention and cleaner runs.

/// A record read back: (offset, timestamp, key, value).
type Found = (i64, i64, Option<Bytes>, Option<Bytes>);

/// Every record readable from the log start, each batch's CRC checked, then
/// each one looked up again through the offset index (a read at its offset
/// must start with the batch holding it) and its timestamp through the time
/// index (the first offset at or after it, as a scan finds it).
fn scan(log: &PartitionLog, seed: u64) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let r = log.read(next, 1 << 20, None).unwrap();
        if r.records.is_empty() {
            break;
        }
        for b in iter_batches(&r.records) {
            let b = b.unwrap();
            b.validate_crc()
                .unwrap_or_else(|e| panic!("seed {seed}: torn batch served: {e}"));
            for rec in b.records().unwrap() {
                if rec.offset >= next {
                    out.push((rec.offset, rec.timestamp, rec.key, rec.value));
                }
            }
            next = b.last_offset() + 1;
        }
    }
    assert!(
        out.windows(2).all(|w| w[0].0 < w[1].0),
        "seed {seed}: offsets out of order or repeated"
    );
    for (offset, ..) in &out {
        let r = log.read(*offset, 1, None).unwrap();
        let first = iter_batches(&r.records).next();
        let b = first
            .unwrap_or_else(|| panic!("seed {seed}: offset {offset} not found by index"))
            .unwrap();
        assert!(
            b.base_offset() <= *offset && *offset <= b.last_offset(),
            "seed {seed}: index lookup of {offset} gave [{}, {}]",
            b.base_offset(),
            b.last_offset()
        );
    }
    for (i, (_, ts, ..)) in out.iter().enumerate() {
        let want = out[..=i]
            .iter()
            .find(|r| r.1 >= *ts)
            .map(|r| (r.0, r.1))
            .unwrap();
        assert_eq!(
            log.offset_for_timestamp(*ts).unwrap(),
            Some(want),
            "seed {seed}: time index lookup of {ts}"
        );
    }
    out
}

/// A batch of `n` records with increasing timestamps from `ts`, keyed by
/// `key(i)`, each value unique to `tag`.
fn keyed_batch(n: usize, tag: u64, ts: i64, key: impl Fn(usize) -> Option<u64>) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..n {
        b.push(Record {
            offset: i as i64,
            timestamp: ts + i as i64,
            key: key(i).map(|k| Bytes::from(format!("k{k}"))),
            value: Some(Bytes::from(format!("{tag}-{i}-{}", "z".repeat(40)))),
            headers: vec![],
        });
    }
    b.build().unwrap()
}

/// Small segments and small preallocated indexes (many rolls, index trims and
/// unseals), deletes at once or through `.deleted` files, flush as given.
fn cut_cfg(rng: &mut Rng, flush: crate::FlushPolicy) -> LogConfig {
    LogConfig {
        segment_bytes: 1_200,
        index_interval_bytes: 150,
        max_index_bytes: 4_096,
        file_delete_delay_ms: if rng.below(2) == 0 { 0 } else { 60_000 },
        flush,
        ..LogConfig::default()
    }
}

const EVERY_MESSAGE: crate::FlushPolicy = crate::FlushPolicy {
    messages: Some(1),
    interval_ms: None,
};

/// Run `work` once to count its operations, then again (same seed, fresh
/// directory, same first life from `setup`) with the power going at a random
/// one of them; returns the directory after the cut and what `work` noted as
/// done before it.
fn cut_run<M: Default>(
    seed: u64,
    setup: impl Fn(&Path, &mut Rng),
    work: impl Fn(&Store, &mut Rng, &mut M) -> crate::error::Result<()>,
) -> (tempfile::TempDir, M, u64) {
    let total = {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path(), &mut Rng(seed | 1));
        let power = Arc::new(PowerFs::default());
        let store = Store::open_with_fs(dir.path(), power.clone()).unwrap();
        work(
            &store,
            &mut Rng(seed.wrapping_mul(31) | 1),
            &mut M::default(),
        )
        .unwrap_or_else(|e| panic!("seed {seed}: uncut run failed: {e}"));
        let n = power.ops();
        drop(store);
        n
    };
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let at = rng.below(total + 1);
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), &mut Rng(seed | 1));
    let power = Arc::new(PowerFs::cut_at(at));
    let mut model = M::default();
    if let Ok(store) = Store::open_with_fs(dir.path(), power.clone()) {
        let _ = work(&store, &mut Rng(seed.wrapping_mul(31) | 1), &mut model);
        let tear = Tear::pick(&mut rng);
        power.cut_with(&mut rng, tear);
        drop(store);
    } else {
        power.cut_with(&mut rng, Tear::None);
    }
    (dir, model, at)
}

/// A first life on the real filesystem: a few segments of history.
fn history(dir: &Path, rng: &mut Rng) {
    let store = Store::open(dir).unwrap();
    let log = store
        .open_log(&tp(), cut_cfg(&mut Rng(1), crate::FlushPolicy::NEVER))
        .unwrap();
    let n = rng.below(12);
    for i in 0..n {
        let ts = log.log_end_offset() * 10;
        log.append(
            &keyed_batch(2, i, ts, |j| Some((i + j as u64) % 5)),
            AppendOptions::default(),
        )
        .unwrap();
    }
    store.close().unwrap();
}

/// What a retention run promised.
#[derive(Default, Debug)]
struct Retained {
    /// Offsets acknowledged (after their fsync), in order.
    acked: Vec<i64>,
    /// The log start after the last completed delete.
    start: i64,
    /// The log end when a delete was under way at the cut (its new start is at most that).
    deleting_upto: Option<i64>,
}

/// Appends acknowledged as the broker does under `flush.messages=1` (fsync
/// before the answer) mixed with retention deletes of the oldest segments.
fn retention_work(store: &Store, rng: &mut Rng, m: &mut Retained) -> crate::error::Result<()> {
    let cfg = cut_cfg(rng, EVERY_MESSAGE);
    let log = store.open_log(&tp(), cfg)?;
    m.start = log.log_start_offset();
    m.acked.extend(log.log_start_offset()..log.log_end_offset());
    for step in 0..1 + rng.below(30) {
        if rng.below(5) == 0 {
            let end = log.log_end_offset();
            m.deleting_upto = Some(end);
            m.start = if rng.below(2) == 0 {
                log.delete_oldest_segments(1 + rng.below(2) as usize)?
            } else {
                // DeleteRecords: anywhere, mid-segment included
                let start = log.log_start_offset();
                log.advance_log_start_offset(start + rng.below((end - start) as u64 + 1) as i64)?
            };
            m.deleting_upto = None;
        } else {
            let n = 1 + rng.below(4) as usize;
            let ts = log.log_end_offset() * 10;
            let info = log.append(
                &keyed_batch(n, 100 + step, ts, |i| Some((step + i as u64) % 5)),
                AppendOptions::default(),
            )?;
            if log.flush_due() {
                log.sync_to(info.last_offset)?;
            }
            m.acked.extend(info.base_offset..=info.last_offset);
        }
    }
    Ok(())
}

#[test]
fn a_power_cut_during_appends_rolls_and_deletes_loses_no_acknowledged_record() {
    for seed in 1..=150u64 {
        let (dir, m, at) = cut_run(seed, history, retention_work);
        let store = Store::open(dir.path()).unwrap();
        let log = store
            .open_log(&tp(), cut_cfg(&mut Rng(1), EVERY_MESSAGE))
            .unwrap();
        let found = scan(&log, seed);
        let start = log.log_start_offset();
        let ctx = format!(
            "seed {seed} (cut at op {at}): {m:?}, start {start}, found {:?}",
            found.iter().map(|r| r.0).collect::<Vec<_>>()
        );
        // a completed delete stays done; one under way went at most as far as asked
        assert!(start >= m.start, "{ctx}");
        assert!(start <= m.deleting_upto.unwrap_or(m.start), "{ctx}");
        // every acknowledged offset at or after the start is there, contiguous
        let want: Vec<i64> = m.acked.iter().copied().filter(|&o| o >= start).collect();
        let got: Vec<i64> = found.iter().map(|r| r.0).collect();
        assert!(
            got.len() >= want.len() && got[..want.len()] == want[..],
            "{ctx}"
        );
        assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "{ctx}");
        if let Some(first) = got.first() {
            assert_eq!(*first, start, "{ctx}");
        }
        drop(log);
        store.close().unwrap();
    }
}

/// What a cleaner run wrote and promised.
#[derive(Default, Debug)]
struct Compacted {
    /// Every record appended (acknowledged or not): offset -> (key, value).
    written: HashMap<i64, (Option<Bytes>, Option<Bytes>)>,
    /// Offsets acknowledged (after their fsync).
    acked: Vec<i64>,
}

/// Keyed appends under `flush.messages=1` with forced cleaner passes between
/// them (each pass writes `.cleaned` files, swaps them in and moves its checkpoint).
fn cleaner_work(store: &Store, rng: &mut Rng, m: &mut Compacted) -> crate::error::Result<()> {
    let cfg = cut_cfg(rng, EVERY_MESSAGE);
    let log = store.open_log(&tp(), cfg)?;
    for r in scan(&log, 0) {
        m.written.insert(r.0, (r.2, r.3));
        m.acked.push(r.0);
    }
    let cleaner = crate::CleanerConfig {
        min_cleanable_dirty_ratio: 0.0,
        segment_bytes: 1 + rng.below(4_000),
        ..crate::CleanerConfig::default()
    };
    for step in 0..1 + rng.below(30) {
        if rng.below(4) == 0 {
            crate::cleaner::clean(&log, &cleaner, log.log_end_offset(), true)?;
        } else {
            let n = 1 + rng.below(4) as usize;
            let ts = log.log_end_offset() * 10;
            let keys = 1 + rng.below(6);
            let data = keyed_batch(n, 100 + step, ts, |i| Some((step + i as u64) % keys));
            let base = log.log_end_offset();
            let h = iter_batches(&data).next().unwrap().unwrap();
            for (i, r) in h.records().unwrap().into_iter().enumerate() {
                m.written.insert(base + i as i64, (r.key, r.value));
            }
            let info = log.append(&data, AppendOptions::default())?;
            if log.flush_due() {
                log.sync_to(info.last_offset)?;
            }
            m.acked.extend(info.base_offset..=info.last_offset);
        }
    }
    Ok(())
}

/// After a cut: what is there was written (never a mix of old and cleaned
/// data, never both), and the latest acknowledged record of every key is there.
fn check_compacted(log: &PartitionLog, m: &Compacted, ctx: &str) {
    let found = scan(log, 0);
    for (offset, _, key, value) in &found {
        assert_eq!(
            m.written.get(offset),
            Some(&(key.clone(), value.clone())),
            "{ctx}: offset {offset} holds what was never written there"
        );
    }
    let mut latest: HashMap<Option<Bytes>, i64> = HashMap::new();
    for o in &m.acked {
        latest.insert(m.written[o].0.clone(), *o);
    }
    let start = log.log_start_offset();
    for (key, o) in latest {
        if o >= start {
            assert!(
                found.iter().any(|r| r.0 == o),
                "{ctx}: the latest record of {key:?} (offset {o}) is gone"
            );
        }
    }
}

#[test]
fn a_power_cut_during_cleaning_keeps_the_old_or_the_cleaned_segments() {
    for seed in 1..=150u64 {
        let (dir, mut m, at) = cut_run(seed, history, cleaner_work);
        if m.acked.is_empty() {
            // the power went before the run read its history: the same history
            let before = tempfile::tempdir().unwrap();
            history(before.path(), &mut Rng(seed | 1));
            let store = Store::open(before.path()).unwrap();
            let log = store
                .open_log(&tp(), cut_cfg(&mut Rng(1), EVERY_MESSAGE))
                .unwrap();
            for r in scan(&log, seed) {
                m.written.insert(r.0, (r.2, r.3));
                m.acked.push(r.0);
            }
        }
        let ctx = format!("seed {seed} (cut at op {at})");
        let store = Store::open(dir.path()).unwrap();
        let log = store
            .open_log(&tp(), cut_cfg(&mut Rng(1), EVERY_MESSAGE))
            .unwrap();
        check_compacted(&log, &m, &ctx);
        // the interrupted pass left nothing that stops the next one
        let cleaner = crate::CleanerConfig {
            min_cleanable_dirty_ratio: 0.0,
            ..crate::CleanerConfig::default()
        };
        crate::cleaner::clean(&log, &cleaner, log.log_end_offset(), true).unwrap();
        check_compacted(&log, &m, &format!("{ctx}, cleaned again"));
        drop(log);
        store.close().unwrap();
    }
}

/// The broker's state files by name (one in a subdirectory, as a checkpoint
/// name may be): what was last written completely, and what was being written.
#[derive(Default, Debug)]
struct Checkpoints {
    done: HashMap<&'static str, Vec<u8>>,
    writing: Option<(&'static str, Vec<u8>)>,
}

const STATE_FILES: [&str; 3] = [
    "weir-producer-state.checkpoint",
    "weir-topics.checkpoint",
    "groups/weir-share.checkpoint",
];

/// Rewrites of the state files (each a different length, so a torn one
/// shows) between fsynced appends.
fn checkpoint_work(store: &Store, rng: &mut Rng, m: &mut Checkpoints) -> crate::error::Result<()> {
    let log = store.open_log(&tp(), cut_cfg(rng, EVERY_MESSAGE))?;
    for step in 0..1 + rng.below(20) {
        if rng.below(3) == 0 {
            let info = log.append(
                &keyed_batch(2, step, log.log_end_offset() * 10, |_| None),
                AppendOptions::default(),
            )?;
            log.sync_to(info.last_offset)?;
        } else {
            let name = STATE_FILES[rng.below(3) as usize];
            let len = 1 + rng.below(3 * SECTOR as u64) as usize;
            let data: Vec<u8> = (0..len).map(|i| (step as usize * 7 + i) as u8).collect();
            m.writing = Some((name, data.clone()));
            store.write_checkpoint(name, &data)?;
            m.writing = None;
            m.done.insert(name, data);
        }
    }
    Ok(())
}

#[test]
fn a_power_cut_during_a_state_file_rewrite_leaves_the_old_or_the_new_file() {
    for seed in 1..=200u64 {
        let (dir, m, at) = cut_run(seed, |_: &Path, _: &mut Rng| {}, checkpoint_work);
        let store = Store::open(dir.path()).unwrap();
        for name in STATE_FILES {
            let got = store.read_checkpoint(name).unwrap();
            let old = m.done.get(name);
            let new = m.writing.as_ref().filter(|w| w.0 == name).map(|w| &w.1);
            assert!(
                got.as_ref() == old || (new.is_some() && got.as_ref() == new),
                "seed {seed} (cut at op {at}): {name} is {:?} bytes, was {:?}, writing {:?}",
                got.as_ref().map(Vec::len),
                old.map(Vec::len),
                new.map(Vec::len)
            );
        }
        store.close().unwrap();
    }
}

/// Under the default policy (no fsync before the answer) with cuts in the
/// middle of appends, rolls and flushes: exactly what a completed flush
/// covered survives (the recovery point), what came after may be lost (a
/// suffix, never a hole), and nothing torn is served.
#[test]
fn with_the_default_policy_a_cut_mid_operation_loses_only_a_suffix_after_the_last_flush() {
    #[derive(Default, Debug)]
    struct Flushed {
        flushed: i64,
        written: i64,
    }
    fn work(store: &Store, rng: &mut Rng, m: &mut Flushed) -> crate::error::Result<()> {
        let log = store.open_log(&tp(), cut_cfg(rng, crate::FlushPolicy::NEVER))?;
        m.flushed = log.log_end_offset();
        for step in 0..1 + rng.below(40) {
            let n = 1 + rng.below(4) as usize;
            let ts = log.log_end_offset() * 10;
            let info = log.append(
                &keyed_batch(n, 100 + step, ts, |_| None),
                AppendOptions::default(),
            )?;
            m.written = info.last_offset + 1;
            if rng.below(6) == 0 {
                log.flush()?;
                m.flushed = m.written;
            }
        }
        Ok(())
    }
    for seed in 1..=150u64 {
        let (dir, m, at) = cut_run(seed, history, work);
        let store = Store::open(dir.path()).unwrap();
        let log = store
            .open_log(&tp(), cut_cfg(&mut Rng(1), crate::FlushPolicy::NEVER))
            .unwrap();
        let got: Vec<i64> = scan(&log, seed).iter().map(|r| r.0).collect();
        let ctx = format!("seed {seed} (cut at op {at}): {m:?}, found {got:?}");
        assert_eq!(got.first().copied().unwrap_or(0), 0, "{ctx}");
        assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "{ctx}");
        assert!(got.len() as i64 >= m.flushed, "{ctx}");
        drop(log);
        store.close().unwrap();
    }
}
