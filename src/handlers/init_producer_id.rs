//! InitProducerId (key 22), v0-5: an idempotent producer (no transactional id)
//! always gets a fresh producer id with epoch 0 (as Kafka does, also for KIP-360
//! re-initialisation); a transactional id goes to the transaction coordinator,
//! which keeps its producer id and bumps its epoch (fencing older instances,
//! after aborting their ongoing transaction). A caller naming a stale producer
//! id/epoch is PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v4, KIP-588); a
//! timeout outside 1..=`transaction.max.timeout.ms` is INVALID_TRANSACTION_TIMEOUT.
//! An empty transactional id ("" rather than null) is INVALID_REQUEST with
//! producer id and epoch -1, as Kafka's TransactionCoordinator answers it.

use crate::acl::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The InitProducerId handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::InitProducerId;
    const VERSIONS: (i16, i16) = (0, 5);
    type Request = InitProducerIdRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: InitProducerIdRequest,
    ) -> HandlerResult<InitProducerIdResponse> {
        // As Kafka: WRITE on the transactional id; without one, IDEMPOTENT_WRITE
        // on the cluster or WRITE on some topic.
        let p = &state.pipeline;
        let denied = match &req.transactional_id {
            Some(id) if !p.allows_transactional_id(&ctx, AclOperation::Write, id) => {
                Some(ResponseError::TransactionalIdAuthorizationFailed)
            }
            Some(_) => None,
            None if !p.authorizer().allows(
                &ctx,
                AclOperation::IdempotentWrite,
                ResourceType::Cluster,
                CLUSTER_NAME,
                false,
            ) && !p.authorizer().allows_any(
                &ctx,
                AclOperation::Write,
                ResourceType::Topic,
            ) =>
            {
                Some(ResponseError::ClusterAuthorizationFailed)
            }
            None => None,
        };
        if let Some(e) = denied {
            return Ok(Some(
                InitProducerIdResponse::default()
                    .with_error_code(e.code())
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1),
            ));
        }
        if req.transactional_id.as_ref().is_some_and(|t| t.is_empty()) {
            return Ok(Some(
                InitProducerIdResponse::default()
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1),
            ));
        }
        let txn_id = req.transactional_id.as_ref().map(|t| t.0.to_string());
        if txn_id.is_some() {
            state.ensure_txn_log().await;
        }
        let version = ctx.api_version;
        let resp = blocking(move || {
            let fail = |code: i16| {
                InitProducerIdResponse::default()
                    .with_error_code(code)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1)
            };
            let result = match txn_id {
                None => state
                    .producer_ids
                    .allocate()
                    .map(|pid| (pid, 0))
                    .map_err(|e| {
                        tracing::error!("cannot allocate a producer id: {e}");
                        ResponseError::KafkaStorageError.code()
                    }),
                Some(txn) => {
                    let expected = (version >= 3 && req.producer_id.0 >= 0)
                        .then_some((req.producer_id.0, req.producer_epoch));
                    state
                        .txn
                        .init_producer_id(&*state, &txn, req.transaction_timeout_ms, expected)
                        .map_err(|e| e.code(version >= 4))
                }
            };
            match result {
                Ok((pid, epoch)) => InitProducerIdResponse::default()
                    .with_error_code(0)
                    .with_producer_id(ProducerId(pid))
                    .with_producer_epoch(epoch),
                Err(code) => fail(code),
            }
        })
        .await?;
        Ok(Some(resp))
    }
}
