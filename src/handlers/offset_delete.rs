//! OffsetDelete (key 47), v0: removes committed offsets of a group; refused per
//! partition (GROUP_SUBSCRIBED_TO_TOPIC) for topics the live group consumes.

use super::topic_name;
use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{ApiKey, OffsetDeleteRequest, OffsetDeleteResponse};
use std::sync::Arc;

/// The OffsetDelete handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::OffsetDelete;
    const VERSIONS: (i16, i16) = (0, 0);
    type Request = OffsetDeleteRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: OffsetDeleteRequest,
    ) -> HandlerResult<OffsetDeleteResponse> {
        // As Kafka: DELETE on the group; READ on each topic, whose partitions
        // are TOPIC_AUTHORIZATION_FAILED otherwise (and left alone).
        if !state
            .pipeline
            .allows_group(&ctx, AclOperation::Delete, &req.group_id)
        {
            return Ok(Some(OffsetDeleteResponse::default().with_error_code(
                kafka_protocol::ResponseError::GroupAuthorizationFailed.code(),
            )));
        }
        let (allowed, denied): (Vec<_>, Vec<_>) = req.topics.iter().partition(|t| {
            state
                .pipeline
                .allows_topic(&ctx, AclOperation::Read, &t.name)
        });
        let denied_topics = denied.into_iter().map(|t| {
            let code = kafka_protocol::ResponseError::TopicAuthorizationFailed.code();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            OffsetDeleteResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        });
        let mut denied_topics: Vec<_> = denied_topics.collect();
        let topics: Vec<(String, Vec<i32>)> = allowed
            .into_iter()
            .map(|t| {
                (
                    t.name.to_string(),
                    t.partitions.iter().map(|p| p.partition_index).collect(),
                )
            })
            .collect();
        let mut resp = OffsetDeleteResponse::default();
        match state.groups.delete_offsets(&req.group_id, &topics).await {
            Err(code) => resp.error_code = code,
            Ok(results) => {
                for (topic, partition, code) in results {
                    let part = OffsetDeleteResponsePartition::default()
                        .with_partition_index(partition)
                        .with_error_code(code);
                    match resp.topics.last_mut() {
                        Some(t) if t.name.as_str() == topic => t.partitions.push(part),
                        _ => resp.topics.push(
                            OffsetDeleteResponseTopic::default()
                                .with_name(topic_name(&topic))
                                .with_partitions(vec![part]),
                        ),
                    }
                }
                resp.topics.append(&mut denied_topics);
            }
        }
        Ok(Some(resp))
    }
}
