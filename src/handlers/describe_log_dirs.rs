//! DescribeLogDirs (key 35), v0-4: the one data directory, its total and usable
//! bytes (statvfs), and each partition's size with offset lag 0 (no future
//! replicas on one node), as Kafka's `ReplicaManager.describeLogDirs` answers.

use super::topic_name;
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{ApiKey, DescribeLogDirsRequest, DescribeLogDirsResponse};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The DescribeLogDirs handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeLogDirs;
    const VERSIONS: (i16, i16) = (0, 4);
    type Request = DescribeLogDirsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeLogDirsRequest,
    ) -> HandlerResult<DescribeLogDirsResponse> {
        // As Kafka: DESCRIBE on the cluster, or no results and the error.
        if !state.pipeline.allows_cluster(&ctx, AclOperation::Describe) {
            return Ok(Some(DescribeLogDirsResponse::default().with_error_code(
                kafka_protocol::ResponseError::ClusterAuthorizationFailed.code(),
            )));
        }
        let result = blocking(move || describe(&state, &req)).await?;
        Ok(Some(
            DescribeLogDirsResponse::default()
                .with_error_code(0)
                .with_results(vec![result]),
        ))
    }
}

fn describe(state: &BrokerState, req: &DescribeLogDirsRequest) -> DescribeLogDirsResult {
    let dir = state.store.dir();
    let log_dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut out = DescribeLogDirsResult::default()
        .with_log_dir(super::sb(log_dir.to_string_lossy()))
        .with_error_code(0);
    if state.store.health().offline_reason().is_some() {
        // An offline dir (an I/O error took it out): Kafka's
        // KAFKA_STORAGE_ERROR, no topics.
        out.error_code = kafka_protocol::ResponseError::KafkaStorageError.code();
        return out;
    }
    match state.store.disk_space() {
        Ok((total, usable)) => {
            out.total_bytes = total;
            out.usable_bytes = usable;
        }
        Err(_) => {
            // Kafka reports an unreadable dir as KAFKA_STORAGE_ERROR, no topics.
            out.error_code = kafka_protocol::ResponseError::KafkaStorageError.code();
            return out;
        }
    }
    // null = every partition; else the named ones (unknown ones are left out).
    let wanted: Option<HashSet<(&str, i32)>> = req.topics.as_ref().map(|ts| {
        ts.iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.0.as_str(), *p)))
            .collect()
    });
    // As Kafka 4.4: the partitions the request names (all when null), grouped by
    // topic; a topic none of whose partitions was asked for is left out (seen
    // against Apache Kafka 4.4 in tests/differential, v/DescribeLogDirs).
    let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for topic in state.partitions.topics() {
        let parts = topics.entry(topic.name.clone()).or_default();
        for p in topic.partitions() {
            if wanted
                .as_ref()
                .is_some_and(|w| !w.contains(&(topic.name.as_str(), p.index)))
            {
                continue;
            }
            parts.push(
                DescribeLogDirsPartition::default()
                    .with_partition_index(p.index)
                    .with_partition_size(p.size_bytes() as i64)
                    .with_offset_lag(0)
                    .with_is_future_key(false),
            );
        }
    }
    out.topics = topics
        .into_iter()
        .filter(|(_, partitions)| !partitions.is_empty())
        .map(|(name, partitions)| {
            DescribeLogDirsTopic::default()
                .with_name(topic_name(&name))
                .with_partitions(partitions)
        })
        .collect();
    out
}
