//! What `request_percentage` measures under tokio: the time a request's handler
//! spends running, on an async worker (inside its future's `poll`) and on the
//! blocking pool (inside the closures it hands to
//! [`crate::handler::blocking`]), but not the time it waits (a long-polling
//! Fetch, a produce waiting for its fsync). 100 = one core busy for the whole
//! window, as Kafka's unit is one request-handler thread.
//!
//! Measured only when a request quota is configured: otherwise [`timed`] is a
//! plain await and [`blocking_meter`] returns `None`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

tokio::task_local! {
    /// Nanoseconds the current request's blocking closures ran.
    static BLOCKING_NANOS: Arc<AtomicU64>;
}

/// Run `fut`; with `measure`, also return the time spent inside its polls and
/// its blocking closures.
pub async fn timed<F: Future>(fut: F, measure: bool) -> (F::Output, Duration) {
    if !measure {
        return (fut.await, Duration::ZERO);
    }
    let nanos = Arc::new(AtomicU64::new(0));
    let mut busy = Duration::ZERO;
    let mut fut = std::pin::pin!(BLOCKING_NANOS.scope(nanos.clone(), fut));
    let out = std::future::poll_fn(|cx| {
        let start = Instant::now();
        let r = fut.as_mut().poll(cx);
        busy += start.elapsed();
        r
    })
    .await;
    (
        out,
        busy + Duration::from_nanos(nanos.load(Ordering::Relaxed)),
    )
}

/// The counter a blocking closure adds its running time to, when the current
/// request is being measured.
pub fn blocking_meter() -> Option<Arc<AtomicU64>> {
    BLOCKING_NANOS.try_with(Arc::clone).ok()
}

/// Run `f`, adding its running time to `meter`.
pub fn metered<T>(meter: Option<Arc<AtomicU64>>, f: impl FnOnce() -> T) -> T {
    match meter {
        None => f(),
        Some(m) => {
            let start = Instant::now();
            let out = f();
            m.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_is_not_counted_but_running_and_blocking_are() {
        let (_, t) = timed(tokio::time::sleep(Duration::from_millis(50)), true).await;
        assert!(t < Duration::from_millis(20), "{t:?}");
        let (_, t) = timed(
            async {
                let meter = blocking_meter();
                assert!(meter.is_some());
                tokio::task::spawn_blocking(move || {
                    metered(meter, || std::thread::sleep(Duration::from_millis(30)))
                })
                .await
                .unwrap();
                std::thread::sleep(Duration::from_millis(20));
            },
            true,
        )
        .await;
        assert!(t >= Duration::from_millis(50), "{t:?}");
        let (_, t) = timed(async { assert!(blocking_meter().is_none()) }, false).await;
        assert_eq!(t, Duration::ZERO);
    }
}
