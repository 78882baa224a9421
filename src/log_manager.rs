//! The log manager's background work: retention every
//! `log.retention.check.interval.ms` (time / size / log start, for topics whose
//! `cleanup.policy` includes `delete`; log-start cleanup for all) and the log
//! cleaner every `log.cleaner.backoff.ms` (compaction of topics whose policy
//! includes `compact`, when `log.cleaner.enable`).
//!
//! Both run on one dedicated OS thread, never on the async workers: they do
//! file removals, fsyncs and CPU-heavy re-encoding. The thread notices
//! shutdown within [`POLL`] and abandons a clean in progress (the log keeps its
//! pre-clean state for that group; the next start discards the partial file).

use crate::config::topic::ResolvedTopicConfig;
use crate::partitions::Partition;
use crate::state::BrokerState;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_storage::cleaner::CleanStats;
use weir_storage::clock::now_ms;
use weir_storage::retention::RetentionOutcome;
use weir_storage::StorageError;

/// How often the thread looks at the clock and the shutdown flag.
const POLL: Duration = Duration::from_millis(50);

/// Totals since start-up (the HTTP endpoint and the report read these).
#[derive(Debug, Default)]
pub struct LogManagerStats {
    pub retention_runs: AtomicU64,
    pub segments_deleted: AtomicU64,
    pub bytes_deleted: AtomicU64,
    pub cleaner_runs: AtomicU64,
    pub bytes_cleaned: AtomicU64,
    pub bytes_cleaned_written: AtomicU64,
    pub cleaning_nanos: AtomicU64,
    /// Each compacted partition's dirty ratio (dirty bytes / cleanable bytes)
    /// as the cleaner last found it (0 when it found nothing dirty).
    pub dirty_ratios: parking_lot::Mutex<BTreeMap<(String, i32), f64>>,
}

impl LogManagerStats {
    /// MB/s over all cleaning done so far (bytes read / time spent cleaning).
    pub fn cleaner_mb_per_sec(&self) -> f64 {
        let nanos = self.cleaning_nanos.load(Ordering::Relaxed);
        if nanos == 0 {
            return 0.0;
        }
        self.bytes_cleaned.load(Ordering::Relaxed) as f64 / 1e6 / (nanos as f64 / 1e9)
    }
}

fn all_partitions(state: &BrokerState) -> Vec<(Arc<Partition>, Arc<ResolvedTopicConfig>)> {
    partitions_where(state, |_| true)
}

/// The partitions of the topics whose config passes `keep` (a topic is looked
/// at once, not each of its partitions).
fn partitions_where(
    state: &BrokerState,
    keep: impl Fn(&ResolvedTopicConfig) -> bool,
) -> Vec<(Arc<Partition>, Arc<ResolvedTopicConfig>)> {
    state
        .partitions
        .topics()
        .iter()
        .filter(|t| keep(&t.resolved()))
        .flat_map(|t| {
            let cfg = t.resolved().clone();
            t.partitions().into_iter().map(move |p| (p, cfg.clone()))
        })
        .collect()
}

/// One retention pass over every partition.
pub fn run_retention(state: &BrokerState, stats: &LogManagerStats) {
    let now = now_ms();
    let started = Instant::now();
    let all = all_partitions(state);
    let (total, mut looked) = (all.len(), 0usize);
    for (p, cfg) in all {
        // A log with only its active segment: nothing can go. Known without
        // opening the log (opening every log not opened yet, mapping it,
        // made the first pass after a start cost every partition's files).
        if p.retention_idle() {
            continue;
        }
        looked += 1;
        let policy = cfg.retention;
        match p.apply_retention(&policy, now) {
            Ok(RetentionOutcome {
                deleted,
                bytes_deleted,
                log_start_offset,
            }) => {
                if !deleted.is_empty() {
                    tracing::info!(
                        "retention deleted {} segments ({bytes_deleted} bytes) of {}-{} ({}); log start offset now {log_start_offset}",
                        deleted.len(),
                        p.topic,
                        p.index,
                        reasons(&deleted),
                    );
                }
                stats
                    .segments_deleted
                    .fetch_add(deleted.len() as u64, Ordering::Relaxed);
                stats
                    .bytes_deleted
                    .fetch_add(bytes_deleted, Ordering::Relaxed);
            }
            Err(StorageError::Closed) => {}
            Err(e) => tracing::error!("retention of {}-{} failed: {e}", p.topic, p.index),
        }
    }
    stats.retention_runs.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        "retention pass: {total} partitions, {looked} looked at, {:.3} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
}

/// Why segments went, counted: `2 by time, 1 by size`.
fn reasons(deleted: &[(i64, weir_storage::RetentionReason)]) -> String {
    use weir_storage::RetentionReason as R;
    [
        (R::Time, "time"),
        (R::Size, "size"),
        (R::LogStart, "log start"),
    ]
    .iter()
    .filter_map(|(r, name)| {
        let n = deleted.iter().filter(|(_, why)| why == r).count();
        (n > 0).then(|| format!("{n} by {name}"))
    })
    .collect::<Vec<_>>()
    .join(", ")
}

/// One cleaner pass over every compacted partition (dirtiest first).
pub fn run_cleaner(state: &BrokerState, stats: &LogManagerStats, stop: &AtomicBool) {
    // Partitions found with nothing dirty are skipped until their log grows, so
    // a pass costs what changed, not the partition count.
    let started = Instant::now();
    let mut due: Vec<_> = partitions_where(state, |cfg| cfg.compacted)
        .into_iter()
        .filter(|(p, _)| !p.cleaner_quiet())
        .map(|(p, cfg)| {
            let ccfg = cfg.cleaner;
            let end = p.high_watermark();
            let info = p.dirty_info(&ccfg);
            if info.dirty_bytes == 0 {
                p.set_cleaner_quiet(end);
            }
            stats
                .dirty_ratios
                .lock()
                .insert((p.topic.clone(), p.index), info.ratio());
            (p, ccfg, info)
        })
        .filter(|(_, ccfg, info)| info.should_clean(ccfg, now_ms()))
        .collect();
    due.sort_by(|a, b| b.2.ratio().total_cmp(&a.2.ratio()));
    let picked = due.len();
    for (p, ccfg, _) in due {
        if stop.load(Ordering::Relaxed) || state.is_shutting_down() {
            return;
        }
        // Open transactions are never cleaned: the cleaner stops at the last stable offset.
        match p.clean(&ccfg, stop) {
            Ok(Some(s)) => record(stats, &p, &s),
            Ok(None) | Err(StorageError::Closed) => {}
            Err(e) => tracing::error!("cleaning {}-{} failed: {e}", p.topic, p.index),
        }
    }
    stats.cleaner_runs.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        "cleaner pass: {picked} partitions to clean, {:.3} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
}

fn record(stats: &LogManagerStats, p: &Partition, s: &CleanStats) {
    stats
        .bytes_cleaned
        .fetch_add(s.bytes_read, Ordering::Relaxed);
    stats
        .bytes_cleaned_written
        .fetch_add(s.bytes_written, Ordering::Relaxed);
    stats
        .cleaning_nanos
        .fetch_add(s.elapsed.as_nanos() as u64, Ordering::Relaxed);
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    tracing::info!(
        "cleaned {}-{}: {} segments -> {}, {:.1} MB -> {:.1} MB in {:.3} s ({:.1} MB/s), {} of {} records kept",
        p.topic,
        p.index,
        s.segments_in,
        s.segments_out,
        s.bytes_read as f64 / 1e6,
        s.bytes_written as f64 / 1e6,
        secs,
        s.bytes_read as f64 / 1e6 / secs,
        s.records_kept,
        s.records_read,
    );
}

/// Once the listeners accept: build the topics the registry left at open
/// ([`crate::partitions::Registry::finish_loading`]), then, after an unclean
/// stop, open (recover) every log not recovered yet, all on one thread, so
/// the broker answers at once and each log is recovered before it is served
/// (first use recovers it too, and waits for a recovery in progress). Each
/// recovered log is left first in line to close again.
pub fn start_recovery(state: Arc<BrokerState>) -> Option<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("weir-recovery".into())
        .spawn(move || {
            state.partitions.finish_loading();
            state.partitions.wait_loaded();
            recover_all(&state);
        })
        .ok()
}

fn recover_all(state: &BrokerState) {
    let logs = state.store.logs_to_recover();
    if logs.is_empty() {
        return;
    }
    let started = Instant::now();
    let total = logs.len();
    for log in logs {
        if state.is_shutting_down() {
            return;
        }
        if !log.needs_recovery() {
            continue;
        }
        match log.open_now() {
            Ok(()) => log.release(),
            Err(StorageError::Closed) => {}
            Err(e) => tracing::error!("recovering {log:?} failed: {e}"),
        }
    }
    tracing::info!(
        "recovered {total} logs in {:.3} s",
        started.elapsed().as_secs_f64()
    );
}

/// Start the background thread. It ends when the broker shuts down.
pub fn start(state: Arc<BrokerState>, stats: Arc<LogManagerStats>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("weir-log-manager".into())
        .spawn(move || run(state, stats))
        .expect("spawn the log manager thread")
}

fn run(state: Arc<BrokerState>, stats: Arc<LogManagerStats>) {
    let settings = state.settings.clone();
    let retention_every =
        Duration::from_millis(settings.i64("log.retention.check.interval.ms").max(1) as u64);
    let cleaner_enabled = settings.bool("log.cleaner.enable");
    let backoff = Duration::from_millis(settings.i64("log.cleaner.backoff.ms").max(1) as u64);
    let stop = Arc::new(AtomicBool::new(false));
    let mut next_retention = Instant::now() + retention_every;
    let mut next_clean = Instant::now() + backoff;
    loop {
        if state.is_shutting_down() {
            stop.store(true, Ordering::Relaxed);
            return;
        }
        let now = Instant::now();
        if now >= next_retention {
            run_retention(&state, &stats);
            next_retention = Instant::now() + retention_every;
        }
        if cleaner_enabled && now >= next_clean {
            // A watcher flips `stop` if shutdown starts during a long clean.
            let watcher = {
                let state = state.clone();
                let stop = stop.clone();
                let done = Arc::new(AtomicBool::new(false));
                let d = done.clone();
                let h = std::thread::spawn(move || {
                    while !d.load(Ordering::Relaxed) {
                        if state.is_shutting_down() {
                            stop.store(true, Ordering::Relaxed);
                            return;
                        }
                        std::thread::sleep(POLL);
                    }
                });
                (done, h)
            };
            run_cleaner(&state, &stats, &stop);
            watcher.0.store(true, Ordering::Relaxed);
            let _ = watcher.1.join();
            // `log.cleaner.backoff.ms` is a dynamic broker config: read the
            // effective value each round.
            let backoff = state
                .partitions
                .settings()
                .i64("log.cleaner.backoff.ms")
                .max(1);
            next_clean = Instant::now() + Duration::from_millis(backoff as u64);
        }
        let wake = next_retention.min(if cleaner_enabled {
            next_clean
        } else {
            next_retention
        });
        std::thread::sleep(wake.saturating_duration_since(Instant::now()).min(POLL));
    }
}
