//! Consumer groups for the console: `GET /api/groups/{id}/detail` (state,
//! protocol, members and their assignments; committed offsets and lag are in
//! the admin API's `/api/groups/{id}`), share groups (KIP-932) for both
//! ([`crate::metrics::broker::share_groups`]: a share-partition's start offset stands for the
//! committed offset, the lag is the log end offset minus it), and
//! `POST /api/groups/{id}/reset` (not for share groups):
//! reset the committed offsets of an inactive group to the earliest or latest
//! offset, the first offset at a timestamp, or a given offset (clamped into
//! the log, as `kafka-consumer-groups --reset-offsets`), with a dry run that
//! only answers the plan. The commit goes through the OffsetCommit handler as
//! an admin client's (generation -1, no member id).

use super::{call, context, ApiError, Peer};
use crate::acl::AclOperation;
use crate::http::HttpState;
use crate::partitions::OffsetSpec;
use crate::state::BrokerState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use bytes::Buf;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, ConsumerProtocolAssignment, GroupId, OffsetCommitRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct Member {
    member_id: String,
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    /// topic -> partitions.
    assignment: BTreeMap<String, Vec<i32>>,
}

#[derive(Debug, Serialize)]
pub struct Detail {
    group_id: String,
    /// `classic`, `consumer` or `share`.
    group_type: String,
    state: String,
    protocol_type: String,
    /// The classic group's assignor, or the consumer group's.
    protocol: String,
    members: Vec<Member>,
}

/// A classic member's assignment, when its group speaks the consumer protocol.
fn classic_assignment(protocol_type: &str, bytes: &[u8]) -> BTreeMap<String, Vec<i32>> {
    let mut out = BTreeMap::new();
    if protocol_type != "consumer" || bytes.len() < 2 {
        return out;
    }
    let mut buf = bytes::Bytes::copy_from_slice(bytes);
    let version = buf.get_i16();
    if let Ok(a) = ConsumerProtocolAssignment::decode(&mut buf, version.clamp(0, 3)) {
        for tp in a.assigned_partitions {
            out.entry(tp.topic.to_string())
                .or_insert_with(Vec::new)
                .extend(tp.partitions);
        }
    }
    out
}

/// A topic's name from its id (the id itself when the topic is gone).
fn topic_name(b: &BrokerState, id: u128) -> String {
    let id = uuid::Uuid::from_u128(id);
    b.partitions
        .topic_by_id(id)
        .map_or_else(|| id.to_string(), |t| t.name.clone())
}

/// A share group's detail (ShareGroupDescribe's view; Kafka's share
/// assignor is `simple`).
fn share_detail(b: &BrokerState, id: &str) -> Option<Detail> {
    let g = b.share.describe(id)?;
    Some(Detail {
        group_id: g.group_id.clone(),
        group_type: "share".into(),
        state: g.state().into(),
        protocol_type: "share".into(),
        protocol: "simple".into(),
        members: g
            .members
            .values()
            .map(|m| Member {
                member_id: m.member_id.clone(),
                instance_id: None,
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                assignment: m
                    .assignment
                    .iter()
                    .map(|(t, ps)| (topic_name(b, *t), ps.clone()))
                    .collect(),
            })
            .collect(),
    })
}

pub async fn detail(
    State(s): State<HttpState>,
    Peer(peer): Peer,
    Path(id): Path<String>,
) -> Result<Json<Detail>, ApiError> {
    let ctx = context(&s, &peer, ApiKey::DescribeGroups, 5);
    if !s
        .broker
        .pipeline
        .allows_group(&ctx, AclOperation::Describe, &id)
    {
        return Err(ApiError::kafka(30, None));
    }
    let b = &s.broker;
    let listing = b
        .groups
        .list_groups(&[], &[])
        .into_iter()
        .find(|g| g.group_id == id);
    let Some(listing) = listing else {
        return share_detail(b, &id)
            .map(Json)
            .ok_or_else(|| ApiError::kafka(69, None));
    };
    let detail = if listing.group_type == "consumer" {
        let d = b
            .groups
            .consumer_describe(&id)
            .map_err(|code| ApiError::kafka(code, None))?;
        Detail {
            group_id: id,
            group_type: listing.group_type,
            state: d.state,
            protocol_type: "consumer".into(),
            protocol: d.assignor,
            members: d
                .members
                .into_iter()
                .map(|m| Member {
                    member_id: m.member_id,
                    instance_id: m.instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    assignment: m
                        .assignment
                        .iter()
                        .map(|(topic, parts)| {
                            let name = b
                                .partitions
                                .topic_by_id(uuid::Uuid::from_u128(*topic))
                                .map_or_else(
                                    || uuid::Uuid::from_u128(*topic).to_string(),
                                    |t| t.name.clone(),
                                );
                            (name, parts.iter().copied().collect())
                        })
                        .collect(),
                })
                .collect(),
        }
    } else {
        match b.groups.describe_group(&id) {
            Some(Ok(d)) => Detail {
                group_id: id,
                group_type: listing.group_type,
                members: d
                    .members
                    .iter()
                    .map(|m| Member {
                        member_id: m.member_id.clone(),
                        instance_id: m.group_instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        assignment: classic_assignment(&d.protocol_type, &m.assignment),
                    })
                    .collect(),
                state: d.state,
                protocol_type: d.protocol_type,
                protocol: d.protocol,
            },
            _ => Detail {
                group_id: id,
                group_type: listing.group_type,
                state: listing.state,
                protocol_type: listing.protocol_type,
                protocol: String::new(),
                members: Vec::new(),
            },
        }
    };
    Ok(Json(detail))
}

/// Where to move the offsets.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ResetTo {
    Earliest,
    Latest,
    /// `value` = milliseconds since the epoch.
    Timestamp,
    /// `value` = the offset.
    Offset,
}

#[derive(Debug, Deserialize)]
pub struct Reset {
    /// One topic (all its partitions); absent: every partition the group has
    /// committed offsets for.
    topic: Option<String>,
    to: ResetTo,
    value: Option<i64>,
    /// Only answer the plan.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Serialize)]
pub struct Planned {
    topic: String,
    partition: i32,
    /// The committed offset now (none if not committed).
    current: Option<i64>,
    target: i64,
}

#[derive(Debug, Serialize)]
pub struct ResetAnswer {
    dry_run: bool,
    partitions: Vec<Planned>,
}

pub async fn reset(
    State(s): State<HttpState>,
    Peer(peer): Peer,
    Path(id): Path<String>,
    Json(r): Json<Reset>,
) -> Result<Json<ResetAnswer>, ApiError> {
    if matches!(r.to, ResetTo::Timestamp | ResetTo::Offset) && r.value.is_none() {
        return Err(ApiError::bad_request("this reset needs a value"));
    }
    let ctx = context(&s, &peer, ApiKey::OffsetCommit, 8);
    if !s
        .broker
        .pipeline
        .allows_group(&ctx, AclOperation::Describe, &id)
    {
        return Err(ApiError::kafka(30, None));
    }
    let b = s.broker.clone();
    if b.share.has_group(&id) {
        return Err(ApiError::bad_request(
            "a share group's start offsets are reset with AlterShareGroupOffsets \
             (kafka-share-groups.sh --reset-offsets), which the console does not do",
        ));
    }
    let state = b
        .groups
        .list_groups(&[], &[])
        .into_iter()
        .find(|g| g.group_id == id)
        .map(|g| g.state);
    let committed: BTreeMap<(String, i32), i64> = b
        .groups
        .lag(&id, &|_, _| Some(0))
        .into_iter()
        .map(|l| ((l.topic, l.partition), l.committed))
        .collect();
    let mut wanted: Vec<(String, i32)> = match &r.topic {
        Some(t) => {
            let topic = b
                .partitions
                .topic(t)
                .ok_or_else(|| ApiError::kafka(3, None))?;
            (0..topic.partition_count())
                .map(|p| (t.clone(), p))
                .collect()
        }
        None => committed.keys().cloned().collect(),
    };
    wanted.sort();
    if wanted.is_empty() {
        return Err(ApiError::bad_request(
            "the group has no committed offsets: name a topic",
        ));
    }
    let (to, value) = (r.to, r.value);
    let plan = crate::handler::blocking(move || -> Result<Vec<Planned>, ApiError> {
        let mut plan = Vec::with_capacity(wanted.len());
        for (topic, partition) in wanted {
            let p = b
                .partitions
                .partition(&topic, partition)
                .ok_or_else(|| ApiError::kafka(3, None))?;
            let (start, end) = (p.log_start_offset(), p.high_watermark());
            let target = match to {
                ResetTo::Earliest => start,
                ResetTo::Latest => end,
                ResetTo::Offset => value.unwrap_or(start).clamp(start, end),
                ResetTo::Timestamp => {
                    match p.list_offset(OffsetSpec::Timestamp(value.unwrap_or(0)), false) {
                        Ok(Some((o, _))) => o,
                        Ok(None) => end,
                        Err(e) => return Err(ApiError::internal(e.to_string())),
                    }
                }
            };
            plan.push(Planned {
                current: committed.get(&(topic.clone(), partition)).copied(),
                topic,
                partition,
                target,
            });
        }
        Ok(plan)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    if r.dry_run {
        return Ok(Json(ResetAnswer {
            dry_run: true,
            partitions: plan,
        }));
    }
    // As kafka-consumer-groups: only an inactive group's offsets are reset.
    if let Some(st) = state
        .as_deref()
        .filter(|st| !matches!(*st, "Empty" | "Dead"))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "GROUP_NOT_INACTIVE",
            format!(
                "Assignments can only be reset if the group '{id}' is inactive, but the current state is {st}."
            ),
        ));
    }
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for p in &plan {
        let part = OffsetCommitRequestPartition::default()
            .with_partition_index(p.partition)
            .with_committed_offset(p.target)
            .with_committed_leader_epoch(-1);
        match topics.last_mut() {
            Some(t) if t.name.as_str() == p.topic => t.partitions.push(part),
            _ => topics.push(
                OffsetCommitRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_string(p.topic.clone())))
                    .with_partitions(vec![part]),
            ),
        }
    }
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(id)))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(StrBytes::from_static_str(""))
        .with_topics(topics);
    let resp = call::<crate::handlers::offset_commit::Api>(&s, &peer, 8, req).await?;
    if let Some(code) = resp
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| p.error_code)
        .find(|c| *c != 0)
    {
        return Err(ApiError::kafka(code, None));
    }
    Ok(Json(ResetAnswer {
        dry_run: false,
        partitions: plan,
    }))
}
