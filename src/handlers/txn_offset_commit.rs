//! TxnOffsetCommit (key 28), v0-4: offsets committed inside a transaction. The
//! group must have been added with AddOffsetsToTxn (else INVALID_TXN_STATE, v4
//! TRANSACTION_ABORTABLE, as Kafka's verification answers by version); v3+ carries the consumer's
//! generation and member id, checked as OffsetCommit checks them (a producer
//! outside the group sends generation -1 and no member). The offsets stay
//! pending with the transaction: its commit applies them to the group, its
//! abort drops them. A partition that does not exist is
//! UNKNOWN_TOPIC_OR_PARTITION and too much metadata OFFSET_METADATA_TOO_LARGE
//! (the other partitions are still committed); PRODUCER_FENCED is
//! INVALID_PRODUCER_EPOCH before v3 (KIP-588). v5 (transaction version 2) is
//! not served.

use super::topic_name;
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use crate::txn::{PendingOffset, TxnError};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{ApiKey, TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The TxnOffsetCommit handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::TxnOffsetCommit;
    const VERSIONS: (i16, i16) = (0, 4);
    type Request = TxnOffsetCommitRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: TxnOffsetCommitRequest,
    ) -> HandlerResult<TxnOffsetCommitResponse> {
        state.ensure_txn_log().await;
        let version = ctx.api_version;
        let topics = blocking(move || {
            let group = req.group_id.0.to_string();
            let max_metadata = state.groups.config().offset_metadata_max_bytes;
            // As Kafka: WRITE on the transactional id, READ on the group (every
            // partition fails otherwise), READ on each topic.
            let p = &state.pipeline;
            let tid = req.transactional_id.0.as_str();
            let denied_all = if !p.allows_transactional_id(&ctx, AclOperation::Write, tid) {
                Some(ResponseError::TransactionalIdAuthorizationFailed.code())
            } else if !p.allows_group(&ctx, AclOperation::Read, &group) {
                Some(ResponseError::GroupAuthorizationFailed.code())
            } else {
                None
            };
            // Per partition: Ok(offset to commit) or the partition's error.
            let mut checked: Vec<(String, i32, Result<PendingOffset, i16>)> = Vec::new();
            for t in &req.topics {
                let topic = t.name.0.to_string();
                let denied = denied_all.or_else(|| {
                    (!state
                        .pipeline
                        .allows_topic(&ctx, AclOperation::Read, &topic))
                    .then(|| ResponseError::TopicAuthorizationFailed.code())
                });
                for p in &t.partitions {
                    let metadata = p
                        .committed_metadata
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default();
                    let r = if let Some(code) = denied {
                        Err(code)
                    } else if metadata.len() > max_metadata {
                        Err(ResponseError::OffsetMetadataTooLarge.code())
                    } else if state
                        .partitions
                        .partition(&topic, p.partition_index)
                        .is_none()
                    {
                        Err(ResponseError::UnknownTopicOrPartition.code())
                    } else {
                        Ok(PendingOffset {
                            offset: p.committed_offset,
                            leader_epoch: if version >= 2 {
                                p.committed_leader_epoch
                            } else {
                                -1
                            },
                            metadata,
                        })
                    };
                    checked.push((topic.clone(), p.partition_index, r));
                }
            }
            let group_check = state.groups.check_txn_offset_commit(
                &group,
                req.generation_id,
                req.member_id.as_str(),
                req.group_instance_id.as_ref().map(|s| s.as_str()),
            );
            let valid: Vec<_> = checked
                .iter()
                .filter_map(|(t, p, r)| r.as_ref().ok().map(|o| ((t.clone(), *p), o.clone())))
                .collect();
            let common = match group_check {
                Err(code) => code,
                Ok(()) if valid.is_empty() => 0,
                Ok(()) => match state.txn.txn_offset_commit(
                    req.transactional_id.0.as_str(),
                    req.producer_id.0,
                    req.producer_epoch,
                    &group,
                    &valid,
                ) {
                    Ok(()) => 0,
                    // As Kafka's AddPartitionsToTxnManager: a group not in the
                    // transaction fails verification with TRANSACTION_ABORTABLE for
                    // v4 (GENERIC_ERROR_SUPPORTED), INVALID_TXN_STATE before.
                    Err(TxnError::InvalidTxnState(_)) if version >= 4 => {
                        ResponseError::TransactionAbortable.code()
                    }
                    Err(e) => e.code(version >= 3),
                },
            };
            // Group the results back by topic, in request order.
            let mut topics: Vec<TxnOffsetCommitResponseTopic> = Vec::new();
            for (topic, partition, r) in checked {
                let code = match r {
                    Ok(_) => common,
                    Err(code) => code,
                };
                let part = TxnOffsetCommitResponsePartition::default()
                    .with_partition_index(partition)
                    .with_error_code(code);
                match topics.last_mut() {
                    Some(t) if t.name.0.as_str() == topic => t.partitions.push(part),
                    _ => topics.push(
                        TxnOffsetCommitResponseTopic::default()
                            .with_name(topic_name(&topic))
                            .with_partitions(vec![part]),
                    ),
                }
            }
            topics
        })
        .await?;
        Ok(Some(TxnOffsetCommitResponse::default().with_topics(topics)))
    }
}
