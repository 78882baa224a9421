//! Regression tests for the differences tests/differential found between weir and
//! Apache Kafka 4.4 and that were fixed in weir: each asserts what Kafka answered to
//! the same request (the sequence named in each test), against an in-process broker
//! over a real socket, so they run without Java.

mod support;

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;
use support::*;

async fn fetch_one(
    c: &mut RawClient,
    topic: &str,
    partition: i32,
    offset: i64,
) -> fetch_response::PartitionData {
    let ResponseKind::Fetch(r) = c
        .call(fetch_req(topic, partition, offset, 1, 0), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    r.responses[0].partitions[0].clone()
}

/// err/fetch/*: an unknown partition has an empty (not null) aborted list; a failed
/// read (OFFSET_OUT_OF_RANGE) reports high watermark, LSO and log start as -1.
#[tokio::test]
async fn fetch_errors_carry_kafkas_defaults() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "f", 1).await;
    assert_eq!(
        produce_raw(&mut c, "f", 0, batch(3, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );

    let p = fetch_one(&mut c, "f", 4, 0).await;
    assert_eq!(p.error_code, ResponseError::UnknownTopicOrPartition.code());
    assert_eq!(p.aborted_transactions, Some(vec![]));
    assert_eq!(p.high_watermark, -1);

    let p = fetch_one(&mut c, "f", 0, 1000).await;
    assert_eq!(p.error_code, ResponseError::OffsetOutOfRange.code());
    assert_eq!(
        (p.high_watermark, p.last_stable_offset, p.log_start_offset),
        (-1, -1, -1)
    );
    assert_eq!(p.aborted_transactions, None);
    broker.shutdown().await.unwrap();
}

/// err/produce/*: a known topic id without the partition is UNKNOWN_TOPIC_OR_PARTITION;
/// corrupt and oversized batches carry no message; a batch cut short is INVALID_RECORD.
#[tokio::test]
async fn produce_errors_as_kafka() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "p", 1).await;
    let id = broker.state().partitions.topic("p").unwrap().id;
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_topic_id(id)
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(7)
                    .with_records(Some(Bytes::from(batch(1, -1, -1, -1)))),
            ])]);
    let ResponseKind::Produce(r) = c.call(RequestKind::Produce(req), ApiKey::Produce, 13).await
    else {
        panic!()
    };
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );

    let mut bad = batch(2, -1, -1, -1);
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let r = produce_raw(&mut c, "p", 0, bad, 12).await;
    assert_eq!(
        (r.error_code, r.error_message),
        (ResponseError::CorruptMessage.code(), None)
    );

    let short = batch(2, -1, -1, -1);
    let r = produce_raw(&mut c, "p", 0, short[..short.len() - 5].to_vec(), 12).await;
    assert_eq!(
        (r.error_code, r.error_message),
        (ResponseError::InvalidRecord.code(), None)
    );
    broker.shutdown().await.unwrap();
}

/// err/idempotent/duplicates-gaps-epochs: sequence and epoch errors report the log
/// start offset and no message.
#[tokio::test]
async fn idempotent_errors_report_the_log_start_and_no_message() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "i", 1).await;
    let ResponseKind::InitProducerId(ip) = c
        .call(
            RequestKind::InitProducerId(
                InitProducerIdRequest::default()
                    .with_transactional_id(None)
                    .with_transaction_timeout_ms(60_000),
            ),
            ApiKey::InitProducerId,
            4,
        )
        .await
    else {
        panic!()
    };
    let (pid, e) = (ip.producer_id.0, ip.producer_epoch);
    assert_eq!(
        produce_raw(&mut c, "i", 0, batch(2, pid, e, 0), 12)
            .await
            .error_code,
        0
    );
    let r = produce_raw(&mut c, "i", 0, batch(1, pid, e, 9), 12).await;
    assert_eq!(r.error_code, ResponseError::OutOfOrderSequenceNumber.code());
    assert_eq!((r.log_start_offset, r.error_message), (0, None));
    broker.shutdown().await.unwrap();
}

/// v/CreatePartitions, err/create-partitions/*: an empty (non-null) assignment list for
/// new partitions is INVALID_REPLICA_ASSIGNMENT with Kafka's text; an unknown topic
/// has no message.
#[tokio::test]
async fn create_partitions_checks_assignments_as_kafka() {
    use create_partitions_request::CreatePartitionsTopic;
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "cp", 1).await;
    let req = CreatePartitionsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![
            CreatePartitionsTopic::default()
                .with_name(tname("cp"))
                .with_count(3),
            CreatePartitionsTopic::default()
                .with_name(tname("nosuch"))
                .with_count(3)
                .with_assignments(None),
        ]);
    let ResponseKind::CreatePartitions(r) = c
        .call(
            RequestKind::CreatePartitions(req),
            ApiKey::CreatePartitions,
            3,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(
        r.results[0].error_code,
        ResponseError::InvalidReplicaAssignment.code()
    );
    assert_eq!(
        r.results[0].error_message.as_deref(),
        Some(
            "Attempted to add 2 additional partition(s), but only 0 assignment(s) were specified."
        )
    );
    assert_eq!(
        (
            r.results[1].error_code,
            r.results[1].error_message.as_deref()
        ),
        (ResponseError::UnknownTopicOrPartition.code(), None)
    );
    assert_eq!(
        broker
            .state()
            .partitions
            .topic("cp")
            .unwrap()
            .partition_count(),
        1
    );
    broker.shutdown().await.unwrap();
}

/// err/create-topics/*, err/delete-topics/unknown: Kafka's texts.
#[tokio::test]
async fn topic_admin_errors_carry_kafkas_texts() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let create = |name: &str, partitions: i32, rf: i16| {
        RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(vec![
            create_topics_request::CreatableTopic::default()
                .with_name(tname(name))
                .with_num_partitions(partitions)
                .with_replication_factor(rf),
        ]))
    };
    let mut texts = Vec::new();
    for (name, partitions, rf) in [
        ("", 1, 1),
        ("..", 1, 1),
        ("a/b", 1, 1),
        ("ok", 0, 1),
        ("ok", 1, 3),
    ] {
        let ResponseKind::CreateTopics(r) = c
            .call(create(name, partitions, rf), ApiKey::CreateTopics, 7)
            .await
        else {
            panic!()
        };
        texts.push(
            r.topics[0]
                .error_message
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default(),
        );
    }
    assert_eq!(
        texts,
        [
            "Topic name is invalid: the empty string is not allowed",
            "Topic name is invalid: '..' is not allowed",
            "Topic name is invalid: 'a/b' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'",
            "Number of partitions was set to an invalid non-positive value.",
            "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered or some brokers have all their log directories cordoned.",
        ]
    );
    let req = DeleteTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![
            delete_topics_request::DeleteTopicState::default().with_name(Some(tname("nosuch"))),
            delete_topics_request::DeleteTopicState::default()
                .with_topic_id(uuid::Uuid::from_u128(77)),
        ]);
    let ResponseKind::DeleteTopics(r) = c
        .call(RequestKind::DeleteTopics(req), ApiKey::DeleteTopics, 6)
        .await
    else {
        panic!()
    };
    let got: Vec<_> = r
        .responses
        .iter()
        .map(|t| t.error_message.as_ref().map(|m| m.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            Some("This server does not host this topic-partition.".to_string()),
            Some("This server does not host this topic ID.".to_string()),
        ]
    );
    broker.shutdown().await.unwrap();
}

/// err/offset-for-leader-epoch/unknown, list-offsets/timestamps: an epoch past the only
/// one (0) is UNDEFINED_EPOCH_OFFSET; latest-tiered is none; -6 needs ListOffsets v11.
#[tokio::test]
async fn epochs_and_special_timestamps_as_kafka() {
    use list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "e", 1).await;
    assert_eq!(
        produce_raw(&mut c, "e", 0, batch(3, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(tname("e"))
            .with_partitions(vec![
                OffsetForLeaderPartition::default()
                    .with_partition(0)
                    .with_current_leader_epoch(-1)
                    .with_leader_epoch(0),
                OffsetForLeaderPartition::default()
                    .with_partition(0)
                    .with_current_leader_epoch(-1)
                    .with_leader_epoch(7),
            ])]);
    let ResponseKind::OffsetForLeaderEpoch(r) = c
        .call(
            RequestKind::OffsetForLeaderEpoch(req),
            ApiKey::OffsetForLeaderEpoch,
            4,
        )
        .await
    else {
        panic!()
    };
    let got: Vec<_> = r.topics[0]
        .partitions
        .iter()
        .map(|p| (p.error_code, p.leader_epoch, p.end_offset))
        .collect();
    assert_eq!(got, [(0, 0, 3), (0, -1, -1)]);

    for (ts, want) in [
        (-5, (0, -1, -1, -1)),
        (-6, (ResponseError::UnsupportedVersion.code(), -1, -1, -1)),
    ] {
        let req = ListOffsetsRequest::default()
            .with_replica_id(kafka_protocol::messages::BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(tname("e"))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_current_leader_epoch(-1)
                    .with_timestamp(ts)])]);
        let ResponseKind::ListOffsets(r) = c
            .call(RequestKind::ListOffsets(req), ApiKey::ListOffsets, 10)
            .await
        else {
            panic!()
        };
        let p = &r.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.offset, p.timestamp, p.leader_epoch),
            want,
            "timestamp {ts}"
        );
    }
    broker.shutdown().await.unwrap();
}
