//! Every API this broker implements, at every version it advertises, answers a
//! request with a response that decodes completely (kafka-protocol refuses fields
//! a version lacks, and `RawClient::recv` rejects trailing bytes), on a connection
//! that stays open.

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
    assert!(checked >= 80, "only {checked} api/version pairs checked");
    broker.shutdown().await.unwrap();
}
