//! Control-plane requests the harness needs before and around a run: Metadata (partition
//! leaders and broker addresses), CreateTopics, ListOffsets.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, ListOffsetsRequest, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::wire::Conn;
use crate::BenchError;
use weir_client::ClientSecurity;

const TOPIC_ALREADY_EXISTS: i16 = 36;
/// How long to wait for a topic's partitions to get leaders after creating it.
const LEADER_WAIT: Duration = Duration::from_secs(20);

/// Where a topic's partitions live.
#[derive(Debug, Clone)]
pub struct TopicLayout {
    pub topic: String,
    /// Leader node id of each partition, indexed by partition number.
    pub leaders: Vec<i32>,
    /// `host:port` of each broker node.
    pub brokers: HashMap<i32, String>,
}

impl TopicLayout {
    /// Number of partitions.
    pub fn partitions(&self) -> usize {
        self.leaders.len()
    }

    /// Address of the leader of `partition`.
    pub fn leader_addr(&self, partition: usize) -> Result<&str, BenchError> {
        let node = self.leaders[partition];
        self.brokers.get(&node).map(String::as_str).ok_or_else(|| {
            BenchError::Run(format!(
                "partition {partition}: leader {node} is not in the broker list"
            ))
        })
    }

    /// Partitions grouped by leader address (ordered for determinism).
    pub fn by_leader(
        &self,
        partitions: &[usize],
    ) -> Result<BTreeMap<String, Vec<usize>>, BenchError> {
        let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for &p in partitions {
            out.entry(self.leader_addr(p)?.to_string())
                .or_default()
                .push(p);
        }
        Ok(out)
    }
}

/// What to create when `--create` is given.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub partitions: i32,
    pub replication_factor: i16,
    pub configs: Vec<(String, String)>,
}

fn topic_name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}

/// Fetches the layout of `topic`; `Ok(None)` if the broker does not know it.
pub async fn describe(conn: &mut Conn, topic: &str) -> Result<Option<TopicLayout>, BenchError> {
    let v = conn.versions.pick(ApiKey::Metadata, 1, 12)?;
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(topic_name(topic)))
        ]))
        .with_allow_auto_topic_creation(false);
    let resp = conn.call(&req, v).await?;
    let brokers = resp
        .brokers
        .iter()
        .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
        .collect();
    let Some(t) = resp.topics.into_iter().next() else {
        return Ok(None);
    };
    match t.error_code {
        0 => {}
        3 => return Ok(None), // UNKNOWN_TOPIC_OR_PARTITION
        5 => {
            // LEADER_NOT_AVAILABLE: the topic exists but is still being set up.
            return Ok(Some(TopicLayout {
                topic: topic.to_string(),
                leaders: Vec::new(),
                brokers,
            }));
        }
        code => {
            return Err(BenchError::Kafka {
                context: format!("metadata for topic '{topic}'"),
                code,
            })
        }
    }
    let mut leaders = vec![-1; t.partitions.len()];
    for p in &t.partitions {
        let i = p.partition_index as usize;
        if i >= leaders.len() {
            return Err(BenchError::Protocol(format!(
                "metadata: partition {i} of {} listed",
                leaders.len()
            )));
        }
        leaders[i] = if p.error_code == 0 { p.leader_id.0 } else { -1 };
    }
    Ok(Some(TopicLayout {
        topic: topic.to_string(),
        leaders,
        brokers,
    }))
}

/// Creates `topic` (if `spec` is given and it does not exist) and waits until every
/// partition has a leader. Returns the layout.
pub async fn ensure_topic(
    bootstrap: &str,
    security: &ClientSecurity,
    topic: &str,
    spec: Option<&TopicSpec>,
) -> Result<TopicLayout, BenchError> {
    let mut conn = Conn::connect(bootstrap, security).await?;
    if let Some(spec) = spec {
        if describe(&mut conn, topic).await?.is_none() {
            create(&mut conn, topic, spec).await?;
        }
    }
    let deadline = Instant::now() + LEADER_WAIT;
    loop {
        match describe(&mut conn, topic).await? {
            Some(l) if !l.leaders.is_empty() && l.leaders.iter().all(|&n| n >= 0) => {
                if let Some(spec) = spec {
                    if l.partitions() != spec.partitions as usize {
                        eprintln!(
                            "weir bench: note: topic '{topic}' already exists with {} partitions (asked {})",
                            l.partitions(),
                            spec.partitions
                        );
                    }
                }
                return Ok(l);
            }
            None if spec.is_none() => {
                return Err(BenchError::Run(format!(
                    "topic '{topic}' does not exist (add --create to create it)"
                )))
            }
            _ if Instant::now() > deadline => {
                return Err(BenchError::Run(format!(
                    "topic '{topic}': partitions have no leader after {}s",
                    LEADER_WAIT.as_secs()
                )))
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn create(conn: &mut Conn, topic: &str, spec: &TopicSpec) -> Result<(), BenchError> {
    let v = conn.versions.pick(ApiKey::CreateTopics, 0, 7)?;
    let configs = spec
        .configs
        .iter()
        .map(|(k, val)| {
            CreatableTopicConfig::default()
                .with_name(StrBytes::from_string(k.clone()))
                .with_value(Some(StrBytes::from_string(val.clone())))
        })
        .collect();
    let req = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(topic_name(topic))
            .with_num_partitions(spec.partitions)
            .with_replication_factor(spec.replication_factor)
            .with_configs(configs)])
        .with_timeout_ms(30_000);
    let resp = conn.call(&req, v).await?;
    for t in resp.topics {
        if t.error_code != 0 && t.error_code != TOPIC_ALREADY_EXISTS {
            let msg = t
                .error_message
                .map(|m| m.as_str().to_string())
                .unwrap_or_default();
            return Err(BenchError::Run(format!(
                "CreateTopics '{topic}': broker error code {} {msg}",
                t.error_code
            )));
        }
    }
    Ok(())
}

/// Kafka's ListOffsets timestamp for "earliest".
pub const EARLIEST: i64 = -2;
/// Kafka's ListOffsets timestamp for "latest".
pub const LATEST: i64 = -1;

/// The earliest or latest offset of each partition of the topic.
pub async fn list_offsets(
    layout: &TopicLayout,
    security: &ClientSecurity,
    timestamp: i64,
) -> Result<Vec<i64>, BenchError> {
    let all: Vec<usize> = (0..layout.partitions()).collect();
    let mut out = vec![-1i64; layout.partitions()];
    for (addr, parts) in layout.by_leader(&all)? {
        let mut conn = Conn::connect(&addr, security).await?;
        let v = conn.versions.pick(ApiKey::ListOffsets, 1, 7)?;
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic_name(&layout.topic))
                .with_partitions(
                    parts
                        .iter()
                        .map(|&p| {
                            ListOffsetsPartition::default()
                                .with_partition_index(p as i32)
                                .with_current_leader_epoch(-1)
                                .with_timestamp(timestamp)
                        })
                        .collect(),
                )]);
        let resp = conn.call(&req, v).await?;
        for t in resp.topics {
            for p in t.partitions {
                if p.error_code != 0 {
                    return Err(BenchError::Kafka {
                        context: format!("ListOffsets {}-{}", layout.topic, p.partition_index),
                        code: p.error_code,
                    });
                }
                if let Some(slot) = out.get_mut(p.partition_index as usize) {
                    *slot = p.offset;
                }
            }
        }
    }
    if let Some(p) = out.iter().position(|&o| o < 0) {
        return Err(BenchError::Run(format!(
            "ListOffsets: no offset returned for partition {p}"
        )));
    }
    Ok(out)
}
