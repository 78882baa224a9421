//! Metadata (key 3), v0-13: this single broker (node id, advertised host/port) as
//! every partition's leader with epoch 0, the cluster id and controller, topics
//! with their ids; unknown topics are auto-created when both the request and
//! `auto.create.topics.enable` allow it.

use super::{sb, topic_name};
use crate::acl::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::handler::{blocking, Handler, HandlerResult, Rejection, RequestContext};
use crate::partitions::{validate_topic_name, Topic};
use crate::state::BrokerState;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{ApiKey, BrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;
use uuid::Uuid;

/// The Metadata handler.
pub struct Api;

/// Topic operations reported when asked (no authorizer: everything is allowed):
/// READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
pub const TOPIC_OPERATIONS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
/// Cluster operations: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS,
/// ALTER_CONFIGS, IDEMPOTENT_WRITE.
pub const CLUSTER_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

/// One requested topic.
enum Wanted {
    Name(String),
    Id(Uuid),
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::Metadata;
    const VERSIONS: (i16, i16) = (0, 13);
    type Request = MetadataRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: MetadataRequest,
    ) -> HandlerResult<MetadataResponse> {
        let version = ctx.api_version;
        // v0: an empty list means all topics; v1+: null means all.
        let wanted: Option<Vec<Wanted>> = match req.topics {
            None => None,
            Some(t) if t.is_empty() && version == 0 => None,
            Some(t) => Some(
                t.into_iter()
                    .map(|t| match t.name {
                        _ if version >= 10 && !t.topic_id.is_nil() => Wanted::Id(t.topic_id),
                        Some(n) => Wanted::Name(n.0.to_string()),
                        None => Wanted::Id(t.topic_id),
                    })
                    .collect(),
            ),
        };
        let allow_auto = version < 4 || req.allow_auto_topic_creation;
        let with_topic_ops = version >= 8 && req.include_topic_authorized_operations;
        let st = state.clone();
        let c = ctx.clone();
        let topics =
            blocking(move || collect_topics(&st, &c, wanted, allow_auto, version, with_topic_ops))
                .await?;

        let mut resp = MetadataResponse::default()
            .with_brokers(vec![MetadataResponseBroker::default()
                .with_node_id(BrokerId(state.node_id))
                .with_host(sb(state.advertised_host.clone()))
                .with_port(state.advertised_port)])
            .with_topics(topics);
        if version >= 1 {
            resp.controller_id = BrokerId(state.node_id);
        }
        if version >= 2 {
            resp.cluster_id = Some(sb(state.cluster_id.clone()));
        }
        if (8..=10).contains(&version) && req.include_cluster_authorized_operations {
            resp.cluster_authorized_operations = state.pipeline.authorized_operations(
                &ctx,
                ResourceType::Cluster,
                CLUSTER_NAME,
                CLUSTER_OPERATIONS,
            );
        }
        Ok(Some(resp))
    }

    /// As Kafka's `MetadataRequest.getErrorResponse`: every requested topic
    /// with the error, no brokers.
    fn reject(
        _ctx: &RequestContext,
        req: MetadataRequest,
        why: &Rejection,
    ) -> Option<MetadataResponse> {
        let topics = req
            .topics
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                MetadataResponseTopic::default()
                    .with_error_code(why.error.code())
                    .with_name(Some(t.name.unwrap_or_else(|| topic_name(""))))
                    .with_topic_id(t.topic_id)
                    .with_is_internal(false)
            })
            .collect();
        Some(MetadataResponse::default().with_topics(topics))
    }
}

/// The requested topics, as Kafka answers them: all topics = those the
/// principal may DESCRIBE; a named topic it may not DESCRIBE, or may not CREATE
/// when it would be auto-created, is TOPIC_AUTHORIZATION_FAILED.
fn collect_topics(
    state: &BrokerState,
    ctx: &RequestContext,
    wanted: Option<Vec<Wanted>>,
    allow_auto: bool,
    version: i16,
    with_topic_ops: bool,
) -> Vec<MetadataResponseTopic> {
    let pipeline = &state.pipeline;
    let describe = |t: &Topic| {
        let mut d = describe_topic(state, t, version, with_topic_ops);
        if with_topic_ops {
            d.topic_authorized_operations =
                pipeline.authorized_operations(ctx, ResourceType::Topic, &t.name, TOPIC_OPERATIONS);
        }
        d
    };
    let Some(wanted) = wanted else {
        return state
            .partitions
            .topics()
            .iter()
            .filter(|t| {
                pipeline.allows_quietly(ctx, AclOperation::Describe, ResourceType::Topic, &t.name)
            })
            .map(|t| describe(t))
            .collect();
    };
    let reg = &state.partitions;
    let denied = ResponseError::TopicAuthorizationFailed;
    wanted
        .into_iter()
        .map(|w| match w {
            Wanted::Id(id) => match reg.topic_by_id(id) {
                Some(t) if !pipeline.allows_topic(ctx, AclOperation::Describe, &t.name) => {
                    error_topic(None, id, denied, version)
                }
                Some(t) => describe(&t),
                None => error_topic(None, id, ResponseError::UnknownTopicId, version),
            },
            Wanted::Name(name) => {
                if !pipeline.allows_topic(ctx, AclOperation::Describe, &name) {
                    return error_topic(Some(&name), Uuid::nil(), denied, version);
                }
                if allow_auto
                    && state.settings.bool("auto.create.topics.enable")
                    && reg.topic(&name).is_none()
                    && !pipeline.allows_quietly(
                        ctx,
                        AclOperation::Create,
                        ResourceType::Cluster,
                        CLUSTER_NAME,
                    )
                    && !pipeline.allows_topic(ctx, AclOperation::Create, &name)
                {
                    return error_topic(Some(&name), Uuid::nil(), denied, version);
                }
                if validate_topic_name(&name).is_err() {
                    return error_topic(
                        Some(&name),
                        Uuid::nil(),
                        ResponseError::InvalidTopicException,
                        version,
                    );
                }
                let found = if allow_auto {
                    reg.get_or_auto_create(&name)
                } else {
                    Ok(reg.topic(&name))
                };
                match found {
                    Ok(Some(t)) => describe(&t),
                    Ok(None) => error_topic(
                        Some(&name),
                        Uuid::nil(),
                        ResponseError::UnknownTopicOrPartition,
                        version,
                    ),
                    Err(e) => error_topic(
                        Some(&name),
                        Uuid::nil(),
                        super::topic_error_code(&e),
                        version,
                    ),
                }
            }
        })
        .collect()
}

fn error_topic(
    name: Option<&str>,
    id: Uuid,
    err: ResponseError,
    version: i16,
) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default()
        .with_error_code(err.code())
        .with_name(name.map(topic_name));
    if version >= 10 {
        t.topic_id = id;
    }
    t
}

/// The metadata of one topic: every partition led by this node, epoch 0.
pub fn describe_topic(
    state: &BrokerState,
    topic: &Topic,
    version: i16,
    with_topic_ops: bool,
) -> MetadataResponseTopic {
    let node = BrokerId(state.node_id);
    let partitions = topic
        .partitions()
        .iter()
        .map(|p| {
            let mut mp = MetadataResponsePartition::default()
                .with_error_code(0)
                .with_partition_index(p.index)
                .with_leader_id(node)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node]);
            if version >= 7 {
                mp.leader_epoch = 0;
            }
            mp
        })
        .collect();
    let mut t = MetadataResponseTopic::default()
        .with_error_code(0)
        .with_name(Some(topic_name(&topic.name)))
        .with_is_internal(topic.internal)
        .with_partitions(partitions);
    if version >= 10 {
        t.topic_id = topic.id;
    }
    if with_topic_ops {
        t.topic_authorized_operations = TOPIC_OPERATIONS;
    }
    t
}
