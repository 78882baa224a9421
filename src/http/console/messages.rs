//! A topic's messages for the console: `GET /api/topics/{name}/messages`
//! browses one partition through the Partition API (as Fetch reads it, up to
//! the high watermark; control batches left out), oldest or newest first from
//! an offset or a timestamp, a bounded page at a time; `POST` produces one
//! record through the Produce handler (acks=all).
//!
//! Keys, values and header values go out as base64 with their UTF-8 text when
//! they are text; the page decides how to show them (text, JSON or hex).

use super::{call, context, ApiError, Peer};
use crate::acl::AclOperation;
use crate::http::HttpState;
use crate::partitions::{OffsetSpec, Partition};
use axum::extract::{Path, Query, State};
use axum::Json;
use base64::Engine;
use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};
use weir_storage::batch::iter_batches_lenient;
use weir_storage::{BatchBuilder, Record, RecordHeader};

/// Most records in one page.
pub const MAX_PAGE: usize = 500;
/// Records shown by default.
const DEFAULT_PAGE: usize = 50;
/// Bytes read from the log per step while filling a page.
const READ_STEP: usize = 1 << 20;
/// A field longer than this is cut (the page says so).
const MAX_FIELD: usize = 16 * 1024;

#[derive(Debug, Deserialize)]
pub struct BrowseQuery {
    #[serde(default)]
    partition: i32,
    /// Start (oldest first) or end, exclusive (newest first); default: the
    /// log start or the high watermark.
    offset: Option<i64>,
    /// Start at the first record at or after this time (ms); oldest first.
    timestamp: Option<i64>,
    /// `oldest` (default) or `newest` first.
    order: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct Field {
    /// Whole size in bytes.
    size: usize,
    /// The (possibly cut) bytes, base64.
    base64: String,
    /// The same bytes as text, when they are UTF-8.
    text: Option<String>,
    truncated: bool,
}

fn field(b: &[u8]) -> Field {
    let cut = &b[..b.len().min(MAX_FIELD)];
    let text = match std::str::from_utf8(cut) {
        Ok(t) => Some(t.to_string()),
        // A cut through a multi-byte character is still text.
        Err(e) if cut.len() < b.len() && e.error_len().is_none() => {
            Some(String::from_utf8_lossy(&cut[..e.valid_up_to()]).into_owned())
        }
        Err(_) => None,
    };
    Field {
        size: b.len(),
        base64: base64::engine::general_purpose::STANDARD.encode(cut),
        text,
        truncated: cut.len() < b.len(),
    }
}

#[derive(Debug, Serialize)]
pub struct Message {
    offset: i64,
    timestamp: i64,
    key: Option<Field>,
    value: Option<Field>,
    headers: Vec<(String, Option<Field>)>,
}

#[derive(Debug, Serialize)]
pub struct Page {
    partition: i32,
    log_start_offset: i64,
    high_watermark: i64,
    /// `oldest` or `newest`.
    order: &'static str,
    messages: Vec<Message>,
    /// The `offset` of the next page, if there is one.
    next_offset: Option<i64>,
}

fn message(r: &Record) -> Message {
    Message {
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key.as_deref().map(field),
        value: r.value.as_deref().map(field),
        headers: r
            .headers
            .iter()
            .map(|h| (h.key.clone(), h.value.as_deref().map(field)))
            .collect(),
    }
}

/// Up to `limit` records in `[from, until)`, oldest first.
fn read_forward(
    p: &Partition,
    from: i64,
    until: i64,
    limit: usize,
) -> Result<Vec<Record>, ApiError> {
    let mut out = Vec::new();
    let mut offset = from;
    while offset < until && out.len() < limit {
        let read = p
            .fetch(offset, READ_STEP, Some(until))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut next = offset;
        for batch in iter_batches_lenient(&read.records) {
            next = next.max(batch.last_offset() + 1);
            if batch.is_control() {
                continue;
            }
            let records = batch.records().map_err(|e| {
                ApiError::internal(format!("batch at {}: {e}", batch.base_offset()))
            })?;
            for r in records {
                if r.offset >= offset && r.offset < until && out.len() < limit {
                    out.push(r);
                }
            }
        }
        if next == offset {
            break; // nothing more below `until`
        }
        offset = next;
    }
    Ok(out)
}

pub async fn browse(
    State(s): State<HttpState>,
    Peer(peer): Peer,
    Path(name): Path<String>,
    Query(q): Query<BrowseQuery>,
) -> Result<Json<Page>, ApiError> {
    let ctx = context(&s, &peer, ApiKey::Fetch, 17);
    // As Fetch: an unauthorized client learns nothing of the topic.
    if !s
        .broker
        .pipeline
        .allows_topic(&ctx, AclOperation::Read, &name)
    {
        return Err(ApiError::kafka(29, None));
    }
    let topic = s
        .broker
        .partitions
        .topic(&name)
        .ok_or_else(|| ApiError::kafka(3, None))?;
    let p = topic
        .partition(q.partition)
        .ok_or_else(|| ApiError::not_found(format!("{name} has no partition {}", q.partition)))?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let newest = match q.order.as_deref() {
        None | Some("oldest") => false,
        Some("newest") => true,
        Some(o) => {
            return Err(ApiError::bad_request(format!(
                "order {o}: oldest or newest"
            )))
        }
    };
    let page = crate::handler::blocking(move || -> Result<Page, ApiError> {
        let start = p.log_start_offset();
        let hw = p.high_watermark();
        let (messages, next_offset) = if newest {
            let end = q.offset.unwrap_or(hw).clamp(start, hw);
            // Records are read forward and shown backwards; a compacted log
            // may give fewer than `limit` in the window: widen it until full.
            let mut window = limit as i64;
            let mut from = end.saturating_sub(window).max(start);
            let mut recs = read_forward(&p, from, end, usize::MAX)?;
            while recs.len() < limit && from > start {
                // Doubling: a sparse (compacted) log takes few steps.
                window = window.saturating_mul(2);
                let wider = from.saturating_sub(window).max(start);
                let mut older = read_forward(&p, wider, from, usize::MAX)?;
                older.append(&mut recs);
                recs = older;
                from = wider;
            }
            let keep = recs.len().saturating_sub(limit);
            let recs = &recs[keep..];
            let next = recs.first().map(|r| r.offset).filter(|o| *o > start);
            (recs.iter().rev().map(message).collect(), next)
        } else {
            let from = match (q.timestamp, q.offset) {
                (Some(ts), _) => match p.list_offset(OffsetSpec::Timestamp(ts), false) {
                    Ok(Some((o, _))) => o,
                    Ok(None) => hw,
                    Err(e) => return Err(ApiError::internal(e.to_string())),
                },
                (None, Some(o)) => o.clamp(start, hw),
                (None, None) => start,
            };
            let recs = read_forward(&p, from, hw, limit)?;
            let next = recs.last().map(|r| r.offset + 1).filter(|o| *o < hw);
            (recs.iter().map(message).collect(), next)
        };
        Ok(Page {
            partition: p.index,
            log_start_offset: start,
            high_watermark: hw,
            order: if newest { "newest" } else { "oldest" },
            messages,
            next_offset,
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(page))
}

/// A record from the produce form; text fields are sent as their UTF-8 bytes.
#[derive(Debug, Deserialize)]
pub struct NewRecord {
    /// Absent: by the key's hash as Kafka's default partitioner, else 0.
    partition: Option<i32>,
    key: Option<String>,
    value: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct Produced {
    partition: i32,
    offset: i64,
}

pub async fn produce(
    State(s): State<HttpState>,
    Peer(peer): Peer,
    Path(name): Path<String>,
    Json(r): Json<NewRecord>,
) -> Result<Json<Produced>, ApiError> {
    // The Produce handler answers an unknown or unauthorized topic.
    let count = s
        .broker
        .partitions
        .topic(&name)
        .map(|t| t.partition_count());
    let partition = match (r.partition, &r.key, count) {
        (Some(p), _, _) => p,
        (None, Some(k), Some(n)) if n > 0 => {
            weir_client::partitioner::partition_for_key(k.as_bytes(), n as usize) as i32
        }
        _ => 0,
    };
    let mut batch = BatchBuilder::new();
    batch.push(Record {
        offset: 0,
        timestamp: weir_storage::clock::now_ms(),
        key: r.key.map(Bytes::from),
        value: r.value.map(Bytes::from),
        headers: r
            .headers
            .into_iter()
            .map(|(key, v)| RecordHeader {
                key,
                value: Some(Bytes::from(v)),
            })
            .collect(),
    });
    let records = batch
        .build()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(name)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(Bytes::from(records)))])]);
    let resp = call::<crate::handlers::produce::Api>(&s, &peer, 9, req).await?;
    let pr = resp
        .responses
        .first()
        .and_then(|t| t.partition_responses.first())
        .ok_or_else(|| ApiError::internal("no result"))?;
    if pr.error_code != 0 {
        return Err(ApiError::kafka(pr.error_code, pr.error_message.as_deref()));
    }
    Ok(Json(Produced {
        partition,
        offset: pr.base_offset,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_carry_text_only_when_utf8() {
        let f = field(b"{\"a\":1}");
        assert_eq!(f.text.as_deref(), Some("{\"a\":1}"));
        assert_eq!(f.base64, "eyJhIjoxfQ==");
        assert!(!f.truncated);
        let bin = field(&[0xff, 0x00, 0x10]);
        assert_eq!(bin.text, None);
        assert_eq!(bin.size, 3);
    }

    #[test]
    fn long_fields_are_cut_and_a_cut_character_is_still_text() {
        let mut long = "a".repeat(MAX_FIELD - 1);
        long.push('é'); // two bytes across the cut
        long.push_str("tail");
        let f = field(long.as_bytes());
        assert!(f.truncated);
        assert_eq!(f.size, long.len());
        assert_eq!(f.text.as_deref(), Some("a".repeat(MAX_FIELD - 1).as_str()));
    }
}
