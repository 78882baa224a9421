//! The two measurements quotas are enforced with, as Kafka's metrics library
//! computes them (times in milliseconds, passed in so tests control the clock):
//!
//! - [`Rate`]: Kafka's `Rate` over a `SampledStat` (`quota.window.num` samples of
//!   `quota.window.size.seconds` each): the sum of the retained samples divided
//!   by the elapsed window, never less than `num - 1` full windows. A quota is
//!   violated when the rate after recording exceeds the bound, and the throttle
//!   time is `(rate - bound) / bound * window` (`QuotaUtils.throttleTime`).
//! - [`TokenBucket`]: Kafka's `TokenBucket` (KIP-599, controller mutations): a
//!   bucket of `num * size * quota` tokens refilled at `quota` per second;
//!   recording takes tokens (the count may go negative) and the throttle time
//!   is the time to refill back to zero.

/// How many samples of which length a [`Rate`] or [`TokenBucket`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub samples: u32,
    pub size_ms: u64,
}

impl Window {
    pub fn new(samples: u32, size_seconds: u64) -> Window {
        Window {
            samples: samples.max(1),
            size_ms: size_seconds.max(1) * 1000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    start_ms: u64,
    value: f64,
}

/// A rate per second over sampled windows (Kafka's `Rate` + `SampledStat`).
#[derive(Debug, Clone)]
pub struct Rate {
    window: Window,
    samples: Vec<Sample>,
    current: usize,
}

impl Rate {
    pub fn new(window: Window) -> Rate {
        Rate {
            window,
            samples: Vec::with_capacity(window.samples as usize),
            current: 0,
        }
    }

    /// Add `value` at `now_ms` (a negative value takes back an earlier record).
    pub fn record(&mut self, value: f64, now_ms: u64) {
        if self.samples.is_empty() {
            self.samples.push(Sample {
                start_ms: now_ms,
                value: 0.0,
            });
            self.current = 0;
        }
        let cur = self.samples[self.current];
        if now_ms.saturating_sub(cur.start_ms) >= self.window.size_ms {
            // advance to the next sample, reusing the oldest slot
            self.current = (self.current + 1) % self.window.samples as usize;
            let fresh = Sample {
                start_ms: now_ms,
                value: 0.0,
            };
            if self.current >= self.samples.len() {
                self.samples.push(fresh);
            } else {
                self.samples[self.current] = fresh;
            }
        }
        self.samples[self.current].value += value;
    }

    /// Reset the samples too old to count (Kafka's `purgeObsoleteSamples`).
    fn purge(&mut self, now_ms: u64) {
        let expire = self.window.samples as u64 * self.window.size_ms;
        for s in &mut self.samples {
            if now_ms.saturating_sub(s.start_ms) >= expire {
                *s = Sample {
                    start_ms: now_ms,
                    value: 0.0,
                };
            }
        }
    }

    /// The elapsed window the rate divides by, in milliseconds (Kafka's
    /// `Rate.windowSize`): at least `samples - 1` full windows, at least 1 ms.
    pub fn window_ms(&mut self, now_ms: u64) -> u64 {
        self.purge(now_ms);
        let oldest = self
            .samples
            .iter()
            .map(|s| s.start_ms)
            .min()
            .unwrap_or(now_ms);
        let mut elapsed = now_ms.saturating_sub(oldest);
        let full = elapsed / self.window.size_ms;
        let min_full = self.window.samples as u64 - 1;
        if full < min_full {
            elapsed += (min_full - full) * self.window.size_ms;
        }
        elapsed.max(1)
    }

    /// The rate per second at `now_ms`.
    pub fn measure(&mut self, now_ms: u64) -> f64 {
        let window = self.window_ms(now_ms);
        let total: f64 = self.samples.iter().map(|s| s.value).sum();
        total / (window as f64 / 1000.0)
    }

    /// Record `value` and return the throttle time in ms when the rate now
    /// exceeds `bound` (0 otherwise), as `ClientQuotaManager
    /// .recordAndGetThrottleTimeMs` does.
    pub fn record_and_throttle(&mut self, value: f64, bound: f64, now_ms: u64) -> u64 {
        self.record(value, now_ms);
        self.throttle(bound, now_ms)
    }

    /// The throttle time in ms at the current rate (0 within the bound).
    pub fn throttle(&mut self, bound: f64, now_ms: u64) -> u64 {
        let rate = self.measure(now_ms);
        if rate <= bound || bound <= 0.0 {
            return 0;
        }
        let window = self.window_ms(now_ms) as f64;
        (((rate - bound) / bound) * window)
            .round()
            .min(i32::MAX as f64) as u64
    }
}

/// Kafka's `TokenBucket` (controller mutations, KIP-599).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    window: Window,
    tokens: f64,
    last_ms: u64,
    started: bool,
}

impl TokenBucket {
    pub fn new(window: Window) -> TokenBucket {
        TokenBucket {
            window,
            tokens: 0.0,
            last_ms: 0,
            started: false,
        }
    }

    fn burst(&self, quota: f64) -> f64 {
        self.window.samples as f64 * (self.window.size_ms as f64 / 1000.0) * quota
    }

    fn refill(&mut self, quota: f64, now_ms: u64) {
        let burst = self.burst(quota);
        if !self.started {
            // Kafka's bucket starts at time 0 and so is full on first use.
            self.started = true;
            self.tokens = burst;
        } else {
            let elapsed = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
            self.tokens = burst.min(self.tokens + quota * elapsed);
        }
        self.last_ms = now_ms;
    }

    /// The tokens left (negative when in debt).
    pub fn measure(&mut self, quota: f64, now_ms: u64) -> f64 {
        self.refill(quota, now_ms);
        self.tokens
    }

    pub fn record(&mut self, permits: f64, quota: f64, now_ms: u64) {
        self.refill(quota, now_ms);
        self.tokens = self.burst(quota).min(self.tokens - permits);
    }

    /// Milliseconds until the bucket is back to zero (0 when not in debt).
    pub fn throttle(&mut self, quota: f64, now_ms: u64) -> u64 {
        let tokens = self.measure(quota, now_ms);
        if tokens >= 0.0 || quota <= 0.0 {
            return 0;
        }
        (-tokens / quota * 1000.0).round().min(i32::MAX as f64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_divides_by_at_least_num_minus_one_windows() {
        // 11 windows of 1 s: a first record is divided by 10 s.
        let mut r = Rate::new(Window::new(11, 1));
        r.record(1000.0, 5_000);
        assert_eq!(r.window_ms(5_000), 10_000);
        assert!((r.measure(5_000) - 100.0).abs() < 1e-9);
        // after 12 s the window is the real elapsed time
        r.record(1000.0, 17_000);
        let w = r.window_ms(17_000);
        assert!((10_000..=12_000).contains(&w), "{w}");
    }

    #[test]
    fn throttle_time_is_the_excess_over_the_bound_times_the_window() {
        let mut r = Rate::new(Window::new(11, 1));
        // 2000 bytes over a 10 s window = 200 B/s against a bound of 100 B/s:
        // (200 - 100) / 100 * 10 s = 10 s
        assert_eq!(r.record_and_throttle(2000.0, 100.0, 0), 10_000);
        let mut r = Rate::new(Window::new(11, 1));
        assert_eq!(r.record_and_throttle(500.0, 100.0, 0), 0);
    }

    #[test]
    fn old_samples_stop_counting() {
        let mut r = Rate::new(Window::new(2, 1));
        r.record(1000.0, 0);
        assert!(r.measure(500) > 0.0);
        // two windows later the sample is obsolete
        assert_eq!(r.measure(2_500), 0.0);
        // a negative record takes back an earlier one
        r.record(300.0, 3_000);
        r.record(-300.0, 3_000);
        assert_eq!(r.measure(3_000), 0.0);
    }

    #[test]
    fn steady_rate_at_the_bound_is_not_throttled_and_above_it_is() {
        let mut r = Rate::new(Window::new(11, 1));
        let mut t = 0;
        for i in 0..100u64 {
            t = r.record_and_throttle(100.0, 1000.0, i * 100);
        }
        assert_eq!(t, 0, "1000 B/s against 1000 B/s");
        let mut r = Rate::new(Window::new(11, 1));
        for i in 0..100u64 {
            t = r.record_and_throttle(200.0, 1000.0, i * 100);
        }
        assert!(t > 0, "2000 B/s against 1000 B/s");
    }

    #[test]
    fn token_bucket_starts_full_goes_into_debt_and_refills() {
        // quota 1/s, 11 windows of 1 s: a burst of 11
        let mut b = TokenBucket::new(Window::new(11, 1));
        assert_eq!(b.measure(1.0, 100_000), 11.0);
        b.record(15.0, 1.0, 100_000);
        assert_eq!(b.measure(1.0, 100_000), -4.0);
        assert_eq!(b.throttle(1.0, 100_000), 4_000);
        assert_eq!(b.throttle(1.0, 102_000), 2_000);
        assert_eq!(b.throttle(1.0, 104_000), 0);
        // never more than the burst
        assert_eq!(b.measure(1.0, 1_000_000), 11.0);
    }
}
