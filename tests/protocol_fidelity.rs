//! Protocol fidelity (issue 21) over a real socket: the admin APIs a one-broker
//! Kafka 4.x answers (DescribeLogDirs, DescribeProducers, DescribeTopicPartitions,
//! ElectLeaders, Alter/ListPartitionReassignments), answered as Kafka answers
//! them; nullable strings sent as null on success; DescribeConfigs' broker
//! resource and synonyms as Kafka lists them.

mod support;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::describe_producers_request::TopicRequest as ProducersTopic;
use kafka_protocol::messages::describe_topic_partitions_request::{
    Cursor, TopicRequest as DtpTopic,
};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;
use support::*;

async fn describe_log_dirs(
    c: &mut RawClient,
    topics: Option<Vec<(&str, Vec<i32>)>>,
    version: i16,
) -> DescribeLogDirsResponse {
    let req = DescribeLogDirsRequest::default().with_topics(topics.map(|ts| {
        ts.into_iter()
            .map(|(t, ps)| {
                DescribableLogDirTopic::default()
                    .with_topic(tname(t))
                    .with_partitions(ps)
            })
            .collect()
    }));
    let ResponseKind::DescribeLogDirs(r) = c
        .call(
            RequestKind::DescribeLogDirs(req),
            ApiKey::DescribeLogDirs,
            version,
        )
        .await
    else {
        panic!()
    };
    r
}

#[tokio::test]
async fn describe_log_dirs_reports_the_data_dir_its_space_and_partition_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "sizes", 2).await;
    create_topic_raw(&mut c, "other", 1).await;
    let records = batch(3, -1, -1, -1);
    let len = records.len() as i64;
    assert_eq!(
        produce_raw(&mut c, "sizes", 0, records, 9).await.error_code,
        0
    );

    let r = describe_log_dirs(&mut c, None, 4).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.results.len(), 1);
    let d = &r.results[0];
    assert_eq!(d.error_code, 0);
    let abs = std::path::absolute(dir.path()).unwrap();
    assert_eq!(d.log_dir.as_str(), abs.to_str().unwrap());
    assert!(d.total_bytes > 0, "{}", d.total_bytes);
    assert!(
        d.usable_bytes > 0 && d.usable_bytes <= d.total_bytes,
        "{} of {}",
        d.usable_bytes,
        d.total_bytes
    );
    let sizes = d
        .topics
        .iter()
        .find(|t| t.name.0.as_str() == "sizes")
        .unwrap();
    let parts: Vec<(i32, i64, i64, bool)> = sizes
        .partitions
        .iter()
        .map(|p| {
            (
                p.partition_index,
                p.partition_size,
                p.offset_lag,
                p.is_future_key,
            )
        })
        .collect();
    assert_eq!(parts, vec![(0, len, 0, false), (1, 0, 0, false)]);

    // Named partitions only (an unknown one is left out); as Kafka 4.4
    // (ReplicaManager.describeLogDirs drops topics with no partition left, and
    // tests/differential compares with a real one), the other topics are not listed.
    let r = describe_log_dirs(&mut c, Some(vec![("sizes", vec![1, 9])]), 1).await;
    let d = &r.results[0];
    assert_eq!(
        (d.total_bytes, d.usable_bytes),
        (-1, -1),
        "v1 has no space fields"
    );
    let listed: Vec<(&str, Vec<i32>)> = d
        .topics
        .iter()
        .map(|t| {
            (
                t.name.0.as_str(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    assert_eq!(listed, vec![("sizes", vec![1])]);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn describe_producers_lists_idempotent_producers_and_unknown_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "prod", 2).await;
    assert_eq!(
        produce_raw(&mut c, "prod", 0, batch(3, 4000, 2, 0), 9)
            .await
            .error_code,
        0
    );
    assert_eq!(
        produce_raw(&mut c, "prod", 0, batch(2, 4000, 2, 3), 9)
            .await
            .error_code,
        0
    );
    assert_eq!(
        produce_raw(&mut c, "prod", 0, batch(1, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );

    let req = DescribeProducersRequest::default().with_topics(vec![
        ProducersTopic::default()
            .with_name(tname("prod"))
            .with_partition_indexes(vec![0, 1, 5]),
        ProducersTopic::default()
            .with_name(tname("nope"))
            .with_partition_indexes(vec![0]),
    ]);
    let ResponseKind::DescribeProducers(r) = c
        .call(
            RequestKind::DescribeProducers(req),
            ApiKey::DescribeProducers,
            0,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics.len(), 2);
    let p = &r.topics[0].partitions;
    assert_eq!((p[0].partition_index, p[0].error_code), (0, 0));
    assert_eq!(p[0].error_message, None, "null on success");
    assert_eq!(
        p[0].active_producers.len(),
        1,
        "{:?}",
        p[0].active_producers
    );
    let s = &p[0].active_producers[0];
    assert_eq!(
        (
            s.producer_id.0,
            s.producer_epoch,
            s.last_sequence,
            s.current_txn_start_offset
        ),
        (4000, 2, 4, -1)
    );
    assert_eq!((p[1].error_code, p[1].active_producers.len()), (0, 0));
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    assert_eq!((p[2].partition_index, p[2].error_code), (5, unknown));
    assert_eq!(p[2].error_message, None, "Kafka sends no message here");
    assert_eq!(r.topics[1].partitions[0].error_code, unknown);
    broker.shutdown().await.unwrap();
}

async fn dtp(
    c: &mut RawClient,
    topics: &[&str],
    limit: i32,
    cursor: Option<(&str, i32)>,
) -> DescribeTopicPartitionsResponse {
    let req = DescribeTopicPartitionsRequest::default()
        .with_topics(
            topics
                .iter()
                .map(|t| DtpTopic::default().with_name(tname(t)))
                .collect(),
        )
        .with_response_partition_limit(limit)
        .with_cursor(cursor.map(|(t, p)| {
            Cursor::default()
                .with_topic_name(tname(t))
                .with_partition_index(p)
        }));
    let ResponseKind::DescribeTopicPartitions(r) = c
        .call(
            RequestKind::DescribeTopicPartitions(req),
            ApiKey::DescribeTopicPartitions,
            0,
        )
        .await
    else {
        panic!()
    };
    r
}

/// (topic, error, partition indexes) of a DescribeTopicPartitions answer.
fn dtp_topics(r: &DescribeTopicPartitionsResponse) -> Vec<(String, i16, Vec<i32>)> {
    r.topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().unwrap().0.to_string(),
                t.error_code,
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect()
}

fn dtp_cursor(r: &DescribeTopicPartitionsResponse) -> Option<(String, i32)> {
    r.next_cursor
        .as_ref()
        .map(|c| (c.topic_name.0.to_string(), c.partition_index))
}

#[tokio::test]
async fn describe_topic_partitions_pages_with_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "ta", 3).await;
    create_topic_raw(&mut c, "tb", 2).await;
    create_topic_raw(&mut c, "tc", 1).await;
    let s = |x: &str| x.to_string();

    // All topics (here: exactly these three), 4 partitions per answer.
    let r = dtp(&mut c, &[], 4, None).await;
    assert_eq!(
        dtp_topics(&r),
        vec![(s("ta"), 0, vec![0, 1, 2]), (s("tb"), 0, vec![0])]
    );
    assert_eq!(dtp_cursor(&r), Some((s("tb"), 1)));
    let t = &r.topics[0];
    assert_eq!(
        t.topic_id,
        broker.state().partitions.topic("ta").unwrap().id
    );
    assert!(!t.is_internal);
    let p = &t.partitions[1];
    let node = broker.state().node_id;
    assert_eq!((p.leader_id.0, p.leader_epoch), (node, 0));
    assert_eq!(
        p.replica_nodes.iter().map(|b| b.0).collect::<Vec<_>>(),
        vec![node]
    );
    assert_eq!(p.isr_nodes, p.replica_nodes);
    assert_eq!(p.eligible_leader_replicas, Some(vec![]));
    assert_eq!(p.last_known_elr, Some(vec![]));

    let r = dtp(&mut c, &[], 4, Some(("tb", 1))).await;
    assert_eq!(
        dtp_topics(&r),
        vec![(s("tb"), 0, vec![1]), (s("tc"), 0, vec![0])]
    );
    assert_eq!(dtp_cursor(&r), None);

    // A page that ends exactly at a topic's end points at the next topic.
    let r = dtp(&mut c, &[], 3, None).await;
    assert_eq!(dtp_topics(&r), vec![(s("ta"), 0, vec![0, 1, 2])]);
    assert_eq!(dtp_cursor(&r), Some((s("tb"), 0)));

    // Named topics, sorted; unknown and invalid names get their errors.
    let r = dtp(&mut c, &["tc", "bad name", "zz", "ta"], 2000, None).await;
    assert_eq!(
        dtp_topics(&r),
        vec![
            (
                s("bad name"),
                ResponseError::InvalidTopicException.code(),
                vec![]
            ),
            (s("ta"), 0, vec![0, 1, 2]),
            (s("tc"), 0, vec![0]),
            (
                s("zz"),
                ResponseError::UnknownTopicOrPartition.code(),
                vec![]
            ),
        ]
    );
    // The cursor's topic must be among the named ones.
    let r = dtp(&mut c, &["ta"], 10, Some(("tb", 0))).await;
    assert_eq!(
        dtp_topics(&r),
        vec![(s("ta"), ResponseError::InvalidRequest.code(), vec![])]
    );
    // A limit below 1 still answers one partition.
    let r = dtp(&mut c, &["ta"], 0, None).await;
    assert_eq!(dtp_topics(&r), vec![(s("ta"), 0, vec![0])]);
    assert_eq!(dtp_cursor(&r), Some((s("ta"), 1)));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn elect_leaders_is_never_needed_on_one_broker() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "el", 2).await;
    let req = |kind: i8, tps: Option<Vec<(&str, Vec<i32>)>>| {
        RequestKind::ElectLeaders(
            ElectLeadersRequest::default()
                .with_election_type(kind)
                .with_timeout_ms(1000)
                .with_topic_partitions(tps.map(|v| {
                    v.into_iter()
                        .map(|(t, ps)| {
                            TopicPartitions::default()
                                .with_topic(tname(t))
                                .with_partitions(ps)
                        })
                        .collect()
                })),
        )
    };
    let ResponseKind::ElectLeaders(r) = c
        .call(
            req(0, Some(vec![("el", vec![0, 7]), ("nope", vec![0])])),
            ApiKey::ElectLeaders,
            2,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    let got: Vec<(String, i32, i16, Option<String>)> = r
        .replica_election_results
        .iter()
        .flat_map(|t| {
            t.partition_result.iter().map(|p| {
                (
                    t.topic.0.to_string(),
                    p.partition_id,
                    p.error_code,
                    p.error_message.as_ref().map(|m| m.to_string()),
                )
            })
        })
        .collect();
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    assert_eq!(
        got,
        vec![
            (
                "el".into(),
                0,
                ResponseError::ElectionNotNeeded.code(),
                Some("Leader election not needed for topic partition.".into())
            ),
            (
                "el".into(),
                7,
                unknown,
                Some("No such partition as el-7".into())
            ),
            (
                "nope".into(),
                0,
                unknown,
                Some("No such topic as nope".into())
            ),
        ]
    );

    // Every partition (null): not-needed results are left out.
    let ResponseKind::ElectLeaders(r) = c.call(req(1, None), ApiKey::ElectLeaders, 1).await else {
        panic!()
    };
    let el = r
        .replica_election_results
        .iter()
        .find(|t| t.topic.0.as_str() == "el")
        .expect("each topic is listed");
    assert!(el.partition_result.is_empty());

    let ResponseKind::ElectLeaders(r) = c
        .call(req(5, Some(vec![("el", vec![0])])), ApiKey::ElectLeaders, 2)
        .await
    else {
        panic!()
    };
    let invalid = ResponseError::InvalidRequest.code();
    assert_eq!(r.error_code, invalid);
    assert_eq!(
        r.replica_election_results[0].partition_result[0].error_code,
        invalid
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn partition_reassignments_accept_only_this_broker_and_none_is_ongoing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let node = broker.state().node_id;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "ra", 5).await;
    let part = |i: i32, replicas: Option<Vec<i32>>| {
        ReassignablePartition::default()
            .with_partition_index(i)
            .with_replicas(replicas.map(|r| r.into_iter().map(BrokerId).collect()))
    };
    let req = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(1000)
        .with_topics(vec![
            ReassignableTopic::default()
                .with_name(tname("ra"))
                .with_partitions(vec![
                    part(0, Some(vec![node])),
                    part(1, Some(vec![node, node + 1])),
                    part(2, None),
                    part(3, Some(vec![])),
                    part(4, Some(vec![node, node])),
                    part(9, Some(vec![node])),
                ]),
            ReassignableTopic::default()
                .with_name(tname("nope"))
                .with_partitions(vec![part(0, Some(vec![node]))]),
        ]);
    let ResponseKind::AlterPartitionReassignments(r) = c
        .call(
            RequestKind::AlterPartitionReassignments(req),
            ApiKey::AlterPartitionReassignments,
            1,
        )
        .await
    else {
        panic!()
    };
    assert_eq!((r.error_code, r.error_message.clone()), (0, None));
    let got: Vec<(i32, i16, Option<String>)> = r
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            (
                p.partition_index,
                p.error_code,
                p.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    let bad = ResponseError::InvalidReplicaAssignment.code();
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    let other = node + 1;
    assert_eq!(
        got,
        vec![
            (0, 0, None),
            (1, bad, Some(format!("The manual partition assignment includes broker {other}, but no such broker is registered."))),
            // Apache Kafka 4.4 sends no text here (tests/differential, v/AlterPartitionReassignments)
            (2, ResponseError::NoReassignmentInProgress.code(), None),
            (3, bad, Some("The manual partition assignment includes an empty replica list.".into())),
            (4, bad, Some(format!("The manual partition assignment includes the broker {node} more than once."))),
            (9, unknown, Some("Unable to find partition ra:9.".into())),
            (0, unknown, Some("Unable to find a topic named nope.".into())),
        ]
    );

    for topics in [None, Some(vec!["ra"])] {
        let req = ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(1000)
            .with_topics(topics.map(|ts| {
                ts.into_iter()
                    .map(|t| {
                        list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                            .with_name(tname(t))
                            .with_partition_indexes(vec![0, 1])
                    })
                    .collect()
            }));
        let ResponseKind::ListPartitionReassignments(r) = c
            .call(
                RequestKind::ListPartitionReassignments(req),
                ApiKey::ListPartitionReassignments,
                0,
            )
            .await
        else {
            panic!()
        };
        assert_eq!(
            (r.error_code, r.error_message, r.topics.len()),
            (0, None, 0)
        );
    }
    broker.shutdown().await.unwrap();
}

/// Nullable strings as Kafka 4.x sends them: null where its handlers set null
/// (CreateTopics/AlterConfigs/IncrementalAlterConfigs success, from the
/// controller's `ApiError.NONE`), "NONE" where they send `Errors.NONE.message()`
/// (FindCoordinator v1-3), and the generated default "" where they set nothing
/// (DescribeConfigs results, FindCoordinator v4+ coordinators).
#[tokio::test]
async fn nullable_strings_on_success_are_what_kafka_sends() {
    use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
    use kafka_protocol::messages::create_topics_request::CreatableTopic;
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::incremental_alter_configs_request as iac;
    use kafka_protocol::protocol::StrBytes;
    let s = |x: &str| StrBytes::from_string(x.to_string());

    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;

    let topic = |name: &str, partitions: i32| {
        CreatableTopic::default()
            .with_name(tname(name))
            .with_num_partitions(partitions)
            .with_replication_factor(1)
    };
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![
            topic("dup", 1),
            topic("nulls", 1),
            topic("zero", 0),
            topic("dup", 1),
        ]);
    let ResponseKind::CreateTopics(r) = c
        .call(RequestKind::CreateTopics(req), ApiKey::CreateTopics, 7)
        .await
    else {
        panic!()
    };
    let got: Vec<(&str, i16, Option<&str>, Option<usize>)> = r
        .topics
        .iter()
        .map(|t| {
            (
                t.name.0.as_str(),
                t.error_code,
                t.error_message.as_ref().map(|m| m.as_str()),
                t.configs.as_ref().map(|c| c.len()),
            )
        })
        .collect();
    assert_eq!(got[0].0, "nulls");
    assert_eq!((got[0].1, got[0].2), (0, None), "success: null message");
    assert!(got[0].3.unwrap() > 0, "success: the effective configs");
    assert_eq!(got[1].0, "zero");
    assert_eq!(got[1].1, ResponseError::InvalidPartitions.code());
    assert!(got[1].2.is_some_and(|m| !m.is_empty()));
    assert_eq!(got[1].3, Some(0), "failure: an empty config list, not null");
    assert_eq!(
        got[2],
        (
            "dup",
            ResponseError::InvalidRequest.code(),
            Some("Duplicate topic name."),
            Some(0)
        ),
        "one answer per duplicated name, after the others"
    );
    assert_eq!(got.len(), 3);

    let req = AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(2)
        .with_resource_name(s("nulls"))
        .with_configs(vec![AlterableConfig::default()
            .with_name(s("retention.ms"))
            .with_value(Some(s("5000")))])]);
    let ResponseKind::AlterConfigs(r) = c
        .call(RequestKind::AlterConfigs(req), ApiKey::AlterConfigs, 2)
        .await
    else {
        panic!()
    };
    assert_eq!(
        (
            r.responses[0].error_code,
            r.responses[0].error_message.clone()
        ),
        (0, None)
    );

    let op = |name: &str, value: &str| {
        iac::AlterableConfig::default()
            .with_name(s(name))
            .with_config_operation(0)
            .with_value(Some(s(value)))
    };
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        iac::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s("nulls"))
            .with_configs(vec![op("retention.ms", "6000")]),
        iac::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s("nulls"))
            .with_configs(vec![op("retention.ms", "soon")]),
    ]);
    let ResponseKind::IncrementalAlterConfigs(r) = c
        .call(
            RequestKind::IncrementalAlterConfigs(req),
            ApiKey::IncrementalAlterConfigs,
            1,
        )
        .await
    else {
        panic!()
    };
    let ok = r
        .responses
        .iter()
        .find(|x| x.error_code == 0)
        .expect("one succeeds");
    assert_eq!(ok.error_message, None);

    let req = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s("nulls")),
        DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s("missing")),
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
    assert_eq!(r.results[0].error_code, 0);
    assert_eq!(r.results[0].error_message.as_deref(), Some(""));
    let retention = r.results[0]
        .configs
        .iter()
        .find(|e| e.name.as_str() == "retention.ms")
        .unwrap();
    assert_eq!(retention.value.as_deref(), Some("6000"));
    assert_eq!(retention.documentation, None, "not asked for: null");
    assert_eq!(
        (
            r.results[1].error_code,
            r.results[1].error_message.as_deref()
        ),
        (ResponseError::UnknownTopicOrPartition.code(), Some(""))
    );

    let old = FindCoordinatorRequest::default()
        .with_key(s("g"))
        .with_key_type(0);
    let ResponseKind::FindCoordinator(r) = c
        .call(
            RequestKind::FindCoordinator(old),
            ApiKey::FindCoordinator,
            3,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(
        (r.error_code, r.error_message.as_deref()),
        (0, Some("NONE"))
    );
    let new = FindCoordinatorRequest::default()
        .with_coordinator_keys(vec![s("g")])
        .with_key_type(0);
    let ResponseKind::FindCoordinator(r) = c
        .call(
            RequestKind::FindCoordinator(new),
            ApiKey::FindCoordinator,
            6,
        )
        .await
    else {
        panic!()
    };
    let co = &r.coordinators[0];
    assert_eq!((co.error_code, co.error_message.as_deref()), (0, Some("")));
    broker.shutdown().await.unwrap();
}

/// (name, value, source) of DescribeConfigs synonyms.
type Syn = (String, Option<String>, i8);

fn syns(e: &describe_configs_response::DescribeConfigsResourceResult) -> Vec<Syn> {
    e.synonyms
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.value.as_ref().map(|v| v.to_string()),
                s.source,
            )
        })
        .collect()
}

fn syn(name: &str, value: Option<&str>, source: i8) -> Syn {
    (name.to_string(), value.map(str::to_string), source)
}

/// DescribeConfigs with synonyms as Kafka 4.x's ConfigHelper lists them, and
/// the broker resource with every KafkaConfig key (sensitive ones null).
#[tokio::test]
async fn describe_configs_synonyms_and_broker_keys_are_kafkas() {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::protocol::StrBytes;
    let s = |x: &str| StrBytes::from_string(x.to_string());
    const TOPIC: i8 = 1;
    const STATIC: i8 = 4;
    const DEFAULT: i8 = 5;

    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(
        dir.path(),
        &[
            ("log.segment.bytes", "2000000"),
            ("log.retention.hours", "1"),
        ],
    )
    .await;
    let node = broker.state().node_id;
    let mut c = RawClient::connect(broker.addr()).await;
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(tname("syn"))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(vec![CreatableTopicConfig::default()
            .with_name(s("retention.bytes"))
            .with_value(Some(s("1234")))])]);
    let ResponseKind::CreateTopics(r) = c
        .call(RequestKind::CreateTopics(req), ApiKey::CreateTopics, 7)
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 0);

    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("syn")),
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(s(&node.to_string())),
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(s(&(node + 1).to_string())),
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
    let entry = |i: usize, name: &str| {
        r.results[i]
            .configs
            .iter()
            .find(|e| e.name.as_str() == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone()
    };

    // Topic: the override first, then the broker synonyms; log.retention.ms is
    // unset (null default) so retention.ms has none, although
    // log.retention.hours is set (Kafka drops synonyms before the key's own).
    let e = entry(0, "retention.ms");
    assert_eq!((syns(&e), e.config_source), (vec![], DEFAULT));
    let e = entry(0, "retention.bytes");
    assert_eq!(
        (syns(&e), e.config_source),
        (
            vec![
                syn("retention.bytes", Some("1234"), TOPIC),
                syn("log.retention.bytes", Some("-1"), DEFAULT)
            ],
            TOPIC
        )
    );
    let e = entry(0, "segment.bytes");
    assert_eq!(
        (syns(&e), e.config_source),
        (
            vec![
                syn("log.segment.bytes", Some("2000000"), STATIC),
                syn("log.segment.bytes", Some("1073741824"), DEFAULT)
            ],
            STATIC
        )
    );
    for unset in ["segment.ms", "flush.ms"] {
        let e = entry(0, unset);
        assert_eq!((syns(&e), e.config_source), (vec![], DEFAULT), "{unset}");
    }
    let e = entry(0, "max.message.bytes");
    assert_eq!(
        syns(&e),
        vec![syn("message.max.bytes", Some("1048588"), DEFAULT)]
    );

    // Broker: every KafkaConfig key, with this broker's facts as static configs.
    let b = &r.results[1];
    assert_eq!(b.error_code, 0);
    assert!(b.configs.len() >= 300, "{} keys", b.configs.len());
    let e = entry(1, "advertised.listeners");
    assert_eq!(
        (
            e.value.as_deref(),
            e.config_source,
            e.read_only,
            e.is_sensitive
        ),
        (
            Some(format!("PLAINTEXT://{}", broker.addr()).as_str()),
            STATIC,
            true,
            false
        )
    );
    let e = entry(1, "ssl.key.password");
    assert_eq!(
        (e.value.clone(), e.is_sensitive, e.config_type, e.read_only),
        (None, true, 9, false)
    );
    let e = entry(1, "log.retention.ms");
    assert_eq!(
        (e.value.clone(), syns(&e), e.config_source, e.config_type),
        (None, vec![], DEFAULT, 5)
    );
    let e = entry(1, "log.retention.hours");
    assert_eq!(
        (e.value.as_deref(), syns(&e), e.config_source),
        (
            Some("1"),
            vec![
                syn("log.retention.hours", Some("1"), STATIC),
                syn("log.retention.hours", Some("168"), DEFAULT)
            ],
            STATIC
        )
    );
    let e = entry(1, "node.id");
    assert_eq!(
        (e.value.as_deref(), e.config_source),
        (Some(node.to_string().as_str()), STATIC)
    );
    let e = entry(1, "num.partitions");
    assert_eq!(
        (e.value.as_deref(), syns(&e), e.config_source),
        (
            Some("1"),
            vec![syn("num.partitions", Some("1"), DEFAULT)],
            DEFAULT
        )
    );
    assert!(
        !b.configs.iter().any(|e| e.name.as_str() == "cluster.id"),
        "not a KafkaConfig key"
    );

    assert_eq!(
        r.results[2].error_code,
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(
        r.results[2].error_message.as_deref(),
        Some(
            format!(
                "Unexpected broker id, expected {node} or empty string, but received {}",
                node + 1
            )
            .as_str()
        )
    );
    drop(c);

    // A real client (librdkafka) sees the broker's advertised listener and a
    // sensitive key as such.
    let addr = broker.addr().to_string();
    let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
        rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &addr)
            .create()
            .unwrap();
    let res = bounded(
        "describe_configs",
        admin.describe_configs(
            &[rdkafka::admin::ResourceSpecifier::Broker(node)],
            &rdkafka::admin::AdminOptions::new(),
        ),
    )
    .await
    .unwrap();
    let cfg = res.into_iter().next().unwrap().unwrap();
    let adv = cfg
        .get("advertised.listeners")
        .expect("advertised.listeners");
    assert_eq!(
        adv.value.as_deref(),
        Some(format!("PLAINTEXT://{addr}").as_str())
    );
    assert_eq!(adv.source, rdkafka::admin::ConfigSource::StaticBroker);
    let pw = cfg.get("ssl.key.password").expect("ssl.key.password");
    assert!(pw.is_sensitive && pw.value.is_none());
    drop(admin);
    broker.shutdown().await.unwrap();
}

/// Every version of the admin APIs added for issue 21 answers a request with a
/// response that decodes completely, on a connection that stays open.
#[tokio::test]
async fn new_admin_apis_answer_every_advertised_version() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let node = broker.state().node_id;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "ev", 1).await;
    let request = |key: ApiKey| -> RequestKind {
        match key {
            ApiKey::DescribeLogDirs => {
                RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default())
            }
            ApiKey::DescribeProducers => RequestKind::DescribeProducers(
                DescribeProducersRequest::default().with_topics(vec![ProducersTopic::default()
                    .with_name(tname("ev"))
                    .with_partition_indexes(vec![0])]),
            ),
            ApiKey::DescribeTopicPartitions => RequestKind::DescribeTopicPartitions(
                DescribeTopicPartitionsRequest::default().with_response_partition_limit(10),
            ),
            ApiKey::ElectLeaders => RequestKind::ElectLeaders(
                ElectLeadersRequest::default().with_topic_partitions(Some(vec![
                    TopicPartitions::default()
                        .with_topic(tname("ev"))
                        .with_partitions(vec![0]),
                ])),
            ),
            ApiKey::AlterPartitionReassignments => RequestKind::AlterPartitionReassignments(
                AlterPartitionReassignmentsRequest::default().with_topics(vec![
                    ReassignableTopic::default()
                        .with_name(tname("ev"))
                        .with_partitions(vec![ReassignablePartition::default()
                            .with_partition_index(0)
                            .with_replicas(Some(vec![BrokerId(node)]))]),
                ]),
            ),
            ApiKey::ListPartitionReassignments => {
                RequestKind::ListPartitionReassignments(ListPartitionReassignmentsRequest::default())
            }
            other => panic!("{other:?}"),
        }
    };
    for key in [
        ApiKey::DescribeLogDirs,
        ApiKey::DescribeProducers,
        ApiKey::DescribeTopicPartitions,
        ApiKey::ElectLeaders,
        ApiKey::AlterPartitionReassignments,
        ApiKey::ListPartitionReassignments,
    ] {
        let spec = weir::dispatch::lookup(key).expect("in the dispatch table");
        // Versions below what kafka-protocol encodes (DescribeLogDirs v0, which Kafka 4.0
        // removed) are written byte by byte in tests/every_version.rs and legacy_versions.rs.
        let low = spec.min_version.max(key.valid_versions().min);
        for v in low..=spec.max_version {
            // `call` decodes the whole response and checks the correlation id.
            let _ = c.call(request(key), key, v).await;
        }
    }
    assert_eq!(
        weir::dispatch::lookup(ApiKey::DescribeLogDirs).map(|s| (s.min_version, s.max_version)),
        Some((0, 4))
    );
    broker.shutdown().await.unwrap();
}
