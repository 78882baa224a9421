//! The admin commands' view of a cluster: a bootstrap connection, metadata,
//! connections to partition leaders and group coordinators, the version of each
//! request (the highest both sides speak), and Kafka errors as one line.

use crate::args::Properties;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, BrokerId, FindCoordinatorRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use std::collections::HashMap;
use weir_client::wire::Conn;
use weir_client::{ClientError, ClientSecurity};

/// A connected admin client.
pub struct Client {
    pub bootstrap: Conn,
    /// Connections to other brokers by node id, opened on first use.
    brokers: HashMap<i32, Conn>,
    /// Node id -> HOST:PORT from the last metadata.
    addrs: HashMap<i32, String>,
    /// TLS and SASL of every connection (`security.protocol`, `ssl.*`, `sasl.*`).
    security: ClientSecurity,
}

/// A Kafka error code as a client error, unless it is 0.
pub fn check(context: impl FnOnce() -> String, code: i16) -> Result<(), ClientError> {
    if code == 0 {
        Ok(())
    } else {
        Err(ClientError::Kafka {
            context: context(),
            code,
        })
    }
}

/// The same, with the broker's message when it sent one.
pub fn check_msg(
    context: impl FnOnce() -> String,
    code: i16,
    message: Option<&StrBytes>,
) -> Result<(), ClientError> {
    match message.map(|m| m.as_str()).filter(|m| !m.is_empty()) {
        Some(m) if code != 0 => Err(ClientError::Run(format!(
            "{}: {} (error code {code}): {m}",
            context(),
            weir_client::error::error_name(code)
        ))),
        _ => check(context, code),
    }
}

impl Client {
    pub async fn connect(props: &Properties) -> Result<Client, ClientError> {
        let security = ClientSecurity::from_properties(&|k| props.get(k).map(str::to_string))?;
        let servers = props.get("bootstrap.servers").unwrap_or("127.0.0.1:9092");
        let mut last = None;
        for addr in servers.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match Conn::connect(addr, &security).await {
                Ok(bootstrap) => {
                    return Ok(Client {
                        bootstrap,
                        brokers: HashMap::new(),
                        addrs: HashMap::new(),
                        security,
                    })
                }
                // Wrong credentials or certificates fail on every broker alike.
                Err(e @ ClientError::Auth(_)) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Usage("bootstrap.servers is empty".into())))
    }

    /// The version to send `R` in: the highest the broker and this tool share
    /// within `[min, max]`.
    pub fn version<R: Request>(&self, min: i16, max: i16) -> Result<i16, ClientError> {
        let key = ApiKey::try_from(R::KEY)
            .map_err(|_| ClientError::Protocol(format!("unknown api key {}", R::KEY)))?;
        self.bootstrap.versions.pick(key, min, max)
    }

    /// Send `req` on the bootstrap connection in the best shared version.
    pub async fn call<R: Request>(
        &mut self,
        req: &R,
        min: i16,
        max: i16,
    ) -> Result<R::Response, ClientError> {
        let v = self.version::<R>(min, max)?;
        self.bootstrap.call(req, v).await
    }

    /// Metadata of `topics` (all topics when None); remembers broker addresses.
    pub async fn metadata(
        &mut self,
        topics: Option<&[String]>,
    ) -> Result<MetadataResponse, ClientError> {
        let req = MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(false);
        let resp = self.call(&req, 4, 12).await?;
        for b in &resp.brokers {
            self.addrs
                .insert(b.node_id.0, format!("{}:{}", b.host.as_str(), b.port));
        }
        Ok(resp)
    }

    /// A connection to broker `node` (from the last metadata).
    pub async fn broker(&mut self, node: i32) -> Result<&mut Conn, ClientError> {
        if !self.brokers.contains_key(&node) {
            let addr = match self.addrs.get(&node) {
                Some(a) => a.clone(),
                None => {
                    self.metadata(Some(&[])).await?;
                    self.addrs.get(&node).cloned().ok_or_else(|| {
                        ClientError::Run(format!("broker {node} is not in the cluster metadata"))
                    })?
                }
            };
            let conn = Conn::connect(&addr, &self.security).await?;
            self.brokers.insert(node, conn);
        }
        Ok(self.brokers.get_mut(&node).expect("inserted above"))
    }

    /// The coordinator of `group` (FindCoordinator), connected.
    pub async fn coordinator(&mut self, group: &str) -> Result<&mut Conn, ClientError> {
        let v = self.version::<FindCoordinatorRequest>(1, 6)?;
        let req = if v >= 4 {
            FindCoordinatorRequest::default()
                .with_key_type(0)
                .with_coordinator_keys(vec![StrBytes::from_string(group.to_string())])
        } else {
            FindCoordinatorRequest::default()
                .with_key_type(0)
                .with_key(StrBytes::from_string(group.to_string()))
        };
        let resp = self.bootstrap.call(&req, v).await?;
        let (node, host, port, code, msg) = match resp.coordinators.first() {
            Some(c) if v >= 4 => (
                c.node_id,
                c.host.to_string(),
                c.port,
                c.error_code,
                c.error_message.clone(),
            ),
            _ => (
                resp.node_id,
                resp.host.to_string(),
                resp.port,
                resp.error_code,
                resp.error_message.clone(),
            ),
        };
        check_msg(
            || format!("FindCoordinator for group {group}"),
            code,
            msg.as_ref(),
        )?;
        let BrokerId(node) = node;
        self.addrs.insert(node, format!("{host}:{port}"));
        self.broker(node).await
    }
}

/// A topic name for requests.
pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// A topic's partitions and their leaders, from metadata.
#[derive(Debug, Clone)]
pub struct Layout {
    pub topic: String,
    /// (partition, leader node id), by partition.
    pub partitions: Vec<(i32, i32)>,
}

impl Client {
    /// The partitions of `topic` and their leaders; an unknown topic is an error.
    pub async fn layout(&mut self, topic: &str) -> Result<Layout, ClientError> {
        let md = self.metadata(Some(&[topic.to_string()])).await?;
        let t = md
            .topics
            .iter()
            .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some(topic))
            .ok_or_else(|| ClientError::Run(format!("topic {topic}: not in the metadata")))?;
        check(|| format!("topic {topic}"), t.error_code)?;
        let mut partitions: Vec<(i32, i32)> = t
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.leader_id.0))
            .collect();
        partitions.sort();
        Ok(Layout {
            topic: topic.to_string(),
            partitions,
        })
    }

    /// ListOffsets for every partition of `layout` at `timestamp` (-2 earliest,
    /// -1 latest, else the first offset at or after it; -1 where none is),
    /// asked of each partition's leader.
    pub async fn list_offsets(
        &mut self,
        layout: &Layout,
        timestamp: i64,
    ) -> Result<HashMap<i32, i64>, ClientError> {
        use kafka_protocol::messages::list_offsets_request::{
            ListOffsetsPartition, ListOffsetsTopic,
        };
        use kafka_protocol::messages::ListOffsetsRequest;
        let mut by_leader: HashMap<i32, Vec<i32>> = HashMap::new();
        for &(p, leader) in &layout.partitions {
            by_leader.entry(leader).or_default().push(p);
        }
        let mut out = HashMap::new();
        for (leader, parts) in by_leader {
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(topic_name(&layout.topic))
                    .with_partitions(
                        parts
                            .iter()
                            .map(|&p| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_timestamp(timestamp)
                            })
                            .collect(),
                    )]);
            let v = self.version::<ListOffsetsRequest>(1, 9)?;
            let resp = self.broker(leader).await?.call(&req, v).await?;
            for t in resp.topics {
                for p in t.partitions {
                    check(
                        || format!("ListOffsets {}-{}", layout.topic, p.partition_index),
                        p.error_code,
                    )?;
                    out.insert(p.partition_index, p.offset);
                }
            }
        }
        Ok(out)
    }
}
