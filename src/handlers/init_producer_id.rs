//! InitProducerId (key 22), v0-5: an idempotent producer (no transactional id)
//! always gets a fresh producer id with epoch 0 (as Kafka does, also for KIP-360
//! re-initialisation); a transactional id keeps its producer id and gets its
//! epoch bumped (fencing older instances), and a caller that names a stale
//! producer id/epoch is PRODUCER_FENCED.

use crate::dispatch::{ApiSpec, HandlerError, HandlerFuture, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdResponse, ProducerId, RequestKind, ResponseKind,
};
use kafka_protocol::ResponseError;
use std::sync::Arc;

pub const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::InitProducerId,
    min_version: 0,
    max_version: 5,
    handle,
};

fn handle(state: Arc<BrokerState>, _ctx: RequestContext, req: RequestKind) -> HandlerFuture {
    Box::pin(async move {
        let req = crate::expect_body!(req, InitProducerId);
        let max_timeout = state.settings.i64("transaction.max.timeout.ms");
        let resp = tokio::task::spawn_blocking(move || {
            let fail = |e: ResponseError| {
                InitProducerIdResponse::default()
                    .with_error_code(e.code())
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1)
            };
            let ids = &state.producer_ids;
            let result = match req
                .transactional_id
                .as_ref()
                .map(|t| t.0.to_string())
                .filter(|t| !t.is_empty())
            {
                None => ids.allocate().map(|pid| (pid, 0)),
                Some(txn) => {
                    if req.transaction_timeout_ms <= 0
                        || req.transaction_timeout_ms as i64 > max_timeout
                    {
                        return fail(ResponseError::InvalidTransactionTimeout);
                    }
                    if req.producer_id.0 >= 0 {
                        match ids.current_for_transactional_id(&txn) {
                            Some(cur) if cur == (req.producer_id.0, req.producer_epoch) => {}
                            _ => return fail(ResponseError::ProducerFenced),
                        }
                    }
                    ids.for_transactional_id(&txn)
                }
            };
            match result {
                Ok((pid, epoch)) => InitProducerIdResponse::default()
                    .with_error_code(0)
                    .with_producer_id(ProducerId(pid))
                    .with_producer_epoch(epoch),
                Err(e) => {
                    eprintln!("weir: cannot allocate a producer id: {e}");
                    fail(ResponseError::KafkaStorageError)
                }
            }
        })
        .await
        .map_err(|e| HandlerError::Internal(e.to_string()))?;
        Ok(Some(ResponseKind::InitProducerId(resp)))
    })
}
