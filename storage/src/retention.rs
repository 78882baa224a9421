//! Retention: which whole segments of a log may go, by age (`retention.ms`),
//! by total size (`retention.bytes`) and by the log start offset
//! (DeleteRecords), and deleting them (files and indexes) from disk.
//!
//! The rules are Apache Kafka's (`UnifiedLog.deleteOldSegments`):
//! - a segment expires by time when `now - largest timestamp > retention.ms`
//!   (a segment without timestamps uses its file's modification time);
//! - by size, the oldest segments go while the log would still be at least
//!   `retention.bytes` large without them;
//! - segments are only deleted from the oldest on, never past the first one
//!   that must stay, never past the high watermark (`upper_bound`), and the
//!   active segment too when it qualifies and is not empty: the log then
//!   rolls a new empty active segment at its log end first;
//! - deleting advances the log start offset to the next kept segment's base
//!   (the log end when every segment went), so readers below it get
//!   `OffsetOutOfRange` and reset.
//!
//! Deletion goes through [`PartitionLog::advance_log_start_offset`], which
//! persists the new log start before it removes any file, so a crash in
//! between cannot bring deleted records back.

use crate::error::Result;
use crate::log::{PartitionLog, SegmentInfo};

/// The retention settings of one log. `None` means unlimited (Kafka's `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionPolicy {
    /// `retention.ms`; `None` keeps data forever by age.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`; `None` keeps data whatever its size.
    pub retention_bytes: Option<u64>,
}

impl RetentionPolicy {
    /// Build from Kafka-style values where a negative number means unlimited.
    pub fn from_kafka(retention_ms: i64, retention_bytes: i64) -> Self {
        RetentionPolicy {
            retention_ms: (retention_ms >= 0).then_some(retention_ms),
            retention_bytes: (retention_bytes >= 0).then_some(retention_bytes as u64),
        }
    }
}

/// Why a segment was chosen for deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionReason {
    /// Older than `retention.ms`.
    Time,
    /// The log is larger than `retention.bytes`.
    Size,
    /// Wholly below the log start offset.
    LogStart,
}

/// What one retention pass did to a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Segments deleted, oldest first, with why.
    pub deleted: Vec<(i64, RetentionReason)>,
    pub bytes_deleted: u64,
    /// The log start offset after the pass.
    pub log_start_offset: i64,
    /// When a pass can next have work here ([`next_due_ms`]; `None`: not
    /// before the segments or the policy change).
    pub next_due_ms: Option<i64>,
}

/// The oldest segments that may be deleted: how many of `segments` (oldest
/// first, the active one last) go, and why each. Pure: no I/O.
///
/// As Kafka's `UnifiedLog.deletableSegments`: every segment counts, the
/// active one too; a segment goes while the high watermark (`upper_bound`)
/// is at or past its upper bound (the next segment's base offset, the log end
/// offset for the last one), one of the predicates holds, and it is not the
/// last segment and empty. The predicates, in one walk from the oldest:
/// the next segment starts at or below the log start; `now -
/// largest timestamp > retention.ms`; `diff - size >= 0` with `diff = log
/// size - retention.bytes` (the log at least that large), `diff` shrinking
/// by each segment that goes.
pub fn select_deletable(
    segments: &[SegmentInfo],
    log_start_offset: i64,
    policy: &RetentionPolicy,
    upper_bound: i64,
    now_ms: i64,
) -> Vec<RetentionReason> {
    let total: u64 = segments.iter().map(|s| s.size_bytes).sum();
    // Kafka: no size deletion when the log is smaller than the limit.
    let mut diff: Option<i128> = match policy.retention_bytes {
        Some(limit) if total >= limit => Some(total as i128 - limit as i128),
        _ => None,
    };
    let mut out = Vec::new();
    for (i, s) in segments.iter().enumerate() {
        let next = segments.get(i + 1);
        let bound = next.map_or(s.next_offset, |n| n.base_offset);
        if (next.is_none() && s.size_bytes == 0) || upper_bound < bound {
            break;
        }
        let reason = if next.is_some_and(|n| n.base_offset <= log_start_offset) {
            Some(RetentionReason::LogStart)
        } else if policy
            .retention_ms
            .is_some_and(|ms| now_ms.saturating_sub(s.largest_timestamp()) > ms)
        {
            Some(RetentionReason::Time)
        } else if diff.is_some_and(|d| d - s.size_bytes as i128 >= 0) {
            Some(RetentionReason::Size)
        } else {
            None
        };
        match reason {
            Some(r) => {
                if let Some(d) = &mut diff {
                    *d -= s.size_bytes as i128;
                }
                out.push(r);
            }
            None => break,
        }
    }
    out
}

/// The earliest time (ms) at which a retention pass could delete something
/// from a log with these `segments` (oldest first) and this log start, if
/// neither they nor `policy` change before: only the oldest segment can go
/// first, so its age decides for time retention (the active segment's too
/// when it is the only one and not empty; appends there only make it later,
/// so a pass at this time re-checks and finds the new one). A log with a
/// sealed segment over `retention.bytes` grows with every append, so with a
/// size limit it is `now_ms` (look at every pass); a log of one segment goes
/// by size only with `retention.bytes` 0. `None`: nothing can go until the
/// segments or the policy change (an empty log, or no limit).
pub fn next_due_ms(
    segments: &[SegmentInfo],
    log_start_offset: i64,
    policy: &RetentionPolicy,
    now_ms: i64,
) -> Option<i64> {
    let oldest = segments.first()?;
    let next = segments.get(1);
    if next.is_none() && oldest.size_bytes == 0 {
        return None;
    }
    if next.is_some_and(|n| n.base_offset <= log_start_offset) {
        return Some(now_ms);
    }
    match policy.retention_bytes {
        Some(limit) if next.is_some() || limit == 0 => return Some(now_ms),
        _ => {}
    }
    due_by_time(oldest.largest_timestamp(), policy)
}

/// When a segment whose largest timestamp is `largest_ts` expires under
/// `policy`'s `retention.ms` (`now - ts > retention.ms`), or `None` without
/// a time limit.
pub fn due_by_time(largest_ts: i64, policy: &RetentionPolicy) -> Option<i64> {
    let ms = policy.retention_ms?;
    Some(largest_ts.saturating_add(ms).saturating_add(1))
}

/// Apply `policy` to `log` now: delete the expired or excess oldest segments
/// (the active one too, as Kafka does: the log then keeps a new empty active
/// segment at its log end) and advance the log start offset. `upper_bound`
/// is the high watermark (nothing at or past it is deleted); pass the log end
/// offset when every appended record counts as committed. The choice is made
/// on a snapshot first (without opening a closed log) and, when something is
/// to go, made again under the log's writer lock with the deletion
/// ([`PartitionLog::delete_oldest_where`]), so an append racing the pass is
/// never deleted (it lands in the new active segment at the right offset).
/// Blocking (file removals): run it off the async workers. A log closed to
/// free its files is judged from the segments it left behind and opened only
/// when something goes; one never opened yet in this process is opened once
/// (and left first in line to close).
pub fn apply_retention(
    log: &PartitionLog,
    policy: &RetentionPolicy,
    upper_bound: i64,
    now_ms: i64,
) -> Result<RetentionOutcome> {
    if !log.is_open() && log.closed_segments().is_none() {
        let out = apply_retention_open(log, policy, upper_bound, now_ms);
        log.release();
        return out;
    }
    apply_retention_open(log, policy, upper_bound, now_ms)
}

fn apply_retention_open(
    log: &PartitionLog,
    policy: &RetentionPolicy,
    upper_bound: i64,
    now_ms: i64,
) -> Result<RetentionOutcome> {
    let segments = log.segments();
    let log_start = log.log_start_offset();
    if select_deletable(&segments, log_start, policy, upper_bound, now_ms).is_empty() {
        return Ok(RetentionOutcome {
            log_start_offset: log_start,
            next_due_ms: next_due_ms(&segments, log_start, policy, now_ms),
            ..RetentionOutcome::default()
        });
    }
    // Again under the writer lock, with the deletion: an append since the
    // snapshot can only make less go (a later timestamp, a bound past the
    // high watermark read before).
    let reasons = std::sync::Mutex::new(Vec::new());
    let (segments, n, log_start_offset) = log.delete_oldest_where(&|segs, start| {
        let r = select_deletable(segs, start, policy, upper_bound, now_ms);
        let n = r.len();
        *reasons.lock().unwrap_or_else(|e| e.into_inner()) = r;
        n
    })?;
    let reasons = reasons.into_inner().unwrap_or_else(|e| e.into_inner());
    let gone = &segments[..n];
    let rest = log.segments();
    Ok(RetentionOutcome {
        deleted: gone
            .iter()
            .zip(&reasons)
            .map(|(s, r)| (s.base_offset, *r))
            .collect(),
        bytes_deleted: gone.iter().map(|s| s.size_bytes).sum(),
        log_start_offset,
        next_due_ms: next_due_ms(&rest, log_start_offset, policy, now_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(base: i64, next: i64, size: u64, ts: i64, active: bool) -> SegmentInfo {
        SegmentInfo {
            base_offset: base,
            next_offset: next,
            size_bytes: size,
            max_timestamp: ts,
            last_modified_ms: 5,
            is_active: active,
        }
    }

    fn log3() -> Vec<SegmentInfo> {
        vec![
            seg(0, 10, 100, 1_000, false),
            seg(10, 20, 100, 2_000, false),
            seg(20, 25, 50, 3_000, true),
        ]
    }

    #[test]
    fn time_retention_stops_at_first_young_segment_and_takes_an_expired_active_one() {
        let p = RetentionPolicy::from_kafka(500, -1);
        assert_eq!(
            select_deletable(&log3(), 0, &p, 25, 1_600),
            vec![RetentionReason::Time]
        );
        // Everything is expired: the active segment goes too (Kafka's rule),
        // but not past the high watermark (its bound is the log end).
        assert_eq!(select_deletable(&log3(), 0, &p, 25, 100_000).len(), 3);
        assert_eq!(select_deletable(&log3(), 0, &p, 24, 100_000).len(), 2);
        // An empty active segment never.
        let mut segs = log3();
        segs[2].size_bytes = 0;
        segs[2].next_offset = 20;
        assert_eq!(select_deletable(&segs, 0, &p, 25, 100_000).len(), 2);
    }

    #[test]
    fn size_retention_deletes_only_while_the_log_stays_at_least_the_limit() {
        // 250 bytes, limit 120: deleting the first (100) leaves 150 >= 120;
        // deleting the second too would leave 50 < 120.
        let p = RetentionPolicy::from_kafka(-1, 120);
        assert_eq!(
            select_deletable(&log3(), 0, &p, 25, 0),
            vec![RetentionReason::Size]
        );
        let p = RetentionPolicy::from_kafka(-1, 50);
        assert_eq!(select_deletable(&log3(), 0, &p, 25, 0).len(), 2);
        // Limit 0: the active segment too (`diff - size >= 0` all along).
        let p = RetentionPolicy::from_kafka(-1, 0);
        assert_eq!(select_deletable(&log3(), 0, &p, 25, 0).len(), 3);
        let p = RetentionPolicy::from_kafka(-1, 1);
        assert_eq!(select_deletable(&log3(), 0, &p, 25, 0).len(), 2);
        let p = RetentionPolicy::from_kafka(-1, 1_000);
        assert!(select_deletable(&log3(), 0, &p, 25, 0).is_empty());
    }

    #[test]
    fn nothing_past_the_high_watermark_is_deleted() {
        let p = RetentionPolicy::from_kafka(0, -1);
        assert_eq!(select_deletable(&log3(), 0, &p, 15, 100_000).len(), 1);
    }

    #[test]
    fn segments_below_the_log_start_go_whatever_the_policy() {
        let p = RetentionPolicy::default();
        assert_eq!(
            select_deletable(&log3(), 10, &p, 25, 0),
            vec![RetentionReason::LogStart]
        );
    }

    #[test]
    fn the_next_due_time_is_when_the_oldest_segment_expires() {
        let p = RetentionPolicy::from_kafka(500, -1);
        // Oldest segment's largest timestamp 1,000: expired once now - 1,000 > 500.
        let due = next_due_ms(&log3(), 0, &p, 1_200).unwrap();
        assert_eq!(due, 1_501);
        assert!(select_deletable(&log3(), 0, &p, 25, due - 1).is_empty());
        assert_eq!(select_deletable(&log3(), 0, &p, 25, due).len(), 1);
        // No limit: never by time; only the active segment: nothing to do.
        assert_eq!(
            next_due_ms(&log3(), 0, &RetentionPolicy::default(), 7),
            None
        );
        // The active segment alone: its own largest timestamp (3,000), unless empty.
        assert_eq!(next_due_ms(&log3()[2..], 0, &p, 7), Some(3_501));
        let mut empty = log3()[2..].to_vec();
        empty[0].size_bytes = 0;
        assert_eq!(next_due_ms(&empty, 0, &p, 7), None);
        // One segment by size: only a limit of 0 can take it.
        let size = RetentionPolicy::from_kafka(-1, 1);
        assert_eq!(next_due_ms(&log3()[2..], 0, &size, 7), None);
        let size = RetentionPolicy::from_kafka(-1, 0);
        assert_eq!(next_due_ms(&log3()[2..], 0, &size, 7), Some(7));
        // A size limit or segments below the log start: every pass.
        let size = RetentionPolicy::from_kafka(500, 1_000);
        assert_eq!(next_due_ms(&log3(), 0, &size, 7), Some(7));
        assert_eq!(
            next_due_ms(&log3(), 10, &RetentionPolicy::default(), 7),
            Some(7)
        );
        // Without timestamps the modification time (5) counts.
        let segs = vec![seg(0, 10, 100, -1, false), seg(10, 12, 1, 9, true)];
        assert_eq!(next_due_ms(&segs, 0, &p, 0), Some(506));
    }

    #[test]
    fn a_segment_without_timestamps_ages_by_its_modification_time() {
        let segs = vec![seg(0, 10, 100, -1, false), seg(10, 12, 1, 9, true)];
        let p = RetentionPolicy::from_kafka(10, -1);
        assert_eq!(select_deletable(&segs, 0, &p, 12, 16).len(), 1);
        assert!(select_deletable(&segs, 0, &p, 12, 15).is_empty());
    }
}
