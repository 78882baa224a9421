//! [`Coordinator`], the thread-safe front the handlers call, and the state it
//! guards: every group ([`GroupKind`]: classic or KIP-848) with its committed
//! offsets, under one mutex; the internal log, attached at start-up or on
//! first use; the monotonic and wall clocks. The requests themselves live in
//! the sibling files (membership, offsets, admin, persistence, timers).

use super::classic::{ClassicGroup, ClassicState};
use super::consumer::ConsumerGroup;
use super::log::{self, GroupLog};
use super::records::OffsetValue;
use super::streams::StreamsGroup;
use super::GroupConfig;
use parking_lot::{Mutex, MutexGuard};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;
use weir_storage::clock::now_ms as wall_ms;

/// A fresh member id: a random (v4) UUID as 32 hex digits.
pub fn new_member_id() -> String {
    crate::ids::random_uuid().simple().to_string()
}

/// A group of either kind, with its committed offsets.
#[derive(Debug)]
pub enum GroupKind {
    Classic(ClassicGroup),
    Consumer(ConsumerGroup),
    Streams(StreamsGroup),
}

#[derive(Debug)]
pub(super) struct Group {
    pub(super) kind: GroupKind,
    pub(super) offsets: BTreeMap<(String, i32), OffsetValue>,
}

impl Group {
    pub(super) fn classic(id: &str) -> Group {
        Group {
            kind: GroupKind::Classic(ClassicGroup::new(id)),
            offsets: BTreeMap::new(),
        }
    }
    pub(super) fn has_members(&self) -> bool {
        match &self.kind {
            GroupKind::Classic(g) => !g.is_empty(),
            GroupKind::Consumer(g) => !g.members.is_empty(),
            GroupKind::Streams(g) => !g.members.is_empty(),
        }
    }
    pub(super) fn next_deadline(&self) -> Option<u64> {
        match &self.kind {
            GroupKind::Classic(g) => g.next_deadline(),
            GroupKind::Consumer(g) => g.next_deadline(),
            GroupKind::Streams(g) => g.next_deadline(),
        }
    }
}

pub(super) struct Inner {
    pub(super) state: Mutex<BTreeMap<String, Group>>,
    pub(super) cfg: GroupConfig,
    /// Set at start-up when the internal topic exists, else on first use ([`Coordinator::attach_log`]).
    pub(super) log: std::sync::OnceLock<Arc<dyn GroupLog>>,
    pub(super) wake: Notify,
    pub(super) clock: Instant,
    /// Wall-clock milliseconds: commit timestamps, state timestamps, offset expiry.
    pub(super) wall: WallClock,
    pub(super) stopped: AtomicBool,
    /// Per-group config overrides ([`super::group_configs`]).
    pub(super) overrides:
        parking_lot::RwLock<std::collections::HashMap<String, super::config::GroupOverrides>>,
}

/// The coordinator's wall clock (milliseconds since the epoch); injectable so
/// that tests of offset expiry do not sleep.
pub type WallClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Why the coordinator could not start.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    #[error(transparent)]
    Log(#[from] log::GroupLogError),
}

/// The group coordinator; cheap to clone (shared state).
#[derive(Clone)]
pub struct Coordinator {
    pub(super) inner: Arc<Inner>,
}

impl Coordinator {
    /// Open the coordinator over its log, replaying every record in it.
    pub fn open(cfg: GroupConfig, log: Arc<dyn GroupLog>) -> Result<Coordinator, CoordinatorError> {
        let c = Coordinator::open_lazy(cfg);
        c.attach_log(log)?;
        Ok(c)
    }

    /// A coordinator without its log yet (the internal topic is created on first
    /// use, as Kafka does): anything that must be written fails with
    /// COORDINATOR_NOT_AVAILABLE until [`Coordinator::attach_log`].
    pub fn open_lazy(cfg: GroupConfig) -> Coordinator {
        Coordinator::open_lazy_with_clock(cfg, Arc::new(wall_ms))
    }

    /// [`Coordinator::open_lazy`] with the given wall clock.
    pub fn open_lazy_with_clock(cfg: GroupConfig, wall: WallClock) -> Coordinator {
        let inner = Inner {
            state: Mutex::new(BTreeMap::new()),
            cfg,
            log: std::sync::OnceLock::new(),
            wake: Notify::new(),
            clock: Instant::now(),
            wall,
            stopped: AtomicBool::new(false),
            overrides: Default::default(),
        };
        Coordinator {
            inner: Arc::new(inner),
        }
    }

    /// [`Coordinator::open`] with the given wall clock.
    pub fn open_with_clock(
        cfg: GroupConfig,
        log: Arc<dyn GroupLog>,
        wall: WallClock,
    ) -> Result<Coordinator, CoordinatorError> {
        let c = Coordinator::open_lazy_with_clock(cfg, wall);
        c.attach_log(log)?;
        Ok(c)
    }

    /// Whether the internal log is attached.
    pub fn has_log(&self) -> bool {
        self.inner.log.get().is_some()
    }

    /// Attach the internal log and replay it; a no-op if one is attached already.
    pub fn attach_log(&self, log: Arc<dyn GroupLog>) -> Result<(), CoordinatorError> {
        if self.inner.log.set(log).is_ok() {
            self.replay()?;
        }
        Ok(())
    }

    pub(super) fn log(&self) -> Result<&Arc<dyn GroupLog>, log::GroupLogError> {
        self.inner.log.get().ok_or(log::GroupLogError::NotReady)
    }

    pub fn config(&self) -> &GroupConfig {
        &self.inner.cfg
    }

    pub(super) fn now(&self) -> u64 {
        self.inner.clock.elapsed().as_millis() as u64
    }

    pub(super) fn wall(&self) -> i64 {
        (self.inner.wall)()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Group>> {
        self.inner.state.lock()
    }

    /// Kafka's `currentStateTimestamp`: the wall-clock time a classic group last
    /// changed state (persisted with the group; offset expiry of an Empty group
    /// counts from it).
    pub(super) fn stamp(&self, c: &mut ClassicGroup, before: ClassicState) {
        if c.state != before {
            c.state_timestamp = Some(self.wall());
        }
    }
}
