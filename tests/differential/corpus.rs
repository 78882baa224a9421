//! The sequences, run in this order against each broker (later ones may use topics that
//! `setup/*` created). `v/<Api>/v<N>`: one small request of every API at every version
//! both brokers implement; the rest: the error cases of issue 13, newest versions.

use crate::{seq, Ctx, Sequence, Versions};
use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use weir_storage::{BatchBuilder, Record};

pub fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_string())
}
pub fn tn(x: &str) -> TopicName {
    TopicName(s(x))
}
pub fn gid(x: &str) -> GroupId {
    GroupId(s(x))
}
pub fn txid(x: &str) -> TransactionalId {
    TransactionalId(s(x))
}

/// Record timestamps: fixed, so both brokers store and return the same bytes.
pub const TS: i64 = 1_700_000_000_000;

/// A v2 batch of `n` records (`k0`/`v0`, ...), with producer fields for idempotence.
pub fn batch_with(n: usize, pid: i64, epoch: i16, seq: i32, txn: bool, keys: bool) -> Bytes {
    let mut b = BatchBuilder::new();
    b.producer_id = pid;
    b.producer_epoch = epoch;
    b.base_sequence = seq;
    b.transactional = txn;
    for i in 0..n {
        b.push(Record {
            offset: i as i64,
            timestamp: TS + i as i64,
            key: keys.then(|| Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("v{i}"))),
            headers: vec![],
        });
    }
    Bytes::from(b.build().expect("build batch"))
}

pub fn batch(n: usize) -> Bytes {
    batch_with(n, -1, -1, -1, false, true)
}

// --- request builders ---------------------------------------------------------------

pub fn create_topic_req(
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> CreateTopicsRequest {
    use create_topics_request::{CreatableTopic, CreatableTopicConfig};
    CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(tn(name))
            .with_num_partitions(partitions)
            .with_replication_factor(1)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(s(k))
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            )])
}

pub fn produce_req(
    v: i16,
    topic: &str,
    id: uuid::Uuid,
    partition: i32,
    records: Bytes,
) -> ProduceRequest {
    produce_req_txn(v, None, topic, id, partition, records)
}

pub fn produce_req_txn(
    v: i16,
    txn: Option<&str>,
    topic: &str,
    id: uuid::Uuid,
    partition: i32,
    records: Bytes,
) -> ProduceRequest {
    use produce_request::{PartitionProduceData, TopicProduceData};
    let mut data =
        TopicProduceData::default().with_partition_data(vec![PartitionProduceData::default()
            .with_index(partition)
            .with_records(Some(records))]);
    if v >= 13 {
        data.topic_id = id;
    } else {
        data.name = tn(topic);
    }
    ProduceRequest::default()
        .with_transactional_id(txn.map(txid))
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![data])
}

pub fn fetch_req(v: i16, topic: &str, id: uuid::Uuid, partition: i32, offset: i64) -> FetchRequest {
    use fetch_request::{FetchPartition, FetchTopic};
    let mut t = FetchTopic::default().with_partitions(vec![FetchPartition::default()
        .with_partition(partition)
        .with_fetch_offset(offset)
        .with_current_leader_epoch(-1)
        .with_partition_max_bytes(1 << 20)]);
    if v >= 13 {
        t.topic_id = id;
    } else {
        t.topic = tn(topic);
    }
    let mut r = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(10 << 20)
        .with_topics(vec![t]);
    if v >= 7 {
        r.session_epoch = -1;
    }
    r
}

pub fn list_offsets_req(topic: &str, partition: i32, timestamp: i64) -> ListOffsetsRequest {
    use list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(tn(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_current_leader_epoch(-1)
                .with_timestamp(timestamp)])])
}

pub fn metadata_req(topics: &[&str]) -> MetadataRequest {
    use metadata_request::MetadataRequestTopic;
    MetadataRequest::default().with_topics(Some(
        topics
            .iter()
            .map(|t| MetadataRequestTopic::default().with_name(Some(tn(t))))
            .collect(),
    ))
}

pub fn join_req(v: i16, group: &str, member: &str) -> JoinGroupRequest {
    use join_group_request::JoinGroupRequestProtocol;
    let mut r = JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(10_000)
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(
                b"\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00",
            ))]);
    if v >= 1 {
        r.rebalance_timeout_ms = 10_000;
    }
    r
}

pub fn sync_req(
    v: i16,
    group: &str,
    generation: i32,
    member: &str,
    assign: bool,
) -> SyncGroupRequest {
    use sync_group_request::SyncGroupRequestAssignment;
    let mut r = SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(s(member));
    if assign {
        r.assignments = vec![SyncGroupRequestAssignment::default()
            .with_member_id(s(member))
            .with_assignment(Bytes::from_static(
                b"\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00",
            ))];
    }
    if v >= 5 {
        r.protocol_type = Some(s("consumer"));
        r.protocol_name = Some(s("range"));
    }
    r
}

pub fn commit_req(
    group: &str,
    generation: i32,
    member: &str,
    topic: &str,
    offset: i64,
) -> OffsetCommitRequest {
    use offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
    OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(tn(topic))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(-1)
                .with_committed_metadata(Some(s("m")))])])
}

pub fn offset_fetch_req(v: i16, group: &str, topic: &str) -> OffsetFetchRequest {
    use offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
    };
    if v >= 8 {
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(gid(group))
            .with_member_epoch(-1)
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(tn(topic))
                .with_partition_indexes(vec![0])]))])
    } else {
        OffsetFetchRequest::default()
            .with_group_id(gid(group))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(tn(topic))
                .with_partition_indexes(vec![0])]))
    }
}

pub fn add_partitions_req(
    v: i16,
    txn: &str,
    pid: i64,
    epoch: i16,
    topic: &str,
) -> AddPartitionsToTxnRequest {
    use add_partitions_to_txn_request::{AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction};
    let topics = vec![AddPartitionsToTxnTopic::default()
        .with_name(tn(topic))
        .with_partitions(vec![0])];
    if v >= 4 {
        AddPartitionsToTxnRequest::default().with_transactions(vec![
            AddPartitionsToTxnTransaction::default()
                .with_transactional_id(txid(txn))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_topics(topics),
        ])
    } else {
        AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(txid(txn))
            .with_v3_and_below_producer_id(ProducerId(pid))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(topics)
    }
}

pub fn end_txn_req(txn: &str, pid: i64, epoch: i16, commit: bool) -> EndTxnRequest {
    EndTxnRequest::default()
        .with_transactional_id(txid(txn))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit)
}

pub fn init_pid_req(txn: Option<&str>) -> InitProducerIdRequest {
    InitProducerIdRequest::default()
        .with_transactional_id(txn.map(txid))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1)
}

// --- setup helpers ------------------------------------------------------------------

impl Ctx<'_> {
    /// The topic's id (zero if unknown), from a quiet Metadata v12.
    pub fn topic_id(&mut self, topic: &str) -> uuid::Uuid {
        self.quiet(
            12,
            metadata_req(&[topic]).with_allow_auto_topic_creation(false),
        )
        .and_then(|r| r.topics.first().map(|t| t.topic_id))
        .unwrap_or_default()
    }

    /// Wait (quietly) until every partition of `topic` has a leader: Kafka's brokers learn
    /// of a created topic a moment after CreateTopics answers.
    pub fn await_topic(&mut self, topic: &str, partitions: usize) {
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Some(r) = self.quiet(
                12,
                metadata_req(&[topic]).with_allow_auto_topic_creation(false),
            ) {
                if let Some(t) = r.topics.first() {
                    if t.error_code == 0
                        && t.partitions.len() >= partitions
                        && t.partitions.iter().all(|p| p.leader_id.0 >= 0)
                    {
                        // Metadata shows the leader a moment before the partition takes
                        // requests (NOT_LEADER_OR_FOLLOWER meanwhile): ask it
                        let ready = (0..partitions as i32).all(|p| {
                            self.quiet(7, list_offsets_req(topic, p, -1))
                                .is_some_and(|r| {
                                    r.topics
                                        .iter()
                                        .all(|t| t.partitions.iter().all(|p| p.error_code == 0))
                                })
                        });
                        if ready {
                            return;
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// CreateTopics (recorded), then wait until it is usable.
    pub fn create(&mut self, base: &str, partitions: i32, configs: &[(&str, &str)]) -> String {
        let name = self.name(base);
        self.call(create_topic_req(&name, partitions, configs));
        self.await_topic(&name, partitions as usize);
        name
    }

    /// CreateTopics without recording (setup of a sequence about something else).
    pub fn create_quiet(
        &mut self,
        base: &str,
        partitions: i32,
        configs: &[(&str, &str)],
    ) -> String {
        let name = self.name(base);
        self.quiet(7, create_topic_req(&name, partitions, configs));
        self.await_topic(&name, partitions as usize);
        name
    }

    /// Wait (quietly) until the group coordinator of `group` answers FindCoordinator
    /// without error (Kafka creates __consumer_offsets on first use).
    pub fn await_coordinator(&mut self, key: &str, key_type: i8) {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            let r = self.quiet(
                4,
                FindCoordinatorRequest::default()
                    .with_key_type(key_type)
                    .with_coordinator_keys(vec![s(key)]),
            );
            let found =
                r.is_some_and(|r| r.coordinators.first().is_some_and(|c| c.error_code == 0));
            // Kafka names a coordinator before it has loaded the group's partition of
            // __consumer_offsets (NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS meanwhile).
            if found && key_type == 0 {
                let of = self.quiet(8, offset_fetch_req(8, key, "x"));
                if of.is_some_and(|r| r.groups.first().is_some_and(|g| g.error_code == 0)) {
                    return;
                }
            } else if found {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A classic group with one member that joined and synced: (member id, generation).
    pub fn one_member_group(&mut self, group: &str, record: bool) -> (String, i32) {
        self.await_coordinator(group, 0);
        let v = self.v(ApiKey::JoinGroup);
        let first = if record {
            self.call(join_req(v, group, ""))
        } else {
            self.quiet(v, join_req(v, group, ""))
        };
        let Some(first) = first else {
            return (String::new(), -1);
        };
        let mut member = first.member_id.to_string();
        let mut generation = first.generation_id;
        if first.error_code == 79 {
            // MEMBER_ID_REQUIRED: join again with the id
            let second = if record {
                self.call(join_req(v, group, &member))
            } else {
                self.quiet(v, join_req(v, group, &member))
            };
            if let Some(r) = second {
                member = r.member_id.to_string();
                generation = r.generation_id;
            }
        }
        let sv = self.v(ApiKey::SyncGroup);
        if record {
            self.call(sync_req(sv, group, generation, &member, true));
        } else {
            self.quiet(sv, sync_req(sv, group, generation, &member, true));
        }
        (member, generation)
    }

    /// A transactional producer: (producer id, epoch), after a quiet InitProducerId.
    pub fn txn_producer(&mut self, txn: &str) -> (i64, i16) {
        self.await_coordinator(txn, 1);
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.quiet(self.v(ApiKey::InitProducerId), init_pid_req(Some(txn)));
            match r {
                Some(r) if r.error_code == 0 => return (r.producer_id.0, r.producer_epoch),
                _ if Instant::now() < until => std::thread::sleep(Duration::from_millis(50)),
                _ => return (-1, -1),
            }
        }
    }
}

/// Every sequence, in order.
pub fn all(
    versions: &Versions,
    _weir: &BTreeMap<i16, (i16, i16)>,
    _kafka: &BTreeMap<i16, (i16, i16)>,
) -> Vec<Sequence> {
    let mut out = Vec::new();
    out.push(seq("setup/topics", |c| {
        c.create("t", 1, &[]);
        c.create("t3", 3, &[]);
        c.create("grow", 1, &[]);
        // A fresh Kafka answers COORDINATOR_LOAD_IN_PROGRESS until its first block of
        // producer ids arrives: wait (clients retry) so that InitProducerId compares.
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            let r = c.quiet(4, init_pid_req(None));
            if r.is_some_and(|r| r.error_code == 0) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // used by later sequences (created here so that they have settled by then)
        for base in ["txp", "txc"] {
            let n = c.name(base);
            c.quiet(7, create_topic_req(&n, 1, &[]));
            c.await_topic(&n, 1);
        }
        let t = c.name("t");
        let id = c.topic_id(&t);
        let v = c.v(ApiKey::Produce);
        c.call(produce_req(v, &t, id, 0, batch(3)));
    }));
    for (&key, &(lo, hi)) in versions {
        let Ok(api) = ApiKey::try_from(key) else {
            continue;
        };
        for v in lo..=hi {
            if let Some(s) = shallow(api, v) {
                out.push(s);
            }
        }
    }
    crate::cases::push_all(&mut out);
    out
}

/// One small request of `api` at version `v` (plus the setup it needs).
fn shallow(api: ApiKey, v: i16) -> Option<Sequence> {
    let name = format!("v/{api:?}/v{v}");
    Some(match api {
        ApiKey::ApiVersions => seq(name, move |c| {
            let mut r = ApiVersionsRequest::default();
            if v >= 3 {
                r = r
                    .with_client_software_name(s("weir-differential"))
                    .with_client_software_version(s("1.0"));
            }
            c.call_v(v, r);
        }),
        ApiKey::Metadata => seq(name, move |c| {
            let t = c.name("t");
            let t3 = c.name("t3");
            let mut r = metadata_req(&[&t, &t3]);
            if v >= 4 {
                r.allow_auto_topic_creation = false;
            }
            c.call_v(v, r);
        }),
        ApiKey::Produce => seq(name, move |c| {
            let t = c.name("t");
            let id = c.topic_id(&t);
            c.call_v(v, produce_req(v, &t, id, 0, batch(2)));
        }),
        ApiKey::Fetch => seq(name, move |c| {
            let t = c.name("t");
            let id = c.topic_id(&t);
            c.call_v(v, fetch_req(v, &t, id, 0, 0));
        }),
        ApiKey::ListOffsets => seq(name, move |c| {
            let t = c.name("t");
            for ts in [-2, -1, TS + 1] {
                c.call_v(v, list_offsets_req(&t, 0, ts));
            }
        }),
        ApiKey::OffsetForLeaderEpoch => seq(name, move |c| {
            use offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
            let t = c.name("t");
            let mut r = OffsetForLeaderEpochRequest::default().with_topics(vec![
                OffsetForLeaderTopic::default()
                    .with_topic(tn(&t))
                    .with_partitions(vec![OffsetForLeaderPartition::default()
                        .with_partition(0)
                        .with_current_leader_epoch(-1)
                        .with_leader_epoch(0)]),
            ]);
            if v >= 3 {
                r.replica_id = BrokerId(-1);
            }
            c.call_v(v, r);
        }),
        ApiKey::CreateTopics => seq(name, move |c| {
            let n = c.name(&format!("ct{v}"));
            c.call_v(v, create_topic_req(&n, 2, &[("retention.ms", "3600000")]));
        }),
        ApiKey::DeleteTopics => seq(name, move |c| {
            let n = c.create_quiet(&format!("dt{v}"), 1, &[]);
            let mut r = DeleteTopicsRequest::default().with_timeout_ms(30_000);
            if v >= 6 {
                r.topics = vec![
                    delete_topics_request::DeleteTopicState::default().with_name(Some(tn(&n)))
                ];
            } else {
                r.topic_names = vec![tn(&n)];
            }
            c.call_v(v, r);
        }),
        ApiKey::InitProducerId => seq(name, move |c| {
            let mut r = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000);
            if v >= 3 {
                r.producer_id = ProducerId(-1);
                r.producer_epoch = -1;
            }
            c.call_v(v, r);
        }),
        ApiKey::DescribeConfigs => seq(name, move |c| {
            use describe_configs_request::DescribeConfigsResource;
            let t = c.name("t");
            let mut res = DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(&t))
                .with_configuration_keys(Some(vec![
                    s("cleanup.policy"),
                    s("retention.ms"),
                    s("segment.bytes"),
                ]));
            let _ = &mut res;
            c.call_v(
                v,
                DescribeConfigsRequest::default().with_resources(vec![res]),
            );
        }),
        ApiKey::CreatePartitions => seq(name, move |c| {
            use create_partitions_request::CreatePartitionsTopic;
            let n = c.create_quiet(&format!("cp{v}"), 1, &[]);
            c.call_v(
                v,
                CreatePartitionsRequest::default()
                    .with_timeout_ms(30_000)
                    .with_topics(vec![CreatePartitionsTopic::default()
                        .with_name(tn(&n))
                        .with_count(3)
                        .with_assignments(None)]),
            );
        }),
        ApiKey::DescribeCluster => seq(name, move |c| {
            c.call_v(v, DescribeClusterRequest::default());
        }),
        ApiKey::FindCoordinator => seq(name, move |c| {
            let g = c.name(&format!("fc{v}"));
            c.await_coordinator(&g, 0);
            let r = if v >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![s(&g)])
            } else {
                FindCoordinatorRequest::default().with_key(s(&g))
            };
            c.call_v(v, r);
        }),
        ApiKey::JoinGroup => seq(name, move |c| {
            let g = c.name(&format!("jg{v}"));
            c.await_coordinator(&g, 0);
            let r = c.call_v(v, join_req(v, &g, ""));
            if let Some(r) = r.filter(|r| r.error_code == 79) {
                c.call_v(v, join_req(v, &g, r.member_id.as_str()));
            }
        }),
        ApiKey::SyncGroup => seq(name, move |c| {
            let g = c.name(&format!("sg{v}"));
            c.await_coordinator(&g, 0);
            let jv = c.v(ApiKey::JoinGroup);
            let first = c.quiet(jv, join_req(jv, &g, "")).unwrap_or_default();
            let j = c
                .quiet(jv, join_req(jv, &g, first.member_id.as_str()))
                .unwrap_or_default();
            c.call_v(
                v,
                sync_req(v, &g, j.generation_id, j.member_id.as_str(), true),
            );
        }),
        ApiKey::Heartbeat => seq(name, move |c| {
            let g = c.name(&format!("hb{v}"));
            let (m, gen) = c.one_member_group(&g, false);
            c.call_v(
                v,
                HeartbeatRequest::default()
                    .with_group_id(gid(&g))
                    .with_generation_id(gen)
                    .with_member_id(s(&m)),
            );
        }),
        ApiKey::LeaveGroup => seq(name, move |c| {
            let g = c.name(&format!("lg{v}"));
            let (m, _) = c.one_member_group(&g, false);
            let r = if v >= 3 {
                LeaveGroupRequest::default()
                    .with_group_id(gid(&g))
                    .with_members(vec![
                        leave_group_request::MemberIdentity::default().with_member_id(s(&m))
                    ])
            } else {
                LeaveGroupRequest::default()
                    .with_group_id(gid(&g))
                    .with_member_id(s(&m))
            };
            c.call_v(v, r);
        }),
        ApiKey::OffsetCommit => seq(name, move |c| {
            let g = c.name(&format!("oc{v}"));
            let t = c.name("t");
            c.await_coordinator(&g, 0);
            let mut r = commit_req(&g, -1, "", &t, 1);
            if (2..=4).contains(&v) {
                r.retention_time_ms = -1;
            }
            c.call_v(v, r);
            c.call(offset_fetch_req(c.v(ApiKey::OffsetFetch), &g, &t));
        }),
        ApiKey::OffsetFetch => seq(name, move |c| {
            let g = c.name(&format!("of{v}"));
            let t = c.name("t");
            c.await_coordinator(&g, 0);
            c.call(commit_req(&g, -1, "", &t, 2));
            c.call_v(v, offset_fetch_req(v, &g, &t));
        }),
        ApiKey::OffsetDelete => seq(name, move |c| {
            use offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
            let g = c.name(&format!("od{v}"));
            let t = c.name("t");
            c.await_coordinator(&g, 0);
            c.call(commit_req(&g, -1, "", &t, 2));
            c.call_v(
                v,
                OffsetDeleteRequest::default()
                    .with_group_id(gid(&g))
                    .with_topics(vec![OffsetDeleteRequestTopic::default()
                        .with_name(tn(&t))
                        .with_partitions(vec![
                            OffsetDeleteRequestPartition::default().with_partition_index(0)
                        ])]),
            );
            c.call(offset_fetch_req(c.v(ApiKey::OffsetFetch), &g, &t));
        }),
        ApiKey::ListGroups => seq(name, move |c| {
            let g = c.name(&format!("lsg{v}"));
            c.one_member_group(&g, false);
            c.call_v(v, ListGroupsRequest::default());
        }),
        ApiKey::DescribeGroups => seq(name, move |c| {
            let g = c.name(&format!("dg{v}"));
            c.one_member_group(&g, false);
            c.call_v(
                v,
                DescribeGroupsRequest::default().with_groups(vec![gid(&g)]),
            );
        }),
        ApiKey::DeleteGroups => seq(name, move |c| {
            let g = c.name(&format!("delg{v}"));
            let t = c.name("t");
            c.await_coordinator(&g, 0);
            c.call(commit_req(&g, -1, "", &t, 2));
            c.call_v(
                v,
                DeleteGroupsRequest::default().with_groups_names(vec![gid(&g)]),
            );
            c.call_v(
                v,
                DeleteGroupsRequest::default().with_groups_names(vec![gid(&g)]),
            );
        }),
        ApiKey::ConsumerGroupHeartbeat => seq(name, move |c| {
            let g = c.name(&format!("cgh{v}"));
            let t = c.name("t");
            c.await_coordinator(&g, 0);
            let member = if v >= 1 { "AAAAAAAAAAAAAAAAAAAAAA" } else { "" };
            c.call_v(
                v,
                ConsumerGroupHeartbeatRequest::default()
                    .with_group_id(gid(&g))
                    .with_member_id(s(member))
                    .with_member_epoch(0)
                    .with_rebalance_timeout_ms(30_000)
                    .with_subscribed_topic_names(Some(vec![tn(&t)]))
                    .with_topic_partitions(Some(vec![])),
            );
        }),
        ApiKey::ConsumerGroupDescribe => seq(name, move |c| {
            let g = c.name(&format!("cgd{v}"));
            c.call_v(
                v,
                ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid(&g)]),
            );
        }),
        ApiKey::AlterConfigs => seq(name, move |c| {
            use alter_configs_request::{AlterConfigsResource, AlterableConfig};
            let t = c.name("t");
            c.call_v(
                v,
                AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default(
                )
                .with_resource_type(2)
                .with_resource_name(s(&t))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s("86400000")))])]),
            );
        }),
        ApiKey::IncrementalAlterConfigs => seq(name, move |c| {
            use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
            let t = c.name("t");
            c.call_v(
                v,
                IncrementalAlterConfigsRequest::default().with_resources(vec![
                    AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s(&t))
                        .with_configs(vec![AlterableConfig::default()
                            .with_name(s("retention.ms"))
                            .with_config_operation(0)
                            .with_value(Some(s("172800000")))]),
                ]),
            );
        }),
        ApiKey::DeleteRecords => seq(name, move |c| {
            use delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
            let n = c.create_quiet(&format!("dr{v}"), 1, &[]);
            let id = c.topic_id(&n);
            let pv = c.v(ApiKey::Produce);
            c.call_v(pv, produce_req(pv, &n, id, 0, batch(3)));
            c.call_v(
                v,
                DeleteRecordsRequest::default()
                    .with_timeout_ms(10_000)
                    .with_topics(vec![DeleteRecordsTopic::default()
                        .with_name(tn(&n))
                        .with_partitions(vec![DeleteRecordsPartition::default()
                            .with_partition_index(0)
                            .with_offset(1)])]),
            );
        }),
        ApiKey::AddPartitionsToTxn => seq(name, move |c| {
            let tx = c.name(&format!("apt{v}"));
            let t = c.name("t");
            let (pid, epoch) = c.txn_producer(&tx);
            c.call_v(v, add_partitions_req(v, &tx, pid, epoch, &t));
            c.call(end_txn_req(&tx, pid, epoch, false));
        }),
        ApiKey::AddOffsetsToTxn => seq(name, move |c| {
            let tx = c.name(&format!("aot{v}"));
            let g = c.name(&format!("aotg{v}"));
            c.await_coordinator(&g, 0);
            let (pid, epoch) = c.txn_producer(&tx);
            c.call_v(
                v,
                AddOffsetsToTxnRequest::default()
                    .with_transactional_id(txid(&tx))
                    .with_producer_id(ProducerId(pid))
                    .with_producer_epoch(epoch)
                    .with_group_id(gid(&g)),
            );
            c.call(end_txn_req(&tx, pid, epoch, false));
        }),
        ApiKey::EndTxn => seq(name, move |c| {
            let tx = c.name(&format!("et{v}"));
            let t = c.name("t");
            let (pid, epoch) = c.txn_producer(&tx);
            let av = c.v(ApiKey::AddPartitionsToTxn).min(3);
            c.call_v(av, add_partitions_req(av, &tx, pid, epoch, &t));
            let id = c.topic_id(&t);
            let pv = c.v(ApiKey::Produce);
            c.call_v(
                pv,
                produce_req_txn(
                    pv,
                    Some(&tx),
                    &t,
                    id,
                    0,
                    batch_with(1, pid, epoch, 0, true, true),
                ),
            );
            c.call_v(v, end_txn_req(&tx, pid, epoch, true));
        }),
        ApiKey::TxnOffsetCommit => seq(name, move |c| {
            use txn_offset_commit_request::{
                TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
            };
            let tx = c.name(&format!("toc{v}"));
            let g = c.name(&format!("tocg{v}"));
            let t = c.name("t");
            c.await_coordinator(&g, 0);
            let (pid, epoch) = c.txn_producer(&tx);
            c.call(
                AddOffsetsToTxnRequest::default()
                    .with_transactional_id(txid(&tx))
                    .with_producer_id(ProducerId(pid))
                    .with_producer_epoch(epoch)
                    .with_group_id(gid(&g)),
            );
            let mut r = TxnOffsetCommitRequest::default()
                .with_transactional_id(txid(&tx))
                .with_group_id(gid(&g))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(tn(&t))
                    .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(1)
                        .with_committed_leader_epoch(-1)])]);
            if v >= 3 {
                r.generation_id = -1;
            }
            c.call_v(v, r);
            c.call(end_txn_req(&tx, pid, epoch, true));
        }),
        ApiKey::DescribeTransactions => seq(name, move |c| {
            let tx = c.name(&format!("dtx{v}"));
            c.txn_producer(&tx);
            let unknown = c.name("no-such-txn");
            c.call_v(
                v,
                DescribeTransactionsRequest::default()
                    .with_transactional_ids(vec![txid(&tx), txid(&unknown)]),
            );
        }),
        ApiKey::ListTransactions => seq(name, move |c| {
            let tx = c.name(&format!("ltx{v}"));
            c.txn_producer(&tx);
            c.call_v(v, ListTransactionsRequest::default());
        }),
        ApiKey::DescribeLogDirs => seq(name, move |c| {
            use describe_log_dirs_request::DescribableLogDirTopic;
            let t = c.name("t");
            c.call_v(
                v,
                DescribeLogDirsRequest::default().with_topics(Some(vec![
                    DescribableLogDirTopic::default()
                        .with_topic(tn(&t))
                        .with_partitions(vec![0]),
                ])),
            );
        }),
        ApiKey::DescribeProducers => seq(name, move |c| {
            use describe_producers_request::TopicRequest;
            let n = c.create_quiet(&format!("dp{v}"), 1, &[]);
            let id = c.topic_id(&n);
            let ip = c
                .quiet(c.v(ApiKey::InitProducerId), init_pid_req(None))
                .unwrap_or_default();
            let pv = c.v(ApiKey::Produce);
            c.call_v(
                pv,
                produce_req(
                    pv,
                    &n,
                    id,
                    0,
                    batch_with(2, ip.producer_id.0, ip.producer_epoch, 0, false, true),
                ),
            );
            c.call_v(
                v,
                DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
                    .with_name(tn(&n))
                    .with_partition_indexes(vec![0, 1])]),
            );
        }),
        ApiKey::DescribeTopicPartitions => seq(name, move |c| {
            use describe_topic_partitions_request::TopicRequest;
            let t3 = c.name("t3");
            c.call_v(
                v,
                DescribeTopicPartitionsRequest::default()
                    .with_response_partition_limit(2000)
                    .with_topics(vec![TopicRequest::default().with_name(tn(&t3))]),
            );
        }),
        ApiKey::ElectLeaders => seq(name, move |c| {
            use elect_leaders_request::TopicPartitions;
            let t = c.name("t");
            c.call_v(
                v,
                ElectLeadersRequest::default()
                    .with_timeout_ms(10_000)
                    .with_topic_partitions(Some(vec![TopicPartitions::default()
                        .with_topic(tn(&t))
                        .with_partitions(vec![0])])),
            );
        }),
        ApiKey::AlterPartitionReassignments => seq(name, move |c| {
            use alter_partition_reassignments_request::{ReassignablePartition, ReassignableTopic};
            let t = c.name("t");
            c.call_v(
                v,
                AlterPartitionReassignmentsRequest::default()
                    .with_timeout_ms(10_000)
                    .with_topics(vec![ReassignableTopic::default()
                        .with_name(tn(&t))
                        .with_partitions(vec![ReassignablePartition::default()
                            .with_partition_index(0)
                            .with_replicas(None)])]),
            );
        }),
        ApiKey::ListPartitionReassignments => seq(name, move |c| {
            c.call_v(
                v,
                ListPartitionReassignmentsRequest::default().with_timeout_ms(10_000),
            );
        }),
        _ => return None,
    })
}
