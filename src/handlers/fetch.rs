//! Fetch (key 1), v0-18, with KIP-227 incremental fetch sessions
//! ([`crate::fetch_sessions`]): a full fetch (epoch 0) is answered in full and
//! cached as a session when the cache has room; an incremental one answers
//! only its session's partitions with news (records, a changed high watermark
//! or log start offset, an error), and looks only at those that can have some:
//! the partitions whose news mark was set since the last fetch (an append, a
//! marker, a log start move, the topic deleted: [`crate::partitions::news`]),
//! those the request adds or changes and those not settled after their last
//! answer; an idle session partition costs nothing, so the fetch's cost
//! follows the partitions with news, not the session's size. This file only
//! turns the request into the partitions to read and the reads into the
//! response; the session rules live in the cache.
//!
//! A fetch that does not yet have `min_bytes` waits on the partitions' wake-ups
//! and returns the moment an append satisfies it, never later than `max_wait_ms`
//! (or at once when the broker shuts down). Record data goes out as the `Bytes`
//! storage returned (spliced into the response, not copied); on a plaintext
//! connection large blocks are offered to the writer as file regions, which it
//! sends with `sendfile(2)` ([`crate::connection::offer_file_region`]).
//!
//! Cold data must never stall the async workers, or every tailing consumer and
//! producer on the broker waits behind a disk read. A fetch that is far behind
//! the log end (a batch consumer catching up) is first read in place without
//! waiting on the disk ([`Partition::fetch_in_memory`]: it touches only bytes
//! of a backlog this process appended, that no catch-up asked the disk to read
//! ahead, after `mincore` found them in the page cache); when every
//! partition's read is such a backlog, the fetch takes no hop and its regions
//! (up to 1 MiB each) are sent by the worker. Otherwise it is read on the cold pool
//! ([`crate::cold_io`]) — index lookup, batch walk, a readahead hint for the
//! result and the next few fetches after it, and one touch per page — and its
//! record blocks are sent from there too. Unless that read found a backlog in
//! memory after all (for some of its partitions): no major page fault on the pool thread during the read, regions
//! wholly in the page cache that no catching-up read of their segment asked
//! the disk to read ahead (data written moments ago, not a cold catch-up's
//! next megabytes); those, up to 1 MiB each, get no readahead hint and no
//! touch and are sent by the worker as a tailing fetch's are. A tailing fetch
//! (at or near the log end, data that was just written) is read in place; the
//! record blocks of a large one that are not in the page cache (`mincore`) are pre-faulted on the blocking pool, the others go
//! out with `sendfile` from the page cache untouched.
//!
//! `isolation_level = 1` (read_committed) reads only below the partition's last
//! stable offset (the first offset of its earliest ongoing transaction) and
//! lists the aborted transactions (producer id, first offset) that overlap the
//! returned batches, from the partition's aborted-transaction index.
//!
//! Fetch v0-3 predate record batches v2: their results are down-converted to
//! message sets (magic 0 for v0-1, 1 for v2-3) on the blocking pool, one batch at
//! a time ([`weir_storage::legacy::down_convert`]); v4+ results go out untouched.

use super::storage_error_code;
use crate::acl::AclOperation;
use crate::connection::{offer_cold_file_region, offer_file_region, SENDFILE_MIN};
use crate::fetch_sessions::{
    next_epoch, topic_key, FetchContext, FetchSessions, Session, TopicKey, FINAL_EPOCH,
};
use crate::handler::{blocking, cold, Handler, HandlerResult, RequestContext};
use crate::partitions::{Partition, Topic};
use crate::state::BrokerState;
use bytes::Bytes;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, ProducerId};
use kafka_protocol::ResponseError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use weir_storage::batch::iter_batches_lenient;
use weir_storage::FileRegion;

/// The Fetch handler.
pub struct Api;

/// Results larger than this are pre-faulted off the async workers.
const PREFAULT_THRESHOLD: usize = 256 * 1024;
/// About what a partition adds to a fetch response besides its records
/// (counted against `consumer_byte_rate` with them).
const RESPONSE_OVERHEAD: usize = 48;

/// A partition this many records or more behind its high watermark is read on the
/// blocking pool: its data is probably not in the page cache any more.
const CATCH_UP_RECORDS: i64 = 4096;
/// The largest file region of a catching-up read that the connection's worker
/// sends itself when it is in the page cache ([`cached_regions`]): a
/// partition's default share of a fetch (the Java consumer's
/// `max.partition.fetch.bytes`). A hot send's `sendfile` call pushes at most
/// the rest of its region, so this bounds the kernel time a worker spends in
/// one call for a catch-up (the kernel does not preempt a system call); larger
/// regions go out from the cold pool in small steps.
const CACHED_REGION_MAX: usize = 1 << 20;
/// How far past a catching-up read the disk is asked to read ahead, over all
/// of the fetch's partitions (each gets its share, and at least as much again
/// as it read): several fetches' worth, so the disk always has the next reads
/// queued while this one is sent, rather than one fetch of lead.
const CATCH_UP_READAHEAD: usize = 16 << 20;

/// One requested partition, resolved.
struct Wanted {
    topic_index: usize,
    partition: i32,
    fetch_offset: i64,
    max_bytes: usize,
    target: Result<Arc<Partition>, ResponseError>,
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::Fetch;
    const VERSIONS: (i16, i16) = (0, 18);
    type Request = FetchRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: FetchRequest,
    ) -> HandlerResult<FetchResponse> {
        let version = ctx.api_version;
        // Fetch v0-6 have no sessions (Kafka's FetchMetadata.LEGACY).
        let (session_id, epoch) = match version >= 7 {
            true => (req.session_id, req.session_epoch),
            false => (0, FINAL_EPOCH),
        };
        let context = state.fetch_sessions.new_context(
            version,
            session_id,
            epoch,
            &req.topics,
            &req.forgotten_topics_data,
        );
        let read_committed = req.isolation_level == 1;
        let allowed = |name: &str| state.pipeline.allows_topic(&ctx, AclOperation::Read, name);
        // The session's partitions to read in session order, with their slots
        // (looked at again in the next fetch if this one does not answer them).
        let mut unanswered = Unanswered {
            session: match &context {
                FetchContext::Incremental(s) => Some(s.clone()),
                _ => None,
            },
            slots: Vec::new(),
        };
        let mut look = Vec::new();
        // With ACLs, every session partition is authorized in every fetch, as
        // Kafka does (an ACL change shows at once); without, only those looked at.
        let walk_all = !state.pipeline.authorizes_all();
        let (mut topics, wanted) = match &context {
            FetchContext::Error(e) => {
                let resp = FetchResponse::default().with_error_code(e.code());
                return Ok(Some(resp));
            }
            FetchContext::Sessionless | FetchContext::Full => {
                resolve(&state, &req.topics, version, allowed)
            }
            FetchContext::Incremental(session) => resolve_session(
                &state,
                session,
                version,
                allowed,
                walk_all,
                &mut look,
                &mut unanswered.slots,
            ),
        };
        let max_wait = Duration::from_millis(req.max_wait_ms.max(0) as u64);
        let min_bytes = req.min_bytes.max(0) as usize;
        let max_bytes = if req.max_bytes <= 0 {
            usize::MAX
        } else {
            req.max_bytes as usize
        };
        // Under a consumer quota, at most what the quota allows over its window
        // (Kafka's `maxValueInQuotaWindow`).
        let max_bytes = match state.quotas.fetch_window_bytes(&ctx) {
            Some(window) => max_bytes.min(window.max(1)),
            None => max_bytes,
        };
        let deadline = Instant::now() + max_wait;
        let waiter = Arc::new(Notify::new());

        let mut wanted = Arc::new(wanted);
        // Only the first read can be far behind: later ones follow a wake-up at the log end.
        let mut off_workers = catching_up(&wanted);
        // Set while this fetch waits for data (the waiting-fetches gauge).
        let mut waiting = None;
        let (results, regions, delivered, cached) = loop {
            for w in wanted.iter() {
                if let Ok(p) = &w.target {
                    p.add_waiter(&waiter);
                }
            }
            let in_memory = match off_workers && !read_committed {
                true => read_all_in_memory(&wanted, max_bytes),
                false => None,
            };
            let ((results, available, any_error, regions, delivered), cached) =
                if let Some(read) = in_memory {
                    // A backlog in memory, read here without waiting on the disk:
                    // its regions are sent by this worker as a tailing fetch's
                    // are, up to CACHED_REGION_MAX each (larger ones from the pool).
                    let cached = read
                        .3
                        .iter()
                        .map(|r| r.len() <= CACHED_REGION_MAX)
                        .collect();
                    (read, cached)
                } else if off_workers {
                    let w = wanted.clone();
                    cold(move || {
                        let faults = weir_storage::thread_major_faults();
                        let read = read_all(&w, max_bytes, read_committed);
                        // A read that waited on the disk (its index lookup and
                        // batch walk fault pages in: a residency check after it
                        // cannot tell) is cold; otherwise each region is looked
                        // at, before this read's readahead starts.
                        let cached = match weir_storage::thread_major_faults() == faults {
                            true => cached_regions(&read.3),
                            false => vec![false; read.3.len()],
                        };
                        // Readahead for a sequential reader of cold data: this
                        // read and the next ones (a cached region asks for none,
                        // so a backlog in memory never looks read ahead).
                        let ahead = CATCH_UP_READAHEAD / read.3.len().max(1);
                        for (r, _) in read.3.iter().zip(&cached).filter(|(_, c)| !**c) {
                            r.will_need(r.len().max(ahead));
                        }
                        prefault_uncached(&read.0, &read.3, &cached);
                        (read, cached)
                    })
                    .await?
                } else {
                    (read_all(&wanted, max_bytes, read_committed), Vec::new())
                };
            let now = Instant::now();
            if available >= min_bytes.max(1)
                || any_error
                || now >= deadline
                || min_bytes == 0
                || state.is_shutting_down()
            {
                break (results, regions, delivered, cached);
            }
            off_workers = false;
            match &context {
                FetchContext::Incremental(session) => {
                    // Any session partition's move wakes the wait (its news
                    // mark); those looked at are looked at again after it.
                    let news = session.signal.notified();
                    tokio::pin!(news);
                    news.as_mut().enable();
                    let _counted = session.signal.start_waiting();
                    if !session.state.lock().news.any() {
                        waiting.get_or_insert_with(|| state.telemetry.fetch_waiting());
                        tokio::select! {
                            _ = news => {}
                            _ = waiter.notified() => {}
                            _ = tokio::time::sleep_until((deadline).into()) => {}
                            _ = state.shutting_down() => {}
                        }
                    }
                    let (t, w) = resolve_session(
                        &state,
                        session,
                        version,
                        allowed,
                        walk_all,
                        &mut look,
                        &mut unanswered.slots,
                    );
                    topics = t;
                    wanted = Arc::new(w);
                }
                _ => {
                    waiting.get_or_insert_with(|| state.telemetry.fetch_waiting());
                    tokio::select! {
                        _ = waiter.notified() => {}
                        _ = tokio::time::sleep_until((deadline).into()) => {}
                        _ = state.shutting_down() => {}
                    }
                }
            }
        };
        let slots = &unanswered.slots;
        drop(waiting);

        let total: usize = results
            .iter()
            .map(|r| r.records.as_ref().map_or(0, Bytes::len))
            .sum();
        // Consumer quota: over it, the read is taken back and the answer is
        // empty, with the throttle time (as Kafka's `getThrottledResponse`).
        // An incremental answer carries only the partitions with news: under a
        // quota, count those (Kafka's getResponseSize, the session unchanged).
        let answered = match &context {
            FetchContext::Incremental(s) if state.quotas.fetch_window_bytes(&ctx).is_some() => {
                responding(s, &results, slots)
            }
            _ => results.len(),
        };
        let throttle_ms = state
            .quotas
            .record_fetch(&ctx, total + RESPONSE_OVERHEAD * answered);
        if throttle_ms > 0 {
            // Kafka's getThrottledResponse: no partitions; an incremental
            // fetch keeps its session (checking the epoch did not move on).
            let (error, session_id) = match &context {
                FetchContext::Incremental(s) => (session_epoch_error(s, epoch), s.id),
                _ => (0, 0),
            };
            return Ok(Some(
                FetchResponse::default()
                    .with_throttle_time_ms(throttle_ms)
                    .with_error_code(error)
                    .with_session_id(session_id),
            ));
        }
        for ((w, r), records) in wanted.iter().zip(&results).zip(delivered) {
            if let Ok(p) = &w.target {
                p.traffic
                    .fetched(r.records.as_ref().map_or(0, Bytes::len), records);
            }
        }
        // A large read in place: what a page fault could wait on the disk for
        // is touched on the blocking pool first. Not the record blocks sent
        // from the page cache (their file regions resident: `sendfile` takes
        // them from there, and touching them would only map them into the
        // broker), so a large read of data in memory (a backlog just behind
        // the log end) takes no hop at all.
        let (results, regions) = if total > PREFAULT_THRESHOLD && !off_workers {
            let cached: Vec<bool> = regions.iter().map(FileRegion::is_resident).collect();
            match uncached_bytes(&results, &regions, &cached) > PREFAULT_THRESHOLD {
                true => {
                    blocking(move || {
                        prefault_uncached(&results, &regions, &cached);
                        (results, regions)
                    })
                    .await?
                }
                false => (results, regions),
            }
        } else {
            (results, regions)
        };
        let results = if version < 4 {
            let w = wanted.clone();
            blocking(move || down_convert_all(&w, results, version)).await?
        } else {
            for (i, r) in regions.iter().enumerate() {
                if off_workers && !cached.get(i).copied().unwrap_or(false) {
                    offer_cold_file_region(r);
                } else {
                    offer_file_region(r);
                }
            }
            results
        };

        let (responses, session_id) = match &context {
            FetchContext::Incremental(session) => {
                match incremental_response(session, epoch, &topics, &wanted, slots, results) {
                    Some(responses) => {
                        unanswered.session = None;
                        (responses, session.id)
                    }
                    None => {
                        let resp = FetchResponse::default()
                            .with_error_code(ResponseError::InvalidFetchSessionEpoch.code())
                            .with_session_id(session.id);
                        return Ok(Some(resp));
                    }
                }
            }
            FetchContext::Full => {
                let id = create_session(&state.fetch_sessions, &req.topics, version, &results);
                (full_response(topics, &wanted, results), id)
            }
            _ => (full_response(topics, &wanted, results), 0),
        };
        let resp = FetchResponse::default()
            .with_error_code(0)
            .with_session_id(session_id)
            .with_responses(responses);
        Ok(Some(resp))
    }
}

/// Fetch v0-3: each partition's batches as a message set of magic 0 (v0-1) or
/// 1 (v2-3), from the fetch offset, at most about the partition's `max_bytes`
/// (as Kafka's down-conversion: zstd data is UNSUPPORTED_COMPRESSION_TYPE).
fn down_convert_all(
    wanted: &[Wanted],
    mut results: Vec<PartitionData>,
    version: i16,
) -> Vec<PartitionData> {
    use weir_storage::legacy::{down_convert, LegacyError};
    let magic = if version <= 1 { 0 } else { 1 };
    for (w, data) in wanted.iter().zip(results.iter_mut()) {
        let Some(records) = data.records.as_ref().filter(|r| !r.is_empty()) else {
            continue;
        };
        let mut out = Vec::with_capacity(records.len() + records.len() / 2);
        let limit = w.max_bytes.max(1);
        match down_convert(records, magic, w.fetch_offset, limit, &mut out) {
            Ok(()) => data.records = Some(out.into()),
            Err(e) => {
                let code = match e {
                    LegacyError::UnsupportedCodec(_) => ResponseError::UnsupportedCompressionType,
                    _ => ResponseError::CorruptMessage,
                };
                tracing::warn!(
                    partition = w.partition,
                    "fetch v{version} down-conversion: {e}"
                );
                data.error_code = code.code();
                data.records = Some(Bytes::new());
            }
        }
    }
    results
}

/// Resolve topics (by name, or by id from v13) into response skeletons and partition targets.
fn resolve(
    state: &BrokerState,
    topics: &[FetchTopic],
    version: i16,
    allowed: impl Fn(&str) -> bool,
) -> (Vec<FetchableTopicResponse>, Vec<Wanted>) {
    let mut skeletons = Vec::with_capacity(topics.len());
    let mut wanted = Vec::new();
    for (ti, t) in topics.iter().enumerate() {
        let (topic, unknown) = if version >= 13 {
            (
                state.partitions.topic_by_id(t.topic_id),
                ResponseError::UnknownTopicId,
            )
        } else {
            (
                state.partitions.topic(t.topic.0.as_str()),
                ResponseError::UnknownTopicOrPartition,
            )
        };
        let mut skel = FetchableTopicResponse::default();
        if version >= 13 {
            skel.topic_id = t.topic_id;
        } else {
            skel.topic = t.topic.clone();
        }
        skeletons.push(skel);
        // READ on the topic (an unknown topic id is UNKNOWN_TOPIC_ID).
        let authorized = match &topic {
            Some(topic) => allowed(&topic.name),
            None => version >= 13 || allowed(&t.topic.0),
        };
        for p in &t.partitions {
            let target = target(
                &topic,
                authorized,
                unknown,
                p.partition,
                p.current_leader_epoch,
            );
            wanted.push(Wanted {
                topic_index: ti,
                partition: p.partition,
                fetch_offset: p.fetch_offset,
                max_bytes: p.partition_max_bytes.max(0) as usize,
                target,
            });
        }
    }
    (skeletons, wanted)
}

/// A requested partition of `topic` (looked up by id or name), or why it cannot be read.
fn target(
    topic: &Option<Arc<Topic>>,
    authorized: bool,
    unknown: ResponseError,
    partition: i32,
    current_leader_epoch: i32,
) -> Result<Arc<Partition>, ResponseError> {
    match topic {
        _ if !authorized => Err(ResponseError::TopicAuthorizationFailed),
        None => Err(unknown),
        Some(topic) => match topic.partition(partition) {
            None => Err(ResponseError::UnknownTopicOrPartition),
            Some(_) if current_leader_epoch > 0 => Err(ResponseError::UnknownLeaderEpoch),
            Some(part) => Ok(part),
        },
    }
}

/// Resolve what an incremental fetch looks at of its session, in session
/// order, as [`resolve`] does a request's (topics looked up and authorized once
/// per run of partitions of one topic, every fetch: a topic deleted or created
/// since shows): the partitions with news since the last fetch (their
/// [`crate::partitions::news`] marks), those pending (added or changed by a
/// request, not settled after their last answer) and those in `slots` (what a
/// waiting fetch looked at before); every partition with `walk_all` (ACLs) or
/// in the session's first incremental fetch. The others are not stepped
/// over at all. Each looked-at partition watches the partition it resolves to
/// from then on; one still idle ([`crate::fetch_sessions::CachedPartition::is_idle`])
/// is not read. `slots` gets each partition to read's place in the session.
fn resolve_session(
    state: &BrokerState,
    session: &Session,
    version: i16,
    allowed: impl Fn(&str) -> bool,
    walk_all: bool,
    look: &mut Vec<u32>,
    slots: &mut Vec<u32>,
) -> (Vec<FetchableTopicResponse>, Vec<Wanted>) {
    let mut guard = session.state.lock();
    let st = &mut *guard;
    let carry = std::mem::take(slots);
    st.to_look(walk_all, &carry, look);
    state.fetch_sessions.note_looked(look.len());
    let unknown = match version >= 13 {
        true => ResponseError::UnknownTopicId,
        false => ResponseError::UnknownTopicOrPartition,
    };
    let mut skeletons: Vec<FetchableTopicResponse> = Vec::new();
    let mut wanted = Vec::new();
    let mut run: Option<(TopicKey, Option<Arc<Topic>>, bool)> = None;
    for &slot in look.iter() {
        let Some(cp) = st.partitions.get(slot) else {
            continue;
        };
        if run.as_ref().is_none_or(|(key, _, _)| *key != cp.topic) {
            let mut skel = FetchableTopicResponse::default();
            let (topic, authorized) = match &cp.topic {
                TopicKey::Id(id) => {
                    skel.topic_id = *id;
                    let topic = state.partitions.topic_by_id(*id);
                    let authorized = topic.as_ref().is_none_or(|t| allowed(&t.name));
                    (topic, authorized)
                }
                TopicKey::Name(name) => {
                    skel.topic = name.clone();
                    (state.partitions.topic(name.0.as_str()), allowed(&name.0))
                }
            };
            skeletons.push(skel);
            run = Some((cp.topic.clone(), topic, authorized));
        }
        let (_, topic, authorized) = run.as_ref().expect("set above");
        let target = target(
            topic,
            *authorized,
            unknown,
            cp.partition,
            cp.current_leader_epoch,
        );
        let (partition, fetch_offset, max_bytes) = (cp.partition, cp.fetch_offset, cp.max_bytes);
        match &target {
            Ok(p) => {
                // Watch before reading its offsets: a move after the read marks it.
                st.partitions.watch(slot, p, &mut st.news, st.closed);
                if topic.as_ref().is_some_and(|t| t.internal) {
                    // The coordinators append to their logs directly, telling
                    // no session: looked at in every fetch.
                    st.partitions.pend(slot);
                }
                let (hw, start) = (p.high_watermark(), p.log_start_offset());
                if st
                    .partitions
                    .get(slot)
                    .is_some_and(|cp| cp.is_idle(hw, start))
                {
                    continue;
                }
            }
            Err(_) => st.partitions.unwatch(slot),
        }
        wanted.push(Wanted {
            topic_index: skeletons.len() - 1,
            partition,
            fetch_offset,
            max_bytes: max_bytes.max(0) as usize,
            target,
        });
        slots.push(slot);
    }
    (skeletons, wanted)
}

/// An incremental fetch's partitions read but not answered (throttled, a
/// failed read, the fetch dropped): looked at again in the next fetch.
struct Unanswered {
    /// None once answered (or not an incremental fetch).
    session: Option<Arc<Session>>,
    slots: Vec<u32>,
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some(session) = &self.session {
            session.repend(&self.slots);
        }
    }
}

/// INVALID_FETCH_SESSION_EPOCH if another fetch moved the session on since
/// this one's started (Kafka checks again before answering), else 0.
fn session_epoch_error(session: &Session, request_epoch: i32) -> i16 {
    match session.state.lock().epoch == next_epoch(request_epoch) {
        true => 0,
        false => ResponseError::InvalidFetchSessionEpoch.code(),
    }
}

/// Every requested partition, under its request topic.
fn full_response(
    mut topics: Vec<FetchableTopicResponse>,
    wanted: &[Wanted],
    results: Vec<PartitionData>,
) -> Vec<FetchableTopicResponse> {
    for (w, data) in wanted.iter().zip(results) {
        topics[w.topic_index].partitions.push(data);
    }
    topics
}

/// Cache a full fetch's partitions as a new session (with what this response
/// tells the client of each): its id, or 0 when the cache has no room.
fn create_session(
    sessions: &FetchSessions,
    topics: &[FetchTopic],
    version: i16,
    results: &[PartitionData],
) -> i32 {
    let uses_ids = version >= 13;
    let mut results = results.iter();
    let mut cached = Vec::with_capacity(results.len());
    for t in topics {
        let key = topic_key(uses_ids, t.topic_id, &t.topic).to_owned_key();
        for p in &t.partitions {
            let Some(data) = results.next() else { break };
            cached.push(FetchSessions::cached(
                key.clone(),
                p,
                data.high_watermark,
                data.log_start_offset,
                data.error_code,
            ));
        }
    }
    sessions.maybe_create(uses_ids, cached)
}

/// An incremental fetch's answer: the session's partitions that must respond
/// (Kafka's `maybeUpdateResponseData`), recorded in the session as sent; a
/// partition that returned records moves to the back of the session, so the
/// others come first in the next fetch's byte budget. Consecutive partitions
/// of one topic share a topic entry, as in Kafka's `FetchResponse.of`. None
/// when another fetch moved the session's epoch on meanwhile (Kafka checks
/// again before answering: INVALID_FETCH_SESSION_EPOCH).
fn incremental_response(
    session: &Session,
    request_epoch: i32,
    topics: &[FetchableTopicResponse],
    wanted: &[Wanted],
    slots: &[u32],
    results: Vec<PartitionData>,
) -> Option<Vec<FetchableTopicResponse>> {
    let mut st = session.state.lock();
    if st.epoch != next_epoch(request_epoch) {
        return None;
    }
    let mut responses: Vec<FetchableTopicResponse> = Vec::new();
    for ((w, data), &slot) in wanted.iter().zip(results).zip(slots) {
        let records = data.records.as_ref().map_or(0, Bytes::len);
        let respond = st.partitions.get_mut(slot).is_some_and(|cp| {
            cp.must_respond(
                records,
                data.high_watermark,
                data.log_start_offset,
                data.error_code,
                true,
            )
        });
        if st.partitions.get(slot).is_some_and(|cp| !cp.settled()) {
            // Cut short, behind or in error: looked at again next time.
            st.partitions.pend(slot);
        }
        if !respond {
            continue;
        }
        if records > 0 {
            st.partitions.move_to_back(slot);
        }
        let skel = &topics[w.topic_index];
        match responses.last_mut() {
            Some(r) if r.topic == skel.topic && r.topic_id == skel.topic_id => {
                r.partitions.push(data)
            }
            _ => {
                let mut r = skel.clone();
                r.partitions.push(data);
                responses.push(r);
            }
        }
    }
    Some(responses)
}

/// How many of an incremental fetch's partitions its answer will carry (the
/// session is not changed: the answer may yet be throttled).
fn responding(session: &Session, results: &[PartitionData], slots: &[u32]) -> usize {
    let mut st = session.state.lock();
    results
        .iter()
        .zip(slots)
        .filter(|(data, &slot)| {
            let records = data.records.as_ref().map_or(0, Bytes::len);
            st.partitions.get_mut(slot).is_some_and(|cp| {
                cp.must_respond(
                    records,
                    data.high_watermark,
                    data.log_start_offset,
                    data.error_code,
                    false,
                )
            })
        })
        .count()
}

/// Read every wanted partition within the byte budgets. Kafka's rule: the first
/// partition with data returns at least one whole batch even past the limits;
/// later ones only what fits. `read_committed` reads only below the last stable
/// offset and lists the aborted transactions overlapping what is returned
/// (the consumer drops their records); otherwise `aborted_transactions` is null.
/// Also returns the bytes available towards `min_bytes`, counted as Kafka's
/// `DelayedFetch` does (per partition, what is there up to its max bytes): a
/// partition whose read was cut by its limit with more data behind counts its
/// whole max bytes, and a response the overall budget has filled counts as
/// enough (waiting cannot make it bigger); and the file regions behind the
/// record blocks large enough to be sent with `sendfile` (usually none, and
/// then no allocation); and per partition the offsets the answer moves its
/// reader past (next offset - fetch offset: the records delivered, for the
/// traffic counters).
fn read_all(wanted: &[Wanted], max_bytes: usize, read_committed: bool) -> ReadAll {
    let read = |p: &Partition, offset, max, bound| p.fetch(offset, max, bound).map(Some);
    read_all_with(wanted, max_bytes, read_committed, read).expect("every read reads")
}

/// [`read_all`] (not read_committed) without waiting on the disk, on an async
/// worker: None, having touched nothing that was not in memory, unless every
/// partition's read is a backlog in memory ([`Partition::fetch_in_memory`]).
/// A catch-up that finds its data there takes no hop to the cold pool; its
/// regions are all in the page cache.
fn read_all_in_memory(wanted: &[Wanted], max_bytes: usize) -> Option<ReadAll> {
    let read = |p: &Partition, offset, max, bound| p.fetch_in_memory(offset, max, bound);
    read_all_with(wanted, max_bytes, false, read)
}

/// What [`read_all`] returns.
type ReadAll = (Vec<PartitionData>, usize, bool, Vec<FileRegion>, Vec<u64>);

/// [`read_all`] with `read` for each partition's read: None as soon as one
/// of them is None.
fn read_all_with(
    wanted: &[Wanted],
    max_bytes: usize,
    read_committed: bool,
    read: impl Fn(
        &Partition,
        i64,
        usize,
        Option<i64>,
    ) -> Result<Option<weir_storage::ReadResult>, weir_storage::StorageError>,
) -> Option<ReadAll> {
    let mut budget = max_bytes;
    let mut total = 0usize;
    let mut available = 0usize;
    let mut any_error = false;
    let mut out = Vec::with_capacity(wanted.len());
    let mut regions = Vec::new();
    let mut delivered = Vec::with_capacity(wanted.len());
    for w in wanted {
        let mut moved = 0;
        let mut data = PartitionData::default()
            .with_partition_index(w.partition)
            .with_aborted_transactions(read_committed.then(Vec::new));
        match &w.target {
            Err(e) => {
                // Kafka's FetchResponse.partitionResponse(partition, error): the schema's
                // defaults, so an empty (not null) aborted-transactions list
                any_error = true;
                data = data
                    .with_error_code(e.code())
                    .with_high_watermark(-1)
                    .with_aborted_transactions(Some(Vec::new()))
                    .with_records(Some(Bytes::new()));
            }
            Ok(p) => {
                let hw = p.high_watermark();
                let lso = p.last_stable_offset();
                let bound = if read_committed { lso } else { hw };
                data = data
                    .with_high_watermark(hw)
                    .with_last_stable_offset(lso)
                    .with_log_start_offset(p.log_start_offset());
                let limit = w.max_bytes.min(budget);
                if limit == 0 && total > 0 {
                    available = usize::MAX; // the response is full
                    data = data.with_records(Some(Bytes::new()));
                } else {
                    match read(p, w.fetch_offset, limit.max(1), Some(bound)).transpose()? {
                        Ok(r) => {
                            let len = r.records.len();
                            let records = if total > 0 && len > limit {
                                available = usize::MAX; // the response is full
                                Bytes::new()
                            } else {
                                let more = len > 0 && r.next_offset < bound;
                                available = match more {
                                    false => available.saturating_add(len),
                                    true if limit < w.max_bytes => usize::MAX,
                                    true => available.saturating_add(w.max_bytes.max(len)),
                                };
                                if len >= SENDFILE_MIN {
                                    regions.extend(r.region);
                                }
                                r.records
                            };
                            if read_committed {
                                data.aborted_transactions =
                                    Some(aborted_transactions(p, w.fetch_offset, &records));
                            }
                            if !records.is_empty() {
                                moved = (r.next_offset - w.fetch_offset).max(0) as u64;
                            }
                            total += records.len();
                            budget = budget.saturating_sub(records.len());
                            data = data
                                .with_log_start_offset(r.log_start_offset)
                                .with_records(Some(records));
                        }
                        Err(e) => {
                            // Kafka's failed local read (e.g. OFFSET_OUT_OF_RANGE) reports
                            // no offsets: high watermark, LSO and log start all -1
                            any_error = true;
                            data = data
                                .with_error_code(storage_error_code(&e).code())
                                .with_high_watermark(-1)
                                .with_last_stable_offset(-1)
                                .with_log_start_offset(-1)
                                .with_records(Some(Bytes::new()));
                        }
                    }
                }
            }
        }
        out.push(data);
        delivered.push(moved);
    }
    Some((out, available, any_error, regions, delivered))
}

/// The aborted transactions overlapping the returned batches `[fetch_offset, end
/// of the last batch)`: none when nothing is returned.
fn aborted_transactions(
    p: &Partition,
    fetch_offset: i64,
    records: &Bytes,
) -> Vec<AbortedTransaction> {
    let Some(last) = iter_batches_lenient(records).last() else {
        return Vec::new();
    };
    p.aborted_transactions(fetch_offset, last.last_offset() + 1)
        .into_iter()
        .map(|(pid, first)| {
            AbortedTransaction::default()
                .with_producer_id(ProducerId(pid))
                .with_first_offset(first)
        })
        .collect()
}

/// Whether any partition is far enough behind its log end that its data may be
/// cold, or must first be opened (recovered) and loaded.
fn catching_up(wanted: &[Wanted]) -> bool {
    wanted.iter().any(|w| {
        w.target.as_ref().is_ok_and(|p| {
            p.needs_load() || p.high_watermark() - w.fetch_offset >= CATCH_UP_RECORDS
        })
    })
}

/// Which of a catching-up read's file regions are sent by the connection's
/// worker, as a tailing read's are: those wholly in the page cache that no
/// catching-up read of their segment asked the disk to read ahead (a backlog
/// written moments ago: sending it waits on no disk), no larger than
/// [`CACHED_REGION_MAX`]. The others are cold: sent from the cold pool. A
/// fetch far behind the log end is not necessarily cold: a consumer reading a
/// backlog produced a second ago reads from memory, and sending its response
/// from the pool costs two thread hand-offs per region and more per
/// socket-full round. But a cold catch-up's next fetches find their data
/// resident too, put there by the pool's readahead
/// ([`FileRegion::was_read_ahead`]): they stay on the pool, or the workers
/// would spend a millisecond per megabyte in `sendfile` that the tail waits
/// out (measured: the tail's p99 during a cold catch-up 5.9 -> 8.6 ms when
/// residency alone decided). And the kernel's own readahead for a sequential
/// reader (`read_ahead_kb`, 8 MiB here) keeps a catch-up's next megabytes
/// resident whoever sends them: only data this process appended
/// ([`FileRegion::written_since_open`]) is taken for a backlog in memory; a
/// log that was on the disk when the broker started is read from the pool.
fn cached_regions(regions: &[FileRegion]) -> Vec<bool> {
    regions
        .iter()
        .map(|r| {
            r.len() <= CACHED_REGION_MAX
                && r.written_since_open()
                && !r.was_read_ahead()
                && r.is_resident()
        })
        .collect()
}

/// [`prefault`] every record block of `results` except those whose file
/// regions are in the page cache (`cached`, for `regions` in the order of
/// `results`): the writer
/// sends those with `sendfile` from the page cache, or on TLS copies them
/// without waiting on the disk, so touching their pages here would only map
/// them into the broker.
fn prefault_uncached(results: &[PartitionData], regions: &[FileRegion], cached: &[bool]) {
    let mut skip = cached_blocks(regions, cached);
    for rec in results.iter().filter_map(|r| r.records.as_ref()) {
        if skip.peek().is_some_and(|r| r.is_same(rec)) {
            skip.next();
            continue;
        }
        prefault(rec);
    }
}

/// The bytes of `results`' record blocks that [`prefault_uncached`] touches.
fn uncached_bytes(results: &[PartitionData], regions: &[FileRegion], cached: &[bool]) -> usize {
    let mut skip = cached_blocks(regions, cached);
    results
        .iter()
        .filter_map(|r| r.records.as_ref())
        .filter(|rec| match skip.peek().is_some_and(|r| r.is_same(rec)) {
            true => {
                skip.next();
                false
            }
            false => true,
        })
        .map(Bytes::len)
        .sum()
}

/// The regions that are in the page cache (`cached`), in order.
fn cached_blocks<'a>(
    regions: &'a [FileRegion],
    cached: &'a [bool],
) -> std::iter::Peekable<impl Iterator<Item = &'a FileRegion>> {
    regions
        .iter()
        .zip(cached)
        .filter(|(_, c)| **c)
        .map(|(r, _)| r)
        .peekable()
}

/// Touch one byte per page so page faults on cold mmap'd data happen here, on
/// the blocking pool, not in the connection task that writes the response.
fn prefault(b: &Bytes) {
    let mut acc = 0u8;
    for i in (0..b.len()).step_by(4096) {
        acc ^= b[i];
    }
    std::hint::black_box(acc);
}
