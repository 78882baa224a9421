//! CreateAcls (key 30), v0-3 (v0 through codec::legacy): add ACL bindings, as Kafka's `AclApis`: CLUSTER
//! ALTER needed (CLUSTER_AUTHORIZATION_FAILED for every creation otherwise),
//! SECURITY_DISABLED without an authorizer, INVALID_REQUEST with Kafka's message
//! for a binding Kafka refuses; the valid ones are persisted and take effect
//! at once.

use super::sb;
use crate::acl::{AclBinding, AclOperation, PatternType, PermissionType, ResourceType};
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{ApiKey, CreateAclsRequest, CreateAclsResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The CreateAcls handler.
pub struct Api;

/// The binding a creation asks for.
pub fn binding(c: &AclCreation) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::from_code(c.resource_type),
        name: c.resource_name.to_string(),
        pattern_type: PatternType::from_code(c.resource_pattern_type),
        principal: c.principal.to_string(),
        host: c.host.to_string(),
        operation: AclOperation::from_code(c.operation),
        permission: PermissionType::from_code(c.permission_type),
    }
}

fn failed(error: ResponseError, message: Option<String>) -> AclCreationResult {
    AclCreationResult::default()
        .with_error_code(error.code())
        .with_error_message(message.map(sb))
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::CreateAcls;
    const VERSIONS: (i16, i16) = (0, 3);
    type Request = CreateAclsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: CreateAclsRequest,
    ) -> HandlerResult<CreateAclsResponse> {
        let all_failed = |error: ResponseError, message: &str| {
            let results = req
                .creations
                .iter()
                .map(|_| failed(error, Some(message.to_string())))
                .collect();
            Ok(Some(CreateAclsResponse::default().with_results(results)))
        };
        if let Some((error, message)) = super::acl_change_refusal(&state, &ctx) {
            return all_failed(error, message);
        }
        let bindings: Vec<AclBinding> = req.creations.iter().map(binding).collect();
        let checks: Vec<Result<(), String>> = bindings.iter().map(AclBinding::validate).collect();
        let valid: Vec<AclBinding> = bindings
            .iter()
            .zip(&checks)
            .filter(|(_, c)| c.is_ok())
            .map(|(b, _)| b.clone())
            .collect();
        let st = state.clone();
        let saved = blocking(move || match st.pipeline.authorizer().acls() {
            Some(acls) => acls.create(&valid).map_err(|e| e.to_string()),
            None => Ok(()),
        })
        .await?;
        let results = checks
            .into_iter()
            .map(|check| match (check, &saved) {
                (Err(why), _) => failed(ResponseError::InvalidRequest, Some(why)),
                (Ok(()), Err(e)) => failed(ResponseError::UnknownServerError, Some(e.clone())),
                (Ok(()), Ok(())) => AclCreationResult::default(),
            })
            .collect();
        Ok(Some(CreateAclsResponse::default().with_results(results)))
    }
}
