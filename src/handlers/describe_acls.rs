//! DescribeAcls (key 29), v0-3 (v0 through codec::legacy): the ACL bindings a filter matches, grouped by
//! resource pattern, as Kafka's `AclApis`: CLUSTER DESCRIBE needed
//! (CLUSTER_AUTHORIZATION_FAILED), SECURITY_DISABLED without an authorizer,
//! INVALID_REQUEST for a filter with unknown values.

use super::sb;
use crate::acl::{AclBindingFilter, AclOperation, PatternType, PermissionType, ResourceType};
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{ApiKey, DescribeAclsRequest, DescribeAclsResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The DescribeAcls handler.
pub struct Api;

fn error(error: ResponseError, message: &str) -> HandlerResult<DescribeAclsResponse> {
    Ok(Some(
        DescribeAclsResponse::default()
            .with_error_code(error.code())
            .with_error_message(Some(sb(message))),
    ))
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeAcls;
    const VERSIONS: (i16, i16) = (0, 3);
    type Request = DescribeAclsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeAclsRequest,
    ) -> HandlerResult<DescribeAclsResponse> {
        if !state.pipeline.allows_cluster(&ctx, AclOperation::Describe) {
            return error(
                ResponseError::ClusterAuthorizationFailed,
                "Cluster authorization failed.",
            );
        }
        let Some(acls) = state.pipeline.authorizer().acls() else {
            return error(
                ResponseError::SecurityDisabled,
                "No Authorizer is configured on the broker",
            );
        };
        let filter = AclBindingFilter {
            resource_type: ResourceType::from_code(req.resource_type_filter),
            name: req.resource_name_filter.map(|s| s.to_string()),
            pattern_type: PatternType::from_code(req.pattern_type_filter),
            principal: req.principal_filter.map(|s| s.to_string()),
            host: req.host_filter.map(|s| s.to_string()),
            operation: AclOperation::from_code(req.operation),
            permission: PermissionType::from_code(req.permission_type),
        };
        if let Err(why) = filter.validate() {
            return error(ResponseError::InvalidRequest, &why);
        }
        // Sorted by resource pattern: one entry per pattern, its ACLs in order.
        let mut resources: Vec<DescribeAclsResource> = Vec::new();
        for b in acls.describe(&filter) {
            let same = resources.last().is_some_and(|r| {
                r.resource_type == b.resource_type.code()
                    && *r.resource_name == *b.name
                    && r.pattern_type == b.pattern_type.code()
            });
            if !same {
                resources.push(
                    DescribeAclsResource::default()
                        .with_resource_type(b.resource_type.code())
                        .with_resource_name(sb(b.name.clone()))
                        .with_pattern_type(b.pattern_type.code()),
                );
            }
            let r = resources.last_mut().expect("pushed above");
            r.acls.push(
                AclDescription::default()
                    .with_principal(sb(b.principal))
                    .with_host(sb(b.host))
                    .with_operation(b.operation.code())
                    .with_permission_type(b.permission.code()),
            );
        }
        Ok(Some(
            DescribeAclsResponse::default().with_resources(resources),
        ))
    }
}
