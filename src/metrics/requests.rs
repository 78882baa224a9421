//! Request metrics: counts, refusals and latency histograms per API, fed by the
//! request pipeline's observer stage ([`crate::pipeline::RequestObserver`]).
//!
//! The observer runs on every request's connection task, so recording is a few
//! relaxed atomic adds into fixed arrays indexed by api key: no lock, no map
//! lookup, no allocation. Refusals (rare) go through a small mutex-guarded map.

use crate::pipeline::{RequestObserver, RequestOutcome, RequestRecord};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Api keys are below this (Kafka 4.x's highest is in the 80s).
const API_SLOTS: usize = 128;

/// A histogram of durations over fixed buckets (100 µs .. 10 s), recorded with
/// relaxed atomics: storage's, which times fsyncs the same way. The tail of a
/// loopback produce sits near the bottom, a long-poll fetch near
/// `fetch.max.wait.ms`.
pub use weir_storage::stats::DurationHistogram as AtomicHistogram;

/// Per-API figures.
#[derive(Debug, Default)]
pub struct ApiFigures {
    pub requests: AtomicU64,
    /// Requests whose connection closed before an answer could be sent.
    pub failed: AtomicU64,
    pub queued: AtomicHistogram,
    pub handled: AtomicHistogram,
    pub sent: AtomicHistogram,
}

/// Every request the pipeline saw.
#[derive(Debug)]
pub struct RequestMetrics {
    apis: Box<[ApiFigures]>,
    /// (api key, error code) -> count of requests a stage refused.
    rejections: Mutex<BTreeMap<(i16, i16), u64>>,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        RequestMetrics {
            apis: (0..API_SLOTS).map(|_| ApiFigures::default()).collect(),
            rejections: Mutex::new(BTreeMap::new()),
        }
    }
}

impl RequestMetrics {
    /// The figures of every api key that has seen a request, in key order,
    /// with the API's name.
    pub fn apis(&self) -> impl Iterator<Item = (String, &ApiFigures)> {
        self.apis.iter().enumerate().filter_map(|(k, f)| {
            if f.requests.load(Relaxed) == 0 {
                return None;
            }
            api_name(k as i16).map(|name| (name, f))
        })
    }

    /// (API name, error code, count) of refused requests.
    pub fn rejections(&self) -> Vec<(String, i16, u64)> {
        self.rejections
            .lock()
            .iter()
            .filter_map(|(&(k, e), &n)| api_name(k).map(|name| (name, e, n)))
            .collect()
    }
}

pub use crate::api_names::api_name;

impl RequestObserver for RequestMetrics {
    fn observe(&self, record: &RequestRecord) {
        let key = record.key();
        let Some(f) = usize::try_from(key).ok().and_then(|k| self.apis.get(k)) else {
            return;
        };
        f.requests.fetch_add(1, Relaxed);
        f.queued.observe(record.timings.queued);
        match record.outcome {
            RequestOutcome::Ok => {
                f.handled.observe(record.timings.handled);
                f.sent.observe(record.timings.sent);
            }
            RequestOutcome::Rejected(error) => {
                *self
                    .rejections
                    .lock()
                    .entry((key, error.code()))
                    .or_default() += 1;
                f.sent.observe(record.timings.sent);
            }
            RequestOutcome::Failed => {
                f.failed.fetch_add(1, Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::RequestTimings;
    use kafka_protocol::messages::ApiKey;
    use kafka_protocol::ResponseError;
    use std::time::Duration;

    fn record(outcome: RequestOutcome, handled_us: u64) -> RequestRecord {
        RequestRecord {
            api_key: ApiKey::Produce,
            raw_api_key: None,
            api_version: 11,
            outcome,
            timings: RequestTimings {
                queued: Duration::from_micros(10),
                handled: Duration::from_micros(handled_us),
                sent: Duration::from_micros(20),
            },
        }
    }

    #[test]
    fn counts_and_buckets_follow_the_observed_requests() {
        let m = RequestMetrics::default();
        m.observe(&record(RequestOutcome::Ok, 300));
        m.observe(&record(RequestOutcome::Ok, 2_000_000));
        m.observe(&record(
            RequestOutcome::Rejected(ResponseError::TopicAuthorizationFailed),
            0,
        ));
        m.observe(&record(RequestOutcome::Failed, 0));
        let (key, f) = m.apis().next().unwrap();
        assert_eq!(key, "Produce");
        assert_eq!(f.requests.load(Relaxed), 4);
        assert_eq!(f.failed.load(Relaxed), 1);
        let (sum, count, buckets) = f.handled.snapshot();
        assert_eq!(count, 2);
        assert!((sum - 2.0003).abs() < 1e-9, "{sum}");
        // 300 µs lands in le=0.0005, 2 s in le=10.
        // (counts per bucket; the encoder makes them cumulative)
        assert_eq!(buckets[1], (0.00025, 0));
        assert_eq!(buckets[2], (0.0005, 1));
        assert_eq!(buckets[12], (1.0, 0));
        assert_eq!(buckets[13], (10.0, 1));
        assert_eq!(buckets.last().unwrap().1, 0);
        assert_eq!(
            m.rejections(),
            vec![(
                "Produce".to_string(),
                ResponseError::TopicAuthorizationFailed.code(),
                1
            )]
        );
        assert_eq!(f.queued.count(), 4);
    }

    #[test]
    fn a_raw_api_counts_under_its_own_key_and_name() {
        let m = RequestMetrics::default();
        let mut r = record(RequestOutcome::Ok, 100);
        r.api_key = ApiKey::ConsumerGroupHeartbeat; // the stand-in
        r.raw_api_key = Some(88);
        m.observe(&r);
        let apis: Vec<(String, u64)> = m
            .apis()
            .map(|(k, f)| (k, f.requests.load(Relaxed)))
            .collect();
        assert_eq!(apis, vec![("StreamsGroupHeartbeat".to_string(), 1)]);
        assert_eq!(
            api_name(93).as_deref(),
            Some("StreamsGroupTopologyDescriptionUpdate")
        );
        assert_eq!(api_name(127), None);
    }
}
