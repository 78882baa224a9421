//! AlterPartitionReassignments (key 45), v0-1: the only valid replica set of a
//! partition is this one broker, which it already has, so reassigning to it
//! succeeds and changes nothing; any other set is refused as Kafka's controller
//! refuses it (`ReplicationControlManager.alterPartitionReassignment`:
//! INVALID_REPLICA_ASSIGNMENT for an empty list, an unregistered broker or a
//! repeated one; INVALID_REPLICATION_FACTOR for another size unless allowed),
//! and cancelling (null replicas) is NO_REASSIGNMENT_IN_PROGRESS.

use super::sb;
use crate::handler::{Handler, HandlerResult, Rejection, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::alter_partition_reassignments_request::ReassignablePartition;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey,
};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The AlterPartitionReassignments handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::AlterPartitionReassignments;
    const VERSIONS: (i16, i16) = (0, 1);
    type Request = AlterPartitionReassignmentsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: AlterPartitionReassignmentsRequest,
    ) -> HandlerResult<AlterPartitionReassignmentsResponse> {
        let responses = req
            .topics
            .iter()
            .map(|t| {
                let name = t.name.0.as_str();
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let r = ReassignablePartitionResponse::default()
                            .with_partition_index(p.partition_index);
                        match reassign(&state, name, p) {
                            Ok(()) => r.with_error_code(0).with_error_message(None),
                            // an empty text is Kafka's null (an error without a message)
                            Err((e, msg)) => r
                                .with_error_code(e.code())
                                .with_error_message((!msg.is_empty()).then(|| sb(msg))),
                        }
                    })
                    .collect();
                ReassignableTopicResponse::default()
                    .with_name(t.name.clone())
                    .with_partitions(partitions)
            })
            .collect();
        let mut resp = AlterPartitionReassignmentsResponse::default()
            .with_error_code(0)
            .with_error_message(None)
            .with_responses(responses);
        if ctx.api_version >= 1 {
            resp.allow_replication_factor_change = req.allow_replication_factor_change;
        }
        Ok(Some(resp))
    }

    fn reject(
        ctx: &RequestContext,
        req: AlterPartitionReassignmentsRequest,
        why: &Rejection,
    ) -> Option<AlterPartitionReassignmentsResponse> {
        let mut resp = AlterPartitionReassignmentsResponse::default()
            .with_error_code(why.error.code())
            .with_error_message(Some(sb(why
                .message
                .clone()
                .unwrap_or_else(|| why.error.to_string()))));
        if ctx.api_version >= 1 {
            resp.allow_replication_factor_change = req.allow_replication_factor_change;
        }
        Some(resp)
    }
}

/// One partition's reassignment: `Ok` = already there (nothing to do).
fn reassign(
    state: &BrokerState,
    topic: &str,
    target: &ReassignablePartition,
) -> Result<(), (ResponseError, String)> {
    let Some(t) = state.partitions.topic(topic) else {
        return Err((
            ResponseError::UnknownTopicOrPartition,
            format!("Unable to find a topic named {topic}."),
        ));
    };
    if t.partition(target.partition_index).is_none() {
        return Err((
            ResponseError::UnknownTopicOrPartition,
            format!(
                "Unable to find partition {topic}:{}.",
                target.partition_index
            ),
        ));
    }
    let Some(replicas) = &target.replicas else {
        // Kafka (ReplicationControlManager.cancelPartitionReassignment): the code only
        return Err((ResponseError::NoReassignmentInProgress, String::new()));
    };
    if replicas.is_empty() {
        return Err((
            ResponseError::InvalidReplicaAssignment,
            "The manual partition assignment includes an empty replica list.".into(),
        ));
    }
    let mut sorted: Vec<i32> = replicas.iter().map(|b| b.0).collect();
    sorted.sort_unstable();
    let mut prev = None;
    for id in sorted {
        if id != state.node_id {
            return Err((
                ResponseError::InvalidReplicaAssignment,
                format!(
                    "The manual partition assignment includes broker {id}, but no such broker is registered."
                ),
            ));
        }
        if prev == Some(id) {
            return Err((
                ResponseError::InvalidReplicaAssignment,
                format!("The manual partition assignment includes the broker {id} more than once."),
            ));
        }
        prev = Some(id);
    }
    // The set is exactly this broker, the current one: the replication factor
    // is unchanged (whatever allow_replication_factor_change says) and there is
    // nothing to move.
    Ok(())
}
