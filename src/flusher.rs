//! Background flusher: applies the time/count flush policy (`log.flush.interval.ms`,
//! `log.flush.interval.messages`, and the topic-level `flush.ms` / `flush.messages`)
//! for appends that nobody waits on (acks 0 and 1), and snapshots changed
//! idempotent-producer state every 30 s (so a restart after a crash rescans only
//! the log tails), and fsyncs the share-group state log by `log.flush.interval.ms`.
//! Disk work runs off the async workers.

use crate::state::BrokerState;
use std::sync::Arc;
use std::time::Duration;

/// How often changed producer state is snapshotted.
const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(30);

/// Check the flush policy of every partition periodically and fsync where due.
pub async fn run(state: Arc<BrokerState>) {
    // Topics may set `flush.ms` below the broker default, so poll at least every
    // 100 ms (checking the policy is a few atomic loads per partition).
    let configured = state.settings.flush_interval_ms().unwrap_or(100);
    let tick = Duration::from_millis(configured.clamp(10, 100));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_snapshot = std::time::Instant::now();
    loop {
        interval.tick().await;
        if last_snapshot.elapsed() >= SNAPSHOT_INTERVAL {
            last_snapshot = std::time::Instant::now();
            let st = state.clone();
            let done =
                tokio::task::spawn_blocking(move || st.partitions.snapshot_producer_state(true))
                    .await;
            if let Ok(Err(e)) = done {
                tracing::error!("producer state snapshot failed: {e}");
            }
        }
        if state.share.flush_due() {
            let st = state.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || st.share.flush()).await {
                tracing::error!("share-group state log not flushed: {e}");
            }
        }
        // Only open logs can have appends to flush: the poll looks at those,
        // so 100,000 idle partitions cost nothing per tick.
        if !state.store.flush_due() {
            continue;
        }
        let st = state.clone();
        let result = tokio::task::spawn_blocking(move || {
            for (log, e) in st.store.flush_due_logs() {
                tracing::error!("flush of {log} failed: {e}");
            }
        })
        .await;
        if result.is_err() {
            return;
        }
    }
}
