//! Power-loss tests through the filesystem seam. A SIGKILL keeps the page
//! cache; a power cut does not. [`PowerFs`] remembers, per file, what its last
//! fsync made durable and, per directory, which entries (creates, renames,
//! removals) its last fsync made durable; [`PowerFs::cut`] then drops exactly
//! what was not durable (a file created or renamed since its directory's
//! fsync loses its entry; a file's unsynced bytes are dropped or, for an
//! appended tail, torn at a random length), in the spirit of ALICE and of the
//! crash tests of fjall and raft-engine. Randomized cut points run over
//! appends (with a segment roll every few batches, so segment creation, index
//! and checkpoint rewrites are crossed) under `log.flush.interval.messages=1`
//! (every acknowledged append waited for its fsync): not one acknowledged
//! record may be lost, and nothing torn may be served. Under the default
//! policy (no fsync before the acknowledgement) only what was not yet flushed
//! may be lost: what the last flush covered survives.
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
        if s.dead {
            return Err(dead());
        }
        s.track(path);
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
    }
    fn write_at(&self, file: &File, _path: &Path, buf: &[u8], pos: u64) -> io::Result<()> {
        if self.state.lock().dead {
            return Err(dead());
        }
        std::os::unix::fs::FileExt::write_all_at(file, buf, pos)
    }
    fn sync(&self, file: &File, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        if s.dead {
            return Err(dead());
        }
        file.sync_data()?;
        let now = std::fs::read(path)?;
        s.track(path).synced = Some(now);
        Ok(())
    }
    fn set_len(&self, file: &File, _path: &Path, len: u64) -> io::Result<()> {
        if self.state.lock().dead {
            return Err(dead());
        }
        file.set_len(len)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        if s.dead {
            return Err(dead());
        }
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
        if s.dead {
            return Err(dead());
        }
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
        if s.dead {
            return Err(dead());
        }
        s.track(from);
        let before = s.durable_content(to);
        std::fs::rename(from, to)?;
        let mut moved = s.files.remove(from).unwrap_or_default();
        moved.entry_durable = false;
        moved.replaced = Some(before);
        s.files.insert(to.to_path_buf(), moved);
        Ok(())
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        if s.dead {
            return Err(dead());
        }
        let durable = s.durable_content(path);
        std::fs::remove_file(path)?;
        s.files.remove(path);
        s.removed.insert(path.to_path_buf(), durable);
        Ok(())
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        if s.dead {
            return Err(dead());
        }
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
        if self.state.lock().dead {
            return Err(dead());
        }
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

impl PowerFs {
    /// The power goes: every later operation fails, then each file on disk is
    /// put back to what was durable. With `tear`, an unsynced appended tail is
    /// kept up to a random length instead of dropped.
    fn cut(&self, rng: &mut Rng, tear: bool) {
        let mut s = self.state.lock();
        s.dead = true;
        for (path, f) in &s.files {
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
            let mut keep = durable.clone();
            if tear && now.len() > durable.len() && now.starts_with(&durable) {
                let extra = rng.below((now.len() - durable.len()) as u64 + 1) as usize;
                keep.extend_from_slice(&now[durable.len()..durable.len() + extra]);
            }
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
