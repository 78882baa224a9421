//! DeleteAcls (key 31), v0-3 (v0 through codec::legacy): remove the ACL bindings each filter matches, as
//! Kafka's `AclApis`: CLUSTER ALTER needed (CLUSTER_AUTHORIZATION_FAILED for
//! every filter), SECURITY_DISABLED without an authorizer, INVALID_REQUEST for
//! a filter with unknown values; the removal is persisted and takes effect at
//! once.

use super::sb;
use crate::acl::{AclBindingFilter, AclOperation, PatternType, PermissionType, ResourceType};
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{ApiKey, DeleteAclsRequest, DeleteAclsResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The DeleteAcls handler.
pub struct Api;

fn filter(f: &DeleteAclsFilter) -> AclBindingFilter {
    AclBindingFilter {
        resource_type: ResourceType::from_code(f.resource_type_filter),
        name: f.resource_name_filter.as_ref().map(|s| s.to_string()),
        pattern_type: PatternType::from_code(f.pattern_type_filter),
        principal: f.principal_filter.as_ref().map(|s| s.to_string()),
        host: f.host_filter.as_ref().map(|s| s.to_string()),
        operation: AclOperation::from_code(f.operation),
        permission: PermissionType::from_code(f.permission_type),
    }
}

fn failed(error: ResponseError, message: &str) -> DeleteAclsFilterResult {
    DeleteAclsFilterResult::default()
        .with_error_code(error.code())
        .with_error_message(Some(sb(message)))
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DeleteAcls;
    const VERSIONS: (i16, i16) = (0, 3);
    type Request = DeleteAclsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DeleteAclsRequest,
    ) -> HandlerResult<DeleteAclsResponse> {
        let all_failed = |error: ResponseError, message: &str| {
            let results = req.filters.iter().map(|_| failed(error, message)).collect();
            Ok(Some(
                DeleteAclsResponse::default().with_filter_results(results),
            ))
        };
        if let Some((error, message)) = super::acl_change_refusal(&state, &ctx) {
            return all_failed(error, message);
        }
        let filters: Vec<AclBindingFilter> = req.filters.iter().map(filter).collect();
        let checks: Vec<Result<(), String>> = filters.iter().map(|f| f.validate()).collect();
        let valid: Vec<AclBindingFilter> = filters
            .into_iter()
            .zip(&checks)
            .filter(|(_, c)| c.is_ok())
            .map(|(f, _)| f)
            .collect();
        let st = state.clone();
        let deleted = blocking(move || match st.pipeline.authorizer().acls() {
            Some(acls) => acls.delete(&valid).map_err(|e| e.to_string()),
            None => Ok(Vec::new()),
        })
        .await?;
        let mut deleted = match deleted {
            Ok(d) => d.into_iter(),
            Err(e) => return all_failed(ResponseError::UnknownServerError, &e),
        };
        let results = checks
            .into_iter()
            .map(|check| match check {
                Err(why) => failed(ResponseError::InvalidRequest, &why),
                Ok(()) => {
                    let matching = deleted
                        .next()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|b| {
                            DeleteAclsMatchingAcl::default()
                                .with_resource_type(b.resource_type.code())
                                .with_resource_name(sb(b.name))
                                .with_pattern_type(b.pattern_type.code())
                                .with_principal(sb(b.principal))
                                .with_host(sb(b.host))
                                .with_operation(b.operation.code())
                                .with_permission_type(b.permission.code())
                        })
                        .collect();
                    DeleteAclsFilterResult::default().with_matching_acls(matching)
                }
            })
            .collect();
        Ok(Some(
            DeleteAclsResponse::default().with_filter_results(results),
        ))
    }
}
