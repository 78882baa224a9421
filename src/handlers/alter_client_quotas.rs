//! AlterClientQuotas (key 49), v0-1: set or remove quotas of user, client-id
//! (and ip) entities, `<default>` entities included (what `kafka-configs
//! --alter --entity-type users|clients --add-config producer_byte_rate=...`
//! sends). Checked as Kafka's `ClientQuotaControlManager` checks them
//! (INVALID_REQUEST with its messages, per entity); `validate_only` checks
//! without changing. ALTER_CONFIGS on the cluster is required. Persisted by
//! [`crate::quota`] before the answer.

use super::sb;
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::quota::entity::{Entity, QuotaError};
use crate::quota::Alteration;
use crate::state::BrokerState;
use kafka_protocol::messages::alter_client_quotas_response::{EntityData, EntryData};
use kafka_protocol::messages::{AlterClientQuotasRequest, AlterClientQuotasResponse, ApiKey};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The AlterClientQuotas handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::AlterClientQuotas;
    const VERSIONS: (i16, i16) = (0, 1);
    type Request = AlterClientQuotasRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: AlterClientQuotasRequest,
    ) -> HandlerResult<AlterClientQuotasResponse> {
        let alterations: Vec<Alteration> = req
            .entries
            .iter()
            .map(|e| Alteration {
                entity: e
                    .entity
                    .iter()
                    .map(|c| {
                        (
                            c.entity_type.to_string(),
                            c.entity_name.as_ref().map(|n| n.to_string()),
                        )
                    })
                    .collect(),
                ops: e
                    .ops
                    .iter()
                    .map(|o| (o.key.to_string(), (!o.remove).then_some(o.value)))
                    .collect(),
            })
            .collect();
        if !state
            .pipeline
            .allows_cluster(&ctx, AclOperation::AlterConfigs)
        {
            let entries = alterations
                .iter()
                .map(|a| {
                    entry(
                        &Entity(a.entity.iter().cloned().collect()),
                        ResponseError::ClusterAuthorizationFailed.code(),
                        Some("Cluster authorization failed.".to_string()),
                    )
                })
                .collect();
            return Ok(Some(
                AlterClientQuotasResponse::default().with_entries(entries),
            ));
        }
        let validate_only = req.validate_only;
        let quotas = state.quotas.clone();
        let results = blocking(move || quotas.alter(&alterations, validate_only)).await?;
        let entries = results
            .iter()
            .map(|(entity, r)| match r {
                Ok(()) => entry(entity, 0, None),
                Err(e) => {
                    let code = match e {
                        QuotaError::InvalidRequest(_) => ResponseError::InvalidRequest,
                        QuotaError::UnsupportedVersion(_) => ResponseError::UnsupportedVersion,
                        QuotaError::Storage(_) => ResponseError::UnknownServerError,
                    };
                    entry(entity, code.code(), Some(e.to_string()))
                }
            })
            .collect();
        Ok(Some(
            AlterClientQuotasResponse::default().with_entries(entries),
        ))
    }

    fn reject(
        _ctx: &RequestContext,
        req: AlterClientQuotasRequest,
        why: &crate::handler::Rejection,
    ) -> Option<AlterClientQuotasResponse> {
        let entries = req
            .entries
            .iter()
            .map(|e| {
                let entity = Entity(
                    e.entity
                        .iter()
                        .map(|c| {
                            (
                                c.entity_type.to_string(),
                                c.entity_name.as_ref().map(|n| n.to_string()),
                            )
                        })
                        .collect(),
                );
                entry(&entity, why.error.code(), why.message.clone())
            })
            .collect();
        Some(AlterClientQuotasResponse::default().with_entries(entries))
    }
}

fn entry(entity: &Entity, code: i16, message: Option<String>) -> EntryData {
    EntryData::default()
        .with_error_code(code)
        .with_error_message(message.map(sb))
        .with_entity(
            entity
                .0
                .iter()
                .map(|(t, n)| {
                    EntityData::default()
                        .with_entity_type(sb(t.clone()))
                        .with_entity_name(n.clone().map(sb))
                })
                .collect(),
        )
}
