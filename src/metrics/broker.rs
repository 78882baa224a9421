//! Figures read from the broker's state at scrape time: the broker, topics and
//! partitions (offsets, size, segments), the data dir, consumer groups with
//! their committed offsets and lag, computed by the broker itself, and share
//! groups with their share-partitions' start offsets and lag.
//!
//! Where kafka_exporter has a name for a figure, it is used with its labels
//! (`kafka_brokers`, `kafka_topic_partitions`, `kafka_topic_partition_current_offset`,
//! `kafka_topic_partition_oldest_offset`, `kafka_consumergroup_*`) so dashboards
//! built for it work unchanged; weir's own figures are `weir_*`. kafka_exporter's
//! `kafka_consumergroup_lag_sum` and `_current_offset_sum` are left out: a gauge
//! ending in `_sum` is invalid to Prometheus's linter (`promtool check metrics`),
//! and `sum by (consumergroup, topic) (kafka_consumergroup_lag)` gives the same.

use crate::partitions::Partition;
use crate::state::BrokerState;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet};
use prometheus_client::metrics::MetricType;
use std::fmt;
use std::sync::Arc;
use weir_storage::batch::BatchHeader;

/// The scrape-time collector over the broker's state.
pub struct BrokerCollector {
    pub state: Arc<BrokerState>,
}

impl fmt::Debug for BrokerCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BrokerCollector")
    }
}

/// One consumer group's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupFigures {
    pub group_id: String,
    pub group_type: String,
    pub state: String,
    pub members: usize,
    pub partitions: Vec<GroupPartition>,
}

/// A group's committed position on one partition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupPartition {
    pub topic: String,
    pub partition: i32,
    pub committed: i64,
    pub log_end_offset: i64,
    pub lag: i64,
    /// Age in seconds of the first record not yet consumed (0 when caught up).
    pub lag_seconds: f64,
}

/// Every group the coordinator knows, with lag per committed partition. Used by
/// `/metrics` and the JSON admin API.
pub fn groups(state: &BrokerState, now_ms: i64) -> Vec<GroupFigures> {
    let mut out = Vec::new();
    for listing in state.groups.list_groups(&[], &[]) {
        let members = if listing.group_type == "consumer" {
            state
                .groups
                .consumer_describe(&listing.group_id)
                .map(|d| d.members.len())
                .unwrap_or(0)
        } else {
            match state.groups.describe_group(&listing.group_id) {
                Some(Ok(d)) => d.members.len(),
                _ => 0,
            }
        };
        let log_end =
            |t: &str, p: i32| state.partitions.partition(t, p).map(|p| p.high_watermark());
        let partitions = state
            .groups
            .lag(&listing.group_id, &log_end)
            .into_iter()
            .map(|l| {
                let lag_seconds = match state.partitions.partition(&l.topic, l.partition) {
                    Some(p) if l.lag > 0 => record_age_seconds(&p, l.committed, now_ms),
                    _ => 0.0,
                };
                GroupPartition {
                    topic: l.topic,
                    partition: l.partition,
                    committed: l.committed,
                    log_end_offset: l.log_end_offset,
                    lag: l.lag,
                    lag_seconds,
                }
            })
            .collect();
        out.push(GroupFigures {
            group_id: listing.group_id,
            group_type: listing.group_type,
            state: listing.state,
            members,
            partitions,
        });
    }
    out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    out
}

/// Every share group as the admin API's group figures: per share-partition,
/// its start offset (SPSO, the share group's counterpart of a committed
/// offset: every record before it is acknowledged) as `committed`, and as
/// `lag` what Kafka's DescribeShareGroupOffsets v1 answers (KIP-1226): the
/// records from it to the log end less those after it already acknowledged
/// or archived, so the console, `/metrics` and `kafka-share-groups
/// --describe --offsets` show one figure. `lag_seconds` is 0: the
/// share-partition does not say which record past its start is the oldest
/// undelivered one.
pub fn share_groups(b: &BrokerState) -> Vec<GroupFigures> {
    b.share
        .list()
        .into_iter()
        .filter_map(|(id, _)| b.share.describe(&id))
        .map(|g| {
            let partitions = b
                .share
                .start_offsets(&g.group_id)
                .into_iter()
                .map(|(topic, partition, start)| {
                    let complete = b
                        .share
                        .lag_basis(&(g.group_id.clone(), topic, partition))
                        .map_or(0, |(_, complete)| complete);
                    let end = b
                        .partitions
                        .topic_by_id(uuid::Uuid::from_u128(topic))
                        .and_then(|t| t.partition(partition))
                        .map_or(start, |p| p.high_watermark());
                    GroupPartition {
                        topic: b
                            .partitions
                            .topic_by_id(uuid::Uuid::from_u128(topic))
                            .map_or_else(
                                || uuid::Uuid::from_u128(topic).to_string(),
                                |t| t.name.clone(),
                            ),
                        partition,
                        committed: start,
                        log_end_offset: end,
                        lag: (end - start - complete).max(0),
                        lag_seconds: 0.0,
                    }
                })
                .collect();
            GroupFigures {
                state: g.state().to_string(),
                group_type: "share".into(),
                members: g.members.len(),
                group_id: g.group_id,
                partitions,
            }
        })
        .collect()
}

/// How old the record at `offset` is: the timestamp of the batch holding it (its
/// first record's create time, or its log-append time), against `now_ms`.
fn record_age_seconds(p: &Partition, offset: i64, now_ms: i64) -> f64 {
    let Ok(read) = p.fetch(offset.max(p.log_start_offset()), 1, None) else {
        return 0.0;
    };
    let Ok(h) = BatchHeader::parse(&read.records) else {
        return 0.0;
    };
    let ts = if h.is_log_append_time() {
        h.max_timestamp()
    } else {
        h.base_timestamp()
    };
    if ts < 0 {
        return 0.0;
    }
    ((now_ms - ts).max(0)) as f64 / 1000.0
}

/// One unlabelled gauge.
fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> fmt::Result {
    encoder
        .encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&v)
}

/// A gauge family: `name{labels} value` lines under one descriptor.
fn gauge_family<L: EncodeLabelSet, V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (L, V)>,
) -> fmt::Result {
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in rows {
        family.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

impl Collector for BrokerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let state = &*self.state;
        gauge(
            &mut encoder,
            "kafka_brokers",
            "Number of brokers in the cluster (weir is one node).",
            1i64,
        )?;
        let mut topics = state.partitions.topics();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        gauge_family(
            &mut encoder,
            "kafka_topic_partitions",
            "Number of partitions of the topic.",
            topics
                .iter()
                .map(|t| ([("topic", t.name.as_str())], t.partition_count() as i64)),
        )?;
        let mut parts: Vec<(String, String, Arc<Partition>)> = Vec::new();
        for t in &topics {
            for p in t.partitions() {
                parts.push((t.name.clone(), p.index.to_string(), p));
            }
        }
        let labels = |(t, i, _): &(String, String, Arc<Partition>)| -> [(&'static str, String); 2] {
            [("topic", t.clone()), ("partition", i.clone())]
        };
        gauge_family(
            &mut encoder,
            "kafka_topic_partition_current_offset",
            "Log end offset (high watermark) of the partition.",
            parts.iter().map(|x| (labels(x), x.2.high_watermark())),
        )?;
        gauge_family(
            &mut encoder,
            "kafka_topic_partition_oldest_offset",
            "Log start offset of the partition.",
            parts.iter().map(|x| (labels(x), x.2.log_start_offset())),
        )?;
        gauge_family(
            &mut encoder,
            "weir_log_size_bytes",
            "Bytes the partition's log takes on disk, all segments.",
            parts.iter().map(|x| (labels(x), x.2.size_bytes() as i64)),
        )?;
        gauge_family(
            &mut encoder,
            "weir_log_segments",
            "Number of segments of the partition's log.",
            parts
                .iter()
                .map(|x| (labels(x), x.2.segment_count() as i64)),
        )?;
        if let Ok((total, free)) = state.store.disk_space() {
            gauge(
                &mut encoder,
                "weir_data_dir_total_bytes",
                "Size of the file system holding the data dir.",
                total,
            )?;
            gauge(
                &mut encoder,
                "weir_data_dir_free_bytes",
                "Bytes available to weir on the file system holding the data dir.",
                free,
            )?;
        }

        let groups = groups(state, weir_storage::clock::now_ms());
        gauge_family(
            &mut encoder,
            "kafka_consumergroup_members",
            "Members of the consumer group.",
            groups
                .iter()
                .map(|g| ([("consumergroup", g.group_id.as_str())], g.members as i64)),
        )?;
        gauge_family(
            &mut encoder,
            "weir_consumergroup_state",
            "1 for the group's current state and type (classic or consumer).",
            groups.iter().map(|g| {
                (
                    [
                        ("consumergroup", g.group_id.as_str()),
                        ("state", g.state.as_str()),
                        ("type", g.group_type.as_str()),
                    ],
                    1i64,
                )
            }),
        )?;
        let rows: Vec<([(&str, String); 3], &GroupPartition)> = groups
            .iter()
            .flat_map(|g| {
                g.partitions.iter().map(move |p| {
                    (
                        [
                            ("consumergroup", g.group_id.clone()),
                            ("topic", p.topic.clone()),
                            ("partition", p.partition.to_string()),
                        ],
                        p,
                    )
                })
            })
            .collect();
        gauge_family(
            &mut encoder,
            "kafka_consumergroup_current_offset",
            "Offset the group committed on the partition.",
            rows.iter().map(|(l, p)| (l.clone(), p.committed)),
        )?;
        gauge_family(
            &mut encoder,
            "kafka_consumergroup_lag",
            "Records between the group's committed offset and the partition's log end offset.",
            rows.iter().map(|(l, p)| (l.clone(), p.lag)),
        )?;
        gauge_family(
            &mut encoder,
            "weir_consumergroup_lag_seconds",
            "Age of the first record the group has not consumed (0 when caught up).",
            rows.iter().map(|(l, p)| (l.clone(), p.lag_seconds)),
        )?;
        let shares = share_groups(state);
        gauge_family(
            &mut encoder,
            "weir_sharegroup_members",
            "Members of the share group.",
            shares
                .iter()
                .map(|g| ([("sharegroup", g.group_id.as_str())], g.members as i64)),
        )?;
        gauge_family(
            &mut encoder,
            "weir_sharegroup_state",
            "1 for the share group's current state.",
            shares.iter().map(|g| {
                (
                    [
                        ("sharegroup", g.group_id.as_str()),
                        ("state", g.state.as_str()),
                    ],
                    1i64,
                )
            }),
        )?;
        let rows: Vec<([(&str, String); 3], &GroupPartition)> = shares
            .iter()
            .flat_map(|g| {
                g.partitions.iter().map(move |p| {
                    (
                        [
                            ("sharegroup", g.group_id.clone()),
                            ("topic", p.topic.clone()),
                            ("partition", p.partition.to_string()),
                        ],
                        p,
                    )
                })
            })
            .collect();
        gauge_family(
            &mut encoder,
            "weir_sharegroup_start_offset",
            "Start offset of the share-partition (every record before it is acknowledged).",
            rows.iter().map(|(l, p)| (l.clone(), p.committed)),
        )?;
        gauge_family(
            &mut encoder,
            "weir_sharegroup_lag",
            "Records from the share-partition's start offset to the log end offset not yet acknowledged or archived (Kafka's share-partition lag).",
            rows.iter().map(|(l, p)| (l.clone(), p.lag)),
        )?;
        Ok(())
    }
}
