//! `GET /api/stream`: produce and fetch throughput as server-sent events, one
//! `rates` event a second, for the overview's live charts.
//!
//! The figures are the broker's own traffic counters
//! ([`crate::telemetry::Traffic`] on every partition handle, the ones
//! `/metrics` exports): the stream sums them per topic once a tick and sends
//! the difference, so the Produce and Fetch paths count once, whether or not
//! a console watches. Those counters know bytes and records in and bytes out,
//! so the stream sends produce bytes and records per second and fetch bytes
//! per second (fetched records are not counted anywhere on the fetch path).
//! A topic deleted between two ticks drops out of the sum without making a
//! rate negative. The stream ends when the broker shuts down.

use crate::http::HttpState;
use crate::state::BrokerState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::time::{Interval, MissedTickBehavior};
use uuid::Uuid;

/// One second's figures.
#[derive(Debug, Serialize)]
struct Rates {
    /// Milliseconds since the epoch.
    time_ms: i64,
    /// The tick's length (rate x seconds = what was counted in it).
    seconds: f64,
    produce_bytes_per_sec: f64,
    produce_records_per_sec: f64,
    fetch_bytes_per_sec: f64,
    fetch_records_per_sec: f64,
}

/// One topic's counters at one moment (summed over its partitions).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Totals {
    bytes_in: u64,
    records_in: u64,
    bytes_out: u64,
    records_out: u64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.bytes_in += other.bytes_in;
        self.records_in += other.records_in;
        self.bytes_out += other.bytes_out;
        self.records_out += other.records_out;
    }

    /// What was counted since `earlier` (never negative).
    fn since(&self, earlier: &Totals) -> Totals {
        Totals {
            bytes_in: self.bytes_in.saturating_sub(earlier.bytes_in),
            records_in: self.records_in.saturating_sub(earlier.records_in),
            bytes_out: self.bytes_out.saturating_sub(earlier.bytes_out),
            records_out: self.records_out.saturating_sub(earlier.records_out),
        }
    }
}

/// Every topic's counters now, by topic id.
fn snapshot(broker: &BrokerState) -> HashMap<Uuid, Totals> {
    broker
        .partitions
        .topics()
        .iter()
        .map(|topic| {
            let mut t = Totals::default();
            for p in topic.partitions() {
                t.add(&Totals {
                    bytes_in: p.traffic.bytes_in.load(Relaxed),
                    records_in: p.traffic.records_in.load(Relaxed),
                    bytes_out: p.traffic.bytes_out.load(Relaxed),
                    records_out: p.traffic.records_out.load(Relaxed),
                });
            }
            (topic.id, t)
        })
        .collect()
}

/// What was counted between two snapshots, over all topics (a topic created
/// in between counts from zero; a deleted one counts nothing).
fn difference(now: &HashMap<Uuid, Totals>, last: &HashMap<Uuid, Totals>) -> Totals {
    let mut d = Totals::default();
    for (id, t) in now {
        d.add(&t.since(last.get(id).unwrap_or(&Totals::default())));
    }
    d
}

struct Tick {
    broker: Arc<BrokerState>,
    interval: Interval,
    last: HashMap<Uuid, Totals>,
    at: Instant,
}

pub async fn rates(
    State(s): State<HttpState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let first = Tick {
        last: snapshot(&s.broker),
        broker: s.broker.clone(),
        interval,
        at: Instant::now(),
    };
    let events = futures_util::stream::unfold(first, |mut t| async move {
        // The stream ends with the broker (a browser may keep it open forever).
        tokio::select! {
            _ = t.interval.tick() => {}
            _ = t.broker.shutting_down() => return None,
        }
        let now = snapshot(&t.broker);
        let secs = t.at.elapsed().as_secs_f64().max(0.001);
        let d = difference(&now, &t.last);
        let rates = Rates {
            time_ms: weir_storage::clock::now_ms(),
            seconds: secs,
            produce_bytes_per_sec: d.bytes_in as f64 / secs,
            produce_records_per_sec: d.records_in as f64 / secs,
            fetch_bytes_per_sec: d.bytes_out as f64 / secs,
            fetch_records_per_sec: d.records_out as f64 / secs,
        };
        t.last = now;
        t.at = Instant::now();
        let event = Event::default()
            .event("rates")
            .json_data(&rates)
            .unwrap_or_default();
        Some((Ok(event), t))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(bytes_in: u64, records_in: u64, bytes_out: u64) -> Totals {
        Totals {
            bytes_in,
            records_in,
            bytes_out,
            records_out: bytes_out / 10,
        }
    }

    #[test]
    fn rates_count_new_topics_from_zero_and_ignore_deleted_ones() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let last = HashMap::from([(a, t(100, 10, 50)), (b, t(1_000, 100, 0))]);
        // b deleted, c created, a grew.
        let now = HashMap::from([(a, t(150, 15, 80)), (c, t(7, 1, 3))]);
        assert_eq!(difference(&now, &last), t(57, 6, 33));
        assert_eq!(difference(&last, &last), Totals::default());
    }
}
