//! FindCoordinator (key 10), v0-6: this broker is the coordinator of every group
//! and every transactional id (key types 0 and 1), the empty key included (as
//! Kafka 4.x answers it); another key type is INVALID_REQUEST. v4+ answers a
//! batch of keys.

use super::describe_configs::authorization_message;
use super::sb;
use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The FindCoordinator handler.
pub struct Api;

/// Kafka's default message of INVALID_REQUEST (`Errors.INVALID_REQUEST.message()`).
const INVALID_REQUEST_TEXT: &str = "This most likely occurs because of a request being \
    malformed by the client library or the message was sent to an incompatible broker. See \
    the broker logs for more details.";

/// Error (if any) for a key type: Kafka 4.x finds a coordinator for any key
/// of a group (0) or transaction (1), even the empty one.
fn check(key_type: i8) -> Option<ResponseError> {
    match key_type {
        0 | 1 => None,
        _ => Some(ResponseError::InvalidRequest),
    }
}

/// As Kafka: DESCRIBE on the group or transactional id, checked before the key.
fn denied(
    state: &BrokerState,
    ctx: &RequestContext,
    key_type: i8,
    key: &str,
) -> Option<ResponseError> {
    let p = &state.pipeline;
    match key_type {
        0 if !p.allows_group(ctx, AclOperation::Describe, key) => {
            Some(ResponseError::GroupAuthorizationFailed)
        }
        1 if !p.allows_transactional_id(ctx, AclOperation::Describe, key) => {
            Some(ResponseError::TransactionalIdAuthorizationFailed)
        }
        _ => None,
    }
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::FindCoordinator;
    const VERSIONS: (i16, i16) = (0, 6);
    type Request = FindCoordinatorRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: FindCoordinatorRequest,
    ) -> HandlerResult<FindCoordinatorResponse> {
        if req.key_type == 0 {
            state.ensure_group_log().await;
        }
        let advertised = state.advertised_for(&ctx.listener);
        let mut resp = FindCoordinatorResponse::default();
        if ctx.api_version >= 4 {
            resp.coordinators = req
                .coordinator_keys
                .iter()
                .map(|key| match denied(&state, &ctx, req.key_type, key) {
                    Some(e) => Coordinator::default()
                        .with_key(key.clone())
                        .with_node_id(BrokerId(-1))
                        .with_host(sb(""))
                        .with_port(-1)
                        .with_error_code(e.code())
                        .with_error_message(Some(sb(authorization_message(e)))),
                    None => match check(req.key_type) {
                        // Kafka 4.4: INVALID_REQUEST's default text for an unknown
                        // key type; none ("") for the share key type (2) it refuses.
                        Some(e) => Coordinator::default()
                            .with_key(key.clone())
                            .with_node_id(BrokerId(-1))
                            .with_host(sb(""))
                            .with_port(-1)
                            .with_error_code(e.code())
                            .with_error_message(Some(sb(if req.key_type == 2 {
                                ""
                            } else {
                                INVALID_REQUEST_TEXT
                            }))),
                        None => Coordinator::default()
                            .with_key(key.clone())
                            .with_node_id(BrokerId(state.node_id))
                            .with_host(sb(advertised.0.to_string()))
                            .with_port(advertised.1),
                    },
                })
                .collect();
        } else {
            let denied = denied(&state, &ctx, req.key_type, &req.key);
            match denied.or_else(|| check(req.key_type)) {
                Some(e) if denied.is_some() => {
                    resp.error_code = e.code();
                    resp.node_id = BrokerId(-1);
                    resp.host = sb("");
                    resp.port = -1;
                    if ctx.api_version >= 1 {
                        resp.error_message = Some(sb(authorization_message(e)));
                    }
                }
                Some(e) => {
                    resp.error_code = e.code();
                    resp.node_id = BrokerId(-1);
                    resp.host = sb("");
                    resp.port = -1;
                    // Kafka sends `Errors.INVALID_REQUEST.message()`, its default text.
                    if ctx.api_version >= 1 {
                        resp.error_message = Some(sb(match e {
                            ResponseError::InvalidRequest => INVALID_REQUEST_TEXT.to_string(),
                            e => e.to_string(),
                        }));
                    }
                }
                None => {
                    // Kafka's handleFindCoordinatorRequestLessThanV4 sends
                    // `Errors.NONE.message()`, which is the name "NONE"
                    // (v4+ leaves each coordinator's message at its default "").
                    if ctx.api_version >= 1 {
                        resp.error_message = Some(sb("NONE"));
                    }
                    resp.node_id = BrokerId(state.node_id);
                    resp.host = sb(advertised.0.to_string());
                    resp.port = advertised.1;
                }
            }
        }
        Ok(Some(resp))
    }
}
