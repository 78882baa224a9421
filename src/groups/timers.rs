//! The coordinator's one background task: every group deadline (rebalance,
//! session, sync timeouts; KIP-848 member timeouts) and the periodic offset
//! expiry, driven by deadlines (no polling); woken when a request changes them.

use super::coordinator::GroupKind;
use super::Coordinator;
use std::sync::atomic::Ordering;

impl Coordinator {
    /// Run the coordinator's timers until [`Coordinator::shutdown`]. Spawn it once.
    pub async fn run_timers(self) {
        let interval = self.inner.cfg.offsets_retention_check_interval_ms.max(1);
        let mut next_expiry = self.now().saturating_add(interval);
        while !self.inner.stopped.load(Ordering::Acquire) {
            if self.now() >= next_expiry {
                self.expire_offsets().await;
                next_expiry = self.now().saturating_add(interval);
            }
            let next = {
                let now = self.now();
                let mut groups = self.lock();
                let ids: Vec<String> = groups.keys().cloned().collect();
                let mut next: Option<u64> = None;
                for id in ids {
                    let g = groups.get_mut(&id).unwrap();
                    if g.next_deadline().is_some_and(|d| d <= now) {
                        match &mut g.kind {
                            GroupKind::Classic(c) => {
                                let before = c.state;
                                c.expire(now, &self.inner.cfg);
                                self.stamp(c, before);
                            }
                            GroupKind::Consumer(c) => c.expire(now),
                            GroupKind::Streams(c) => c.expire(now, &self.inner.cfg.streams),
                        }
                        self.persist(&id, g);
                    }
                    if let Some(d) = g.next_deadline() {
                        next = Some(next.map_or(d, |n| n.min(d)));
                    }
                }
                Some(next.map_or(next_expiry, |n| n.min(next_expiry)))
            };
            let sleep_ms = next.map_or(60_000, |d| d.saturating_sub(self.now()).clamp(1, 60_000));
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(sleep_ms)) => {}
                _ = self.inner.wake.notified() => {}
            }
        }
    }

    /// Stop the timer task (group state stays as persisted).
    pub fn shutdown(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        self.inner.wake.notify_one();
    }

    pub(super) fn touched(&self) {
        self.inner.wake.notify_one();
    }
}
