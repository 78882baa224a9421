//! DescribeShareGroupOffsets (key 90), v0-v1: each share-partition's start
//! offset (`kafka-share-groups --describe`, `Admin.listShareGroupOffsets`) and,
//! from v1 (KIP-1226), its lag: the high watermark minus the start offset minus
//! the in-flight records already delivered for good (acknowledged or
//! archived). A null topic list means every share-partition the group has; a
//! partition the group has not started is answered with start offset -1 and
//! lag -1, as Kafka does.

use super::{sb, topic_name};
use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_share_group_offsets_response::{
    DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition,
    DescribeShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse,
};
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// The DescribeShareGroupOffsets handler.
pub struct Api;

fn partition(index: i32, start: i64) -> DescribeShareGroupOffsetsResponsePartition {
    DescribeShareGroupOffsetsResponsePartition::default()
        .with_partition_index(index)
        .with_start_offset(start)
        .with_leader_epoch(0)
}

/// A started share-partition's answer: start offset and lag (v1).
fn started(
    state: &BrokerState,
    group: &str,
    topic: &crate::partitions::Topic,
    index: i32,
) -> DescribeShareGroupOffsetsResponsePartition {
    let key = (group.to_string(), topic.id.as_u128(), index);
    let Some((start, complete)) = state.share.lag_basis(&key) else {
        return partition(index, -1);
    };
    let lag = match topic.partition(index) {
        Some(p) => (p.high_watermark() - start - complete).max(0),
        None => -1,
    };
    partition(index, start).with_lag(lag)
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeShareGroupOffsets;
    const VERSIONS: (i16, i16) = (0, 1);
    type Request = DescribeShareGroupOffsetsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeShareGroupOffsetsRequest,
    ) -> HandlerResult<DescribeShareGroupOffsetsResponse> {
        let p = &state.pipeline;
        let groups = req
            .groups
            .iter()
            .map(|g| {
                let mut out = DescribeShareGroupOffsetsResponseGroup::default()
                    .with_group_id(g.group_id.clone());
                if !p.allows_group(&ctx, AclOperation::Describe, &g.group_id) {
                    out.error_code = ResponseError::GroupAuthorizationFailed.code();
                    out.error_message = Some(sb("Group authorization failed."));
                    return out;
                }
                let group = g.group_id.as_str();
                match &g.topics {
                    None => {
                        // Every share-partition of the group, grouped by topic.
                        let mut by_topic: BTreeMap<u128, Vec<(i32, i64)>> = BTreeMap::new();
                        for (t, part, start) in state.share.start_offsets(group) {
                            by_topic.entry(t).or_default().push((part, start));
                        }
                        for (t, parts) in by_topic {
                            let Some(topic) = state.partitions.topic_by_id(Uuid::from_u128(t))
                            else {
                                continue;
                            };
                            if !p.allows_topic(&ctx, AclOperation::Describe, &topic.name) {
                                continue;
                            }
                            out.topics.push(
                                DescribeShareGroupOffsetsResponseTopic::default()
                                    .with_topic_name(topic_name(&topic.name))
                                    .with_topic_id(topic.id)
                                    .with_partitions(
                                        parts
                                            .into_iter()
                                            .map(|(i, _)| started(&state, group, &topic, i))
                                            .collect(),
                                    ),
                            );
                        }
                    }
                    Some(topics) => {
                        for t in topics {
                            let mut rt = DescribeShareGroupOffsetsResponseTopic::default()
                                .with_topic_name(t.topic_name.clone());
                            let topic = state.partitions.topic(&t.topic_name);
                            let denied =
                                !p.allows_topic(&ctx, AclOperation::Describe, &t.topic_name);
                            if let Some(topic) = topic.as_ref().filter(|_| !denied) {
                                rt.topic_id = topic.id;
                            }
                            for &i in &t.partitions {
                                let mut d = partition(i, -1);
                                match &topic {
                                    _ if denied => {
                                        d.error_code =
                                            ResponseError::TopicAuthorizationFailed.code()
                                    }
                                    Some(topic) if topic.partition(i).is_some() => {
                                        d = started(&state, group, topic, i);
                                    }
                                    _ => {
                                        d.error_code =
                                            ResponseError::UnknownTopicOrPartition.code();
                                        d.error_message = Some(sb(
                                            "This server does not host this topic-partition.",
                                        ));
                                    }
                                }
                                rt.partitions.push(d);
                            }
                            out.topics.push(rt);
                        }
                    }
                }
                out
            })
            .collect();
        Ok(Some(
            DescribeShareGroupOffsetsResponse::default().with_groups(groups),
        ))
    }
}
