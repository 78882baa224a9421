//! AlterConfigs (key 33), v0-2: replace a topic's config overrides with the
//! given set (keys not named go back to their defaults, as in Kafka), validated
//! key by key (INVALID_CONFIG naming the key), optionally validate-only.
//! Applied to the live partition logs at once and persisted in the topic
//! registry. A BROKER resource (`"<node id>"` or `""`) replaces that set of
//! dynamic broker configs ([`crate::config::dynamic`]), checked as Kafka's
//! `DynamicBrokerConfig` checks them. [`alter_topic`] and [`alter_broker`]
//! are shared with IncrementalAlterConfigs.

use super::describe_configs::{config_authorization_error, RESOURCE_BROKER, RESOURCE_TOPIC};
use super::{sb, topic_error_code};
use crate::acl::AclOperation;
use crate::config::dynamic::{self, DynamicConfigError, Scope};
use crate::config::kafka_broker_keys::kafka_broker_key;
use crate::config::topic::{TopicConfig, TopicConfigError};
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, ApiKey};
use kafka_protocol::ResponseError;
use std::collections::{BTreeMap, HashSet};
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
            // Kafka's controller text.
            format!("The topic '{topic}' does not exist."),
        ));
    };
    let current = t.config();
    let mut next = current.clone();
    let checked = change(&current, &mut next)
        .and_then(|()| next.validate_combination(&state.partitions.settings()));
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

/// Change the dynamic configs of a BROKER resource (`"<node id>"` or `""`
/// for the cluster default) with `change`, persist them and apply them to
/// the running broker (unless `validate_only`). Kafka answers every refusal
/// on a broker resource with INVALID_REQUEST, except the request checks that
/// `change` flags as INVALID_CONFIG.
pub fn alter_broker(
    state: &BrokerState,
    name: &str,
    validate_only: bool,
    change: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(), (ResponseError, String)>,
) -> AlterOutcome {
    let scope = if name.is_empty() {
        Scope::ClusterDefault
    } else {
        match name.parse::<i32>() {
            Err(_) => {
                return Some((
                    ResponseError::InvalidRequest,
                    format!("Node id must be an integer, but it is: {name}"),
                ))
            }
            Ok(id) if id != state.node_id => {
                return Some((
                    ResponseError::InvalidRequest,
                    format!(
                        "Unexpected broker id, expected {}, but received {name}",
                        state.node_id
                    ),
                ))
            }
            Ok(_) => Scope::Broker,
        }
    };
    let mut current = state.dynamic_configs.lock();
    let mut next = current.clone();
    if let Err(e) = change(next.set_of_mut(scope)) {
        return Some(e);
    }
    if let Err(e) = dynamic::check_elr(scope, current.set_of(scope), next.set_of(scope)) {
        return Some((ResponseError::InvalidConfig, e.0));
    }
    if validate_only {
        return None;
    }
    if let Err(e) = dynamic::save(&state.store, &next) {
        return Some((ResponseError::UnknownServerError, e));
    }
    state
        .partitions
        .set_broker_settings(Arc::new(next.effective(&state.settings)));
    *current = next;
    None
}

/// A dynamic broker config refusal as Kafka answers it.
pub fn broker_refusal(e: DynamicConfigError) -> (ResponseError, String) {
    (ResponseError::InvalidRequest, e.0)
}

/// Check every (key, value) of a request for a broker resource: the
/// read-only keys are named together first, as Kafka does.
pub fn check_broker_values<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<Vec<(String, String)>, (ResponseError, String)> {
    let read_only: Vec<&str> = pairs
        .clone()
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| kafka_broker_key(k).is_some_and(|d| !d.dynamic))
        .collect();
    if !read_only.is_empty() {
        return Err(broker_refusal(dynamic::read_only(&read_only)));
    }
    let keys: Vec<&str> = pairs.clone().into_iter().map(|(k, _)| k).collect();
    if let Some(e) = dynamic::listener_only(&keys) {
        return Err(broker_refusal(e));
    }
    pairs
        .into_iter()
        .map(|(k, v)| Ok((k.to_string(), dynamic::check(k, v).map_err(broker_refusal)?)))
        .collect()
}

/// The checks both AlterConfigs and IncrementalAlterConfigs make before touching
/// a resource: only topics and brokers are alterable, and no key may be named twice.
pub fn precheck<'a>(
    resource_type: i8,
    _name: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> Option<(ResponseError, String)> {
    if resource_type != RESOURCE_TOPIC && resource_type != RESOURCE_BROKER {
        return Some((
            ResponseError::InvalidRequest,
            format!("Unknown resource type {resource_type}"),
        ));
    }
    let mut seen = HashSet::new();
    keys.into_iter().find(|k| !seen.insert(*k)).map(|_| {
        (
            ResponseError::InvalidRequest,
            // Kafka's ConfigAdminManager text (it names no key).
            "Error due to duplicate config keys".to_string(),
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
                    let broker = res.resource_type == RESOURCE_BROKER;
                    let outcome = precheck(res.resource_type, &name, keys).or_else(|| {
                        if broker {
                            // Full replacement of the resource's dynamic set.
                            let pairs = res
                                .configs
                                .iter()
                                .filter_map(|c| Some((c.name.as_str(), c.value.as_deref()?)));
                            return alter_broker(&state, &name, validate_only, |set| {
                                *set = check_broker_values(pairs)?.into_iter().collect();
                                Ok(())
                            });
                        }
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
