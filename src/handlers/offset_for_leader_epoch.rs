//! OffsetForLeaderEpoch (key 23), v0-4: every batch is written with leader epoch
//! 0 and Metadata reports epoch 0, so any requested epoch >= 0 ends at the log
//! end offset with epoch 0; a current leader epoch above 0 is UNKNOWN_LEADER_EPOCH.

use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{ApiKey, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The OffsetForLeaderEpoch handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::OffsetForLeaderEpoch;
    const VERSIONS: (i16, i16) = (0, 4);
    type Request = OffsetForLeaderEpochRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: OffsetForLeaderEpochRequest,
    ) -> HandlerResult<OffsetForLeaderEpochResponse> {
        let topics = req
            .topics
            .into_iter()
            .map(|t| {
                let topic = state.partitions.topic(t.topic.0.as_str());
                let allowed = state
                    .pipeline
                    .allows_topic(&ctx, AclOperation::Describe, &t.topic.0);
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let r = EpochEndOffset::default()
                            .with_partition(p.partition)
                            .with_leader_epoch(-1)
                            .with_end_offset(-1);
                        match topic.as_ref().and_then(|t| t.partition(p.partition)) {
                            _ if !allowed => {
                                r.with_error_code(ResponseError::TopicAuthorizationFailed.code())
                            }
                            None => {
                                r.with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            }
                            Some(_) if p.current_leader_epoch > 0 => {
                                r.with_error_code(ResponseError::UnknownLeaderEpoch.code())
                            }
                            // every partition here has only epoch 0: a later epoch is
                            // unknown, UNDEFINED_EPOCH_OFFSET as Kafka's epoch cache says
                            Some(_) if p.leader_epoch < 0 || p.leader_epoch > 0 => {
                                r.with_error_code(0)
                            }
                            Some(part) => r
                                .with_error_code(0)
                                .with_leader_epoch(0)
                                .with_end_offset(part.high_watermark()),
                        }
                    })
                    .collect();
                OffsetForLeaderTopicResult::default()
                    .with_topic(t.topic)
                    .with_partitions(partitions)
            })
            .collect();
        Ok(Some(
            OffsetForLeaderEpochResponse::default().with_topics(topics),
        ))
    }
}
