//! LeaveGroup (key 13), v0-5: one member (v0-2) or a batch of members by member
//! id and/or group instance id (v3+) leave; the rest of the group rebalances.

use super::sb;
use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{ApiKey, LeaveGroupRequest, LeaveGroupResponse};
use std::sync::Arc;

/// The LeaveGroup handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::LeaveGroup;
    const VERSIONS: (i16, i16) = (0, 5);
    type Request = LeaveGroupRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: LeaveGroupRequest,
    ) -> HandlerResult<LeaveGroupResponse> {
        if !state
            .pipeline
            .allows_group(&ctx, AclOperation::Read, &req.group_id)
        {
            return Ok(Some(LeaveGroupResponse::default().with_error_code(
                kafka_protocol::ResponseError::GroupAuthorizationFailed.code(),
            )));
        }
        let members: Vec<(String, Option<String>)> = if ctx.api_version >= 3 {
            req.members
                .iter()
                .map(|m| {
                    (
                        m.member_id.to_string(),
                        m.group_instance_id.as_ref().map(|s| s.to_string()),
                    )
                })
                .collect()
        } else {
            vec![(req.member_id.to_string(), None)]
        };
        let mut resp = LeaveGroupResponse::default();
        match state.groups.leave_group(&req.group_id, &members) {
            Err(code) => resp.error_code = code,
            Ok(codes) if ctx.api_version >= 3 => {
                resp.members = members
                    .into_iter()
                    .zip(codes)
                    .map(|((id, inst), code)| {
                        MemberResponse::default()
                            .with_member_id(sb(id))
                            .with_group_instance_id(inst.map(sb))
                            .with_error_code(code)
                    })
                    .collect();
            }
            Ok(codes) => resp.error_code = codes.first().copied().unwrap_or(0),
        }
        Ok(Some(resp))
    }
}
