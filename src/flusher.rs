//! Background flusher: applies the time/count flush policy (`log.flush.interval.ms`,
//! `log.flush.interval.messages`, and the topic-level `flush.ms` / `flush.messages`)
//! for appends that nobody waits on (acks 0 and 1). fsyncs run off the async workers.

use crate::state::BrokerState;
use std::sync::Arc;
use std::time::Duration;

/// Check the flush policy of every partition periodically and fsync where due.
pub async fn run(state: Arc<BrokerState>) {
    // Topics may set `flush.ms` below the broker default, so poll at least every
    // 100 ms (checking the policy is a few atomic loads per partition).
    let configured = state.settings.flush_interval_ms().unwrap_or(100);
    let tick = Duration::from_millis(configured.clamp(10, 100));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let due: Vec<_> = state
            .partitions
            .topics()
            .iter()
            .flat_map(|t| t.partitions())
            .filter(|p| p.log.flush_due())
            .collect();
        if due.is_empty() {
            continue;
        }
        let result = tokio::task::spawn_blocking(move || {
            for p in due {
                if let Err(e) = p.log.flush() {
                    eprintln!("weir: flush of {}-{} failed: {e}", p.topic, p.index);
                }
            }
        })
        .await;
        if result.is_err() {
            return;
        }
    }
}
