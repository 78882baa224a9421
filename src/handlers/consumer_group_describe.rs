//! ConsumerGroupDescribe (key 69), v0-1: KIP-848 groups with their epochs,
//! assignor, and members' current and target assignments.

use super::{sb, topic_name};
use crate::acl::{AclOperation, ResourceType};
use crate::groups::consumer::TopicCatalog;
use crate::groups::wiring::RegistryCatalog;
use crate::groups::Assignment as GroupAssignment;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse,
};
use kafka_protocol::ResponseError;
use std::sync::Arc;
use uuid::Uuid;

/// The ConsumerGroupDescribe handler.
pub struct Api;

fn assignment(a: GroupAssignment, catalog: &dyn TopicCatalog) -> Assignment {
    Assignment::default().with_topic_partitions(
        a.into_iter()
            .map(|(t, ps)| {
                TopicPartitions::default()
                    .with_topic_id(Uuid::from_u128(t))
                    .with_topic_name(topic_name(&catalog.topic_name(t).unwrap_or_default()))
                    .with_partitions(ps.into_iter().collect())
            })
            .collect(),
    )
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ConsumerGroupDescribe;
    const VERSIONS: (i16, i16) = (0, 1);
    type Request = ConsumerGroupDescribeRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ConsumerGroupDescribeRequest,
    ) -> HandlerResult<ConsumerGroupDescribeResponse> {
        let catalog = RegistryCatalog(&state.partitions);
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
                match state.groups.consumer_describe(id) {
                    Err(code) => {
                        out.error_code = code;
                        out.error_message = Some(sb(format!("Group {} not found.", id.as_str())));
                    }
                    Ok(d) => {
                        out.group_state = sb(d.state);
                        out.group_epoch = d.group_epoch;
                        out.assignment_epoch = d.assignment_epoch;
                        out.assignor_name = sb(d.assignor);
                        out.members = d
                            .members
                            .into_iter()
                            .map(|m| {
                                Member::default()
                                    .with_member_id(sb(m.member_id))
                                    .with_instance_id(m.instance_id.map(sb))
                                    .with_rack_id(m.rack_id.map(sb))
                                    .with_member_epoch(m.member_epoch)
                                    .with_client_id(sb(m.client_id))
                                    .with_client_host(sb(m.client_host))
                                    .with_subscribed_topic_names(
                                        m.subscribed_topic_names
                                            .iter()
                                            .map(|t| topic_name(t))
                                            .collect(),
                                    )
                                    // Kafka's member has "" for no regex.
                                    .with_subscribed_topic_regex(Some(sb(m
                                        .subscribed_topic_regex
                                        .unwrap_or_default())))
                                    .with_assignment(assignment(m.assignment, &catalog))
                                    .with_target_assignment(assignment(
                                        m.target_assignment,
                                        &catalog,
                                    ))
                                    .with_member_type(1)
                            })
                            .collect();
                    }
                }
                out
            })
            .collect();
        Ok(Some(
            ConsumerGroupDescribeResponse::default().with_groups(groups),
        ))
    }
}
