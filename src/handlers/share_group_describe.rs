//! ShareGroupDescribe (key 77), v1: share groups with their epoch, the
//! "simple" assignor, and each member's subscription and assignment.

use super::{sb, topic_name};
use crate::acl::{AclOperation, ResourceType};
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::share::group::Assignment as ShareAssignment;
use crate::state::BrokerState;
use kafka_protocol::messages::share_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{ApiKey, ShareGroupDescribeRequest, ShareGroupDescribeResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;
use uuid::Uuid;

/// The ShareGroupDescribe handler.
pub struct Api;

fn assignment(state: &BrokerState, a: &ShareAssignment) -> Assignment {
    Assignment::default().with_topic_partitions(
        a.iter()
            .map(|(t, ps)| {
                let name = state
                    .partitions
                    .topic_by_id(Uuid::from_u128(*t))
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                TopicPartitions::default()
                    .with_topic_id(Uuid::from_u128(*t))
                    .with_topic_name(topic_name(&name))
                    .with_partitions(ps.clone())
            })
            .collect(),
    )
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ShareGroupDescribe;
    const VERSIONS: (i16, i16) = (1, 1);
    type Request = ShareGroupDescribeRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ShareGroupDescribeRequest,
    ) -> HandlerResult<ShareGroupDescribeResponse> {
        let groups = req
            .group_ids
            .iter()
            .map(|id| {
                let mut out = DescribedGroup::default().with_group_id(id.clone());
                if !state
                    .pipeline
                    .allows_group(&ctx, AclOperation::Describe, id)
                {
                    out.error_code = ResponseError::GroupAuthorizationFailed.code();
                    return out;
                }
                if req.include_authorized_operations {
                    out.authorized_operations = state.pipeline.authorized_operations(
                        &ctx,
                        ResourceType::Group,
                        id,
                        (1 << 3) | (1 << 6) | (1 << 8),
                    );
                }
                if id.is_empty() {
                    out.error_code = ResponseError::InvalidGroupId.code();
                    return out;
                }
                match state.share.describe(id) {
                    None => {
                        // As Kafka's shareGroup(): unknown, or owned by another group type.
                        let msg = if state.groups.describe_group(id).is_some() {
                            format!("Group {} is not a share group.", id.as_str())
                        } else {
                            format!("Group {} not found.", id.as_str())
                        };
                        out.error_code = ResponseError::GroupIdNotFound.code();
                        out.error_message = Some(sb(msg));
                        out.group_state = sb("Dead");
                    }
                    Some(g) => {
                        out.group_state = sb(g.state());
                        out.group_epoch = g.group_epoch;
                        out.assignment_epoch = g.group_epoch;
                        out.assignor_name = sb("simple");
                        out.members = g
                            .members
                            .values()
                            .map(|m| {
                                Member::default()
                                    .with_member_id(sb(m.member_id.clone()))
                                    .with_rack_id(m.rack_id.clone().map(sb))
                                    .with_member_epoch(m.member_epoch)
                                    .with_client_id(sb(m.client_id.clone()))
                                    .with_client_host(sb(m.client_host.clone()))
                                    .with_subscribed_topic_names(
                                        m.subscribed.iter().map(|t| topic_name(t)).collect(),
                                    )
                                    .with_assignment(assignment(&state, &m.assignment))
                            })
                            .collect();
                    }
                }
                out
            })
            .collect();
        Ok(Some(
            ShareGroupDescribeResponse::default().with_groups(groups),
        ))
    }
}
