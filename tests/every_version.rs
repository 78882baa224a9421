//! Every API this broker implements, at every version it advertises, answers a
//! request with a response that decodes completely (kafka-protocol refuses fields
//! a version lacks, and `RawClient::recv` rejects trailing bytes), on a connection
//! that stays open. The versions Kafka 4.0 removed (KIP-896), which that crate
//! no longer encodes, are written and read field by field ([`support::wire`]).

mod support;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use support::*;

/// A small valid request of `key` at `version` touching topic `t` (id `id`); `None`
/// for APIs this test does not know (added by other modules).
fn request(key: ApiKey, version: i16, n: usize, id: uuid::Uuid) -> Option<RequestKind> {
    let t = tname("t");
    Some(match key {
        ApiKey::ApiVersions => RequestKind::ApiVersions(
            ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("test"))
                .with_client_software_version(StrBytes::from_static_str("1")),
        ),
        ApiKey::Metadata => {
            RequestKind::Metadata(MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(t)),
            ])))
        }
        ApiKey::Produce => {
            let mut data = produce_request::TopicProduceData::default().with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(bytes::Bytes::from(batch(1, -1, -1, -1)))),
            ]);
            if version >= 13 {
                data.topic_id = id;
            } else {
                data.name = t;
            }
            RequestKind::Produce(
                ProduceRequest::default()
                    .with_acks(1)
                    .with_timeout_ms(1000)
                    .with_topic_data(vec![data]),
            )
        }
        ApiKey::Fetch => {
            let mut topic = fetch_request::FetchTopic::default().with_partitions(vec![
                fetch_request::FetchPartition::default().with_partition_max_bytes(1 << 20),
            ]);
            if version >= 13 {
                topic.topic_id = id;
            } else {
                topic.topic = t;
            }
            RequestKind::Fetch(
                FetchRequest::default()
                    .with_max_bytes(1 << 20)
                    .with_min_bytes(1)
                    .with_max_wait_ms(0)
                    .with_topics(vec![topic]),
            )
        }
        ApiKey::ListOffsets => RequestKind::ListOffsets(ListOffsetsRequest::default().with_topics(
            vec![ListOffsetsTopic::default()
                .with_name(t)
                .with_partitions(vec![ListOffsetsPartition::default().with_timestamp(-1)])],
        )),
        ApiKey::OffsetForLeaderEpoch => RequestKind::OffsetForLeaderEpoch(
            OffsetForLeaderEpochRequest::default().with_topics(vec![
                OffsetForLeaderTopic::default()
                    .with_topic(t)
                    .with_partitions(vec![OffsetForLeaderPartition::default()]),
            ]),
        ),
        ApiKey::CreateTopics => RequestKind::CreateTopics(
            CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
                .with_name(tname(&format!("new-{n}")))
                .with_num_partitions(1)
                .with_replication_factor(1)]),
        ),
        ApiKey::DeleteTopics => {
            let name = tname(&format!("new-{}", n - 1));
            let mut req = DeleteTopicsRequest::default();
            if version >= 6 {
                req.topics = vec![DeleteTopicState::default().with_name(Some(name))];
            } else {
                req.topic_names = vec![name];
            }
            RequestKind::DeleteTopics(req)
        }
        ApiKey::CreatePartitions => RequestKind::CreatePartitions(
            CreatePartitionsRequest::default().with_topics(vec![CreatePartitionsTopic::default()
                .with_name(tname("grow"))
                .with_count(n as i32 + 2)]),
        ),
        ApiKey::DescribeCluster => {
            RequestKind::DescribeCluster(DescribeClusterRequest::default().with_endpoint_type(1))
        }
        ApiKey::DescribeConfigs => {
            RequestKind::DescribeConfigs(DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("t")),
                DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(StrBytes::from_static_str("1")),
            ]))
        }
        ApiKey::InitProducerId => RequestKind::InitProducerId(
            InitProducerIdRequest::default().with_transaction_timeout_ms(1000),
        ),
        _ => return None,
    })
}

/// The body of an old version (below what kafka-protocol encodes) of `key`.
fn legacy_request(key: ApiKey, version: i16, n: usize) -> Vec<u8> {
    use support::wire as w;
    match key {
        ApiKey::Produce => {
            let magic = if version >= 2 { 1 } else { 0 };
            let set = weir_storage::legacy::encode_message_set(
                magic,
                weir_storage::compression::Compression::None,
                &[(1, None, Some(b"x"))],
            )
            .unwrap();
            w::produce_req("t", 0, &set)
        }
        ApiKey::Fetch => w::fetch_req("t", 0, 0, version, 1 << 20),
        ApiKey::ListOffsets => w::list_offsets_req("t", 0, -1, 1),
        ApiKey::OffsetCommit => w::offset_commit_req("g", version, "t", 0, 0, -1, ""),
        ApiKey::OffsetFetch => w::offset_fetch_req("g", "t", 0),
        ApiKey::DescribeConfigs => w::describe_configs_req(2, "t"),
        ApiKey::CreateTopics => w::create_topics_req(&format!("new-{n}"), 1, version),
        ApiKey::DeleteTopics => w::delete_topics_req(&format!("new-{}", n - 1)),
        ApiKey::OffsetForLeaderEpoch => w::offset_for_leader_epoch_req("t", 0, 0),
        ApiKey::DescribeLogDirs => w::describe_log_dirs_req(),
        // ACL APIs v0: v1 without the pattern type (no authorizer here).
        ApiKey::CreateAcls => w::W::new()
            .array(&[()], |w, _| {
                w.i8(2).str("t").str("User:x").str("*").i8(3).i8(3)
            })
            .done(),
        ApiKey::DescribeAcls => w::W::new()
            .i8(1)
            .null_str()
            .null_str()
            .null_str()
            .i8(1)
            .i8(1)
            .done(),
        ApiKey::DeleteAcls => w::W::new()
            .array(&[()], |w, _| {
                w.i8(2).str("t").null_str().null_str().i8(1).i8(1)
            })
            .done(),
        other => panic!("{other:?} v{version} has no legacy request here"),
    }
}

/// Read an old version's response completely (each reader checks the end).
fn legacy_response(key: ApiKey, version: i16, r: support::wire::R) {
    use support::wire as w;
    match key {
        ApiKey::Produce => assert_eq!(w::produce_resp(r, version).0, 0),
        ApiKey::Fetch => assert_eq!(w::fetch_resp(r, version).0, 0),
        ApiKey::ListOffsets => assert_eq!(w::list_offsets_resp(r).0, 0),
        ApiKey::OffsetCommit => assert_eq!(w::offset_commit_resp(r), [0]),
        ApiKey::OffsetFetch => assert_eq!(w::offset_fetch_resp(r).2, 0),
        ApiKey::DescribeConfigs => assert_eq!(w::describe_configs_resp(r)[0].0, 0),
        ApiKey::CreateTopics => assert_eq!(w::create_topics_resp(r, version)[0].1, 0),
        ApiKey::DeleteTopics => assert_eq!(w::delete_topics_resp(r)[0].1, 0),
        ApiKey::OffsetForLeaderEpoch => {
            assert_eq!(w::offset_for_leader_epoch_resp(r, version).0, 0)
        }
        ApiKey::DescribeLogDirs => assert_eq!(w::describe_log_dirs_resp(r)[0].0, 0),
        // Without an authorizer every ACL API answers SECURITY_DISABLED (54).
        ApiKey::CreateAcls => {
            let mut r = r;
            r.i32();
            let codes = r.array(|r| {
                let code = r.i16();
                r.null_str();
                code
            });
            r.end();
            assert_eq!(codes, [54]);
        }
        ApiKey::DescribeAcls => {
            let mut r = r;
            r.i32();
            assert_eq!(r.i16(), 54);
            r.null_str();
            assert!(r.array(|_| ()).is_empty());
            r.end();
        }
        ApiKey::DeleteAcls => {
            let mut r = r;
            r.i32();
            let codes = r.array(|r| {
                let code = r.i16();
                r.null_str();
                assert!(r.array(|_| ()).is_empty());
                code
            });
            r.end();
            assert_eq!(codes, [54]);
        }
        other => panic!("{other:?} v{version} has no legacy response here"),
    }
}

#[tokio::test]
async fn every_advertised_version_of_every_api_answers_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "t", 1).await;
    create_topic_raw(&mut c, "grow", 1).await;
    let id = broker.state().partitions.topic("t").unwrap().id;
    let mut n = 0;
    let mut checked = 0;
    // CreateTopics before DeleteTopics so there is always something to delete.
    let mut table: Vec<_> = weir::dispatch::API_TABLE.to_vec();
    table.sort_by_key(|s| (s.key != ApiKey::CreateTopics, s.key as i16));
    for spec in table {
        for version in spec.min_version..=spec.max_version {
            if spec.key == ApiKey::DeleteTopics && n == 0 {
                continue;
            }
            if version < spec.key.valid_versions().min {
                let body = legacy_request(spec.key, version, n);
                if spec.key == ApiKey::CreateTopics {
                    n += 1;
                }
                let r = c.call_raw(spec.key as i16, version, &body).await;
                legacy_response(spec.key, version, r);
                checked += 1;
                continue;
            }
            let Some(req) = request(spec.key, version, n, id) else {
                break;
            };
            if spec.key == ApiKey::CreateTopics {
                n += 1;
            }
            c.call(req, spec.key, version).await;
            checked += 1;
        }
    }
    assert!(checked >= 100, "only {checked} api/version pairs checked");
    broker.shutdown().await.unwrap();
}
