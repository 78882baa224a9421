//! Topic administration over a raw socket: CreateTopics validation and errors,
//! DescribeConfigs sources, CreatePartitions, DeleteTopics by name and id,
//! DescribeCluster; and that topics persist across a restart.

mod support;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    DescribeClusterRequest, DescribeConfigsRequest, MetadataRequest, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use support::*;

fn topic(name: &str, partitions: i32, rf: i16, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(tname(name))
        .with_num_partitions(partitions)
        .with_replication_factor(rf)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(k.to_string()))
                        .with_value(Some(StrBytes::from_string(v.to_string())))
                })
                .collect(),
        )
}

async fn create(
    c: &mut RawClient,
    topics: Vec<CreatableTopic>,
    validate_only: bool,
) -> Vec<(String, i16, i32)> {
    let req = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_validate_only(validate_only)
        .with_timeout_ms(5000);
    let ResponseKind::CreateTopics(r) = c
        .call(RequestKind::CreateTopics(req), ApiKey::CreateTopics, 7)
        .await
    else {
        panic!()
    };
    r.topics
        .iter()
        .map(|t| (t.name.0.to_string(), t.error_code, t.num_partitions))
        .collect()
}

async fn partition_count(c: &mut RawClient, name: &str) -> Option<usize> {
    let mut req = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(tname(name))),
    ]));
    req.allow_auto_topic_creation = false;
    let ResponseKind::Metadata(r) = c
        .call(RequestKind::Metadata(req), ApiKey::Metadata, 12)
        .await
    else {
        panic!()
    };
    (r.topics[0].error_code == 0).then(|| r.topics[0].partitions.len())
}

#[tokio::test]
async fn create_topics_validates_like_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("num.partitions", "2")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let res = create(
        &mut c,
        vec![
            topic("good", 3, 1, &[("retention.ms", "1000")]),
            topic("defaults", -1, -1, &[]),
            topic("bad name", 1, 1, &[]),
            topic("rf3", 1, 3, &[]),
            topic("zero", 0, 1, &[]),
            topic("badcfg", 1, 1, &[("retention.ms", "soon")]),
            topic("unknowncfg", 1, 1, &[("no.such.config", "1")]),
            topic("dup", 1, 1, &[]),
            topic("dup", 1, 1, &[]),
        ],
        false,
    )
    .await;
    let code = |name: &str| res.iter().find(|r| r.0 == name).unwrap().1;
    assert_eq!(code("good"), 0);
    assert_eq!(res[0].2, 3);
    assert_eq!(code("defaults"), 0);
    assert_eq!(res[1].2, 2, "num.partitions applies to -1");
    assert_eq!(
        code("bad name"),
        ResponseError::InvalidTopicException.code()
    );
    assert_eq!(code("rf3"), ResponseError::InvalidReplicationFactor.code());
    assert_eq!(code("zero"), ResponseError::InvalidPartitions.code());
    assert_eq!(code("badcfg"), ResponseError::InvalidConfig.code());
    assert_eq!(code("unknowncfg"), ResponseError::InvalidConfig.code());
    assert_eq!(code("dup"), ResponseError::InvalidRequest.code());
    assert_eq!(partition_count(&mut c, "bad name").await, None);

    let again = create(&mut c, vec![topic("good", 3, 1, &[])], false).await;
    assert_eq!(again[0].1, ResponseError::TopicAlreadyExists.code());
    // Kafka 4.x's text, which kafka-topics prints.
    let req = CreateTopicsRequest::default()
        .with_topics(vec![topic("good", 3, 1, &[])])
        .with_timeout_ms(5000);
    let ResponseKind::CreateTopics(r) = c
        .call(RequestKind::CreateTopics(req), ApiKey::CreateTopics, 7)
        .await
    else {
        panic!()
    };
    assert_eq!(
        r.topics[0].error_message.as_deref(),
        Some("Topic 'good' already exists.")
    );
    let dry = create(&mut c, vec![topic("dry-run", 4, 1, &[])], true).await;
    assert_eq!(dry[0].1, 0);
    assert_eq!(
        partition_count(&mut c, "dry-run").await,
        None,
        "validate_only creates nothing"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn describe_configs_reports_values_and_sources() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("log.segment.bytes", "2000000")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create(
        &mut c,
        vec![topic(
            "cfg",
            1,
            1,
            &[("retention.ms", "1234"), ("cleanup.policy", "compact")],
        )],
        false,
    )
    .await;
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("cfg")),
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_static_str("1")),
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("missing")),
        ]);
    let ResponseKind::DescribeConfigs(r) = c
        .call(
            RequestKind::DescribeConfigs(req),
            ApiKey::DescribeConfigs,
            4,
        )
        .await
    else {
        panic!()
    };
    let find = |i: usize, name: &str| {
        r.results[i]
            .configs
            .iter()
            .find(|e| e.name.as_str() == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    let e = find(0, "retention.ms");
    assert_eq!((e.value.unwrap().as_str(), e.config_source), ("1234", 1));
    assert_eq!(find(0, "cleanup.policy").value.unwrap().as_str(), "compact");
    let e = find(0, "segment.bytes");
    assert_eq!((e.value.unwrap().as_str(), e.config_source), ("2000000", 4));
    let e = find(0, "max.message.bytes");
    assert_eq!((e.value.unwrap().as_str(), e.config_source), ("1048588", 5));
    let e = find(1, "log.segment.bytes");
    assert_eq!((e.value.unwrap().as_str(), e.config_source), ("2000000", 4));
    let e = find(1, "num.partitions");
    assert_eq!((e.value.unwrap().as_str(), e.config_source), ("1", 5));
    assert_eq!(
        r.results[2].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn partitions_grow_topics_delete_and_everything_persists() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create(
        &mut c,
        vec![
            topic("grow", 1, 1, &[]),
            topic("gone", 2, 1, &[]),
            topic("gone-by-id", 1, 1, &[]),
        ],
        false,
    )
    .await;
    assert_eq!(
        produce_raw(&mut c, "gone", 0, batch(3, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );

    let grow = |count: i32| {
        RequestKind::CreatePartitions(CreatePartitionsRequest::default().with_topics(
            // null assignments, as the Java admin client sends them (an empty list would
            // name none of the new partitions: INVALID_REPLICA_ASSIGNMENT, as Kafka)
            vec![CreatePartitionsTopic::default()
                .with_name(tname("grow"))
                .with_count(count)
                .with_assignments(None)],
        ))
    };
    let ResponseKind::CreatePartitions(r) = c.call(grow(4), ApiKey::CreatePartitions, 3).await
    else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, 0);
    let ResponseKind::CreatePartitions(r) = c.call(grow(2), ApiKey::CreatePartitions, 3).await
    else {
        panic!()
    };
    assert_eq!(
        r.results[0].error_code,
        ResponseError::InvalidPartitions.code()
    );
    // Kafka 4.x's texts, which kafka-topics prints after "Error while executing topic command : ".
    assert_eq!(
        r.results[0].error_message.as_deref(),
        Some("The topic grow currently has 4 partition(s); 2 would not be an increase.")
    );
    let ResponseKind::CreatePartitions(r) = c.call(grow(4), ApiKey::CreatePartitions, 3).await
    else {
        panic!()
    };
    assert_eq!(
        r.results[0].error_code,
        ResponseError::InvalidPartitions.code()
    );
    assert_eq!(
        r.results[0].error_message.as_deref(),
        Some("Topic already has 4 partition(s).")
    );
    assert_eq!(partition_count(&mut c, "grow").await, Some(4));

    let id = broker.state().partitions.topic("gone-by-id").unwrap().id;
    let req = DeleteTopicsRequest::default().with_topics(vec![
        DeleteTopicState::default().with_name(Some(tname("gone"))),
        DeleteTopicState::default().with_topic_id(id),
        DeleteTopicState::default().with_name(Some(tname("never-was"))),
    ]);
    let ResponseKind::DeleteTopics(r) = c
        .call(RequestKind::DeleteTopics(req), ApiKey::DeleteTopics, 6)
        .await
    else {
        panic!()
    };
    let codes: Vec<i16> = r.responses.iter().map(|t| t.error_code).collect();
    assert_eq!(
        codes,
        vec![0, 0, ResponseError::UnknownTopicOrPartition.code()]
    );
    assert_eq!(
        r.responses[1].name.as_ref().unwrap().0.as_str(),
        "gone-by-id"
    );
    assert!(
        !dir.path().join("gone-0").exists(),
        "partition directory removed"
    );
    drop(c);
    broker.shutdown().await.unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    assert_eq!(partition_count(&mut c, "grow").await, Some(4));
    assert_eq!(partition_count(&mut c, "gone").await, None);
    assert_eq!(partition_count(&mut c, "gone-by-id").await, None);
    // A deleted topic can be created again, empty.
    create(&mut c, vec![topic("gone", 1, 1, &[])], false).await;
    assert_eq!(
        produce_raw(&mut c, "gone", 0, batch(1, -1, -1, -1), 9)
            .await
            .base_offset,
        0
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn describe_cluster_names_this_broker() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let req = DescribeClusterRequest::default().with_endpoint_type(1);
    let ResponseKind::DescribeCluster(r) = c
        .call(
            RequestKind::DescribeCluster(req),
            ApiKey::DescribeCluster,
            1,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    assert_eq!(r.controller_id.0, 1);
    assert_eq!(r.brokers.len(), 1);
    assert_eq!(r.brokers[0].port, broker.addr().port() as i32);
    assert_eq!(r.cluster_id.as_str(), broker.state().cluster_id);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn partition_directories_missing_from_the_registry_are_adopted_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create(&mut c, vec![topic("orphan", 2, 1, &[])], false).await;
    assert_eq!(
        produce_raw(&mut c, "orphan", 1, batch(3, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );
    drop(c);
    broker.shutdown().await.unwrap();
    // Lose the registry checkpoint.
    std::fs::remove_file(dir.path().join(weir::partitions::TOPICS_CHECKPOINT)).unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    assert_eq!(partition_count(&mut c, "orphan").await, Some(2));
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req("orphan", 1, 0, 1, 0), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    assert_eq!(resp.responses[0].partitions[0].high_watermark, 3);
    broker.shutdown().await.unwrap();
}
