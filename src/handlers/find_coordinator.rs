//! FindCoordinator (key 10), v0-6: this broker is the coordinator of every group
//! and every transactional id (key types 0 and 1); v4+ answers a batch of keys.

use super::sb;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The FindCoordinator handler.
pub struct Api;

/// Error (if any) for one key of a key type.
fn check(key_type: i8, key: &str) -> Option<ResponseError> {
    match key_type {
        0 | 1 if key.is_empty() => Some(ResponseError::InvalidRequest),
        0 | 1 => None,
        _ => Some(ResponseError::InvalidRequest),
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
                .map(|key| match check(req.key_type, key) {
                    Some(e) => Coordinator::default()
                        .with_key(key.clone())
                        .with_node_id(BrokerId(-1))
                        .with_host(sb(""))
                        .with_port(-1)
                        .with_error_code(e.code())
                        .with_error_message(Some(sb(format!(
                            "invalid coordinator key {:?}",
                            key.as_str()
                        )))),
                    None => Coordinator::default()
                        .with_key(key.clone())
                        .with_node_id(BrokerId(state.node_id))
                        .with_host(sb(advertised.0.to_string()))
                        .with_port(advertised.1),
                })
                .collect();
        } else {
            match check(req.key_type, &req.key) {
                Some(e) => {
                    resp.error_code = e.code();
                    resp.node_id = BrokerId(-1);
                    resp.host = sb("");
                    resp.port = -1;
                    if ctx.api_version >= 1 {
                        resp.error_message = Some(sb(e.to_string()));
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
