//! KIP-227 incremental fetch sessions: the session cache, each session's
//! partitions, and the rules that pick a fetch's context, as Apache Kafka 4.4's
//! `FetchManager`, `FetchSession`, `FetchSessionCacheShard` and `FetchContext`.
//!
//! A fetch names a session id and epoch. Epoch 0 (full) with the cache having
//! room creates a session after the read (its id goes back in the response);
//! epoch -1 is sessionless; a full fetch naming a session closes it first. An
//! incremental fetch (epoch > 0) must name a cached session at exactly its
//! epoch (else FETCH_SESSION_ID_NOT_FOUND / INVALID_FETCH_SESSION_EPOCH) and
//! with the topic-id mode it was created with (else FETCH_SESSION_TOPIC_ID_ERROR);
//! its partitions add to or update the session, its forgotten topics leave it,
//! and the answer carries only the partitions that have something to say
//! ([`CachedPartition::must_respond`], Kafka's `maybeUpdateResponseData`).
//! Each session partition watches the partition it resolves to (its slot's
//! news mark, [`crate::partitions::news`]), so an incremental fetch looks only
//! at the marked slots, the ones its request changed and the ones not
//! [`CachedPartition::settled`] ([`SessionState::to_look`]).
//! Sessions are not tied to a connection: a client may carry on with its
//! session over a new connection, and a session leaves the cache only by
//! eviction, by a full fetch naming it, or by becoming empty.
//!
//! The cache holds `max.incremental.fetch.session.cache.slots` sessions. A new
//! session takes a full cache's slot from the least recently used session if
//! that one was idle longer than [`EVICTION_MS`], else from the smallest
//! session older than [`EVICTION_MS`] if the new one is larger (Kafka's
//! `tryEvict`; weir has no followers, so no session is privileged). Kafka
//! splits its cache into 8 shards of 1/8 of the slots each to spread lock
//! contention; weir keeps one (its lock is held for a lookup and the
//! partitions a request changes, never for a read).
//!
//! Locks per incremental fetch, as Kafka's: the cache's (lookup, update,
//! touch) with the session's nested in it, then the session's alone to list
//! the partitions to read and again to record what the response carried.
//! Sessionless fetches (epoch -1, Fetch v0-6) take none.

use crate::partitions::news::{News, NewsMark};
use crate::partitions::Partition;
use kafka_protocol::messages::fetch_request::{FetchTopic, ForgottenTopic};
use kafka_protocol::messages::TopicName;
use kafka_protocol::ResponseError;
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// The session id of "no session".
pub const INVALID_SESSION_ID: i32 = 0;
/// The epoch of a full fetch that may create a session.
pub const INITIAL_EPOCH: i32 = 0;
/// The epoch of a sessionless (or session-closing) fetch.
pub const FINAL_EPOCH: i32 = -1;
/// Kafka's `KafkaBroker.MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS`: a session
/// idle this long may be evicted by any new one; one created this long ago by a
/// larger one.
pub const EVICTION_MS: i64 = 120_000;

/// Kafka's `FetchMetadata.nextEpoch`.
pub fn next_epoch(prev: i32) -> i32 {
    if prev < 0 {
        FINAL_EPOCH
    } else if prev == i32::MAX {
        1
    } else {
        prev + 1
    }
}

/// A session partition's topic: its id in sessions made by Fetch v13+, its
/// name before.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TopicKey {
    Id(Uuid),
    Name(TopicName),
}

impl TopicKey {
    /// The key with a name of its own: a name decoded from a request shares the
    /// request's buffer, which a session must not keep alive.
    pub fn to_owned_key(&self) -> TopicKey {
        match self {
            TopicKey::Id(id) => TopicKey::Id(*id),
            TopicKey::Name(n) => TopicKey::Name(TopicName(
                kafka_protocol::protocol::StrBytes::from_string(n.0.to_string()),
            )),
        }
    }
}

/// One partition of a session: the request parameters the client last sent
/// and the figures the client last saw (Kafka's `CachedPartition`).
#[derive(Debug, Clone)]
pub struct CachedPartition {
    pub topic: TopicKey,
    pub partition: i32,
    pub fetch_offset: i64,
    pub max_bytes: i32,
    pub current_leader_epoch: i32,
    /// The high watermark the client was last sent (-1: never, or an error).
    high_watermark: i64,
    /// The log start offset the client was last sent.
    log_start_offset: i64,
}

impl CachedPartition {
    fn new(topic: TopicKey, p: &kafka_protocol::messages::fetch_request::FetchPartition) -> Self {
        CachedPartition {
            topic,
            partition: p.partition,
            fetch_offset: p.fetch_offset,
            max_bytes: p.partition_max_bytes,
            current_leader_epoch: p.current_leader_epoch,
            high_watermark: -1,
            log_start_offset: -1,
        }
    }

    fn update_request(&mut self, p: &kafka_protocol::messages::fetch_request::FetchPartition) {
        self.fetch_offset = p.fetch_offset;
        self.max_bytes = p.partition_max_bytes;
        self.current_leader_epoch = p.current_leader_epoch;
    }

    /// Whether reading this partition now cannot change what the client was
    /// last told, given its current `high_watermark` and `log_start_offset`:
    /// the client fetches at the high watermark it was sent and neither figure
    /// moved (a read there returns no records, so [`CachedPartition::must_respond`]
    /// would say no). An incremental fetch skips such partitions rather than
    /// reading them: its cost follows the partitions with news, not the
    /// session's size. Never true after an error (the high watermark is -1).
    pub fn is_idle(&self, high_watermark: i64, log_start_offset: i64) -> bool {
        self.settled()
            && high_watermark == self.high_watermark
            && log_start_offset == self.log_start_offset
    }

    /// Whether the client has everything it was last told of: it fetches at
    /// the high watermark it was sent, with no error. Such a partition need not
    /// be looked at again until it moves (its news mark says so); any other
    /// (cut short by the byte budget, behind, in error) is looked at in every
    /// incremental fetch.
    pub fn settled(&self) -> bool {
        self.high_watermark >= 0 && self.fetch_offset == self.high_watermark
    }

    /// Kafka's `maybeUpdateResponseData`: whether an incremental response must
    /// carry this partition (records, a changed high watermark or log start
    /// offset, or an error; weir names no preferred read replica and no
    /// diverging epoch), remembering what it carries when `update`.
    pub fn must_respond(
        &mut self,
        records: usize,
        high_watermark: i64,
        log_start_offset: i64,
        error_code: i16,
        update: bool,
    ) -> bool {
        let mut respond = records > 0;
        if self.high_watermark != high_watermark {
            respond = true;
            if update {
                self.high_watermark = high_watermark;
            }
        }
        if self.log_start_offset != log_start_offset {
            respond = true;
            if update {
                self.log_start_offset = log_start_offset;
            }
        }
        if error_code != 0 {
            if update {
                self.high_watermark = -1;
            }
            respond = true;
        }
        respond
    }
}

const NIL: u32 = u32::MAX;

struct Slot {
    part: Option<CachedPartition>,
    prev: u32,
    next: u32,
    /// Its place in the session order (larger = later).
    seq: u64,
    /// In `pending`.
    pending: bool,
    /// The partition this slot watches (is told of its moves by), and the mark.
    sub: Option<(Arc<Partition>, NewsMark)>,
}

/// A session's partitions in order (Kafka's `ImplicitLinkedHashCollection`):
/// found by (topic, partition), removed and moved to the back in O(1).
#[derive(Default)]
pub struct PartitionList {
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashMap<(TopicKey, i32), u32>,
    head: u32,
    tail: u32,
    len: usize,
    next_seq: u64,
    /// Slots to look at in the next fetch whatever their marks say.
    pending: Vec<u32>,
}

impl PartitionList {
    fn new() -> Self {
        PartitionList {
            head: NIL,
            tail: NIL,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn link_back(&mut self, i: u32) {
        self.slots[i as usize].seq = self.next_seq;
        self.next_seq += 1;
        self.slots[i as usize].prev = self.tail;
        self.slots[i as usize].next = NIL;
        if self.tail == NIL {
            self.head = i;
        } else {
            self.slots[self.tail as usize].next = i;
        }
        self.tail = i;
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = (self.slots[i as usize].prev, self.slots[i as usize].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }

    /// Add a partition at the back (it must not be there yet); it is looked
    /// at in the next fetch.
    fn push(&mut self, part: CachedPartition) {
        let key = (part.topic.clone(), part.partition);
        let slot = Slot {
            part: Some(part),
            prev: NIL,
            next: NIL,
            seq: 0,
            pending: false,
            sub: None,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.link_back(i);
        self.index.insert(key, i);
        self.len += 1;
        self.pend(i);
    }

    fn find(&self, topic: &TopicKey, partition: i32) -> Option<u32> {
        // A borrowed key would need the topic cloned for the tuple; topics are
        // cheap to clone (a uuid, or a reference-counted name).
        self.index.get(&(topic.clone(), partition)).copied()
    }

    fn remove(&mut self, topic: &TopicKey, partition: i32) -> bool {
        let Some(i) = self.index.remove(&(topic.clone(), partition)) else {
            return false;
        };
        self.unlink(i);
        self.unwatch(i);
        self.slots[i as usize].part = None;
        self.free.push(i);
        self.len -= 1;
        true
    }

    /// Look at `slot` in the next fetch whatever its mark says.
    pub fn pend(&mut self, slot: u32) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            if !s.pending {
                s.pending = true;
                self.pending.push(slot);
            }
        }
    }

    /// Watch `partition` from `slot` (told of its moves through `news`),
    /// unless it already does; nothing when the session is `closed`.
    pub fn watch(&mut self, slot: u32, partition: &Arc<Partition>, news: &mut News, closed: bool) {
        let watching = self.slots[slot as usize]
            .sub
            .as_ref()
            .is_some_and(|(p, _)| Arc::ptr_eq(p, partition));
        if watching || closed {
            return;
        }
        self.unwatch(slot);
        let mark = news.mark_for(slot);
        partition.watch(mark.clone());
        self.slots[slot as usize].sub = Some((partition.clone(), mark));
    }

    /// Stop watching from `slot`.
    pub fn unwatch(&mut self, slot: u32) {
        if let Some((p, mark)) = self.slots[slot as usize].sub.take() {
            p.unwatch(&mark);
        }
    }

    /// The slots to look at: `out` (marked slots, carried ones) plus the
    /// pending ones, in session order, each once, freed slots left out.
    fn order(&mut self, out: &mut Vec<u32>) {
        for i in self.pending.drain(..) {
            if let Some(s) = self.slots.get_mut(i as usize) {
                s.pending = false;
            }
            out.push(i);
        }
        out.retain(|&i| self.slots.get(i as usize).is_some_and(|s| s.part.is_some()));
        out.sort_unstable_by_key(|&i| self.slots[i as usize].seq);
        out.dedup();
    }

    /// The partition at `slot`.
    pub fn get(&self, slot: u32) -> Option<&CachedPartition> {
        self.slots.get(slot as usize)?.part.as_ref()
    }

    /// Move the partition at `slot` to the back (it returned records: the
    /// others get the response's byte budget first next time).
    pub fn move_to_back(&mut self, slot: u32) {
        if self.tail != slot {
            self.unlink(slot);
            self.link_back(slot);
        }
    }

    /// The partitions in order, with their slots.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &CachedPartition)> {
        let mut at = self.head;
        std::iter::from_fn(move || {
            if at == NIL {
                return None;
            }
            let i = at;
            let slot = &self.slots[i as usize];
            at = slot.next;
            slot.part.as_ref().map(|p| (i, p))
        })
    }

    /// The partition at `slot` (from [`PartitionList::iter`]).
    pub fn get_mut(&mut self, slot: u32) -> Option<&mut CachedPartition> {
        self.slots.get_mut(slot as usize)?.part.as_mut()
    }
}

/// What a session holds under its lock.
pub struct SessionState {
    /// The epoch the next incremental fetch must carry.
    pub epoch: i32,
    pub partitions: PartitionList,
    /// Which partitions moved since the last fetch looked.
    pub news: News,
    /// The next fetch looks at every partition (the first after the session
    /// was created: its partitions watch nothing yet).
    walk_all: bool,
    /// Out of the cache: its partitions are watched no more.
    pub closed: bool,
}

impl SessionState {
    /// The slots an incremental fetch looks at, in session order, into `out`:
    /// those marked since the last look, those pending (added or changed by a
    /// request, or not settled after their last answer) and `carry` (those a
    /// waiting fetch already looked at); every slot when `walk_all` or the
    /// session asks for it. Takes the marks.
    pub fn to_look(&mut self, walk_all: bool, carry: &[u32], out: &mut Vec<u32>) {
        out.clear();
        if walk_all || self.walk_all {
            self.walk_all = false;
            self.news.clear();
            for i in self.partitions.pending.drain(..) {
                self.partitions.slots[i as usize].pending = false;
            }
            out.extend(self.partitions.iter().map(|(slot, _)| slot));
            return;
        }
        self.news.take(out);
        out.extend_from_slice(carry);
        self.partitions.order(out);
    }
}

/// One fetch session.
pub struct Session {
    pub id: i32,
    /// What a fetch waiting on this session sleeps on (its partitions' moves).
    pub signal: Arc<crate::partitions::news::NewsSignal>,
    /// Made by Fetch v13+ (partitions by topic id).
    pub uses_topic_ids: bool,
    creation_ms: i64,
    pub state: Mutex<SessionState>,
}

impl Session {
    /// Out of the cache: stop watching its partitions (an in-flight fetch may
    /// still answer from it, but watches nothing new).
    fn close(&self) {
        let mut st = self.state.lock();
        st.closed = true;
        let slots: Vec<u32> = st.partitions.iter().map(|(slot, _)| slot).collect();
        for slot in slots {
            st.partitions.unwatch(slot);
        }
    }

    /// Look at `slots` again in the next fetch (a fetch that read them but did
    /// not answer: throttled, failed, dropped).
    pub fn repend(&self, slots: &[u32]) {
        let mut st = self.state.lock();
        for &slot in slots {
            st.partitions.pend(slot);
        }
    }
}

/// What a fetch request is, session-wise (Kafka's `FetchContext` kinds).
pub enum FetchContext {
    /// Answer every requested partition, session id 0.
    Sessionless,
    /// Answer every requested partition and try to cache them as a new session.
    Full,
    /// Read the session's partitions; answer those that must respond. The
    /// session's epoch is already advanced to `next_epoch(request epoch)`.
    Incremental(Arc<Session>),
    /// Answer only this top-level error, session id 0.
    Error(ResponseError),
}

#[derive(Default)]
struct CacheState {
    sessions: HashMap<i32, Entry>,
    /// (last used ms, id): the least recently used first.
    last_used: BTreeSet<(i64, i32)>,
    /// (size, id) of the sessions created more than [`EVICTION_MS`] before
    /// their last use: the smallest first (Kafka's `evictableByAll`).
    evictable: BTreeSet<(usize, i32)>,
    partitions: usize,
}

struct Entry {
    session: Arc<Session>,
    last_used_ms: i64,
    /// The size at the last touch (usize::MAX: never touched).
    cached_size: usize,
}

impl CacheState {
    fn remove(&mut self, id: i32) -> Option<Arc<Session>> {
        let e = self.sessions.remove(&id)?;
        e.session.close();
        self.last_used.remove(&(e.last_used_ms, id));
        if e.cached_size != usize::MAX {
            self.evictable.remove(&(e.cached_size, id));
            self.partitions -= e.cached_size;
        }
        Some(e.session)
    }

    /// Kafka's `touch`: the session was used at `now` and has `size` partitions.
    fn touch(&mut self, id: i32, size: usize, now: i64, eviction_ms: i64) {
        let Some(e) = self.sessions.get_mut(&id) else {
            return;
        };
        self.last_used.remove(&(e.last_used_ms, id));
        e.last_used_ms = now;
        self.last_used.insert((now, id));
        if e.cached_size != usize::MAX {
            self.evictable.remove(&(e.cached_size, id));
            self.partitions -= e.cached_size;
        }
        e.cached_size = size;
        if now - e.session.creation_ms > eviction_ms {
            self.evictable.insert((size, id));
        }
        self.partitions += size;
    }

    /// Kafka's `tryEvict` for a new (unprivileged) session of `size` partitions.
    fn try_evict(&mut self, size: usize, now: i64, eviction_ms: i64) -> bool {
        let Some(&(last_used, id)) = self.last_used.first() else {
            return false;
        };
        if now - last_used > eviction_ms {
            self.remove(id);
            return true;
        }
        let Some(&(smallest, id)) = self.evictable.first() else {
            return false;
        };
        // Kafka compares (privileged, size, id) with the new session's id 0:
        // an equal size never evicts.
        if size <= smallest {
            return false;
        }
        self.remove(id);
        true
    }
}

/// The broker's fetch-session cache.
pub struct FetchSessions {
    max_slots: usize,
    eviction_ms: i64,
    cache: Mutex<CacheState>,
    evictions: AtomicU64,
    /// Incremental fetches answered from a session (tests check clients use them).
    incremental: AtomicU64,
    /// Session partitions incremental fetches looked at (read or found idle).
    looked: AtomicU64,
    start: Instant,
    /// Added to the clock (tests of idle-time rules).
    skew_ms: AtomicI64,
}

impl FetchSessions {
    /// A cache of `max_slots` sessions (`max.incremental.fetch.session.cache.slots`).
    pub fn new(max_slots: usize) -> Self {
        FetchSessions {
            max_slots,
            eviction_ms: EVICTION_MS,
            cache: Mutex::new(CacheState::default()),
            evictions: AtomicU64::new(0),
            incremental: AtomicU64::new(0),
            looked: AtomicU64::new(0),
            start: Instant::now(),
            skew_ms: AtomicI64::new(0),
        }
    }

    fn now_ms(&self) -> i64 {
        self.start.elapsed().as_millis() as i64 + self.skew_ms.load(Relaxed)
    }

    /// Move the cache's clock forward (tests of eviction; the broker never calls it).
    #[doc(hidden)]
    pub fn advance_clock(&self, ms: i64) {
        self.skew_ms.fetch_add(ms, Relaxed);
    }

    /// Sessions cached now (Kafka's `NumIncrementalFetchSessions`).
    pub fn len(&self) -> usize {
        self.cache.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Partitions in all cached sessions (Kafka's `NumIncrementalFetchPartitionsCached`).
    pub fn partitions(&self) -> usize {
        self.cache.lock().partitions
    }

    /// (sessions, partitions) cached now, read together.
    pub fn figures(&self) -> (usize, usize) {
        let cache = self.cache.lock();
        (cache.sessions.len(), cache.partitions)
    }

    /// Sessions evicted since start-up (Kafka's `IncrementalFetchSessionEvictionsPerSec`).
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Relaxed)
    }

    /// Incremental fetches served from a session since start-up.
    pub fn incremental_fetches(&self) -> u64 {
        self.incremental.load(Relaxed)
    }

    /// Count `n` session partitions an incremental fetch looked at.
    pub fn note_looked(&self, n: usize) {
        self.looked.fetch_add(n as u64, Relaxed);
    }

    /// Session partitions incremental fetches looked at since start-up (the
    /// rest they passed by without a step).
    pub fn partitions_looked(&self) -> u64 {
        self.looked.load(Relaxed)
    }

    /// Kafka's `FetchManager.newContext`: what this request is, session-wise.
    /// An incremental request's partitions and forgotten topics are applied to
    /// its session here. Fetch v0-6 pass session 0, epoch -1.
    pub fn new_context(
        &self,
        version: i16,
        session_id: i32,
        epoch: i32,
        topics: &[FetchTopic],
        forgotten: &[ForgottenTopic],
    ) -> FetchContext {
        if epoch == INITIAL_EPOCH || epoch == FINAL_EPOCH {
            if session_id != INVALID_SESSION_ID {
                self.cache.lock().remove(session_id);
            }
            return if epoch == FINAL_EPOCH {
                FetchContext::Sessionless
            } else {
                FetchContext::Full
            };
        }
        let uses_ids = version >= 13;
        let now = self.now_ms();
        let mut cache = self.cache.lock();
        let Some(session) = cache.sessions.get(&session_id).map(|e| e.session.clone()) else {
            return FetchContext::Error(ResponseError::FetchSessionIdNotFound);
        };
        let mut st = session.state.lock();
        if st.epoch != epoch {
            return FetchContext::Error(ResponseError::InvalidFetchSessionEpoch);
        }
        if session.uses_topic_ids != uses_ids {
            return FetchContext::Error(ResponseError::FetchSessionTopicIdError);
        }
        for t in topics {
            let key = topic_key(uses_ids, t.topic_id, &t.topic);
            // The session's own copy of the name, made once per topic that adds partitions.
            let mut owned = None;
            for p in &t.partitions {
                match st.partitions.find(&key, p.partition) {
                    Some(slot) => {
                        if let Some(cached) = st.partitions.get_mut(slot) {
                            cached.update_request(p);
                        }
                        st.partitions.pend(slot);
                    }
                    None => {
                        let key = owned.get_or_insert_with(|| key.to_owned_key());
                        st.partitions.push(CachedPartition::new(key.clone(), p))
                    }
                }
            }
        }
        for t in forgotten {
            let key = topic_key(uses_ids, t.topic_id, &t.topic);
            for &p in &t.partitions {
                st.partitions.remove(&key, p);
            }
        }
        if st.partitions.is_empty() {
            drop(st);
            cache.remove(session_id);
            return FetchContext::Sessionless;
        }
        let size = st.partitions.len();
        st.epoch = next_epoch(st.epoch);
        drop(st);
        cache.touch(session_id, size, now, self.eviction_ms);
        drop(cache);
        self.incremental.fetch_add(1, Relaxed);
        FetchContext::Incremental(session)
    }

    /// Kafka's `maybeCreateSession` after a full fetch: cache `partitions`
    /// (in request order, with what the response told the client) as a new
    /// session if there is room or a slot can be evicted; its id, or 0.
    pub fn maybe_create(&self, uses_topic_ids: bool, partitions: Vec<CachedPartition>) -> i32 {
        let now = self.now_ms();
        let size = partitions.len();
        let mut cache = self.cache.lock();
        if cache.sessions.len() >= self.max_slots {
            if !cache.try_evict(size, now, self.eviction_ms) {
                return INVALID_SESSION_ID;
            }
            self.evictions.fetch_add(1, Relaxed);
        }
        let id = loop {
            let id = crate::ids::random_positive_i32();
            if !cache.sessions.contains_key(&id) {
                break id;
            }
        };
        let mut list = PartitionList::new();
        for p in partitions {
            if list.find(&p.topic, p.partition).is_none() {
                list.push(p);
            }
        }
        let news = News::default();
        let session = Arc::new(Session {
            id,
            signal: news.signal().clone(),
            uses_topic_ids,
            creation_ms: now,
            state: Mutex::new(SessionState {
                epoch: next_epoch(INITIAL_EPOCH),
                partitions: list,
                news,
                walk_all: true,
                closed: false,
            }),
        });
        cache.sessions.insert(
            id,
            Entry {
                session,
                last_used_ms: now,
                cached_size: usize::MAX,
            },
        );
        cache.last_used.insert((now, id));
        cache.touch(id, size, now, self.eviction_ms);
        tracing::debug!("created fetch session {id} of {size} partitions");
        id
    }

    /// A new cached partition for a full fetch's session, with what the
    /// response told the client.
    pub fn cached(
        topic: TopicKey,
        p: &kafka_protocol::messages::fetch_request::FetchPartition,
        high_watermark: i64,
        log_start_offset: i64,
        error_code: i16,
    ) -> CachedPartition {
        let mut c = CachedPartition::new(topic, p);
        c.must_respond(0, high_watermark, log_start_offset, error_code, true);
        c
    }
}

/// The key of a request topic in a session that does (v13+) or does not use topic ids.
pub fn topic_key(uses_ids: bool, id: Uuid, name: &TopicName) -> TopicKey {
    if uses_ids {
        TopicKey::Id(id)
    } else {
        TopicKey::Name(name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_request::FetchPartition;

    fn part(topic: &str, p: i32) -> CachedPartition {
        let req = FetchPartition::default().with_partition(p);
        FetchSessions::cached(
            TopicKey::Name(TopicName(topic.to_string().into())),
            &req,
            0,
            0,
            0,
        )
    }

    fn parts(n: i32) -> Vec<CachedPartition> {
        (0..n).map(|i| part("t", i)).collect()
    }

    #[test]
    fn next_epoch_wraps_to_one() {
        assert_eq!(next_epoch(0), 1);
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(-1), -1);
    }

    #[test]
    fn full_cache_evicts_only_by_kafkas_rules() {
        let c = FetchSessions::new(2);
        let a = c.maybe_create(false, parts(2));
        let b = c.maybe_create(false, parts(3));
        assert!(a > 0 && b > 0 && a != b);
        // Full, both fresh: nothing is evicted, even by a larger session.
        assert_eq!(c.maybe_create(false, parts(10)), INVALID_SESSION_ID);
        assert_eq!((c.len(), c.partitions(), c.evictions()), (2, 5, 0));
        // Older than EVICTION_MS but just used: a larger session evicts the smallest.
        c.advance_clock(EVICTION_MS + 1);
        for id in [a, b] {
            let epoch = c.cache.lock().sessions[&id].session.state.lock().epoch;
            assert!(matches!(
                c.new_context(12, id, epoch, &[], &[]),
                FetchContext::Incremental(_)
            ));
        }
        // Equal size never evicts.
        assert_eq!(c.maybe_create(false, parts(2)), INVALID_SESSION_ID);
        let d = c.maybe_create(false, parts(4));
        assert!(d > 0);
        assert!(!c.cache.lock().sessions.contains_key(&a));
        assert_eq!((c.len(), c.partitions(), c.evictions()), (2, 7, 1));
        // Idle longer than EVICTION_MS: any new session takes its slot.
        c.advance_clock(EVICTION_MS + 1);
        let e = c.maybe_create(false, parts(1));
        assert!(e > 0);
        assert_eq!(c.evictions(), 2);
        // b and d were last used at the same time: the smaller id goes (Kafka's LastUsedKey).
        let gone = b.min(d);
        assert!(!c.cache.lock().sessions.contains_key(&gone));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn zero_slots_never_cache() {
        let c = FetchSessions::new(0);
        assert_eq!(c.maybe_create(false, parts(1)), INVALID_SESSION_ID);
    }

    #[test]
    fn list_moves_and_removes_in_order() {
        let mut l = PartitionList::new();
        for p in parts(4) {
            l.push(p);
        }
        let order = |l: &PartitionList| l.iter().map(|(_, p)| p.partition).collect::<Vec<_>>();
        l.move_to_back(1);
        assert_eq!(order(&l), [0, 2, 3, 1]);
        let t = TopicKey::Name(TopicName("t".to_string().into()));
        assert!(l.remove(&t, 2));
        assert!(!l.remove(&t, 2));
        l.push(part("t", 9));
        assert_eq!(order(&l), [0, 3, 1, 9]);
        assert_eq!(l.len(), 4);
    }

    #[test]
    fn idle_only_at_the_high_watermark_it_was_sent_with_nothing_moved() {
        let mut p = part("t", 0); // told hw 0, log start 0, fetching at 0
        assert!(p.is_idle(0, 0));
        assert!(!p.is_idle(1, 0), "an append");
        assert!(!p.is_idle(0, 1), "the log start moved");
        p.must_respond(0, 7, 0, 0, true);
        assert!(!p.is_idle(7, 0), "the client has not caught up to 7 yet");
        p.fetch_offset = 7;
        assert!(p.is_idle(7, 0));
        p.must_respond(0, 7, 0, 1, true);
        assert!(
            !p.is_idle(7, 0),
            "after an error the partition is read again"
        );
    }

    #[test]
    fn must_respond_follows_maybe_update_response_data() {
        let mut p = part("t", 0);
        assert!(!p.must_respond(0, 0, 0, 0, true));
        assert!(p.must_respond(10, 0, 0, 0, true));
        assert!(p.must_respond(0, 5, 0, 0, true));
        assert!(!p.must_respond(0, 5, 0, 0, true));
        assert!(p.must_respond(0, 5, 3, 0, false));
        assert!(p.must_respond(0, 5, 3, 0, true));
        // An error always responds and forgets the high watermark.
        assert!(p.must_respond(0, 5, 3, 3, true));
        assert!(p.must_respond(0, 5, 3, 0, true));
    }
}
