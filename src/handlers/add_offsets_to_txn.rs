//! AddOffsetsToTxn (key 25), v0-4: the group's offsets (committed next with
//! TxnOffsetCommit) become part of the ongoing transaction, beginning one if
//! none is. Errors are the coordinator's (PRODUCER_FENCED is
//! INVALID_PRODUCER_EPOCH before v2, KIP-588).

use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, ApiKey};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The AddOffsetsToTxn handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::AddOffsetsToTxn;
    const VERSIONS: (i16, i16) = (0, 4);
    type Request = AddOffsetsToTxnRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: AddOffsetsToTxnRequest,
    ) -> HandlerResult<AddOffsetsToTxnResponse> {
        // As Kafka: WRITE on the transactional id, then READ on the group.
        let p = &state.pipeline;
        let denied = if !p.allows_transactional_id(&ctx, AclOperation::Write, &req.transactional_id)
        {
            Some(ResponseError::TransactionalIdAuthorizationFailed)
        } else if !p.allows_group(&ctx, AclOperation::Read, &req.group_id) {
            Some(ResponseError::GroupAuthorizationFailed)
        } else {
            None
        };
        if let Some(e) = denied {
            return Ok(Some(
                AddOffsetsToTxnResponse::default().with_error_code(e.code()),
            ));
        }
        state.ensure_txn_log().await;
        let version = ctx.api_version;
        let code = blocking(move || {
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
        .await?;
        Ok(Some(
            AddOffsetsToTxnResponse::default().with_error_code(code),
        ))
    }
}
