//! Live measurements shared by producer and consumer tasks: counters, HDR latency
//! histograms (whole run and per-second interval), the per-second timeline, the clock
//! that timestamps records, and client CPU time from getrusage(2).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

/// Highest latency the histograms track (1 hour, in microseconds); larger values saturate.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Wall-clock microseconds derived from a monotonic clock, so that timestamps written into
/// records and read back in this process never go backwards.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
    base_us: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    pub fn new() -> Self {
        let base_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        Clock {
            base: Instant::now(),
            base_us,
        }
    }

    /// Microseconds since the UNIX epoch at `t`.
    pub fn us_at(&self, t: Instant) -> u64 {
        self.base_us + t.saturating_duration_since(self.base).as_micros() as u64
    }

    /// Microseconds since the UNIX epoch now.
    pub fn now_us(&self) -> u64 {
        self.us_at(Instant::now())
    }
}

/// A new latency histogram (microseconds, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    /// Summarises a microsecond histogram; `None` when it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<Percentiles> {
        if h.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(Percentiles {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        })
    }
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelinePoint {
    /// Seconds since the start of the measured run (end of the interval).
    pub t: f64,
    pub acked_per_s: f64,
    pub consumed_per_s: f64,
    pub ack: Option<Percentiles>,
    pub e2e: Option<Percentiles>,
}

struct Hists {
    ack: Histogram<u64>,
    e2e: Histogram<u64>,
    ack_interval: Histogram<u64>,
    e2e_interval: Histogram<u64>,
}

/// Counters and histograms updated by all tasks of one run.
pub struct Stats {
    pub clock: Clock,
    pub start: Instant,
    /// Records handed to the network in Produce requests.
    pub sent_records: AtomicU64,
    /// Records acknowledged without error (with acks=0: sent).
    pub acked_records: AtomicU64,
    /// Key + value bytes of acknowledged records.
    pub acked_payload_bytes: AtomicU64,
    /// Records whose partition response carried an error code.
    pub produce_errors: AtomicU64,
    /// The last error code seen, for the report.
    pub last_produce_error: AtomicU64,
    /// Produce request frame bytes written.
    pub wire_bytes: AtomicU64,
    pub consumed_records: AtomicU64,
    pub consumed_payload_bytes: AtomicU64,
    /// Fetch response frame bytes read.
    pub fetched_wire_bytes: AtomicU64,
    /// Fetch responses received.
    pub fetch_responses: AtomicU64,
    /// Produce requests sent.
    pub produce_requests: AtomicU64,
    /// When a consumer last counted records (µs since the epoch, by `clock`); consume
    /// throughput is measured up to here, not to the end of the last empty long poll.
    pub last_consumed_us: AtomicU64,
    /// Bumped by [`Stats::reset`] (end of warm-up) so samplers restart their deltas.
    pub generation: AtomicU64,
    hists: Mutex<Hists>,
}

impl Stats {
    pub fn new(clock: Clock) -> Self {
        Stats {
            clock,
            start: Instant::now(),
            sent_records: AtomicU64::new(0),
            acked_records: AtomicU64::new(0),
            acked_payload_bytes: AtomicU64::new(0),
            produce_errors: AtomicU64::new(0),
            last_produce_error: AtomicU64::new(0),
            wire_bytes: AtomicU64::new(0),
            consumed_records: AtomicU64::new(0),
            consumed_payload_bytes: AtomicU64::new(0),
            fetched_wire_bytes: AtomicU64::new(0),
            fetch_responses: AtomicU64::new(0),
            produce_requests: AtomicU64::new(0),
            last_consumed_us: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            hists: Mutex::new(Hists {
                ack: new_histogram(),
                e2e: new_histogram(),
                ack_interval: new_histogram(),
                e2e_interval: new_histogram(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Hists> {
        self.hists.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records produce->ack latencies for records stamped `stamps` (µs), acked at `now_us`.
    pub fn record_acks(&self, now_us: u64, stamps: &[u64]) {
        let mut h = self.lock();
        for &s in stamps {
            let lat = now_us.saturating_sub(s).max(1);
            h.ack.saturating_record(lat);
            h.ack_interval.saturating_record(lat);
        }
    }

    /// Records end-to-end latencies (µs) measured by a consumer.
    pub fn record_e2e(&self, lats: &[u64]) {
        if lats.is_empty() {
            return;
        }
        let mut h = self.lock();
        for &lat in lats {
            h.e2e.saturating_record(lat.max(1));
            h.e2e_interval.saturating_record(lat.max(1));
        }
    }

    /// Forgets everything measured so far (end of warm-up); the load keeps running.
    pub fn reset(&self) {
        let mut h = self.lock();
        for c in [
            &self.sent_records,
            &self.acked_records,
            &self.acked_payload_bytes,
            &self.produce_errors,
            &self.wire_bytes,
            &self.consumed_records,
            &self.consumed_payload_bytes,
            &self.fetched_wire_bytes,
            &self.fetch_responses,
            &self.produce_requests,
            &self.last_consumed_us,
        ] {
            c.store(0, Relaxed);
        }
        h.ack.reset();
        h.e2e.reset();
        h.ack_interval.reset();
        h.e2e_interval.reset();
        self.generation.fetch_add(1, Relaxed);
    }

    /// Whole-run latency summaries (ack, e2e).
    pub fn totals(&self) -> (Option<Percentiles>, Option<Percentiles>) {
        let h = self.lock();
        (Percentiles::of(&h.ack), Percentiles::of(&h.e2e))
    }

    /// Takes and resets the interval histograms.
    pub fn take_interval(&self) -> (Option<Percentiles>, Option<Percentiles>) {
        let mut h = self.lock();
        let out = (
            Percentiles::of(&h.ack_interval),
            Percentiles::of(&h.e2e_interval),
        );
        h.ack_interval.reset();
        h.e2e_interval.reset();
        out
    }
}

/// Samples the stats once a second: builds the timeline and prints a progress line.
pub struct Sampler {
    last_t: Instant,
    last_acked: u64,
    last_consumed: u64,
    last_payload: u64,
    generation: u64,
    pub timeline: Vec<TimelinePoint>,
}

impl Sampler {
    pub fn new(start: Instant) -> Self {
        Sampler {
            last_t: start,
            last_acked: 0,
            last_consumed: 0,
            last_payload: 0,
            generation: 0,
            timeline: Vec::new(),
        }
    }

    /// Closes the current interval; returns the progress line.
    pub fn sample(&mut self, stats: &Stats, now: Instant) -> String {
        let dt = now.duration_since(self.last_t).as_secs_f64().max(1e-9);
        let generation = stats.generation.load(Relaxed);
        if generation != self.generation {
            // Counters were reset (warm-up ended) during this interval.
            self.generation = generation;
            self.last_acked = 0;
            self.last_consumed = 0;
            self.last_payload = 0;
        }
        let acked = stats.acked_records.load(Relaxed);
        let consumed = stats.consumed_records.load(Relaxed);
        let payload = stats.acked_payload_bytes.load(Relaxed);
        let (ack, e2e) = stats.take_interval();
        let p = TimelinePoint {
            t: now.duration_since(stats.start).as_secs_f64(),
            acked_per_s: acked.saturating_sub(self.last_acked) as f64 / dt,
            consumed_per_s: consumed.saturating_sub(self.last_consumed) as f64 / dt,
            ack,
            e2e,
        };
        let mb = payload.saturating_sub(self.last_payload) as f64 / dt / 1e6;
        self.last_t = now;
        self.last_acked = acked;
        self.last_consumed = consumed;
        self.last_payload = payload;
        let line = progress_line(&p, mb);
        self.timeline.push(p);
        line
    }
}

fn progress_line(p: &TimelinePoint, produce_mb: f64) -> String {
    let mut s = format!(
        "[{:>5.1}s] produce {:>9.0} rec/s {:>7.1} MB/s",
        p.t, p.acked_per_s, produce_mb
    );
    if let Some(a) = p.ack {
        s += &format!(" ack p50 {:.2} p99 {:.2} max {:.2} ms", a.p50, a.p99, a.max);
    }
    s += &format!(" | consume {:>9.0} rec/s", p.consumed_per_s);
    if let Some(e) = p.e2e {
        s += &format!(" e2e p50 {:.2} p99 {:.2} max {:.2} ms", e.p50, e.p99, e.max);
    }
    s
}

/// User and system CPU time of this process so far.
pub fn cpu_times() -> (Duration, Duration) {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a rusage struct owned by this frame.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return (Duration::ZERO, Duration::ZERO);
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// The host's steal and total CPU ticks so far (the first line of `/proc/stat`): steal is
/// time the hypervisor gave to other guests while this one wanted to run. (0, 0) where
/// `/proc/stat` cannot be read.
pub fn host_ticks() -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else {
        return (0, 0);
    };
    let fields: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    if fields.len() < 8 {
        return (0, 0);
    }
    (fields[7], fields.iter().sum())
}

/// Steal as a percentage of all CPU time between two [`host_ticks`] readings.
pub fn steal_percent(before: (u64, u64), after: (u64, u64)) -> f64 {
    let total = after.1.saturating_sub(before.1);
    if total == 0 {
        return 0.0;
    }
    100.0 * after.0.saturating_sub(before.0) as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_a_share_of_all_ticks() {
        assert_eq!(steal_percent((10, 1000), (20, 2000)), 1.0);
        assert_eq!(steal_percent((0, 0), (0, 0)), 0.0);
        let (steal, total) = host_ticks();
        assert!(total > 0 && steal <= total, "{steal} {total}");
    }

    #[test]
    fn percentiles_of_known_distribution() {
        let mut h = new_histogram();
        for us in 1..=10_000u64 {
            h.record(us).unwrap();
        }
        let p = Percentiles::of(&h).unwrap();
        assert_eq!(p.count, 10_000);
        assert!((p.p50 - 5.0).abs() < 0.01, "{p:?}");
        assert!((p.p99 - 9.9).abs() < 0.01, "{p:?}");
        assert!((p.max - 10.0).abs() < 0.01, "{p:?}");
        assert!(Percentiles::of(&new_histogram()).is_none());
    }

    #[test]
    fn stats_record_and_interval_reset() {
        let s = Stats::new(Clock::new());
        s.record_acks(10_000, &[9_000, 8_000, 20_000]);
        let (a, e) = s.totals();
        let a = a.unwrap();
        assert_eq!(a.count, 3);
        assert!((a.max - 2.0).abs() < 0.01);
        assert!(e.is_none());
        assert_eq!(s.take_interval().0.unwrap().count, 3);
        assert!(s.take_interval().0.is_none(), "interval resets");
        assert_eq!(s.totals().0.unwrap().count, 3, "totals keep everything");
    }

    #[test]
    fn sampler_computes_rates() {
        let s = Stats::new(Clock::new());
        let mut smp = Sampler::new(s.start);
        s.acked_records.store(500, Relaxed);
        s.acked_payload_bytes.store(1_000_000, Relaxed);
        let line = smp.sample(&s, s.start + Duration::from_millis(500));
        assert_eq!(smp.timeline[0].acked_per_s, 1000.0);
        assert!(line.contains("2.0 MB/s"), "{line}");
    }

    #[test]
    fn reset_forgets_measurements_and_sampler_follows() {
        let s = Stats::new(Clock::new());
        let mut smp = Sampler::new(s.start);
        s.acked_records.store(1000, Relaxed);
        s.record_acks(10_000, &[9_000]);
        smp.sample(&s, s.start + Duration::from_secs(1));
        s.reset();
        assert_eq!(s.acked_records.load(Relaxed), 0);
        assert!(s.totals().0.is_none());
        s.acked_records.store(300, Relaxed);
        smp.sample(&s, s.start + Duration::from_secs(2));
        assert_eq!(
            smp.timeline[1].acked_per_s, 300.0,
            "delta restarts from zero"
        );
    }

    #[test]
    fn clock_is_monotonic_and_near_wall_time() {
        let c = Clock::new();
        let a = c.now_us();
        let b = c.now_us();
        assert!(b >= a);
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64;
        assert!(wall.abs_diff(b) < 1_000_000);
    }

    #[test]
    fn cpu_time_is_reported() {
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        let (u, s) = cpu_times();
        assert!(u + s > Duration::ZERO);
    }
}
