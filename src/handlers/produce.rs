//! Produce (key 0), v3-13: validate each partition's record set (CRC, format,
//! size; recompressed when the topic's `compression.type` names another codec),
//! append it (idempotent retries answered with their original offsets),
//! and with acks=-1 wait for the fsync the flush policy asks for. acks=0 gets no
//! response at all. Per-partition errors go in the response.

use super::{batch_error_code, sb, topic_name};
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::partitions::{AppendError, Partition, Topic};
use crate::state::BrokerState;
use kafka_protocol::messages::produce_request::TopicProduceData;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;
use weir_storage::batch::iter_batches;
use weir_storage::{AppendOptions, BatchBuilder, BatchError, Compression, TimestampType};

/// The Produce handler.
pub struct Api;

/// Requests carrying at most this many record bytes are appended on the async worker.
const INLINE_APPEND_BYTES: usize = 128 * 1024;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn error_partition(
    index: i32,
    err: ResponseError,
    msg: Option<String>,
    version: i16,
) -> PartitionProduceResponse {
    let mut p = PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(err.code())
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1);
    if version >= 8 {
        p.error_message = msg.map(sb);
    }
    p
}

/// The codec a topic's `compression.type` asks for; `None` = keep the producer's.
fn target_codec(compression_type: &str) -> Option<Compression> {
    match compression_type {
        "uncompressed" => Some(Compression::None),
        "gzip" => Some(Compression::Gzip),
        "snappy" => Some(Compression::Snappy),
        "lz4" => Some(Compression::Lz4),
        "zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

/// Re-encode the batches whose codec differs from `target` (control batches are
/// kept). `None` when every batch already uses it (the common, zero-work case).
fn recompress(records: &[u8], target: Compression) -> Result<Option<Vec<u8>>, BatchError> {
    let mut out = Vec::with_capacity(records.len());
    let mut changed = false;
    for batch in iter_batches(records) {
        let batch = batch?;
        if batch.is_control() || batch.compression()? == target {
            out.extend_from_slice(batch.bytes());
            continue;
        }
        changed = true;
        let mut b = BatchBuilder::new();
        b.base_offset = batch.base_offset();
        b.partition_leader_epoch = batch.partition_leader_epoch();
        b.compression = target;
        b.log_append_time = batch.is_log_append_time();
        b.transactional = batch.is_transactional();
        b.producer_id = batch.producer_id();
        b.producer_epoch = batch.producer_epoch();
        b.base_sequence = batch.base_sequence();
        for r in batch.records()? {
            b.push(r);
        }
        out.extend_from_slice(&b.build()?);
    }
    Ok(changed.then_some(out))
}

/// Check and append one partition's records (blocking: runs off the async workers).
/// Batch structure is checked first. The storage append validates every batch
/// (CRC, record counts) before writing anything, so the CRC is checked here in
/// advance only where something would act on the records before that: the
/// idempotence check (which may answer a retry without appending) and
/// recompression (which decodes the records). The plain case computes the
/// CRC once (it is the largest CPU cost of a produce after the copies), and
/// like Kafka reports an oversized batch before a corrupt one.
fn produce_partition(
    state: &BrokerState,
    topic: &Topic,
    partition: &Partition,
    records: &[u8],
    transactional_id: Option<&str>,
) -> Result<crate::partitions::AppendResult, (ResponseError, String)> {
    let config = topic.config();
    let bad = |e: BatchError| (batch_error_code(&e), e.to_string());
    if records.is_empty() {
        return Err(bad(BatchError::Empty));
    }
    let target = target_codec(&config.compression_type(&state.settings));
    let mut crc_first = target.is_some();
    for batch in iter_batches(records) {
        crc_first |= batch.map_err(bad)?.producer_id() >= 0;
    }
    if crc_first {
        for batch in iter_batches(records) {
            batch.and_then(|b| b.validate_crc()).map_err(bad)?;
        }
    }
    let recompressed = match target {
        Some(target) => recompress(records, target).map_err(bad)?,
        None => None,
    };
    let records = recompressed.as_deref().unwrap_or(records);
    let max = config.max_message_bytes(&state.settings);
    for batch in iter_batches(records) {
        let batch = batch.map_err(bad)?;
        if batch.total_len() as i64 > max {
            return Err((
                ResponseError::MessageTooLarge,
                format!(
                    "batch of {} bytes exceeds max.message.bytes {max}",
                    batch.total_len()
                ),
            ));
        }
    }
    // A compacted topic takes only keyed records (INVALID_RECORD otherwise).
    crate::topic_policy::check_keys(&config, &state.settings, records).map_err(|e| match e {
        crate::topic_policy::PolicyError::KeylessOnCompacted => {
            (ResponseError::InvalidRecord, e.to_string())
        }
        crate::topic_policy::PolicyError::Batch(b) => bad(b),
    })?;
    let opts = AppendOptions {
        log_append_time: (config.timestamp_type(&state.settings) == TimestampType::LogAppendTime)
            .then(now_ms),
        leader_epoch: Some(0),
    };
    // Transactional batches only go to partitions of the producer's ongoing transaction.
    let verify = |pid: i64, epoch: i16| {
        state
            .txn
            .verify_produce(transactional_id, pid, epoch, &topic.name, partition.index)
    };
    partition
        .append_verified(records, opts, &verify)
        .map_err(|e: AppendError| (super::append_error_code(&e), e.to_string()))
}

/// The topic a request entry names: by id from v13, by name before.
fn request_topic(state: &BrokerState, td: &TopicProduceData, version: i16) -> Option<Arc<Topic>> {
    if version >= 13 {
        state.partitions.topic_by_id(td.topic_id)
    } else {
        state.partitions.topic(td.name.0.as_str())
    }
}

/// Whether an append of this request would roll or reopen a segment of any partition.
fn needs_segment_setup(state: &BrokerState, req: &ProduceRequest, version: i16) -> bool {
    req.topic_data.iter().any(|td| {
        request_topic(state, td, version).is_some_and(|t| {
            td.partition_data.iter().any(|pd| {
                let len = pd.records.as_ref().map_or(0, |r| r.len());
                t.partition(pd.index)
                    .is_some_and(|p| p.log.append_needs_setup(len))
            })
        })
    })
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::Produce;
    const VERSIONS: (i16, i16) = (3, 13);
    type Request = ProduceRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ProduceRequest,
    ) -> HandlerResult<ProduceResponse> {
        let version = ctx.api_version;
        let acks = req.acks;
        let transactional_id = req.transactional_id.as_ref().map(|t| t.0.to_string());
        let st = state.clone();
        let size: usize = req
            .topic_data
            .iter()
            .flat_map(|t| &t.partition_data)
            .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
            .sum();
        let inline = size <= INLINE_APPEND_BYTES && !needs_segment_setup(&state, &req, version);
        let append_all = move || {
            let mut to_sync: Vec<(usize, usize, Arc<Partition>, i64)> = Vec::new();
            let mut responses = Vec::with_capacity(req.topic_data.len());
            for td in req.topic_data {
                let topic = request_topic(&st, &td, version);
                let unknown = if version >= 13 {
                    ResponseError::UnknownTopicId
                } else {
                    ResponseError::UnknownTopicOrPartition
                };
                let mut parts = Vec::with_capacity(td.partition_data.len());
                for pd in td.partition_data {
                    let resp = if !(-1..=1).contains(&acks) {
                        error_partition(pd.index, ResponseError::InvalidRequiredAcks, None, version)
                    } else if topic.as_ref().is_some_and(|t| t.internal) {
                        // As Kafka: clients cannot append to internal topics.
                        let msg = "cannot append to an internal topic".to_string();
                        error_partition(
                            pd.index,
                            ResponseError::InvalidTopicException,
                            Some(msg),
                            version,
                        )
                    } else if let Some((t, p)) = topic
                        .as_ref()
                        .and_then(|t| t.partition(pd.index).map(|p| (t, p)))
                    {
                        let records = pd.records.unwrap_or_default();
                        match produce_partition(&st, t, &p, &records, transactional_id.as_deref()) {
                            Ok(r) => {
                                if acks == -1 && !r.duplicate && p.log.flush_due() {
                                    to_sync.push((
                                        responses.len(),
                                        parts.len(),
                                        p.clone(),
                                        r.last_offset,
                                    ));
                                }
                                let mut ok = PartitionProduceResponse::default()
                                    .with_index(pd.index)
                                    .with_error_code(0)
                                    .with_base_offset(r.base_offset)
                                    .with_log_append_time_ms(r.log_append_time);
                                if version >= 5 {
                                    ok.log_start_offset = r.log_start_offset;
                                }
                                ok
                            }
                            Err((err, msg)) => error_partition(pd.index, err, Some(msg), version),
                        }
                    } else {
                        error_partition(pd.index, unknown, None, version)
                    };
                    parts.push(resp);
                }
                let mut tr = TopicProduceResponse::default().with_partition_responses(parts);
                if version >= 13 {
                    tr.topic_id = td.topic_id;
                } else {
                    tr.name = topic_name(td.name.0.as_str());
                }
                responses.push(tr);
            }
            (responses, to_sync)
        };
        // A small request (a lingering producer's batch) is appended right here: a page-cache
        // write of a few tens of KiB costs less than handing it to the blocking pool and
        // waking this task again, and that hand-off is most of a tailing consumer's latency.
        // Larger ones (validation, decompression, big copies) and those that would first
        // roll or reopen a segment (file creation) run off the async workers.
        let (responses, to_sync) = if inline {
            append_all()
        } else {
            blocking(append_all).await?
        };

        let mut responses = responses;
        if !to_sync.is_empty() {
            // Group commit: one blocking task fsyncs every partition that needs it.
            let synced = blocking(move || {
                to_sync
                    .into_iter()
                    .map(|(t, i, p, off)| (t, i, p.log.sync_to(off)))
                    .collect::<Vec<_>>()
            })
            .await?;
            for (t, i, result) in synced {
                if let Err(e) = result {
                    let pr = &mut responses[t].partition_responses[i];
                    *pr = error_partition(
                        pr.index,
                        ResponseError::KafkaStorageError,
                        Some(e.to_string()),
                        version,
                    );
                }
            }
        }
        if acks == 0 {
            return Ok(None);
        }
        Ok(Some(ProduceResponse::default().with_responses(responses)))
    }
}
