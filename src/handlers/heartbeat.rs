//! Heartbeat (key 12), v0-4: keeps a classic member's session alive; answers
//! REBALANCE_IN_PROGRESS while the group rebalances (the member must rejoin).

use crate::dispatch::{ApiSpec, HandlerFuture, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{ApiKey, HeartbeatResponse, RequestKind, ResponseKind};
use std::sync::Arc;

pub const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::Heartbeat,
    min_version: 0,
    max_version: 4,
    handle,
};

fn handle(state: Arc<BrokerState>, _ctx: RequestContext, req: RequestKind) -> HandlerFuture {
    Box::pin(async move {
        let req = crate::expect_body!(req, Heartbeat);
        let code = state.groups.heartbeat(
            &req.group_id,
            &req.member_id,
            req.group_instance_id.as_ref().map(|s| s.as_str()),
            req.generation_id,
        );
        Ok(Some(ResponseKind::Heartbeat(
            HeartbeatResponse::default().with_error_code(code),
        )))
    })
}
