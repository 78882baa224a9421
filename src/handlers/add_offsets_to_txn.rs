//! AddOffsetsToTxn (key 25), v0-4: the group's offsets (committed next with
//! TxnOffsetCommit) become part of the ongoing transaction, beginning one if
//! none is. Errors are the coordinator's (PRODUCER_FENCED is
//! INVALID_PRODUCER_EPOCH before v2, KIP-588).

use crate::dispatch::{ApiSpec, HandlerError, HandlerFuture, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{AddOffsetsToTxnResponse, ApiKey, RequestKind, ResponseKind};
use kafka_protocol::ResponseError;
use std::sync::Arc;

pub const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::AddOffsetsToTxn,
    min_version: 0,
    max_version: 4,
    handle,
};

fn handle(state: Arc<BrokerState>, ctx: RequestContext, req: RequestKind) -> HandlerFuture {
    Box::pin(async move {
        let req = crate::expect_body!(req, AddOffsetsToTxn);
        crate::txn::wiring::ensure_log_for(&state).await;
        let version = ctx.api_version;
        let code = tokio::task::spawn_blocking(move || {
            if req.group_id.0.is_empty() {
                return ResponseError::InvalidGroupId.code();
            }
            match state.txn.add_offsets(
                req.transactional_id.0.as_str(),
                req.producer_id.0,
                req.producer_epoch,
                req.group_id.0.as_str(),
            ) {
                Ok(()) => 0,
                Err(e) => e.code(version >= 2),
            }
        })
        .await
        .map_err(|e| HandlerError::Internal(e.to_string()))?;
        Ok(Some(ResponseKind::AddOffsetsToTxn(
            AddOffsetsToTxnResponse::default().with_error_code(code),
        )))
    })
}
