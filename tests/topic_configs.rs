//! Topic configs as Apache Kafka 4.4 answers them (issue 21, issue 17's last
//! bullet), over a real socket with raw requests: DescribeConfigs lists
//! exactly Kafka 4.4's topic keys with its defaults, types, synonyms and
//! documentation; Kafka 3.x's removed keys are accepted and listed only when
//! set or named; KIP-937's timestamp bounds reject records with
//! INVALID_TIMESTAMP and Kafka's per-record texts; INVALID_CONFIG carries
//! ConfigDef's texts; IncrementalAlterConfigs' APPEND/SUBTRACT/SET/DELETE on
//! list keys behave as Kafka's controller. The expected answers are those a
//! Kafka 4.4.0 broker (benches/peers/kafka) gave to the same requests.

mod support;

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use support::*;
use weir_storage::batch::{BatchBuilder, Record};

const TOPIC_RESOURCE: i8 = 2;
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_string())
}

/// Kafka 4.4's DescribeConfigs answer for a new topic on a broker with
/// default settings: (name, value, config_type). Every source is
/// DEFAULT_CONFIG (5) but min.insync.replicas's (a fresh Kafka 4.4 cluster
/// keeps it as a cluster-level dynamic config), nothing is read-only or
/// sensitive.
const KAFKA_44_TOPIC_DEFAULTS: &[(&str, &str, i8)] = &[
    ("cleanup.policy", "delete", 7),
    ("compression.gzip.level", "-1", 3),
    ("compression.lz4.level", "9", 3),
    ("compression.type", "producer", 2),
    ("compression.zstd.level", "3", 3),
    ("delete.retention.ms", "86400000", 5),
    ("errors.deadletterqueue.group.enable", "false", 1),
    ("file.delete.delay.ms", "60000", 5),
    ("flush.messages", "9223372036854775807", 5),
    ("flush.ms", "9223372036854775807", 5),
    ("follower.replication.throttled.replicas", "", 7),
    ("index.interval.bytes", "4096", 3),
    ("leader.replication.throttled.replicas", "", 7),
    ("local.retention.bytes", "-2", 5),
    ("local.retention.ms", "-2", 5),
    ("max.compaction.lag.ms", "9223372036854775807", 5),
    ("max.decompressed.message.bytes", "2147483639", 3),
    ("max.message.bytes", "1048588", 3),
    ("message.timestamp.after.max.ms", "3600000", 5),
    ("message.timestamp.before.max.ms", "9223372036854775807", 5),
    ("message.timestamp.type", "CreateTime", 2),
    ("min.cleanable.dirty.ratio", "0.5", 6),
    ("min.compaction.lag.ms", "0", 5),
    ("min.insync.replicas", "1", 3),
    ("preallocate", "false", 1),
    ("remote.copy.lag.bytes", "-1", 5),
    ("remote.copy.lag.ms", "0", 5),
    ("remote.log.copy.disable", "false", 1),
    ("remote.log.delete.on.disable", "false", 1),
    ("remote.storage.enable", "false", 1),
    ("retention.bytes", "-1", 5),
    ("retention.ms", "604800000", 5),
    ("segment.bytes", "1073741824", 3),
    ("segment.index.bytes", "10485760", 3),
    ("segment.jitter.ms", "0", 5),
    ("segment.ms", "604800000", 5),
    ("unclean.leader.election.enable", "false", 1),
];

async fn create(
    c: &mut RawClient,
    name: &str,
    configs: &[(&str, &str)],
) -> create_topics_response::CreatableTopicResult {
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(tname(name))
        .with_num_partitions(1)
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
        )]);
    let ResponseKind::CreateTopics(mut r) = c
        .call(RequestKind::CreateTopics(req), ApiKey::CreateTopics, 7)
        .await
    else {
        panic!()
    };
    r.topics.remove(0)
}

async fn describe(
    c: &mut RawClient,
    topic: &str,
    keys: Option<&[&str]>,
    synonyms: bool,
    documentation: bool,
) -> describe_configs_response::DescribeConfigsResult {
    let req = DescribeConfigsRequest::default()
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(s(topic))
            .with_configuration_keys(
                keys.map(|k| k.iter().map(|x| s(x)).collect()),
            )])
        .with_include_synonyms(synonyms)
        .with_include_documentation(documentation);
    let ResponseKind::DescribeConfigs(mut r) = c
        .call(
            RequestKind::DescribeConfigs(req),
            ApiKey::DescribeConfigs,
            4,
        )
        .await
    else {
        panic!()
    };
    r.results.remove(0)
}

fn entry<'a>(
    r: &'a describe_configs_response::DescribeConfigsResult,
    name: &str,
) -> &'a DescribeConfigsResourceResult {
    r.configs
        .iter()
        .find(|e| e.name.as_str() == name)
        .unwrap_or_else(|| panic!("{name} not described"))
}

fn value(r: &describe_configs_response::DescribeConfigsResult, name: &str) -> String {
    entry(r, name)
        .value
        .as_deref()
        .unwrap_or("<null>")
        .to_string()
}

/// One IncrementalAlterConfigs on a topic: (error code, message).
async fn alter(
    c: &mut RawClient,
    topic: &str,
    ops: &[(&str, Option<&str>, i8)],
    validate_only: bool,
) -> (i16, Option<String>) {
    c.incremental_alter_configs(TOPIC_RESOURCE, topic, ops, validate_only)
        .await
}

#[tokio::test]
async fn describe_configs_on_a_topic_lists_kafka_44s_keys_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    assert_eq!(create(&mut c, "all", &[]).await.error_code, 0);

    let r = describe(&mut c, "all", None, true, true).await;
    assert_eq!(r.error_code, 0);
    let got: Vec<(String, String, i8)> = r
        .configs
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                e.value.as_deref().unwrap_or("<null>").to_string(),
                e.config_type,
            )
        })
        .collect();
    let want: Vec<(String, String, i8)> = KAFKA_44_TOPIC_DEFAULTS
        .iter()
        .map(|(n, v, t)| (n.to_string(), v.to_string(), *t))
        .collect();
    assert_eq!(got, want);
    for e in &r.configs {
        let name = e.name.as_str();
        let source = if name == "min.insync.replicas" { 3 } else { 5 };
        assert_eq!(e.config_source, source, "{name}");
        assert!(!e.read_only && !e.is_sensitive, "{name}");
        assert!(
            e.documentation.is_some(),
            "{name} has Kafka's documentation"
        );
        // Kafka lists no synonyms for keys without a broker synonym, or whose
        // broker synonym has a null default (flush.ms, retention.ms, segment.*ms).
        let none = [
            "errors.deadletterqueue.group.enable",
            "flush.ms",
            "follower.replication.throttled.replicas",
            "leader.replication.throttled.replicas",
            "remote.log.copy.disable",
            "remote.log.delete.on.disable",
            "remote.storage.enable",
            "retention.ms",
            "segment.jitter.ms",
            "segment.ms",
        ];
        assert_eq!(e.synonyms.is_empty(), none.contains(&name), "{name}");
    }
    let mir = entry(&r, "min.insync.replicas");
    let mir_syns: Vec<(&str, Option<&str>, i8)> = mir
        .synonyms
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_deref(), s.source))
        .collect();
    assert_eq!(
        mir_syns,
        vec![
            ("min.insync.replicas", Some("1"), 3),
            ("min.insync.replicas", Some("1"), 5)
        ]
    );
    let fdd = entry(&r, "file.delete.delay.ms");
    assert_eq!(fdd.synonyms.len(), 1);
    assert_eq!(fdd.synonyms[0].name.as_str(), "log.segment.delete.delay.ms");
    assert_eq!(fdd.synonyms[0].value.as_deref(), Some("60000"));
    assert_eq!(fdd.synonyms[0].source, 5);
    assert_eq!(
        entry(&r, "compression.gzip.level").documentation.as_deref(),
        Some("The compression level to use if compression.type is set to <code>gzip</code>.")
    );
    // Without include_documentation, none is sent.
    let r = describe(&mut c, "all", Some(&["flush.ms"]), false, false).await;
    assert_eq!(r.configs.len(), 1);
    assert_eq!(r.configs[0].documentation, None);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn kafka_3x_topic_configs_are_accepted_and_listed_only_when_set_or_named() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let t = create(&mut c, "old", &[("message.format.version", "0.10.0")]).await;
    assert_eq!((t.error_code, t.error_message), (0, None));
    assert_eq!(create(&mut c, "fresh", &[]).await.error_code, 0);

    let r = describe(&mut c, "old", None, true, false).await;
    assert_eq!(r.configs.len(), KAFKA_44_TOPIC_DEFAULTS.len() + 1);
    let e = entry(&r, "message.format.version");
    assert_eq!(
        (e.value.as_deref(), e.config_source, e.config_type),
        (Some("0.10.0"), 1, 2)
    );
    // The default listing stays exactly Kafka 4.4's.
    let r = describe(&mut c, "fresh", None, false, false).await;
    assert_eq!(r.configs.len(), KAFKA_44_TOPIC_DEFAULTS.len());
    // Named, it is described with Kafka 3.9's default.
    let keys = [
        "message.format.version",
        "message.timestamp.difference.max.ms",
        "message.downconversion.enable",
    ];
    let r = describe(&mut c, "fresh", Some(&keys), false, false).await;
    assert_eq!(r.configs.len(), 3);
    assert_eq!(value(&r, "message.format.version"), "3.0-IV1");
    assert_eq!(
        value(&r, "message.timestamp.difference.max.ms"),
        "9223372036854775807"
    );
    assert_eq!(value(&r, "message.downconversion.enable"), "true");

    let ops = [
        ("message.timestamp.difference.max.ms", Some("1000"), SET),
        ("message.downconversion.enable", Some("false"), SET),
    ];
    assert_eq!(alter(&mut c, "fresh", &ops, false).await, (0, None));
    let r = describe(&mut c, "fresh", None, false, false).await;
    assert_eq!(r.configs.len(), KAFKA_44_TOPIC_DEFAULTS.len() + 2);
    assert_eq!(value(&r, "message.timestamp.difference.max.ms"), "1000");
    let bad = [("message.format.version", Some("banana"), SET)];
    assert_eq!(
        alter(&mut c, "fresh", &bad, false).await,
        (
            ResponseError::InvalidConfig.code(),
            Some(
                "Invalid value banana for configuration message.format.version: \
                 Version banana is not a valid version"
                    .into()
            )
        )
    );
    broker.shutdown().await.unwrap();
}

/// One batch of records with the given timestamps (keys "k0", "k1", ...).
fn batch_at(timestamps: &[i64]) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for (i, ts) in timestamps.iter().enumerate() {
        b.push(Record {
            offset: i as i64,
            timestamp: *ts,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from_static(b"v")),
            headers: vec![],
        });
    }
    b.build().unwrap()
}

/// The bounds `[lo, hi]` a KIP-937 record error names.
fn bounds_of(message: &str) -> (i64, i64) {
    let inner = message
        .rsplit_once('[')
        .and_then(|(_, r)| r.strip_suffix(']'))
        .unwrap_or_else(|| panic!("no bounds in {message}"));
    let (lo, hi) = inner.split_once(", ").unwrap();
    (lo.parse().unwrap(), hi.parse().unwrap())
}

#[tokio::test]
async fn kip_937_timestamp_bounds_reject_records_with_invalid_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let hour = 3_600_000;
    let t = create(
        &mut c,
        "bounded",
        &[("message.timestamp.before.max.ms", "3600000")],
    )
    .await;
    assert_eq!(t.error_code, 0);
    assert_eq!(create(&mut c, "defaults", &[]).await.error_code, 0);
    let lat = create(
        &mut c,
        "lat",
        &[("message.timestamp.type", "LogAppendTime")],
    )
    .await;
    assert_eq!(lat.error_code, 0);

    // Two hours old and now on a topic with a one-hour lower bound: record 0 out.
    let now = now_ms();
    let p = produce_raw(&mut c, "bounded", 0, batch_at(&[now - 2 * hour, now]), 9).await;
    assert_eq!(p.error_code, ResponseError::InvalidTimestamp.code());
    assert_eq!(
        p.error_message.as_deref(),
        Some("One or more records have been rejected due to invalid timestamp")
    );
    assert_eq!(p.record_errors.len(), 1);
    let e = &p.record_errors[0];
    assert_eq!(e.batch_index, 0);
    let msg = e.batch_index_error_message.as_deref().unwrap();
    let prefix = format!(
        "Timestamp {} of message with offset 0 is out of range. The timestamp should be within [",
        now - 2 * hour
    );
    assert!(msg.starts_with(&prefix), "{msg}");
    let (lo, hi) = bounds_of(msg);
    assert_eq!(hi - lo, 2 * hour, "[now - before, now + after]");
    assert!((now - hour..now - hour + 60_000).contains(&lo), "{msg}");
    assert_eq!(p.base_offset, -1);

    // Kafka's default upper bound: one hour ahead.
    let now = now_ms();
    let records = batch_at(&[now, now + 2 * hour, now + 3 * hour]);
    let p = produce_raw(&mut c, "defaults", 0, records.clone(), 9).await;
    assert_eq!(p.error_code, ResponseError::InvalidTimestamp.code());
    let idx: Vec<i32> = p.record_errors.iter().map(|e| e.batch_index).collect();
    assert_eq!(idx, vec![1, 2]);
    // Old records pass by default (no lower bound), and a LogAppendTime topic
    // takes any timestamp.
    let old = batch_at(&[1_000, now]);
    assert_eq!(
        produce_raw(&mut c, "defaults", 0, old, 9).await.error_code,
        0
    );
    assert_eq!(
        produce_raw(&mut c, "lat", 0, records, 9).await.error_code,
        0
    );

    // Raising the bound per topic lets the same records in.
    let ops = [("message.timestamp.after.max.ms", Some("86400000"), SET)];
    assert_eq!(alter(&mut c, "defaults", &ops, false).await, (0, None));
    let records = batch_at(&[now, now + 2 * hour]);
    assert_eq!(
        produce_raw(&mut c, "defaults", 0, records, 9)
            .await
            .error_code,
        0
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_broker_default_of_the_timestamp_bounds_applies() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("log.message.timestamp.after.max.ms", "0")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    assert_eq!(create(&mut c, "strict", &[]).await.error_code, 0);
    let r = describe(
        &mut c,
        "strict",
        Some(&["message.timestamp.after.max.ms"]),
        true,
        false,
    )
    .await;
    let e = &r.configs[0];
    assert_eq!((e.value.as_deref(), e.config_source), (Some("0"), 4));
    let now = now_ms();
    let p = produce_raw(&mut c, "strict", 0, batch_at(&[now + 60_000]), 9).await;
    assert_eq!(p.error_code, ResponseError::InvalidTimestamp.code());
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_config_texts_are_configdefs() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    assert_eq!(create(&mut c, "t", &[]).await.error_code, 0);
    // (key, value, Kafka 4.4's message)
    let cases = [
        ("retention.ms", "not-a-number", "Invalid value not-a-number for configuration retention.ms: Not a number of type LONG"),
        ("retention.ms", "-5", "Invalid value -5 for configuration retention.ms: Value must be at least -1"),
        ("segment.bytes", "x", "Invalid value x for configuration segment.bytes: Not a number of type INT"),
        ("min.cleanable.dirty.ratio", "2", "Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"),
        ("min.cleanable.dirty.ratio", "abc", "Invalid value abc for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE"),
        ("cleanup.policy", "shred", "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete"),
        ("cleanup.policy", "compact,", "Configuration 'cleanup.policy' values must not be empty."),
        ("compression.type", "brotli", "Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"),
        ("message.timestamp.type", "Now", "Invalid value Now for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime"),
        ("unclean.leader.election.enable", "yes", "Invalid value yes for configuration unclean.leader.election.enable: Expected value to be either true or false"),
        ("index.interval.bytes", "99999999999", "Invalid value 99999999999 for configuration index.interval.bytes: Not a number of type INT"),
        ("compression.gzip.level", "10", "Invalid value 10 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1"),
        ("compression.zstd.level", "23", "Invalid value 23 for configuration compression.zstd.level: Value must be no more than 22"),
        ("leader.replication.throttled.replicas", "x", "Invalid value [x] for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."),
        ("no.such.key", "1", "Unknown topic config name: no.such.key"),
        ("message.timestamp.before.max.ms", "-1", "Invalid value -1 for configuration message.timestamp.before.max.ms: Value must be at least 0"),
        ("segment.ms", "0", "Invalid value 0 for configuration segment.ms: Value must be at least 1"),
        ("local.retention.ms", "-3", "Invalid value -3 for configuration local.retention.ms: Value must be at least -2"),
    ];
    let invalid = ResponseError::InvalidConfig.code();
    for (i, (k, v, want)) in cases.iter().enumerate() {
        let got = alter(&mut c, "t", &[(k, Some(v), SET)], true).await;
        assert_eq!(got, (invalid, Some(want.to_string())), "SET {k}={v}");
        let t = create(&mut c, &format!("c{i}"), &[(k, v)]).await;
        assert_eq!(
            (t.error_code, t.error_message.as_deref()),
            (invalid, Some(*want)),
            "CreateTopics {k}={v}"
        );
    }
    // Accepted as Kafka accepts them, and stored as Kafka renders them.
    let ok = [
        ("cleanup.policy", "compact,compact", "compact"),
        ("cleanup.policy", " compact , delete ", "compact,delete"),
        ("cleanup.policy", "", ""),
        ("preallocate", "TRUE", "true"),
        ("min.cleanable.dirty.ratio", "0.50", "0.5"),
        ("min.cleanable.dirty.ratio", "1e-4", "1.0E-4"),
        ("retention.ms", "+5", "5"),
        (
            "leader.replication.throttled.replicas",
            "0:1, 1:1",
            "0:1,1:1",
        ),
        ("follower.replication.throttled.replicas", "*", "*"),
    ];
    for (k, v, stored) in ok {
        assert_eq!(
            alter(&mut c, "t", &[(k, Some(v), SET)], false).await,
            (0, None),
            "{k}={v}"
        );
        let r = describe(&mut c, "t", Some(&[k]), false, false).await;
        assert_eq!(value(&r, k), stored, "{k}={v}");
    }
    broker.shutdown().await.unwrap();
}

/// (operation, value, expected (error code, message), value afterwards).
type Step<'a> = (i8, Option<&'a str>, (i16, Option<&'a str>), &'a str);

#[tokio::test]
async fn incremental_list_operations_follow_kafkas_controller() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    assert_eq!(create(&mut c, "l", &[]).await.error_code, 0);
    let policy = "cleanup.policy";
    let invalid_config = ResponseError::InvalidConfig.code();
    let invalid_request = ResponseError::InvalidRequest.code();
    // (op, value, expected answer, cleanup.policy afterwards), in order, each
    // as Kafka 4.4 answered.
    let steps: &[Step] = &[
        // SUBTRACT from the default to an empty list: accepted and kept.
        (SUBTRACT, Some("delete"), (0, None), ""),
        (APPEND, Some("compact"), (0, None), "compact"),
        // APPEND of a duplicate changes nothing.
        (APPEND, Some("compact"), (0, None), "compact"),
        (APPEND, Some("delete"), (0, None), "compact,delete"),
        (SUBTRACT, Some("compact,delete"), (0, None), ""),
        (
            APPEND,
            Some("shred"),
            (
                invalid_config,
                Some("Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete"),
            ),
            "",
        ),
        // SUBTRACT of an absent item is a no-op.
        (SUBTRACT, Some("shred"), (0, None), ""),
        (SET, Some("compact,delete"), (0, None), "compact,delete"),
        (SET, Some(""), (0, None), ""),
        (DELETE, None, (0, None), "delete"),
        // DELETE of an unset key succeeds.
        (DELETE, None, (0, None), "delete"),
        // APPEND starts from Kafka's default when the key is unset.
        (APPEND, Some("compact"), (0, None), "delete,compact"),
        (
            APPEND,
            Some(""),
            (invalid_config, Some("Configuration 'cleanup.policy' values must not be empty.")),
            "delete,compact",
        ),
        (SUBTRACT, Some(""), (0, None), "delete,compact"),
        (APPEND, Some(",,"), (0, None), "delete,compact"),
        (
            APPEND,
            None,
            (invalid_request, Some("Null value not supported for : cleanup.policy")),
            "delete,compact",
        ),
        (
            SET,
            None,
            (invalid_request, Some("Null value not supported for : cleanup.policy")),
            "delete,compact",
        ),
    ];
    for (i, (op, v, want, after)) in steps.iter().enumerate() {
        let got = alter(&mut c, "l", &[(policy, *v, *op)], false).await;
        let want = (want.0, want.1.map(str::to_string));
        assert_eq!(got, want, "step {i}: op {op} {v:?}");
        let r = describe(&mut c, "l", Some(&[policy]), false, false).await;
        assert_eq!(value(&r, policy), *after, "step {i}: op {op} {v:?}");
    }
    // APPEND/SUBTRACT on keys that are not lists, known or not.
    for (k, op, name) in [
        ("retention.ms", APPEND, "APPEND"),
        ("retention.ms", SUBTRACT, "SUBTRACT"),
        ("no.such", APPEND, "APPEND"),
        ("message.format.version", APPEND, "APPEND"),
    ] {
        let got = alter(&mut c, "l", &[(k, Some("5"), op)], false).await;
        let want = format!("Can't {name} to key {k} because its type is not LIST.");
        assert_eq!(got, (invalid_config, Some(want)));
    }
    assert_eq!(
        alter(&mut c, "l", &[("no.such", None, DELETE)], false).await,
        (0, None)
    );
    // The other list keys: throttled replicas.
    let t = "leader.replication.throttled.replicas";
    assert_eq!(
        alter(&mut c, "l", &[(t, Some("0:1"), APPEND)], false).await,
        (0, None)
    );
    assert_eq!(
        alter(&mut c, "l", &[(t, Some("0:1"), APPEND)], false).await,
        (0, None)
    );
    let got = alter(&mut c, "l", &[(t, Some("*"), APPEND)], false).await;
    assert_eq!(
        got,
        (
            invalid_config,
            Some(format!(
                "Invalid value [0:1, *] for configuration {t}: {t} must be the literal '*' or a \
                 list of replicas in the following format: \
                 [partitionId]:[brokerId],[partitionId]:[brokerId],..."
            ))
        )
    );
    let r = describe(&mut c, "l", Some(&[t]), false, false).await;
    assert_eq!(value(&r, t), "0:1");
    assert_eq!(
        alter(&mut c, "l", &[(t, Some("0:1"), SUBTRACT)], false).await,
        (0, None)
    );
    let r = describe(&mut c, "l", Some(&[t]), true, false).await;
    let e = entry(&r, t);
    assert_eq!((e.value.as_deref(), e.config_source), (Some(""), 1));
    // Two operations on one key.
    let got = alter(
        &mut c,
        "l",
        &[
            (policy, Some("compact"), APPEND),
            (policy, Some("delete"), SUBTRACT),
        ],
        false,
    )
    .await;
    assert_eq!(
        got,
        (
            invalid_request,
            Some("Error due to duplicate config keys".into())
        )
    );
    broker.shutdown().await.unwrap();
}

/// min.insync.replicas above 1 cannot be met by one replica: acks=all is refused
/// with NOT_ENOUGH_REPLICAS and nothing is written (as Kafka's
/// Partition.appendRecordsToLeader); acks=1 still appends.
#[tokio::test]
async fn acks_all_is_refused_when_min_insync_replicas_exceeds_the_one_replica() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let b = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(b.addr()).await;
    assert_eq!(
        create(&mut c, "isr2", &[("min.insync.replicas", "2")])
            .await
            .error_code,
        0
    );
    let r = produce_raw(&mut c, "isr2", 0, batch(3, -1, -1, -1), 9).await;
    assert_eq!(r.error_code, ResponseError::NotEnoughReplicas.code());
    assert_eq!(r.base_offset, -1);

    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(tname("isr2"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(Bytes::from(batch(3, -1, -1, -1))))])]);
    let ResponseKind::Produce(resp) = c.call(RequestKind::Produce(req), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(
        (p.error_code, p.base_offset),
        (0, 0),
        "nothing was written by the refused acks=all"
    );

    // With the default (1), acks=all appends.
    assert_eq!(create(&mut c, "isr1", &[]).await.error_code, 0);
    let r = produce_raw(&mut c, "isr1", 0, batch(2, -1, -1, -1), 9).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0));
}
