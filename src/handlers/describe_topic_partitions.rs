//! DescribeTopicPartitions (key 75), v0 (KIP-966): topics and their partitions
//! in name order, at most `response_partition_limit` partitions per answer
//! (capped by `max.request.partition.size.limit`, 2000), continued from the
//! request's cursor and answering the next cursor, as Kafka's
//! `DescribeTopicPartitionsRequestHandler` and `describeTopicResponse` do.

use super::metadata::TOPIC_OPERATIONS;
use super::topic_name;
use crate::acl::{AclOperation, ResourceType};
use crate::handler::{Handler, HandlerResult, Rejection, RequestContext};
use crate::partitions::{validate_topic_name, INTERNAL_TOPICS};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
};
use kafka_protocol::ResponseError;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The DescribeTopicPartitions handler.
pub struct Api;

/// Kafka's `max.request.partition.size.limit` default.
pub const MAX_PARTITION_LIMIT: i32 = 2000;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeTopicPartitions;
    const VERSIONS: (i16, i16) = (0, 0);
    type Request = DescribeTopicPartitionsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeTopicPartitionsRequest,
    ) -> HandlerResult<DescribeTopicPartitionsResponse> {
        Ok(Some(match describe(&state, &ctx, &req) {
            Ok(resp) => resp,
            Err(e) => error_response(&req, e),
        }))
    }

    fn reject(
        _ctx: &RequestContext,
        req: DescribeTopicPartitionsRequest,
        why: &Rejection,
    ) -> Option<DescribeTopicPartitionsResponse> {
        Some(error_response(&req, why.error))
    }
}

/// Kafka's `getErrorResponse`: every requested topic with the error.
fn error_response(
    req: &DescribeTopicPartitionsRequest,
    e: ResponseError,
) -> DescribeTopicPartitionsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(t.name.clone()))
                .with_error_code(e.code())
                .with_is_internal(false)
        })
        .collect();
    DescribeTopicPartitionsResponse::default().with_topics(topics)
}

fn describe(
    state: &BrokerState,
    ctx: &RequestContext,
    req: &DescribeTopicPartitionsRequest,
) -> Result<DescribeTopicPartitionsResponse, ResponseError> {
    let all = req.topics.is_empty();
    let ops = |name: &str| {
        state
            .pipeline
            .authorized_operations(ctx, ResourceType::Topic, name, TOPIC_OPERATIONS)
    };
    let cursor_topic = req.cursor.as_ref().map_or("", |c| c.topic_name.0.as_str());
    let names: BTreeSet<String> = if all {
        state
            .partitions
            .topics()
            .into_iter()
            .map(|t| t.name.clone())
            .filter(|n| n.as_str() >= cursor_topic)
            .collect()
    } else {
        let names: BTreeSet<String> = req
            .topics
            .iter()
            .map(|t| t.name.0.to_string())
            .filter(|n| n.as_str() >= cursor_topic)
            .collect();
        if req.cursor.is_some() && !names.contains(cursor_topic) {
            return Err(ResponseError::InvalidRequest);
        }
        names
    };
    if req.cursor.as_ref().is_some_and(|c| c.partition_index < 0) {
        return Err(ResponseError::InvalidRequest);
    }
    let node = BrokerId(state.node_id);
    let mut remaining = req.response_partition_limit.clamp(1, MAX_PARTITION_LIMIT) as usize;
    let mut resp = DescribeTopicPartitionsResponse::default();
    for name in names {
        if remaining == 0 {
            // The next answer starts at this topic's first partition.
            resp.next_cursor = Some(
                Cursor::default()
                    .with_topic_name(topic_name(&name))
                    .with_partition_index(0),
            );
            break;
        }
        // As Kafka: DESCRIBE on the topic; all topics = those the principal may describe.
        let allowed = if all {
            state
                .pipeline
                .allows_quietly(ctx, AclOperation::Describe, ResourceType::Topic, &name)
        } else {
            state
                .pipeline
                .allows_topic(ctx, AclOperation::Describe, &name)
        };
        if !allowed {
            if !all {
                resp.topics.push(
                    DescribeTopicPartitionsResponseTopic::default()
                        .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                        .with_name(Some(topic_name(&name)))
                        .with_is_internal(false),
                );
            }
            continue;
        }
        let start = match &req.cursor {
            Some(c) if c.topic_name.0.as_str() == name => c.partition_index as usize,
            _ => 0,
        };
        let Some(topic) = state.partitions.topic(&name) else {
            if !all {
                let error = match validate_topic_name(&name) {
                    Ok(()) => ResponseError::UnknownTopicOrPartition,
                    Err(_) => ResponseError::InvalidTopicException,
                };
                resp.topics.push(
                    DescribeTopicPartitionsResponseTopic::default()
                        .with_error_code(error.code())
                        .with_name(Some(topic_name(&name)))
                        .with_is_internal(INTERNAL_TOPICS.contains(&name.as_str()))
                        .with_topic_authorized_operations(ops(&name)),
                );
            }
            continue;
        };
        let count = topic.partition_count() as usize;
        let upper = count.min(start.saturating_add(remaining));
        let partitions: Vec<_> = (start..upper)
            .map(|i| {
                DescribeTopicPartitionsResponsePartition::default()
                    .with_error_code(0)
                    .with_partition_index(i as i32)
                    .with_leader_id(node)
                    .with_leader_epoch(0)
                    .with_replica_nodes(vec![node])
                    .with_isr_nodes(vec![node])
                    .with_eligible_leader_replicas(Some(vec![]))
                    .with_last_known_elr(Some(vec![]))
                    .with_offline_replicas(vec![])
            })
            .collect();
        let listed = partitions.len();
        resp.topics.push(
            DescribeTopicPartitionsResponseTopic::default()
                .with_error_code(0)
                .with_name(Some(topic_name(&name)))
                .with_topic_id(topic.id)
                .with_is_internal(topic.internal)
                .with_partitions(partitions)
                .with_topic_authorized_operations(ops(&name)),
        );
        if upper < count {
            resp.next_cursor = Some(
                Cursor::default()
                    .with_topic_name(topic_name(&name))
                    .with_partition_index(upper as i32),
            );
            break;
        }
        remaining -= listed;
    }
    Ok(resp)
}
