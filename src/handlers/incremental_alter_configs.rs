//! IncrementalAlterConfigs (key 44), v0-1: SET (0), DELETE (1), APPEND (2) and
//! SUBTRACT (3) on a topic's config overrides. APPEND/SUBTRACT work on list
//! configs only (`cleanup.policy`), starting from the effective value. Invalid
//! keys or values fail the resource with INVALID_CONFIG naming the key; a key
//! named twice is INVALID_REQUEST. Shares the apply step with AlterConfigs.

use super::alter_configs::{alter_topic, precheck};
use super::describe_configs::config_authorization_error;
use super::sb;
use crate::acl::AclOperation;
use crate::config::broker::Kind;
use crate::config::topic::{topic_key_def, TopicConfig, TopicConfigError};
use crate::config::Settings;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    ApiKey, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use std::sync::Arc;

/// The IncrementalAlterConfigs handler.
pub struct Api;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

fn bad(key: &str, value: &str, reason: impl Into<String>) -> TopicConfigError {
    TopicConfigError::BadValue {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Apply one operation to `next` (`current` gives list values for APPEND/SUBTRACT).
fn apply_op(
    op: &AlterableConfig,
    current: &TopicConfig,
    next: &mut TopicConfig,
    settings: &Settings,
) -> Result<(), TopicConfigError> {
    let key = op.name.as_str();
    let value = op.value.as_ref().map(|v| v.as_str()).unwrap_or("");
    let def = topic_key_def(key).ok_or_else(|| TopicConfigError::UnknownKey(key.to_string()))?;
    match op.config_operation {
        SET => next.set(key, value),
        DELETE => {
            next.remove(key);
            Ok(())
        }
        APPEND | SUBTRACT => {
            if !matches!(def.kind, Kind::List(_)) {
                return Err(bad(
                    key,
                    value,
                    "APPEND and SUBTRACT apply to list configs only",
                ));
            }
            let base = next
                .effective(key, settings)
                .or_else(|| current.effective(key, settings))
                .map(|e| e.value)
                .unwrap_or_default();
            let mut items: Vec<String> = base
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            for v in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if op.config_operation == APPEND {
                    if !items.iter().any(|i| i == v) {
                        items.push(v.to_string());
                    }
                } else {
                    items.retain(|i| i != v);
                }
            }
            next.set(key, &items.join(","))
        }
        other => Err(bad(key, value, format!("unknown config operation {other}"))),
    }
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
                    let outcome = precheck(res.resource_type, &name, keys).or_else(|| {
                        alter_topic(&state, &name, validate_only, |current, next| {
                            for op in &res.configs {
                                apply_op(op, current, next, &state.settings)?;
                            }
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
            IncrementalAlterConfigsResponse::default().with_responses(responses),
        ))
    }
}
