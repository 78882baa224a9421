//! The durable form of every share-partition (what Kafka keeps in
//! `__share_group_state`): a checkpoint of every share-partition plus a state
//! log of the changes since, both in the data dir.
//!
//! # How a change becomes durable
//! Every request that changed share state appends **one** frame to the state
//! log (`share-group-state.log`) before it is answered: the full state of each
//! share-partition the request changed (Kafka's `ShareUpdate` records carry
//! the changed state batches; ours carry the whole in-flight window as runs,
//! a few bytes for a window acquired in a few batches) and the share-partitions
//! deleted. The frame is written with one `write(2)`: once it returns, the change
//! survives the broker being SIGKILLed (the page cache is the kernel's), so no
//! ACCEPTED record is redelivered and no delivery count is forgotten.
//!
//! `fsync` follows the broker's flush policy, as Kafka's `__share_group_state`
//! log does: after every `log.flush.interval.messages` frames (1 = every
//! answer is durable against power loss), every `log.flush.interval.ms` (the
//! background flusher), and at a clean shutdown. With Kafka's defaults
//! (both Long.MAX) nothing is fsynced between compactions: a power cut loses
//! the changes since the last compaction or fsync (records accepted then are
//! delivered again, delivery counts go back), as it loses the unflushed tail
//! of every partition log.
//!
//! When the log has grown past [`COMPACT_MIN_BYTES`] and four times the last
//! checkpoint, the state is compacted: the checkpoint
//! (`share-group-state.checkpoint`) is rewritten atomically (temp file,
//! fsync, rename) with the sequence number of the last frame it includes, then
//! the log is truncated. Recovery reads the checkpoint and replays the log's
//! frames with a higher sequence number, in order, stopping at the first
//! frame that is incomplete or fails its CRC (a torn tail: written in part when
//! the power went), which is cut off before new frames are appended.
//!
//! # Layouts (big-endian)
//! Checkpoint: magic `WSHR`, version (u16, 2; version 1 is still read),
//! sequence number (u64, not in version 1), count (u32), then per
//! share-partition its key and [`SharePartition::encode`]; last a CRC-32
//! (IEEE, `crc32fast`) of all before.
//!
//! Log frame: body length (u32), CRC-32 of the body (u32), body: sequence
//! number (u64), count (u32), then per share-partition its key, a tag (u8: 1
//! = state follows as [`SharePartition::encode`], 0 = deleted).
//!
//! Key: group id (u16 length + UTF-8), topic id (16 bytes), partition (i32).

use super::partition::{Limits, SharePartition};
use super::SpKey;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// The checkpoint's file name in the data dir.
pub const CHECKPOINT: &str = "share-group-state.checkpoint";
/// The state log's file name in the data dir.
pub const STATE_LOG: &str = "share-group-state.log";
/// The log is compacted into the checkpoint once it is at least this long
/// (and four times the checkpoint).
pub const COMPACT_MIN_BYTES: u64 = 4 << 20;

const MAGIC: &[u8; 4] = b"WSHR";
const VERSION: u16 = 2;
/// A frame larger than this is damage, not a frame.
const MAX_FRAME: usize = 256 << 20;

/// Why the share state could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PersistError {
    #[error("checksum mismatch (got {got:#x}, expected {expected:#x})")]
    ChecksumMismatch { got: u32, expected: u32 },
    #[error("not a share-state checkpoint or unknown version")]
    BadHeader,
    #[error("truncated or malformed entry {0}")]
    Malformed(usize),
    #[error("{0}")]
    Io(String),
}

fn put_key(out: &mut Vec<u8>, k: &SpKey) {
    let g = k.0.as_bytes();
    out.extend_from_slice(&(g.len() as u16).to_be_bytes());
    out.extend_from_slice(g);
    out.extend_from_slice(&k.1.to_be_bytes());
    out.extend_from_slice(&k.2.to_be_bytes());
}

/// A key from the front of `buf` and the bytes it used.
fn get_key(buf: &[u8]) -> Option<(SpKey, usize)> {
    let glen = u16::from_be_bytes(buf.get(..2)?.try_into().ok()?) as usize;
    let group = std::str::from_utf8(buf.get(2..2 + glen)?).ok()?.to_string();
    let fixed = buf.get(2 + glen..2 + glen + 20)?;
    let topic = u128::from_be_bytes(fixed[..16].try_into().ok()?);
    let partition = i32::from_be_bytes(fixed[16..20].try_into().ok()?);
    Some(((group, topic, partition), 2 + glen + 20))
}

/// Encode every share-partition as a checkpoint including the log up to `seq`
/// (sorted, so equal state gives equal bytes).
pub fn encode(parts: &HashMap<SpKey, SharePartition>, seq: u64) -> Vec<u8> {
    let mut keys: Vec<&SpKey> = parts.keys().collect();
    keys.sort();
    let mut out = Vec::with_capacity(64 + parts.len() * 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&(keys.len() as u32).to_be_bytes());
    for k in keys {
        put_key(&mut out, k);
        parts[k].encode(&mut out);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// Decode a checkpoint: the sequence number of the last log frame it includes
/// (0 for version 1) and the share-partitions, with `limits` (the current settings).
pub fn decode(
    data: &[u8],
    limits: Limits,
) -> Result<(u64, HashMap<SpKey, SharePartition>), PersistError> {
    if data.len() < 14 || &data[..4] != MAGIC {
        return Err(PersistError::BadHeader);
    }
    let (body, tail) = data.split_at(data.len() - 4);
    let expected = u32::from_be_bytes(tail.try_into().expect("4 bytes"));
    let got = crc32fast::hash(body);
    if got != expected {
        return Err(PersistError::ChecksumMismatch { got, expected });
    }
    let version = u16::from_be_bytes([body[4], body[5]]);
    let (seq, mut pos) = match version {
        1 => (0, 6),
        2 if body.len() >= 18 => (u64::from_be_bytes(body[6..14].try_into().expect("8")), 14),
        _ => return Err(PersistError::BadHeader),
    };
    let n = u32::from_be_bytes(body[pos..pos + 4].try_into().expect("4 bytes")) as usize;
    pos += 4;
    let mut out = HashMap::new();
    for i in 0..n {
        let (key, used) = get_key(&body[pos..]).ok_or(PersistError::Malformed(i))?;
        pos += used;
        let (sp, used) = if version == 1 {
            SharePartition::decode_v1(&body[pos..], limits)
        } else {
            SharePartition::decode(&body[pos..], limits)
        }
        .ok_or(PersistError::Malformed(i))?;
        pos += used;
        out.insert(key, sp);
    }
    if pos != body.len() {
        return Err(PersistError::Malformed(n));
    }
    Ok((seq, out))
}

/// Append one log frame with sequence number `seq` to `out`: the state of each
/// share-partition given (`None`: deleted).
pub fn encode_frame<'a>(
    seq: u64,
    entries: impl IntoIterator<Item = (&'a SpKey, Option<&'a SharePartition>)>,
    out: &mut Vec<u8>,
) {
    let at = out.len();
    out.extend_from_slice(&[0u8; 8]);
    out.extend_from_slice(&seq.to_be_bytes());
    let count_at = out.len();
    out.extend_from_slice(&0u32.to_be_bytes());
    let mut n = 0u32;
    for (k, sp) in entries {
        put_key(out, k);
        match sp {
            Some(sp) => {
                out.push(1);
                sp.encode(out);
            }
            None => out.push(0),
        }
        n += 1;
    }
    out[count_at..count_at + 4].copy_from_slice(&n.to_be_bytes());
    let body_len = (out.len() - at - 8) as u32;
    let crc = crc32fast::hash(&out[at + 8..]);
    out[at..at + 4].copy_from_slice(&body_len.to_be_bytes());
    out[at + 4..at + 8].copy_from_slice(&crc.to_be_bytes());
}

/// What replaying a state log found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// The sequence number of the last frame read (or `after`, if higher).
    pub seq: u64,
    /// The length of the log's intact prefix (the rest is a torn tail).
    pub valid_len: u64,
    /// Frames applied (those past `after`).
    pub applied: usize,
}

/// Apply the frames of `data` with a sequence number above `after` to `parts`,
/// in order; stop at the first incomplete, damaged or out-of-order frame.
/// Only the last state of each share-partition is decoded (a frame's few runs
/// can stand for thousands of records: decoding every frame would make a
/// restart cost the sum of every window ever written).
pub fn replay(
    data: &[u8],
    after: u64,
    limits: Limits,
    parts: &mut HashMap<SpKey, SharePartition>,
) -> Replayed {
    let mut r = Replayed {
        seq: after,
        ..Replayed::default()
    };
    let mut pos = 0usize;
    let mut last_seq = 0u64;
    let mut latest: HashMap<SpKey, Option<&[u8]>> = HashMap::new();
    while let Some(head) = data.get(pos..pos + 8) {
        let len = u32::from_be_bytes(head[..4].try_into().expect("4")) as usize;
        let crc = u32::from_be_bytes(head[4..].try_into().expect("4"));
        if !(12..=MAX_FRAME).contains(&len) {
            break;
        }
        let Some(body) = data.get(pos + 8..pos + 8 + len) else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        let Some((seq, entries)) = split_frame(body) else {
            break;
        };
        if seq <= last_seq {
            break; // leftovers of an older log, not a continuation
        }
        last_seq = seq;
        if seq > after {
            latest.extend(entries);
            r.applied += 1;
            r.seq = seq;
        }
        pos += 8 + len;
        r.valid_len = pos as u64;
    }
    for (k, state) in latest {
        // A state that does not decode is damage the CRC did not catch: the
        // share-partition keeps its state from before (the checkpoint's).
        match state.map(|b| SharePartition::decode(b, limits)) {
            Some(Some((sp, _))) => {
                parts.insert(k, sp);
            }
            Some(None) => tracing::error!("share-group state of {k:?} in {STATE_LOG} unreadable"),
            None => {
                parts.remove(&k);
            }
        }
    }
    r
}

type FrameEntries<'a> = Vec<(SpKey, Option<&'a [u8]>)>;

/// A frame body's sequence number and entries: each share-partition's
/// encoded state (`None`: deleted), not decoded yet.
fn split_frame(body: &[u8]) -> Option<(u64, FrameEntries<'_>)> {
    let seq = u64::from_be_bytes(body.get(..8)?.try_into().ok()?);
    let n = u32::from_be_bytes(body.get(8..12)?.try_into().ok()?) as usize;
    let mut pos = 12;
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let (k, used) = get_key(body.get(pos..)?)?;
        pos += used;
        let tag = *body.get(pos)?;
        pos += 1;
        let sp = match tag {
            0 => None,
            1 => {
                let used = SharePartition::encoded_len(body.get(pos..)?)?;
                let state = &body[pos..pos + used];
                pos += used;
                Some(state)
            }
            _ => return None,
        };
        out.push((k, sp));
    }
    (pos == body.len()).then_some((seq, out))
}

/// The share state in data dir `dir`: the checkpoint, with the state log
/// replayed over it, and what the replay found.
pub fn load(
    dir: &Path,
    limits: Limits,
) -> Result<(HashMap<SpKey, SharePartition>, Replayed), PersistError> {
    let read = |name: &str| match std::fs::read(dir.join(name)) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PersistError::Io(format!("{name}: {e}"))),
    };
    let (seq, mut parts) = match read(CHECKPOINT)? {
        Some(d) => decode(&d, limits)?,
        None => (0, HashMap::new()),
    };
    let log = read(STATE_LOG)?.unwrap_or_default();
    let replayed = replay(&log, seq, limits, &mut parts);
    Ok((parts, replayed))
}

/// When the state log is fsynced (the broker's `log.flush.interval.*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushPolicy {
    /// fsync after this many frames (`log.flush.interval.messages`).
    pub messages: Option<u64>,
    /// fsync frames older than this (`log.flush.interval.ms`, by the flusher).
    pub interval_ms: Option<u64>,
}

/// The open state log: appends frames, fsyncs by the policy, truncates after
/// a compaction.
pub struct StateLog {
    /// Opened when the first frame is appended (a data dir without share
    /// groups gets no file).
    file: Option<File>,
    path: std::path::PathBuf,
    len: u64,
    unsynced: u64,
    first_unsynced: Option<std::time::Instant>,
}

impl StateLog {
    /// Open the log in `dir` if it exists, cutting it to `valid_len` (its torn tail off).
    pub fn open(dir: &Path, valid_len: u64) -> std::io::Result<StateLog> {
        let path = dir.join(STATE_LOG);
        let file = match OpenOptions::new().append(true).open(&path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if let Some(f) = &file {
            if f.metadata()?.len() != valid_len {
                f.set_len(valid_len)?;
            }
        }
        Ok(StateLog {
            file,
            path,
            len: valid_len,
            unsynced: 0,
            first_unsynced: None,
        })
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it holds no frame.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append `frame` with one write (cut back on failure, so that a partial
    /// frame never hides the frames after it), then fsync if `policy` says so.
    pub fn append(&mut self, frame: &[u8], policy: FlushPolicy) -> std::io::Result<()> {
        if self.file.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            // Once, so that an fsynced frame is not lost with its directory entry.
            if let Some(dir) = self.path.parent() {
                File::open(dir)?.sync_all()?;
            }
            self.file = Some(f);
        }
        let file = self.file.as_mut().expect("opened above");
        if let Err(e) = file.write_all(frame) {
            let _ = file.set_len(self.len);
            return Err(e);
        }
        self.len += frame.len() as u64;
        self.unsynced += 1;
        self.first_unsynced
            .get_or_insert_with(std::time::Instant::now);
        if policy.messages.is_some_and(|n| self.unsynced >= n.max(1)) {
            self.sync()?;
        }
        Ok(())
    }

    /// Whether frames older than `policy.interval_ms` are not fsynced yet.
    pub fn sync_due(&self, policy: FlushPolicy) -> bool {
        match (policy.interval_ms, self.first_unsynced) {
            (Some(ms), Some(t)) => t.elapsed().as_millis() as u64 >= ms,
            _ => false,
        }
    }

    /// fsync what was appended.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if let (true, Some(f)) = (self.unsynced > 0, &self.file) {
            f.sync_data()?;
            self.unsynced = 0;
            self.first_unsynced = None;
        }
        Ok(())
    }

    /// Empty the log (its frames are in a durable checkpoint now).
    pub fn truncate(&mut self) -> std::io::Result<()> {
        if let Some(f) = &self.file {
            f.set_len(0)?;
        }
        self.len = 0;
        self.unsynced = 0;
        self.first_unsynced = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::partition::{AcquireMode, LogBatch, RecordState};
    use std::sync::Arc;

    fn sample() -> HashMap<SpKey, SharePartition> {
        let mut a = SharePartition::new(5, Limits::default());
        let m: Arc<str> = Arc::from("m");
        a.acquire(
            &m,
            0,
            100,
            AcquireMode::RecordLimit,
            &[LogBatch {
                base_offset: 5,
                last_offset: 9,
                skip: false,
            }],
        );
        a.acknowledge("m", 6, 6, &[1], 0).unwrap();
        let b = SharePartition::new(0, Limits::default());
        let mut parts = HashMap::new();
        parts.insert(("g".to_string(), 7u128, 0), a);
        parts.insert(("other".to_string(), u128::MAX, 3), b);
        parts
    }

    #[test]
    fn round_trip() {
        let data = encode(&sample(), 42);
        let (seq, back) = decode(&data, Limits::default()).unwrap();
        assert_eq!(seq, 42);
        assert_eq!(back.len(), 2);
        let a = &back[&("g".to_string(), 7u128, 0)];
        assert_eq!(a.start_offset(), 5);
        assert_eq!(a.end_offset(), 10);
        assert_eq!(a.record(6), Some((RecordState::Acknowledged, 1)));
        assert_eq!(a.record(5), Some((RecordState::Available, 1)));
        assert_eq!(encode(&back, 42), data);
    }

    #[test]
    fn a_version_1_checkpoint_is_still_read() {
        // Layout of the first release: no sequence number, one record per 3 bytes.
        let mut v1 = Vec::new();
        v1.extend_from_slice(b"WSHR");
        v1.extend_from_slice(&1u16.to_be_bytes());
        v1.extend_from_slice(&1u32.to_be_bytes());
        put_key(&mut v1, &("g".to_string(), 7, 0));
        v1.extend_from_slice(&5i64.to_be_bytes());
        v1.extend_from_slice(&2u32.to_be_bytes());
        v1.extend_from_slice(&[0, 0, 1, 2, 0, 1]);
        let crc = crc32fast::hash(&v1);
        v1.extend_from_slice(&crc.to_be_bytes());
        let (seq, parts) = decode(&v1, Limits::default()).unwrap();
        assert_eq!(seq, 0);
        let a = &parts[&("g".to_string(), 7u128, 0)];
        assert_eq!(a.record(5), Some((RecordState::Available, 1)));
        assert_eq!(a.record(6), Some((RecordState::Acknowledged, 1)));
    }

    #[test]
    fn a_damaged_checkpoint_is_refused() {
        let mut data = encode(&sample(), 1);
        data[12] ^= 1;
        assert!(matches!(
            decode(&data, Limits::default()),
            Err(PersistError::ChecksumMismatch { .. })
        ));
        assert_eq!(
            decode(b"nope", Limits::default()).unwrap_err(),
            PersistError::BadHeader
        );
    }

    fn frames() -> (Vec<u8>, Vec<usize>) {
        let parts = sample();
        let g = ("g".to_string(), 7u128, 0);
        let other = ("other".to_string(), u128::MAX, 3);
        let mut log = Vec::new();
        let mut ends = Vec::new();
        encode_frame(1, [(&g, Some(&parts[&g]))], &mut log);
        ends.push(log.len());
        encode_frame(2, [(&other, Some(&parts[&other]))], &mut log);
        ends.push(log.len());
        let mut moved = parts[&g].clone();
        moved.move_start_to(7);
        encode_frame(3, [(&g, Some(&moved)), (&other, None)], &mut log);
        ends.push(log.len());
        (log, ends)
    }

    #[test]
    fn the_log_replays_in_order_with_deletes() {
        let (log, ends) = frames();
        let mut parts = HashMap::new();
        let r = replay(&log, 0, Limits::default(), &mut parts);
        assert_eq!(
            r,
            Replayed {
                seq: 3,
                valid_len: ends[2] as u64,
                applied: 3
            }
        );
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[&("g".to_string(), 7u128, 0)].start_offset(), 7);
        // Frames a checkpoint already holds are skipped.
        let mut parts = HashMap::new();
        let r = replay(&log, 2, Limits::default(), &mut parts);
        assert_eq!((r.seq, r.applied), (3, 1));
        assert_eq!(parts.len(), 1);
    }

    #[test]
    fn a_torn_tail_is_ignored_and_a_damaged_frame_ends_the_replay() {
        let (log, ends) = frames();
        // Torn inside the last frame: the first two apply.
        for cut in [ends[1] + 1, ends[1] + 8, ends[2] - 1] {
            let mut parts = HashMap::new();
            let r = replay(&log[..cut], 0, Limits::default(), &mut parts);
            assert_eq!((r.seq, r.valid_len, r.applied), (2, ends[1] as u64, 2));
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[&("g".to_string(), 7u128, 0)].start_offset(), 5);
        }
        // A flipped bit in the second frame's body: its CRC fails, only the first applies.
        let mut bad = log.clone();
        bad[ends[0] + 20] ^= 0x10;
        let mut parts = HashMap::new();
        let r = replay(&bad, 0, Limits::default(), &mut parts);
        assert_eq!((r.seq, r.valid_len, r.applied), (1, ends[0] as u64, 1));
        assert_eq!(parts.len(), 1);
    }

    #[test]
    fn load_and_state_log_recover_after_a_torn_write() {
        let dir = tempfile::tempdir().unwrap();
        let (log, ends) = frames();
        std::fs::write(dir.path().join(CHECKPOINT), encode(&HashMap::new(), 0)).unwrap();
        std::fs::write(dir.path().join(STATE_LOG), &log[..ends[2] - 3]).unwrap();
        let (parts, r) = load(dir.path(), Limits::default()).unwrap();
        assert_eq!((parts.len(), r.seq, r.valid_len), (2, 2, ends[1] as u64));
        // Reopening cuts the torn tail; the next frame follows the intact ones.
        let mut sl = StateLog::open(dir.path(), r.valid_len).unwrap();
        let mut f = Vec::new();
        encode_frame(3, [(&("g".to_string(), 7u128, 0), None)], &mut f);
        sl.append(
            &f,
            FlushPolicy {
                messages: Some(1),
                interval_ms: None,
            },
        )
        .unwrap();
        let (parts, r) = load(dir.path(), Limits::default()).unwrap();
        assert_eq!((parts.len(), r.seq, r.applied), (1, 3, 3));
        // A damaged checkpoint is an error, not an empty state.
        std::fs::write(dir.path().join(CHECKPOINT), b"WSHR\0\x02garbage-garbage").unwrap();
        assert!(load(dir.path(), Limits::default()).is_err());
    }
}
