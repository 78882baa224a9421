//! `weir consume TOPIC`: fetch from earliest, latest, an offset or a time, print
//! each record with a kcat-like `--format` (or one JSON object per line with
//! `--json`), stop after `--count` records or at the end unless `--follow`.

use crate::args::ConsumeCmd;
use crate::client::{check, topic_name, Client};
use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use weir_client::ClientError;
use weir_storage::batch::{iter_batches, Record};

pub async fn run(c: &mut Client, cmd: ConsumeCmd, json: bool) -> Result<(), ClientError> {
    let mut layout = c.layout(&cmd.topic).await?;
    if let Some(p) = cmd.partition {
        layout.partitions.retain(|&(q, _)| q == p);
        if layout.partitions.is_empty() {
            return Err(ClientError::Usage(format!(
                "--partition {p}: no such partition of {}",
                cmd.topic
            )));
        }
    }
    let mut offsets: BTreeMap<i32, i64> = match cmd.from.as_str() {
        "earliest" => c.list_offsets(&layout, -2).await?.into_iter().collect(),
        "latest" => c.list_offsets(&layout, -1).await?.into_iter().collect(),
        s if s.starts_with('@') => {
            let ts = crate::group::parse_datetime(&s[1..])?;
            let end = c.list_offsets(&layout, -1).await?;
            c.list_offsets(&layout, ts)
                .await?
                .into_iter()
                .map(|(p, o)| (p, if o < 0 { end[&p] } else { o }))
                .collect()
        }
        s => {
            let o: i64 = s.parse().map_err(|_| {
                ClientError::Usage(format!(
                    "--from {s}: expected earliest, latest, an offset or @TIME"
                ))
            })?;
            layout.partitions.iter().map(|&(p, _)| (p, o)).collect()
        }
    };
    let format = Format::parse(&cmd.format);
    let mut printed = 0u64;
    let mut out = std::io::stdout().lock();
    let mut at_end: HashMap<i32, bool> = HashMap::new();
    let v = c.version::<FetchRequest>(4, 12)?;
    loop {
        let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for &(p, leader) in &layout.partitions {
            by_leader.entry(leader).or_default().push(p);
        }
        for (leader, parts) in by_leader {
            let req = FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(if cmd.follow { 500 } else { 100 })
                .with_min_bytes(1)
                .with_max_bytes(16 * 1024 * 1024)
                .with_isolation_level(0)
                .with_session_id(0)
                .with_session_epoch(-1)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(topic_name(&cmd.topic))
                    .with_partitions(
                        parts
                            .iter()
                            .map(|p| {
                                FetchPartition::default()
                                    .with_partition(*p)
                                    .with_current_leader_epoch(-1)
                                    .with_fetch_offset(offsets[p])
                                    .with_log_start_offset(-1)
                                    .with_partition_max_bytes(4 * 1024 * 1024)
                            })
                            .collect(),
                    )]);
            let resp = c.broker(leader).await?.call(&req, v).await?;
            check(|| format!("fetch from {}", cmd.topic), resp.error_code)?;
            for t in resp.responses {
                for p in t.partitions {
                    let pi = p.partition_index;
                    check(|| format!("fetch {}-{pi}", cmd.topic), p.error_code)?;
                    let mut next = offsets[&pi];
                    let records = p.records.unwrap_or_default();
                    for batch in iter_batches(&records) {
                        let Ok(batch) = batch else { break };
                        next = next.max(batch.last_offset() + 1);
                        if batch.is_control() {
                            continue;
                        }
                        let recs = batch.records().map_err(|e| {
                            ClientError::Protocol(format!("{}-{pi}: bad batch: {e}", cmd.topic))
                        })?;
                        for r in recs.iter().filter(|r| r.offset >= offsets[&pi]) {
                            let line = if json {
                                json_line(&cmd.topic, pi, r)
                            } else {
                                format.render(&cmd.topic, pi, r)
                            };
                            out.write_all(line.as_bytes())
                                .and_then(|_| if json { out.write_all(b"\n") } else { Ok(()) })
                                .map_err(|e| ClientError::Run(format!("stdout: {e}")))?;
                            printed += 1;
                            if cmd.count.is_some_and(|n| printed >= n) {
                                let _ = out.flush();
                                return Ok(());
                            }
                        }
                    }
                    offsets.insert(pi, next);
                    at_end.insert(pi, next >= p.high_watermark);
                }
            }
        }
        let _ = out.flush();
        if !cmd.follow
            && layout
                .partitions
                .iter()
                .all(|(p, _)| at_end.get(p) == Some(&true))
        {
            return Ok(());
        }
    }
}

fn text(b: &Option<Bytes>) -> String {
    b.as_ref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

fn json_line(topic: &str, partition: i32, r: &Record) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = r
        .headers
        .iter()
        .map(|h| {
            (
                h.key.clone(),
                h.value
                    .as_ref()
                    .map(|v| serde_json::Value::String(String::from_utf8_lossy(v).into_owned()))
                    .unwrap_or(serde_json::Value::Null),
            )
        })
        .collect();
    serde_json::json!({
        "topic": topic,
        "partition": partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "key": r.key.as_ref().map(|k| String::from_utf8_lossy(k).into_owned()),
        "value": r.value.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()),
        "headers": headers,
    })
    .to_string()
}

/// A kcat-like output format, parsed once.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    Timestamp,
    Headers,
}

struct Format(Vec<Piece>);

impl Format {
    fn parse(s: &str) -> Format {
        let mut out = Vec::new();
        let mut lit = String::new();
        let mut chars = s.chars();
        while let Some(ch) = chars.next() {
            let piece = match ch {
                '%' => match chars.next() {
                    Some('t') => Some(Piece::Topic),
                    Some('p') => Some(Piece::Partition),
                    Some('o') => Some(Piece::Offset),
                    Some('k') => Some(Piece::Key),
                    Some('s') => Some(Piece::Value),
                    Some('T') => Some(Piece::Timestamp),
                    Some('h') => Some(Piece::Headers),
                    Some(other) => {
                        lit.push('%');
                        lit.push(other);
                        None
                    }
                    None => {
                        lit.push('%');
                        None
                    }
                },
                '\\' => {
                    match chars.next() {
                        Some('n') => lit.push('\n'),
                        Some('t') => lit.push('\t'),
                        Some(other) => {
                            lit.push('\\');
                            lit.push(other);
                        }
                        None => lit.push('\\'),
                    }
                    None
                }
                c => {
                    lit.push(c);
                    None
                }
            };
            if let Some(p) = piece {
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                out.push(p);
            }
        }
        if !lit.is_empty() {
            out.push(Piece::Lit(lit));
        }
        Format(out)
    }

    fn render(&self, topic: &str, partition: i32, r: &Record) -> String {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(l) => s.push_str(l),
                Piece::Topic => s.push_str(topic),
                Piece::Partition => s.push_str(&partition.to_string()),
                Piece::Offset => s.push_str(&r.offset.to_string()),
                Piece::Key => s.push_str(&text(&r.key)),
                Piece::Value => s.push_str(&text(&r.value)),
                Piece::Timestamp => s.push_str(&r.timestamp.to_string()),
                Piece::Headers => {
                    let hs: Vec<String> = r
                        .headers
                        .iter()
                        .map(|h| format!("{}={}", h.key, text(&h.value)))
                        .collect();
                    s.push_str(&hs.join(","));
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_render_like_kcat() {
        let r = Record {
            offset: 7,
            timestamp: 1000,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"v")),
            headers: vec![weir_storage::batch::RecordHeader {
                key: "h".into(),
                value: Some(Bytes::from_static(b"1")),
            }],
        };
        let f = Format::parse("%t/%p@%o %k=%s %T [%h] 100%%\\n");
        assert_eq!(f.render("t", 2, &r), "t/2@7 k=v 1000 [h=1] 100%%\n");
    }
}
