//! OffsetDelete (key 47), v0: removes committed offsets of a group; refused per
//! partition (GROUP_SUBSCRIBED_TO_TOPIC) for topics the live group consumes.

use super::topic_name;
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
        _ctx: RequestContext,
        req: OffsetDeleteRequest,
    ) -> HandlerResult<OffsetDeleteResponse> {
        let topics: Vec<(String, Vec<i32>)> = req
            .topics
            .iter()
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
            }
        }
        Ok(Some(resp))
    }
}
