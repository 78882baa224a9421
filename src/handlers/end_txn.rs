//! EndTxn (key 26), v0-4: commit or abort the ongoing transaction. The outcome
//! is made durable (PrepareCommit / PrepareAbort), the COMMIT / ABORT markers
//! are written to every partition of the transaction, a commit applies the
//! offsets it carries to their groups, and the transaction completes; the
//! answer is sent after that (if a marker cannot be written now, once the
//! outcome is durable: the coordinator finishes it later). v5 (transaction
//! version 2: an epoch bump per transaction) is not served, as weir does not
//! advertise the `transaction.version` feature.

use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{ApiKey, EndTxnRequest, EndTxnResponse};
use std::sync::Arc;

/// The EndTxn handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::EndTxn;
    const VERSIONS: (i16, i16) = (0, 4);
    type Request = EndTxnRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: EndTxnRequest,
    ) -> HandlerResult<EndTxnResponse> {
        let id = req.transactional_id.0.as_str();
        if !state
            .pipeline
            .allows_transactional_id(&ctx, AclOperation::Write, id)
        {
            return Ok(Some(EndTxnResponse::default().with_error_code(
                kafka_protocol::ResponseError::TransactionalIdAuthorizationFailed.code(),
            )));
        }
        state.ensure_txn_log().await;
        let version = ctx.api_version;
        let code = blocking(move || {
            match state.txn.end_txn(
                &*state,
                req.transactional_id.0.as_str(),
                req.producer_id.0,
                req.producer_epoch,
                req.committed,
            ) {
                Ok(()) => 0,
                Err(e) => e.code(version >= 2),
            }
        })
        .await?;
        Ok(Some(EndTxnResponse::default().with_error_code(code)))
    }
}
