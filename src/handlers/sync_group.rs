//! SyncGroup (key 14), v0-5: the leader hands in the assignment; every member
//! (the leader included, members without partitions too) gets its own. A
//! follower's answer waits for the leader's.

use super::sb;
use crate::acl::AclOperation;
use crate::groups::classic::{SyncRequest, SyncResponse};
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{ApiKey, SyncGroupRequest, SyncGroupResponse};
use std::sync::Arc;

/// The SyncGroup handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::SyncGroup;
    const VERSIONS: (i16, i16) = (0, 5);
    type Request = SyncGroupRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: SyncGroupRequest,
    ) -> HandlerResult<SyncGroupResponse> {
        if !state
            .pipeline
            .allows_group(&ctx, AclOperation::Read, &req.group_id)
        {
            return Ok(Some(SyncGroupResponse::default().with_error_code(
                kafka_protocol::ResponseError::GroupAuthorizationFailed.code(),
            )));
        }
        let sync = SyncRequest {
            group_id: req.group_id.to_string(),
            generation_id: req.generation_id,
            member_id: req.member_id.to_string(),
            group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
            protocol_type: req.protocol_type.as_ref().map(|s| s.to_string()),
            protocol_name: req.protocol_name.as_ref().map(|s| s.to_string()),
            assignments: req
                .assignments
                .iter()
                .map(|a| (a.member_id.to_string(), a.assignment.clone()))
                .collect(),
        };
        let r = tokio::select! {
            r = state.groups.sync_group(sync) => r,
            _ = state.shutting_down() => SyncResponse::error(kafka_protocol::ResponseError::CoordinatorNotAvailable),
        };
        let mut resp = SyncGroupResponse::default()
            .with_error_code(r.error)
            .with_assignment(r.assignment);
        if ctx.api_version >= 5 {
            resp.protocol_type = r.protocol_type.map(sb);
            resp.protocol_name = r.protocol_name.map(sb);
        }
        Ok(Some(resp))
    }
}
