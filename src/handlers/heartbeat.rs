//! Heartbeat (key 12), v0-4: keeps a classic member's session alive; answers
//! REBALANCE_IN_PROGRESS while the group rebalances (the member must rejoin).

use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{ApiKey, HeartbeatRequest, HeartbeatResponse};
use std::sync::Arc;

/// The Heartbeat handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::Heartbeat;
    const VERSIONS: (i16, i16) = (0, 4);
    type Request = HeartbeatRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: HeartbeatRequest,
    ) -> HandlerResult<HeartbeatResponse> {
        if !state
            .pipeline
            .allows_group(&ctx, AclOperation::Read, &req.group_id)
        {
            return Ok(Some(HeartbeatResponse::default().with_error_code(
                kafka_protocol::ResponseError::GroupAuthorizationFailed.code(),
            )));
        }
        let code = state.groups.heartbeat(
            &req.group_id,
            &req.member_id,
            req.group_instance_id.as_ref().map(|s| s.as_str()),
            req.generation_id,
        );
        Ok(Some(HeartbeatResponse::default().with_error_code(code)))
    }
}
