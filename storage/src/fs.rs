//! The filesystem seam: every write, fsync, length change, rename and removal the
//! log engine does goes through [`Fs`], so tests can inject faults (a write cut
//! half-way, a failing fsync) and then reopen and check what survived.
//! Reads go through the memory maps in [`crate::mmap`].
//!
//! [`Guarded`] wraps the store's [`Fs`] and watches its errors as Kafka's
//! `LogDirFailureChannel` does: an EIO from a write, fsync, length change or
//! rename takes the data dir offline ([`DirHealth`]): every later write fails
//! at once and every log answers [`crate::StorageError::LogDirOffline`], reads
//! included (what was written may not be what is on disk). A full disk
//! (ENOSPC, EDQUOT) is not a failure of the dir: the write fails, later ones
//! are tried again; it is reported once until a write succeeds.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Filesystem operations used by the write path.
pub(crate) trait Fs: Send + Sync + std::fmt::Debug {
    /// Open for read+write, creating if asked.
    fn open_rw(&self, path: &Path, create: bool) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
    }
    /// Write all of `buf` at `pos` (pwrite).
    fn write_at(&self, file: &File, path: &Path, buf: &[u8], pos: u64) -> io::Result<()> {
        let _ = path;
        file.write_all_at(buf, pos)
    }
    /// Write `parts` one after the other, all of them, from `pos`: what
    /// [`Fs::write_at`] of their concatenation does (fault-injecting test
    /// filesystems see exactly that). The real filesystem writes them with
    /// `pwritev`, so an append can patch batch headers in small buffers instead
    /// of copying whole record sets.
    fn write_parts_at(
        &self,
        file: &File,
        path: &Path,
        parts: &[&[u8]],
        pos: u64,
    ) -> io::Result<()> {
        self.write_at(file, path, &parts.concat(), pos)
    }
    /// fsync the file's data (fdatasync).
    fn sync(&self, file: &File, path: &Path) -> io::Result<()> {
        let _ = path;
        file.sync_data()
    }
    fn set_len(&self, file: &File, path: &Path, len: u64) -> io::Result<()> {
        let _ = path;
        file.set_len(len)
    }
    /// Reserve disk blocks for `[pos, pos + len)` without changing the file's
    /// size (`fallocate(FALLOC_FL_KEEP_SIZE)`): a hint that saves the
    /// filesystem its per-page delayed-allocation work on the writes that
    /// follow. Test filesystems ignore it (the default); only the real one
    /// preallocates.
    fn preallocate(&self, file: &File, path: &Path, pos: u64, len: u64) -> io::Result<()> {
        let _ = (file, path, pos, len);
        Ok(())
    }
    /// fsync a directory (makes creates, renames and removals in it durable).
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }
    /// mkdir(2) of one directory (`AlreadyExists` when it is there): one
    /// syscall where `create_dir_all` of an existing directory takes three.
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }
    /// Make everything written on the file system holding `dir` durable
    /// (`syncfs(2)`): the clean shutdown's one sync instead of one per file.
    fn sync_fs(&self, dir: &Path) -> io::Result<()> {
        let d = File::open(dir)?;
        rustix::fs::syncfs(&d).map_err(io::Error::from)
    }
    /// Whether the data dir was taken offline by an I/O error ([`Guarded`]).
    fn offline(&self) -> bool {
        false
    }
}

/// What the data dir's [`DirHealth`] reports to its listener.
#[derive(Debug, Clone)]
pub enum FsEvent {
    /// An I/O error (EIO) took the data dir offline; reported once.
    Offline { path: PathBuf, error: String },
    /// A write found the disk full; reported again only after a write succeeded.
    DiskFull { path: PathBuf, error: String },
}

type Listener = Box<dyn Fn(&FsEvent) + Send + Sync>;

/// Whether the data dir is usable, and who is told when that changes.
#[derive(Default)]
pub struct DirHealth {
    offline: AtomicBool,
    reason: OnceLock<String>,
    disk_full: AtomicBool,
    listener: OnceLock<Listener>,
}

impl std::fmt::Debug for DirHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirHealth")
            .field("offline", &self.offline.load(Ordering::Relaxed))
            .finish()
    }
}

impl DirHealth {
    /// Why the dir went offline, once it has.
    pub fn offline_reason(&self) -> Option<&str> {
        if self.offline.load(Ordering::Acquire) {
            self.reason.get().map(String::as_str)
        } else {
            None
        }
    }

    /// Call `f` on every [`FsEvent`] from now on (the first listener set wins).
    pub fn set_listener(&self, f: impl Fn(&FsEvent) + Send + Sync + 'static) {
        let _ = self.listener.set(Box::new(f));
    }

    fn tell(&self, event: FsEvent) {
        if let Some(l) = self.listener.get() {
            l(&event);
        }
    }

    /// Look at the outcome of one write-path operation on `path`.
    fn check<T>(&self, path: &Path, r: io::Result<T>) -> io::Result<T> {
        match &r {
            Ok(_) => {
                if self.disk_full.load(Ordering::Relaxed) {
                    self.disk_full.store(false, Ordering::Relaxed);
                }
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::EIO) => {
                    let reason = format!("{}: {e}", path.display());
                    if self.reason.set(reason).is_ok() {
                        self.offline.store(true, Ordering::Release);
                        self.tell(FsEvent::Offline {
                            path: path.to_path_buf(),
                            error: e.to_string(),
                        });
                    }
                }
                Some(libc::ENOSPC) | Some(libc::EDQUOT)
                    if !self.disk_full.swap(true, Ordering::Relaxed) =>
                {
                    self.tell(FsEvent::DiskFull {
                        path: path.to_path_buf(),
                        error: e.to_string(),
                    });
                }
                _ => {}
            },
        }
        r
    }

    /// Report an error on `path` as if a write had returned it (for tests of
    /// what the broker answers once the dir is offline).
    #[doc(hidden)]
    pub fn report_io_error(&self, path: &Path, error: io::Error) {
        let _ = self.check::<()>(path, Err(error));
    }

    fn refuse(&self, path: &Path) -> io::Result<()> {
        if self.offline.load(Ordering::Acquire) {
            return Err(io::Error::other(format!(
                "log directory is offline after an I/O error ({}); not writing {}",
                self.reason.get().map_or("", String::as_str),
                path.display()
            )));
        }
        Ok(())
    }
}

/// The store's [`Fs`]: the inner one, watched by a [`DirHealth`].
#[derive(Debug)]
pub(crate) struct Guarded {
    inner: Arc<dyn Fs>,
    health: Arc<DirHealth>,
}

impl Guarded {
    pub(crate) fn new(inner: Arc<dyn Fs>, health: Arc<DirHealth>) -> Guarded {
        Guarded { inner, health }
    }
}

impl Fs for Guarded {
    fn open_rw(&self, path: &Path, create: bool) -> io::Result<File> {
        if create {
            self.health.refuse(path)?;
        }
        self.inner.open_rw(path, create)
    }
    fn write_at(&self, file: &File, path: &Path, buf: &[u8], pos: u64) -> io::Result<()> {
        self.health.refuse(path)?;
        self.health
            .check(path, self.inner.write_at(file, path, buf, pos))
    }
    fn write_parts_at(
        &self,
        file: &File,
        path: &Path,
        parts: &[&[u8]],
        pos: u64,
    ) -> io::Result<()> {
        self.health.refuse(path)?;
        self.health
            .check(path, self.inner.write_parts_at(file, path, parts, pos))
    }
    fn sync(&self, file: &File, path: &Path) -> io::Result<()> {
        self.health.refuse(path)?;
        self.health.check(path, self.inner.sync(file, path))
    }
    fn set_len(&self, file: &File, path: &Path, len: u64) -> io::Result<()> {
        self.health.refuse(path)?;
        self.health.check(path, self.inner.set_len(file, path, len))
    }
    fn preallocate(&self, file: &File, path: &Path, pos: u64, len: u64) -> io::Result<()> {
        // A hint: its failure (ENOSPC, EOPNOTSUPP) does not mark the directory failed.
        self.health.refuse(path)?;
        self.inner.preallocate(file, path, pos, len)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.health.refuse(dir)?;
        self.health.check(dir, self.inner.sync_dir(dir))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.health.refuse(to)?;
        self.health.check(to, self.inner.rename(from, to))
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.health.refuse(path)?;
        self.inner.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.health.refuse(path)?;
        self.inner.remove_dir_all(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.health.refuse(path)?;
        self.inner.create_dir_all(path)
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        self.health.refuse(path)?;
        self.inner.create_dir(path)
    }
    fn sync_fs(&self, dir: &Path) -> io::Result<()> {
        self.health.refuse(dir)?;
        self.health.check(dir, self.inner.sync_fs(dir))
    }
    fn offline(&self) -> bool {
        self.health.offline.load(Ordering::Relaxed)
    }
}

/// The real filesystem.
#[derive(Debug, Default)]
pub(crate) struct RealFs;

impl Fs for RealFs {
    fn write_parts_at(
        &self,
        file: &File,
        path: &Path,
        parts: &[&[u8]],
        pos: u64,
    ) -> io::Result<()> {
        let _ = path;
        write_all_vectored_at(file, parts, pos)
    }
    fn preallocate(&self, file: &File, path: &Path, pos: u64, len: u64) -> io::Result<()> {
        let _ = path;
        rustix::fs::fallocate(file, rustix::fs::FallocateFlags::KEEP_SIZE, pos, len)
            .map_err(io::Error::from)
    }
}

/// `pwritev` until every byte of `parts` is written (short writes and EINTR
/// resume where they stopped), up to [`IOV_CHUNK`] parts per call from an
/// array on the stack: no allocation on the produce path.
fn write_all_vectored_at(file: &File, parts: &[&[u8]], mut pos: u64) -> io::Result<()> {
    // Where the unwritten bytes start: part `first`, from byte `skip` in it.
    let (mut first, mut skip) = (0, 0);
    while first < parts.len() {
        let mut iov = [io::IoSlice::new(&[]); IOV_CHUNK];
        let mut k = 0;
        for (n, p) in parts[first..].iter().enumerate() {
            if k == IOV_CHUNK {
                break;
            }
            let p = if n == 0 { &p[skip..] } else { p };
            if !p.is_empty() {
                iov[k] = io::IoSlice::new(p);
                k += 1;
            }
        }
        if k == 0 {
            break; // only empty parts are left
        }
        let mut n = match rustix::io::pwritev(file, &iov[..k], pos) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        pos += n as u64;
        while n > 0 || (first < parts.len() && parts[first].len() == skip) {
            let left = parts[first].len() - skip;
            if left <= n {
                n -= left;
                first += 1;
                skip = 0;
            } else {
                skip += n;
                n = 0;
            }
        }
    }
    Ok(())
}

/// Parts per `pwritev` call (a record set of one batch is two parts).
const IOV_CHUNK: usize = 16;

pub(crate) fn real() -> Arc<dyn Fs> {
    Arc::new(RealFs)
}

#[cfg(test)]
pub(crate) mod faulty {
    //! A fault-injecting [`Fs`] for crash tests.
    use super::*;
    use parking_lot::Mutex;

    #[derive(Debug, Default)]
    pub(crate) struct Faults {
        /// The next write to a path ending in this suffix writes only this many
        /// bytes, then fails (a torn write).
        pub cut_next_write: Option<(String, usize)>,
        /// Every fsync fails while set.
        pub fail_sync: bool,
        /// Set after a cut write when `die_after_cut`: every later write,
        /// length change and fsync fails, as if the process had died there.
        pub dead: bool,
        pub die_after_cut: bool,
        /// A rename whose target ends in this suffix does not happen and the
        /// process "dies" there (later writes, renames and removals fail).
        pub die_at_rename_to: Option<String>,
        /// Writes, fsyncs and length changes of paths ending in this suffix fail
        /// with this OS error (EIO, ENOSPC) while set, without doing anything.
        pub os_error: Option<(String, i32)>,
    }

    impl FaultyFs {
        fn check_alive(&self) -> io::Result<()> {
            if self.faults.lock().dead {
                return Err(io::Error::other("injected: process is dead"));
            }
            Ok(())
        }

        fn check_os_error(&self, path: &Path) -> io::Result<()> {
            if let Some((suffix, errno)) = &self.faults.lock().os_error {
                if path.to_string_lossy().ends_with(suffix.as_str()) {
                    return Err(io::Error::from_raw_os_error(*errno));
                }
            }
            Ok(())
        }
    }

    #[derive(Debug, Default)]
    pub(crate) struct FaultyFs {
        pub faults: Mutex<Faults>,
    }

    impl Fs for FaultyFs {
        fn write_at(&self, file: &File, path: &Path, buf: &[u8], pos: u64) -> io::Result<()> {
            self.check_alive()?;
            self.check_os_error(path)?;
            let mut f = self.faults.lock();
            if let Some((suffix, keep)) = f.cut_next_write.clone() {
                if path.to_string_lossy().ends_with(&suffix) {
                    f.cut_next_write = None;
                    f.dead = f.die_after_cut;
                    file.write_all_at(&buf[..keep.min(buf.len())], pos)?;
                    return Err(io::Error::other("injected: write cut short"));
                }
            }
            file.write_all_at(buf, pos)
        }
        fn set_len(&self, file: &File, path: &Path, len: u64) -> io::Result<()> {
            self.check_alive()?;
            self.check_os_error(path)?;
            file.set_len(len)
        }
        fn sync(&self, file: &File, path: &Path) -> io::Result<()> {
            self.check_alive()?;
            self.check_os_error(path)?;
            if self.faults.lock().fail_sync {
                return Err(io::Error::other("injected: fsync failed"));
            }
            file.sync_data()
        }
        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            self.check_alive()?;
            let mut f = self.faults.lock();
            if let Some(suffix) = &f.die_at_rename_to {
                if to.to_string_lossy().ends_with(suffix.as_str()) {
                    f.dead = true;
                    return Err(io::Error::other("injected: died before rename"));
                }
            }
            std::fs::rename(from, to)
        }
        fn remove_file(&self, path: &Path) -> io::Result<()> {
            self.check_alive()?;
            std::fs::remove_file(path)
        }
        fn sync_dir(&self, dir: &Path) -> io::Result<()> {
            self.check_alive()?;
            if self.faults.lock().fail_sync {
                return Err(io::Error::other("injected: fsync failed"));
            }
            File::open(dir)?.sync_all()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectored_writes_land_like_one_write_of_the_concatenation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = RealFs.open_rw(&path, true).unwrap();
        file.write_all_at(b"keep", 0).unwrap();
        // More parts than one pwritev takes (IOV_MAX), empty ones among them.
        let owned: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| vec![(i % 251) as u8; (i % 7) as usize])
            .collect();
        let parts: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        RealFs.write_parts_at(&file, &path, &parts, 4).unwrap();
        let mut want = b"keep".to_vec();
        want.extend(parts.concat());
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }
}
