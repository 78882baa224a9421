//! Resource limits of the accept and read side, by Kafka's names: how many
//! connections the broker holds (`max.connections`, `max.connections.per.ip`,
//! `max.connections.per.ip.overrides`, Kafka's `ConnectionQuotas`) and how many
//! request bytes it holds in memory across all connections
//! (`queued.max.request.bytes`, Kafka's request `MemoryPool`).
//!
//! - `max.connections`: at the limit the accept loop stops accepting (clients
//!   wait in the listen backlog) until a connection closes, as Kafka's acceptor
//!   waits for a connection slot.
//! - `max.connections.per.ip` (+ overrides, `host:count,...`): a connection
//!   over its address's limit is accepted and closed at once, as Kafka does.
//! - `queued.max.request.bytes` (> 0): a connection that has read a frame's
//!   size asks the pool for that many bytes before it reads the body; while
//!   the pool is exhausted it stops reading its socket (TCP pushes back on the
//!   client) instead of buffering. As Kafka's pool, a frame is admitted while
//!   any memory is left, so a frame larger than what is left (but within
//!   `socket.request.max.bytes`, which the pool must be at least) never waits
//!   forever. The bytes are released when the request has been handled.
//!
//! `connections.max.idle.ms` (a connection with nothing to read for that long
//! is closed, a slowloris's partial frame included) is applied by
//! [`crate::connection::FrameReader`].

use crate::config::Settings;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The limits of one broker, shared by its listeners and connections.
#[derive(Debug)]
pub struct Limits {
    pub connections: Arc<ConnectionLimits>,
    pub memory: Arc<RequestMemory>,
    /// `connections.max.idle.ms`; `None` when negative (never closed for idleness).
    pub idle: Option<Duration>,
}

impl Limits {
    /// The limits the settings ask for; the checks Kafka's `KafkaConfig` makes
    /// at start-up (with its messages).
    pub fn from_settings(s: &Settings) -> Result<Limits, String> {
        let max = s.i64("max.connections").max(0) as usize;
        let per_ip = s.i64("max.connections.per.ip").max(0) as usize;
        let overrides = parse_overrides(s.str("max.connections.per.ip.overrides"))?;
        if per_ip == 0 && overrides.is_empty() {
            return Err(
                "requirement failed: max.connections.per.ip can be set to zero only if \
                 max.connections.per.ip.overrides property is set."
                    .into(),
            );
        }
        let queued = s.i64("queued.max.request.bytes");
        if queued > 0 && queued < s.i64("socket.request.max.bytes") {
            return Err(
                "requirement failed: queued.max.request.bytes must be larger or equal \
                 to socket.request.max.bytes"
                    .into(),
            );
        }
        let idle = s.i64("connections.max.idle.ms");
        Ok(Limits {
            connections: Arc::new(ConnectionLimits::new(max, per_ip, overrides)),
            memory: Arc::new(RequestMemory::new((queued > 0).then_some(queued as usize))),
            idle: (idle >= 0).then(|| Duration::from_millis(idle as u64)),
        })
    }
}

impl Default for Limits {
    /// No limit on connections or request memory; Kafka's idle time (10 minutes).
    fn default() -> Self {
        Limits {
            connections: Arc::new(ConnectionLimits::new(
                usize::MAX,
                usize::MAX,
                HashMap::new(),
            )),
            memory: Arc::new(RequestMemory::new(None)),
            idle: Some(Duration::from_millis(600_000)),
        }
    }
}

/// `host:count,host:count` (hosts resolved, as Kafka resolves them).
fn parse_overrides(raw: &str) -> Result<HashMap<IpAddr, usize>, String> {
    let mut out = HashMap::new();
    let mut invalid = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((host, count)) = entry.rsplit_once(':') else {
            return Err(format!(
                "Invalid value {raw} for configuration max.connections.per.ip.overrides: \
                 entries must be HOST:COUNT"
            ));
        };
        let count: usize = count.trim().parse().map_err(|_| {
            format!(
                "Invalid value {raw} for configuration max.connections.per.ip.overrides: \
                 {count} is not a connection count"
            )
        })?;
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        let ip = host.parse::<IpAddr>().ok().or_else(|| {
            (host, 0)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .map(|a| a.ip())
        });
        match ip {
            Some(ip) => {
                out.insert(ip.to_canonical(), count);
            }
            None => invalid.push(host.to_string()),
        }
    }
    if !invalid.is_empty() {
        return Err(format!(
            "max.connections.per.ip.overrides contains invalid addresses : {}",
            invalid.join(",")
        ));
    }
    Ok(out)
}

/// Connection counts against `max.connections` and the per-address limits.
#[derive(Debug)]
pub struct ConnectionLimits {
    max: usize,
    per_ip: usize,
    overrides: HashMap<IpAddr, usize>,
    counts: Mutex<Counts>,
    freed: Notify,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// A connection over its address's limit (it is closed at once).
#[derive(Debug, thiserror::Error)]
#[error("Rejected connection from {ip}, address already has the configured maximum of {max} connections.")]
pub struct TooManyConnections {
    pub ip: IpAddr,
    pub max: usize,
}

impl ConnectionLimits {
    pub fn new(max: usize, per_ip: usize, overrides: HashMap<IpAddr, usize>) -> Self {
        ConnectionLimits {
            max,
            per_ip,
            overrides,
            counts: Mutex::new(Counts::default()),
            freed: Notify::new(),
        }
    }

    /// Resolves once the broker holds fewer than `max.connections` connections.
    pub async fn wait_for_slot(&self) {
        loop {
            let freed = self.freed.notified();
            if self.counts.lock().total < self.max {
                return;
            }
            freed.await;
        }
    }

    /// Count a new connection from `ip`; refused when its address is at its limit.
    pub fn register(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, TooManyConnections> {
        let ip = ip.to_canonical();
        let max = self.overrides.get(&ip).copied().unwrap_or(self.per_ip);
        let mut c = self.counts.lock();
        let n = c.by_ip.entry(ip).or_default();
        if *n >= max {
            if *n == 0 {
                c.by_ip.remove(&ip);
            }
            return Err(TooManyConnections { ip, max });
        }
        *n += 1;
        c.total += 1;
        Ok(ConnectionSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// Connections held now (all addresses).
    pub fn count(&self) -> usize {
        self.counts.lock().total
    }
}

/// One counted connection; dropping it frees its slot.
#[derive(Debug)]
pub struct ConnectionSlot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        {
            let mut c = self.limits.counts.lock();
            c.total -= 1;
            if let Some(n) = c.by_ip.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    c.by_ip.remove(&self.ip);
                }
            }
        }
        self.limits.freed.notify_waiters();
    }
}

/// The bytes of requests held in memory across all connections
/// (`queued.max.request.bytes`; `None` = unbounded, Kafka's default).
#[derive(Debug)]
pub struct RequestMemory {
    capacity: Option<usize>,
    held: Mutex<usize>,
    released: Notify,
}

impl RequestMemory {
    pub fn new(capacity: Option<usize>) -> Self {
        RequestMemory {
            capacity,
            held: Mutex::new(0),
            released: Notify::new(),
        }
    }

    /// Whether any bound applies (without one, frames are read without asking).
    pub fn is_bounded(&self) -> bool {
        self.capacity.is_some()
    }

    /// Take `bytes` for one request, waiting while the pool is exhausted
    /// (admitted while anything is left, as Kafka's non-strict pool).
    pub async fn acquire(self: &Arc<Self>, bytes: usize) -> MemoryPermit {
        if let Some(cap) = self.capacity {
            loop {
                let released = self.released.notified();
                {
                    let mut held = self.held.lock();
                    if *held < cap {
                        *held += bytes;
                        break;
                    }
                }
                released.await;
            }
        }
        MemoryPermit {
            pool: self.clone(),
            bytes,
        }
    }

    /// Request bytes held now.
    pub fn held(&self) -> usize {
        *self.held.lock()
    }
}

/// Bytes of one request in the pool; released on drop.
#[derive(Debug)]
pub struct MemoryPermit {
    pool: Arc<RequestMemory>,
    bytes: usize,
}

impl Drop for MemoryPermit {
    fn drop(&mut self) {
        if self.pool.capacity.is_some() {
            *self.pool.held.lock() -= self.bytes;
            self.pool.released.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let mut s = Settings::default();
        for (k, v) in pairs {
            s.set(k, v, Source::Cli).unwrap();
        }
        s
    }

    #[test]
    fn per_ip_limits_and_overrides_count_each_address() {
        let l = Limits::from_settings(&settings(&[
            ("max.connections.per.ip", "2"),
            (
                "max.connections.per.ip.overrides",
                "127.0.0.2:0, 127.0.0.3:3",
            ),
        ]))
        .unwrap()
        .connections;
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let s1 = l.register(a).unwrap();
        let _s2 = l.register(a).unwrap();
        let e = l.register(a).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Rejected connection from 127.0.0.1, address already has the configured maximum of 2 connections."
        );
        assert!(l.register("127.0.0.2".parse().unwrap()).is_err());
        let three: Vec<_> = (0..3)
            .map(|_| l.register("127.0.0.3".parse().unwrap()).unwrap())
            .collect();
        assert!(l.register("127.0.0.3".parse().unwrap()).is_err());
        assert_eq!(l.count(), 5);
        drop(s1);
        drop(three);
        assert_eq!(l.count(), 1);
        l.register(a).unwrap();
    }

    #[test]
    fn kafkas_start_up_checks_apply() {
        let e = Limits::from_settings(&settings(&[("max.connections.per.ip", "0")])).unwrap_err();
        assert!(e.contains("can be set to zero only if"), "{e}");
        let e =
            Limits::from_settings(&settings(&[("queued.max.request.bytes", "1000")])).unwrap_err();
        assert!(
            e.contains("must be larger or equal to socket.request.max.bytes"),
            "{e}"
        );
        let e = Limits::from_settings(&settings(&[(
            "max.connections.per.ip.overrides",
            "no.such.host.invalid:3",
        )]))
        .unwrap_err();
        assert!(
            e.contains("contains invalid addresses : no.such.host.invalid"),
            "{e}"
        );
        let l = Limits::from_settings(&settings(&[])).unwrap();
        assert_eq!(l.idle, Some(Duration::from_secs(600)));
        assert!(!l.memory.is_bounded());
        let l = Limits::from_settings(&settings(&[("connections.max.idle.ms", "-1")])).unwrap();
        assert_eq!(l.idle, None);
    }

    #[tokio::test]
    async fn an_exhausted_pool_makes_readers_wait_until_bytes_are_released() {
        let pool = Arc::new(RequestMemory::new(Some(100)));
        let big = pool.acquire(150).await; // admitted: the pool was not exhausted
        assert_eq!(pool.held(), 150);
        let p2 = pool.clone();
        let waiter = tokio::spawn(async move { p2.acquire(10).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "admitted past an exhausted pool");
        drop(big);
        let permit = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken on release")
            .unwrap();
        assert_eq!(pool.held(), 10);
        drop(permit);
        assert_eq!(pool.held(), 0);
    }

    #[tokio::test]
    async fn max_connections_holds_the_accept_until_a_slot_frees() {
        let l = Arc::new(ConnectionLimits::new(1, usize::MAX, HashMap::new()));
        let slot = l.register("127.0.0.1".parse().unwrap()).unwrap();
        let l2 = l.clone();
        let waiter = tokio::spawn(async move { l2.wait_for_slot().await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        drop(slot);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken when the slot freed")
            .unwrap();
    }
}
