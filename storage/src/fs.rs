//! The filesystem seam: every write, fsync, length change, rename and removal the
//! log engine does goes through [`Fs`], so tests can inject faults (a write cut
//! half-way, a failing fsync) and then reopen and check what survived.
//! Reads go through the memory maps in [`crate::mmap`].

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

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
    /// fsync the file's data (fdatasync).
    fn sync(&self, file: &File, path: &Path) -> io::Result<()> {
        let _ = path;
        file.sync_data()
    }
    fn set_len(&self, file: &File, path: &Path, len: u64) -> io::Result<()> {
        let _ = path;
        file.set_len(len)
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
}

/// The real filesystem.
#[derive(Debug, Default)]
pub(crate) struct RealFs;

impl Fs for RealFs {}

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
    }

    impl FaultyFs {
        fn check_alive(&self) -> io::Result<()> {
            if self.faults.lock().dead {
                return Err(io::Error::other("injected: process is dead"));
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
            let _ = path;
            self.check_alive()?;
            file.set_len(len)
        }
        fn sync(&self, file: &File, path: &Path) -> io::Result<()> {
            let _ = path;
            self.check_alive()?;
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
