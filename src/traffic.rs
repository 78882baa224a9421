//! Produce and fetch throughput for the web console's live charts (bytes and
//! records, counted by the Produce and Fetch handlers).
//!
//! Counting is switched on only while someone watches: the console's event
//! stream holds a [`Watch`] and the handlers count only when
//! [`Traffic::watching`] (one relaxed load per request when nobody does, and
//! no pass over the batches). The figures are therefore rates while watched,
//! not totals since start-up: `/metrics` does not export them. Depends on
//! nothing but storage's batch headers.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// The counters (see the module doc).
#[derive(Debug, Default)]
pub struct Traffic {
    watchers: AtomicUsize,
    produce_bytes: AtomicU64,
    produce_records: AtomicU64,
    fetch_bytes: AtomicU64,
    fetch_records: AtomicU64,
}

/// The four counters at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrafficTotals {
    pub produce_bytes: u64,
    pub produce_records: u64,
    pub fetch_bytes: u64,
    pub fetch_records: u64,
}

impl TrafficTotals {
    /// What was counted between `earlier` and `self`.
    pub fn since(&self, earlier: &TrafficTotals) -> TrafficTotals {
        TrafficTotals {
            produce_bytes: self.produce_bytes.wrapping_sub(earlier.produce_bytes),
            produce_records: self.produce_records.wrapping_sub(earlier.produce_records),
            fetch_bytes: self.fetch_bytes.wrapping_sub(earlier.fetch_bytes),
            fetch_records: self.fetch_records.wrapping_sub(earlier.fetch_records),
        }
    }
}

/// Counting stays on while this lives (one per open event stream).
#[derive(Debug)]
pub struct Watch(Arc<Traffic>);

impl Watch {
    /// The counters now.
    pub fn totals(&self) -> TrafficTotals {
        self.0.totals()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.watchers.fetch_sub(1, Relaxed);
    }
}

impl Traffic {
    /// Whether the handlers should count (someone has the console's stream open).
    #[inline]
    pub fn watching(&self) -> bool {
        self.watchers.load(Relaxed) > 0
    }

    /// Start counting until the returned guard is dropped.
    pub fn watch(self: &Arc<Self>) -> Watch {
        self.watchers.fetch_add(1, Relaxed);
        Watch(self.clone())
    }

    /// A produced record set: its bytes and records.
    #[inline]
    pub fn produced(&self, bytes: usize, records: i64) {
        self.produce_bytes.fetch_add(bytes as u64, Relaxed);
        self.produce_records
            .fetch_add(records.max(0) as u64, Relaxed);
    }

    /// A fetched record set (whole batches): its bytes, and its records counted
    /// from the batch headers (call only while [`Traffic::watching`]).
    pub fn fetched(&self, records: &[u8]) {
        let count: i64 = weir_storage::batch::iter_batches_lenient(records)
            .map(|b| b.record_count() as i64)
            .sum();
        self.fetch_bytes.fetch_add(records.len() as u64, Relaxed);
        self.fetch_records.fetch_add(count.max(0) as u64, Relaxed);
    }

    pub fn totals(&self) -> TrafficTotals {
        TrafficTotals {
            produce_bytes: self.produce_bytes.load(Relaxed),
            produce_records: self.produce_records.load(Relaxed),
            fetch_bytes: self.fetch_bytes.load(Relaxed),
            fetch_records: self.fetch_records.load(Relaxed),
        }
    }
}
