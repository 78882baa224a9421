//! Live broker figures that the request paths feed and `/metrics` reads:
//! connections and authentication failures by listener, waiting fetches,
//! per-partition traffic (bytes and records in, bytes out), storage errors,
//! and the rate limit on the KAFKA_STORAGE_ERROR log line.
//!
//! A leaf module (it names nothing else of the crate) so the state, the
//! accept loop, the session, `partitions` and the handlers can all reach it,
//! and `metrics` reads it. Hot paths touch atomics only: a produce or fetch
//! adds to counters on the [`Traffic`] of the partition handle it already
//! holds (no lock, no map lookup per record); a connection increments and
//! decrements its listener's gauge once. Only rare events (an authentication
//! failure) take a lock.

use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;
use weir_storage::stats::DurationHistogram;

/// A partition's traffic since start-up (summed per topic at scrape time).
#[derive(Debug, Default)]
pub struct Traffic {
    /// Bytes of record batches appended by producers (as stored).
    pub bytes_in: AtomicU64,
    /// Records (offsets) appended by producers.
    pub records_in: AtomicU64,
    /// Bytes of record data sent to fetchers (consumers and followers).
    pub bytes_out: AtomicU64,
    /// Records (offsets) fetchers were moved past: a fetch's next offset minus
    /// its fetch offset.
    pub records_out: AtomicU64,
}

impl Traffic {
    #[inline]
    pub fn produced(&self, bytes: usize, records: i64) {
        self.bytes_in.fetch_add(bytes as u64, Relaxed);
        self.records_in.fetch_add(records.max(0) as u64, Relaxed);
    }

    #[inline]
    pub fn fetched(&self, bytes: usize, records: u64) {
        if bytes > 0 {
            self.bytes_out.fetch_add(bytes as u64, Relaxed);
            self.records_out.fetch_add(records, Relaxed);
        }
    }
}

/// One listener's figures.
#[derive(Debug, Default)]
pub struct ListenerFigures {
    /// Connections open now.
    pub connections: AtomicI64,
    /// Connections accepted since start-up.
    pub accepted: AtomicU64,
}

/// Decrements its listener's connection gauge when the connection ends
/// (however it ends: a task aborted at shutdown drops it too).
#[derive(Debug)]
pub struct ConnectionGuard(Arc<ListenerFigures>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Relaxed);
    }
}

/// Broker-wide live figures (one per broker, in `BrokerState`).
#[derive(Debug, Default)]
pub struct Telemetry {
    listeners: RwLock<Vec<(String, Arc<ListenerFigures>)>>,
    /// (listener, mechanism) -> failed authentications.
    auth_failures: Mutex<BTreeMap<(String, String), u64>>,
    /// Fetches waiting now for `min_bytes` (long polls).
    pub waiting_fetches: AtomicI64,
    /// How long each fetch that had to wait waited.
    pub fetch_wait: DurationHistogram,
}

impl Telemetry {
    /// The figures of listener `name`, created on first use (the accept loop
    /// asks once, at start).
    pub fn listener(&self, name: &str) -> Arc<ListenerFigures> {
        if let Some((_, f)) = self.listeners.read().iter().find(|(n, _)| n == name) {
            return f.clone();
        }
        let mut all = self.listeners.write();
        if let Some((_, f)) = all.iter().find(|(n, _)| n == name) {
            return f.clone();
        }
        let f = Arc::new(ListenerFigures::default());
        all.push((name.to_string(), f.clone()));
        f
    }

    /// A connection accepted on a listener: counted until the guard drops.
    pub fn connection_opened(figures: &Arc<ListenerFigures>) -> ConnectionGuard {
        figures.connections.fetch_add(1, Relaxed);
        figures.accepted.fetch_add(1, Relaxed);
        ConnectionGuard(figures.clone())
    }

    /// (listener, open connections, accepted connections), in listener order.
    pub fn listeners(&self) -> Vec<(String, i64, u64)> {
        self.listeners
            .read()
            .iter()
            .map(|(n, f)| {
                (
                    n.clone(),
                    f.connections.load(Relaxed),
                    f.accepted.load(Relaxed),
                )
            })
            .collect()
    }

    /// A client failed to authenticate on `listener` with `mechanism` (a SASL
    /// mechanism, or `SSL` for a failed TLS handshake or certificate).
    pub fn auth_failed(&self, listener: &str, mechanism: &str) {
        *self
            .auth_failures
            .lock()
            .entry((listener.to_string(), mechanism.to_string()))
            .or_default() += 1;
    }

    /// (listener, mechanism, failures).
    pub fn auth_failures(&self) -> Vec<(String, String, u64)> {
        self.auth_failures
            .lock()
            .iter()
            .map(|((l, m), n)| (l.clone(), m.clone(), *n))
            .collect()
    }

    /// A fetch starts waiting for data: counted as waiting until the guard
    /// drops (answered, or its connection gone), which records how long.
    pub fn fetch_waiting(&self) -> FetchWait<'_> {
        self.waiting_fetches.fetch_add(1, Relaxed);
        FetchWait {
            telemetry: self,
            since: Instant::now(),
        }
    }
}

/// A fetch waiting for data (see [`Telemetry::fetch_waiting`]).
#[derive(Debug)]
pub struct FetchWait<'a> {
    telemetry: &'a Telemetry,
    since: Instant,
}

impl Drop for FetchWait<'_> {
    fn drop(&mut self) {
        self.telemetry.waiting_fetches.fetch_sub(1, Relaxed);
        self.telemetry.fetch_wait.observe(self.since.elapsed());
    }
}

/// How often at most the KAFKA_STORAGE_ERROR line is logged (per process).
pub const STORAGE_ERROR_LOG_INTERVAL_MS: i64 = 60_000;

/// When the storage error line was last logged (ms), and how many errors
/// were not logged since.
static STORAGE_ERROR_LOGGED_MS: AtomicI64 = AtomicI64::new(i64::MIN);
static STORAGE_ERRORS_SUPPRESSED: AtomicU64 = AtomicU64::new(0);
/// Storage failures answered KAFKA_STORAGE_ERROR (process-wide).
static STORAGE_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Storage failures answered KAFKA_STORAGE_ERROR since the process started.
pub fn storage_errors() -> u64 {
    STORAGE_ERRORS.load(Relaxed)
}

/// A request is answered KAFKA_STORAGE_ERROR because of `error` (a full disk,
/// an I/O error): log it at ERROR, but at most once per
/// [`STORAGE_ERROR_LOG_INTERVAL_MS`] (a full disk fails every produce; one
/// line says it, the next says how many more there were).
pub fn storage_error(what: &dyn std::fmt::Display) {
    STORAGE_ERRORS.fetch_add(1, Relaxed);
    let now = weir_storage::clock::now_ms();
    if should_log(&STORAGE_ERROR_LOGGED_MS, now, STORAGE_ERROR_LOG_INTERVAL_MS) {
        let suppressed = STORAGE_ERRORS_SUPPRESSED.swap(0, Relaxed);
        let more = if suppressed > 0 {
            format!(" ({suppressed} more since the last report)")
        } else {
            String::new()
        };
        tracing::error!("KAFKA_STORAGE_ERROR: {what}{more}");
    } else {
        STORAGE_ERRORS_SUPPRESSED.fetch_add(1, Relaxed);
    }
}

/// True (and `last` moved to `now`) when nothing was logged in the last `interval_ms`.
fn should_log(last: &AtomicI64, now: i64, interval_ms: i64) -> bool {
    let prev = last.load(Relaxed);
    if prev != i64::MIN && now.saturating_sub(prev) < interval_ms {
        return false;
    }
    last.compare_exchange(prev, now, Relaxed, Relaxed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_storage_error_line_is_rate_limited() {
        let last = AtomicI64::new(i64::MIN);
        assert!(should_log(&last, 1_000, 60_000));
        assert!(!should_log(&last, 1_001, 60_000));
        assert!(!should_log(&last, 60_999, 60_000));
        assert!(should_log(&last, 61_000, 60_000));
    }

    #[test]
    fn a_connection_counts_until_its_guard_drops() {
        let t = Telemetry::default();
        let f = t.listener("PLAINTEXT");
        let g1 = Telemetry::connection_opened(&f);
        let g2 = Telemetry::connection_opened(&t.listener("PLAINTEXT"));
        assert_eq!(t.listeners(), vec![("PLAINTEXT".to_string(), 2, 2)]);
        drop(g1);
        drop(g2);
        assert_eq!(t.listeners(), vec![("PLAINTEXT".to_string(), 0, 2)]);
    }
}
