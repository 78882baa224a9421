//! ElectLeaders (key 43), v0-2: every partition's only replica is its leader, so
//! each known partition is ELECTION_NOT_NEEDED and an unknown one
//! UNKNOWN_TOPIC_OR_PARTITION, with the messages of Kafka's controller
//! (`ReplicationControlManager.electLeaders`). A null partition list elects for
//! every partition and, as Kafka, leaves the not-needed ones out.

use super::{sb, topic_name};
use crate::handler::{Handler, HandlerResult, Rejection, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ApiKey, ElectLeadersRequest, ElectLeadersResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The ElectLeaders handler.
pub struct Api;

/// `election_type`: PREFERRED (the only one of v0) and UNCLEAN.
const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ElectLeaders;
    const VERSIONS: (i16, i16) = (0, 2);
    type Request = ElectLeadersRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ElectLeadersRequest,
    ) -> HandlerResult<ElectLeadersResponse> {
        if !matches!(req.election_type, PREFERRED | UNCLEAN) {
            let msg = format!("Unknown election type {}", req.election_type);
            return Ok(Some(error_response(
                &req,
                ctx.api_version,
                ResponseError::InvalidRequest,
                Some(msg),
            )));
        }
        let results = match &req.topic_partitions {
            None => {
                let mut topics = state.partitions.topics();
                topics.sort_by(|a, b| a.name.cmp(&b.name));
                // Every partition leads already: each topic with no results.
                topics
                    .iter()
                    .map(|t| ReplicaElectionResult::default().with_topic(topic_name(&t.name)))
                    .collect()
            }
            Some(list) => list
                .iter()
                .map(|t| {
                    let name = t.topic.0.as_str();
                    let results = t
                        .partitions
                        .iter()
                        .map(|&p| {
                            let (err, msg) = elect(&state, name, p);
                            PartitionResult::default()
                                .with_partition_id(p)
                                .with_error_code(err.code())
                                .with_error_message(Some(sb(msg)))
                        })
                        .collect();
                    ReplicaElectionResult::default()
                        .with_topic(t.topic.clone())
                        .with_partition_result(results)
                })
                .collect(),
        };
        Ok(Some(
            ElectLeadersResponse::default()
                .with_error_code(0)
                .with_replica_election_results(results),
        ))
    }

    fn reject(
        ctx: &RequestContext,
        req: ElectLeadersRequest,
        why: &Rejection,
    ) -> Option<ElectLeadersResponse> {
        Some(error_response(
            &req,
            ctx.api_version,
            why.error,
            why.message.clone(),
        ))
    }
}

/// The outcome for one partition: on one node its only replica always leads.
fn elect(state: &BrokerState, topic: &str, partition: i32) -> (ResponseError, String) {
    let Some(t) = state.partitions.topic(topic) else {
        return (
            ResponseError::UnknownTopicOrPartition,
            format!("No such topic as {topic}"),
        );
    };
    if t.partition(partition).is_none() {
        return (
            ResponseError::UnknownTopicOrPartition,
            format!("No such partition as {topic}-{partition}"),
        );
    }
    (
        ResponseError::ElectionNotNeeded,
        "Leader election not needed for topic partition.".into(),
    )
}

/// Kafka's `ElectLeadersRequest.getErrorResponse`: the error at the top (v1+,
/// v0 has no such field) and on every requested partition.
fn error_response(
    req: &ElectLeadersRequest,
    version: i16,
    e: ResponseError,
    msg: Option<String>,
) -> ElectLeadersResponse {
    let msg = msg.unwrap_or_else(|| e.to_string());
    let results = req
        .topic_partitions
        .iter()
        .flatten()
        .map(|t| {
            ReplicaElectionResult::default()
                .with_topic(t.topic.clone())
                .with_partition_result(
                    t.partitions
                        .iter()
                        .map(|&p| {
                            PartitionResult::default()
                                .with_partition_id(p)
                                .with_error_code(e.code())
                                .with_error_message(Some(sb(msg.clone())))
                        })
                        .collect(),
                )
        })
        .collect();
    ElectLeadersResponse::default()
        .with_error_code(if version >= 1 { e.code() } else { 0 })
        .with_replica_election_results(results)
}
