//! WriteTxnMarkers (key 27), v1: write COMMIT / ABORT control batches to the
//! partitions this broker leads, as a transaction coordinator asks a leader.
//! weir's own coordinator writes its markers in-process; clients send this for
//! `Admin.abortTransaction` (`kafka-transactions abort`), which ends a hanging
//! transaction by writing its ABORT marker directly.
//!
//! Per partition, as Kafka's `handleWriteTxnMarkersRequest`: an unknown
//! partition gets UNKNOWN_TOPIC_OR_PARTITION; a marker older than the producer's
//! coordinator epoch on the partition TRANSACTION_COORDINATOR_FENCED; one from an
//! epoch older than the producer's INVALID_PRODUCER_EPOCH; the marker is durable
//! before the answer. v2 (KIP-890's transaction version per marker) is not
//! served, as weir does not finalize `transaction.version` 2.

use super::append_error_code;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext, ThrottleTime};
use crate::state::BrokerState;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{ApiKey, WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The WriteTxnMarkers handler.
pub struct Api;

/// The response has no throttle time (an inter-broker API in Kafka).
impl ThrottleTime for WriteTxnMarkersResponse {
    fn set_throttle_time_ms(&mut self, _ms: i32) {}
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::WriteTxnMarkers;
    const VERSIONS: (i16, i16) = (1, 1);
    type Request = WriteTxnMarkersRequest;

    async fn handle(
        state: Arc<BrokerState>,
        _ctx: RequestContext,
        req: WriteTxnMarkersRequest,
    ) -> HandlerResult<WriteTxnMarkersResponse> {
        let markers = blocking(move || {
            req.markers
                .into_iter()
                .map(|m| {
                    let topics = m
                        .topics
                        .into_iter()
                        .map(|t| {
                            let partitions = t
                                .partition_indexes
                                .iter()
                                .map(|&index| {
                                    let code = write(
                                        &state,
                                        t.name.0.as_str(),
                                        index,
                                        m.producer_id.0,
                                        m.producer_epoch,
                                        m.transaction_result,
                                        m.coordinator_epoch,
                                    );
                                    WritableTxnMarkerPartitionResult::default()
                                        .with_partition_index(index)
                                        .with_error_code(code)
                                })
                                .collect();
                            WritableTxnMarkerTopicResult::default()
                                .with_name(t.name)
                                .with_partitions(partitions)
                        })
                        .collect();
                    WritableTxnMarkerResult::default()
                        .with_producer_id(m.producer_id)
                        .with_topics(topics)
                })
                .collect()
        })
        .await?;
        Ok(Some(
            WriteTxnMarkersResponse::default().with_markers(markers),
        ))
    }
}

/// Write one marker to one partition; the error code for its answer.
fn write(
    state: &BrokerState,
    topic: &str,
    partition: i32,
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
) -> i16 {
    let Some(p) = state.partitions.partition(topic, partition) else {
        return ResponseError::UnknownTopicOrPartition.code();
    };
    let fenced = p
        .producer_state()
        .get(producer_id)
        .is_some_and(|e| e.coordinator_epoch > coordinator_epoch);
    if fenced {
        return ResponseError::TransactionCoordinatorFenced.code();
    }
    match p.append_marker(producer_id, producer_epoch, commit, coordinator_epoch) {
        Ok(offset) => match p.sync_to(offset) {
            Ok(()) => 0,
            Err(e) => {
                tracing::error!("marker on {topic}-{partition} not made durable: {e}");
                ResponseError::KafkaStorageError.code()
            }
        },
        Err(e) => append_error_code(&e).code(),
    }
}
