//! `weir produce TOPIC [FILE...]`: one record per line (stdin by default), an
//! optional key before a separator, headers on every record, Kafka's default
//! partitioner (murmur2 of the key; round robin per batch without one), batches
//! of up to 1 MiB per partition, compressed as asked, acknowledged as asked.
//! Reading files on a terminal, a progress bar shows bytes read, rate and ETA.

use crate::args::ProduceCmd;
use crate::client::{check_msg, topic_name, Client, Layout};
use crate::output;
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::ProduceRequest;
use std::collections::BTreeMap;
use std::io::BufRead;
use weir_client::partitioner::partition_for_key;
use weir_client::ClientError;
use weir_storage::batch::{BatchBuilder, Record, RecordHeader};
use weir_storage::compression::Compression;

/// Records are sent once a partition's pending values reach this many bytes.
const BATCH_BYTES: usize = 1024 * 1024;

pub async fn run(c: &mut Client, cmd: ProduceCmd, json: bool) -> Result<(), ClientError> {
    let compression = Compression::from_name(&cmd.compression).ok_or_else(|| {
        ClientError::Usage(format!(
            "--compression {}: expected none, gzip, snappy, lz4 or zstd",
            cmd.compression
        ))
    })?;
    let acks: i16 = match cmd.acks.as_str() {
        "all" | "-1" => -1,
        "0" => 0,
        "1" => 1,
        a => {
            return Err(ClientError::Usage(format!(
                "--acks {a}: expected 0, 1 or all"
            )))
        }
    };
    let headers = cmd
        .headers
        .iter()
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| ClientError::Usage(format!("-H {kv}: expected KEY=VALUE")))?;
            Ok(RecordHeader {
                key: k.to_string(),
                value: Some(Bytes::from(v.to_string())),
            })
        })
        .collect::<Result<Vec<_>, ClientError>>()?;
    let layout = c.layout(&cmd.topic).await?;
    let n = layout.partitions.len();
    if let Some(p) = cmd.partition {
        if !layout.partitions.iter().any(|&(q, _)| q == p) {
            return Err(ClientError::Usage(format!(
                "--partition {p}: topic {} has {n} partition(s)",
                cmd.topic
            )));
        }
    }
    let mut sender = Sender {
        layout,
        compression,
        acks,
        pending: BTreeMap::new(),
        pending_bytes: BTreeMap::new(),
        sent: 0,
    };
    let readers: Vec<Box<dyn BufRead>> = if cmd.files.is_empty() {
        vec![Box::new(std::io::stdin().lock())]
    } else {
        cmd.files
            .iter()
            .map(|f| {
                std::fs::File::open(f)
                    .map(|f| Box::new(std::io::BufReader::new(f)) as Box<dyn BufRead>)
                    .map_err(|e| ClientError::Usage(format!("{f}: {e}")))
            })
            .collect::<Result<_, _>>()?
    };
    let progress = progress_bar(&cmd.files);
    let mut round_robin = 0usize;
    for reader in readers {
        for line in reader.lines() {
            let line = line.map_err(|e| ClientError::Run(format!("reading input: {e}")))?;
            progress.inc(line.len() as u64 + 1);
            let (key, value) = match &cmd.key_separator {
                Some(sep) => match line.split_once(sep.as_str()) {
                    Some((k, v)) => (Some(Bytes::from(k.to_string())), v.to_string()),
                    None => (None, line),
                },
                None => (None, line),
            };
            let partition = match (cmd.partition, &key) {
                (Some(p), _) => p,
                (None, Some(k)) => sender.layout.partitions[partition_for_key(k, n)].0,
                (None, None) => sender.layout.partitions[round_robin % n].0,
            };
            let record = Record {
                offset: 0,
                timestamp: now_ms(),
                key,
                value: Some(Bytes::from(value)),
                headers: headers.clone(),
            };
            if sender.push(partition, record) >= BATCH_BYTES {
                sender.flush_partition(c, partition).await?;
                round_robin += 1;
            }
        }
    }
    sender.flush_all(c).await?;
    progress.finish_and_clear();
    if json {
        output::json(&serde_json::json!({"topic": cmd.topic, "records": sender.sent}));
    } else {
        eprintln!("produced {} record(s) to {}", sender.sent, cmd.topic);
    }
    Ok(())
}

/// Bytes read of the input files against their total size, with rate and ETA,
/// on stderr when it is a terminal (indicatif draws nothing otherwise); none
/// for stdin (a pipe has no size).
fn progress_bar(files: &[String]) -> ProgressBar {
    if files.is_empty() {
        return ProgressBar::hidden();
    }
    let total = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Sender {
    layout: Layout,
    compression: Compression,
    acks: i16,
    pending: BTreeMap<i32, Vec<Record>>,
    pending_bytes: BTreeMap<i32, usize>,
    sent: u64,
}

impl Sender {
    /// Queue a record; returns the partition's pending bytes.
    fn push(&mut self, partition: i32, mut r: Record) -> usize {
        let size = r.value.as_ref().map_or(0, |v| v.len()) + r.key.as_ref().map_or(0, |k| k.len());
        let queue = self.pending.entry(partition).or_default();
        // Offset deltas within the batch: 0, 1, 2, ...
        r.offset = queue.len() as i64;
        queue.push(r);
        let b = self.pending_bytes.entry(partition).or_default();
        *b += size + 16;
        *b
    }

    async fn flush_all(&mut self, c: &mut Client) -> Result<(), ClientError> {
        let parts: Vec<i32> = self.pending.keys().copied().collect();
        for p in parts {
            self.flush_partition(c, p).await?;
        }
        Ok(())
    }

    async fn flush_partition(&mut self, c: &mut Client, partition: i32) -> Result<(), ClientError> {
        let Some(records) = self.pending.remove(&partition) else {
            return Ok(());
        };
        self.pending_bytes.remove(&partition);
        if records.is_empty() {
            return Ok(());
        }
        let count = records.len() as u64;
        let mut b = BatchBuilder::new();
        b.compression = self.compression;
        for r in records {
            b.push(r);
        }
        let bytes = b
            .build()
            .map_err(|e| ClientError::Codec(format!("building a batch: {e}")))?;
        let req = ProduceRequest::default()
            .with_acks(self.acks)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(topic_name(&self.layout.topic))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(Bytes::from(bytes)))])]);
        let leader = self
            .layout
            .partitions
            .iter()
            .find(|&&(p, _)| p == partition)
            .map(|&(_, l)| l)
            .unwrap_or(-1);
        let v = c.version::<ProduceRequest>(3, 11)?;
        let conn = c.broker(leader).await?;
        if self.acks == 0 {
            conn.send_only(&req, v).await?;
        } else {
            let resp = conn.call(&req, v).await?;
            for t in &resp.responses {
                for p in &t.partition_responses {
                    check_msg(
                        || format!("produce to {}-{}", self.layout.topic, p.index),
                        p.error_code,
                        p.error_message.as_ref(),
                    )?;
                }
            }
        }
        self.sent += count;
        Ok(())
    }
}
