//! ListTransactions (key 66), v0-2: every transactional id with its producer id
//! and state, filtered by state names (unknown names are echoed in
//! `unknown_state_filters`), producer ids, (v1+) how long the transaction has
//! been running (`duration_filter` ms; only ongoing ones qualify), and (v2) a
//! transactional id regular expression (a bad one is INVALID_REGULAR_EXPRESSION).

use super::sb;
use crate::acl::{AclOperation, ResourceType};
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use crate::txn::TxnState;
use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ApiKey, ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The ListTransactions handler.
pub struct Api;

const STATES: [TxnState; 6] = [
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
];

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ListTransactions;
    const VERSIONS: (i16, i16) = (0, 2);
    type Request = ListTransactionsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ListTransactionsRequest,
    ) -> HandlerResult<ListTransactionsResponse> {
        let pattern = match req
            .transactional_id_pattern
            .as_ref()
            .filter(|p| ctx.api_version >= 2 && !p.is_empty())
        {
            None => None,
            Some(p) => match crate::groups::consumer::compile_regex(p.as_str()) {
                Ok(r) => Some(r),
                Err(_) => {
                    return Ok(Some(
                        ListTransactionsResponse::default()
                            .with_error_code(ResponseError::InvalidRegularExpression.code()),
                    ))
                }
            },
        };
        let mut unknown = Vec::new();
        let mut wanted_states = Vec::new();
        for f in &req.state_filters {
            match STATES.iter().find(|s| s.name() == f.as_str()) {
                Some(s) => wanted_states.push(*s),
                None => unknown.push(f.clone()),
            }
        }
        let now = weir_storage::clock::now_ms();
        let duration = if ctx.api_version >= 1 {
            req.duration_filter
        } else {
            -1
        };
        let states = state
            .txn
            .list()
            .into_iter()
            .filter(|m| req.state_filters.is_empty() || wanted_states.contains(&m.state))
            .filter(|m| {
                req.producer_id_filters.is_empty()
                    || req.producer_id_filters.contains(&ProducerId(m.producer_id))
            })
            .filter(|m| {
                duration < 0 || (m.state == TxnState::Ongoing && now - m.start_ms >= duration)
            })
            .filter(|m| {
                pattern
                    .as_ref()
                    .is_none_or(|r| r.is_match(&m.transactional_id))
            })
            // As Kafka: only the transactional ids the principal may DESCRIBE.
            .filter(|m| {
                state.pipeline.allows_quietly(
                    &ctx,
                    AclOperation::Describe,
                    ResourceType::TransactionalId,
                    &m.transactional_id,
                )
            })
            .map(|m| {
                TransactionState::default()
                    .with_transactional_id(TransactionalId(sb(m.transactional_id)))
                    .with_producer_id(ProducerId(m.producer_id))
                    .with_transaction_state(sb(m.state.name()))
            })
            .collect();
        Ok(Some(
            ListTransactionsResponse::default()
                .with_error_code(0)
                .with_unknown_state_filters(unknown)
                .with_transaction_states(states),
        ))
    }
}
