//! CreatePartitions (key 37), v0-3: grow a topic to `count` partitions (never
//! shrink: INVALID_PARTITIONS), validate-only supported; manual assignments must
//! place each new partition on this broker alone (else INVALID_REPLICA_ASSIGNMENT).

use super::{sb, topic_error_code};
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{ApiKey, CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::ResponseError;
use std::collections::HashMap;
use std::sync::Arc;

/// The CreatePartitions handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::CreatePartitions;
    const VERSIONS: (i16, i16) = (0, 3);
    type Request = CreatePartitionsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: CreatePartitionsRequest,
    ) -> HandlerResult<CreatePartitionsResponse> {
        let validate_only = req.validate_only;
        // KIP-599: from v3 a topic over the controller-mutation quota is refused.
        let mut quota = state.quotas.mutations(&ctx, ctx.api_version >= 3);
        let (results, throttle_ms) = blocking(move || {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for t in &req.topics {
                *counts.entry(t.name.0.to_string()).or_default() += 1;
            }
            let results = req
                .topics
                .into_iter()
                .map(|t| {
                    let name = t.name.0.to_string();
                    let fail = |code: ResponseError, msg: String| {
                        CreatePartitionsTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(code.code())
                            .with_error_message(Some(sb(msg)))
                    };
                    if counts[&name] > 1 {
                        return fail(
                            ResponseError::InvalidRequest,
                            format!("topic '{name}' appears more than once"),
                        );
                    }
                    if !state
                        .pipeline
                        .allows_topic(&ctx, AclOperation::Alter, &name)
                    {
                        return CreatePartitionsTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                    }
                    let Some(topic) = state.partitions.topic(&name) else {
                        // as Kafka: the code only
                        return CreatePartitionsTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let assignments = t.assignments.as_ref();
                    let new = (t.count - topic.partition_count()).max(0) as usize;
                    if let Some(a) = assignments.filter(|a| new > 0 && a.len() != new) {
                        // Kafka's ReplicationControlManager: a non-null list (an empty one
                        // too) must name every new partition
                        return fail(
                            ResponseError::InvalidReplicaAssignment,
                            format!(
                                "Attempted to add {new} additional partition(s), but only {} \
                                 assignment(s) were specified.",
                                a.len()
                            ),
                        );
                    }
                    if let Some(assignments) = assignments.filter(|a| new > 0 && !a.is_empty()) {
                        let ok = assignments
                            .iter()
                            .all(|a| a.broker_ids.len() == 1 && a.broker_ids[0].0 == state.node_id);
                        if !ok {
                            return fail(
                                ResponseError::InvalidReplicaAssignment,
                                "each new partition must be assigned to this broker only".into(),
                            );
                        }
                    }
                    if new > 0 && !validate_only && quota.record(new).is_err() {
                        return fail(
                            ResponseError::ThrottlingQuotaExceeded,
                            "The throttling quota has been exceeded.".into(),
                        );
                    }
                    match state
                        .partitions
                        .create_partitions(&name, t.count, validate_only)
                    {
                        Ok(()) => CreatePartitionsTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(0),
                        Err(e) => fail(topic_error_code(&e), e.to_string()),
                    }
                })
                .collect::<Vec<_>>();
            (results, quota.throttle_time_ms())
        })
        .await?;
        Ok(Some(
            CreatePartitionsResponse::default()
                .with_results(results)
                .with_throttle_time_ms(throttle_ms),
        ))
    }
}
