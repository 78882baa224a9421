//! Sleeps with microsecond precision and no busy waiting, for the producer's pacing.
//!
//! tokio's timer wheel ticks once a millisecond: `sleep_until(t)` for a `t` 20 µs away
//! returns up to a millisecond late. The producer stamps each record with the moment it was
//! due, so that lateness would be counted as latency of the broker under test (at 50k
//! records/s it is most of a sub-2-ms budget). A Linux timerfd registered with tokio's
//! reactor wakes the task at the deadline instead (kernel high-resolution timers; the
//! default 50 µs timer slack applies). Elsewhere it falls back to tokio's timer.
//!
//! All `unsafe` of this crate's timers is here, each with its SAFETY comment.

#[cfg(target_os = "linux")]
pub use linux::PreciseTimer;

#[cfg(not(target_os = "linux"))]
pub use fallback::PreciseTimer;

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Instant;
    use tokio::io::unix::AsyncFd;

    /// One timerfd; one sleeper at a time (`&mut self`).
    pub struct PreciseTimer {
        fd: Option<AsyncFd<OwnedFd>>,
    }

    impl PreciseTimer {
        /// Must be called inside a tokio runtime. If the timerfd cannot be made (no fds
        /// left), sleeps fall back to tokio's millisecond timer rather than failing the run.
        pub fn new() -> Self {
            PreciseTimer { fd: create().ok() }
        }

        /// Returns at `deadline` (at once if it has passed).
        pub async fn sleep_until(&mut self, deadline: Instant) {
            let now = Instant::now();
            if deadline <= now {
                return;
            }
            let Some(fd) = &self.fd else {
                tokio::time::sleep_until(deadline.into()).await;
                return;
            };
            if arm(fd.get_ref(), deadline - now).is_err() {
                tokio::time::sleep_until(deadline.into()).await;
                return;
            }
            loop {
                let Ok(mut guard) = fd.readable().await else {
                    tokio::time::sleep_until(deadline.into()).await;
                    return;
                };
                match guard.try_io(|inner| read_expirations(inner.get_ref())) {
                    Ok(Ok(_)) => return,
                    Ok(Err(_)) => {
                        tokio::time::sleep_until(deadline.into()).await;
                        return;
                    }
                    // Stale readiness (an expiry consumed earlier): wait for the next edge.
                    Err(_would_block) => continue,
                }
            }
        }
    }

    impl Default for PreciseTimer {
        fn default() -> Self {
            Self::new()
        }
    }

    fn create() -> io::Result<AsyncFd<OwnedFd>> {
        // SAFETY: timerfd_create takes no pointers; a negative result is an error.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the AsyncFd owns the OwnedFd, which keeps the descriptor open and returns
        // the same one from as_raw_fd until both are dropped together.
        unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(io::Error::from)
    }

    /// One-shot expiry `after` from now. Re-arming resets the expiry count.
    fn arm(fd: &OwnedFd, after: std::time::Duration) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                // At least 1 ns: an all-zero it_value would disarm the timer.
                tv_nsec: (after.subsec_nanos().max(1)) as libc::c_long,
            },
        };
        // SAFETY: `fd` is a live timerfd; `spec` is a valid itimerspec for the call's
        // duration; the old-value pointer may be null.
        let rc = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn read_expirations(fd: &OwnedFd) -> io::Result<u64> {
        let mut buf = [0u8; 8];
        // SAFETY: `buf` is 8 writable bytes, the size a timerfd read needs.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(u64::from_ne_bytes(buf))
    }
}

#[cfg(not(target_os = "linux"))]
mod fallback {
    use std::time::Instant;

    /// tokio's timer (millisecond granularity).
    #[derive(Default)]
    pub struct PreciseTimer;

    impl PreciseTimer {
        pub fn new() -> Self {
            PreciseTimer
        }

        pub async fn sleep_until(&mut self, deadline: Instant) {
            tokio::time::sleep_until(deadline.into()).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Sub-millisecond sleeps never end before their deadline, the timer is reused across
    /// many sleeps, and a deadline in the past returns at once. (How precise the wake-ups
    /// are is a measurement, shown in benches/README.md, not asserted here.)
    #[tokio::test]
    async fn sleeps_end_at_or_after_their_deadline() {
        let mut t = PreciseTimer::new();
        t.sleep_until(Instant::now() - Duration::from_millis(5))
            .await;
        for us in [100u64, 20, 3_000, 1, 700, 1_500] {
            for _ in 0..5 {
                let due = Instant::now() + Duration::from_micros(us);
                t.sleep_until(due).await;
                assert!(Instant::now() >= due, "woke before a {us} us deadline");
            }
        }
    }
}
