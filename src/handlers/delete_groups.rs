//! DeleteGroups (key 42), v0-2: deletes empty groups with their committed
//! offsets (NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND if unknown);
//! a share group goes with its share-partitions' state.

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
        // Share groups (KIP-932): the group and its share state, while it has no members.
        let (share_ids, ids): (Vec<String>, Vec<String>) =
            ids.into_iter().partition(|g| state.share.has_group(g));
        let mut share_codes = std::collections::HashMap::new();
        for g in &share_ids {
            let code = match state.share.delete_group(g) {
                Ok(_) => 0,
                Err(_) => kafka_protocol::ResponseError::NonEmptyGroup.code(),
            };
            share_codes.insert(g.clone(), code);
        }
        if !share_ids.is_empty() {
            let st = state.clone();
            crate::handler::blocking(move || st.share.persist_all())
                .await?
                .map_err(crate::handler::HandlerError::Internal)?;
        }
        let mut codes = state.groups.delete_groups(&ids).await.into_iter();
        let results = req
            .groups_names
            .into_iter()
            .zip(allowed)
            .map(|(g, ok)| {
                let code = if let Some(c) = share_codes.get(g.as_str()) {
                    *c
                } else if ok {
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
