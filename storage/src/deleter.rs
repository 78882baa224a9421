//! Delayed deletion of segment files (Kafka's `file.delete.delay.ms`): a
//! segment that retention or DeleteRecords drops is first renamed
//! `<file>.deleted`, then removed once the delay has passed, as Kafka's
//! `LocalLog.deleteSegmentFiles` does with its scheduler. Readers that still map
//! the segment are unaffected either way (a mapping outlives its file's name).
//!
//! One background thread owns the schedule (started on first use); files left
//! behind by a crash or shutdown are removed when their log is next opened.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The suffix a segment file gets while it waits to be removed.
pub(crate) const DELETED_SUFFIX: &str = ".deleted";

type Job = (Instant, Vec<PathBuf>);

fn sender() -> &'static Mutex<Sender<Job>> {
    static TX: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("segment-deleter".into())
            .spawn(move || {
                let mut due: BinaryHeap<Reverse<(Instant, Vec<PathBuf>)>> = BinaryHeap::new();
                loop {
                    let now = Instant::now();
                    while due.peek().is_some_and(|Reverse((at, _))| *at <= now) {
                        let Reverse((_, paths)) = due.pop().expect("peeked");
                        for p in paths {
                            let _ = std::fs::remove_file(&p);
                        }
                    }
                    let job = match due.peek() {
                        Some(Reverse((at, _))) => {
                            match rx.recv_timeout(at.saturating_duration_since(now)) {
                                Ok(job) => job,
                                Err(RecvTimeoutError::Timeout) => continue,
                                Err(RecvTimeoutError::Disconnected) => return,
                            }
                        }
                        None => match rx.recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        },
                    };
                    due.push(Reverse(job));
                }
            })
            .expect("spawn the segment deleter");
        Mutex::new(tx)
    })
}

/// Remove `paths` (already renamed `.deleted`) after `delay_ms`.
pub(crate) fn schedule(paths: Vec<PathBuf>, delay_ms: u64) {
    let at = Instant::now() + Duration::from_millis(delay_ms);
    let tx = sender().lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = tx.send((at, paths)) {
        // The thread is gone: remove now rather than leak the files.
        for p in e.0 .1 {
            let _ = std::fs::remove_file(&p);
        }
    }
}
