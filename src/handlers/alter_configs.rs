//! AlterConfigs (key 33), v0-2: replace a topic's config overrides with the
//! given set (keys not named go back to their defaults, as in Kafka), validated
//! key by key (INVALID_CONFIG naming the key), optionally validate-only.
//! Applied to the live partition logs at once and persisted in the topic
//! registry. Broker resources are not dynamically alterable here
//! (INVALID_REQUEST, as Kafka answers for static-only broker configs).
//! [`alter_topic`] is shared with IncrementalAlterConfigs.

use super::describe_configs::{config_authorization_error, RESOURCE_BROKER, RESOURCE_TOPIC};
use super::{sb, topic_error_code};
use crate::acl::AclOperation;
use crate::config::topic::{TopicConfig, TopicConfigError};
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, ApiKey};
use kafka_protocol::ResponseError;
use std::collections::HashSet;
use std::sync::Arc;

/// The AlterConfigs handler.
pub struct Api;

/// Outcome of altering one resource: `None` = success.
pub type AlterOutcome = Option<(ResponseError, String)>;

/// Build the new config of `topic` with `change` and apply it (unless
/// `validate_only`). `change` gets the current overrides and edits them.
pub fn alter_topic(
    state: &BrokerState,
    topic: &str,
    validate_only: bool,
    change: impl FnOnce(&TopicConfig, &mut TopicConfig) -> Result<(), TopicConfigError>,
) -> AlterOutcome {
    let Some(t) = state.partitions.topic(topic) else {
        return Some((
            ResponseError::UnknownTopicOrPartition,
            format!("unknown topic '{topic}'"),
        ));
    };
    let current = t.config();
    let mut next = current.clone();
    let checked =
        change(&current, &mut next).and_then(|()| next.validate_combination(&state.settings));
    if let Err(e) = checked {
        return Some((ResponseError::InvalidConfig, e.to_string()));
    }
    if validate_only {
        return None;
    }
    match state.partitions.set_topic_config(topic, next) {
        Ok(()) => None,
        Err(e) => Some((topic_error_code(&e), e.to_string())),
    }
}

/// The error for resource types that cannot be altered here.
pub fn unsupported_resource(resource_type: i8, name: &str) -> (ResponseError, String) {
    if resource_type == RESOURCE_BROKER {
        (
            ResponseError::InvalidRequest,
            format!("broker '{name}' configs are static in weir (set them with --set at start-up)"),
        )
    } else {
        (
            ResponseError::InvalidRequest,
            format!("unsupported resource type {resource_type}"),
        )
    }
}

/// The checks both AlterConfigs and IncrementalAlterConfigs make before touching
/// a resource: only topics are alterable, and no key may be named twice.
pub fn precheck<'a>(
    resource_type: i8,
    name: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> Option<(ResponseError, String)> {
    if resource_type != RESOURCE_TOPIC {
        return Some(unsupported_resource(resource_type, name));
    }
    let mut seen = HashSet::new();
    keys.into_iter().find(|k| !seen.insert(*k)).map(|k| {
        (
            ResponseError::InvalidRequest,
            format!("duplicate config key '{k}' in the request"),
        )
    })
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::AlterConfigs;
    const VERSIONS: (i16, i16) = (0, 2);
    type Request = AlterConfigsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: AlterConfigsRequest,
    ) -> HandlerResult<AlterConfigsResponse> {
        let validate_only = req.validate_only;
        let responses = blocking(move || {
            req.resources
                .into_iter()
                .map(|res| {
                    let name = res.resource_name.to_string();
                    let op = AclOperation::AlterConfigs;
                    if let Some(err) =
                        config_authorization_error(&state, &ctx, op, res.resource_type, &name)
                    {
                        // As Kafka: the error with a null message.
                        return AlterConfigsResourceResponse::default()
                            .with_resource_type(res.resource_type)
                            .with_resource_name(res.resource_name)
                            .with_error_code(err.code())
                            .with_error_message(None);
                    }
                    let keys = res.configs.iter().map(|c| c.name.as_str());
                    let outcome = precheck(res.resource_type, &name, keys).or_else(|| {
                        alter_topic(&state, &name, validate_only, |_, next| {
                            // Full replacement: start from no overrides.
                            let mut fresh = TopicConfig::default();
                            for c in &res.configs {
                                match &c.value {
                                    Some(v) => fresh.set(&c.name, v)?,
                                    None => {
                                        fresh.remove(&c.name);
                                    }
                                }
                            }
                            *next = fresh;
                            Ok(())
                        })
                    });
                    let mut r = AlterConfigsResourceResponse::default()
                        .with_resource_type(res.resource_type)
                        .with_resource_name(res.resource_name)
                        // Kafka's controller answers ApiError.NONE's null message.
                        .with_error_message(None);
                    if let Some((err, msg)) = outcome {
                        r.error_code = err.code();
                        r.error_message = Some(sb(msg));
                    }
                    r
                })
                .collect::<Vec<_>>()
        })
        .await?;
        Ok(Some(
            AlterConfigsResponse::default().with_responses(responses),
        ))
    }
}
