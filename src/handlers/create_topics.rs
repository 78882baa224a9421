//! CreateTopics (key 19), v0-7: partitions (-1 = `num.partitions`), replication
//! factor 1 or -1 (this is one node), manual assignments onto this node only,
//! validated configs, validate-only, TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION.
//! From v5 the result carries the topic's effective configs. All topics of a
//! request are created together (one registry write, one directory fsync).

use super::{sb, topic_error_code};
use crate::acl::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::config::topic::TopicConfig;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::partitions::{validate_topic_name, NewTopic, Topic, TopicError};
use crate::state::BrokerState;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::ResponseError;
use std::collections::HashMap;
use std::sync::Arc;

/// The CreateTopics handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::CreateTopics;
    const VERSIONS: (i16, i16) = (0, 7);
    type Request = CreateTopicsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: CreateTopicsRequest,
    ) -> HandlerResult<CreateTopicsResponse> {
        let version = ctx.api_version;
        let validate_only = req.validate_only;
        // KIP-599: from v6 a topic over the controller-mutation quota is refused.
        let mut quota = state.quotas.mutations(&ctx, version >= 6);
        let (results, throttle_ms) = blocking(move || {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for t in &req.topics {
                *counts.entry(t.name.0.to_string()).or_default() += 1;
            }
            // As Kafka's ControllerApis: duplicated names are left out of the
            // creation and answered once each, after the others.
            let mut duplicates: Vec<CreatableTopic> = Vec::new();
            let mut checked = Vec::with_capacity(req.topics.len());
            for t in req.topics {
                if counts[t.name.0.as_str()] > 1 {
                    if !duplicates.iter().any(|d| d.name == t.name) {
                        duplicates.push(t);
                    }
                    continue;
                }
                checked.push(check_one(&state, &ctx, t));
            }
            // Each new topic's partitions count against the controller-mutation
            // quota (not a validate-only request, not a topic that exists).
            let default_partitions = state.partitions.settings().i64("num.partitions") as usize;
            let checked: Vec<Checked> = checked
                .into_iter()
                .map(|c| match c {
                    Checked::Create(t, new)
                        if !validate_only && state.partitions.topic(&new.name).is_none() =>
                    {
                        let n = if new.partitions > 0 {
                            new.partitions as usize
                        } else {
                            default_partitions
                        };
                        match quota.record(n) {
                            Ok(()) => Checked::Create(t, new),
                            Err(_) => Checked::Failed(failed(
                                t,
                                ResponseError::ThrottlingQuotaExceeded,
                                "The throttling quota has been exceeded.".into(),
                            )),
                        }
                    }
                    other => other,
                })
                .collect();
            // Create every topic that passed the checks in one go.
            let new: Vec<NewTopic> = checked
                .iter()
                .filter_map(|c| match c {
                    Checked::Create(_, new) => Some(new.clone()),
                    Checked::Failed(_) => None,
                })
                .collect();
            let mut created = state
                .partitions
                .create_topics(new, validate_only)
                .into_iter();
            let mut results = Vec::with_capacity(checked.len() + duplicates.len());
            for c in checked {
                results.push(match c {
                    Checked::Failed(failed) => failed,
                    Checked::Create(t, new) => {
                        let outcome = created.next().expect("one result per topic");
                        created_result(&state, &ctx, t, new, outcome, version)
                    }
                });
            }
            results.extend(duplicates.into_iter().map(|t| {
                failed(
                    t,
                    ResponseError::InvalidRequest,
                    "Duplicate topic name.".into(),
                )
            }));
            (results, quota.throttle_time_ms())
        })
        .await?;
        Ok(Some(
            CreateTopicsResponse::default()
                .with_topics(results)
                .with_throttle_time_ms(throttle_ms),
        ))
    }
}

fn failed(t: CreatableTopic, err: ResponseError, msg: String) -> CreatableTopicResult {
    // As Kafka's controller: no configs (an empty list, not null), -1 counts.
    CreatableTopicResult::default()
        .with_name(t.name)
        .with_error_code(err.code())
        .with_error_message(Some(sb(msg)))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
        .with_configs(Some(vec![]))
}

/// A topic after the request-level checks.
enum Checked {
    Failed(CreatableTopicResult),
    Create(CreatableTopic, NewTopic),
}

fn check_one(state: &BrokerState, ctx: &RequestContext, t: CreatableTopic) -> Checked {
    match check_one_inner(state, ctx, t) {
        Ok((t, new)) => Checked::Create(t, new),
        Err(failed) => Checked::Failed(failed),
    }
}

#[allow(clippy::result_large_err)]
fn check_one_inner(
    state: &BrokerState,
    ctx: &RequestContext,
    t: CreatableTopic,
) -> Result<(CreatableTopic, NewTopic), CreatableTopicResult> {
    let name = t.name.0.to_string();
    // As Kafka's ControllerApis: CREATE on the cluster, else on the topic.
    let pipeline = &state.pipeline;
    if !pipeline.allows_quietly(
        ctx,
        AclOperation::Create,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) && !pipeline.allows_topic(ctx, AclOperation::Create, &name)
    {
        let msg = "Authorization failed.".to_string();
        return Err(failed(t, ResponseError::TopicAuthorizationFailed, msg));
    }
    if let Err(e) = validate_topic_name(&name) {
        return Err(failed(
            t,
            ResponseError::InvalidTopicException,
            e.to_string(),
        ));
    }
    if !matches!(t.replication_factor, 1 | -1) {
        // Kafka's text (ReplicaPlacer) on a single broker
        let msg = format!(
            "Unable to replicate the partition {} time(s): The target replication factor \
             of {} cannot be reached because only 1 broker(s) are registered or some \
             brokers have all their log directories cordoned.",
            t.replication_factor, t.replication_factor
        );
        return Err(failed(t, ResponseError::InvalidReplicationFactor, msg));
    }
    let mut partitions = t.num_partitions;
    if !t.assignments.is_empty() {
        if t.num_partitions != -1 || t.replication_factor != -1 {
            let msg =
                "both manual assignments and partitions/replication factor were given".to_string();
            return Err(failed(t, ResponseError::InvalidRequest, msg));
        }
        let mut indexes: Vec<i32> = t.assignments.iter().map(|a| a.partition_index).collect();
        indexes.sort_unstable();
        let contiguous = indexes.iter().enumerate().all(|(i, p)| *p == i as i32);
        let on_this_node = t
            .assignments
            .iter()
            .all(|a| a.broker_ids.len() == 1 && a.broker_ids[0].0 == state.node_id);
        if !contiguous || !on_this_node {
            let msg =
                "assignments must cover partitions 0..n, each on this broker only".to_string();
            return Err(failed(t, ResponseError::InvalidReplicaAssignment, msg));
        }
        partitions = t.assignments.len() as i32;
    } else if partitions == 0 || partitions < -1 {
        return Err(failed(
            t,
            ResponseError::InvalidPartitions,
            "Number of partitions was set to an invalid non-positive value.".into(),
        ));
    }
    let mut config = TopicConfig::default();
    for c in &t.configs {
        let Some(value) = &c.value else {
            return Err(failed(
                t.clone(),
                ResponseError::InvalidConfig,
                format!("null value for config '{}'", c.name),
            ));
        };
        if let Err(e) = config.set(c.name.as_str(), value.as_str()) {
            return Err(failed(
                t.clone(),
                ResponseError::InvalidConfig,
                e.to_string(),
            ));
        }
    }
    // Checks across keys (min.compaction.lag.ms <= max.compaction.lag.ms).
    if let Err(e) = config.validate_combination(&state.partitions.settings()) {
        return Err(failed(
            t.clone(),
            ResponseError::InvalidConfig,
            e.to_string(),
        ));
    }
    let new = NewTopic {
        name,
        partitions,
        config,
    };
    Ok((t, new))
}

/// The result for a topic handed to the registry.
fn created_result(
    state: &BrokerState,
    ctx: &RequestContext,
    t: CreatableTopic,
    new: NewTopic,
    outcome: Result<Option<Arc<Topic>>, TopicError>,
    version: i16,
) -> CreatableTopicResult {
    let NewTopic {
        partitions, config, ..
    } = new;
    let pipeline = &state.pipeline;
    let name = t.name.0.to_string();
    match outcome {
        Ok(created) => {
            // Kafka's controller sets a null message on success.
            let mut r = CreatableTopicResult::default()
                .with_name(t.name)
                .with_error_code(0)
                .with_error_message(None);
            if version >= 7 {
                r.topic_id = match &created {
                    Some(topic) => topic.id,
                    // Kafka's controller answers a fresh id even for validate_only.
                    None => crate::ids::random_uuid(),
                };
            }
            let describable = pipeline.allows_quietly(
                ctx,
                AclOperation::DescribeConfigs,
                ResourceType::Topic,
                &name,
            );
            if version >= 5 {
                r.num_partitions = if partitions == -1 {
                    state.settings.i64("num.partitions") as i32
                } else {
                    partitions
                };
                r.replication_factor = 1;
                r.configs = Some(
                    config
                        .entries(&state.partitions.settings())
                        .into_iter()
                        .map(|e| {
                            CreatableTopicConfigs::default()
                                .with_name(sb(e.name))
                                .with_value(Some(sb(e.value)))
                                .with_read_only(false)
                                .with_config_source(e.source.code())
                                .with_is_sensitive(false)
                        })
                        .collect(),
                );
            }
            if version >= 5 && !describable {
                // As Kafka: the configs of a topic the principal may not describe stay hidden.
                r.topic_config_error_code = ResponseError::TopicAuthorizationFailed.code();
                r.configs = Some(vec![]);
            }
            r
        }
        Err(e @ TopicError::AlreadyExists(_)) => {
            failed(t, ResponseError::TopicAlreadyExists, e.to_string())
        }
        Err(e) => failed(t, topic_error_code(&e), e.to_string()),
    }
}
