//! DescribeClientQuotas (key 48), v0-1: the quotas of the entities a filter
//! matches (what `kafka-configs --describe --entity-type users|clients`
//! sends). Filter rules and messages as Kafka's `ClientQuotasImage.describe`:
//! a bad filter is the request's INVALID_REQUEST (an unknown entity type
//! UNSUPPORTED_VERSION) with no entries. DESCRIBE_CONFIGS on the cluster is
//! required (CLUSTER_AUTHORIZATION_FAILED otherwise).

use super::sb;
use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::quota::entity::{Filter, QuotaError};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::{ApiKey, DescribeClientQuotasRequest, DescribeClientQuotasResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The DescribeClientQuotas handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeClientQuotas;
    const VERSIONS: (i16, i16) = (0, 1);
    type Request = DescribeClientQuotasRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeClientQuotasRequest,
    ) -> HandlerResult<DescribeClientQuotasResponse> {
        if !state
            .pipeline
            .allows_cluster(&ctx, AclOperation::DescribeConfigs)
        {
            return Ok(Some(error(
                ResponseError::ClusterAuthorizationFailed,
                "Cluster authorization failed.".to_string(),
            )));
        }
        let components: Vec<(String, i8, Option<String>)> = req
            .components
            .iter()
            .map(|c| {
                (
                    c.entity_type.to_string(),
                    c.match_type,
                    c._match.as_ref().map(|m| m.to_string()),
                )
            })
            .collect();
        let filter = match Filter::new(&components, req.strict) {
            Ok(f) => f,
            Err(e) => {
                let code = match e {
                    QuotaError::UnsupportedVersion(_) => ResponseError::UnsupportedVersion,
                    _ => ResponseError::InvalidRequest,
                };
                return Ok(Some(error(code, e.to_string())));
            }
        };
        let entries = state
            .quotas
            .describe(&filter)
            .into_iter()
            .map(|(entity, values)| {
                EntryData::default()
                    .with_entity(
                        entity
                            .0
                            .into_iter()
                            .map(|(t, n)| {
                                EntityData::default()
                                    .with_entity_type(sb(t))
                                    .with_entity_name(n.map(sb))
                            })
                            .collect(),
                    )
                    .with_values(
                        values
                            .into_iter()
                            .map(|(k, v)| ValueData::default().with_key(sb(k)).with_value(v))
                            .collect(),
                    )
            })
            .collect();
        Ok(Some(
            DescribeClientQuotasResponse::default()
                .with_error_code(0)
                .with_entries(Some(entries)),
        ))
    }

    fn reject(
        _ctx: &RequestContext,
        _req: DescribeClientQuotasRequest,
        why: &crate::handler::Rejection,
    ) -> Option<DescribeClientQuotasResponse> {
        Some(error(
            why.error,
            why.message.clone().unwrap_or_else(|| why.error.to_string()),
        ))
    }
}

fn error(code: ResponseError, message: String) -> DescribeClientQuotasResponse {
    DescribeClientQuotasResponse::default()
        .with_error_code(code.code())
        .with_error_message(Some(sb(message)))
        .with_entries(None)
}
