//! OffsetFetch (key 9), v0-9 (v0, which read ZooKeeper-stored offsets in Kafka, reads
//! the same store as v1): committed offsets of a group (a list of
//! partitions, or all of them when topics is null), -1 where nothing is
//! committed; several groups in one request from v8; v9 checks a KIP-848
//! member's epoch.

use super::{sb, topic_name};
use crate::acl::AclOperation;
use crate::groups::FetchedOffset;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{ApiKey, GroupId, OffsetFetchRequest, OffsetFetchResponse};
use std::sync::Arc;

/// The OffsetFetch handler.
pub struct Api;

/// Fetched offsets grouped by topic, in order.
fn by_topic(offsets: Vec<FetchedOffset>) -> Vec<(String, Vec<FetchedOffset>)> {
    let mut out: Vec<(String, Vec<FetchedOffset>)> = Vec::new();
    for f in offsets {
        match out.last_mut() {
            Some((t, v)) if *t == f.topic => v.push(f),
            _ => out.push((f.topic.clone(), vec![f])),
        }
    }
    out
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::OffsetFetch;
    const VERSIONS: (i16, i16) = (0, 9);
    type Request = OffsetFetchRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: OffsetFetchRequest,
    ) -> HandlerResult<OffsetFetchResponse> {
        let v = ctx.api_version;
        if v >= 8 {
            let groups = req
                .groups
                .iter()
                .map(|g| {
                    let topics: Option<Vec<(String, Vec<i32>)>> = g.topics.as_ref().map(|ts| {
                        ts.iter()
                            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                            .collect()
                    });
                    let member = g.member_id.as_ref().map(|m| (m.as_str(), g.member_epoch));
                    let mut out = OffsetFetchResponseGroup::default()
                        .with_group_id(GroupId(sb(g.group_id.to_string())));
                    let all = topics.is_none();
                    match group_denied(&state, &ctx, &g.group_id).map_or_else(
                        || {
                            state
                                .groups
                                .fetch_offsets(&g.group_id, topics.as_deref(), member)
                        },
                        Err,
                    ) {
                        Err(code) => out.error_code = code,
                        Ok(offsets) => {
                            let offsets = hide_topics(&state, &ctx, offsets, all);
                            let offsets =
                                unstable(&state, &g.group_id, offsets, req.require_stable);
                            out.topics = by_topic(offsets)
                                .into_iter()
                                .map(|(t, ps)| {
                                    OffsetFetchResponseTopics::default()
                                        .with_name(topic_name(&t))
                                        .with_partitions(
                                            ps.into_iter()
                                                .map(|f| {
                                                    OffsetFetchResponsePartitions::default()
                                                        .with_partition_index(f.partition)
                                                        .with_committed_offset(f.offset)
                                                        .with_committed_leader_epoch(f.leader_epoch)
                                                        .with_metadata(f.metadata.map(sb))
                                                        .with_error_code(f.error)
                                                })
                                                .collect(),
                                        )
                                })
                                .collect();
                        }
                    }
                    out
                })
                .collect();
            return Ok(Some(OffsetFetchResponse::default().with_groups(groups)));
        }
        // v1-7: one group; v1 has no null "all topics" (v2+ does).
        let topics: Option<Vec<(String, Vec<i32>)>> = req.topics.as_ref().map(|ts| {
            ts.iter()
                .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                .collect()
        });
        let mut resp = OffsetFetchResponse::default();
        let all = topics.is_none();
        match group_denied(&state, &ctx, &req.group_id).map_or_else(
            || {
                state
                    .groups
                    .fetch_offsets(&req.group_id, topics.as_deref(), None)
            },
            Err,
        ) {
            Err(code) => {
                if v >= 2 {
                    resp.error_code = code;
                } else {
                    // v1 has no top-level error: report it on every requested partition.
                    let offsets = topics
                        .unwrap_or_default()
                        .into_iter()
                        .flat_map(|(t, ps)| {
                            ps.into_iter().map(move |p| FetchedOffset {
                                topic: t.clone(),
                                partition: p,
                                offset: -1,
                                leader_epoch: -1,
                                metadata: Some(String::new()),
                                error: code,
                            })
                        })
                        .collect();
                    resp.topics = v1_topics(offsets);
                }
            }
            Ok(offsets) => {
                let offsets = hide_topics(&state, &ctx, offsets, all);
                let stable = v >= 7 && req.require_stable;
                resp.topics = v1_topics(unstable(&state, &req.group_id, offsets, stable))
            }
        }
        Ok(Some(resp))
    }
}

/// As Kafka: DESCRIBE on the group, or GROUP_AUTHORIZATION_FAILED.
fn group_denied(state: &BrokerState, ctx: &RequestContext, group: &str) -> Option<i16> {
    (!state
        .pipeline
        .allows_group(ctx, AclOperation::Describe, group))
    .then(|| kafka_protocol::ResponseError::GroupAuthorizationFailed.code())
}

/// As Kafka: the offsets of topics the principal may not DESCRIBE are left out
/// when all topics were asked for, and TOPIC_AUTHORIZATION_FAILED when named.
fn hide_topics(
    state: &BrokerState,
    ctx: &RequestContext,
    mut offsets: Vec<FetchedOffset>,
    all: bool,
) -> Vec<FetchedOffset> {
    let mut last: Option<(String, bool)> = None;
    let mut allowed = |topic: &str| match &last {
        Some((t, ok)) if t == topic => *ok,
        _ => {
            let ok = state
                .pipeline
                .allows_topic(ctx, AclOperation::Describe, topic);
            last = Some((topic.to_string(), ok));
            ok
        }
    };
    if all {
        offsets.retain(|f| allowed(&f.topic));
    } else {
        for f in offsets.iter_mut() {
            if !allowed(&f.topic) {
                f.offset = -1;
                f.leader_epoch = -1;
                f.metadata = Some(String::new());
                f.error = kafka_protocol::ResponseError::TopicAuthorizationFailed.code();
            }
        }
    }
    offsets
}

/// With `require_stable` (v7+), a partition with offsets pending in an open
/// transaction (TxnOffsetCommit not yet committed or aborted) is
/// UNSTABLE_OFFSET_COMMIT, as Kafka answers; the client retries.
fn unstable(
    state: &BrokerState,
    group: &str,
    mut offsets: Vec<FetchedOffset>,
    require_stable: bool,
) -> Vec<FetchedOffset> {
    if require_stable {
        for f in offsets.iter_mut().filter(|f| f.error == 0) {
            if state.txn.has_pending_offset(group, &f.topic, f.partition) {
                f.offset = -1;
                f.leader_epoch = -1;
                f.metadata = Some(String::new());
                f.error = kafka_protocol::ResponseError::UnstableOffsetCommit.code();
            }
        }
    }
    offsets
}

fn v1_topics(offsets: Vec<FetchedOffset>) -> Vec<OffsetFetchResponseTopic> {
    by_topic(offsets)
        .into_iter()
        .map(|(t, ps)| {
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(&t))
                .with_partitions(
                    ps.into_iter()
                        .map(|f| {
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(f.partition)
                                .with_committed_offset(f.offset)
                                .with_committed_leader_epoch(f.leader_epoch)
                                .with_metadata(f.metadata.map(sb))
                                .with_error_code(f.error)
                        })
                        .collect(),
                )
        })
        .collect()
}
