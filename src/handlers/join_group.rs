//! JoinGroup (key 11), v0-9: the classic group protocol's join phase
//! (MEMBER_ID_REQUIRED handshake from v4, static members from v5). The answer
//! waits until the group's rebalance completes.

use super::sb;
use crate::acl::AclOperation;
use crate::groups::classic::JoinRequest;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{ApiKey, JoinGroupRequest, JoinGroupResponse};
use std::sync::Arc;

/// The JoinGroup handler.
pub struct Api;

/// Kafka's client host format.
pub fn client_host(ctx: &RequestContext) -> String {
    format!("/{}", ctx.peer.ip())
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::JoinGroup;
    const VERSIONS: (i16, i16) = (0, 9);
    type Request = JoinGroupRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: JoinGroupRequest,
    ) -> HandlerResult<JoinGroupResponse> {
        let v = ctx.api_version;
        // As Kafka: READ on the group, answered as `JoinGroupRequest.getErrorResponse`.
        if !state
            .pipeline
            .allows_group(&ctx, AclOperation::Read, &req.group_id)
        {
            return Ok(Some(
                JoinGroupResponse::default()
                    .with_error_code(kafka_protocol::ResponseError::GroupAuthorizationFailed.code())
                    .with_generation_id(-1)
                    .with_protocol_name((v < 7).then(|| sb("")))
                    .with_leader(sb(""))
                    .with_member_id(sb("")),
            ));
        }
        state.ensure_group_log().await;
        let join = JoinRequest {
            api_version: v,
            group_id: req.group_id.to_string(),
            member_id: req.member_id.to_string(),
            group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
            client_id: ctx.client_id.clone().unwrap_or_default(),
            client_host: client_host(&ctx),
            protocol_type: req.protocol_type.to_string(),
            protocols: req
                .protocols
                .iter()
                .map(|p| (p.name.to_string(), p.metadata.clone()))
                .collect(),
            session_timeout_ms: req.session_timeout_ms,
            // v0 has no rebalance timeout: Kafka uses the session timeout.
            rebalance_timeout_ms: if v == 0 {
                req.session_timeout_ms
            } else {
                req.rebalance_timeout_ms
            },
        };
        let r = tokio::select! {
            r = state.groups.join_group(join) => r,
            _ = state.shutting_down() => crate::groups::classic::JoinResponse::error(
                kafka_protocol::ResponseError::CoordinatorNotAvailable, &req.member_id),
        };
        let mut resp = JoinGroupResponse::default()
            .with_error_code(r.error)
            .with_generation_id(r.generation_id)
            .with_protocol_name(r.protocol_name.map(sb).or_else(|| (v < 7).then(|| sb(""))))
            .with_leader(sb(r.leader))
            .with_member_id(sb(r.member_id))
            .with_members(
                r.members
                    .into_iter()
                    .map(|m| {
                        JoinGroupResponseMember::default()
                            .with_member_id(sb(m.member_id))
                            .with_group_instance_id(if v >= 5 {
                                m.group_instance_id.map(sb)
                            } else {
                                None
                            })
                            .with_metadata(m.metadata)
                    })
                    .collect(),
            );
        if v >= 7 {
            resp.protocol_type = r.protocol_type.map(sb);
        }
        if v >= 9 {
            resp.skip_assignment = r.skip_assignment;
        }
        Ok(Some(resp))
    }
}
