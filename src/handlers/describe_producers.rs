//! DescribeProducers (key 61), v0: the active idempotent/transactional producers
//! of each requested partition (id, epoch, last sequence, the timestamp of its
//! last batch or marker, the coordinator epoch of its last marker, current
//! transaction start offset), as Kafka's `Partition.activeProducerState`;
//! an unknown partition gets UNKNOWN_TOPIC_OR_PARTITION with a null message.

use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{
    ApiKey, DescribeProducersRequest, DescribeProducersResponse, ProducerId,
};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The DescribeProducers handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeProducers;
    const VERSIONS: (i16, i16) = (0, 0);
    type Request = DescribeProducersRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeProducersRequest,
    ) -> HandlerResult<DescribeProducersResponse> {
        // Kafka groups the answers by topic name (a name asked twice is one entry).
        let mut topics: Vec<TopicResponse> = Vec::new();
        for t in req.topics {
            // As Kafka: READ on the topic.
            let allowed = state
                .pipeline
                .allows_topic(&ctx, AclOperation::Read, &t.name.0);
            let partitions = t.partition_indexes.iter().map(|&index| {
                if allowed {
                    describe(&state, t.name.0.as_str(), index)
                } else {
                    PartitionResponse::default()
                        .with_partition_index(index)
                        .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                }
            });
            match topics.iter_mut().find(|r| r.name == t.name) {
                Some(r) => r.partitions.extend(partitions),
                None => {
                    let partitions = partitions.collect();
                    topics.push(
                        TopicResponse::default()
                            .with_name(t.name)
                            .with_partitions(partitions),
                    );
                }
            }
        }
        Ok(Some(
            DescribeProducersResponse::default().with_topics(topics),
        ))
    }
}

fn describe(state: &BrokerState, topic: &str, index: i32) -> PartitionResponse {
    let resp = PartitionResponse::default()
        .with_partition_index(index)
        .with_error_message(None);
    let Some(p) = state.partitions.partition(topic, index) else {
        return resp.with_error_code(ResponseError::UnknownTopicOrPartition.code());
    };
    let table = p.producer_state();
    let mut active: Vec<ProducerState> = table
        .producers()
        .map(|(id, e)| {
            ProducerState::default()
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(e.epoch as i32)
                .with_last_sequence(e.last_seq().unwrap_or(-1))
                .with_last_timestamp(e.last_timestamp)
                .with_coordinator_epoch(e.coordinator_epoch)
                .with_current_txn_start_offset(table.ongoing_start(id).unwrap_or(-1))
        })
        .collect();
    active.sort_by_key(|s| s.producer_id.0);
    resp.with_error_code(0).with_active_producers(active)
}
