//! The cold pool: a few low-priority threads for the work of batch (catching-up)
//! consumers that waits on the disk or keeps the kernel busy for long: reading
//! cold segment data into the page cache, and `sendfile(2)` of the large cold
//! regions of their responses ([`crate::connection`]).
//!
//! Neither may run on the async workers: a system call cannot be preempted by
//! the runtime, so a worker inside a page fault on cold data, or inside a
//! `sendfile` that pushes a megabyte through the loopback stack (about a
//! millisecond of kernel time), stalls every tailing consumer and producer
//! scheduled behind it. Nor on tokio's blocking pool: that one grows a thread
//! per waiting job (a hundred catching-up consumers would get a hundred threads
//! thrashing the disk) and is shared with the latency-sensitive blocking work
//! (log flushes). Here the threads are few ([`THREADS`]: cold work queues for
//! them, in order, instead of multiplying) and run at a lower CPU priority
//! ([`NICE`]): on a busy machine the scheduler runs the async workers first, so
//! a catch-up takes the CPU the tail leaves over, never the other way round.
//!
//! Handing a job over never spins: the queue's sender is shared without a lock
//! (a worker submitting a job cannot wait behind another one, or behind a pool
//! thread that was descheduled while holding a lock), and the idle threads wait
//! for the queue on a plain futex-based mutex, which parks at once where
//! `parking_lot`'s spins with `sched_yield`: on a busy machine a yielding
//! thread gives up the CPU for a whole time slice, and a worker that spun on
//! the old sender lock lost up to 20 ms that way in a traced catch-up.
//!
//! Jobs never wait on a socket (a sender gives back a would-block to the
//! connection's task, which waits for writability there), only on the disk or
//! the CPU, so a slow or stalled consumer cannot hold a thread.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

/// Threads of the pool (started on first use, for the process's lifetime).
pub const THREADS: usize = 4;

/// The pool threads' nice value (the async workers run at 0): weight 335
/// against 1024, so under contention they get about a quarter of a core that a
/// worker also wants, and all of an idle one.
pub const NICE: i32 = 5;

type Job = Box<dyn FnOnce() + Send>;

/// Jobs submitted since the process started (tests and metrics check which
/// work takes the hop to the pool).
static JOBS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Jobs submitted to the pool since the process started.
pub fn jobs() -> u64 {
    JOBS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The job was lost: it panicked.
#[derive(Debug, thiserror::Error)]
#[error("cold pool job panicked")]
pub struct JobPanicked;

fn pool() -> &'static Sender<Job> {
    static POOL: OnceLock<Sender<Job>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..THREADS {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("weir-cold-{i}"))
                .spawn(move || work(rx))
                .expect("spawn a cold pool thread");
        }
        tx
    })
}

fn work(rx: Arc<Mutex<Receiver<Job>>>) {
    // On Linux the nice value is per thread: this one only.
    let _ = rustix::process::setpriority_process(None, NICE);
    loop {
        // The lock is held only while waiting for the next job (a job never
        // panics inside it: the guard is dropped before the job runs).
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        // A panicking job loses its answer (its caller gets `JobPanicked`), not the thread.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

/// Run `f` on the cold pool and wait for its result without blocking the
/// caller's worker. Jobs start in the order they were submitted.
pub async fn run<T, F>(f: F) -> Result<T, JobPanicked>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    JOBS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if pool().send(job).is_err() {
        return Err(JobPanicked); // unreachable: the threads never drop the receiver
    }
    rx.await.map_err(|_| JobPanicked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_off_the_caller_at_a_lower_priority() {
        let (name, prio) = run(|| {
            (
                std::thread::current().name().map(str::to_string),
                rustix::process::getpriority_process(None).unwrap(),
            )
        })
        .await
        .unwrap();
        assert!(name.unwrap().starts_with("weir-cold-"));
        assert_eq!(prio, NICE);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_pool_keeps_working() {
        for _ in 0..THREADS + 1 {
            assert!(run(|| panic!("boom")).await.is_err());
        }
        assert_eq!(run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_jobs_than_threads_all_finish() {
        let jobs: Vec<_> = (0..THREADS * 4)
            .map(|i| {
                tokio::spawn(run(move || {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    i
                }))
            })
            .collect();
        for (i, j) in jobs.into_iter().enumerate() {
            assert_eq!(j.await.unwrap().unwrap(), i);
        }
    }
}
