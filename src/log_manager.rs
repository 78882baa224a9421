//! The log manager's background work: retention every
//! `log.retention.check.interval.ms` (time / size / log start, for topics whose
//! `cleanup.policy` includes `delete`; log-start cleanup for all) and the log
//! cleaner every `log.cleaner.backoff.ms` (compaction of topics whose policy
//! includes `compact`, when `log.cleaner.enable`).
//!
//! A retention pass looks only at the logs with something due
//! ([`RetentionSchedule`]) and a cleaner pass only at the compacted topics
//! ([`CompactedTopics`]), so with many idle partitions a pass costs the work
//! it does, not the partition count.
//!
//! Both run on one dedicated OS thread, never on the async workers: they do
//! file removals, fsyncs and CPU-heavy re-encoding. The thread notices
//! shutdown within [`POLL`] and abandons a clean in progress (the log keeps its
//! pre-clean state for that group; the next start discards the partial file).

use crate::partitions::{Partition, Registry, Topic};
use crate::state::BrokerState;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_storage::cleaner::CleanStats;
use weir_storage::clock::now_ms;
use weir_storage::retention::RetentionOutcome;
use weir_storage::{RetentionStamp, StorageError, Store};

/// How often the thread looks at the clock and the shutdown flag.
const POLL: Duration = Duration::from_millis(50);

/// Totals since start-up (the HTTP endpoint and the report read these).
#[derive(Debug, Default)]
pub struct LogManagerStats {
    pub retention_runs: AtomicU64,
    /// Logs a retention pass looked at (due, changed, or after a config
    /// change), all passes together: what a pass costs, whatever the
    /// partition count.
    pub retention_logs_looked: AtomicU64,
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

/// Which logs a retention pass looks at, and when, so that a pass costs the
/// logs with something due rather than the partition count. Retention
/// deletes any segment that qualifies, the active one too when it is not
/// empty (Kafka's rule), so every non-empty log may have work; an empty one
/// (one empty segment) has none until an append.
///
/// - The first pass: after a clean stop, the logs the clean-shutdown marker
///   names as possibly multi-segment are looked at
///   ([`Store::multi_segment_logs`]) and the non-empty one-segment logs it
///   stamps ([`Store::stamped_logs`]) are scheduled at their segment's
///   largest timestamp + `retention.ms`, neither opened nor listed; else
///   (an unclean stop, an old or torn marker) every partition once, an
///   empty log passed by ([`Partition::retention_idle`]).
/// - After that a log is looked at again when its segment list changes (a
///   roll, a truncation, DeleteRecords, a cleaner swap, or the first append
///   into an empty active segment: [`Store::take_changed_logs`]), when its
///   due time comes, or after a config change.
/// - A watched log's due time is when its oldest segment (the active one,
///   if it is the only one) expires by `retention.ms`
///   ([`weir_storage::retention::next_due_ms`]: only the oldest segment can
///   go first). Appends into the active segment move its largest timestamp
///   later without touching the schedule (nothing is added to the produce
///   path): the pass at the old due time re-checks and re-queues at the new
///   one. With `retention.bytes` set it is every pass while the log has a
///   sealed segment (appends grow it), and for a one-segment log only with
///   `retention.bytes` 0 (Kafka's `size - limit - segment >= 0`); with
///   neither, never until its segments or its config change.
/// - A config change (AlterConfigs / IncrementalAlterConfigs on the topic, a
///   dynamic broker config: [`Registry::config_generation`]) applies the new
///   config at the next pass: the multi-segment watched logs are looked at,
///   the one-segment ones rescheduled from the largest timestamp last seen
///   ([`Watch`]'s `stamp`; a stale one is only earlier), without opening them.
#[derive(Debug, Default)]
pub struct RetentionSchedule {
    /// The first pass (every partition) is done.
    swept: bool,
    /// [`Registry::config_generation`] the due times were computed under.
    config_generation: u64,
    /// The non-empty logs, each with its due time and stamp ([`Watch`]).
    watched: HashMap<(String, i32), Watch>,
    /// Due times, earliest first; an entry that no longer matches `watched` is stale.
    due: BinaryHeap<Reverse<(i64, String, i32)>>,
}

/// What the schedule keeps of one watched log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Watch {
    /// When a pass looks at it next (`None`: not before its segments or
    /// config change).
    due: Option<i64>,
    /// For a log of one non-empty segment, that segment's largest timestamp
    /// as last seen (appends since only make it later): a config change
    /// reschedules the log from it without opening it.
    stamp: Option<i64>,
}

impl RetentionSchedule {
    /// The logs watched now (not empty).
    pub fn watched(&self) -> usize {
        self.watched.len()
    }

    /// One retention pass at time `now` (ms): the logs due, changed since the
    /// last pass or (after a config change) watched, as the type's doc says.
    pub fn pass(
        &mut self,
        partitions: &Registry,
        store: &Store,
        stats: &LogManagerStats,
        now: i64,
    ) {
        let started = Instant::now();
        // Taken before the first walk: a change after it is seen next pass.
        let mut todo: Vec<(String, i32)> = store
            .take_changed_logs()
            .into_iter()
            .map(|tp| (tp.topic, tp.partition))
            .collect();
        let generation = partitions.config_generation();
        let mut restamp: Vec<((String, i32), i64)> = Vec::new();
        if !self.swept {
            match store.multi_segment_logs() {
                // After a clean stop the marker names the logs that may hold
                // more than one segment and stamps the non-empty one-segment
                // ones: no other log can have work.
                Some(logs) => {
                    todo.extend(logs.into_iter().map(|tp| (tp.topic, tp.partition)));
                    restamp.extend(
                        store
                            .stamped_logs()
                            .into_iter()
                            .map(|(tp, ts)| ((tp.topic, tp.partition), ts)),
                    );
                }
                None => {
                    for t in partitions.topics() {
                        for p in t.partitions() {
                            if !p.retention_idle() {
                                todo.push((p.topic.clone(), p.index));
                            }
                        }
                    }
                }
            }
            self.swept = true;
        } else if generation != self.config_generation {
            // One-segment logs from their stamp, without opening them; the
            // others looked at.
            for (key, w) in &self.watched {
                match w.stamp {
                    Some(ts) => restamp.push((key.clone(), ts)),
                    None => todo.push(key.clone()),
                }
            }
        }
        self.config_generation = generation;
        for (key, ts) in restamp {
            let Some(policy) = partitions.topic(&key.0).map(|t| t.resolved().retention) else {
                self.watched.remove(&key);
                continue;
            };
            let at = if policy.retention_bytes == Some(0) {
                Some(now)
            } else {
                weir_storage::retention::due_by_time(ts, &policy)
            };
            if let Some(at) = at {
                self.due.push(Reverse((at, key.0.clone(), key.1)));
            }
            self.watched.insert(
                key,
                Watch {
                    due: at,
                    stamp: Some(ts),
                },
            );
        }
        while self
            .due
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now)
        {
            let Some(Reverse((at, topic, index))) = self.due.pop() else {
                break;
            };
            let key = (topic, index);
            if self.watched.get(&key).is_some_and(|w| w.due == Some(at)) {
                todo.push(key);
            }
        }
        todo.sort_unstable();
        todo.dedup();
        let due = todo.len();
        let mut looked = 0usize;
        for key in todo {
            let found = partitions
                .topic(&key.0)
                .and_then(|t| Some((t.partition(key.1)?, t.resolved().retention)));
            let Some((p, policy)) = found else {
                self.watched.remove(&key);
                continue;
            };
            if p.retention_idle() {
                self.watched.remove(&key);
                continue;
            }
            looked += 1;
            let next = match p.apply_retention(&policy, now) {
                Ok(outcome) if outcome.deleted.is_empty() => outcome.next_due_ms,
                Ok(outcome) => {
                    report(stats, &p, &outcome);
                    // The deletion noted a change of this log: forget it, then
                    // read the segments again (a roll meanwhile is in them;
                    // one after is noted again).
                    store.forget_changed_log(&p.tp());
                    p.retention_due(&policy, now)
                }
                Err(StorageError::Closed) => {
                    // Deleted (or the store is closing): nothing to watch.
                    self.watched.remove(&key);
                    continue;
                }
                Err(e) => {
                    tracing::error!("retention of {}-{} failed: {e}", p.topic, p.index);
                    Some(now)
                }
            };
            let stamp = match p.retention_stamp() {
                RetentionStamp::Empty => {
                    self.watched.remove(&key);
                    continue;
                }
                RetentionStamp::OneSegment(ts) => Some(ts),
                RetentionStamp::Unknown => None,
            };
            if let Some(at) = next {
                self.due.push(Reverse((at, key.0.clone(), key.1)));
            }
            self.watched.insert(key, Watch { due: next, stamp });
        }
        if self.due.len() > 2 * self.watched.len() + 1024 {
            // Drop the stale entries.
            self.due = self
                .watched
                .iter()
                .filter_map(|((t, i), w)| Some(Reverse((w.due?, t.clone(), *i))))
                .collect();
        }
        stats
            .retention_logs_looked
            .fetch_add(looked as u64, Ordering::Relaxed);
        stats.retention_runs.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            "retention pass: {due} due, {looked} looked at, {} watched, {:.3} ms",
            self.watched.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// Log and count what one log's retention deleted.
fn report(stats: &LogManagerStats, p: &Partition, outcome: &RetentionOutcome) {
    let RetentionOutcome {
        deleted,
        bytes_deleted,
        log_start_offset,
        ..
    } = outcome;
    if !deleted.is_empty() {
        tracing::info!(
            "retention deleted {} segments ({bytes_deleted} bytes) of {}-{} ({}); log start offset now {log_start_offset}",
            deleted.len(),
            p.topic,
            p.index,
            reasons(deleted),
        );
    }
    stats
        .segments_deleted
        .fetch_add(deleted.len() as u64, Ordering::Relaxed);
    stats
        .bytes_deleted
        .fetch_add(*bytes_deleted, Ordering::Relaxed);
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

/// The compacted topics, walked again only when a topic is added, deleted
/// or grown or a config changes ([`Registry::topics_generation`]), so a
/// cleaner pass costs the compacted partitions, not every partition.
#[derive(Default)]
pub struct CompactedTopics {
    generation: Option<u64>,
    topics: Vec<Arc<Topic>>,
}

impl CompactedTopics {
    fn get(&mut self, partitions: &Registry) -> &[Arc<Topic>] {
        let generation = partitions.topics_generation();
        if self.generation != Some(generation) {
            self.topics = partitions
                .topics()
                .into_iter()
                .filter(|t| t.resolved().compacted)
                .collect();
            self.generation = Some(generation);
        }
        &self.topics
    }
}

/// One cleaner pass over every compacted partition (dirtiest first).
pub fn run_cleaner(
    state: &BrokerState,
    compacted: &mut CompactedTopics,
    stats: &LogManagerStats,
    stop: &AtomicBool,
) {
    // Partitions found with nothing dirty are skipped until their log grows, so
    // a pass costs what changed, not the partition count.
    let started = Instant::now();
    let mut due: Vec<_> = compacted
        .get(&state.partitions)
        .iter()
        .flat_map(|t| {
            let cfg = t.resolved().clone();
            t.partitions().into_iter().map(move |p| (p, cfg.clone()))
        })
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
    let mut retention = RetentionSchedule::default();
    let mut compacted = CompactedTopics::default();
    loop {
        if state.is_shutting_down() {
            stop.store(true, Ordering::Relaxed);
            return;
        }
        let now = Instant::now();
        if now >= next_retention {
            retention.pass(&state.partitions, &state.store, &stats, now_ms());
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
            run_cleaner(&state, &mut compacted, &stats, &stop);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::topic::TopicConfig;
    use crate::config::Settings;
    use bytes::Bytes;
    use weir_storage::{AppendOptions, BatchBuilder, Record};

    const T0: i64 = 1_700_000_000_000;
    /// The stamp of `layout`'s active segment, after T0.
    const LATE: i64 = 10_000_000;

    /// A registry over a data dir that was stopped cleanly once (so logs
    /// need no recovery: after an unclean stop every log is looked at once).
    fn open(dir: &std::path::Path) -> (Arc<Store>, Registry) {
        Store::open(dir).unwrap().close().unwrap();
        let (store, reg) = reopen(dir);
        reg.finish_loading();
        (store, reg)
    }

    /// The store and registry of `dir` as a restart finds them (the
    /// clean-shutdown marker, or its absence, as the last stop left it).
    fn reopen(dir: &std::path::Path) -> (Arc<Store>, Registry) {
        let store = Arc::new(Store::open(dir).unwrap());
        let reg = Registry::open(store.clone(), Arc::new(Settings::default())).unwrap();
        (store, reg)
    }

    fn config(pairs: &[(&str, &str)]) -> TopicConfig {
        TopicConfig::from_pairs(pairs.iter().copied()).unwrap()
    }

    /// One batch of one record stamped `ts`.
    fn append(p: &Partition, ts: i64) {
        let mut b = BatchBuilder::new();
        b.push(Record {
            offset: 0,
            timestamp: ts,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"v")),
            headers: vec![],
        });
        p.coordinator_log()
            .append(&b.build().unwrap(), AppendOptions::default())
            .unwrap();
    }

    fn looked(stats: &LogManagerStats) -> u64 {
        stats.retention_logs_looked.load(Ordering::Relaxed)
    }

    /// A topic of 20 idle partitions and `t` (segment.bytes 100, so
    /// every batch after the first rolls), with 3 batches in `t-0`: two
    /// stamped T0, the active segment's T0 + LATE.
    fn layout(reg: &Registry, t_config: &[(&str, &str)]) -> Arc<Partition> {
        reg.create_topic("idle", 20, TopicConfig::default(), false)
            .unwrap();
        let mut pairs = vec![("segment.bytes", "100")];
        pairs.extend_from_slice(t_config);
        let t = reg
            .create_topic("t", 1, config(&pairs), false)
            .unwrap()
            .unwrap();
        let p = t.partition(0).unwrap();
        // The active segment's record is stamped much later: it goes (as
        // Kafka's active segment does) only when it expires itself.
        append(&p, T0);
        append(&p, T0);
        append(&p, T0 + LATE);
        assert_eq!(p.coordinator_log().segment_count(), 3);
        p
    }

    #[test]
    fn a_log_due_later_is_not_looked_at_before_its_time_and_goes_on_time() {
        let dir = tempfile::tempdir().unwrap();
        let (store, reg) = open(dir.path());
        let p = layout(&reg, &[("retention.ms", "60000")]);
        let stats = LogManagerStats::default();
        let mut s = RetentionSchedule::default();
        s.pass(&reg, &store, &stats, T0 + 1_000);
        // Only the log with sealed segments; the 20 idle ones are passed by.
        assert_eq!(looked(&stats), 1);
        assert_eq!(s.watched(), 1);
        // Its oldest segment expires at T0 + 60,001: no pass looks before.
        for now in [T0 + 2_000, T0 + 30_000, T0 + 60_000] {
            s.pass(&reg, &store, &stats, now);
        }
        assert_eq!(looked(&stats), 1);
        assert_eq!(p.log_start_offset(), 0);
        s.pass(&reg, &store, &stats, T0 + 60_001);
        assert_eq!(looked(&stats), 2);
        // Both sealed segments went (the active one never does).
        assert_eq!(stats.segments_deleted.load(Ordering::Relaxed), 2);
        assert_eq!(p.log_start_offset(), 2);
        assert_eq!(p.coordinator_log().segment_count(), 1);
        // The active segment (stamped T0 + LATE) is left and watched: due at
        // T0 + LATE + 60,001, not looked at before.
        assert_eq!(s.watched(), 1);
        s.pass(&reg, &store, &stats, T0 + LATE + 60_000);
        assert_eq!(looked(&stats), 2);
        s.pass(&reg, &store, &stats, T0 + LATE + 60_001);
        assert_eq!(looked(&stats), 3);
        // It went too (Kafka's rule); an empty active segment is left at the
        // log end, and is not watched.
        assert_eq!(p.log_start_offset(), 3);
        assert_eq!(p.coordinator_log().segment_count(), 1);
        assert_eq!(s.watched(), 0);
        s.pass(&reg, &store, &stats, T0 + LATE + 200_000);
        assert_eq!(looked(&stats), 3);
    }

    #[test]
    fn a_one_segment_log_is_due_at_its_largest_timestamp_plus_retention_ms() {
        let dir = tempfile::tempdir().unwrap();
        let (store, reg) = open(dir.path());
        reg.create_topic("idle", 20, TopicConfig::default(), false)
            .unwrap();
        let t = reg
            .create_topic("one", 1, config(&[("retention.ms", "60000")]), false)
            .unwrap()
            .unwrap();
        let p = t.partition(0).unwrap();
        let stats = LogManagerStats::default();
        let mut s = RetentionSchedule::default();
        s.pass(&reg, &store, &stats, T0);
        assert_eq!((looked(&stats), s.watched()), (0, 0));
        // The first append into the empty segment is noted (once).
        append(&p, T0);
        s.pass(&reg, &store, &stats, T0 + 1);
        assert_eq!((looked(&stats), s.watched()), (1, 1));
        // A later append moves the largest timestamp without touching the
        // schedule: at the old due time the pass re-checks and re-queues.
        append(&p, T0 + 30_000);
        assert_eq!(p.coordinator_log().segment_count(), 1);
        s.pass(&reg, &store, &stats, T0 + 60_000);
        assert_eq!(looked(&stats), 1);
        s.pass(&reg, &store, &stats, T0 + 60_001);
        assert_eq!(looked(&stats), 2);
        assert_eq!(p.log_start_offset(), 0);
        s.pass(&reg, &store, &stats, T0 + 90_000);
        assert_eq!(looked(&stats), 2);
        s.pass(&reg, &store, &stats, T0 + 90_001);
        assert_eq!(looked(&stats), 3);
        assert_eq!((p.log_start_offset(), p.high_watermark()), (2, 2));
        assert_eq!(stats.segments_deleted.load(Ordering::Relaxed), 1);
        assert_eq!(s.watched(), 0);
        // Appends go on at the next offset; a clean restart keeps the due
        // time in the marker: the log is not opened before it.
        append(&p, T0 + 100_000);
        assert_eq!(p.high_watermark(), 3);
        drop((p, t, reg));
        store.close().unwrap();
        let (store, reg) = reopen(dir.path());
        let stats = LogManagerStats::default();
        let mut s = RetentionSchedule::default();
        s.pass(&reg, &store, &stats, T0 + 100_001);
        assert_eq!((looked(&stats), s.watched()), (0, 1));
        assert_eq!(store.open_log_count(), 0);
        s.pass(&reg, &store, &stats, T0 + 160_000);
        assert_eq!(looked(&stats), 0);
        s.pass(&reg, &store, &stats, T0 + 160_001);
        assert_eq!(looked(&stats), 1);
        let p = reg.partition("one", 0).unwrap();
        assert_eq!((p.log_start_offset(), p.high_watermark()), (3, 3));
    }

    #[test]
    fn a_config_change_reschedules_a_one_segment_log_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, reg) = open(dir.path());
            reg.create_topic("idle", 20, TopicConfig::default(), false)
                .unwrap();
            let t = reg
                .create_topic("one", 1, TopicConfig::default(), false)
                .unwrap()
                .unwrap();
            append(&t.partition(0).unwrap(), T0);
            drop((t, reg));
            store.close().unwrap();
        }
        let (store, reg) = reopen(dir.path());
        let stats = LogManagerStats::default();
        let mut s = RetentionSchedule::default();
        // Due in 7 days (the default retention.ms): watched, not opened.
        s.pass(&reg, &store, &stats, T0 + 1_000);
        assert_eq!((looked(&stats), s.watched()), (0, 1));
        // Ten days: still not due, and still not opened.
        reg.set_topic_config("one", config(&[("retention.ms", "864000000")]))
            .unwrap();
        s.pass(&reg, &store, &stats, T0 + 2_000);
        assert_eq!(looked(&stats), 0);
        assert_eq!(store.open_log_count(), 0);
        // One second: due at T0 + 1,001, so at once.
        reg.set_topic_config("one", config(&[("retention.ms", "1000")]))
            .unwrap();
        s.pass(&reg, &store, &stats, T0 + 3_000);
        assert_eq!(looked(&stats), 1);
        let p = reg.partition("one", 0).unwrap();
        assert_eq!((p.log_start_offset(), p.high_watermark()), (1, 1));
        assert_eq!(s.watched(), 0);
    }

    #[test]
    fn a_config_change_reschedules_at_the_next_pass() {
        let dir = tempfile::tempdir().unwrap();
        let (store, reg) = open(dir.path());
        // retention.ms at its default (7 days).
        let p = layout(&reg, &[]);
        let stats = LogManagerStats::default();
        let mut s = RetentionSchedule::default();
        s.pass(&reg, &store, &stats, T0 + 1_000);
        s.pass(&reg, &store, &stats, T0 + 2_000);
        assert_eq!(looked(&stats), 1);
        assert_eq!(p.log_start_offset(), 0);
        reg.set_topic_config(
            "t",
            config(&[("segment.bytes", "100"), ("retention.ms", "500")]),
        )
        .unwrap();
        s.pass(&reg, &store, &stats, T0 + 2_000);
        assert_eq!(looked(&stats), 2);
        assert_eq!(p.log_start_offset(), 2);
        // A dynamic broker config reschedules too: back to no time limit
        // here, a size limit of 0 bytes from the broker default.
        append(&p, T0 + 3_000);
        reg.set_topic_config(
            "t",
            config(&[("segment.bytes", "100"), ("retention.ms", "-1")]),
        )
        .unwrap();
        s.pass(&reg, &store, &stats, T0 + 3_000);
        s.pass(&reg, &store, &stats, T0 + 4_000);
        let before = looked(&stats);
        assert_eq!(p.log_start_offset(), 2);
        let mut settings = Settings::default();
        settings
            .set(
                "log.retention.bytes",
                "0",
                crate::config::Source::DynamicDefault,
            )
            .unwrap();
        reg.set_broker_settings(Arc::new(settings));
        s.pass(&reg, &store, &stats, T0 + 4_000);
        assert_eq!(looked(&stats), before + 1);
        // retention.bytes 0: every segment goes, the active one too (Kafka's
        // `diff - size >= 0` holds for it), leaving an empty one at the end.
        assert_eq!(p.log_start_offset(), 4);
        assert_eq!(p.high_watermark(), 4);
    }

    #[test]
    fn after_a_clean_restart_only_the_logs_the_marker_names_are_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, reg) = open(dir.path());
            layout(&reg, &[("retention.ms", "60000")]);
            drop(reg);
            store.close().unwrap();
        }
        let (store, reg) = reopen(dir.path());
        let stats = LogManagerStats::default();
        let mut s = RetentionSchedule::default();
        s.pass(&reg, &store, &stats, T0 + 1_000);
        assert_eq!(looked(&stats), 1);
        assert_eq!(s.watched(), 1);
        // The 20 idle logs were not opened, nor listed.
        assert_eq!(store.open_log_count(), 1);
        s.pass(&reg, &store, &stats, T0 + 60_001);
        assert_eq!(looked(&stats), 2);
        let p = reg.partition("t", 0).unwrap();
        assert_eq!(p.log_start_offset(), 2);
    }

    #[test]
    fn after_an_unclean_stop_the_first_pass_looks_at_every_log_once() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (_store, reg) = open(dir.path());
            layout(&reg, &[("retention.ms", "60000")]);
            // No close: as after a SIGKILL.
        }
        let store = Arc::new(Store::open(dir.path()).unwrap());
        assert!(!store.was_clean_shutdown());
        let reg = Registry::open(store.clone(), Arc::new(Settings::default())).unwrap();
        let stats = LogManagerStats::default();
        let mut s = RetentionSchedule::default();
        s.pass(&reg, &store, &stats, T0 + 1_000);
        // Every log recovers before anything is known of it: 21 looked at.
        assert_eq!(looked(&stats), 21);
        assert_eq!(s.watched(), 1);
        s.pass(&reg, &store, &stats, T0 + 2_000);
        assert_eq!(looked(&stats), 21);
        s.pass(&reg, &store, &stats, T0 + 60_001);
        assert_eq!(looked(&stats), 22);
        assert_eq!(reg.partition("t", 0).unwrap().log_start_offset(), 2);
    }

    #[test]
    fn deleted_records_and_deleted_topics_leave_the_schedule() {
        let dir = tempfile::tempdir().unwrap();
        let (store, reg) = open(dir.path());
        let p = layout(&reg, &[]);
        let stats = LogManagerStats::default();
        let mut s = RetentionSchedule::default();
        s.pass(&reg, &store, &stats, T0);
        assert_eq!(s.watched(), 1);
        // DeleteRecords removes the sealed segments itself; the change is
        // seen at the next pass, which finds only the active segment.
        p.delete_records(2).unwrap();
        s.pass(&reg, &store, &stats, T0 + 1);
        // The active segment is left, not empty: watched (due in 7 days).
        assert_eq!(s.watched(), 1);
        p.delete_records(3).unwrap();
        s.pass(&reg, &store, &stats, T0 + 1);
        assert_eq!(s.watched(), 0);
        append(&p, T0);
        s.pass(&reg, &store, &stats, T0 + 2);
        assert_eq!(s.watched(), 1);
        reg.delete_topic("t").unwrap();
        reg.set_topic_config("idle", config(&[("retention.ms", "1")]))
            .unwrap();
        s.pass(&reg, &store, &stats, T0 + 3);
        assert_eq!(s.watched(), 0);
    }
}
