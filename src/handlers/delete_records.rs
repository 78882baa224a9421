//! DeleteRecords (key 21), v0-2: move each partition's log start offset up to
//! the given offset (-1 = the high watermark); whole segments below it are
//! deleted from disk. Offsets past the high watermark or negative (other than
//! -1) are OFFSET_OUT_OF_RANGE; an offset below the log start changes nothing.
//! The answer's low watermark is the log start offset afterwards.

use super::{storage_error_code, topic_name};
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{ApiKey, DeleteRecordsRequest, DeleteRecordsResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The DeleteRecords handler.
pub struct Api;

/// Delete records below `offset` in one partition: (low watermark, error).
fn delete_one(state: &BrokerState, topic: &str, index: i32, offset: i64) -> (i64, i16) {
    let Some(p) = state.partitions.partition(topic, index) else {
        return (-1, ResponseError::UnknownTopicOrPartition.code());
    };
    let hw = p.high_watermark();
    let target = if offset == -1 { hw } else { offset };
    if target < 0 || target > hw {
        return (-1, ResponseError::OffsetOutOfRange.code());
    }
    match p.delete_records(target) {
        Ok(start) => (start, 0),
        Err(e) => (-1, storage_error_code(&e).code()),
    }
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DeleteRecords;
    const VERSIONS: (i16, i16) = (0, 2);
    type Request = DeleteRecordsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DeleteRecordsRequest,
    ) -> HandlerResult<DeleteRecordsResponse> {
        let topics = blocking(move || {
            req.topics
                .into_iter()
                .map(|t| {
                    let name = t.name.0.to_string();
                    let allowed = state
                        .pipeline
                        .allows_topic(&ctx, AclOperation::Delete, &name);
                    let partitions = t
                        .partitions
                        .iter()
                        .map(|p| {
                            let (low, err) = if allowed {
                                delete_one(&state, &name, p.partition_index, p.offset)
                            } else {
                                (-1, ResponseError::TopicAuthorizationFailed.code())
                            };
                            DeleteRecordsPartitionResult::default()
                                .with_partition_index(p.partition_index)
                                .with_low_watermark(low)
                                .with_error_code(err)
                        })
                        .collect();
                    DeleteRecordsTopicResult::default()
                        .with_name(topic_name(&name))
                        .with_partitions(partitions)
                })
                .collect::<Vec<_>>()
        })
        .await?;
        Ok(Some(DeleteRecordsResponse::default().with_topics(topics)))
    }
}
