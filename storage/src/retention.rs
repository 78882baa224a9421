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
//!   that must stay, never the active segment, and never past the high
//!   watermark (`upper_bound`);
//! - deleting advances the log start offset to the next kept segment's base,
//!   so readers below it get `OffsetOutOfRange` and reset.
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
/// first) go, and why each. Pure: no I/O.
pub fn select_deletable(
    segments: &[SegmentInfo],
    log_start_offset: i64,
    policy: &RetentionPolicy,
    upper_bound: i64,
    now_ms: i64,
) -> Vec<RetentionReason> {
    let total: u64 = segments.iter().map(|s| s.size_bytes).sum();
    let mut excess = match policy.retention_bytes {
        Some(limit) if total > limit => total - limit,
        _ => 0,
    };
    let mut out = Vec::new();
    for s in segments {
        if s.is_active || s.next_offset > upper_bound {
            break;
        }
        let reason = if s.next_offset <= log_start_offset {
            Some(RetentionReason::LogStart)
        } else if policy.retention_ms.is_some_and(|ms| {
            let ts = if s.max_timestamp >= 0 {
                s.max_timestamp
            } else {
                s.last_modified_ms
            };
            now_ms.saturating_sub(ts) > ms
        }) {
            Some(RetentionReason::Time)
        } else if excess > 0 && excess >= s.size_bytes {
            Some(RetentionReason::Size)
        } else {
            None
        };
        match reason {
            Some(r) => {
                excess = excess.saturating_sub(s.size_bytes);
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
/// first, so its age decides for time retention; a log over
/// `retention.bytes` grows with every append, so with a size limit it is
/// `now_ms` (look at every pass). `None`: nothing can go until the segments
/// or the policy change (at most the active segment, or no limit).
pub fn next_due_ms(
    segments: &[SegmentInfo],
    log_start_offset: i64,
    policy: &RetentionPolicy,
    now_ms: i64,
) -> Option<i64> {
    let oldest = segments.first().filter(|s| !s.is_active)?;
    if oldest.next_offset <= log_start_offset || policy.retention_bytes.is_some() {
        return Some(now_ms);
    }
    let ms = policy.retention_ms?;
    let ts = if oldest.max_timestamp >= 0 {
        oldest.max_timestamp
    } else {
        oldest.last_modified_ms
    };
    // Expired when `now - ts > ms`.
    Some(ts.saturating_add(ms).saturating_add(1))
}

/// Apply `policy` to `log` now: delete the expired or excess oldest segments
/// and advance the log start offset. `upper_bound` is the high watermark
/// (nothing at or past it is deleted); pass the log end offset when every
/// appended record counts as committed. Blocking (file removals): run it off
/// the async workers. A log closed to free its files is judged from the
/// segments it left behind and opened only when something goes; one never
/// opened yet in this process is opened once (and left first in line to close).
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
    let reasons = select_deletable(&segments, log_start, policy, upper_bound, now_ms);
    if reasons.is_empty() {
        return Ok(RetentionOutcome {
            log_start_offset: log_start,
            next_due_ms: next_due_ms(&segments, log_start, policy, now_ms),
            ..RetentionOutcome::default()
        });
    }
    let gone = &segments[..reasons.len()];
    let new_start = gone.last().map(|s| s.next_offset).unwrap_or(log_start);
    let log_start_offset = log.advance_log_start_offset(new_start)?;
    Ok(RetentionOutcome {
        deleted: gone
            .iter()
            .zip(&reasons)
            .map(|(s, r)| (s.base_offset, *r))
            .collect(),
        bytes_deleted: gone.iter().map(|s| s.size_bytes).sum(),
        log_start_offset,
        next_due_ms: next_due_ms(&segments[reasons.len()..], log_start_offset, policy, now_ms),
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
    fn time_retention_stops_at_first_young_segment_and_never_takes_the_active_one() {
        let p = RetentionPolicy::from_kafka(500, -1);
        assert_eq!(
            select_deletable(&log3(), 0, &p, 25, 1_600),
            vec![RetentionReason::Time]
        );
        // Everything is expired, but the active segment stays.
        assert_eq!(select_deletable(&log3(), 0, &p, 25, 100_000).len(), 2);
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
        assert_eq!(next_due_ms(&log3()[2..], 0, &p, 7), None);
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
