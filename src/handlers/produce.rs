//! Produce (key 0), v0-13: v0-2 may carry message sets of magic 0/1, which
//! are first converted to one v2 batch ([`weir_storage::legacy`]); then validate each partition's record set in one pass
//! (`weir_storage::validate`: size, CRC, record counts, keys on compacted
//! topics, timestamps; recompressed when the topic's `compression.type` names
//! another codec), check transactional producers with the coordinator, append
//! through [`Partition::produce`] (idempotent retries answered with their
//! original offsets), and with acks=-1 wait for the fsync the flush policy asks
//! for. The response is built once, after the appends and that fsync. acks=0
//! gets no response at all. Per-partition errors go in the response, with the
//! records at fault named (KIP-467) from v8.

use super::{batch_error_code, sb, topic_name};
use crate::acl::AclOperation;
use crate::config::topic::ResolvedTopicConfig;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::partitions::{AppendError, AppendOutcome, Partition, Topic, TxnVerification};
use crate::producer_state::ProducerError;
use crate::state::BrokerState;
use kafka_protocol::messages::produce_request::TopicProduceData;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::ResponseError;
use std::sync::Arc;
use uuid::Uuid;
use weir_storage::clock::now_ms;
use weir_storage::validate::{
    validate, ProduceRules, RecordError, TimestampBounds, ValidationError,
};
use weir_storage::{AppendOptions, BatchError, BatchHeader, TimestampType};

/// The Produce handler.
pub struct Api;

/// Requests carrying at most this many record bytes are appended on the async worker.
const INLINE_APPEND_BYTES: usize = 128 * 1024;

/// Requests of uncompressed batches that stay uncompressed are appended on the
/// async worker up to this many record bytes: their append is a CRC, a walk over
/// the record headers and a page-cache copy (a few hundred microseconds per MiB,
/// no decompression or recompression), which costs less than the hand-off to the
/// blocking pool and back (two thread wake-ups, a third for an idle worker: most of
/// the broker's futex and epoll calls, ~10% of its CPU per GB produced at 1 MiB
/// requests). Producers' default `max.request.size` (1 MiB) fits.
const INLINE_PLAIN_APPEND_BYTES: usize = 2 * 1024 * 1024;

/// How often a transactional produce asks the coordinator again when a
/// marker lands between the check and the append.
const TXN_VERIFY_ATTEMPTS: usize = 3;

/// Why one partition's produce failed.
struct PartitionError {
    code: ResponseError,
    message: Option<String>,
    /// The records at fault (KIP-467), when the validator named them.
    record_errors: Vec<RecordError>,
    /// The log start offset, reported with record errors (as Kafka), else -1.
    log_start_offset: i64,
}

impl PartitionError {
    fn new(code: ResponseError, message: Option<String>) -> Self {
        PartitionError {
            code,
            message,
            record_errors: Vec::new(),
            log_start_offset: -1,
        }
    }

    /// As Kafka's ReplicaManager: a failed append (sequence, epoch, transaction state)
    /// reports the log start offset and no message (only record validation errors
    /// carry one); a storage failure (KafkaStorageException) reports neither.
    /// A transactional record set that fails its epoch or state check fails in Kafka's
    /// transaction verification, before the log: no log start offset either.
    fn append(e: AppendError, partition: &Partition, transactional: bool) -> Self {
        let before_log = match &e {
            AppendError::Storage(_) => true,
            AppendError::Producer(ProducerError::OutOfOrder { .. }) => false,
            _ => transactional,
        };
        let mut pe = PartitionError::new(super::append_error_code(&e), None);
        if !before_log {
            pe.log_start_offset = partition.log_start_offset();
        }
        pe
    }

    /// Corrupt and oversized batches: the code only (Kafka's CorruptRecordException and
    /// RecordTooLargeException carry no custom message); a batch whose length field runs
    /// past the bytes sent is not a batch at all to Kafka: INVALID_RECORD.
    fn validation(e: ValidationError, partition: &Partition) -> Self {
        match e {
            ValidationError::Batch(BatchError::LengthMismatch { .. }) => {
                PartitionError::new(ResponseError::InvalidRecord, None)
            }
            ValidationError::Batch(b) => PartitionError::new(batch_error_code(&b), None),
            ValidationError::TooLarge { .. } => {
                PartitionError::new(ResponseError::MessageTooLarge, None)
            }
            e @ ValidationError::ControlBatch(_) => {
                PartitionError::new(ResponseError::InvalidRecord, Some(e.to_string()))
            }
            ValidationError::InvalidRecords { errors, message } => PartitionError {
                code: ResponseError::InvalidRecord,
                message: Some(message),
                record_errors: errors,
                log_start_offset: partition.log_start_offset(),
            },
            ValidationError::InvalidTimestamps { errors, message } => PartitionError {
                code: ResponseError::InvalidTimestamp,
                message: Some(message),
                record_errors: errors,
                log_start_offset: partition.log_start_offset(),
            },
        }
    }
}

/// One partition's result, turned into its response once everything is done.
struct PartitionResult {
    index: i32,
    outcome: Result<AppendOutcome, PartitionError>,
    /// With acks=-1, the partition to fsync up to this offset before answering.
    sync: Option<(Arc<Partition>, i64)>,
}

impl PartitionResult {
    fn failed(index: i32, code: ResponseError, message: Option<String>) -> Self {
        PartitionResult {
            index,
            outcome: Err(PartitionError::new(code, message)),
            sync: None,
        }
    }

    fn into_response(self, version: i16) -> PartitionProduceResponse {
        let p = PartitionProduceResponse::default().with_index(self.index);
        match self.outcome {
            Ok(r) => {
                let mut ok = p
                    .with_error_code(0)
                    .with_base_offset(r.base_offset)
                    .with_log_append_time_ms(r.log_append_time);
                if version >= 5 {
                    ok.log_start_offset = r.log_start_offset;
                }
                ok
            }
            Err(e) => {
                let mut p = p
                    .with_error_code(e.code.code())
                    .with_base_offset(-1)
                    .with_log_append_time_ms(-1)
                    .with_log_start_offset(if version >= 5 { e.log_start_offset } else { -1 });
                if version >= 8 {
                    p.error_message = e.message.map(sb);
                    p.record_errors = e
                        .record_errors
                        .into_iter()
                        .map(|r| {
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(r.batch_index)
                                .with_batch_index_error_message(Some(sb(r.message)))
                        })
                        .collect();
                }
                p
            }
        }
    }
}

/// One topic's results, in request order.
struct TopicResult {
    name: TopicName,
    topic_id: Uuid,
    partitions: Vec<PartitionResult>,
}

/// The validator's rules and the append options of a topic's resolved config.
fn produce_rules(config: &ResolvedTopicConfig) -> (ProduceRules, AppendOptions) {
    let log_append_time = config.timestamp_type == TimestampType::LogAppendTime;
    let rules = ProduceRules {
        max_batch_bytes: config.max_message_bytes,
        target_compression: config.compression,
        keys_required: config.compacted,
        log_append_time,
        client: true,
        timestamp_bounds: (!log_append_time).then(|| TimestampBounds {
            now_ms: now_ms(),
            before_max_ms: config.timestamp_before_max_ms,
            after_max_ms: config.timestamp_after_max_ms,
        }),
        compress_options: config.compress_options,
    };
    let opts = AppendOptions {
        log_append_time: log_append_time.then(now_ms),
        leader_epoch: Some(0),
    };
    (rules, opts)
}

/// The transaction coordinator's answer for every transactional producer of
/// the record set (is this partition in its ongoing transaction?).
fn verify_txn(
    state: &BrokerState,
    transactional_id: Option<&str>,
    topic: &Topic,
    partition: &Partition,
    batches: &weir_storage::ValidatedBatches<'_>,
) -> TxnVerification {
    let mut txn = TxnVerification::new(partition.txn_generation());
    for b in batches.batches() {
        if b.transactional && b.producer_id >= 0 && !txn.has(b.producer_id, b.producer_epoch) {
            let answer = state.txn.verify_produce(
                transactional_id,
                b.producer_id,
                b.producer_epoch,
                &topic.name,
                partition.index,
            );
            txn.add(b.producer_id, b.producer_epoch, answer);
        }
    }
    txn
}

/// Validate and append one partition's records (blocking: may run off the
/// async workers).
/// Produce v0-2 may carry a message set of magic 0 or 1: convert it to one v2
/// batch (as Kafka's `LogValidator` does); a bad CRC or layout is
/// CORRUPT_MESSAGE, zstd (which those formats cannot name) UNSUPPORTED_COMPRESSION_TYPE.
fn up_convert(version: i16, records: bytes::Bytes) -> Result<bytes::Bytes, PartitionError> {
    use weir_storage::legacy::{first_magic, up_convert, LegacyError};
    if version >= 3 || first_magic(&records).is_none_or(|m| m >= 2) {
        return Ok(records);
    }
    up_convert(&records).map(Into::into).map_err(|e| {
        let code = match e {
            LegacyError::UnsupportedCodec(_) => ResponseError::UnsupportedCompressionType,
            _ => ResponseError::CorruptMessage,
        };
        PartitionError::new(code, Some(e.to_string()))
    })
}

fn produce_partition(
    state: &BrokerState,
    topic: &Topic,
    partition: &Partition,
    records: &[u8],
    transactional_id: Option<&str>,
) -> Result<AppendOutcome, PartitionError> {
    let (rules, opts) = produce_rules(&topic.resolved());
    let batches = validate(records, &rules, &topic.name, partition.index)
        .map_err(|e| PartitionError::validation(e, partition))?;
    for _ in 0..TXN_VERIFY_ATTEMPTS {
        let txn = verify_txn(state, transactional_id, topic, partition, &batches);
        match partition.produce(&batches, opts, &txn) {
            Err(AppendError::TxnVerificationExpired) => continue,
            other => {
                return other.map_err(|e| {
                    let transactional = batches.batches().iter().any(|b| b.transactional);
                    PartitionError::append(e, partition, transactional)
                })
            }
        }
    }
    Err(PartitionError::append(
        AppendError::TxnVerificationExpired,
        partition,
        true,
    ))
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
                let records = pd.records.as_deref().unwrap_or_default();
                t.partition(pd.index)
                    .is_some_and(|p| p.append_needs_setup(records))
            })
        })
    })
}

/// Whether every record set of the request is uncompressed v2 batches that its
/// topic keeps uncompressed (`compression.type` producer or uncompressed): what
/// the append of such a request costs is bounded by its size (see
/// [`INLINE_PLAIN_APPEND_BYTES`]). Reads each batch's header only.
fn plain_records(state: &BrokerState, req: &ProduceRequest, version: i16) -> bool {
    use weir_storage::Compression;
    version >= 3
        && req.topic_data.iter().all(|td| {
            let recompressed = request_topic(state, td, version).is_some_and(|t| {
                !matches!(t.resolved().compression, None | Some(Compression::None))
            });
            !recompressed
                && td.partition_data.iter().all(|pd| {
                    let records = pd.records.as_deref().unwrap_or_default();
                    weir_storage::batch::iter_batches(records)
                        .all(|b| b.is_ok_and(|b| matches!(b.compression(), Ok(Compression::None))))
                })
        })
}

/// Whether a partition's record set starts with a transactional batch (Kafka's
/// `RequestUtils.hasTransactionalRecords`: the first batch of each partition).
fn has_transactional_records(req: &ProduceRequest) -> bool {
    req.topic_data
        .iter()
        .flat_map(|t| &t.partition_data)
        .filter_map(|p| p.records.as_ref())
        .any(|r| BatchHeader::parse(r).is_ok_and(|h| h.is_transactional()))
}

/// Every partition of the request with `error` (Kafka's `getErrorResponse`).
fn error_response(req: &ProduceRequest, version: i16, error: ResponseError) -> ProduceResponse {
    let responses = req
        .topic_data
        .iter()
        .map(|td| {
            let parts = td
                .partition_data
                .iter()
                .map(|pd| PartitionResult::failed(pd.index, error, None).into_response(version))
                .collect();
            let mut tr = TopicProduceResponse::default().with_partition_responses(parts);
            if version >= 13 {
                tr.topic_id = td.topic_id;
            } else {
                tr.name = td.name.clone();
            }
            tr
        })
        .collect();
    ProduceResponse::default().with_responses(responses)
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::Produce;
    const VERSIONS: (i16, i16) = (0, 13);
    type Request = ProduceRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ProduceRequest,
    ) -> HandlerResult<ProduceResponse> {
        let version = ctx.api_version;
        let acks = req.acks;
        let transactional_id = req.transactional_id.as_ref().map(|t| t.0.to_string());
        // As Kafka: transactional records need WRITE on the transactional id, or
        // the whole request fails.
        if let Some(id) = &transactional_id {
            // The authorizer first: without one, no record set is looked at.
            if !state
                .pipeline
                .allows_transactional_id(&ctx, AclOperation::Write, id)
                && has_transactional_records(&req)
            {
                return Ok((acks != 0).then(|| {
                    error_response(
                        &req,
                        version,
                        ResponseError::TransactionalIdAuthorizationFailed,
                    )
                }));
            }
        }
        let st = state.clone();
        let size: usize = req
            .topic_data
            .iter()
            .flat_map(|t| &t.partition_data)
            .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
            .sum();
        let inline = (size <= INLINE_APPEND_BYTES
            || (size <= INLINE_PLAIN_APPEND_BYTES && plain_records(&state, &req, version)))
            && !needs_segment_setup(&state, &req, version);
        let append_all = move || {
            let mut results = Vec::with_capacity(req.topic_data.len());
            for td in req.topic_data {
                let topic = request_topic(&st, &td, version);
                // WRITE on the topic (an unknown topic id is UNKNOWN_TOPIC_ID).
                let authorized = match &topic {
                    Some(t) => st.pipeline.allows_topic(&ctx, AclOperation::Write, &t.name),
                    None => {
                        version >= 13
                            || st
                                .pipeline
                                .allows_topic(&ctx, AclOperation::Write, &td.name.0)
                    }
                };
                let unknown = if version >= 13 {
                    ResponseError::UnknownTopicId
                } else {
                    ResponseError::UnknownTopicOrPartition
                };
                let mut parts = Vec::with_capacity(td.partition_data.len());
                for pd in td.partition_data {
                    let result = if !(-1..=1).contains(&acks) {
                        PartitionResult::failed(pd.index, ResponseError::InvalidRequiredAcks, None)
                    } else if !authorized {
                        PartitionResult::failed(
                            pd.index,
                            ResponseError::TopicAuthorizationFailed,
                            None,
                        )
                    } else if topic.as_ref().is_some_and(|t| t.internal) {
                        // As Kafka: clients cannot append to internal topics (the
                        // code only, no message, as Kafka 4.4 answers).
                        PartitionResult::failed(
                            pd.index,
                            ResponseError::InvalidTopicException,
                            None,
                        )
                    } else if acks == -1
                        && topic.as_ref().is_some_and(|t| {
                            t.partition(pd.index).is_some() && t.resolved().min_insync_replicas > 1
                        })
                    {
                        // As Kafka's Partition.appendRecordsToLeader: the one replica
                        // (the ISR) is fewer than min.insync.replicas; nothing is written.
                        PartitionResult::failed(pd.index, ResponseError::NotEnoughReplicas, None)
                    } else if let Some((t, p)) = topic
                        .as_ref()
                        .and_then(|t| t.partition(pd.index).map(|p| (t, p)))
                    {
                        let records = pd.records.unwrap_or_default();
                        let outcome = match up_convert(version, records) {
                            Ok(records) => {
                                produce_partition(&st, t, &p, &records, transactional_id.as_deref())
                            }
                            Err(e) => Err(e),
                        };
                        let sync = match &outcome {
                            Ok(r) if acks == -1 && !r.duplicate && p.flush_due() => {
                                Some((p.clone(), r.last_offset))
                            }
                            _ => None,
                        };
                        PartitionResult {
                            index: pd.index,
                            outcome,
                            sync,
                        }
                    } else if topic.is_some() {
                        // a known topic (by name or id) without this partition
                        PartitionResult::failed(
                            pd.index,
                            ResponseError::UnknownTopicOrPartition,
                            None,
                        )
                    } else {
                        PartitionResult::failed(pd.index, unknown, None)
                    };
                    parts.push(result);
                }
                results.push(TopicResult {
                    name: td.name,
                    topic_id: td.topic_id,
                    partitions: parts,
                });
            }
            results
        };
        // A small request (a lingering producer's batch) is appended right here: a page-cache
        // write of a few tens of KiB costs less than handing it to the blocking pool and
        // waking this task again, and that hand-off is most of a tailing consumer's latency.
        // Larger ones (validation, decompression, big copies) and those that would first
        // roll or reopen a segment (file creation) run off the async workers.
        let results = if inline {
            append_all()
        } else {
            blocking(append_all).await?
        };

        let needs_sync = results
            .iter()
            .any(|t| t.partitions.iter().any(|p| p.sync.is_some()));
        let results = if needs_sync {
            // Group commit: one blocking task fsyncs every partition that needs it;
            // a failed fsync fails that partition's produce.
            blocking(move || {
                let mut results = results;
                for r in results.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                    if let Some((p, offset)) = r.sync.take() {
                        if let Err(e) = p.sync_to(offset) {
                            crate::telemetry::storage_error(&e);
                            r.outcome = Err(PartitionError::new(
                                ResponseError::KafkaStorageError,
                                Some(e.to_string()),
                            ));
                        }
                    }
                }
                results
            })
            .await?
        } else {
            results
        };
        if acks == 0 {
            return Ok(None);
        }
        let responses = results
            .into_iter()
            .map(|t| {
                let parts = t
                    .partitions
                    .into_iter()
                    .map(|p| p.into_response(version))
                    .collect();
                let mut tr = TopicProduceResponse::default().with_partition_responses(parts);
                if version >= 13 {
                    tr.topic_id = t.topic_id;
                } else {
                    tr.name = topic_name(t.name.0.as_str());
                }
                tr
            })
            .collect();
        Ok(Some(ProduceResponse::default().with_responses(responses)))
    }
}
