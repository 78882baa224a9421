//! DeleteGroups (key 42), v0-2: deletes empty groups with their committed
//! offsets (NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND if unknown).

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
        _ctx: RequestContext,
        req: DeleteGroupsRequest,
    ) -> HandlerResult<DeleteGroupsResponse> {
        let ids: Vec<String> = req.groups_names.iter().map(|g| g.to_string()).collect();
        let codes = state.groups.delete_groups(&ids).await;
        let results = req
            .groups_names
            .into_iter()
            .zip(codes)
            .map(|(g, code)| {
                DeletableGroupResult::default()
                    .with_group_id(g)
                    .with_error_code(code)
            })
            .collect();
        Ok(Some(DeleteGroupsResponse::default().with_results(results)))
    }
}
