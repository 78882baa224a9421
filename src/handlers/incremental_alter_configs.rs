//! IncrementalAlterConfigs (key 44), v0-1: SET (0), DELETE (1), APPEND (2) and
//! SUBTRACT (3) on a topic's config overrides, as Kafka's controller applies
//! them: APPEND/SUBTRACT work on list-typed keys only and start from the
//! override, else Kafka's default (SUBTRACT may leave an empty list, which is
//! kept); DELETE of an unset or unknown key succeeds. Invalid keys or values
//! fail the resource with INVALID_CONFIG and Kafka's text; a key named twice,
//! or a null value other than DELETE's, is INVALID_REQUEST. Shares the apply
//! step with AlterConfigs. On a BROKER resource the operations edit that set
//! of dynamic broker configs ([`crate::config::dynamic`]).

use super::alter_configs::{alter_broker, alter_topic, check_broker_values, precheck};
use super::describe_configs::{config_authorization_error, RESOURCE_BROKER, RESOURCE_GROUP};
use super::sb;
use crate::acl::AclOperation;
use crate::config::kafka_broker_keys::kafka_broker_key;
use crate::config::topic::{topic_key_def, TopicConfig, TopicConfigError, LIST};
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    ApiKey, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::ResponseError;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The IncrementalAlterConfigs handler.
pub struct Api;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// Java's `String.split(",")`: trailing empty items dropped (`""` is `[""]`).
fn java_split(value: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = value.split(',').collect();
    if value.is_empty() {
        return parts;
    }
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// APPEND / SUBTRACT as Kafka's `ConfigurationControlManager`: the current
/// value (the override, else Kafka's default) split on ',' without empty
/// items; APPEND adds the items not present, SUBTRACT removes each item once;
/// the result is then checked like a SET.
pub fn append_or_subtract(current: Option<&str>, default: &str, op: i8, value: &str) -> String {
    let base = current.unwrap_or(default);
    let mut items: Vec<&str> = base.split(',').filter(|s| !s.is_empty()).collect();
    for v in java_split(value) {
        if op == APPEND {
            if !items.contains(&v) {
                items.push(v);
            }
        } else if let Some(i) = items.iter().position(|i| *i == v) {
            items.remove(i);
        }
    }
    items.join(",")
}

/// The op name Kafka's messages use.
pub fn op_name(op: i8) -> &'static str {
    match op {
        SET => "SET",
        DELETE => "DELETE",
        APPEND => "APPEND",
        _ => "SUBTRACT",
    }
}

/// Apply one operation to `next`, in request order.
fn apply_op(op: &AlterableConfig, next: &mut TopicConfig) -> Result<(), TopicConfigError> {
    let key = op.name.as_str();
    let value = op.value.as_ref().map(|v| v.as_str()).unwrap_or("");
    match op.config_operation {
        SET => next.set(key, value),
        DELETE => {
            next.remove(key);
            Ok(())
        }
        APPEND | SUBTRACT => {
            let def = topic_key_def(key)
                .filter(|d| d.config_type == LIST)
                .ok_or_else(|| {
                    TopicConfigError::Rejected(format!(
                        "Can't {} to key {key} because its type is not LIST.",
                        op_name(op.config_operation)
                    ))
                })?;
            let current = next.overrides().get(def.name).cloned();
            let joined =
                append_or_subtract(current.as_deref(), def.default, op.config_operation, value);
            next.set(key, &joined)
        }
        other => Err(TopicConfigError::Rejected(format!(
            "Unknown operations type {other}"
        ))),
    }
}

/// Apply one operation to a broker resource's dynamic set, as Kafka's
/// `ConfigAdminManager` prepares it and its controller checks it.
fn apply_broker_op(
    op: &AlterableConfig,
    set: &mut BTreeMap<String, String>,
) -> Result<(), (ResponseError, String)> {
    let key = op.name.as_str();
    let value = op.value.as_deref().unwrap_or("");
    match op.config_operation {
        SET => {
            let checked = check_broker_values([(key, value)])?;
            set.extend(checked);
        }
        DELETE => {
            set.remove(key);
        }
        APPEND | SUBTRACT => {
            let invalid = |m: String| (ResponseError::InvalidConfig, m);
            let def = kafka_broker_key(key)
                .ok_or_else(|| invalid(format!("Unknown config name: {key}")))?;
            if def.config_type != LIST {
                let verb = if op.config_operation == APPEND {
                    "append"
                } else {
                    "subtract"
                };
                return Err(invalid(format!(
                    "Config value {verb} is not allowed for config key: {key}"
                )));
            }
            let joined = append_or_subtract(
                set.get(key).map(String::as_str),
                def.default.unwrap_or(""),
                op.config_operation,
                value,
            );
            let checked = check_broker_values([(key, joined.as_str())])?;
            set.extend(checked);
        }
        other => {
            return Err((
                ResponseError::InvalidRequest,
                format!("Unknown operations type {other}"),
            ))
        }
    }
    Ok(())
}

/// Kafka's request checks before any resource is touched (`ConfigAdminManager
/// .preprocess`): no key twice, no null value except for DELETE.
pub fn precheck_ops(ops: &[AlterableConfig]) -> Option<(ResponseError, String)> {
    let mut seen = HashSet::new();
    if !ops.iter().all(|o| seen.insert(o.name.as_str())) {
        return Some((
            ResponseError::InvalidRequest,
            "Error due to duplicate config keys".into(),
        ));
    }
    ops.iter()
        .find(|o| o.config_operation != DELETE && o.value.is_none())
        .map(|o| {
            (
                ResponseError::InvalidRequest,
                format!("Null value not supported for : {}", o.name.as_str()),
            )
        })
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::IncrementalAlterConfigs;
    const VERSIONS: (i16, i16) = (0, 1);
    type Request = IncrementalAlterConfigsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: IncrementalAlterConfigsRequest,
    ) -> HandlerResult<IncrementalAlterConfigsResponse> {
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
                    let outcome = if res.resource_type == RESOURCE_GROUP {
                        precheck_ops(&res.configs).or_else(|| {
                            super::group_configs::alter(&state, &name, validate_only, &res.configs)
                        })
                    } else {
                        precheck_ops(&res.configs)
                            .or_else(|| precheck(res.resource_type, &name, keys))
                            .or_else(|| {
                                if res.resource_type == RESOURCE_BROKER {
                                    return alter_broker(&state, &name, validate_only, |set| {
                                        for op in &res.configs {
                                            apply_broker_op(op, set)?;
                                        }
                                        Ok(())
                                    });
                                }
                                alter_topic(&state, &name, validate_only, |_, next| {
                                    for op in &res.configs {
                                        apply_op(op, next)?;
                                    }
                                    Ok(())
                                })
                            })
                    };
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
            IncrementalAlterConfigsResponse::default().with_responses(responses),
        ))
    }
}
