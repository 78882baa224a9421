//! DeleteGroups (key 42), v0-2: deletes empty groups with their committed
//! offsets (NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND if unknown).

use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{ApiKey, DeleteGroupsRequest, DeleteGroupsResponse};
use std::sync::Arc;

/// The DeleteGroups handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DeleteGroups;
    const VERSIONS: (i16, i16) = (0, 2);
    type Request = DeleteGroupsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DeleteGroupsRequest,
    ) -> HandlerResult<DeleteGroupsResponse> {
        // As Kafka: DELETE on each group; the others are not touched.
        let allowed: Vec<bool> = req
            .groups_names
            .iter()
            .map(|g| state.pipeline.allows_group(&ctx, AclOperation::Delete, g))
            .collect();
        let ids: Vec<String> = req
            .groups_names
            .iter()
            .zip(&allowed)
            .filter(|(_, ok)| **ok)
            .map(|(g, _)| g.to_string())
            .collect();
        let mut codes = state.groups.delete_groups(&ids).await.into_iter();
        let results = req
            .groups_names
            .into_iter()
            .zip(allowed)
            .map(|(g, ok)| {
                let code = if ok {
                    codes.next().unwrap_or_default()
                } else {
                    kafka_protocol::ResponseError::GroupAuthorizationFailed.code()
                };
                DeletableGroupResult::default()
                    .with_group_id(g)
                    .with_error_code(code)
            })
            .collect();
        Ok(Some(DeleteGroupsResponse::default().with_results(results)))
    }
}
