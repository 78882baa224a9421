//! ListGroups (key 16), v0-5: every group with its protocol type, state (v4+,
//! filterable) and type "classic" / "consumer" / "share" (v5+, filterable).

use super::sb;
use crate::acl::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{ApiKey, GroupId, ListGroupsRequest, ListGroupsResponse};
use std::sync::Arc;

/// The ListGroups handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ListGroups;
    const VERSIONS: (i16, i16) = (0, 5);
    type Request = ListGroupsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ListGroupsRequest,
    ) -> HandlerResult<ListGroupsResponse> {
        let v = ctx.api_version;
        let states: Vec<String> = if v >= 4 {
            req.states_filter.iter().map(|s| s.to_string()).collect()
        } else {
            vec![]
        };
        let types: Vec<String> = if v >= 5 {
            req.types_filter.iter().map(|s| s.to_string()).collect()
        } else {
            vec![]
        };
        let all = state.pipeline.authorizer().allows(
            &ctx,
            AclOperation::Describe,
            ResourceType::Cluster,
            CLUSTER_NAME,
            false,
        );
        // Share groups (KIP-932) live in their own coordinator: protocol type and type "share".
        let share = state
            .share
            .list()
            .into_iter()
            .map(|(id, st)| crate::groups::GroupListing {
                group_id: id,
                protocol_type: "share".into(),
                state: st.into(),
                group_type: "share".into(),
            })
            .filter(|l| {
                states.is_empty() || states.iter().any(|s| s.eq_ignore_ascii_case(&l.state))
            })
            .filter(|l| {
                types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(&l.group_type))
            });
        let groups = state
            .groups
            .list_groups(&states, &types)
            .into_iter()
            .chain(share)
            // As Kafka: every group with DESCRIBE on the cluster, else those with DESCRIBE on them.
            .filter(|g| {
                all || state.pipeline.allows_quietly(
                    &ctx,
                    AclOperation::Describe,
                    ResourceType::Group,
                    &g.group_id,
                )
            })
            .map(|g| {
                let mut l = ListedGroup::default()
                    .with_group_id(GroupId(sb(g.group_id)))
                    .with_protocol_type(sb(g.protocol_type));
                if v >= 4 {
                    l.group_state = sb(g.state);
                }
                if v >= 5 {
                    l.group_type = sb(g.group_type);
                }
                l
            })
            .collect();
        Ok(Some(ListGroupsResponse::default().with_groups(groups)))
    }
}
