//! ShareFetch (key 78), v1-v2: KIP-932's fetch for share groups. In one request a
//! member acknowledges records it was given and acquires new ones, within its
//! share session ([`crate::share::session`]: epoch 0 opens, -1 closes and
//! releases what the member holds).
//!
//! Records are acquired per share-partition ([`crate::share::partition`]):
//! the handler reads the log from the share-partition's next fetch offset (the
//! first available in-flight record, else the end of the in-flight window),
//! hands the batches' offsets to the coordinator, and answers with the batches
//! (zero-copy slices of what storage returned) and the acquired ranges; the
//! client delivers only records in those ranges. Control batches (and, under
//! `read_committed`, batches of aborted transactions) are archived, never
//! delivered.
//!
//! v2 (KIP-1206, KIP-1222) adds the acquire mode (`max_records` a soft limit
//! aligned to whole batches, as v1 is served, or a hard record limit) and
//! `IsRenewAck`: such a request only acknowledges (RENEW extends the locks of
//! the records named), acquires nothing, and must carry zero `max_bytes`,
//! `min_bytes`, `max_records` and `max_wait_ms` (else INVALID_REQUEST, before
//! the session is touched). A RENEW without `IsRenewAck` (or at v1) is an
//! INVALID_REQUEST acknowledgement error; with it, while the group's
//! `share.renew.acknowledge.enable` is false, INVALID_RECORD_STATE. All as Kafka
//! 4.4 answers.
//!
//! With nothing to acquire, the request waits as Fetch does: on the
//! partitions' append wake-ups, on records made available again (releases,
//! members leaving), and until the next acquisition lock expires, never past
//! `max_wait_ms`. The share state changed by the request is persisted before
//! the answer goes out.

use super::{sb, storage_error_code};
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::partitions::Partition;
use crate::share::partition::{AckError, AckType, AcquireMode, Acquired, LogBatch};
use crate::share::session::{SessionError, FINAL_EPOCH, INITIAL_EPOCH};
use crate::share::SpKey;
use crate::state::BrokerState;
use bytes::Bytes;
use kafka_protocol::messages::share_fetch_response::{
    AcquiredRecords, LeaderIdAndEpoch, PartitionData, ShareFetchableTopicResponse,
};
use kafka_protocol::messages::{ApiKey, ShareFetchRequest, ShareFetchResponse};
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use uuid::Uuid;
use weir_storage::batch::iter_batches_lenient;

/// The ShareFetch handler.
pub struct Api;

/// `max_records` when the request gives none (the consumer's `max.poll.records` default).
const DEFAULT_MAX_RECORDS: usize = 500;

/// A share-partition named by a request, resolved.
pub(super) struct Target {
    pub topic_id: Uuid,
    pub partition: i32,
    pub target: Result<Arc<Partition>, ResponseError>,
}

/// Resolve a topic id and partition, with READ on the topic.
pub(super) fn resolve(
    state: &BrokerState,
    ctx: &RequestContext,
    topic_id: Uuid,
    partition: i32,
) -> Target {
    let target = match state.partitions.topic_by_id(topic_id) {
        None => Err(ResponseError::UnknownTopicId),
        Some(t)
            if !state
                .pipeline
                .allows_topic(ctx, AclOperation::Read, &t.name) =>
        {
            Err(ResponseError::TopicAuthorizationFailed)
        }
        Some(t) => t
            .partition(partition)
            .ok_or(ResponseError::UnknownTopicOrPartition),
    };
    Target {
        topic_id,
        partition,
        target,
    }
}

/// The error code of an acknowledgement refusal.
/// The request-level checks both share requests make before anything else: a
/// group id and a member id (INVALID_REQUEST without), and READ on the group
/// (GROUP_AUTHORIZATION_FAILED).
pub(super) fn caller<'a>(
    state: &BrokerState,
    ctx: &RequestContext,
    group_id: &'a Option<kafka_protocol::messages::GroupId>,
    member_id: &'a Option<kafka_protocol::protocol::StrBytes>,
) -> Result<(&'a str, &'a str), ResponseError> {
    let (Some(group), Some(member)) = (
        group_id.as_ref().filter(|g| !g.is_empty()),
        member_id.as_ref().filter(|m| !m.is_empty()),
    ) else {
        return Err(ResponseError::InvalidRequest);
    };
    if !state.pipeline.allows_group(ctx, AclOperation::Read, group) {
        return Err(ResponseError::GroupAuthorizationFailed);
    }
    Ok((group.as_str(), member.as_str()))
}

pub(super) fn ack_error_code(e: AckError) -> ResponseError {
    match e {
        AckError::InvalidRecordState | AckError::RenewDisabled => ResponseError::InvalidRecordState,
        AckError::InvalidRequest => ResponseError::InvalidRequest,
    }
}

/// Apply one partition's acknowledgement batches (first, last, types) for
/// `member`: the error code and message to answer. `renew_ack` is a v2
/// request's `IsRenewAck`: without it a RENEW is an INVALID_REQUEST (Kafka
/// 4.4), with it RENEW obeys the group's `share.renew.acknowledge.enable`.
pub(super) fn acknowledge_partition(
    state: &BrokerState,
    key: &SpKey,
    member: &str,
    batches: &[(i64, i64, Vec<i8>)],
    renew_ack: bool,
) -> (i16, Option<&'static str>) {
    let renew = AckType::Renew as i8;
    if !renew_ack && batches.iter().any(|(_, _, t)| t.contains(&renew)) {
        return (ResponseError::InvalidRequest.code(), None);
    }
    match state.share.acknowledge(key, member, batches) {
        Ok(()) => (0, None),
        Err(AckError::RenewDisabled) => (
            ResponseError::InvalidRecordState.code(),
            Some("Renewing acquisition locks is not enabled for the group."),
        ),
        Err(e) => (ack_error_code(e).code(), None),
    }
}

/// The error code of a session refusal.
pub(super) fn session_error_code(e: SessionError) -> ResponseError {
    match e {
        SessionError::NotFound => ResponseError::ShareSessionNotFound,
        SessionError::InvalidEpoch => ResponseError::InvalidShareSessionEpoch,
    }
}

/// The share-partition key of a group's topic partition.
pub(super) fn key(group: &str, topic_id: Uuid, partition: i32) -> SpKey {
    (group.to_string(), topic_id.as_u128(), partition)
}

/// Which batches of `records` are never delivered: control batches, and with
/// `aborted` (producer id, first offset of an aborted transaction, sorted by
/// first offset) the data batches of aborted transactions, as the Java
/// consumer decides it (a producer's aborted transaction runs from its first
/// offset to that producer's next control batch). Stops after the batch that
/// brings the deliverable records to `want` (no more can be acquired from a
/// read), so a large read costs no walk past what a fetch can take.
pub fn log_batches(records: &Bytes, aborted: &[(i64, i64)], want: usize) -> Vec<LogBatch> {
    let mut next_aborted = aborted.iter().peekable();
    let mut in_aborted: Vec<i64> = Vec::new();
    let mut deliverable = 0usize;
    iter_batches_lenient(records)
        .map_while(|b| {
            if deliverable >= want {
                return None;
            }
            while let Some((pid, first)) = next_aborted.peek() {
                if *first <= b.last_offset() {
                    in_aborted.push(*pid);
                    next_aborted.next();
                } else {
                    break;
                }
            }
            let pid = b.producer_id();
            let skip = if b.is_control() {
                in_aborted.retain(|p| *p != pid);
                true
            } else {
                b.is_transactional() && in_aborted.contains(&pid)
            };
            if !skip {
                deliverable += (b.last_offset() - b.base_offset() + 1).max(0) as usize;
            }
            Some(LogBatch {
                base_offset: b.base_offset(),
                last_offset: b.last_offset(),
                skip,
            })
        })
        .collect()
}

/// The part of `records` whose batches hold acquired offsets (a zero-copy slice).
fn trim(records: &Bytes, acquired: &[Acquired]) -> Bytes {
    let (Some(first), Some(last)) = (acquired.first(), acquired.last()) else {
        return Bytes::new();
    };
    let (lo, hi) = (first.first_offset, last.last_offset);
    let mut pos = 0usize;
    let mut start = None;
    let mut end = 0usize;
    for b in iter_batches_lenient(records) {
        let len = b.total_len();
        if b.last_offset() >= lo && b.base_offset() <= hi {
            start.get_or_insert(pos);
            end = pos + len;
        }
        pos += len;
    }
    match start {
        Some(s) => records.slice(s..end),
        None => Bytes::new(),
    }
}

/// What one share-partition gave in a pass: its batches and acquired ranges, or an error.
type PassResult = Result<(Bytes, Vec<Acquired>), ResponseError>;

/// What bounds an acquisition pass: the request's record and byte limits,
/// its acquire mode, and the group's isolation level.
#[derive(Clone, Copy)]
struct PassLimits {
    max_records: usize,
    max_bytes: usize,
    mode: AcquireMode,
    read_committed: bool,
}

/// One pass over the session's share-partitions: acquire what can be acquired,
/// within `max_records` and `max_bytes`; then persist what changed.
fn acquire_pass(
    state: &BrokerState,
    group: &str,
    member: &Arc<str>,
    targets: &[(Target, usize)],
    limits: PassLimits,
) -> Vec<(usize, PassResult)> {
    let PassLimits {
        max_records,
        max_bytes,
        mode,
        read_committed,
    } = limits;
    let share = &state.share;
    let mut out = Vec::new();
    let mut remaining = max_records;
    let mut budget = max_bytes;
    for (i, (t, part_max)) in targets.iter().enumerate() {
        if remaining == 0 || budget == 0 {
            break;
        }
        let Ok(p) = &t.target else { continue };
        let k = key(group, t.topic_id, t.partition);
        let bound = if read_committed {
            p.last_stable_offset()
        } else {
            p.high_watermark()
        };
        let init = |reset| crate::share::wiring::initial_offset(p, reset);
        let Some(offset) = share.next_fetch_offset_with(&k, init, p.log_start_offset()) else {
            continue;
        };
        if offset >= bound {
            continue;
        }
        // Read and acquire until `max_records` are taken, the response budget or
        // this partition's share of the bytes is used up, or the bound is reached:
        // a read ends at a segment end (weir rolls a segment at an abort marker),
        // so one read alone would stop a fetch at such a boundary.
        let mut parts: Vec<(Bytes, Vec<Acquired>)> = Vec::new();
        let mut read = 0usize;
        let mut from = offset;
        let mut failed = None;
        while remaining > 0 && budget > 0 && read < *part_max && from < bound {
            let limit = (*part_max - read).min(budget).max(1);
            let r = match p.fetch(from, limit, Some(bound)) {
                Ok(r) => r,
                Err(e) => {
                    failed = Some(storage_error_code(&e));
                    break;
                }
            };
            if r.records.is_empty() || r.next_offset <= from {
                break;
            }
            read += r.records.len();
            let aborted = if read_committed {
                let mut a = p.aborted_transactions(from, bound);
                a.sort_by_key(|(_, first)| *first);
                a
            } else {
                Vec::new()
            };
            let batches = log_batches(&r.records, &aborted, remaining);
            let acquired = share.acquire(&k, member, remaining, mode, &batches);
            // Past the batches walked (all of the read unless enough were seen).
            from = batches
                .last()
                .map_or(r.next_offset, |b| b.last_offset + 1)
                .max(from + 1);
            if acquired.is_empty() {
                continue;
            }
            let n: i64 = acquired
                .iter()
                .map(|a| a.last_offset - a.first_offset + 1)
                .sum();
            remaining = remaining.saturating_sub(n as usize);
            let records = trim(&r.records, &acquired);
            budget = budget.saturating_sub(records.len());
            parts.push((records, acquired));
        }
        match (failed, parts.len()) {
            (Some(e), 0) => out.push((i, Err(e))),
            (_, 0) => {}
            // One read (the usual case): its zero-copy slice.
            (_, 1) => out.push((i, Ok(parts.pop().expect("one part")))),
            // Across segments: one record set for the partition.
            _ => {
                let len = parts.iter().map(|(b, _)| b.len()).sum();
                let mut records = bytes::BytesMut::with_capacity(len);
                let mut acquired = Vec::new();
                for (b, a) in parts {
                    records.extend_from_slice(&b);
                    acquired.extend(a);
                }
                out.push((i, Ok((records.freeze(), acquired))));
            }
        }
    }
    if let Err(e) = share.persist() {
        tracing::error!("share-group state not persisted: {e}");
    }
    out
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ShareFetch;
    const VERSIONS: (i16, i16) = (1, 2);
    type Request = ShareFetchRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ShareFetchRequest,
    ) -> HandlerResult<ShareFetchResponse> {
        let top = |e: ResponseError, msg: Option<&str>| {
            Ok(Some(
                ShareFetchResponse::default()
                    .with_error_code(e.code())
                    .with_error_message(msg.map(sb)),
            ))
        };
        let (group, member) = match caller(&state, &ctx, &req.group_id, &req.member_id) {
            Ok(c) => c,
            Err(e) => return top(e, None),
        };
        // v2: IsRenewAck requests only acknowledge; the acquire mode.
        let renew_ack = ctx.api_version >= 2 && req.is_renew_ack;
        if renew_ack
            && (req.max_bytes != 0
                || req.min_bytes != 0
                || req.max_records != 0
                || req.max_wait_ms != 0)
        {
            return top(ResponseError::InvalidRequest, None);
        }
        let Some(mode) = AcquireMode::from_i8(req.share_acquire_mode) else {
            // Kafka 4.4 fails the request on an unknown mode (UNKNOWN_SERVER_ERROR).
            return top(ResponseError::UnknownServerError, None);
        };
        let group = group.to_string();
        let member: Arc<str> = Arc::from(member);
        let epoch = req.share_session_epoch;
        let has_acks = req.topics.iter().any(|t| {
            t.partitions
                .iter()
                .any(|p| !p.acknowledgement_batches.is_empty())
        });
        if epoch == INITIAL_EPOCH && has_acks {
            return top(
                ResponseError::InvalidRequest,
                Some("Acknowledge data present in Initial Fetch Request"),
            );
        }
        let share = &state.share;

        // The session: add the request's partitions, drop the forgotten ones.
        let mut add: Vec<(u128, i32)> = Vec::new();
        for t in &req.topics {
            for p in &t.partitions {
                add.push((t.topic_id.as_u128(), p.partition_index));
            }
        }
        let forget: Vec<(u128, i32)> = req
            .forgotten_topics_data
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic_id.as_u128(), *p)))
            .collect();
        let session = match share.enter_session(&group, &member, epoch, &add, &forget) {
            Ok(s) => s,
            Err(e) => return top(session_error_code(e), None),
        };

        // Acknowledgements first.
        let mut answers: BTreeMap<(Uuid, i32), PartitionData> = BTreeMap::new();
        let leader = LeaderIdAndEpoch::default()
            .with_leader_id(state.node_id)
            .with_leader_epoch(0);
        let blank = |p: i32| {
            PartitionData::default()
                .with_partition_index(p)
                .with_current_leader(leader.clone())
                .with_records(Some(Bytes::new()))
        };
        for t in &req.topics {
            for p in &t.partitions {
                if p.acknowledgement_batches.is_empty() {
                    continue;
                }
                let target = resolve(&state, &ctx, t.topic_id, p.partition_index);
                let (code, msg) = match target.target {
                    Err(e) => (e.code(), None),
                    Ok(_) => {
                        let batches: Vec<(i64, i64, Vec<i8>)> = p
                            .acknowledgement_batches
                            .iter()
                            .map(|b| (b.first_offset, b.last_offset, b.acknowledge_types.clone()))
                            .collect();
                        acknowledge_partition(
                            &state,
                            &key(&group, t.topic_id, p.partition_index),
                            &member,
                            &batches,
                            renew_ack,
                        )
                    }
                };
                let mut d = blank(p.partition_index);
                d.acknowledge_error_code = code;
                d.acknowledge_error_message = msg.map(sb);
                answers.insert((t.topic_id, p.partition_index), d);
            }
        }
        if has_acks {
            share.notify_available();
        }

        if epoch == FINAL_EPOCH {
            share.close_session(&group, &member, &session);
            let st = state.clone();
            blocking(move || st.share.persist()).await?.ok();
            return Ok(Some(response(&state, answers)));
        }
        if renew_ack {
            // Acknowledgements only: nothing is acquired.
            let st = state.clone();
            blocking(move || st.share.persist()).await?.ok();
            let lock_ms = share.settings_of(&group).limits.lock_duration_ms as i32;
            return Ok(Some(
                response(&state, answers).with_acquisition_lock_timeout_ms(lock_ms),
            ));
        }

        // Acquire from every partition of the session. v1+ requests carry no
        // per-partition byte limit: as Kafka's uniform strategy, each partition
        // may read an equal share of `max_bytes` (so one fetch reads past batch,
        // control-batch and transaction boundaries up to the record limit).
        let max_bytes = if req.max_bytes > 0 {
            req.max_bytes as usize
        } else {
            usize::MAX
        };
        let per_partition = (max_bytes / session.len().max(1)).max(1);
        let targets: Vec<(Target, usize)> = session
            .iter()
            .map(|(t, p)| {
                let tgt = resolve(&state, &ctx, Uuid::from_u128(*t), *p);
                (tgt, per_partition)
            })
            .collect();
        for (t, _) in &targets {
            if let Err(e) = &t.target {
                let mut d = answers
                    .remove(&(t.topic_id, t.partition))
                    .unwrap_or_else(|| blank(t.partition));
                d.error_code = e.code();
                answers.insert((t.topic_id, t.partition), d);
            }
        }
        let keys: Vec<SpKey> = targets
            .iter()
            .map(|(t, _)| key(&group, t.topic_id, t.partition))
            .collect();
        let targets = Arc::new(targets);
        let max_records = if req.max_records > 0 {
            req.max_records as usize
        } else {
            DEFAULT_MAX_RECORDS
        };
        let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
        let waiter = Arc::new(Notify::new());
        let read_committed = share.settings_of(&group).read_committed;
        let limits = PassLimits {
            max_records,
            max_bytes,
            mode,
            read_committed,
        };
        let results = loop {
            for (t, _) in targets.iter() {
                if let Ok(p) = &t.target {
                    p.add_waiter(&waiter);
                }
            }
            let available = share.available();
            let released = available.notified();
            let (st, g, m, ts) = (
                state.clone(),
                group.clone(),
                member.clone(),
                targets.clone(),
            );
            let results = blocking(move || acquire_pass(&st, &g, &m, &ts, limits)).await?;
            let now = Instant::now();
            if !results.is_empty()
                || now >= deadline
                || req.min_bytes <= 0
                || state.is_shutting_down()
            {
                break results;
            }
            let wake = share
                .next_lock_expiry(&keys)
                .map(|at| {
                    let in_ms = at.saturating_sub(crate::share::now_ms());
                    (now + Duration::from_millis(in_ms + 1)).min(deadline)
                })
                .unwrap_or(deadline);
            tokio::select! {
                _ = waiter.notified() => {}
                _ = released => {}
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = state.shutting_down() => {}
            }
        };

        for (i, r) in results {
            let t = &targets[i].0;
            let mut d = answers
                .remove(&(t.topic_id, t.partition))
                .unwrap_or_else(|| blank(t.partition));
            match r {
                Err(e) => d.error_code = e.code(),
                Ok((records, acquired)) => {
                    d.records = Some(records);
                    d.acquired_records = acquired
                        .into_iter()
                        .map(|a| {
                            AcquiredRecords::default()
                                .with_first_offset(a.first_offset)
                                .with_last_offset(a.last_offset)
                                .with_delivery_count(a.delivery_count)
                        })
                        .collect();
                }
            }
            answers.insert((t.topic_id, t.partition), d);
        }
        let lock_ms = state.share.settings_of(&group).limits.lock_duration_ms as i32;
        Ok(Some(
            response(&state, answers).with_acquisition_lock_timeout_ms(lock_ms),
        ))
    }
}

/// The response: partitions grouped by topic, the acquisition lock duration.
fn response(
    state: &BrokerState,
    answers: BTreeMap<(Uuid, i32), PartitionData>,
) -> ShareFetchResponse {
    let mut topics: Vec<ShareFetchableTopicResponse> = Vec::new();
    for ((topic_id, _), d) in answers {
        match topics.last_mut() {
            Some(t) if t.topic_id == topic_id => t.partitions.push(d),
            _ => topics.push(
                ShareFetchableTopicResponse::default()
                    .with_topic_id(topic_id)
                    .with_partitions(vec![d]),
            ),
        }
    }
    ShareFetchResponse::default()
        .with_acquisition_lock_timeout_ms(state.share.config.limits.lock_duration_ms as i32)
        .with_responses(topics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_storage::batch::{BatchBuilder, Record};

    fn batch(base: i64, n: usize, pid: i64, txn: bool, control: bool) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.base_offset = base;
        b.producer_id = pid;
        b.transactional = txn;
        b.control = control;
        for i in 0..n {
            b.push(Record {
                offset: base + i as i64,
                timestamp: 0,
                key: None,
                value: Some(Bytes::from_static(b"v")),
                headers: vec![],
            });
        }
        b.build().unwrap()
    }

    #[test]
    fn control_and_aborted_batches_are_skipped() {
        let mut all = Vec::new();
        all.extend(batch(0, 2, -1, false, false)); // plain
        all.extend(batch(2, 2, 7, true, false)); // aborted txn of 7
        all.extend(batch(4, 1, 8, true, false)); // committed txn of 8
        all.extend(batch(5, 1, 7, true, true)); // abort marker of 7
        all.extend(batch(6, 1, 7, true, false)); // a later txn of 7, not aborted
        let records = Bytes::from(all);
        let got = log_batches(&records, &[(7, 2)], usize::MAX);
        let skip: Vec<(i64, bool)> = got.iter().map(|b| (b.base_offset, b.skip)).collect();
        assert_eq!(
            skip,
            vec![(0, false), (2, true), (4, false), (5, true), (6, false)]
        );
        // read_uncommitted: only the control batch.
        let got = log_batches(&records, &[], usize::MAX);
        assert_eq!(got.iter().filter(|b| b.skip).count(), 1);
    }

    #[test]
    fn log_batches_stop_once_enough_deliverable_records_are_seen() {
        let mut all = Vec::new();
        all.extend(batch(0, 3, -1, false, false));
        all.extend(batch(3, 1, 7, true, true)); // a marker: not deliverable
        all.extend(batch(4, 3, -1, false, false));
        all.extend(batch(7, 3, -1, false, false));
        let records = Bytes::from(all);
        let firsts = |want| -> Vec<i64> {
            log_batches(&records, &[], want)
                .iter()
                .map(|b| b.base_offset)
                .collect()
        };
        assert_eq!(firsts(3), vec![0]);
        assert_eq!(firsts(4), vec![0, 3, 4]);
        assert_eq!(firsts(6), vec![0, 3, 4]);
        assert_eq!(firsts(7), vec![0, 3, 4, 7]);
    }

    #[test]
    fn trim_keeps_only_batches_with_acquired_offsets() {
        let mut all = Vec::new();
        all.extend(batch(0, 2, -1, false, false));
        let first_len = all.len();
        all.extend(batch(2, 2, -1, false, false));
        all.extend(batch(4, 2, -1, false, false));
        let records = Bytes::from(all);
        let acq = [Acquired {
            first_offset: 2,
            last_offset: 3,
            delivery_count: 1,
        }];
        let t = trim(&records, &acq);
        assert_eq!(t.len(), first_len);
        assert_eq!(iter_batches_lenient(&t).next().unwrap().base_offset(), 2);
        assert!(trim(&records, &[]).is_empty());
    }
}
