//! Rate pacing without busy waiting: record `n` is due at `start + n / rate`; the producer
//! sleeps until the next due record (or batch deadline) and then emits everything due.
//! Latency is measured from a record's due time, so a stalled broker cannot hide queueing
//! (no coordinated omission).

use std::time::{Duration, Instant};

/// Schedules records at a fixed rate, or not at all when unlimited.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
    /// Records per second; `None` = unlimited.
    rate: Option<f64>,
}

impl Pacer {
    pub fn new(start: Instant, rate: Option<f64>) -> Self {
        Pacer { start, rate }
    }

    /// How many records (in total since start) are due at `now`. Unlimited: `u64::MAX`.
    pub fn due_by(&self, now: Instant) -> u64 {
        match self.rate {
            None => u64::MAX,
            Some(r) => {
                let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
                // Record 0 is due at start, so floor(elapsed * rate) + 1 are due.
                (elapsed * r).floor() as u64 + 1
            }
        }
    }

    /// When record number `n` (0-based) is due; unlimited: now.
    pub fn due_at(&self, n: u64) -> Instant {
        match self.rate {
            None => Instant::now(),
            Some(r) => self.start + Duration::from_secs_f64(n as f64 / r),
        }
    }

    pub fn is_unlimited(&self) -> bool {
        self.rate.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_matches_rate() {
        let t0 = Instant::now();
        let p = Pacer::new(t0, Some(1000.0));
        assert_eq!(p.due_by(t0), 1);
        assert_eq!(p.due_by(t0 + Duration::from_millis(10)), 11);
        assert_eq!(p.due_by(t0 + Duration::from_secs(2)), 2001);
        assert_eq!(p.due_at(0), t0);
        assert_eq!(p.due_at(500), t0 + Duration::from_millis(500));
        // due_at and due_by agree: record n is due exactly at due_at(n).
        for n in [1u64, 7, 999, 12345] {
            assert_eq!(p.due_by(p.due_at(n)), n + 1);
        }
    }

    #[test]
    fn fractional_rates_and_unlimited() {
        let t0 = Instant::now();
        let p = Pacer::new(t0, Some(0.5));
        assert_eq!(p.due_by(t0 + Duration::from_millis(1999)), 1);
        assert_eq!(p.due_by(t0 + Duration::from_secs(2)), 2);
        let u = Pacer::new(t0, None);
        assert!(u.is_unlimited());
        assert_eq!(u.due_by(t0), u64::MAX);
    }
}
