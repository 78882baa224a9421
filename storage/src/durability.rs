//! Durability helpers: atomic rewrite of small files (temp file, fsync, rename,
//! fsync dir), checksummed checkpoint encoding (CRC-32 IEEE, weir's own files),
//! and the group-commit gate that lets many waiters share one fsync.

use crate::error::{Result, StorageError};
use crate::fs::Fs;
use parking_lot::{Condvar, Mutex};
use std::path::Path;

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> StorageError {
    StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Atomically replace `path` with `data`: write `path.tmp`, fsync it, rename over
/// `path`, fsync the directory. A crash leaves either the old or the new file.
pub(crate) fn atomic_write(fs: &dyn Fs, path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().ok_or_else(|| StorageError::Corrupt {
        path: path.to_path_buf(),
        reason: "checkpoint path has no parent directory".into(),
    })?;
    // A unique temp name, so two writers of the same file never collide.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}-{n}.tmp", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let f = fs.open_rw(&tmp, true).map_err(|e| io_err(&tmp, e))?;
    fs.set_len(&f, &tmp, 0).map_err(|e| io_err(&tmp, e))?;
    fs.write_at(&f, &tmp, data, 0)
        .map_err(|e| io_err(&tmp, e))?;
    fs.sync(&f, &tmp).map_err(|e| io_err(&tmp, e))?;
    drop(f);
    fs.rename(&tmp, path).map_err(|e| io_err(path, e))?;
    fs.sync_dir(dir).map_err(|e| io_err(dir, e))?;
    Ok(())
}

/// Frame a checkpoint payload with a trailing CRC-32 (IEEE) so a damaged file is
/// detected rather than trusted.
pub(crate) fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = payload.to_vec();
    out.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    out
}

/// Check and strip the trailing CRC added by [`seal`].
pub(crate) fn unseal(data: &[u8]) -> Option<&[u8]> {
    if data.len() < 4 {
        return None;
    }
    let (payload, crc) = data.split_at(data.len() - 4);
    (crc32fast::hash(payload).to_be_bytes() == crc).then_some(payload)
}

/// Group commit: callers wanting "durable up to offset N" share fsyncs. One
/// caller at a time runs the fsync (the leader) for everything appended so far;
/// the others wait on the condvar and return when a finished fsync covers them.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: Mutex<GcState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct GcState {
    /// Everything below this offset is durable.
    durable: i64,
    in_progress: bool,
    /// Bumped when a sync fails, so waiters do not spin on a broken disk.
    failures: u64,
    /// Bumped by `lower_to`: a sync that started before a truncation must not
    /// raise the durable mark past the new end.
    generation: u64,
}

impl GroupCommit {
    pub(crate) fn new(durable: i64) -> Self {
        GroupCommit {
            state: Mutex::new(GcState {
                durable,
                in_progress: false,
                failures: 0,
                generation: 0,
            }),
            done: Condvar::new(),
        }
    }

    pub(crate) fn durable(&self) -> i64 {
        self.state.lock().durable
    }

    /// Lower the durable mark (after truncation).
    pub(crate) fn lower_to(&self, offset: i64) {
        let mut s = self.state.lock();
        s.durable = s.durable.min(offset);
        s.generation += 1;
    }

    /// Make everything below `end` durable, where `sync` fsyncs all data appended
    /// so far and returns the end offset it covered.
    pub(crate) fn sync_to(&self, end: i64, sync: impl FnOnce() -> Result<i64>) -> Result<()> {
        let mut s = self.state.lock();
        let failures_at_start = s.failures;
        loop {
            if s.durable >= end {
                return Ok(());
            }
            if !s.in_progress {
                break;
            }
            self.done.wait(&mut s);
            if s.failures != failures_at_start && !s.in_progress && s.durable < end {
                // The fsync we were waiting on failed; try ourselves once below.
                break;
            }
        }
        s.in_progress = true;
        let generation = s.generation;
        drop(s);
        let result = sync();
        let mut s = self.state.lock();
        s.in_progress = false;
        let out = match result {
            Ok(covered) => {
                // The sync covered everything appended when it started; an `end`
                // past that was never appended, so there is nothing more to wait for.
                if s.generation == generation {
                    s.durable = s.durable.max(covered);
                }
                Ok(())
            }
            Err(e) => {
                s.failures += 1;
                Err(e)
            }
        };
        drop(s);
        self.done.notify_all();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::RealFs;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cp");
        atomic_write(&RealFs, &p, b"one").unwrap();
        atomic_write(&RealFs, &p, b"two!").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two!");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp file left behind");
    }

    #[test]
    fn seal_detects_damage() {
        let mut s = seal(b"hello");
        assert_eq!(unseal(&s), Some(&b"hello"[..]));
        s[1] ^= 1;
        assert_eq!(unseal(&s), None);
        assert_eq!(unseal(b"ab"), None);
    }

    #[test]
    fn many_waiters_share_fsyncs() {
        let gc = Arc::new(GroupCommit::new(0));
        let syncs = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (1..=16)
            .map(|i| {
                let gc = gc.clone();
                let syncs = syncs.clone();
                std::thread::spawn(move || {
                    gc.sync_to(i, || {
                        syncs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        Ok(16)
                    })
                    .unwrap()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(gc.durable(), 16);
        assert!(syncs.load(Ordering::SeqCst) < 16, "fsyncs were shared");
    }
}
