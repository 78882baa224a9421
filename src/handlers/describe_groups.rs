//! DescribeGroups (key 15), v0-6: a classic group's state, protocol and members
//! with their metadata and assignments. An unknown group is reported as state
//! "Dead" (v0-5) or GROUP_ID_NOT_FOUND (v6), as Kafka does.

use super::sb;
use crate::acl::{AclOperation, ResourceType};
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{ApiKey, DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The DescribeGroups handler.
pub struct Api;

/// Group operations reported when asked (no authorizer): READ, DELETE, DESCRIBE.
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeGroups;
    const VERSIONS: (i16, i16) = (0, 6);
    type Request = DescribeGroupsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeGroupsRequest,
    ) -> HandlerResult<DescribeGroupsResponse> {
        let v = ctx.api_version;
        let groups = req
            .groups
            .iter()
            .map(|id| {
                let mut out = DescribedGroup::default().with_group_id(id.clone());
                if !state
                    .pipeline
                    .allows_group(&ctx, AclOperation::Describe, id)
                {
                    // As Kafka's `DescribeGroupsResponse.groupError`.
                    out.error_code = ResponseError::GroupAuthorizationFailed.code();
                    out.authorized_operations = i32::MIN;
                    return out;
                }
                if v >= 3 && req.include_authorized_operations {
                    out.authorized_operations = state.pipeline.authorized_operations(
                        &ctx,
                        ResourceType::Group,
                        id,
                        GROUP_OPERATIONS,
                    );
                }
                if id.is_empty() {
                    out.error_code = ResponseError::InvalidGroupId.code();
                    return out;
                }
                match state.groups.describe_group(id) {
                    None | Some(Err(())) => {
                        out.group_state = sb("Dead");
                        if v >= 6 {
                            out.error_code = ResponseError::GroupIdNotFound.code();
                            out.error_message =
                                Some(sb(format!("Group {} not found.", id.as_str())));
                        }
                    }
                    Some(Ok(d)) => {
                        out.group_state = sb(d.state);
                        out.protocol_type = sb(d.protocol_type);
                        out.protocol_data = sb(d.protocol);
                        out.members = d
                            .members
                            .into_iter()
                            .map(|m| {
                                DescribedGroupMember::default()
                                    .with_member_id(sb(m.member_id))
                                    .with_group_instance_id(if v >= 4 {
                                        m.group_instance_id.map(sb)
                                    } else {
                                        None
                                    })
                                    .with_client_id(sb(m.client_id))
                                    .with_client_host(sb(m.client_host))
                                    .with_member_metadata(m.metadata)
                                    .with_member_assignment(m.assignment)
                            })
                            .collect();
                    }
                }
                out
            })
            .collect();
        Ok(Some(DescribeGroupsResponse::default().with_groups(groups)))
    }
}
