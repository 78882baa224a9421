//! The swap protocol: how cleaned data replaces a run of old segments in a
//! log's directory, crash-safely. The cleaner writes the cleaned file; the log
//! commits it under its writer lock ([`crate::log::PartitionLog`]'s cleaner
//! hook) and, when opened, completes or discards an interrupted swap.
//!
//! # Steps (crash safety)
//! - the cleaner writes `<base>.log.cleaned` and fsyncs it;
//! - [`commit_swap`] renames it to `<base>.log.<end>.cleaner.swap` and fsyncs
//!   the directory — the commit point: the swap file names the offset range
//!   `[base, end)` it replaces;
//! - [`finish_swap`] deletes the old segments whose base is in `[base, end)`
//!   (and their indexes), renames the swap over `<base>.log` (an empty swap is
//!   just removed) and fsyncs the directory.
//!
//! On open, [`recover_swaps`] discards `.cleaned` files (the old segments are
//! intact) and completes every `.cleaner.swap` (idempotently), so a crash leaves
//! either the old or the new state, never both and never neither.

use crate::durability::io_err;
use crate::error::Result;
use crate::fs::Fs;
use crate::segment;
use std::path::{Path, PathBuf};

const CLEANED_SUFFIX: &str = ".log.cleaned";
/// Suffix of a committed swap file.
pub(crate) const SWAP_SUFFIX: &str = ".cleaner.swap";

/// Where the cleaner writes the replacement of the segments from `base` on
/// before the swap is committed.
pub(crate) fn cleaned_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(segment::file_name(base, CLEANED_SUFFIX))
}

/// The committed swap of `[base, end)`: the name records the range it replaces.
fn swap_path(dir: &Path, base: i64, end: i64) -> PathBuf {
    dir.join(format!("{base:020}.log.{end:020}{SWAP_SUFFIX}"))
}

pub(crate) fn parse_swap_name(name: &str) -> Option<(i64, i64)> {
    let stem = name.strip_suffix(SWAP_SUFFIX)?;
    let (base, end) = stem.split_once(".log.")?;
    let ok = |s: &str| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit());
    (ok(base) && ok(end)).then(|| Some((base.parse().ok()?, end.parse().ok()?)))?
}

/// Commit a cleaned file as the replacement of `[base, end)` and finish the swap.
pub(crate) fn commit_swap(
    fs: &dyn Fs,
    dir: &Path,
    cleaned: &Path,
    base: i64,
    end: i64,
) -> Result<bool> {
    let swap = swap_path(dir, base, end);
    fs.rename(cleaned, &swap).map_err(|e| io_err(&swap, e))?;
    fs.sync_dir(dir).map_err(|e| io_err(dir, e))?;
    finish_swap(fs, dir, base, end)
}

/// Finish a committed swap `[base, end)`: remove the segments it replaces, put
/// the cleaned data in place (or drop it when empty). Idempotent. Returns
/// whether a segment now exists at `base`.
pub(crate) fn finish_swap(fs: &dyn Fs, dir: &Path, base: i64, end: i64) -> Result<bool> {
    let swap = swap_path(dir, base, end);
    let mut replaced = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        if let Some(b) = segment::parse_log_name(&entry.file_name().to_string_lossy()) {
            if b >= base && b < end {
                replaced.push(b);
            }
        }
    }
    let remove = |p: PathBuf| -> Result<()> {
        match fs.remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&p, e)),
        }
    };
    for b in &replaced {
        for suffix in [segment::INDEX_SUFFIX, segment::TIME_INDEX_SUFFIX] {
            remove(dir.join(segment::file_name(*b, suffix)))?;
        }
        if *b != base {
            remove(dir.join(segment::file_name(*b, segment::LOG_SUFFIX)))?;
        }
    }
    let empty = std::fs::metadata(&swap)
        .map_err(|e| io_err(&swap, e))?
        .len()
        == 0;
    let log = dir.join(segment::file_name(base, segment::LOG_SUFFIX));
    if empty {
        remove(log)?;
        remove(swap)?;
    } else {
        fs.rename(&swap, &log).map_err(|e| io_err(&log, e))?;
    }
    fs.sync_dir(dir).map_err(|e| io_err(dir, e))?;
    Ok(!empty)
}

/// Called when a log is opened, with the names listed in its directory,
/// before its segments are taken from them: discard unfinished cleaned files
/// and complete committed swaps. Returns whether it changed the directory
/// (then the caller lists it again).
pub(crate) fn recover_swaps(fs: &dyn Fs, dir: &Path, names: &[String]) -> Result<bool> {
    let mut swaps = Vec::new();
    let mut changed = false;
    for name in names {
        if name.ends_with(CLEANED_SUFFIX) {
            let p = dir.join(name);
            fs.remove_file(&p).map_err(|e| io_err(&p, e))?;
            changed = true;
        } else if let Some(range) = parse_swap_name(name) {
            swaps.push(range);
        }
    }
    swaps.sort_unstable();
    for (base, end) in swaps {
        finish_swap(fs, dir, base, end)?;
        changed = true;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_names_round_trip_and_are_not_segment_names() {
        let p = swap_path(Path::new("/d"), 42, 4_200);
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_swap_name(name), Some((42, 4_200)));
        assert_eq!(segment::parse_log_name(name), None);
        assert_eq!(parse_swap_name("00000000000000000042.log.swap"), None);
    }
}
