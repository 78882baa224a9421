//! DescribeTransactions (key 65), v0: per transactional id its state, timeout,
//! start time (-1 when no transaction is ongoing), producer id and epoch, and
//! the partitions of the current transaction; an unknown id is
//! TRANSACTIONAL_ID_NOT_FOUND with every other field at its schema default, as
//! Kafka answers it.

use super::{sb, topic_name};
use crate::acl::{AclOperation, ResourceType};
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    ApiKey, DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId,
};
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The DescribeTransactions handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeTransactions;
    const VERSIONS: (i16, i16) = (0, 0);
    type Request = DescribeTransactionsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeTransactionsRequest,
    ) -> HandlerResult<DescribeTransactionsResponse> {
        let states = req
            .transactional_ids
            .into_iter()
            .map(|tid| match state.txn.describe(tid.0.as_str()) {
                // As Kafka: DESCRIBE on the transactional id; only the topics the
                // principal may DESCRIBE are listed.
                _ if !state.pipeline.allows_transactional_id(
                    &ctx,
                    AclOperation::Describe,
                    &tid.0,
                ) =>
                {
                    TransactionState::default()
                        .with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code())
                        .with_transactional_id(tid)
                }
                // As Kafka: only the error and the id; every other field keeps its
                // schema default (producer id, epoch and start time 0, state "").
                None => TransactionState::default()
                    .with_error_code(ResponseError::TransactionalIdNotFound.code())
                    .with_transactional_id(tid),
                Some(m) => {
                    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
                    for (t, p) in m.partitions.iter().filter(|(t, _)| {
                        state.pipeline.allows_quietly(
                            &ctx,
                            AclOperation::Describe,
                            ResourceType::Topic,
                            t,
                        )
                    }) {
                        by_topic.entry(t.as_str()).or_default().push(*p);
                    }
                    let topics = by_topic
                        .into_iter()
                        .map(|(t, ps)| {
                            TopicData::default()
                                .with_topic(topic_name(t))
                                .with_partitions(ps)
                        })
                        .collect();
                    TransactionState::default()
                        .with_error_code(0)
                        .with_transactional_id(tid)
                        .with_transaction_state(sb(m.state.name()))
                        .with_transaction_timeout_ms(m.timeout_ms)
                        .with_transaction_start_time_ms(m.start_ms)
                        .with_producer_id(ProducerId(m.producer_id))
                        .with_producer_epoch(m.producer_epoch)
                        .with_topics(topics)
                }
            })
            .collect();
        Ok(Some(
            DescribeTransactionsResponse::default().with_transaction_states(states),
        ))
    }
}
