//! `GET /api/stream`: produce and fetch throughput (bytes and records per
//! second) as server-sent events, one `rates` event a second, for the
//! overview's live charts. The stream holds a [`Watch`], so the Produce and
//! Fetch handlers count only while some console has it open. It ends when
//! the broker shuts down.

use crate::http::HttpState;
use crate::traffic::{TrafficTotals, Watch};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;
use std::convert::Infallible;
use std::time::{Duration, Instant};
use tokio::time::{Interval, MissedTickBehavior};

/// One second's figures.
#[derive(Debug, Serialize)]
struct Rates {
    /// Milliseconds since the epoch.
    time_ms: i64,
    produce_bytes_per_sec: f64,
    produce_records_per_sec: f64,
    fetch_bytes_per_sec: f64,
    fetch_records_per_sec: f64,
}

struct Tick {
    broker: std::sync::Arc<crate::state::BrokerState>,
    watch: Watch,
    interval: Interval,
    last: TrafficTotals,
    at: Instant,
}

pub async fn rates(
    State(s): State<HttpState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let watch = s.broker.traffic.watch();
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let first = Tick {
        broker: s.broker.clone(),
        last: watch.totals(),
        watch,
        interval,
        at: Instant::now(),
    };
    let events = futures_util::stream::unfold(first, |mut t| async move {
        // The stream ends with the broker (a browser may keep it open forever).
        tokio::select! {
            _ = t.interval.tick() => {}
            _ = t.broker.shutting_down() => return None,
        }
        let now = t.watch.totals();
        let secs = t.at.elapsed().as_secs_f64().max(0.001);
        let d = now.since(&t.last);
        let rates = Rates {
            time_ms: weir_storage::clock::now_ms(),
            produce_bytes_per_sec: d.produce_bytes as f64 / secs,
            produce_records_per_sec: d.produce_records as f64 / secs,
            fetch_bytes_per_sec: d.fetch_bytes as f64 / secs,
            fetch_records_per_sec: d.fetch_records as f64 / secs,
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
