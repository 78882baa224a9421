//! The on-disk formats of the registry's checkpoints: the topic registry (text,
//! CRC-checked) and every partition's producer-state snapshot (binary, CRC-checked).

use super::error::TopicError;
use super::topic::Topic;
use crate::config::topic::TopicConfig;
use crate::producer_state::ProducerStateTable;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;
use weir_storage::TopicPartition;

/// Checkpoint holding the topic registry.
pub const TOPICS_CHECKPOINT: &str = "weir-topics.checkpoint";
/// Checkpoint holding every partition's idempotent-producer state snapshot.
pub const PRODUCER_SNAPSHOT: &str = "weir-producer-state.checkpoint";

/// Writer of the producer-state checkpoint: `WPS2`, a partition count, per
/// partition (topic, index, log end offset, encoded producer state), a CRC.
pub(super) struct SnapshotWriter {
    data: Vec<u8>,
}

impl SnapshotWriter {
    pub(super) fn new(partitions: usize) -> Self {
        let mut data = Vec::new();
        data.extend_from_slice(b"WPS2");
        data.extend_from_slice(&(partitions as u32).to_be_bytes());
        SnapshotWriter { data }
    }

    pub(super) fn push(&mut self, topic: &str, index: i32, offset: i64, table: &[u8]) {
        let data = &mut self.data;
        data.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        data.extend_from_slice(topic.as_bytes());
        data.extend_from_slice(&index.to_be_bytes());
        data.extend_from_slice(&offset.to_be_bytes());
        data.extend_from_slice(&(table.len() as u32).to_be_bytes());
        data.extend_from_slice(table);
    }

    pub(super) fn finish(mut self) -> Vec<u8> {
        let crc = crc32fast::hash(&self.data);
        self.data.extend_from_slice(&crc.to_be_bytes());
        self.data
    }
}

/// Inverse of [`SnapshotWriter`]; `None` if damaged.
pub(super) fn decode_snapshots(
    data: &[u8],
) -> Option<HashMap<TopicPartition, (i64, ProducerStateTable)>> {
    fn take<'a>(buf: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = buf.split_at_checked(n)?;
        *buf = rest;
        Some(head)
    }
    if data.len() < 12 || &data[..4] != b"WPS2" {
        return None;
    }
    let (body, crc) = data.split_at(data.len() - 4);
    if crc32fast::hash(body).to_be_bytes() != crc {
        return None;
    }
    let mut buf = &body[4..];
    let count = u32::from_be_bytes(take(&mut buf, 4)?.try_into().ok()?);
    let mut out = HashMap::new();
    for _ in 0..count {
        let name_len = u16::from_be_bytes(take(&mut buf, 2)?.try_into().ok()?) as usize;
        let name = std::str::from_utf8(take(&mut buf, name_len)?)
            .ok()?
            .to_string();
        let partition = i32::from_be_bytes(take(&mut buf, 4)?.try_into().ok()?);
        let offset = i64::from_be_bytes(take(&mut buf, 8)?.try_into().ok()?);
        let len = u32::from_be_bytes(take(&mut buf, 4)?.try_into().ok()?) as usize;
        let table = ProducerStateTable::decode(take(&mut buf, len)?)?;
        out.insert(TopicPartition::new(name, partition), (offset, table));
    }
    buf.is_empty().then_some(out)
}

/// A topic as the checkpoint records it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TopicSpec {
    pub(super) name: String,
    pub(super) id: Uuid,
    pub(super) partitions: i32,
    pub(super) config: TopicConfig,
}

/// Text format: a `weir-topics 1` line; per topic `topic NAME UUID PARTITIONS`,
/// followed by `config KEY=VALUE` lines; a final `crc HEX` over everything before it.
pub(super) fn encode_registry(topics: &[Arc<Topic>]) -> Vec<u8> {
    let mut s = String::from("weir-topics 1\n");
    for t in topics {
        s.push_str(&format!(
            "topic {} {} {}\n",
            t.name,
            t.id.as_simple(),
            t.partition_count()
        ));
        for line in t.resolved().overrides.to_lines() {
            s.push_str(&format!("config {line}\n"));
        }
    }
    let crc = crc32fast::hash(s.as_bytes());
    s.push_str(&format!("crc {crc:08x}\n"));
    s.into_bytes()
}

pub(super) fn decode_registry(data: &[u8]) -> Result<Vec<TopicSpec>, TopicError> {
    let corrupt = |why: String| TopicError::CorruptRegistry(why);
    let text = std::str::from_utf8(data).map_err(|e| corrupt(e.to_string()))?;
    let crc_pos = text
        .rfind("crc ")
        .ok_or_else(|| corrupt("missing crc".into()))?;
    let (body, crc_line) = text.split_at(crc_pos);
    let stored = u32::from_str_radix(crc_line.trim_start_matches("crc ").trim(), 16)
        .map_err(|e| corrupt(e.to_string()))?;
    if crc32fast::hash(body.as_bytes()) != stored {
        return Err(corrupt("crc mismatch".into()));
    }
    let mut lines = body.lines();
    if lines.next() != Some("weir-topics 1") {
        return Err(corrupt("unknown header".into()));
    }
    let mut out: Vec<TopicSpec> = Vec::new();
    for line in lines {
        let mut words = line.splitn(2, ' ');
        match (words.next(), words.next()) {
            (Some("topic"), Some(rest)) => {
                let f: Vec<&str> = rest.split(' ').collect();
                let [name, id, parts] = f[..] else {
                    return Err(corrupt(format!("bad line '{line}'")));
                };
                out.push(TopicSpec {
                    name: name.to_string(),
                    id: Uuid::parse_str(id).map_err(|e| corrupt(e.to_string()))?,
                    partitions: parts
                        .parse()
                        .map_err(|_| corrupt(format!("bad line '{line}'")))?,
                    config: TopicConfig::default(),
                });
            }
            (Some("config"), Some(kv)) => {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| corrupt(format!("bad line '{line}'")))?;
                let t = out
                    .last_mut()
                    .ok_or_else(|| corrupt("config before topic".into()))?;
                // A key this version no longer knows is dropped rather than failing start-up.
                let _ = t.config.set(k, v);
            }
            _ => return Err(corrupt(format!("bad line '{line}'"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::topic::ResolvedTopicConfig;
    use crate::ids;
    use parking_lot::RwLock;

    #[test]
    fn registry_checkpoint_round_trips_and_detects_damage() {
        let spec = TopicSpec {
            name: "t1".into(),
            id: ids::random_uuid(),
            partitions: 3,
            config: TopicConfig::from_pairs([
                ("retention.ms", "1000"),
                ("cleanup.policy", "compact,delete"),
            ])
            .unwrap(),
        };
        let topic = Arc::new(Topic {
            name: spec.name.clone(),
            id: spec.id,
            internal: false,
            partitions: RwLock::new(Vec::new()),
            config: arc_swap::ArcSwap::from_pointee(ResolvedTopicConfig::resolve(
                spec.config.clone(),
                &crate::config::Settings::default(),
            )),
        });
        let mut data = encode_registry(&[topic]);
        let decoded = decode_registry(&data).unwrap();
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].name, "t1");
        assert_eq!(decoded[0].id, spec.id);
        assert_eq!(decoded[0].partitions, 0); // no partitions were attached above
        assert_eq!(decoded[0].config, spec.config);
        data[15] ^= 1;
        assert!(matches!(
            decode_registry(&data),
            Err(TopicError::CorruptRegistry(_))
        ));
    }
}
