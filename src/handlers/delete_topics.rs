//! DeleteTopics (key 20), v0-6: by name (all versions) and by topic id (v6+);
//! the topic's logs and directories are removed. Unknown names get
//! UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID.

use super::{sb, topic_error_code, topic_name};
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{ApiKey, DeleteTopicsRequest, DeleteTopicsResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;
use uuid::Uuid;

/// The DeleteTopics handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DeleteTopics;
    const VERSIONS: (i16, i16) = (0, 6);
    type Request = DeleteTopicsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DeleteTopicsRequest,
    ) -> HandlerResult<DeleteTopicsResponse> {
        let version = ctx.api_version;
        let wanted: Vec<(Option<String>, Uuid)> = if version >= 6 {
            req.topics
                .into_iter()
                .map(|t| (t.name.map(|n| n.0.to_string()), t.topic_id))
                .collect()
        } else {
            req.topic_names
                .into_iter()
                .map(|n| (Some(n.0.to_string()), Uuid::nil()))
                .collect()
        };
        let enabled = state.settings.bool("delete.topic.enable");
        // KIP-599: from v5 a topic over the controller-mutation quota is refused.
        let mut quota = state.quotas.mutations(&ctx, version >= 5);
        let (responses, throttle_ms) = blocking(move || {
            let responses = wanted
                .into_iter()
                .map(|(name, id)| {
                    let mut r = DeletableTopicResult::default();
                    let by_id = name.is_none() && !id.is_nil();
                    let topic = match &name {
                        Some(n) => state.partitions.topic(n),
                        None => state.partitions.topic_by_id(id),
                    };
                    if version >= 6 {
                        r.topic_id = topic.as_ref().map_or(id, |t| t.id);
                    }
                    // As Kafka: DELETE on the topic (by id: DESCRIBE too, or its name stays hidden).
                    let pipeline = &state.pipeline;
                    let denied = match (&topic, &name) {
                        _ if !enabled => false,
                        (Some(t), _) if by_id => {
                            if !pipeline.allows_topic(&ctx, AclOperation::Describe, &t.name) {
                                r.error_code = ResponseError::TopicAuthorizationFailed.code();
                                return r;
                            }
                            !pipeline.allows_topic(&ctx, AclOperation::Delete, &t.name)
                        }
                        (Some(t), _) => !pipeline.allows_topic(&ctx, AclOperation::Delete, &t.name),
                        (None, Some(n)) => !pipeline.allows_topic(&ctx, AclOperation::Delete, n),
                        (None, None) => false,
                    };
                    r.name = topic
                        .as_ref()
                        .map(|t| t.name.clone())
                        .or(name)
                        .map(|n| topic_name(&n));
                    if denied {
                        r.error_code = ResponseError::TopicAuthorizationFailed.code();
                        return r;
                    }
                    let result = match topic {
                        _ if !enabled => Err((
                            ResponseError::TopicDeletionDisabled,
                            "delete.topic.enable is false".to_string(),
                        )),
                        // Kafka's texts: the exceptions' default messages
                        None if by_id => Err((
                            ResponseError::UnknownTopicId,
                            "This server does not host this topic ID.".to_string(),
                        )),
                        None => Err((
                            ResponseError::UnknownTopicOrPartition,
                            "This server does not host this topic-partition.".to_string(),
                        )),
                        Some(t) if quota.record(t.partition_count().max(0) as usize).is_err() => {
                            Err((
                                ResponseError::ThrottlingQuotaExceeded,
                                "The throttling quota has been exceeded.".to_string(),
                            ))
                        }
                        Some(t) => state
                            .partitions
                            .delete_topic(&t.name)
                            .map(|_| ())
                            .map_err(|e| (topic_error_code(&e), e.to_string())),
                    };
                    match result {
                        Ok(()) => r.with_error_code(0),
                        Err((code, msg)) => {
                            r.error_code = code.code();
                            if version >= 5 {
                                r.error_message = Some(sb(msg));
                            }
                            r
                        }
                    }
                })
                .collect::<Vec<_>>();
            (responses, quota.throttle_time_ms())
        })
        .await?;
        Ok(Some(
            DeleteTopicsResponse::default()
                .with_responses(responses)
                .with_throttle_time_ms(throttle_ms),
        ))
    }
}
