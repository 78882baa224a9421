//! DeleteGroups (key 42), v0-2: deletes empty groups with their committed
//! offsets (NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND if unknown).

use crate::dispatch::{ApiSpec, HandlerFuture, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{ApiKey, DeleteGroupsResponse, RequestKind, ResponseKind};
use std::sync::Arc;

pub const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::DeleteGroups,
    min_version: 0,
    max_version: 2,
    handle,
};

fn handle(state: Arc<BrokerState>, _ctx: RequestContext, req: RequestKind) -> HandlerFuture {
    Box::pin(async move {
        let req = crate::expect_body!(req, DeleteGroups);
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
        Ok(Some(ResponseKind::DeleteGroups(
            DeleteGroupsResponse::default().with_results(results),
        )))
    })
}
