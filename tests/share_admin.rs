//! The admin side of share groups over a real socket: group configs on GROUP
//! config resources (DescribeConfigs / IncrementalAlterConfigs, as Kafka 4.4's
//! `kafka-configs --entity-type groups` sends them), persisted and in effect at
//! once; AlterShareGroupOffsets and DeleteShareGroupOffsets.

mod support;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::share_fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError as E;
use support::raw::{batch, create_topic_raw, produce_raw};
use support::{RawClient, TestBroker};
use uuid::Uuid;

const GROUP: i8 = 32;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

macro_rules! call {
    ($c:expr, $kind:ident, $req:expr, $v:expr) => {
        match $c.call(RequestKind::$kind($req), ApiKey::$kind, $v).await {
            ResponseKind::$kind(r) => r,
            other => panic!("unexpected response {other:?}"),
        }
    };
}

/// IncrementalAlterConfigs v1 (what Kafka 4.4's Admin sends) on one group:
/// (error code, message).
async fn alter(c: &mut RawClient, group: &str, ops: &[(&str, Option<&str>, i8)]) -> (i16, String) {
    let (code, message) = c.incremental_alter_configs(GROUP, group, ops, false).await;
    (code, message.unwrap_or_default())
}

/// DescribeConfigs v4 of one group: (name, value, source) of every entry, or the error.
async fn describe(
    c: &mut RawClient,
    group: &str,
) -> Result<Vec<(String, String, i8)>, (i16, String)> {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(GROUP)
            .with_resource_name(s(group))
            .with_configuration_keys(None)]);
    let r = call!(c, DescribeConfigs, req, 4);
    let r = &r.results[0];
    if r.error_code != 0 {
        return Err((
            r.error_code,
            r.error_message
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default(),
        ));
    }
    Ok(r.configs
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                e.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                e.config_source,
            )
        })
        .collect())
}

fn value_of(entries: &[(String, String, i8)], name: &str) -> (String, i8) {
    let e = entries
        .iter()
        .find(|e| e.0 == name)
        .unwrap_or_else(|| panic!("{name} described"));
    (e.1.clone(), e.2)
}

async fn join(c: &mut RawClient, group: &str, member: &str) -> ShareGroupHeartbeatResponse {
    call!(
        c,
        ShareGroupHeartbeat,
        ShareGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_member_id(s(member))
            .with_member_epoch(0)
            .with_subscribed_topic_names(Some(vec![TopicName(s("t"))])),
        1
    )
}

fn fetch(group: &str, member: &str, epoch: i32, topic: Uuid) -> ShareFetchRequest {
    ShareFetchRequest::default()
        .with_group_id(Some(GroupId(s(group))))
        .with_member_id(Some(s(member)))
        .with_share_session_epoch(epoch)
        .with_max_wait_ms(100)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_max_records(100)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(topic)
            .with_partitions(vec![FetchPartition::default()
                .with_partition_index(0)
                .with_partition_max_bytes(1 << 20)])])
}

fn acquired(r: &ShareFetchResponse) -> Vec<(i64, i64, i16)> {
    r.responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .flat_map(|p| p.acquired_records.iter())
        .map(|a| (a.first_offset, a.last_offset, a.delivery_count))
        .collect()
}

#[tokio::test]
async fn group_configs_are_checked_persisted_and_in_effect_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = TestBroker::in_dir(dir.path(), &[]).await;
    let mut c = RawClient::connect(b.addr()).await;
    create_topic_raw(&mut c, "t", 1).await;
    let topic = b.state().partitions.topic("t").unwrap().id;
    assert_eq!(
        produce_raw(&mut c, "t", 0, batch(5, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );

    // Any group id describes Kafka's defaults (DEFAULT_CONFIG = 5), internal keys hidden.
    let d = describe(&mut c, "nobody").await.unwrap();
    assert_eq!(d.len(), 21);
    assert_eq!(
        value_of(&d, "share.auto.offset.reset"),
        ("latest".into(), 5)
    );
    assert_eq!(
        value_of(&d, "share.record.lock.duration.ms"),
        ("30000".into(), 5)
    );
    assert!(d.iter().all(|e| e.0 != "share.assignor.offload.enable"));
    assert_eq!(
        describe(&mut c, "").await.unwrap_err(),
        (
            E::InvalidRequest.code(),
            "Group name must not be empty".into()
        )
    );

    // Kafka's refusals and texts.
    let invalid = E::InvalidConfig.code();
    assert_eq!(
        alter(&mut c, "sg", &[("foo.bar", Some("1"), 0)]).await,
        (invalid, "Unknown group config name: foo.bar".into())
    );
    assert_eq!(
        alter(
            &mut c,
            "sg",
            &[("share.record.lock.duration.ms", Some("70000"), 0)]
        )
        .await,
        (
            invalid,
            "share.record.lock.duration.ms must be in the range 15000 to 60000 inclusive.".into()
        )
    );
    assert_eq!(
        alter(&mut c, "sg", &[("share.isolation.level", Some("x"), 0)]).await,
        (
            invalid,
            "Invalid value x for configuration share.isolation.level: String must be one of: \
             read_committed, read_uncommitted"
                .into()
        )
    );
    assert_eq!(
        alter(
            &mut c,
            "",
            &[("share.isolation.level", Some("read_committed"), 0)]
        )
        .await,
        (
            E::InvalidRequest.code(),
            "Default group resources are not allowed.".into()
        )
    );
    assert_eq!(
        alter(
            &mut c,
            "sg",
            &[("share.record.lock.duration.ms", Some("1"), 2)]
        )
        .await
        .0,
        invalid
    );

    // Set: the group starts at the earliest offset and locks records for 15 s.
    let ok = alter(
        &mut c,
        "sg",
        &[
            ("share.auto.offset.reset", Some("earliest"), 0),
            ("share.record.lock.duration.ms", Some("15000"), 0),
            ("share.heartbeat.interval.ms", Some("7000"), 0),
        ],
    )
    .await;
    assert_eq!(ok.0, 0, "{ok:?}");
    let d = describe(&mut c, "sg").await.unwrap();
    assert_eq!(
        value_of(&d, "share.auto.offset.reset"),
        ("earliest".into(), 8)
    );
    assert_eq!(
        value_of(&d, "share.record.lock.duration.ms"),
        ("15000".into(), 8)
    );

    let hb = join(&mut c, "sg", "m1").await;
    assert_eq!((hb.error_code, hb.heartbeat_interval_ms), (0, 7000));
    let r = call!(c, ShareFetch, fetch("sg", "m1", 0, topic), 1);
    assert_eq!(
        acquired(&r),
        vec![(0, 4, 1)],
        "earliest: the records before the group existed"
    );
    assert_eq!(r.acquisition_lock_timeout_ms, 15000);

    // Another group without configs starts at the end (Kafka's default: latest).
    let hb = join(&mut c, "other", "m1").await;
    assert_eq!((hb.error_code, hb.heartbeat_interval_ms), (0, 5000));
    let r = call!(c, ShareFetch, fetch("other", "m1", 0, topic), 1);
    assert!(acquired(&r).is_empty());
    assert_eq!(r.acquisition_lock_timeout_ms, 30000);

    // Persisted: after a restart the override is still there; DELETE removes it.
    drop(c);
    b.restart().await;
    let mut c = RawClient::connect(b.addr()).await;
    let d = describe(&mut c, "sg").await.unwrap();
    assert_eq!(
        value_of(&d, "share.record.lock.duration.ms"),
        ("15000".into(), 8)
    );
    assert_eq!(
        alter(&mut c, "sg", &[("share.record.lock.duration.ms", None, 1)])
            .await
            .0,
        0
    );
    let d = describe(&mut c, "sg").await.unwrap();
    assert_eq!(
        value_of(&d, "share.record.lock.duration.ms"),
        ("30000".into(), 5)
    );
    assert_eq!(
        value_of(&d, "share.auto.offset.reset"),
        ("earliest".into(), 8)
    );
}

async fn alter_offsets(
    c: &mut RawClient,
    group: &str,
    topic: &str,
    parts: &[(i32, i64)],
) -> AlterShareGroupOffsetsResponse {
    use alter_share_group_offsets_request::*;
    let req = AlterShareGroupOffsetsRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_topics(vec![AlterShareGroupOffsetsRequestTopic::default()
            .with_topic_name(TopicName(s(topic)))
            .with_partitions(
                parts
                    .iter()
                    .map(|(p, o)| {
                        AlterShareGroupOffsetsRequestPartition::default()
                            .with_partition_index(*p)
                            .with_start_offset(*o)
                    })
                    .collect(),
            )]);
    call!(c, AlterShareGroupOffsets, req, 0)
}

async fn delete_offsets(
    c: &mut RawClient,
    group: &str,
    topics: &[&str],
) -> DeleteShareGroupOffsetsResponse {
    use delete_share_group_offsets_request::*;
    let req = DeleteShareGroupOffsetsRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_topics(
            topics
                .iter()
                .map(|t| {
                    DeleteShareGroupOffsetsRequestTopic::default().with_topic_name(TopicName(s(t)))
                })
                .collect(),
        );
    call!(c, DeleteShareGroupOffsets, req, 0)
}

async fn start_offsets(c: &mut RawClient, group: &str) -> Vec<(i32, i64)> {
    use describe_share_group_offsets_request::*;
    let r = call!(
        c,
        DescribeShareGroupOffsets,
        DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(s(group)))
                .with_topics(None)
        ]),
        0
    );
    r.groups[0]
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| (p.partition_index, p.start_offset))
        .collect()
}

#[tokio::test]
async fn share_group_offsets_are_altered_and_deleted_as_kafka_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = TestBroker::in_dir(dir.path(), &[]).await;
    let mut c = RawClient::connect(b.addr()).await;
    create_topic_raw(&mut c, "t", 2).await;
    let topic = b.state().partitions.topic("t").unwrap().id;
    assert_eq!(
        produce_raw(&mut c, "t", 0, batch(10, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );

    // While a member is in the group: GROUP_NOT_EMPTY at the top, nothing changed.
    assert_eq!(join(&mut c, "sg", "m1").await.error_code, 0);
    let r = alter_offsets(&mut c, "sg", "t", &[(0, 3)]).await;
    assert_eq!(r.error_code, E::NonEmptyGroup.code());
    assert_eq!(r.error_message.as_deref(), Some("The group is not empty."));
    assert!(r.responses.is_empty());
    let r = delete_offsets(&mut c, "sg", &["t"]).await;
    assert_eq!(r.error_code, E::NonEmptyGroup.code());
    let r = call!(
        c,
        DeleteGroups,
        DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("sg"))]),
        2
    );
    assert_eq!(r.results[0].error_code, E::NonEmptyGroup.code());
    let leave = ShareGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s("sg")))
        .with_member_id(s("m1"))
        .with_member_epoch(-1);
    assert_eq!(call!(c, ShareGroupHeartbeat, leave, 1).error_code, 0);

    // Empty: set partition 0 to 3; partition 9 does not exist; an unknown topic.
    let r = alter_offsets(&mut c, "sg", "t", &[(0, 3), (9, 1)]).await;
    assert_eq!(r.error_code, 0);
    let codes: Vec<i16> = r.responses[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(codes, vec![0, E::UnknownTopicOrPartition.code()]);
    assert_eq!(r.responses[0].topic_id, topic);
    let r = alter_offsets(&mut c, "sg", "nosuch", &[(0, 1)]).await;
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        E::UnknownTopicOrPartition.code()
    );
    assert_eq!(start_offsets(&mut c, "sg").await, vec![(0, 3), (1, 0)]);
    assert_eq!(join(&mut c, "sg", "m2").await.error_code, 0);
    let r = call!(c, ShareFetch, fetch("sg", "m2", 0, topic), 1);
    assert_eq!(
        acquired(&r),
        vec![(3, 9, 1)],
        "delivery starts at the altered offset"
    );
    let leave = ShareGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s("sg")))
        .with_member_id(s("m2"))
        .with_member_epoch(-1);
    assert_eq!(call!(c, ShareGroupHeartbeat, leave, 1).error_code, 0);

    // A consumer group's id is not a share group's.
    let r = call!(
        c,
        OffsetCommit,
        OffsetCommitRequest::default()
            .with_group_id(GroupId(s("cg")))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(1)
                    ])
            ]),
        8
    );
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let r = alter_offsets(&mut c, "cg", "t", &[(0, 1)]).await;
    assert_eq!(
        (r.error_code, r.error_message.as_deref()),
        (
            E::GroupIdNotFound.code(),
            Some("Group cg is not a share group.")
        )
    );
    assert_eq!(
        alter_offsets(&mut c, "", "t", &[(0, 1)]).await.error_code,
        E::InvalidGroupId.code()
    );

    // Persisted: the altered start survives a restart.
    drop(c);
    b.restart().await;
    let mut c = RawClient::connect(b.addr()).await;
    assert_eq!(start_offsets(&mut c, "sg").await[0], (0, 3));

    // Delete a topic's state: done first, refusals after; a second time there is nothing.
    let r = delete_offsets(&mut c, "sg", &["nosuch", "t"]).await;
    let got: Vec<(String, i16)> = r
        .responses
        .iter()
        .map(|t| (t.topic_name.to_string(), t.error_code))
        .collect();
    assert_eq!(
        got,
        vec![
            ("t".into(), 0),
            ("nosuch".into(), E::UnknownTopicOrPartition.code())
        ]
    );
    assert!(start_offsets(&mut c, "sg").await.is_empty());
    let r = delete_offsets(&mut c, "sg", &["t"]).await;
    assert_eq!(
        r.responses[0].error_message.as_deref(),
        Some("There is no offset information to delete.")
    );

    // DeleteGroups on the (empty) share group removes it and its state.
    assert_eq!(
        alter_offsets(&mut c, "sg", "t", &[(1, 0)]).await.error_code,
        0
    );
    let r = call!(
        c,
        DeleteGroups,
        DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("sg"))]),
        2
    );
    assert_eq!(r.results[0].error_code, 0);
    assert!(start_offsets(&mut c, "sg").await.is_empty());
    assert!(!b.state().share.has_group("sg"));
}

#[tokio::test]
async fn consumer_group_heartbeat_interval_follows_the_group_config() {
    let b = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(b.addr()).await;
    create_topic_raw(&mut c, "t", 1).await;
    let ok = alter(
        &mut c,
        "cg",
        &[("consumer.heartbeat.interval.ms", Some("6000"), 0)],
    )
    .await;
    assert_eq!(ok.0, 0, "{ok:?}");
    for (group, want) in [("cg", 6000), ("other", 5000)] {
        let r = call!(
            c,
            ConsumerGroupHeartbeat,
            ConsumerGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s(group)))
                .with_member_id(s("m1"))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30000)
                .with_subscribed_topic_names(Some(vec![TopicName(s("t"))]))
                .with_topic_partitions(Some(vec![])),
            0
        );
        assert_eq!(
            (r.error_code, r.heartbeat_interval_ms),
            (0, want),
            "{group}"
        );
    }
    // Deleting the config puts the broker's value back.
    assert_eq!(
        alter(&mut c, "cg", &[("consumer.heartbeat.interval.ms", None, 1)])
            .await
            .0,
        0
    );
    let r = call!(
        c,
        ConsumerGroupHeartbeat,
        ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s("cg")))
            .with_member_id(s("m2"))
            .with_member_epoch(0)
            .with_rebalance_timeout_ms(30000)
            .with_subscribed_topic_names(Some(vec![TopicName(s("t"))]))
            .with_topic_partitions(Some(vec![])),
        0
    );
    assert_eq!(r.heartbeat_interval_ms, 5000);
}

fn tid(v: &str) -> TransactionalId {
    TransactionalId(s(v))
}

/// Offsets 0-2 plain, 3-4 a transaction that is aborted (marker at 5), 6-7 plain.
async fn produce_with_aborted_txn(c: &mut RawClient) {
    assert_eq!(
        produce_raw(c, "t", 0, batch(3, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );
    produce_txn(c, "tx", false).await;
    assert_eq!(
        produce_raw(c, "t", 0, batch(2, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );
}

/// Two records in a transaction of `txid` on t-0, then committed or aborted (a marker).
async fn produce_txn(c: &mut RawClient, txid: &str, commit: bool) {
    use add_partitions_to_txn_request::AddPartitionsToTxnTopic;
    use produce_request::{PartitionProduceData, TopicProduceData};
    let r = call!(
        c,
        InitProducerId,
        InitProducerIdRequest::default()
            .with_transactional_id(Some(tid(txid)))
            .with_transaction_timeout_ms(60_000),
        4
    );
    let (pid, epoch) = (r.producer_id, r.producer_epoch);
    let r = call!(
        c,
        AddPartitionsToTxn,
        AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(tid(txid))
            .with_v3_and_below_producer_id(pid)
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![0])]),
        3
    );
    assert_eq!(
        r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
        0
    );
    let mut records = weir_storage::batch::BatchBuilder::new();
    records.producer_id = pid.0;
    records.producer_epoch = epoch;
    records.base_sequence = 0;
    records.transactional = true;
    for i in 0..2 {
        records.push(weir_storage::batch::Record {
            offset: i,
            timestamp: 1,
            key: None,
            value: Some(bytes::Bytes::from_static(if commit {
                b"committed"
            } else {
                b"aborted"
            })),
            headers: vec![],
        });
    }
    let r = call!(
        c,
        Produce,
        ProduceRequest::default()
            .with_transactional_id(Some(tid(txid)))
            .with_acks(-1)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(s("t")))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(bytes::Bytes::from(records.build().unwrap())))])]),
        9
    );
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    let r = call!(
        c,
        EndTxn,
        EndTxnRequest::default()
            .with_transactional_id(tid(txid))
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_committed(commit),
        3
    );
    assert_eq!(r.error_code, 0);
}

fn offsets(acq: &[(i64, i64, i16)]) -> Vec<i64> {
    acq.iter().flat_map(|(f, l, _)| *f..=*l).collect()
}

#[tokio::test]
async fn read_committed_groups_never_get_aborted_records_and_renew_follows_the_group_config() {
    let b = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(b.addr()).await;
    create_topic_raw(&mut c, "t", 1).await;
    let topic = b.state().partitions.topic("t").unwrap().id;
    produce_with_aborted_txn(&mut c).await;
    let earliest = ("share.auto.offset.reset", Some("earliest"), 0);
    let rc = [
        earliest,
        ("share.isolation.level", Some("read_committed"), 0),
        ("share.renew.acknowledge.enable", Some("false"), 0),
    ];
    assert_eq!(alter(&mut c, "rc", &rc).await.0, 0);
    let ru = [
        earliest,
        ("share.renew.acknowledge.enable", Some("true"), 0),
    ];
    assert_eq!(alter(&mut c, "ru", &ru).await.0, 0);

    // One fetch reads across the transaction, its abort marker and the segment
    // weir rolls there (Kafka returns it all in one fetch too); a second gets nothing.
    assert_eq!(join(&mut c, "rc", "m").await.error_code, 0);
    let r = call!(c, ShareFetch, fetch("rc", "m", 0, topic), 1);
    assert_eq!(
        offsets(&acquired(&r)),
        vec![0, 1, 2, 6, 7],
        "read_committed: no aborted records, in one fetch"
    );
    let r = call!(c, ShareFetch, fetch("rc", "m", 1, topic), 1);
    assert!(acquired(&r).is_empty());
    let r = call!(c, ShareFetch, fetch("rc", "m", 2, topic), 1);
    assert!(acquired(&r).is_empty());

    assert_eq!(join(&mut c, "ru", "m").await.error_code, 0);
    let r = call!(c, ShareFetch, fetch("ru", "m", 0, topic), 1);
    assert_eq!(
        offsets(&acquired(&r)),
        vec![0, 1, 2, 3, 4, 6, 7],
        "read_uncommitted: all data records, in one fetch"
    );
    let r = call!(c, ShareFetch, fetch("ru", "m", 1, topic), 1);
    assert!(acquired(&r).is_empty());
    let r = call!(c, ShareFetch, fetch("ru", "m", 2, topic), 1);
    assert!(acquired(&r).is_empty());

    // A committed transaction (8-9, marker 10) between plain records (11-12):
    // one fetch of each group gets all four data records.
    produce_txn(&mut c, "tx2", true).await;
    assert_eq!(
        produce_raw(&mut c, "t", 0, batch(2, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );
    for (group, epoch) in [("rc", 3), ("ru", 3)] {
        let r = call!(c, ShareFetch, fetch(group, "m", epoch, topic), 1);
        assert_eq!(offsets(&acquired(&r)), vec![8, 9, 11, 12], "{group}");
    }

    // share.renew.acknowledge.enable=true: RENEW (4) of an acquired record is accepted
    // (ShareAcknowledge v2 with IsRenewAck, as Kafka 4.4 wants it).
    use share_acknowledge_request::{AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch};
    let ack = |group: &str, epoch: i32, kind: i8| {
        ShareAcknowledgeRequest::default()
            .with_group_id(Some(GroupId(s(group))))
            .with_member_id(Some(s("m")))
            .with_share_session_epoch(epoch)
            .with_is_renew_ack(kind == 4)
            .with_topics(vec![AcknowledgeTopic::default()
                .with_topic_id(topic)
                .with_partitions(vec![AcknowledgePartition::default()
                    .with_partition_index(0)
                    .with_acknowledgement_batches(vec![
                        AcknowledgementBatch::default()
                            .with_first_offset(0)
                            .with_last_offset(0)
                            .with_acknowledge_types(vec![kind]),
                    ])])])
    };
    let r = call!(c, ShareAcknowledge, ack("ru", 4, 4), 2);
    assert_eq!(r.responses[0].partitions[0].error_code, 0, "RENEW enabled");
    assert_eq!(r.acquisition_lock_timeout_ms, 30_000, "v2 answers the lock");
    let r = call!(c, ShareAcknowledge, ack("rc", 4, 4), 2);
    let p = &r.responses[0].partitions[0];
    assert_eq!(
        (p.error_code, p.error_message.as_deref()),
        (
            E::InvalidRecordState.code(),
            Some("Renewing acquisition locks is not enabled for the group.")
        ),
        "RENEW with the group config false"
    );
    // RENEW without IsRenewAck (any v1 request): INVALID_REQUEST, as Kafka 4.4.
    let mut v2_no_flag = ack("ru", 5, 4);
    v2_no_flag.is_renew_ack = false;
    let r = call!(c, ShareAcknowledge, v2_no_flag, 2);
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        E::InvalidRequest.code()
    );
    let mut v1 = ack("ru", 6, 4);
    v1.is_renew_ack = false;
    let r = call!(c, ShareAcknowledge, v1, 1);
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        E::InvalidRequest.code()
    );
}
