//! AddPartitionsToTxn (key 24), v0-5. Clients send v0-3: one transactional id
//! and its partitions, which join the ongoing transaction (beginning one if
//! none is). v4+ is Kafka's broker-to-coordinator form (many transactions, and
//! `verify_only` to check that partitions are in a transaction without adding
//! them); it is served the same way. A partition that does not exist is
//! UNKNOWN_TOPIC_OR_PARTITION and the others of that request
//! OPERATION_NOT_ATTEMPTED, as Kafka answers; coordinator errors (fenced,
//! wrong producer id, concurrent transaction...) go to every partition.

use super::topic_name;
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, TransactionalId,
};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The AddPartitionsToTxn handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::AddPartitionsToTxn;
    const VERSIONS: (i16, i16) = (0, 5);
    type Request = AddPartitionsToTxnRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: AddPartitionsToTxnRequest,
    ) -> HandlerResult<AddPartitionsToTxnResponse> {
        let version = ctx.api_version;
        // As Kafka: the broker-to-coordinator form (v4+) needs CLUSTER_ACTION.
        if version >= 4
            && !state
                .pipeline
                .allows_cluster(&ctx, AclOperation::ClusterAction)
        {
            return Ok(Some(AddPartitionsToTxnResponse::default().with_error_code(
                ResponseError::ClusterAuthorizationFailed.code(),
            )));
        }
        state.ensure_txn_log().await;
        let resp = blocking(move || {
            if version >= 4 {
                let results = req
                    .transactions
                    .into_iter()
                    .map(|t| {
                        let topic_results = one(
                            &state,
                            &ctx,
                            version,
                            &t.transactional_id,
                            t.producer_id.0,
                            t.producer_epoch,
                            t.verify_only,
                            &t.topics,
                        );
                        AddPartitionsToTxnResult::default()
                            .with_transactional_id(t.transactional_id)
                            .with_topic_results(topic_results)
                    })
                    .collect();
                AddPartitionsToTxnResponse::default()
                    .with_error_code(0)
                    .with_results_by_transaction(results)
            } else {
                let results = one(
                    &state,
                    &ctx,
                    version,
                    &req.v3_and_below_transactional_id,
                    req.v3_and_below_producer_id.0,
                    req.v3_and_below_producer_epoch,
                    false,
                    &req.v3_and_below_topics,
                );
                AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results)
            }
        })
        .await?;
        Ok(Some(resp))
    }
}

/// One transaction's partitions: per topic, per partition the error code.
fn one(
    state: &BrokerState,
    ctx: &RequestContext,
    version: i16,
    tid: &TransactionalId,
    producer_id: i64,
    epoch: i16,
    verify_only: bool,
    topics: &[AddPartitionsToTxnTopic],
) -> Vec<AddPartitionsToTxnTopicResult> {
    let wanted: Vec<(String, i32)> = topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.0.to_string(), *p)))
        .collect();
    let exists: Vec<bool> = wanted
        .iter()
        .map(|(t, p)| state.partitions.partition(t, *p).is_some())
        .collect();
    // As Kafka: WRITE on the transactional id (every partition fails
    // otherwise) and on each topic (TOPIC_AUTHORIZATION_FAILED, the others
    // OPERATION_NOT_ATTEMPTED).
    let p = &state.pipeline;
    let txn_allowed = p.allows_transactional_id(ctx, AclOperation::Write, &tid.0);
    let denied: Vec<bool> = wanted
        .iter()
        .map(|(t, _)| txn_allowed && !p.allows_topic(ctx, AclOperation::Write, t))
        .collect();
    let codes: Vec<i16> = if !txn_allowed {
        vec![ResponseError::TransactionalIdAuthorizationFailed.code(); wanted.len()]
    } else if exists.iter().any(|e| !e) || denied.iter().any(|d| *d) {
        exists
            .iter()
            .zip(&denied)
            .map(|(e, d)| {
                if *d {
                    ResponseError::TopicAuthorizationFailed.code()
                } else if *e {
                    ResponseError::OperationNotAttempted.code()
                } else {
                    ResponseError::UnknownTopicOrPartition.code()
                }
            })
            .collect()
    } else if verify_only {
        match state
            .txn
            .verify_partitions(tid.0.as_str(), producer_id, epoch, &wanted)
        {
            Ok(found) => found
                .into_iter()
                .map(|ok| {
                    if ok {
                        0
                    } else {
                        ResponseError::InvalidTxnState.code()
                    }
                })
                .collect(),
            Err(e) => vec![e.code(true); wanted.len()],
        }
    } else {
        let code = match state
            .txn
            .add_partitions(tid.0.as_str(), producer_id, epoch, &wanted)
        {
            Ok(()) => 0,
            Err(e) => e.code(version >= 2),
        };
        vec![code; wanted.len()]
    };
    let mut codes = codes.into_iter();
    topics
        .iter()
        .map(|t| {
            let results = t
                .partitions
                .iter()
                .map(|p| {
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(*p)
                        .with_partition_error_code(codes.next().unwrap_or(0))
                })
                .collect();
            AddPartitionsToTxnTopicResult::default()
                .with_name(topic_name(t.name.0.as_str()))
                .with_results_by_partition(results)
        })
        .collect()
}
